//! `/api/v1/initiatives/{key}/decisions`: the decision log, and the evidence snapshot a
//! decision is recorded with.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::PathKey;
use super::{AppState, reading};
use crate::analysis::Report;
use crate::analysis::words::{self, count, percent, percent_range};
use crate::domain::decision::{DecisionRecord, EvidenceSnapshot, SnapshotRange};
use crate::domain::{Decision, InitiativeKey};
use crate::store::initiatives;

/// What the report says now, as a decision records it: the verdict, the counts, the
/// rate and the interval the verdict reads.
pub fn snapshot(report: &Report) -> EvidenceSnapshot {
    // The figures the verdict read: in fixed mode after the single read, that read's.
    let d = &report.demand;
    let (rate, interval) = match d.fixed_read {
        Some(read) => (read.rate, read.ci),
        None => (d.rate, d.ci),
    };
    let c = &report.initiative.criteria;
    EvidenceSnapshot {
        verdict: report.verdict.status.as_str().to_owned(),
        verdict_label: report.verdict.status.label().to_owned(),
        summary: report.summary.clone(),
        exposures: report.demand.exposures,
        preorders: report.demand.preorders,
        rate,
        interval: interval.map(|r| SnapshotRange {
            low: r.low,
            high: r.high,
        }),
        mode: report.mode,
        confidence: c.confidence,
        target_preorder_rate: c.target_preorder_rate,
        min_exposures: c.min_exposures,
        evidence_ratio: d.evidence_ratio,
    }
}

/// One entry of the decision log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub id: i64,
    pub decision: Decision,
    pub note: String,
    /// Why the decision was taken against the evidence (null when it was not needed).
    pub override_reason: Option<String>,
    /// Decided before `min_exposures`, or against the verdict (`scale` without
    /// `validated`, `stop` with it).
    pub against_evidence: bool,
    /// The label of the API key, or the name of the person, that decided.
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    /// What the evidence said at that moment.
    pub snapshot: EvidenceSnapshot,
}

impl From<DecisionRecord> for DecisionView {
    fn from(d: DecisionRecord) -> Self {
        Self {
            id: d.id,
            decision: d.decision,
            note: d.note,
            override_reason: d.override_reason,
            against_evidence: d.against_evidence,
            decided_by: d.decided_by,
            decided_at: d.decided_at,
            snapshot: d.snapshot,
        }
    }
}

/// The decision log of one initiative, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionList {
    pub initiative: String,
    /// Whether the latest decision went against the evidence.
    pub decided_against_evidence: bool,
    pub decisions: Vec<DecisionView>,
}

impl DecisionList {
    pub fn new(key: &InitiativeKey, records: Vec<DecisionRecord>) -> Self {
        let decisions: Vec<DecisionView> = records.into_iter().map(DecisionView::from).collect();
        Self {
            initiative: key.to_string(),
            decided_against_evidence: decisions.first().is_some_and(|d| d.against_evidence),
            decisions,
        }
    }
}

/// Loads the decision log of an initiative (404 when it does not exist).
pub async fn load_decisions(
    state: &AppState,
    key: InitiativeKey,
) -> Result<DecisionList, ApiError> {
    let lookup = key.clone();
    let records = reading(state, move |c| initiatives::decisions(c, &lookup)).await?;
    Ok(DecisionList::new(&key, records))
}

/// The decision log of an initiative.
///
/// Every decision taken on the initiative, newest first: who took it, when, the note, whether
/// it went against the evidence (with the override reason), and a snapshot of the verdict and
/// counts at that moment.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/decisions",
    tag = "initiatives",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = DecisionList),
    )
)]
pub async fn list_decisions(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load_decisions(&state, key).await?))
}

/// What the evidence said, in one line: "Not yet clear (inconclusive): 3 exposed,
/// 1 pre-order, rate 33% (95% interval 1.2%-90%); verdict from 100 exposures".
pub fn evidence_line(s: &EvidenceSnapshot) -> String {
    let label = if s.verdict_label.is_empty() {
        s.verdict.clone()
    } else {
        format!("{} ({})", s.verdict_label, s.verdict)
    };
    let rate = match (s.rate, s.interval) {
        (Some(r), Some(i)) => format!(
            ", rate {} ({} interval {})",
            percent(r),
            words::confidence(s.confidence),
            percent_range(i.low, i.high)
        ),
        (Some(r), None) => format!(", rate {}", percent(r)),
        _ => String::new(),
    };
    format!(
        "{label}: {} exposed, {} pre-order{}{rate}; verdict from {} exposures",
        count(s.exposures),
        count(s.preorders),
        if s.preorders == 1 { "" } else { "s" },
        count(s.min_exposures),
    )
}

/// The decision log for a terminal: one block per decision, newest first.
pub fn render(log: &DecisionList) -> String {
    let mut out = format!(
        "Decision log of {} ({} decision{}, newest first)\n",
        log.initiative,
        log.decisions.len(),
        if log.decisions.len() == 1 { "" } else { "s" }
    );
    if log.decisions.is_empty() {
        out.push_str("\nNo decision recorded yet.\n");
    }
    for d in &log.decisions {
        out.push_str(&format!(
            "\n{}  {}  by {}{}\n",
            d.decided_at.format("%Y-%m-%d %H:%M UTC"),
            d.decision.as_str().to_uppercase(),
            d.decided_by,
            if d.against_evidence {
                "  [AGAINST THE EVIDENCE]"
            } else {
                ""
            }
        ));
        out.push_str(&format!(
            "  Evidence then: {}\n",
            evidence_line(&d.snapshot)
        ));
        out.push_str(&format!("  Note: {}\n", d.note));
        if let Some(reason) = &d.override_reason {
            out.push_str(&format!("  Override reason: {reason}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::analysis::VerdictStatus;
    use crate::domain::decision::VALIDATED;

    #[test]
    fn the_rule_reads_the_verdict_as_the_report_spells_it() {
        assert_eq!(VerdictStatus::Validated.as_str(), VALIDATED);
    }
}

//! The portfolio: every initiative's headline numbers and verdict, with p-values
//! across running initiatives adjusted for multiple testing (Benjamini-Hochberg).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::report::{Range, Report};
use super::verdict::VerdictStatus;
use crate::domain::{Decision, Kind, Mode, Status};
use crate::stats;

/// One initiative in the portfolio.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortfolioEntry {
    pub key: String,
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    pub owner_team: String,
    pub mode: Mode,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    /// The interval the verdict reads (anytime-valid in sequential mode).
    pub ci: Option<Range>,
    pub target_preorder_rate: f64,
    pub love_share: Option<f64>,
    pub target_love_share: Option<f64>,
    pub committed_revenue_cents: i64,
    pub currency: String,
    pub verdict: VerdictStatus,
    pub summary: String,
    /// Exact one-sided binomial p-value against the target.
    pub p_value: Option<f64>,
    /// Benjamini-Hochberg adjusted across running initiatives (null when not running).
    pub p_value_bh: Option<f64>,
    pub launched_at: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
}

/// Every initiative, what needs a decision first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Portfolio {
    pub initiatives: Vec<PortfolioEntry>,
    /// Initiatives by verdict.
    pub counts: VerdictCounts,
    pub as_of: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct VerdictCounts {
    pub collecting: u64,
    pub validated: u64,
    pub not_validated: u64,
    pub inconclusive: u64,
}

/// Sort order: running initiatives whose verdict is in (validated, not validated) need a
/// decision; then inconclusive and collecting ones; then drafts; then concluded ones.
fn urgency(e: &PortfolioEntry) -> u8 {
    match (e.status, e.verdict) {
        (Status::Running, VerdictStatus::Validated | VerdictStatus::NotValidated) => 0,
        (Status::Running, VerdictStatus::Inconclusive) => 1,
        (Status::Running, VerdictStatus::Collecting) => 2,
        (Status::Draft, _) => 3,
        (Status::Concluded, _) => 4,
    }
}

/// Builds the portfolio from each initiative's report.
pub fn build(reports: &[Report], as_of: DateTime<Utc>) -> Portfolio {
    let mut entries: Vec<PortfolioEntry> = reports
        .iter()
        .map(|r| {
            let i = &r.initiative;
            PortfolioEntry {
                key: i.key.clone(),
                name: i.name.clone(),
                kind: i.kind,
                status: i.status,
                owner_team: i.owner_team.clone(),
                mode: r.mode,
                exposures: r.demand.exposures,
                preorders: r.demand.preorders,
                rate: r.demand.rate,
                ci: r.demand.ci,
                target_preorder_rate: i.criteria.target_preorder_rate,
                love_share: r.enthusiasm.love_share,
                target_love_share: i.criteria.target_love_share,
                committed_revenue_cents: r.demand.committed_revenue_cents,
                currency: i.currency.clone(),
                verdict: r.verdict.status,
                summary: r.summary.clone(),
                p_value: r.demand.p_value,
                p_value_bh: None,
                launched_at: i.launched_at,
                decision: i.decision,
            }
        })
        .collect();

    let running: Vec<(usize, f64)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.status == Status::Running)
        .filter_map(|(i, e)| e.p_value.map(|p| (i, p)))
        .collect();
    let raw: Vec<f64> = running.iter().map(|(_, p)| *p).collect();
    if let Ok(adjusted) = stats::bh_adjust(&raw, 0.05) {
        for ((i, _), adj) in running.iter().zip(adjusted.adjusted) {
            if let Some(e) = entries.get_mut(*i) {
                e.p_value_bh = Some(adj);
            }
        }
    }

    let mut counts = VerdictCounts::default();
    for e in &entries {
        match e.verdict {
            VerdictStatus::Collecting => counts.collecting += 1,
            VerdictStatus::Validated => counts.validated += 1,
            VerdictStatus::NotValidated => counts.not_validated += 1,
            VerdictStatus::Inconclusive => counts.inconclusive += 1,
        }
    }
    entries.sort_by(|a, b| {
        urgency(a)
            .cmp(&urgency(b))
            .then(b.exposures.cmp(&a.exposures))
            .then(a.key.cmp(&b.key))
    });
    Portfolio {
        initiatives: entries,
        counts,
        as_of,
    }
}

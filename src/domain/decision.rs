//! The decision log: what was decided on a pilot, by whom, when, and what the evidence
//! said at that moment. Entries are only ever appended.
//!
//! A decision goes *against the evidence* when it is taken before `min_exposures`
//! customers were exposed, or when it contradicts the verdict: `scale` while the verdict
//! is not `validated`, `stop` while it is. `iterate` contradicts no verdict. Such a
//! decision needs an `override_reason`, and stays flagged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::initiative::{Decision, Mode, parse_text};
use super::{FieldError, FieldErrors};

/// The verdict status that supports scaling (as the report spells it).
pub const VALIDATED: &str = "validated";

/// An interval, as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotRange {
    pub low: f64,
    pub high: f64,
}

/// What the evidence said when the decision was taken: the verdict and the numbers it
/// read. Kept as it was; later events do not change it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceSnapshot {
    /// The verdict status then: `collecting`, `validated`, `not_validated` or
    /// `inconclusive`.
    pub verdict: String,
    /// The verdict in words, as leaders read it then.
    #[serde(default)]
    pub verdict_label: String,
    /// The report's summary sentence then.
    #[serde(default)]
    pub summary: String,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    /// The interval the verdict read: anytime-valid in `sequential` mode, Wilson in
    /// `fixed` mode.
    pub interval: Option<SnapshotRange>,
    pub mode: Mode,
    pub confidence: f64,
    pub target_preorder_rate: f64,
    pub min_exposures: u64,
    /// The report's evidence ratio, when the report has one.
    #[serde(default)]
    pub evidence_ratio: Option<f64>,
}

/// Why a decision goes against the evidence; empty when it does not.
pub fn against_evidence(decision: Decision, s: &EvidenceSnapshot) -> Vec<String> {
    let mut why = Vec::new();
    if s.exposures < s.min_exposures {
        why.push(format!(
            "only {} of the {} exposures the criteria require before deciding are in",
            s.exposures, s.min_exposures
        ));
    }
    let validated = s.verdict == VALIDATED;
    let contradicts = match decision {
        Decision::Scale => !validated,
        Decision::Stop => validated,
        Decision::Iterate => false,
    };
    if contradicts {
        why.push(format!(
            "the verdict is '{}': deciding '{}' goes against it",
            s.verdict, decision
        ));
    }
    why
}

/// A decision about to be recorded, checked against the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    pub decision: Decision,
    pub note: String,
    pub override_reason: Option<String>,
    pub against_evidence: bool,
    pub snapshot: EvidenceSnapshot,
    pub decided_by: String,
    pub decided_by_key_id: Option<i64>,
}

/// What someone asks to decide (validated text, not yet checked against the evidence).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRequest {
    pub decision: Decision,
    pub note: String,
    pub override_reason: Option<String>,
    /// The API key's label (or who else decided, e.g. the demo).
    pub decided_by: String,
    pub decided_by_key_id: Option<i64>,
}

impl DecisionRequest {
    /// Validates the raw fields: a known decision, a note, and an override reason that is
    /// not empty when given.
    pub fn parse(
        decision: &str,
        note: &str,
        override_reason: Option<&str>,
        decided_by: String,
        decided_by_key_id: Option<i64>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let decision = errors.take("decision", Decision::parse(decision));
        let note = errors.take("note", parse_text(note, true));
        let override_reason = match override_reason {
            Some(r) => errors
                .take("override_reason", parse_text(r, true))
                .map(Some),
            None => Some(None),
        };
        errors.finish(|| {
            Some(DecisionRequest {
                decision: decision?,
                note: note?,
                override_reason: override_reason?,
                decided_by,
                decided_by_key_id,
            })
        })
    }

    /// Checks the decision against the evidence: one that goes against it needs an
    /// override reason, and is then flagged.
    pub fn assess(self, snapshot: EvidenceSnapshot) -> Result<NewDecision, FieldErrors> {
        let why = against_evidence(self.decision, &snapshot);
        if !why.is_empty() && self.override_reason.is_none() {
            return Err(FieldError::new(
                "override_reason",
                format!(
                    "is required: {}; say why in override_reason",
                    why.join("; ")
                ),
            )
            .into());
        }
        Ok(NewDecision {
            decision: self.decision,
            note: self.note,
            override_reason: self.override_reason,
            against_evidence: !why.is_empty(),
            snapshot,
            decided_by: self.decided_by,
            decided_by_key_id: self.decided_by_key_id,
        })
    }
}

/// One entry of the decision log, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub id: i64,
    pub decision: Decision,
    pub note: String,
    pub override_reason: Option<String>,
    pub against_evidence: bool,
    pub snapshot: EvidenceSnapshot,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(verdict: &str, exposures: u64) -> EvidenceSnapshot {
        EvidenceSnapshot {
            verdict: verdict.into(),
            verdict_label: String::new(),
            summary: String::new(),
            exposures,
            preorders: 0,
            rate: None,
            interval: None,
            mode: Mode::Sequential,
            confidence: 0.95,
            target_preorder_rate: 0.05,
            min_exposures: 100,
            evidence_ratio: None,
        }
    }

    fn request(decision: Decision, reason: Option<&str>) -> DecisionRequest {
        DecisionRequest::parse(decision.as_str(), "note", reason, "k".into(), None)
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn what_goes_against_the_evidence() {
        use Decision::*;
        let cases = [
            (Scale, "validated", 200, false),
            (Scale, "inconclusive", 200, true),
            (Scale, "not_validated", 200, true),
            (Stop, "not_validated", 200, false),
            (Stop, "inconclusive", 200, false),
            (Stop, "validated", 200, true),
            (Iterate, "validated", 200, false),
            (Iterate, "not_validated", 200, false),
            (Iterate, "collecting", 99, true),
            (Stop, "collecting", 99, true),
            (Iterate, "inconclusive", 100, false),
        ];
        for (decision, verdict, n, against) in cases {
            let why = against_evidence(decision, &snapshot(verdict, n));
            assert_eq!(!why.is_empty(), against, "{decision} on {verdict} at {n}");
        }
        let why = against_evidence(Scale, &snapshot("collecting", 3));
        assert_eq!(why.len(), 2, "{why:?}");
    }

    #[test]
    fn against_the_evidence_needs_a_reason_and_is_flagged() {
        let err = request(Decision::Scale, None)
            .assess(snapshot("inconclusive", 500))
            .err()
            .map(|e| e.0);
        let err = err.as_deref().and_then(|e| e.first()).cloned();
        let err = err.unwrap_or_else(|| panic!("refused"));
        assert_eq!(err.field, "override_reason");
        assert!(
            err.reason
                .contains("the verdict is 'inconclusive': deciding 'scale' goes against it"),
            "{}",
            err.reason
        );
        let ok = request(Decision::Scale, Some("board asked"))
            .assess(snapshot("inconclusive", 500))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ok.against_evidence);
        let in_line = request(Decision::Scale, None)
            .assess(snapshot("validated", 500))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!in_line.against_evidence);
    }

    #[test]
    fn an_empty_override_reason_is_refused() {
        let err = DecisionRequest::parse("stop", "n", Some("  "), "k".into(), None)
            .err()
            .map(|e| e.0);
        assert!(
            err.is_some_and(|e| e.iter().any(|f| f.field == "override_reason")),
            "blank reason"
        );
    }
}

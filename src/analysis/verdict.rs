//! The verdict: what the pre-registered criteria say about the figures.
//!
//! The report computes its figures first ([`super::figures`] holds the only copy of
//! which interval the verdict reads); [`decide`] turns the criteria, the mode and those
//! figures into a status with structured [`Finding`]s; sentences are written from the
//! findings at the edge ([`super::words`]). Rules:
//!
//! - a sample ratio mismatch is named first: it makes every other number suspect;
//! - `collecting` while fewer customers than `min_exposures` have been exposed, and in
//!   fixed mode until `planned_exposures` is reached (the single read happens then);
//! - sequential mode: `validated` when the rate test rejects the target with the rate
//!   above it (ln M(target) ≥ ln(1/α), k/n > target) and, when a love target is set, the
//!   love share likewise; `not_validated` when either is rejected from below;
//! - fixed mode: the Wilson interval of the counts at the planned size decides, once;
//! - otherwise `inconclusive`, with the further exposures expected to settle it.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::report::Range;
use crate::domain::Mode;
use crate::stats::RateVerdict;

/// The verdict's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    Collecting,
    Validated,
    NotValidated,
    Inconclusive,
}

impl VerdictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictStatus::Collecting => "collecting",
            VerdictStatus::Validated => "validated",
            VerdictStatus::NotValidated => "not_validated",
            VerdictStatus::Inconclusive => "inconclusive",
        }
    }

    /// The status as leaders read it.
    pub fn label(self) -> &'static str {
        match self {
            VerdictStatus::Collecting => "Collecting data",
            VerdictStatus::Validated => "Real demand",
            VerdictStatus::NotValidated => "No real demand",
            VerdictStatus::Inconclusive => "Not yet clear",
        }
    }
}

/// Where a rate stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Above,
    Below,
    Unclear,
}

impl From<RateVerdict> for Standing {
    fn from(v: RateVerdict) -> Self {
        match v {
            RateVerdict::Above => Standing::Above,
            RateVerdict::Below => Standing::Below,
            RateVerdict::Undecided => Standing::Unclear,
        }
    }
}

/// One rate as the verdict reads it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct RateRead {
    pub successes: u64,
    pub trials: u64,
    pub rate: Option<f64>,
    pub ci: Option<Range>,
    /// M(target), sequential mode only.
    pub evidence_ratio: Option<f64>,
    pub standing: Standing,
}

/// What the verdict found, most important first. Sentences are written from these.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// Exposures per variant are not split as planned.
    SampleRatioMismatch { p_value: f64 },
    /// Fewer exposures than the pre-registered minimum.
    BelowMinimum { exposures: u64, min_exposures: u64 },
    /// Fixed mode: the single read happens at the planned exposures.
    AwaitingFixedRead {
        exposures: u64,
        planned_exposures: u64,
    },
    /// The pre-order rate against its target.
    Preorders { read: RateRead, target: f64 },
    /// The love share against its target.
    Love { read: RateRead, target: f64 },
    /// A love target is set, but nobody has responded.
    NoResponses { target: f64 },
    /// Further exposures expected to settle an unclear rate.
    MoreExposures {
        median: u64,
        p90: Option<u64>,
        expected_by: Option<NaiveDate>,
    },
    /// The rate sits on the target: more exposures alone are unlikely to settle it.
    OnTarget,
    /// The pilot has gone past its planned exposures.
    PastPlanned {
        exposures: u64,
        planned_exposures: u64,
    },
    /// A non-core segment whose (Bonferroni-adjusted) interval clears the target.
    Breakout {
        segment: String,
        rate: f64,
        ci: Range,
        confidence: f64,
    },
}

/// The verdict with its findings and their sentences.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verdict {
    pub status: VerdictStatus,
    /// Structured reasons, most important first.
    pub findings: Vec<Finding>,
    /// The findings as sentences a leader can read.
    pub reasons: Vec<String>,
    /// For an unclear rate: further exposures by which half of pilots like this one
    /// reach a verdict, if the rate stays where it is (null otherwise).
    pub additional_exposures_needed: Option<u64>,
    /// When those exposures are expected at the recent daily pace.
    pub expected_by: Option<NaiveDate>,
    /// The pilot has gone past its planned exposures.
    pub past_planned: bool,
}

/// Further exposures expected to settle an unclear rate: the median and 90th percentile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outlook {
    pub median: u64,
    pub p90: Option<u64>,
    pub expected_by: Option<NaiveDate>,
}

/// What [`decide`] reads: the criteria, the mode and the figures the report computed.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub mode: Mode,
    pub min_exposures: u64,
    pub planned_exposures: u64,
    /// Customers exposed so far.
    pub exposures: u64,
    pub target: f64,
    /// The pre-order rate as the verdict reads it (in fixed mode: at the single read;
    /// `None` before it).
    pub preorders: Option<RateRead>,
    /// The love target and the love share as read.
    pub love: Option<(f64, Option<RateRead>)>,
    /// The p-value of a sample ratio mismatch, when there is one.
    pub srm_mismatch: Option<f64>,
    pub breakouts: Vec<Finding>,
    /// Further exposures expected to settle an unclear pre-order rate.
    pub outlook: Option<Outlook>,
}

/// Decides the status and lists the findings. Sentences are added by the caller.
pub fn decide(inputs: &Inputs) -> (VerdictStatus, Vec<Finding>) {
    let mut findings = Vec::new();
    if let Some(p_value) = inputs.srm_mismatch {
        findings.push(Finding::SampleRatioMismatch { p_value });
    }
    let n = inputs.exposures;
    let before_minimum = n < inputs.min_exposures;
    let before_read = inputs.mode == Mode::Fixed && n < inputs.planned_exposures;
    if before_minimum {
        findings.push(Finding::BelowMinimum {
            exposures: n,
            min_exposures: inputs.min_exposures,
        });
    }
    if before_read {
        findings.push(Finding::AwaitingFixedRead {
            exposures: n,
            planned_exposures: inputs.planned_exposures,
        });
    }
    let collecting = before_minimum || before_read || inputs.preorders.is_none();

    let preorder = inputs.preorders.map_or(Standing::Unclear, |r| r.standing);
    // With nobody exposed yet, the minimum's finding already says it all.
    if let Some(read) = inputs.preorders.filter(|r| r.trials > 0 || !collecting) {
        findings.push(Finding::Preorders {
            read,
            target: inputs.target,
        });
    }
    let love = inputs.love.map(|(target, read)| match read {
        Some(read) if read.trials > 0 => {
            if !collecting {
                findings.push(Finding::Love { read, target });
            }
            read.standing
        }
        _ => {
            if !collecting {
                findings.push(Finding::NoResponses { target });
            }
            Standing::Unclear
        }
    });

    let status = if collecting {
        VerdictStatus::Collecting
    } else if preorder == Standing::Below || love == Some(Standing::Below) {
        VerdictStatus::NotValidated
    } else if preorder == Standing::Above && love.is_none_or(|s| s == Standing::Above) {
        VerdictStatus::Validated
    } else {
        VerdictStatus::Inconclusive
    };

    if status == VerdictStatus::Inconclusive && preorder == Standing::Unclear {
        findings.push(match inputs.outlook {
            Some(o) => Finding::MoreExposures {
                median: o.median,
                p90: o.p90,
                expected_by: o.expected_by,
            },
            None => Finding::OnTarget,
        });
    }
    if inputs.planned_exposures > 0 && n > inputs.planned_exposures {
        findings.push(Finding::PastPlanned {
            exposures: n,
            planned_exposures: inputs.planned_exposures,
        });
    }
    findings.extend(inputs.breakouts.iter().cloned());
    (status, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(standing: Standing, k: u64, n: u64) -> RateRead {
        RateRead {
            successes: k,
            trials: n,
            rate: Some(k as f64 / n as f64),
            ci: None,
            evidence_ratio: None,
            standing,
        }
    }

    fn inputs(mode: Mode, n: u64, preorders: Standing) -> Inputs {
        Inputs {
            mode,
            min_exposures: 100,
            planned_exposures: 1_000,
            exposures: n,
            target: 0.05,
            preorders: Some(read(preorders, n / 10, n)),
            love: None,
            srm_mismatch: None,
            breakouts: Vec::new(),
            outlook: None,
        }
    }

    fn status(i: &Inputs) -> VerdictStatus {
        decide(i).0
    }

    #[test]
    fn the_rules_of_the_verdict_table() {
        use Standing::*;
        use VerdictStatus::*;
        let seq = Mode::Sequential;
        // (mode, exposures, pre-order standing, love, expected)
        let love = |s: Standing| Some((0.3, Some(read(s, 40, 100))));
        let cases: Vec<(Inputs, VerdictStatus, &str)> = vec![
            (inputs(seq, 50, Above), Collecting, "below min_exposures"),
            (
                inputs(seq, 99, Below),
                Collecting,
                "one short of the minimum",
            ),
            (inputs(seq, 100, Above), Validated, "at the minimum, above"),
            (inputs(seq, 500, Below), NotValidated, "below the target"),
            (inputs(seq, 500, Unclear), Inconclusive, "on the target"),
            (
                Inputs {
                    love: love(Above),
                    ..inputs(seq, 500, Above)
                },
                Validated,
                "both above",
            ),
            (
                Inputs {
                    love: love(Unclear),
                    ..inputs(seq, 500, Above)
                },
                Inconclusive,
                "love unclear holds back a validation",
            ),
            (
                Inputs {
                    love: love(Below),
                    ..inputs(seq, 500, Above)
                },
                NotValidated,
                "love below the love target",
            ),
            (
                Inputs {
                    love: Some((0.3, None)),
                    ..inputs(seq, 500, Above)
                },
                Inconclusive,
                "no responses for a love target",
            ),
            (
                inputs(Mode::Fixed, 999, Above),
                Collecting,
                "fixed: before the read",
            ),
            (
                inputs(Mode::Fixed, 1_000, Above),
                Validated,
                "fixed: at the read",
            ),
            (
                inputs(Mode::Fixed, 5_000, Below),
                NotValidated,
                "fixed: after the read",
            ),
            (
                Inputs {
                    preorders: None,
                    ..inputs(Mode::Fixed, 1_000, Above)
                },
                Collecting,
                "fixed: no read yet",
            ),
        ];
        for (i, expected, what) in cases {
            assert_eq!(status(&i), expected, "{what}");
        }
    }

    #[test]
    fn a_mismatch_comes_first_and_does_not_change_the_status() {
        let i = Inputs {
            srm_mismatch: Some(1e-6),
            ..inputs(Mode::Sequential, 500, Standing::Above)
        };
        let (status, findings) = decide(&i);
        assert_eq!(status, VerdictStatus::Validated);
        assert!(matches!(
            findings.first(),
            Some(Finding::SampleRatioMismatch { .. })
        ));
    }

    #[test]
    fn fixed_mode_says_when_the_read_happens_and_past_planned_is_flagged() {
        let (_, findings) = decide(&inputs(Mode::Fixed, 400, Standing::Above));
        assert!(findings.contains(&Finding::AwaitingFixedRead {
            exposures: 400,
            planned_exposures: 1_000
        }));
        let (_, findings) = decide(&inputs(Mode::Sequential, 1_500, Standing::Above));
        assert!(findings.contains(&Finding::PastPlanned {
            exposures: 1_500,
            planned_exposures: 1_000
        }));
        let (_, findings) = decide(&inputs(Mode::Sequential, 1_000, Standing::Above));
        assert!(
            !findings
                .iter()
                .any(|f| matches!(f, Finding::PastPlanned { .. }))
        );
    }

    #[test]
    fn an_unclear_rate_gets_an_outlook_or_is_on_target() {
        let (_, findings) = decide(&inputs(Mode::Sequential, 500, Standing::Unclear));
        assert!(findings.contains(&Finding::OnTarget));
        let i = Inputs {
            outlook: Some(Outlook {
                median: 800,
                p90: Some(2_000),
                expected_by: None,
            }),
            ..inputs(Mode::Sequential, 500, Standing::Unclear)
        };
        let (_, findings) = decide(&i);
        assert!(
            findings
                .iter()
                .any(|f| matches!(f, Finding::MoreExposures { median: 800, .. }))
        );
    }
}

//! How an initiative's rates are read: the one place that knows which interval the
//! verdict reads.
//!
//! - Sequential mode (the default): the anytime-valid two-prior beta-binomial mixture
//!   ([`stats::BetaBinomialMixture`]), tuned to the planned exposures. Its interval and
//!   its evidence ratio hold however often the report is read.
//! - Fixed mode: the Wilson interval, read once when the planned exposures are reached.
//!
//! Every rate in the report (the headline, the love share, each segment, each variant,
//! each day of the timeline) is read through the same [`RateReading`], so figures shown
//! side by side are always the same kind.

use serde::Serialize;
use utoipa::ToSchema;

use super::report::Range;
use crate::domain::{Initiative, Mode};
use crate::stats::{self, BetaBinomialMixture, RateVerdict};

/// Which interval a report's rates carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Confidence sequence of the beta-binomial mixture: valid at every look.
    AnytimeValid,
    /// Wilson score interval: valid when read once, at the planned sample size.
    Wilson,
}

/// The rule rates are read with, at one confidence.
#[derive(Debug, Clone, Copy)]
pub enum RateReading {
    AnytimeValid(BetaBinomialMixture),
    Wilson { confidence: f64 },
}

impl RateReading {
    /// The reading an initiative's criteria and mode call for.
    pub fn for_initiative(initiative: &Initiative) -> Self {
        Self::new(
            initiative.mode,
            initiative.criteria.confidence.get(),
            initiative.criteria.planned_exposures,
        )
    }

    /// The reading of `mode` at `confidence`, tuned (sequential) to `planned_exposures`.
    pub fn new(mode: Mode, confidence: f64, planned_exposures: u64) -> Self {
        match mode {
            Mode::Sequential => BetaBinomialMixture::new(confidence, planned_exposures.max(1))
                .map_or(
                    RateReading::Wilson { confidence },
                    RateReading::AnytimeValid,
                ),
            Mode::Fixed => RateReading::Wilson { confidence },
        }
    }

    /// The same reading at another confidence (a Bonferroni-adjusted claim).
    pub fn at_confidence(&self, confidence: f64, planned_exposures: u64) -> Self {
        let mode = match self {
            RateReading::AnytimeValid(_) => Mode::Sequential,
            RateReading::Wilson { .. } => Mode::Fixed,
        };
        Self::new(mode, confidence, planned_exposures)
    }

    pub fn method(&self) -> IntervalMethod {
        match self {
            RateReading::AnytimeValid(_) => IntervalMethod::AnytimeValid,
            RateReading::Wilson { .. } => IntervalMethod::Wilson,
        }
    }

    /// The interval of k successes in n (none without data).
    pub fn interval(&self, k: u64, n: u64) -> Option<Range> {
        if n == 0 {
            return None;
        }
        match self {
            RateReading::AnytimeValid(mix) => mix.interval(k, n).ok().map(|i| Range {
                low: i.lower,
                high: i.upper,
            }),
            RateReading::Wilson { confidence } => stats::wilson_interval(k, n, *confidence)
                .ok()
                .map(|i| Range {
                    low: i.lower,
                    high: i.upper,
                }),
        }
    }

    /// M(target): how many times better the data are explained by a rate other than the
    /// target than by the target itself (sequential mode only; none without data).
    pub fn evidence_ratio(&self, k: u64, n: u64, target: f64) -> Option<f64> {
        match self {
            RateReading::AnytimeValid(mix) if n > 0 => mix.evidence_ratio(k, n, target).ok(),
            _ => None,
        }
    }

    /// The evidence a verdict needs, as a ratio: 1/α (sequential mode only).
    pub fn evidence_needed(&self) -> Option<f64> {
        match self {
            RateReading::AnytimeValid(mix) => Some(1.0 / mix.alpha()),
            RateReading::Wilson { .. } => None,
        }
    }

    /// Where k of n stands against `target` under this reading: the sequential test in
    /// sequential mode, the Wilson interval (to be read once, at the planned size) in
    /// fixed mode.
    pub fn standing(&self, k: u64, n: u64, target: f64) -> RateVerdict {
        if n == 0 {
            return RateVerdict::Undecided;
        }
        match self {
            RateReading::AnytimeValid(mix) => {
                mix.decide(k, n, target).unwrap_or(RateVerdict::Undecided)
            }
            RateReading::Wilson { confidence } => {
                stats::fixed_horizon_verdict(k, n, n, target, *confidence)
                    .unwrap_or(RateVerdict::Undecided)
            }
        }
    }
}

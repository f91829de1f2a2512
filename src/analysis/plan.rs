//! Planning: how many exposures a pilot needs, under the rule its verdict will read.
//!
//! - Sequential mode (the default): the verdict reads the anytime-valid beta-binomial
//!   mixture ([`stats::BetaBinomialMixture`], tuned to the planned exposures) continuously
//!   from `min_exposures` on. The plan is the exact first-passage law of that very rule
//!   ([`stats::sequential_plan`]) for a pilot whose true rate is `minimum_rate`: the exposures
//!   by which half, 80% and 90% of such pilots are "validated".
//! - Fixed mode: the classic fixed-horizon sample size (one-sided normal approximation at
//!   α = 1 − confidence and the given power), read once.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Mode;
use crate::stats::{self, SequentialDesign};

/// How many further exposures of continuous reading (a read after every exposure) a
/// sequential plan follows before it reads less often (see [`look_every_for`]).
pub const CONTINUOUS_LOOKS: u64 = 100_000;
/// The horizon followed, as a multiple of the planned exposures.
pub const HORIZON_PLANNED_MULTIPLE: u64 = 20;
/// The largest horizon followed, in exposures.
pub const MAX_HORIZON: u64 = 1_000_000;
/// The shortest horizon followed, in exposures.
pub const MIN_HORIZON: u64 = 10_000;
/// Bound on a plan's work, in units of horizon^1.5 × √(p(1 − p)) at the minimum rate p.
///
/// The dynamic programme carries the undecided walks over a window of about ±8 standard
/// deviations of the successes, √(n·p(1 − p)) at n exposures, and convolves it with a
/// kernel of `look_every` + 1 values per read (one or two per exposure whatever the reading
/// step), so following a horizon H costs about Σ_{n ≤ H} 16·√(n·p(1 − p)) ∝ H^1.5 ·
/// √(p(1 − p)) operations when no verdict settles the walks early (a minimum rate close to
/// the target). This bound is that cost at a horizon of 25,000 and p = 1/2 (the most
/// variable walk): a few seconds in a debug build, tens of milliseconds in release
/// (BENCHMARKS.md). A plan at a small rate follows a longer horizon: 40,548 exposures at
/// 6.25%, 54,317 at 2.5%, 73,345 at 1%. Before this bound a horizon of 1,000,000 at p near
/// 1/2 took minutes in a debug build.
pub const PLAN_WORK: f64 = 1_976_424.0;

/// What a plan is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanRequest {
    pub mode: Mode,
    /// The pre-registered target pre-order rate (the null hypothesis).
    pub target_preorder_rate: f64,
    /// The smallest true rate worth detecting (above the target).
    pub minimum_rate: f64,
    /// Confidence of the verdict; α = 1 − confidence.
    pub confidence: f64,
    /// Power of the fixed-horizon plans (fixed mode and the per-variant plan).
    pub power: f64,
    /// Planned exposures: tunes the sequential mixture.
    pub planned_exposures: u64,
    /// No verdict is read before this many exposures.
    pub min_exposures: u64,
    /// Number of variants (arms), when the plan is per variant.
    pub variants: Option<u32>,
}

/// Exposures needed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plan {
    /// `sequential` (the anytime-valid rule, read continuously) or `fixed` (read once).
    pub mode: Mode,
    pub target_preorder_rate: f64,
    pub minimum_rate: f64,
    pub confidence: f64,
    /// 1 − confidence (kept for compatibility).
    pub alpha: f64,
    /// Power of the fixed-horizon figures (`exposures_needed`, `per_variant`).
    pub power: f64,
    /// The planned exposures the sequential mixture is tuned to.
    pub planned_exposures: u64,
    /// No verdict is read before this many exposures.
    pub min_exposures: u64,
    /// Sequential mode: exposures by which half of all pilots whose true rate is
    /// `minimum_rate` are "validated" under the verdict's own rule (the anytime-valid
    /// mixture read after every `look_every` exposures from `min_exposures` on); null if
    /// fewer than half are within `horizon`.
    pub exposures_median: Option<u64>,
    /// Sequential mode: likewise, by which 80% of those pilots are validated.
    pub exposures_p80: Option<u64>,
    /// Sequential mode: likewise, by which 90% of those pilots are validated.
    pub exposures_p90: Option<u64>,
    /// Sequential mode: the share of those pilots validated within `horizon` exposures.
    pub probability_validated: Option<f64>,
    /// Sequential mode: exposures between two reads in the calculation: 1 (the report
    /// read continuously) while the horizon is at most 100,000 exposures, else
    /// ⌈horizon / 100,000⌉ (reading less often can only make the quantiles later).
    pub look_every: Option<u64>,
    /// Sequential mode: exposures followed, 20 × `planned_exposures` (at least 10,000,
    /// at most 1,000,000), and at most what keeps the calculation's work bounded:
    /// (1,976,424 / √(p(1 − p)))^(2/3) at p = `minimum_rate` (25,000 at p = 1/2,
    /// 40,548 at 6.25%; never below 10,000).
    pub horizon: Option<u64>,
    /// Fixed mode: one-sided exact-size normal approximation: exposures so that a true
    /// rate of `minimum_rate` is declared above `target_preorder_rate` with the given
    /// power, read once.
    pub exposures_needed: Option<u64>,
    /// Fixed mode: power actually reached at `exposures_needed`.
    pub achieved_power: Option<f64>,
    /// Per-variant plan (a read-once comparison in both modes): exposures per variant to
    /// tell two variants apart whose rates are `target_preorder_rate` and
    /// `minimum_rate` (two-sided, pooled variance).
    pub per_variant: Option<VariantPlan>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantPlan {
    pub variants: u32,
    pub exposures_per_variant: u64,
    pub total_exposures: u64,
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct PlanError {
    pub field: &'static str,
    pub reason: String,
}

/// The horizon a sequential plan follows for walks at the rate `minimum_rate`: 20 ×
/// planned, within [10,000, 1,000,000], and at most the horizon whose work reaches
/// [`PLAN_WORK`] (`(PLAN_WORK / √(p(1 − p)))^(2/3)`, never below 10,000).
pub fn horizon_for(planned_exposures: u64, minimum_rate: f64) -> u64 {
    let wanted = planned_exposures
        .saturating_mul(HORIZON_PLANNED_MULTIPLE)
        .clamp(MIN_HORIZON, MAX_HORIZON);
    wanted.min(work_horizon(minimum_rate))
}

/// The longest horizon whose work stays within [`PLAN_WORK`] for walks at rate `p`.
pub fn work_horizon(p: f64) -> u64 {
    let spread = (p * (1.0 - p)).max(1e-12).sqrt();
    let h = (PLAN_WORK / spread).powf(2.0 / 3.0);
    if h.is_finite() && h < MAX_HORIZON as f64 {
        crate::stats::convert::saturating_u64(h.floor()).max(MIN_HORIZON)
    } else {
        MAX_HORIZON
    }
}

/// Exposures between two reads: 1 up to [`CONTINUOUS_LOOKS`] exposures followed, else the
/// smallest step that keeps the number of reads at that bound.
pub fn look_every_for(horizon: u64) -> u64 {
    horizon.div_ceil(CONTINUOUS_LOOKS).max(1)
}

/// Computes the plan. Inputs are checked by the statistics engine; its errors come back
/// naming the request field.
pub fn plan(req: PlanRequest) -> Result<Plan, PlanError> {
    if !(req.minimum_rate > req.target_preorder_rate && req.minimum_rate < 1.0) {
        return Err(PlanError {
            field: "minimum_rate",
            reason: "must be above the target pre-order rate and below 1".into(),
        });
    }
    let alpha = 1.0 - req.confidence;
    let field_of = |e: stats::StatsError| {
        let text = e.to_string();
        let field = if text.contains("alpha") || text.contains("confidence") {
            "confidence"
        } else if text.contains("power") {
            "power"
        } else if text.contains("planned") {
            "planned_exposures"
        } else {
            "target_preorder_rate"
        };
        PlanError {
            field,
            reason: text,
        }
    };
    let mut out = Plan {
        mode: req.mode,
        target_preorder_rate: req.target_preorder_rate,
        minimum_rate: req.minimum_rate,
        confidence: req.confidence,
        alpha,
        power: req.power,
        planned_exposures: req.planned_exposures,
        min_exposures: req.min_exposures,
        exposures_median: None,
        exposures_p80: None,
        exposures_p90: None,
        probability_validated: None,
        look_every: None,
        horizon: None,
        exposures_needed: None,
        achieved_power: None,
        per_variant: None,
    };
    match req.mode {
        Mode::Sequential => {
            let horizon = horizon_for(req.planned_exposures, req.minimum_rate);
            let look_every = look_every_for(horizon);
            let design = SequentialDesign {
                target: req.target_preorder_rate,
                confidence: req.confidence,
                planned_exposures: req.planned_exposures,
                look_every,
                min_exposures: req.min_exposures,
                horizon,
            };
            let seq = stats::sequential_plan(&design, req.minimum_rate).map_err(field_of)?;
            out.exposures_median = seq.validated.median;
            out.exposures_p80 = seq.validated.p80;
            out.exposures_p90 = seq.validated.p90;
            out.probability_validated = Some(seq.validated.probability);
            out.look_every = Some(look_every);
            out.horizon = Some(horizon);
        }
        Mode::Fixed => {
            let one = stats::sample_size_one_proportion(
                req.target_preorder_rate,
                req.minimum_rate,
                alpha,
                req.power,
            )
            .map_err(field_of)?;
            let achieved = stats::power_one_proportion(
                req.target_preorder_rate,
                req.minimum_rate,
                alpha,
                one.n_ceil as f64,
            )
            .map_err(field_of)?;
            out.exposures_needed = Some(one.n_ceil);
            out.achieved_power = Some(achieved);
        }
    }
    out.per_variant = match req.variants {
        Some(v) if v >= 2 => {
            let two = stats::sample_size_two_proportions(
                req.target_preorder_rate,
                req.minimum_rate,
                alpha,
                req.power,
            )
            .map_err(field_of)?;
            Some(VariantPlan {
                variants: v,
                exposures_per_variant: two.pooled.n_ceil,
                total_exposures: two.pooled.n_ceil.saturating_mul(u64::from(v)),
            })
        }
        _ => None,
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_horizon_bounds_the_work() {
        for p in [1e-9, 0.001, 0.0625, 0.3, 0.5, 0.7, 0.999, 1.0 - 1e-9] {
            let h = horizon_for(1_000_000, p);
            assert!((MIN_HORIZON..=MAX_HORIZON).contains(&h), "{p}: {h}");
            let work = (h as f64).powf(1.5) * (p * (1.0 - p)).sqrt();
            assert!(work <= PLAN_WORK * 1.000_001, "{p}: {h} costs {work}");
        }
        // The most variable walk: 25,000; a short plan keeps 20 × planned, at least 10,000.
        assert_eq!(horizon_for(1_000_000, 0.5), 25_000);
        assert_eq!(horizon_for(100, 0.5), MIN_HORIZON);
        assert_eq!(horizon_for(1_000, 0.0625), 20_000);
        assert_eq!(horizon_for(1_000_000, 1e-9), MAX_HORIZON);
        // Smaller rates follow longer horizons.
        assert!(horizon_for(1_000_000, 0.01) > horizon_for(1_000_000, 0.0625));
    }
}

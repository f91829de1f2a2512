//! The anytime-valid rate test: a two-prior beta-binomial mixture (a test martingale for a
//! Bernoulli rate), its confidence sequence and the verdict on a target rate. Also the
//! fixed-horizon (Wilson, read once at the planned size) verdict, for comparison and for the
//! fixed mode of a pilot.
//!
//! Reference: `/work/shared/reference/sequential.md`; values in
//! `tests/fixtures/sequential_cases.json`.

use serde::Serialize;

use super::error::StatsError;
use super::gamma::{LN_SQRT_2PI, ln_beta_unchecked, stirling_delta};
use super::proportion::wilson_interval;
use super::special::bd0;
use super::validate;

/// Smallest candidate rate evaluated: `m` below this is treated as this value (the prior shape
/// c·m stays a normal double). No interval bound or target is ever this small in practice.
const MIN_RATE: f64 = 1e-300;

/// Floor of the prior concentration c (sequential.md: c = max(n*/L − 1, 0.001)).
const MIN_CONCENTRATION: f64 = 0.001;

/// Relative precision of the interval bounds (in ln m): bounds are accurate to about 1e-13
/// relative, far below the 1e-9 asked of them.
const ROOT_TOLERANCE: f64 = 1e-13;

/// The outcome of a rate read against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateVerdict {
    /// The rate is above the target ("validated").
    Above,
    /// The rate is below the target ("not validated").
    Below,
    /// Not enough evidence either way yet.
    Undecided,
}

/// A confidence-sequence interval for a rate at one look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateInterval {
    /// k/n, or `None` when n = 0.
    pub estimate: Option<f64>,
    /// Lower bound (0 when no rate below k/n is rejected, in particular at k ≤ 1).
    pub lower: f64,
    /// Upper bound (1 when no rate above k/n is rejected, in particular at k ≥ n − 1).
    pub upper: f64,
}

/// The two-prior beta-binomial mixture test martingale for a Bernoulli rate (Robbins 1970,
/// *Ann. Math. Statist.* 41(5); Howard, Ramdas, McAuliffe & Sekhon 2021, *Ann. Statist.* 49(2),
/// conjugate mixtures tuned to an intrinsic time; `/work/shared/reference/sequential.md`).
///
/// With α = 1 − confidence and N = planned exposures:
/// - L = 2·ln(1/α) + ln(1 + 2·ln(1/α)) (7.93615 at α = 0.05);
/// - c_i = max(n*_i/L − 1, 0.001) for the tuning points n*_1 = N/10, n*_2 = N;
/// - for a candidate rate m, the prior Beta(c·m, c·(1 − m)) centred on m gives
///   `ln M_c(m) = ln B(k + c·m, n − k + c·(1 − m)) − ln B(c·m, c·(1 − m)) − k·ln m − (n − k)·ln(1 − m)`;
/// - `M(m) = (M_{c1}(m) + M_{c2}(m)) / 2`.
///
/// Under a true rate m, M(m) is a nonnegative martingale with mean 1, so by Ville's inequality
/// P(M(m) ever reaches 1/α) ≤ α: the interval {m : M(m) < 1/α} and the verdicts hold however
/// often they are read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BetaBinomialMixture {
    alpha: f64,
    c1: f64,
    c2: f64,
    ln_threshold: f64,
}

/// `ln B(A, B) − k·ln m − (n − k)·ln(1 − m)` with A = k + a, B = n − k + b, a + b = c,
/// for m ∈ (0, 1) and `q = 1 − m` passed separately.
///
/// When A and B are both at least 10 this is evaluated in Loader's saddle-point form (Loader
/// 2000, "Fast and accurate computation of binomial probabilities"), which has no cancellation
/// between the O(n) terms:
/// `bd0(A, S·m) + bd0(B, S·q) + a·ln m + b·ln q − ½·ln(A·B/S) + ln √(2π) + δ(A) + δ(B) − δ(S)`,
/// S = n + c, bd0(x, μ) = x·ln(x/μ) + μ − x ≥ 0, δ = Stirling's correction.
fn ln_posterior_ratio(k: f64, n: f64, a: f64, b: f64, m: f64, q: f64) -> f64 {
    let big_a = k + a;
    let big_b = n - k + b;
    if big_a >= 10.0 && big_b >= 10.0 {
        let s = big_a + big_b;
        bd0(big_a, s * m) + bd0(big_b, s * q) + a * m.ln() + b * q.ln()
            - 0.5 * (big_a.ln() + big_b.ln() - s.ln())
            + LN_SQRT_2PI
            + stirling_delta(big_a)
            + stirling_delta(big_b)
            - stirling_delta(s)
    } else {
        let mut value = ln_beta_unchecked(big_a, big_b);
        if k > 0.0 {
            value -= k * m.ln();
        }
        if n - k > 0.0 {
            value -= (n - k) * q.ln();
        }
        value
    }
}

/// ln(e^x + e^y) − ln 2 without overflow.
fn ln_mean_exp(x: f64, y: f64) -> f64 {
    let (hi, lo) = if x >= y { (x, y) } else { (y, x) };
    hi + (lo - hi).exp().ln_1p() - std::f64::consts::LN_2
}

impl BetaBinomialMixture {
    /// The mixture for a confidence level and the initiative's planned exposures N, tuned at
    /// N/10 and N (see the type's documentation for the formulas). N = 0 (or any N below
    /// about 8) puts both concentrations at their floor 0.001.
    ///
    /// # Errors
    /// Confidence outside (0, 1); N above 2^53.
    pub fn new(confidence: f64, planned_exposures: u64) -> Result<Self, StatsError> {
        let alpha = validate::confidence(confidence)?;
        let planned = validate::count("planned_exposures", planned_exposures)? as f64;
        let ln_inv_alpha = -alpha.ln();
        let l = 2.0 * ln_inv_alpha + (2.0 * ln_inv_alpha).ln_1p();
        let c = |tuning: f64| (tuning / l - 1.0).max(MIN_CONCENTRATION);
        Self::with_concentrations(confidence, c(planned / 10.0), c(planned))
    }

    /// The mixture with explicit prior concentrations c1 and c2 (for tuning studies and
    /// tests; [`BetaBinomialMixture::new`] is the rule of the product).
    ///
    /// # Errors
    /// Confidence outside (0, 1); a concentration not finite and positive or above 10^12.
    pub fn with_concentrations(confidence: f64, c1: f64, c2: f64) -> Result<Self, StatsError> {
        let alpha = validate::confidence(confidence)?;
        let c1 = validate::shape("c1", c1)?;
        let c2 = validate::shape("c2", c2)?;
        Ok(Self {
            alpha,
            c1,
            c2,
            ln_threshold: -alpha.ln(),
        })
    }

    /// α = 1 − confidence.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The prior concentrations (c1, c2).
    pub fn concentrations(&self) -> (f64, f64) {
        (self.c1, self.c2)
    }

    /// ln(1/α): the evidence [`Self::ln_evidence`] must reach for a verdict.
    pub fn ln_threshold(&self) -> f64 {
        self.ln_threshold
    }

    /// ln M(m) for validated arguments (k ≤ n ≤ 2^53, m ∈ (0, 1)).
    pub(crate) fn ln_evidence_unchecked(&self, k: u64, n: u64, m: f64) -> f64 {
        self.ln_evidence_real(k as f64, n as f64, m)
    }

    /// ln M(m) for a real "success count" s ∈ [0, n] (the sum of n values in [0, 1]; see
    /// [`super::revenue_sequence`]), m ∈ (0, 1).
    pub(crate) fn ln_evidence_real(&self, kf: f64, nf: f64, m: f64) -> f64 {
        if nf == 0.0 {
            return 0.0;
        }
        let m = m.max(MIN_RATE);
        let q = 1.0 - m;
        let component = |c: f64| {
            let a = c * m;
            let b = c * q;
            ln_posterior_ratio(kf, nf, a, b, m, q) - ln_beta_unchecked(a, b)
        };
        ln_mean_exp(component(self.c1), component(self.c2))
    }

    /// ln M(m): the log evidence against the rate m after k successes in n trials (formula in
    /// the type's documentation). 0 at n = 0; at most 0 at m = k/n.
    ///
    /// # Errors
    /// `k > n`, `n` above 2^53, `m` not in (0, 1).
    pub fn ln_evidence(&self, k: u64, n: u64, m: f64) -> Result<f64, StatsError> {
        validate::counts_allow_empty("k", k, "n", n)?;
        let m = validate::open_probability("m", m)?;
        Ok(self.ln_evidence_unchecked(k, n, m))
    }

    /// M(m) = exp(ln M(m)): "the data are M(m) times better explained by another rate than by
    /// m"; a verdict needs 1/α (20 at 95%). Saturates at `f64::MAX` instead of overflowing
    /// (use [`Self::ln_evidence`] for large evidence).
    ///
    /// # Errors
    /// As [`Self::ln_evidence`].
    pub fn evidence_ratio(&self, k: u64, n: u64, m: f64) -> Result<f64, StatsError> {
        Ok(self.ln_evidence(k, n, m)?.exp().min(f64::MAX))
    }

    /// The confidence sequence {m : ln M(m) < ln(1/α)} at (k, n): (0, 1) at n = 0.
    ///
    /// Each bound is the root of ln M(m) = ln(1/α) on its side of k/n (where ln M ≤ 0), found
    /// in ln m (ln(1 − m) for the upper bound) by a bracketing Illinois false-position search
    /// with bisection safeguard, to about 1e-13 relative. The lower bound is 0 when
    /// ln M(m) stays below ln(1/α) as m → 0 (always at k ≤ 1); the upper likewise 1.
    ///
    /// # Errors
    /// `k > n`, `n` above 2^53.
    pub fn interval(&self, k: u64, n: u64) -> Result<RateInterval, StatsError> {
        validate::counts_allow_empty("k", k, "n", n)?;
        if n == 0 {
            return Ok(RateInterval {
                estimate: None,
                lower: 0.0,
                upper: 1.0,
            });
        }
        let estimate = k as f64 / n as f64;
        // Mirror: the upper bound for k is 1 − the lower bound for n − k (the mixture is
        // symmetric under m ↦ 1 − m, k ↦ n − k).
        let nf = n as f64;
        let lower = self.lower_bound(k as f64, nf);
        let upper = 1.0 - self.lower_bound((n - k) as f64, nf);
        Ok(RateInterval {
            estimate: Some(estimate),
            lower: lower.min(estimate),
            upper: upper.max(estimate),
        })
    }

    /// The infimum of {m ≤ k/n : ln M(m) < ln(1/α)} for a real count 0 ≤ k ≤ n, n > 0.
    pub(crate) fn lower_bound(&self, k: f64, n: f64) -> f64 {
        if k <= 1.0 {
            // As m → 0, ln M(m) → ln c − ln(n − 1 + c) < 0 at k = 1, → −∞ for 0 < k < 1 and
            // → 0 at k = 0: nothing below k/n is rejected.
            return 0.0;
        }
        let thr = self.ln_threshold;
        let estimate = k / n;
        let f = |u: f64| self.ln_evidence_real(k, n, u.exp()) - thr;
        let u_in = estimate.ln();
        let f_in = f(u_in);
        if f_in >= 0.0 {
            // Cannot happen (M(k/n) ≤ 1), kept so a rounding surprise gives a point, not a loop.
            return estimate;
        }
        // Bracket: step down in ln m by a width that doubles.
        let u_floor = MIN_RATE.ln();
        let mut step = (4.0 / k.sqrt()).min(1.0);
        let (mut u_hi, mut f_hi) = (u_in, f_in);
        let (u_out, f_out) = loop {
            let u = (u_hi - step).max(u_floor);
            let fu = f(u);
            if fu >= 0.0 {
                break (u, fu);
            }
            if u <= u_floor {
                return 0.0;
            }
            u_hi = u;
            f_hi = fu;
            step *= 2.0;
        };
        let u = bracketed_root(f, u_out, f_out, u_hi, f_hi);
        u.exp()
    }

    /// The verdict on a target rate t (sequential.md): when ln M(t) ≥ ln(1/α), `Above` if
    /// k/n > t and `Below` if k/n < t; otherwise `Undecided`. Equivalently the interval lies
    /// wholly above (below) t. `Undecided` at n = 0. (A minimum number of exposures before a
    /// verdict is the caller's rule.)
    ///
    /// # Errors
    /// `k > n`, `n` above 2^53, `target` not in (0, 1).
    pub fn decide(&self, k: u64, n: u64, target: f64) -> Result<RateVerdict, StatsError> {
        validate::counts_allow_empty("k", k, "n", n)?;
        let target = validate::open_probability("target", target)?;
        Ok(self.decide_unchecked(k, n, target))
    }

    /// [`Self::decide`] for validated arguments.
    pub(crate) fn decide_unchecked(&self, k: u64, n: u64, target: f64) -> RateVerdict {
        if n == 0 {
            return RateVerdict::Undecided;
        }
        let estimate = k as f64 / n as f64;
        if estimate == target || self.ln_evidence_unchecked(k, n, target) < self.ln_threshold {
            RateVerdict::Undecided
        } else if estimate > target {
            RateVerdict::Above
        } else {
            RateVerdict::Below
        }
    }
}

/// Root of a continuous f on [a, b] with f(a) ≥ 0 > f(b) (either order of a and b), by the
/// Illinois variant of false position (Dowell & Jarratt 1971) with a bisection step whenever
/// the bracket fails to halve; returns the end of the final bracket where f < 0.
fn bracketed_root(f: impl Fn(f64) -> f64, a: f64, fa: f64, b: f64, fb: f64) -> f64 {
    let (mut pos, mut f_pos, mut neg, mut f_neg) = (a, fa, b, fb);
    let mut last_side = 0_i8;
    for _ in 0..200 {
        let width = (pos - neg).abs();
        if width <= ROOT_TOLERANCE * (1.0 + neg.abs()) {
            break;
        }
        let mut x = (pos * f_neg - neg * f_pos) / (f_neg - f_pos);
        if !x.is_finite() || x <= pos.min(neg) || x >= pos.max(neg) {
            x = 0.5 * (pos + neg);
        }
        let fx = f(x);
        if fx >= 0.0 {
            pos = x;
            f_pos = fx;
            if last_side == 1 {
                f_neg *= 0.5;
            }
            last_side = 1;
        } else {
            neg = x;
            f_neg = fx;
            if last_side == -1 {
                f_pos *= 0.5;
            }
            last_side = -1;
        }
        if (pos - neg).abs() > 0.5 * width {
            // Slow progress: one bisection step.
            let mid = 0.5 * (pos + neg);
            let fm = f(mid);
            if fm >= 0.0 {
                pos = mid;
                f_pos = fm;
            } else {
                neg = mid;
                f_neg = fm;
            }
            last_side = 0;
        }
    }
    neg
}

/// The fixed-horizon verdict: `Undecided` ("collecting") while n < N, then the Wilson interval
/// (Wilson 1927) of (k, n) at the given confidence decides: `Above` if its lower bound exceeds
/// the target, `Below` if its upper bound is below it, `Undecided` otherwise.
///
/// Read once, this has error ≤ about α/2 on each side. To keep that when the report is read
/// repeatedly, pass the counts **as of the planned N exposures** (the first N exposed); reading
/// the Wilson interval again on later totals is a new look and inflates the error (see
/// BENCHMARKS.md).
///
/// # Errors
/// `k > n`, counts above 2^53, confidence outside (0, 1), target not in (0, 1).
pub fn fixed_horizon_verdict(
    k: u64,
    n: u64,
    planned_exposures: u64,
    target: f64,
    confidence: f64,
) -> Result<RateVerdict, StatsError> {
    validate::counts_allow_empty("k", k, "n", n)?;
    validate::count("planned_exposures", planned_exposures)?;
    let target = validate::open_probability("target", target)?;
    validate::confidence(confidence)?;
    if n == 0 || n < planned_exposures {
        return Ok(RateVerdict::Undecided);
    }
    let w = wilson_interval(k, n, confidence)?;
    Ok(if w.lower > target {
        RateVerdict::Above
    } else if w.upper < target {
        RateVerdict::Below
    } else {
        RateVerdict::Undecided
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_intervals() -> Result<(), StatsError> {
        let mix = BetaBinomialMixture::new(0.95, 5_000)?;
        let i = mix.interval(50, 1_000)?;
        assert!((i.lower - 0.030_898_258).abs() < 1e-6, "{i:?}");
        assert!((i.upper - 0.074_579_130).abs() < 1e-6, "{i:?}");
        let i = mix.interval(250, 5_000)?;
        assert!((i.lower - 0.040_857_953).abs() < 1e-6, "{i:?}");
        assert!((i.upper - 0.060_180_182).abs() < 1e-6, "{i:?}");
        Ok(())
    }
}

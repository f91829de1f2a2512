//! An anytime-valid interval for revenue per exposed customer, from aggregates only.
//!
//! Revenue per exposed customer X_i lies in [0, B] (B = the largest amount the initiative
//! accepts per customer), is 0 for most customers and skewed for the rest. The report stores
//! per cell only the count n, the sum Σ X_i and the sum of squares, not the order of the
//! observations, so predictable plug-in confidence sequences (Waudby-Smith & Ramdas 2023,
//! which need the running means in order) cannot be evaluated.
//!
//! Choice: the beta-binomial mixture of [`super::rate_sequence`] applied to Y_i = X_i/B with
//! the real "success count" S = Σ Y_i. For Y ∈ [0, 1] with mean μ and any θ ∈ (0, 1), the
//! function y ↦ (θ/μ)^y·((1 − θ)/(1 − μ))^(1−y) is convex, so its expectation is at most that
//! of a Bernoulli(μ) variable with the same mean, which is 1 (the convexity argument of
//! Hoeffding 1963, *JASA* 58:13–30, §2). Hence the mixture M(μ) is a nonnegative
//! supermartingale for bounded data, Ville's inequality holds, and the interval is valid
//! simultaneously for every n however often it is read. It depends on the data only through
//! (n, S), is never negative, lies in [0, B] and adapts to small means (its width scales like
//! √(μ(1 − μ)/n), not √(1/(4n))).
//!
//! Why not an empirical-Bernstein bound on (n, Σ X, Σ X²): Maurer & Pontil's (2009) bound is for
//! one fixed n; reading it continuously needs a union bound over n (e.g. δ_n ∝ α/n^1.1), which
//! at n = 5,000 multiplies ln(1/δ) by about four and adds a 7·ln(1/δ_n)/(3(n − 1)) term: at the
//! 5% pre-order rates of pilots (variance within a factor 3 of the Bernoulli bound μ(1 − μ))
//! that is wider than this interval, and the stitched time-uniform versions (Howard et al.
//! 2021) need the variance process of predictable centres, which aggregates do not give.

use serde::Serialize;

use super::error::StatsError;
use super::rate_sequence::BetaBinomialMixture;
use super::validate;

/// An interval for the mean revenue per exposed customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RevenueInterval {
    /// Σ X / n, or `None` at n = 0.
    pub estimate: Option<f64>,
    /// Lower bound, in [0, B].
    pub lower: f64,
    /// Upper bound, in [0, B].
    pub upper: f64,
}

/// Anytime-valid confidence sequence for the mean of values in [0, B] from (n, Σ X, B):
/// `[B·ℓ, B·u]` where [ℓ, u] = {m : ln M(m) < ln(1/α)} for the two-prior beta-binomial mixture
/// ([`BetaBinomialMixture::new`]`(confidence, planned_exposures)`) evaluated at the real count
/// s = Σ X / B out of n:
/// `ln M_c(m) = ln B(s + c·m, n − s + c·(1 − m)) − ln B(c·m, c·(1 − m)) − s·ln m − (n − s)·ln(1 − m)`.
/// Valid for bounded data by the convexity argument in the module documentation (Hoeffding
/// 1963; Robbins 1970; Howard et al. 2021). (0, B) at n = 0; lower bound 0 while Σ X ≤ B.
///
/// # Errors
/// Confidence outside (0, 1); `max_value` not finite and positive; `sum` negative, not finite
/// or above n·B (beyond rounding of 1e-9 relative, which is clamped); n above 2^53.
pub fn revenue_interval(
    n: u64,
    sum: f64,
    max_value: f64,
    confidence: f64,
    planned_exposures: u64,
) -> Result<RevenueInterval, StatsError> {
    validate::count("n", n)?;
    let b = validate::positive("max_value", max_value)?;
    let sum = validate::finite("sum", sum)?;
    let mixture = BetaBinomialMixture::new(confidence, planned_exposures)?;
    let nf = n as f64;
    if sum < 0.0 || sum > nf * b * (1.0 + 1e-9) {
        return Err(StatsError::ProbabilityOutOfRange {
            name: "sum / (n·max_value)",
            value: if n == 0 { sum } else { sum / (nf * b) },
            range: "[0, 1]",
        });
    }
    if n == 0 {
        return Ok(RevenueInterval {
            estimate: None,
            lower: 0.0,
            upper: b,
        });
    }
    let s = (sum / b).min(nf);
    let lower = mixture.lower_bound(s, nf);
    let upper = 1.0 - mixture.lower_bound(nf - s, nf);
    let mean_y = s / nf;
    Ok(RevenueInterval {
        estimate: Some(sum / nf),
        lower: (b * lower.min(mean_y)).clamp(0.0, b),
        upper: (b * upper.max(mean_y)).clamp(0.0, b),
    })
}

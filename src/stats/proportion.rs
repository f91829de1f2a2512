//! One proportion: confidence intervals for a rate k/n and the exact binomial test.

use serde::Serialize;

use super::error::StatsError;
use super::special::{
    Tail, beta_quantile, binomial_cdf, binomial_sf_inclusive, ln_binomial_pmf,
    normal_quantile_upper,
};
use super::validate;

/// A point estimate with a two-sided interval around it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The point estimate (for a proportion, k/n).
    pub estimate: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

/// Result of the exact binomial test of H0: p = p0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinomialTest {
    /// Observed proportion k/n.
    pub estimate: f64,
    /// P(X ≥ k) under H0 (H1: p > p0).
    pub p_greater: f64,
    /// P(X ≤ k) under H0 (H1: p < p0).
    pub p_less: f64,
    /// Two-sided p-value: the total probability of outcomes no more likely than k (SciPy's rule).
    pub p_two_sided: f64,
}

/// Wilson score interval for a binomial proportion (Wilson 1927, *JASA* 22:209–212).
///
/// With p̂ = k/n and z = z_{1−α/2}:
/// `c = (p̂ + z²/(2n)) / (1 + z²/n)`, `h = z·√(p̂(1−p̂)/n + z²/(4n²)) / (1 + z²/n)`,
/// interval `[max(0, c − h), min(1, c + h)]`; the bound is exactly 0 at k = 0 and exactly 1
/// at k = n. Matches `statsmodels.stats.proportion.proportion_confint(method="wilson")`.
///
/// # Errors
/// `n = 0`, `k > n`, or confidence outside (0, 1).
pub fn wilson_interval(k: u64, n: u64, confidence: f64) -> Result<Interval, StatsError> {
    validate::counts("k", k, "n", n)?;
    let alpha = validate::confidence(confidence)?;
    let z = normal_quantile_upper(alpha / 2.0);
    Ok(wilson_with_z(k, n, z))
}

/// Wilson interval for a known critical value z (shared with the Newcombe interval).
pub(crate) fn wilson_with_z(k: u64, n: u64, z: f64) -> Interval {
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let lower = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let upper = if k == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    Interval {
        estimate: p,
        lower,
        upper,
    }
}

/// Clopper–Pearson "exact" interval (Clopper & Pearson 1934, *Biometrika* 26:404–413).
///
/// `lower = B⁻¹(α/2; k, n−k+1)` (0 when k = 0), `upper = B⁻¹(1−α/2; k+1, n−k)` (1 when k = n),
/// where B⁻¹ is the Beta quantile. The upper bound is solved on the upper tail directly, so no
/// precision is lost to `1 − α/2`.
///
/// # Errors
/// `n = 0`, `k > n`, or confidence outside (0, 1).
pub fn clopper_pearson_interval(k: u64, n: u64, confidence: f64) -> Result<Interval, StatsError> {
    validate::counts("k", k, "n", n)?;
    let alpha = validate::confidence(confidence)?;
    let kf = k as f64;
    let nf = n as f64;
    let lower = if k == 0 {
        0.0
    } else {
        beta_quantile(kf, (n - k + 1) as f64, alpha / 2.0, Tail::Lower).0
    };
    let upper = if k == n {
        1.0
    } else {
        beta_quantile(kf + 1.0, (n - k) as f64, alpha / 2.0, Tail::Upper).0
    };
    Ok(Interval {
        estimate: kf / nf,
        lower,
        upper,
    })
}

/// Jeffreys interval: the equal-tailed credible interval of the Beta(k+½, n−k+½) posterior
/// (Brown, Cai & DasGupta 2001, *Statistical Science* 16:101–133).
///
/// `lower = B⁻¹(α/2; k+½, n−k+½)`, `upper = B⁻¹(1−α/2; k+½, n−k+½)`, with no boundary
/// adjustment at k = 0 or k = n (as `statsmodels` `method="jeffreys"`).
///
/// # Errors
/// `n = 0`, `k > n`, or confidence outside (0, 1).
pub fn jeffreys_interval(k: u64, n: u64, confidence: f64) -> Result<Interval, StatsError> {
    validate::counts("k", k, "n", n)?;
    let alpha = validate::confidence(confidence)?;
    let a = k as f64 + 0.5;
    let b = (n - k) as f64 + 0.5;
    Ok(Interval {
        estimate: k as f64 / n as f64,
        lower: beta_quantile(a, b, alpha / 2.0, Tail::Lower).0,
        upper: beta_quantile(a, b, alpha / 2.0, Tail::Upper).0,
    })
}

/// Exact binomial test of H0: p = p0 for k successes in n trials (Clopper & Pearson 1934;
/// two-sided rule as Agresti 2002 §1.4 / SciPy `binomtest`).
///
/// - `p_greater = P(X ≥ k) = I_{p0}(k, n−k+1)` (1 when k = 0),
/// - `p_less = P(X ≤ k) = 1 − I_{p0}(k+1, n−k)` (1 when k = n),
/// - `p_two_sided = Σ P(X = x)` over all x with `P(X = x) ≤ P(X = k)·(1 + 10⁻⁷)`, capped at 1,
///
/// for X ~ Bin(n, p0). Tails come from the regularized incomplete beta function, so p-values far
/// below 10⁻³⁰⁰ are not flushed to zero until they underflow a double.
///
/// # Errors
/// `n = 0`, `k > n`, or p0 outside [0, 1] or not finite.
pub fn binomial_test(k: u64, n: u64, p0: f64) -> Result<BinomialTest, StatsError> {
    validate::counts("k", k, "n", n)?;
    let p = validate::probability("p0", p0)?;
    let q = 1.0 - p;
    let p_greater = binomial_sf_inclusive(k, n, p, q);
    let p_less = binomial_cdf(k, n, p, q);
    let p_two_sided = binomial_two_sided(k, n, p, q);
    Ok(BinomialTest {
        estimate: k as f64 / n as f64,
        p_greater,
        p_less,
        p_two_sided,
    })
}

/// Relative tolerance of the two-sided "no more likely than observed" rule (SciPy's value).
pub(crate) const TWO_SIDED_RELATIVE_TOLERANCE: f64 = 1e-7;

fn binomial_two_sided(k: u64, n: u64, p: f64, q: f64) -> f64 {
    let ln_pmf = |x: u64| ln_binomial_pmf(x, n, p, q);
    let threshold = ln_pmf(k) + TWO_SIDED_RELATIVE_TOLERANCE.ln_1p();
    // The binomial pmf is non-decreasing up to its mode ⌊(n+1)p⌋ and non-increasing after it.
    let mode = super::convert::saturating_u64((((n as f64) + 1.0) * p).floor().min(n as f64));
    let regions = two_sided_regions(0, mode, n, threshold, ln_pmf);
    let mut total = 0.0;
    if let Some(left) = regions.left_end {
        total += binomial_cdf(left, n, p, q);
    }
    if let Some(right) = regions.right_start {
        total += binomial_sf_inclusive(right, n, p, q);
    }
    if regions.everything {
        1.0
    } else {
        total.min(1.0)
    }
}

/// The outcomes of a unimodal discrete distribution on `lo..=hi` (mode `mode`) whose
/// log-probability is at most `threshold`: everything `≤ left_end` and `≥ right_start`.
pub(crate) struct TwoSidedRegions {
    pub everything: bool,
    pub left_end: Option<u64>,
    pub right_start: Option<u64>,
}

/// Locates the two tails of a unimodal pmf below `threshold` by binary search on each side of
/// the mode.
pub(crate) fn two_sided_regions(
    lo: u64,
    mode: u64,
    hi: u64,
    threshold: f64,
    ln_pmf: impl Fn(u64) -> f64,
) -> TwoSidedRegions {
    if ln_pmf(mode) <= threshold {
        return TwoSidedRegions {
            everything: true,
            left_end: None,
            right_start: None,
        };
    }
    // Left side: pmf non-decreasing on [lo, mode]; find the largest x with pmf(x) ≤ threshold.
    let left_end = if mode > lo && ln_pmf(lo) <= threshold {
        let (mut good, mut bad) = (lo, mode); // pmf(good) ≤ t < pmf(bad)
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            if ln_pmf(mid) <= threshold {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Some(good)
    } else {
        None
    };
    // Right side: pmf non-increasing on [mode, hi]; find the smallest x with pmf(x) ≤ threshold.
    let right_start = if hi > mode && ln_pmf(hi) <= threshold {
        let (mut bad, mut good) = (mode, hi);
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if ln_pmf(mid) <= threshold {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Some(good)
    } else {
        None
    };
    TwoSidedRegions {
        everything: false,
        left_end,
        right_start,
    }
}

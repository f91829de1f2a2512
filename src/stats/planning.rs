//! Sample-size planning (normal approximation) and the matching power functions.
//!
//! Every sample size is returned as the real solution `n` and its ceiling `n_ceil`; the power
//! functions are the exact inverses (power at a given n, which need not be an integer).

use serde::Serialize;

use super::error::StatsError;
use super::special::{normal_cdf, normal_pdf, normal_quantile, normal_quantile_upper};
use super::validate;

/// A required sample size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SampleSize {
    /// The real-valued solution.
    pub n: f64,
    /// ⌈n⌉, the number of units to plan for.
    pub n_ceil: u64,
}

/// Per-arm sample sizes for comparing two proportions, with pooled and unpooled null variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TwoProportionSampleSize {
    /// Pooled null variance 2p̄(1−p̄) (Fleiss, Levin & Paik 2003, eq. 4.14 without correction).
    pub pooled: SampleSize,
    /// Same variance p_a(1−p_a) + p_b(1−p_b) under null and alternative.
    pub unpooled: SampleSize,
}

/// Per-arm sample size from Cohen's effect size h.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CohenHSampleSize {
    /// h = 2·asin(√p_b) − 2·asin(√p_a).
    pub cohen_h: f64,
    /// Per-arm sample size.
    pub n: f64,
    /// ⌈n⌉.
    pub n_ceil: u64,
}

fn sample_size(n: f64) -> Result<SampleSize, StatsError> {
    let ceil = n.ceil();
    if !ceil.is_finite() || ceil >= u64::MAX as f64 {
        return Err(StatsError::SampleSizeOverflow(n));
    }
    Ok(SampleSize {
        n,
        n_ceil: super::convert::saturating_u64(ceil),
    })
}

fn distinct_rates(
    name_a: &'static str,
    a: f64,
    name_b: &'static str,
    b: f64,
) -> Result<(), StatsError> {
    validate::open_probability(name_a, a)?;
    validate::open_probability(name_b, b)?;
    if a == b {
        return Err(StatsError::NoEffect(a));
    }
    Ok(())
}

/// Units needed to show a rate above `p0` when it is really `p1`: one-sided one-sample test at
/// level `alpha` with the given power (Chow, Shao & Wang 2008, *Sample Size Calculations in
/// Clinical Research*, §4.1; null variance under H0, alternative variance under H1):
///
/// `n = [(z_{1−α}·√(p0(1−p0)) + z_{power}·√(p1(1−p1))) / (p1 − p0)]²`.
///
/// Matches `statsmodels` `normal_sample_size_one_tail`. p1 < p0 plans the mirror-image test of a
/// decrease.
///
/// # Errors
/// Rates outside (0, 1) or equal; alpha or power outside (0, 1); power not above alpha.
pub fn sample_size_one_proportion(
    p0: f64,
    p1: f64,
    alpha: f64,
    power: f64,
) -> Result<SampleSize, StatsError> {
    distinct_rates("p0", p0, "p1", p1)?;
    let alpha = validate::alpha(alpha)?;
    let power = validate::power(power)?;
    let numerator = normal_quantile_upper(alpha) * (p0 * (1.0 - p0)).sqrt()
        + normal_quantile(power) * (p1 * (1.0 - p1)).sqrt();
    if numerator <= 0.0 {
        return Err(StatsError::PowerNotAboveAlpha { power, alpha });
    }
    let root = numerator / (p1 - p0);
    sample_size(root * root)
}

/// Power of the one-sided one-sample test of [`sample_size_one_proportion`] with `n` units
/// (Chow, Shao & Wang 2008, §4.1, solved for power):
/// `Φ((|p1 − p0|·√n − z_{1−α}·√(p0(1−p0))) / √(p1(1−p1)))`.
///
/// # Errors
/// Rates outside (0, 1) or equal; alpha outside (0, 1); n not finite and positive.
pub fn power_one_proportion(p0: f64, p1: f64, alpha: f64, n: f64) -> Result<f64, StatsError> {
    distinct_rates("p0", p0, "p1", p1)?;
    let alpha = validate::alpha(alpha)?;
    let n = validate::positive("n", n)?;
    let z = ((p1 - p0).abs() * n.sqrt() - normal_quantile_upper(alpha) * (p0 * (1.0 - p0)).sqrt())
        / (p1 * (1.0 - p1)).sqrt();
    Ok(normal_cdf(z))
}

/// Per-arm size for two equal arms and a two-sided test at level `alpha` with the given power at
/// (p_a, p_b), ignoring the far rejection tail (Fleiss, Levin & Paik 2003, *Statistical Methods
/// for Rates and Proportions*, §4.2; Chow, Shao & Wang 2008, §4.2):
///
/// - pooled, p̄ = (p_a+p_b)/2:
///   `n = [(z_{1−α/2}·√(2p̄(1−p̄)) + z_{power}·√(p_a(1−p_a)+p_b(1−p_b))) / (p_b − p_a)]²`
///   (`statsmodels` `samplesize_proportions_2indep_onetail`);
/// - unpooled: `n = (z_{1−α/2} + z_{power})²·(p_a(1−p_a)+p_b(1−p_b)) / (p_b − p_a)²`.
///
/// # Errors
/// Rates outside (0, 1) or equal; alpha or power outside (0, 1); power too low to be reached.
pub fn sample_size_two_proportions(
    p_a: f64,
    p_b: f64,
    alpha: f64,
    power: f64,
) -> Result<TwoProportionSampleSize, StatsError> {
    distinct_rates("p_a", p_a, "p_b", p_b)?;
    let alpha = validate::alpha(alpha)?;
    let power = validate::power(power)?;
    let z_alpha = normal_quantile_upper(alpha / 2.0);
    let z_power = normal_quantile(power);
    let p_bar = 0.5 * (p_a + p_b);
    let s_null = (2.0 * p_bar * (1.0 - p_bar)).sqrt();
    let s_alt = (p_a * (1.0 - p_a) + p_b * (1.0 - p_b)).sqrt();
    let diff = p_b - p_a;
    let pooled_num = z_alpha * s_null + z_power * s_alt;
    let unpooled_num = (z_alpha + z_power) * s_alt;
    if pooled_num <= 0.0 || unpooled_num <= 0.0 {
        return Err(StatsError::PowerNotAboveAlpha { power, alpha });
    }
    let pooled = pooled_num / diff;
    let unpooled = unpooled_num / diff;
    Ok(TwoProportionSampleSize {
        pooled: sample_size(pooled * pooled)?,
        unpooled: sample_size(unpooled * unpooled)?,
    })
}

/// Power of the pooled two-sided two-proportion test with `n` per arm, far tail ignored
/// (Fleiss, Levin & Paik 2003, §4.2, solved for power):
/// `Φ((|p_b − p_a|·√n − z_{1−α/2}·√(2p̄(1−p̄))) / √(p_a(1−p_a)+p_b(1−p_b)))`.
///
/// # Errors
/// Rates outside (0, 1) or equal; alpha outside (0, 1); n not finite and positive.
pub fn power_two_proportions_pooled(
    p_a: f64,
    p_b: f64,
    alpha: f64,
    n: f64,
) -> Result<f64, StatsError> {
    distinct_rates("p_a", p_a, "p_b", p_b)?;
    let alpha = validate::alpha(alpha)?;
    let n = validate::positive("n", n)?;
    let p_bar = 0.5 * (p_a + p_b);
    let s_null = (2.0 * p_bar * (1.0 - p_bar)).sqrt();
    let s_alt = (p_a * (1.0 - p_a) + p_b * (1.0 - p_b)).sqrt();
    let z = ((p_b - p_a).abs() * n.sqrt() - normal_quantile_upper(alpha / 2.0) * s_null) / s_alt;
    Ok(normal_cdf(z))
}

/// Power of the unpooled two-sided two-proportion test with `n` per arm, far tail ignored
/// (Chow, Shao & Wang 2008, §4.2, solved for power):
/// `Φ(|p_b − p_a|·√n / √(p_a(1−p_a)+p_b(1−p_b)) − z_{1−α/2})`.
///
/// # Errors
/// Rates outside (0, 1) or equal; alpha outside (0, 1); n not finite and positive.
pub fn power_two_proportions_unpooled(
    p_a: f64,
    p_b: f64,
    alpha: f64,
    n: f64,
) -> Result<f64, StatsError> {
    distinct_rates("p_a", p_a, "p_b", p_b)?;
    let alpha = validate::alpha(alpha)?;
    let n = validate::positive("n", n)?;
    let s_alt = (p_a * (1.0 - p_a) + p_b * (1.0 - p_b)).sqrt();
    let z = (p_b - p_a).abs() * n.sqrt() / s_alt - normal_quantile_upper(alpha / 2.0);
    Ok(normal_cdf(z))
}

/// Cohen's effect size for two proportions, `h = 2·asin(√p_b) − 2·asin(√p_a)` (Cohen 1988,
/// *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., §6.2).
///
/// # Errors
/// Rates outside [0, 1] or not finite.
pub fn cohen_h(p_a: f64, p_b: f64) -> Result<f64, StatsError> {
    validate::probability("p_a", p_a)?;
    validate::probability("p_b", p_b)?;
    Ok(2.0 * p_b.sqrt().asin() - 2.0 * p_a.sqrt().asin())
}

/// Exact two-sided power `Φ(u − z) + Φ(−u − z)` of the arcsine test, u = |h|·√(n/2).
fn arcsine_power(u: f64, z: f64) -> f64 {
    normal_cdf(u - z) + normal_cdf(-u - z)
}

/// Per-arm size from Cohen's h for two equal arms and a two-sided test (Cohen 1988, ch. 6;
/// `statsmodels` `NormalIndPower().solve_power(effect_size=h, ratio=1,
/// alternative="two-sided")`).
///
/// n solves the exact two-sided power equation, far tail included:
/// `Φ(|h|·√(n/2) − z_{1−α/2}) + Φ(−|h|·√(n/2) − z_{1−α/2}) = power`, by Newton's method on
/// u = |h|·√(n/2) from the closed form u₀ = z_{1−α/2} + z_{power} (which ignores the far tail);
/// then `n = 2u²/h²`.
///
/// # Errors
/// Rates outside (0, 1) or equal; alpha or power outside (0, 1); power not above alpha (the power
/// of the test when h = 0).
pub fn sample_size_cohen_h(
    p_a: f64,
    p_b: f64,
    alpha: f64,
    power: f64,
) -> Result<CohenHSampleSize, StatsError> {
    distinct_rates("p_a", p_a, "p_b", p_b)?;
    let alpha = validate::alpha(alpha)?;
    let power = validate::power(power)?;
    if power <= alpha {
        return Err(StatsError::PowerNotAboveAlpha { power, alpha });
    }
    let h = cohen_h(p_a, p_b)?;
    let z = normal_quantile_upper(alpha / 2.0);
    // The power is strictly increasing in u ≥ 0 (from alpha at u = 0 to 1), so Newton from a
    // point at or right of the root converges monotonically; clamp to stay in u > 0.
    let mut u = (z + normal_quantile(power)).max(1e-8);
    for _ in 0..100 {
        let g = arcsine_power(u, z) - power;
        let slope = normal_pdf(u - z) - normal_pdf(u + z);
        if slope <= 0.0 {
            break;
        }
        let next = (u - g / slope).max(0.5 * u);
        let done = (next - u).abs() <= 1e-15 * u;
        u = next;
        if done {
            break;
        }
    }
    let n = 2.0 * u * u / (h * h);
    let size = sample_size(n)?;
    Ok(CohenHSampleSize {
        cohen_h: h,
        n: size.n,
        n_ceil: size.n_ceil,
    })
}

/// Exact two-sided power of the arcsine (Cohen's h) test with `n` per arm (Cohen 1988, ch. 6):
/// `Φ(|h|·√(n/2) − z_{1−α/2}) + Φ(−|h|·√(n/2) − z_{1−α/2})`.
///
/// # Errors
/// Rates outside [0, 1]; alpha outside (0, 1); n not finite and positive.
pub fn power_cohen_h(p_a: f64, p_b: f64, alpha: f64, n: f64) -> Result<f64, StatsError> {
    let h = cohen_h(p_a, p_b)?;
    let alpha = validate::alpha(alpha)?;
    let n = validate::positive("n", n)?;
    let z = normal_quantile_upper(alpha / 2.0);
    Ok(arcsine_power(h.abs() * (0.5 * n).sqrt(), z).min(1.0))
}

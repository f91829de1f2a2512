//! The log-gamma and log-beta functions, written out so that their accuracy is known and tested
//! (`tests/stats_reference.rs` holds them to mpmath values).
//!
//! Method: Stirling's series for x ≥ 10, Taylor series of ln Γ about 2 for x ∈ [1.5, 2.5), and
//! the recurrence Γ(x + 1) = x·Γ(x) in between and below. The relative error is about 1e-15
//! away from the zeros of ln Γ at 1 and 2, where the series about 2 keeps the error relative
//! too (ln Γ(1 + z) ≈ −γ·z is computed to full relative precision for small z).

use super::error::StatsError;
use super::validate;

/// ln √(2π).
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Below this, ln Γ uses the recurrence and the series about 2; from here on, Stirling's series.
const STIRLING_FROM: f64 = 10.0;

/// 1 − γ (γ = Euler's constant), the first Taylor coefficient of ln Γ(2 + z).
const ONE_MINUS_EULER: f64 = 0.422_784_335_098_467_13;

/// Taylor coefficients of ln Γ(2 + z) from z² on: (−1)^k·(ζ(k) − 1)/k for k = 2, …, 29
/// (Abramowitz & Stegun 6.1.33; computed with 40-digit mpmath). With |z| ≤ ½ the first omitted
/// term is below 1e-19.
const LN_GAMMA_2_SERIES: [f64; 28] = [
    0.322_467_033_424_113_2,
    -0.067_352_301_053_198_1,
    0.020_580_808_427_784_546,
    -0.007_385_551_028_673_986,
    0.002_890_510_330_741_523_4,
    -0.001_192_753_911_703_261,
    0.000_509_669_524_743_042_5,
    -0.000_223_154_758_453_579_39,
    9.945_751_278_180_853e-5,
    -4.492_623_673_813_314e-5,
    2.050_721_277_567_069e-5,
    -9.439_488_275_268_397e-6,
    4.374_866_789_907_488e-6,
    -2.039_215_753_801_366e-6,
    9.551_412_130_407_42e-7,
    -4.492_469_198_764_566e-7,
    2.120_718_480_555_466_5e-7,
    -1.004_322_482_396_809_9e-7,
    4.769_810_169_363_980_4e-8,
    -2.271_109_460_894_316_4e-8,
    1.083_865_921_489_695_5e-8,
    -5.183_475_041_970_047e-9,
    2.483_674_543_802_478_5e-9,
    -1.192_140_140_586_091_2e-9,
    5.731_367_241_678_862e-10,
    -2.759_522_885_124_233_4e-10,
    1.330_476_437_424_449e-10,
    -6.422_964_563_838_1e-11,
];

/// ln Γ(2 + z) for |z| ≤ ½: (1 − γ)·z + Σ_{k≥2} (−1)^k·(ζ(k) − 1)/k·z^k (Abramowitz & Stegun
/// 6.1.33), by Horner's rule.
fn ln_gamma_2_plus(z: f64) -> f64 {
    let mut acc = 0.0;
    for &c in LN_GAMMA_2_SERIES.iter().rev() {
        acc = acc * z + c;
    }
    z * (ONE_MINUS_EULER + z * acc)
}

/// Stirling's correction `δ(x) = ln Γ(x) − [(x − ½)·ln x − x + ln √(2π)]` for x > 0.
///
/// For x ≥ 10 the asymptotic series Σ_j B_{2j} / (2j·(2j − 1)·x^{2j−1}) with eight terms
/// (1/12, −1/360, 1/1260, −1/1680, 1/1188, −691/360360, 1/156, −3617/122400; Abramowitz &
/// Stegun 6.1.40); its truncation error is below 2e-18 there. Below 10 it is formed from
/// [`ln_gamma_unchecked`] (no cancellation problem: every term is O(1) or O(ln x)).
pub(crate) fn stirling_delta(x: f64) -> f64 {
    if x >= STIRLING_FROM {
        let r = 1.0 / x;
        let r2 = r * r;
        r * (1.0 / 12.0
            + r2 * (-1.0 / 360.0
                + r2 * (1.0 / 1260.0
                    + r2 * (-1.0 / 1680.0
                        + r2 * (1.0 / 1188.0
                            + r2 * (-691.0 / 360_360.0
                                + r2 * (1.0 / 156.0 + r2 * (-3617.0 / 122_400.0))))))))
    } else {
        ln_gamma_unchecked(x) - ((x - 0.5) * x.ln() - x + LN_SQRT_2PI)
    }
}

/// ln Γ(x) for finite x > 0 (no argument check; see [`ln_gamma`]).
pub(crate) fn ln_gamma_unchecked(x: f64) -> f64 {
    if x >= STIRLING_FROM {
        return (x - 0.5) * x.ln() - x + LN_SQRT_2PI + stirling_delta(x);
    }
    if x >= 2.5 {
        // Down to [1.5, 2.5): ln Γ(x) = ln Γ(x − j) + ln[(x − 1)(x − 2)…(x − j)], j ≤ 8.
        let mut y = x;
        let mut product = 1.0;
        while y >= 2.5 {
            y -= 1.0;
            product *= y;
        }
        return ln_gamma_2_plus(y - 2.0) + product.ln();
    }
    if x >= 1.5 {
        return ln_gamma_2_plus(x - 2.0);
    }
    if x >= 0.5 {
        // ln Γ(x) = ln Γ(x + 1) − ln x, with x = 1 + z: keeps relative precision near x = 1.
        let z = x - 1.0;
        return ln_gamma_2_plus(z) - z.ln_1p();
    }
    // x < ½: ln Γ(x) = ln Γ(x + 1) − ln x, with x + 1 ∈ [1, 1.5).
    ln_gamma_2_plus(x) - x.ln_1p() - x.ln()
}

/// The natural logarithm of the gamma function, ln Γ(x), for x > 0.
///
/// Formula: for x ≥ 10, Stirling's series ln Γ(x) = (x − ½)·ln x − x + ln √(2π) +
/// Σ_{j=1}^{8} B_{2j} / (2j·(2j − 1)·x^{2j−1}) (Abramowitz & Stegun 6.1.40); for x ∈ [1.5, 2.5)
/// the Taylor series ln Γ(2 + z) = (1 − γ)·z + Σ_{k≥2} (−1)^k·(ζ(k) − 1)·z^k / k (A&S 6.1.33,
/// 29 terms); elsewhere the recurrence ln Γ(x + 1) = ln Γ(x) + ln x (A&S 6.1.15) into [1.5, 2.5).
/// Relative error about 1e-15 (tested against mpmath, including x = 1e-3, 0.5, 1, 2, integers
/// and 1e6).
///
/// # Errors
/// `x` not finite and strictly positive.
pub fn ln_gamma(x: f64) -> Result<f64, StatsError> {
    let x = validate::positive("x", x)?;
    validate::finite("ln_gamma", ln_gamma_unchecked(x))
}

/// ln B(a, b) for a, b > 0 (no argument check; see [`ln_beta`]).
///
/// When both arguments are at least 10, the Stirling form
/// `(a − ½)·ln(a/s) + (b − ½)·ln(b/s) − ½·ln s + ln √(2π) + δ(a) + δ(b) − δ(s)`, s = a + b,
/// avoids the cancellation of three large ln Γ values; when only the larger one, b, is, the
/// difference ln Γ(b) − ln Γ(s) = (b − ½)·ln(1 − a/s) − a·ln s + a + δ(b) − δ(s) is formed
/// the same way; otherwise the three ln Γ values are added directly.
pub(crate) fn ln_beta_unchecked(a: f64, b: f64) -> f64 {
    let (small, large) = if a <= b { (a, b) } else { (b, a) };
    let s = a + b;
    if small >= STIRLING_FROM {
        (small - 0.5) * (small / s).ln() + (large - 0.5) * (-small / s).ln_1p() - 0.5 * s.ln()
            + LN_SQRT_2PI
            + stirling_delta(small)
            + stirling_delta(large)
            - stirling_delta(s)
    } else if large >= STIRLING_FROM {
        ln_gamma_unchecked(small) + (large - 0.5) * (-small / s).ln_1p() - small * s.ln()
            + small
            + stirling_delta(large)
            - stirling_delta(s)
    } else {
        ln_gamma_unchecked(a) + ln_gamma_unchecked(b) - ln_gamma_unchecked(s)
    }
}

/// The natural logarithm of the beta function, ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
///
/// Formula: as written, with [`ln_gamma`], when both arguments are below 10; otherwise in
/// Stirling's form (A&S 6.1.40) so that the large terms cancel analytically:
/// `ln B(a, b) = (a − ½)·ln(a/s) + (b − ½)·ln(b/s) − ½·ln s + ln √(2π) + δ(a) + δ(b) − δ(s)`,
/// s = a + b, δ(x) = ln Γ(x) − (x − ½)·ln x + x − ln √(2π) (Stirling's correction). Absolute
/// error about 1e-15·(1 + |ln B|), for arguments up to 10^15.
///
/// # Errors
/// `a` or `b` not finite and strictly positive.
pub fn ln_beta(a: f64, b: f64) -> Result<f64, StatsError> {
    let a = validate::positive("a", a)?;
    let b = validate::positive("b", b)?;
    validate::finite("ln_beta", ln_beta_unchecked(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let pi = std::f64::consts::PI;
        assert!((ln_gamma_unchecked(0.5) - 0.5 * pi.ln()).abs() < 1e-15);
        assert_eq!(ln_gamma_unchecked(1.0), 0.0);
        assert_eq!(ln_gamma_unchecked(2.0), 0.0);
        let mut fact = 1.0_f64;
        for n in 1..30_u32 {
            let expect = fact.ln();
            let got = ln_gamma_unchecked(f64::from(n));
            assert!(
                (got - expect).abs() <= 2e-15 * expect.abs().max(1.0),
                "n={n}"
            );
            fact *= f64::from(n);
        }
    }
}

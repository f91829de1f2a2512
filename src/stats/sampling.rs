//! Seeded random variates for Monte Carlo: standard normal, Gamma and Beta.

use rand::distr::Open01;
use rand::{Rng, RngExt};

/// Standard normal variate by Marsaglia's polar method (Marsaglia & Bray 1964).
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let u = 2.0 * rng.random::<f64>() - 1.0;
        let v = 2.0 * rng.random::<f64>() - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * s.ln() / s).sqrt();
        }
    }
}

/// Natural log of a Gamma(shape, 1) variate, by Marsaglia & Tsang (2000, *ACM TOMS*
/// 26:363–372); for shape < 1 the boost `G(a) = G(a+1)·U^{1/a}` is applied in log space so that
/// tiny shapes never underflow to 0.
pub(crate) fn ln_gamma_variate<R: Rng + ?Sized>(shape: f64, rng: &mut R) -> f64 {
    if shape < 1.0 {
        let u: f64 = rng.sample(Open01);
        return ln_gamma_variate(shape + 1.0, rng) + u.ln() / shape;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u: f64 = rng.sample(Open01);
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
            return d.ln() + 3.0 * t.ln();
        }
    }
}

/// A Beta(a, b) variate as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b), formed from the log-gamma
/// variates as a logistic so that neither underflow nor 0/0 can occur.
pub(crate) fn beta_variate<R: Rng + ?Sized>(a: f64, b: f64, rng: &mut R) -> f64 {
    let ln_x = ln_gamma_variate(a, rng);
    let ln_y = ln_gamma_variate(b, rng);
    let d = ln_y - ln_x;
    if d >= 0.0 {
        let e = (-d).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + d.exp())
    }
}

/// Exact Binomial(n, p) variates by inversion of a precomputed CDF table: built once per
/// (n, p), each draw is one uniform and a binary search. Meant for simulations that draw
/// the same step many times (a pilot's exposures between two looks).
///
/// The table is built by the pmf recurrence `P(k+1) = P(k)·(n−k)/(k+1)·p/(1−p)` from
/// `P(0) = (1−p)^n` (for the small n of a look step, where `(1−p)^n` does not underflow).
#[derive(Debug, Clone)]
pub struct BinomialSampler {
    cdf: Vec<f64>,
}

impl BinomialSampler {
    /// The sampler of Bin(n, p), p in (0, 1).
    pub fn new(n: u64, p: f64) -> Self {
        let q = 1.0 - p;
        let mut pmf = q.powf(n as f64);
        let mut acc = 0.0;
        let mut cdf = Vec::with_capacity(usize::try_from(n).unwrap_or(0).saturating_add(1));
        for k in 0..=n {
            acc += pmf;
            cdf.push(acc);
            pmf *= (n - k) as f64 / (k + 1) as f64 * p / q;
        }
        Self { cdf }
    }

    /// One draw: the smallest k with CDF(k) > u for a uniform u (n when rounding leaves
    /// the last entry just below u).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let u: f64 = rng.random();
        let k = self.cdf.partition_point(|&c| c <= u);
        k.min(self.cdf.len().saturating_sub(1)) as u64
    }
}

//! Exact planning of the anytime-valid rate test: the verdict boundaries k*(n) and the
//! first-passage distribution of the binomial walk through them, by dynamic programming (no
//! Monte Carlo).
//!
//! Model: a pilot with true rate p gains one exposure at a time; the report is read after every
//! `look_every` exposures (1 = after every exposure, i.e. read continuously; the issue's
//! simulations use 50) from `min_exposures` on, and the first verdict read is the pilot's
//! verdict. The successes k after n exposures follow a binomial walk; the probability mass of
//! the walks that have not yet crossed a boundary is carried forward over k, one block of
//! `look_every` exposures at a time (convolution with the Bin(look_every, p) law), and the mass
//! at or beyond a boundary is absorbed at each look.

use serde::Serialize;

use super::error::StatsError;
use super::rate_sequence::BetaBinomialMixture;
use super::special::ln_binomial_pmf;
use super::validate;

/// Mass below this at either end of the carried distribution is dropped (a window of about
/// mean ± 8 sd); the total dropped is below 1e-12 for any horizon accepted here.
const PRUNE: f64 = 1e-15;
/// The walk stops early once the undecided mass is below this.
const SETTLED: f64 = 1e-9;
/// Largest horizon (further exposures) accepted.
const MAX_HORIZON: u64 = 100_000_000;

/// The verdict boundaries of the rule at one number of exposures n: the pilot is "not
/// validated" when k ≤ `below_at_most` and "validated" when k ≥ `above_at_least`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VerdictBoundary {
    /// Exposures n.
    pub n: u64,
    /// The largest k with a "not validated" verdict (k/n < t and ln M(t) ≥ ln(1/α)); `None`
    /// when no k gives one.
    pub below_at_most: Option<u64>,
    /// The smallest k with a "validated" verdict (k/n > t and ln M(t) ≥ ln(1/α)); `None` when
    /// no k gives one.
    pub above_at_least: Option<u64>,
}

/// First k in [lo, hi] where a predicate that is false…false true…true holds, given that it
/// holds at hi: galloping search from `guess`, then bisection. O(log |k − guess|) evaluations.
fn first_true(lo: u64, hi: u64, guess: u64, pred: impl Fn(u64) -> bool) -> u64 {
    let g = guess.clamp(lo, hi);
    let (mut known_false, mut known_true);
    if pred(g) {
        known_true = g;
        let mut step = 1_u64;
        loop {
            if known_true == lo {
                return lo;
            }
            let c = known_true.saturating_sub(step).max(lo);
            if pred(c) {
                known_true = c;
                step = step.saturating_mul(2);
            } else {
                known_false = c;
                break;
            }
        }
    } else {
        known_false = g;
        let mut step = 1_u64;
        loop {
            let c = known_false.saturating_add(step).min(hi);
            if c == hi || pred(c) {
                known_true = c;
                break;
            }
            known_false = c;
            step = step.saturating_mul(2);
        }
    }
    while known_true - known_false > 1 {
        let mid = known_false + (known_true - known_false) / 2;
        if pred(mid) {
            known_true = mid;
        } else {
            known_false = mid;
        }
    }
    known_true
}

/// The boundaries at n (validated arguments), searching near the guesses.
fn boundary_at(
    mixture: &BetaBinomialMixture,
    target: f64,
    n: u64,
    guess_below: u64,
    guess_above: u64,
) -> VerdictBoundary {
    if n == 0 {
        return VerdictBoundary {
            n,
            below_at_most: None,
            above_at_least: None,
        };
    }
    let nf = n as f64;
    let thr = mixture.ln_threshold();
    let rejects = |k: u64| mixture.ln_evidence_unchecked(k, n, target) >= thr;
    // The k with k/n > t start at k_min; those with k/n < t end at k_min − 1 or k_min − 2.
    let mut k_min = super::convert::saturating_u64((nf * target).floor()).min(n);
    while k_min <= n && k_min as f64 / nf <= target {
        k_min += 1;
    }
    while k_min > 0 && (k_min - 1) as f64 / nf > target {
        k_min -= 1;
    }
    let above_at_least = if k_min <= n && rejects(n) {
        Some(first_true(k_min, n, guess_above, rejects))
    } else {
        None
    };
    // ln M(t) is convex in k (a mixture of exponentials in k), so below t the rejected k
    // form a prefix.
    let mut k_max = k_min.min(n);
    while k_max as f64 / nf >= target {
        if k_max == 0 {
            break;
        }
        k_max -= 1;
    }
    let below_at_most = if (k_max as f64 / nf) < target && rejects(0) {
        if rejects(k_max) {
            Some(k_max)
        } else {
            let first_kept = first_true(0, k_max, guess_below, |k| !rejects(k));
            first_kept.checked_sub(1)
        }
    } else {
        None
    };
    VerdictBoundary {
        n,
        below_at_most,
        above_at_least,
    }
}

/// The verdict boundaries k*(n) of [`BetaBinomialMixture::decide`] on target t at each n of
/// `looks` (in any order; increasing order is fastest): for each n, the largest k judged
/// "below" and the smallest k judged "above".
///
/// Because ln M(t) is convex in k (M is a mixture of exponentials in k) and at most 0 at k = n·t,
/// the "above" verdicts form a suffix of k and the "below" verdicts a prefix, so each is found
/// by a galloping search from the previous look's boundary plus (Δn)·t, then bisection: a few
/// evaluations of ln M per look. A walk can then be judged by comparing k with the boundary.
///
/// # Errors
/// `target` not in (0, 1); a look above 2^53.
pub fn verdict_boundaries(
    mixture: &BetaBinomialMixture,
    target: f64,
    looks: &[u64],
) -> Result<Vec<VerdictBoundary>, StatsError> {
    let target = validate::open_probability("target", target)?;
    let mut out = Vec::with_capacity(looks.len());
    let mut previous: Option<VerdictBoundary> = None;
    for &n in looks {
        validate::count("looks", n)?;
        let b = next_boundary(mixture, target, n, previous.as_ref());
        out.push(b);
        previous = Some(b);
    }
    Ok(out)
}

/// The boundary at n with guesses from the previous one.
fn next_boundary(
    mixture: &BetaBinomialMixture,
    target: f64,
    n: u64,
    previous: Option<&VerdictBoundary>,
) -> VerdictBoundary {
    let shift = |k: Option<u64>, fallback: f64| -> u64 {
        match (k, previous) {
            (Some(k), Some(p)) => {
                let moved = k as f64 + (n as f64 - p.n as f64) * target;
                super::convert::saturating_u64(moved.max(0.0).round())
            }
            _ => super::convert::saturating_u64(fallback.max(0.0).round()),
        }
    };
    let nf = n as f64;
    let spread = 2.0 * (nf * target * (1.0 - target)).sqrt() + 3.0;
    let guess_above = shift(
        previous.and_then(|p| p.above_at_least),
        nf * target + spread,
    );
    let guess_below = shift(previous.and_then(|p| p.below_at_most), nf * target - spread);
    boundary_at(mixture, target, n, guess_below, guess_above)
}

/// How a pilot is read, for [`sequential_plan`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SequentialDesign {
    /// The target rate t, in (0, 1).
    pub target: f64,
    /// Confidence level of the rule (α = 1 − confidence).
    pub confidence: f64,
    /// The initiative's planned exposures N (tunes the mixture).
    pub planned_exposures: u64,
    /// Exposures between two reads of the report (≥ 1; 1 = read continuously).
    pub look_every: u64,
    /// No verdict is read before this many exposures.
    pub min_exposures: u64,
    /// Further exposures followed (e.g. 20·N).
    pub horizon: u64,
}

/// The first-passage law of one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Passage {
    /// P(this verdict is the first one read, within the horizon).
    pub probability: f64,
    /// Further exposures by which 50% of all pilots have this verdict (`None` if fewer do
    /// within the horizon).
    pub median: Option<u64>,
    /// Likewise 80%.
    pub p80: Option<u64>,
    /// Likewise 90%.
    pub p90: Option<u64>,
}

/// The exact operating characteristics of the rule for one true rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SequentialPlan {
    /// First verdict "validated" (rate above target).
    pub validated: Passage,
    /// First verdict "not validated" (rate below target).
    pub not_validated: Passage,
    /// P(no verdict within the further exposures followed) = 1 − the two probabilities.
    pub undecided: f64,
    /// Further exposures followed: the horizon, or fewer when all but 1e-9 of the mass was
    /// absorbed earlier.
    pub exposures_followed: u64,
}

/// Running first-passage quantiles of one verdict.
struct PassageTracker {
    cumulative: f64,
    quantiles: [Option<u64>; 3],
}

impl PassageTracker {
    const LEVELS: [f64; 3] = [0.5, 0.8, 0.9];

    fn new() -> Self {
        Self {
            cumulative: 0.0,
            quantiles: [None; 3],
        }
    }

    fn add(&mut self, mass: f64, further: u64) {
        self.cumulative += mass;
        for (q, level) in self.quantiles.iter_mut().zip(Self::LEVELS) {
            if q.is_none() && self.cumulative >= level {
                *q = Some(further);
            }
        }
    }

    fn passage(&self) -> Passage {
        let [median, p80, p90] = self.quantiles;
        Passage {
            probability: self.cumulative.clamp(0.0, 1.0),
            median,
            p80,
            p90,
        }
    }
}

/// The Bin(steps, p) law as (first k, probabilities), trimmed to mean ± 12 sd and to values
/// above 1e-18 of the peak.
fn binomial_kernel(steps: u64, p: f64) -> (u64, Vec<f64>) {
    let nf = steps as f64;
    let mean = nf * p;
    let sd = (nf * p * (1.0 - p)).sqrt();
    let lo = super::convert::saturating_u64((mean - 12.0 * sd - 2.0).max(0.0).floor());
    let hi = super::convert::saturating_u64((mean + 12.0 * sd + 2.0).ceil()).min(steps);
    let q = 1.0 - p;
    let mut probs: Vec<f64> = (lo..=hi)
        .map(|j| ln_binomial_pmf(j, steps, p, q).exp())
        .collect();
    let peak = probs.iter().copied().fold(0.0, f64::max);
    let keep = |x: &f64| *x > 1e-18 * peak;
    let start = probs.iter().position(keep).unwrap_or(0);
    let end = probs.iter().rposition(keep).map_or(probs.len(), |i| i + 1);
    probs.truncate(end);
    probs.drain(..start);
    (lo + start as u64, probs)
}

/// The exact first-passage distribution of the anytime-valid rate rule
/// ([`BetaBinomialMixture::new`]`(confidence, planned_exposures)` and
/// [`BetaBinomialMixture::decide`] on `target`) for a pilot whose true rate is `true_rate`.
///
/// Reads after every `look_every` exposures from `min_exposures` on; the first verdict read is
/// the pilot's. Exact up to the pruning of walks of probability below 1e-15 per end (see the
/// module documentation): P(first verdict = v at look j) is the mass absorbed at that look.
/// Quantiles are of the *unconditional* law: `validated.median` is the number of exposures by
/// which half of all such pilots have been validated. Cost: O(looks × window × kernel), a few
/// milliseconds for 2,000 looks.
///
/// # Errors
/// Target or true rate not in (0, 1); confidence outside (0, 1); `look_every` = 0; horizon
/// above 10^8.
pub fn sequential_plan(
    design: &SequentialDesign,
    true_rate: f64,
) -> Result<SequentialPlan, StatsError> {
    sequential_plan_from(design, true_rate, 0, 0)
}

/// [`sequential_plan`] starting from the current state of a pilot: `successes` in `exposures`
/// so far. Quantiles are further exposures needed from now (0 if the verdict is already read
/// at the current state).
///
/// # Errors
/// As [`sequential_plan`]; `successes > exposures`.
pub fn sequential_plan_from(
    design: &SequentialDesign,
    true_rate: f64,
    successes: u64,
    exposures: u64,
) -> Result<SequentialPlan, StatsError> {
    let target = validate::open_probability("target", design.target)?;
    let p = validate::open_probability("true_rate", true_rate)?;
    validate::counts_allow_empty("successes", successes, "exposures", exposures)?;
    if design.look_every == 0 {
        return Err(StatsError::ZeroTrials { name: "look_every" });
    }
    if design.horizon > MAX_HORIZON {
        return Err(StatsError::TooLarge {
            name: "horizon",
            value: design.horizon as f64,
            max: MAX_HORIZON as f64,
        });
    }
    validate::count(
        "exposures + horizon",
        exposures.saturating_add(design.horizon),
    )?;
    let mixture = BetaBinomialMixture::new(design.confidence, design.planned_exposures)?;

    let mut validated = PassageTracker::new();
    let mut not_validated = PassageTracker::new();
    // Mass over k = lo, lo + 1, … at the current n.
    let mut lo = successes;
    let mut mass = vec![1.0_f64];
    let mut n = exposures;
    let mut previous: Option<VerdictBoundary> = None;
    let (kernel_lo, kernel) = binomial_kernel(design.look_every, p);
    let mut followed = 0_u64;

    // The current state is a look too.
    if n >= design.min_exposures && n > 0 {
        let b = next_boundary(&mixture, target, n, None);
        absorb(
            &mut lo,
            &mut mass,
            &b,
            &mut validated,
            &mut not_validated,
            0,
        );
        previous = Some(b);
    }
    while followed < design.horizon && mass.iter().sum::<f64>() > SETTLED {
        let step = design.look_every.min(design.horizon - followed);
        let (k_lo, k) = if step == design.look_every {
            (kernel_lo, kernel.clone())
        } else {
            binomial_kernel(step, p)
        };
        // Convolution of the carried mass with the block's binomial law.
        let mut next = vec![0.0; mass.len() + k.len() - 1];
        for (i, &m) in mass.iter().enumerate() {
            if m == 0.0 {
                continue;
            }
            for (slot, &w) in next.iter_mut().skip(i).zip(&k) {
                *slot += m * w;
            }
        }
        lo += k_lo;
        mass = next;
        n += step;
        followed += step;
        if n >= design.min_exposures {
            let b = next_boundary(&mixture, target, n, previous.as_ref());
            absorb(
                &mut lo,
                &mut mass,
                &b,
                &mut validated,
                &mut not_validated,
                followed,
            );
            previous = Some(b);
        }
        prune(&mut lo, &mut mass);
    }
    let validated = validated.passage();
    let not_validated = not_validated.passage();
    Ok(SequentialPlan {
        validated,
        not_validated,
        undecided: (1.0 - validated.probability - not_validated.probability).max(0.0),
        exposures_followed: followed,
    })
}

/// Moves the mass at or beyond the boundaries into the verdicts and shrinks the window.
fn absorb(
    lo: &mut u64,
    mass: &mut Vec<f64>,
    b: &VerdictBoundary,
    validated: &mut PassageTracker,
    not_validated: &mut PassageTracker,
    further: u64,
) {
    let hi = *lo + mass.len() as u64; // exclusive
    if let Some(above) = b.above_at_least
        && above < hi
    {
        let cut = usize::try_from(above.saturating_sub(*lo))
            .unwrap_or(usize::MAX)
            .min(mass.len());
        let absorbed: f64 = mass.drain(cut..).sum();
        validated.add(absorbed, further);
    }
    if let Some(below) = b.below_at_most
        && below >= *lo
    {
        let cut = usize::try_from(below - *lo + 1)
            .unwrap_or(usize::MAX)
            .min(mass.len());
        let absorbed: f64 = mass.drain(..cut).sum();
        not_validated.add(absorbed, further);
        *lo += cut as u64;
    }
}

/// Drops negligible mass at both ends of the window.
fn prune(lo: &mut u64, mass: &mut Vec<f64>) {
    let start = mass.iter().position(|&m| m >= PRUNE).unwrap_or(mass.len());
    let end = mass
        .iter()
        .rposition(|&m| m >= PRUNE)
        .map_or(start, |i| i + 1);
    mass.truncate(end);
    mass.drain(..start);
    *lo += start as u64;
}

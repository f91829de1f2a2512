//! Simulation table of the verdict rules on a rate (issue 10): before (σ² = ¼ normal mixture)
//! and after (two-prior beta-binomial mixture), with Wilson read at every look and read once.
//!
//! Run: `cargo run --release --example verdict_simulation [pilots]` (default 20,000 pilots per
//! cell). Seeded: the same command prints the same table. Looks every 50 exposures up to
//! 20,000; planned 5,000; confidence 95%; targets 2%, 5%, 20%; true rates 0.5× … 2× the
//! target. Every rule is read on the same simulated walks (common random numbers).
// A measuring tool run by hand, not service code: indexing, panics and casts of its
// own simulated numbers stop the run, as they should.
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_lossless
)]

use offerlab::stats::{
    self, BetaBinomialMixture, RateVerdict, SequentialDesign, StatsError, VerdictBoundary,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const LOOK: u64 = 50;
const HORIZON: u64 = 20_000;
const PLANNED: u64 = 5_000;
const CONFIDENCE: f64 = 0.95;
const TARGETS: [f64; 3] = [0.02, 0.05, 0.2];
const MULTIPLIERS: [f64; 6] = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0];

/// Boundaries of a verdict rule that is monotone in k at each look (above: a suffix of k,
/// below: a prefix), by bisection on k.
fn boundaries(
    looks: &[u64],
    rule: &dyn Fn(u64, u64) -> Result<RateVerdict, StatsError>,
) -> Result<Vec<VerdictBoundary>, StatsError> {
    let mut out = Vec::with_capacity(looks.len());
    for &n in looks {
        let above_at_least = if rule(n, n)? == RateVerdict::Above {
            let (mut lo, mut hi) = (0_u64, n); // rule(hi) is Above
            if rule(0, n)? == RateVerdict::Above {
                hi = 0;
            }
            while hi > lo + 1 {
                let mid = lo + (hi - lo) / 2;
                if rule(mid, n)? == RateVerdict::Above {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            Some(hi)
        } else {
            None
        };
        let below_at_most = if rule(0, n)? == RateVerdict::Below {
            let (mut lo, mut hi) = (0_u64, n); // rule(lo) is Below
            if rule(n, n)? == RateVerdict::Below {
                lo = n;
            }
            while hi > lo + 1 {
                let mid = lo + (hi - lo) / 2;
                if rule(mid, n)? == RateVerdict::Below {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            Some(lo)
        } else {
            None
        };
        out.push(VerdictBoundary {
            n,
            below_at_most,
            above_at_least,
        });
    }
    Ok(out)
}

fn first_verdict(walk: &[u64], bounds: &[VerdictBoundary]) -> (RateVerdict, u64) {
    for (&k, b) in walk.iter().zip(bounds) {
        if b.above_at_least.is_some_and(|a| k >= a) {
            return (RateVerdict::Above, b.n);
        }
        if b.below_at_most.is_some_and(|x| k <= x) {
            return (RateVerdict::Below, b.n);
        }
    }
    (RateVerdict::Undecided, u64::MAX)
}

struct Tally {
    above: Vec<u64>,
    below: Vec<u64>,
}

fn quantile(times: &mut [u64], pilots: usize, level: f64) -> String {
    times.sort_unstable();
    let rank = (level * pilots as f64).ceil() as usize;
    match rank.checked_sub(1).and_then(|r| times.get(r)) {
        Some(n) => format!("{n}"),
        None => "—".to_string(),
    }
}

fn pct(count: usize, pilots: usize) -> String {
    format!("{:.1}%", 100.0 * count as f64 / pilots as f64)
}

fn main() -> Result<(), StatsError> {
    let pilots: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let started = std::time::Instant::now();
    let looks: Vec<u64> = (1..=HORIZON / LOOK).map(|j| j * LOOK).collect();
    let mixture = BetaBinomialMixture::new(CONFIDENCE, PLANNED)?;
    let rho = stats::normal_mixture_rho(PLANNED as f64 / 4.0, CONFIDENCE)?;
    println!(
        "{pilots} pilots per cell, looks every {LOOK} exposures up to {HORIZON}, planned {PLANNED}, confidence {CONFIDENCE}; seeded (StdRng 10)."
    );
    println!();
    println!(
        "| target | true rate | rule | validated | not validated | median to correct verdict | p90 to correct verdict |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|");
    let mut rng = StdRng::seed_from_u64(10);
    for t in TARGETS {
        let wilson = |k: u64, n: u64| -> Result<RateVerdict, StatsError> {
            let w = stats::wilson_interval(k, n, CONFIDENCE)?;
            Ok(if w.lower > t {
                RateVerdict::Above
            } else if w.upper < t {
                RateVerdict::Below
            } else {
                RateVerdict::Undecided
            })
        };
        let normal = |k: u64, n: u64| -> Result<RateVerdict, StatsError> {
            let cs = stats::confidence_sequence(k, n, CONFIDENCE, 0.25, rho)?;
            Ok(if cs.lower > t {
                RateVerdict::Above
            } else if cs.upper < t {
                RateVerdict::Below
            } else {
                RateVerdict::Undecided
            })
        };
        let fixed_current =
            |k: u64, n: u64| stats::fixed_horizon_verdict(k, n, PLANNED, t, CONFIDENCE);
        let rules: Vec<(&str, Vec<VerdictBoundary>)> = vec![
            ("normal mixture σ²=¼ (before)", boundaries(&looks, &normal)?),
            (
                "beta-binomial mixture (after)",
                stats::verdict_boundaries(&mixture, t, &looks)?,
            ),
            (
                "Wilson at every look (invalid)",
                boundaries(&looks, &wilson)?,
            ),
            (
                "fixed: Wilson read once at 5,000",
                boundaries(&looks, &|k, n| {
                    if n == PLANNED {
                        wilson(k, n)
                    } else {
                        Ok(RateVerdict::Undecided)
                    }
                })?,
            ),
            (
                "fixed, re-read on current totals after 5,000",
                boundaries(&looks, &fixed_current)?,
            ),
        ];
        for mult in MULTIPLIERS {
            let p = t * mult;
            let step = stats::BinomialSampler::new(LOOK, p);
            let mut tallies: Vec<Tally> = rules
                .iter()
                .map(|_| Tally {
                    above: Vec::new(),
                    below: Vec::new(),
                })
                .collect();
            let mut walk = vec![0_u64; looks.len()];
            for _ in 0..pilots {
                let mut k = 0;
                for slot in walk.iter_mut() {
                    k += step.draw(&mut rng);
                    *slot = k;
                }
                for ((_, bounds), tally) in rules.iter().zip(tallies.iter_mut()) {
                    match first_verdict(&walk, bounds) {
                        (RateVerdict::Above, n) => tally.above.push(n),
                        (RateVerdict::Below, n) => tally.below.push(n),
                        _ => {}
                    }
                }
            }
            for ((name, _), tally) in rules.iter().zip(tallies.iter_mut()) {
                let (median, p90) = if mult > 1.0 {
                    (
                        quantile(&mut tally.above, pilots, 0.5),
                        quantile(&mut tally.above, pilots, 0.9),
                    )
                } else if mult < 1.0 {
                    (
                        quantile(&mut tally.below, pilots, 0.5),
                        quantile(&mut tally.below, pilots, 0.9),
                    )
                } else {
                    ("(none correct)".to_string(), String::new())
                };
                println!(
                    "| {:.0}% | {:.2}% ({mult}×) | {name} | {} | {} | {median} | {p90} |",
                    100.0 * t,
                    100.0 * p,
                    pct(tally.above.len(), pilots),
                    pct(tally.below.len(), pilots),
                );
            }
            // The exact first-passage law of the new rule (no simulation).
            let plan = stats::sequential_plan(
                &SequentialDesign {
                    target: t,
                    confidence: CONFIDENCE,
                    planned_exposures: PLANNED,
                    look_every: LOOK,
                    min_exposures: 0,
                    horizon: HORIZON,
                },
                p,
            )?;
            let show = |q: Option<u64>| q.map_or("—".to_string(), |n| n.to_string());
            let correct = if mult >= 1.0 {
                plan.validated
            } else {
                plan.not_validated
            };
            println!(
                "| {:.0}% | {:.2}% ({mult}×) | beta-binomial mixture, exact (DP) | {:.1}% | {:.1}% | {} | {} |",
                100.0 * t,
                100.0 * p,
                100.0 * plan.validated.probability,
                100.0 * plan.not_validated.probability,
                if mult == 1.0 {
                    "(none correct)".to_string()
                } else {
                    show(correct.median)
                },
                if mult == 1.0 {
                    String::new()
                } else {
                    show(correct.p90)
                },
            );
        }
    }
    eprintln!("elapsed {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

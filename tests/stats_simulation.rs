//! Seeded Monte Carlo checks of the statistics module's frequentist and sampling claims.
//!
//! All randomness comes from `StdRng::seed_from_u64`, so every run sees the same numbers. The
//! whole file runs in a few seconds in a debug build (`cargo test --test stats_simulation`).
// Test code: an out-of-range index, a panic or a lossy cast fails the test, which is
// what test code is for (the crate's lints keep them out of the service's code).
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_lossless
)]

use offerlab::stats;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Exact coverage Σ_k P(X = k)·[lower_k ≤ p ≤ upper_k] of the Wilson interval.
fn exact_wilson_coverage(n: u64, p: f64, confidence: f64) -> Result<f64, stats::StatsError> {
    let q = 1.0 - p;
    let mut pmf = q.powf(n as f64);
    let mut coverage = 0.0;
    for k in 0..=n {
        let w = stats::wilson_interval(k, n, confidence)?;
        if w.lower <= p && p <= w.upper {
            coverage += pmf;
        }
        pmf *= (n - k) as f64 / (k + 1) as f64 * p / q;
    }
    Ok(coverage)
}

/// Wilson's 95% interval covers the true rate about 95% of the time.
///
/// Grid: n ∈ {50, 200, 1000} × p ∈ {0.05, 0.1, 0.3, 0.5}, 10 000 seeded samples per cell.
/// The coverage of any binomial interval oscillates with n and p because k is discrete (Brown,
/// Cai & DasGupta 2001); for Wilson the exact per-cell coverage on this grid ranges from 93.5%
/// (n = 50, p = 0.5) to 97.0% (n = 50, p = 0.1). So the 1.5-point requirement is asserted on
/// the grid average, each cell is held to 2.5 points, and each simulated cell must agree with its
/// exactly computed coverage within 4 Monte Carlo standard errors (which checks the simulation).
#[test]
fn wilson_coverage_is_nominal() -> Result<(), stats::StatsError> {
    const REPS: u32 = 10_000;
    const CONFIDENCE: f64 = 0.95;
    let mut rng = StdRng::seed_from_u64(20_240_601);
    let mut cells = Vec::new();
    for n in [50_u64, 200, 1000] {
        for p in [0.05, 0.1, 0.3, 0.5] {
            let table = stats::BinomialSampler::new(n, p);
            let mut covered = 0_u32;
            for _ in 0..REPS {
                let k = table.draw(&mut rng);
                let w = stats::wilson_interval(k, n, CONFIDENCE)?;
                if w.lower <= p && p <= w.upper {
                    covered += 1;
                }
            }
            let simulated = f64::from(covered) / f64::from(REPS);
            let exact = exact_wilson_coverage(n, p, CONFIDENCE)?;
            let se = (exact * (1.0 - exact) / f64::from(REPS)).sqrt();
            println!("n={n:5} p={p:.2}: simulated {simulated:.4}, exact {exact:.4}");
            assert!(
                (simulated - exact).abs() <= 4.0 * se,
                "n={n} p={p}: simulated {simulated} vs exact {exact} (se {se})"
            );
            assert!(
                (simulated - CONFIDENCE).abs() <= 0.025,
                "n={n} p={p}: coverage {simulated}"
            );
            cells.push(simulated);
        }
    }
    let average = cells.iter().sum::<f64>() / cells.len() as f64;
    println!("average coverage {average:.4}");
    assert!(
        (average - CONFIDENCE).abs() <= 0.015,
        "average coverage {average}"
    );
    Ok(())
}

/// Peeking at a fixed-horizon interval after every 50 exposures inflates the false "above target"
/// rate beyond alpha; the anytime-valid confidence sequence keeps it below alpha.
///
/// 2 000 simulated pilots with true rate = target = 5%, looks after every 50 exposures up to
/// 5 000 (100 looks). A pilot is declared "above target" at the first look whose lower bound
/// exceeds the target. Confidence sequence: σ² = ¼, ρ = normal_mixture_rho(5000/4, 0.95). The
/// sequence is two-sided at α = 0.05, so its one-sided error is at most α/2; the assertion is the
/// looser ≤ α. Wilson 95% peeked the same way must exceed α.
#[test]
fn anytime_valid_rule_controls_peeking() -> Result<(), stats::StatsError> {
    const PILOTS: u32 = 2_000;
    const STEP: u64 = 50;
    const HORIZON: u64 = 5_000;
    const TARGET: f64 = 0.05;
    const CONFIDENCE: f64 = 0.95;
    let alpha = 1.0 - CONFIDENCE;
    let rho = stats::normal_mixture_rho(HORIZON as f64 / 4.0, CONFIDENCE)?;
    let block = stats::BinomialSampler::new(STEP, TARGET);
    let mut rng = StdRng::seed_from_u64(7_2021);
    let mut cs_false = 0_u32;
    let mut wilson_false = 0_u32;
    for _ in 0..PILOTS {
        let (mut k, mut n) = (0_u64, 0_u64);
        let (mut cs_hit, mut wilson_hit) = (false, false);
        while n < HORIZON {
            k += block.draw(&mut rng);
            n += STEP;
            if !cs_hit && stats::confidence_sequence(k, n, CONFIDENCE, 0.25, rho)?.lower > TARGET {
                cs_hit = true;
            }
            if !wilson_hit && stats::wilson_interval(k, n, CONFIDENCE)?.lower > TARGET {
                wilson_hit = true;
            }
        }
        cs_false += u32::from(cs_hit);
        wilson_false += u32::from(wilson_hit);
    }
    let cs_rate = f64::from(cs_false) / f64::from(PILOTS);
    let wilson_rate = f64::from(wilson_false) / f64::from(PILOTS);
    println!(
        "false 'above target': confidence sequence {cs_rate:.4}, peeked Wilson {wilson_rate:.4}"
    );
    assert!(
        cs_rate <= alpha,
        "confidence sequence false-positive rate {cs_rate}"
    );
    assert!(
        wilson_rate > alpha,
        "peeked Wilson rate {wilson_rate} should exceed {alpha}"
    );
    Ok(())
}

/// The Monte Carlo `P(arm is best)` agrees with the exact `P(B > A)` for two arms, its standard
/// error is honest, and a third arm that is clearly worse takes almost no probability.
#[test]
fn prob_best_matches_exact_two_arm_answer() -> Result<(), stats::StatsError> {
    let mut rng = StdRng::seed_from_u64(42);
    let arms = [(120_u64, 2_400_u64), (140, 2_400)];
    for prior in [(1.0, 1.0), (0.5, 0.5)] {
        let exact = stats::prob_b_beats_a(120, 2_400, 140, 2_400, prior.0, prior.1)?;
        let mc = stats::prob_best(&arms, prior.0, prior.1, 40_000, &mut rng)?;
        let [a, b] = mc.as_slice() else {
            panic!("two arms in, {} results out", mc.len());
        };
        println!(
            "P(B>A) exact {exact:.4}, Monte Carlo {:.4} ± {:.4}",
            b.prob, b.std_error
        );
        assert!(
            (b.prob - exact).abs() <= 4.0 * b.std_error,
            "{b:?} vs {exact}"
        );
        assert!((a.prob + b.prob - 1.0).abs() < 1e-12);
    }
    let three = stats::prob_best(
        &[(120, 2_400), (140, 2_400), (60, 2_400)],
        1.0,
        1.0,
        20_000,
        &mut rng,
    )?;
    let total: f64 = three.iter().map(|p| p.prob).sum();
    assert!((total - 1.0).abs() < 1e-12);
    assert!(
        three.last().is_some_and(|worst| worst.prob < 1e-3),
        "{three:?}"
    );
    // Value weighting: equal weights reproduce the unweighted draw exactly; a price that more
    // than compensates for a lower rate takes the lead.
    let plain = stats::prob_best(&arms, 1.0, 1.0, 2_000, &mut StdRng::seed_from_u64(5))?;
    let unit = stats::prob_best_weighted(
        &arms,
        &[3.0, 3.0],
        1.0,
        1.0,
        2_000,
        &mut StdRng::seed_from_u64(5),
    )?;
    assert_eq!(plain, unit);
    let priced = stats::prob_best_weighted(&arms, &[29.0, 19.0], 1.0, 1.0, 20_000, &mut rng)?;
    assert!(priced.first().is_some_and(|a| a.prob > 0.95), "{priced:?}");
    // Same seed, same answer.
    let once = stats::prob_best(&arms, 1.0, 1.0, 1_000, &mut StdRng::seed_from_u64(9))?;
    let again = stats::prob_best(&arms, 1.0, 1.0, 1_000, &mut StdRng::seed_from_u64(9))?;
    assert_eq!(once, again);
    Ok(())
}

/// The Clopper–Pearson interval is conservative: its exact coverage never falls below nominal.
/// Checked by simulation on a few small-n cells where the discreteness is strongest.
#[test]
fn clopper_pearson_is_conservative() -> Result<(), stats::StatsError> {
    const REPS: u32 = 5_000;
    let mut rng = StdRng::seed_from_u64(1934);
    for (n, p) in [(20_u64, 0.1), (40, 0.3), (100, 0.02)] {
        let table = stats::BinomialSampler::new(n, p);
        let mut covered = 0_u32;
        for _ in 0..REPS {
            let k = table.draw(&mut rng);
            let ci = stats::clopper_pearson_interval(k, n, 0.95)?;
            covered += u32::from(ci.lower <= p && p <= ci.upper);
        }
        let coverage = f64::from(covered) / f64::from(REPS);
        let se = (0.95 * 0.05 / f64::from(REPS)).sqrt();
        println!("Clopper–Pearson n={n} p={p}: coverage {coverage:.4}");
        assert!(coverage >= 0.95 - 4.0 * se, "n={n} p={p}: {coverage}");
    }
    Ok(())
}

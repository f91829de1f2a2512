//! Cost of the statistics behind one initiative report: 50 segments × 4 variants.
//!
//! Run with `cargo bench --bench stats`. The target is under 1 ms for the whole set.
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

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use offerlab::stats::{self, StatsError, SummaryStats};

const SEGMENTS: usize = 50;
const CONFIDENCE: f64 = 0.95;
const TARGET: f64 = 0.04;
const ALPHA: f64 = 0.05;

/// Synthetic but realistically sized pilot data.
struct Pilot {
    /// (pre-orders, exposed) per segment; segment 0 is the core.
    segments: Vec<(u64, u64)>,
    /// (pre-orders, exposed, revenue mean, revenue sd) per variant; variant 0 is the reference.
    variants: Vec<(u64, u64, f64, f64)>,
    variant_weights: Vec<f64>,
    /// Say-vs-do table: lovers/others × paid/not paid.
    lovers: [[u64; 2]; 2],
    /// Paired: said positive (yes/no) × paid (yes/no).
    paired: [[u64; 2]; 2],
}

fn pilot() -> Pilot {
    let segments = (0..SEGMENTS as u64)
        .map(|i| {
            let n = 2_000 + 97 * i;
            let k = n * (30 + (i * 7) % 25) / 1_000;
            (k, n)
        })
        .collect();
    let variants = vec![
        (2_000, 50_000, 3.10, 19.5),
        (2_110, 50_200, 3.32, 20.1),
        (2_260, 49_800, 3.41, 21.7),
        (1_950, 50_100, 2.95, 18.9),
    ];
    Pilot {
        segments,
        variants,
        variant_weights: vec![1.0; 4],
        lovers: [[412, 1_688], [388, 6_512]],
        paired: [[640, 1_460], [160, 6_740]],
    }
}

/// Everything the analysis layer computes for one report; returns a checksum so nothing is
/// optimised away.
fn full_report(p: &Pilot) -> Result<f64, StatsError> {
    let mut checksum = 0.0;
    let (core_k, core_n) = p.segments.first().copied().unwrap_or((0, 1));
    let (total_k, total_n) = p
        .segments
        .iter()
        .fold((0, 0), |(k, n), &(sk, sn)| (k + sk, n + sn));

    // Real demand.
    let w = stats::wilson_interval(total_k, total_n, CONFIDENCE)?;
    let b = stats::binomial_test(total_k, total_n, TARGET)?;
    let post = stats::beta_posterior(total_k, total_n, 1.0, 1.0, TARGET, CONFIDENCE)?;
    let rho = stats::normal_mixture_rho(5_000.0 / 4.0, CONFIDENCE)?;
    let cs = stats::confidence_sequence(total_k, total_n, CONFIDENCE, 0.25, rho)?;
    checksum += w.lower + b.p_greater + post.prob_above_threshold + cs.lower;

    // Reach beyond the core: per segment interval, test against the pooled core, breakout.
    let mut p_values = Vec::with_capacity(SEGMENTS);
    let mut table = Vec::with_capacity(SEGMENTS);
    let mut breakouts = 0_u32;
    for &(k, n) in &p.segments {
        let wi = stats::wilson_interval(k, n, CONFIDENCE)?;
        let z = stats::two_proportion_ztest(core_k, core_n, k, n)?;
        breakouts += u32::from(wi.lower > TARGET);
        p_values.push(z.p_two_sided);
        table.push([k, n - k]);
        checksum += wi.upper + z.z;
    }
    let chi = stats::chi_square_independence(&table)?;
    let holm = stats::holm_adjust(&p_values, ALPHA)?;
    let bh = stats::bh_adjust(&p_values, ALPHA)?;
    checksum += chi.p_value + holm.adjusted.iter().sum::<f64>() + bh.adjusted.iter().sum::<f64>();
    checksum += f64::from(breakouts);

    // Say versus do.
    let fisher = stats::fisher_exact_2x2(p.lovers)?;
    let mcnemar = stats::mcnemar_exact(p.paired)?;
    checksum += fisher.p_two_sided + mcnemar.p_value;

    // Variants against the first.
    let Some(&(ka, na, mean_a, sd_a)) = p.variants.first() else {
        return Ok(checksum);
    };
    let reference = SummaryStats {
        mean: mean_a,
        sd: sd_a,
        n: na,
    };
    for &(kb, nb, mean_b, sd_b) in p.variants.iter().skip(1) {
        let d = stats::newcombe_interval(ka, na, kb, nb, CONFIDENCE)?;
        let z = stats::two_proportion_ztest(ka, na, kb, nb)?;
        let beat = stats::prob_b_beats_a(ka, na, kb, nb, 1.0, 1.0)?;
        let welch = stats::welch_t_test(
            reference,
            SummaryStats {
                mean: mean_b,
                sd: sd_b,
                n: nb,
            },
            CONFIDENCE,
        )?;
        checksum += d.lower + z.p_two_sided + beat + welch.p_two_sided + welch.lower;
    }
    let exposures: Vec<u64> = p.variants.iter().map(|v| v.1).collect();
    let srm = stats::srm_chi_square(&exposures, &p.variant_weights)?;
    checksum += srm.p_value;
    Ok(checksum)
}

fn benches(c: &mut Criterion) {
    let data = pilot();
    if let Err(e) = full_report(&data) {
        panic!("benchmark input rejected: {e}");
    }
    c.bench_function("report_50_segments_4_variants", |b| {
        b.iter(|| full_report(black_box(&data)))
    });
    // The two routes of P(B > A): integer shapes use the exact sum, Jeffreys priors the quadrature.
    c.bench_function("prob_b_beats_a_uniform_prior_sum", |b| {
        b.iter(|| stats::prob_b_beats_a(black_box(2_000), 50_000, 2_260, 49_800, 1.0, 1.0))
    });
    c.bench_function("prob_b_beats_a_jeffreys_quadrature", |b| {
        b.iter(|| stats::prob_b_beats_a(black_box(2_000), 50_000, 2_260, 49_800, 0.5, 0.5))
    });
    // The anytime-valid rate test: one interval per figure of a report (hundreds per report).
    let mixture = match stats::BetaBinomialMixture::new(CONFIDENCE, 5_000) {
        Ok(m) => m,
        Err(e) => panic!("mixture rejected: {e}"),
    };
    c.bench_function("rate_interval_n_1k", |b| {
        b.iter(|| mixture.interval(black_box(50), black_box(1_000)))
    });
    c.bench_function("rate_interval_n_1m", |b| {
        b.iter(|| mixture.interval(black_box(50_000), black_box(1_000_000)))
    });
    c.bench_function("rate_interval_n_10m", |b| {
        b.iter(|| mixture.interval(black_box(500_000), black_box(10_000_000)))
    });
    c.bench_function("rate_decide_n_1m", |b| {
        b.iter(|| mixture.decide(black_box(50_500), black_box(1_000_000), TARGET))
    });
    c.bench_function("revenue_interval_n_1m", |b| {
        b.iter(|| {
            stats::revenue_interval(black_box(1_000_000), 2_448_000.0, 500.0, CONFIDENCE, 5_000)
        })
    });
    // Exact planning, as an API call would run it: horizon 20×N = 100,000 exposures.
    let design = stats::SequentialDesign {
        target: 0.05,
        confidence: CONFIDENCE,
        planned_exposures: 5_000,
        look_every: 50,
        min_exposures: 0,
        horizon: 100_000,
    };
    c.bench_function("sequential_plan_5pct_x1_25_look50", |b| {
        b.iter(|| stats::sequential_plan(black_box(&design), 0.0625))
    });
    c.bench_function("sequential_plan_5pct_x1_0_look50", |b| {
        b.iter(|| stats::sequential_plan(black_box(&design), 0.05))
    });
    let continuous = stats::SequentialDesign {
        look_every: 1,
        ..design
    };
    c.bench_function("sequential_plan_5pct_x1_25_look1", |b| {
        b.iter(|| stats::sequential_plan(black_box(&continuous), 0.0625))
    });
    c.bench_function("fisher_exact_large", |b| {
        b.iter(|| stats::fisher_exact_2x2(black_box([[18_000, 5_205_800], [17_900, 10_652_200]])))
    });
}

criterion_group!(stats_benches, benches);
criterion_main!(stats_benches);

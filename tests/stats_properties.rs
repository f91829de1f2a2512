//! Property tests (proptest) for the statistics module: ranges, nesting, symmetry, monotonicity,
//! duality between tests and intervals, and "errors, never panics" on degenerate input.
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

use offerlab::stats::{self, SummaryStats};
use proptest::prelude::*;

/// (k, n) with 1 ≤ n ≤ 10⁷ and k ≤ n, biased towards small n and the edges k = 0 and k = n.
fn counts() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![1u64..60, 60u64..5_000, 5_000u64..10_000_000].prop_flat_map(|n| {
        prop_oneof![Just(0), Just(n), 0..=n, (0..=n.min(20))].prop_map(move |k| (k, n))
    })
}

fn confidence() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.9), Just(0.95), Just(0.99), 0.5f64..0.9999]
}

/// A p-value list with ties, exact zeros and ones.
fn p_values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            Just(0.0),
            Just(1.0),
            Just(0.05),
            0.0f64..=1.0,
            1e-12f64..1e-3
        ],
        0..40,
    )
}

const TOL: f64 = 1e-12;

type IntervalFn = fn(u64, u64, f64) -> Result<stats::Interval, stats::StatsError>;
const INTERVALS: [(&str, IntervalFn); 3] = [
    ("wilson", stats::wilson_interval),
    ("clopper_pearson", stats::clopper_pearson_interval),
    ("jeffreys", stats::jeffreys_interval),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn intervals_lie_in_unit_interval_and_contain_the_estimate((k, n) in counts(), c in confidence()) {
        for (name, f) in INTERVALS {
            let r = f(k, n, c)?;
            prop_assert!(0.0 <= r.lower && r.lower <= r.upper && r.upper <= 1.0, "{name}: {r:?}");
            prop_assert_eq!(r.estimate, k as f64 / n as f64);
            // Jeffreys has no boundary adjustment, so at k = 0 (k = n) its lower (upper) bound
            // sits above 0 (below 1) and excludes the estimate; elsewhere it contains it for the
            // usual confidence levels.
            let contains = r.lower <= r.estimate + TOL && r.estimate <= r.upper + TOL;
            if name != "jeffreys" || (k > 0 && k < n && c >= 0.8) {
                prop_assert!(contains, "{name} k={k} n={n} c={c}: {r:?}");
            }
        }
    }

    #[test]
    fn intervals_widen_with_confidence((k, n) in counts(), c1 in 0.5f64..0.99, dc in 0.001f64..0.009) {
        let c2 = c1 + dc;
        for (name, f) in INTERVALS {
            let narrow = f(k, n, c1)?;
            let wide = f(k, n, c2)?;
            prop_assert!(wide.lower <= narrow.lower + TOL, "{name}: {narrow:?} vs {wide:?}");
            prop_assert!(wide.upper >= narrow.upper - TOL, "{name}: {narrow:?} vs {wide:?}");
        }
    }

    #[test]
    fn intervals_mirror_under_k_to_n_minus_k((k, n) in counts(), c in confidence()) {
        for (name, f) in INTERVALS {
            let r = f(k, n, c)?;
            let m = f(n - k, n, c)?;
            prop_assert!((r.lower - (1.0 - m.upper)).abs() <= 1e-10, "{name}: {r:?} vs {m:?}");
            prop_assert!((r.upper - (1.0 - m.lower)).abs() <= 1e-10, "{name}: {r:?} vs {m:?}");
        }
    }

    /// Clopper–Pearson bounds are the p0 at which the exact one-sided tests reach α/2: the Beta
    /// quantile solver and the binomial tails agree.
    #[test]
    fn clopper_pearson_inverts_the_binomial_test((k, n) in counts(), c in confidence()) {
        let alpha = 1.0 - c;
        let ci = stats::clopper_pearson_interval(k, n, c)?;
        if k > 0 {
            let p = stats::binomial_test(k, n, ci.lower)?.p_greater;
            prop_assert!((p / (alpha / 2.0) - 1.0).abs() < 1e-8, "k={k} n={n}: {p}");
        }
        if k < n {
            let p = stats::binomial_test(k, n, ci.upper)?.p_less;
            prop_assert!((p / (alpha / 2.0) - 1.0).abs() < 1e-8, "k={k} n={n}: {p}");
        }
    }

    #[test]
    fn binomial_test_p_values_are_probabilities((k, n) in counts(), p0 in prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0, 1e-6f64..0.01]) {
        let r = stats::binomial_test(k, n, p0)?;
        for p in [r.p_greater, r.p_less, r.p_two_sided] {
            prop_assert!((0.0..=1.0).contains(&p), "{r:?}");
        }
        // Both tails include P(X = k), so they cover everything.
        prop_assert!(r.p_greater + r.p_less >= 1.0 - 1e-9, "{r:?}");
        // The two-sided set contains the whole tail on k's side of the mode.
        prop_assert!(r.p_two_sided >= r.p_greater.min(r.p_less) - 1e-9, "{r:?}");
    }

    #[test]
    fn two_sample_tests_give_probabilities(
        (k_a, n_a) in counts(), (k_b, n_b) in counts(), c in confidence()
    ) {
        let z = stats::two_proportion_ztest(k_a, n_a, k_b, n_b)?;
        for p in [z.p_two_sided, z.p_greater, z.p_less] {
            prop_assert!((0.0..=1.0).contains(&p), "{z:?}");
        }
        prop_assert!((z.p_greater + z.p_less - 1.0).abs() < 1e-12);
        let d = stats::newcombe_interval(k_a, n_a, k_b, n_b, c)?;
        prop_assert!(-1.0 <= d.lower && d.lower <= d.diff + TOL && d.diff <= d.upper + TOL && d.upper <= 1.0, "{d:?}");
        let table = [[k_b, n_b - k_b], [k_a, n_a - k_a]];
        if let Ok(f) = stats::fisher_exact_2x2(table) {
            for p in [f.p_two_sided, f.p_greater, f.p_less] {
                prop_assert!((0.0..=1.0).contains(&p), "{f:?}");
            }
            prop_assert!(f.p_greater + f.p_less >= 1.0 - 1e-9, "{f:?}");
        }
        if let Ok(x) = stats::chi_square_independence(&table) {
            prop_assert!((0.0..=1.0).contains(&x.p_value) && x.statistic >= 0.0, "{x:?}");
        }
        for m in [stats::mcnemar_exact(table).map(|m| m.p_value), stats::mcnemar_chi2(table).map(|m| m.p_value)] {
            let p = m?;
            prop_assert!((0.0..=1.0).contains(&p));
        }
    }

    #[test]
    fn welch_test_and_interval_agree(
        mean_a in -1e3f64..1e3, sd_a in prop_oneof![Just(0.0), 0.01f64..500.0], n_a in 2u64..100_000,
        mean_b in -1e3f64..1e3, sd_b in 0.01f64..500.0, n_b in 2u64..100_000, c in confidence()
    ) {
        let a = SummaryStats { mean: mean_a, sd: sd_a, n: n_a };
        let b = SummaryStats { mean: mean_b, sd: sd_b, n: n_b };
        let r = stats::welch_t_test(a, b, c)?;
        for p in [r.p_two_sided, r.p_greater, r.p_less] {
            prop_assert!((0.0..=1.0).contains(&p), "{r:?}");
        }
        prop_assert!((r.p_greater + r.p_less - 1.0).abs() < 1e-12, "{r:?}");
        prop_assert!(r.lower <= r.diff && r.diff <= r.upper);
        // Duality: 0 lies outside the (1 − α) interval exactly when p_two_sided < α.
        let alpha = 1.0 - c;
        let margin = 1e-9 * (r.upper - r.lower);
        if r.lower > margin || r.upper < -margin {
            prop_assert!(r.p_two_sided < alpha * (1.0 + 1e-9), "{r:?}");
        } else if r.lower < -margin && r.upper > margin {
            prop_assert!(r.p_two_sided > alpha * (1.0 - 1e-9), "{r:?}");
        }
    }

    #[test]
    fn mean_interval_is_centred_and_widens(
        mean in -1e4f64..1e4, sd in prop_oneof![Just(0.0), 0.001f64..1e3], n in 2u64..1_000_000,
        c1 in 0.5f64..0.98, dc in 0.001f64..0.019
    ) {
        let s = SummaryStats { mean, sd, n };
        let narrow = stats::mean_interval(s, c1)?;
        let wide = stats::mean_interval(s, c1 + dc)?;
        prop_assert_eq!(narrow.estimate, mean);
        prop_assert!((narrow.upper - mean - (mean - narrow.lower)).abs() <= 1e-9 * (1.0 + mean.abs()));
        prop_assert!(wide.lower <= narrow.lower && narrow.upper <= wide.upper);
        // The one-group interval is the Welch interval against a point mass at 0.
        let zero = SummaryStats { mean: 0.0, sd: 0.0, n: 10 };
        if sd > 0.0 {
            let w = stats::welch_t_test(zero, s, c1)?;
            prop_assert!((w.lower - narrow.lower).abs() <= 1e-9 * (1.0 + mean.abs() + sd));
        }
    }

    #[test]
    fn holm_and_bh_are_monotone_and_dominate_raw(p in p_values(), alpha in 0.001f64..0.5) {
        let holm = stats::holm_adjust(&p, alpha)?;
        let bh = stats::bh_adjust(&p, alpha)?;
        prop_assert_eq!(holm.adjusted.len(), p.len());
        prop_assert_eq!(bh.adjusted.len(), p.len());
        for adj in [&holm, &bh] {
            for (i, (&raw, &a)) in p.iter().zip(&adj.adjusted).enumerate() {
                prop_assert!(a >= raw && a <= 1.0, "index {i}: raw {raw} adjusted {a}");
                prop_assert_eq!(adj.reject.get(i).copied(), Some(a <= alpha));
            }
            // Monotone in the raw order, and equal for equal raw values.
            for (i, (&pi, &ai)) in p.iter().zip(&adj.adjusted).enumerate() {
                for (&pj, &aj) in p.iter().zip(&adj.adjusted).skip(i + 1) {
                    if pi < pj { prop_assert!(ai <= aj); }
                    if pi > pj { prop_assert!(ai >= aj); }
                    if pi == pj { prop_assert_eq!(ai, aj); }
                }
            }
        }
        // Holm controls the FWER, BH the FDR: Holm is never less conservative.
        for (h, b) in holm.adjusted.iter().zip(&bh.adjusted) {
            prop_assert!(*h >= b * (1.0 - 1e-14), "holm {h} < bh {b}");
        }
    }

    #[test]
    fn beta_posterior_is_consistent((k, n) in counts(), prior in prop_oneof![Just((1.0, 1.0)), Just((0.5, 0.5)), (0.1f64..50.0, 0.1f64..50.0)], t1 in 0.0f64..=1.0, t2 in 0.0f64..=1.0, c in confidence()) {
        let (pa, pb) = prior;
        let lo_t = t1.min(t2);
        let hi_t = t1.max(t2);
        let r1 = stats::beta_posterior(k, n, pa, pb, lo_t, c)?;
        let r2 = stats::beta_posterior(k, n, pa, pb, hi_t, c)?;
        prop_assert!(0.0 <= r1.lower && r1.lower <= r1.upper && r1.upper <= 1.0, "{r1:?}");
        prop_assert!(r1.prob_above_threshold >= r2.prob_above_threshold - TOL);
        prop_assert!((0.0..=1.0).contains(&r1.prob_above_threshold));
        // The credible bounds are quantiles, P(p > lower) = 1 − α/2 and P(p > upper) = α/2, to
        // within a few ulps of the bound (near 0 or 1 one ulp can move the tail noticeably).
        let alpha = 1.0 - c;
        let tail = |t: f64| stats::beta_posterior(k, n, pa, pb, t.clamp(0.0, 1.0), c).map(|r| r.prob_above_threshold);
        let ulps = |x: f64, up: bool| (0..4).fold(x, |v, _| if up { v.next_up() } else { v.next_down() });
        for (bound, target) in [(r1.lower, 1.0 - alpha / 2.0), (r1.upper, alpha / 2.0)] {
            let (below, above) = (tail(ulps(bound, false))?, tail(ulps(bound, true))?);
            prop_assert!(
                above * (1.0 - 1e-10) <= target && target <= below * (1.0 + 1e-10),
                "bound {bound}: tails {below} .. {above}, target {target}"
            );
        }
    }

    #[test]
    fn sample_sizes_invert_power(pa in 0.001f64..0.9, lift in 0.02f64..0.5, alpha in 0.005f64..0.2, power in 0.5f64..0.99) {
        let pb = (pa * (1.0 + lift)).min(0.99);
        prop_assume!(pb > pa);
        let one = stats::sample_size_one_proportion(pa, pb, alpha, power)?;
        prop_assert!((stats::power_one_proportion(pa, pb, alpha, one.n)? - power).abs() < 1e-9);
        let two = stats::sample_size_two_proportions(pa, pb, alpha, power)?;
        prop_assert!((stats::power_two_proportions_pooled(pa, pb, alpha, two.pooled.n)? - power).abs() < 1e-9);
        prop_assert!((stats::power_two_proportions_unpooled(pa, pb, alpha, two.unpooled.n)? - power).abs() < 1e-9);
        let h = stats::sample_size_cohen_h(pa, pb, alpha, power)?;
        prop_assert!((stats::power_cohen_h(pa, pb, alpha, h.n)? - power).abs() < 1e-9);
        for s in [one.n, two.pooled.n, two.unpooled.n, h.n] {
            prop_assert!(s > 0.0 && s.is_finite());
        }
        prop_assert!(one.n_ceil as f64 >= one.n && (one.n_ceil as f64) < one.n + 1.0);
    }

    #[test]
    fn confidence_sequence_contains_estimate((k, n) in counts(), c in confidence(), rho in 1.0f64..1e5) {
        let r = stats::confidence_sequence(k, n, c, 0.25, rho)?;
        prop_assert!(0.0 <= r.lower && r.lower <= r.estimate && r.estimate <= r.upper && r.upper <= 1.0);
        prop_assert!(r.radius > 0.0);
        // Anytime-valid bounds are wider than the fixed-horizon Wilson bounds at the same level.
        let w = stats::wilson_interval(k, n, c)?;
        prop_assert!(r.upper >= w.upper - 1e-12 || r.upper == 1.0);
    }

    #[test]
    fn srm_is_a_probability(obs in prop::collection::vec(0u64..1_000_000, 2..8), w in prop::collection::vec(0.01f64..10.0, 8)) {
        let weights: Vec<f64> = w.into_iter().take(obs.len()).collect();
        match stats::srm_chi_square(&obs, &weights) {
            Ok(r) => prop_assert!((0.0..=1.0).contains(&r.p_value) && r.statistic >= 0.0),
            Err(e) => prop_assert!(obs.iter().all(|&o| o == 0), "{e}"),
        }
    }
}

proptest! {
    // The quadrature route costs a few milliseconds in a debug build: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn prob_b_beats_a_is_complementary(
        (k_a, n_a) in counts(), (k_b, n_b) in counts(),
        prior in prop_oneof![Just((1.0, 1.0)), Just((0.5, 0.5)), (0.2f64..20.0, 0.2f64..20.0)]
    ) {
        let (pa, pb) = prior;
        let ab = stats::prob_b_beats_a(k_a, n_a, k_b, n_b, pa, pb)?;
        let ba = stats::prob_b_beats_a(k_b, n_b, k_a, n_a, pa, pb)?;
        prop_assert!((0.0..=1.0).contains(&ab));
        prop_assert!((ab + ba - 1.0).abs() < 1e-9, "{ab} + {ba}");
        let same = stats::prob_b_beats_a(k_a, n_a, k_a, n_a, pa, pb)?;
        prop_assert_eq!(same, 0.5);
    }

    #[test]
    fn prob_best_sums_to_one(arms in prop::collection::vec(counts(), 2..5), seed in any::<u64>()) {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let r = stats::prob_best(&arms, 1.0, 1.0, 500, &mut rng)?;
        let total: f64 = r.iter().map(|p| p.prob).sum();
        prop_assert!((total - 1.0).abs() < 1e-12);
        for p in &r {
            prop_assert!((0.0..=1.0).contains(&p.prob) && p.std_error >= 0.0);
        }
    }
}

/// Any float, including NaN, ±∞, 0, 1 and negatives.
fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(1.0),
        Just(-0.5),
        Just(1.5),
        any::<f64>(),
        0.0f64..=1.0,
    ]
}

fn ok_finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the input, every method returns an error or finite numbers — never a panic.
    #[test]
    fn degenerate_inputs_give_errors_not_panics(
        k in prop_oneof![Just(0u64), 0u64..100, Just(u64::MAX)],
        n in prop_oneof![Just(0u64), 0u64..100],
        x in any_float(), y in any_float(), z in any_float(),
    ) {
        for f in [stats::wilson_interval, stats::clopper_pearson_interval, stats::jeffreys_interval] {
            if let Ok(r) = f(k, n, x) {
                prop_assert!(n > 0 && k <= n && x > 0.0 && x < 1.0 && ok_finite(&[r.lower, r.upper]));
            }
        }
        if let Ok(r) = stats::binomial_test(k, n, x) {
            prop_assert!(ok_finite(&[r.p_greater, r.p_less, r.p_two_sided]));
        }
        if let Ok(r) = stats::beta_posterior(k, n, x, y, z, 0.95) {
            prop_assert!(ok_finite(&[r.mean, r.lower, r.upper, r.prob_above_threshold]));
        }
        if let Ok(p) = stats::prob_b_beats_a(k, n, k, n, x, y) {
            prop_assert!(p.is_finite());
        }
        if let Ok(r) = stats::two_proportion_ztest(k, n, k, n) {
            prop_assert!(ok_finite(&[r.z, r.p_two_sided]));
        }
        if let Ok(r) = stats::newcombe_interval(k, n, 0, n, x) {
            prop_assert!(ok_finite(&[r.lower, r.upper]));
        }
        if let Ok(r) = stats::confidence_sequence(k, n, x, y, z) {
            prop_assert!(ok_finite(&[r.lower, r.upper, r.radius]));
        }
        if let Ok(rho) = stats::normal_mixture_rho(x, y) {
            prop_assert!(rho.is_finite() && rho > 0.0);
        }
        if let Ok(r) = stats::sample_size_one_proportion(x, y, z, 0.8) {
            prop_assert!(r.n.is_finite());
        }
        if let Ok(r) = stats::sample_size_two_proportions(x, y, 0.05, z) {
            prop_assert!(ok_finite(&[r.pooled.n, r.unpooled.n]));
        }
        if let Ok(r) = stats::sample_size_cohen_h(x, y, 0.05, z) {
            prop_assert!(ok_finite(&[r.n, r.cohen_h]));
        }
        for p in [stats::power_one_proportion(x, y, 0.05, z), stats::power_cohen_h(x, y, 0.05, z)].into_iter().flatten() {
            prop_assert!((0.0..=1.0).contains(&p));
        }
        let a = SummaryStats { mean: x, sd: y, n };
        let b = SummaryStats { mean: 1.0, sd: z, n: k.min(1000) };
        if let Ok(r) = stats::welch_t_test(a, b, 0.95) {
            prop_assert!(ok_finite(&[r.t, r.df, r.p_two_sided, r.lower, r.upper]));
        }
        for r in [stats::holm_adjust(&[x, y, z], 0.05), stats::bh_adjust(&[x, y], z)].into_iter().flatten() {
            prop_assert!(ok_finite(&r.adjusted));
        }
        if let Ok(i) = stats::mean_interval(a, z) {
            prop_assert!(ok_finite(&[i.lower, i.upper]));
        }
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(k);
        if let Ok(r) = stats::prob_best_weighted(&[(k.min(n), n), (0, n)], &[x, y], 1.0, 1.0, 50, &mut rng) {
            prop_assert!(r.iter().all(|p| p.prob.is_finite()));
        }
        if let Ok(r) = stats::srm_chi_square(&[k.min(1000), n], &[x, y]) {
            prop_assert!(ok_finite(&[r.statistic, r.p_value]));
        }
    }
}

#[test]
fn documented_degenerate_cases_are_errors() {
    use stats::StatsError;
    assert!(matches!(
        stats::wilson_interval(0, 0, 0.95),
        Err(StatsError::ZeroTrials { .. })
    ));
    assert!(matches!(
        stats::wilson_interval(5, 4, 0.95),
        Err(StatsError::SuccessesExceedTrials { .. })
    ));
    for c in [0.0, 1.0, -0.1, 1.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            stats::jeffreys_interval(1, 4, c),
            Err(StatsError::InvalidConfidence(_))
        ));
    }
    assert!(stats::binomial_test(1, 4, 1.5).is_err());
    assert!(stats::binomial_test(1, 4, f64::NAN).is_err());
    assert!(matches!(
        stats::chi_square_independence::<Vec<u64>>(&[]),
        Err(StatsError::Empty(_))
    ));
    assert!(matches!(
        stats::chi_square_independence(&[vec![1, 2], vec![0, 0]]),
        Err(StatsError::ZeroRowTotal(1))
    ));
    assert!(matches!(
        stats::chi_square_independence(&[vec![1, 0], vec![3, 0]]),
        Err(StatsError::ZeroColumnTotal(1))
    ));
    assert!(matches!(
        stats::chi_square_independence(&[vec![1, 2], vec![3]]),
        Err(StatsError::RaggedTable { .. })
    ));
    assert!(matches!(
        stats::fisher_exact_2x2([[0, 0], [1, 2]]),
        Err(StatsError::ZeroRowTotal(0))
    ));
    assert!(matches!(
        stats::mcnemar_exact([[0, 0], [0, 0]]),
        Err(StatsError::Empty(_))
    ));
    assert!(matches!(
        stats::holm_adjust(&[0.1, 1.2], 0.05),
        Err(StatsError::InvalidPValue { index: 1, .. })
    ));
    assert!(matches!(
        stats::bh_adjust(&[0.1], 1.0),
        Err(StatsError::InvalidAlpha(_))
    ));
    assert!(matches!(
        stats::srm_chi_square(&[1, 2], &[1.0]),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        stats::srm_chi_square(&[1, 2], &[1.0, 0.0]),
        Err(StatsError::NotPositive { .. })
    ));
    assert!(matches!(
        stats::sample_size_two_proportions(0.1, 0.1, 0.05, 0.8),
        Err(StatsError::NoEffect(_))
    ));
    assert!(matches!(
        stats::sample_size_cohen_h(0.1, 0.2, 0.05, 0.01),
        Err(StatsError::PowerNotAboveAlpha { .. })
    ));
    let flat = SummaryStats {
        mean: 1.0,
        sd: 0.0,
        n: 10,
    };
    assert!(matches!(
        stats::welch_t_test(flat, flat, 0.95),
        Err(StatsError::ZeroVariance)
    ));
    let single = SummaryStats {
        mean: 1.0,
        sd: 1.0,
        n: 1,
    };
    assert!(matches!(
        stats::welch_t_test(single, flat, 0.95),
        Err(StatsError::TooFewObservations { .. })
    ));
    assert!(matches!(
        stats::confidence_sequence(1, 0, 0.95, 0.25, 10.0),
        Err(StatsError::ZeroTrials { .. })
    ));
    assert!(matches!(
        stats::confidence_sequence(1, 5, 0.95, 0.0, 10.0),
        Err(StatsError::NotPositive { .. })
    ));
}

#[test]
fn textbook_edge_answers() -> Result<(), stats::StatsError> {
    // k = 0 and k = n: Wilson and Clopper–Pearson bounds sit exactly on 0 and 1.
    let w = stats::wilson_interval(0, 10, 0.95)?;
    assert_eq!((w.estimate, w.lower), (0.0, 0.0));
    let cp = stats::clopper_pearson_interval(10, 10, 0.95)?;
    assert_eq!((cp.estimate, cp.upper), (1.0, 1.0));
    // n = 1, k = 1: Clopper–Pearson lower bound is (α/2)^(1/1) = α/2.
    let one = stats::clopper_pearson_interval(1, 1, 0.9)?;
    assert!((one.lower - 0.05).abs() < 1e-15);
    // k = 0 of n, 95%: Clopper–Pearson upper = 1 − 0.025^(1/n).
    let cp0 = stats::clopper_pearson_interval(0, 20, 0.95)?;
    assert!((cp0.upper - (1.0 - 0.025_f64.powf(1.0 / 20.0))).abs() < 1e-14);
    // Binomial test at k = 0 and k = n.
    let b0 = stats::binomial_test(0, 10, 0.3)?;
    assert_eq!(b0.p_greater, 1.0);
    assert!((b0.p_less - 0.7_f64.powi(10)).abs() < 1e-15);
    let bn = stats::binomial_test(10, 10, 0.3)?;
    assert!((bn.p_greater / 0.3_f64.powi(10) - 1.0).abs() < 1e-13);
    // Two-sided binomial test for k at the mean is 1.
    assert_eq!(stats::binomial_test(5, 10, 0.5)?.p_two_sided, 1.0);
    // z-test with no successes anywhere is "no evidence", not NaN.
    let z = stats::two_proportion_ztest(0, 10, 0, 20)?;
    assert_eq!((z.z, z.p_two_sided), (0.0, 1.0));
    // McNemar with no discordant pairs.
    assert_eq!(stats::mcnemar_exact([[5, 0], [0, 7]])?.p_value, 1.0);
    assert_eq!(stats::mcnemar_chi2([[5, 3], [3, 7]])?.p_value, 1.0);
    // Holm on an empty family.
    assert!(stats::holm_adjust(&[], 0.05)?.adjusted.is_empty());
    Ok(())
}

#[test]
fn large_counts_do_not_overflow() -> Result<(), stats::StatsError> {
    let n = 1_000_000_000_u64;
    let w = stats::wilson_interval(31_000_000, n, 0.95)?;
    assert!(w.lower < 0.031 && 0.031 < w.upper);
    let b = stats::binomial_test(31_100_000, n, 0.031)?;
    // z ≈ 18.2, so the one-sided p-value is about 1e-74: representable, and kept.
    assert!(b.p_greater > 1e-80 && b.p_greater < 1e-70, "{b:?}");
    let f = stats::fisher_exact_2x2([[31_100_000, 968_900_000], [31_000_000, 969_000_000]])?;
    assert!(f.p_two_sided > 0.0 && f.p_two_sided < 1e-30, "{f:?}");
    let p = stats::prob_b_beats_a(31_000_000, n, 31_010_000, n, 0.5, 0.5)?;
    assert!(p > 0.9 && p < 1.0, "{p}");
    let cp = stats::clopper_pearson_interval(3, n, 0.95)?;
    assert!(cp.lower > 0.0 && cp.upper < 1e-8);
    Ok(())
}

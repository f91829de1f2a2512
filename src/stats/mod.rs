//! Pure statistics: numbers in, numbers out. No I/O, no domain types.
//!
//! Every method is a free function that validates its arguments, returns a named result struct
//! (or a plain `f64`) and reports bad input as a [`StatsError`] — never `NaN`, never a panic.
//! Counts are `u64`; rates, confidences and significance levels are `f64`.
//!
//! Conventions (see `tests/fixtures/stats_cases.json` and its README for reference values):
//! - `confidence` is a two-sided level, α = 1 − confidence; `alpha` is a test's level.
//! - Comparisons name a reference group **A** and a compared group **B**; `diff = p̂_B − p̂_A`,
//!   `*_greater` tests H1: B > A and `*_less` tests H1: B < A.
//! - Tail probabilities come from complementary functions (incomplete beta and gamma, `erfc`)
//!   so tiny p-values are kept until they underflow a double.
//!
//! | family | functions |
//! |---|---|
//! | one proportion | [`wilson_interval`], [`clopper_pearson_interval`], [`jeffreys_interval`], [`binomial_test`] |
//! | Beta posterior | [`beta_posterior`] |
//! | two proportions | [`two_proportion_ztest`], [`newcombe_interval`], [`prob_b_beats_a`], [`prob_best`], [`prob_best_weighted`] |
//! | contingency tables | [`chi_square_independence`], [`fisher_exact_2x2`], [`srm_chi_square`] |
//! | paired binary | [`mcnemar_exact`], [`mcnemar_chi2`] |
//! | multiple testing | [`holm_adjust`], [`bh_adjust`] |
//! | planning | [`sample_size_one_proportion`], [`sample_size_two_proportions`], [`sample_size_cohen_h`], [`cohen_h`], [`power_one_proportion`], [`power_two_proportions_pooled`], [`power_two_proportions_unpooled`], [`power_cohen_h`] |
//! | revenue | [`welch_t_test`], [`mean_interval`], [`revenue_interval`] (anytime-valid, bounded) |
//! | anytime-valid | [`BetaBinomialMixture`] (interval, evidence, verdict), [`verdict_boundaries`], [`sequential_plan()`], [`sequential_plan_from`], [`fixed_horizon_verdict`], [`confidence_sequence`], [`normal_mixture_rho`] |
//! | special functions | [`ln_gamma`], [`ln_beta`] |

mod bayes;
mod beta;
mod contingency;
pub mod convert;
mod error;
mod gamma;
mod multiple;
mod paired;
mod planning;
mod proportion;
mod quadrature;
mod rate_sequence;
mod revenue_sequence;
mod sampling;
pub use sampling::BinomialSampler;
mod sequential;
mod sequential_plan;
mod special;
mod two_proportions;
mod validate;
mod welch;

pub use bayes::{ProbBest, prob_b_beats_a, prob_best, prob_best_weighted};
pub use beta::{BetaPosterior, beta_posterior};
pub use contingency::{
    ChiSquare, FisherExact, chi_square_independence, fisher_exact_2x2, srm_chi_square,
};
pub use error::StatsError;
pub use gamma::{ln_beta, ln_gamma};
pub use multiple::{Adjusted, bh_adjust, holm_adjust};
pub use paired::{McNemarChi2, McNemarExact, mcnemar_chi2, mcnemar_exact};
pub use planning::{
    CohenHSampleSize, SampleSize, TwoProportionSampleSize, cohen_h, power_cohen_h,
    power_one_proportion, power_two_proportions_pooled, power_two_proportions_unpooled,
    sample_size_cohen_h, sample_size_one_proportion, sample_size_two_proportions,
};
pub use proportion::{
    BinomialTest, Interval, binomial_test, clopper_pearson_interval, jeffreys_interval,
    wilson_interval,
};
pub use rate_sequence::{BetaBinomialMixture, RateInterval, RateVerdict, fixed_horizon_verdict};
pub use revenue_sequence::{RevenueInterval, revenue_interval};
pub use sequential::{ConfidenceSequence, confidence_sequence, normal_mixture_rho};
pub use sequential_plan::{
    Passage, SequentialDesign, SequentialPlan, VerdictBoundary, sequential_plan,
    sequential_plan_from, verdict_boundaries,
};
pub use two_proportions::{DiffInterval, ZTest, newcombe_interval, two_proportion_ztest};
pub use welch::{SummaryStats, WelchTest, mean_interval, welch_t_test};

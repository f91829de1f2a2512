//! The demand report: every number leadership reads about one initiative, computed
//! from its aggregate cells (never from raw events) with the statistics engine.
//!
//! A statistic that the data cannot support (no exposures, a table with an empty
//! margin, a single segment) is `null`, never an error or NaN.

use chrono::{DateTime, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use utoipa::ToSchema;

use super::figures::{IntervalMethod, RateReading};
use super::tally::{Tallies, Tally};
use super::verdict::{self, Finding, Inputs, Outlook, RateRead, Standing, Verdict};
use super::words::{self, SentenceContext};
use crate::domain::aggregate::{Cell, DailyCount};
use crate::domain::{Decision, Initiative, Kind, Mode, OpenRate, Sentiment, Status};
use crate::stats;

/// Prior of every Bayesian probability in the report: Beta(1, 1), uniform.
pub const PRIOR: (f64, f64) = (1.0, 1.0);
/// The prior, as the report names it.
pub const PRIOR_NAME: &str = "Beta(1, 1)";
/// Sample ratio mismatch is flagged below this p-value.
pub const SRM_ALPHA: f64 = 0.001;
/// Monte Carlo draws for the chance that a price is best.
const PRICE_DRAWS: u64 = 20_000;

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Range {
    pub low: f64,
    pub high: f64,
}

/// The initiative as the report shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InitiativeHeader {
    pub key: String,
    pub name: String,
    pub status: Status,
    pub kind: Kind,
    pub owner_team: String,
    pub hypothesis: String,
    pub core_segments: Vec<String>,
    pub criteria: CriteriaHeader,
    pub price_cents: i64,
    pub currency: String,
    pub fingerprint: Option<String>,
    pub launched_at: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
    pub decision_note: Option<String>,
}

/// The pre-registered criteria.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CriteriaHeader {
    pub target_preorder_rate: f64,
    pub target_love_share: Option<f64>,
    pub confidence: f64,
    pub min_exposures: u64,
    pub planned_exposures: u64,
    /// Floor of a `full` pre-order, in cents (null: the price each customer was offered).
    pub min_full_preorder_cents: Option<i64>,
    /// Floor of a `deposit` pre-order (the deposit), in cents (null: no deposits taken).
    pub deposit_cents: Option<i64>,
    /// Events dated from here on count although before the launch (null: none before
    /// the launch).
    pub backfill_from: Option<DateTime<Utc>>,
}

/// Mean committed revenue per exposed customer, in cents, with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct MeanRevenue {
    pub mean: Option<f64>,
    /// Anytime-valid interval for the mean (never negative; valid for skewed amounts),
    /// bounded by the most a customer's active pre-orders may total (10 × the highest
    /// offer price); null without exposures or for a free offer.
    pub ci: Option<Range>,
}

/// Real demand: who put money down.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Demand {
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    /// The interval the verdict reads (`interval_method`): anytime-valid in sequential
    /// mode, Wilson in fixed mode, at the initiative's confidence.
    pub ci: Option<Range>,
    /// Sequential mode: M(target), how many times better the data are explained by a
    /// rate other than the target than by the target itself. A verdict needs
    /// `evidence_needed`.
    pub evidence_ratio: Option<f64>,
    /// 1/α: the evidence ratio a verdict needs (sequential mode).
    pub evidence_needed: Option<f64>,
    /// Fixed mode: the single read at the planned exposures (null before it).
    pub fixed_read: Option<FixedRead>,
    /// Exact one-sided binomial p-value, H1: rate > target_preorder_rate. A read-once
    /// figure (for the portfolio's false-discovery control), not the verdict.
    pub p_value: Option<f64>,
    /// A detail, not the verdict: P(rate > target) under the `prior` named here.
    pub prob_above_target: Option<f64>,
    pub prior: &'static str,
    pub committed_revenue_cents: i64,
    pub revenue_per_exposure: MeanRevenue,
}

/// Fixed mode's single read: the counts at the end of the day the planned exposures
/// were reached, and the Wilson interval the verdict reads.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct FixedRead {
    pub day: Option<NaiveDate>,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    pub ci: Option<Range>,
}

/// Like or love: stated sentiment among responders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enthusiasm {
    pub responses: u64,
    pub love: u64,
    pub like: u64,
    pub neutral: u64,
    pub dislike: u64,
    pub love_share: Option<f64>,
    /// Interval of the love share, of the report's `interval_method`.
    pub ci: Option<Range>,
    /// Sequential mode: M(target_love_share) (null without a love target).
    pub evidence_ratio: Option<f64>,
    /// Exact one-sided binomial p-value against target_love_share (null when unset).
    pub p_value: Option<f64>,
    /// Love share with responders re-weighted to the exposed customers' segment mix
    /// (post-stratification), since responders are not a random sample.
    pub love_share_weighted: Option<f64>,
}

/// A non-core segment against the pooled core segments.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct VsCore {
    /// Segment rate minus pooled core rate.
    pub diff: f64,
    /// Pooled two-proportion z-test, two-sided.
    pub p_value: f64,
    /// Holm-adjusted across the non-core segments.
    pub p_value_holm: f64,
}

/// One customer segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentReport {
    pub segment: String,
    pub core: bool,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    /// Of the report's `interval_method`, like the headline's.
    pub ci: Option<Range>,
    pub responses: u64,
    pub love: u64,
    pub like: u64,
    pub neutral: u64,
    pub dislike: u64,
    pub love_share: Option<f64>,
    pub committed_revenue_cents: i64,
    pub vs_core: Option<VsCore>,
    /// Non-core, and the lower bound of its interval at the breakout confidence
    /// (Bonferroni over the non-core segments) clears the pre-order target.
    pub breakout: bool,
    /// Non-core segments: the interval at the breakout confidence.
    pub breakout_ci: Option<Range>,
}

/// Pearson chi-square test of independence.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Independence {
    pub chi2: f64,
    pub dof: u64,
    pub p_value: f64,
}

/// Reach beyond the core segments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reach {
    /// Segments x {pre-ordered, not}.
    pub independence: Option<Independence>,
    /// Share of pre-orders from outside the core segments.
    pub non_core_preorder_share: Option<f64>,
    pub breakout_segments: Vec<String>,
    /// Confidence of a breakout claim: 1 − α/S for S non-core segments (Bonferroni), so
    /// the chance of any false breakout stays within α.
    pub breakout_confidence: f64,
}

/// Conversion of responders with one stated sentiment.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SentimentConversion {
    pub responders: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
}

/// Conversion by stated sentiment.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct BySentiment {
    pub love: SentimentConversion,
    pub like: SentimentConversion,
    pub neutral: SentimentConversion,
    pub dislike: SentimentConversion,
}

/// Lovers against other responders, by pre-ordered.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct LoversVsRest {
    /// Fisher's exact test, two-sided.
    pub p_value: Option<f64>,
    /// Sample odds ratio (null when a cell is empty).
    pub odds_ratio: Option<f64>,
}

/// The paired gap between saying and paying (exact McNemar).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SayDoGap {
    /// Responders who said love or like but hold no pre-order.
    pub said_positive_not_paid: u64,
    /// Responders who pre-ordered without saying love or like.
    pub paid_not_said_positive: u64,
    pub p_value: Option<f64>,
}

/// Say versus do.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SayDo {
    pub by_sentiment: BySentiment,
    pub lovers_vs_rest: LoversVsRest,
    pub mcnemar: SayDoGap,
}

/// One variant against the first.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct VsFirst {
    /// Rate minus the first variant's rate.
    pub diff: f64,
    /// Newcombe hybrid-score interval of the difference.
    pub ci: Option<Range>,
    /// Pooled two-proportion z-test, two-sided.
    pub p_value: Option<f64>,
    /// P(this variant's rate > the first's) under Beta(1,1) priors.
    pub prob_better: Option<f64>,
    /// Revenue per exposed customer minus the first variant's, in cents.
    pub revenue_diff: Option<f64>,
    /// Welch's t-test on revenue per exposed customer, two-sided.
    pub revenue_p_value: Option<f64>,
}

/// One variant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantReport {
    pub variant: String,
    pub weight: f64,
    pub price_cents: i64,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    pub ci: Option<Range>,
    pub revenue_per_exposure: MeanRevenue,
    pub vs_first: Option<VsFirst>,
}

/// One price of a price test.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PricePoint {
    pub price_cents: i64,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    pub ci: Option<Range>,
    pub revenue_per_exposure: MeanRevenue,
}

/// The price with the highest expected revenue per exposed customer.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct BestPrice {
    pub price_cents: i64,
    /// Posterior chance that this price earns the most per exposed customer.
    pub prob_best: f64,
    /// Monte Carlo standard error of prob_best.
    pub prob_best_std_error: f64,
}

/// The evidence ladder.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Funnel {
    pub exposed: u64,
    pub responded: u64,
    /// Said love or like.
    pub positive: u64,
    pub loved: u64,
    /// Hold an active pre-order.
    pub preordered: u64,
    /// Cancelled at least once.
    pub cancelled: u64,
}

/// What a customer said, as the follow-through chain groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Said {
    Love,
    Like,
    Neutral,
    Dislike,
    /// Never responded.
    NoAnswer,
}

/// One sentiment's step of the say -> deposit -> paid chain.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct ChainStep {
    /// The customers' latest stated sentiment.
    pub said: Said,
    /// Exposed customers who said it.
    pub customers: u64,
    /// Of those, customers who put money down (a deposit or a pre-order, withdrawn or not).
    pub money_down: u64,
    /// Of those, customers who paid in full.
    pub paid: u64,
}

/// Whether money down became a payment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FollowThrough {
    /// Customers who ever put money down: a deposit or a full pre-order, withdrawn since
    /// or not.
    pub money_down: u64,
    /// Of those, customers who paid in full (a `payment` event).
    pub paid: u64,
    /// paid / money_down (null without money down).
    pub share: Option<f64>,
    /// Anytime-valid interval of the share (the beta-binomial mixture's confidence
    /// sequence at the initiative's confidence, in both modes: payments arrive over time
    /// and the share is read as they do). Null without money down.
    pub ci: Option<Range>,
    /// By latest stated sentiment: love, like, neutral, dislike, no answer.
    pub chain: Vec<ChainStep>,
}

/// Sample ratio mismatch: exposures per variant against the weights.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Srm {
    pub chi2: f64,
    pub p_value: f64,
    /// p_value < 0.001: the split is not what was planned.
    pub mismatch: bool,
}

/// Cumulative demand at the end of one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelinePoint {
    pub day: NaiveDate,
    pub exposures: u64,
    pub preorders: u64,
    pub rate: Option<f64>,
    /// Of the report's `interval_method` (the anytime-valid band in sequential mode).
    pub ci: Option<Range>,
}

/// The report of one initiative.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub initiative: InitiativeHeader,
    pub mode: Mode,
    /// The kind of every rate interval in the report.
    pub interval_method: IntervalMethod,
    pub demand: Demand,
    pub enthusiasm: Enthusiasm,
    pub segments: Vec<SegmentReport>,
    pub reach: Reach,
    pub say_do: SayDo,
    pub variants: Vec<VariantReport>,
    pub price_curve: Option<Vec<PricePoint>>,
    pub best_price: Option<BestPrice>,
    pub funnel: Funnel,
    pub follow_through: FollowThrough,
    pub srm: Option<Srm>,
    pub timeline: Vec<TimelinePoint>,
    pub verdict: Verdict,
    pub summary: String,
    pub as_of: DateTime<Utc>,
}

fn ratio(k: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| k as f64 / n as f64)
}

/// Mean and interval of revenue per exposed customer from the sums kept per cell.
///
/// The interval is [`stats::revenue_interval`]: the anytime-valid beta-binomial mixture on
/// X/B (valid at every n however often it is read, never negative, in [0, B], and valid for
/// skewed amounts because it needs only the bound), with n = exposures, Σ X = committed
/// cents and B = [`Initiative::max_active_cents_per_customer`], the most ingest accepts per
/// customer. The same in both modes, at the initiative's confidence, tuned to its planned
/// exposures. A free offer has no bound and no interval.
fn mean_revenue(initiative: &Initiative, t: &Tally) -> MeanRevenue {
    if t.exposures == 0 {
        return MeanRevenue {
            mean: None,
            ci: None,
        };
    }
    let mean = t.revenue_cents as f64 / t.exposures as f64;
    let ci = initiative
        .max_active_cents_per_customer()
        .and_then(|bound| {
            stats::revenue_interval(
                t.exposures,
                t.revenue_cents.max(0) as f64,
                bound.get() as f64,
                initiative.criteria.confidence.get(),
                initiative.criteria.planned_exposures.max(1),
            )
            .ok()
        })
        .map(|i| Range {
            low: i.lower,
            high: i.upper,
        });
    MeanRevenue {
        mean: Some(mean),
        ci,
    }
}

/// Mean, sample standard deviation and n of per-customer revenue (0 for customers
/// without a pre-order).
fn revenue_summary(t: &Tally) -> Option<stats::SummaryStats> {
    if t.exposures == 0 {
        return None;
    }
    let n = t.exposures as f64;
    let mean = t.revenue_cents as f64 / n;
    let sd = if t.exposures > 1 {
        ((t.revenue_sq_cents - n * mean * mean).max(0.0) / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    Some(stats::SummaryStats {
        mean,
        sd,
        n: t.exposures,
    })
}

fn header(i: &Initiative) -> InitiativeHeader {
    InitiativeHeader {
        key: i.key.to_string(),
        name: i.name.clone(),
        status: i.status,
        kind: i.kind,
        owner_team: i.owner_team.to_string(),
        hypothesis: i.hypothesis.clone(),
        core_segments: i.core_segments.iter().map(ToString::to_string).collect(),
        criteria: CriteriaHeader {
            target_preorder_rate: i.criteria.target_preorder_rate.get(),
            target_love_share: i.criteria.target_love_share.map(OpenRate::get),
            confidence: i.criteria.confidence.get(),
            min_exposures: i.criteria.min_exposures,
            planned_exposures: i.criteria.planned_exposures,
            min_full_preorder_cents: i.criteria.min_preorder.full.map(crate::domain::Cents::get),
            deposit_cents: i
                .criteria
                .min_preorder
                .deposit
                .map(crate::domain::Cents::get),
            backfill_from: i.criteria.backfill_from,
        },
        price_cents: i.price.get(),
        currency: i.currency.to_string(),
        fingerprint: i.fingerprint.clone(),
        launched_at: i.launched_at,
        concluded_at: i.concluded_at,
        decision: i.decision,
        decision_note: i.decision_note.clone(),
    }
}

/// Builds the report of `initiative` from its aggregate cells and daily counts: the
/// figures first (every rate read through one [`RateReading`]), then the verdict from
/// the criteria, the mode and those figures, then the sentences.
pub fn build(
    initiative: &Initiative,
    cells: &[Cell],
    daily: &[DailyCount],
    as_of: DateTime<Utc>,
) -> Report {
    let criteria = &initiative.criteria;
    let confidence = criteria.confidence.get();
    let alpha = 1.0 - confidence;
    let target = criteria.target_preorder_rate.get();
    let planned = criteria.planned_exposures;
    let reading = RateReading::for_initiative(initiative);
    let tallies = Tallies::from_cells(cells);
    let total = &tallies.total;
    let timeline = timeline(daily, &reading);

    let fixed_read = (initiative.mode == Mode::Fixed)
        .then(|| fixed_read(&timeline, total, planned, &reading))
        .flatten();
    let demand = Demand {
        exposures: total.exposures,
        preorders: total.preorders,
        rate: ratio(total.preorders, total.exposures),
        ci: reading.interval(total.preorders, total.exposures),
        evidence_ratio: reading.evidence_ratio(total.preorders, total.exposures, target),
        evidence_needed: reading.evidence_needed(),
        fixed_read,
        p_value: stats::binomial_test(total.preorders, total.exposures, target)
            .ok()
            .map(|t| t.p_greater),
        // Without exposures the posterior is the prior: no evidence to report.
        prob_above_target: (total.exposures > 0)
            .then(|| {
                stats::beta_posterior(
                    total.preorders,
                    total.exposures,
                    PRIOR.0,
                    PRIOR.1,
                    target,
                    confidence,
                )
                .ok()
            })
            .flatten()
            .map(|p| p.prob_above_threshold),
        prior: PRIOR_NAME,
        committed_revenue_cents: total.revenue_cents,
        revenue_per_exposure: mean_revenue(initiative, total),
    };

    let responses = total.responses();
    let love_target = criteria.target_love_share.map(OpenRate::get);
    let enthusiasm = Enthusiasm {
        responses,
        love: total.love,
        like: total.like,
        neutral: total.neutral,
        dislike: total.dislike,
        love_share: ratio(total.love, responses),
        ci: reading.interval(total.love, responses),
        evidence_ratio: love_target.and_then(|t| reading.evidence_ratio(total.love, responses, t)),
        p_value: love_target.and_then(|t| {
            stats::binomial_test(total.love, responses, t)
                .ok()
                .map(|b| b.p_greater)
        }),
        love_share_weighted: weighted_love_share(&tallies),
    };

    let (segments, reach) = segments_and_reach(initiative, &tallies, &reading, alpha, target);
    let say_do = say_do(total);
    let variants = variants(initiative, &tallies, &reading, confidence);
    let (price_curve, best_price) = price_curve(initiative, &tallies, &reading);
    let funnel = Funnel {
        exposed: total.exposures,
        responded: responses,
        positive: total.love + total.like,
        loved: total.love,
        preordered: total.preorders,
        cancelled: total.cancelled,
    };
    let srm = srm(initiative, &tallies);

    // The verdict reads the figures above, and only those.
    let preorders = match initiative.mode {
        Mode::Sequential => Some(read(&reading, total.preorders, total.exposures, target)),
        Mode::Fixed => fixed_read.map(|f| RateRead {
            successes: f.preorders,
            trials: f.exposures,
            rate: f.rate,
            ci: f.ci,
            evidence_ratio: None,
            standing: reading.standing(f.preorders, f.exposures, target).into(),
        }),
    };
    let love = love_target.map(|t| {
        (
            t,
            (responses > 0).then(|| read(&reading, total.love, responses, t)),
        )
    });
    let unclear = preorders.is_some_and(|r| r.standing == Standing::Unclear);
    let outlook = match initiative.mode {
        Mode::Sequential if unclear => {
            outlook(criteria, total.preorders, total.exposures, daily, as_of).map(|o| Outlook {
                // Only a running pilot gets more exposures: no date for the others.
                expected_by: o
                    .expected_by
                    .filter(|_| initiative.status == Status::Running),
                ..o
            })
        }
        _ => None,
    };
    let breakouts = segments
        .iter()
        .filter(|s| s.breakout)
        .filter_map(|s| {
            Some(Finding::Breakout {
                segment: s.segment.clone(),
                rate: s.rate?,
                ci: s.breakout_ci?,
                confidence: reach.breakout_confidence,
            })
        })
        .collect();
    let inputs = Inputs {
        mode: initiative.mode,
        min_exposures: criteria.min_exposures,
        planned_exposures: planned,
        exposures: total.exposures,
        target,
        preorders,
        love,
        srm_mismatch: srm.filter(|s| s.mismatch).map(|s| s.p_value),
        breakouts,
        outlook,
    };
    let (status, findings) = verdict::decide(&inputs);
    let ctx = SentenceContext {
        name: &initiative.name,
        interval_name: match reading.method() {
            IntervalMethod::AnytimeValid => {
                format!("{} anytime-valid interval", words::confidence(confidence))
            }
            IntervalMethod::Wilson => format!(
                "{} interval, read once at {} exposures",
                words::confidence(confidence),
                words::count(planned)
            ),
        },
        interval_kind: match reading.method() {
            IntervalMethod::AnytimeValid => "anytime-valid interval",
            IntervalMethod::Wilson => "interval",
        },
        confidence,
        evidence_needed: reading.evidence_needed(),
        planned_exposures: planned,
    };
    let reasons: Vec<String> = findings.iter().map(|f| words::sentence(f, &ctx)).collect();
    // The outlook is the verdict's only when it made it a finding (inconclusive).
    let outlook = findings
        .iter()
        .any(|f| matches!(f, Finding::MoreExposures { .. }))
        .then_some(outlook)
        .flatten();
    let verdict = Verdict {
        status,
        additional_exposures_needed: outlook.map(|o| o.median),
        expected_by: outlook.and_then(|o| o.expected_by),
        past_planned: planned > 0 && total.exposures > planned,
        findings,
        reasons,
    };
    let mut report = Report {
        initiative: header(initiative),
        mode: initiative.mode,
        interval_method: reading.method(),
        demand,
        enthusiasm,
        segments,
        reach,
        say_do,
        variants,
        price_curve,
        best_price,
        funnel,
        follow_through: follow_through(initiative, cells),
        srm,
        timeline,
        verdict,
        summary: String::new(),
        as_of,
    };
    report.summary = summary(initiative, &report);
    report
}

/// Follow-through from the cells: of the customers who put money down, the share who
/// paid in full, with its anytime-valid interval, and the chain by stated sentiment.
///
/// The interval is the confidence sequence of [`stats::BetaBinomialMixture`] (the one the
/// headline rate uses in sequential mode), tuned to the money down the plan expects
/// (planned exposures × target pre-order rate): tuning moves where it is tightest, never
/// its validity.
fn follow_through(initiative: &Initiative, cells: &[Cell]) -> FollowThrough {
    let order = [
        Said::Love,
        Said::Like,
        Said::Neutral,
        Said::Dislike,
        Said::NoAnswer,
    ];
    let mut chain: Vec<ChainStep> = order
        .iter()
        .map(|&said| ChainStep {
            said,
            customers: 0,
            money_down: 0,
            paid: 0,
        })
        .collect();
    for cell in cells {
        let i = match cell.sentiment {
            Some(Sentiment::Love) => 0,
            Some(Sentiment::Like) => 1,
            Some(Sentiment::Neutral) => 2,
            Some(Sentiment::Dislike) => 3,
            None => 4,
        };
        if let Some(step) = chain.get_mut(i) {
            step.customers += cell.customers;
            step.money_down += cell.money_down;
            step.paid += cell.paid;
        }
    }
    let money_down: u64 = chain.iter().map(|s| s.money_down).sum();
    let paid: u64 = chain.iter().map(|s| s.paid).sum();
    let c = &initiative.criteria;
    let tuned = stats::convert::saturating_u64(
        (c.planned_exposures as f64 * c.target_preorder_rate.get()).ceil(),
    );
    let ci = (money_down > 0)
        .then(|| stats::BetaBinomialMixture::new(c.confidence.get(), tuned.max(1)).ok())
        .flatten()
        .and_then(|mix| mix.interval(paid, money_down).ok())
        .map(|i| Range {
            low: i.lower,
            high: i.upper,
        });
    FollowThrough {
        money_down,
        paid,
        share: ratio(paid, money_down),
        ci,
        chain,
    }
}

/// One rate as the verdict reads it.
fn read(reading: &RateReading, k: u64, n: u64, target: f64) -> RateRead {
    RateRead {
        successes: k,
        trials: n,
        rate: ratio(k, n),
        ci: reading.interval(k, n),
        evidence_ratio: reading.evidence_ratio(k, n, target),
        standing: reading.standing(k, n, target).into(),
    }
}

/// Fixed mode's single read: the cumulative counts at the end of the first day the
/// planned exposures were reached (so later reads see the same numbers), or the totals
/// when there is no timeline.
fn fixed_read(
    timeline: &[TimelinePoint],
    total: &Tally,
    planned: u64,
    reading: &RateReading,
) -> Option<FixedRead> {
    let at = |day, n: u64, k: u64| FixedRead {
        day,
        exposures: n,
        preorders: k,
        rate: ratio(k, n),
        ci: reading.interval(k, n),
    };
    if let Some(p) = timeline.iter().find(|p| p.exposures >= planned.max(1)) {
        return Some(at(Some(p.day), p.exposures, p.preorders));
    }
    (timeline.is_empty() && total.exposures >= planned.max(1))
        .then(|| at(None, total.exposures, total.preorders))
}

/// Days of recent history the pace of exposures is taken from.
const PACE_DAYS: i64 = 7;

/// Further exposures expected to settle an unclear rate if it stays at `rate`, and
/// when, at the recent daily pace.
///
/// The exact first-passage law of the verdict's own rule ([`stats::sequential_plan_from`])
/// from the current `k` of `n`, with `k/n` as the true rate: of the two verdicts, the one
/// the rate points to (the one more likely within the horizon: "validated" above the
/// target, "not validated" below it) gives the median and 90th percentile of the further
/// exposures by which pilots like this one have it. These unconditional quantiles are
/// upper bounds of those of "a verdict, either one", so "half reach a verdict within the
/// median" holds. `None` when fewer than half reach it within the horizon followed
/// ([`outlook_design`]): the rate sits on the target.
fn outlook(
    criteria: &crate::domain::Criteria,
    k: u64,
    n: u64,
    daily: &[DailyCount],
    as_of: DateTime<Utc>,
) -> Option<Outlook> {
    if n == 0 || k == 0 || k == n {
        return None;
    }
    let rate = k as f64 / n as f64;
    let design = outlook_design(criteria, rate, n);
    let plan = stats::sequential_plan_from(&design, rate, k, n).ok()?;
    let likely = if plan.validated.probability >= plan.not_validated.probability {
        plan.validated
    } else {
        plan.not_validated
    };
    let median = likely.median?;
    let today = as_of.date_naive();
    let recent: i64 = daily
        .iter()
        .filter(|d| (today - d.day).num_days() < PACE_DAYS && d.day <= today)
        .map(|d| d.exposures)
        .sum();
    let per_day = recent as f64 / PACE_DAYS as f64;
    let expected_by = (per_day > 0.0)
        .then(|| (median as f64 / per_day).ceil())
        .filter(|days| *days < 36_500.0)
        .and_then(|days| {
            today.checked_add_days(chrono::Days::new(stats::convert::saturating_u64(days)))
        });
    Some(Outlook {
        median,
        p90: likely.p90,
        expected_by,
    })
}

/// Most reads of the report the outlook's calculation follows.
pub const OUTLOOK_LOOKS: u64 = 200;
/// Bound on the outlook's horizon, in units of (further exposures) × p(1 − p): the
/// dynamic programme's cost at a fixed number of reads grows like the horizon × p(1 − p)
/// (a window of ±8 sd times a kernel of ±12 sd per read); this bound keeps it at a few
/// milliseconds (BENCHMARKS.md, report latency).
pub const OUTLOOK_WORK: f64 = 2_500.0;

/// How the outlook is calculated: the initiative's rule (confidence, planned and minimum
/// exposures) read every `look_every` exposures over a horizon of 4 × max(n, planned)
/// further exposures (at least 1,000), bounded by [`OUTLOOK_WORK`] / (p(1 − p)) (52,000
/// further exposures at p = 5%) so a report stays fast at any n; `look_every` =
/// horizon / [`OUTLOOK_LOOKS`] (at least 1). Reading every `look_every` exposures
/// instead of continuously rounds the quantiles up to a read (0.5% of the horizon) and
/// can only make them later.
pub fn outlook_design(
    criteria: &crate::domain::Criteria,
    rate: f64,
    n: u64,
) -> stats::SequentialDesign {
    let planned = criteria.planned_exposures.max(1);
    let budget =
        stats::convert::saturating_u64((OUTLOOK_WORK / (rate * (1.0 - rate)).max(1e-12)).min(1e12));
    let horizon = n
        .max(planned)
        .saturating_mul(4)
        .max(1_000)
        .min(budget.max(1_000));
    stats::SequentialDesign {
        target: criteria.target_preorder_rate.get(),
        confidence: criteria.confidence.get(),
        planned_exposures: planned,
        look_every: horizon.div_ceil(OUTLOOK_LOOKS).max(1),
        min_exposures: criteria.min_exposures,
        horizon,
    }
}

/// The one-paragraph summary: the status, the headline finding, money and say-do.
fn summary(initiative: &Initiative, report: &Report) -> String {
    let v = &report.verdict;
    let mut out = format!("{}: ", v.status.label());
    // The headline: the mismatch warning when there is one; while collecting, what is
    // being waited for; else the pre-order finding.
    let collecting = v.status == super::VerdictStatus::Collecting;
    let headline = v
        .findings
        .iter()
        .zip(&v.reasons)
        .find(|(f, _)| match f {
            Finding::SampleRatioMismatch { .. } => true,
            Finding::BelowMinimum { .. } | Finding::AwaitingFixedRead { .. } => collecting,
            Finding::Preorders { .. } => !collecting,
            _ => false,
        })
        .or_else(|| v.findings.iter().zip(&v.reasons).next())
        .map_or("", |(_, r)| r.as_str());
    out.push_str(headline);
    let demand = &report.demand;
    if demand.preorders > 0 {
        out.push_str(&format!(
            " Committed revenue so far: {} from {} pre-orders.",
            words::money(
                demand.committed_revenue_cents,
                &initiative.currency.to_string()
            ),
            words::count(demand.preorders)
        ));
    }
    let gap = &report.say_do.mcnemar;
    let positive = report.funnel.positive;
    if positive > 0 {
        let paid_positive = positive - gap.said_positive_not_paid;
        out.push_str(&format!(
            " Of {} customers who said they like or love it, {} pre-ordered.",
            words::count(positive),
            words::percent(paid_positive as f64 / positive as f64)
        ));
    }
    out
}

/// Love share with each segment's responders weighted by the segment's share of
/// exposed customers (among segments that have responders).
fn weighted_love_share(tallies: &Tallies) -> Option<f64> {
    let with_responses: Vec<&Tally> = tallies
        .by_segment
        .values()
        .filter(|t| t.responses() > 0)
        .collect();
    let exposed: u64 = with_responses.iter().map(|t| t.exposures).sum();
    if exposed == 0 {
        return None;
    }
    Some(
        with_responses
            .iter()
            .map(|t| (t.exposures as f64 / exposed as f64) * (t.love as f64 / t.responses() as f64))
            .sum(),
    )
}

fn segments_and_reach(
    initiative: &Initiative,
    tallies: &Tallies,
    reading: &RateReading,
    alpha: f64,
    target: f64,
) -> (Vec<SegmentReport>, Reach) {
    let is_core = |s: &crate::domain::SegmentKey| initiative.core_segments.contains(s);
    let mut core = Tally::default();
    for (segment, t) in &tallies.by_segment {
        if is_core(segment) {
            core.merge(t);
        }
    }
    // Core segments with no exposures yet are listed too, so leaders see the gap.
    let mut keys: Vec<&crate::domain::SegmentKey> = tallies.by_segment.keys().collect();
    for c in &initiative.core_segments {
        if !keys.contains(&c) {
            keys.push(c);
        }
    }
    keys.sort();
    // A breakout claim is made for any of S non-core segments: each is read at
    // 1 − α/S (Bonferroni), so all claims together keep the error within α.
    let non_core = keys.iter().filter(|k| !is_core(k)).count().max(1);
    let breakout_confidence = 1.0 - alpha / non_core as f64;
    let breakout_reading =
        reading.at_confidence(breakout_confidence, initiative.criteria.planned_exposures);
    let empty = Tally::default();
    let mut rows: Vec<SegmentReport> = Vec::with_capacity(keys.len());
    let mut raw_p: Vec<(usize, f64, f64)> = Vec::new();
    for key in keys {
        let t = tallies.by_segment.get(key).unwrap_or(&empty);
        let core_segment = is_core(key);
        let ci = reading.interval(t.preorders, t.exposures);
        let breakout_ci = (!core_segment)
            .then(|| breakout_reading.interval(t.preorders, t.exposures))
            .flatten();
        if !core_segment
            && core.exposures > 0
            && t.exposures > 0
            && let Ok(z) = stats::two_proportion_ztest(
                core.preorders,
                core.exposures,
                t.preorders,
                t.exposures,
            )
        {
            raw_p.push((rows.len(), z.diff, z.p_two_sided));
        }
        rows.push(SegmentReport {
            segment: key.to_string(),
            core: core_segment,
            exposures: t.exposures,
            preorders: t.preorders,
            rate: ratio(t.preorders, t.exposures),
            ci,
            responses: t.responses(),
            love: t.love,
            like: t.like,
            neutral: t.neutral,
            dislike: t.dislike,
            love_share: ratio(t.love, t.responses()),
            committed_revenue_cents: t.revenue_cents,
            vs_core: None,
            breakout: breakout_ci.is_some_and(|c| c.low > target),
            breakout_ci,
        });
    }
    let p: Vec<f64> = raw_p.iter().map(|(_, _, p)| *p).collect();
    if let Ok(holm) = stats::holm_adjust(&p, alpha) {
        for ((row, diff, p_value), p_value_holm) in raw_p.iter().zip(holm.adjusted) {
            if let Some(r) = rows.get_mut(*row) {
                r.vs_core = Some(VsCore {
                    diff: *diff,
                    p_value: *p_value,
                    p_value_holm,
                });
            }
        }
    }

    let table: Vec<[u64; 2]> = rows
        .iter()
        .filter(|r| r.exposures > 0)
        .map(|r| [r.preorders, r.exposures - r.preorders])
        .collect();
    let independence = if table.len() >= 2 {
        stats::chi_square_independence(&table)
            .ok()
            .map(|c| Independence {
                chi2: c.statistic,
                dof: c.dof,
                p_value: c.p_value,
            })
    } else {
        None
    };
    let non_core_preorders: u64 = rows.iter().filter(|r| !r.core).map(|r| r.preorders).sum();
    let all_preorders = tallies.total.preorders;
    let reach = Reach {
        independence,
        non_core_preorder_share: ratio(non_core_preorders, all_preorders),
        breakout_segments: rows
            .iter()
            .filter(|r| r.breakout)
            .map(|r| r.segment.clone())
            .collect(),
        breakout_confidence,
    };
    (rows, reach)
}

fn say_do(total: &Tally) -> SayDo {
    let conversion = |s: Sentiment| {
        let (responders, preorders) = total.by_sentiment(s);
        SentimentConversion {
            responders,
            preorders,
            rate: ratio(preorders, responders),
        }
    };
    let rest = total.responses() - total.love;
    let rest_paid = total.responders_paid() - total.love_paid;
    let fisher = stats::fisher_exact_2x2([
        [total.love_paid, total.love - total.love_paid],
        [rest_paid, rest - rest_paid],
    ])
    .ok();
    let positive = total.love + total.like;
    let positive_paid = total.love_paid + total.like_paid;
    let negative = total.neutral + total.dislike;
    let negative_paid = total.neutral_paid + total.dislike_paid;
    let table = [
        [positive_paid, positive - positive_paid],
        [negative_paid, negative - negative_paid],
    ];
    SayDo {
        by_sentiment: BySentiment {
            love: conversion(Sentiment::Love),
            like: conversion(Sentiment::Like),
            neutral: conversion(Sentiment::Neutral),
            dislike: conversion(Sentiment::Dislike),
        },
        lovers_vs_rest: LoversVsRest {
            p_value: fisher.map(|f| f.p_two_sided),
            odds_ratio: fisher.and_then(|f| f.odds_ratio),
        },
        mcnemar: SayDoGap {
            said_positive_not_paid: positive - positive_paid,
            paid_not_said_positive: negative_paid,
            p_value: (total.responses() > 0)
                .then(|| stats::mcnemar_exact(table).ok().map(|m| m.p_value))
                .flatten(),
        },
    }
}

fn variants(
    initiative: &Initiative,
    tallies: &Tallies,
    reading: &RateReading,
    confidence: f64,
) -> Vec<VariantReport> {
    let declared = initiative.variants.as_slice();
    let empty = Tally::default();
    let first = declared
        .first()
        .map(|v| tallies.by_variant.get(&v.key).unwrap_or(&empty));
    declared
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = tallies.by_variant.get(&v.key).unwrap_or(&empty);
            let vs_first = match first {
                Some(a) if i > 0 && a.exposures > 0 && t.exposures > 0 => {
                    Some(compare(a, t, confidence))
                }
                _ => None,
            };
            VariantReport {
                variant: v.key.to_string(),
                weight: v.weight,
                price_cents: initiative.price_for(&v.key).get(),
                exposures: t.exposures,
                preorders: t.preorders,
                rate: ratio(t.preorders, t.exposures),
                ci: reading.interval(t.preorders, t.exposures),
                revenue_per_exposure: mean_revenue(initiative, t),
                vs_first,
            }
        })
        .collect()
}

/// Variant `b` against the first variant `a` (both with exposures).
fn compare(a: &Tally, b: &Tally, confidence: f64) -> VsFirst {
    let newcombe = stats::newcombe_interval(
        a.preorders,
        a.exposures,
        b.preorders,
        b.exposures,
        confidence,
    )
    .ok();
    let welch = revenue_summary(a)
        .zip(revenue_summary(b))
        .and_then(|(sa, sb)| stats::welch_t_test(sa, sb, confidence).ok());
    VsFirst {
        diff: b.preorders as f64 / b.exposures as f64 - a.preorders as f64 / a.exposures as f64,
        ci: newcombe.map(|d| Range {
            low: d.lower,
            high: d.upper,
        }),
        p_value: stats::two_proportion_ztest(a.preorders, a.exposures, b.preorders, b.exposures)
            .ok()
            .map(|z| z.p_two_sided),
        prob_better: stats::prob_b_beats_a(
            a.preorders,
            a.exposures,
            b.preorders,
            b.exposures,
            PRIOR.0,
            PRIOR.1,
        )
        .ok(),
        revenue_diff: revenue_summary(a)
            .zip(revenue_summary(b))
            .map(|(sa, sb)| sb.mean - sa.mean),
        revenue_p_value: welch.map(|w| w.p_two_sided),
    }
}

fn price_curve(
    initiative: &Initiative,
    tallies: &Tallies,
    reading: &RateReading,
) -> (Option<Vec<PricePoint>>, Option<BestPrice>) {
    if !initiative.variants.is_price_test() {
        return (None, None);
    }
    let mut by_price: std::collections::BTreeMap<i64, Tally> = Default::default();
    for v in initiative.variants.as_slice() {
        let entry = by_price
            .entry(initiative.price_for(&v.key).get())
            .or_default();
        if let Some(t) = tallies.by_variant.get(&v.key) {
            entry.merge(t);
        }
    }
    let points: Vec<PricePoint> = by_price
        .iter()
        .map(|(price, t)| PricePoint {
            price_cents: *price,
            exposures: t.exposures,
            preorders: t.preorders,
            rate: ratio(t.preorders, t.exposures),
            ci: reading.interval(t.preorders, t.exposures),
            revenue_per_exposure: mean_revenue(initiative, t),
        })
        .collect();
    let arms: Vec<(u64, u64)> = by_price
        .values()
        .map(|t| (t.preorders, t.exposures))
        .collect();
    let prices: Vec<f64> = by_price.keys().map(|p| *p as f64).collect();
    // Seeded by the initiative, so the same data always gives the same figure.
    let mut rng = StdRng::seed_from_u64(initiative.id.cast_unsigned() ^ 0x0ffe_71ab);
    let best = if by_price.values().all(|t| t.exposures > 0) {
        stats::prob_best_weighted(&arms, &prices, PRIOR.0, PRIOR.1, PRICE_DRAWS, &mut rng)
            .ok()
            .and_then(|probs| {
                probs
                    .iter()
                    .zip(by_price.keys())
                    .max_by(|(a, _), (b, _)| a.prob.total_cmp(&b.prob))
                    .map(|(p, price)| BestPrice {
                        price_cents: *price,
                        prob_best: p.prob,
                        prob_best_std_error: p.std_error,
                    })
            })
    } else {
        None
    };
    (Some(points), best)
}

fn srm(initiative: &Initiative, tallies: &Tallies) -> Option<Srm> {
    let declared = initiative.variants.as_slice();
    if declared.is_empty() {
        return None;
    }
    let observed: Vec<u64> = declared
        .iter()
        .map(|v| tallies.by_variant.get(&v.key).map_or(0, |t| t.exposures))
        .collect();
    let weights: Vec<f64> = declared.iter().map(|v| v.weight).collect();
    stats::srm_chi_square(&observed, &weights)
        .ok()
        .map(|c| Srm {
            chi2: c.statistic,
            p_value: c.p_value,
            mismatch: c.p_value < SRM_ALPHA,
        })
}

fn timeline(daily: &[DailyCount], reading: &RateReading) -> Vec<TimelinePoint> {
    let mut exposures: i64 = 0;
    let mut preorders: i64 = 0;
    daily
        .iter()
        .map(|d| {
            exposures += d.exposures;
            preorders += d.preorders;
            let n = u64::try_from(exposures).unwrap_or(0);
            // Pre-orders dated before their exposure's day can run ahead briefly.
            let k = u64::try_from(preorders).unwrap_or(0).min(n);
            TimelinePoint {
                day: d.day,
                exposures: n,
                preorders: k,
                rate: ratio(k, n),
                ci: reading.interval(k, n),
            }
        })
        .collect()
}

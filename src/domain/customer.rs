//! One customer's state within one initiative, and how events move it.
//!
//! Aggregates are kept per cell (segment x variant x latest sentiment x pre-ordered).
//! Every accepted event moves its customer from at most one cell to another, so the
//! aggregates can be maintained exactly with a decrement and an increment.

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Cents, Currency, EventBody, PreorderFloors, PreorderKind, SegmentKey, Sentiment, VariantKey,
    Variants,
};

/// The aggregate cell a customer is counted in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub segment: SegmentKey,
    pub variant: VariantKey,
    pub sentiment: Option<Sentiment>,
    pub preordered: bool,
}

/// What one customer contributes to its cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellContribution {
    pub cell: CellKey,
    /// 1 when the customer has cancelled at least once.
    pub cancelled: i64,
    /// The customer's active committed amount.
    pub revenue_cents: i64,
    /// 1 when the customer has ever put money down (a deposit or a full pre-order).
    pub money_down: i64,
    /// 1 when the customer has paid in full (a `payment` event).
    pub paid: i64,
}

/// A customer of one initiative.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerState {
    pub segment: SegmentKey,
    pub variant: VariantKey,
    pub first_exposed_at: DateTime<Utc>,
    /// Sum of the active (not cancelled) pre-orders.
    pub active_cents: Cents,
    /// Whether the customer has ever cancelled.
    pub cancelled: bool,
    pub sentiment: Option<Sentiment>,
    pub sentiment_at: Option<DateTime<Utc>>,
    /// Whether the customer has ever put money down (a deposit or a full pre-order),
    /// withdrawn since or not.
    pub money_down: bool,
    /// Whether the customer has paid in full (a `payment` event).
    pub paid: bool,
}

impl CustomerState {
    pub fn is_preordered(&self) -> bool {
        self.active_cents.get() > 0
    }

    pub fn contribution(&self) -> CellContribution {
        CellContribution {
            cell: CellKey {
                segment: self.segment.clone(),
                variant: self.variant.clone(),
                sentiment: self.sentiment,
                preordered: self.is_preordered(),
            },
            cancelled: i64::from(self.cancelled),
            revenue_cents: self.active_cents.get(),
            money_down: i64::from(self.money_down),
            paid: i64::from(self.paid),
        }
    }
}

/// The initiative facts an event is checked against.
pub struct OfferContext<'a> {
    pub currency: Currency,
    pub variants: &'a Variants,
    /// The most a customer's active pre-orders may total (none: a free offer).
    pub max_active: Option<Cents>,
    /// The initiative's price (a variant without its own price is offered this one).
    pub price: Cents,
    /// The pre-registered floors of a pre-order's amount.
    pub floors: PreorderFloors,
    /// When the pilot was launched (`None`: not launched).
    pub launched_at: Option<DateTime<Utc>>,
    /// The pre-registered start of a backfill before the launch.
    pub backfill_from: Option<DateTime<Utc>>,
}

impl OfferContext<'_> {
    /// The price a customer in `variant` was offered.
    fn price_for(&self, variant: &VariantKey) -> Cents {
        self.variants
            .as_slice()
            .iter()
            .find(|v| &v.key == variant)
            .and_then(|v| v.price_cents)
            .unwrap_or(self.price)
    }

    /// Refuses an event dated before the launch, or before the pre-registered
    /// `backfill_from` when there is one.
    fn check_date(&self, occurred_at: DateTime<Utc>) -> Result<(), (&'static str, String)> {
        use chrono::SubsecRound;
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // Providers date their events in whole seconds (Stripe's `created`): an event of
        // the launch's own second counts.
        let launch = self.launched_at.map(|l| l.trunc_subsecs(0));
        match (self.backfill_from, launch) {
            (Some(from), _) if occurred_at < from => Err((
                "occurred_at",
                format!(
                    "must not be before the pre-registered backfill_from, {}{}",
                    at(from),
                    launch
                        .map(|l| format!(" (the pilot launched at {})", at(l)))
                        .unwrap_or_default()
                ),
            )),
            (None, Some(launch)) if occurred_at < launch => Err((
                "occurred_at",
                format!(
                    "must not be before the initiative's launch at {}; to accept earlier events, an initiative pre-registers criteria.backfill_from before it launches",
                    at(launch)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The smallest amount a pre-order of `kind` by a customer in `variant` counts with.
    fn floor(
        &self,
        kind: PreorderKind,
        variant: &VariantKey,
    ) -> Result<Cents, (&'static str, String)> {
        match kind {
            PreorderKind::Full => Ok(self
                .floors
                .full
                .unwrap_or_else(|| self.price_for(variant))),
            PreorderKind::Deposit => self.floors.deposit.ok_or_else(|| {
                (
                    "kind",
                    "the initiative pre-registered no deposit amount (criteria.min_preorder_cents.deposit), so it takes no deposits; send a full pre-order".to_owned(),
                )
            }),
        }
    }
}

/// The effect of one accepted event on its customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// A repeat of the first exposure: counted once, nothing changes.
    Unchanged,
    /// The customer moved (`before` is `None` for a first exposure).
    Moved {
        before: Option<CellContribution>,
        after: CustomerState,
        /// Change in "customers with an active pre-order", dated by the event, for the
        /// over-time series: +1 for a first active pre-order, -1 for a withdrawal.
        preordered_delta: i64,
    },
}

/// Dated change for the daily series.
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

/// Applies one event to a customer's state (`None`: never exposed).
///
/// Errors name the event field at fault and say why, e.g. `("customer_id", "no exposure ...")`.
///
/// Rules beyond the customer's history:
/// - every event is dated on or after the launch, or on or after the pre-registered
///   `backfill_from` when there is one (`occurred_at`);
/// - a pre-order is at least the floor of its kind (`amount_cents`): a `full` one the
///   price the customer was offered (or the pre-registered `full` floor), a `deposit` the
///   pre-registered deposit amount (without one, deposits are refused: `kind`);
/// - a `payment` (paid in full after the offer shipped) needs money down that is still
///   active (a deposit or a pre-order, not withdrawn), is recorded once per customer, and
///   with the active money down must reach the price the customer was offered. It marks
///   the customer paid; the committed amount (revenue figures) stays what was pre-ordered.
///   A later cancellation or refund withdraws the pre-order but not the payment's record.
pub fn apply(
    state: Option<&CustomerState>,
    body: &EventBody,
    occurred_at: DateTime<Utc>,
    offer: &OfferContext<'_>,
) -> Result<Transition, (&'static str, String)> {
    offer.check_date(occurred_at)?;
    let existing = match (state, body) {
        (None, EventBody::Exposure { segment, variant }) => {
            let variant = resolve_variant(variant.as_ref(), offer.variants)?;
            return Ok(Transition::Moved {
                before: None,
                after: CustomerState {
                    segment: segment.clone(),
                    variant,
                    first_exposed_at: occurred_at,
                    active_cents: Cents::ZERO,
                    cancelled: false,
                    sentiment: None,
                    sentiment_at: None,
                    money_down: false,
                    paid: false,
                },
                preordered_delta: 0,
            });
        }
        (None, _) => {
            return Err((
                "customer_id",
                "customer has no exposure to this initiative (send the exposure first, earlier in the batch or in an earlier batch)".into(),
            ));
        }
        (Some(s), _) => s,
    };
    let mut next = existing.clone();
    let mut preordered_delta = 0;
    match body {
        EventBody::Exposure { segment, variant } => {
            let variant = resolve_variant(variant.as_ref(), offer.variants)?;
            if segment != &existing.segment {
                return Err((
                    "segment",
                    format!(
                        "customer was first exposed in segment '{}'; a customer's segment cannot change",
                        existing.segment
                    ),
                ));
            }
            if variant != existing.variant {
                return Err((
                    "variant",
                    format!(
                        "customer was first exposed to variant '{}'; a customer's variant cannot change",
                        existing.variant
                    ),
                ));
            }
            return Ok(Transition::Unchanged);
        }
        EventBody::Preorder {
            amount,
            currency,
            kind,
        } => {
            if *currency != offer.currency {
                return Err((
                    "currency",
                    format!("must be the offer's currency, {}", offer.currency),
                ));
            }
            let floor = offer.floor(*kind, &existing.variant)?;
            if *amount < floor {
                return Err((
                    "amount_cents",
                    format!(
                        "must be at least {} {} for a {kind} pre-order",
                        offer.currency,
                        major(floor)
                    ),
                ));
            }
            next.money_down = true;
            next.active_cents = existing.active_cents.saturating_add(*amount);
            if let Some(max) = offer.max_active
                && next.active_cents > max
            {
                return Err((
                    "amount_cents",
                    format!(
                        "must keep the customer's active pre-orders at most {} times the highest offer price, {} {} ({} {} active before this one)",
                        super::initiative::MAX_UNITS_PER_CUSTOMER,
                        offer.currency,
                        major(max),
                        offer.currency,
                        major(existing.active_cents)
                    ),
                ));
            }
            if !existing.is_preordered() {
                preordered_delta = 1;
            }
        }
        EventBody::Cancellation => {
            if !existing.is_preordered() {
                return Err(("type", "customer has no active pre-order to cancel".into()));
            }
            next.active_cents = Cents::ZERO;
            next.cancelled = true;
            preordered_delta = -1;
        }
        EventBody::Refund { amount, currency } => {
            if *currency != offer.currency {
                return Err((
                    "currency",
                    format!("must be the offer's currency, {}", offer.currency),
                ));
            }
            if !existing.is_preordered() {
                return Err(("type", "customer has no active pre-order to refund".into()));
            }
            if *amount > existing.active_cents {
                return Err((
                    "amount_cents",
                    format!(
                        "must be at most the customer's active pre-orders, {} {}",
                        offer.currency,
                        major(existing.active_cents)
                    ),
                ));
            }
            next.active_cents = Cents::from_trusted(existing.active_cents.get() - amount.get());
            if !next.is_preordered() {
                // Everything given back: a withdrawal, as a cancellation.
                next.cancelled = true;
                preordered_delta = -1;
            }
        }
        EventBody::Payment { amount, currency } => {
            if *currency != offer.currency {
                return Err((
                    "currency",
                    format!("must be the offer's currency, {}", offer.currency),
                ));
            }
            if !existing.is_preordered() {
                return Err((
                    "type",
                    "customer has no money down to pay for: a payment follows an active deposit or pre-order".into(),
                ));
            }
            if existing.paid {
                return Err((
                    "type",
                    "customer has already paid in full; a payment is recorded once per customer (re-send the same event_id to retry)".into(),
                ));
            }
            let price = offer.price_for(&existing.variant);
            if existing.active_cents.saturating_add(*amount) < price {
                return Err((
                    "amount_cents",
                    format!(
                        "together with the customer's money down ({} {}) must reach the price offered, {} {}",
                        offer.currency,
                        major(existing.active_cents),
                        offer.currency,
                        major(price)
                    ),
                ));
            }
            next.paid = true;
        }
        EventBody::Response { sentiment } => {
            // Latest by occurred_at wins; on a tie, the later arrival (this one) wins.
            if existing.sentiment_at.is_some_and(|t| occurred_at < t) {
                return Ok(Transition::Unchanged);
            }
            next.sentiment = Some(*sentiment);
            next.sentiment_at = Some(occurred_at);
        }
    }
    Ok(Transition::Moved {
        before: Some(existing.contribution()),
        after: next,
        preordered_delta,
    })
}

/// Cents as major units with two decimals, e.g. `190.00`.
fn major(c: Cents) -> String {
    let v = c.get();
    format!("{}.{:02}", v / 100, v % 100)
}

fn resolve_variant(
    given: Option<&VariantKey>,
    variants: &Variants,
) -> Result<VariantKey, (&'static str, String)> {
    match (given, variants.is_empty()) {
        (None, true) => Ok(VariantKey::implicit()),
        (Some(_), true) => Err((
            "variant",
            "initiative declares no variants; omit the field".into(),
        )),
        (None, false) => Err((
            "variant",
            "required: the initiative declares variants".into(),
        )),
        (Some(v), false) if variants.contains(v) => Ok(v.clone()),
        (Some(v), false) => Err((
            "variant",
            format!(
                "unknown variant '{v}'; declared: {}",
                variants
                    .keys()
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ctx(v: &Variants) -> OfferContext<'_> {
        OfferContext {
            currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
            variants: v,
            max_active: Some(Cents::from_trusted(19_000)),
            price: Cents::from_trusted(500),
            floors: PreorderFloors::default(),
            launched_at: None,
            backfill_from: None,
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    fn seg(s: &str) -> SegmentKey {
        SegmentKey::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn lifecycle_of_a_customer() {
        let v = Variants::default();
        let c = ctx(&v);
        let exposure = EventBody::Exposure {
            segment: seg("smb"),
            variant: None,
        };
        let Ok(Transition::Moved { after, .. }) = apply(None, &exposure, t(0), &c) else {
            panic!("first exposure must move");
        };
        assert_eq!(
            apply(Some(&after), &exposure, t(1), &c),
            Ok(Transition::Unchanged)
        );
        let other = EventBody::Exposure {
            segment: seg("students"),
            variant: None,
        };
        assert!(apply(Some(&after), &other, t(1), &c).is_err());
        let pre = EventBody::Preorder {
            amount: Cents::amount(500).unwrap_or(Cents::ZERO),
            currency: c.currency,
            kind: PreorderKind::Full,
        };
        let Ok(Transition::Moved {
            after: a2,
            preordered_delta: 1,
            ..
        }) = apply(Some(&after), &pre, t(2), &c)
        else {
            panic!("pre-order must move");
        };
        let Ok(Transition::Moved {
            after: a3,
            preordered_delta: 0,
            ..
        }) = apply(Some(&a2), &pre, t(3), &c)
        else {
            panic!("second pre-order adds up");
        };
        assert_eq!(a3.active_cents.get(), 1000);
        let Ok(Transition::Moved {
            after: a4,
            preordered_delta: -1,
            ..
        }) = apply(Some(&a3), &EventBody::Cancellation, t(4), &c)
        else {
            panic!("cancellation withdraws");
        };
        assert!(!a4.is_preordered() && a4.cancelled);
        assert!(apply(Some(&a4), &EventBody::Cancellation, t(5), &c).is_err());
    }

    #[test]
    fn a_refund_lowers_the_amount_and_a_full_one_withdraws() {
        let v = Variants::default();
        let c = ctx(&v);
        let exposure = EventBody::Exposure {
            segment: seg("smb"),
            variant: None,
        };
        let Ok(Transition::Moved { after, .. }) = apply(None, &exposure, t(0), &c) else {
            panic!("first exposure must move");
        };
        let cents = |v| Cents::amount(v).unwrap_or(Cents::ZERO);
        let refund = |v| EventBody::Refund {
            amount: cents(v),
            currency: c.currency,
        };
        assert!(apply(Some(&after), &refund(100), t(1), &c).is_err());
        let pre = EventBody::Preorder {
            amount: cents(1900),
            currency: c.currency,
            kind: PreorderKind::Full,
        };
        let Ok(Transition::Moved { after: paid, .. }) = apply(Some(&after), &pre, t(1), &c) else {
            panic!("pre-order must move");
        };
        let Ok(Transition::Moved {
            after: lowered,
            preordered_delta: 0,
            ..
        }) = apply(Some(&paid), &refund(400), t(2), &c)
        else {
            panic!("a partial refund lowers the amount");
        };
        assert_eq!(lowered.active_cents.get(), 1500);
        assert!(!lowered.cancelled);
        assert!(matches!(
            apply(Some(&lowered), &refund(1501), t(3), &c),
            Err(("amount_cents", _))
        ));
        let Ok(Transition::Moved {
            after: gone,
            preordered_delta: -1,
            ..
        }) = apply(Some(&lowered), &refund(1500), t(3), &c)
        else {
            panic!("refunding the rest withdraws");
        };
        assert!(!gone.is_preordered() && gone.cancelled);
    }

    #[test]
    fn latest_sentiment_wins_and_ties_go_to_later_arrival() {
        let v = Variants::default();
        let c = ctx(&v);
        let mut s = CustomerState {
            segment: seg("smb"),
            variant: VariantKey::implicit(),
            first_exposed_at: t(0),
            active_cents: Cents::ZERO,
            cancelled: false,
            sentiment: Some(Sentiment::Like),
            sentiment_at: Some(t(10)),
            money_down: false,
            paid: false,
        };
        let love = EventBody::Response {
            sentiment: Sentiment::Love,
        };
        assert_eq!(apply(Some(&s), &love, t(9), &c), Ok(Transition::Unchanged));
        if let Ok(Transition::Moved { after, .. }) = apply(Some(&s), &love, t(10), &c) {
            s = after;
        }
        assert_eq!(s.sentiment, Some(Sentiment::Love));
    }

    #[test]
    fn active_preorders_stop_at_the_bound() {
        let v = Variants::default();
        let c = ctx(&v);
        let exposure = EventBody::Exposure {
            segment: seg("smb"),
            variant: None,
        };
        let Ok(Transition::Moved { after, .. }) = apply(None, &exposure, t(0), &c) else {
            panic!("first exposure must move");
        };
        let pre = |cents| EventBody::Preorder {
            amount: Cents::amount(cents).unwrap_or(Cents::ZERO),
            currency: c.currency,
            kind: PreorderKind::Full,
        };
        let Ok(Transition::Moved { after: full, .. }) = apply(Some(&after), &pre(19_000), t(1), &c)
        else {
            panic!("a pre-order up to the bound is accepted");
        };
        let refused = apply(Some(&full), &pre(500), t(2), &c);
        assert!(
            matches!(&refused, Err(("amount_cents", r)) if r.contains("EUR 190.00")),
            "{refused:?}"
        );
        assert!(apply(Some(&after), &pre(19_001), t(1), &c).is_err());
        let free = OfferContext {
            max_active: None,
            price: Cents::ZERO,
            ..ctx(&v)
        };
        assert!(apply(Some(&full), &pre(1), t(2), &free).is_ok());
    }

    fn exposed(c: &OfferContext<'_>) -> CustomerState {
        let exposure = EventBody::Exposure {
            segment: seg("smb"),
            variant: None,
        };
        match apply(None, &exposure, t(0), c) {
            Ok(Transition::Moved { after, .. }) => after,
            other => panic!("first exposure must move: {other:?}"),
        }
    }

    fn preorder(cents: i64, kind: PreorderKind) -> EventBody {
        EventBody::Preorder {
            amount: Cents::amount(cents).unwrap_or(Cents::ZERO),
            currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
            kind,
        }
    }

    fn moved(r: Result<Transition, (&'static str, String)>) -> CustomerState {
        match r {
            Ok(Transition::Moved { after, .. }) => after,
            other => panic!("expected a move: {other:?}"),
        }
    }

    #[test]
    fn a_preorder_below_the_floor_of_its_kind_is_refused() {
        let v = Variants::default();
        let mut c = ctx(&v);
        let s = exposed(&c);
        // Full: the offer price by default.
        let below = apply(Some(&s), &preorder(499, PreorderKind::Full), t(1), &c);
        assert!(
            matches!(&below, Err(("amount_cents", r)) if r == "must be at least EUR 5.00 for a full pre-order"),
            "{below:?}"
        );
        assert!(
            moved(apply(
                Some(&s),
                &preorder(500, PreorderKind::Full),
                t(1),
                &c
            ))
            .money_down
        );
        // Deposits: refused until a deposit is pre-registered, then floored by it.
        assert!(matches!(
            apply(Some(&s), &preorder(500, PreorderKind::Deposit), t(1), &c),
            Err(("kind", _))
        ));
        c.floors.deposit = Some(Cents::from_trusted(100));
        let below = apply(Some(&s), &preorder(99, PreorderKind::Deposit), t(1), &c);
        assert!(
            matches!(&below, Err(("amount_cents", r)) if r.contains("EUR 1.00 for a deposit pre-order")),
            "{below:?}"
        );
        assert!(apply(Some(&s), &preorder(100, PreorderKind::Deposit), t(1), &c).is_ok());
        // An explicit full floor replaces the price.
        c.floors.full = Some(Cents::from_trusted(300));
        assert!(apply(Some(&s), &preorder(300, PreorderKind::Full), t(1), &c).is_ok());
        assert!(apply(Some(&s), &preorder(299, PreorderKind::Full), t(1), &c).is_err());
    }

    #[test]
    fn a_payment_needs_money_down_and_counts_once() {
        let v = Variants::default();
        let mut c = ctx(&v);
        c.floors.deposit = Some(Cents::from_trusted(100));
        let s = exposed(&c);
        let pay = |cents| EventBody::Payment {
            amount: Cents::amount(cents).unwrap_or(Cents::ZERO),
            currency: c.currency,
        };
        assert!(matches!(
            apply(Some(&s), &pay(500), t(1), &c),
            Err(("type", _))
        ));
        let down = moved(apply(
            Some(&s),
            &preorder(100, PreorderKind::Deposit),
            t(1),
            &c,
        ));
        // With the deposit it must reach the price (5.00).
        assert!(matches!(
            apply(Some(&down), &pay(399), t(2), &c),
            Err(("amount_cents", _))
        ));
        let paid = moved(apply(Some(&down), &pay(400), t(2), &c));
        assert!(paid.paid && paid.money_down);
        assert_eq!(
            paid.active_cents.get(),
            100,
            "revenue stays what was committed"
        );
        assert_eq!(paid.contribution().paid, 1);
        assert!(matches!(
            apply(Some(&paid), &pay(400), t(3), &c),
            Err(("type", _))
        ));
        // A withdrawn deposit is money down no more: no payment follows it.
        let gone = moved(apply(Some(&down), &EventBody::Cancellation, t(2), &c));
        assert!(gone.money_down && !gone.paid);
        assert!(apply(Some(&gone), &pay(500), t(3), &c).is_err());
    }

    #[test]
    fn events_before_the_launch_need_a_backfill() {
        let v = Variants::default();
        let mut c = ctx(&v);
        c.launched_at = Some(t(100));
        let early = apply(
            None,
            &EventBody::Exposure {
                segment: seg("smb"),
                variant: None,
            },
            t(99),
            &c,
        );
        assert!(
            matches!(&early, Err(("occurred_at", r)) if r.contains("launch") && r.contains("backfill_from")),
            "{early:?}"
        );
        assert!(
            apply(
                None,
                &EventBody::Exposure {
                    segment: seg("smb"),
                    variant: None
                },
                t(100),
                &c
            )
            .is_ok()
        );
        c.backfill_from = Some(t(50));
        assert!(
            apply(
                None,
                &EventBody::Exposure {
                    segment: seg("smb"),
                    variant: None
                },
                t(50),
                &c
            )
            .is_ok()
        );
        let before = apply(
            None,
            &EventBody::Exposure {
                segment: seg("smb"),
                variant: None,
            },
            t(49),
            &c,
        );
        assert!(
            matches!(&before, Err(("occurred_at", r)) if r.contains("backfill_from")),
            "{before:?}"
        );
    }
}

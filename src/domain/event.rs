//! What happened to a customer during a pilot.

use chrono::{DateTime, Utc};

use super::initiative::text_enum;
use super::{Cents, Currency, CustomerId, EventId, SegmentKey, VariantKey};

text_enum!(
    /// A customer's stated sentiment about the offer.
    Sentiment { Love => "love", Like => "like", Neutral => "neutral", Dislike => "dislike" }
);

text_enum!(
    /// What a pre-order is: money down towards the offer (`deposit`) or its whole price
    /// (`full`). Each kind has its own pre-registered floor (`Criteria::min_preorder`).
    PreorderKind { Deposit => "deposit", Full => "full" }
);

impl Sentiment {
    /// Love or like: the customer said something positive.
    pub fn is_positive(self) -> bool {
        matches!(self, Sentiment::Love | Sentiment::Like)
    }
}

/// The type-specific part of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// The customer was shown the offer. `variant` is required when the initiative has variants.
    Exposure {
        segment: SegmentKey,
        variant: Option<VariantKey>,
    },
    /// The customer committed money: a deposit or the full price.
    Preorder {
        amount: Cents,
        currency: Currency,
        kind: PreorderKind,
    },
    /// The customer withdrew every active pre-order.
    Cancellation,
    /// Part of the customer's active pre-orders was given back (a partial refund): the
    /// active amount drops by `amount`. Giving back all of it withdraws the pre-order,
    /// as a cancellation does.
    Refund { amount: Cents, currency: Currency },
    /// The customer said how they feel about the offer.
    Response { sentiment: Sentiment },
    /// The customer paid in full after the offer shipped (the rules are in
    /// [`super::customer::apply`]).
    Payment { amount: Cents, currency: Currency },
}

text_enum!(
    /// What an event records: its `type` as sent and as stored.
    EventKind {
        Exposure => "exposure",
        Preorder => "preorder",
        Cancellation => "cancellation",
        Refund => "refund",
        Response => "response",
        Payment => "payment",
    }
);

impl EventBody {
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::Exposure { .. } => EventKind::Exposure,
            EventBody::Preorder { .. } => EventKind::Preorder,
            EventBody::Cancellation => EventKind::Cancellation,
            EventBody::Refund { .. } => EventKind::Refund,
            EventBody::Response { .. } => EventKind::Response,
            EventBody::Payment { .. } => EventKind::Payment,
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// One parsed event. Whether it fits the initiative and the customer's history is
/// decided by [`super::customer::apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: EventId,
    pub customer: CustomerId,
    pub occurred_at: DateTime<Utc>,
    pub body: EventBody,
}

/// How far in the future an `occurred_at` may be (clock skew between client and server).
pub const MAX_FUTURE_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Parses `occurred_at`: RFC 3339, not more than [`MAX_FUTURE_SKEW`] after `now`.
pub fn parse_occurred_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|_| "must be an RFC 3339 timestamp such as 2026-11-25T09:30:00Z".to_owned())?
        .with_timezone(&Utc);
    if t > now + MAX_FUTURE_SKEW {
        return Err("must not be more than 5 minutes in the future".into());
    }
    Ok(t)
}

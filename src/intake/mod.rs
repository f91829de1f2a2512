//! Intake: what payment and survey tools send, turned into offerlab events.
//!
//! A provider's webhook is verified ([`signature`]), read ([`stripe`], [`survey`]) into
//! at most one customer event (a pre-order, refund, cancellation or response) and then
//! *placed* ([`place`]): the initiative must exist and run, the customer must have an
//! exposure (or the payload names the segment to record one in). A placed event goes
//! through the very ingest path of `POST /api/v1/initiatives/{key}/events` (exact,
//! idempotent, all-or-nothing) under an event id derived from the provider's id, so a
//! provider's retries count once. A signed payload that cannot be placed is kept in the
//! inbox (`store::inbox`) with the reason, and replayed from there once fixed.

pub mod signature;
pub mod stripe;
pub mod survey;

use chrono::{DateTime, Utc};

use crate::domain::{CustomerId, Event, EventBody, EventId, InitiativeKey, SegmentKey, Status};
use crate::store::ingest::{IngestBatch, IngestError};
use crate::store::{DbConn, StoreError, initiatives, surveys};

pub use crate::domain::provider::Provider;

/// One customer event a payload asks for (a pre-order, refund or response), before it
/// is placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// As named by the payload; checked when placed.
    pub initiative: String,
    pub customer: String,
    /// Where to record the exposure if the customer has none yet.
    pub segment: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// The event id of the event (`stripe:...`, `typeform:...`, `form:...`); the
    /// exposure recorded with it gets this id with `:exposure` appended.
    pub event_id: String,
    pub body: EventBody,
    /// Whether `occurred_at` is compared with an event stored under the same id (false
    /// when two provider events stand for one fact at slightly different times).
    pub compare_time: bool,
}

/// What a payload means.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// An event type offerlab does not handle: acknowledged, counted, not stored.
    Ignored,
    /// An event to place.
    Event(Request),
    /// A signed payload offerlab cannot read into an event; kept in the inbox.
    Unplaceable {
        reason: String,
        initiative: Option<String>,
    },
}

/// A payload's identity, known even when it cannot be placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The provider's id of the delivery (Stripe event id, Typeform event id, form id);
    /// `sha256:<hex of the body>` when the payload carries none.
    pub external_id: String,
    /// The provider's event type (`checkout.session.completed`, `form_response`, `form`).
    pub kind: String,
}

/// Reads a verified payload. Typeform answers need the initiative's mapping, so this
/// reads the store.
pub fn read(
    conn: &mut DbConn,
    provider: Provider,
    payload: &[u8],
) -> Result<(Envelope, Reading), StoreError> {
    match provider {
        Provider::Stripe => Ok(stripe::read(payload)),
        Provider::Typeform => survey::read_typeform(conn, payload),
        Provider::Form => survey::read_form(conn, payload),
    }
}

/// Why an event cannot be placed (yet), in words for the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaceable(pub String);

/// Checks a request against the store and builds the ingest batch for it: the exposure
/// first when the customer has none.
pub fn place(
    conn: &mut DbConn,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Result<IngestBatch, Unplaceable>, StoreError> {
    let no = |s: String| Ok(Err(Unplaceable(s)));
    let Ok(key) = InitiativeKey::parse(request.initiative.as_str()) else {
        return no(format!("'{}' is not an initiative key", request.initiative));
    };
    let initiative = match initiatives::get(conn, &key) {
        Ok(i) => i,
        Err(StoreError::NotFound(_)) => {
            return no(format!("unknown initiative '{key}'"));
        }
        Err(e) => return Err(e),
    };
    if let EventBody::Preorder { currency, .. }
    | EventBody::Refund { currency, .. }
    | EventBody::Payment { currency, .. } = &request.body
        && *currency != initiative.currency
    {
        return no(format!(
            "the payment is in {currency}; initiative '{key}' is priced in {}",
            initiative.currency
        ));
    }
    if initiative.status != Status::Running {
        return no(format!(
            "initiative '{key}' is {}; events are accepted only while it is running",
            initiative.status
        ));
    }
    let Ok(customer) = CustomerId::parse(request.customer.clone()) else {
        return no(format!("'{}' is not a customer id", request.customer));
    };
    let event_id = |suffix: &str| EventId::parse(format!("{}{suffix}", request.event_id));
    let (Ok(main_id), Ok(exposure_id)) = (event_id(""), event_id(":exposure")) else {
        return no(format!(
            "the derived event id '{}' is not a valid event id",
            request.event_id
        ));
    };
    let mut events = Vec::with_capacity(2);
    if surveys::exposed_segment(conn, initiative.id, customer.as_str())?.is_none() {
        let Some(segment) = &request.segment else {
            return no(format!(
                "customer '{customer}' has no exposure to '{key}' and the payload names no segment to record one in"
            ));
        };
        let Ok(segment) = SegmentKey::parse(segment.clone()) else {
            return no(format!("'{segment}' is not a segment key"));
        };
        let variant = (!initiative.variants.is_empty())
            .then(|| initiative.variants.assign(&key, customer.as_str()));
        events.push(Event {
            event_id: exposure_id,
            customer: customer.clone(),
            occurred_at: request.occurred_at,
            body: EventBody::Exposure { segment, variant },
        });
    }
    events.push(Event {
        event_id: main_id,
        customer,
        occurred_at: request.occurred_at,
        body: request.body.clone(),
    });
    let mut batch = IngestBatch::new(key, events, now);
    batch.occurred_at_given = vec![request.compare_time; batch.events.len()];
    Ok(Ok(batch))
}

/// Whether an ingest refusal is about the event (kept in the inbox, with this reason)
/// rather than the database (answered 503, so the provider retries).
pub fn refusal_reason(error: &IngestError) -> Option<String> {
    match error {
        IngestError::NotFound(key) => Some(format!("unknown initiative '{key}'")),
        e @ IngestError::NotRunning(_) => Some(e.to_string()),
        IngestError::Invalid(errors) | IngestError::IdConflict(errors) => Some(
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        IngestError::Storage(_) | IngestError::Closed | IngestError::TimedOut(_) => None,
    }
}

/// `sha256:<hex>` of a body: the id of a payload that names none.
pub fn body_id(payload: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(payload)))
}

/// A payload read and placed, ready to submit or not.
#[derive(Debug)]
pub enum Prepared {
    /// An event type offerlab does not handle.
    Ignored,
    /// Kept in the inbox with this reason.
    Unplaceable {
        reason: String,
        initiative: Option<String>,
    },
    /// The batch to submit to the ingest path.
    Ready(IngestBatch),
}

/// Reads and places a verified payload.
pub fn prepare(
    conn: &mut DbConn,
    provider: Provider,
    payload: &[u8],
    now: DateTime<Utc>,
) -> Result<(Envelope, Prepared), StoreError> {
    let (envelope, reading) = read(conn, provider, payload)?;
    let prepared = match reading {
        Reading::Ignored => Prepared::Ignored,
        Reading::Unplaceable { reason, initiative } => Prepared::Unplaceable { reason, initiative },
        Reading::Event(request) => match place(conn, &request, now)? {
            Ok(batch) => Prepared::Ready(batch),
            Err(Unplaceable(reason)) => Prepared::Unplaceable {
                reason,
                initiative: Some(request.initiative),
            },
        },
    };
    Ok((envelope, prepared))
}

/// Counters of what each provider sent, for `/metrics`.
#[derive(Debug, Default)]
pub struct IntakeStats {
    /// By provider (index of [`Provider::ALL`]).
    pub stored: [std::sync::atomic::AtomicU64; 3],
    pub ignored: [std::sync::atomic::AtomicU64; 3],
    pub inboxed: [std::sync::atomic::AtomicU64; 3],
    pub bad_signature: [std::sync::atomic::AtomicU64; 3],
}

impl IntakeStats {
    pub fn count(counters: &[std::sync::atomic::AtomicU64; 3], provider: Provider) {
        let i = Provider::ALL
            .iter()
            .position(|p| *p == provider)
            .unwrap_or(0);
        if let Some(c) = counters.get(i) {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

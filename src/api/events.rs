//! `/api/v1/initiatives/{key}/events`, `/assignments` and `/summary`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, JsonOrCsv, PathKey};
use super::{AppState, blocking, reading};
use crate::domain::event::parse_occurred_at;
use crate::domain::{
    Cents, Currency, CustomerId, Event, EventBody, EventId, FieldError, FieldErrors, InitiativeKey,
    PreorderKind, SegmentKey, Sentiment, VariantKey,
};
use crate::store::ingest::{IngestBatch, IngestOutcome};
use crate::store::{aggregates, events, initiatives};

/// One event as sent by a client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Client-chosen id, unique per initiative: re-sending the same event under it
    /// stores nothing new (a duplicate); a different event under a used id is refused
    /// (409, `event-id-conflict`). `occurred_at` is compared only when given.
    pub event_id: String,
    /// `exposure`, `preorder`, `cancellation`, `refund` (part of the active pre-orders
    /// given back; all of it withdraws the pre-order), `response` or `payment` (paid in
    /// full after the offer shipped).
    #[serde(rename = "type")]
    pub event_type: String,
    pub customer_id: String,
    /// RFC 3339; defaults to now; at most 5 minutes in the future.
    pub occurred_at: Option<String>,
    /// exposure: the customer's segment (must exist).
    pub segment: Option<String>,
    /// exposure: the variant shown (required when the initiative has variants).
    pub variant: Option<String>,
    /// preorder: amount committed, in cents, at least the floor of its kind; refund:
    /// amount given back, > 0 and at most the customer's active pre-orders; payment:
    /// amount paid, > 0.
    pub amount_cents: Option<i64>,
    /// preorder, refund, payment: must be the offer's currency.
    pub currency: Option<String>,
    /// response: `love`, `like`, `neutral` or `dislike`.
    pub sentiment: Option<String>,
    /// preorder: `deposit` or `full` (default `full`).
    pub kind: Option<String>,
}

/// What happened, as the `type` of an event.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Exposure,
    Preorder,
    Cancellation,
    Refund,
    Response,
    Payment,
}

/// Fields every event has (documentation of [`EventInput`]'s shapes).
macro_rules! event_doc {
    ($(#[$doc:meta])* $name:ident, $tag:ident :: $variant:ident { $($fields:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Client-chosen id, unique per initiative: re-sending the same event under it
            /// stores nothing new (a duplicate); a different event under a used id is
            /// refused (409, `event-id-conflict`).
            #[schema(example = "evt-2026-11-25-000123", pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$", min_length = 1, max_length = 128)]
            pub event_id: String,
            #[serde(rename = "type")]
            #[schema(inline)]
            pub event_type: $tag,
            /// The customer, as the client identifies them.
            #[schema(example = "cus_4812", pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$", min_length = 1, max_length = 128)]
            pub customer_id: String,
            /// When it happened (RFC 3339); defaults to now; at most 5 minutes in the
            /// future. Compared for duplicates only when given.
            #[schema(example = "2026-11-25T09:30:00Z")]
            pub occurred_at: Option<DateTime<Utc>>,
            $($fields)*
        }

        /// The event's type.
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $tag {
            $variant,
        }
    };
}

event_doc!(
    /// A customer was shown the offer.
    ExposureEvent, ExposureTag::Exposure {
        /// The customer's segment (must exist).
        #[schema(example = "smb", pattern = "^[a-z0-9][a-z0-9_-]*$", min_length = 1, max_length = 64)]
        pub segment: String,
        /// The variant shown (required when the initiative has variants).
        #[schema(example = "a", pattern = "^[a-z0-9][a-z0-9_-]*$", min_length = 1, max_length = 64)]
        pub variant: Option<String>,
    }
);

event_doc!(
    /// A customer pre-ordered (committed to pay).
    PreorderEvent, PreorderTag::Preorder {
        /// Amount committed, in cents: at least the floor of its kind
        /// (`criteria.min_preorder_cents`: by default the offer price for a `full`
        /// pre-order; the pre-registered deposit for a `deposit`), else 422.
        #[schema(example = 1900, minimum = 1, maximum = 100_000_000_000_i64)]
        pub amount_cents: i64,
        /// Must be the offer's currency (ISO 4217).
        #[schema(example = "EUR", pattern = "^[A-Z]{3}$", min_length = 3, max_length = 3)]
        pub currency: String,
        /// Money down towards the offer (`deposit`) or its whole price (`full`, the
        /// default).
        pub kind: Option<PreorderKind>,
    }
);

event_doc!(
    /// A customer paid in full after the offer shipped. Needs money down that is still
    /// active (a deposit or a pre-order), else 422; recorded once per customer; with the
    /// money down it must reach the price the customer was offered.
    PaymentEvent, PaymentTag::Payment {
        /// Amount paid, in cents.
        #[schema(example = 1400, minimum = 1, maximum = 100_000_000_000_i64)]
        pub amount_cents: i64,
        /// Must be the offer's currency (ISO 4217).
        #[schema(example = "EUR", pattern = "^[A-Z]{3}$", min_length = 3, max_length = 3)]
        pub currency: String,
    }
);

event_doc!(
    /// A customer cancelled their pre-order.
    CancellationEvent, CancellationTag::Cancellation {}
);

event_doc!(
    /// A customer said how they feel about the offer.
    ResponseEvent, ResponseTag::Response {
        pub sentiment: Sentiment,
    }
);

/// One event, by `type` (the shapes [`EventInput`] accepts).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "type", mapping(
    ("exposure" = "#/components/schemas/ExposureEvent"),
    ("preorder" = "#/components/schemas/PreorderEvent"),
    ("cancellation" = "#/components/schemas/CancellationEvent"),
    ("response" = "#/components/schemas/ResponseEvent"),
    ("payment" = "#/components/schemas/PaymentEvent"),
)))]
pub enum AnyEvent {
    Exposure(ExposureEvent),
    Preorder(PreorderEvent),
    Cancellation(CancellationEvent),
    Response(ResponseEvent),
    Payment(PaymentEvent),
}

/// A batch of 1 to 10,000 events, stored all-or-nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": [
    {"event_id": "e1", "type": "exposure", "customer_id": "c-1", "segment": "smb"},
    {"event_id": "e2", "type": "response", "customer_id": "c-1", "sentiment": "love"},
    {"event_id": "e3", "type": "preorder", "customer_id": "c-1", "amount_cents": 1900, "currency": "EUR", "occurred_at": "2026-11-25T09:30:00Z"},
    {"event_id": "e4", "type": "cancellation", "customer_id": "c-1"}
]}))]
pub struct EventBatchInput {
    /// Kept raw so each event is parsed on its own and every bad one is reported.
    #[schema(value_type = Vec<AnyEvent>, min_items = 1, max_items = 10000)]
    pub events: Vec<Box<serde_json::value::RawValue>>,
}

/// A customer to assign to a variant (and record as exposed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "c-3", "segment": "smb"}))]
pub struct AssignmentInput {
    #[schema(
        example = "cus_4812",
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
        min_length = 1,
        max_length = 128
    )]
    pub customer_id: String,
    /// The customer's segment (must exist).
    #[schema(
        example = "smb",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub segment: String,
    /// When the customer was shown the offer (RFC 3339, at most 5 minutes in the
    /// future); defaults to now.
    #[schema(value_type = Option<DateTime<Utc>>, example = "2026-11-25T09:30:00Z")]
    pub occurred_at: Option<String>,
}

/// The variant a customer is in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"customer_id": "c-3", "segment": "smb", "variant": "a", "price_cents": 1900, "currency": "EUR", "recorded": true}))]
pub struct AssignmentView {
    pub customer_id: String,
    pub segment: String,
    pub variant: String,
    /// The price this customer is offered.
    pub price_cents: i64,
    pub currency: String,
    /// Whether this call recorded the exposure (false: it was recorded before).
    pub recorded: bool,
}

fn expect_absent<T>(errors: &mut FieldErrors, field: &str, value: &Option<T>, event_type: &str) {
    if value.is_some() {
        errors.push(field, format!("not allowed for a {event_type} event"));
    }
}

fn require<T>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<T>,
    event_type: &str,
) -> Option<T> {
    if value.is_none() {
        errors.push(field, format!("required for a {event_type} event"));
    }
    value
}

impl EventInput {
    /// Parses one event; field names in errors are relative to the event.
    pub fn parse(self, now: DateTime<Utc>) -> Result<Event, FieldErrors> {
        let mut errors = FieldErrors::default();
        let event_id = errors.take("event_id", EventId::parse(self.event_id));
        let customer = errors.take("customer_id", CustomerId::parse(self.customer_id));
        let occurred_at = match &self.occurred_at {
            Some(t) => errors.take("occurred_at", parse_occurred_at(t, now)),
            None => Some(now),
        };
        let t = self.event_type.as_str();
        let body = match t {
            "exposure" => {
                expect_absent(&mut errors, "amount_cents", &self.amount_cents, t);
                expect_absent(&mut errors, "currency", &self.currency, t);
                expect_absent(&mut errors, "sentiment", &self.sentiment, t);
                expect_absent(&mut errors, "kind", &self.kind, t);
                let segment = require(&mut errors, "segment", self.segment, t)
                    .and_then(|s| errors.take("segment", SegmentKey::parse(s)));
                let variant = match self.variant {
                    Some(v) => errors.take("variant", VariantKey::parse(v)).map(Some),
                    None => Some(None),
                };
                segment
                    .zip(variant)
                    .map(|(segment, variant)| EventBody::Exposure { segment, variant })
            }
            "preorder" => {
                expect_absent(&mut errors, "segment", &self.segment, t);
                expect_absent(&mut errors, "variant", &self.variant, t);
                expect_absent(&mut errors, "sentiment", &self.sentiment, t);
                let amount = require(&mut errors, "amount_cents", self.amount_cents, t)
                    .and_then(|a| errors.take("amount_cents", Cents::amount(a)));
                let currency = require(&mut errors, "currency", self.currency, t)
                    .and_then(|c| errors.take("currency", Currency::parse(&c)));
                let kind = match self.kind {
                    Some(k) => errors.take("kind", PreorderKind::parse(&k)),
                    None => Some(PreorderKind::Full),
                };
                amount
                    .zip(currency)
                    .zip(kind)
                    .map(|((amount, currency), kind)| EventBody::Preorder {
                        amount,
                        currency,
                        kind,
                    })
            }
            "payment" => {
                expect_absent(&mut errors, "segment", &self.segment, t);
                expect_absent(&mut errors, "variant", &self.variant, t);
                expect_absent(&mut errors, "sentiment", &self.sentiment, t);
                expect_absent(&mut errors, "kind", &self.kind, t);
                let amount = require(&mut errors, "amount_cents", self.amount_cents, t)
                    .and_then(|a| errors.take("amount_cents", Cents::amount(a)));
                let currency = require(&mut errors, "currency", self.currency, t)
                    .and_then(|c| errors.take("currency", Currency::parse(&c)));
                amount
                    .zip(currency)
                    .map(|(amount, currency)| EventBody::Payment { amount, currency })
            }
            "refund" => {
                expect_absent(&mut errors, "segment", &self.segment, t);
                expect_absent(&mut errors, "variant", &self.variant, t);
                expect_absent(&mut errors, "sentiment", &self.sentiment, t);
                expect_absent(&mut errors, "kind", &self.kind, t);
                let amount = require(&mut errors, "amount_cents", self.amount_cents, t)
                    .and_then(|a| errors.take("amount_cents", Cents::amount(a)));
                let currency = require(&mut errors, "currency", self.currency, t)
                    .and_then(|c| errors.take("currency", Currency::parse(&c)));
                amount
                    .zip(currency)
                    .map(|(amount, currency)| EventBody::Refund { amount, currency })
            }
            "cancellation" => {
                expect_absent(&mut errors, "segment", &self.segment, t);
                expect_absent(&mut errors, "variant", &self.variant, t);
                expect_absent(&mut errors, "amount_cents", &self.amount_cents, t);
                expect_absent(&mut errors, "currency", &self.currency, t);
                expect_absent(&mut errors, "sentiment", &self.sentiment, t);
                expect_absent(&mut errors, "kind", &self.kind, t);
                Some(EventBody::Cancellation)
            }
            "response" => {
                expect_absent(&mut errors, "segment", &self.segment, t);
                expect_absent(&mut errors, "variant", &self.variant, t);
                expect_absent(&mut errors, "amount_cents", &self.amount_cents, t);
                expect_absent(&mut errors, "currency", &self.currency, t);
                expect_absent(&mut errors, "kind", &self.kind, t);
                require(&mut errors, "sentiment", self.sentiment, t)
                    .and_then(|s| errors.take("sentiment", Sentiment::parse(&s)))
                    .map(|sentiment| EventBody::Response { sentiment })
            }
            _ => {
                errors.push(
                    "type",
                    "must be one of: exposure, preorder, cancellation, refund, response, payment",
                );
                None
            }
        };
        errors.finish(|| {
            Some(Event {
                event_id: event_id?,
                customer: customer?,
                occurred_at: occurred_at?,
                body: body?,
            })
        })
    }
}

/// Parses a batch. Events that do not parse are kept as problems by index, so the
/// answer can list them together with the events that parse but do not fit.
fn parse_batch(
    initiative: InitiativeKey,
    raw: Vec<Box<serde_json::value::RawValue>>,
    max: usize,
    now: DateTime<Utc>,
) -> Result<IngestBatch, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::invalid_field(
            "events",
            "must hold at least 1 event",
        ));
    }
    if raw.len() > max {
        return Err(ApiError::invalid_field(
            "events",
            format!(
                "must hold at most {max} events (got {}); split the batch",
                raw.len()
            ),
        ));
    }
    let mut batch = IngestBatch::new(initiative, Vec::with_capacity(raw.len()), now);
    batch.positions.clear();
    batch.occurred_at_given.clear();
    for (i, value) in raw.iter().enumerate() {
        let prefix = format!("events[{i}]");
        let mut de = serde_json::Deserializer::from_str(value.get());
        let mut occurred_at_given = false;
        let parsed = serde_path_to_error::deserialize::<_, EventInput>(&mut de)
            .map_err(|e| {
                let path = e.path().to_string();
                FieldErrors::from(super::extract::shape_error(
                    &path,
                    &e.into_inner().to_string(),
                ))
            })
            .and_then(|input| {
                occurred_at_given = input.occurred_at.is_some();
                input.parse(now)
            });
        match parsed {
            Ok(event) => {
                batch.events.push(event);
                batch.positions.push(i);
                batch.occurred_at_given.push(occurred_at_given);
            }
            Err(errors) => batch
                .rejected
                .extend(errors.0.into_iter().map(|e| (i, e.under(&prefix)))),
        }
    }
    Ok(batch)
}

/// Record events: exposures, pre-orders (deposits or full), cancellations, refunds,
/// responses and payments.
///
/// All-or-nothing: one invalid event refuses the whole batch (422, listing every bad
/// event by index, field and reason) and nothing is stored. An `event_id` stored before,
/// or repeated in the batch, counts as a duplicate when the event is the same field for
/// field (`occurred_at` only when given); a different event under it refuses the batch
/// with 409 `urn:offerlab:problem:event-id-conflict`, naming `events[i].event_id`.
/// A `200` means the events are committed to the database. The initiative must be running
/// (409 otherwise).
///
/// The body may also be CSV (`Content-Type: text/csv`): a header row naming the event
/// fields (`event_id`, `type`, `customer_id`, `occurred_at`, `segment`, `variant`,
/// `amount_cents`, `currency`, `sentiment`), in any order, then one event per row; an
/// empty cell is an absent field. A row without `event_id` (no column, or an empty cell)
/// gets the id `csv-sha256:` + the SHA-256 of its non-empty cells (`column=value`, in
/// column-name order, each followed by a 0 byte), so a file sent twice stores nothing new.
/// The same rules and limits apply (at most `ingest.max_events_per_request` rows, the body
/// at most `limits.max_body_bytes`; larger files: `offerlab import`). Problems are listed
/// by `line` (the header is line 1), `field` (the column, or `row`) and `reason`.
#[utoipa::path(
    post,
    path = "/api/v1/initiatives/{key}/events",
    tag = "events",
    params(("key" = String, Path, description = "Initiative key")),
    request_body(
        description = "A JSON batch, or a CSV file with a header row",
        content(
            (EventBatchInput = "application/json"),
            (String = "text/csv", example = "event_id,type,customer_id,occurred_at,segment,amount_cents,currency,sentiment\ne1,exposure,c-1,2026-11-25T09:30:00Z,smb,,,\ne2,response,c-1,2026-11-25T09:31:00Z,,,,love\ne3,preorder,c-1,2026-11-25T09:32:00Z,,1900,EUR,\n")
        )
    ),
    responses(
        (status = 200, body = IngestOutcome),
        (status = 409, description = "The initiative is not running, or an event_id is already used for a different event (`event-id-conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither `application/json` nor `text/csv` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Well-formed but invalid: `errors` names every bad event and field and why, for CSV by `line` and column; nothing was stored (`validation`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_events(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
    body: JsonOrCsv<EventBatchInput>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let max = state.settings.ingest.max_events_per_request;
    let outcome = match body {
        JsonOrCsv::Json(input) => {
            let batch = parse_batch(key, input.events, max, now)?;
            state.queue.submit(batch).await?
        }
        JsonOrCsv::Csv(bytes) => {
            let batch = super::event_csv::parse_body(&bytes, key, now, max)?;
            state
                .queue
                .submit(batch)
                .await
                .map_err(super::event_csv::refusal)?
        }
    };
    // Committed: deliveries it caused (a verdict that changed) can go now.
    state.webhooks.after_ingest();
    Ok(HttpResponse::Ok().json(outcome))
}

/// Assign a customer to a variant and record the exposure.
///
/// The variant depends only on the initiative and the customer (SHA-256 of both,
/// against the normalised weights): the same customer gets the same variant every
/// time, on every instance. The initiative must be running (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/initiatives/{key}/assignments",
    tag = "events",
    params(("key" = String, Path, description = "Initiative key")),
    request_body = AssignmentInput,
    responses(
        (status = 200, body = AssignmentView),
        (status = 409, description = "The initiative is not running", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
    ApiJson(input): ApiJson<AssignmentInput>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let mut errors = FieldErrors::default();
    let customer = errors.take("customer_id", CustomerId::parse(input.customer_id));
    let segment = errors.take("segment", SegmentKey::parse(input.segment));
    let occurred_at = match &input.occurred_at {
        Some(t) => errors.take("occurred_at", parse_occurred_at(t, now)),
        None => Some(now),
    };
    let (customer, segment, occurred_at) = errors
        .finish(|| Some((customer?, segment?, occurred_at?)))
        .map_err(ApiError::invalid)?;

    let lookup = key.clone();
    let initiative = blocking(&state, move |c| initiatives::get(c, &lookup)).await?;
    let variant = if initiative.variants.is_empty() {
        None
    } else {
        Some(initiative.variants.assign(&key, customer.as_str()))
    };
    // One assignment event per customer and segment: repeating the call is a duplicate,
    // while the same customer in another segment is refused as a segment change.
    let mut digest = Sha256::new();
    digest.update(customer.as_str().as_bytes());
    digest.update([0]);
    digest.update(segment.as_str().as_bytes());
    let event_id = EventId::parse(format!(
        "assignment-{}",
        &hex::encode(digest.finalize())[..32]
    ))
    .map_err(ApiError::Internal)?;
    let mut batch = IngestBatch::new(
        key,
        vec![Event {
            event_id,
            customer: customer.clone(),
            occurred_at,
            body: EventBody::Exposure {
                segment: segment.clone(),
                variant: variant.clone(),
            },
        }],
        now,
    );
    // The assignment is the customer's exposure in the segment, whenever the call says
    // it happened: a repeat with another time is still the same assignment.
    batch.occurred_at_given = vec![false];
    let outcome = state.queue.submit(batch).await.map_err(|e| match e {
        // The one event is the assignment itself: name the request's fields.
        crate::store::ingest::IngestError::Invalid(errors) => ApiError::invalid(FieldErrors(
            errors
                .into_iter()
                .map(|e| FieldError::new(e.field.replace("events[0].", ""), e.reason))
                .collect(),
        )),
        other => other.into(),
    })?;
    state.webhooks.after_ingest();
    let variant = variant.unwrap_or_else(VariantKey::implicit);
    Ok(HttpResponse::Ok().json(AssignmentView {
        customer_id: customer.to_string(),
        segment: segment.to_string(),
        price_cents: initiative.price_for(&variant).get(),
        currency: initiative.currency.to_string(),
        variant: variant.to_string(),
        recorded: outcome.accepted == 1,
    }))
}

/// Counts for one group of customers (a segment, a variant, or all).
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct GroupCounts {
    /// Distinct exposed customers.
    pub exposures: u64,
    /// Customers with an active pre-order.
    pub preorders: u64,
    /// Pre-orders / exposures (null without exposures).
    pub preorder_rate: Option<f64>,
    /// Customers who cancelled at least once.
    pub cancelled: u64,
    /// Sum of active pre-orders, in cents.
    pub committed_revenue_cents: i64,
    /// Customers by latest stated sentiment.
    pub responses: SentimentCounts,
}

/// Responders by latest sentiment.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct SentimentCounts {
    pub love: u64,
    pub like: u64,
    pub neutral: u64,
    pub dislike: u64,
}

impl GroupCounts {
    fn add(&mut self, cell: &aggregates::Cell) {
        self.exposures += cell.customers;
        if cell.preordered {
            self.preorders += cell.customers;
        }
        self.cancelled += cell.cancelled;
        self.committed_revenue_cents += cell.revenue_cents;
        match cell.sentiment {
            Some(Sentiment::Love) => self.responses.love += cell.customers,
            Some(Sentiment::Like) => self.responses.like += cell.customers,
            Some(Sentiment::Neutral) => self.responses.neutral += cell.customers,
            Some(Sentiment::Dislike) => self.responses.dislike += cell.customers,
            None => {}
        }
        self.preorder_rate =
            (self.exposures > 0).then(|| self.preorders as f64 / self.exposures as f64);
    }
}

/// One aggregate cell as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellView {
    pub segment: String,
    pub variant: String,
    /// Latest sentiment; null for customers who have not responded.
    pub sentiment: Option<Sentiment>,
    pub preordered: bool,
    pub customers: u64,
    pub cancelled: u64,
    pub revenue_cents: i64,
    /// Sum of squared per-customer committed amounts (for variances).
    pub revenue_sq_cents: f64,
    /// Customers who ever put money down (a deposit or a pre-order).
    pub money_down: u64,
    /// Customers who paid in full.
    pub paid: u64,
}

/// Live aggregates of an initiative, by segment and by variant.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub initiative: String,
    pub status: crate::domain::Status,
    pub total: GroupCounts,
    pub by_segment: BTreeMap<String, GroupCounts>,
    pub by_variant: BTreeMap<String, GroupCounts>,
    /// The aggregate cells everything above is summed from.
    pub cells: Vec<CellView>,
    pub as_of: DateTime<Utc>,
}

/// The live aggregates of an initiative.
///
/// Exposed customers, pre-orders, cancellations and responses by sentiment, overall and by
/// segment and variant, read from the aggregate cells (never from raw events).
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/summary",
    tag = "events",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = SummaryView),
    )
)]
pub async fn summary(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let (initiative, cells) = blocking(&state, move |c| {
        let initiative = initiatives::get(c, &key)?;
        let cells = aggregates::cells(c, initiative.id)?;
        Ok((initiative, cells))
    })
    .await?;
    let mut total = GroupCounts::default();
    let mut by_segment: BTreeMap<String, GroupCounts> = BTreeMap::new();
    let mut by_variant: BTreeMap<String, GroupCounts> = BTreeMap::new();
    for cell in &cells {
        total.add(cell);
        by_segment
            .entry(cell.segment.to_string())
            .or_default()
            .add(cell);
        by_variant
            .entry(cell.variant.to_string())
            .or_default()
            .add(cell);
    }
    Ok(HttpResponse::Ok().json(SummaryView {
        initiative: initiative.key.to_string(),
        status: initiative.status,
        total,
        by_segment,
        by_variant,
        cells: cells
            .into_iter()
            .map(|c| CellView {
                segment: c.segment.to_string(),
                variant: c.variant.to_string(),
                sentiment: c.sentiment,
                preordered: c.preordered,
                customers: c.customers,
                cancelled: c.cancelled,
                revenue_cents: c.revenue_cents,
                revenue_sq_cents: c.revenue_sq_cents,
                money_down: c.money_down,
                paid: c.paid,
            })
            .collect(),
        as_of: Utc::now(),
    }))
}

/// Paging through raw events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventPageQuery {
    /// The `next_cursor` of the previous page; omit (or leave empty) for the first page.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<String>,
    /// Events per page, 1 to 1,000 (default 100).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// A stored event.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEventView {
    /// Position in ingestion order.
    pub cursor: String,
    pub event_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = EventType)]
    pub event_type: String,
    pub customer_id: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Sentiment>)]
    pub sentiment: Option<String>,
    /// A pre-order's kind (only on pre-orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PreorderKind>)]
    pub kind: Option<String>,
}

/// A page of raw events in ingestion order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<StoredEventView>,
    /// Pass as `after` for the next page (or to poll for newer events).
    pub next_cursor: String,
    /// Whether more events are stored after this page.
    pub has_more: bool,
}

/// Raw events of an initiative, paginated.
///
/// The stored events in ingestion order, `limit` at a time (1 to 1000); pass the returned
/// `next_cursor` as `after` to read the next page.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/events",
    tag = "events",
    params(("key" = String, Path, description = "Initiative key"), EventPageQuery),
    responses(
        (status = 200, body = EventPage),
    )
)]
pub async fn list_events(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
    query: web::Query<EventPageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let after = match query.after.as_deref() {
        None | Some("") => 0,
        Some(s) => s.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            ApiError::bad_query("after", "must be a cursor returned as next_cursor")
        })?,
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|v| (1..=1000).contains(v))
            .ok_or_else(|| ApiError::bad_query("limit", "must be a whole number from 1 to 1000"))?,
    };
    let events::EventPage { rows, has_more } = reading(&state, move |c| {
        let initiative = initiatives::get(c, &key)?;
        events::page(c, initiative.id, after, limit)
    })
    .await?;
    let next_cursor = rows.last().map_or(after, |r| r.id).to_string();
    Ok(HttpResponse::Ok().json(EventPage {
        events: rows.into_iter().map(StoredEventView::from).collect(),
        next_cursor,
        has_more,
    }))
}

impl From<events::StoredEventRow> for StoredEventView {
    fn from(r: events::StoredEventRow) -> Self {
        StoredEventView {
            cursor: r.id.to_string(),
            occurred_at: r.occurred_at_utc(),
            received_at: r.received_at_utc(),
            event_id: r.event_id,
            event_type: r.event_type.as_str().to_owned(),
            customer_id: r.customer_id,
            segment: r.segment,
            variant: r.variant,
            amount_cents: r.amount_cents,
            currency: r.currency,
            sentiment: r.sentiment.map(|s| s.as_str().to_owned()),
            kind: r.preorder_kind.map(|k| k.as_str().to_owned()),
        }
    }
}

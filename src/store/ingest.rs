//! Event ingestion with group commit.
//!
//! One writer thread per process owns a connection. Requests queue up while a
//! transaction commits; the writer then takes everything queued (up to a bound) and
//! applies it in one transaction with one fsync. Each request is still all-or-nothing:
//! it is validated in memory against the customers' state before anything is written,
//! and a request with an invalid event contributes nothing to the transaction.
//!
//! Aggregates are maintained incrementally: each accepted event moves its customer
//! from one aggregate cell to another, so reading a report never scans raw events.

// foldhash, not SipHash: the group's maps hash every customer and event id several times, and
// SipHash was a fifth of the writer thread (BENCHMARKS.md, issue 15). It is still seeded at
// random per map, so a client cannot choose colliding ids.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use tokio::sync::{mpsc, oneshot};

use super::schema::{aggregate_cells, customers, daily_counts, events};
use super::{DbConn, Fault, Store, StoreError, bulk, to_naive, to_utc};
use crate::domain::customer::{self, CellContribution, CellKey, OfferContext};
use crate::domain::{
    Cents, CustomerState, Event, EventBody, EventKind, FieldError, Initiative, InitiativeKey,
    PreorderKind, SegmentKey, Sentiment, Status, Transition, VariantKey,
};

/// One client request: events for one initiative, all-or-nothing.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    pub initiative: InitiativeKey,
    /// The events that parsed, in request order.
    pub events: Vec<Event>,
    /// Each event's index in the request (errors name it).
    pub positions: Vec<usize>,
    /// For each event, whether its `occurred_at` counts when it is compared with an
    /// event stored under the same `event_id`: false when the client left it out (it
    /// defaulted to the time of receipt, so a re-send would always differ).
    pub occurred_at_given: Vec<bool>,
    /// Problems of events that did not even parse, by request index. A request with
    /// any is refused; its parsed events are still checked, so the answer lists every
    /// bad event at once.
    pub rejected: Vec<(usize, FieldError)>,
    pub received_at: DateTime<Utc>,
    /// Part of a larger all-or-nothing unit ([`super::import`]), rolled back as a whole when any
    /// part is refused: a refused part still folds its valid events into the group, so
    /// the parts after it are checked against the state they would really meet (the
    /// answer is the one a single request of the whole file would get), and reports its
    /// reused ids among its errors instead of on their own.
    pub fold_refused: bool,
}

impl IngestBatch {
    /// A request whose events all parsed.
    pub fn new(initiative: InitiativeKey, events: Vec<Event>, received_at: DateTime<Utc>) -> Self {
        let positions = (0..events.len()).collect();
        let occurred_at_given = vec![true; events.len()];
        Self {
            initiative,
            events,
            positions,
            occurred_at_given,
            rejected: Vec::new(),
            received_at,
            fold_refused: false,
        }
    }
}

/// What an accepted request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"accepted": 4, "duplicates": 0}))]
pub struct IngestOutcome {
    /// Events stored by this request.
    pub accepted: u64,
    /// Events identical to one stored before under the same `event_id` (or earlier in
    /// this request): not stored again.
    pub duplicates: u64,
}

/// Why a request was refused. Nothing of a refused request is written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("initiative '{0}' not found")]
    NotFound(InitiativeKey),
    #[error("initiative is {0}; events are accepted only while it is running")]
    NotRunning(Status),
    #[error("{} invalid event(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Events that reuse an `event_id` for different content, by request index.
    #[error("{} event(s) reuse an event_id for a different event", .0.len())]
    IdConflict(Vec<FieldError>),
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error("the ingest queue is shut down")]
    Closed,
    /// The writer did not answer within the acquire timeout (database down or overloaded).
    /// The request may still be stored: a retry with the same event ids stores nothing twice.
    #[error("the ingest writer did not answer within {} ms", .0.as_millis())]
    TimedOut(Duration),
}

#[derive(Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub(super) struct NewEventRow {
    pub(super) initiative_id: i64,
    pub(super) event_id: String,
    pub(super) event_type: EventKind,
    pub(super) customer_id: String,
    pub(super) occurred_at: chrono::NaiveDateTime,
    pub(super) received_at: chrono::NaiveDateTime,
    pub(super) segment: Option<String>,
    pub(super) variant: Option<String>,
    pub(super) amount_cents: Option<i64>,
    pub(super) currency: Option<String>,
    pub(super) sentiment: Option<Sentiment>,
    /// A pre-order's kind (`None` on every other type).
    pub(super) preorder_kind: Option<PreorderKind>,
}

#[derive(Insertable, Queryable, QueryableByName, Selectable, Clone)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
pub(super) struct CustomerRow {
    pub(super) initiative_id: i64,
    pub(super) customer_id: String,
    pub(super) segment: String,
    pub(super) variant: String,
    pub(super) first_exposed_at: chrono::NaiveDateTime,
    pub(super) active_cents: i64,
    pub(super) cancelled: bool,
    pub(super) sentiment: Option<Sentiment>,
    pub(super) sentiment_at: Option<chrono::NaiveDateTime>,
    pub(super) money_down: bool,
    pub(super) paid: bool,
}

impl CustomerRow {
    fn from_state(initiative_id: i64, customer_id: &str, s: &CustomerState) -> Self {
        Self {
            initiative_id,
            customer_id: customer_id.to_owned(),
            segment: s.segment.to_string(),
            variant: s.variant.to_string(),
            first_exposed_at: to_naive(s.first_exposed_at),
            active_cents: s.active_cents.get(),
            cancelled: s.cancelled,
            sentiment: s.sentiment,
            sentiment_at: s.sentiment_at.map(to_naive),
            money_down: s.money_down,
            paid: s.paid,
        }
    }

    fn into_state(self) -> Result<CustomerState, StoreError> {
        Ok(CustomerState {
            segment: SegmentKey::from_trusted(self.segment),
            variant: VariantKey::from_trusted(self.variant),
            first_exposed_at: to_utc(self.first_exposed_at),
            active_cents: Cents::from_trusted(self.active_cents),
            cancelled: self.cancelled,
            sentiment: self.sentiment,
            sentiment_at: self.sentiment_at.map(to_utc),
            money_down: self.money_down,
            paid: self.paid,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = aggregate_cells)]
pub(super) struct CellDeltaRow {
    pub(super) initiative_id: i64,
    pub(super) segment: String,
    pub(super) variant: String,
    /// `None`: the customers of the cell have not responded.
    pub(super) sentiment: Option<Sentiment>,
    pub(super) preordered: bool,
    pub(super) customers: i64,
    pub(super) cancelled: i64,
    pub(super) revenue_cents: i64,
    pub(super) revenue_sq_cents: f64,
    pub(super) money_down: i64,
    pub(super) paid: i64,
}

#[derive(Insertable)]
#[diesel(table_name = daily_counts)]
pub(super) struct DailyDeltaRow {
    pub(super) initiative_id: i64,
    pub(super) day: String,
    pub(super) exposures: i64,
    pub(super) preorders: i64,
}

#[derive(Default, Clone, Copy)]
struct CellDelta {
    customers: i64,
    cancelled: i64,
    revenue_cents: i64,
    revenue_sq_cents: f64,
    money_down: i64,
    paid: i64,
}

impl CellDelta {
    fn add(&mut self, c: &CellContribution, sign: i64) {
        self.customers += sign;
        self.cancelled += sign * c.cancelled;
        self.revenue_cents += sign * c.revenue_cents;
        let r = c.revenue_cents as f64;
        self.revenue_sq_cents += sign as f64 * r * r;
        self.money_down += sign * c.money_down;
        self.paid += sign * c.paid;
    }
}

/// What makes two events with one `event_id` the same event: every stored field but
/// the time of receipt. Times are compared to the microsecond, what PostgreSQL keeps.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = events)]
pub(super) struct EventContent {
    event_type: EventKind,
    customer_id: String,
    occurred_at: chrono::NaiveDateTime,
    segment: Option<String>,
    variant: Option<String>,
    amount_cents: Option<i64>,
    currency: Option<String>,
    sentiment: Option<Sentiment>,
    preorder_kind: Option<PreorderKind>,
}

impl EventContent {
    fn of(row: &NewEventRow) -> Self {
        Self {
            event_type: row.event_type,
            customer_id: row.customer_id.clone(),
            occurred_at: row.occurred_at,
            segment: row.segment.clone(),
            variant: row.variant.clone(),
            amount_cents: row.amount_cents,
            currency: row.currency.clone(),
            sentiment: row.sentiment,
            preorder_kind: row.preorder_kind,
        }
    }

    /// The API names of the fields in which `new` differs from `self`; `occurred_at`
    /// only when `compare_time`.
    fn differences(&self, new: &EventContent, compare_time: bool) -> Vec<&'static str> {
        use chrono::SubsecRound;
        let mut out = Vec::new();
        if self.event_type != new.event_type {
            out.push("type");
        }
        if self.customer_id != new.customer_id {
            out.push("customer_id");
        }
        if compare_time && self.occurred_at.trunc_subsecs(6) != new.occurred_at.trunc_subsecs(6) {
            out.push("occurred_at");
        }
        if self.segment != new.segment {
            out.push("segment");
        }
        if self.variant != new.variant {
            out.push("variant");
        }
        if self.amount_cents != new.amount_cents {
            out.push("amount_cents");
        }
        if self.currency != new.currency {
            out.push("currency");
        }
        if self.sentiment != new.sentiment {
            out.push("sentiment");
        }
        if self.preorder_kind != new.preorder_kind {
            out.push("kind");
        }
        out
    }
}

/// Work for one initiative within one group transaction.
struct InitiativeWork {
    initiative: Initiative,
    /// Customers read so far: `None` means known not to be exposed yet.
    customers: HashMap<String, Option<CustomerState>>,
    /// Customers stored before this group (their rows are updated, the others inserted).
    stored_customers: HashSet<String>,
    /// Customers changed by this group, to be written back.
    dirty: HashSet<String>,
    /// Event ids of this group's requests that are stored already, or are being stored
    /// by an earlier request of the group, with what is stored under them.
    known_ids: HashMap<String, EventContent>,
    new_events: Vec<NewEventRow>,
    cells: HashMap<CellKey, CellDelta>,
    daily: HashMap<NaiveDate, (i64, i64)>,
}

/// Called in every group transaction, after its writes, with the initiatives whose
/// counts it changed: what the upper layers derive from the counts (webhooks: a verdict
/// that changed) is written in the same transaction. An error fails the group.
pub trait GroupHook: Send + Sync + std::fmt::Debug {
    fn after_group(&self, conn: &mut DbConn, changed: &[&Initiative]) -> Result<(), StoreError>;
}

/// Applies groups of requests. Remembers the segments it has seen exist: segments are
/// never deleted, so only new names cost a query.
#[derive(Debug)]
pub struct Ingestor {
    known_segments: HashSet<String>,
    retries: u64,
    hook: Option<Arc<dyn GroupHook>>,
    copy_from_rows: usize,
}

/// The default of `ingest.copy_from_rows`: on PostgreSQL, a group's new events (and
/// likewise its new customers) at least this many are sent with binary `COPY` rather than
/// bound as arrays. `COPY` costs two more round trips and saves the server work on each
/// row (no array to build and unnest, rows inserted a page at a time): in 1,000-event
/// batches its time per event fell from 21.6 to 16.8 µs (BENCHMARKS.md, issue 15, session
/// 6). 200 is a conservative threshold, not a measured optimum.
pub const DEFAULT_COPY_FROM_ROWS: usize = 200;

impl Default for Ingestor {
    fn default() -> Self {
        Self::with_hook(None)
    }
}

/// Most runs of one group transaction that loses races with other instances.
const MAX_ATTEMPTS: u32 = 8;

impl Ingestor {
    /// Applies a group of requests in one transaction. The outer `Result` fails when the
    /// database does (then nothing of the group was written); the inner ones are each
    /// request's own answer.
    pub fn apply(
        &mut self,
        conn: &mut DbConn,
        batches: &[IngestBatch],
    ) -> Result<Vec<Result<IngestOutcome, IngestError>>, StoreError> {
        // On PostgreSQL, instances ingest into one initiative side by side; a group that
        // lost a race with another (see `bulk`) is rolled back and run again from its
        // reads (the hook included), a bounded number of times.
        let mut attempt = 1;
        loop {
            // The first run looks up only the events of stored customers; a run after a
            // lost race looks up every event (see `prefetch`).
            let look_up_every_event = attempt > 1 || matches!(conn, DbConn::Sqlite(_));
            match ingest_group(
                conn,
                batches,
                &mut self.known_segments,
                self.hook.as_deref(),
                look_up_every_event,
                self.copy_from_rows,
            ) {
                Err(e)
                    if attempt < MAX_ATTEMPTS
                        && matches!(conn, DbConn::Postgres(_))
                        && bulk::lost_a_race(&e) =>
                {
                    tracing::debug!(error = %e, attempt, "ingest group lost a race; retrying");
                    self.retries += 1;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Group transactions run again: after losing a race with another instance or writer,
    /// or after meeting a reused event id of a new customer (see `prefetch`).
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// An ingestor that calls `hook` in each group transaction.
    pub fn with_hook(hook: Option<Arc<dyn GroupHook>>) -> Self {
        Self {
            known_segments: HashSet::new(),
            retries: 0,
            hook,
            copy_from_rows: DEFAULT_COPY_FROM_ROWS,
        }
    }

    /// Sends a group's new events, and its new customers, with `COPY` from this many rows
    /// (PostgreSQL; see [`DEFAULT_COPY_FROM_ROWS`]).
    pub fn with_copy_from_rows(mut self, rows: usize) -> Self {
        self.copy_from_rows = rows.max(1);
        self
    }
}

/// `look_up_every_event`: see [`prefetch`]; SQLite always does (it has no retry: a unique
/// violation there would fail the requests).
fn ingest_group(
    conn: &mut DbConn,
    batches: &[IngestBatch],
    known_segments: &mut HashSet<String>,
    hook: Option<&dyn GroupHook>,
    look_up_every_event: bool,
    copy_from_rows: usize,
) -> Result<Vec<Result<IngestOutcome, IngestError>>, StoreError> {
    super::write_transaction(conn, |conn| {
        let keys: Vec<&str> = batches.iter().map(|b| b.initiative.as_str()).collect();
        let mut work: HashMap<InitiativeKey, InitiativeWork> = HashMap::new();
        for initiative in super::initiatives::hold_for_ingest(conn, &keys)? {
            work.insert(
                initiative.key.clone(),
                InitiativeWork {
                    initiative,
                    customers: HashMap::new(),
                    stored_customers: HashSet::new(),
                    dirty: HashSet::new(),
                    known_ids: HashMap::new(),
                    new_events: Vec::new(),
                    cells: HashMap::new(),
                    daily: HashMap::new(),
                },
            );
        }
        load_segments(conn, batches, known_segments)?;
        for w in work.values_mut() {
            prefetch(conn, w, batches, !look_up_every_event)?;
        }

        let mut results = Vec::with_capacity(batches.len());
        for batch in batches {
            let Some(w) = work.get_mut(&batch.initiative) else {
                results.push(Err(IngestError::NotFound(batch.initiative.clone())));
                continue;
            };
            if w.initiative.status != Status::Running {
                results.push(Err(IngestError::NotRunning(w.initiative.status)));
                continue;
            }
            results.push(apply_batch(w, batch, known_segments));
        }

        let mut order: Vec<&InitiativeWork> = work.values().collect();
        order.sort_by_key(|w| w.initiative.id);
        write_work(conn, &order, copy_from_rows)?;
        // --- Webhooks (issue 12): the one call into the upper layers, in this transaction.
        if let Some(hook) = hook {
            let changed: Vec<&Initiative> = work
                .values()
                .filter(|w| !w.new_events.is_empty())
                .map(|w| &w.initiative)
                .collect();
            if !changed.is_empty() {
                hook.after_group(conn, &changed)?;
            }
        }
        // --- end webhooks.
        Ok(results)
    })
}

fn load_segments(
    conn: &mut DbConn,
    batches: &[IngestBatch],
    known: &mut HashSet<String>,
) -> Result<(), StoreError> {
    let mut named: Vec<&str> = batches
        .iter()
        .flat_map(|b| b.events.iter())
        .filter_map(|e| match &e.body {
            EventBody::Exposure { segment, .. } if !known.contains(segment.as_str()) => {
                Some(segment.as_str())
            }
            _ => None,
        })
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    named.sort_unstable();
    named.dedup();
    known.extend(super::segments::existing(conn, &named)?);
    Ok(())
}

/// Reads, in one query each for the whole group, the state of every customer the group
/// names and which of the group's event ids are stored already.
///
/// With `stored_customers_only`, only the ids of events whose customer is stored are
/// looked up: an event is stored with its customer in one transaction, so the events of
/// a customer that reads as absent cannot be stored, unless another instance stored both
/// after this group's read; then this group's insert of that customer (or of a reused
/// event id) fails with a unique violation and the group runs again with every id looked
/// up. On a pilot's growth path, where most customers are new, this spares most look-ups.
fn prefetch(
    conn: &mut DbConn,
    w: &mut InitiativeWork,
    batches: &[IngestBatch],
    stored_customers_only: bool,
) -> Result<(), StoreError> {
    let initiative_id = w.initiative.id;
    let mine = || {
        batches
            .iter()
            .filter(|b| b.initiative == w.initiative.key)
            .flat_map(|b| b.events.iter())
    };
    let mut customer_ids: Vec<&str> = mine().map(|e| e.customer.as_str()).collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();

    let mut found = HashMap::new();
    // On PostgreSQL the rows are locked (`FOR UPDATE`) as they are read, in
    // `customer_id` order across chunks (`bulk::lock_customers`): an instance changing one
    // of these customers waits for this group's commit, and two groups lock their common
    // customers in the same order.
    for chunk in customer_ids.chunks(5_000) {
        let rows: Vec<CustomerRow> = match conn {
            DbConn::Postgres(c) => bulk::lock_customers(c, initiative_id, chunk)?,
            DbConn::Sqlite(c) => customers::table
                .select(CustomerRow::as_select())
                .filter(customers::initiative_id.eq(initiative_id))
                .filter(customers::customer_id.eq_any(chunk))
                .load(c)?,
        };
        for row in rows {
            let id = row.customer_id.clone();
            found.insert(id, Some(row.into_state()?));
        }
    }
    // Event ids are read after the customers are locked: an instance that stored some
    // of these events for these customers has committed by now, so they read as stored
    // (read before, they would look new while the customers' state already holds them).
    let mut ids: Vec<&str> = mine()
        .filter(|e| !stored_customers_only || found.contains_key(e.customer.as_str()))
        .map(|e| e.event_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stored = HashMap::new();
    for chunk in ids.chunks(5_000) {
        match conn {
            DbConn::Postgres(c) => stored.extend(bulk::stored_events(c, initiative_id, chunk)?),
            DbConn::Sqlite(c) => stored.extend(
                events::table
                    .select((events::event_id, EventContent::as_select()))
                    .filter(events::initiative_id.eq(initiative_id))
                    .filter(events::event_id.eq_any(chunk))
                    .load::<(String, EventContent)>(c)?,
            ),
        }
    }
    // A stored event of a customer that read as absent: another instance committed both
    // between the two reads. This group's view of that customer is stale: run it again.
    if stored.values().any(|e: &EventContent| {
        customer_ids.binary_search(&e.customer_id.as_str()).is_ok()
            && !found.contains_key(&e.customer_id)
    }) {
        return Err(StoreError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::SerializationFailure,
            Box::new("a customer was stored by another instance while this group read".to_owned()),
        )));
    }
    w.stored_customers = found.keys().cloned().collect();
    for c in customer_ids {
        found.entry(c.to_owned()).or_insert(None);
    }
    w.known_ids = stored;
    w.customers = found;
    Ok(())
}

/// Validates one request against the state so far and, if every event is valid,
/// folds it into the group's work. Pure: everything it reads was prefetched.
fn apply_batch(
    w: &mut InitiativeWork,
    batch: &IngestBatch,
    known_segments: &HashSet<String>,
) -> Result<IngestOutcome, IngestError> {
    let initiative_id = w.initiative.id;

    // Validate in order on an overlay, so a refused request changes nothing.
    let offer = OfferContext {
        currency: w.initiative.currency,
        variants: &w.initiative.variants,
        max_active: w.initiative.max_active_cents_per_customer(),
        price: w.initiative.price,
        floors: w.initiative.criteria.min_preorder,
        launched_at: w.initiative.launched_at,
        backfill_from: w.initiative.criteria.backfill_from,
    };
    let mut overlay: HashMap<&str, CustomerState> = HashMap::new();
    // This request's ids so far: the index and content of their first event.
    let mut batch_ids: HashMap<&str, (usize, EventContent)> = HashMap::new();
    let mut accepted: Vec<(&Event, i64, bool)> = Vec::new();
    let mut errors: Vec<(usize, FieldError)> = batch.rejected.clone();
    let mut conflicts: Vec<(usize, FieldError)> = Vec::new();
    let mut duplicates = 0u64;
    for (i, event) in batch.events.iter().enumerate() {
        let index = batch.positions.get(i).copied().unwrap_or(i);
        let id = event.event_id.as_str();
        let compare_time = batch.occurred_at_given.get(i).copied().unwrap_or(true);
        let content = EventContent::of(&event_row(initiative_id, event, batch.received_at));
        // A re-sent event is a duplicate only if it is the same event, field for field.
        let earlier = match (w.known_ids.get(id), batch_ids.get(id)) {
            (Some(stored), _) => Some((stored, "an event stored before".to_owned())),
            (None, Some((first, in_batch))) => {
                Some((in_batch, format!("events[{first}] of this request")))
            }
            (None, None) => None,
        };
        if let Some((before, which)) = earlier {
            let differ = before.differences(&content, compare_time);
            if differ.is_empty() {
                duplicates += 1;
            } else {
                conflicts.push((
                    index,
                    FieldError::new(
                        format!("events[{index}].event_id"),
                        format!(
                            "event_id '{id}' is already used by {which} that differs in {}; \
                             re-send that event unchanged or give this one a new event_id",
                            differ.join(", ")
                        ),
                    ),
                ));
            }
            continue;
        }
        batch_ids.insert(id, (index, content));
        if let EventBody::Exposure { segment, .. } = &event.body
            && !known_segments.contains(segment.as_str())
        {
            errors.push((
                index,
                FieldError::new(
                    format!("events[{index}].segment"),
                    format!(
                        "unknown segment '{segment}': create it first with POST /api/v1/segments"
                    ),
                ),
            ));
            continue;
        }
        let customer = event.customer.as_str();
        let current = overlay
            .get(customer)
            .or_else(|| w.customers.get(customer).and_then(Option::as_ref));
        match customer::apply(current, &event.body, event.occurred_at, &offer) {
            Ok(Transition::Unchanged) => accepted.push((event, 0, false)),
            Ok(Transition::Moved {
                before,
                after,
                preordered_delta,
            }) => {
                overlay.insert(customer, after);
                accepted.push((event, preordered_delta, before.is_none()));
            }
            Err((field, reason)) => {
                errors.push((
                    index,
                    FieldError::new(format!("events[{index}].{field}"), reason),
                ));
            }
        }
    }
    let refused = !conflicts.is_empty() || !errors.is_empty();
    if refused && batch.fold_refused {
        errors.extend(conflicts);
        errors.sort_by_key(|(index, _)| *index);
        let refusal = IngestError::Invalid(errors.into_iter().map(|(_, e)| e).collect());
        fold(w, batch, accepted, overlay);
        return Err(refusal);
    }
    // A reused id is reported on its own (409): the request is not malformed, it
    // names an event that is not the one stored.
    if !conflicts.is_empty() {
        conflicts.sort_by_key(|(index, _)| *index);
        return Err(IngestError::IdConflict(
            conflicts.into_iter().map(|(_, e)| e).collect(),
        ));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(index, _)| *index);
        return Err(IngestError::Invalid(
            errors.into_iter().map(|(_, e)| e).collect(),
        ));
    }

    let outcome = IngestOutcome {
        accepted: accepted.len() as u64,
        duplicates,
    };
    fold(w, batch, accepted, overlay);
    Ok(outcome)
}

/// Folds a request's accepted events into the group: daily counts and raw events per
/// event; then each touched customer leaves the cell it was in before this request and
/// enters its new one.
fn fold(
    w: &mut InitiativeWork,
    batch: &IngestBatch,
    accepted: Vec<(&Event, i64, bool)>,
    overlay: HashMap<&str, CustomerState>,
) {
    let initiative_id = w.initiative.id;
    for (event, preordered_delta, first_exposure) in &accepted {
        let day = customer::day_of(event.occurred_at);
        if *first_exposure {
            w.daily.entry(day).or_default().0 += 1;
        }
        if *preordered_delta != 0 {
            w.daily.entry(day).or_default().1 += preordered_delta;
        }
        let row = event_row(initiative_id, event, batch.received_at);
        w.known_ids
            .insert(event.event_id.to_string(), EventContent::of(&row));
        w.new_events.push(row);
    }
    for (customer, after) in overlay {
        if let Some(before) = w.customers.get(customer).and_then(Option::as_ref) {
            let b = before.contribution();
            w.cells.entry(b.cell.clone()).or_default().add(&b, -1);
        }
        let c = after.contribution();
        w.cells.entry(c.cell.clone()).or_default().add(&c, 1);
        w.dirty.insert(customer.to_owned());
        w.customers.insert(customer.to_owned(), Some(after));
    }
}

fn event_row(initiative_id: i64, e: &Event, received_at: DateTime<Utc>) -> NewEventRow {
    let mut row = NewEventRow {
        initiative_id,
        event_id: e.event_id.to_string(),
        event_type: e.body.kind(),
        customer_id: e.customer.to_string(),
        occurred_at: to_naive(e.occurred_at),
        received_at: to_naive(received_at),
        segment: None,
        variant: None,
        amount_cents: None,
        currency: None,
        sentiment: None,
        preorder_kind: None,
    };
    match &e.body {
        EventBody::Exposure { segment, variant } => {
            row.segment = Some(segment.to_string());
            row.variant = variant.as_ref().map(ToString::to_string);
        }
        EventBody::Preorder {
            amount,
            currency,
            kind,
        } => {
            row.amount_cents = Some(amount.get());
            row.currency = Some(currency.to_string());
            row.preorder_kind = Some(*kind);
        }
        EventBody::Refund { amount, currency } | EventBody::Payment { amount, currency } => {
            row.amount_cents = Some(amount.get());
            row.currency = Some(currency.to_string());
        }
        EventBody::Cancellation => {}
        EventBody::Response { sentiment } => row.sentiment = Some(*sentiment),
    }
    row
}

/// Rows per multi-row INSERT: below SQLite's 32,766 bound parameters for every table here.
const ROWS_PER_STATEMENT: usize = 2_000;

/// What one initiative's share of a group writes, in key order.
struct WorkRows {
    customers: Vec<CustomerRow>,
    cells: Vec<CellDeltaRow>,
    daily: Vec<DailyDeltaRow>,
}

/// Writes the group's rows, initiative by initiative in id order (so that two groups
/// lock the hot rows of several initiatives in one order): each one's new events,
/// customers' new state, then the deltas of its aggregate cells and daily counts (on
/// PostgreSQL in one statement, hot rows last: see `bulk::write_group`).
fn write_work(
    conn: &mut DbConn,
    works: &[&InitiativeWork],
    copy_from_rows: usize,
) -> Result<(), StoreError> {
    for w in works {
        let r = rows_of(w);
        match conn {
            DbConn::Postgres(c) => {
                let (stored, new): (Vec<CustomerRow>, Vec<CustomerRow>) = r
                    .customers
                    .into_iter()
                    .partition(|c| w.stored_customers.contains(&c.customer_id));
                let id = w.initiative.id;
                bulk::write_group(
                    c,
                    id,
                    &w.new_events,
                    &new,
                    &stored,
                    &r.cells,
                    &r.daily,
                    copy_from_rows,
                )?;
            }
            DbConn::Sqlite(c) => {
                write_sqlite(c, &w.new_events, &r.customers, &r.cells, &r.daily)?;
            }
        }
    }
    Ok(())
}

/// One initiative's rows: its dirty customers, and its non-zero cell and daily deltas,
/// each sorted by key.
fn rows_of(w: &InitiativeWork) -> WorkRows {
    let id = w.initiative.id;
    let mut customer_rows: Vec<CustomerRow> = w
        .dirty
        .iter()
        .filter_map(|c| {
            w.customers
                .get(c)
                .and_then(Option::as_ref)
                .map(|s| CustomerRow::from_state(id, c, s))
        })
        .collect();
    customer_rows.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    let mut cell_rows: Vec<CellDeltaRow> = w
        .cells
        .iter()
        .filter(|(_, d)| {
            d.customers != 0
                || d.cancelled != 0
                || d.revenue_cents != 0
                || d.revenue_sq_cents != 0.0
                || d.money_down != 0
                || d.paid != 0
        })
        .map(|(k, d)| CellDeltaRow {
            initiative_id: id,
            segment: k.segment.to_string(),
            variant: k.variant.to_string(),
            sentiment: k.sentiment,
            preordered: k.preordered,
            customers: d.customers,
            cancelled: d.cancelled,
            revenue_cents: d.revenue_cents,
            revenue_sq_cents: d.revenue_sq_cents,
            money_down: d.money_down,
            paid: d.paid,
        })
        .collect();
    cell_rows.sort_by(|a, b| {
        (&a.segment, &a.variant, a.sentiment, a.preordered).cmp(&(
            &b.segment,
            &b.variant,
            b.sentiment,
            b.preordered,
        ))
    });
    let mut daily_rows: Vec<DailyDeltaRow> = w
        .daily
        .iter()
        .filter(|(_, (e, p))| *e != 0 || *p != 0)
        .map(|(day, (e, p))| DailyDeltaRow {
            initiative_id: id,
            day: day.format("%Y-%m-%d").to_string(),
            exposures: *e,
            preorders: *p,
        })
        .collect();
    daily_rows.sort_by(|a, b| a.day.cmp(&b.day));

    WorkRows {
        customers: customer_rows,
        cells: cell_rows,
        daily: daily_rows,
    }
}

/// SQLite's writes: multi-row inserts and an upsert per cell (a group touches few cells,
/// and the database write lock is held for the whole transaction anyway).
fn write_sqlite(
    c: &mut diesel::SqliteConnection,
    events_rows: &[NewEventRow],
    customer_rows: &[CustomerRow],
    cell_rows: &[CellDeltaRow],
    daily_rows: &[DailyDeltaRow],
) -> Result<(), StoreError> {
    for chunk in events_rows.chunks(ROWS_PER_STATEMENT) {
        diesel::insert_into(events::table)
            .values(chunk)
            .execute(c)?;
    }
    for chunk in customer_rows.chunks(ROWS_PER_STATEMENT) {
        diesel::insert_into(customers::table)
            .values(chunk)
            .on_conflict((customers::initiative_id, customers::customer_id))
            .do_update()
            .set((
                customers::active_cents.eq(excluded(customers::active_cents)),
                customers::cancelled.eq(excluded(customers::cancelled)),
                customers::sentiment.eq(excluded(customers::sentiment)),
                customers::sentiment_at.eq(excluded(customers::sentiment_at)),
                customers::money_down.eq(excluded(customers::money_down)),
                customers::paid.eq(excluded(customers::paid)),
            ))
            .execute(c)?;
    }
    // A cell is keyed by its sentiment or by its having none (NULL). SQLite's unique
    // indexes treat NULLs as distinct, so the key is kept by a unique index and a partial
    // one (`WHERE sentiment IS NULL`) that `ON CONFLICT` cannot name together: the delta
    // is an update of the cell (`sentiment IS ?`), or its first row. The transaction holds
    // the database write lock, so nothing comes between the two.
    for row in cell_rows {
        let cell = aggregate_cells::table
            .filter(aggregate_cells::initiative_id.eq(row.initiative_id))
            .filter(aggregate_cells::segment.eq(&row.segment))
            .filter(aggregate_cells::variant.eq(&row.variant))
            .filter(aggregate_cells::sentiment.is(row.sentiment))
            .filter(aggregate_cells::preordered.eq(row.preordered));
        let updated = diesel::update(cell)
            .set((
                aggregate_cells::customers.eq(aggregate_cells::customers + row.customers),
                aggregate_cells::cancelled.eq(aggregate_cells::cancelled + row.cancelled),
                aggregate_cells::revenue_cents
                    .eq(aggregate_cells::revenue_cents + row.revenue_cents),
                aggregate_cells::revenue_sq_cents
                    .eq(aggregate_cells::revenue_sq_cents + row.revenue_sq_cents),
                aggregate_cells::money_down.eq(aggregate_cells::money_down + row.money_down),
                aggregate_cells::paid.eq(aggregate_cells::paid + row.paid),
            ))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(aggregate_cells::table)
                .values(row)
                .execute(c)?;
        }
    }
    for row in daily_rows {
        diesel::insert_into(daily_counts::table)
            .values(row)
            .on_conflict((daily_counts::initiative_id, daily_counts::day))
            .do_update()
            .set((
                daily_counts::exposures
                    .eq(daily_counts::exposures + excluded(daily_counts::exposures)),
                daily_counts::preorders
                    .eq(daily_counts::preorders + excluded(daily_counts::preorders)),
            ))
            .execute(c)?;
    }
    Ok(())
}

struct Job {
    batch: IngestBatch,
    reply: oneshot::Sender<Result<IngestOutcome, IngestError>>,
}

/// Group-commit settings.
#[derive(Debug, Clone, Copy)]
pub struct QueueOptions {
    /// Requests that may wait for the writer before senders are slowed down.
    pub capacity: usize,
    /// Most events applied in one transaction.
    pub max_group_events: usize,
    /// Longest wait of a request for the writer's answer (the database acquire timeout).
    pub max_wait: Duration,
    /// Writer threads, each with a connection of its own, taking groups from the one
    /// queue in turn: while one commits, the next gathers and applies the requests that
    /// arrived meanwhile. PostgreSQL only; SQLite has one writer at a time, so it always
    /// gets one.
    pub writers: usize,
    /// See [`Ingestor::with_copy_from_rows`].
    pub copy_from_rows: usize,
}

/// The handle through which requests reach the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Job>,
    stats: Arc<IngestStats>,
    /// One per writer thread.
    pulses: Arc<[Arc<Pulse>]>,
    max_wait: Duration,
}

/// Since when the writer has been working on its current unit of work (a group
/// transaction, or one request of a group being retried alone). A waiting request uses it
/// to tell a busy writer, which keeps finishing work, from a stalled one, stuck on a
/// database that stopped answering: only the latter is worth a 503.
#[derive(Debug)]
struct Pulse {
    epoch: Instant,
    /// Milliseconds since `epoch` when the current work started; `IDLE` when waiting.
    working_since: AtomicU64,
}

impl Pulse {
    const IDLE: u64 = u64::MAX;

    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            working_since: AtomicU64::new(Self::IDLE),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn working(&self) {
        self.working_since.store(self.now(), Ordering::Relaxed);
    }

    fn idle(&self) {
        self.working_since.store(Self::IDLE, Ordering::Relaxed);
    }

    /// Whether the current unit of work has run longer than `limit`.
    fn stalled(&self, limit: Duration) -> bool {
        match self.working_since.load(Ordering::Relaxed) {
            Self::IDLE => false,
            since => {
                let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
                self.now().saturating_sub(since) > limit
            }
        }
    }
}

/// Counters of the ingest path, for `/metrics`.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Events stored.
    pub events_accepted: AtomicU64,
    /// Events not stored again because their `event_id` was stored before.
    pub events_duplicate: AtomicU64,
    /// Requests refused (invalid, unknown initiative, not running, storage failure).
    pub requests_refused: AtomicU64,
    /// Transactions committed by the writer (each holds one or more requests).
    pub transactions: AtomicU64,
    /// Group transactions run again: after losing a race with another instance or writer,
    /// or after meeting a reused event id of a new customer (see `prefetch`).
    pub race_retries: AtomicU64,
}

impl IngestQueue {
    /// Starts the writer thread with a connection of its own.
    pub fn start(store: &Store, options: QueueOptions) -> Result<Self, StoreError> {
        Self::start_with_hook(store, options, None)
    }

    /// Like [`IngestQueue::start`], calling `hook` in every group transaction.
    pub fn start_with_hook(
        store: &Store,
        options: QueueOptions,
        hook: Option<Arc<dyn GroupHook>>,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel(options.capacity.max(1));
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let writers = match store.backend() {
            super::Backend::Postgres => options.writers.max(1),
            super::Backend::Sqlite => 1,
        };
        let stats = Arc::new(IngestStats::default());
        let mut pulses = Vec::with_capacity(writers);
        for n in 0..writers {
            // Every writer connects before the first request is taken: a database that
            // cannot be reached fails the start, not a request.
            let conn = store.dedicated()?;
            let store = store.clone();
            let rx = Arc::clone(&rx);
            let writer_stats = Arc::clone(&stats);
            let pulse = Arc::new(Pulse::new());
            let writer_pulse = Arc::clone(&pulse);
            let hook = hook.clone();
            let copy_from_rows = options.copy_from_rows;
            std::thread::Builder::new()
                .name(format!("offerlab-ingest-{n}"))
                .spawn(move || {
                    let ingestor = Ingestor::with_hook(hook).with_copy_from_rows(copy_from_rows);
                    writer_loop(
                        store,
                        conn,
                        &rx,
                        options,
                        &writer_stats,
                        &writer_pulse,
                        ingestor,
                    )
                })
                .map_err(|e| StoreError::Connection(format!("cannot start ingest writer: {e}")))?;
            pulses.push(pulse);
        }
        Ok(Self {
            tx,
            stats,
            pulses: pulses.into(),
            max_wait: options.max_wait,
        })
    }

    /// The ingest counters.
    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }

    /// Queues a request and waits until it is committed (or refused). A busy writer is
    /// waited for as long as it keeps finishing work; when its current work has run longer
    /// than the configured wait (the database stopped answering), the request gets
    /// [`IngestError::TimedOut`] and the writer skips it if it has not started it.
    pub async fn submit(&self, batch: IngestBatch) -> Result<IngestOutcome, IngestError> {
        let (reply, answer) = oneshot::channel();
        let work = async {
            self.tx
                .send(Job { batch, reply })
                .await
                .map_err(|_| IngestError::Closed)?;
            answer.await.map_err(|_| IngestError::Closed)?
        };
        tokio::pin!(work);
        // Look at the writer's pulse a few times per wait, so a stall is noticed within
        // about a quarter of the wait after it passes the limit.
        let look = (self.max_wait / 4).max(Duration::from_millis(20));
        let result = loop {
            match tokio::time::timeout(look, &mut work).await {
                Ok(result) => break result,
                // The request may sit in any writer's group: one stalled writer (the
                // database stopped answering it) is enough to answer 503, which is safe
                // to retry with the same event ids.
                Err(_) if self.pulses.iter().any(|p| p.stalled(self.max_wait)) => {
                    break Err(IngestError::TimedOut(self.max_wait));
                }
                Err(_) => {}
            }
        };
        match &result {
            Ok(outcome) => {
                self.stats
                    .events_accepted
                    .fetch_add(outcome.accepted, Ordering::Relaxed);
                self.stats
                    .events_duplicate
                    .fetch_add(outcome.duplicates, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.requests_refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }
}

/// How long the writer answers `unavailable` at once after failing to reconnect, before
/// it tries again (so a down database costs each request nothing, and is retried often).
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

fn writer_loop(
    store: Store,
    conn: DbConn,
    rx: &std::sync::Mutex<mpsc::Receiver<Job>>,
    options: QueueOptions,
    stats: &IngestStats,
    pulse: &Pulse,
    mut ingestor: Ingestor,
) {
    let mut link = Link {
        conn: Some(conn),
        retry_at: Instant::now(),
        used_at: Instant::now(),
    };
    loop {
        pulse.idle();
        // Writers take turns at the queue: one holds it while it waits for the next
        // request and gathers what queued behind it; the others are applying their groups.
        let (mut jobs, total) = {
            // A writer that panicked holding the queue left nothing half-done in it.
            let mut rx = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            pulse.working();
            let mut total = first.batch.events.len();
            let mut jobs = vec![first];
            while total < options.max_group_events {
                match rx.try_recv() {
                    Ok(job) => {
                        total += job.batch.events.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            (jobs, total)
        };
        // Requests whose senders stopped waiting (timed out) are not applied.
        jobs.retain(|j| !j.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let span = tracing::debug_span!("ingest_group", requests = jobs.len(), events = total);
        let _guard = span.enter();
        let Some(conn) = link.get(&store) else {
            for job in jobs {
                let _ = job
                    .reply
                    .send(Err(IngestError::Storage(StoreError::Connection(
                        "the database is unreachable; the ingest writer is reconnecting".into(),
                    ))));
            }
            continue;
        };
        let (batches, replies): (Vec<IngestBatch>, Vec<_>) =
            jobs.into_iter().map(|j| (j.batch, j.reply)).unzip();
        let retries_before = ingestor.retries();
        let applied = ingestor.apply(conn, &batches);
        stats
            .race_retries
            .fetch_add(ingestor.retries() - retries_before, Ordering::Relaxed);
        match applied {
            Ok(results) => {
                stats.transactions.fetch_add(1, Ordering::Relaxed);
                store.record_write_success();
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) if e.fault().is_some() => {
                // The database, not a request, is at fault: retrying each request alone
                // would only fail again, slower. Answer all now.
                tracing::warn!(error = %e, requests = replies.len(), "group transaction failed");
                store.record_write_failure(&e);
                link.check(&store);
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(IngestError::Storage(same_fault(&e, &message))));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "group transaction failed; retrying requests one by one");
                link.check(&store);
                // A failure of the group says nothing about which request caused it:
                // retry each alone, so one bad request cannot fail its neighbours.
                for (batch, reply) in batches.iter().zip(replies) {
                    pulse.working();
                    let result = match link.get(&store) {
                        None => Err(IngestError::Storage(StoreError::Connection(
                            "the database is unreachable; the ingest writer is reconnecting".into(),
                        ))),
                        Some(conn) => match ingestor.apply(conn, std::slice::from_ref(batch)) {
                            Ok(mut r) => {
                                store.record_write_success();
                                r.pop().unwrap_or(Err(IngestError::Closed))
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "ingest transaction failed");
                                store.record_write_failure(&e);
                                link.check(&store);
                                Err(IngestError::Storage(e))
                            }
                        },
                    };
                    let _ = reply.send(result);
                }
            }
        }
    }
}

/// A copy of a faulted group's error for each of its requests (diesel errors do not clone).
fn same_fault(e: &StoreError, message: &str) -> StoreError {
    match e.fault() {
        Some(Fault::ReadOnly) => StoreError::ReadOnly(message.to_owned()),
        Some(Fault::StorageFull | Fault::Busy) => {
            StoreError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new(message.to_owned()),
            ))
        }
        _ => StoreError::Connection(message.to_owned()),
    }
}

/// The writer's own connection; after a failure it is checked and, when broken, reopened
/// on demand, at most once per [`RECONNECT_PAUSE`] while the database stays away.
struct Link {
    conn: Option<DbConn>,
    retry_at: Instant,
    /// When the connection last did a group's work.
    used_at: Instant,
}

/// How long a writer's connection may sit unused before it is checked before its next
/// group: with several writers, one may idle through an outage and hold a dead
/// connection when the database is back.
const IDLE_CHECK: Duration = Duration::from_secs(1);

impl Link {
    /// The connection, reconnecting first when it was lost and the pause is over.
    fn get(&mut self, store: &Store) -> Option<&mut DbConn> {
        use diesel::connection::SimpleConnection;
        let now = Instant::now();
        if now.duration_since(self.used_at) > IDLE_CHECK
            && let Some(conn) = self.conn.as_mut()
            && conn.batch_execute("SELECT 1").is_err()
        {
            tracing::warn!("ingest writer's idle connection is gone; reconnecting");
            self.conn = None;
            self.retry_at = now;
        }
        self.used_at = now;
        if self.conn.is_none() && Instant::now() >= self.retry_at {
            match store.dedicated() {
                Ok(c) => {
                    tracing::info!("ingest writer reconnected to the database");
                    self.conn = Some(c);
                }
                Err(e) => {
                    tracing::error!(error = %e, "ingest writer cannot reconnect; retrying shortly");
                    self.retry_at = Instant::now() + RECONNECT_PAUSE;
                }
            }
        }
        self.conn.as_mut()
    }

    /// After a failed transaction: drops the connection when it no longer works (or its
    /// transaction state is broken), so that the next group reconnects.
    fn check(&mut self, store: &Store) {
        use diesel::connection::SimpleConnection;
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let works = conn.batch_execute("SELECT 1").is_ok()
            && conn
                .transaction(|_| Ok::<_, diesel::result::Error>(()))
                .is_ok();
        if !works {
            tracing::warn!("ingest writer lost its database connection; reconnecting");
            self.conn = None;
            self.retry_at = Instant::now();
            let _ = self.get(store);
        }
    }
}

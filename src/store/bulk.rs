//! PostgreSQL's set-based writes for the ingest group transaction: everything a group
//! writes for one initiative goes in as one statement whose columns are bound as arrays and
//! expanded with `unnest` (data-modifying `WITH` parts, one per table), so a group costs the
//! same few round trips at 1 or 20,000 events, and the server parses one short statement
//! instead of one with a bind parameter per value.
//!
//! How concurrent instances stay exact without a per-initiative lock:
//! - **customers**: the group reads the customers it names with `FOR UPDATE`, in
//!   `customer_id` order (`ingest::prefetch`), so two instances touching one customer take
//!   turns on that row only. A customer new to the group is inserted without `ON
//!   CONFLICT`: if another instance inserted it meanwhile, the insert fails with a unique
//!   violation and the whole group is retried (`ingest::Ingestor::apply`), reading the
//!   row it missed.
//! - **events**: inserted without `ON CONFLICT` likewise: an `event_id` stored by another
//!   instance after this group looked makes the group retry, and the retry sees it as a
//!   duplicate (or a conflict).
//! - **aggregate cells and daily counts**: commutative deltas (`x = x + excluded.x`),
//!   written last and in key order, so their row locks are held only until the commit
//!   and two groups never wait for each other in a cycle.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text, Timestamp};

use super::StoreError;
use super::ingest::{CellDeltaRow, CustomerRow, DailyDeltaRow, NewEventRow};

/// Writes one initiative's share of a group in one statement (one round trip), each kind
/// of row bound as arrays and expanded with `unnest`:
/// - the new events, in order (the `id` sequence follows the array order);
/// - the customers: the ones read `FOR UPDATE` at the start of the transaction (`stored`)
///   are updated, the new ones inserted without `ON CONFLICT` (a unique violation means
///   another instance got there first: the caller retries the group);
/// - the deltas of the daily counts and the aggregate cells, commutative
///   (`x = x + excluded.x`), in key order (the caller sorts), so that two groups never wait
///   for each other in a cycle on them.
pub(super) fn write_group(
    conn: &mut PgConnection,
    initiative_id: i64,
    events: &[NewEventRow],
    new: &[CustomerRow],
    stored: &[CustomerRow],
    cells: &[CellDeltaRow],
    daily: &[DailyDeltaRow],
) -> Result<(), StoreError> {
    if events.is_empty()
        && new.is_empty()
        && stored.is_empty()
        && cells.is_empty()
        && daily.is_empty()
    {
        return Ok(());
    }
    fn col<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    diesel::sql_query(
        "WITH new_events AS ( \
           INSERT INTO events (initiative_id, event_id, event_type, customer_id, occurred_at, \
             received_at, segment, variant, amount_cents, currency, sentiment, preorder_kind) \
           SELECT $1, u.event_id, u.event_type, u.customer_id, u.occurred_at, u.received_at, \
             u.segment, u.variant, u.amount_cents, u.currency, u.sentiment, u.preorder_kind \
           FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamp[], $6::timestamp[], \
             $7::text[], $8::text[], $9::int8[], $10::text[], $11::text[], $36::text[]) \
             WITH ORDINALITY \
             AS u(event_id, event_type, customer_id, occurred_at, received_at, segment, variant, \
             amount_cents, currency, sentiment, preorder_kind, n) \
           ORDER BY u.n), \
         changed_customers AS ( \
           UPDATE customers c SET active_cents = u.active_cents, cancelled = u.cancelled, \
             sentiment = u.sentiment, sentiment_at = u.sentiment_at, \
             money_down = u.money_down, paid = u.paid \
           FROM unnest($12::text[], $13::int8[], $14::bool[], $15::text[], $16::timestamp[], \
             $37::bool[], $38::bool[]) \
             AS u(customer_id, active_cents, cancelled, sentiment, sentiment_at, money_down, \
             paid) \
           WHERE c.initiative_id = $1 AND c.customer_id = u.customer_id), \
         new_customers AS ( \
           INSERT INTO customers (initiative_id, customer_id, segment, variant, \
             first_exposed_at, active_cents, cancelled, sentiment, sentiment_at, money_down, \
             paid) \
           SELECT $1, u.* FROM unnest($17::text[], $18::text[], $19::text[], $20::timestamp[], \
             $21::int8[], $22::bool[], $23::text[], $24::timestamp[], $39::bool[], \
             $40::bool[]) AS u), \
         days AS ( \
           INSERT INTO daily_counts (initiative_id, day, exposures, preorders) \
           SELECT $1, u.day, u.exposures, u.preorders \
           FROM unnest($25::text[], $26::int8[], $27::int8[]) WITH ORDINALITY \
             AS u(day, exposures, preorders, n) ORDER BY u.n \
           ON CONFLICT (initiative_id, day) DO UPDATE SET \
             exposures = daily_counts.exposures + excluded.exposures, \
             preorders = daily_counts.preorders + excluded.preorders) \
         INSERT INTO aggregate_cells (initiative_id, segment, variant, sentiment, preordered, \
           customers, cancelled, revenue_cents, revenue_sq_cents, money_down, paid) \
         SELECT $1, u.segment, u.variant, u.sentiment, u.preordered, u.customers, u.cancelled, \
           u.revenue_cents, u.revenue_sq_cents, u.money_down, u.paid \
         FROM unnest($28::text[], $29::text[], $30::text[], $31::bool[], $32::int8[], \
           $33::int8[], $34::int8[], $35::float8[], $41::int8[], $42::int8[]) WITH ORDINALITY \
           AS u(segment, variant, sentiment, preordered, customers, cancelled, revenue_cents, \
           revenue_sq_cents, money_down, paid, n) \
         ORDER BY u.n \
         ON CONFLICT (initiative_id, segment, variant, sentiment, preordered) DO UPDATE SET \
           customers = aggregate_cells.customers + excluded.customers, \
           cancelled = aggregate_cells.cancelled + excluded.cancelled, \
           revenue_cents = aggregate_cells.revenue_cents + excluded.revenue_cents, \
           revenue_sq_cents = aggregate_cells.revenue_sq_cents + excluded.revenue_sq_cents, \
           money_down = aggregate_cells.money_down + excluded.money_down, \
           paid = aggregate_cells.paid + excluded.paid",
    )
    .bind::<BigInt, _>(initiative_id)
    // events: $2-$11
    .bind::<Array<Text>, _>(col(events, |r| r.event_id.as_str()))
    .bind::<Array<Text>, _>(col(events, |r| r.event_type))
    .bind::<Array<Text>, _>(col(events, |r| r.customer_id.as_str()))
    .bind::<Array<Timestamp>, _>(col(events, |r| r.occurred_at))
    .bind::<Array<Timestamp>, _>(col(events, |r| r.received_at))
    .bind::<Array<Nullable<Text>>, _>(col(events, |r| r.segment.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(col(events, |r| r.variant.as_deref()))
    .bind::<Array<Nullable<BigInt>>, _>(col(events, |r| r.amount_cents))
    .bind::<Array<Nullable<Text>>, _>(col(events, |r| r.currency.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(col(events, |r| r.sentiment))
    // stored customers: $12-$16
    .bind::<Array<Text>, _>(col(stored, |r| r.customer_id.as_str()))
    .bind::<Array<BigInt>, _>(col(stored, |r| r.active_cents))
    .bind::<Array<Bool>, _>(col(stored, |r| r.cancelled))
    .bind::<Array<Nullable<Text>>, _>(col(stored, |r| r.sentiment))
    .bind::<Array<Nullable<Timestamp>>, _>(col(stored, |r| r.sentiment_at))
    // new customers: $17-$24
    .bind::<Array<Text>, _>(col(new, |r| r.customer_id.as_str()))
    .bind::<Array<Text>, _>(col(new, |r| r.segment.as_str()))
    .bind::<Array<Text>, _>(col(new, |r| r.variant.as_str()))
    .bind::<Array<Timestamp>, _>(col(new, |r| r.first_exposed_at))
    .bind::<Array<BigInt>, _>(col(new, |r| r.active_cents))
    .bind::<Array<Bool>, _>(col(new, |r| r.cancelled))
    .bind::<Array<Nullable<Text>>, _>(col(new, |r| r.sentiment))
    .bind::<Array<Nullable<Timestamp>>, _>(col(new, |r| r.sentiment_at))
    // daily counts: $25-$27
    .bind::<Array<Text>, _>(col(daily, |r| r.day.as_str()))
    .bind::<Array<BigInt>, _>(col(daily, |r| r.exposures))
    .bind::<Array<BigInt>, _>(col(daily, |r| r.preorders))
    // aggregate cells: $28-$35
    .bind::<Array<Text>, _>(col(cells, |r| r.segment.as_str()))
    .bind::<Array<Text>, _>(col(cells, |r| r.variant.as_str()))
    .bind::<Array<Nullable<Text>>, _>(col(cells, |r| r.sentiment))
    .bind::<Array<Bool>, _>(col(cells, |r| r.preordered))
    .bind::<Array<BigInt>, _>(col(cells, |r| r.customers))
    .bind::<Array<BigInt>, _>(col(cells, |r| r.cancelled))
    .bind::<Array<BigInt>, _>(col(cells, |r| r.revenue_cents))
    .bind::<Array<Double>, _>(col(cells, |r| r.revenue_sq_cents))
    // added later, in the order of their numbers: $36-$42
    .bind::<Array<Nullable<Text>>, _>(col(events, |r| r.preorder_kind))
    .bind::<Array<Bool>, _>(col(stored, |r| r.money_down))
    .bind::<Array<Bool>, _>(col(stored, |r| r.paid))
    .bind::<Array<Bool>, _>(col(new, |r| r.money_down))
    .bind::<Array<Bool>, _>(col(new, |r| r.paid))
    .bind::<Array<BigInt>, _>(col(cells, |r| r.money_down))
    .bind::<Array<BigInt>, _>(col(cells, |r| r.paid))
    .execute(conn)?;
    Ok(())
}

/// Whether a failed group transaction lost a race with another instance and is worth
/// running again from the start: a serialization failure (40001), a deadlock (40P01), or
/// a unique violation on a row this group believed absent (an event id or a customer
/// inserted by another instance after this group read).
pub(super) fn lost_a_race(e: &StoreError) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        StoreError::Database(Error::DatabaseError(kind, info)) => {
            matches!(kind, Kind::SerializationFailure | Kind::UniqueViolation)
                || info.message().contains("deadlock detected")
        }
        _ => false,
    }
}

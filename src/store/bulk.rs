//! PostgreSQL's set-based writes for the ingest group transaction: each kind of row a
//! group writes goes in as one statement whose columns are bound as arrays and expanded
//! with `unnest`, so a group costs the same few round trips at 1 or 20,000 events, and the
//! server parses one short statement instead of one with a bind parameter per value.
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

/// Inserts a group's new events, in order (the `id` sequence follows the array order).
pub(super) fn insert_events(
    conn: &mut PgConnection,
    initiative_id: i64,
    rows: &[NewEventRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&NewEventRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    diesel::sql_query(
        "INSERT INTO events (initiative_id, event_id, event_type, customer_id, occurred_at, \
         received_at, segment, variant, amount_cents, currency, sentiment) \
         SELECT $1, u.event_id, u.event_type, u.customer_id, u.occurred_at, u.received_at, \
         u.segment, u.variant, u.amount_cents, u.currency, u.sentiment \
         FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamp[], \
         $6::timestamp[], $7::text[], $8::text[], $9::int8[], $10::text[], $11::text[]) \
         WITH ORDINALITY AS u(event_id, event_type, customer_id, occurred_at, received_at, \
         segment, variant, amount_cents, currency, sentiment, n) ORDER BY u.n",
    )
    .bind::<BigInt, _>(initiative_id)
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.event_type).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|r| r.customer_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.received_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(column(|r| r.segment.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|r| r.variant.clone()))
    .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|r| r.amount_cents).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(column(|r| r.currency.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|r| r.sentiment.map(str::to_owned)))
    .execute(conn)?;
    Ok(())
}

/// Writes the group's customers: inserts the new ones (a unique violation means another
/// instance got there first: the caller retries the group) and updates the ones read
/// `FOR UPDATE` at the start of the transaction, in one statement.
pub(super) fn write_customers(
    conn: &mut PgConnection,
    initiative_id: i64,
    new: &[CustomerRow],
    stored: &[CustomerRow],
) -> Result<(), StoreError> {
    if new.is_empty() && stored.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "WITH changed AS ( \
           UPDATE customers c SET active_cents = u.active_cents, cancelled = u.cancelled, \
             sentiment = u.sentiment, sentiment_at = u.sentiment_at \
           FROM unnest($2::text[], $3::int8[], $4::bool[], $5::text[], $6::timestamp[]) \
             AS u(customer_id, active_cents, cancelled, sentiment, sentiment_at) \
           WHERE c.initiative_id = $1 AND c.customer_id = u.customer_id) \
         INSERT INTO customers (initiative_id, customer_id, segment, variant, first_exposed_at, \
           active_cents, cancelled, sentiment, sentiment_at) \
         SELECT $1, * FROM unnest($7::text[], $8::text[], $9::text[], $10::timestamp[], \
           $11::int8[], $12::bool[], $13::text[], $14::timestamp[])",
    )
    .bind::<BigInt, _>(initiative_id)
    .bind::<Array<Text>, _>(
        stored
            .iter()
            .map(|r| r.customer_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<BigInt>, _>(stored.iter().map(|r| r.active_cents).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(stored.iter().map(|r| r.cancelled).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        stored
            .iter()
            .map(|r| r.sentiment.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Timestamp>>, _>(
        stored.iter().map(|r| r.sentiment_at).collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(
        new.iter()
            .map(|r| r.customer_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(new.iter().map(|r| r.segment.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(new.iter().map(|r| r.variant.as_str()).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(new.iter().map(|r| r.first_exposed_at).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(new.iter().map(|r| r.active_cents).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(new.iter().map(|r| r.cancelled).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(new.iter().map(|r| r.sentiment.clone()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamp>>, _>(new.iter().map(|r| r.sentiment_at).collect::<Vec<_>>())
    .execute(conn)?;
    Ok(())
}

/// Adds the group's deltas to the aggregate cells and the daily counts, in key order
/// (the caller sorts), in one statement.
pub(super) fn add_deltas(
    conn: &mut PgConnection,
    initiative_id: i64,
    cells: &[CellDeltaRow],
    daily: &[DailyDeltaRow],
) -> Result<(), StoreError> {
    if cells.is_empty() && daily.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "WITH days AS ( \
           INSERT INTO daily_counts (initiative_id, day, exposures, preorders) \
           SELECT $1, u.day, u.exposures, u.preorders FROM unnest($10::text[], $11::int8[], $12::int8[]) \
             WITH ORDINALITY AS u(day, exposures, preorders, n) ORDER BY u.n \
           ON CONFLICT (initiative_id, day) DO UPDATE SET \
             exposures = daily_counts.exposures + excluded.exposures, \
             preorders = daily_counts.preorders + excluded.preorders) \
         INSERT INTO aggregate_cells (initiative_id, segment, variant, sentiment, preordered, \
           customers, cancelled, revenue_cents, revenue_sq_cents) \
         SELECT $1, u.segment, u.variant, u.sentiment, u.preordered, u.customers, u.cancelled, \
           u.revenue_cents, u.revenue_sq_cents \
         FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[], $6::int8[], $7::int8[], \
           $8::int8[], $9::float8[]) WITH ORDINALITY AS u(segment, variant, sentiment, \
           preordered, customers, cancelled, revenue_cents, revenue_sq_cents, n) ORDER BY u.n \
         ON CONFLICT (initiative_id, segment, variant, sentiment, preordered) DO UPDATE SET \
           customers = aggregate_cells.customers + excluded.customers, \
           cancelled = aggregate_cells.cancelled + excluded.cancelled, \
           revenue_cents = aggregate_cells.revenue_cents + excluded.revenue_cents, \
           revenue_sq_cents = aggregate_cells.revenue_sq_cents + excluded.revenue_sq_cents",
    )
    .bind::<BigInt, _>(initiative_id)
    .bind::<Array<Text>, _>(cells.iter().map(|r| r.segment.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(cells.iter().map(|r| r.variant.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(cells.iter().map(|r| r.sentiment).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(cells.iter().map(|r| r.preordered).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(cells.iter().map(|r| r.customers).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(cells.iter().map(|r| r.cancelled).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(cells.iter().map(|r| r.revenue_cents).collect::<Vec<_>>())
    .bind::<Array<Double>, _>(cells.iter().map(|r| r.revenue_sq_cents).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(daily.iter().map(|r| r.day.as_str()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(daily.iter().map(|r| r.exposures).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(daily.iter().map(|r| r.preorders).collect::<Vec<_>>())
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

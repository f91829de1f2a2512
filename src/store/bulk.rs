//! PostgreSQL's set-based reads and writes for the ingest group transaction: everything a
//! group writes for one initiative goes in as one prepared statement whose columns are
//! bound as arrays and expanded with `unnest`, so a group costs the same few round trips at
//! 1 or 20,000 events; only its many new events and customers go ahead of it with `COPY`.
//!
//! How concurrent instances stay exact without a per-initiative lock:
//! - **customers**: the group reads the customers it names with `FOR UPDATE`, in
//!   `customer_id` order ([`lock_customers`]), so two instances touching one customer take
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

use chrono::NaiveDateTime;
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text, Timestamp};

use super::StoreError;
use super::ingest::{CellDeltaRow, CustomerRow, DailyDeltaRow, EventContent, NewEventRow};
use super::schema::{customers, events};
use crate::domain::{PreorderKind, Sentiment};

// The look-ups below probe the unique index once per id (`unnest` joined `LATERAL` to a
// `LIMIT 1` subquery) instead of `key = ANY($ids)`, and are planned on every call (sent
// unnamed, like every `sql_query`). Measured (BENCHMARKS.md, issue 15): a cached generic
// plan of `initiative_id = $1 AND event_id = ANY($2)`, made while the table was young,
// scanned every row of the initiative through the `(initiative_id, id)` index and filtered
// (7-14 ms a group at 10,000 rows, growing with the pilot), and even a fresh plan of the
// `= ANY` form picks that index until the table is first analysed. A probe by the full
// unique key has no such choice once the table holds more than a few rows.

/// The stored customers among `ids` (sorted, distinct), locked `FOR UPDATE` in that order:
/// each probe locks its row as the nested loop reaches it, in the array's order.
pub(super) fn lock_customers(
    conn: &mut PgConnection,
    initiative_id: i64,
    ids: &[&str],
) -> Result<Vec<CustomerRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT c.* FROM unnest($1::text[]) AS u(customer_id) \
         CROSS JOIN LATERAL (SELECT * FROM customers \
           WHERE initiative_id = $2 AND customer_id = u.customer_id LIMIT 1 FOR UPDATE) c",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<BigInt, _>(initiative_id)
    .load(conn)?)
}

/// The stored events among `ids`, with what makes them the same event.
pub(super) fn stored_events(
    conn: &mut PgConnection,
    initiative_id: i64,
    ids: &[&str],
) -> Result<Vec<(String, EventContent)>, StoreError> {
    #[derive(QueryableByName)]
    #[diesel(table_name = super::schema::events)]
    struct Stored {
        event_id: String,
        #[diesel(embed)]
        content: EventContent,
    }
    let rows: Vec<Stored> = diesel::sql_query(
        "SELECT e.* FROM unnest($1::text[]) AS u(event_id) \
         CROSS JOIN LATERAL (SELECT * FROM events \
           WHERE initiative_id = $2 AND event_id = u.event_id LIMIT 1) e",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<BigInt, _>(initiative_id)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.event_id, r.content)).collect())
}

/// Writes one initiative's share of a group in one statement (one round trip), each kind
/// of row bound as arrays and expanded with `unnest`, in this order:
/// 1. the new events, in order (the `id` sequence follows the array order);
/// 2. the new customers, inserted without `ON CONFLICT` (a unique violation means another
///    instance got there first: the caller retries the group);
/// 3. the customers read `FOR UPDATE` at the start of the transaction (`stored`), their
///    new state written through the primary key's conflict arbiter (an `UPDATE … FROM
///    unnest` join would leave the planner a choice of join, and it chooses badly while
///    the table is young);
/// 4. last, the deltas of the aggregate cells and daily counts, commutative
///    (`x = x + excluded.x`) and in key order (the caller sorts). These are the pilot's
///    hot rows, which every concurrent group (another writer or instance) locks too:
///    taken at the end of the statement, just before the commit, their locks are held
///    briefly, and two groups never wait for each other in a cycle.
///
/// Parts of a statement run in no promised order, so the order is forced: the cells'
/// insert reads the counts of parts 1-3 (`RETURNING 1`) in a one-time filter, which runs
/// those parts to completion before the first cell is touched, and the daily counts,
/// referenced by nothing, run after the main insert.
///
/// Parts 1 and 2 of at least `copy_from_rows` rows are sent before the statement with
/// binary `COPY` instead (`diesel::copy_from`): plain inserts both, so nothing else
/// changes, and a unique violation is the same error either way.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_group(
    conn: &mut PgConnection,
    initiative_id: i64,
    events: &[NewEventRow],
    new: &[CustomerRow],
    stored: &[CustomerRow],
    cells: &[CellDeltaRow],
    daily: &[DailyDeltaRow],
    copy_from_rows: usize,
) -> Result<(), StoreError> {
    let events = copy_if_many(events, copy_from_rows, |rows| {
        diesel::copy_from(events::table)
            .from_insertable(rows)
            .execute(conn)
    })?;
    let new = copy_if_many(new, copy_from_rows, |rows| {
        diesel::copy_from(customers::table)
            .from_insertable(rows)
            .execute(conn)
    })?;
    if events.is_empty()
        && new.is_empty()
        && stored.is_empty()
        && cells.is_empty()
        && daily.is_empty()
    {
        return Ok(());
    }
    WriteGroup {
        binds: write_group_binds(initiative_id, events, new, stored, cells, daily),
    }
    .execute(conn)?;
    Ok(())
}

/// `rows` when they are fewer than `min`; else none, once `copy` has sent them.
fn copy_if_many<'a, T>(
    rows: &'a [T],
    min: usize,
    copy: impl FnOnce(&'a [T]) -> QueryResult<usize>,
) -> Result<&'a [T], StoreError> {
    if rows.len() < min {
        return Ok(rows);
    }
    copy(rows)?;
    Ok(&[])
}

/// The binds of [`WRITE_GROUP_SQL`], `$1`-`$45` in order.
fn write_group_binds<'a>(
    initiative_id: i64,
    events: &'a [NewEventRow],
    new: &'a [CustomerRow],
    stored: &'a [CustomerRow],
    cells: &'a [CellDeltaRow],
    daily: &'a [DailyDeltaRow],
) -> Vec<Bind<'a>> {
    let mut binds = vec![
        Bind::Id(initiative_id),
        // events: $2-$12
        Bind::Text(col(events, |r| r.event_id.as_str())),
        Bind::Text(col(events, |r| r.event_type.as_str())),
        Bind::Text(col(events, |r| r.customer_id.as_str())),
        Bind::Time(col(events, |r| r.occurred_at)),
        Bind::Time(col(events, |r| r.received_at)),
        Bind::OptText(col(events, |r| r.segment.as_deref())),
        Bind::OptText(col(events, |r| r.variant.as_deref())),
        Bind::OptInt(col(events, |r| r.amount_cents)),
        Bind::OptText(col(events, |r| r.currency.as_deref())),
        Bind::OptText(col(events, |r| r.sentiment.map(Sentiment::as_str))),
        Bind::OptText(col(events, |r| r.preorder_kind.map(PreorderKind::as_str))),
    ];
    // new customers: $13-$22, then stored customers: $23-$32
    for rows in [new, stored] {
        binds.extend([
            Bind::Text(col(rows, |r| r.customer_id.as_str())),
            Bind::Text(col(rows, |r| r.segment.as_str())),
            Bind::Text(col(rows, |r| r.variant.as_str())),
            Bind::Time(col(rows, |r| r.first_exposed_at)),
            Bind::Int(col(rows, |r| r.active_cents)),
            Bind::Bool(col(rows, |r| r.cancelled)),
            Bind::OptText(col(rows, |r| r.sentiment.map(Sentiment::as_str))),
            Bind::OptTime(col(rows, |r| r.sentiment_at)),
            Bind::Bool(col(rows, |r| r.money_down)),
            Bind::Bool(col(rows, |r| r.paid)),
        ]);
    }
    binds.extend([
        // daily counts: $33-$35
        Bind::Text(col(daily, |r| r.day.as_str())),
        Bind::Int(col(daily, |r| r.exposures)),
        Bind::Int(col(daily, |r| r.preorders)),
        // aggregate cells: $36-$45
        Bind::Text(col(cells, |r| r.segment.as_str())),
        Bind::Text(col(cells, |r| r.variant.as_str())),
        Bind::OptText(col(cells, |r| r.sentiment.map(Sentiment::as_str))),
        Bind::Bool(col(cells, |r| r.preordered)),
        Bind::Int(col(cells, |r| r.customers)),
        Bind::Int(col(cells, |r| r.cancelled)),
        Bind::Int(col(cells, |r| r.revenue_cents)),
        Bind::Float(col(cells, |r| r.revenue_sq_cents)),
        Bind::Int(col(cells, |r| r.money_down)),
        Bind::Int(col(cells, |r| r.paid)),
    ]);
    binds
}

/// The statement of [`write_group`]. Its binds are `$1`-`$45`, made by
/// [`write_group_binds`].
const WRITE_GROUP_SQL: &str = "WITH new_events AS ( \
           INSERT INTO events (initiative_id, event_id, event_type, customer_id, occurred_at, \
             received_at, segment, variant, amount_cents, currency, sentiment, preorder_kind) \
           SELECT $1, u.event_id, u.event_type, u.customer_id, u.occurred_at, u.received_at, \
             u.segment, u.variant, u.amount_cents, u.currency, u.sentiment, u.preorder_kind \
           FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamp[], $6::timestamp[], \
             $7::text[], $8::text[], $9::int8[], $10::text[], $11::text[], $12::text[]) \
             WITH ORDINALITY \
             AS u(event_id, event_type, customer_id, occurred_at, received_at, segment, variant, \
             amount_cents, currency, sentiment, preorder_kind, n) \
           ORDER BY u.n \
           RETURNING 1), \
         new_customers AS ( \
           INSERT INTO customers (initiative_id, customer_id, segment, variant, \
             first_exposed_at, active_cents, cancelled, sentiment, sentiment_at, money_down, \
             paid) \
           SELECT $1, u.* FROM unnest($13::text[], $14::text[], $15::text[], $16::timestamp[], \
             $17::int8[], $18::bool[], $19::text[], $20::timestamp[], $21::bool[], \
             $22::bool[]) AS u \
           RETURNING 1), \
         changed_customers AS ( \
           INSERT INTO customers (initiative_id, customer_id, segment, variant, \
             first_exposed_at, active_cents, cancelled, sentiment, sentiment_at, money_down, \
             paid) \
           SELECT $1, u.* FROM unnest($23::text[], $24::text[], $25::text[], $26::timestamp[], \
             $27::int8[], $28::bool[], $29::text[], $30::timestamp[], $31::bool[], \
             $32::bool[]) AS u \
           ON CONFLICT (initiative_id, customer_id) DO UPDATE SET \
             active_cents = excluded.active_cents, cancelled = excluded.cancelled, \
             sentiment = excluded.sentiment, sentiment_at = excluded.sentiment_at, \
             money_down = excluded.money_down, paid = excluded.paid \
           RETURNING 1), \
         days AS ( \
           INSERT INTO daily_counts (initiative_id, day, exposures, preorders) \
           SELECT $1, u.day, u.exposures, u.preorders \
           FROM unnest($33::text[], $34::int8[], $35::int8[]) WITH ORDINALITY \
             AS u(day, exposures, preorders, n) ORDER BY u.n \
           ON CONFLICT (initiative_id, day) DO UPDATE SET \
             exposures = daily_counts.exposures + excluded.exposures, \
             preorders = daily_counts.preorders + excluded.preorders) \
         INSERT INTO aggregate_cells (initiative_id, segment, variant, sentiment, preordered, \
           customers, cancelled, revenue_cents, revenue_sq_cents, money_down, paid) \
         SELECT $1, u.segment, u.variant, u.sentiment, u.preordered, u.customers, u.cancelled, \
           u.revenue_cents, u.revenue_sq_cents, u.money_down, u.paid \
         FROM unnest($36::text[], $37::text[], $38::text[], $39::bool[], $40::int8[], \
           $41::int8[], $42::int8[], $43::float8[], $44::int8[], $45::int8[]) WITH ORDINALITY \
           AS u(segment, variant, sentiment, preordered, customers, cancelled, revenue_cents, \
           revenue_sq_cents, money_down, paid, n) \
         WHERE (SELECT count(*) FROM new_events) + (SELECT count(*) FROM new_customers) \
           + (SELECT count(*) FROM changed_customers) >= 0 \
         ORDER BY u.n \
         ON CONFLICT (initiative_id, segment, variant, sentiment, preordered) DO UPDATE SET \
           customers = aggregate_cells.customers + excluded.customers, \
           cancelled = aggregate_cells.cancelled + excluded.cancelled, \
           revenue_cents = aggregate_cells.revenue_cents + excluded.revenue_cents, \
           revenue_sq_cents = aggregate_cells.revenue_sq_cents + excluded.revenue_sq_cents, \
           money_down = aggregate_cells.money_down + excluded.money_down, \
           paid = aggregate_cells.paid + excluded.paid";

/// [`WRITE_GROUP_SQL`] with its binds, kept prepared on each writer's connection: diesel
/// caches a statement whose `QueryId` is static, so the server parses and analyses it once
/// per connection and, after a few runs, reuses a generic plan. A `sql_query` is sent
/// unnamed and planned on every call, which cost a group of single events a third of the
/// server's time (BENCHMARKS.md, issue 15, session 6). A generic plan is safe here, unlike
/// for the look-ups above: the statement reads no table, it only inserts what it is given
/// (the conflict arbiters are fixed by the statement).
struct WriteGroup<'a> {
    binds: Vec<Bind<'a>>,
}

/// One bind of [`WriteGroup`]: the initiative's id, or one column of rows as an array.
enum Bind<'a> {
    Id(i64),
    Text(Vec<&'a str>),
    OptText(Vec<Option<&'a str>>),
    Time(Vec<NaiveDateTime>),
    OptTime(Vec<Option<NaiveDateTime>>),
    Int(Vec<i64>),
    OptInt(Vec<Option<i64>>),
    Bool(Vec<bool>),
    Float(Vec<f64>),
}

impl QueryId for WriteGroup<'_> {
    type QueryId = WriteGroup<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<PgConnection> for WriteGroup<'_> {}

impl QueryFragment<Pg> for WriteGroup<'_> {
    /// Pushes the statement piece by piece, each `$n` as the `n`th bind (diesel numbers
    /// the placeholders it pushes in order, so `$1`, used five times, is bound five times).
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut rest = WRITE_GROUP_SQL;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let n: usize = rest[at + 1..at + 1 + digits]
                .parse()
                .map_err(|_| diesel::result::Error::QueryBuilderError("a bare $".into()))?;
            let bind = n
                .checked_sub(1)
                .and_then(|i| self.binds.get(i))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(format!("no ${n}").into())
                })?;
            match bind {
                Bind::Id(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::Text(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Bind::OptText(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Bind::Time(v) => out.push_bind_param::<Array<Timestamp>, _>(v)?,
                Bind::OptTime(v) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(v)?,
                Bind::Int(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Bind::OptInt(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Array<Bool>, _>(v)?,
                Bind::Float(v) => out.push_bind_param::<Array<Double>, _>(v)?,
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

/// One column of `rows`, to bind as an array.
fn col<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bind of [`WriteGroup`] is used by the statement, and the statement uses no
    /// other: a `$n` added or removed on one side only fails here, not on a live server.
    #[test]
    fn the_write_statement_uses_each_bind() {
        let mut used = std::collections::BTreeSet::new();
        let mut rest = WRITE_GROUP_SQL;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            used.insert(rest[at + 1..at + 1 + digits].parse::<usize>().unwrap());
            rest = &rest[at + 1 + digits..];
        }
        assert_eq!(used, (1..=45).collect());
        let empty = write_group_binds(1, &[], &[], &[], &[], &[]);
        assert_eq!(empty.len(), 45);
        // Pushed piece by piece, the placeholders are renumbered in order of use.
        let sql = diesel::debug_query::<Pg, _>(&WriteGroup { binds: empty }).to_string();
        let pushed = sql.split(" -- binds:").next().unwrap().matches('$').count();
        assert_eq!(pushed, WRITE_GROUP_SQL.matches('$').count());
        assert!(sql.contains(&format!("${pushed}")) && !sql.contains(&format!("${}", pushed + 1)));
    }
}

//! Raw events, read back in ingestion order.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::declare_sql_function;
use diesel::expression::TypedExpressionType;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Integer, SqlType, Text};

use super::schema::events;
use super::{DbConn, StoreError, to_utc};
use crate::domain::{EventKind, PreorderKind, Sentiment};

/// A stored event as it was received.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct StoredEventRow {
    pub id: i64,
    pub event_id: String,
    pub event_type: EventKind,
    pub customer_id: String,
    pub occurred_at: chrono::NaiveDateTime,
    pub received_at: chrono::NaiveDateTime,
    pub segment: Option<String>,
    pub variant: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub sentiment: Option<Sentiment>,
    /// A pre-order's kind (NULL on every other type).
    pub preorder_kind: Option<PreorderKind>,
}

impl StoredEventRow {
    pub fn occurred_at_utc(&self) -> DateTime<Utc> {
        to_utc(self.occurred_at)
    }

    pub fn received_at_utc(&self) -> DateTime<Utc> {
        to_utc(self.received_at)
    }
}

/// The page query, written once so that [`page`] and [`page_plan`] run the same SQL:
/// a keyset read of `initiative_id = ? AND id > ?` in `id` order, which the index
/// `events_initiative_seq (initiative_id, id)` serves without a sort, so a page costs
/// the same however many events are stored before or after it.
///
/// Each backend's planner is steered to that index, because the primary key also
/// serves `id > ? ORDER BY id` (filtering `initiative_id` row by row) and, with
/// statistics, looks as cheap when one initiative holds most rows; but it reads every
/// other initiative's rows between the cursor and the page's end (the last page, or a
/// poll at the tail, of an initiative older than the busy one reads the whole table).
/// - SQLite: `unlikely(initiative_id = ?)` tells the planner the initiative is a small
///   part of the table, so the index bounded by both keys wins even after `ANALYZE`.
/// - PostgreSQL: `initiative_id` is bounded by `>= ? AND <= ?` instead of `=`, and the
///   order is `(initiative_id, id)`: only the composite index yields that order, and a
///   B-tree scan still starts at `(initiative_id, cursor)` after an inclusive bound.
macro_rules! page_query {
    (sqlite, $initiative_id:expr, $after:expr, $limit:expr) => {
        events::table
            .select(StoredEventRow::as_select())
            .filter(unlikely(events::initiative_id.eq($initiative_id)))
            .filter(events::id.gt($after))
            .order(events::id.asc())
            .limit($limit)
    };
    (postgres, $initiative_id:expr, $after:expr, $limit:expr) => {
        events::table
            .select(StoredEventRow::as_select())
            .filter(events::initiative_id.ge($initiative_id))
            .filter(events::initiative_id.le($initiative_id))
            .filter(events::id.gt($after))
            .order((events::initiative_id.asc(), events::id.asc()))
            .limit($limit)
    };
}

#[declare_sql_function]
extern "SQL" {
    /// SQLite's planner hint: `x`, which is usually false.
    fn unlikely(x: Bool) -> Bool;
}

/// One page of an initiative's events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// Oldest first.
    pub rows: Vec<StoredEventRow>,
    /// Whether more events are stored after the last row.
    pub has_more: bool,
}

/// Up to `limit` events of an initiative stored after cursor `after`, oldest first.
/// The cursor is the event's storage sequence number, which only grows.
pub fn page(
    conn: &mut DbConn,
    initiative_id: i64,
    after: i64,
    limit: i64,
) -> Result<EventPage, StoreError> {
    // One row more than asked tells whether there is a next page.
    let probe = limit.saturating_add(1);
    let mut rows: Vec<StoredEventRow> = match conn {
        DbConn::Sqlite(c) => page_query!(sqlite, initiative_id, after, probe).load(c)?,
        DbConn::Postgres(c) => page_query!(postgres, initiative_id, after, probe).load(c)?,
    };
    let has_more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(EventPage { rows, has_more })
}

/// The database's plan for [`page`]'s query with these values, one line per plan
/// node: `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL. Lets tests check
/// that a page is read from the index without a sort.
pub fn page_plan(
    conn: &mut DbConn,
    initiative_id: i64,
    after: i64,
    limit: i64,
) -> Result<String, StoreError> {
    let probe = limit.saturating_add(1);
    let lines: Vec<String> = match conn {
        DbConn::Sqlite(c) => Explain::<_, (Integer, Integer, Integer, Text)>::new(
            "EXPLAIN QUERY PLAN ",
            page_query!(sqlite, initiative_id, after, probe),
        )
        .load::<(i32, i32, i32, String)>(c)?
        .into_iter()
        .map(|(_, _, _, detail)| detail)
        .collect(),
        DbConn::Postgres(c) => Explain::<_, Text>::new(
            "EXPLAIN ",
            page_query!(postgres, initiative_id, after, probe),
        )
        .load::<String>(c)?,
    };
    Ok(lines.join("\n"))
}

/// `EXPLAIN ...` in front of a query, keeping its bind parameters, returning rows of
/// SQL type `ST`.
struct Explain<Q, ST> {
    prefix: &'static str,
    query: Q,
    _rows: PhantomData<ST>,
}

impl<Q, ST> Explain<Q, ST> {
    fn new(prefix: &'static str, query: Q) -> Self {
        Self {
            prefix,
            query,
            _rows: PhantomData,
        }
    }
}

impl<Q, ST> QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, ST> Query for Explain<Q, ST>
where
    ST: SqlType + TypedExpressionType,
{
    type SqlType = ST;
}

impl<DB: Backend, Q: QueryFragment<DB>, ST> QueryFragment<DB> for Explain<Q, ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST, C> RunQueryDsl<C> for Explain<Q, ST> {}

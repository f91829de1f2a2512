//! The intake inbox: signed provider payloads offerlab could not place yet.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::inbox::dsl as x;
use super::{DbConn, StoreError, on_backend, to_naive, to_utc};
use crate::domain::provider::Provider;

/// Where an inbox entry stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// Not placed yet: waits for a fix and a replay.
    Pending,
    /// Placed by a replay; `result` says what it stored.
    Replayed,
}

impl InboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxStatus::Pending => "pending",
            InboxStatus::Replayed => "replayed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(InboxStatus::Pending),
            "replayed" => Ok(InboxStatus::Replayed),
            _ => Err("must be one of: pending, replayed".into()),
        }
    }
}

/// A payload to keep.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub provider: Provider,
    pub external_id: String,
    pub kind: String,
    pub initiative: Option<String>,
    pub reason: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

/// A kept payload.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub provider: Provider,
    pub external_id: String,
    pub kind: String,
    pub initiative: Option<String>,
    pub status: InboxStatus,
    pub reason: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_attempt_at: DateTime<Utc>,
    pub result: Option<String>,
    pub replayed_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::inbox)]
struct Row {
    id: i64,
    provider: Provider,
    external_id: String,
    kind: String,
    initiative: Option<String>,
    status: InboxStatus,
    reason: String,
    payload: String,
    received_at: chrono::NaiveDateTime,
    attempts: i64,
    last_attempt_at: chrono::NaiveDateTime,
    result: Option<String>,
    replayed_at: Option<chrono::NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = super::schema::inbox, treat_none_as_default_value = false)]
struct InsertRow {
    provider: Provider,
    external_id: String,
    kind: String,
    initiative: Option<String>,
    status: InboxStatus,
    reason: String,
    payload: String,
    received_at: chrono::NaiveDateTime,
    attempts: i64,
    last_attempt_at: chrono::NaiveDateTime,
}

impl From<Row> for Entry {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            provider: r.provider,
            external_id: r.external_id,
            kind: r.kind,
            initiative: r.initiative,
            status: r.status,
            reason: r.reason,
            payload: r.payload,
            received_at: to_utc(r.received_at),
            attempts: r.attempts,
            last_attempt_at: to_utc(r.last_attempt_at),
            result: r.result,
            replayed_at: r.replayed_at.map(to_utc),
        }
    }
}

/// Keeps a payload. A provider's retry of an event kept before (same provider and
/// external id) adds no row: it counts as one more attempt with the latest reason.
pub fn keep(conn: &mut DbConn, entry: NewEntry) -> Result<Entry, StoreError> {
    super::write_transaction(conn, |conn| {
        let at = to_naive(entry.received_at);
        let row = InsertRow {
            provider: entry.provider,
            external_id: entry.external_id.clone(),
            kind: entry.kind,
            initiative: entry.initiative,
            status: InboxStatus::Pending,
            reason: entry.reason.clone(),
            payload: entry.payload,
            received_at: at,
            attempts: 1,
            last_attempt_at: at,
        };
        let inserted = on_backend!(conn, |c| diesel::insert_into(x::inbox)
            .values(&row)
            .on_conflict((x::provider, x::external_id))
            .do_nothing()
            .execute(c))?;
        let mine = x::inbox
            .filter(x::provider.eq(entry.provider))
            .filter(x::external_id.eq(&entry.external_id));
        if inserted == 0 {
            diesel::update(mine)
                .filter(x::status.eq(InboxStatus::Pending))
                .set((
                    x::reason.eq(&entry.reason),
                    x::attempts.eq(x::attempts + 1),
                    x::last_attempt_at.eq(at),
                ))
                .execute(conn)?;
        }
        Ok(mine.select(Row::as_select()).first(conn)?.into())
    })
}

/// One entry by id.
pub fn get(conn: &mut DbConn, id: i64) -> Result<Entry, StoreError> {
    x::inbox
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Entry::from)
        .ok_or_else(|| StoreError::NotFound(format!("inbox entry {id}")))
}

/// Filters and paging for [`page`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub provider: Option<Provider>,
    pub status: Option<InboxStatus>,
    /// Entries with an id above this one (the previous page's last id).
    pub after: i64,
    pub limit: i64,
}

/// A page of entries in id order, and whether more follow.
pub fn page(conn: &mut DbConn, filter: &Filter) -> Result<(Vec<Entry>, bool), StoreError> {
    let mut query = x::inbox
        .select(Row::as_select())
        .filter(x::id.gt(filter.after))
        .order(x::id.asc())
        .limit(filter.limit + 1)
        .into_boxed();
    if let Some(p) = &filter.provider {
        query = query.filter(x::provider.eq(*p));
    }
    if let Some(s) = filter.status {
        query = query.filter(x::status.eq(s));
    }
    let mut rows: Vec<Entry> = query
        .load::<Row>(conn)?
        .into_iter()
        .map(Entry::from)
        .collect();
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
    Ok((rows, more))
}

/// A replay placed the entry: kept, marked replayed with what it stored.
pub fn mark_replayed(
    conn: &mut DbConn,
    id: i64,
    result: &str,
    now: DateTime<Utc>,
) -> Result<Entry, StoreError> {
    diesel::update(x::inbox.find(id))
        .set((
            x::status.eq(InboxStatus::Replayed),
            x::result.eq(Some(result)),
            x::replayed_at.eq(Some(to_naive(now))),
            x::attempts.eq(x::attempts + 1),
            x::last_attempt_at.eq(to_naive(now)),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// A replay could still not place the entry: the new reason is kept.
pub fn mark_failed(
    conn: &mut DbConn,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Entry, StoreError> {
    diesel::update(x::inbox.find(id))
        .set((
            x::reason.eq(reason),
            x::attempts.eq(x::attempts + 1),
            x::last_attempt_at.eq(to_naive(now)),
        ))
        .execute(conn)?;
    get(conn, id)
}

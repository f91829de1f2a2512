//! The audit log: append-only (the database refuses UPDATE and DELETE), written by
//! [`record`] inside the transaction of the change it describes, so a change is never
//! committed without its row, nor a row without its change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::audit_log::dsl as a;
use super::typed::Json;
use super::{DbConn, StoreError, to_naive, to_utc};
use crate::domain::audit::{Action, ActorKind, AuditEntry, TargetType};

/// Appends one entry. Call it on the connection of the transaction that makes the change.
pub fn record(conn: &mut DbConn, entry: &AuditEntry) -> Result<(), StoreError> {
    let json = |v: &Option<serde_json::Value>| v.clone().map(Json::new).transpose();
    diesel::insert_into(a::audit_log)
        .values((
            a::recorded_at.eq(to_naive(entry.at)),
            a::actor_kind.eq(entry.actor.kind),
            a::actor_id.eq(entry.actor.id),
            a::actor_name.eq(&entry.actor.name),
            a::action.eq(entry.action),
            a::target_type.eq(entry.action.target_type()),
            a::target_id.eq(&entry.target_id),
            a::before_json.eq(json(&entry.before)?),
            a::after_json.eq(json(&entry.after)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// A recorded entry, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Which entries to read: all filters are optional and combine.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target_type: Option<TargetType>,
    pub target_id: Option<String>,
    pub actor_kind: Option<ActorKind>,
    pub actor_id: Option<i64>,
    /// Only entries older than this id (the previous page's cursor).
    pub before: Option<i64>,
}

/// A page of entries, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    pub has_more: bool,
}

/// An `audit_log` row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::audit_log)]
struct Row {
    id: i64,
    recorded_at: chrono::NaiveDateTime,
    actor_kind: ActorKind,
    actor_id: Option<i64>,
    actor_name: String,
    action: Action,
    target_type: TargetType,
    target_id: String,
    before_json: Option<Json<serde_json::Value>>,
    after_json: Option<Json<serde_json::Value>>,
}

impl From<Row> for AuditRecord {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            at: to_utc(r.recorded_at),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            before: r.before_json.map(Json::into_inner),
            after: r.after_json.map(Json::into_inner),
        }
    }
}

/// Up to `limit` entries matching `filter`, newest first.
pub fn page(conn: &mut DbConn, filter: &AuditFilter, limit: i64) -> Result<AuditPage, StoreError> {
    let mut q = a::audit_log.select(Row::as_select()).into_boxed();
    if let Some(t) = filter.target_type {
        q = q.filter(a::target_type.eq(t));
    }
    if let Some(t) = &filter.target_id {
        q = q.filter(a::target_id.eq(t.clone()));
    }
    if let Some(k) = filter.actor_kind {
        q = q.filter(a::actor_kind.eq(k));
    }
    if let Some(id) = filter.actor_id {
        q = q.filter(a::actor_id.eq(id));
    }
    if let Some(before) = filter.before {
        q = q.filter(a::id.lt(before));
    }
    let mut rows: Vec<Row> = q.order(a::id.desc()).limit(limit + 1).load(conn)?;
    let has_more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(AuditPage {
        entries: rows.into_iter().map(AuditRecord::from).collect(),
        has_more,
    })
}

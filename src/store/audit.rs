//! The audit log: append-only (the database refuses UPDATE and DELETE), written by
//! [`record`] inside the transaction of the change it describes, so a change is never
//! committed without its row, nor a row without its change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::audit_log::dsl as a;
use super::{DbConn, StoreError, to_naive, to_utc};
use crate::domain::audit::{ActorKind, AuditEntry, TargetType};

/// Appends one entry. Call it on the connection of the transaction that makes the change.
pub fn record(conn: &mut DbConn, entry: &AuditEntry) -> Result<(), StoreError> {
    let json = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("audit entry: {e}")))
    };
    diesel::insert_into(a::audit_log)
        .values((
            a::recorded_at.eq(to_naive(entry.at)),
            a::actor_kind.eq(entry.actor.kind.as_str()),
            a::actor_id.eq(entry.actor.id),
            a::actor_name.eq(&entry.actor.name),
            a::action.eq(entry.action.as_str()),
            a::target_type.eq(entry.action.target_type().as_str()),
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
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target_type: String,
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

type Row = (
    i64,
    chrono::NaiveDateTime,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn from_row(r: Row) -> Result<AuditRecord, StoreError> {
    let (id, at, actor_kind, actor_id, actor_name, action, target_type, target_id, before, after) =
        r;
    let json = |v: Option<String>| {
        v.map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("audit entry {id}: {e}")))
    };
    Ok(AuditRecord {
        id,
        at: to_utc(at),
        actor_kind,
        actor_id,
        actor_name,
        action,
        target_type,
        target_id,
        before: json(before)?,
        after: json(after)?,
    })
}

/// Up to `limit` entries matching `filter`, newest first.
pub fn page(conn: &mut DbConn, filter: &AuditFilter, limit: i64) -> Result<AuditPage, StoreError> {
    let mut q = a::audit_log
        .select((
            a::id,
            a::recorded_at,
            a::actor_kind,
            a::actor_id,
            a::actor_name,
            a::action,
            a::target_type,
            a::target_id,
            a::before_json,
            a::after_json,
        ))
        .into_boxed();
    if let Some(t) = filter.target_type {
        q = q.filter(a::target_type.eq(t.as_str()));
    }
    if let Some(t) = &filter.target_id {
        q = q.filter(a::target_id.eq(t.clone()));
    }
    if let Some(k) = filter.actor_kind {
        q = q.filter(a::actor_kind.eq(k.as_str()));
    }
    if let Some(id) = filter.actor_id {
        q = q.filter(a::actor_id.eq(id));
    }
    if let Some(before) = filter.before {
        q = q.filter(a::id.lt(before));
    }
    let mut rows = q.order(a::id.desc()).limit(limit + 1).load::<Row>(conn)?;
    let has_more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(AuditPage {
        entries: rows.into_iter().map(from_row).collect::<Result<_, _>>()?,
        has_more,
    })
}

//! Webhook subscriptions.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::webhooks as w;
use super::typed::NameList;
use super::{DbConn, StoreError, to_naive, to_utc};
use crate::domain::audit::{Action, Actor, AuditEntry};
use crate::domain::webhook::{EventType, Format, NewWebhook, Webhook, WebhookSecret, WebhookUrl};
use crate::domain::{InitiativeKey, TeamKey};

#[derive(Queryable, Selectable)]
#[diesel(table_name = w)]
struct WebhookRow {
    id: i64,
    url: String,
    event_types: NameList<EventType>,
    initiative_key: Option<String>,
    team: Option<String>,
    format: Format,
    created_at: chrono::NaiveDateTime,
}

impl WebhookRow {
    fn into_domain(self) -> Result<Webhook, StoreError> {
        Ok(Webhook {
            id: self.id,
            url: WebhookUrl::from_trusted(&self.url).map_err(StoreError::Corrupt)?,
            event_types: self.event_types.into_inner(),
            initiative: self.initiative_key.map(InitiativeKey::from_trusted),
            team: self.team.map(TeamKey::from_trusted),
            format: self.format,
            created_at: to_utc(self.created_at),
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = w)]
struct NewRow<'a> {
    url: &'a str,
    event_types: NameList<EventType>,
    initiative_key: Option<&'a str>,
    team: Option<&'a str>,
    format: Format,
    secret: &'a str,
    created_at: chrono::NaiveDateTime,
}

/// Bumped after this process stores or removes a subscription: an answer of [`any`]
/// cached before the bump is stale (see `notify::watch::IngestWatch`).
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// How many times this process has stored or removed a subscription.
pub fn changes() -> u64 {
    CHANGES.load(Ordering::Acquire)
}

/// Stores a subscription with its secret.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    new: &NewWebhook,
    secret: &WebhookSecret,
    now: DateTime<Utc>,
) -> Result<Webhook, StoreError> {
    let row = NewRow {
        url: new.url.as_str(),
        event_types: NameList::new(new.event_types.clone()),
        initiative_key: new.initiative.as_ref().map(InitiativeKey::as_str),
        team: new.team.as_ref().map(TeamKey::as_str),
        format: new.format,
        secret: secret.expose(),
        created_at: to_naive(now),
    };
    let stored = super::write_transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(w::table)
            .values(&row)
            .returning(w::id)
            .get_result(conn)?;
        let created = get(conn, id)?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::WebhookCreate,
                id.to_string(),
                None,
                Some(audit_json(&created)),
                now,
            ),
        )?;
        Ok(created)
    })?;
    CHANGES.fetch_add(1, Ordering::Release);
    Ok(stored)
}

/// A subscription as the audit log shows it: never its secret.
fn audit_json(hook: &Webhook) -> serde_json::Value {
    serde_json::json!({
        "id": hook.id,
        "url": hook.url.as_str(),
        "event_types": hook.event_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "initiative": hook.initiative.as_ref().map(InitiativeKey::as_str),
        "team": hook.team.as_ref().map(TeamKey::as_str),
        "format": hook.format.as_str(),
    })
}

/// One subscription.
pub fn get(conn: &mut DbConn, id: i64) -> Result<Webhook, StoreError> {
    w::table
        .select(WebhookRow::as_select())
        .filter(w::id.eq(id))
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("webhook {id}")))?
        .into_domain()
}

/// Every subscription, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<Webhook>, StoreError> {
    w::table
        .select(WebhookRow::as_select())
        .order(w::id)
        .load(conn)?
        .into_iter()
        .map(WebhookRow::into_domain)
        .collect()
}

/// Whether any subscription exists (ingest skips the verdict check when none does).
pub fn any(conn: &mut DbConn) -> Result<bool, StoreError> {
    Ok(w::table
        .select(w::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Removes a subscription with its deliveries and their log.
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use super::schema::{webhook_attempts as a, webhook_deliveries as d};
    super::write_transaction(conn, |conn| {
        let before = get(conn, id)?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::WebhookDelete,
                id.to_string(),
                Some(audit_json(&before)),
                None,
                now,
            ),
        )?;
        let deliveries = d::table.select(d::id).filter(d::webhook_id.eq(id));
        diesel::delete(a::table.filter(a::delivery_id.eq_any(deliveries))).execute(conn)?;
        diesel::delete(d::table.filter(d::webhook_id.eq(id))).execute(conn)?;
        match diesel::delete(w::table.filter(w::id.eq(id))).execute(conn)? {
            0 => Err(StoreError::NotFound(format!("webhook {id}"))),
            _ => Ok(()),
        }
    })?;
    CHANGES.fetch_add(1, Ordering::Release);
    Ok(())
}

/// A subscription with its secret, for the sender.
pub fn secret(conn: &mut DbConn, id: i64) -> Result<WebhookSecret, StoreError> {
    let s: String = w::table
        .select(w::secret)
        .filter(w::id.eq(id))
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("webhook {id}")))?;
    WebhookSecret::from_stored(s).map_err(StoreError::Corrupt)
}

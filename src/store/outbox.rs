//! The webhook outbox: deliveries written in the transaction of the change that causes
//! them, claimed by senders under a lease, and their delivery log.
//!
//! A delivery is `pending` until a sender gets a 2xx (`delivered`) or gives up after the
//! retry window (`failed`). A sender claims due deliveries by writing a lease (a random
//! token and an expiry): on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two instances
//! never hold the same delivery; a sender that dies leaves a lease that runs out, and
//! the delivery is claimed again. Per endpoint, only the oldest pending delivery is ever
//! claimed, so an endpoint receives its deliveries in order.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde::Serialize;

use super::schema::{
    webhook_attempts as a, webhook_deliveries as d, webhook_state as s, webhooks as w,
};
use super::{DbConn, StoreError, on_backend, to_naive, to_utc};
use crate::domain::webhook::{EventType, Format, Notification, WebhookSecret, WebhookUrl};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// A 2xx was received.
    Delivered,
    /// The retry window ended without a 2xx.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            _ => Err("must be one of: pending, delivered, failed".into()),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = d)]
struct NewDelivery<'a> {
    webhook_id: i64,
    message_id: String,
    event_type: EventType,
    initiative_key: Option<&'a str>,
    body: &'a str,
    state: DeliveryState,
    attempts: i32,
    created_at: chrono::NaiveDateTime,
    next_attempt_at: chrono::NaiveDateTime,
}

fn message_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngExt::fill(&mut rand::rng(), &mut bytes[..]);
    format!("msg_{}", hex::encode(bytes))
}

/// Writes one delivery for every subscription that wants `n`, in the caller's
/// transaction. Returns how many.
pub fn enqueue(conn: &mut DbConn, n: &Notification) -> Result<usize, StoreError> {
    let body = n.payload();
    let subscriptions = super::webhooks::list(conn)?;
    let now = to_naive(n.occurred_at);
    let rows: Vec<NewDelivery> = subscriptions
        .iter()
        .filter(|sub| sub.wants(n))
        .map(|sub| NewDelivery {
            webhook_id: sub.id,
            message_id: message_id(),
            event_type: n.event_type,
            initiative_key: n.initiative.as_ref().map(|k| k.as_str()),
            body: &body,
            state: DeliveryState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
        })
        .collect();
    for row in &rows {
        diesel::insert_into(d::table).values(row).execute(conn)?;
    }
    Ok(rows.len())
}

/// A claimed delivery with what the sender needs to post it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: i64,
    pub message_id: String,
    pub event_type: EventType,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub url: WebhookUrl,
    pub format: Format,
    pub secret: WebhookSecret,
}

type ClaimRow = (
    i64,
    i64,
    String,
    EventType,
    String,
    i32,
    chrono::NaiveDateTime,
    String,
    Format,
    String,
);

/// A `webhook_attempts` row of the delivery log.
#[derive(Queryable, Selectable)]
#[diesel(table_name = a)]
struct AttemptRow {
    delivery_id: i64,
    attempt: i32,
    started_at: chrono::NaiveDateTime,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims up to `limit` due deliveries (each the oldest pending one of its endpoint)
/// under a lease `token` until `lease_until`.
pub fn claim(
    conn: &mut DbConn,
    token: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let (now, until) = (to_naive(now), to_naive(lease_until));
    // Nothing due (the common case): no write transaction, which on SQLite would
    // queue behind the ingest writer.
    let due = d::table
        .select(d::id)
        .filter(d::state.eq(DeliveryState::Pending))
        .filter(d::next_attempt_at.le(now))
        .filter(d::lease_until.is_null().or(d::lease_until.lt(now)))
        .first::<i64>(conn)
        .optional()?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let lock = match conn {
        DbConn::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        DbConn::Sqlite(_) => "",
    };
    let placeholders = match conn {
        DbConn::Postgres(_) => ["$1", "$2", "$3", "$4"],
        DbConn::Sqlite(_) => ["?1", "?2", "?3", "?4"],
    };
    let [p1, p2, p3, p4] = placeholders;
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_token = {p1}, lease_until = {p2} \
         WHERE id IN (SELECT x.id FROM webhook_deliveries x \
           WHERE x.state = 'pending' AND x.next_attempt_at <= {p3} \
             AND (x.lease_until IS NULL OR x.lease_until < {p3}) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries y \
               WHERE y.webhook_id = x.webhook_id AND y.state = 'pending' AND y.id < x.id) \
           ORDER BY x.id LIMIT {p4}{lock}) RETURNING id"
    );
    let ids: Vec<IdRow> = super::write_transaction(conn, |conn| {
        on_backend!(conn, |c| {
            diesel::sql_query(sql.as_str())
                .bind::<Text, _>(token)
                .bind::<Timestamp, _>(until)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load::<IdRow>(c)
        })
        .map_err(StoreError::from)
    })?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.into_iter().map(|r| r.id).collect();
    let rows: Vec<ClaimRow> = d::table
        .inner_join(w::table)
        .select((
            d::id,
            d::webhook_id,
            d::message_id,
            d::event_type,
            d::body,
            d::attempts,
            d::created_at,
            w::url,
            w::format,
            w::secret,
        ))
        .filter(d::id.eq_any(&ids))
        .filter(d::lease_token.eq(token))
        .order(d::id)
        .load(conn)?;
    rows.into_iter()
        .map(
            |(
                id,
                webhook_id,
                message_id,
                event_type,
                body,
                attempts,
                created_at,
                url,
                format,
                secret,
            )| {
                Ok(Claimed {
                    id,
                    webhook_id,
                    message_id,
                    event_type,
                    body,
                    attempts,
                    created_at: to_utc(created_at),
                    url: WebhookUrl::from_trusted(&url).map_err(StoreError::Corrupt)?,
                    format,
                    secret: WebhookSecret::from_stored(secret).map_err(StoreError::Corrupt)?,
                })
            },
        )
        .collect()
}

/// What one attempt gave.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub started_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Logs an attempt and moves the delivery on, if the lease `token` still holds it.
/// Returns whether it did (false: the lease ran out and another sender took over).
pub fn record(
    conn: &mut DbConn,
    id: i64,
    token: &str,
    attempt: &Attempt,
    next: Next,
) -> Result<bool, StoreError> {
    let (state, next_at, delivered_at) = match next {
        Next::Delivered => (
            DeliveryState::Delivered,
            attempt.started_at,
            Some(to_naive(Utc::now())),
        ),
        Next::RetryAt(t) => (DeliveryState::Pending, t, None),
        Next::Failed => (DeliveryState::Failed, attempt.started_at, None),
    };
    // The update comes first, so that on SQLite the transaction takes the write lock
    // at once (waiting for it) instead of upgrading a read, which fails when busy.
    super::write_transaction(conn, |conn| {
        let number: Option<i32> = diesel::update(
            d::table
                .filter(d::id.eq(id))
                .filter(d::lease_token.eq(token)),
        )
        .set((
            d::state.eq(state),
            d::attempts.eq(d::attempts + 1),
            d::next_attempt_at.eq(to_naive(next_at)),
            d::delivered_at.eq(delivered_at),
            d::lease_token.eq(None::<String>),
            d::lease_until.eq(None::<chrono::NaiveDateTime>),
            d::last_status.eq(attempt.status_code.map(i32::from)),
            d::last_error.eq(attempt.error.as_deref()),
        ))
        .returning(d::attempts)
        .get_result(conn)
        .optional()?;
        let Some(number) = number else {
            return Ok(false);
        };
        diesel::insert_into(a::table)
            .values((
                a::delivery_id.eq(id),
                a::attempt.eq(number),
                a::started_at.eq(to_naive(attempt.started_at)),
                a::status_code.eq(attempt.status_code.map(i32::from)),
                a::latency_ms.eq(attempt.latency_ms),
                a::error.eq(attempt.error.as_deref()),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// Gives back the leases of `token` (a sender stopping with claims it did not start).
pub fn release(conn: &mut DbConn, token: &str, ids: &[i64]) -> Result<(), StoreError> {
    diesel::update(
        d::table
            .filter(d::id.eq_any(ids))
            .filter(d::lease_token.eq(token)),
    )
    .set((
        d::lease_token.eq(None::<String>),
        d::lease_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptLog {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    /// The receiver's HTTP status (none: no answer).
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// One delivery with its attempts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryLog {
    pub id: i64,
    /// The `webhook-id` header, the same on every attempt.
    pub message_id: String,
    pub event_type: String,
    pub initiative: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub log: Vec<AttemptLog>,
}

/// A `webhook_deliveries` row of the delivery log.
#[derive(Queryable, Selectable)]
#[diesel(table_name = d)]
struct DeliveryRow {
    id: i64,
    message_id: String,
    event_type: EventType,
    initiative_key: Option<String>,
    state: DeliveryState,
    attempts: i32,
    created_at: chrono::NaiveDateTime,
    next_attempt_at: chrono::NaiveDateTime,
    delivered_at: Option<chrono::NaiveDateTime>,
    last_status: Option<i32>,
    last_error: Option<String>,
}

/// The deliveries of one subscription, newest first, with every attempt.
pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: i64,
    limit: i64,
) -> Result<Vec<DeliveryLog>, StoreError> {
    super::webhooks::get(conn, webhook_id)?;
    let rows: Vec<DeliveryRow> = d::table
        .select(DeliveryRow::as_select())
        .filter(d::webhook_id.eq(webhook_id))
        .order(d::id.desc())
        .limit(limit)
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let attempts: Vec<AttemptRow> = a::table
        .select(AttemptRow::as_select())
        .filter(a::delivery_id.eq_any(&ids))
        .order(a::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryLog {
            id: r.id,
            message_id: r.message_id,
            event_type: r.event_type.as_str().to_owned(),
            initiative: r.initiative_key,
            next_attempt_at: (r.state == DeliveryState::Pending).then(|| to_utc(r.next_attempt_at)),
            state: r.state.as_str().to_owned(),
            attempts: r.attempts,
            created_at: to_utc(r.created_at),
            delivered_at: r.delivered_at.map(to_utc),
            last_status: r.last_status,
            last_error: r.last_error,
            log: attempts
                .iter()
                .filter(|x| x.delivery_id == r.id)
                .map(|x| AttemptLog {
                    attempt: x.attempt,
                    started_at: to_utc(x.started_at),
                    status_code: x.status_code,
                    latency_ms: x.latency_ms,
                    error: x.error.clone(),
                })
                .collect(),
        })
        .collect())
}

/// Sends a delivery again (same `webhook-id`): pending and due now.
pub fn replay(
    conn: &mut DbConn,
    webhook_id: i64,
    delivery_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = diesel::update(
        d::table
            .filter(d::id.eq(delivery_id))
            .filter(d::webhook_id.eq(webhook_id)),
    )
    .set((
        d::state.eq(DeliveryState::Pending),
        d::next_attempt_at.eq(to_naive(now)),
        d::lease_token.eq(None::<String>),
        d::lease_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    match changed {
        0 => Err(StoreError::NotFound(format!(
            "delivery {delivery_id} of webhook {webhook_id}"
        ))),
        _ => Ok(()),
    }
}

/// Deliveries still pending (all subscriptions).
pub fn pending(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(d::table
        .filter(d::state.eq(DeliveryState::Pending))
        .count()
        .get_result(conn)?)
}

/// What was last announced about an initiative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    pub verdict: String,
    pub srm: bool,
    pub plan_reached: bool,
}

/// The last announced state of an initiative, locked for the rest of the transaction
/// (`baseline` is stored first when nothing was announced yet). On PostgreSQL the row
/// lock makes two instances' groups on one initiative compare one after the other, so a
/// change is announced once; call it before reading the aggregates.
pub fn lock_announced(
    conn: &mut DbConn,
    initiative_id: i64,
    baseline: &Announced,
) -> Result<Announced, StoreError> {
    on_backend!(conn, |c| {
        diesel::insert_into(s::table)
            .values((
                s::initiative_id.eq(initiative_id),
                s::verdict.eq(&baseline.verdict),
                s::srm.eq(baseline.srm),
                s::plan_reached.eq(baseline.plan_reached),
            ))
            .on_conflict(s::initiative_id)
            .do_nothing()
            .execute(c)
    })?;
    let query = s::table
        .select((s::verdict, s::srm, s::plan_reached))
        .filter(s::initiative_id.eq(initiative_id));
    let (verdict, srm, plan_reached) = match conn {
        DbConn::Postgres(c) => query.for_update().first::<(String, bool, bool)>(c)?,
        // SQLite: the ingest writer holds the database's only write lock.
        DbConn::Sqlite(c) => query.first::<(String, bool, bool)>(c)?,
    };
    Ok(Announced {
        verdict,
        srm,
        plan_reached,
    })
}

/// Records what was announced (in the transaction that wrote the deliveries).
pub fn set_announced(
    conn: &mut DbConn,
    initiative_id: i64,
    state: &Announced,
) -> Result<(), StoreError> {
    on_backend!(conn, |c| {
        diesel::insert_into(s::table)
            .values((
                s::initiative_id.eq(initiative_id),
                s::verdict.eq(&state.verdict),
                s::srm.eq(state.srm),
                s::plan_reached.eq(state.plan_reached),
            ))
            .on_conflict(s::initiative_id)
            .do_update()
            .set((
                s::verdict.eq(&state.verdict),
                s::srm.eq(state.srm),
                s::plan_reached.eq(state.plan_reached),
            ))
            .execute(c)
    })?;
    Ok(())
}

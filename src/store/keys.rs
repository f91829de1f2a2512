//! API keys. Only a SHA-256 of each key is stored: the key is shown once, at creation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::schema::api_keys::dsl as k;
use super::{DbConn, StoreError, to_naive, to_utc};
use crate::domain::TeamKey;
use crate::domain::access::{Caller, Role, Who, one_team};
use crate::domain::audit::{Action, Actor, AuditEntry};

/// Every key starts with this, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "olk_";

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub label: String,
    pub role: Role,
    pub team: Option<TeamKey>,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key: the secret, shown once, and what is stored about it.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub secret: String,
    pub key: ApiKey,
}

/// An `api_keys` row as listed (never the hash).
#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::api_keys)]
struct Row {
    id: i64,
    label: String,
    role: Role,
    team: Option<String>,
    key_prefix: String,
    created_at: chrono::NaiveDateTime,
    last_used_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

fn from_row(r: Row) -> ApiKey {
    ApiKey {
        id: r.id,
        label: r.label,
        role: r.role,
        team: r.team.map(TeamKey::from_trusted),
        prefix: r.key_prefix,
        created_at: to_utc(r.created_at),
        last_used_at: r.last_used_at.map(to_utc),
        revoked_at: r.revoked_at.map(to_utc),
    }
}

/// SHA-256 (hex) of a presented key. Keys carry 256 random bits, so a fast hash is
/// enough: there is nothing to brute-force.
pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a key with 256 random bits from the operating system's generator, and
/// records it (never the secret) in the audit log in the same transaction.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    label: &str,
    role: Role,
    team: Option<TeamKey>,
    now: DateTime<Utc>,
) -> Result<CreatedKey, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let secret = format!("{KEY_PREFIX}{}", hex::encode(bytes));
    let prefix: String = secret.chars().take(KEY_PREFIX.len() + 8).collect();
    super::write_transaction(conn, |conn| {
        diesel::insert_into(k::api_keys)
            .values((
                k::label.eq(label),
                k::role.eq(role),
                k::team.eq(team.as_ref().map(|t| t.as_str().to_owned())),
                k::key_hash.eq(hash_key(&secret)),
                k::key_prefix.eq(&prefix),
                k::created_at.eq(to_naive(now)),
            ))
            .execute(conn)?;
        let id = k::api_keys
            .select(k::id)
            .filter(k::key_prefix.eq(&prefix))
            .order(k::id.desc())
            .first::<i64>(conn)?;
        let key = ApiKey {
            id,
            label: label.to_owned(),
            role,
            team,
            prefix,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::KeyCreate,
                id.to_string(),
                None,
                Some(super::initiatives::to_json(&key)?),
                now,
            ),
        )?;
        Ok(CreatedKey { secret, key })
    })
}

/// Every key, newest first, revoked ones included.
pub fn list(conn: &mut DbConn) -> Result<Vec<ApiKey>, StoreError> {
    Ok(k::api_keys
        .select(Row::as_select())
        .order(k::id.desc())
        .load(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

fn find(conn: &mut DbConn, id: i64) -> Result<ApiKey, StoreError> {
    k::api_keys
        .select(Row::as_select())
        .filter(k::id.eq(id))
        .first(conn)
        .optional()?
        .map(from_row)
        .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))
}

/// Revokes a key; revoking twice is not an error (and, changing nothing, is not
/// audited). The revocation is recorded in the audit log in the same transaction.
pub fn revoke(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<ApiKey, StoreError> {
    super::write_transaction(conn, |conn| {
        let changed = diesel::update(
            k::api_keys
                .filter(k::id.eq(id))
                .filter(k::revoked_at.is_null()),
        )
        .set(k::revoked_at.eq(Some(to_naive(now))))
        .execute(conn)?;
        let after = find(conn, id)?;
        if changed > 0 {
            let before = ApiKey {
                revoked_at: None,
                ..after.clone()
            };
            super::audit::record(
                conn,
                &AuditEntry::new(
                    actor,
                    Action::KeyRevoke,
                    id.to_string(),
                    Some(super::initiatives::to_json(&before)?),
                    Some(super::initiatives::to_json(&after)?),
                    now,
                ),
            )?;
        }
        Ok(after)
    })
}

/// The actor behind an authenticated caller: its key, named by the key's label.
pub fn actor(conn: &mut DbConn, caller: &Caller) -> Result<Actor, StoreError> {
    Ok(match caller.who {
        Who::Key(id) => Actor::api_key(id, label(conn, id)?.unwrap_or_else(|| format!("key {id}"))),
        Who::User(id) => Actor::user(
            id,
            super::users::name(conn, id)?.unwrap_or_else(|| format!("user {id}")),
        ),
    })
}

/// The caller behind a presented key, if the key exists and is not revoked.
pub fn caller(conn: &mut DbConn, secret: &str) -> Result<Option<Caller>, StoreError> {
    let hash = hash_key(secret);
    let found: Option<(i64, Role, Option<String>, String)> = k::api_keys
        .select((k::id, k::role, k::team, k::key_hash))
        .filter(k::key_hash.eq(&hash))
        .filter(k::revoked_at.is_null())
        .first(conn)
        .optional()?;
    let Some((id, role, team, stored)) = found else {
        return Ok(None);
    };
    // The index lookup found it; compare in constant time all the same.
    if !constant_time_eq(stored.as_bytes(), hash.as_bytes()) {
        return Ok(None);
    }
    Ok(Some(Caller {
        who: Who::Key(id),
        role,
        teams: one_team(team.map(TeamKey::from_trusted)),
    }))
}

/// The label of a key (revoked or not), if the key exists.
pub fn label(conn: &mut DbConn, id: i64) -> Result<Option<String>, StoreError> {
    Ok(k::api_keys
        .select(k::label)
        .filter(k::id.eq(id))
        .first::<String>(conn)
        .optional()?)
}

/// Records that a key was used (callers throttle how often).
pub fn touch(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(k::api_keys.filter(k::id.eq(id)))
        .set(k::last_used_at.eq(Some(to_naive(now))))
        .execute(conn)?;
    Ok(())
}

/// Whether any key exists (revoked ones count: the first-start key is made only once).
pub fn any(conn: &mut DbConn) -> Result<bool, StoreError> {
    Ok(k::api_keys
        .select(k::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

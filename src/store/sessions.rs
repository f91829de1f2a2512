//! Dashboard sessions (of a user or an API key) and one-time sign-in links. Only a SHA-256 of each token is kept.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::RngExt;

use super::schema::{api_keys, sessions, users};
use super::{DbConn, StoreError, to_naive};
use crate::domain::TeamKey;
use crate::domain::access::{Caller, Role, Who, one_team};

/// What a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Kind {
    /// A signed-in browser.
    Session,
    /// A one-time sign-in link: exchanged for a session at first use.
    Link,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Link => "link",
        }
    }

    pub(super) fn parse(s: &str) -> Result<Self, String> {
        match s {
            "session" => Ok(Kind::Session),
            "link" => Ok(Kind::Link),
            _ => Err("must be one of: session, link".into()),
        }
    }
}

/// Who a session belongs to, as the pages show it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOwner {
    pub caller: Caller,
    /// The user's name, or the API key's label.
    pub name: String,
}

/// Creates a token for a key or a user, valid for `ttl`.
pub fn create(
    conn: &mut DbConn,
    who: Who,
    kind: Kind,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let token = hex::encode(bytes);
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(super::keys::hash_key(&token)),
            sessions::key_id.eq(who.key_id()),
            sessions::user_id.eq(who.user_id()),
            sessions::kind.eq(kind),
            sessions::created_at.eq(to_naive(now)),
            sessions::expires_at.eq(to_naive(now + ttl)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The owner of a token of `kind`: unexpired, and its key not revoked or its user not
/// disabled.
pub fn owner(
    conn: &mut DbConn,
    token: &str,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<Option<SessionOwner>, StoreError> {
    let found: Option<(Option<i64>, Option<i64>)> = sessions::table
        .select((sessions::key_id, sessions::user_id))
        .filter(sessions::token_hash.eq(super::keys::hash_key(token)))
        .filter(sessions::kind.eq(kind))
        .filter(sessions::expires_at.gt(to_naive(now)))
        .first(conn)
        .optional()?;
    let row: Option<(i64, Role, Option<String>, String, Who)> = match found {
        Some((Some(key_id), _)) => api_keys::table
            .select((
                api_keys::id,
                api_keys::role,
                api_keys::team,
                api_keys::label,
            ))
            .filter(api_keys::id.eq(key_id))
            .filter(api_keys::revoked_at.is_null())
            .first::<(i64, Role, Option<String>, String)>(conn)
            .optional()?
            .map(|(id, role, team, name)| (id, role, team, name, Who::Key(id))),
        Some((None, Some(user_id))) => users::table
            .select((users::id, users::role, users::name))
            .filter(users::id.eq(user_id))
            .filter(users::disabled_at.is_null())
            .first::<(i64, Role, String)>(conn)
            .optional()?
            .map(|(id, role, name)| (id, role, None, name, Who::User(id))),
        _ => None,
    };
    row.map(|(_, role, team, name, who)| {
        let teams = match who {
            Who::Key(_) => one_team(team.map(TeamKey::from_trusted)),
            Who::User(id) => super::users::teams_of(conn, id)?,
        };
        Ok(SessionOwner {
            caller: Caller { who, role, teams },
            name,
        })
    })
    .transpose()
}

/// The caller behind a token of `kind` (see [`owner`]).
pub fn caller(
    conn: &mut DbConn,
    token: &str,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<Option<Caller>, StoreError> {
    Ok(owner(conn, token, kind, now)?.map(|o| o.caller))
}

/// Ends a session (or uses up a link).
pub fn delete(conn: &mut DbConn, token: &str) -> Result<(), StoreError> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(super::keys::hash_key(token))))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of a user (sign-out everywhere, a disabled user).
pub fn end_all_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(sessions::table.filter(sessions::user_id.eq(Some(user_id))))
            .execute(conn)?,
    )
}

/// Ends every session of a user but `keep` (after a password change).
pub fn end_others_of_user(conn: &mut DbConn, user_id: i64, keep: &str) -> Result<(), StoreError> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(Some(user_id)))
            .filter(sessions::token_hash.ne(super::keys::hash_key(keep))),
    )
    .execute(conn)?;
    Ok(())
}

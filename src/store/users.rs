//! People who sign in, and their one-time invites. Passwords are stored as Argon2id PHC
//! strings (salted, with the parameters in the string); invite tokens as a SHA-256.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::RngExt;

use super::schema::{invites, sessions, user_teams, users};
use super::{DbConn, StoreError, keys::hash_key, to_naive, to_utc};
use crate::domain::TeamKey;
use crate::domain::access::{Caller, Role, Who};
use crate::domain::audit::{Action, Actor, AuditEntry};
use crate::domain::user::{Email, Password};

/// A user as listed: never the password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// The teams a writer writes for (none for admins and viewers).
    pub teams: BTreeSet<TeamKey>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Whether a password was set (the invite was accepted).
    pub has_password: bool,
}

impl User {
    pub fn caller(&self) -> Caller {
        Caller {
            who: Who::User(self.id),
            role: self.role,
            teams: self.teams.clone(),
        }
    }
}

/// Who is invited, and as what.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// A writer's teams (at least one); empty for admins and viewers.
    pub teams: BTreeSet<TeamKey>,
}

/// A `users` row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Row {
    id: i64,
    email: String,
    name: String,
    role: Role,
    password_hash: Option<String>,
    created_at: chrono::NaiveDateTime,
    disabled_at: Option<chrono::NaiveDateTime>,
}

/// The user, and the password hash when one is set.
fn from_row(r: Row) -> (User, Option<String>) {
    let user = User {
        id: r.id,
        email: Email::from_trusted(r.email),
        name: r.name,
        role: r.role,
        teams: BTreeSet::new(),
        created_at: to_utc(r.created_at),
        disabled_at: r.disabled_at.map(to_utc),
        has_password: r.password_hash.is_some(),
    };
    (user, r.password_hash)
}

/// The teams of one user, by name.
pub fn teams_of(conn: &mut DbConn, user_id: i64) -> Result<BTreeSet<TeamKey>, StoreError> {
    Ok(user_teams::table
        .select(user_teams::team)
        .filter(user_teams::user_id.eq(user_id))
        .load::<String>(conn)?
        .into_iter()
        .map(TeamKey::from_trusted)
        .collect())
}

/// A user read from a row, with their teams.
fn with_teams(conn: &mut DbConn, r: Row) -> Result<(User, Option<String>), StoreError> {
    let (mut user, hash) = from_row(r);
    user.teams = teams_of(conn, user.id)?;
    Ok((user, hash))
}

/// Hashes a password with Argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1,
/// OWASP's recommended setting) and a random 128-bit salt. Slow on purpose: call it on
/// the blocking pool.
pub fn hash_password(password: &Password) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| StoreError::Corrupt(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Corrupt(format!("password hashing: {e}")))
}

/// A hash of a password nobody knows, verified against when an email is unknown, so an
/// unknown email costs the same work as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::rng().fill(&mut secret);
    Password::parse(&hex::encode(secret))
        .ok()
        .and_then(|p| hash_password(&p).ok())
        .unwrap_or_default()
});

/// Computes the dummy hash now (at start-up), so the first sign-in with an unknown
/// email does not cost two hashes.
pub fn prepare_dummy_hash() {
    LazyLock::force(&DUMMY_HASH);
}

/// Whether `password` matches the stored PHC string (constant-time comparison inside
/// the crate). A hash that does not parse matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checks an email and a password: the user when both hold and the user is active.
/// Always runs one Argon2 verification, whether or not the email is known.
pub fn check_credentials(
    conn: &mut DbConn,
    email: &str,
    password: &str,
) -> Result<Option<User>, StoreError> {
    let found = match Email::parse(email) {
        Ok(email) => users::table
            .select(Row::as_select())
            .filter(users::email.eq(email.as_str()))
            .first(conn)
            .optional()?
            .map(|r| with_teams(conn, r))
            .transpose()?,
        Err(_) => None,
    };
    match found {
        Some((user, Some(hash))) => {
            let ok = verify_password(password, &hash);
            Ok((ok && user.disabled_at.is_none()).then_some(user))
        }
        _ => {
            let _ = verify_password(password, &DUMMY_HASH);
            Ok(None)
        }
    }
}

/// Creates an invited user (no password yet) and a one-time invite token valid for
/// `ttl`. An email that has an account already is a conflict.
pub fn invite(
    conn: &mut DbConn,
    actor: &Actor,
    new: &NewUser,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<(User, String), StoreError> {
    super::write_transaction(conn, |conn| {
        let inserted = diesel::insert_into(users::table)
            .values((
                users::email.eq(new.email.as_str()),
                users::name.eq(&new.name),
                users::role.eq(new.role),
                users::created_at.eq(to_naive(now)),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                return Err(StoreError::Conflict(format!(
                    "a user with the email '{}' exists already",
                    new.email
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let (user, _) = users::table
            .select(Row::as_select())
            .filter(users::email.eq(new.email.as_str()))
            .first(conn)
            .map(from_row)?;
        // One row at a time: a multi-backend connection has no batch insert (at most
        // `api::users::MAX_TEAMS` rows).
        for team in &new.teams {
            diesel::insert_into(user_teams::table)
                .values((
                    user_teams::user_id.eq(user.id),
                    user_teams::team.eq(team.as_str()),
                ))
                .execute(conn)?;
        }
        let user = User {
            teams: new.teams.clone(),
            ..user
        };
        let token = new_invite(conn, user.id, ttl, now)?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::UserInvite,
                user.id.to_string(),
                None,
                Some(audit_json(&user)),
                now,
            ),
        )?;
        Ok((user, token))
    })
}

fn new_invite(
    conn: &mut DbConn,
    user_id: i64,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let token = hex::encode(bytes);
    diesel::insert_into(invites::table)
        .values((
            invites::token_hash.eq(hash_key(&token)),
            invites::user_id.eq(user_id),
            invites::created_at.eq(to_naive(now)),
            invites::expires_at.eq(to_naive(now + ttl)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// What an invite link opens.
#[derive(Debug, Clone, PartialEq)]
pub enum Invite {
    /// Valid: the person may set a password.
    Open(User),
    /// Used already (a password was set through it).
    Used,
    /// Past its expiry, or its user was disabled.
    Expired,
    /// No such invite.
    Unknown,
}

/// The state of an invite token.
pub fn invite_state(
    conn: &mut DbConn,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Invite, StoreError> {
    let found: Option<(i64, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = invites::table
        .select((invites::user_id, invites::expires_at, invites::used_at))
        .filter(invites::token_hash.eq(hash_key(token)))
        .first(conn)
        .optional()?;
    let Some((user_id, expires_at, used_at)) = found else {
        return Ok(Invite::Unknown);
    };
    if used_at.is_some() {
        return Ok(Invite::Used);
    }
    let user = find(conn, user_id)?;
    match user {
        Some(u) if to_utc(expires_at) > now && u.disabled_at.is_none() => Ok(Invite::Open(u)),
        _ => Ok(Invite::Expired),
    }
}

/// Uses up an invite and sets the password (already hashed). Answers the invite's state
/// when it cannot be used; two concurrent uses: one wins.
pub fn accept_invite(
    conn: &mut DbConn,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Invite, StoreError> {
    super::write_transaction(conn, |conn| {
        let state = invite_state(conn, token, now)?;
        let Invite::Open(user) = state else {
            return Ok(state);
        };
        let claimed = diesel::update(
            invites::table
                .filter(invites::token_hash.eq(hash_key(token)))
                .filter(invites::used_at.is_null()),
        )
        .set(invites::used_at.eq(Some(to_naive(now))))
        .execute(conn)?;
        if claimed != 1 {
            return Ok(Invite::Used);
        }
        set_password(conn, user.id, password_hash)?;
        Ok(Invite::Open(User {
            has_password: true,
            ..user
        }))
    })
}

/// Replaces a user's password hash.
pub fn set_password(conn: &mut DbConn, id: i64, password_hash: &str) -> Result<(), StoreError> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::password_hash.eq(Some(password_hash)))
        .execute(conn)?;
    Ok(())
}

/// A user's stored password hash (to check the current password before a change).
pub fn password_hash(conn: &mut DbConn, id: i64) -> Result<Option<String>, StoreError> {
    Ok(users::table
        .select(users::password_hash)
        .filter(users::id.eq(id))
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// One user.
pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<User>, StoreError> {
    users::table
        .select(Row::as_select())
        .filter(users::id.eq(id))
        .first(conn)
        .optional()?
        .map(|r| with_teams(conn, r).map(|(u, _)| u))
        .transpose()
}

/// Every user, oldest first, with their teams (two queries).
pub fn list(conn: &mut DbConn) -> Result<Vec<User>, StoreError> {
    let mut teams: BTreeMap<i64, BTreeSet<TeamKey>> = BTreeMap::new();
    for (user_id, team) in user_teams::table
        .select((user_teams::user_id, user_teams::team))
        .load::<(i64, String)>(conn)?
    {
        teams
            .entry(user_id)
            .or_default()
            .insert(TeamKey::from_trusted(team));
    }
    Ok(users::table
        .select(Row::as_select())
        .order(users::id.asc())
        .load(conn)?
        .into_iter()
        .map(|r| {
            let (u, _) = from_row(r);
            User {
                teams: teams.remove(&u.id).unwrap_or_default(),
                ..u
            }
        })
        .collect())
}

/// Disables a user and ends every session of theirs at once; disabling twice is not an
/// error.
pub fn disable(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<User, StoreError> {
    super::write_transaction(conn, |conn| {
        let before = find(conn, id)?;
        let changed = diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::disabled_at.is_null()),
        )
        .set(users::disabled_at.eq(Some(to_naive(now))))
        .execute(conn)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        let after = find(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        if changed > 0 {
            super::audit::record(
                conn,
                &AuditEntry::new(
                    actor,
                    Action::UserDisable,
                    id.to_string(),
                    before.as_ref().map(audit_json),
                    Some(audit_json(&after)),
                    now,
                ),
            )?;
        }
        Ok(after)
    })
}

/// A user as the audit log shows them: never a password or its hash.
fn audit_json(user: &User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "email": user.email.as_str(),
        "name": user.name,
        "role": user.role.as_str(),
        "teams": user.teams.iter().map(TeamKey::as_str).collect::<Vec<_>>(),
        "disabled_at": user.disabled_at,
        "has_password": user.has_password,
    })
}

/// A user's name (disabled or not), if the user exists.
pub fn name(conn: &mut DbConn, id: i64) -> Result<Option<String>, StoreError> {
    Ok(users::table
        .select(users::name)
        .filter(users::id.eq(id))
        .first::<String>(conn)
        .optional()?)
}

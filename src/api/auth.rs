//! The single point where every `/api/v1` request is authorized.
//!
//! Every API resource is wrapped in [`authorize`], which runs after routing: it reads
//! the matched resource's rules ([`RouteRules`], declared with the route in
//! [`super::routes`]), authenticates the bearer key, works out what the request needs
//! from the decoded path parameters the handler will receive (which owner teams it
//! touches) and asks [`Caller::allows`]. Handlers never check access themselves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract;
use super::routes::{RouteRules, Rule};
use crate::domain::access::{Caller, Need, Who};
use crate::domain::{InitiativeKey, TeamKey};
use crate::store::{self, StoreError, keys, sessions};

/// The dashboard's session cookie.
pub const COOKIE: &str = "offerlab_session";

fn mac(secret: &[u8], label: &[u8], token: &str) -> Option<hmac::Hmac<sha2::Sha256>> {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).ok()?;
    m.update(label);
    m.update(token.as_bytes());
    Some(m)
}

/// `token.signature` for a session cookie: HMAC-SHA256 of the token under the secret.
pub fn sign(secret: &[u8], token: &str) -> String {
    use hmac::Mac;
    let signature = mac(secret, b"", token)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{token}.{signature}")
}

/// The token of a cookie value whose signature holds (compared in constant time).
pub fn verify<'a>(secret: &[u8], value: &'a str) -> Option<&'a str> {
    use hmac::Mac;
    let (token, signature) = value.split_once('.')?;
    let signature = hex::decode(signature).ok()?;
    mac(secret, b"", token)?.verify_slice(&signature).ok()?;
    Some(token)
}

/// The form token of a session (synchronizer token against cross-site request forgery):
/// an HMAC of the session token under the secret, so it needs no storage and dies with
/// the session.
pub fn csrf_token(secret: &[u8], session_token: &str) -> String {
    use hmac::Mac;
    mac(secret, b"csrf:", session_token)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Whether a form token belongs to the session (compared in constant time).
pub fn csrf_holds(secret: &[u8], session_token: &str, presented: &str) -> bool {
    use hmac::Mac;
    let Ok(presented) = hex::decode(presented) else {
        return false;
    };
    mac(secret, b"csrf:", session_token).is_some_and(|m| m.verify_slice(&presented).is_ok())
}

/// The session token of a request's cookie, when its signature holds.
pub fn session_token(secret: &[u8], req: &actix_web::HttpRequest) -> Option<String> {
    let cookie = req.cookie(COOKIE)?;
    verify(secret, cookie.value()).map(str::to_owned)
}

/// How long a key lookup or an initiative's owner team is trusted before it is read
/// again. Revocation on another instance takes effect within this time; on this instance
/// at once.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Bound on cached entries; the cache is cleared when it is reached.
const CACHE_MAX: usize = 10_000;

/// Recent key lookups and owner teams, shared by the workers of one process.
#[derive(Default)]
pub struct AccessCache {
    callers: Mutex<HashMap<String, (Caller, Instant)>>,
    owners: Mutex<HashMap<String, (Option<TeamKey>, Instant)>>,
}

impl AccessCache {
    fn caller(&self, hash: &str) -> Option<Caller> {
        let map = self.callers.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(c, _)| c.clone())
    }

    fn remember_caller(&self, hash: String, caller: Caller) {
        if let Ok(mut map) = self.callers.lock() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(hash, (caller, Instant::now()));
        }
    }

    fn owner(&self, key: &str) -> Option<Option<TeamKey>> {
        let map = self.owners.lock().ok()?;
        map.get(key)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(t, _)| t.clone())
    }

    fn remember_owner(&self, key: &str, team: Option<TeamKey>) {
        if let Ok(mut map) = self.owners.lock() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(key.to_owned(), (team, Instant::now()));
        }
    }

    /// Forgets every cached key (after a revocation).
    pub fn forget_keys(&self) {
        if let Ok(mut map) = self.callers.lock() {
            map.clear();
        }
    }
}

/// A token bucket per API key: `rate` requests per second, `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<Who, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` 0 means no limit.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `who`, or says how many seconds until one is free.
    pub fn take(&self, who: Who) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let (tokens, last) = buckets.entry(who).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(crate::stats::convert::saturating_u64(
                ((1.0 - *tokens) / self.rate).ceil().max(1.0),
            ))
        }
    }
}

/// The bearer key of a request, if it is well-formed. Nothing about it is logged.
fn bearer(req: &ServiceRequest) -> Result<String, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("send an API key: Authorization: Bearer <key>".into())
    })?;
    let malformed = || {
        ApiError::Unauthorized(
            "the Authorization header is not 'Bearer <key>' with an offerlab key".into(),
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let key = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(malformed)?
        .trim();
    let well_formed = key.len() == keys::KEY_PREFIX.len() + 64
        && key.starts_with(keys::KEY_PREFIX)
        && key[keys::KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(malformed());
    }
    Ok(key.to_owned())
}

async fn authenticate(state: &AppState, secret: String) -> Result<Caller, ApiError> {
    let hash = keys::hash_key(&secret);
    if let Some(caller) = state.access.caller(&hash) {
        return Ok(caller);
    }
    let store = state.store.clone();
    let found = web::block(move || -> Result<Option<Caller>, StoreError> {
        let mut conn = store.conn()?;
        keys::caller(&mut conn, &secret)
    })
    .await??;
    let caller =
        found.ok_or_else(|| ApiError::Unauthorized("this API key is unknown or revoked".into()))?;
    state.access.remember_caller(hash, caller.clone());
    // Recording the use is a write: the request must never wait behind the ingest
    // writer's transaction for it (SQLite has one writer), so it runs on its own.
    let store = state.store.clone();
    let Some(key_id) = caller.who.key_id() else {
        return Ok(caller);
    };
    actix_web::rt::spawn(async move {
        let touched = web::block(move || -> Result<(), StoreError> {
            let mut conn = store.conn()?;
            keys::touch(&mut conn, key_id, chrono::Utc::now())
        })
        .await;
        if !matches!(touched, Ok(Ok(()))) {
            tracing::warn!(key_id, "could not record the last use of an API key");
        }
    });
    Ok(caller)
}

/// The owner team of the initiative the router matched. A key that does not parse, or
/// names no initiative, is a 404 here, before anything is allowed: an owner that cannot
/// be established never lets a request through.
async fn owner_team(
    state: &AppState,
    key: InitiativeKey,
    fresh: bool,
) -> Result<TeamKey, ApiError> {
    let not_found = || ApiError::NotFound(format!("initiative '{key}'"));
    if !fresh && let Some(team) = state.access.owner(key.as_str()) {
        return team.ok_or_else(not_found);
    }
    let store = state.store.clone();
    let lookup = key.clone();
    let team = web::block(move || -> Result<Option<TeamKey>, StoreError> {
        let mut conn = store.conn()?;
        Ok(store::initiatives::find(&mut conn, lookup.as_str())?.map(|i| i.owner_team))
    })
    .await??;
    state.access.remember_owner(key.as_str(), team.clone());
    team.ok_or_else(not_found)
}

#[derive(Deserialize)]
struct OwnerTeamOnly {
    owner_team: Option<String>,
}

/// Reads the body to find the owner team it names, and puts the body back for the
/// handler. A body that does not parse names no team: the handler reports it.
async fn body_team(req: &mut ServiceRequest) -> Result<Option<TeamKey>, ApiError> {
    let bytes = req.extract::<web::Bytes>().await.map_err(|e| match e
        .as_error::<actix_web::error::PayloadError>()
    {
        Some(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge {
            limit: req
                .app_data::<super::extract::BodyLimit>()
                .map_or(0, |l| l.0),
        },
        _ => ApiError::BadRequest {
            detail: format!("could not read the request body: {e}"),
            errors: Vec::new(),
        },
    })?;
    let team = serde_json::from_slice::<OwnerTeamOnly>(&bytes)
        .ok()
        .and_then(|b| b.owner_team)
        .and_then(|t| TeamKey::parse(t).ok());
    req.set_payload(Payload::from(bytes));
    Ok(team)
}

/// What the request needs, from its route's rule and, for team-scoped routes, the teams:
/// the owner team of the initiative the router matched (decoded and parsed exactly as
/// the handler will see it) and the team a body names.
async fn need(state: &AppState, req: &mut ServiceRequest, rule: Rule) -> Result<Need, ApiError> {
    let path_key = || extract::initiative_key(req.match_info());
    let teams = match rule {
        Rule::Read => return Ok(Need::Read),
        Rule::Contribute => return Ok(Need::Contribute),
        Rule::Admin => return Ok(Need::Admin),
        Rule::OwnerTeam => vec![owner_team(state, path_key()?, false).await?],
        Rule::BodyTeam => body_team(req).await?.into_iter().collect(),
        Rule::OwnerAndBodyTeam => {
            let owner = owner_team(state, path_key()?, true).await?;
            let mut teams = vec![owner];
            teams.extend(body_team(req).await?);
            teams
        }
        // Not an API rule: a page resource wrapped in the API middleware by mistake is
        // closed, not open.
        Rule::Public | Rule::Page | Rule::AdminPage | Rule::OpenPage => {
            return Err(ApiError::NotFound(format!(
                "{} {}",
                req.method(),
                req.path()
            )));
        }
    };
    Ok(Need::WriteFor { teams })
}

/// A signed-in browser reading the API (the readout's JSON and CSV links): a valid
/// session cookie stands for its owner on `GET` and `HEAD` only, and only when the
/// request sends no `Authorization` header. A cookie never authorizes any other method,
/// so a page gains no write rights through it.
async fn session_caller(
    state: &AppState,
    req: &ServiceRequest,
) -> Result<Option<Caller>, ApiError> {
    use actix_web::http::Method;
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    if !read || req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(None);
    }
    let Some(token) = session_token(&state.session_secret, req.request()) else {
        return Ok(None);
    };
    let store = state.store.clone();
    Ok(web::block(move || -> Result<Option<Caller>, StoreError> {
        let mut conn = store.conn()?;
        sessions::caller(
            &mut conn,
            &token,
            sessions::Kind::Session,
            chrono::Utc::now(),
        )
    })
    .await??)
}

async fn decide(state: &AppState, req: &mut ServiceRequest) -> Result<Option<Caller>, ApiError> {
    // The rules of the resource the router matched. Without them nothing is allowed.
    let Some(rules) = req.app_data::<RouteRules>() else {
        return Err(ApiError::NotFound(format!(
            "{} {}",
            req.method(),
            req.path()
        )));
    };
    let rule = match rules.rule(req.method()) {
        // A method the resource does not serve: its default service answers OPTIONS
        // or 405, and reveals nothing the OpenAPI document does not.
        None | Some(Rule::Public) => return Ok(None),
        Some(rule) => rule,
    };
    let caller = match session_caller(state, req).await? {
        Some(caller) => caller,
        None => authenticate(state, bearer(req)?).await?,
    };
    state
        .rate
        .take(caller.who)
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    let need = need(state, req, rule).await?;
    caller
        .allows(&need)
        .map_err(|denied| ApiError::Forbidden(denied.to_string()))?;
    Ok(Some(caller))
}

/// Middleware on every API resource (after routing).
pub async fn authorize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let e = ApiError::Internal("application state missing".into());
        return Ok(req.into_response(e.error_response()).map_into_right_body());
    };
    match decide(&state, &mut req).await {
        Ok(caller) => {
            if let Some(c) = caller {
                tracing::debug!(who = %c.who, role = %c.role, "authorized");
                req.extensions_mut().insert(c);
            }
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

//! Dashboard sign-in: a person's email and password (or, for machine accounts, an API
//! key) is exchanged for a session cookie. Failed password sign-ins are limited per
//! account and per client address ([`crate::api::throttle`]) and always answer the same
//! message.
//!
//! The cookie holds a random session token and an HMAC-SHA256 of it under the
//! dashboard's secret, so a tampered cookie is refused before any lookup; the session
//! itself lives in the database, so signing out ends it for good. Cookies are HttpOnly,
//! SameSite=Strict, Secure when served over TLS, and expire with the session.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use maud::html;
use serde::Deserialize;

use super::{PageError, layout};
use crate::api::AppState;
use crate::api::routes::{RouteRules, Rule};
use crate::domain::access::{Role, Who};
use crate::domain::user::Email;
use crate::store::sessions::SessionOwner;
use crate::store::{StoreError, keys, sessions, users};

pub use crate::api::auth::{COOKIE, sign, verify};

/// Runs a storage call on the blocking pool; failures become error pages.
pub(super) async fn db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::store::DbConn) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PageError> {
    crate::api::blocking(state, f)
        .await
        .map_err(PageError::from)
}

/// The signed-in session of a page request (put there by [`require_sign_in`]).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub owner: SessionOwner,
    /// The session's form token (see [`crate::api::auth::csrf_token`]).
    pub csrf: String,
}

impl SignedIn {
    pub fn nav(&self) -> layout::Nav {
        layout::Nav {
            name: self.owner.name.clone(),
            admin: self.owner.caller.role == Role::Admin,
            person: matches!(self.owner.caller.who, Who::User(_)),
            csrf: self.csrf.clone(),
        }
    }
}

/// The signed-in session of a request, if any.
pub fn signed_in(req: &HttpRequest) -> Option<SignedIn> {
    req.extensions().get::<SignedIn>().cloned()
}

/// The navigation of a request's page: the session's, or none.
pub fn nav(req: &HttpRequest) -> Option<layout::Nav> {
    signed_in(req).map(|s| s.nav())
}

/// A state-changing form of a signed-in page: the session, when the form carries the
/// session's form token. (The same-origin check has run in [`require_sign_in`].)
pub fn check_form(req: &HttpRequest, csrf: &str) -> Result<SignedIn, PageError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(PageError::Internal)?;
    let session = signed_in(req).ok_or(PageError::FormExpired)?;
    if !crate::api::auth::csrf_holds(&state.session_secret, &session.token, csrf) {
        tracing::warn!(route = ?req.match_pattern(), "form without a valid form token refused");
        return Err(PageError::FormExpired);
    }
    Ok(session)
}

async fn session_of(state: &AppState, req: &ServiceRequest) -> Result<Option<SignedIn>, PageError> {
    let Some(token) = crate::api::auth::session_token(&state.session_secret, req.request()) else {
        return Ok(None);
    };
    let lookup = token.clone();
    let owner = db(state, move |c| {
        sessions::owner(c, &lookup, sessions::Kind::Session, Utc::now())
    })
    .await?;
    Ok(owner.map(|owner| SignedIn {
        csrf: crate::api::auth::csrf_token(&state.session_secret, &token),
        token,
        owner,
    }))
}

/// Whether a state-changing request comes from this site's own pages. Browsers send
/// `Sec-Fetch-Site` (and `Origin` on every POST); a request carrying neither is not a
/// browser's cross-site form, so it is let through. `Origin: null` (sandboxed frames,
/// some redirects) is refused.
pub fn same_origin(req: &ServiceRequest) -> bool {
    let header = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("invalid"))
    };
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        None => true,
        Some(origin) => {
            let info = req.connection_info();
            origin == format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// Middleware on every page resource, after routing: reads the resource's rule
/// ([`RouteRules`]). Form posts must come from this site; pages need a session unless
/// `dashboard.public`; open pages (sign-in, stylesheet) need nothing more.
pub async fn require_sign_in(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refuse = |req: ServiceRequest, e: PageError| {
        let response = actix_web::ResponseError::error_response(&e);
        Ok(req.into_response(response).map_into_right_body())
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let rule = req.app_data::<RouteRules>().map(|r| r.rule(req.method()));
    let (Some(state), Some(rule)) = (state, rule) else {
        // No rules for the matched resource: closed, not open.
        let what = format!("{} {}", req.method(), req.path());
        return refuse(req, PageError::NotFound(what));
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(&req) {
        tracing::warn!(route = ?req.match_pattern(), "cross-site form post refused");
        return refuse(req, PageError::CrossSite);
    }
    match rule {
        // A method the page does not serve: its default service answers 405/OPTIONS.
        None | Some(Rule::OpenPage) => {}
        Some(rule @ (Rule::Page | Rule::AdminPage)) => match session_of(&state, &req).await {
            Ok(Some(session)) => {
                if rule == Rule::AdminPage && session.owner.caller.role != Role::Admin {
                    return refuse(req, PageError::AdminOnly);
                }
                req.extensions_mut().insert(session);
            }
            // Public pages open without a sign-in; admin pages never do.
            Ok(None) if rule == Rule::Page && state.settings.dashboard.public && safe => {}
            Ok(None) => {
                let target = req
                    .uri()
                    .path_and_query()
                    .map_or("/".to_owned(), |p| p.as_str().to_owned());
                let location = format!("/sign-in?next={}", encode(&target));
                let response = HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location))
                    .finish();
                return Ok(req.into_response(response).map_into_right_body());
            }
            Err(e) => return refuse(req, e),
        },
        // An API rule on a page resource is a mistake: closed.
        Some(_) => {
            let what = format!("{} {}", req.method(), req.path());
            return refuse(req, PageError::NotFound(what));
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Percent-encodes a path for a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The longest `next` target followed after sign-in.
const MAX_NEXT: usize = 2048;

/// Only paths on this site are followed after sign-in (no open redirect): one leading
/// `/` not followed by `/` or `\` (which browsers read as another host), and only the
/// printable characters a URL path and query may hold, so the `Location` header is
/// always valid and means the same to every browser. Anything else goes to `/`.
fn safe_next(next: Option<&str>) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%".contains(c);
    match next {
        Some(n)
            if n.len() <= MAX_NEXT
                && n.starts_with('/')
                && !n.starts_with("//")
                && n.chars().all(allowed) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    /// A one-time sign-in link's code.
    code: Option<String>,
    /// Set after an invite was accepted: say the password is set.
    welcome: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// An API key instead of an email and a password.
    #[serde(default)]
    key: String,
    next: Option<String>,
}

/// The one message for a failed password sign-in, whatever failed (unknown email, wrong
/// password, disabled account, no password set yet).
pub const WRONG_CREDENTIALS: &str = "Email or password is wrong.";

/// What the sign-in page says above the form.
enum Notice<'a> {
    None,
    Problem(&'a str),
    Done(&'a str),
}

fn form(next: &str, email: &str, notice: Notice<'_>) -> maud::Markup {
    layout::page(
        "Sign in",
        html! {
            section.card.sign-in.form-card {
                h1 { "Sign in" }
                p { "Sign in with the email and password of your offerlab account. New here? Ask an admin for an invite." }
                @match notice {
                    Notice::Problem(p) => p.problem role="alert" { (p) },
                    Notice::Done(d) => p.done role="status" { (d) },
                    Notice::None => {},
                }
                form method="post" action="/sign-in" {
                    input type="hidden" name="next" value=(next);
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button #sign-in type="submit" { "Sign in" }
                }
                details.key-sign-in {
                    summary { "Sign in with an API key instead" }
                    p.hint { "For machine accounts: paste an offerlab API key (viewer or higher)." }
                    form method="post" action="/sign-in" {
                        input type="hidden" name="next" value=(next);
                        label for="key" { "API key" }
                        input #key type="password" name="key" autocomplete="off" required;
                        button type="submit" { "Sign in with the key" }
                    }
                }
            }
        },
    )
}

fn session_cookie(req: &HttpRequest, value: String, hours: u32) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(time::Duration::hours(i64::from(hours)))
        .finish()
}

/// A response that clears the session cookie and goes to `location`.
pub(super) fn signed_out(req: &HttpRequest, location: &str) -> HttpResponse {
    let mut gone = session_cookie(req, String::new(), 0);
    gone.make_removal();
    HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    who: Who,
    next: &str,
) -> Result<HttpResponse, PageError> {
    let hours = state.settings.dashboard.session_hours.max(1);
    let token = db(state, move |c| {
        sessions::create(
            c,
            who,
            sessions::Kind::Session,
            Duration::hours(i64::from(hours)),
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(
            req,
            sign(&state.session_secret, &token),
            hours,
        ))
        .insert_header((header::LOCATION, next.to_owned()))
        .finish())
}

/// `GET /sign-in`: the form, or a one-time link exchanged for a session.
pub async fn sign_in_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(query.next.as_deref());
    if let Some(code) = query.code.clone() {
        let caller = db(&state, move |c| {
            let caller = sessions::caller(c, &code, sessions::Kind::Link, Utc::now())?;
            // A link works once.
            sessions::delete(c, &code)?;
            Ok(caller)
        })
        .await?;
        return match caller {
            Some(c) => start_session(&state, &req, c.who, &next).await,
            None => Ok(layout::html(
                StatusCode::UNAUTHORIZED,
                form(
                    &next,
                    "",
                    Notice::Problem(
                        "That sign-in link is used up or expired: sign in with your email and password.",
                    ),
                ),
            )),
        };
    }
    let notice = if query.welcome.is_some() {
        Notice::Done("Your password is set. Sign in with your email and password.")
    } else {
        Notice::None
    };
    Ok(layout::html(StatusCode::OK, form(&next, "", notice)))
}

/// `POST /sign-in` with `email` and `password` (or an API `key`), and `next`.
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let body = body.into_inner();
    let next = safe_next(body.next.as_deref());
    let key = body.key.trim().to_owned();
    if !key.is_empty() {
        let caller = db(&state, move |c| keys::caller(c, &key)).await?;
        return match caller {
            Some(c) => start_session(&state, &req, c.who, &next).await,
            None => Ok(layout::html(
                StatusCode::UNAUTHORIZED,
                form(
                    &next,
                    "",
                    Notice::Problem("That key is unknown or revoked."),
                ),
            )),
        };
    }
    // One account per normalised email; what was typed otherwise (it matches nothing).
    let account = Email::parse(&body.email)
        .map(|e| e.to_string())
        .unwrap_or_else(|_| body.email.trim().to_lowercase());
    let address = req.peer_addr().map(|a| a.ip());
    if let Err(retry_after) = state.sign_in.check(&account, address) {
        tracing::warn!("password sign-in refused: too many failed attempts");
        let minutes = retry_after.div_ceil(60);
        let message = format!(
            "Too many failed sign-ins. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response = layout::html(
            StatusCode::TOO_MANY_REQUESTS,
            form(&next, &body.email, Notice::Problem(&message)),
        );
        if let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let (email, password) = (body.email.clone(), body.password);
    // Argon2 runs on the blocking pool, never on an HTTP worker.
    let user = db(&state, move |c| {
        users::check_credentials(c, &email, &password)
    })
    .await?;
    match user {
        Some(user) => {
            state.sign_in.succeed(&account);
            tracing::info!(user_id = user.id, "signed in");
            start_session(&state, &req, Who::User(user.id), &next).await
        }
        None => {
            state.sign_in.fail(&account, address);
            tracing::info!("password sign-in failed");
            Ok(layout::html(
                StatusCode::UNAUTHORIZED,
                form(&next, &body.email, Notice::Problem(WRONG_CREDENTIALS)),
            ))
        }
    }
}

/// `POST /sign-out`: ends the session and clears the cookie.
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Some(token) = crate::api::auth::session_token(&state.session_secret, &req) {
        db(&state, move |c| sessions::delete(c, &token)).await?;
    }
    Ok(signed_out(&req, "/sign-in"))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /sign-out-everywhere`: ends every session of the signed-in user (for a key's
/// session, this one).
pub async fn sign_out_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let session = check_form(&req, &body.csrf)?;
    let token = session.token.clone();
    match session.owner.caller.who {
        Who::User(id) => {
            let ended = db(&state, move |c| sessions::end_all_for_user(c, id)).await?;
            tracing::info!(user_id = id, ended, "signed out everywhere");
        }
        Who::Key(_) => db(&state, move |c| sessions::delete(c, &token)).await?,
    }
    Ok(signed_out(&req, "/sign-in"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let value = sign(b"secret", "abc");
        assert_eq!(verify(b"secret", &value), Some("abc"));
        assert_eq!(verify(b"other", &value), None);
        assert_eq!(verify(b"secret", &value.replace("abc", "abd")), None);
        assert_eq!(verify(b"secret", "abc"), None);
        assert_eq!(safe_next(Some("/initiatives/x")), "/initiatives/x");
        assert_eq!(
            safe_next(Some("/?status=running&team=growth")),
            "/?status=running&team=growth"
        );
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/x",
            "/\r\nSet-Cookie: x=1",
            "https://evil.example",
            "https:evil.example",
            "evil.example",
            "/ /x",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

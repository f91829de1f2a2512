//! Dashboard sign-in: a viewer (or higher) API key is exchanged for a session cookie.
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
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::Sha256;

use super::{PageError, layout};
use crate::api::AppState;
use crate::api::routes::{RouteRules, Rule};
use crate::domain::access::{Caller, Role};
use crate::store::{StoreError, keys, sessions};

pub const COOKIE: &str = "offerlab_session";

/// Runs a storage call on the blocking pool; failures become error pages.
async fn db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::store::DbConn) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PageError> {
    crate::api::blocking(state, f)
        .await
        .map_err(PageError::from)
}

fn mac(secret: &[u8], token: &str) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    m.update(token.as_bytes());
    Some(m)
}

/// `token.signature` for a cookie.
pub fn sign(secret: &[u8], token: &str) -> String {
    let signature = mac(secret, token)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{token}.{signature}")
}

/// The token of a cookie value whose signature holds (compared in constant time).
pub fn verify<'a>(secret: &[u8], value: &'a str) -> Option<&'a str> {
    let (token, signature) = value.split_once('.')?;
    let signature = hex::decode(signature).ok()?;
    mac(secret, token)?.verify_slice(&signature).ok()?;
    Some(token)
}

async fn session_caller(
    state: &AppState,
    req: &ServiceRequest,
) -> Result<Option<Caller>, PageError> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let Some(token) = verify(&state.session_secret, cookie.value()).map(str::to_owned) else {
        return Ok(None);
    };
    db(state, move |c| {
        sessions::caller(c, &token, sessions::Kind::Session, Utc::now())
    })
    .await
}

/// Whether a state-changing request comes from this site's own pages. Browsers send
/// `Sec-Fetch-Site` (and `Origin` on every POST); a request carrying neither is not a
/// browser's cross-site form, so it is let through. `Origin: null` (sandboxed frames,
/// some redirects) is refused.
fn same_origin(req: &ServiceRequest) -> bool {
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
        tracing::warn!(path = req.path(), "cross-site form post refused");
        return refuse(req, PageError::CrossSite);
    }
    match rule {
        // A method the page does not serve: its default service answers 405/OPTIONS.
        None | Some(Rule::OpenPage) => {}
        Some(Rule::Page) if state.settings.dashboard.public => {}
        Some(rule @ (Rule::Page | Rule::AdminPage)) => match session_caller(&state, &req).await {
            Ok(Some(c)) if rule == Rule::Page || c.role == Role::Admin => {}
            Ok(Some(_)) => return refuse(req, PageError::AdminOnly),
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
}

#[derive(Deserialize)]
pub struct SignInForm {
    key: String,
    next: Option<String>,
}

fn form(next: &str, problem: Option<&str>) -> maud::Markup {
    layout::page(
        "Sign in",
        html! {
            section.card.sign-in {
                h1 { "Sign in" }
                p { "Paste an offerlab API key (viewer or higher). Ask an admin for one: "
                    code { "offerlab keys create --role viewer --label \"...\"" } }
                @if let Some(p) = problem { p.problem role="alert" { (p) } }
                form method="post" action="/sign-in" {
                    input type="hidden" name="next" value=(next);
                    label for="key" { "API key" }
                    input #key type="password" name="key" autocomplete="off" required;
                    button type="submit" { "Sign in" }
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

async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    key_id: i64,
    next: &str,
) -> Result<HttpResponse, PageError> {
    let hours = state.settings.dashboard.session_hours.max(1);
    let store = state.store.clone();
    let token = web::block(move || -> Result<String, StoreError> {
        let mut conn = store.conn()?;
        sessions::create(
            &mut conn,
            key_id,
            sessions::Kind::Session,
            Duration::hours(i64::from(hours)),
            Utc::now(),
        )
    })
    .await
    .map_err(|e| PageError::from(crate::api::error::ApiError::from(e)))?
    .map_err(|e| PageError::from(crate::api::error::ApiError::from(e)))?;
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
            Some(c) => start_session(&state, &req, c.key_id, &next).await,
            None => Ok(layout::html(
                StatusCode::UNAUTHORIZED,
                form(
                    &next,
                    Some("That sign-in link is used up or expired: sign in with a key."),
                ),
            )),
        };
    }
    Ok(layout::html(StatusCode::OK, form(&next, None)))
}

/// `POST /sign-in` with `key` (and `next`).
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let body = body.into_inner();
    let next = safe_next(body.next.as_deref());
    let secret = body.key.trim().to_owned();
    let caller = db(&state, move |c| keys::caller(c, &secret)).await?;
    match caller {
        Some(c) => start_session(&state, &req, c.key_id, &next).await,
        None => Ok(layout::html(
            StatusCode::UNAUTHORIZED,
            form(&next, Some("That key is unknown or revoked.")),
        )),
    }
}

/// `POST /sign-out`: ends the session and clears the cookie.
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Some(token) = req
        .cookie(COOKIE)
        .and_then(|c| verify(&state.session_secret, c.value()).map(str::to_owned))
    {
        db(&state, move |c| sessions::delete(c, &token)).await?;
    }
    let mut gone = session_cookie(&req, String::new(), 0);
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((header::LOCATION, "/sign-in"))
        .finish())
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

//! Request extractors that answer every malformed input with a problem document.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::{FieldError, InitiativeKey};

/// The body limit, set once as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body: requires `application/json` (or `+json`), enforces the body limit,
/// and reports the path of the offending field (`events[3].amount_cents`).
pub struct ApiJson<T>(pub T);

/// The media type of the request (`application/json`), lower case, without parameters.
fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
}

fn is_json(m: &str) -> bool {
    m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
}

/// The body, read up to the body limit (413 beyond it).
fn limited_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, ApiError>> + 'static {
    let limit = req
        .app_data::<BodyLimit>()
        .map_or(1024 * 1024, |BodyLimit(l)| *l);
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let bytes = web::Bytes::from_request(req, payload);
    async move {
        if declared_len.is_some_and(|l| l > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let body = bytes
            .await
            .map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => ApiError::PayloadTooLarge { limit },
                _ => ApiError::BadRequest {
                    detail: format!("could not read the request body: {e}"),
                    errors: Vec::new(),
                },
            })?;
        if body.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        Ok(body)
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = media_type(req).is_some_and(|m| is_json(&m));
        let body = limited_body(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ));
            }
            parse_json(&body.await?).map(ApiJson)
        })
    }
}

/// A body that is JSON (`application/json`, parsed as for [`ApiJson`]) or CSV
/// (`text/csv`, kept as bytes for the handler to read); anything else is a 415.
pub enum JsonOrCsv<T> {
    Json(T),
    Csv(web::Bytes),
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonOrCsv<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media = media_type(req);
        let body = limited_body(req, payload);
        Box::pin(async move {
            match media.as_deref() {
                Some(m) if is_json(m) => parse_json(&body.await?).map(JsonOrCsv::Json),
                Some("text/csv") => Ok(JsonOrCsv::Csv(body.await?)),
                _ => Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON (Content-Type: application/json) or as CSV \
                     (Content-Type: text/csv)"
                        .into(),
                )),
            }
        })
    }
}

/// Parses JSON, naming the offending field on error: syntax errors are 400, errors of
/// shape (unknown field, wrong type, missing field) are 422.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let error = shape_error(&path, &inner.to_string());
                ApiError::Invalid {
                    detail: error.to_string(),
                    errors: vec![error],
                }
            }
            _ => not_json(&inner),
        }
    })?;
    de.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

fn not_json(e: &serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        detail: format!("the body is not valid JSON: {e}"),
        errors: vec![FieldError::new("body", format!("not valid JSON: {e}"))],
    }
}

/// Turns serde's message about a value at `path` into a field error naming the field:
/// a missing field is named itself (serde reports its parent), the position suffix
/// is dropped, and an unknown field lists the allowed ones.
pub fn shape_error(path: &str, message: &str) -> FieldError {
    let path = if path == "." { "" } else { path };
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return FieldError::new(join(name), "is required");
    }
    if message.starts_with("unknown field") {
        let allowed = message
            .split_once(", expected ")
            .map(|(_, a)| format!(" (expected {a})"))
            .unwrap_or_default();
        return FieldError::new(
            if path.is_empty() { "body" } else { path },
            format!("is not a known field{allowed}"),
        );
    }
    FieldError::new(if path.is_empty() { "body" } else { path }, message)
}

#[derive(serde::Deserialize)]
struct KeyParam {
    key: String,
}

/// The initiative key the router matched, decoded exactly as `web::Path` decodes it.
/// The authorization middleware and the handlers both read the key through this one
/// function, so they always judge and act on the same initiative. A key that does not
/// parse cannot name an initiative: 404.
pub fn initiative_key(
    path: &actix_web::dev::Path<actix_web::dev::Url>,
) -> Result<InitiativeKey, ApiError> {
    let raw = path
        .load::<KeyParam>()
        .map_err(|e| ApiError::NotFound(format!("initiative in path ({e})")))?
        .key;
    InitiativeKey::parse(raw.as_str())
        .map_err(|_| ApiError::NotFound(format!("initiative '{raw}'")))
}

/// The `{key}` path parameter as an initiative key (see [`initiative_key`]).
pub struct PathKey(pub InitiativeKey);

impl FromRequest for PathKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(initiative_key(req.match_info()).map(PathKey))
    }
}

/// The authenticated caller the authorization middleware admitted. Only on routes that
/// need a key; anywhere else it is a 401.
pub struct Authed(pub crate::domain::access::Caller);

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        use actix_web::HttpMessage;
        std::future::ready(
            req.extensions()
                .get::<crate::domain::access::Caller>()
                .cloned()
                .map(Authed)
                .ok_or_else(|| ApiError::Unauthorized("send an API key".into())),
        )
    }
}

//! The one place where errors become HTTP responses: RFC 9457 problem details.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::initiative::LifecycleError;
use crate::domain::{FieldError, FieldErrors};
use crate::store::ingest::IngestError;
use crate::store::{Fault, StoreError};

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:offerlab:problem:validation`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// Field-level problems: which field, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The id of the request, as in the logs and the `X-Request-Id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Errors of the HTTP layer, each with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or a query parameter is malformed.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no key, a malformed key, or a key that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid key without the right.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 405: the path exists, the method does not; `Allow` lists the methods that do.
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: String },
    /// 429: the key sent more requests than its rate allows.
    #[error("too many requests for this API key; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// 409: the resource exists, or the lifecycle forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// 409: events reuse an `event_id` for a different event.
    #[error("{detail}")]
    EventIdConflict {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 413.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but invalid fields.
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 503: the database or the ingest writer is not available.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 404: a provider hook without its signing secret configured: it is not there
    /// until configured (the provider retries; unsigned data is never accepted).
    #[error("{0}")]
    NotConfigured(String),
    /// 503: every database connection of this instance stayed busy for the acquire timeout.
    #[error("service busy: {0}")]
    PoolExhausted(String),
    /// 507: the database has no space left; nothing of the request was stored.
    #[error("database storage is full: {0}")]
    StorageFull(String),
    /// 503 from `/readyz`: why this instance should take no traffic (our own words).
    #[error("not ready: {0}")]
    NotReady(String),
    /// 500: logged in full, answered with a generic text.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(errors: FieldErrors) -> Self {
        let detail = match errors.0.as_slice() {
            [one] => format!("{} {}", one.field, one.reason),
            many => format!("{} fields are invalid", many.len()),
        };
        ApiError::Invalid {
            detail,
            errors: errors.0,
        }
    }

    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(FieldError::new(field, reason).into())
    }

    pub fn bad_query(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        ApiError::BadRequest {
            detail: format!("query parameter {field} {reason}"),
            errors: vec![FieldError::new(field, reason)],
        }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad-request", "Malformed request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::Conflict(_) => ("conflict", "Conflict with the current state"),
            ApiError::EventIdConflict { .. } => (
                "event-id-conflict",
                "Event id already used for another event",
            ),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported content type")
            }
            ApiError::Invalid { .. } => ("validation", "Invalid request"),
            ApiError::Unavailable(_) | ApiError::NotReady(_) => {
                ("unavailable", "Service unavailable")
            }
            ApiError::PoolExhausted(_) => ("busy", "Service busy"),
            ApiError::StorageFull(_) => ("storage-full", "Database storage is full"),
            ApiError::NotConfigured(_) => ("hook-not-configured", "Hook not configured"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        let (detail, errors) = match self {
            ApiError::BadRequest { detail, errors }
            | ApiError::Invalid { detail, errors }
            | ApiError::EventIdConflict { detail, errors } => (detail.clone(), errors.clone()),
            // Internal causes are logged, never sent.
            ApiError::Internal(_) => (
                "the server could not complete the request; it has been logged".into(),
                Vec::new(),
            ),
            ApiError::Unavailable(_) => (
                "the database is not available right now; retry shortly".into(),
                Vec::new(),
            ),
            ApiError::PoolExhausted(_) => (
                "every database connection of this instance is busy; retry shortly (or add \
                 instances, or raise database.pool_size within the database's max_connections)"
                    .into(),
                Vec::new(),
            ),
            ApiError::StorageFull(_) => (
                "the database storage is full: nothing of this request was stored; \
                 retry once disk space has been freed"
                    .into(),
                Vec::new(),
            ),
            ApiError::NotReady(why) => (why.clone(), Vec::new()),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            problem_type: format!("urn:offerlab:problem:{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            request_id: super::context::current_request_id().filter(|id| !id.is_empty()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NotConfigured(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(_) | ApiError::EventIdConflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::NotReady(_) | ApiError::PoolExhausted(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause)
            | ApiError::StorageFull(cause)
            | ApiError::PoolExhausted(cause) => {
                tracing::warn!(%cause, "request failed")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unavailable(_) | ApiError::NotReady(_) | ApiError::PoolExhausted(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::StorageFull(_) => {
                response.insert_header((header::RETRY_AFTER, "30"));
            }
            _ => {}
        }
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        if let ApiError::TooManyRequests { retry_after } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"offerlab\""));
        }
        response.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Invalid(errors) => ApiError::invalid(errors),
            StoreError::Lifecycle(e) => e.into(),
            e @ StoreError::PoolExhausted { .. } => ApiError::PoolExhausted(e.to_string()),
            // Down, unreachable, SQLite's busy timeout, read-only: a retry will do, later.
            e if matches!(
                e.fault(),
                Some(Fault::Unreachable | Fault::Busy | Fault::ReadOnly)
            ) =>
            {
                ApiError::Unavailable(e.to_string())
            }
            e if e.fault() == Some(Fault::StorageFull) => ApiError::StorageFull(e.to_string()),
            StoreError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            )) => ApiError::Conflict(format!("already exists: {}", info.message())),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        ApiError::Conflict(e.to_string())
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::NotFound(key) => ApiError::NotFound(format!("initiative '{key}'")),
            e @ IngestError::NotRunning(_) => ApiError::Conflict(e.to_string()),
            IngestError::Invalid(errors) => {
                let detail = format!(
                    "{} event(s) are invalid; nothing was stored",
                    errors
                        .iter()
                        .map(|e| e.field.split('.').next().unwrap_or_default())
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                );
                ApiError::Invalid { detail, errors }
            }
            IngestError::IdConflict(errors) => ApiError::EventIdConflict {
                detail: format!(
                    "{} event(s) reuse an event_id for a different event; nothing was stored",
                    errors.len()
                ),
                errors,
            },
            IngestError::Storage(e) => e.into(),
            IngestError::Closed => ApiError::Unavailable("ingest queue closed".into()),
            e @ IngestError::TimedOut(_) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

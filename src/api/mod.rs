//! HTTP API under `/api/v1`: thin handlers that parse, authorize, call and map errors.

pub mod audit;
pub mod auth;
pub mod context;
pub mod decisions;
pub mod document;
pub mod error;
pub mod event_csv;
pub mod events;
pub mod extract;
pub mod health;
pub mod hooks;
pub mod initiatives;
pub mod keys;
pub mod metrics;
pub mod reports;
pub mod routes;
pub mod schema;
pub mod segments;
pub mod throttle;
pub mod users;
pub mod webhooks;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::settings::Settings;
use crate::store::ingest::IngestQueue;
use crate::store::{DbConn, Store, StoreError};
use error::ApiError;

/// Shared by all handlers.
pub struct AppState {
    pub store: Store,
    pub access: auth::AccessCache,
    pub rate: auth::RateLimiter,
    pub http: metrics::HttpStats,
    /// Signs dashboard session cookies.
    pub session_secret: Vec<u8>,
    /// Failed password sign-ins per account and per address.
    pub sign_in: throttle::SignInThrottle,
    pub queue: IngestQueue,
    /// Wakes the webhook sender after deliveries were written.
    pub webhooks: crate::notify::sender::Wake,
    pub settings: Arc<Settings>,
    /// What provider hooks received, for `/metrics`.
    pub intake: crate::intake::IntakeStats,
}

/// Runs a storage call on the blocking pool with a pooled connection.
pub async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    let span = tracing::Span::current();
    web::block(move || {
        let _entered = span.enter();
        let mut conn = store.conn()?;
        f(&mut conn)
    })
    .await?
    .map_err(ApiError::from)
}

/// Runs a read on the blocking pool with a connection for reads: the read replica's when
/// `database.read_url` is set (pages, reports, exports), else the primary's. Never write
/// through it: a replica refuses writes.
pub async fn reading<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    let span = tracing::Span::current();
    web::block(move || {
        let _entered = span.enter();
        let mut conn = store.read_conn()?;
        f(&mut conn)
    })
    .await?
    .map_err(ApiError::from)
}

/// Registers the API routes (the `/api/v1` resources, health checks and metrics), each
/// behind the authorization middleware, which reads the resource's rules after routing.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources = routes::Resources::default();
    routes::declare_api(&mut resources);
    for resource in resources.into_resources() {
        cfg.service(resource.wrap(actix_web::middleware::from_fn(auth::authorize)));
    }
}

/// Any unknown path: 404 as problem+json.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "{} {}",
        req.method(),
        req.path()
    )))
}

/// Query-string errors as problem+json.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let msg = err.to_string();
    let field = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.contains("unknown field"))
        .unwrap_or("query")
        .to_owned();
    ApiError::bad_query(&field, msg.replace("Query deserialize error: ", "")).into()
}

/// Path-segment errors as problem+json.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("path: {err}")).into()
}

//! HTTP API under `/api/v1`: thin handlers that parse, authorize, call and map errors.

pub mod auth;
pub mod context;
pub mod decisions;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod initiatives;
pub mod keys;
pub mod metrics;
pub mod reports;
pub mod routes;
pub mod segments;
pub mod webhooks;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;

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
    pub queue: IngestQueue,
    /// Wakes the webhook sender after deliveries were written.
    pub webhooks: crate::notify::sender::Wake,
    pub settings: Arc<Settings>,
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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "offerlab",
        description = "Pilot new value initiatives and test, honestly, whether customers really want them.",
    ),
    paths(
        segments::create_segment,
        segments::list_segments,
        initiatives::create_initiative,
        initiatives::list_initiatives,
        initiatives::get_initiative,
        initiatives::update_initiative,
        initiatives::launch_initiative,
        initiatives::conclude_initiative,
        decisions::list_decisions,
        events::post_events,
        events::list_events,
        events::assign,
        events::summary,
        reports::get_report,
        reports::report_csv_export,
        reports::get_portfolio,
        reports::post_plan,
        keys::create_key,
        keys::list_keys,
        keys::revoke_key,
        webhooks::create_webhook,
        webhooks::list_webhooks,
        webhooks::delete_webhook,
        webhooks::list_deliveries,
        webhooks::replay_delivery,
        openapi_json,
        health::healthz,
        health::readyz,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "segments", description = "Customer segments"),
        (name = "initiatives", description = "Initiatives and their lifecycle"),
        (name = "events", description = "Exposures, pre-orders, cancellations and responses"),
        (name = "reports", description = "Reports, verdicts, the portfolio and planning"),
        (name = "keys", description = "API keys (admins)"),
        (name = "webhooks", description = "Outbound webhooks and Slack notifications (admins)"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer-key scheme every route but the OpenAPI document uses.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An offerlab API key: olk_ followed by 64 hex digits"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "OpenAPI 3.1 document"))
)]
pub async fn openapi_json() -> HttpResponse {
    let doc = ApiDoc::openapi();
    HttpResponse::Ok().json(doc)
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

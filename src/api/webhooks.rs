//! `/api/v1/webhooks`: outbound webhook subscriptions, their delivery log and replay
//! (admins; the route table enforces it).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, Authed};
use super::{AppState, blocking};
use crate::domain::FieldErrors;
use crate::domain::webhook::{NewWebhook, Webhook, WebhookSecret};
use crate::notify::guard;
use crate::store::outbox::{self, DeliveryLog};
use crate::store::webhooks;

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where to post: an http or https URL (a Slack incoming webhook URL for `slack`).
    #[schema(
        pattern = "^https?://[^\\s/?#]+",
        min_length = 8,
        max_length = 2048,
        example = "https://hooks.example.com/offerlab"
    )]
    pub url: String,
    /// Event types wanted: `verdict.changed`, `srm.detected`, `plan.reached`,
    /// `decision.recorded`, `initiative.launched`, `initiative.concluded`.
    #[schema(min_items = 1)]
    pub event_types: Vec<String>,
    /// Only events of this initiative.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]*$", min_length = 1, max_length = 64)]
    pub initiative: Option<String>,
    /// Only events of initiatives this team owns.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]*$", min_length = 1, max_length = 64)]
    pub team: Option<String>,
    /// `standard` (default: Standard Webhooks JSON) or `slack`.
    #[schema(pattern = "^(standard|slack)$")]
    pub format: Option<String>,
}

/// A subscription as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub event_types: Vec<String>,
    pub initiative: Option<String>,
    pub team: Option<String>,
    pub format: String,
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url.as_str().to_owned(),
            event_types: w
                .event_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            initiative: w.initiative.map(|k| k.to_string()),
            team: w.team.map(|t| t.to_string()),
            format: w.format.as_str().to_owned(),
            created_at: w.created_at,
        }
    }
}

/// A new subscription: `secret` (`whsec_…`, for verifying signatures) is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookView {
    pub secret: String,
    #[serde(flatten)]
    pub details: WebhookView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryLog>,
}

/// Parses a subscription request; a literal address that is refused (loopback, private,
/// link-local, metadata) is a field error unless private networks are allowed.
pub fn parse_webhook(input: &WebhookInput, allow_private: bool) -> Result<NewWebhook, FieldErrors> {
    let new = NewWebhook::parse(
        &input.url,
        &input.event_types,
        input.initiative.as_deref(),
        input.team.as_deref(),
        input.format.as_deref(),
    )?;
    guard::check_url(new.url.as_url(), allow_private)
        .map_err(|reason| FieldErrors(vec![crate::domain::FieldError::new("url", reason)]))?;
    Ok(new)
}

/// Subscribe an endpoint to events (admins).
///
/// The endpoint gets the chosen event types (optionally of one initiative or one team's
/// initiatives), signed as Standard Webhooks (`standard`) or as a Slack message (`slack`).
/// The signing secret is in the answer, this once. Loopback, private, link-local and
/// metadata addresses are refused unless `webhooks.allow_private_networks` is set.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookInput,
    responses(
        (status = 201, body = CreatedWebhookView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_webhook(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let new = parse_webhook(&input, state.settings.webhooks.allow_private_networks)
        .map_err(ApiError::invalid)?;
    let secret = WebhookSecret::generate();
    let shown = secret.expose().to_owned();
    let created = blocking(&state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        webhooks::create(c, &actor, &new, &secret, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedWebhookView {
        secret: shown,
        details: created.into(),
    }))
}

/// List subscriptions (admins).
///
/// Every subscription with its URL, event types, filters and format; never its secret.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, body = WebhookList),
    )
)]
pub async fn list_webhooks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = blocking(&state, webhooks::list).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        webhooks: all.into_iter().map(WebhookView::from).collect(),
    }))
}

fn parse_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("{what} '{raw}'")))
}

/// Remove a subscription (admins).
///
/// The subscription goes with its pending deliveries and their log; recorded in the audit
/// log.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Removed"),
    )
)]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "webhook")?;
    blocking(&state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        webhooks::delete(c, &actor, id, Utc::now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Query of the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Most deliveries listed, newest first (default 100, at most 1,000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The delivery log of a subscription (admins).
///
/// Each delivery, newest first, with its state and every attempt (time, status code,
/// latency, error).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id"), DeliveryQuery),
    responses(
        (status = 200, body = DeliveryList),
    )
)]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "webhook")?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_query("limit", "must be between 1 and 1000"));
    }
    let deliveries = blocking(&state, move |c| outbox::deliveries(c, id, limit)).await?;
    Ok(HttpResponse::Ok().json(DeliveryList { deliveries }))
}

/// Send a delivery again (admins).
///
/// With the same `webhook-id`: it becomes pending and due now, behind any earlier pending
/// delivery of the endpoint.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Webhook id"),
        ("delivery_id" = i64, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued again"),
    )
)]
pub async fn replay_delivery(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let id = parse_id(&id, "webhook")?;
    let delivery = parse_id(&delivery, "delivery")?;
    blocking(&state, move |c| outbox::replay(c, id, delivery, Utc::now())).await?;
    state.webhooks.now();
    Ok(HttpResponse::Accepted().json(serde_json::json!({"replayed": delivery})))
}

//! Provider webhooks (`/hooks/stripe`, `/hooks/typeform`, `/hooks/form`), the inbox of
//! what could not be placed, and survey mappings.
//!
//! A hook verifies the signature over the raw body first: a missing, malformed, stale
//! or wrong signature is a 400 and nothing is stored. A hook without a configured
//! secret answers 404 `hook-not-configured`: it does not exist until configured (the
//! provider retries; unsigned data is never accepted). A signed payload is then read and placed ([`crate::intake`]):
//! stored through the ingest path (200 `stored`), ignored (200 `ignored`, counted), or
//! kept in the inbox with the reason (200 `inbox`, so the provider stops retrying). Only
//! a database failure answers 503, so the provider retries.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, Authed, PathKey};
use super::{AppState, blocking};
use crate::domain::FieldError;
use crate::domain::survey::SurveyMapping;
use crate::intake::signature::{self, SignatureError};
use crate::intake::{self, IntakeStats, Prepared, Provider};
use crate::store::inbox::{self, Entry, InboxStatus, NewEntry};
use crate::store::ingest::IngestOutcome;
use crate::store::surveys;

/// What a hook did with a payload.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookReceipt {
    /// `stored`, `ignored` or `inbox`.
    pub status: &'static str,
    /// The provider's id of the delivery.
    pub external_id: String,
    /// stored: events stored by this delivery (0 when it was a retry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<u64>,
    /// stored: events stored before under the same ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<u64>,
    /// inbox: the entry's id and why the payload could not be placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The outcome of one attempt to place a verified payload.
enum Attempt {
    Ignored,
    Stored(IngestOutcome, String),
    Unplaceable {
        reason: String,
        initiative: Option<String>,
    },
}

/// Reads, places and submits a verified payload.
async fn attempt(
    state: &AppState,
    provider: Provider,
    payload: Vec<u8>,
) -> Result<(intake::Envelope, Attempt), ApiError> {
    let now = Utc::now();
    let (envelope, prepared) =
        blocking(state, move |c| intake::prepare(c, provider, &payload, now)).await?;
    let attempt = match prepared {
        Prepared::Ignored => Attempt::Ignored,
        Prepared::Unplaceable { reason, initiative } => Attempt::Unplaceable { reason, initiative },
        Prepared::Ready(batch) => {
            let initiative = batch.initiative.to_string();
            match state.queue.submit(batch).await {
                Ok(outcome) => Attempt::Stored(outcome, initiative),
                Err(e) => match intake::refusal_reason(&e) {
                    Some(reason) => Attempt::Unplaceable {
                        reason,
                        initiative: Some(initiative),
                    },
                    None => return Err(e.into()),
                },
            }
        }
    };
    Ok((envelope, attempt))
}

fn signature_error(header: &str, e: SignatureError) -> ApiError {
    ApiError::BadRequest {
        detail: format!("{header} {e}; nothing was stored"),
        errors: vec![FieldError::new(header, e.to_string())],
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Verifies, then places or keeps a payload.
async fn receive(
    state: &AppState,
    provider: Provider,
    verified: Result<(), (&'static str, SignatureError)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let stats = &state.intake;
    if let Err((name, e)) = verified {
        IntakeStats::count(&stats.bad_signature, provider);
        tracing::warn!(provider = provider.as_str(), reason = %e, "webhook signature refused");
        return Err(signature_error(name, e));
    }
    let payload = body.to_vec();
    let (envelope, attempt) = attempt(state, provider, payload.clone()).await?;
    let receipt = match attempt {
        Attempt::Ignored => {
            IntakeStats::count(&stats.ignored, provider);
            tracing::info!(
                provider = provider.as_str(),
                kind = envelope.kind,
                id = envelope.external_id,
                "webhook event ignored: not a type offerlab reads"
            );
            HookReceipt {
                status: "ignored",
                external_id: envelope.external_id,
                accepted: None,
                duplicates: None,
                inbox_id: None,
                reason: None,
            }
        }
        Attempt::Stored(outcome, _) => {
            IntakeStats::count(&stats.stored, provider);
            HookReceipt {
                status: "stored",
                external_id: envelope.external_id,
                accepted: Some(outcome.accepted),
                duplicates: Some(outcome.duplicates),
                inbox_id: None,
                reason: None,
            }
        }
        Attempt::Unplaceable { reason, initiative } => {
            IntakeStats::count(&stats.inboxed, provider);
            tracing::warn!(
                provider = provider.as_str(),
                kind = envelope.kind,
                id = envelope.external_id,
                %reason,
                "webhook event kept in the inbox"
            );
            let entry = NewEntry {
                provider,
                external_id: envelope.external_id.clone(),
                kind: envelope.kind,
                initiative,
                reason: reason.clone(),
                payload: String::from_utf8_lossy(&payload).into_owned(),
                received_at: Utc::now(),
            };
            let base = state.settings.webhooks.public_base_url.clone();
            // One transaction: the kept entry and its `inbox.item` delivery.
            let kept = blocking(state, move |c| {
                crate::store::write_transaction(c, |c| {
                    let kept = inbox::keep(c, entry)?;
                    if kept.attempts == 1 {
                        crate::notify::watch::inbox_item(c, &kept, &base)?;
                    }
                    Ok(kept)
                })
            })
            .await?;
            state.webhooks.now();
            HookReceipt {
                status: "inbox",
                external_id: envelope.external_id,
                accepted: None,
                duplicates: None,
                inbox_id: Some(kept.id),
                reason: Some(reason),
            }
        }
    };
    Ok(HttpResponse::Ok().json(receipt))
}

fn not_configured(setting: &str) -> ApiError {
    ApiError::NotConfigured(format!(
        "this hook has no signing secret: set {setting}; unsigned payloads are never accepted"
    ))
}

/// Stripe webhook endpoint.
///
/// Verified with `Stripe-Signature` against `stripe.webhook_secrets` (any may match),
/// timestamps older than `stripe.tolerance_seconds` refused. See the README for the
/// events read and how the initiative and customer are named.
#[utoipa::path(
    post,
    path = "/hooks/stripe",
    tag = "hooks",
    security(()),
    request_body(content = String, description = "A Stripe event, as Stripe sends it", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex>")),
    responses(
        (status = 200, body = HookReceipt),
        (status = 400, description = "Missing, malformed, stale or wrong signature; nothing stored", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No secret configured (`hook-not-configured`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable (Stripe retries)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stripe_hook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if header(&req, "stripe-signature").is_none() {
        let missing = Err((
            "Stripe-Signature",
            SignatureError::Missing("Stripe-Signature"),
        ));
        return receive(&state, Provider::Stripe, missing, body).await;
    }
    let settings = &state.settings.stripe;
    let secrets = settings.secrets();
    if secrets.is_empty() {
        return Err(not_configured("stripe.webhook_secrets"));
    }
    let verified = signature::verify_stripe(
        header(&req, "stripe-signature"),
        &body,
        &secrets,
        Utc::now().timestamp(),
        settings.tolerance_seconds,
    )
    .map(|_| ())
    .map_err(|e| ("Stripe-Signature", e));
    receive(&state, Provider::Stripe, verified, body).await
}

/// Typeform webhook endpoint.
///
/// Verified with `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>` under
/// `typeform.secret`. The form must be mapped to an initiative (`PUT
/// /api/v1/initiatives/{key}/survey-mapping`).
#[utoipa::path(
    post,
    path = "/hooks/typeform",
    tag = "hooks",
    security(()),
    request_body(content = String, description = "A Typeform webhook, as Typeform sends it", content_type = "application/json"),
    params(("Typeform-Signature" = String, Header, description = "sha256=<base64>")),
    responses(
        (status = 200, body = HookReceipt),
        (status = 404, description = "No secret configured (`hook-not-configured`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn typeform_hook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if header(&req, "typeform-signature").is_none() {
        let missing = Err((
            "Typeform-Signature",
            SignatureError::Missing("Typeform-Signature"),
        ));
        return receive(&state, Provider::Typeform, missing, body).await;
    }
    let secret = &state.settings.typeform.secret;
    if secret.is_empty() {
        return Err(not_configured("typeform.secret"));
    }
    let verified = signature::verify_typeform(
        "Typeform-Signature",
        header(&req, "typeform-signature"),
        &body,
        secret,
    )
    .map_err(|e| ("Typeform-Signature", e));
    receive(&state, Provider::Typeform, verified, body).await
}

/// Generic signed form webhook.
///
/// Body: `{"id", "initiative", "customer", "sentiment", "segment"?, "occurred_at"?}`,
/// signed as Typeform signs (`X-Offerlab-Signature: sha256=<base64 HMAC-SHA256 of the
/// body>` under `forms.secret`; `Typeform-Signature` is accepted too).
#[utoipa::path(
    post,
    path = "/hooks/form",
    tag = "hooks",
    security(()),
    request_body(content = String, description = "One form answer", content_type = "application/json"),
    params(("X-Offerlab-Signature" = String, Header, description = "sha256=<base64>")),
    responses(
        (status = 200, body = HookReceipt),
        (status = 404, description = "No secret configured (`hook-not-configured`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn form_hook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if header(&req, "x-offerlab-signature").is_none()
        && header(&req, "typeform-signature").is_none()
    {
        let missing = Err((
            "X-Offerlab-Signature",
            SignatureError::Missing("X-Offerlab-Signature"),
        ));
        return receive(&state, Provider::Form, missing, body).await;
    }
    let secret = &state.settings.forms.secret;
    if secret.is_empty() {
        return Err(not_configured("forms.secret"));
    }
    let given = header(&req, "x-offerlab-signature").or_else(|| header(&req, "typeform-signature"));
    let verified = signature::verify_typeform("X-Offerlab-Signature", given, &body, secret)
        .map_err(|e| ("X-Offerlab-Signature", e));
    receive(&state, Provider::Form, verified, body).await
}

/// An inbox entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxEntryView {
    pub id: i64,
    /// `stripe`, `typeform` or `form`.
    pub provider: String,
    pub external_id: String,
    /// The provider's event type.
    pub kind: String,
    /// The initiative the payload names, when it names one.
    pub initiative: Option<String>,
    pub status: InboxStatus,
    /// Why it could not be placed (at the latest attempt).
    pub reason: String,
    /// The payload exactly as received (verified when received).
    pub payload: String,
    pub received_at: DateTime<Utc>,
    /// Deliveries and replays so far.
    pub attempts: i64,
    pub last_attempt_at: DateTime<Utc>,
    /// replayed: what the replay stored (`{"initiative", "accepted", "duplicates"}`).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub replayed_at: Option<DateTime<Utc>>,
}

impl From<Entry> for InboxEntryView {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            provider: e.provider.as_str().to_owned(),
            external_id: e.external_id,
            kind: e.kind,
            initiative: e.initiative,
            status: e.status,
            reason: e.reason,
            payload: e.payload,
            received_at: e.received_at,
            attempts: e.attempts,
            last_attempt_at: e.last_attempt_at,
            result: e.result.and_then(|r| serde_json::from_str(&r).ok()),
            replayed_at: e.replayed_at,
        }
    }
}

/// Filters and paging for the inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `stripe`, `typeform` or `form`.
    #[param(pattern = "^(stripe|typeform|form)?$")]
    pub provider: Option<String>,
    /// `pending` or `replayed`.
    #[param(pattern = "^(pending|replayed)?$")]
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<String>,
    /// Entries per page, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// A page of inbox entries, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    pub entries: Vec<InboxEntryView>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// Parses the inbox query (shared with the page).
pub fn inbox_filter(q: &InboxQuery) -> Result<inbox::Filter, ApiError> {
    let provider = match q.provider.as_deref() {
        None | Some("") => None,
        Some(p) => Some(Provider::parse(p).map_err(|e| ApiError::bad_query("provider", e))?),
    };
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(InboxStatus::parse(s).map_err(|e| ApiError::bad_query("status", e))?),
    };
    let after = match q.after.as_deref() {
        None | Some("") => 0,
        Some(s) => s.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            ApiError::bad_query("after", "must be a cursor returned as next_cursor")
        })?,
    };
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|v| (1..=500).contains(v))
            .ok_or_else(|| ApiError::bad_query("limit", "must be a whole number from 1 to 500"))?,
    };
    Ok(inbox::Filter {
        provider,
        status,
        after,
        limit,
    })
}

/// What providers sent that could not be placed (admins).
///
/// Signed deliveries offerlab could not place (unknown initiative, no customer, another
/// currency, a pilot not running, an unmapped form), with the reason and the raw payload,
/// oldest first. Filter by `provider` and `status`; page with `after` and `limit`.
#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    tag = "hooks",
    params(InboxQuery),
    responses(
        (status = 200, body = InboxPage),
    )
)]
pub async fn list_inbox(
    state: web::Data<AppState>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = inbox_filter(&query)?;
    let after = filter.after;
    let (entries, has_more) = blocking(&state, move |c| inbox::page(c, &filter)).await?;
    let next_cursor = entries.last().map_or(after, |e| e.id).to_string();
    Ok(HttpResponse::Ok().json(InboxPage {
        entries: entries.into_iter().map(InboxEntryView::from).collect(),
        next_cursor,
        has_more,
    }))
}

/// Replays an inbox entry: reads and places its payload again.
///
/// Placed: the entry is marked `replayed` with what was stored. Still unplaceable: it
/// stays `pending` with the new reason. Either way 200 with the entry. An entry replayed
/// before is replayed again harmlessly (its events are duplicates).
#[utoipa::path(
    post,
    path = "/api/v1/inbox/{id}/replay",
    tag = "hooks",
    params(("id" = i64, Path, description = "Inbox entry id")),
    responses(
        (status = 200, body = InboxEntryView),
    )
)]
pub async fn replay_inbox(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("inbox entry '{id}'")))?;
    let updated = replay(&state, id).await?;
    Ok(HttpResponse::Ok().json(InboxEntryView::from(updated)))
}

/// Replays inbox entry `id` (the API and the inbox page).
pub async fn replay(state: &AppState, id: i64) -> Result<Entry, ApiError> {
    let entry = blocking(state, move |c| inbox::get(c, id)).await?;
    let provider = entry.provider;
    let (_, attempt) = attempt(state, provider, entry.payload.into_bytes()).await?;
    let now = Utc::now();
    let updated = match attempt {
        Attempt::Stored(outcome, initiative) => {
            let result = serde_json::json!({
                "initiative": initiative,
                "accepted": outcome.accepted,
                "duplicates": outcome.duplicates,
            })
            .to_string();
            blocking(state, move |c| inbox::mark_replayed(c, id, &result, now)).await?
        }
        Attempt::Ignored => {
            let result = serde_json::json!({"ignored": true}).to_string();
            blocking(state, move |c| inbox::mark_replayed(c, id, &result, now)).await?
        }
        Attempt::Unplaceable { reason, .. } => {
            blocking(state, move |c| inbox::mark_failed(c, id, &reason, now)).await?
        }
    };
    Ok(updated)
}

/// How a survey's answers become responses of this initiative.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyMappingInput {
    /// The Typeform form id; one initiative per form.
    #[schema(pattern = "\\S", min_length = 1, max_length = 128)]
    pub form_id: String,
    /// The `ref` of the question whose choice is the sentiment.
    #[schema(pattern = "\\S", min_length = 1, max_length = 128)]
    pub sentiment_ref: String,
    /// Choice label -> `love`, `like`, `neutral` or `dislike`.
    pub choices: BTreeMap<String, String>,
    /// The hidden field with the customer id.
    #[schema(pattern = "\\S", min_length = 1, max_length = 128)]
    pub customer_field: String,
    /// The hidden field with the segment (for customers not exposed yet).
    pub segment_field: Option<String>,
}

/// Set the initiative's survey mapping (owner team).
///
/// Which question holds the sentiment, which choice label means love, like, neutral or
/// dislike, and which hidden fields hold the customer and segment. Replaces the previous
/// mapping; recorded in the audit log as `initiative.survey_mapping`.
#[utoipa::path(
    put,
    path = "/api/v1/initiatives/{key}/survey-mapping",
    tag = "hooks",
    params(("key" = String, Path, description = "Initiative key")),
    request_body = SurveyMappingInput,
    responses(
        (status = 200, body = SurveyMapping),
        (status = 409, description = "The form is mapped to another initiative", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_survey_mapping(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    PathKey(key): PathKey,
    ApiJson(input): ApiJson<SurveyMappingInput>,
) -> Result<HttpResponse, ApiError> {
    let mapping = SurveyMapping::parse(
        input.form_id,
        input.sentiment_ref,
        input.choices,
        input.customer_field,
        input.segment_field,
    )
    .map_err(ApiError::invalid)?;
    let stored = blocking(&state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        surveys::put(c, &actor, &key, &mapping, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(stored))
}

/// The initiative's survey mapping.
///
/// How answers of the initiative's survey become responses; 404 when none is set.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/survey-mapping",
    tag = "hooks",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = SurveyMapping),
        (status = 404, description = "No such initiative, or no mapping set", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_survey_mapping(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let lookup = key.clone();
    let mapping = blocking(&state, move |c| surveys::get(c, &lookup)).await?;
    match mapping {
        Some(m) => Ok(HttpResponse::Ok().json(m)),
        None => Err(ApiError::NotFound(format!(
            "survey mapping of initiative '{key}'"
        ))),
    }
}

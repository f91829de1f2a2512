//! `/api/v1/initiatives`: registration, pre-registered criteria and lifecycle.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::decisions::{DecisionView, snapshot};
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, Authed, PathKey};
use super::{AppState, blocking};
use crate::analysis;
use crate::domain::access::Caller;
use crate::domain::decision::{DecisionRecord, DecisionRequest};
use crate::domain::initiative::{parse_core_segments, parse_name, parse_text};
use crate::domain::{
    Cents, Confidence, Criteria, Currency, Decision, FieldErrors, Initiative, InitiativeDraft,
    InitiativeKey, InitiativePatch, Kind, Mode, OpenRate, PreorderFloors, SegmentKey, Status,
    TeamKey, VariantKey, Variants,
};
use crate::notify::watch;
use crate::store::initiatives::{self, InitiativeFilter};
use crate::store::keys;

/// The offer's list price.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// Price in the currency's minor unit (cents).
    #[schema(example = 1900, minimum = 0, maximum = 100_000_000_000_i64)]
    pub price_cents: i64,
    /// ISO 4217 code.
    #[schema(
        example = "EUR",
        pattern = "^[A-Z]{3}$",
        min_length = 3,
        max_length = 3
    )]
    pub currency: String,
}

/// An arm of the offer.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    #[schema(
        example = "a",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub key: String,
    /// Positive assignment weight; weights are normalised to sum to 1.
    #[schema(example = 1.0, exclusive_minimum = 0.0)]
    pub weight: f64,
    /// The variant's own price; variants with prices form a price test.
    #[serde(default)]
    #[schema(example = 1900, minimum = 0, maximum = 100_000_000_000_i64)]
    pub price_cents: Option<i64>,
}

/// The variants an initiative may declare: none, or 2 to 20.
fn variant_list() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::Ref;
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Schema};
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(
                ArrayBuilder::new()
                    .items(Ref::from_schema_name("VariantInput"))
                    .max_items(Some(0)),
            )
            .item(
                ArrayBuilder::new()
                    .items(Ref::from_schema_name("VariantInput"))
                    .min_items(Some(2))
                    .max_items(Some(20)),
            )
            .build(),
    )
}

/// Pre-registered success criteria.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriteriaInput {
    /// The pre-order rate that counts as real demand, in (0, 1).
    #[schema(example = 0.05, exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub target_preorder_rate: f64,
    /// The love share among responders that counts as enthusiasm, in (0, 1).
    #[serde(default)]
    #[schema(example = 0.4, exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub target_love_share: Option<f64>,
    /// Confidence of intervals, 0.8 to 0.999 (default 0.95).
    #[serde(default)]
    #[schema(example = 0.95, minimum = 0.8, maximum = 0.999)]
    pub confidence: Option<f64>,
    /// Exposures before any verdict (default 100).
    #[serde(default)]
    #[schema(example = 100, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub min_exposures: Option<i64>,
    /// The sample the sequential analysis is tuned for (default 5,000).
    #[serde(default)]
    #[schema(example = 5000, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub planned_exposures: Option<i64>,
    /// The smallest amount a pre-order counts with, by kind (below it: 422).
    #[serde(default)]
    pub min_preorder_cents: Option<PreorderFloorsInput>,
    /// Accept events dated from this time (RFC 3339, or a date `YYYY-MM-DD` meaning its
    /// start in UTC) although they precede the launch: a pilot that ran before offerlab
    /// was connected. Not in the future. Without it, events dated before the launch are
    /// refused (422).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2026-11-01")]
    pub backfill_from: Option<String>,
}

/// The floors of a pre-order's amount, by kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"deposit": 500}))]
pub struct PreorderFloorsInput {
    /// Floor of a `full` pre-order, in cents; null or absent: the price the customer was
    /// offered (their variant's own price in a price test).
    #[serde(default)]
    #[schema(example = 1900, minimum = 1, maximum = 100_000_000_000_i64)]
    pub full: Option<i64>,
    /// The deposit: floor of a `deposit` pre-order, in cents; null or absent: the
    /// initiative takes no deposits (a deposit pre-order is refused).
    #[serde(default)]
    #[schema(example = 500, minimum = 1, maximum = 100_000_000_000_i64)]
    pub deposit: Option<i64>,
}

/// A new initiative (created as a draft).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "key": "team-plan",
    "name": "Team plan",
    "kind": "value_engineering",
    "hypothesis": "Small businesses will pre-order a team plan at 19 EUR a month.",
    "owner_team": "growth",
    "offer": {"price_cents": 1900, "currency": "EUR"},
    "core_segments": ["smb"],
    "criteria": {"target_preorder_rate": 0.05, "target_love_share": 0.3}
}))]
pub struct InitiativeInput {
    #[schema(
        example = "team-plan",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub key: String,
    #[schema(
        example = "Team plan",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub name: String,
    #[schema(value_type = Kind)]
    pub kind: String,
    /// What the pilot should show.
    #[schema(
        example = "Teams of 5+ pre-order a shared plan at 19 EUR a month",
        min_length = 1,
        max_length = 10000
    )]
    pub hypothesis: String,
    #[schema(
        example = "growth",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub owner_team: String,
    pub offer: Offer,
    /// Segments the offer is for (each must exist), at most 100, no repeats.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<super::schema::Slug>)]
    pub core_segments: Vec<String>,
    /// Variants: none (one offer for everyone) or 2 to 20, with distinct keys.
    #[serde(default)]
    #[schema(schema_with = variant_list)]
    pub variants: Vec<VariantInput>,
    pub criteria: CriteriaInput,
    /// Default `sequential`.
    #[serde(default)]
    #[schema(value_type = Option<Mode>)]
    pub mode: Option<String>,
}

/// Changes to a draft; omitted fields stay as they are. `criteria`, when given,
/// replaces the criteria as a whole.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "hypothesis": "Small businesses will pre-order a team plan at 24 EUR a month.",
    "offer": {"price_cents": 2400, "currency": "EUR"}
}))]
pub struct InitiativePatchInput {
    #[schema(
        example = "Team plan",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub name: Option<String>,
    #[schema(value_type = Option<Kind>)]
    pub kind: Option<String>,
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    pub hypothesis: Option<String>,
    #[schema(
        example = "growth",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub owner_team: Option<String>,
    pub offer: Option<Offer>,
    #[schema(max_items = 100, value_type = Option<Vec<super::schema::Slug>>)]
    pub core_segments: Option<Vec<String>>,
    /// Variants: none or 2 to 20, with distinct keys.
    #[schema(schema_with = variant_list)]
    pub variants: Option<Vec<VariantInput>>,
    pub criteria: Option<CriteriaInput>,
    #[schema(value_type = Option<Mode>)]
    pub mode: Option<String>,
}

/// How a running pilot ends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "decision": "iterate",
    "note": "The integration works end to end; relaunch with the real audience.",
    "override_reason": "A dry run with three test customers, not a pilot."
}))]
pub struct ConcludeInput {
    #[schema(value_type = Decision)]
    pub decision: String,
    /// Why: what was learned.
    #[schema(
        example = "Demand validated in smb; scaling to mid-market next quarter",
        min_length = 1,
        max_length = 10000
    )]
    pub note: String,
    /// Required when the decision goes against the evidence: taken before
    /// `min_exposures`, or against the verdict (`scale` without `validated`, `stop` with
    /// it). The decision is then recorded and flagged "against the evidence".
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    pub override_reason: Option<String>,
}

/// A variant as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantView {
    pub key: String,
    /// Normalised weight (weights sum to 1).
    pub weight: f64,
    pub price_cents: Option<i64>,
}

/// Criteria as stored (defaults filled in).
#[derive(Debug, Serialize, ToSchema)]
pub struct CriteriaView {
    pub target_preorder_rate: f64,
    pub target_love_share: Option<f64>,
    pub confidence: f64,
    pub min_exposures: u64,
    pub planned_exposures: u64,
    /// The pre-registered floors of a pre-order's amount (null `full`: the offer price;
    /// null `deposit`: no deposits taken).
    pub min_preorder_cents: PreorderFloorsInput,
    /// Events dated from here on are accepted although before the launch (null: none
    /// before the launch).
    pub backfill_from: Option<DateTime<Utc>>,
}

/// An initiative.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "key": "team-plan",
    "name": "Team plan",
    "kind": "value_engineering",
    "hypothesis": "Small businesses will pre-order a team plan at 19 EUR a month.",
    "owner_team": "growth",
    "offer": {"price_cents": 1900, "currency": "EUR"},
    "core_segments": ["smb"],
    "variants": [],
    "criteria": {"target_preorder_rate": 0.05, "target_love_share": 0.3, "confidence": 0.95, "min_exposures": 100, "planned_exposures": 5000, "min_preorder_cents": {"full": null, "deposit": null}, "backfill_from": null},
    "mode": "sequential",
    "status": "running",
    "fingerprint": "9f2c4e0b7d1a5c3e8f6b2d4a0c9e7f1b3d5a7c9e1f3b5d7a9c1e3f5b7d9a1c3e",
    "pre_registration": "{\"core_segments\":[\"smb\"],\"criteria\":{\"confidence\":0.95,\"min_exposures\":100,\"planned_exposures\":5000,\"target_love_share\":0.3,\"target_preorder_rate\":0.05},\"mode\":\"sequential\",\"offer\":{\"currency\":\"EUR\",\"price_cents\":1900},\"variants\":[]}",
    "decision": null,
    "decision_note": null,
    "created_at": "2026-11-20T08:00:00Z",
    "updated_at": "2026-11-20T08:05:00Z",
    "launched_at": "2026-11-20T08:05:00Z",
    "concluded_at": null
}))]
pub struct InitiativeView {
    pub key: String,
    pub name: String,
    pub kind: Kind,
    pub hypothesis: String,
    pub owner_team: String,
    pub offer: Offer,
    pub core_segments: Vec<String>,
    pub variants: Vec<VariantView>,
    pub criteria: CriteriaView,
    pub mode: Mode,
    pub status: Status,
    /// SHA-256 (hex) of `pre_registration`, fixed at launch: a tamper-evident record
    /// of the criteria, offer, variants and core segments.
    pub fingerprint: Option<String>,
    /// The canonical JSON the fingerprint is computed from.
    pub pre_registration: String,
    pub decision: Option<Decision>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
}

impl From<Initiative> for InitiativeView {
    fn from(i: Initiative) -> Self {
        let pre_registration = i.pre_registration_json();
        Self {
            key: i.key.to_string(),
            name: i.name,
            kind: i.kind,
            hypothesis: i.hypothesis,
            owner_team: i.owner_team.to_string(),
            offer: Offer {
                price_cents: i.price.get(),
                currency: i.currency.to_string(),
            },
            core_segments: i.core_segments.iter().map(ToString::to_string).collect(),
            variants: i
                .variants
                .as_slice()
                .iter()
                .map(|v| VariantView {
                    key: v.key.to_string(),
                    weight: v.weight,
                    price_cents: v.price_cents.map(Cents::get),
                })
                .collect(),
            criteria: CriteriaView {
                target_preorder_rate: i.criteria.target_preorder_rate.get(),
                target_love_share: i.criteria.target_love_share.map(OpenRate::get),
                confidence: i.criteria.confidence.get(),
                min_exposures: i.criteria.min_exposures,
                planned_exposures: i.criteria.planned_exposures,
                min_preorder_cents: PreorderFloorsInput {
                    full: i.criteria.min_preorder.full.map(Cents::get),
                    deposit: i.criteria.min_preorder.deposit.map(Cents::get),
                },
                backfill_from: i.criteria.backfill_from,
            },
            mode: i.mode,
            status: i.status,
            fingerprint: i.fingerprint,
            pre_registration,
            decision: i.decision,
            decision_note: i.decision_note,
            created_at: i.created_at,
            updated_at: i.updated_at,
            launched_at: i.launched_at,
            concluded_at: i.concluded_at,
        }
    }
}

/// Initiatives, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiativeList {
    pub initiatives: Vec<InitiativeView>,
}

/// Filters for listing initiatives.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Owner team slug.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]*$", min_length = 1, max_length = 64)]
    pub team: Option<String>,
}

fn parse_offer(errors: &mut FieldErrors, offer: Offer) -> Option<(Cents, Currency)> {
    let price = errors.take("offer.price_cents", Cents::price(offer.price_cents));
    let currency = errors.take("offer.currency", Currency::parse(&offer.currency));
    Some((price?, currency?))
}

fn parse_core(errors: &mut FieldErrors, raw: Vec<String>) -> Option<Vec<SegmentKey>> {
    let mut keys = Vec::with_capacity(raw.len());
    for (i, k) in raw.into_iter().enumerate() {
        keys.push(errors.take(&format!("core_segments[{i}]"), SegmentKey::parse(k)));
    }
    let keys: Option<Vec<SegmentKey>> = keys.into_iter().collect();
    errors.take("core_segments", parse_core_segments(keys?))
}

fn parse_variants(errors: &mut FieldErrors, raw: Vec<VariantInput>) -> Option<Variants> {
    let mut parsed = Vec::with_capacity(raw.len());
    for (i, v) in raw.into_iter().enumerate() {
        let key = errors.take(&format!("variants[{i}].key"), VariantKey::parse(v.key));
        let weight = errors.take(
            &format!("variants[{i}].weight"),
            if v.weight.is_finite() && v.weight > 0.0 {
                Ok(v.weight)
            } else {
                Err("must be a positive number".into())
            },
        );
        let price = match v.price_cents {
            Some(p) => errors
                .take(&format!("variants[{i}].price_cents"), Cents::price(p))
                .map(Some),
            None => Some(None),
        };
        parsed.push(key.zip(weight).zip(price).map(|((k, w), p)| (k, w, p)));
    }
    let parsed: Option<Vec<_>> = parsed.into_iter().collect();
    errors.take("variants", Variants::new(parsed?))
}

fn parse_criteria(errors: &mut FieldErrors, c: CriteriaInput) -> Option<Criteria> {
    let target = errors.take(
        "criteria.target_preorder_rate",
        OpenRate::new(c.target_preorder_rate),
    );
    let love = match c.target_love_share {
        Some(v) => errors
            .take("criteria.target_love_share", OpenRate::new(v))
            .map(Some),
        None => Some(None),
    };
    let confidence = match c.confidence {
        Some(v) => errors.take("criteria.confidence", Confidence::new(v)),
        None => Some(Confidence::DEFAULT),
    };
    let min = errors.take(
        "criteria.min_exposures",
        Criteria::min_exposures(
            c.min_exposures
                .unwrap_or(Criteria::DEFAULT_MIN_EXPOSURES.cast_signed()),
        ),
    );
    let planned = errors.take(
        "criteria.planned_exposures",
        Criteria::planned_exposures(
            c.planned_exposures
                .unwrap_or(Criteria::DEFAULT_PLANNED_EXPOSURES.cast_signed()),
        ),
    );
    let floors = c.min_preorder_cents.unwrap_or_default();
    let floor = |errors: &mut FieldErrors, field: &str, v: Option<i64>| match v {
        Some(v) => errors.take(field, Cents::amount(v)).map(Some),
        None => Some(None),
    };
    let full = floor(errors, "criteria.min_preorder_cents.full", floors.full);
    let deposit = floor(
        errors,
        "criteria.min_preorder_cents.deposit",
        floors.deposit,
    );
    let backfill_from = match c.backfill_from.as_deref() {
        Some(s) => errors
            .take("criteria.backfill_from", parse_backfill_from(s, Utc::now()))
            .map(Some),
        None => Some(None),
    };
    if let (Some(min), Some(planned)) = (min, planned)
        && planned < min
    {
        errors.push(
            "criteria.planned_exposures",
            "must be at least criteria.min_exposures",
        );
        return None;
    }
    Some(Criteria {
        target_preorder_rate: target?,
        target_love_share: love?,
        confidence: confidence?,
        min_exposures: min?,
        planned_exposures: planned?,
        min_preorder: PreorderFloors {
            full: full?,
            deposit: deposit?,
        },
        backfill_from: backfill_from?,
    })
}

/// Parses `backfill_from`: RFC 3339, or a date (its start, UTC); not after `now` (so it
/// precedes the launch, which comes later).
fn parse_backfill_from(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(day) => day.and_time(chrono::NaiveTime::MIN).and_utc(),
        Err(_) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| {
                "must be an RFC 3339 timestamp such as 2026-11-01T00:00:00Z, or a date such as 2026-11-01".to_owned()
            })?
            .with_timezone(&Utc),
    };
    if t > now {
        return Err(
            "must not be in the future: it is the start of a pilot that ran before the launch"
                .into(),
        );
    }
    Ok(t)
}

impl TryFrom<InitiativeInput> for InitiativeDraft {
    type Error = FieldErrors;

    fn try_from(input: InitiativeInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let key = errors.take("key", InitiativeKey::parse(input.key));
        let name = errors.take("name", parse_name(&input.name));
        let kind = errors.take("kind", Kind::parse(&input.kind));
        let hypothesis = errors.take("hypothesis", parse_text(&input.hypothesis, true));
        let owner_team = errors.take("owner_team", TeamKey::parse(input.owner_team));
        let offer = parse_offer(&mut errors, input.offer);
        let core_segments = parse_core(&mut errors, input.core_segments);
        let variants = parse_variants(&mut errors, input.variants);
        let criteria = parse_criteria(&mut errors, input.criteria);
        let mode = match input.mode {
            Some(m) => errors.take("mode", Mode::parse(&m)),
            None => Some(Mode::Sequential),
        };
        errors.finish(|| {
            let (price, currency) = offer?;
            Some(InitiativeDraft {
                key: key?,
                name: name?,
                kind: kind?,
                hypothesis: hypothesis?,
                owner_team: owner_team?,
                price,
                currency,
                core_segments: core_segments?,
                variants: variants?,
                criteria: criteria?,
                mode: mode?,
            })
        })
    }
}

impl TryFrom<InitiativePatchInput> for InitiativePatch {
    type Error = FieldErrors;

    fn try_from(input: InitiativePatchInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut patch = InitiativePatch::default();
        if let Some(v) = input.name {
            patch.name = errors.take("name", parse_name(&v));
        }
        if let Some(v) = input.kind {
            patch.kind = errors.take("kind", Kind::parse(&v));
        }
        if let Some(v) = input.hypothesis {
            patch.hypothesis = errors.take("hypothesis", parse_text(&v, true));
        }
        if let Some(v) = input.owner_team {
            patch.owner_team = errors.take("owner_team", TeamKey::parse(v));
        }
        if let Some(v) = input.offer {
            patch.offer = parse_offer(&mut errors, v);
        }
        if let Some(v) = input.core_segments {
            patch.core_segments = parse_core(&mut errors, v);
        }
        if let Some(v) = input.variants {
            patch.variants = parse_variants(&mut errors, v);
        }
        if let Some(v) = input.criteria {
            patch.criteria = parse_criteria(&mut errors, v);
        }
        if let Some(v) = input.mode {
            patch.mode = errors.take("mode", Mode::parse(&v));
        }
        errors.finish(|| Some(patch))
    }
}

/// Register an initiative (as a draft).
///
/// Creates the initiative with its offer, segments, variants and pre-registered success
/// criteria. Writers may create initiatives only for their own team (`owner_team`); the
/// key must be free (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/initiatives",
    tag = "initiatives",
    request_body = InitiativeInput,
    responses(
        (status = 201, body = InitiativeView),
        (status = 409, description = "The key is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_initiative(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    ApiJson(input): ApiJson<InitiativeInput>,
) -> Result<HttpResponse, ApiError> {
    let draft = InitiativeDraft::try_from(input).map_err(ApiError::invalid)?;
    let created = blocking(&state, move |c| {
        let actor = keys::actor(c, &caller)?;
        initiatives::create(c, &actor, draft, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(InitiativeView::from(created)))
}

/// List initiatives.
///
/// Every initiative, optionally filtered by `status` and `owner_team`, by key.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives",
    tag = "initiatives",
    params(ListQuery),
    responses(
        (status = 200, body = InitiativeList),
    )
)]
pub async fn list_initiatives(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = InitiativeFilter {
        status: query
            .status
            .map(|s| Status::parse(&s).map_err(|r| ApiError::bad_query("status", r)))
            .transpose()?,
        owner_team: query
            .team
            .map(|t| TeamKey::parse(t).map_err(|r| ApiError::bad_query("team", r)))
            .transpose()?,
    };
    let list = blocking(&state, move |c| initiatives::list(c, &filter)).await?;
    Ok(HttpResponse::Ok().json(InitiativeList {
        initiatives: list.into_iter().map(InitiativeView::from).collect(),
    }))
}

/// One initiative.
///
/// The initiative's definition, criteria, status and lifecycle dates.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}",
    tag = "initiatives",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = InitiativeView),
    )
)]
pub async fn get_initiative(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let found = blocking(&state, move |c| initiatives::get(c, &key)).await?;
    Ok(HttpResponse::Ok().json(InitiativeView::from(found)))
}

/// Change a draft initiative.
///
/// Only drafts change (409 otherwise): criteria are locked once launched. Fields left out
/// keep their value; moving the initiative to another team needs a key of both teams.
#[utoipa::path(
    patch,
    path = "/api/v1/initiatives/{key}",
    tag = "initiatives",
    params(("key" = String, Path, description = "Initiative key")),
    request_body = InitiativePatchInput,
    responses(
        (status = 200, body = InitiativeView),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_initiative(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    PathKey(key): PathKey,
    ApiJson(input): ApiJson<InitiativePatchInput>,
) -> Result<HttpResponse, ApiError> {
    let patch = InitiativePatch::try_from(input).map_err(ApiError::invalid)?;
    let updated = blocking(&state, move |c| {
        let actor = keys::actor(c, &caller)?;
        initiatives::update(c, &actor, &key, patch, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(InitiativeView::from(updated)))
}

/// Launch a draft initiative.
///
/// Locks its criteria (pre-registration) and starts accepting events. Only drafts can be
/// launched (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/initiatives/{key}/launch",
    tag = "initiatives",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = InitiativeView),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn launch_initiative(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let base = state.settings.webhooks.public_base_url.clone();
    // One transaction: the launch, its audit entry and its `initiative.launched` delivery.
    let launched = blocking(&state, move |c| {
        crate::store::write_transaction(c, |c| {
            let actor = keys::actor(c, &caller)?;
            let launched = initiatives::launch(c, &actor, &key, Utc::now())?;
            watch::launched(c, &launched, &base)?;
            Ok(launched)
        })
    })
    .await?;
    state.webhooks.now();
    Ok(HttpResponse::Ok().json(InitiativeView::from(launched)))
}

/// The concluded initiative and the decision-log entry just recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConcludedView {
    #[serde(flatten)]
    pub initiative: InitiativeView,
    /// The entry appended to the decision log.
    pub recorded_decision: DecisionView,
}

/// Conclude a running pilot with a decision.
///
/// A decision against the evidence (before `min_exposures`, `scale` without a `validated`
/// verdict, `stop` with one) needs an `override_reason` and is flagged; every decision is
/// appended to the decision log with a snapshot of the verdict and counts. Only running
/// initiatives can be concluded (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/initiatives/{key}/conclude",
    tag = "initiatives",
    params(("key" = String, Path, description = "Initiative key")),
    request_body = ConcludeInput,
    responses(
        (status = 200, body = ConcludedView),
        (status = 409, description = "Not running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a decision against the evidence without override_reason", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn conclude_initiative(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    PathKey(key): PathKey,
    ApiJson(input): ApiJson<ConcludeInput>,
) -> Result<HttpResponse, ApiError> {
    let (concluded, recorded) = record_decision(
        &state,
        key,
        &caller,
        &input.decision,
        &input.note,
        input.override_reason.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(ConcludedView {
        initiative: InitiativeView::from(concluded),
        recorded_decision: DecisionView::from(recorded),
    }))
}

/// Concludes a running pilot with a decision by `caller` (the API's conclude and the
/// readout's form): validates the fields, checks the decision against the evidence and
/// appends it to the decision log under the key's label or the user's name, with its
/// audit entries.
pub async fn record_decision(
    state: &AppState,
    key: InitiativeKey,
    caller: &Caller,
    decision: &str,
    note: &str,
    override_reason: Option<&str>,
) -> Result<(Initiative, DecisionRecord), ApiError> {
    let who = caller.who;
    let caller = caller.clone();
    // Field errors first (the name is filled in below, once read).
    let request = DecisionRequest::parse(decision, note, override_reason, String::new(), Some(who))
        .map_err(ApiError::invalid)?;
    let base = state.settings.webhooks.public_base_url.clone();
    let concluded = blocking(state, move |c| {
        // One transaction: the decision, its audit entries and its `decision.recorded`
        // and `initiative.concluded` deliveries.
        crate::store::write_transaction(c, |c| {
            let actor = keys::actor(c, &caller)?;
            let request = DecisionRequest {
                decided_by: actor.name.clone(),
                ..request
            };
            let now = Utc::now();
            let (concluded, recorded) =
                initiatives::conclude(c, &actor, &key, request, now, |i, cells, daily| {
                    snapshot(&analysis::build(i, cells, daily, now))
                })?;
            watch::concluded(c, &concluded, &recorded, &base)?;
            Ok((concluded, recorded))
        })
    })
    .await?;
    state.webhooks.now();
    Ok(concluded)
}

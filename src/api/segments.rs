//! `/api/v1/segments`

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, Authed};
use super::{AppState, blocking};
use crate::domain::{FieldErrors, SegmentKey, initiative::parse_name, initiative::parse_text};
use crate::store::segments::{self, Segment};

/// A customer segment to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "smb", "name": "Small businesses", "description": "Companies with 1 to 49 employees"}))]
pub struct SegmentInput {
    /// Slug: lowercase letters, digits, `-` and `_`.
    #[schema(
        example = "smb",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub key: String,
    /// Display name; defaults to the key.
    #[schema(
        example = "Small businesses",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub name: Option<String>,
    /// What the segment holds.
    #[schema(example = "Companies with 1 to 49 employees", max_length = 10000)]
    pub description: Option<String>,
}

/// A customer segment.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"key": "smb", "name": "Small businesses", "description": "Companies with 1 to 49 employees", "created_at": "2026-11-25T09:30:00Z"}))]
pub struct SegmentView {
    pub key: String,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

impl From<Segment> for SegmentView {
    fn from(s: Segment) -> Self {
        Self {
            key: s.key.to_string(),
            name: s.name,
            description: s.description,
            created_at: s.created_at,
        }
    }
}

/// Segments, by key.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentList {
    pub segments: Vec<SegmentView>,
}

impl SegmentInput {
    fn parse(self, now: DateTime<Utc>) -> Result<Segment, FieldErrors> {
        let mut errors = FieldErrors::default();
        let key = errors.take("key", SegmentKey::parse(self.key));
        let name = match self.name {
            Some(n) => errors.take("name", parse_name(&n)),
            None => key.as_ref().map(ToString::to_string),
        };
        let description = errors.take(
            "description",
            parse_text(self.description.as_deref().unwrap_or(""), false),
        );
        errors.finish(|| {
            Some(Segment {
                key: key?,
                name: name?,
                description: description?,
                created_at: now,
            })
        })
    }
}

/// Create a customer segment.
///
/// Segments are shared reference data: exposures name one. Writers and admins may create
/// them; the key must be free (409 otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/segments",
    tag = "segments",
    request_body = SegmentInput,
    responses(
        (status = 201, body = SegmentView),
        (status = 409, description = "The key is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_segment(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    ApiJson(input): ApiJson<SegmentInput>,
) -> Result<HttpResponse, ApiError> {
    let segment = input.parse(Utc::now()).map_err(ApiError::invalid)?;
    let created = blocking(&state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        segments::create(c, &actor, &segment)
    })
    .await?;
    Ok(HttpResponse::Created().json(SegmentView::from(created)))
}

/// List customer segments.
///
/// Every segment, by key.
#[utoipa::path(
    get,
    path = "/api/v1/segments",tag = "segments", responses((status = 200, body = SegmentList)))]
pub async fn list_segments(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = blocking(&state, segments::list).await?;
    Ok(HttpResponse::Ok().json(SegmentList {
        segments: all.into_iter().map(SegmentView::from).collect(),
    }))
}

//! `/api/v1/keys`: API key management (admins; the route table enforces it).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, Authed};
use super::{AppState, blocking};
use crate::domain::access::Role;
use crate::domain::initiative::parse_name;
use crate::domain::{FieldErrors, TeamKey};
use crate::store::keys::{self, ApiKey};

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "growth pilots", "role": "writer", "team": "growth"}))]
pub struct KeyInput {
    /// What the key is for.
    #[schema(
        example = "growth pilots",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub label: String,
    #[schema(value_type = Role, example = "writer")]
    pub role: String,
    /// The team a writer key writes for (required for writers, not allowed otherwise).
    #[schema(
        example = "growth",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub team: Option<String>,
}

/// The teamless roles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TeamlessRole {
    Admin,
    Viewer,
}

/// The role of a key that writes for a team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriterRole {
    Writer,
}

/// A writer key: writes for one team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriterKeyInput {
    /// What the key is for.
    #[schema(
        example = "growth pilots",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub label: String,
    pub role: WriterRole,
    /// The team the key writes for.
    #[schema(
        example = "growth",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub team: String,
}

/// An admin or viewer key: no team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamlessKeyInput {
    /// What the key is for.
    #[schema(
        example = "dashboard",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub label: String,
    pub role: TeamlessRole,
    /// Not allowed (only `null`).
    #[schema(schema_with = null_only)]
    pub team: Option<String>,
}

fn null_only() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Null)
        .build()
}

/// A key to create: a writer key for a team, or an admin or viewer key without one.
/// (Documents the shapes [`KeyInput`] accepts.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(example = json!({"label": "growth pilots", "role": "writer", "team": "growth"}))]
pub enum KeyRequest {
    Writer(WriterKeyInput),
    Teamless(TeamlessKeyInput),
}

/// An API key as listed: never the key itself, nor its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: i64,
    pub label: String,
    pub role: Role,
    pub team: Option<String>,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            label: k.label,
            role: k.role,
            team: k.team.map(|t| t.to_string()),
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key: `key` is shown this once and cannot be read again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyView {
    pub key: String,
    #[serde(flatten)]
    pub details: KeyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// Parses a key request: label, role, and a team exactly when the role is writer.
pub fn parse_key_request(
    label: &str,
    role: &str,
    team: Option<&str>,
) -> Result<(String, Role, Option<TeamKey>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let label = errors.take("label", parse_name(label));
    let role = errors.take("role", Role::parse(role));
    let team = match (role, team) {
        (Some(Role::Writer), Some(t)) => errors.take("team", TeamKey::parse(t)).map(Some),
        (Some(Role::Writer), None) => {
            errors.push("team", "is required for a writer key");
            None
        }
        (Some(_), Some(_)) => {
            errors.push("team", "only writer keys have a team");
            None
        }
        (_, _) => Some(None),
    };
    errors.finish(|| Some((label?, role?, team?)))
}

/// Create an API key (admins).
///
/// The key itself is answered once, in this response, and stored only as a hash. Writers
/// and viewers belong to a team; admins to none.
#[utoipa::path(
    post,
    path = "/api/v1/keys",
    tag = "keys",
    request_body = KeyRequest,
    responses(
        (status = 201, body = CreatedKeyView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_key(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    ApiJson(input): ApiJson<KeyInput>,
) -> Result<HttpResponse, ApiError> {
    let (label, role, team) = parse_key_request(&input.label, &input.role, input.team.as_deref())
        .map_err(ApiError::invalid)?;
    let created = blocking(&state, move |c| {
        let actor = keys::actor(c, &caller)?;
        keys::create(c, &actor, &label, role, team, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedKeyView {
        key: created.secret,
        details: created.key.into(),
    }))
}

/// List API keys (admins).
///
/// Labels, roles, teams, creation, last use and revocation; never the keys themselves.
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "keys",
    responses(
        (status = 200, body = KeyList),
    )
)]
pub async fn list_keys(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = blocking(&state, keys::list).await?;
    Ok(HttpResponse::Ok().json(KeyList {
        keys: all.into_iter().map(KeyView::from).collect(),
    }))
}

/// Revoke an API key (admins).
///
/// The key stops working at once on this instance and within seconds on the others. Revoking
/// a revoked key answers it unchanged.
#[utoipa::path(
    delete,
    path = "/api/v1/keys/{id}",
    tag = "keys",
    params(("id" = i64, Path, description = "Key id")),
    responses(
        (status = 200, body = KeyView),
    )
)]
pub async fn revoke_key(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("API key '{id}'")))?;
    let revoked = blocking(&state, move |c| {
        let actor = keys::actor(c, &caller)?;
        keys::revoke(c, &actor, id, Utc::now())
    })
    .await?;
    state.access.forget_keys();
    Ok(HttpResponse::Ok().json(KeyView::from(revoked)))
}

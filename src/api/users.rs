//! `/api/v1/users`: people who sign in to the pages (admins; the route table enforces
//! it). An admin invites someone; the invite link lets them set a password once.

use std::collections::BTreeSet;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, Authed};
use super::{AppState, blocking};
use crate::domain::access::{Caller, Role};
use crate::domain::user::{Email, parse_user_name};
use crate::domain::{FieldErrors, TeamKey};
use crate::store::users::{self, NewUser, User};

/// Someone to invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    /// Their email address (case does not matter; one account per address).
    #[schema(
        pattern = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
        min_length = 5,
        max_length = 254,
        example = "ada@example.com"
    )]
    pub email: String,
    /// Their name, as the pages and the decision log show it.
    #[schema(
        pattern = "\\S",
        min_length = 1,
        max_length = 200,
        example = "Ada Lovelace"
    )]
    pub name: String,
    /// `admin`, `writer` or `viewer`.
    #[schema(pattern = "^(admin|writer|viewer)$", example = "writer")]
    pub role: String,
    /// The teams a writer writes and decides for (at least one for writers; none
    /// otherwise). A name given twice counts once.
    #[schema(
        max_items = 20,
        value_type = Option<Vec<super::schema::Slug>>,
        example = json!(["growth", "support"])
    )]
    pub teams: Option<Vec<String>>,
}

/// A user as listed: never a password or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The teams a writer writes for, by name (empty for admins and viewers).
    pub teams: Vec<String>,
    /// `invited` (no password set yet), `active` or `disabled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        let status = match (u.disabled_at, u.has_password) {
            (Some(_), _) => "disabled",
            (None, true) => "active",
            (None, false) => "invited",
        };
        Self {
            id: u.id,
            email: u.email.to_string(),
            name: u.name,
            role: u.role,
            teams: u.teams.iter().map(ToString::to_string).collect(),
            status: status.into(),
            created_at: u.created_at,
            disabled_at: u.disabled_at,
        }
    }
}

/// A new invite: the link is shown this once (only its hash is stored).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedView {
    pub user: UserView,
    /// The one-time link where the person sets a password, e.g.
    /// `https://offerlab.example/invite/3f…`.
    pub invite_url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// The most teams one person may write for.
pub const MAX_TEAMS: usize = 20;

/// Parses an invite: email, name, role, and at least one team exactly when the role is
/// writer. Blank team names are ignored; a name given twice counts once.
pub fn parse_invite<S: AsRef<str>>(
    email: &str,
    name: &str,
    role: &str,
    teams: &[S],
) -> Result<NewUser, FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = errors.take("email", Email::parse(email));
    let name = errors.take("name", parse_user_name(name));
    let role = errors.take("role", Role::parse(role));
    let given: Vec<&str> = teams
        .iter()
        .map(|t| t.as_ref().trim())
        .filter(|t| !t.is_empty())
        .collect();
    let mut parsed = BTreeSet::new();
    let mut teams_ok = true;
    for t in &given {
        match TeamKey::parse(*t) {
            Ok(team) => {
                parsed.insert(team);
            }
            Err(reason) => {
                errors.push("teams", format!("'{t}': {reason}"));
                teams_ok = false;
            }
        }
    }
    if parsed.len() > MAX_TEAMS {
        errors.push("teams", format!("at most {MAX_TEAMS} teams"));
        teams_ok = false;
    }
    match (role, given.is_empty()) {
        (Some(Role::Writer), true) => {
            errors.push("teams", "a writer needs at least one team");
            teams_ok = false;
        }
        (Some(Role::Admin | Role::Viewer), false) => {
            errors.push("teams", "only writers have teams");
            teams_ok = false;
        }
        _ => {}
    }
    errors.finish(|| {
        Some(NewUser {
            email: email?,
            name: name?,
            role: role?,
            teams: teams_ok.then_some(parsed)?,
        })
    })
}

/// Invites someone: creates the user and a one-time invite token valid for
/// `dashboard.invite_hours`. Answers the user, the token and when it expires.
pub async fn invite(
    state: &AppState,
    caller: &Caller,
    new: NewUser,
) -> Result<(User, String, DateTime<Utc>), ApiError> {
    let ttl = Duration::hours(i64::from(state.settings.dashboard.invite_hours));
    let now = Utc::now();
    let caller = caller.clone();
    let (user, token) = blocking(state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        users::invite(c, &actor, &new, ttl, now)
    })
    .await?;
    Ok((user, token, now + ttl))
}

/// The invite link for a token, on the host the request came to.
pub fn invite_url(req: &HttpRequest, token: &str) -> String {
    let info = req.connection_info();
    format!("{}://{}/invite/{token}", info.scheme(), info.host())
}

/// Invite someone (admins).
///
/// Creates the user and answers a one-time invite link, valid for
/// `dashboard.invite_hours`, where they set a password. Only the link's hash is stored.
#[utoipa::path(
    post,
    path = "/api/v1/users/invites",
    tag = "users",
    request_body = InviteInput,
    responses(
        (status = 201, body = InvitedView),
        (status = 409, description = "The email has an account already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn invite_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authed(caller): Authed,
    ApiJson(input): ApiJson<InviteInput>,
) -> Result<HttpResponse, ApiError> {
    let new = parse_invite(
        &input.email,
        &input.name,
        &input.role,
        input.teams.as_deref().unwrap_or_default(),
    )
    .map_err(ApiError::invalid)?;
    let (user, token, expires_at) = invite(&state, &caller, new).await?;
    Ok(HttpResponse::Created().json(InvitedView {
        user: user.into(),
        invite_url: invite_url(&req, &token),
        expires_at,
    }))
}

/// List users (admins).
///
/// Everyone invited, with role, teams and whether they are active, invited or disabled;
/// never a password or its hash.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    responses(
        (status = 200, body = UserList),
    )
)]
pub async fn list_users(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = blocking(&state, users::list).await?;
    Ok(HttpResponse::Ok().json(UserList {
        users: all.into_iter().map(UserView::from).collect(),
    }))
}

/// Disable a user (admins).
///
/// They can no longer sign in, and every session of theirs ends at once. Disabling twice
/// is not an error.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/disable",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = UserView),
    )
)]
pub async fn disable_user(
    state: web::Data<AppState>,
    Authed(caller): Authed,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("user '{id}'")))?;
    let disabled = blocking(&state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        users::disable(c, &actor, id, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserView::from(disabled)))
}

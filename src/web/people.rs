//! Pages for people: accepting an invite (`/invite/{token}`), one's account (password
//! change, sign-out everywhere) and, for admins, the users (invite, disable).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::session::{SignedIn, check_form, db, signed_in};
use super::{PageError, layout};
use crate::api::AppState;
use crate::api::users::{UserView, invite, invite_url, parse_invite};
use crate::domain::access::{Need, Role, Who};
use crate::domain::user::Password;
use crate::store::sessions;
use crate::store::users::{self, Invite};

/// Hashes a new password on the blocking pool (Argon2 is slow on purpose).
async fn hash(password: Password) -> Result<String, PageError> {
    web::block(move || users::hash_password(&password))
        .await
        .map_err(|_| PageError::Internal)?
        .map_err(|e| PageError::from(crate::api::error::ApiError::from(e)))
}

/// A new password and its confirmation: the password, or what is wrong with it.
fn new_password(password: &str, confirm: &str) -> Result<Password, String> {
    let parsed = Password::parse(password).map_err(|e| format!("The new password {e}."))?;
    if password != confirm {
        return Err("The two passwords differ: type the same password twice.".into());
    }
    Ok(parsed)
}

fn problem(p: Option<&str>) -> Markup {
    html! { @if let Some(p) = p { p.problem role="alert" { (p) } } }
}

// --- Invites -----------------------------------------------------------------------

fn invite_token(req: &HttpRequest) -> String {
    req.match_info().get("token").unwrap_or_default().to_owned()
}

fn refused(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    layout::html(
        status,
        layout::page(
            title,
            html! {
                section.card.form-card.invite-refused data-status=(status.as_u16()) {
                    h1 { (title) }
                    p.lede { (text) }
                    p { a.button href="/sign-in" { "Go to sign-in" } }
                }
            },
        ),
    )
}

/// The answer for an invite that cannot be used.
fn unusable(state: &Invite) -> HttpResponse {
    match state {
        Invite::Used => refused(
            StatusCode::GONE,
            "This invite was used already",
            "A password was set with this link already; it works only once. Sign in with your email and password, or ask an admin for a new invite.",
        ),
        Invite::Expired => refused(
            StatusCode::GONE,
            "This invite has expired",
            "Invite links work for a limited time. Ask an admin for a new invite.",
        ),
        Invite::Unknown | Invite::Open(_) => refused(
            StatusCode::NOT_FOUND,
            "This invite link is not valid",
            "Check that the whole link was copied, or ask an admin for a new invite.",
        ),
    }
}

/// " of team growth" or " of teams growth, support" (nothing for no team).
fn teams_phrase(teams: &std::collections::BTreeSet<crate::domain::TeamKey>) -> Markup {
    let names: Vec<&str> = teams.iter().map(crate::domain::TeamKey::as_str).collect();
    html! {
        @match names.len() {
            0 => {}
            1 => { " of team " strong { (names.join("")) } }
            _ => { " of teams " strong { (names.join(", ")) } }
        }
    }
}

fn invite_page(user: &users::User, token: &str, problem_text: Option<&str>) -> Markup {
    layout::page(
        "Set your password",
        html! {
            section.card.form-card.invite {
                h1 { "Welcome, " (user.name) }
                p { "You were invited to offerlab as " strong { (user.role.as_str()) }
                    (teams_phrase(&user.teams))
                    ". Choose a password for " strong { (user.email) } "." }
                (problem(problem_text))
                form method="post" action={ "/invite/" (token) } {
                    input type="text" name="username" value=(user.email) autocomplete="username" hidden;
                    label for="password" { "New password" }
                    input #password type="password" name="password" autocomplete="new-password"
                        minlength=(crate::domain::user::MIN_PASSWORD) required;
                    p.hint { "At least " (crate::domain::user::MIN_PASSWORD) " characters. A few unrelated words make a good one." }
                    label for="confirm" { "The same password again" }
                    input #confirm type="password" name="confirm" autocomplete="new-password" required;
                    button #set-password type="submit" { "Set password" }
                }
            }
        },
    )
}

/// `GET /invite/{token}`: the form to set a password, or why the invite is refused.
pub async fn invite_form(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let token = invite_token(&req);
    let lookup = token.clone();
    let found = db(&state, move |c| users::invite_state(c, &lookup, Utc::now())).await?;
    Ok(match found {
        Invite::Open(user) => layout::html(StatusCode::OK, invite_page(&user, &token, None)),
        other => unusable(&other),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /invite/{token}`: sets the password and uses the invite up.
pub async fn accept_invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let token = invite_token(&req);
    let lookup = token.clone();
    let found = db(&state, move |c| users::invite_state(c, &lookup, Utc::now())).await?;
    let Invite::Open(user) = found else {
        return Ok(unusable(&found));
    };
    let password = match new_password(&body.password, &body.confirm) {
        Ok(p) => p,
        Err(why) => {
            return Ok(layout::html(
                StatusCode::UNPROCESSABLE_ENTITY,
                invite_page(&user, &token, Some(&why)),
            ));
        }
    };
    let hashed = hash(password).await?;
    let accepted = db(&state, move |c| {
        users::accept_invite(c, &token, &hashed, Utc::now())
    })
    .await?;
    match accepted {
        Invite::Open(user) => {
            tracing::info!(user_id = user.id, "invite accepted");
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/sign-in?welcome=1"))
                .finish())
        }
        other => Ok(unusable(&other)),
    }
}

// --- Account -----------------------------------------------------------------------

fn account_page(
    session: &SignedIn,
    user: Option<&users::User>,
    notice: Result<Option<&str>, &str>,
) -> Markup {
    let nav = session.nav();
    layout::page_with(
        "Your account",
        Some(&nav),
        html! {
            section.card.form-card.account {
                h1 { "Your account" }
                @match user {
                    Some(u) => {
                        p { strong { (u.name) } " · " (u.email) " · " (u.role.as_str())
                            (teams_phrase(&u.teams)) }
                    }
                    None => {
                        p { "Signed in with the API key " strong { (session.owner.name) } ". Keys have no password: manage them with "
                            code { "offerlab keys" } "." }
                    }
                }
                @match notice {
                    Ok(Some(done)) => p.done role="status" { (done) },
                    Err(p) => p.problem role="alert" { (p) },
                    Ok(None) => {},
                }
                @if user.is_some() {
                    h2 { "Change your password" }
                    form method="post" action="/account/password" {
                        (layout::csrf_field(&nav))
                        input type="text" name="username" value=(user.map(|u| u.email.to_string()).unwrap_or_default()) autocomplete="username" hidden;
                        label for="current" { "Current password" }
                        input #current type="password" name="current" autocomplete="current-password" required;
                        label for="password" { "New password" }
                        input #password type="password" name="password" autocomplete="new-password"
                            minlength=(crate::domain::user::MIN_PASSWORD) required;
                        label for="confirm" { "The same new password again" }
                        input #confirm type="password" name="confirm" autocomplete="new-password" required;
                        button #change-password type="submit" { "Change password" }
                    }
                }
                h2 { "Sign out everywhere" }
                p { "Ends every session of yours, on every device, including this one." }
                form method="post" action="/sign-out-everywhere" {
                    (layout::csrf_field(&nav))
                    button #sign-out-everywhere type="submit" { "Sign out everywhere" }
                }
            }
        },
    )
}

async fn user_of(state: &AppState, session: &SignedIn) -> Result<Option<users::User>, PageError> {
    match session.owner.caller.who {
        Who::User(id) => db(state, move |c| users::find(c, id)).await,
        Who::Key(_) => Ok(None),
    }
}

/// `GET /account`
pub async fn account(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = signed_in(&req).ok_or(PageError::FormExpired)?;
    let user = user_of(&state, &session).await?;
    Ok(layout::html(
        StatusCode::OK,
        account_page(&session, user.as_ref(), Ok(None)),
    ))
}

#[derive(Deserialize)]
pub struct ChangePassword {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /account/password`: checks the current password, sets the new one and ends
/// the user's other sessions.
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<ChangePassword>,
) -> Result<HttpResponse, PageError> {
    let session = check_form(&req, &body.csrf)?;
    let Some(user) = user_of(&state, &session).await? else {
        return Err(PageError::Forbidden("an API key has no password".into()));
    };
    let render = |status, notice| layout::html(status, account_page(&session, Some(&user), notice));
    let id = user.id;
    let current = body.current.clone();
    let holds = db(&state, move |c| {
        Ok(users::password_hash(c, id)?.is_some_and(|h| users::verify_password(&current, &h)))
    })
    .await?;
    if !holds {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            Err("The current password is wrong."),
        ));
    }
    let password = match new_password(&body.password, &body.confirm) {
        Ok(p) => p,
        Err(why) => return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, Err(&why))),
    };
    let hashed = hash(password).await?;
    let keep = session.token.clone();
    db(&state, move |c| {
        users::set_password(c, id, &hashed)?;
        sessions::end_others_of_user(c, id, &keep)
    })
    .await?;
    tracing::info!(user_id = id, "password changed");
    Ok(render(
        StatusCode::OK,
        Ok(Some("Password changed. Your other sessions have ended.")),
    ))
}

// --- Users (admins) -----------------------------------------------------------------

fn admin(req: &HttpRequest, csrf: Option<&str>) -> Result<SignedIn, PageError> {
    let session = match csrf {
        Some(token) => check_form(req, token)?,
        None => signed_in(req).ok_or(PageError::FormExpired)?,
    };
    session
        .owner
        .caller
        .allows(&Need::Admin)
        .map_err(|d| PageError::Forbidden(d.to_string()))?;
    Ok(session)
}

/// What the users page says above the list.
enum Said<'a> {
    Nothing,
    Invited {
        name: &'a str,
        link: &'a str,
        expires: String,
    },
    Problem(&'a str),
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    /// A writer's teams, separated by commas or spaces.
    #[serde(default)]
    teams: String,
}

impl InviteForm {
    /// The team names typed, in order.
    fn team_list(&self) -> Vec<&str> {
        self.teams
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect()
    }
}

fn users_page(session: &SignedIn, all: &[UserView], said: Said<'_>, form: &InviteForm) -> Markup {
    let nav = session.nav();
    let role = if form.role.is_empty() {
        "viewer"
    } else {
        form.role.as_str()
    };
    layout::page_with(
        "Users",
        Some(&nav),
        html! {
            div.page-head {
                h1 { "Users" }
                p.lede { "People who sign in to these pages. Machines use API keys (" code { "offerlab keys" } ")." }
            }
            @match said {
                Said::Invited { name, link, expires } => {
                    section.card.invited role="status" {
                        h2 { "Invite for " (name) }
                        p { "Send this link to them; it works once, until " (expires) ". It is shown only now." }
                        code.invite-link #invite-link { (link) }
                    }
                }
                Said::Problem(p) => { p.problem role="alert" { (p) } }
                Said::Nothing => {}
            }
            section.card.form-card {
                h2 { "Invite someone" }
                form.stacked method="post" action="/users/invite" {
                    (layout::csrf_field(&nav))
                    label for="invite-email" { "Email" }
                    input #invite-email type="email" name="email" value=(form.email) required;
                    label for="invite-name" { "Name" }
                    input #invite-name type="text" name="name" value=(form.name) required;
                    label for="invite-role" { "Role" }
                    select #invite-role name="role" {
                        @for r in Role::ALL {
                            option value=(r.as_str()) selected[r.as_str() == role] { (r.as_str()) }
                        }
                    }
                    p.hint { "Viewers read; writers also decide for their teams; admins manage everything." }
                    label for="invite-teams" { "Teams (writers only; separate with commas)" }
                    input #invite-teams type="text" name="teams" value=(form.teams) placeholder="growth, support";
                    button #invite type="submit" { "Create invite link" }
                }
            }
            section.card {
                h2 { "Everyone" }
                @if all.is_empty() {
                    p.none { "Nobody yet: invite someone above." }
                } @else {
                    ul.users {
                        @for u in all {
                            li data-user=(u.email) data-status=(u.status) {
                                span.who { (u.name) }
                                span.email { (u.email) }
                                span.role data-teams=(u.teams.join(",")) {
                                    (u.role.as_str())
                                    @if !u.teams.is_empty() { " · " (u.teams.join(", ")) }
                                }
                                span class={ "badge status " (u.status) } { (u.status) }
                                @if u.status != "disabled" && session.owner.caller.who != Who::User(u.id) {
                                    form.inline method="post" action={ "/users/" (u.id) "/disable" } {
                                        (layout::csrf_field(&nav))
                                        button type="submit" { "Disable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn all_users(state: &AppState) -> Result<Vec<UserView>, PageError> {
    Ok(db(state, users::list)
        .await?
        .into_iter()
        .map(UserView::from)
        .collect())
}

/// `GET /users` (admins)
pub async fn users_list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = admin(&req, None)?;
    let all = all_users(&state).await?;
    Ok(layout::html(
        StatusCode::OK,
        users_page(&session, &all, Said::Nothing, &InviteForm::default()),
    ))
}

/// `POST /users/invite` (admins): the invite link, shown once.
pub async fn users_invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let body = body.into_inner();
    let session = admin(&req, Some(&body.csrf))?;
    let parsed = parse_invite(&body.email, &body.name, &body.role, &body.team_list());
    let outcome = match parsed {
        Ok(new) => invite(&state, &session.owner.caller, new)
            .await
            .map_err(|e| match e {
                crate::api::error::ApiError::Conflict(why) => Ok(why),
                other => Err(PageError::from(other)),
            }),
        Err(errors) => Err(Ok(errors
            .0
            .iter()
            .map(|e| format!("{} {}", e.field, e.reason))
            .collect::<Vec<_>>()
            .join("; "))),
    };
    let all_after = all_users(&state).await?;
    match outcome {
        Ok((user, token, expires_at)) => {
            tracing::info!(user_id = user.id, "user invited");
            let link = invite_url(&req, &token);
            Ok(layout::html(
                StatusCode::CREATED,
                users_page(
                    &session,
                    &all_after,
                    Said::Invited {
                        name: &user.name,
                        link: &link,
                        expires: layout::date_time(expires_at),
                    },
                    &InviteForm::default(),
                ),
            ))
        }
        Err(Ok(why)) => Ok(layout::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            users_page(
                &session,
                &all_after,
                Said::Problem(&format!("Not invited: {why}.")),
                &body,
            ),
        )),
        Err(Err(e)) => Err(e),
    }
}

/// `POST /users/{id}/disable` (admins): the user's sessions end at once.
pub async fn users_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<super::session::CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let caller = admin(&req, Some(body.csrf()))?.owner.caller;
    let raw = req.match_info().get("id").unwrap_or_default().to_owned();
    let id: i64 = raw
        .parse()
        .map_err(|_| PageError::NotFound(format!("user {raw}")))?;
    let disabled = db(&state, move |c| {
        let actor = crate::store::keys::actor(c, &caller)?;
        users::disable(c, &actor, id, Utc::now())
    })
    .await?;
    tracing::info!(user_id = disabled.id, "user disabled");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/users"))
        .finish())
}

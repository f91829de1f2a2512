//! Leadership pages: server-rendered HTML from the very reports the API returns.
//!
//! - `/`: the portfolio, what needs a decision first, filterable by status and team;
//! - `/initiatives/{key}`: one initiative's readout, verdict first, then why;
//! - `/sign-in`, `/invite/{token}`, `/account`, `/users`: people sign in, accept an
//!   invite, change their password, and (admins) invite and disable users;
//! - `/initiatives/{key}/decide`: the readout's decision form (writers of the owning
//!   team, admins), with the session's form token;
//! - `/assets/app.css`: the stylesheet, compiled into the binary.
//!
//! Pages need no JavaScript and load nothing from elsewhere (charts are inline SVG,
//! see [`charts`]); a Content-Security-Policy holds them to that. Handlers only parse,
//! load through [`crate::api::reports`] and render.

mod audit;
pub mod charts;
mod error;
mod inbox;
mod layout;
mod people;
mod portfolio;
mod readout;
pub mod session;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::decisions::load_decisions;
use crate::api::error::ApiError;
use crate::api::extract::initiative_key;
use crate::api::initiatives::record_decision;
use crate::api::reports::{load_portfolio, load_report};
use crate::api::routes::{PageRule, Register, Resources};
use crate::api::{AppState, blocking, reading};
use crate::domain::access::{Denied, Need};
use crate::domain::{Status, TeamKey};
use crate::store::initiatives;
pub use error::PageError;
pub use portfolio::Filter;

/// Every page, with its rule, declared once (see [`crate::api::routes`]).
pub fn declare_pages(r: &mut impl Register) {
    use PageRule::{Admin, Open, SignedIn};
    r.page(Method::GET, "/", SignedIn, portfolio_page);
    r.page(Method::GET, "/inbox", Admin, inbox_page);
    r.page(Method::POST, "/inbox/{id}/replay", Admin, inbox_replay);
    r.page(Method::GET, "/initiatives/{key}", SignedIn, readout_page);
    r.page(Method::GET, "/audit", Admin, audit_page);
    r.page(Method::GET, layout::STYLESHEET_PATH, Open, stylesheet);
    r.page(Method::GET, "/sign-in", Open, session::sign_in_form);
    r.page(Method::POST, "/sign-in", Open, session::sign_in);
    r.page(Method::POST, "/sign-out", Open, session::sign_out);
    r.page(Method::GET, "/invite/{token}", Open, people::invite_form);
    r.page(Method::POST, "/invite/{token}", Open, people::accept_invite);
    r.page(Method::POST, "/initiatives/{key}/decide", SignedIn, decide);
    r.page(Method::GET, "/account", SignedIn, people::account);
    r.page(
        Method::POST,
        "/account/password",
        SignedIn,
        people::change_password,
    );
    r.page(
        Method::POST,
        "/sign-out-everywhere",
        SignedIn,
        session::sign_out_everywhere,
    );
    r.page(Method::GET, "/users", SignedIn, people::users_list);
    r.page(
        Method::POST,
        "/users/invite",
        SignedIn,
        people::users_invite,
    );
    r.page(
        Method::POST,
        "/users/{id}/disable",
        SignedIn,
        people::users_disable,
    );
}

/// Registers the pages and their stylesheet, each behind the sign-in middleware, which
/// reads the resource's rule after routing.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources = Resources::default();
    declare_pages(&mut resources);
    for resource in resources.into_resources() {
        cfg.service(resource.wrap(actix_web::middleware::from_fn(session::require_sign_in)));
    }
}

/// `GET /?status=running&team=growth`
async fn portfolio_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let filter = Filter::from_query(req.query_string())?;
    let portfolio = load_portfolio(&state).await?;
    let against = reading(&state, initiatives::decided_against_evidence).await?;
    Ok(layout::html(
        StatusCode::OK,
        portfolio::page(&portfolio, &filter, &against, session::nav(&req).as_ref()),
    ))
}

/// Whether the signed-in caller may decide on an initiative owned by `owner`.
fn may_decide(session: &session::SignedIn, owner: &TeamKey) -> Result<(), Denied> {
    session.owner.caller.allows(&Need::WriteFor {
        teams: vec![owner.clone()],
    })
}

/// The readout, with the decision form when the caller may decide and the pilot runs.
async fn readout(
    state: &AppState,
    req: &HttpRequest,
    form: Option<readout::DecideForm>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let raw = req.match_info().get("key").unwrap_or_default().to_owned();
    // The key exactly as the sign-in check saw it.
    let key =
        initiative_key(req.match_info()).map_err(|_| PageError::UnknownInitiative(raw.clone()))?;
    let (report, freshness) = load_report(state, key.clone())
        .await
        .map_err(|e| PageError::for_initiative(e, &raw))?;
    let log = load_decisions(state, key)
        .await
        .map_err(|e| PageError::for_initiative(e, &raw))?;
    let signed_in = session::signed_in(req);
    let i = &report.initiative;
    let owner = TeamKey::parse(i.owner_team.as_str()).ok();
    let decide = match (&signed_in, owner) {
        (Some(s), Some(owner)) if i.status == Status::Running && may_decide(s, &owner).is_ok() => {
            Some(form.unwrap_or_else(|| readout::DecideForm {
                csrf: s.csrf.clone(),
                ..Default::default()
            }))
        }
        _ => None,
    };
    let nav = signed_in.map(|s| s.nav());
    Ok(layout::html(
        status,
        readout::page(&report, &log, freshness, nav.as_ref(), decide.as_ref()),
    ))
}

/// `GET /initiatives/{key}`
async fn readout_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    readout(&state, &req, None, StatusCode::OK).await
}

#[derive(serde::Deserialize)]
struct DecideInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    override_reason: String,
}

/// `POST /initiatives/{key}/decide`: records a decision from the readout's form, with the
/// API's rules. A refused decision shows the form again with the reason.
async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Form<DecideInput>,
) -> Result<HttpResponse, PageError> {
    let body = body.into_inner();
    let session = session::check_form(&req, &body.csrf)?;
    let raw = req.match_info().get("key").unwrap_or_default().to_owned();
    let key =
        initiative_key(req.match_info()).map_err(|_| PageError::UnknownInitiative(raw.clone()))?;
    let lookup = key.clone();
    let owner = blocking(&state, move |c| initiatives::find(c, lookup.as_str()))
        .await?
        .ok_or_else(|| PageError::UnknownInitiative(raw.clone()))?
        .owner_team;
    may_decide(&session, &owner).map_err(|d| PageError::Forbidden(d.to_string()))?;
    let reason = Some(body.override_reason.as_str()).filter(|r| !r.trim().is_empty());
    let recorded = record_decision(
        &state,
        key.clone(),
        &session.owner.caller,
        &body.decision,
        &body.note,
        reason,
    )
    .await;
    let problem = match recorded {
        Ok((_, d)) => {
            tracing::info!(initiative = %key, decision = %d.decision, "decision recorded from the readout");
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/initiatives/{key}#decision-log")))
                .finish());
        }
        Err(ApiError::Invalid { errors, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .iter()
                .map(|e| format!("{} {}", field_label(&e.field), e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(ApiError::Conflict(why)) => (StatusCode::CONFLICT, why),
        Err(other) => return Err(PageError::for_initiative(other, &raw)),
    };
    let form = readout::DecideForm {
        csrf: session.csrf.clone(),
        decision: body.decision,
        note: body.note,
        override_reason: body.override_reason,
        problem: Some(format!("Not recorded: {}.", problem.1)),
    };
    readout(&state, &req, Some(form), problem.0).await
}

/// A form field as the page names it.
fn field_label(field: &str) -> &str {
    match field {
        "decision" => "Decision:",
        "note" => "Note:",
        "override_reason" => "Override reason:",
        other => other,
    }
}

/// The inbox page's query.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxPageQuery {
    provider: Option<String>,
    /// `pending` (default), `replayed` or `all`.
    status: Option<String>,
    after: Option<String>,
    /// The entry just replayed.
    replayed: Option<i64>,
}

/// `GET /inbox?provider=stripe&status=pending`: admins only.
async fn inbox_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    use crate::api::hooks::{InboxQuery, inbox_filter};
    let bad = |field: &str, reason: String| PageError::BadFilter {
        field: field.into(),
        value: req.query_string().into(),
        reason,
    };
    let q = web::Query::<InboxPageQuery>::from_query(req.query_string())
        .map_err(|e| bad("query", e.to_string()))?
        .into_inner();
    let status = q.status.clone().unwrap_or_else(|| "pending".into());
    let filter = inbox_filter(&InboxQuery {
        provider: q.provider.clone(),
        status: (status != "all").then(|| status.clone()),
        after: q.after.clone(),
        limit: None,
    })
    .map_err(|e| match e.problem().errors.first() {
        Some(f) => bad(&f.field, f.reason.clone()),
        None => bad("query", e.to_string()),
    })?;
    let provider = filter.provider;
    let (entries, more) = blocking(&state, move |c| crate::store::inbox::page(c, &filter)).await?;
    let replayed = match q.replayed {
        Some(id) => blocking(&state, move |c| crate::store::inbox::get(c, id))
            .await
            .ok(),
        None => None,
    };
    let view = inbox::View {
        provider: provider.map(|p| p.as_str()),
        status: &status,
        next_after: more.then(|| entries.last().map(|e| e.id)).flatten(),
        replayed: replayed.as_ref(),
    };
    Ok(layout::html(StatusCode::OK, inbox::page(&entries, &view)))
}

/// `POST /inbox/{id}/replay` from the inbox page: replays, then shows the inbox again.
async fn inbox_replay(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let raw = req.match_info().get("id").unwrap_or_default().to_owned();
    let id: i64 = raw
        .parse()
        .map_err(|_| PageError::NotFound(format!("inbox entry {raw:?}")))?;
    let entry = crate::api::hooks::replay(&state, id).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/inbox?status=all&replayed={}#entry-{}", entry.id, entry.id),
        ))
        .finish())
}

/// `GET /audit?before=<cursor>&target_type=…&target_id=…`: the audit log (admins).
async fn audit_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let query = web::Query::<crate::api::audit::AuditQuery>::from_query(req.query_string())
        .map_err(|e| PageError::BadFilter {
            field: "query".into(),
            value: req.query_string().to_owned(),
            reason: e
                .to_string()
                .replace("Query deserialize error: ", "is malformed: "),
        })?;
    let (filter, limit) = query.into_inner().parse().map_err(|e| match e {
        crate::api::error::ApiError::BadRequest { detail, .. } => PageError::BadFilter {
            field: "audit".into(),
            value: String::new(),
            reason: detail,
        },
        other => other.into(),
    })?;
    let log = crate::api::audit::load_audit(&state, filter, limit).await?;
    let older = log.next_cursor.clone();
    Ok(layout::html(StatusCode::OK, audit::page(&log, older)))
}

/// `GET /assets/app.css?v=<hash>`: cached for good when the version matches.
async fn stylesheet(req: HttpRequest) -> HttpResponse {
    let current = req
        .query_string()
        .split('&')
        .any(|pair| pair.strip_prefix("v=") == Some(layout::STYLESHEET_VERSION.as_str()));
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CACHE_CONTROL,
            if current {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            },
        ))
        .body(layout::STYLESHEET)
}

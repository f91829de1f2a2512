//! Leadership pages: server-rendered HTML from the very reports the API returns.
//!
//! - `/`: the portfolio, what needs a decision first, filterable by status and team;
//! - `/initiatives/{key}`: one initiative's readout, verdict first, then why;
//! - `/assets/app.css`: the stylesheet, compiled into the binary.
//!
//! Pages need no JavaScript and load nothing from elsewhere (charts are inline SVG,
//! see [`charts`]); a Content-Security-Policy holds them to that. Handlers only parse,
//! load through [`crate::api::reports`] and render.

pub mod charts;
mod error;
mod layout;
mod portfolio;
mod readout;
pub mod session;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::decisions::load_decisions;
use crate::api::extract::initiative_key;
use crate::api::reports::{load_portfolio, load_report};
use crate::api::routes::{PageRule, Register, Resources};
use crate::api::{AppState, blocking};
use crate::store::initiatives;
pub use error::PageError;
pub use portfolio::Filter;

/// Every page, with its rule, declared once (see [`crate::api::routes`]).
pub fn declare_pages(r: &mut impl Register) {
    use PageRule::{Open, SignedIn};
    r.page(Method::GET, "/", SignedIn, portfolio_page);
    r.page(Method::GET, "/initiatives/{key}", SignedIn, readout_page);
    r.page(Method::GET, layout::STYLESHEET_PATH, Open, stylesheet);
    r.page(Method::GET, "/sign-in", Open, session::sign_in_form);
    r.page(Method::POST, "/sign-in", Open, session::sign_in);
    r.page(Method::POST, "/sign-out", Open, session::sign_out);
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
    let against = blocking(&state, initiatives::decided_against_evidence).await?;
    Ok(layout::html(
        StatusCode::OK,
        portfolio::page(&portfolio, &filter, &against),
    ))
}

/// `GET /initiatives/{key}`
async fn readout_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let raw = req.match_info().get("key").unwrap_or_default().to_owned();
    // The key exactly as the sign-in check saw it.
    let key =
        initiative_key(req.match_info()).map_err(|_| PageError::UnknownInitiative(raw.clone()))?;
    let report = load_report(&state, key.clone())
        .await
        .map_err(|e| PageError::for_initiative(e, &raw))?;
    let log = load_decisions(&state, key)
        .await
        .map_err(|e| PageError::for_initiative(e, &raw))?;
    Ok(layout::html(StatusCode::OK, readout::page(&report, &log)))
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

//! The page shell, the response headers of every page, and small shared pieces
//! (badges, dates, chart frames).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use super::charts::{ChartError, Layout};
use crate::analysis::VerdictStatus;
use crate::domain::{Decision, Kind, Mode, Status};

/// The stylesheet, compiled into the binary.
pub const STYLESHEET: &str = include_str!("app.css");
/// Where the stylesheet is served.
pub const STYLESHEET_PATH: &str = "/assets/app.css";

/// A short hash of the stylesheet: its URL changes with its content, so it can be
/// cached for good.
pub static STYLESHEET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    hex::encode(digest.get(..6).unwrap_or_default())
});

/// Pages load nothing but their own stylesheet and run no script; inline SVG needs no
/// source. `data:` is for the empty favicon (no /favicon.ico request).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An HTML page response with the security headers every page carries.
pub fn html(status: StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // Figures change with every event: always revalidate.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(page.into_string())
}

/// Who is signed in, for the navigation: their name, what they may open, and the
/// session's form token for the sign-out form.
#[derive(Debug, Clone)]
pub struct Nav {
    pub name: String,
    /// An admin: the admin pages (users, audit log, inbox) are linked; nobody else sees
    /// those links.
    pub admin: bool,
    /// A person (not an API key): the Account page is linked.
    pub person: bool,
    pub csrf: String,
}

/// The document around a page's `main`, for a visitor who is not signed in (no
/// "Sign out").
pub fn page(title: &str, main: Markup) -> Markup {
    page_with(title, None, main)
}

/// The hidden form-token field every state-changing form of a signed-in page carries.
pub fn csrf_field(nav: &Nav) -> Markup {
    html! { input type="hidden" name="csrf" value=(nav.csrf); }
}

/// The document around a page's `main`; `nav` when someone is signed in.
pub fn page_with(title: &str, nav: Option<&Nav>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) " · offerlab" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href={ (STYLESHEET_PATH) "?v=" (*STYLESHEET_VERSION) };
            }
            body {
                header.site {
                    div.wrap {
                        a.brand href="/" { "offerlab" }
                        span.tagline { "Is there real demand?" }
                        nav.site-nav aria-label="Site" {
                            a href="/" { "Portfolio" }
                            @if let Some(nav) = nav {
                                @if nav.admin {
                                    a.admin-link href="/users" { "Users" }
                                    a.admin-link href="/audit" { "Audit" }
                                    a.admin-link href="/inbox" { "Inbox" }
                                }
                                @if nav.person {
                                    a.account href="/account" title="Your account" { (nav.name) }
                                } @else {
                                    span.account { (nav.name) }
                                }
                                form.sign-out method="post" action="/sign-out" {
                                    (csrf_field(nav))
                                    button type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main.wrap { (main) }
                footer.site {
                    div.wrap {
                        "Verdicts follow the criteria each team registered before launch. "
                        "Every figure comes from the same report as "
                        code { "/api/v1" }
                        "."
                    }
                }
            }
        }
    }
}

/// The verdict as a badge: an icon and the words, so colour is never the only cue.
pub fn verdict_badge(status: VerdictStatus) -> Markup {
    let (class, icon) = match status {
        VerdictStatus::Validated => ("validated", "✓"),
        VerdictStatus::NotValidated => ("not-validated", "✕"),
        VerdictStatus::Inconclusive => ("inconclusive", "?"),
        VerdictStatus::Collecting => ("collecting", "…"),
    };
    html! {
        span class={ "badge verdict " (class) } data-verdict=(status.as_str()) {
            span.icon aria-hidden="true" { (icon) }
            (status.label())
        }
    }
}

/// The lifecycle status as a quiet badge.
pub fn status_badge(status: Status) -> Markup {
    let label = match status {
        Status::Draft => "Draft",
        Status::Running => "Running",
        Status::Concluded => "Concluded",
    };
    html! { span class={ "badge status " (status.as_str()) } data-status=(status.as_str()) { (label) } }
}

/// The flag of a decision taken against the evidence.
pub fn against_evidence_badge(text: &str) -> Markup {
    html! {
        span.badge.against-evidence {
            span.icon aria-hidden="true" { "!" }
            (text)
        }
    }
}

pub fn decision_label(d: Decision) -> &'static str {
    match d {
        Decision::Scale => "Scale",
        Decision::Iterate => "Iterate",
        Decision::Stop => "Stop",
    }
}

pub fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::ValueEngineering => "Value engineering",
        Kind::ValueAnalysis => "Value analysis",
    }
}

pub fn mode_label(m: Mode) -> &'static str {
    match m {
        Mode::Sequential => "Anytime-valid: safe to read as often as you like",
        Mode::Fixed => "Fixed horizon: read once the planned exposures are in",
    }
}

/// "28 Oct 2026".
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y").to_string()
}

/// "28 Oct 2026, 08:07 UTC".
pub fn date_time(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// A chart in its frame, or a note when it could not be drawn (the table beside it
/// still has the numbers).
pub fn chart(svg: Result<String, ChartError>) -> Markup {
    match svg {
        Ok(svg) => html! { div.chart-frame { (PreEscaped(svg)) } },
        Err(error) => {
            tracing::warn!(%error, "chart not drawn");
            html! { p.chart-missing { "This chart could not be drawn; the table has its numbers." } }
        }
    }
}

/// A chart drawn in both layouts ([`Layout`]): the wide one beside the rows on a
/// laptop, the narrow one (labels above the rows, type drawn near its size) in a box
/// narrower than 600 CSS pixels; the stylesheet shows one (a container query on the
/// frame), so chart text stays readable on a phone.
pub fn responsive_chart(draw: impl Fn(Layout) -> Result<String, ChartError>) -> Markup {
    match (draw(Layout::Wide), draw(Layout::Narrow)) {
        (Ok(wide), Ok(narrow)) => html! {
            div.chart-frame.responsive {
                div.chart-wide { (PreEscaped(wide)) }
                div.chart-narrow { (PreEscaped(narrow)) }
            }
        },
        (Err(error), _) | (_, Err(error)) => chart(Err(error)),
    }
}

/// A box saying what is missing and what to do next.
pub fn empty_state(title: &str, body: Markup) -> Markup {
    html! {
        div.empty-state role="status" {
            h3 { (title) }
            (body)
        }
    }
}

//! Errors of the pages, answered as HTML pages (never problem+json, never a bare 500).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use maud::{Markup, html};

use super::layout;
use crate::api::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 400: a portfolio filter the page does not know.
    #[error("filter {field} = {value:?}: {reason}")]
    BadFilter {
        field: String,
        value: String,
        reason: String,
    },
    /// 404: no initiative with this key.
    #[error("initiative {0:?} not found")]
    UnknownInitiative(String),
    /// 404: anything else missing.
    #[error("{0} not found")]
    NotFound(String),
    /// 403: a form was posted from another site (cross-site request forgery).
    #[error("cross-site form post refused")]
    CrossSite,
    /// 403: a page for admins, opened by someone else.
    #[error("admins only")]
    AdminOnly,
    /// 403: a form without the session's form token (or with no session behind it).
    #[error("form token missing or wrong")]
    FormExpired,
    /// 403: signed in, without the right.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 503: the database is not reachable.
    #[error("service unavailable")]
    Unavailable,
    /// 500: logged when it is made, answered with a generic page.
    #[error("internal error")]
    Internal,
}

impl PageError {
    /// An error of the API layer while showing initiative `key`.
    pub fn for_initiative(e: ApiError, key: &str) -> Self {
        match e {
            ApiError::NotFound(_) => PageError::UnknownInitiative(key.to_owned()),
            other => other.into(),
        }
    }

    fn body(&self) -> (String, Markup) {
        let back = html! { p { a.button href="/" { "Back to the portfolio" } } };
        match self {
            PageError::BadFilter {
                field,
                value,
                reason,
            } => (
                "That filter doesn't exist".into(),
                html! {
                    p.lede {
                        "The portfolio can't be filtered by "
                        code { (field) } " = “" (value) "”: " (field) " " (reason) "."
                    }
                    p { "Pick a status and a team from the lists on the portfolio page instead." }
                    (back)
                },
            ),
            PageError::UnknownInitiative(key) => (
                format!("No initiative called “{key}”"),
                html! {
                    p.lede {
                        "There is no initiative with the key " code { (key) }
                        ". It may be mistyped, or it was never registered."
                    }
                    (back)
                },
            ),
            PageError::NotFound(what) => (
                "Not found".into(),
                html! { p.lede { (what) " was not found." } (back) },
            ),
            PageError::CrossSite => (
                "This form came from another site".into(),
                html! {
                    p.lede { "offerlab only accepts forms sent from its own pages. Open the page on offerlab itself and send the form from there." }
                    (back)
                },
            ),
            PageError::AdminOnly => (
                "This page is for admins".into(),
                html! {
                    p.lede { "Only an admin can read this page. Sign in with an admin account, or ask an admin." }
                    (back)
                },
            ),
            PageError::FormExpired => (
                "This form has expired".into(),
                html! {
                    p.lede { "The form was not sent from a page of your current sign-in. Reload the page, sign in again if asked, and send the form again." }
                    (back)
                },
            ),
            PageError::Forbidden(why) => (
                "You can't do this".into(),
                html! {
                    p.lede { "Your account may not do this: " (why) "." }
                    (back)
                },
            ),
            PageError::Unavailable => (
                "The database isn't reachable right now".into(),
                html! {
                    p.lede { "offerlab could not read the figures. Reload the page in a moment." }
                    (back)
                },
            ),
            PageError::Internal => (
                "Something went wrong".into(),
                html! {
                    p.lede { "The page could not be built; the error has been logged. Reload the page, or go back to the portfolio." }
                    (back)
                },
            ),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(what) => PageError::NotFound(what),
            ApiError::Unavailable(cause)
            | ApiError::StorageFull(cause)
            | ApiError::PoolExhausted(cause)
            | ApiError::NotReady(cause) => {
                tracing::warn!(%cause, "page failed");
                PageError::Unavailable
            }
            other => {
                tracing::error!(cause = %other, "page failed");
                PageError::Internal
            }
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::BadFilter { .. } => StatusCode::BAD_REQUEST,
            PageError::UnknownInitiative(_) | PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::CrossSite
            | PageError::AdminOnly
            | PageError::FormExpired
            | PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, body) = self.body();
        let page = layout::page(
            &title,
            html! {
                section.error-page data-status=(self.status_code().as_u16()) {
                    p.error-code { (self.status_code().as_u16()) " · " (self.status_code().canonical_reason().unwrap_or("Error")) }
                    h1 { (title) }
                    (body)
                }
            },
        );
        let mut response = layout::html(self.status_code(), page);
        if matches!(self, PageError::Unavailable) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

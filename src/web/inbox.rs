//! `/inbox`: what providers sent that offerlab could not place, for admins, with a
//! replay button per entry. Cards rather than a table, so it reads at 390 px.

use maud::{Markup, html};

use super::layout;
use crate::store::inbox::{Entry, InboxStatus};

/// The filters and paging the page was asked for.
pub struct View<'a> {
    pub provider: Option<&'a str>,
    /// `pending`, `replayed` or `all`.
    pub status: &'a str,
    pub next_after: Option<i64>,
    /// The entry just replayed, to say what happened.
    pub replayed: Option<&'a Entry>,
}

fn link(provider: Option<&str>, status: &str) -> String {
    match provider {
        Some(p) => format!("/inbox?status={status}&provider={p}"),
        None => format!("/inbox?status={status}"),
    }
}

fn entry(e: &Entry) -> Markup {
    let pending = e.status == InboxStatus::Pending;
    html! {
        li.inbox-entry.pending[pending] id={ "entry-" (e.id) } {
            div.inbox-head {
                strong { "#" (e.id) " · " (e.provider) }
                code { (e.kind) }
                @if pending {
                    span.badge.status { "pending" }
                } @else {
                    span.badge.preregistered { "✓ replayed" }
                }
            }
            p.inbox-reason { (e.reason) }
            p.inbox-meta {
                "Initiative: "
                @match &e.initiative {
                    Some(key) => { a href={ "/initiatives/" (key) } { (key) } }
                    None => { span.none { "none named" } }
                }
                " · id " code { (e.external_id) }
                " · received " (layout::date_time(e.received_at))
                " · " (e.attempts) " attempt" @if e.attempts != 1 { "s" }
            }
            @if let Some(result) = &e.result {
                p.inbox-meta { "Replay stored: " code { (result) } }
            }
            details {
                summary { "Payload" }
                pre.payload { (e.payload) }
            }
            form.replay method="post" action={ "/inbox/" (e.id) "/replay" } {
                button.button type="submit" { @if pending { "Replay" } @else { "Replay again" } }
            }
        }
    }
}

/// The page.
pub fn page(entries: &[Entry], view: &View<'_>) -> Markup {
    let status = view.status;
    layout::page(
        "Inbox",
        html! {
            h1 { "Inbox" }
            p.lede {
                "Signed payloads from Stripe, Typeform and form tools that offerlab could not place yet, with the reason. "
                "Fix the cause (launch the initiative, map the form, create the segment), then replay. "
                "Nothing a provider sends is dropped."
            }
            @if let Some(r) = view.replayed {
                @if r.status == InboxStatus::Replayed {
                    div.banner.success role="status" { "Entry #" (r.id) " was replayed and stored." }
                } @else {
                    div.banner.warning role="status" { "Entry #" (r.id) " still cannot be placed: " (r.reason) }
                }
            }
            nav.inbox-filters aria-label="Filter" {
                span { "Provider:" }
                @for (label, p) in [("all", None), ("Stripe", Some("stripe")), ("Typeform", Some("typeform")), ("forms", Some("form"))] {
                    @if p == view.provider {
                        strong aria-current="true" { (label) }
                    } @else {
                        a href=(link(p, status)) { (label) }
                    }
                }
                span { "Status:" }
                @for (label, s) in [("pending", "pending"), ("replayed", "replayed"), ("all", "all")] {
                    @if s == status {
                        strong aria-current="true" { (label) }
                    } @else {
                        a href=(link(view.provider, s)) { (label) }
                    }
                }
            }
            @if entries.is_empty() {
                (layout::empty_state("Nothing here", html! { p { "No entries match. Everything providers sent was placed." } }))
            } @else {
                ol.inbox { @for e in entries { (entry(e)) } }
            }
            @if let Some(after) = view.next_after {
                p { a.button href={ (link(view.provider, status)) "&after=" (after) } { "More entries →" } }
            }
        },
    )
}

//! The audit page (admins): every change, newest first, who made it and what changed.

use maud::{Markup, html};

use super::layout::{self, date_time, empty_state};
use crate::api::audit::{AuditEntryView, AuditLogPage};

/// The longest value shown inline in the "what changed" column.
const MAX_VALUE: usize = 80;

fn short(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".into(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_VALUE {
        let cut: String = text.chars().take(MAX_VALUE - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The top-level fields whose value differs, as `field: before → after`.
fn changes(entry: &AuditEntryView) -> Vec<(String, String, String)> {
    let (Some(before), Some(after)) = (
        entry.before.as_ref().and_then(|b| b.as_object()),
        entry.after.as_ref().and_then(|a| a.as_object()),
    ) else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v) && k.as_str() != "updated_at")
        .map(|(k, v)| {
            let was = before.get(k).unwrap_or(&serde_json::Value::Null);
            (k.clone(), short(was), short(v))
        })
        .collect()
}

fn who(entry: &AuditEntryView) -> Markup {
    let kind = match entry.actor.kind.as_str() {
        "api_key" => "API key",
        "cli" => "command line",
        "system" => "system",
        other => other,
    };
    html! {
        strong { (entry.actor.name) }
        span.sub { (kind) @if let Some(id) = entry.actor.id { " " (id) } }
    }
}

fn what(entry: &AuditEntryView) -> Markup {
    let changed = changes(entry);
    html! {
        @if entry.before.is_none() {
            span.sub { "created" }
        } @else if changed.is_empty() {
            span.sub { "no field changed" }
        } @else {
            ul.changes {
                @for (field, was, now) in &changed {
                    li { code { (field) } ": " (was) " → " (now) }
                }
            }
        }
        details.audit-json {
            summary { "Before and after" }
            @if let Some(b) = &entry.before {
                p.sub { "Before" }
                pre { (serde_json::to_string_pretty(b).unwrap_or_default()) }
            }
            @if let Some(a) = &entry.after {
                p.sub { "After" }
                pre { (serde_json::to_string_pretty(a).unwrap_or_default()) }
            }
        }
    }
}

/// The page: a table at desktop widths, one card per entry on a phone.
pub fn page(log: &AuditLogPage, older: Option<String>) -> Markup {
    layout::page(
        "Audit log",
        html! {
            section.audit {
                h1 { "Audit log" }
                p.lede {
                    "Every change an admin or a writer made: initiatives, launches, conclusions, "
                    "decisions, API keys and segments, newest first. Entries are written with the "
                    "change itself and can never be edited or removed. Events sent to pilots are "
                    "data, not changes, and are not listed."
                }
                @if log.entries.is_empty() {
                    (empty_state("Nothing changed yet", html! {
                        p { "Changes appear here as soon as someone makes one." }
                    }))
                } @else {
                    div.table-scroll {
                        table.data.audit-log id="audit-table" {
                            thead {
                                tr {
                                    th scope="col" { "When" }
                                    th scope="col" { "Who" }
                                    th scope="col" { "Action" }
                                    th scope="col" { "Target" }
                                    th scope="col" { "What changed" }
                                }
                            }
                            tbody {
                                @for e in &log.entries {
                                    tr data-action=(e.action) {
                                        td data-label="When" { (date_time(e.at)) }
                                        td data-label="Who" { (who(e)) }
                                        td data-label="Action" { code { (e.action) } }
                                        td data-label="Target" {
                                            (e.target.target_type) " "
                                            @if e.target.target_type == "initiative" {
                                                a href={ "/initiatives/" (e.target.id) } { (e.target.id) }
                                            } @else {
                                                strong { (e.target.id) }
                                            }
                                        }
                                        td.what data-label="What changed" { (what(e)) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(cursor) = older {
                        p { a.button href={ "/audit?before=" (cursor) } { "Older entries" } }
                    }
                }
            }
        },
    )
}

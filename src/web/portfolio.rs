//! The portfolio page: every initiative, what needs a decision first.

use std::collections::BTreeSet;

use actix_web::web::Query;
use maud::{Markup, html};
use serde::Deserialize;

use super::charts;
use super::error::PageError;
use super::layout::{
    self, against_evidence_badge, chart, date_time, decision_label, status_badge, verdict_badge,
};
use crate::analysis::VerdictStatus;
use crate::analysis::portfolio::{Portfolio, PortfolioEntry};
use crate::analysis::words::{count, money, p_value, percent, percent_range};
use crate::domain::{Status, TeamKey};

/// The portfolio filter from the query string; an empty value means "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<Status>,
    pub team: Option<TeamKey>,
}

#[derive(Debug, Deserialize)]
struct RawFilter {
    status: Option<String>,
    team: Option<String>,
}

impl Filter {
    /// Parses `status=running&team=growth`; other parameters are ignored, unknown values
    /// are a [`PageError::BadFilter`].
    pub fn from_query(query: &str) -> Result<Self, PageError> {
        let raw = Query::<RawFilter>::from_query(query)
            .map_err(|e| PageError::BadFilter {
                field: "query".into(),
                value: query.to_owned(),
                reason: e
                    .to_string()
                    .replace("Query deserialize error: ", "is malformed: "),
            })?
            .into_inner();
        let status = raw
            .status
            .filter(|s| !s.is_empty())
            .map(|s| {
                Status::parse(&s).map_err(|reason| PageError::BadFilter {
                    field: "status".into(),
                    value: s.clone(),
                    reason,
                })
            })
            .transpose()?;
        let team = raw
            .team
            .filter(|t| !t.is_empty())
            .map(|t| {
                TeamKey::parse(t.as_str()).map_err(|reason| PageError::BadFilter {
                    field: "team".into(),
                    value: t.clone(),
                    reason,
                })
            })
            .transpose()?;
        Ok(Filter { status, team })
    }

    pub fn matches(&self, e: &PortfolioEntry) -> bool {
        self.status.is_none_or(|s| e.status == s)
            && self
                .team
                .as_ref()
                .is_none_or(|t| e.owner_team == t.as_str())
    }

    fn is_active(&self) -> bool {
        self.status.is_some() || self.team.is_some()
    }
}

/// `against`: keys of the initiatives whose latest decision went against the evidence.
pub fn page(
    portfolio: &Portfolio,
    filter: &Filter,
    against: &BTreeSet<String>,
    nav: Option<&layout::Nav>,
) -> Markup {
    let shown: Vec<&PortfolioEntry> = portfolio
        .initiatives
        .iter()
        .filter(|e| filter.matches(e))
        .collect();
    let teams: BTreeSet<&str> = portfolio
        .initiatives
        .iter()
        .map(|e| e.owner_team.as_str())
        .chain(filter.team.as_ref().map(TeamKey::as_str))
        .collect();
    let scale = charts::rate_axis_max(
        shown
            .iter()
            .filter_map(|e| e.ci.map(|c| c.high).or(e.rate))
            .chain(shown.iter().map(|e| e.target_preorder_rate))
            .fold(0.0, f64::max),
    );
    layout::page_with(
        "Portfolio",
        nav,
        html! {
            div.page-head {
                h1 { "Portfolio" }
                p.lede {
                    (count(portfolio.initiatives.len() as u64)) " initiatives, what needs a decision first. "
                    span.asof { "Figures as of " (date_time(portfolio.as_of)) "." }
                }
            }
            (tiles(&shown))
            (filter_form(filter, &teams))
            @if portfolio.initiatives.is_empty() {
                (layout::empty_state("No initiatives yet", html! {
                    p {
                        "Register one with " code { "POST /api/v1/initiatives" }
                        ", launch it with " code { "POST /api/v1/initiatives/{key}/launch" }
                        " to lock its criteria, then send exposures, pre-orders and responses with "
                        code { "POST /api/v1/initiatives/{key}/events" } "."
                    }
                    p {
                        "To explore first, start the service on an empty database with "
                        code { "offerlab serve --demo" } ": it loads five demo pilots."
                    }
                }))
            } @else if shown.is_empty() {
                (layout::empty_state("No initiative matches these filters", html! {
                    p {
                        "Nothing has "
                        @if let Some(s) = filter.status { "status " strong { (s.as_str()) } }
                        @if filter.status.is_some() && filter.team.is_some() { " and " }
                        @if let Some(t) = &filter.team { "owner team " strong { (t.as_str()) } }
                        ". "
                        a href="/" { "Show every initiative" } "."
                    }
                }))
            } @else {
                (notes(portfolio, &shown, scale))
                (table(&shown, scale, against))
            }
        },
    )
}

fn tiles(shown: &[&PortfolioEntry]) -> Markup {
    let n = |v: VerdictStatus| shown.iter().filter(|e| e.verdict == v).count();
    html! {
        ul.tiles aria-label="Initiatives by verdict" {
            @for v in [VerdictStatus::Validated, VerdictStatus::NotValidated, VerdictStatus::Inconclusive, VerdictStatus::Collecting] {
                li.tile data-verdict=(v.as_str()) {
                    span.tile-count { (n(v)) }
                    (verdict_badge(v))
                }
            }
        }
    }
}

fn filter_form(filter: &Filter, teams: &BTreeSet<&str>) -> Markup {
    html! {
        form.filters method="get" action="/" {
            label {
                span { "Status" }
                select name="status" {
                    option value="" selected[filter.status.is_none()] { "All statuses" }
                    @for s in Status::ALL {
                        option value=(s.as_str()) selected[filter.status == Some(*s)] { (s.as_str()) }
                    }
                }
            }
            label {
                span { "Owner team" }
                select name="team" {
                    option value="" selected[filter.team.is_none()] { "All teams" }
                    @for t in teams {
                        option value=(t) selected[filter.team.as_ref().is_some_and(|f| f.as_str() == *t)] { (t) }
                    }
                }
            }
            button type="submit" { "Filter" }
            @if filter.is_active() {
                a.clear href="/" { "Clear filters" }
            }
        }
    }
}

/// What the strips' scale is, and what the adjusted p-values are (and are not).
/// The p-values are adjusted over every running pilot with a p-value, shown or not.
fn notes(portfolio: &Portfolio, shown: &[&PortfolioEntry], scale: f64) -> Markup {
    let adjusted = shown.iter().filter(|e| e.p_value_bh.is_some()).count();
    let running = portfolio
        .initiatives
        .iter()
        .filter(|e| e.p_value_bh.is_some())
        .count();
    html! {
        ul.portfolio-notes {
            li id="rate-scale" {
                strong { "Scale 0–" (percent(scale)) } ": the rate strips run up to the largest upper bound or target on this page, rounded up, so small rates and their intervals stay visible. Dot: rate · bar: interval · line: target."
            }
            @if adjusted > 0 {
                li id="bh-note" {
                    strong { "Adjusted p" } ": the one-sided p that the rate beats its target, adjusted for the "
                    (count(running as u64)) " running pilots (Benjamini-Hochberg): a read-once screen across the portfolio, not the verdict."
                }
            }
        }
    }
}

fn table(shown: &[&PortfolioEntry], scale: f64, against: &BTreeSet<String>) -> Markup {
    html! {
        div.table-scroll {
            table.portfolio {
                caption.visually-hidden { "Initiatives, what needs a decision first" }
                thead {
                    tr {
                        th scope="col" { "Initiative" }
                        th scope="col" { "Verdict" }
                        th scope="col" {
                            "Pre-order rate vs target"
                            span.th-note { "Scale 0–" (percent(scale)) " · adjusted p" }
                        }
                        th.num scope="col" { "Love share" }
                        th.num scope="col" { "Exposed" }
                        th.num scope="col" { "Committed revenue" }
                    }
                }
                tbody {
                    @for e in shown {
                        (row(e, scale, against.contains(&e.key)))
                    }
                }
            }
        }
    }
}

fn row(e: &PortfolioEntry, scale: f64, against_evidence: bool) -> Markup {
    html! {
        tr data-key=(e.key) {
            td.initiative data-label="Initiative" {
                a.name href={ "/initiatives/" (e.key) } { (e.name) }
                div.sub {
                    (status_badge(e.status))
                    span.team { "Team " strong { (e.owner_team) } }
                    @if let Some(d) = e.decision {
                        span.decision { "Decision: " (decision_label(d)) }
                    }
                    @if against_evidence {
                        (against_evidence_badge("Decided against the evidence"))
                    }
                }
            }
            td.verdict data-label="Verdict" { (verdict_badge(e.verdict)) }
            td.rate data-label="Pre-order rate" {
                @match (e.rate, e.ci) {
                    (Some(rate), Some(ci)) => {
                        div.rate-text {
                            strong.rate-value { (percent(rate)) }
                            " "
                            span.rate-interval { (percent_range(ci.low, ci.high)) }
                            " "
                            span.target { "target " (percent(e.target_preorder_rate)) }
                        }
                    }
                    _ => {
                        div.rate-text {
                            span.none { "No exposures yet" }
                            " "
                            span.target { "target " (percent(e.target_preorder_rate)) }
                        }
                    }
                }
                (chart(charts::rate_strip(e.rate, e.ci, e.target_preorder_rate, scale, false)))
                @if let Some(p) = e.p_value_bh {
                    div.p-adjusted title="Adjusted for the running pilots (Benjamini-Hochberg)" {
                        "Adjusted " (p_value(p))
                    }
                }
            }
            td.num data-label="Love share" {
                @match e.love_share {
                    Some(s) => { (percent(s)) }
                    None => { span.none { "—" } }
                }
                @if let Some(t) = e.target_love_share {
                    span.target { "target " (percent(t)) }
                }
            }
            td.num data-label="Exposed" { (count(e.exposures)) }
            td.num data-label="Committed revenue" { (money(e.committed_revenue_cents, &e.currency)) }
        }
    }
}

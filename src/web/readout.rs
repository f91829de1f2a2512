//! The readout of one initiative: the verdict in a sentence, the key figures, then
//! why, chart by chart, each with its numbers in a table.

use maud::{Markup, html};

use super::charts;
use super::layout::{
    self, against_evidence_badge, chart, date, date_time, decision_label, empty_state, kind_label,
    mode_label, responsive_chart, status_badge, verdict_badge,
};
use crate::analysis::Report;
use crate::analysis::figures::IntervalMethod;
use crate::analysis::report::{Range, Said, SentimentConversion};
use crate::analysis::words::{confidence, count, money, odds, p_value, percent, percent_range};
use crate::api::decisions::{DecisionList, evidence_line};
use crate::domain::{Mode, Status};
use crate::store::{Freshness, ReadFrom};

/// The headline the verdict reads: the rate, its interval and the interval's name
/// ("95% anytime-valid interval"). In fixed mode, once the single read has happened,
/// the figures of that read.
pub fn verdict_interval(report: &Report) -> (Option<f64>, Option<Range>, String) {
    let c = confidence(report.initiative.criteria.confidence);
    let d = &report.demand;
    match (report.interval_method, d.fixed_read) {
        (IntervalMethod::AnytimeValid, _) => (d.rate, d.ci, format!("{c} anytime-valid interval")),
        (IntervalMethod::Wilson, Some(read)) => (
            read.rate,
            read.ci,
            format!(
                "{c} interval, read once at {} exposures",
                count(read.exposures)
            ),
        ),
        (IntervalMethod::Wilson, None) => (
            d.rate,
            d.ci,
            format!(
                "{c} interval, for information until the single read at {} exposures",
                count(report.initiative.criteria.planned_exposures)
            ),
        ),
    }
}

/// A difference of rates in percentage points: "+1.2 pts".
fn points(diff: f64) -> String {
    format!("{:+.1} pts", diff * 100.0)
}

fn cents(v: f64, currency: &str) -> String {
    money(crate::stats::convert::saturating_i64(v.round()), currency)
}

fn opt_percent(v: Option<f64>) -> Markup {
    match v {
        Some(v) => html! { (percent(v)) },
        None => html! { span.none { "—" } },
    }
}

fn opt_range(v: Option<Range>) -> Markup {
    match v {
        Some(r) => html! { (percent_range(r.low, r.high)) },
        None => html! { span.none { "—" } },
    }
}

/// The decision form of the readout, for a writer of the owning team or an admin: what
/// was typed, and why it was refused.
#[derive(Debug, Clone, Default)]
pub struct DecideForm {
    pub csrf: String,
    pub decision: String,
    pub note: String,
    pub override_reason: String,
    pub problem: Option<String>,
}

pub fn page(
    report: &Report,
    log: &DecisionList,
    freshness: Freshness,
    nav: Option<&layout::Nav>,
    decide: Option<&DecideForm>,
) -> Markup {
    let i = &report.initiative;
    layout::page_with(
        &i.name,
        nav,
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/" { "Portfolio" } " › " span { (i.name) }
            }
            (head(report))
            (staleness(freshness))
            @if report.demand.exposures == 0 {
                (no_exposures(report))
            } @else {
                (key_figures(report))
                (segments(report))
                (sentiment(report))
                (say_do(report))
                (follow_through(report))
                (over_time(report))
            }
            @if !report.variants.is_empty() {
                (variants(report))
            }
            (criteria(report))
            @if let Some(form) = decide {
                (decide_form(report, form))
            }
            (decision_log(log))
            (data_links(report))
        },
    )
}

/// Read from a replica: say so, and how far behind the primary it may be.
fn staleness(freshness: Freshness) -> Markup {
    match (freshness.read_from, freshness.replica_lag_seconds) {
        (ReadFrom::Replica, Some(lag)) if lag >= 1.0 => html! {
            p.note id="replica-lag" {
                "Read from a replica " (format!("{lag:.0}")) " s behind the primary: "
                "the latest events may not be counted yet."
            }
        },
        (ReadFrom::Replica, _) => html! {
            p.note id="replica-lag" { "Read from a replica, up to date with the primary." }
        },
        (ReadFrom::Primary, _) => html! {},
    }
}

fn head(report: &Report) -> Markup {
    let i = &report.initiative;
    let v = &report.verdict;
    // The summary opens with the first reason; list only what it does not say.
    let more: Vec<&String> = v
        .reasons
        .iter()
        .enumerate()
        .filter(|(n, r)| !(*n == 0 && report.summary.contains(r.as_str())))
        .map(|(_, r)| r)
        .collect();
    html! {
        header.readout-head {
            h1 { (i.name) }
            p.meta {
                (status_badge(i.status))
                span { "Owner team " strong { (i.owner_team) } }
                span { (kind_label(i.kind)) }
                span { "Key " code { (i.key) } }
            }
        }
        @if let Some(srm) = report.srm.filter(|s| s.mismatch) {
            div.banner.warning role="alert" id="srm-warning" {
                strong { "Sample ratio mismatch. " }
                "Exposures are not split across the variants as planned (" (p_value(srm.p_value)) "): "
                "the assignment or the tracking is broken, so every number on this page is suspect until it is fixed. "
                a href="#variants" { "See the split" }
            }
        }
        section.verdict-block data-verdict=(v.status.as_str()) aria-labelledby="verdict-title" {
            h2.visually-hidden id="verdict-title" { "Verdict" }
            (verdict_badge(v.status))
            p.summary id="summary" { (report.summary) }
            @if let Some(d) = report.initiative.decision {
                p.decision-line {
                    "Decided: " strong { (decision_label(d)) }
                    @if let Some(at) = report.initiative.concluded_at { " on " (date(at)) }
                    ". " a href="#decision" { "Read the decision note" }
                }
            }
            @if !more.is_empty() {
                div.reasons {
                    h3 { "Also behind this verdict" }
                    ul {
                        @for r in more { li { (r) } }
                    }
                }
            }
        }
    }
}

fn key_figures(report: &Report) -> Markup {
    let i = &report.initiative;
    let d = &report.demand;
    let e = &report.enthusiasm;
    let c = &i.criteria;
    let (rate, interval, interval_name) = verdict_interval(report);
    html! {
        section.figures aria-label="Key figures" {
            div.figure.wide id="fig-rate" {
                h3 { "Pre-order rate" }
                p.value {
                    span id="rate" { @match rate { Some(r) => (percent(r)), None => "—" } }
                    " "
                    span.vs { "target " span id="target" { (percent(c.target_preorder_rate)) } }
                }
                p.note {
                    @if let Some(r) = interval {
                        (interval_name) ": "
                        strong id="rate-interval" { (percent_range(r.low, r.high)) }
                    } @else {
                        "No interval until customers are exposed"
                    }
                }
                @if let (Some(m), Some(needed)) = (d.evidence_ratio, d.evidence_needed) {
                    p.note id="evidence" {
                        "Evidence " strong { (odds(m)) } " against a rate at the target; a verdict needs "
                        (odds(needed))
                    }
                }
                (chart(charts::rate_strip(
                    rate,
                    interval,
                    c.target_preorder_rate,
                    charts::rate_axis_max(interval.map_or(0.0, |r| r.high).max(c.target_preorder_rate)),
                    true,
                )))
                @if let Some(p) = d.prob_above_target {
                    details.bayes id="bayes-detail" {
                        summary { "Bayesian detail" }
                        p {
                            "With a " (d.prior) " prior (uniform: every rate equally likely before the pilot), the posterior chance that the true rate is above the "
                            (percent(c.target_preorder_rate)) " target is " (percent(p)) ". "
                            "It answers a different question and ignores how often the page is read: the verdict does not use it."
                        }
                    }
                }
            }
            div.figure id="fig-exposed" {
                h3 { "Exposed customers" }
                p.value id="exposures" { (count(d.exposures)) }
                p.note {
                    "Verdict from " (count(c.min_exposures)) " · planned " (count(c.planned_exposures))
                }
            }
            div.figure id="fig-love" {
                h3 { "Love share" }
                p.value {
                    span id="love-share" { @match e.love_share { Some(s) => (percent(s)), None => "—" } }
                    @if let Some(t) = c.target_love_share {
                        " " span.vs { "target " (percent(t)) }
                    }
                }
                p.note {
                    "of " (count(e.responses)) " responders"
                    @if c.target_love_share.is_none() { " · no love target set" }
                }
            }
            div.figure id="fig-revenue" {
                h3 { "Committed revenue" }
                p.value id="revenue" { (money(d.committed_revenue_cents, &i.currency)) }
                p.note { "from " (count(d.preorders)) " active pre-orders" }
            }
            div.figure id="fig-rpe" {
                h3 { "Revenue per exposed customer" }
                p.value {
                    @match d.revenue_per_exposure.mean { Some(m) => (cents(m, &i.currency)), None => "—" }
                }
                p.note {
                    @if let Some(r) = d.revenue_per_exposure.ci {
                        (cents(r.low.max(0.0), &i.currency)) " to " (cents(r.high, &i.currency)) " (" (confidence(c.confidence)) " interval)"
                    } @else if i.price_cents == 0 {
                        "A free offer: no money is committed"
                    } @else {
                        "No interval yet"
                    }
                }
            }
        }
    }
}

fn no_exposures(report: &Report) -> Markup {
    let i = &report.initiative;
    let events = format!("POST /api/v1/initiatives/{}/events", i.key);
    html! {
        section id="next-steps" {
            @match i.status {
                Status::Draft => {
                    (empty_state("No exposures yet: this initiative is a draft", html! {
                        p {
                            "Launch it with " code { "POST /api/v1/initiatives/" (i.key) "/launch" }
                            " to lock its criteria, then send events with " code { (events) }
                            ": an " code { "exposure" } " for every customer shown the offer, a "
                            code { "preorder" } " when one puts money down, a " code { "response" }
                            " when one says how they feel."
                        }
                        p { "Charts of demand by segment, sentiment and time appear with the first exposures." }
                    }))
                }
                Status::Running => {
                    (empty_state("No exposures yet", html! {
                        p {
                            "Send events with " code { (events) }
                            ": an " code { "exposure" } " for every customer shown the offer, a "
                            code { "preorder" } " when one puts money down, a " code { "response" }
                            " when one says how they feel."
                        }
                        p { "Charts of demand by segment, sentiment and time appear with the first exposures." }
                    }))
                }
                Status::Concluded => {
                    (empty_state("No exposures", html! {
                        p { "This initiative was concluded before any customer was exposed to the offer." }
                    }))
                }
            }
        }
    }
}

fn segments(report: &Report) -> Markup {
    let i = &report.initiative;
    let target = i.criteria.target_preorder_rate;
    let conf = confidence(i.criteria.confidence);
    let overall = report.demand.rate.zip(report.demand.ci);
    let kind = match report.interval_method {
        IntervalMethod::AnytimeValid => "anytime-valid interval",
        IntervalMethod::Wilson => "interval",
    };
    let interval_name = format!("{conf} {kind}");
    html! {
        section.card id="segments" aria-labelledby="segments-title" {
            h2 id="segments-title" { "Who pre-orders" }
            p.section-lede {
                "Pre-order rate by customer segment, each with its " (interval_name) " (the same kind as all customers'), against the "
                (percent(target)) " target. Core segments are the ones the hypothesis names; a "
                strong { "breakout" } " is another segment whose interval clears the target even at "
                (confidence(report.reach.breakout_confidence))
                " confidence (adjusted for the number of segments, so no breakout is claimed by chance)."
            }
            figure {
                (responsive_chart(|l| charts::segment_forest(&report.segments, overall, target, l)))
                figcaption {
                    ul.legend {
                        li.key-all { "All customers (" (interval_name) ", the one the verdict reads)" }
                        li.key-core { "Core segment" }
                        li.key-other { "Other segment" }
                        li.key-breakout { "Breakout: other segment above target" }
                        li.key-target { "Target" }
                    }
                }
            }
            ul.facts {
                @if let Some(share) = report.reach.non_core_preorder_share {
                    li { strong { (percent(share)) } " of pre-orders came from outside the core segments." }
                }
                @if let Some(ind) = report.reach.independence {
                    li {
                        @if ind.p_value < 1.0 - i.criteria.confidence {
                            "Segments differ in pre-order rate "
                        } @else {
                            "No clear difference in pre-order rate between segments "
                        }
                        "(chi-square test of independence, " (p_value(ind.p_value)) ")."
                    }
                }
                @if !report.reach.breakout_segments.is_empty() {
                    li { "Breakout: " strong { (report.reach.breakout_segments.join(", ")) } "." }
                }
            }
            div.table-scroll {
                table.data id="segments-table" {
                    caption { "Pre-orders by segment (" (conf) " Wilson intervals; differences to the pooled core segments, Holm-adjusted)" }
                    thead {
                        tr {
                            th scope="col" { "Segment" }
                            th scope="col" { "Role" }
                            th.num scope="col" { "Exposed" }
                            th.num scope="col" { "Pre-orders" }
                            th.num scope="col" { "Rate" }
                            th.num scope="col" { "Interval" }
                            th.num scope="col" { "vs core" }
                            th.num scope="col" { "Adjusted p" }
                        }
                    }
                    tbody {
                        @for s in charts::segment_order(&report.segments) {
                            tr class=[s.breakout.then_some("breakout")] {
                                th scope="row" { (s.segment) }
                                td {
                                    @if s.breakout { "★ breakout" }
                                    @else if s.core { "core" }
                                    @else { "other" }
                                }
                                td.num { (count(s.exposures)) }
                                td.num { (count(s.preorders)) }
                                td.num { (opt_percent(s.rate)) }
                                td.num { (opt_range(s.ci)) }
                                td.num {
                                    @match s.vs_core { Some(v) => (points(v.diff)), None => span.none { "—" } }
                                }
                                td.num {
                                    @match s.vs_core { Some(v) => (p_value(v.p_value_holm)), None => span.none { "—" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sentiment(report: &Report) -> Markup {
    let e = &report.enthusiasm;
    let i = &report.initiative;
    let love_target = i.criteria.target_love_share;
    html! {
        section.card id="sentiment" aria-labelledby="sentiment-title" {
            h2 id="sentiment-title" { "Like or love" }
            @if e.responses == 0 {
                (empty_state("No responses yet", html! {
                    p {
                        "Send " code { "response" } " events (" code { "{\"type\": \"response\", \"sentiment\": \"love\"}" }
                        ") with " code { "POST /api/v1/initiatives/" (i.key) "/events" }
                        " to see how customers feel."
                    }
                }))
            } @else {
                p.section-lede {
                    "What responders said about the offer. Love is the strong signal; like is often politeness."
                }
                figure {
                    (responsive_chart(|l| charts::sentiment_bars(e, &report.segments, love_target, l)))
                    figcaption {
                        ul.legend {
                            li.key-love { "Love" }
                            li.key-like { "Like" }
                            li.key-neutral { "Neutral" }
                            li.key-dislike { "Dislike" }
                            @if love_target.is_some() { li.key-target { "Love target" } }
                        }
                    }
                }
                ul.facts {
                    @if let (Some(share), Some(ci)) = (e.love_share, e.ci) {
                        li {
                            strong { (percent(share)) } " of " (count(e.responses)) " responders love it ("
                            (confidence(i.criteria.confidence)) " interval " (percent_range(ci.low, ci.high)) ")"
                            @if let Some(t) = love_target { ", against a " (percent(t)) " target" }
                            "."
                        }
                    }
                    @if let Some(w) = e.love_share_weighted {
                        li { "Weighted to the segment mix of exposed customers, the love share is " strong { (percent(w)) } "." }
                    }
                }
                div.table-scroll {
                    table.data id="sentiment-table" {
                        caption { "Stated sentiment by segment" }
                        thead {
                            tr {
                                th scope="col" { "Segment" }
                                th.num scope="col" { "Responders" }
                                th.num scope="col" { "Love" }
                                th.num scope="col" { "Like" }
                                th.num scope="col" { "Neutral" }
                                th.num scope="col" { "Dislike" }
                                th.num scope="col" { "Love share" }
                            }
                        }
                        tbody {
                            tr.total {
                                th scope="row" { "All responders" }
                                td.num { (count(e.responses)) }
                                td.num { (count(e.love)) }
                                td.num { (count(e.like)) }
                                td.num { (count(e.neutral)) }
                                td.num { (count(e.dislike)) }
                                td.num { (opt_percent(e.love_share)) }
                            }
                            @for s in charts::segment_order(&report.segments) {
                                tr {
                                    th scope="row" { (s.segment) }
                                    td.num { (count(s.responses)) }
                                    td.num { (count(s.love)) }
                                    td.num { (count(s.like)) }
                                    td.num { (count(s.neutral)) }
                                    td.num { (count(s.dislike)) }
                                    td.num { (opt_percent(s.love_share)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn say_do(report: &Report) -> Markup {
    let sd = &report.say_do;
    let f = &report.funnel;
    let i = &report.initiative;
    let by = &sd.by_sentiment;
    let rows: [(&str, SentimentConversion); 4] = [
        ("Love", by.love),
        ("Like", by.like),
        ("Neutral", by.neutral),
        ("Dislike", by.dislike),
    ];
    let of_exposed = |n: u64| {
        if f.exposed > 0 {
            percent(n as f64 / f.exposed as f64)
        } else {
            "—".into()
        }
    };
    html! {
        section.card id="say-do" aria-labelledby="say-do-title" {
            h2 id="say-do-title" { "Say versus do" }
            p.section-lede {
                "Pre-order rate of responders by what they said. Words are cheap: the gap between saying and paying shows how much of the enthusiasm is real."
            }
            @if report.enthusiasm.responses > 0 {
                figure {
                    (responsive_chart(|l| charts::say_do(by, report.demand.rate, i.criteria.target_preorder_rate, l)))
                    figcaption {
                        ul.legend {
                            li.key-reference { "Pre-order rate of all exposed customers" }
                            li.key-target { "Target" }
                        }
                    }
                }
            }
            ul.facts {
                @if f.positive > 0 {
                    li {
                        strong { (count(sd.mcnemar.said_positive_not_paid)) } " of " (count(f.positive))
                        " customers who said they like or love it did not pre-order; "
                        (count(sd.mcnemar.paid_not_said_positive)) " pre-ordered without saying so"
                        @if let Some(p) = sd.mcnemar.p_value { " (exact McNemar test, " (p_value(p)) ")" }
                        "."
                    }
                }
                @if let (Some(or), Some(p)) = (sd.lovers_vs_rest.odds_ratio, sd.lovers_vs_rest.p_value) {
                    li {
                        "Odds of pre-ordering for those who love it are " strong { (format!("{or:.1}×")) }
                        " those of other responders (Fisher's exact test, " (p_value(p)) ")."
                    }
                }
            }
            div.columns {
                div.table-scroll {
                    table.data id="say-do-table" {
                        caption { "Pre-orders by stated sentiment" }
                        thead {
                            tr {
                                th scope="col" { "Said" }
                                th.num scope="col" { "Responders" }
                                th.num scope="col" { "Pre-ordered" }
                                th.num scope="col" { "Rate" }
                            }
                        }
                        tbody {
                            @for (label, c) in rows {
                                tr {
                                    th scope="row" { (label) }
                                    td.num { (count(c.responders)) }
                                    td.num { (count(c.preorders)) }
                                    td.num { (opt_percent(c.rate)) }
                                }
                            }
                        }
                    }
                }
                div.table-scroll {
                    table.data id="funnel-table" {
                        caption { "Evidence ladder" }
                        thead {
                            tr {
                                th scope="col" { "Step" }
                                th.num scope="col" { "Customers" }
                                th.num scope="col" { "Of exposed" }
                            }
                        }
                        tbody {
                            @for (label, n) in [
                                ("Exposed to the offer", f.exposed),
                                ("Responded", f.responded),
                                ("Said like or love", f.positive),
                                ("Said love", f.loved),
                                ("Hold a pre-order", f.preordered),
                                ("Cancelled at least once", f.cancelled),
                            ] {
                                tr {
                                    th scope="row" { (label) }
                                    td.num { (count(n)) }
                                    td.num { (of_exposed(n)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether money down became a payment: the share with its anytime-valid interval, and
/// the say -> deposit -> paid chain by sentiment, as a table (fits a phone: four
/// columns of short numbers).
fn follow_through(report: &Report) -> Markup {
    let ft = &report.follow_through;
    let c = confidence(report.initiative.criteria.confidence);
    let label = |s: Said| match s {
        Said::Love => "Love",
        Said::Like => "Like",
        Said::Neutral => "Neutral",
        Said::Dislike => "Dislike",
        Said::NoAnswer => "No answer",
    };
    html! {
        section.card id="follow-through" aria-labelledby="follow-through-title" {
            h2 id="follow-through-title" { "Follow-through" }
            p.section-lede {
                "Of the customers who put money down (a deposit or a pre-order), how many paid in full once the offer shipped."
            }
            @if ft.money_down == 0 {
                p id="follow-through-empty" { "No customer has put money down yet." }
            } @else {
                p id="follow-through-share" {
                    strong { (count(ft.paid)) } " of " (count(ft.money_down))
                    " customers who put money down paid in full: "
                    strong { (opt_percent(ft.share)) }
                    " (" (c) " anytime-valid interval " (opt_range(ft.ci)) ")."
                }
            }
            div.table-scroll {
                table.data id="follow-through-table" {
                    caption { "Say, deposit, paid: customers by what they said" }
                    thead {
                        tr {
                            th scope="col" { "Said" }
                            th.num scope="col" { "Customers" }
                            th.num scope="col" { "Money down" }
                            th.num scope="col" { "Paid in full" }
                        }
                    }
                    tbody {
                        @for step in &ft.chain {
                            tr {
                                th scope="row" { (label(step.said)) }
                                td.num { (count(step.customers)) }
                                td.num { (count(step.money_down)) }
                                td.num { (count(step.paid)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn over_time(report: &Report) -> Markup {
    let i = &report.initiative;
    let c = &i.criteria;
    let conf = confidence(c.confidence);
    html! {
        section.card id="timeline" aria-labelledby="timeline-title" {
            h2 id="timeline-title" { "Over time" }
            @if report.timeline.is_empty() {
                (empty_state("No daily figures yet", html! { p { "The timeline appears with the first day of exposures." } }))
            } @else {
                p.section-lede {
                    "Cumulative pre-order rate at the end of each day, with its " (conf)
                    " anytime-valid band: it stays valid however often it is read, so watching it daily is safe."
                    @if report.mode == Mode::Fixed {
                        " (This initiative's verdict reads the fixed-horizon interval once the planned exposures are in.)"
                    }
                }
                figure {
                    (responsive_chart(|l| charts::timeline(&report.timeline, c.target_preorder_rate, c.min_exposures, l)))
                    figcaption {
                        ul.legend {
                            li.key-line { "Cumulative pre-order rate" }
                            li.key-band { (conf) " anytime-valid band (widest in the first days)" }
                            li.key-target { "Target" }
                        }
                    }
                }
                details.daily {
                    summary { "Daily figures (" (report.timeline.len()) " days)" }
                    div.table-scroll {
                        table.data id="timeline-table" {
                            caption { "Cumulative figures at the end of each day" }
                            thead {
                                tr {
                                    th scope="col" { "Day" }
                                    th.num scope="col" { "Exposed" }
                                    th.num scope="col" { "Pre-orders" }
                                    th.num scope="col" { "Rate" }
                                    th.num scope="col" {
                                        @match report.interval_method {
                                            IntervalMethod::AnytimeValid => "Anytime-valid interval",
                                            IntervalMethod::Wilson => "Interval (pointwise)",
                                        }
                                    }
                                }
                            }
                            tbody {
                                @for p in &report.timeline {
                                    tr {
                                        th scope="row" { (p.day.format("%a %-d %b %Y")) }
                                        td.num { (count(p.exposures)) }
                                        td.num { (count(p.preorders)) }
                                        td.num { (opt_percent(p.rate)) }
                                        td.num { (opt_range(p.ci)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn variants(report: &Report) -> Markup {
    let i = &report.initiative;
    let conf = confidence(i.criteria.confidence);
    let first = report.variants.first().map_or("", |v| v.variant.as_str());
    html! {
        section.card id="variants" aria-labelledby="variants-title" {
            h2 id="variants-title" { "Variants" }
            @if let Some(srm) = report.srm.filter(|s| s.mismatch) {
                div.banner.warning role="alert" {
                    strong { "Sample ratio mismatch. " }
                    "The exposures below are not split as planned (chi-square " (p_value(srm.p_value))
                    "). Fix the assignment or the tracking before reading any difference."
                }
            }
            p.section-lede {
                "Pre-order rate of each variant with its " (conf) " "
                @match report.interval_method {
                    IntervalMethod::AnytimeValid => "anytime-valid interval",
                    IntervalMethod::Wilson => "interval",
                }
                ", and how each compares with the first, " code { (first) } "."
            }
            p.note id="read-once" {
                "The differences and chances to beat are read-once figures: they hold when read once, at the planned size, not at every visit. The verdict does not use them."
            }
            @if report.demand.exposures > 0 {
                figure {
                    (responsive_chart(|l| charts::variant_rates(&report.variants, i.criteria.target_preorder_rate, &i.currency, l)))
                    figcaption {
                        ul.legend {
                            li.key-core { "Variant rate with its interval" }
                            li.key-target { "Target" }
                        }
                    }
                }
            }
            ul.facts {
                @if let Some(srm) = report.srm.filter(|s| !s.mismatch) {
                    li { "Exposures are split as planned (sample ratio check, " (p_value(srm.p_value)) ")." }
                }
                @if let Some(best) = report.best_price {
                    li {
                        "At " strong { (money(best.price_cents, &i.currency)) }
                        " the revenue per exposed customer is most likely highest: a "
                        strong { (percent(best.prob_best)) } " chance."
                    }
                }
            }
            div.table-scroll {
                table.data id="variants-table" {
                    caption { "Variants against " (first) " (differences with Newcombe intervals; chance to beat it under a uniform prior)" }
                    thead {
                        tr {
                            th scope="col" { "Variant" }
                            th.num scope="col" { "Price" }
                            th.num scope="col" { "Planned split" }
                            th.num scope="col" { "Exposed" }
                            th.num scope="col" { "Pre-orders" }
                            th.num scope="col" { "Rate and interval" }
                            th.num scope="col" { "Difference to " (first) }
                            th.num scope="col" { "Chance to beat " (first) }
                            th.num scope="col" { "Revenue per exposed" }
                        }
                    }
                    tbody {
                        @for (n, v) in report.variants.iter().enumerate() {
                            tr {
                                th scope="row" { (v.variant) @if n == 0 { span.sub { " (first)" } } }
                                td.num { (money(v.price_cents, &i.currency)) }
                                td.num { (percent(v.weight)) }
                                td.num { (count(v.exposures)) }
                                td.num { (count(v.preorders)) }
                                td.num {
                                    (opt_percent(v.rate))
                                    span.range { (opt_range(v.ci)) }
                                }
                                @match v.vs_first {
                                    Some(d) => {
                                        td.num {
                                            (points(d.diff))
                                            @if let Some(r) = d.ci {
                                                span.range { (points(r.low)) " to " (points(r.high)) }
                                            }
                                        }
                                        td.num { (opt_percent(d.prob_better)) }
                                    }
                                    None => {
                                        td.num { span.none { "—" } }
                                        td.num { span.none { "—" } }
                                    }
                                }
                                td.num {
                                    @match v.revenue_per_exposure.mean {
                                        Some(m) => (cents(m, &i.currency)),
                                        None => span.none { "—" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn criteria(report: &Report) -> Markup {
    let i = &report.initiative;
    let c = &i.criteria;
    html! {
        section.card id="criteria" aria-labelledby="criteria-title" {
            h2 id="criteria-title" { "Hypothesis and criteria" }
            blockquote.hypothesis id="hypothesis" { (i.hypothesis) }
            @if let (Some(launched), Some(fingerprint)) = (i.launched_at, &i.fingerprint) {
                p.prereg {
                    span.badge.preregistered { span.icon aria-hidden="true" { "✓" } "Pre-registered" }
                    " Locked at launch on " (date_time(launched)) ". Fingerprint (SHA-256 of the criteria): "
                    code.fingerprint id="fingerprint" { (fingerprint) }
                }
            } @else {
                p.prereg {
                    span.badge.draft-criteria { "Not yet pre-registered" }
                    " The criteria lock, and get their fingerprint, when the initiative is launched."
                }
            }
            dl.criteria {
                div { dt { "Target pre-order rate" } dd { (percent(c.target_preorder_rate)) } }
                div {
                    dt { "Target love share" }
                    dd { @match c.target_love_share { Some(t) => (percent(t)), None => "none set" } }
                }
                div { dt { "Confidence" } dd { (confidence(c.confidence)) } }
                div { dt { "Exposures before a verdict" } dd { (count(c.min_exposures)) } }
                div { dt { "Planned exposures" } dd { (count(c.planned_exposures)) } }
                div { dt { "Reading" } dd { (mode_label(report.mode)) } }
                div { dt { "Offer price" } dd { (money(i.price_cents, &i.currency)) } }
                div {
                    dt { "Smallest full pre-order" }
                    dd { (money(c.min_full_preorder_cents.unwrap_or(i.price_cents), &i.currency))
                        @if c.min_full_preorder_cents.is_none() { " (the offer price)" } }
                }
                div {
                    dt { "Deposit" }
                    dd { @match c.deposit_cents { Some(d) => (money(d, &i.currency)), None => "no deposits taken" } }
                }
                div {
                    dt { "Events accepted from" }
                    dd id="backfill-from" {
                        @match (c.backfill_from, i.launched_at) {
                            (Some(b), _) => { (date_time(b)) " (backfill before the launch)" }
                            (None, Some(l)) => { (date_time(l)) " (the launch)" }
                            (None, None) => "the launch",
                        }
                    }
                }
                div {
                    dt { "Core segments" }
                    dd {
                        @if i.core_segments.is_empty() { "none" }
                        @else { (i.core_segments.join(", ")) }
                    }
                }
            }
            h3 { "Decision" }
            @match i.decision {
                Some(d) => {
                    p.decision id="decision" {
                        strong { (decision_label(d)) }
                        @if let Some(at) = i.concluded_at { " · concluded on " (date(at)) }
                    }
                    @if let Some(note) = &i.decision_note {
                        blockquote.note id="decision-note" { (note) }
                    }
                }
                None => {
                    p.decision id="decision" {
                        @match i.status {
                            Status::Draft => "None yet: the pilot has not started.",
                            _ => "None yet: the pilot is running.",
                        }
                    }
                }
            }
        }
    }
}

/// The form to record a decision. The same rules as the API's conclude: a decision
/// against the verdict (or before the minimum exposures) needs an override reason.
fn decide_form(report: &Report, form: &DecideForm) -> Markup {
    let key = &report.initiative.key;
    let verdict = report.verdict.status;
    html! {
        section.card.form-card.decide id="decide" aria-labelledby="decide-title" {
            h2 id="decide-title" { "Record a decision" }
            p { "The verdict now: " (layout::verdict_badge(verdict)) ". "
                "Scaling without a validated verdict, stopping with one, or deciding before "
                (count(report.initiative.criteria.min_exposures)) " exposures goes against the evidence: say why in the override reason." }
            @if let Some(p) = &form.problem { p.problem role="alert" id="decide-problem" { (p) } }
            form.stacked method="post" action={ "/initiatives/" (key) "/decide" } {
                input type="hidden" name="csrf" value=(form.csrf);
                label for="decide-decision" { "Decision" }
                select #decide-decision name="decision" required {
                    option value="" selected[form.decision.is_empty()] { "Choose…" }
                    @for d in crate::domain::Decision::ALL {
                        option value=(d.as_str()) selected[form.decision == d.as_str()] { (decision_label(*d)) }
                    }
                }
                label for="decide-note" { "Note" }
                textarea #decide-note name="note" required { (form.note) }
                label for="decide-override" { "Override reason (when going against the evidence)" }
                textarea #decide-override name="override_reason" { (form.override_reason) }
                button #record-decision type="submit" { "Record the decision" }
            }
        }
    }
}

/// Every decision, newest first: what, who, when, the verdict then, and whether it went
/// against the evidence (with the override reason).
fn decision_log(log: &DecisionList) -> Markup {
    html! {
        section.card id="decision-log" aria-labelledby="decision-log-title" {
            h2 id="decision-log-title" { "Decision log" }
            @if log.decisions.is_empty() {
                p.none { "No decision yet. Each decision is recorded here with who took it and what the evidence said at that moment." }
            } @else {
                ol.decision-log {
                    @for d in &log.decisions {
                        li.decision-entry.against[d.against_evidence] data-against-evidence=(d.against_evidence) {
                            p.decision-head {
                                strong.decision-what { (decision_label(d.decision)) }
                                @if d.against_evidence {
                                    (against_evidence_badge("Against the evidence"))
                                }
                            }
                            p.who {
                                "By " span.decided-by { (d.decided_by) } " on "
                                time datetime=(d.decided_at.to_rfc3339()) { (date_time(d.decided_at)) }
                            }
                            p.evidence-then { "Evidence then: " (evidence_line(&d.snapshot)) }
                            p.note-text { (d.note) }
                            @if let Some(reason) = &d.override_reason {
                                p.override { strong { "Override reason: " } span.override-reason { (reason) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn data_links(report: &Report) -> Markup {
    let key = &report.initiative.key;
    html! {
        section.card.data-links id="data" aria-labelledby="data-title" {
            h2 id="data-title" { "The numbers behind this page" }
            p {
                "Every figure here comes from the initiative's report, as of "
                (date_time(report.as_of)) ". "
                a id="report-json" href={ "/api/v1/initiatives/" (key) "/report" } { "JSON report" }
                " · "
                a id="report-csv" href={ "/api/v1/initiatives/" (key) "/report.csv" } { "CSV export (segments and variants)" }
            }
        }
    }
}

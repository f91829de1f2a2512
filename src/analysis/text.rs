//! The report as terminal text (`offerlab report KEY`).

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::report::{Range, Report};
use super::words::{count, money, odds, p_value, percent, percent_range};

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), percent)
}

fn range(r: Option<Range>) -> String {
    r.map_or_else(|| "-".into(), |r| percent_range(r.low, r.high))
}

fn p(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), p_value)
}

/// Renders the verdict, the key figures and the segment and variant tables.
pub fn render(report: &Report) -> String {
    let i = &report.initiative;
    let d = &report.demand;
    let mut out = String::new();
    out.push_str(&format!("{} ({}) - {}\n", i.name, i.key, i.status));
    out.push_str(&format!("{}\n\n", report.summary));
    out.push_str(&format!("Verdict: {}\n", report.verdict.status.as_str()));
    for reason in &report.verdict.reasons {
        out.push_str(&format!("  - {reason}\n"));
    }
    out.push('\n');

    let mut figures = Table::new();
    figures.load_preset(UTF8_FULL_CONDENSED);
    figures.set_header(["figure", "value"]);
    figures.add_row(["exposed customers".to_string(), count(d.exposures)]);
    figures.add_row([
        "pre-order rate".to_string(),
        format!(
            "{} (interval {}; target {})",
            rate(d.rate),
            range(d.ci),
            percent(i.criteria.target_preorder_rate)
        ),
    ]);
    figures.add_row(["p-value vs target".to_string(), p(d.p_value)]);
    if let (Some(m), Some(needed)) = (d.evidence_ratio, d.evidence_needed) {
        figures.add_row([
            "evidence against the target".to_string(),
            format!("{} (a verdict needs {})", odds(m), odds(needed)),
        ]);
    }
    figures.add_row([
        format!("P(rate > target), prior {} (detail)", d.prior),
        d.prob_above_target.map_or("-".into(), percent),
    ]);
    figures.add_row([
        "love share".to_string(),
        format!(
            "{} of {} responders (interval {})",
            rate(report.enthusiasm.love_share),
            count(report.enthusiasm.responses),
            range(report.enthusiasm.ci)
        ),
    ]);
    figures.add_row([
        "committed revenue".to_string(),
        money(d.committed_revenue_cents, &i.currency),
    ]);
    figures.add_row([
        "revenue per exposed customer".to_string(),
        d.revenue_per_exposure.mean.map_or("-".into(), |m| {
            money(
                crate::stats::convert::saturating_i64(m.round()),
                &i.currency,
            )
        }),
    ]);
    out.push_str(&figures.to_string());
    out.push_str("\n\n");

    let mut segments = Table::new();
    segments.load_preset(UTF8_FULL_CONDENSED);
    segments.set_header([
        "segment",
        "core",
        "exposed",
        "pre-orders",
        "rate",
        "interval",
        "love share",
        "vs core p (Holm)",
        "breakout",
    ]);
    for s in &report.segments {
        segments.add_row([
            s.segment.clone(),
            if s.core { "yes" } else { "" }.into(),
            count(s.exposures),
            count(s.preorders),
            rate(s.rate),
            range(s.ci),
            rate(s.love_share),
            s.vs_core.map_or("-".into(), |v| p_value(v.p_value_holm)),
            if s.breakout { "yes" } else { "" }.into(),
        ]);
    }
    out.push_str(&segments.to_string());
    out.push('\n');

    if !report.variants.is_empty() {
        let mut variants = Table::new();
        variants.load_preset(UTF8_FULL_CONDENSED);
        variants.set_header([
            "variant",
            "price",
            "exposed",
            "rate",
            "interval",
            "diff vs first",
            "P(better)",
        ]);
        for v in &report.variants {
            variants.add_row([
                v.variant.clone(),
                money(v.price_cents, &i.currency),
                count(v.exposures),
                rate(v.rate),
                range(v.ci),
                v.vs_first
                    .map_or("-".into(), |c| format!("{:+.1} pts", c.diff * 100.0)),
                v.vs_first
                    .and_then(|c| c.prob_better)
                    .map_or("-".into(), percent),
            ]);
        }
        out.push('\n');
        out.push_str(&variants.to_string());
        out.push('\n');
    }
    out
}

//! Numbers in the words leaders read: "6.1%", "2,340", "EUR 1,234.50".

/// A rate as a percentage with one decimal below 10% and none above ("6.1%", "45%").
pub fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p == 0.0 || (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else if p.abs() < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// An interval of rates: "5.2%-7.1%".
pub fn percent_range(low: f64, high: f64) -> String {
    format!("{}-{}", percent(low), percent(high))
}

/// A whole number with thousands separators: "2,340".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Money in major units: "EUR 1,234.50".
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{currency} {sign}{}.{:02}", count(abs / 100), abs % 100)
}

/// A p-value for a sentence: "p = 0.032", "p < 0.001".
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// A confidence as a label: "95%", "99.5%".
pub fn confidence(c: f64) -> String {
    let p = c * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// An evidence ratio in words: "34 to 1", "more than 1,000,000 to 1", "1 to 3".
pub fn odds(ratio: f64) -> String {
    if !ratio.is_finite() || ratio > 1e6 {
        "more than 1,000,000 to 1".into()
    } else if ratio >= 1.0 {
        format!(
            "{} to 1",
            count(crate::stats::convert::saturating_u64(ratio.round()))
        )
    } else if ratio > 1e-6 {
        format!(
            "1 to {}",
            count(crate::stats::convert::saturating_u64((1.0 / ratio).round()))
        )
    } else {
        "less than 1 to 1,000,000".into()
    }
}

/// What the verdict's sentences need beyond the findings.
pub struct SentenceContext<'a> {
    pub name: &'a str,
    /// "95% anytime-valid interval" or "95% interval".
    pub interval_name: String,
    /// "anytime-valid interval" or "interval".
    pub interval_kind: &'static str,
    pub confidence: f64,
    /// 1/α in sequential mode.
    pub evidence_needed: Option<f64>,
    pub planned_exposures: u64,
}

fn standing_word(s: super::verdict::Standing) -> &'static str {
    use super::verdict::Standing;
    match s {
        Standing::Above => "above",
        Standing::Below => "below",
        Standing::Unclear => "not yet clear of",
    }
}

/// ", evidence 34 to 1 against a rate at the target; a verdict needs 20 to 1".
fn evidence_clause(read: &super::verdict::RateRead, ctx: &SentenceContext<'_>) -> String {
    match (read.evidence_ratio, ctx.evidence_needed) {
        (Some(m), Some(needed)) if m < 1.0 => format!(
            ": the data fit a rate at the target better than the alternatives (evidence {} against it); a verdict needs {}",
            odds(m),
            odds(needed)
        ),
        (Some(m), Some(needed)) => format!(
            ": evidence {} against a rate at the target; a verdict needs {}",
            odds(m),
            odds(needed)
        ),
        _ => String::new(),
    }
}

/// The sentence of one finding.
pub fn sentence(f: &super::verdict::Finding, ctx: &SentenceContext<'_>) -> String {
    use super::verdict::Finding;
    match f {
        Finding::SampleRatioMismatch { p_value: p } => format!(
            "Sample ratio mismatch: exposures are not split across the variants as planned ({}); the assignment or the tracking is broken, so every other number here is suspect.",
            p_value(*p)
        ),
        Finding::BelowMinimum {
            exposures,
            min_exposures,
        } => format!(
            "{} of the {} customers needed before a verdict have been offered {} (pre-registered minimum).",
            count(*exposures),
            count(*min_exposures),
            ctx.name
        ),
        Finding::AwaitingFixedRead {
            exposures,
            planned_exposures,
        } => format!(
            "Fixed-horizon pilot: the verdict is read once, when {} customers have been offered it ({} so far); until then the figures are for information only.",
            count(*planned_exposures),
            count(*exposures)
        ),
        Finding::Preorders { read, target } => match (read.rate, read.ci) {
            (Some(rate), Some(ci)) => format!(
                "{} of {} customers offered {} pre-ordered ({} {}), {} the {} target{}.",
                percent(rate),
                count(read.trials),
                ctx.name,
                ctx.interval_name,
                percent_range(ci.low, ci.high),
                standing_word(read.standing),
                percent(*target),
                evidence_clause(read, ctx)
            ),
            _ => format!("No customer has been offered {} yet.", ctx.name),
        },
        Finding::Love { read, target } => match (read.rate, read.ci) {
            (Some(share), Some(ci)) => format!(
                "{} of {} responders said they love it ({} {}), {} the {} love target{}.",
                percent(share),
                count(read.trials),
                ctx.interval_name,
                percent_range(ci.low, ci.high),
                standing_word(read.standing),
                percent(*target),
                evidence_clause(read, ctx)
            ),
            _ => format!(
                "No customer has said how they feel yet, so the {} love target cannot be judged.",
                percent(*target)
            ),
        },
        Finding::NoResponses { target } => format!(
            "No customer has said how they feel yet, so the {} love target cannot be judged.",
            percent(*target)
        ),
        Finding::MoreExposures {
            median,
            p90,
            expected_by,
        } => {
            let mut s = format!(
                "If the rate holds, half of pilots like this one reach a verdict within {} more exposures",
                count(*median)
            );
            if let Some(p90) = p90 {
                s.push_str(&format!(" (nine in ten within {})", count(*p90)));
            }
            if let Some(day) = expected_by {
                s.push_str(&format!(
                    "; at the recent pace, by {}",
                    day.format("%-d %B %Y")
                ));
            }
            s.push('.');
            s
        }
        Finding::OnTarget => {
            "The rate sits on the target: more exposures alone are unlikely to settle it.".into()
        }
        Finding::PastPlanned {
            exposures,
            planned_exposures,
        } => format!(
            "The pilot has gone past its planned {} exposures ({} so far).",
            count(*planned_exposures),
            count(*exposures)
        ),
        Finding::Breakout {
            segment,
            rate,
            ci,
            confidence: c,
        } => format!(
            "Breakout: {segment}, outside the core segments, pre-ordered at {} ({} {} {}, adjusted for the number of segments), above the target.",
            percent(*rate),
            confidence(*c),
            ctx.interval_kind,
            percent_range(ci.low, ci.high)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(percent(0.0612), "6.1%");
        assert_eq!(percent(0.4549), "45%");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(count(2340), "2,340");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(count(999), "999");
        assert_eq!(money(123_450, "EUR"), "EUR 1,234.50");
        assert_eq!(p_value(0.0004), "p < 0.001");
        assert_eq!(confidence(0.95), "95%");
        assert_eq!(confidence(0.995), "99.5%");
        assert_eq!(odds(34.4), "34 to 1");
        assert_eq!(odds(0.25), "1 to 4");
        assert_eq!(odds(f64::INFINITY), "more than 1,000,000 to 1");
    }
}

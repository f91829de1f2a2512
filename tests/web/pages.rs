//! The pages as HTML, without a browser.

use offerlab::analysis::words::{percent, percent_range};
use serde_json::Value;

use crate::helpers::{Server, demo, escape, keys};

#[tokio::test]
async fn portfolio_lists_every_initiative_in_the_portfolio_order() {
    let server = demo();
    let api = server.portfolio().await;
    assert_eq!(api.len(), 5, "the demo has five initiatives");
    let page = server.get("/").await;
    page.assert_html(200);
    assert_eq!(
        page.row_keys(),
        keys(&api),
        "every initiative, decision first"
    );
    for e in &api {
        let key = e["key"].as_str().unwrap();
        assert!(page.body.contains(&format!("href=\"/initiatives/{key}\"")));
        assert!(page.body.contains(&escape(e["name"].as_str().unwrap())));
        assert!(page.body.contains(&format!(
            "data-verdict=\"{}\"",
            e["verdict"].as_str().unwrap()
        )));
        if let (Some(rate), Some(low), Some(high)) = (
            e["rate"].as_f64(),
            e["ci"]["low"].as_f64(),
            e["ci"]["high"].as_f64(),
        ) {
            let shown = format!(
                "<strong class=\"rate-value\">{}</strong> <span class=\"rate-interval\">{}</span>",
                percent(rate),
                percent_range(low, high)
            );
            assert!(page.body.contains(&shown), "{key}: {shown}");
        }
    }
    // One small chart per row.
    assert_eq!(page.body.matches("class=\"chart chart-strip\"").count(), 5);
}

#[tokio::test]
async fn readout_shows_the_summary_sentence_and_the_verdict_interval() {
    let server = demo();
    for key in keys(&server.portfolio().await) {
        let report = server
            .json(&format!("/api/v1/initiatives/{key}/report"))
            .await;
        let page = server.get(&format!("/initiatives/{key}")).await;
        page.assert_html(200);
        let summary = report["summary"].as_str().unwrap();
        assert!(
            page.body.contains(&format!(
                "<p class=\"summary\" id=\"summary\">{}</p>",
                escape(summary)
            )),
            "{key}: summary {summary:?}"
        );
        // The headline reads what the verdict reads: the demand figures, or in fixed
        // mode after the single read, that read's.
        let headline = match &report["demand"]["fixed_read"] {
            Value::Null => &report["demand"],
            read => read,
        };
        let interval = &headline["ci"];
        if let (Some(rate), Some(low), Some(high)) = (
            headline["rate"].as_f64(),
            interval["low"].as_f64(),
            interval["high"].as_f64(),
        ) {
            assert!(
                page.body
                    .contains(&format!("<span id=\"rate\">{}</span>", percent(rate)))
            );
            assert!(page.body.contains(&format!(
                "<strong id=\"rate-interval\">{}</strong>",
                percent_range(low, high)
            )));
        }
        assert!(
            page.body
                .contains(&format!("href=\"/api/v1/initiatives/{key}/report\""))
        );
        assert!(
            page.body
                .contains(&format!("href=\"/api/v1/initiatives/{key}/report.csv\""))
        );
    }
}

#[tokio::test]
async fn readout_shows_every_section_with_its_table() {
    let server = demo();
    let page = server.get("/initiatives/priority-support").await;
    page.assert_html(200);
    for id in [
        "id=\"segments\"",
        "id=\"segments-table\"",
        "class=\"chart chart-forest\"",
        "id=\"sentiment-table\"",
        "class=\"chart chart-sentiment\"",
        "id=\"say-do-table\"",
        "class=\"chart chart-say-do\"",
        "id=\"funnel-table\"",
        "id=\"timeline-table\"",
        "class=\"chart chart-timeline\"",
        "id=\"variants-table\"",
        "class=\"chart chart-variants\"",
        "id=\"hypothesis\"",
        "id=\"fingerprint\"",
        "Pre-registered",
    ] {
        assert!(page.body.contains(id), "missing {id}");
    }
    // The concluded demo pilot shows its decision and note.
    let page = server.get("/initiatives/nonprofit-plan").await;
    page.assert_html(200);
    assert!(page.body.contains("Decided: <strong>Iterate</strong>"));
    assert!(page.body.contains("<strong>Iterate</strong>"));
    assert!(page.body.contains("test a monthly plan next"));
}

#[tokio::test]
async fn a_draft_without_exposures_says_what_to_do_next() {
    let page = demo().get("/initiatives/carbon-report").await;
    page.assert_html(200);
    assert!(page.body.contains("No exposures yet"));
    assert!(
        page.body
            .contains("POST /api/v1/initiatives/carbon-report/launch")
    );
    assert!(
        page.body
            .contains("POST /api/v1/initiatives/carbon-report/events")
    );
    assert!(page.body.contains("Not yet pre-registered"));
    assert!(!page.body.contains("chart-forest"), "no empty charts");
}

#[tokio::test]
async fn an_empty_portfolio_says_what_to_do_next() {
    let server = Server::start(false);
    let page = server.get("/").await;
    page.assert_html(200);
    assert!(page.body.contains("No initiatives yet"));
    assert!(page.body.contains("POST /api/v1/initiatives"));
    assert!(page.row_keys().is_empty());
}

#[tokio::test]
async fn script_and_quotes_in_a_name_and_a_note_are_shown_as_text() {
    let server = Server::start(false);
    let name = r#"<script>alert("name")</script> & 'Quote' "Offer""#;
    let note = r#"</blockquote><script>alert('note')</script> "scale" & stop"#;
    server.concluded_initiative("nasty", name, note).await;
    for path in ["/", "/initiatives/nasty"] {
        let page = server.get(path).await;
        page.assert_html(200);
        assert!(page.body.contains(&escape(name)), "{path}: name as text");
        assert!(
            page.body
                .contains("&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;")
        );
    }
    let page = server.get("/initiatives/nasty").await;
    assert!(page.body.contains(&escape(note)), "note as text");
    assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.body.contains("<img"));
    assert_eq!(
        page.body.matches("</blockquote>").count(),
        2,
        "hypothesis and note"
    );
}

#[tokio::test]
async fn an_unknown_initiative_is_a_404_page() {
    let server = demo();
    for path in [
        "/initiatives/does-not-exist",
        "/initiatives/Not%20a%20key%3Cb%3E",
    ] {
        let page = server.get(path).await;
        page.assert_html(404);
        assert!(page.body.contains("No initiative called"), "{path}");
        assert!(page.body.contains("href=\"/\""), "a way back");
    }
    let page = server.get("/initiatives/Not%20a%20key%3Cb%3E").await;
    assert!(page.body.contains("&lt;b&gt;") && !page.body.contains("<b>"));
}

#[tokio::test]
async fn the_portfolio_filters_by_status_and_team() {
    let server = demo();
    let all = server.portfolio().await;
    let expect = |status: Option<&str>, team: Option<&str>| -> Vec<String> {
        keys(
            &all.iter()
                .filter(|e| status.is_none_or(|s| e["status"] == s))
                .filter(|e| team.is_none_or(|t| e["owner_team"] == t))
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    for (query, status, team) in [
        ("?status=running", Some("running"), None),
        ("?status=draft", Some("draft"), None),
        ("?status=concluded", Some("concluded"), None),
        ("?team=growth", None, Some("growth")),
        (
            "?status=running&team=growth",
            Some("running"),
            Some("growth"),
        ),
        ("?status=&team=", None, None),
        ("?team=support&utm_source=mail", None, Some("support")),
    ] {
        let page = server.get(&format!("/{query}")).await;
        page.assert_html(200);
        let expected = expect(status, team);
        assert!(!expected.is_empty(), "{query}: the demo has matches");
        assert_eq!(page.row_keys(), expected, "{query}");
        if let Some(s) = status {
            assert!(
                page.body
                    .contains(&format!("<option value=\"{s}\" selected>"))
            );
        }
    }
    let page = server.get("/?team=nobody").await;
    page.assert_html(200);
    assert!(page.body.contains("No initiative matches these filters"));
    assert!(page.row_keys().is_empty());
}

#[tokio::test]
async fn a_bad_filter_is_a_friendly_400_page() {
    let server = demo();
    for (query, field) in [
        ("?status=bogus", "status"),
        ("?status=RUNNING", "status"),
        ("?team=Not%20a%20team", "team"),
        ("?team=%3Cscript%3E", "team"),
        ("?status=running&status=draft", "query"),
    ] {
        let page = server.get(&format!("/{query}")).await;
        page.assert_html(400);
        assert!(page.body.contains("That filter doesn't exist"), "{query}");
        assert!(
            page.body.contains(&format!("<code>{field}</code>")),
            "{query}"
        );
        assert!(page.body.contains("Back to the portfolio"));
    }
}

#[tokio::test]
async fn the_stylesheet_is_served_from_memory() {
    let server = demo();
    let page = server.get("/").await;
    let href = page
        .body
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("stylesheet link")
        .to_owned();
    assert!(href.starts_with("/assets/app.css?v="), "{href}");
    let css = server.get(&href).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    assert!(css.body.contains("@media print"));
    assert!(css.body.contains("@page"));
    assert!(!css.body.contains("http://") && !css.body.contains("https://"));
    assert!(!css.body.contains("@import"));
}

/// The HTML of one portfolio row.
fn portfolio_row<'a>(page: &'a crate::helpers::Page, key: &str) -> &'a str {
    page.body
        .split(&format!("<tr data-key=\"{key}\""))
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .unwrap_or_else(|| panic!("row {key}"))
}

#[tokio::test]
async fn the_decision_log_shows_who_decided_what_and_flags_decisions_against_the_evidence() {
    let server = Server::start(false);
    // In line with the evidence: iterate after min_exposures.
    server
        .concluded_initiative("in-line", "In line", "Iterate on the price.")
        .await;
    // Against it: scale after 3 of the 100 exposures the criteria require.
    server
        .post(
            "/api/v1/initiatives",
            &serde_json::json!({
                "key": "rushed", "name": "Rushed", "kind": "value_engineering",
                "hypothesis": "h", "owner_team": "growth",
                "offer": {"price_cents": 1900, "currency": "EUR"},
                "core_segments": ["smb"], "criteria": {"target_preorder_rate": 0.05},
            }),
        )
        .await;
    server
        .post("/api/v1/initiatives/rushed/launch", &serde_json::json!({}))
        .await;
    let events: Vec<serde_json::Value> = (0..3)
        .map(|n| serde_json::json!({"event_id": format!("x{n}"), "type": "exposure", "customer_id": format!("c{n}"), "segment": "smb"}))
        .collect();
    server
        .post(
            "/api/v1/initiatives/rushed/events",
            &serde_json::json!({ "events": events }),
        )
        .await;
    let reason = "The CEO <b>promised</b> it & \"signed\" it";
    server
        .post(
            "/api/v1/initiatives/rushed/conclude",
            &serde_json::json!({"decision": "scale", "note": "Ship it.", "override_reason": reason}),
        )
        .await;
    let log = server.json("/api/v1/initiatives/rushed/decisions").await;
    let entry = &log["decisions"][0];
    assert_eq!(entry["against_evidence"], true);

    let page = server.get("/initiatives/rushed").await;
    page.assert_html(200);
    let section = page
        .body
        .split("id=\"decision-log\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a decision log section");
    assert!(section.contains("Decision log"));
    assert_eq!(section.matches("class=\"decision-entry").count(), 1);
    assert!(section.contains("data-against-evidence=\"true\""));
    assert!(section.contains("Against the evidence"));
    assert!(section.contains("<strong class=\"decision-what\">Scale</strong>"));
    assert!(section.contains("Ship it."));
    assert!(section.contains(&escape(reason)), "override reason as text");
    assert!(!section.contains("<b>"));
    assert!(section.contains("<span class=\"decided-by\">web tests</span>"));
    assert!(
        section.contains(&format!(
            "Evidence then: {} ({}): 3 exposed, 0 pre-orders",
            entry["snapshot"]["verdict_label"].as_str().unwrap(),
            entry["snapshot"]["verdict"].as_str().unwrap()
        )),
        "{section}"
    );
    assert!(section.contains("verdict from 100 exposures"));
    // No table in the log: it reads at phone width.
    assert!(!section.contains("<table"));

    let page = server.get("/initiatives/in-line").await;
    let section = page
        .body
        .split("id=\"decision-log\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a decision log section");
    assert!(section.contains("data-against-evidence=\"false\""));
    assert!(!section.contains("Against the evidence"));
    assert!(section.contains("Iterate on the price."));

    let portfolio = server.get("/").await;
    portfolio.assert_html(200);
    assert!(portfolio_row(&portfolio, "rushed").contains("Decided against the evidence"));
    assert!(!portfolio_row(&portfolio, "in-line").contains("Decided against the evidence"));
}

#[tokio::test]
async fn the_demo_decision_is_in_the_log() {
    let page = demo().get("/initiatives/nonprofit-plan").await;
    page.assert_html(200);
    assert!(page.body.contains("id=\"decision-log\""));
    assert!(page.body.contains("<span class=\"decided-by\">demo</span>"));
    assert!(page.body.contains("data-against-evidence=\"false\""));
    let page = demo().get("/initiatives/carbon-report").await;
    assert!(page.body.contains("No decision yet"));
}

/// The text of the element with `id`, tags stripped.
fn element_text(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let open_end = start + body[start..].find('>')? + 1;
    let rest = &body[open_end..];
    let mut depth = 0usize;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '<' {
            let closing = rest[i..].starts_with("</");
            if closing && depth == 0 {
                return Some(out);
            }
            if closing {
                depth -= 1;
            } else if !rest[i..].split('>').next()?.ends_with('/') {
                depth += 1;
            }
            for (_, c) in chars.by_ref() {
                if c == '>' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    None
}

#[tokio::test]
async fn the_headline_never_contradicts_the_verdict() {
    let server = Server::start(false);
    let states = crate::helpers::GENERATED_STATES;
    let mut seen = std::collections::BTreeSet::new();
    for (i, (mode, n, k)) in states.iter().enumerate() {
        let key = server.pilot(i, mode, *n, *k).await;
        let report = server
            .json(&format!("/api/v1/initiatives/{key}/report"))
            .await;
        let page = server.get(&format!("/initiatives/{key}")).await;
        page.assert_html(200);
        let what = format!("{key} ({mode}, {k} of {n})");
        let status = report["verdict"]["status"].as_str().unwrap();
        seen.insert((mode.to_string(), status.to_owned()));
        let target = 0.05;
        let headline = match &report["demand"]["fixed_read"] {
            Value::Null => &report["demand"],
            read => read,
        };
        // The page shows the verdict's own figures.
        assert!(
            page.body.contains(&format!("data-verdict=\"{status}\"")),
            "{what}"
        );
        let (low, high) = (
            headline["ci"]["low"].as_f64().unwrap(),
            headline["ci"]["high"].as_f64().unwrap(),
        );
        assert_eq!(
            element_text(&page.body, "rate-interval").as_deref(),
            Some(percent_range(low, high).as_str()),
            "{what}"
        );
        // And they tell the same story as the status.
        match status {
            "validated" => assert!(low > target, "{what}: validated with {low}"),
            "not_validated" => assert!(high < target, "{what}: not validated with {high}"),
            "inconclusive" => assert!(low <= target && target <= high, "{what}"),
            "collecting" => {}
            other => panic!("{what}: {other}"),
        }
        if *mode == "sequential" {
            let m = report["demand"]["evidence_ratio"].as_f64().unwrap();
            let needed = report["demand"]["evidence_needed"].as_f64().unwrap();
            let decided = matches!(status, "validated" | "not_validated");
            if *n >= 100 {
                assert_eq!(m >= needed, decided, "{what}: evidence {m} vs {needed}");
            }
            let evidence = element_text(&page.body, "evidence").unwrap_or_default();
            assert!(
                evidence.contains("a verdict needs 20 to 1"),
                "{what}: {evidence}"
            );
        } else {
            assert!(report["demand"]["evidence_ratio"].is_null(), "{what}");
            if *n < 1_000 {
                assert_eq!(
                    status, "collecting",
                    "{what}: fixed mode reads once, at 1,000"
                );
                assert!(
                    page.body.contains("read once, when 1,000 customers"),
                    "{what}"
                );
            }
        }
        // No competing headline: the Bayesian figure sits in its details, named with
        // its prior.
        let verdict_block = element_text(&page.body, "summary").unwrap_or_default();
        assert!(!verdict_block.contains("Chance"), "{what}");
        if page.body.contains("posterior chance") {
            let at = page.body.find("posterior chance").unwrap();
            let details = page.body[..at]
                .rfind("<details class=\"bayes\"")
                .unwrap_or(0);
            assert!(
                details > 0 && !page.body[details..at].contains("</details>"),
                "{what}"
            );
            assert!(page.body[details..at].contains("Beta(1, 1)"), "{what}");
        }
        // All customers and every segment carry the same kind of interval.
        let kind = match report["interval_method"].as_str().unwrap() {
            "anytime_valid" => "anytime-valid interval",
            _ => "interval",
        };
        assert!(
            page.body.contains(&format!(
                "each with its 95% {kind} (the same kind as all customers')"
            )),
            "{what}"
        );
        if *n > 1_000 {
            assert!(
                page.body.contains("gone past its planned 1,000 exposures"),
                "{what}"
            );
        }
    }
    for status in ["collecting", "validated", "not_validated", "inconclusive"] {
        assert!(
            seen.contains(&("sequential".to_owned(), status.to_owned())),
            "the states cover a sequential {status}: {seen:?}"
        );
    }
    for status in ["collecting", "validated", "not_validated"] {
        assert!(
            seen.contains(&("fixed".to_owned(), status.to_owned())),
            "the states cover a fixed {status}: {seen:?}"
        );
    }
}

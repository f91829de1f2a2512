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

//! Limits, security headers and request ids.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, exposure, spawn_app, spawn_app_with};

async fn a_key_over_its_rate_gets_429_and_nothing_is_stored(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.limits.requests_per_second_per_key = 1;
        s.limits.burst_per_key = 8;
    })
    .await
    else {
        return;
    };
    app.running_initiative("plan", json!({})).await; // 5 requests of the burst
    let mut limited = None;
    for i in 0..6 {
        let r = app
            .post_events(
                "plan",
                &[exposure(&format!("e{i}"), &format!("c{i}"), "smb")],
            )
            .await;
        if r.status == 429 {
            limited = Some((i, r));
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let (sent, r) = limited.expect("the burst runs out");
    r.assert_problem(429, None);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let s = app.summary("plan").await;
    assert_eq!(
        s["total"]["exposures"], sent,
        "the refused batch wrote nothing"
    );
}

async fn responses_carry_security_headers_and_request_ids(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for path in [
        "/api/v1/segments",
        "/api/v1/initiatives/ghost",
        "/",
        "/healthz",
        "/nowhere",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        let id = h["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "{path}: a UUID request id");
        if resp.status().is_client_error() {
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(
                body["request_id"], id,
                "{path}: the error names its request"
            );
        }
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

async fn metrics_count_what_happened(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    let batch = [exposure("a", "c1", "smb"), exposure("b", "c2", "smb")];
    assert_eq!(app.post_events("plan", &batch).await.status, 200);
    assert_eq!(app.post_events("plan", &batch).await.status, 200);
    assert_eq!(
        app.post_events("plan", &[exposure("x", "c3", "mars")])
            .await
            .status,
        422
    );
    // No key needed from loopback.
    let r = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert_eq!(metric(&text, "offerlab_ingest_events_accepted_total"), 2);
    assert_eq!(metric(&text, "offerlab_ingest_events_duplicate_total"), 2);
    assert_eq!(metric(&text, "offerlab_ingest_requests_refused_total"), 1);
    assert!(metric(&text, "offerlab_ingest_transactions_total") >= 2);
    assert!(metric(&text, "offerlab_http_responses_total{class=\"4xx\"}") >= 1);
    assert!(metric(&text, "offerlab_http_responses_total{class=\"2xx\"}") >= 6);
}

backend_tests!(
    metrics_count_what_happened,
    a_key_over_its_rate_gets_429_and_nothing_is_stored,
);
// Headers are set by middleware, whatever the database.
crate::once_tests!(responses_carry_security_headers_and_request_ids);

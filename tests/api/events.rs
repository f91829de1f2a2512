use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{
    Backend, TestApp, cancellation, exposure, preorder, response, spawn_app, spawn_app_with,
};

/// What a batch must not have changed when it is refused.
async fn stored_state(app: &TestApp, key: &str) -> (Value, usize) {
    let summary = app.summary(key).await;
    (summary["cells"].clone(), app.all_events(key).await.len())
}

async fn bad_input_matrix_writes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    app.running_initiative_variants().await;
    // Some state that refused batches must leave as it is.
    let r = app
        .post_events(
            "plan",
            &[
                exposure("seed-1", "known", "smb"),
                preorder("seed-2", "known", 1900),
                exposure("seed-3", "paid-and-cancelled", "smb"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = stored_state(&app, "plan").await;
    let future = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();

    // (description, initiative, events, status, field)
    let cases: Vec<(&str, &str, Vec<Value>, u16, &str)> = vec![
        ("empty batch", "plan", vec![], 422, "events"),
        (
            "unknown type",
            "plan",
            vec![json!({"event_id": "x", "type": "click", "customer_id": "c"})],
            422,
            "events[0].type",
        ),
        (
            "missing event_id",
            "plan",
            vec![json!({"type": "exposure", "customer_id": "c", "segment": "smb"})],
            422,
            "events[0].event_id",
        ),
        (
            "empty customer",
            "plan",
            vec![exposure("x", "", "smb")],
            422,
            "events[0].customer_id",
        ),
        (
            "unknown field",
            "plan",
            vec![
                json!({"event_id": "x", "type": "exposure", "customer_id": "c", "segment": "smb", "colour": "red"}),
            ],
            422,
            "events[0].colour",
        ),
        (
            "wrong type of amount",
            "plan",
            vec![
                exposure("x1", "c", "smb"),
                json!({"event_id": "x2", "type": "preorder", "customer_id": "c", "amount_cents": "19", "currency": "EUR"}),
            ],
            422,
            "events[1].amount_cents",
        ),
        (
            "zero amount",
            "plan",
            vec![exposure("x1", "c", "smb"), preorder("x2", "c", 0)],
            422,
            "events[1].amount_cents",
        ),
        (
            "negative amount",
            "plan",
            vec![exposure("x1", "c", "smb"), preorder("x2", "c", -5)],
            422,
            "events[1].amount_cents",
        ),
        (
            "wrong currency",
            "plan",
            vec![
                json!({"event_id": "x", "type": "preorder", "customer_id": "known", "amount_cents": 100, "currency": "USD"}),
            ],
            422,
            "events[0].currency",
        ),
        (
            "not a currency",
            "plan",
            vec![
                json!({"event_id": "x", "type": "preorder", "customer_id": "known", "amount_cents": 100, "currency": "EURO"}),
            ],
            422,
            "events[0].currency",
        ),
        (
            "missing currency",
            "plan",
            vec![
                json!({"event_id": "x", "type": "preorder", "customer_id": "known", "amount_cents": 100}),
            ],
            422,
            "events[0].currency",
        ),
        (
            "unknown segment",
            "plan",
            vec![exposure("x", "c", "aliens")],
            422,
            "events[0].segment",
        ),
        (
            "segment on a preorder",
            "plan",
            vec![
                json!({"event_id": "x", "type": "preorder", "customer_id": "known", "amount_cents": 100, "currency": "EUR", "segment": "smb"}),
            ],
            422,
            "events[0].segment",
        ),
        (
            "preorder before exposure",
            "plan",
            vec![preorder("x", "stranger", 1900)],
            422,
            "events[0].customer_id",
        ),
        (
            "response before exposure",
            "plan",
            vec![response("x", "stranger", "love")],
            422,
            "events[0].customer_id",
        ),
        (
            "exposure after the preorder in the batch",
            "plan",
            vec![preorder("x1", "late", 100), exposure("x2", "late", "smb")],
            422,
            "events[0].customer_id",
        ),
        (
            "segment change",
            "plan",
            vec![exposure("x", "known", "students")],
            422,
            "events[0].segment",
        ),
        (
            "cancellation without preorder",
            "plan",
            vec![cancellation("x", "paid-and-cancelled")],
            422,
            "events[0].type",
        ),
        (
            "bad sentiment",
            "plan",
            vec![
                json!({"event_id": "x", "type": "response", "customer_id": "known", "sentiment": "meh"}),
            ],
            422,
            "events[0].sentiment",
        ),
        (
            "future occurred_at",
            "plan",
            vec![
                json!({"event_id": "x", "type": "exposure", "customer_id": "c", "segment": "smb", "occurred_at": future}),
            ],
            422,
            "events[0].occurred_at",
        ),
        (
            "bad occurred_at",
            "plan",
            vec![
                json!({"event_id": "x", "type": "exposure", "customer_id": "c", "segment": "smb", "occurred_at": "yesterday"}),
            ],
            422,
            "events[0].occurred_at",
        ),
        (
            "variant without variants",
            "plan",
            vec![
                json!({"event_id": "x", "type": "exposure", "customer_id": "c", "segment": "smb", "variant": "a"}),
            ],
            422,
            "events[0].variant",
        ),
        (
            "one bad event among good ones",
            "plan",
            vec![
                exposure("g1", "g1", "smb"),
                preorder("g2", "g1", 1900),
                response("g3", "g1", "love"),
                exposure("g4", "g4", "nowhere"),
            ],
            422,
            "events[3].segment",
        ),
        (
            "unknown initiative",
            "ghost",
            vec![exposure("x", "c", "smb")],
            404,
            "",
        ),
        (
            "variant missing",
            "priced",
            vec![exposure("x", "c", "smb")],
            422,
            "events[0].variant",
        ),
        (
            "unknown variant",
            "priced",
            vec![
                json!({"event_id": "x", "type": "exposure", "customer_id": "c", "segment": "smb", "variant": "zzz"}),
            ],
            422,
            "events[0].variant",
        ),
    ];
    for (what, key, events, status, field) in cases {
        let r = app.post_events(key, &events).await;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        r.assert_problem(status, (!field.is_empty()).then_some(field));
        assert_eq!(
            stored_state(&app, "plan").await,
            before,
            "{what}: nothing written"
        );
    }

    // Every bad event is listed, by index.
    let r = app
        .post_events(
            "plan",
            &[
                exposure("m1", "m", "mars"),
                preorder("m2", "n", 0),
                exposure("m3", "ok", "smb"),
            ],
        )
        .await;
    r.assert_problem(422, Some("events[0].segment"));
    r.assert_problem(422, Some("events[1].amount_cents"));

    // Malformed bodies.
    let path = "/api/v1/initiatives/plan/events";
    app.post_raw(path, "application/json", b"{\"events\": [".to_vec())
        .await
        .assert_problem(400, Some("body"));
    // JSON or CSV (tests/api/csv_events.rs); anything else is a 415.
    app.post_raw(path, "text/plain", b"event_id,type".to_vec())
        .await
        .assert_problem(415, None);
    app.post(path, &json!({"events": [], "extra": 1}))
        .await
        .assert_problem(422, Some("extra"));
    app.post(path, &json!({"events": "all of them"}))
        .await
        .assert_problem(422, Some("events"));
    app.post(path, &json!([1, 2]))
        .await
        .assert_problem(422, None);
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| exposure(&format!("t{i}"), &format!("t{i}"), "smb"))
        .collect();
    app.post_events("plan", &too_many)
        .await
        .assert_problem(422, Some("events"));
    assert_eq!(stored_state(&app, "plan").await, before, "nothing written");
}

async fn oversized_body_is_413(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.limits.max_body_bytes = 64 * 1024).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    let events: Vec<Value> = (0..2_000)
        .map(|i| exposure(&format!("event-{i:06}"), &format!("customer-{i:06}"), "smb"))
        .collect();
    app.post_events("plan", &events)
        .await
        .assert_problem(413, None);
    // Without a Content-Length (chunked), the limit holds too.
    let body = serde_json::to_vec(&json!({ "events": events })).unwrap();
    let stream = futures_stream(body);
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/initiatives/plan/events"))
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    r.assert_problem(413, None);
    assert!(app.all_events("plan").await.is_empty());
}

fn futures_stream(
    body: Vec<u8>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    tokio_stream::iter(chunks)
}

async fn events_update_the_summary(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Responses dated in January: a pilot that ran before offerlab was connected.
    app.running_initiative(
        "plan",
        json!({"criteria": {"target_preorder_rate": 0.05, "backfill_from": "2026-01-01"}}),
    )
    .await;
    let t0 = "2026-01-10T10:00:00Z";
    let r = app
        .post_events(
            "plan",
            &[
                exposure("1", "a", "smb"),
                exposure("2", "b", "smb"),
                exposure("3", "c", "students"),
                exposure("4", "a", "smb"),
                preorder("5", "a", 1900),
                preorder("6", "a", 1900),
                preorder("7", "b", 2500),
                cancellation("8", "b"),
                json!({"event_id": "9", "type": "response", "customer_id": "c", "sentiment": "like", "occurred_at": "2026-01-12T10:00:00Z"}),
                json!({"event_id": "10", "type": "response", "customer_id": "c", "sentiment": "love", "occurred_at": t0}),
                response("11", "a", "love"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"accepted": 11, "duplicates": 0}));
    let s = app.summary("plan").await;
    assert_eq!(s["total"]["exposures"], 3, "a repeat exposure counts once");
    assert_eq!(
        s["total"]["preorders"], 1,
        "rates count customers; b cancelled"
    );
    assert_eq!(
        s["total"]["committed_revenue_cents"], 3800,
        "amounts add up"
    );
    assert_eq!(s["total"]["cancelled"], 1);
    assert_eq!(
        s["total"]["responses"]["love"], 1,
        "c's latest is like (later occurred_at)"
    );
    assert_eq!(s["total"]["responses"]["like"], 1);
    assert_eq!(s["by_segment"]["smb"]["exposures"], 2);
    assert_eq!(s["by_segment"]["students"]["exposures"], 1);
    assert_eq!(s["by_variant"]["default"]["exposures"], 3);
    let sq: f64 = s["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["revenue_sq_cents"].as_f64().unwrap())
        .sum();
    assert_eq!(
        sq,
        3800.0 * 3800.0,
        "sum of squares of per-customer amounts"
    );

    // Pagination in ingestion order.
    let r = app.get("/api/v1/initiatives/plan/events?limit=4").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert_eq!(r.body["has_more"], true);
    let next = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .get(&format!(
            "/api/v1/initiatives/plan/events?limit=100&after={next}"
        ))
        .await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 7);
    assert_eq!(r.body["events"][0]["event_id"], "5");
    assert_eq!(r.body["events"][0]["amount_cents"], 1900);
    assert_eq!(r.body["has_more"], false);
    app.get("/api/v1/initiatives/plan/events?limit=0")
        .await
        .assert_problem(400, Some("limit"));
    app.get("/api/v1/initiatives/plan/events?after=abc")
        .await
        .assert_problem(400, Some("after"));
    app.get("/api/v1/initiatives/ghost/events")
        .await
        .assert_problem(404, None);
    app.get("/api/v1/initiatives/ghost/summary")
        .await
        .assert_problem(404, None);
}

async fn assignments_are_deterministic_and_follow_weights(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    app.running_initiative_variants().await;
    let assign = |customer: String, segment: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/initiatives/priced/assignments",
                &json!({"customer_id": customer, "segment": segment}),
            )
            .await
        }
    };
    let first = assign("alice".into(), "smb").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["recorded"], true);
    let again = assign("alice".into(), "smb").await;
    assert_eq!(
        again.body["variant"], first.body["variant"],
        "same customer, same variant"
    );
    assert_eq!(again.body["recorded"], false);
    let price = if first.body["variant"] == "cheap" {
        1900
    } else {
        2900
    };
    assert_eq!(first.body["price_cents"], price);
    assign("alice".into(), "students")
        .await
        .assert_problem(422, Some("segment"));
    assign("".into(), "smb")
        .await
        .assert_problem(422, Some("customer_id"));

    // Weights 3:1 over 2,000 customers: the share of "cheap" is 0.75 ± 4 standard errors.
    let mut cheap = 0;
    let n = 2_000;
    for i in 0..n {
        let r = assign(format!("customer-{i}"), "smb").await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["variant"] == "cheap" {
            cheap += 1;
        }
    }
    let share = f64::from(cheap) / f64::from(n);
    let se = (0.75f64 * 0.25 / f64::from(n)).sqrt();
    assert!((share - 0.75).abs() < 4.0 * se, "share of cheap: {share}");
    let s = app.summary("priced").await;
    assert_eq!(s["total"]["exposures"], n + 1);
    assert_eq!(
        s["by_variant"]["cheap"]["exposures"],
        cheap + i32::from(first.body["variant"] == "cheap")
    );
}

backend_tests!(
    bad_input_matrix_writes_nothing,
    oversized_body_is_413,
    events_update_the_summary,
    assignments_are_deterministic_and_follow_weights,
);

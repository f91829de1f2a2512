use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{Backend, exposure, preorder, response, spawn_app};
use crate::model::{Model, recount_stored, service_cells};

/// Events for customers `from..to`, each customer's events together so any batch of
/// whole customers is valid on its own.
fn customers(from: usize, to: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for i in from..to {
        let c = format!("c{i}");
        let segment = ["smb", "students", "enterprise"][i % 3];
        out.push(exposure(&format!("{c}-x"), &c, segment));
        if i % 3 != 1 {
            out.push(preorder(&format!("{c}-p"), &c, 1900 + i as i64));
        }
        if i % 2 == 0 {
            out.push(response(
                &format!("{c}-r"),
                &c,
                ["love", "like", "dislike"][i % 3],
            ));
        }
    }
    out
}

async fn same_batch_twice_is_stored_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", serde_json::json!({})).await;
    let batch = customers(0, 400);
    let r = app.post_events("plan", &batch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["accepted"], batch.len());
    assert_eq!(r.body["duplicates"], 0);
    let first = app.summary("plan").await;

    let r = app.post_events("plan", &batch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["accepted"], 0);
    assert_eq!(r.body["duplicates"], batch.len());
    let second = app.summary("plan").await;
    assert_eq!(first["cells"], second["cells"]);
    assert_eq!(app.all_events("plan").await.len(), batch.len());
}

async fn overlapping_concurrent_batches_store_each_event_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", serde_json::json!({})).await;
    // 12 batches of 100 customers, each overlapping its neighbours by 50, sent at once,
    // and the whole round twice.
    let batches: Vec<Vec<Value>> = (0..12).map(|i| customers(i * 50, i * 50 + 100)).collect();
    for _round in 0..2 {
        let sends = batches.iter().map(|b| app.post_events("plan", b));
        for r in futures_util::future::join_all(sends).await {
            assert_eq!(r.status, 200, "{}", r.text);
        }
    }
    let all = customers(0, 650);
    let mut model = Model::default();
    for e in &all {
        model.apply(e, chrono::Utc::now());
    }
    let stored = app.all_events("plan").await;
    assert_eq!(stored.len(), all.len(), "each event stored once");
    let summary = app.summary("plan").await;
    assert_eq!(service_cells(&summary), model.cells(), "exact aggregates");
    assert_eq!(service_cells(&summary), recount_stored(&stored));
}

backend_tests!(
    same_batch_twice_is_stored_once,
    overlapping_concurrent_batches_store_each_event_once,
    reused_event_id_with_other_content_is_refused_and_writes_nothing,
    id_conflict_fails_only_its_own_request,
);

/// What a refused batch must leave as it was: aggregates and stored events.
async fn state(app: &crate::helpers::TestApp, key: &str) -> (Value, Vec<Value>) {
    (
        app.summary(key).await["cells"].clone(),
        app.all_events(key).await,
    )
}

/// Asserts a 409 `event-id-conflict` naming `events[{index}].event_id` and the id.
fn assert_id_conflict(r: &crate::helpers::Reply, index: usize, id: &str, differs: &str) {
    let field = format!("events[{index}].event_id");
    r.assert_problem(409, Some(&field));
    assert!(
        r.body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("event-id-conflict")),
        "problem type: {}",
        r.text
    );
    let reason = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field.as_str())
        .and_then(|e| e["reason"].as_str())
        .unwrap()
        .to_owned();
    assert!(
        reason.contains(&format!("'{id}'")),
        "reason names the id: {reason}"
    );
    assert!(reason.contains(differs), "reason names {differs}: {reason}");
}

async fn reused_event_id_with_other_content_is_refused_and_writes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Events dated a day back: the pilot pre-registers a backfill from before then.
    app.running_initiative(
        "plan",
        serde_json::json!({"criteria": {"target_preorder_rate": 0.05, "backfill_from": crate::helpers::backfill_from(2)}}),
    )
    .await;
    // Nanoseconds: PostgreSQL keeps microseconds, and an identical re-send must match.
    let when = (chrono::Utc::now() - chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let mut timed = exposure("e3", "c2", "students");
    timed["occurred_at"] = when.clone().into();
    let seed = vec![
        exposure("e1", "c1", "smb"),
        preorder("e2", "c1", 1900),
        timed.clone(),
        response("e4", "c2", "like"),
    ];
    let r = app.post_events("plan", &seed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = state(&app, "plan").await;
    assert_eq!(before.1.len(), 4);

    let later = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let mut retimed = timed.clone();
    retimed["occurred_at"] = later.into();
    // (the reused event, what differs)
    let cases = vec![
        (preorder("e2", "c1", 2900), "amount_cents"),
        (response("e1", "c1", "love"), "type"),
        (exposure("e1", "c9", "smb"), "customer_id"),
        (exposure("e1", "c1", "students"), "segment"),
        (response("e4", "c2", "dislike"), "sentiment"),
        (retimed, "occurred_at"),
    ];
    for (reused, differs) in cases {
        let id = reused["event_id"].as_str().unwrap().to_owned();
        // New, valid events around it must not be stored either.
        let batch = vec![
            exposure("n1", "c3", "smb"),
            preorder("n2", "c3", 1900),
            reused,
            exposure("n3", "c4", "enterprise"),
        ];
        let r = app.post_events("plan", &batch).await;
        assert_id_conflict(&r, 2, &id, differs);
        assert_eq!(
            state(&app, "plan").await,
            before,
            "{differs}: nothing written"
        );
    }

    // A new customer's event reusing a stored id, among hundreds of new customers' events:
    // on PostgreSQL the first run of the group looks up no id (its customers are all new)
    // and writes the events and customers with COPY (`ingest.copy_from_rows`); the unique
    // index refuses the reused id, and the run after it finds the conflict.
    let mut batch = customers(3000, 3250);
    batch.push(exposure("e1", "c9", "smb"));
    let r = app.post_events("plan", &batch).await;
    assert_id_conflict(&r, batch.len() - 1, "e1", "customer_id");
    assert_eq!(
        state(&app, "plan").await,
        before,
        "large batch: nothing written"
    );

    // The same id twice in one request with different content.
    let batch = vec![
        exposure("n1", "c3", "smb"),
        exposure("n1", "c3", "students"),
    ];
    let r = app.post_events("plan", &batch).await;
    assert_id_conflict(&r, 1, "n1", "segment");
    assert!(
        r.text.contains("events[0]"),
        "names the first use: {}",
        r.text
    );
    assert_eq!(state(&app, "plan").await, before);

    // Identical re-sends are duplicates: occurred_at compared when given (to the
    // microsecond), ignored when left out; the same event twice in a request counts once.
    let mut untimed = timed.clone();
    untimed.as_object_mut().unwrap().remove("occurred_at");
    let batch = vec![
        exposure("e1", "c1", "smb"),
        preorder("e2", "c1", 1900),
        timed,
        untimed,
        exposure("n1", "c3", "smb"),
        exposure("n1", "c3", "smb"),
    ];
    let r = app.post_events("plan", &batch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["accepted"], 1, "{}", r.text);
    assert_eq!(r.body["duplicates"], 5, "{}", r.text);
    let after = state(&app, "plan").await;
    assert_eq!(after.1.len(), 5);
    assert_eq!(&after.1[..4], &before.1[..], "stored events unchanged");
    assert_eq!(after.1[4]["event_id"], "n1");
}

/// Requests sent together share the writer's transaction: one refused for a reused
/// id must not take the others down with it.
async fn id_conflict_fails_only_its_own_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", serde_json::json!({})).await;
    let r = app.post_events("plan", &customers(0, 10)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut bad = customers(1000, 1010);
    bad.push(preorder("c0-p", "c0", 99)); // c0-p was 1900 + 0 cents
    let good: Vec<Vec<Value>> = (1..9).map(|i| customers(i * 10, i * 10 + 10)).collect();
    for _round in 0..3 {
        let sends = good
            .iter()
            .chain(std::iter::once(&bad))
            .map(|b| app.post_events("plan", b));
        let replies = futures_util::future::join_all(sends).await;
        let (last, others) = replies.split_last().unwrap();
        assert_id_conflict(last, bad.len() - 1, "c0-p", "amount_cents");
        for r in others {
            assert_eq!(r.status, 200, "{}", r.text);
        }
    }
    let stored = app.all_events("plan").await;
    assert_eq!(stored.len(), customers(0, 90).len());
    assert!(
        stored
            .iter()
            .all(|e| !e["customer_id"].as_str().unwrap().starts_with("c100"))
    );
    let mut model = Model::default();
    for e in &customers(0, 90) {
        model.apply(e, chrono::Utc::now());
    }
    assert_eq!(service_cells(&app.summary("plan").await), model.cells());
}

//! Events as CSV: `POST .../events` with `text/csv`, and `offerlab import` / `export`
//! (the real binary, on the test server's database).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::model::{Model, recount_stored, service_cells};

async fn post_csv(app: &TestApp, key: &str, body: &str) -> crate::helpers::Reply {
    app.post_raw(
        &format!("/api/v1/initiatives/{key}/events"),
        "text/csv; charset=utf-8",
        body.as_bytes().to_vec(),
    )
    .await
}

/// The `(line, field)` of every listed error.
fn lines_and_fields(body: &Value) -> Vec<(u64, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn csv_body_is_accepted_and_bad_lines_are_listed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    // Any column order; no event_id column: ids are derived from the rows.
    let good = "customer_id,type,segment,amount_cents,currency,sentiment\n\
                c1,exposure,smb,,,\n\
                c1,preorder,,1900,EUR,\n\
                c1,response,,,,love\n";
    let r = post_csv(&app, "pilot", good).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"accepted": 3, "duplicates": 0}));
    let r = post_csv(&app, "pilot", good).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"accepted": 0, "duplicates": 3}),
        "the same file again stores nothing"
    );
    let stored = app.all_events("pilot").await;
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .all(|e| e["event_id"].as_str().unwrap().starts_with("csv-sha256:"))
    );

    // Lines 3, 5, 6 and 7 are bad (line 6: fine alone, but its customer was never
    // exposed); the good rows around them are not stored either.
    let bad = "event_id,type,customer_id,segment,amount_cents,currency,sentiment\n\
               b1,exposure,c2,smb,,,\n\
               b2,preorder,c2,,12x,EUR,\n\
               b3,response,c2,,,,like\n\
               b4,response,c2,,,,hate\n\
               b5,preorder,nobody,,1900,EUR,\n\
               b6,exposure,c3\n\
               b7,exposure,c4,students,,,\n";
    let r = post_csv(&app, "pilot", bad).await;
    r.assert_problem(422, Some("amount_cents"));
    assert_eq!(
        lines_and_fields(&r.body),
        vec![
            (3, "amount_cents".to_owned()),
            (5, "sentiment".to_owned()),
            (6, "customer_id".to_owned()),
            (7, "row".to_owned()),
        ],
        "{}",
        r.text
    );
    assert_eq!(
        app.all_events("pilot").await.len(),
        3,
        "nothing was written"
    );

    // The header is checked first: every unknown or missing column, at line 1.
    let r = post_csv(&app, "pilot", "colour,customer_id\nred,c1\n").await;
    r.assert_problem(422, Some("colour"));
    assert_eq!(
        lines_and_fields(&r.body),
        vec![(1, "colour".to_owned()), (1, "type".to_owned())]
    );
    // An id reused for another event: 409, by line, as for JSON.
    let r = post_csv(
        &app,
        "pilot",
        "event_id,type,customer_id,sentiment\nb9,response,c1,like\nb9,response,c1,love\n",
    )
    .await;
    r.assert_problem(409, Some("event_id"));
    assert_eq!(r.body["errors"][0]["line"], 3, "{}", r.text);
    // Neither JSON nor CSV.
    let r = app
        .post_raw(
            "/api/v1/initiatives/pilot/events",
            "application/xml",
            b"<events/>".to_vec(),
        )
        .await;
    r.assert_problem(415, None);
    assert_eq!(app.all_events("pilot").await.len(), 3);
}

async fn csv_bodies_keep_the_request_limits(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.ingest.max_events_per_request = 2).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    let r = post_csv(
        &app,
        "pilot",
        "type,customer_id,segment\nexposure,a,smb\nexposure,b,smb\nexposure,c,smb\n",
    )
    .await;
    r.assert_problem(422, Some("body"));
    assert!(r.text.contains("offerlab import"), "{}", r.text);
    let r = post_csv(&app, "pilot", "type,customer_id,segment\n").await;
    r.assert_problem(422, Some("body"));
    assert!(app.all_events("pilot").await.is_empty());
}

/// A seeded stream valid in order: exposures (with a variant) first for each customer,
/// then pre-orders, cancellations, responses, repeat exposures and re-sent rows. Times
/// lie after `t0` (the launch), within two minutes.
fn stream(seed: u64, n: usize, t0: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let segments = ["smb", "students", "enterprise"];
    let variants = ["cheap", "dear"];
    let mut exposed: Vec<(String, &str, &str)> = Vec::new();
    // Active cents per customer: kept within 10 x the dearest price (29,000).
    let mut active: std::collections::HashMap<String, i64> = Default::default();
    let mut out: Vec<Value> = Vec::with_capacity(n);
    let mut next_id = 0;
    while out.len() < n {
        let when = (t0 + chrono::Duration::milliseconds(rng.random_range(0..120_000)))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let roll: f64 = rng.random();
        if roll < 0.03 && !out.is_empty() {
            let again = out[rng.random_range(0..out.len())].clone();
            out.push(again);
            continue;
        }
        next_id += 1;
        let id = format!("r{seed}-{next_id}");
        let event = if exposed.is_empty() || roll < 0.35 {
            let customer = format!("c{seed}-{}", exposed.len());
            let segment = segments[rng.random_range(0..3)];
            let variant = variants[rng.random_range(0..2)];
            exposed.push((customer.clone(), segment, variant));
            json!({"event_id": id, "type": "exposure", "customer_id": customer, "segment": segment, "variant": variant, "occurred_at": when})
        } else {
            let (customer, segment, variant) = exposed[rng.random_range(0..exposed.len())].clone();
            if roll < 0.40 {
                json!({"event_id": id, "type": "exposure", "customer_id": customer, "segment": segment, "variant": variant, "occurred_at": when})
            } else if roll < 0.60 && active.get(&customer).copied().unwrap_or(0) + 5_800 <= 29_000 {
                // At least the dearest price: a pre-order below the offer price may not count.
                let amount = [2_900, 3_800, 5_800][rng.random_range(0..3)];
                *active.entry(customer.clone()).or_default() += amount;
                json!({"event_id": id, "type": "preorder", "customer_id": customer, "amount_cents": amount, "currency": "EUR", "occurred_at": when})
            } else if roll < 0.67 && active.remove(&customer).is_some() {
                json!({"event_id": id, "type": "cancellation", "customer_id": customer, "occurred_at": when})
            } else {
                let sentiment = ["love", "like", "neutral", "dislike"][rng.random_range(0..4)];
                json!({"event_id": id, "type": "response", "customer_id": customer, "sentiment": sentiment, "occurred_at": when})
            }
        };
        out.push(event);
    }
    out
}

/// Writes events as CSV with the columns in the given order.
fn write_csv(path: &std::path::Path, columns: &[&str], events: &[Value]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(columns).unwrap();
    for e in events {
        w.write_record(columns.iter().map(|c| match &e[*c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
        .unwrap();
    }
    w.flush().unwrap();
}

/// Runs the real binary on the app's database.
async fn run(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let app_args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let url = app._db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_offerlab"));
        cmd.env("OFFERLAB_ENV", "test")
            .args(&app_args)
            .arg("--database")
            .arg(url);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            format!(
                "{}\n({}; stdout: {})",
                String::from_utf8_lossy(&out.stderr),
                out.status,
                String::from_utf8_lossy(&out.stdout)
            ),
        )
    })
    .await
    .unwrap()
}

/// Writes a seeded stream of `n` rows (after `t0`) as CSV, columns in an unusual order;
/// answers the file, the model of its events and how many distinct events it holds.
fn stream_file(
    dir: &std::path::Path,
    seed: u64,
    n: usize,
    t0: chrono::DateTime<chrono::Utc>,
) -> (String, Model, usize) {
    let events = stream(seed, n, t0);
    let mut model = Model::default();
    for e in &events {
        model.apply(e, t0);
    }
    let distinct = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect::<std::collections::HashSet<_>>()
        .len();
    let file = dir.join(format!("events-{seed}.csv"));
    let columns = [
        "occurred_at",
        "type",
        "customer_id",
        "event_id",
        "segment",
        "variant",
        "amount_cents",
        "currency",
        "sentiment",
    ];
    write_csv(&file, &columns, &events);
    (file.to_str().unwrap().to_owned(), model, distinct)
}

async fn import_of_100k_rows_is_exact(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative_variants_with_segments().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, model, distinct) = stream_file(dir.path(), 7, 100_000, chrono::Utc::now());
    let (ok, stdout, stderr) = run(&app, &["import", "priced", &path], &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "100000 rows, {distinct} new events, {} duplicates",
            100_000 - distinct
        )),
        "{stdout}"
    );
    let summary = app.summary("priced").await;
    assert_eq!(
        service_cells(&summary),
        model.cells(),
        "aggregates = an independent recount of the file"
    );
    assert_eq!(summary["total"]["exposures"], model.exposures());
    assert_eq!(
        crate::helpers::count_rows(&app._db, "events"),
        distinct as i64,
        "every distinct event stored once"
    );
}

async fn reimport_changes_nothing_and_export_round_trips(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let Some(second) = spawn_app(backend).await else {
        return;
    };
    for a in [&app, &second] {
        a.running_initiative_variants_with_segments().await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, model, distinct) = stream_file(dir.path(), 8, 5_000, chrono::Utc::now());
    let (ok, stdout, stderr) = run(&app, &["import", "priced", &path], &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("{distinct} new events")),
        "{stdout}"
    );
    let cells = service_cells(&app.summary("priced").await);
    assert_eq!(cells, model.cells(), "aggregates = model of the file");
    let stored = app.all_events("priced").await;
    assert_eq!(
        cells,
        recount_stored(&stored),
        "aggregates = recount of the stored events"
    );

    // Again: nothing changes.
    let (ok, stdout, stderr) = run(&app, &["import", "priced", &path], &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("5000 rows, 0 new events, 5000 duplicates"),
        "{stdout}"
    );
    assert_eq!(service_cells(&app.summary("priced").await), cells);
    assert_eq!(app.all_events("priced").await, stored);

    // Export, import into a fresh database: the same aggregates, the same events.
    let exported = dir.path().join("export.csv");
    let out = exported.to_str().unwrap();
    let (ok, stdout, stderr) = run(&app, &["export", "priced", "--out", out], &[]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&format!("{distinct} events")), "{stdout}");
    let (ok, stdout, stderr) = run(&second, &["import", "priced", out], &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("{distinct} rows, {distinct} new events")),
        "{stdout}"
    );
    assert_eq!(service_cells(&second.summary("priced").await), cells);
    let again = dir.path().join("again.csv");
    let (ok, _, stderr) = run(
        &second,
        &["export", "priced", "--out", again.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        std::fs::read_to_string(&again).unwrap(),
        "export -> import -> export is the same file"
    );
    let strip = |events: Vec<Value>| -> Vec<Value> {
        events
            .into_iter()
            .map(|mut e| {
                let o = e.as_object_mut().unwrap();
                o.remove("cursor");
                o.remove("received_at");
                e
            })
            .collect()
    };
    assert_eq!(strip(second.all_events("priced").await), strip(stored));
}

async fn import_reports_every_bad_line_and_writes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    // Parts of 3 rows: c1's exposure (line 2) is in the first part, its pre-order (line
    // 9) in the third, after a refused part: still valid. Bad: lines 4, 6, 7, 10.
    std::fs::write(
        &file,
        "event_id,type,customer_id,segment,amount_cents,currency,sentiment\n\
         e1,exposure,c1,smb,,,\n\
         e2,exposure,c2,smb,,,\n\
         e3,preorder,c2,,0,EUR,\n\
         e4,response,c2,,,,love\n\
         e5,exposure,c3,nowhere,,,\n\
         e6,response,ghost,,,,like\n\
         e7,exposure,c4,students,,,\n\
         e8,preorder,c1,,1900,EUR,\n\
         e1,exposure,c1,students,,,\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let small_parts = [("OFFERLAB__INGEST__MAX_EVENTS_PER_REQUEST", "3")];
    let (ok, stdout, stderr) = run(&app, &["import", "pilot", path], &small_parts).await;
    assert!(!ok, "refused: {stdout}");
    let reported: Vec<&str> = stderr.lines().filter(|l| l.starts_with("line ")).collect();
    let at: Vec<(u64, &str)> = reported
        .iter()
        .map(|l| {
            let (line, rest) = l["line ".len()..].split_once(", ").unwrap();
            (line.parse().unwrap(), rest.split(':').next().unwrap())
        })
        .collect();
    assert_eq!(
        at,
        vec![
            (4, "amount_cents"),
            (6, "segment"),
            (7, "customer_id"),
            (10, "event_id")
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was stored (all-or-nothing per file)"),
        "{stderr}"
    );
    assert!(app.all_events("pilot").await.is_empty(), "nothing written");
    assert_eq!(app.summary("pilot").await["total"]["exposures"], 0);

    // Fixed, and tried first: a dry run reports the counts and stores nothing.
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "event_id,type,customer_id,segment,amount_cents,currency\n\
         e1,exposure,c1,smb,,\n\
         e2,preorder,c1,,1900,EUR\n",
    )
    .unwrap();
    let good = good.to_str().unwrap();
    let (ok, stdout, stderr) = run(&app, &["import", "pilot", good, "--dry-run"], &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("dry run") && stdout.contains("2 new events"),
        "{stdout}"
    );
    assert!(app.all_events("pilot").await.is_empty());
    let (ok, stdout, stderr) = run(&app, &["import", "pilot", good], &[]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("2 new events"), "{stdout}");
    assert_eq!(app.summary("pilot").await["total"]["preorders"], 1);

    // A header that names no event field: refused before any row is read.
    std::fs::write(&file, "who,what\nc1,exposure\n").unwrap();
    let (ok, _, stderr) = run(&app, &["import", "pilot", path], &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains("line 1, who: is not a known column"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 1, type: is a required column"),
        "{stderr}"
    );
}

backend_tests!(
    csv_body_is_accepted_and_bad_lines_are_listed,
    csv_bodies_keep_the_request_limits,
    import_of_100k_rows_is_exact,
    reimport_changes_nothing_and_export_round_trips,
    import_reports_every_bad_line_and_writes_nothing,
);

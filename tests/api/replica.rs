//! Reads off the primary: with `database.read_url` naming a streaming replica (started by
//! the test with `pg_basebackup` from the machine's PostgreSQL binaries), reports, pages
//! and exports read from the replica and say how far behind it is, while every write goes
//! to the primary; the replica itself refuses writes.
//!
//! The proof that reads come from the replica: its replay is paused, events are ingested
//! (acknowledged: stored on the primary), and the report still shows the old counts, with
//! a lag, until replay resumes.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::faults::OwnPostgres;
use crate::helpers::{Backend, TestApp, TestDb, exposure, spawn_app_on, spawn_app_with};

/// The two servers, or `None` (skipped) outside CI when no PostgreSQL binaries exist.
fn primary_and_replica() -> Option<(OwnPostgres, OwnPostgres)> {
    let started = OwnPostgres::start_new().and_then(|p| {
        let r = p.start_replica()?;
        Ok((p, r))
    });
    match started {
        Ok(pair) => Some(pair),
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the replica test must run under CI: {why}"
            );
            eprintln!("SKIPPED (PostgreSQL replica): {why}");
            None
        }
    }
}

fn sql(url: &str, statement: &str) -> Result<usize, String> {
    let mut c = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query(statement)
        .execute(&mut c)
        .map_err(|e| e.to_string())
}

async fn report(app: &TestApp, key: &str) -> (u16, Value) {
    let r = app.get(&format!("/api/v1/initiatives/{key}/report")).await;
    (r.status, r.body)
}

/// Polls the report until `done` holds (replication is asynchronous), up to a minute.
async fn report_when(app: &TestApp, key: &str, done: impl Fn(u16, &Value) -> bool) -> Value {
    for _ in 0..600 {
        let (status, body) = report(app, key).await;
        if done(status, &body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = report(app, key).await;
    panic!("the replica never showed the expected report: {status} {body}");
}

async fn ingest(app: &TestApp, key: &str, prefix: &str, n: usize) {
    let events: Vec<Value> = (0..n)
        .map(|i| exposure(&format!("{prefix}-e{i}"), &format!("{prefix}-c{i}"), "smb"))
        .collect();
    let r = app.post_events(key, &events).await;
    assert_eq!(r.status, 200, "ingest goes to the primary: {}", r.text);
    assert_eq!(r.body["accepted"], n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_read_from_the_replica_with_its_lag_while_writes_go_to_the_primary() {
    let Some((primary, replica)) = primary_and_replica() else {
        return;
    };
    let replica_url = replica.url();
    let app = spawn_app_on(TestDb::External { url: primary.url() }, |s| {
        s.database.read_url = replica_url.as_str().into();
        s.dashboard.public = true;
    })
    .await;
    app.running_initiative("mirror", json!({})).await;
    ingest(&app, "mirror", "a", 5).await;

    let caught_up = report_when(&app, "mirror", |status, body| {
        status == 200 && body["demand"]["exposures"] == 5
    })
    .await;
    assert_eq!(caught_up["read_from"], "replica", "{caught_up}");
    assert!(
        caught_up["replica_lag_seconds"].as_f64().is_some(),
        "the lag is stated: {caught_up}"
    );

    // Replay paused: what is ingested now is acknowledged (on the primary) but not visible
    // to reads, which come from the replica.
    sql(&replica_url, "SELECT pg_wal_replay_pause()").expect("pause replay");
    ingest(&app, "mirror", "b", 3).await;
    let live = app.summary("mirror").await;
    assert_eq!(
        live["total"]["exposures"], 8,
        "the primary holds every acknowledged event"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, stale) = report(&app, "mirror").await;
    assert_eq!(status, 200, "{stale}");
    assert_eq!(
        stale["demand"]["exposures"], 5,
        "the report is read from the paused replica: {stale}"
    );
    assert_eq!(stale["read_from"], "replica");
    let lag = stale["replica_lag_seconds"].as_f64().expect("lag stated");
    assert!(lag > 0.0, "a paused replica is behind: {stale}");
    let page = app.get("/initiatives/mirror").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("id=\"replica-lag\"") && page.text.contains("behind the primary"),
        "the readout says it reads a replica that is behind"
    );
    let events = app.get("/api/v1/initiatives/mirror/events?limit=100").await;
    assert_eq!(
        events.body["events"].as_array().map(Vec::len),
        Some(5),
        "the event export reads the replica too: {}",
        events.text
    );

    // The replica refuses writes.
    let refused = sql(
        &replica_url,
        "INSERT INTO segments (key, name, description, created_at) VALUES ('direct', 'Direct', '', now())",
    )
    .expect_err("a replica refuses writes");
    assert!(refused.contains("read-only"), "{refused}");

    sql(&replica_url, "SELECT pg_wal_replay_resume()").expect("resume replay");
    let after = report_when(&app, "mirror", |status, body| {
        status == 200 && body["demand"]["exposures"] == 8
    })
    .await;
    assert_eq!(after["read_from"], "replica");
    drop(app);
    drop(replica);
    drop(primary);
}

/// Without `read_url` the report reads the primary and says so, with no lag.
async fn without_a_replica_the_report_reads_the_primary(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.dashboard.public = true).await else {
        return;
    };
    app.running_initiative("plain", json!({})).await;
    ingest(&app, "plain", "p", 2).await;
    let (status, body) = report(&app, "plain").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["demand"]["exposures"], 2, "read after write: {body}");
    assert_eq!(body["read_from"], "primary", "{body}");
    assert!(body["replica_lag_seconds"].is_null(), "{body}");
    let page = app.get("/initiatives/plain").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Plain") || page.text.contains("plain"));
    assert!(
        !page.text.contains("replica-lag"),
        "no replica note on the primary"
    );
}

backend_tests!(without_a_replica_the_report_reads_the_primary);

//! Two and three `offerlab serve` processes on one database, ingesting concurrently.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestDb, admin_key_for, client_with_key};
use crate::model::{Model, recount_stored, service_cells};
use crate::stream::StreamGen;

/// A server process, killed when dropped.
struct ServerProcess {
    child: Child,
    address: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `writers`: ingest writer threads of the instance (`ingest.writers`; PostgreSQL only).
fn start_server(url: &str, writers: usize) -> ServerProcess {
    start_server_copying_from(
        url,
        writers,
        offerlab::store::ingest::DEFAULT_COPY_FROM_ROWS,
    )
}

/// `copy_from_rows`: `ingest.copy_from_rows` of the instance (PostgreSQL: from how many new
/// events or customers a group writes them with COPY).
fn start_server_copying_from(url: &str, writers: usize, copy_from_rows: usize) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_offerlab"))
        .args(["serve", "--database", url, "--bind", "127.0.0.1:0"])
        .env("OFFERLAB_ENV", "test")
        .env("OFFERLAB__SERVER__WORKERS", "2")
        .env("OFFERLAB__INGEST__WRITERS", writers.to_string())
        .env(
            "OFFERLAB__INGEST__COPY_FROM_ROWS",
            copy_from_rows.to_string(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start offerlab serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("read stdout");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    // Keep draining stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    ServerProcess { child, address }
}

async fn two_processes_ingest_concurrently_with_exact_aggregates(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let key = admin_key_for(&db);
    let first = start_server(db.url(), 1);
    let second = start_server(db.url(), 1);
    let a = TestApp {
        address: first.address.clone(),
        client: client_with_key(&key),
        admin_key: key.clone(),
        _db: db,
    };
    let b_client = client_with_key(&key);
    a.running_initiative_variants_with_segments().await;

    // Four writers, two per process, each its own customers, sending batches at once.
    let mut model = Model::default();
    let mut generators: Vec<StreamGen> = (0..4)
        .map(|w| {
            StreamGen::new(
                100 + w,
                &format!("w{w}"),
                &["smb", "students"],
                &["cheap", "dear"],
            )
        })
        .collect();
    for _round in 0..15 {
        let mut sends = Vec::new();
        for (w, generator) in generators.iter_mut().enumerate() {
            let n = generator.batch_size(120);
            let events = generator.batch(n);
            for e in &events {
                model.apply(e, chrono::Utc::now());
            }
            let address = if w % 2 == 0 {
                &first.address
            } else {
                &second.address
            };
            let request = b_client
                .post(format!("{address}/api/v1/initiatives/priced/events"))
                .json(&serde_json::json!({ "events": events }));
            sends.push(async move {
                let r = request.send().await.expect("send");
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                (status, text)
            });
        }
        for (status, text) in futures_util::future::join_all(sends).await {
            assert_eq!(status, 200, "{text}");
        }
    }
    let summary = a.summary("priced").await;
    let stored = a.all_events("priced").await;
    assert_eq!(service_cells(&summary), model.cells(), "exact aggregates");
    assert_eq!(
        service_cells(&summary),
        recount_stored(&stored),
        "= recount from raw events"
    );
    // Both instances read the same numbers.
    let other: serde_json::Value = b_client
        .get(format!(
            "{}/api/v1/initiatives/priced/summary",
            second.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["cells"], summary["cells"]);
    drop((first, second));
}

/// Three processes on one database, one initiative: every batch is sent to two of them at
/// once (a client retrying elsewhere while its first attempt is still running), so the
/// instances race for the same customers, event ids and aggregate cells. Each event is
/// stored once, every copy of a batch is answered 200, and the aggregates equal the model
/// and a recount of the stored events.
async fn three_processes_of_two_writers_with_overlapping_batches_store_each_event_once(
    backend: Backend,
) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let key = admin_key_for(&db);
    // Two writers each: six writer threads race on one initiative and its customers. On
    // PostgreSQL one instance writes every group's new events and customers with COPY, one
    // never does, and one does for its larger groups (the default), so both ways of writing
    // race each other.
    let servers = [
        start_server_copying_from(db.url(), 2, 1),
        start_server_copying_from(db.url(), 2, 1_000_000),
        start_server(db.url(), 2),
    ];
    let a = TestApp {
        address: servers[0].address.clone(),
        client: client_with_key(&key),
        admin_key: key.clone(),
        _db: db,
    };
    let client = client_with_key(&key);
    a.running_initiative_variants_with_segments().await;

    let mut model = Model::default();
    let mut distinct = std::collections::HashSet::new();
    let mut generators: Vec<StreamGen> = (0..3)
        .map(|w| {
            StreamGen::new(
                300 + w,
                &format!("t{w}"),
                &["smb", "students"],
                &["cheap", "dear"],
            )
        })
        .collect();
    let (mut accepted, mut duplicates, mut sent) = (0u64, 0u64, 0u64);
    for _round in 0..12 {
        let mut sends = Vec::new();
        for (w, generator) in generators.iter_mut().enumerate() {
            let n = generator.batch_size(150);
            let events = generator.batch(n);
            for e in &events {
                model.apply(e, chrono::Utc::now());
                distinct.insert(e["event_id"].as_str().unwrap_or_default().to_owned());
            }
            let body = serde_json::json!({ "events": events });
            for instance in [w, (w + 1) % 3] {
                sent += n as u64;
                let request = client
                    .post(format!(
                        "{}/api/v1/initiatives/priced/events",
                        servers[instance].address
                    ))
                    .json(&body);
                sends.push(async move {
                    let r = request.send().await.expect("send");
                    let status = r.status().as_u16();
                    let body: serde_json::Value = r.json().await.unwrap_or_default();
                    (status, body)
                });
            }
        }
        for (status, body) in futures_util::future::join_all(sends).await {
            assert_eq!(status, 200, "{body}");
            accepted += body["accepted"].as_u64().expect("accepted");
            duplicates += body["duplicates"].as_u64().expect("duplicates");
        }
    }
    let stored = a.all_events("priced").await;
    let stored_ids: std::collections::HashSet<&str> = stored
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(stored.len(), stored_ids.len(), "no event stored twice");
    assert_eq!(
        stored_ids.len(),
        distinct.len(),
        "every distinct event stored"
    );
    assert_eq!(accepted, distinct.len() as u64, "each event accepted once");
    assert_eq!(
        accepted + duplicates,
        sent,
        "the other copies are duplicates"
    );
    let summary = a.summary("priced").await;
    assert_eq!(service_cells(&summary), model.cells(), "exact aggregates");
    assert_eq!(
        service_cells(&summary),
        recount_stored(&stored),
        "= recount from raw events"
    );
    for server in &servers[1..] {
        let other: serde_json::Value = client
            .get(format!(
                "{}/api/v1/initiatives/priced/summary",
                server.address
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(other["cells"], summary["cells"]);
    }
    drop(servers);
}

backend_tests!(
    two_processes_ingest_concurrently_with_exact_aggregates,
    three_processes_of_two_writers_with_overlapping_batches_store_each_event_once
);

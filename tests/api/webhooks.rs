//! Outbound webhooks: every delivery is verified by the Standard Webhooks reference
//! library (`standardwebhooks`, Python) in a local receiver (tests/fixtures/webhook_receiver.py).
//!
//! The receiver's Python is named by `OFFERLAB_TEST_PYTHON` (`.ci/run` makes a venv with
//! the library); under CI a missing variable fails these tests instead of skipping them.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{
    Backend, TestApp, TestDb, admin_key_for, client_with_key, exposure, initiative_body, preorder,
    spawn_app_with,
};
use offerlab::settings::Settings;

const PYTHON_VAR: &str = "OFFERLAB_TEST_PYTHON";

fn python() -> Option<String> {
    match std::env::var(PYTHON_VAR) {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{PYTHON_VAR} must be set under CI (a Python with the standardwebhooks package): webhook tests may not be skipped"
            );
            eprintln!("SKIPPED (webhooks): set {PYTHON_VAR} to a Python with standardwebhooks");
            None
        }
    }
}

/// A receiver process, killed when dropped.
struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(python: &str, fail_first: u32, stall_once_secs: f64) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhook_receiver.py");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(dir.path())
            .arg(fail_first.to_string())
            .arg(stall_once_secs.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the webhook receiver");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next()
            .expect("receiver exited before listening")
            .expect("read receiver stdout");
        let port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse().ok())
            .expect("receiver port");
        std::thread::spawn(move || for _ in lines {});
        Self { child, dir, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn set_secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).expect("write secret");
    }

    /// Every request received, in arrival order.
    fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("log.jsonl")).unwrap_or_default();
        let mut records: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        records.sort_by_key(|r| r["n"].as_u64());
        records
    }

    /// Requests answered 200 and not stalled (the sender saw them succeed), in order.
    fn accepted(&self) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["status"] == 200 && r["stalled"] != true)
            .collect()
    }

    /// Waits (at most a minute: a hang guard, not a measurement) until `done` holds.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let records = self.records();
            if done(&records) {
                return records;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}; received: {records:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Settings for a local receiver: private addresses allowed, short retries.
fn fast(settings: &mut Settings) {
    let w = &mut settings.webhooks;
    w.allow_private_networks = true;
    w.poll_interval_ms = 50;
    w.base_backoff_ms = 20;
    w.max_backoff_ms = 200;
    w.connect_timeout_ms = 1000;
    w.timeout_ms = 1000;
    w.lease_ms = 2000;
    w.public_base_url = "https://offerlab.example".into();
}

const ALL_TYPES: [&str; 7] = [
    "verdict.changed",
    "srm.detected",
    "plan.reached",
    "decision.recorded",
    "initiative.launched",
    "initiative.concluded",
    "inbox.item",
];

async fn subscribe(app: &TestApp, receiver: &Receiver, extra: Value) -> Value {
    let mut body = json!({"url": receiver.url(), "event_types": ALL_TYPES});
    crate::helpers::merge(&mut body, extra);
    let r = app.post("/api/v1/webhooks", &body).await;
    assert_eq!(r.status, 201, "subscribe: {}", r.text);
    let secret = r.body["secret"].as_str().expect("secret shown once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.set_secret(secret);
    r.body
}

fn count(records: &[Value], event_type: &str) -> usize {
    records
        .iter()
        .filter(|r| r["status"] == 200 && r["type"] == event_type)
        .count()
}

/// The delivery log of a subscription once nothing is pending (the receiver logs a
/// request before the sender records its answer).
async fn settled_log(app: &TestApp, id: i64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
        assert_eq!(log.status, 200, "{}", log.text);
        let deliveries = log.body["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if deliveries.iter().all(|d| d["state"] != "pending") {
            return deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries still pending: {}",
            log.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A pilot's whole life reaches a standard and a Slack subscriber, every request signed;
/// a stream of events that crosses the verdict boundary announces `verdict.changed` once.
async fn lifecycle_reaches_subscribers_signed_and_a_verdict_change_once(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(app) = spawn_app_with(backend, fast).await else {
        return;
    };
    let standard = Receiver::start(&python, 0, 0.0);
    let slack = Receiver::start(&python, 0, 0.0);
    let created = subscribe(&app, &standard, json!({"initiative": "pilot"})).await;
    subscribe(&app, &slack, json!({"format": "slack", "url": slack.url()})).await;
    // Listed without secrets.
    let list = app.get("/api/v1/webhooks").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["webhooks"].as_array().map(Vec::len), Some(2));
    assert!(!list.text.contains("whsec_"), "{}", list.text);

    app.create_segments(&["smb", "students", "enterprise"])
        .await;
    let mut body = initiative_body("pilot");
    crate::helpers::merge(
        &mut body,
        json!({"criteria": {"target_preorder_rate": 0.05, "min_exposures": 40, "planned_exposures": 400}}),
    );
    let r = app.post("/api/v1/initiatives", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post("/api/v1/initiatives/pilot/launch", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // 400 customers, 30% pre-order (far above the 5% target), in small requests: the
    // verdict moves from collecting to validated once, somewhere in the stream.
    for chunk in 0..40 {
        let mut events = Vec::new();
        for c in chunk * 10..chunk * 10 + 10 {
            events.push(exposure(&format!("e{c}"), &format!("c{c}"), "smb"));
            if c % 10 < 3 {
                events.push(preorder(&format!("p{c}"), &format!("c{c}"), 1900));
            }
        }
        let r = app.post_events("pilot", &events).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let report = app.get("/api/v1/initiatives/pilot/report").await;
    assert_eq!(
        report.body["verdict"]["status"], "validated",
        "{}",
        report.text
    );
    let r = app
        .post(
            "/api/v1/initiatives/pilot/conclude",
            &json!({"decision": "scale", "note": "Customers pay."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let records = standard
        .wait_for("the pilot's concluding events", |r| {
            count(r, "initiative.concluded") == 1 && count(r, "decision.recorded") == 1
        })
        .await;
    for r in &records {
        assert_eq!(r["verified"], true, "signature verified: {r}");
    }
    assert_eq!(count(&records, "initiative.launched"), 1, "{records:#?}");
    assert_eq!(count(&records, "verdict.changed"), 1, "{records:#?}");
    assert_eq!(count(&records, "plan.reached"), 1, "{records:#?}");
    assert_eq!(count(&records, "srm.detected"), 0, "{records:#?}");
    let ids: std::collections::BTreeSet<&str> =
        records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), records.len(), "one request per delivery");
    // The Slack subscriber gets the same five messages as Slack text (signed too).
    let slack_records = slack
        .wait_for("five Slack messages", |r| r.len() >= 5)
        .await;
    let texts: Vec<&str> = slack_records
        .iter()
        .map(|r| {
            assert_eq!(r["verified"], true, "signature verified: {r}");
            r["text"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(texts.len(), 5, "{texts:#?}");
    assert!(texts[0].contains("was launched"), "{texts:#?}");
    assert!(
        texts[1].contains("verdict collecting → *validated*"),
        "{texts:#?}"
    );
    assert!(
        texts[2].contains("reached its planned 400 exposures"),
        "{texts:#?}"
    );
    assert!(texts[3].contains("decision *scale*"), "{texts:#?}");
    assert!(texts[4].contains("was concluded"), "{texts:#?}");
    let records = standard.records();
    let change = records
        .iter()
        .find(|r| r["type"] == "verdict.changed")
        .expect("verdict.changed");
    assert_eq!(change["data"]["old_status"], "collecting");
    assert_eq!(change["data"]["new_status"], "validated");
    assert_eq!(change["data"]["initiative"]["key"], "pilot");
    assert!(
        change["data"]["sentence"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        change["data"]["counts"]["exposures"]
            .as_u64()
            .is_some_and(|n| n >= 40)
    );
    assert_eq!(
        change["data"]["report_url"],
        "https://offerlab.example/initiatives/pilot"
    );
    // The delivery log: every delivery delivered at the first attempt, with a 200.
    let id = created["id"].as_i64().expect("id");
    let deliveries = settled_log(&app, id).await;
    assert_eq!(
        deliveries.len(),
        standard.records().len(),
        "{deliveries:#?}"
    );
    for d in &deliveries {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["log"][0]["status_code"], 200, "{d}");
    }
    // Replay: the same delivery again, with the same webhook-id.
    let first = deliveries.last().expect("a delivery");
    let r = app
        .post(
            &format!("/api/v1/webhooks/{id}/deliveries/{}/replay", first["id"]),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let before = deliveries.len();
    let records = standard
        .wait_for("the replay", |r| r.len() == before + 1)
        .await;
    assert_eq!(records[before]["id"], first["message_id"]);
    assert_eq!(records[before]["verified"], true);
    // Unknown ids are 404s; removal works.
    app.get("/api/v1/webhooks/999999/deliveries")
        .await
        .assert_problem(404, None);
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/webhooks/{id}"))),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

/// A receiver that fails the first attempts and stalls once still gets every event, with
/// the same webhook-id on each retry, in order.
async fn a_flaky_receiver_gets_every_event_in_order(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(app) = spawn_app_with(backend, fast).await else {
        return;
    };
    let receiver = Receiver::start(&python, 3, 3.0);
    let created = subscribe(
        &app,
        &receiver,
        json!({"event_types": ["initiative.launched"]}),
    )
    .await;
    app.create_segments(&["smb"]).await;
    let keys: Vec<String> = (0..6).map(|i| format!("flaky-{i}")).collect();
    for key in &keys {
        app.create_initiative(key, json!({})).await;
        let r = app
            .post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    receiver
        .wait_for(
            "every launch accepted, and the stalled request's end",
            |r| {
                r.iter()
                    .filter(|x| x["status"] == 200 && x["stalled"] != true)
                    .count()
                    >= keys.len()
                    && r.iter().any(|x| x["stalled"] == true)
            },
        )
        .await;
    let records = receiver.records();
    for r in &records {
        assert_eq!(r["verified"], true, "{r}");
    }
    let accepted = receiver.accepted();
    let order: Vec<&str> = accepted
        .iter()
        .filter_map(|r| r["data"]["initiative"]["key"].as_str())
        .collect();
    assert_eq!(order, keys, "each launch once, in order: {records:#?}");
    // Arrival order (every request, failed ones too) never goes back to an earlier event.
    let position = |r: &Value| {
        let key = r["data"]["initiative"]["key"].as_str().unwrap_or_default();
        keys.iter().position(|k| k == key).expect("known key")
    };
    let positions: Vec<usize> = records.iter().map(position).collect();
    assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{positions:?}");
    // The failed attempts, the stalled one and the success of the first event share its id.
    let first_id = &records[0]["id"];
    let first_requests = records.iter().filter(|r| position(r) == 0).count();
    assert!(
        first_requests >= 5,
        "3 failures, 1 stall, 1 success: {records:#?}"
    );
    assert!(
        records
            .iter()
            .filter(|r| position(r) == 0)
            .all(|r| &r["id"] == first_id)
    );
    // The delivery log shows the failures.
    let id = created["id"].as_i64().expect("id");
    let deliveries = settled_log(&app, id).await;
    let oldest = deliveries.last().expect("deliveries");
    assert_eq!(oldest["state"], "delivered", "{oldest}");
    let codes: Vec<Value> = oldest["log"]
        .as_array()
        .map(|a| a.iter().map(|x| x["status_code"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        &codes[..3],
        &[json!(500), json!(500), json!(500)],
        "{oldest}"
    );
    assert!(
        oldest["log"][3]["error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out")),
        "{oldest}"
    );
}

/// A server process, killed (SIGKILL) when dropped.
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

fn start_server(url: &str, env: &[(&str, &str)]) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_offerlab"));
    command
        .args(["serve", "--database", url, "--bind", "127.0.0.1:0"])
        .env("OFFERLAB_ENV", "test")
        .env("OFFERLAB__SERVER__WORKERS", "2")
        .env("OFFERLAB__WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "true")
        .env("OFFERLAB__WEBHOOKS__POLL_INTERVAL_MS", "50")
        .env("OFFERLAB__WEBHOOKS__BASE_BACKOFF_MS", "20")
        .env("OFFERLAB__WEBHOOKS__MAX_BACKOFF_MS", "200")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start offerlab serve");
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
    std::thread::spawn(move || for _ in lines {});
    ServerProcess { child, address }
}

fn client_app(address: &str, key: &str, db: TestDb) -> TestApp {
    TestApp {
        address: address.to_owned(),
        client: client_with_key(key),
        admin_key: key.to_owned(),
        _db: db,
    }
}

/// The server is killed (SIGKILL) while a delivery is in flight and others wait behind
/// it; after a restart every event arrives.
async fn a_killed_server_loses_no_delivery(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let key = admin_key_for(&db);
    let url = db.url().to_owned();
    // The first request stalls 30 s; the attempt's timeout (5 s) and lease (6 s) outlast
    // the kill, so the restarted server takes the delivery over when the lease runs out.
    let receiver = Receiver::start(&python, 0, 30.0);
    let first = start_server(
        &url,
        &[
            ("OFFERLAB__WEBHOOKS__TIMEOUT_MS", "3000"),
            ("OFFERLAB__WEBHOOKS__LEASE_MS", "6000"),
        ],
    );
    let app = client_app(&first.address, &key, db);
    subscribe(
        &app,
        &receiver,
        json!({"event_types": ["initiative.launched"]}),
    )
    .await;
    app.create_segments(&["smb"]).await;
    let keys: Vec<String> = (0..5).map(|i| format!("kill-{i}")).collect();
    for k in &keys {
        app.create_initiative(k, json!({})).await;
        let r = app
            .post(&format!("/api/v1/initiatives/{k}/launch"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Wait for the first delivery to be in flight (the receiver is holding it).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !receiver.dir.path().join("stalled").exists() {
        assert!(Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(first); // SIGKILL
    let second = start_server(&url, &[]);
    let _app2 = client_app(&second.address, &key, TestDb::External { url: url.clone() });
    receiver
        .wait_for("every launch after the restart", |r| {
            r.iter()
                .filter(|x| x["status"] == 200 && x["stalled"] != true)
                .count()
                >= keys.len()
        })
        .await;
    let order: Vec<String> = receiver
        .accepted()
        .iter()
        .filter_map(|r| r["data"]["initiative"]["key"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(order, keys, "every launch, once, in order");
    for r in receiver.records() {
        assert_eq!(r["verified"], true, "{r}");
    }
}

/// Two instances on one database send each delivery once.
async fn two_instances_send_each_delivery_once(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let key = admin_key_for(&db);
    let url = db.url().to_owned();
    let receiver = Receiver::start(&python, 0, 0.0);
    let a = start_server(&url, &[]);
    let b = start_server(&url, &[]);
    let app_a = client_app(&a.address, &key, db);
    let app_b = client_app(&b.address, &key, TestDb::External { url: url.clone() });
    subscribe(
        &app_a,
        &receiver,
        json!({"event_types": ["initiative.launched"]}),
    )
    .await;
    app_a.create_segments(&["smb"]).await;
    let n = 24;
    for i in 0..n {
        let app = if i % 2 == 0 { &app_a } else { &app_b };
        let k = format!("two-{i}");
        app.create_initiative(&k, json!({})).await;
        let r = app
            .post(&format!("/api/v1/initiatives/{k}/launch"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    receiver.wait_for("every launch", |r| r.len() >= n).await;
    // Give a duplicate, if any, the time to arrive: a few sender rounds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let records = receiver.records();
    let mut ids: Vec<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), n, "{records:#?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "no delivery sent twice: {records:#?}");
    for r in &records {
        assert_eq!(r["verified"], true, "{r}");
    }
}

/// Loopback, private, link-local and metadata addresses are refused unless allowed.
async fn private_addresses_are_refused(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(app) = spawn_app_with(backend, |s| {
        fast(s);
        s.webhooks.allow_private_networks = false;
    })
    .await
    else {
        return;
    };
    for url in [
        "http://127.0.0.1:9/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://192.168.1.10/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
    ] {
        app.post(
            "/api/v1/webhooks",
            &json!({"url": url, "event_types": ["initiative.launched"]}),
        )
        .await
        .assert_problem(422, Some("url"));
    }
    // A name that resolves to loopback is accepted, but nothing is ever sent there.
    let receiver = Receiver::start(&python, 0, 0.0);
    let r = app
        .post(
            "/api/v1/webhooks",
            &json!({"url": format!("http://localhost:{}/hook", receiver.port), "event_types": ["initiative.launched"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    app.create_segments(&["smb"]).await;
    app.create_initiative("guarded", json!({})).await;
    let r = app
        .post("/api/v1/initiatives/guarded/launch", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = Instant::now() + Duration::from_secs(60);
    let error = loop {
        let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
        if let Some(e) = log.body["deliveries"][0]["log"][0]["error"].as_str() {
            break e.to_owned();
        }
        assert!(Instant::now() < deadline, "no attempt logged: {}", log.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.contains("not allowed"), "{error}");
    assert!(receiver.records().is_empty());
}

/// A signed delivery offerlab cannot place, kept in the inbox, announces `inbox.item` once:
/// the provider's retry of it adds an attempt to the entry, not a second announcement.
async fn an_inbox_item_is_announced_once(backend: Backend) {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    const FORM_SECRET: &str = "form-secret-for-inbox-items";
    let Some(python) = python() else { return };
    let Some(app) = spawn_app_with(backend, |s| {
        fast(s);
        s.forms.secret = offerlab::settings::Secret::new(FORM_SECRET);
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start(&python, 0, 0.0);
    let created = subscribe(&app, &receiver, json!({"event_types": ["inbox.item"]})).await;
    let id = created["id"].as_i64().expect("webhook id");
    // An answer for an initiative that does not exist: kept in the inbox.
    let body = json!({"id": "lost-1", "initiative": "ghost", "customer": "c-1",
        "segment": "smb", "sentiment": "love"})
    .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(FORM_SECRET.as_bytes()).expect("hmac key");
    mac.update(body.as_bytes());
    let signature = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    for attempt in 0..2 {
        let r = app
            .raw(
                "POST",
                "/hooks/form",
                &[("X-Offerlab-Signature", signature.as_str())],
                Some(("application/json", &body)),
            )
            .await;
        assert_eq!(r.status, 200, "attempt {attempt}: {}", r.body);
        let receipt: Value = serde_json::from_str(&r.body).expect("a JSON receipt");
        assert_eq!(receipt["status"], "inbox", "attempt {attempt}: {}", r.body);
    }
    let log = settled_log(&app, id).await;
    assert_eq!(
        log.len(),
        1,
        "one inbox.item for one kept delivery: {log:?}"
    );
    let records = receiver.records();
    assert_eq!(count(&records, "inbox.item"), 1, "{records:?}");
    let data = &records
        .iter()
        .find(|r| r["type"] == "inbox.item")
        .expect("the announcement")["data"];
    assert_eq!(data["provider"], "form", "{data}");
    assert_eq!(data["external_id"], "lost-1", "{data}");
    assert!(
        data["reason"].as_str().is_some_and(|r| r.contains("ghost")),
        "{data}"
    );
}

backend_tests!(
    an_inbox_item_is_announced_once,
    lifecycle_reaches_subscribers_signed_and_a_verdict_change_once,
    a_flaky_receiver_gets_every_event_in_order,
    a_killed_server_loses_no_delivery,
    two_instances_send_each_delivery_once,
    private_addresses_are_refused,
);

//! Database faults answer clearly: PostgreSQL down (503 + Retry-After within the acquire
//! timeout, `/readyz` within a second, recovery by itself), SQLite disk full (507
//! storage-full, not ready until space is freed, recovery without restart) and a
//! read-only database at start-up.
//!
//! The PostgreSQL test runs its own server (from /usr/lib/postgresql/<newest>/bin) so it
//! can stop it; the disk tests mount a small tmpfs and need root. Without them they print
//! `SKIPPED`, except the PostgreSQL one under CI, which fails instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, exposure, spawn_app_on, test_settings};

/// The acquire timeout the tests configure (the default).
const ACQUIRE_MS: u64 = 2_000;
/// Correctness bounds, not benchmarks: a fault must answer within the timeout, plus slack
/// for a loaded machine.
const FAULT_ANSWER_BOUND: Duration = Duration::from_millis(ACQUIRE_MS + 3_000);
const READY_ANSWER_BOUND: Duration = Duration::from_millis(1_000 + 1_500);

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

pub(crate) fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

// ---------------------------------------------------------------- PostgreSQL outage

/// A PostgreSQL server of the test's own, on a spare port; stopped when dropped.
pub(crate) struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    /// The newest installed server's binaries, or why there are none.
    pub(crate) fn binaries() -> Result<PathBuf, String> {
        let root = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
            .map_err(|e| format!("{}: {e}", root.display()))?
            .filter_map(Result::ok)
            .filter_map(|d| {
                let v = d.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = d.path().join("bin");
                (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((v, bin))
            })
            .collect();
        versions.sort();
        versions
            .pop()
            .map(|(_, bin)| bin)
            .ok_or_else(|| format!("no initdb/pg_ctl under {}/<version>/bin", root.display()))
    }

    /// A command of the server's binaries, as the `postgres` user when we are root
    /// (initdb refuses to run as root).
    pub(crate) fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    pub(crate) fn start_new() -> Result<Self, String> {
        let bin = Self::binaries()?;
        let dir = tempfile::Builder::new()
            .prefix("offerlab-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let pg = Self { bin, dir, port };
        run(pg.command("initdb").arg("-D").arg(pg.data()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]))?;
        pg.start()?;
        Ok(pg)
    }

    /// A streaming replica of this server: `pg_basebackup -R` of its data into a folder of
    /// its own, started on another spare port (hot standby).
    pub(crate) fn start_replica(&self) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("offerlab-pg-replica-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let replica = Self {
            bin: self.bin.clone(),
            dir,
            port,
        };
        run(replica
            .command("pg_basebackup")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg("-D")
            .arg(replica.data())
            .args(["-R", "-X", "stream", "--no-sync"]))?;
        replica.start()?;
        Ok(replica)
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub(crate) fn start(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off \
             -c wal_level=replica -c max_wal_senders=4",
            self.port,
            self.dir.path().display()
        );
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &options, "-w", "start"]))
        .map(|_| ())
    }

    /// Sends `signal` to the server's processes (its postmaster and that one's children).
    fn signal(&self, signal: &str) -> Result<(), String> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .map_err(|e| format!("postmaster.pid: {e}"))?;
        let pid = pid_file
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        // The postmaster first: once stopped it forks no new backend, so the children
        // listed next are all there are (a backend forked between a listing and the
        // postmaster's stop would keep answering). A backend may exit between pgrep and
        // kill (a closed connection), so each child is signalled on its own, best effort.
        run(Command::new("kill").arg(format!("-{signal}")).arg(&pid))?;
        let children = Command::new("pgrep")
            .args(["-P", &pid])
            .output()
            .map_err(|e| format!("pgrep: {e}"))?;
        for child in String::from_utf8_lossy(&children.stdout).split_whitespace() {
            let _ = run(Command::new("kill").arg(format!("-{signal}")).arg(child));
        }
        Ok(())
    }

    pub(crate) fn stop(&self) -> Result<(), String> {
        run(self.command("pg_ctl").arg("-D").arg(self.data()).args([
            "-m",
            "immediate",
            "-w",
            "stop",
        ]))
        .map(|_| ())
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.signal("CONT");
        let _ = self.stop();
    }
}

/// Posts one exposure per id; returns the reply, its `Retry-After` and how long it took.
async fn ingest(
    app: &TestApp,
    key: &str,
    ids: &[String],
) -> (u16, Value, Option<String>, Duration) {
    let events: Vec<Value> = ids
        .iter()
        .map(|id| exposure(id, &format!("cust-{id}"), "smb"))
        .collect();
    let started = Instant::now();
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/initiatives/{key}/events")))
        .json(&json!({ "events": events }))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, retry_after, started.elapsed())
}

async fn readyz(app: &TestApp) -> (u16, Value, Duration) {
    let started = Instant::now();
    let resp = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, started.elapsed())
}

fn ids(prefix: &str, round: usize, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{round}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_quickly_and_recovers_without_losing_acknowledged_events() {
    let pg = match OwnPostgres::start_new() {
        Ok(pg) => pg,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the PostgreSQL outage test must run under CI: {why}"
            );
            eprintln!("SKIPPED (PostgreSQL outage): {why}");
            return;
        }
    };
    let app = spawn_app_on(TestDb::External { url: pg.url() }, |s| {
        s.database.acquire_timeout_ms = ACQUIRE_MS;
    })
    .await;
    app.running_initiative("outage", json!({})).await;

    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    for round in 0..10 {
        let batch = ids("up", round, 5);
        let (status, body, _, _) = ingest(&app, "outage", &batch).await;
        assert_eq!(status, 200, "ingest while up: {body}");
        acknowledged.extend(batch);
    }

    pg.stop().expect("stop PostgreSQL");

    // Sequential requests, then a burst of concurrent ones: every one fails fast and clearly.
    for round in 0..4 {
        let batch = ids("down", round, 5);
        let (status, body, retry_after, took) = ingest(&app, "outage", &batch).await;
        if status == 200 {
            acknowledged.extend(batch);
            continue;
        }
        eprintln!("PostgreSQL down: ingest {status} in {took:?}");
        assert_eq!(status, 503, "database down: {body}");
        assert!(retry_after.is_some(), "503 carries Retry-After: {body}");
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.ends_with(":unavailable")),
            "the unavailable problem type: {body}"
        );
        assert!(
            took < FAULT_ANSWER_BOUND,
            "answered in {took:?}, beyond the acquire timeout ({ACQUIRE_MS} ms) plus slack"
        );
    }
    let burst: Vec<_> = (0..8)
        .map(|round| {
            let batch = ids("burst", round, 3);
            let app = &app;
            async move { (ingest(app, "outage", &batch).await, batch) }
        })
        .collect();
    for ((status, body, retry_after, took), batch) in futures_util::future::join_all(burst).await {
        if status == 200 {
            acknowledged.extend(batch);
            continue;
        }
        eprintln!("PostgreSQL down: concurrent ingest {status} in {took:?}");
        assert_eq!(status, 503, "database down (concurrent): {body}");
        assert!(retry_after.is_some(), "503 carries Retry-After: {body}");
        assert!(
            took < FAULT_ANSWER_BOUND,
            "concurrent request answered in {took:?}"
        );
    }
    // A read needs a pooled connection: also 503 within the timeout.
    let started = Instant::now();
    let r = app.get("/api/v1/initiatives/outage/summary").await;
    assert_eq!(r.status, 503, "a read while down: {}", r.text);
    assert!(
        started.elapsed() < FAULT_ANSWER_BOUND,
        "read answered in {:?}",
        started.elapsed()
    );

    for _ in 0..3 {
        let (status, body, took) = readyz(&app).await;
        eprintln!("PostgreSQL down: /readyz {status} in {took:?}");
        assert_eq!(status, 503, "/readyz while down: {body}");
        assert!(took < READY_ANSWER_BOUND, "/readyz answered in {took:?}");
    }

    pg.start().expect("restart PostgreSQL");

    // Recovery by itself: ingest succeeds again within some seconds of retries.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut round = 0;
    loop {
        let batch = ids("back", round, 5);
        round += 1;
        let (status, body, _, _) = ingest(&app, "outage", &batch).await;
        if status == 200 {
            acknowledged.extend(batch);
            break;
        }
        assert!(
            status == 503,
            "while reconnecting only 503 is expected, got {status}: {body}"
        );
        assert!(Instant::now() < deadline, "ingest did not recover: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for round in 0..5 {
        let batch = ids("after", round, 5);
        let (status, body, _, _) = ingest(&app, "outage", &batch).await;
        assert_eq!(status, 200, "ingest after recovery: {body}");
        acknowledged.extend(batch);
    }
    let (status, body, _) = readyz(&app).await;
    assert_eq!(status, 200, "/readyz after recovery: {body}");

    // A server that accepts connections but never answers (frozen): requests still get
    // 503 within the timeout instead of hanging, and /readyz still answers within ~1 s.
    pg.signal("STOP").expect("freeze PostgreSQL");
    for round in 0..2 {
        let batch = ids("frozen", round, 5);
        let (status, body, retry_after, took) = ingest(&app, "outage", &batch).await;
        eprintln!("PostgreSQL frozen: ingest {status} in {took:?}");
        assert_eq!(status, 503, "database frozen: {body}");
        assert!(retry_after.is_some(), "503 carries Retry-After: {body}");
        assert!(took < FAULT_ANSWER_BOUND, "answered in {took:?}");
    }
    let (status, body, took) = readyz(&app).await;
    eprintln!("PostgreSQL frozen: /readyz {status} in {took:?}");
    assert_eq!(status, 503, "/readyz while frozen: {body}");
    assert!(took < READY_ANSWER_BOUND, "/readyz answered in {took:?}");
    pg.signal("CONT").expect("thaw PostgreSQL");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let batch = ids("thawed", round, 5);
        round += 1;
        let (status, body, _, _) = ingest(&app, "outage", &batch).await;
        if status == 200 {
            acknowledged.extend(batch);
            break;
        }
        assert_eq!(status, 503, "after thawing: {body}");
        assert!(Instant::now() < deadline, "ingest did not recover: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every acknowledged event is stored (a refused one may be too: retried ids dedupe).
    let stored: BTreeSet<String> = app
        .all_events("outage")
        .await
        .iter()
        .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert!(
        acknowledged.len() >= 80,
        "{} acknowledged",
        acknowledged.len()
    );
}

// ---------------------------------------------------------------- SQLite disk full

/// A small tmpfs mounted on a temporary folder; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Self, String> {
        if !is_root() {
            return Err("mounting a tmpfs needs root".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("offerlab-tmpfs-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path()))?;
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount_read_only(&self) -> Result<(), String> {
        run(Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path()))
        .map(|_| ())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the server of the test may still hold its files open.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// Writes zeros until the file system is full; returns how many bytes were written.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("filler file");
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = f.flush();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_answers_storage_full_and_recovers_when_space_is_freed() {
    let mount = match Tmpfs::mount("16m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIPPED (SQLite disk full): {why}");
            return;
        }
    };
    let url = format!("sqlite://{}", mount.path().join("offerlab.db").display());
    let app = spawn_app_on(TestDb::External { url }, |_| {}).await;
    app.running_initiative("full", json!({})).await;
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let batch = ids("before", 0, 50);
    let (status, body, _, _) = ingest(&app, "full", &batch).await;
    assert_eq!(status, 200, "ingest before the disk fills: {body}");
    acknowledged.extend(batch);

    let filler = mount.path().join("filler");
    assert!(fill(&filler) > 0, "the filler took the free space");

    // Ingest until writes fail (the WAL may still have room for a few).
    let mut refused = None;
    for round in 0..400 {
        let batch = ids("fill", round, 200);
        let (status, body, retry_after, _) = ingest(&app, "full", &batch).await;
        if status == 200 {
            acknowledged.extend(batch);
            continue;
        }
        refused = Some((status, body, retry_after));
        break;
    }
    let (status, body, retry_after) = refused.expect("writes fail once the disk is full");
    eprintln!("disk full: ingest {status} {body}");
    assert!(
        status == 507 || status == 503,
        "storage full is 507 (or 503), not {status}: {body}"
    );
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(":storage-full")),
        "the storage-full problem type: {body}"
    );
    assert!(retry_after.is_some(), "Retry-After: {body}");
    let (status, body, took) = readyz(&app).await;
    assert_eq!(status, 503, "/readyz while writes fail: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("full")),
        "/readyz says why: {body}"
    );
    assert!(took < READY_ANSWER_BOUND, "/readyz answered in {took:?}");

    std::fs::remove_file(&filler).expect("free the space");

    let (status, body, _) = readyz(&app).await;
    assert_eq!(status, 200, "/readyz once space is freed: {body}");
    let batch = ids("after", 0, 50);
    let (status, body, _, _) = ingest(&app, "full", &batch).await;
    assert_eq!(
        status, 200,
        "ingest once space is freed, without a restart: {body}"
    );
    acknowledged.extend(batch);
    let (status, body, _) = readyz(&app).await;
    assert_eq!(status, 200, "/readyz after a successful write: {body}");

    let stored: BTreeSet<String> = app
        .all_events("full")
        .await
        .iter()
        .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    drop(app);
}

// ---------------------------------------------------------------- read-only start

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_on_a_read_only_database_says_read_only() {
    let mount = match Tmpfs::mount("8m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIPPED (read-only database): {why}");
            return;
        }
    };
    let url = format!("sqlite://{}", mount.path().join("offerlab.db").display());
    let settings = test_settings(&url);
    let options = settings.store_options().expect("options");
    drop(offerlab::store::Store::open(options).expect("create the database"));
    mount.remount_read_only().expect("remount read-only");

    let err = tokio::task::spawn_blocking(move || {
        offerlab::app::Application::build(settings).map(|_| ())
    })
    .await
    .expect("build task")
    .expect_err("a read-only database cannot serve");
    let message = format!("{err:#}");
    eprintln!("read-only start: {message}");
    assert!(message.contains("read-only"), "{message}");
    assert!(message.contains("offerlab.db"), "names the file: {message}");
}

// ---------------------------------------------------------------- pool exhausted

/// Every pooled connection busy for the whole acquire timeout: a 503 `busy` problem with
/// `Retry-After`, and the request holding the connection still completes. The pool (one
/// connection) is held by a report whose read waits on a table lock the test takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_answers_503_busy_with_retry_after() {
    let Some(db) = TestDb::create(crate::helpers::Backend::Postgres) else {
        return;
    };
    let url = db.url().to_owned();
    let url_for_watch = url.clone();
    let app = spawn_app_on(db, |s| {
        s.database.pool_size = 1;
        s.database.acquire_timeout_ms = 1_000;
    })
    .await;
    app.running_initiative("crowded", json!({})).await;
    // Warm the access cache so the held request needs the pool only for its read.
    assert_eq!(
        app.get("/api/v1/initiatives/crowded/report").await.status,
        200
    );

    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        use diesel::connection::SimpleConnection;
        let mut c = <diesel::PgConnection as diesel::Connection>::establish(&url).unwrap();
        c.batch_execute("BEGIN; LOCK TABLE aggregate_cells IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(Duration::from_secs(60));
        c.batch_execute("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let held = {
        let request = app
            .client
            .get(app.url("/api/v1/initiatives/crowded/report"));
        tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
    };
    // The held request has the one connection once its read waits on the lock.
    let watch_url = url_for_watch.clone();
    let waiting = tokio::task::spawn_blocking(move || {
        let mut c = <diesel::PgConnection as diesel::Connection>::establish(&watch_url).unwrap();
        for _ in 0..200 {
            let n: i64 = diesel::RunQueryDsl::get_result(
                diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "(SELECT count(*) FROM pg_stat_activity \
                      WHERE datname = current_database() AND wait_event_type = 'Lock')",
                )),
                &mut c,
            )
            .unwrap();
            if n > 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    })
    .await
    .unwrap();
    assert!(waiting, "the held report waits on the lock");
    let busy = app
        .client
        .get(app.url("/api/v1/initiatives/crowded/report"))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);
    let retry_after = busy
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = busy
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = busy.json().await.unwrap();
    assert_eq!(body["type"], "urn:offerlab:problem:busy", "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(
        held.await.unwrap().unwrap(),
        200,
        "the held request completes"
    );
    assert_eq!(
        app.get("/api/v1/initiatives/crowded/report").await.status,
        200
    );
}

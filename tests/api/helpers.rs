//! Spawns the real service on a random port with a fresh database per test.
//!
//! SQLite: a temporary file. PostgreSQL: a fresh database created on the server named by
//! `OFFERLAB_TEST_POSTGRES_URL` (an admin URL, e.g. postgres://offerlab:offerlab@127.0.0.1/postgres)
//! and dropped afterwards. Both are copies of a template migrated once per test run
//! (`template.rs`), so the server finds nothing to migrate. When that variable is set the PostgreSQL tests run; under CI
//! (`CI` set) a missing variable fails them instead of skipping.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::{Connection, RunQueryDsl};
use offerlab::app::Application;
use offerlab::domain::access::Role;
use offerlab::settings::Settings;
use offerlab::store::Store;
use serde_json::{Value, json};

pub const POSTGRES_URL_VAR: &str = "OFFERLAB_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database; removed when dropped.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    /// A database the test manages itself (its own server, a special mount).
    External { url: String },
}

impl TestDb {
    /// A new migrated database (a copy of the run's template), or `None` when PostgreSQL
    /// is not configured (outside CI).
    pub fn create(backend: Backend) -> Option<Self> {
        Self::make(backend, true)
    }

    /// A new empty database, for tests of the migrations themselves.
    pub fn create_unmigrated(backend: Backend) -> Option<Self> {
        Self::make(backend, false)
    }

    fn make(backend: Backend, migrated: bool) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("offerlab.db");
                if migrated {
                    crate::template::sqlite_copy(&path);
                }
                let url = format!("sqlite://{}", path.display());
                Some(TestDb::Sqlite { _dir: dir, url })
            }
            Backend::Postgres => {
                let admin_url = match std::env::var(POSTGRES_URL_VAR) {
                    Ok(u) if !u.is_empty() => u,
                    _ => {
                        assert!(
                            std::env::var_os("CI").is_none(),
                            "{POSTGRES_URL_VAR} must be set under CI: PostgreSQL tests may not be skipped"
                        );
                        eprintln!("SKIPPED (PostgreSQL): set {POSTGRES_URL_VAR} to run it");
                        return None;
                    }
                };
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "offerlab_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    chrono::Utc::now().timestamp_micros() % 1_000_000_000
                );
                let mut admin =
                    diesel::PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
                if migrated {
                    crate::template::postgres_copy(&mut admin, &admin_url, &name);
                } else {
                    diesel::sql_query(format!("CREATE DATABASE {name}"))
                        .execute(&mut admin)
                        .expect("create an empty test database");
                }
                let url = crate::template::postgres_url(&admin_url, &name);
                Some(TestDb::Postgres {
                    admin_url,
                    name,
                    url,
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. }
            | TestDb::Postgres { url, .. }
            | TestDb::External { url } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// A running service and a client for it.
pub struct TestApp {
    pub address: String,
    /// An admin API key; `client` sends it with every request.
    pub admin_key: String,
    pub client: reqwest::Client,
    /// Kept alive for the test's duration; dropped (removed) after it.
    pub _db: TestDb,
}

pub fn test_settings(url: &str) -> Settings {
    let mut settings =
        Settings::load_from(std::path::Path::new("config"), "test").expect("test settings");
    settings.database.url = url.into();
    settings.database.pool_size = 4;
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 2;
    settings
}

/// Starts the service on a random port with a fresh database.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with changed settings.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let db = TestDb::create(backend)?;
    Some(spawn_app_on(db, adjust).await)
}

/// Starts the service on a given database.
pub async fn spawn_app_on(db: TestDb, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(db.url());
    adjust(&mut settings);
    let (app, admin_key) = tokio::task::spawn_blocking(move || {
        let app = Application::build(settings).expect("build application");
        let key = create_key(app.store(), Role::Admin, None);
        (app, key)
    })
    .await
    .expect("build task");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client_with_key(&admin_key),
        admin_key,
        _db: db,
    }
}

/// Creates an API key directly in the database.
pub fn create_key(store: &Store, role: Role, team: Option<&str>) -> String {
    let mut conn = store.conn().expect("connection");
    offerlab::store::keys::create(
        &mut conn,
        &offerlab::domain::audit::Actor::system("test setup"),
        "test key",
        role,
        team.map(|t| offerlab::domain::TeamKey::parse(t).expect("team")),
        chrono::Utc::now(),
    )
    .expect("create key")
    .secret
}

/// An admin key for a database that no server of this process has opened.
pub fn admin_key_for(db: &TestDb) -> String {
    let options = test_settings(db.url()).store_options().expect("options");
    let store = Store::open(options).expect("open store");
    create_key(&store, Role::Admin, None)
}

/// Installs the TLS crypto provider (ring) once per process: reqwest is built with
/// rustls without a default provider (see Cargo.toml), and refuses to build a client
/// before one is installed.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client without a key.
pub fn plain_client() -> reqwest::Client {
    install_tls();
    reqwest::Client::new()
}

/// A client that sends `key` as its bearer key with every request.
pub fn client_with_key(key: &str) -> reqwest::Client {
    install_tls();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// A response read to the end.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts a problem document with this status naming `field` (when given).
    pub fn assert_problem(&self, status: u16, field: Option<&str>) {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.content_type, "application/problem+json",
            "content type; body: {}",
            self.text
        );
        assert_eq!(self.body["status"], status, "problem status: {}", self.text);
        assert!(
            self.body["type"].as_str().is_some_and(|t| !t.is_empty()),
            "problem type: {}",
            self.text
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "problem detail: {}",
            self.text
        );
        if let Some(field) = field {
            let errors = self.body["errors"].as_array().cloned().unwrap_or_default();
            assert!(
                errors
                    .iter()
                    .any(|e| e["field"] == field
                        && e["reason"].as_str().is_some_and(|r| !r.is_empty())),
                "expected an error for field {field}: {}",
                self.text
            );
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.patch(self.url(path)).json(body))
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn create_segments(&self, keys: &[&str]) {
        for key in keys {
            let r = self.post("/api/v1/segments", &json!({"key": key})).await;
            assert_eq!(r.status, 201, "create segment {key}: {}", r.text);
        }
    }

    /// Creates an initiative from `initiative_body(key, ...)` merged with `extra`.
    pub async fn create_initiative(&self, key: &str, extra: Value) -> Value {
        let mut body = initiative_body(key);
        merge(&mut body, extra);
        let r = self.post("/api/v1/initiatives", &body).await;
        assert_eq!(r.status, 201, "create initiative: {}", r.text);
        r.body
    }

    /// Segments `smb`, `students`, `enterprise`; a running initiative with core `smb`.
    pub async fn running_initiative(&self, key: &str, extra: Value) -> Value {
        self.create_segments(&["smb", "students", "enterprise"])
            .await;
        self.create_initiative(key, extra).await;
        let r = self
            .post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "launch: {}", r.text);
        r.body
    }

    /// A running initiative `priced` with variants `cheap` (19 EUR, weight 3) and
    /// `dear` (29 EUR, weight 1). Segments must exist. It pre-registers a backfill of 30
    /// days ([`backfill_from`]): the random streams sent to it date responses up to two
    /// weeks back.
    pub async fn running_initiative_variants(&self) -> Value {
        self.create_initiative(
            "priced",
            json!({"variants": [
                {"key": "cheap", "weight": 3, "price_cents": 1900},
                {"key": "dear", "weight": 1, "price_cents": 2900},
            ], "criteria": {"target_preorder_rate": 0.05, "backfill_from": backfill_from(30)}}),
        )
        .await;
        let r = self
            .post("/api/v1/initiatives/priced/launch", &json!({}))
            .await;
        assert_eq!(r.status, 200, "launch: {}", r.text);
        r.body
    }

    pub async fn running_initiative_variants_with_segments(&self) -> Value {
        self.create_segments(&["smb", "students", "enterprise"])
            .await;
        self.running_initiative_variants().await
    }

    pub async fn post_events(&self, key: &str, events: &[Value]) -> Reply {
        self.post(
            &format!("/api/v1/initiatives/{key}/events"),
            &json!({ "events": events }),
        )
        .await
    }

    pub async fn summary(&self, key: &str) -> Value {
        let r = self
            .get(&format!("/api/v1/initiatives/{key}/summary"))
            .await;
        assert_eq!(r.status, 200, "summary: {}", r.text);
        r.body
    }

    /// Every stored event, following the cursor.
    pub async fn all_events(&self, key: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let r = self
                .get(&format!(
                    "/api/v1/initiatives/{key}/events?limit=1000&after={after}"
                ))
                .await;
            assert_eq!(r.status, 200, "events page: {}", r.text);
            let page = r.body["events"].as_array().cloned().unwrap_or_default();
            out.extend(page);
            after = r.body["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if r.body["has_more"] != true {
                return out;
            }
        }
    }
}

/// A `backfill_from` `days` before now (RFC 3339), for an initiative that accepts events
/// dated before its launch.
pub fn backfill_from(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339()
}

pub fn initiative_body(key: &str) -> Value {
    json!({
        "key": key,
        "name": format!("Initiative {key}"),
        "kind": "value_engineering",
        "hypothesis": "Customers will pre-order at 19 EUR.",
        "owner_team": "growth",
        "offer": {"price_cents": 1900, "currency": "EUR"},
        "core_segments": ["smb"],
        "criteria": {"target_preorder_rate": 0.05},
    })
}

/// Shallow-merges the fields of `extra` into `base` (a `null` removes a field).
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
}

pub fn exposure(id: &str, customer: &str, segment: &str) -> Value {
    json!({"event_id": id, "type": "exposure", "customer_id": customer, "segment": segment})
}

pub fn preorder(id: &str, customer: &str, cents: i64) -> Value {
    json!({"event_id": id, "type": "preorder", "customer_id": customer, "amount_cents": cents, "currency": "EUR"})
}

pub fn cancellation(id: &str, customer: &str) -> Value {
    json!({"event_id": id, "type": "cancellation", "customer_id": customer})
}

pub fn response(id: &str, customer: &str, sentiment: &str) -> Value {
    json!({"event_id": id, "type": "response", "customer_id": customer, "sentiment": sentiment})
}

/// Generates one `#[tokio::test]` per backend for each named `async fn name(Backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Generates one `#[tokio::test]`, on SQLite, for each named `async fn name(Backend)` that
/// does not depend on the database (headers, routing, the document): running it on each
/// backend would run the same code twice.
#[macro_export]
macro_rules! once_tests {
    ($($name:ident),* $(,)?) => {
        mod once {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
    };
}

/// A response to a request sent byte for byte, as a hostile client would.
pub struct RawReply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl TestApp {
    /// Signs in to the pages with an API key through the form; answers the session cookie
    /// (`name=value`) to send back.
    pub async fn key_session_cookie(&self, key: &str) -> String {
        let r = self
            .raw(
                "POST",
                "/sign-in",
                &[],
                Some(("application/x-www-form-urlencoded", &format!("key={key}"))),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let set = r.header("set-cookie").expect("a session cookie");
        set.split(';').next().unwrap_or_default().to_owned()
    }

    /// Sends `method target` exactly as given (no client-side normalisation of dot
    /// segments or percent-encoding), over a fresh connection.
    pub async fn raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> RawReply {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.address.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&host)
            .await
            .expect("connect");
        let mut request =
            format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let (content_type, body) = body.unwrap_or(("", ""));
        if !content_type.is_empty() {
            request.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("read");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (head, rest) = text
            .split_once("\r\n\r\n")
            .expect("a complete response head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            unchunk(rest)
        } else {
            rest.to_owned()
        };
        RawReply {
            status,
            headers,
            body,
        }
    }
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// How many rows `table` holds in the test's database.
pub fn count_rows(db: &TestDb, table: &str) -> i64 {
    query_n(db, &format!("SELECT COUNT(*) AS n FROM {table}"))
}

/// The `n` (a BIGINT) of the one row `sql` returns in the test's database.
pub fn query_n(db: &TestDb, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let url = db.url();
    if url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(url).expect("postgres");
        diesel::sql_query(sql).get_result::<N>(&mut c).expect(sql).n
    } else {
        let path = url.trim_start_matches("sqlite://");
        let mut c = diesel::SqliteConnection::establish(path).expect("sqlite");
        diesel::sql_query(sql).get_result::<N>(&mut c).expect(sql).n
    }
}

/// Runs a statement on the test's database behind the server's back.
pub fn execute_sql(db: &TestDb, sql: &str) -> usize {
    let url = db.url();
    if url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(url).expect("postgres");
        diesel::sql_query(sql).execute(&mut c).expect(sql)
    } else {
        let path = url.trim_start_matches("sqlite://");
        let mut c = diesel::SqliteConnection::establish(path).expect("sqlite");
        diesel::sql_query(sql).execute(&mut c).expect(sql)
    }
}

//! Servers for the page tests: the real service in-process on a random port with a
//! fresh SQLite database, on its own thread and actix system so that one server (the
//! demo) can serve every test of this binary.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::mpsc;

use offerlab::app::Application;
use offerlab::settings::Settings;
use serde_json::{Value, json};

/// A running service.
pub struct Server {
    pub address: String,
    /// An admin API key for the `/api/v1` calls.
    pub key: String,
    /// The database URL (to seed what the API cannot, e.g. inbox entries).
    pub database_url: String,
    /// Removed when the test binary ends.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a service on a fresh database, with the demo pilots when `demo`.
    pub fn start(demo: bool) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::load_from(Path::new("config"), "test").expect("test settings");
        settings.database.url =
            format!("sqlite://{}", dir.path().join("offerlab.db").display()).into();
        let database_url = settings.database.url.expose().to_owned();
        settings.database.pool_size = 4;
        settings.server.bind = "127.0.0.1:0".into();
        settings.server.workers = 2;
        // Sign-in has tests of its own (tests/api/dashboard.rs).
        settings.dashboard.public = true;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("web-test-server".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let app = Application::build(settings).expect("build application");
                    let mut conn = app.store().conn().expect("connection");
                    if demo {
                        offerlab::demo::load(&mut conn, 42, chrono::Utc::now()).expect("demo");
                    }
                    let key = offerlab::store::keys::create(
                        &mut conn,
                        &offerlab::domain::audit::Actor::system("test setup"),
                        "web tests",
                        offerlab::domain::access::Role::Admin,
                        None,
                        chrono::Utc::now(),
                    )
                    .expect("admin key")
                    .secret;
                    drop(conn);
                    tx.send((app.port(), key)).expect("report port");
                    app.run_until_stopped().await.expect("serve");
                })
            })
            .expect("server thread");
        let (port, key) = rx.recv().expect("server started");
        Server {
            address: format!("http://127.0.0.1:{port}"),
            key,
            database_url,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Page {
        let resp = {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        }
        .get(self.url(path))
        .bearer_auth(&self.key)
        .send()
        .await
        .expect("request");
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let content_type = header("content-type");
        let csp = header("content-security-policy");
        let body = resp.text().await.expect("body");
        Page {
            status,
            content_type,
            csp,
            body,
        }
    }

    pub async fn json(&self, path: &str) -> Value {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        serde_json::from_str(&page.body).expect("JSON")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let resp = {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        }
        .post(self.url(path))
        .bearer_auth(&self.key)
        .json(body)
        .send()
        .await
        .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        assert!((200..300).contains(&status), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The portfolio as the API returns it.
    pub async fn portfolio(&self) -> Vec<Value> {
        self.json("/api/v1/portfolio").await["initiatives"]
            .as_array()
            .cloned()
            .expect("initiatives")
    }

    /// A running initiative `key` named `name` with segments `smb` (core) and
    /// `students`, a few events, then concluded with `note`.
    pub async fn concluded_initiative(&self, key: &str, name: &str, note: &str) {
        for segment in ["smb", "students"] {
            self.post("/api/v1/segments", &json!({"key": segment}))
                .await;
        }
        self.post(
            "/api/v1/initiatives",
            &json!({
                "key": key,
                "name": name,
                "kind": "value_engineering",
                "hypothesis": format!("{name} will sell. <img src=x onerror=alert(1)>"),
                "owner_team": "growth",
                "offer": {"price_cents": 1900, "currency": "EUR"},
                "core_segments": ["smb"],
                "criteria": {"target_preorder_rate": 0.05, "min_exposures": 1},
            }),
        )
        .await;
        self.post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        let mut events = Vec::new();
        for n in 0..12 {
            let customer = format!("c{n}");
            let segment = if n % 3 == 0 { "students" } else { "smb" };
            events.push(json!({"event_id": format!("x{n}"), "type": "exposure", "customer_id": customer, "segment": segment}));
            if n % 4 == 0 {
                events.push(json!({"event_id": format!("p{n}"), "type": "preorder", "customer_id": customer, "amount_cents": 1900, "currency": "EUR"}));
            }
            let sentiment = ["love", "like", "neutral", "dislike"][n % 4];
            events.push(json!({"event_id": format!("r{n}"), "type": "response", "customer_id": customer, "sentiment": sentiment}));
        }
        self.post(
            &format!("/api/v1/initiatives/{key}/events"),
            &json!({ "events": events }),
        )
        .await;
        self.post(
            &format!("/api/v1/initiatives/{key}/conclude"),
            &json!({"decision": "iterate", "note": note}),
        )
        .await;
    }
    /// A running pilot `g{i}` in `mode` with `n` exposed customers (two segments) of whom
    /// `k` pre-ordered (the first call creates the segments).
    pub async fn pilot(&self, i: usize, mode: &str, n: usize, k: usize) -> String {
        let key = format!("g{i}");
        if i == 0 {
            for segment in ["smb", "students"] {
                self.post("/api/v1/segments", &json!({"key": segment}))
                    .await;
            }
        }
        self
        .post(
            "/api/v1/initiatives",
            &json!({
                "key": key,
                "name": format!("Pilot {key}"),
                "kind": "value_engineering",
                "hypothesis": "Customers will pre-order.",
                "owner_team": "growth",
                "offer": {"price_cents": 1900, "currency": "EUR"},
                "core_segments": ["smb"],
                "mode": mode,
                "criteria": {"target_preorder_rate": 0.05, "min_exposures": 100, "planned_exposures": 1000},
            }),
        )
        .await;
        self.post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        let mut events = Vec::new();
        for i in 0..n {
            let customer = format!("c{i}");
            let segment = if i % 3 == 0 { "students" } else { "smb" };
            events.push(json!({"event_id": format!("x{i}"), "type": "exposure", "customer_id": customer, "segment": segment}));
            // Pre-orders spread evenly over the customers.
            if (i * k) / n.max(1) != ((i + 1) * k) / n.max(1) {
                events.push(json!({"event_id": format!("p{i}"), "type": "preorder", "customer_id": customer, "amount_cents": 1900, "currency": "EUR"}));
            }
        }
        for chunk in events.chunks(5_000) {
            self.post(
                &format!("/api/v1/initiatives/{key}/events"),
                &json!({ "events": chunk }),
            )
            .await;
        }
        key
    }
}

/// Pilot states the page tests render, as (mode, exposed, pre-ordered) against a 5% target,
/// minimum 100 and planned 1,000: tiny, collecting, both sides, on the target, past the plan;
/// fixed mode before and after its single read.
pub const GENERATED_STATES: &[(&str, usize, usize)] = &[
    ("sequential", 3, 3),
    ("sequential", 60, 12),
    ("sequential", 200, 40),
    ("sequential", 200, 2),
    ("sequential", 400, 20),
    ("sequential", 1_000, 80),
    ("sequential", 1_500, 30),
    ("fixed", 300, 60),
    ("fixed", 1_200, 120),
    ("fixed", 1_200, 30),
];

/// The demo service shared by the tests of this binary.
pub fn demo() -> &'static Server {
    static DEMO: OnceLock<Server> = OnceLock::new();
    DEMO.get_or_init(|| Server::start(true))
}

/// A page read to the end.
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub csp: String,
    pub body: String,
}

impl Page {
    /// Asserts an HTML page with this status and the security headers.
    pub fn assert_html(&self, status: u16) {
        assert_eq!(self.status, status, "status; body: {}", self.body);
        assert_eq!(self.content_type, "text/html; charset=utf-8");
        assert!(self.body.starts_with("<!DOCTYPE html>"), "{}", self.body);
        assert!(
            self.csp.contains("default-src 'none'"),
            "CSP: {:?}",
            self.csp
        );
        assert!(
            !self.body.contains("http://") && !self.body.contains("https://"),
            "pages reference only their own server: {}",
            self.body
        );
        assert!(!self.body.contains("<script"), "pages run no script");
    }

    /// The `data-key` of each portfolio row, in order.
    pub fn row_keys(&self) -> Vec<String> {
        self.body
            .split("<tr data-key=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(str::to_owned)
            .collect()
    }
}

/// Text as maud writes it into HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The keys of `entries` in order.
pub fn keys(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["key"].as_str().expect("key").to_owned())
        .collect()
}

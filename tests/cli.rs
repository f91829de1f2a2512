//! The command line and configuration layering, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Test code: an out-of-range index, a panic or a lossy cast fails the test, which is
// what test code is for (the crate's lints keep them out of the service's code).
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_lossless
)]

use std::process::Command;

fn offerlab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offerlab"));
    c.env("OFFERLAB_ENV", "test");
    c
}

/// Runs a command to its end: (whether it succeeded, its stdout, its stderr).
fn outcome(command: &mut Command) -> (bool, String, String) {
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `name=value` of the cookie an answer sets (the session after a sign-in).
fn session_cookie(r: &reqwest::Response) -> String {
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// Runs `offerlab ARGS --database DB` to its end: (success, stdout, stderr).
fn run_on(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    outcome(offerlab().args(args).arg("--database").arg(db))
}

#[test]
fn migrate_takes_the_database_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested").join("env.db");
    let out = offerlab()
        .arg("migrate")
        .env(
            "OFFERLAB__DATABASE__URL",
            format!("sqlite://{}", db.display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists(), "the SQLite file and its folder are created");
}

#[test]
fn the_flag_wins_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let from_env = dir.path().join("env.db");
    let from_flag = dir.path().join("flag.db");
    let out = offerlab()
        .args(["migrate", "--database"])
        .arg(&from_flag)
        .env(
            "OFFERLAB__DATABASE__URL",
            format!("sqlite://{}", from_env.display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(from_flag.exists() && !from_env.exists());
}

#[test]
fn unknown_settings_are_rejected() {
    let out = offerlab()
        .arg("migrate")
        .env("OFFERLAB__DATABASE__COLOUR", "red")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("environment variable OFFERLAB__DATABASE__COLOUR")
            && stderr.contains("database.colour"),
        "names where it was set and the key: {stderr}"
    );
}

#[test]
fn an_unknown_environment_is_an_error_naming_its_file() {
    let out = offerlab()
        .arg("migrate")
        .env("OFFERLAB_ENV", "staging")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OFFERLAB_ENV=staging") && stderr.contains("config/staging.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("known: local, test"), "{stderr}");
}

#[test]
fn a_bad_config_file_is_an_error_naming_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    let db = dir.path().join("bad.db");
    let run = |file: &str, toml: &str| {
        let path = dir.path().join("config").join(file);
        std::fs::write(&path, toml).unwrap();
        let out = offerlab()
            .env_remove("OFFERLAB_ENV")
            .current_dir(dir.path())
            .args(["migrate", "--database"])
            .arg(&db)
            .output()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(!out.status.success(), "{toml:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A wrong type, in the environment's file (`local` when OFFERLAB_ENV is unset).
    let stderr = run("local.toml", "[server]\nworkers = \"many\"\n");
    assert!(
        stderr.contains("config/local.toml") && stderr.contains("server.workers"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid type"), "{stderr}");
    // An unknown key, in the shared file.
    let stderr = run("default.toml", "[database]\npool_sise = 4\n");
    assert!(
        stderr.contains("config/default.toml") && stderr.contains("database.pool_sise"),
        "{stderr}"
    );
    // A value out of range.
    let stderr = run("local.toml", "[webhooks]\nbatch = 0\n");
    assert!(
        stderr.contains("config/local.toml") && stderr.contains("webhooks.batch"),
        "{stderr}"
    );
    // Not TOML at all.
    let stderr = run("local.toml", "[server\nbind = \n");
    assert!(stderr.contains("config/local.toml"), "{stderr}");
    assert!(!db.exists(), "nothing was opened");
}

#[test]
fn migrate_says_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("migrate.db");
    let run = || {
        let (ok, stdout, stderr) = run_on(&db, &["migrate"]);
        assert!(ok, "{stderr}");
        stdout
    };
    let mut names: Vec<String> = std::fs::read_dir("migrations/sqlite")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let first = run();
    assert!(
        first.starts_with(&format!("applied {} migrations", names.len())),
        "{first}"
    );
    assert!(first.contains(&names.join(", ")), "{first}");
    let second = run();
    assert!(
        second.starts_with("database already up to date"),
        "{second}"
    );
}

#[test]
fn demo_fills_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let run = || {
        let (ok, stdout, stderr) = run_on(&db, &["demo"]);
        assert!(ok, "{stderr}");
        stdout
    };
    let first = run();
    let events = first
        .strip_prefix("demo data: 5 initiatives, ")
        .and_then(|rest| rest.split_once(" events"))
        .map(|(n, _)| n.replace(',', "").parse::<u64>().unwrap())
        .unwrap_or_else(|| panic!("says what it loaded: {first}"));
    assert!(events > 1000, "{first}");
    let second = run();
    assert!(
        second.starts_with("demo data: already loaded, nothing added"),
        "existing pilots are kept: {second}"
    );
}

#[test]
fn migration_folders_are_in_step() {
    let names = |backend: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("migrations/{backend}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn report_reads_the_database_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = offerlab()
        .args(["demo", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = offerlab()
        .args([
            "report",
            "team-workspaces",
            "--format",
            "json",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["initiative"]["key"], "team-workspaces");
    let exposures = report["demand"]["exposures"].as_u64().unwrap();
    assert!(exposures > 1000);

    let out = offerlab()
        .args(["report", "team-workspaces", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(table.contains("Verdict: "), "{table}");
    assert!(
        table.contains(report["summary"].as_str().unwrap()),
        "{table}"
    );

    let out = offerlab()
        .args(["report", "no-such-pilot", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

#[test]
fn keys_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let run = |args: &[&str]| run_on(&db, args);
    let (ok, stdout, stderr) = run(&[
        "keys",
        "create",
        "--role",
        "writer",
        "--team",
        "growth",
        "--label",
        "growth pilots",
    ]);
    assert!(ok, "{stderr}");
    let key = stdout.lines().last().unwrap();
    assert!(
        key.starts_with("olk_") && key.len() == 68,
        "the key alone on the last line: {stdout}"
    );
    let (ok, listed, _) = run(&["keys", "list"]);
    assert!(ok);
    let header: Vec<&str> = listed.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "id", "role", "team", "prefix", "created", "last", "used", "revoked", "label"
        ],
        "{listed}"
    );
    let row = |listed: &str| {
        listed
            .lines()
            .find(|l| l.trim_start().starts_with("1 "))
            .unwrap_or_else(|| panic!("{listed}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let key_row = row(&listed);
    assert_eq!(key_row[1..3], ["writer", "growth"], "{listed}");
    assert!(listed.contains("growth pilots"), "{listed}");
    assert_eq!(
        key_row[6..8],
        ["-", "-"],
        "never used, not revoked: {listed}"
    );
    assert!(listed.trim_end().ends_with("1 key"), "{listed}");
    assert!(!listed.contains(key), "keys are never listed");
    let (ok, _, _) = run(&["keys", "revoke", "1"]);
    assert!(ok);
    let (_, listed, _) = run(&["keys", "list"]);
    let revoked = row(&listed);
    assert_ne!(revoked[7], "-", "the revocation time: {listed}");
    let (ok, _, stderr) = run(&["keys", "create", "--role", "writer", "--label", "no team"]);
    assert!(!ok && stderr.contains("team"), "{stderr}");
}

#[test]
fn first_start_prints_an_admin_key_once() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("first.db");
    let start = || {
        let mut child = offerlab()
            .args(["serve", "--bind", "127.0.0.1:0", "--database"])
            .arg(&db)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let done = line.contains("listening on");
            lines.push(line);
            if done {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        lines.join("\n")
    };
    let first = start();
    assert!(first.contains("created an admin key"), "{first}");
    assert!(
        first.lines().any(|l| l.trim().starts_with("olk_")),
        "{first}"
    );
    let second = start();
    assert!(!second.contains("olk_"), "the key is shown once: {second}");
}

#[test]
fn keys_and_their_hashes_never_reach_the_logs() {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("logs.db");
    let out = offerlab()
        .args([
            "keys",
            "create",
            "--role",
            "admin",
            "--label",
            "ops",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let key = stdout.lines().last().unwrap().to_owned();
    let mut child = offerlab()
        .args(["serve", "--bind", "127.0.0.1:0", "--database"])
        .arg(&db)
        .env("OFFERLAB__LOG__FILTER", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut address = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            address = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    // Keep reading: a closed pipe would fail the server's next line of output.
    std::thread::spawn(move || for _ in lines {});
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        for auth in [
            format!("Bearer {key}"),
            format!("Bearer {}x", &key[..67]),
            "Bearer nonsense".into(),
        ] {
            let _ = client
                .get(format!("{address}/api/v1/segments"))
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
                .text()
                .await;
        }
    });
    child.kill().unwrap();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child.wait().unwrap();
    assert!(logs.len() > 100, "trace logs were written: {logs}");
    let hash = offerlab::store::keys::hash_key(&key);
    assert!(!logs.contains(&key[4..]), "a key in the logs");
    assert!(!logs.contains(&hash), "a key hash in the logs");
}

/// Starts `serve` on `db` with `env`, and answers the child and the address it listens on
/// once it says so (its output, logs included, read on by a thread into `output`).
fn serve(
    db: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    String,
    Vec<String>,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    use std::io::{BufRead, BufReader, Read};
    let mut cmd = offerlab();
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .arg("--database")
        .arg(db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let into = output.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut head = Vec::new();
    let mut address = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            address = rest.split_whitespace().next().unwrap().to_owned();
        }
        let done = line.contains("OpenAPI");
        head.push(line);
        if done {
            break;
        }
    }
    let into = output.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut out = into.lock().unwrap();
            out.push_str(&line);
            out.push('\n');
        }
    });
    (child, address, head, output)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn post_form(
    client: &reqwest::Client,
    url: String,
    cookie: Option<&str>,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

fn no_redirects() -> reqwest::Client {
    // reqwest is built without a default TLS provider: install it here too, so a test
    // using this client passes when it runs alone.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[test]
fn serve_demo_prints_the_admin_key_and_a_viewer_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo-first.db");
    let (mut child, address, head, _) = serve(&db, &["--demo"], &[]);
    let out = head.join("\n");
    assert!(out.contains("created an admin key"), "{out}");
    assert!(!out.contains("/sign-in?code="), "no one-time link: {out}");
    let line = head
        .iter()
        .find(|l| l.contains("Demo sign-in (viewer)"))
        .unwrap_or_else(|| panic!("{out}"));
    let word_after = |w: &str| {
        line.split_whitespace()
            .skip_while(|x| *x != w)
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let (email, password) = (word_after("email"), word_after("password"));
    assert!(line.contains(&format!("{address}/sign-in")), "{line}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = no_redirects();
        let url = format!("{address}/sign-in");
        let r = post_form(
            &client,
            url.clone(),
            None,
            &[("email", &email), ("password", &password)],
        )
        .await;
        assert_eq!(r.status(), 303, "the printed credentials sign in");
        let cookie = session_cookie(&r);
        let page = client
            .get(format!("{address}/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Demo viewer") && html.contains("Sign out"),
            "{html}"
        );
        // They work again (not a one-time link).
        let r = post_form(
            &client,
            url,
            None,
            &[("email", &email), ("password", &password)],
        )
        .await;
        assert_eq!(r.status(), 303);
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn passwords_hashes_and_tokens_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("people.db");
    let out = offerlab()
        .args([
            "users",
            "invite",
            "--email",
            "Lee@Example.com",
            "--name",
            "Lee",
            "--role",
            "writer",
            "--team",
            "growth",
            "--team",
            "support",
            "--base-url",
            "http://pages.example",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("lee@example.com"), "{stdout}");
    assert!(stdout.contains("teams growth, support"), "{stdout}");
    let link = stdout.lines().last().unwrap().to_owned();
    let path = link
        .strip_prefix("http://pages.example")
        .unwrap()
        .to_owned();
    let token = path.trim_start_matches("/invite/").to_owned();
    assert_eq!(token.len(), 64, "{link}");

    let (mut child, address, _, logs) = serve(&db, &[], &[("OFFERLAB__LOG__FILTER", "trace")]);
    let first = "first secret passphrase 1";
    let wrong = "wrong secret passphrase 2";
    let second = "second secret passphrase 3";
    let mut session_cookies = Vec::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = no_redirects();
        let r = post_form(
            &client,
            format!("{address}{path}"),
            None,
            &[("password", first), ("confirm", first)],
        )
        .await;
        assert_eq!(r.status(), 303);
        let sign_in = format!("{address}/sign-in");
        let r = post_form(
            &client,
            sign_in.clone(),
            None,
            &[("email", "lee@example.com"), ("password", wrong)],
        )
        .await;
        assert_eq!(r.status(), 401);
        let r = post_form(
            &client,
            sign_in.clone(),
            None,
            &[("email", "nobody@example.com"), ("password", wrong)],
        )
        .await;
        assert_eq!(r.status(), 401);
        let r = post_form(
            &client,
            sign_in,
            None,
            &[("email", "lee@example.com"), ("password", first)],
        )
        .await;
        assert_eq!(r.status(), 303);
        let cookie = session_cookie(&r);
        let html = client
            .get(format!("{address}/account"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        let csrf: String = html[at..].chars().take_while(|c| *c != '"').collect();
        let r = post_form(
            &client,
            format!("{address}/account/password"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("current", first),
                ("password", second),
                ("confirm", second),
            ],
        )
        .await;
        assert_eq!(r.status(), 200);
        let r = client
            .get(format!("{address}/api/v1/initiatives"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        session_cookies.push(cookie);
        session_cookies.push(csrf);
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // Let the reader threads drain what the server wrote.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = logs.lock().unwrap().clone();
    assert!(logs.len() > 200, "trace logs were written: {logs}");
    assert!(logs.contains("password sign-in failed"), "{logs}");

    let store = offerlab::store::Store::open(
        offerlab::settings::Settings::load_from(std::path::Path::new("config"), "test")
            .map(|mut s| {
                s.database.url = db.display().to_string().into();
                s
            })
            .unwrap()
            .store_options()
            .unwrap(),
    )
    .unwrap();
    let mut conn = store.conn().unwrap();
    let id = offerlab::store::users::list(&mut conn).unwrap()[0].id;
    let hash = offerlab::store::users::password_hash(&mut conn, id)
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    for secret in [
        first,
        wrong,
        second,
        hash.as_str(),
        "$argon2",
        token.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret:?} in the logs");
    }
    let cookie_value = session_cookies[0].split_once('=').unwrap().1.to_owned();
    let session_token = cookie_value.split('.').next().unwrap();
    assert!(!logs.contains(session_token), "a session token in the logs");
    assert!(
        !logs.contains(&session_cookies[1]),
        "a form token in the logs"
    );
    // Nor URL-encoded (form bodies are encoded).
    for secret in [first, wrong, second] {
        assert!(
            !logs.contains(&form(&[("p", secret)])[2..]),
            "{secret:?} encoded in the logs"
        );
    }
}

#[test]
fn decisions_prints_the_log_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let run = |args: &[&str]| run_on(&db, args);
    let (ok, _, stderr) = run(&["demo"]);
    assert!(ok, "{stderr}");

    let (ok, json, stderr) = run(&["decisions", "nonprofit-plan", "--format", "json"]);
    assert!(ok, "{stderr}");
    let log: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(log["initiative"], "nonprofit-plan");
    assert_eq!(log["decided_against_evidence"], false);
    let entries = log["decisions"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{json}");
    let d = &entries[0];
    assert_eq!(d["decision"], "iterate");
    assert_eq!(d["decided_by"], "demo");
    assert_eq!(d["against_evidence"], false);
    // The snapshot holds the counts the report reads (no event came after the decision).
    let (ok, report, _) = run(&["report", "nonprofit-plan", "--format", "json"]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(d["snapshot"]["exposures"], report["demand"]["exposures"]);
    assert_eq!(d["snapshot"]["preorders"], report["demand"]["preorders"]);
    assert_eq!(d["snapshot"]["verdict"], report["verdict"]["status"]);

    let (ok, table, stderr) = run(&["decisions", "nonprofit-plan"]);
    assert!(ok, "{stderr}");
    assert!(
        table.contains("Decision log of nonprofit-plan (1 decision"),
        "{table}"
    );
    assert!(table.contains("ITERATE  by demo"), "{table}");
    assert!(!table.contains("AGAINST THE EVIDENCE"), "{table}");
    assert!(table.contains("Evidence then: "), "{table}");
    assert!(table.contains(d["note"].as_str().unwrap()), "{table}");

    let (ok, table, _) = run(&["decisions", "team-workspaces"]);
    assert!(ok);
    assert!(table.contains("No decision recorded yet"), "{table}");

    let (ok, _, stderr) = run(&["decisions", "no-such-pilot"]);
    assert!(!ok);
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
fn inbox_entries_are_listed_and_replayed() {
    use offerlab::store::{Store, inbox};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inbox.db");
    let out = offerlab()
        .args(["demo", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut settings =
        offerlab::settings::Settings::load_from(std::path::Path::new("config"), "test").unwrap();
    settings.database.url = format!("sqlite://{}", db.display()).into();
    let store = Store::open(settings.store_options().unwrap()).unwrap();
    let mut conn = store.conn().unwrap();
    let keep = |conn: &mut _, id: &str, initiative: &str| {
        let payload = serde_json::json!({"id": id, "initiative": initiative, "customer": "cli-new",
            "segment": "smb", "sentiment": "love", "occurred_at": chrono::Utc::now().to_rfc3339()});
        inbox::keep(
            conn,
            inbox::NewEntry {
                provider: offerlab::intake::Provider::Form,
                external_id: id.into(),
                kind: "form".into(),
                initiative: Some(initiative.into()),
                reason: "kept by the test".into(),
                payload: payload.to_string(),
                received_at: chrono::Utc::now(),
            },
        )
        .unwrap()
        .id
    };
    let placeable = keep(&mut conn, "f1", "team-workspaces");
    let ghost = keep(&mut conn, "f2", "ghost");
    drop(conn);

    let list = |extra: &[&str]| {
        let out = offerlab()
            .args(["inbox", "list", "--format", "json"])
            .args(extra)
            .arg("--database")
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(list(&[]).as_array().unwrap().len(), 2);
    let replay = |id: i64| {
        offerlab()
            .args(["inbox", "replay", &id.to_string(), "--database"])
            .arg(&db)
            .output()
            .unwrap()
    };
    let out = replay(placeable);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("replayed into team-workspaces: 2 event(s) stored"),
        "{stdout}"
    );
    let out = replay(ghost);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown initiative 'ghost'"), "{stderr}");
    let pending = list(&[]);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["reason"], "unknown initiative 'ghost'");
    assert_eq!(pending[0]["attempts"], 2);
    let replayed = list(&["--status", "replayed"]);
    assert_eq!(replayed[0]["result"]["accepted"], 2, "{replayed}");
    let table = offerlab()
        .args(["inbox", "list", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("ghost"));
}

#[test]
fn audit_prints_the_changes_made_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let run = |args: &[&str]| {
        outcome(
            offerlab()
                .args(args)
                .arg("--database")
                .arg(&db)
                .env("USER", "ops-alice"),
        )
    };
    let (ok, created, stderr) = run(&["keys", "create", "--role", "viewer", "--label", "board"]);
    assert!(ok, "{stderr}");
    let secret = created.lines().last().unwrap().to_owned();
    assert!(run(&["keys", "revoke", "1"]).0);
    let (ok, table, stderr) = run(&["audit", "--limit", "5"]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].contains("api_key.revoke") && lines[0].contains("ops-alice"),
        "{table}"
    );
    assert!(
        lines[1].contains("api_key.create") && lines[1].contains("cli"),
        "{table}"
    );
    let (ok, json, _) = run(&["audit", "--limit", "1", "--format", "json"]);
    assert!(ok);
    let entries: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(entries[0]["action"], "api_key.revoke");
    assert_eq!(entries[0]["actor"]["name"], "ops-alice");
    assert!(entries[0]["before"]["revoked_at"].is_null());
    assert_eq!(entries[0]["after"]["label"], "board");
    assert!(!table.contains(&secret) && !json.contains(&secret));
    let (ok, _, stderr) = run(&["audit", "--limit", "0"]);
    assert!(!ok && stderr.contains("limit"), "{stderr}");
}

#[test]
fn webhooks_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let run = |args: &[&str]| run_on(&db, args);
    let (ok, stdout, stderr) = run(&[
        "webhooks",
        "add",
        "https://hooks.example.com/services/x",
        "--events",
        "verdict.changed,plan.reached",
        "--format",
        "slack",
        "--team",
        "growth",
    ]);
    assert!(ok, "{stderr}");
    let secret = stdout.lines().last().unwrap();
    assert!(
        secret.starts_with("whsec_"),
        "the secret alone on the last line: {stdout}"
    );
    let (ok, listed, _) = run(&["webhooks", "list"]);
    assert!(ok);
    assert!(listed.contains("hooks.example.com") && listed.contains("slack"));
    assert!(listed.contains("verdict.changed,plan.reached") && listed.contains("team growth"));
    assert!(!listed.contains(secret), "secrets are never listed");
    let (ok, deliveries, _) = run(&["webhooks", "deliveries", "1"]);
    assert!(ok && deliveries.is_empty(), "{deliveries}");
    // Refused: an unknown type, a private address (allowed only by the setting).
    let (ok, _, stderr) = run(&["webhooks", "add", "https://x.example", "--events", "nope"]);
    assert!(!ok && stderr.contains("event_types[0]"), "{stderr}");
    let (ok, _, stderr) = run(&[
        "webhooks",
        "add",
        "http://169.254.169.254/latest",
        "--events",
        "verdict.changed",
    ]);
    assert!(!ok && stderr.contains("metadata"), "{stderr}");
    let (ok, _, _) = run(&["webhooks", "remove", "1"]);
    assert!(ok);
    let (_, listed, _) = run(&["webhooks", "list"]);
    assert!(!listed.contains("hooks.example.com"), "{listed}");
}

/// Runs `serve --demo` on a fresh database with `format` logs at info until it answers,
/// stops it, and answers (stdout, stderr), read separately.
fn serve_output(format: &str) -> (String, String) {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("logs.db");
    let mut child = offerlab()
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--database"])
        .arg(&db)
        .env("OFFERLAB__LOG__FORMAT", format)
        .env("OFFERLAB__LOG__FILTER", "info")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).unwrap();
        logs
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let mut address = String::new();
    while !banner.contains("OpenAPI") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{banner}");
        if let Some(rest) = line.split("listening on ").nth(1) {
            address = rest.split_whitespace().next().unwrap().to_owned();
        }
        banner.push_str(&line);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let r = reqwest::get(format!("{address}/readyz")).await.unwrap();
        assert_eq!(r.status(), 200);
    });
    child.kill().unwrap();
    stdout.read_to_string(&mut banner).unwrap();
    child.wait().unwrap();
    (banner, logs.join().unwrap())
}

#[test]
fn logs_go_to_stderr_and_the_banner_to_stdout_in_every_format() {
    for format in ["text", "json"] {
        let (stdout, stderr) = serve_output(format);
        // stdout: the banner, the demo summary and the one-time key, nothing else.
        assert!(
            stdout.contains("created an admin key") && stdout.contains("demo data: 5 initiatives"),
            "{format}: {stdout}"
        );
        for line in stdout.lines() {
            assert!(
                !line.contains("INFO") && !line.contains("WARN") && !line.starts_with('{'),
                "{format}: a log line on stdout: {line}"
            );
        }
        // stderr: the logs (ours and actix's), no escape codes (not a terminal).
        assert!(stderr.contains("loaded demo pilots"), "{format}: {stderr}");
        assert!(stderr.contains("starting service"), "{format}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{format}: colours in {stderr:?}"
        );
        assert!(!stderr.contains("olk_"), "{format}: the key in the logs");
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            let json = serde_json::from_str::<serde_json::Value>(line).is_ok();
            assert_eq!(json, format == "json", "{format}: {line}");
        }
    }
}

/// The shell blocks of README.md between `<!-- walkthrough -->` and `<!-- /walkthrough -->`.
fn readme_walkthrough() -> String {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let (_, rest) = readme.split_once("<!-- walkthrough -->").unwrap();
    let (section, _) = rest.split_once("<!-- /walkthrough -->").unwrap();
    let mut script = String::new();
    let mut in_block = false;
    for line in section.lines() {
        match (in_block, line.trim()) {
            (false, "```sh") => in_block = true,
            (true, "```") => in_block = false,
            (true, _) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(!in_block, "an unclosed block in the walkthrough");
    script
}

#[test]
fn the_readme_walkthrough_runs_on_a_fresh_and_a_demo_database() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "curl is needed for the README walkthrough under CI"
        );
        eprintln!("SKIPPED: no curl to run the README walkthrough with");
        return;
    }
    let script = readme_walkthrough();
    let calls = script.matches("curl -fsS ").count();
    assert!(calls >= 10, "{script}");
    assert!(!script.contains("curl -sf"), "errors must show: {script}");
    for extra in [&[][..], &["--demo"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("walkthrough.db");
        let (mut child, address, head, _) = serve(&db, extra, &[]);
        let key = head
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with("olk_"))
            .unwrap_or_else(|| panic!("{head:?}"))
            .to_owned();
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("OFFERLAB", &address)
            .env("OFFERLAB_KEY", &key)
            .output()
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{extra:?}: the walkthrough failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Every call answered JSON; the last one is the report.
        let answers: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{extra:?}: {e}: {stdout}"));
        assert_eq!(answers.len(), calls, "{extra:?}: {stdout}");
        let report = answers.last().unwrap();
        assert_eq!(report["initiative"]["key"], "team-plan", "{report}");
        assert_eq!(report["demand"]["exposures"], 3, "{report}");
        assert_eq!(
            report["verdict"]["status"], "collecting",
            "as the README says"
        );
        assert_eq!(report["decisions"][0]["decision"], "iterate", "{report}");
    }
}

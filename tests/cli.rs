//! The command line and configuration layering, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn offerlab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offerlab"));
    c.env("OFFERLAB_ENV", "test");
    c
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
    assert!(stderr.contains("colour"), "{stderr}");
}

#[test]
fn demo_fills_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let run = || {
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
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    assert!(first.contains("5 initiative(s)"), "{first}");
    let second = run();
    assert!(
        second.contains("0 initiative(s)"),
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
    let run = |args: &[&str]| {
        let out = offerlab()
            .args(args)
            .arg("--database")
            .arg(&db)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
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
    assert!(listed.contains("growth pilots") && listed.contains("writer"));
    assert!(!listed.contains(key), "keys are never listed");
    let (ok, _, _) = run(&["keys", "revoke", "1"]);
    assert!(ok);
    let (_, listed, _) = run(&["keys", "list"]);
    assert!(listed.contains("revoked"));
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

#[test]
fn serve_demo_prints_the_admin_key_and_a_sign_in_link() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo-first.db");
    let mut child = offerlab()
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--database"])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Demo sign-in");
        out.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    child.kill().unwrap();
    child.wait().unwrap();
    let out = out.join("\n");
    assert!(out.contains("created an admin key"), "{out}");
    assert!(out.contains("/sign-in?code="), "{out}");
}

#[test]
fn decisions_prints_the_log_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let run = |args: &[&str]| {
        let out = offerlab()
            .args(args)
            .arg("--database")
            .arg(&db)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
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
fn webhooks_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let run = |args: &[&str]| {
        let out = offerlab()
            .args(args)
            .arg("--database")
            .arg(&db)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
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

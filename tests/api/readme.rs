//! The README's curl walkthrough works verbatim against a running server.

use crate::backend_tests;
use crate::helpers::{Backend, spawn_app};

fn walkthrough() -> String {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let start = readme
        .find("<!-- walkthrough -->")
        .expect("walkthrough start marker");
    let end = readme
        .find("<!-- /walkthrough -->")
        .expect("walkthrough end marker");
    let mut script = String::from("set -euo pipefail\n");
    let mut in_block = false;
    for line in readme[start..end].lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            script.push_str(line);
            script.push('\n');
        }
    }
    script
}

async fn readme_walkthrough_runs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let script = walkthrough();
    assert!(script.lines().count() > 10, "walkthrough found");
    let address = app.address.clone();
    let key = app.admin_key.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("OFFERLAB", address)
            .env("OFFERLAB_KEY", key)
            .output()
            .expect("run bash")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "walkthrough failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(r#"{"accepted":5,"duplicates":0}"#),
        "{stdout}"
    );
    let r = app.get("/api/v1/initiatives/team-plan").await;
    assert_eq!(r.body["status"], "concluded");
    let log = app.get("/api/v1/initiatives/team-plan/decisions").await;
    assert_eq!(
        log.body["decisions"][0]["decision"], "iterate",
        "{}",
        log.text
    );
    assert_eq!(log.body["decisions"][0]["against_evidence"], true);
    assert!(
        stdout.contains("A dry run with three test customers"),
        "{stdout}"
    );
    let s = app.summary("team-plan").await;
    assert_eq!(s["total"]["exposures"], 3);
    assert_eq!(s["total"]["preorders"], 1);
}

backend_tests!(readme_walkthrough_runs);

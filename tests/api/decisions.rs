//! The decision log: decisions against the evidence need a reason and are flagged, every
//! decision is recorded with who took it and the evidence at that moment.

use diesel::{Connection, RunQueryDsl};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestDb, client_with_key, count_rows, spawn_app};
use crate::reports::send_customers;

/// A writer key of team `growth` labelled `label`, through the API.
async fn writer(app: &TestApp, label: &str) -> reqwest::Client {
    let r = app
        .post(
            "/api/v1/keys",
            &json!({"label": label, "role": "writer", "team": "growth"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    client_with_key(r.body["key"].as_str().unwrap())
}

async fn conclude_as(
    app: &TestApp,
    client: &reqwest::Client,
    key: &str,
    body: Value,
) -> crate::helpers::Reply {
    app.send(
        client
            .post(app.url(&format!("/api/v1/initiatives/{key}/conclude")))
            .json(&body),
    )
    .await
}

fn reason_for(reply: &crate::helpers::Reply, field: &str) -> String {
    reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["reason"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Checks the snapshot against the live summary and report read just before deciding.
fn assert_snapshot(entry: &Value, summary: &Value, report: &Value) {
    let s = &entry["snapshot"];
    assert_eq!(s["exposures"], summary["total"]["exposures"], "{entry}");
    assert_eq!(s["preorders"], summary["total"]["preorders"], "{entry}");
    assert_eq!(s["verdict"], report["verdict"]["status"], "{entry}");
    assert_eq!(s["rate"], report["demand"]["rate"], "{entry}");
    // Sequential mode: the verdict reads the anytime-valid interval.
    assert_eq!(s["mode"], "sequential");
    assert_eq!(s["interval"], report["demand"]["ci"], "{entry}");
    assert_eq!(
        s["evidence_ratio"], report["demand"]["evidence_ratio"],
        "{entry}"
    );
    assert_eq!(
        s["min_exposures"],
        report["initiative"]["criteria"]["min_exposures"]
    );
}

async fn against_the_evidence_needs_a_reason_and_is_flagged(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let lead = writer(&app, "growth lead").await;
    app.running_initiative(
        "early",
        json!({"criteria": {"target_preorder_rate": 0.08, "min_exposures": 100, "planned_exposures": 2000}}),
    )
    .await;
    send_customers(&app, "early", 0, 40, 0.1).await;

    // Before min_exposures, even `iterate` goes against the evidence.
    for decision in ["scale", "iterate", "stop"] {
        let r = conclude_as(
            &app,
            &lead,
            "early",
            json!({"decision": decision, "note": "Looks good."}),
        )
        .await;
        r.assert_problem(422, Some("override_reason"));
        let reason = reason_for(&r, "override_reason");
        assert!(
            reason.contains("only 40 of the 100 exposures"),
            "{decision}: {reason}"
        );
        assert!(reason.contains("say why in override_reason"), "{reason}");
    }
    let r = conclude_as(
        &app,
        &lead,
        "early",
        json!({"decision": "scale", "note": "n", "override_reason": "   "}),
    )
    .await;
    r.assert_problem(422, Some("override_reason"));
    // Nothing was stored: still running, no log entry.
    assert_eq!(count_rows(&app._db, "decisions"), 0);
    let i = app.get("/api/v1/initiatives/early").await;
    assert_eq!(i.body["status"], "running");
    assert!(i.body["decision"].is_null());
    let log = app.get("/api/v1/initiatives/early/decisions").await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert_eq!(log.body["decisions"], json!([]));
    assert_eq!(log.body["decided_against_evidence"], false);

    // With a reason: accepted, recorded and flagged, with the evidence of the moment.
    let summary = app.summary("early").await;
    let report = app.get("/api/v1/initiatives/early/report").await.body;
    assert_eq!(report["verdict"]["status"], "collecting");
    let r = conclude_as(
        &app,
        &lead,
        "early",
        json!({"decision": "scale", "note": "Partners committed already.",
               "override_reason": "Three partners signed letters of intent outside the pilot."}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "concluded");
    assert_eq!(r.body["decision"], "scale");
    assert_eq!(r.body["decision_note"], "Partners committed already.");
    let recorded = &r.body["recorded_decision"];
    assert_eq!(recorded["against_evidence"], true);
    assert_eq!(recorded["decided_by"], "growth lead");
    assert_snapshot(recorded, &summary, &report);
    assert_eq!(count_rows(&app._db, "decisions"), 1);

    let log = app.get("/api/v1/initiatives/early/decisions").await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert_eq!(log.body["initiative"], "early");
    assert_eq!(log.body["decided_against_evidence"], true);
    let entries = log.body["decisions"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e, recorded, "the log holds what conclude answered");
    assert_eq!(e["decision"], "scale");
    assert_eq!(e["note"], "Partners committed already.");
    assert_eq!(
        e["override_reason"],
        "Three partners signed letters of intent outside the pilot."
    );
    assert!(e["decided_at"].is_string());
    assert_snapshot(e, &summary, &report);

    // The report carries the log.
    let report = app.get("/api/v1/initiatives/early/report").await;
    assert_eq!(report.body["decided_against_evidence"], true);
    assert_eq!(report.body["decisions"], log.body["decisions"]);
    assert!(
        report.body["verdict"].is_object(),
        "the report is still whole"
    );

    // The portfolio names it.
    let portfolio = app.get("/api/v1/portfolio").await;
    assert_eq!(portfolio.body["decided_against_evidence"], json!(["early"]));
    assert_eq!(portfolio.body["initiatives"][0]["key"], "early");

    // One conclusion per initiative: the log does not grow.
    conclude_as(
        &app,
        &lead,
        "early",
        json!({"decision": "stop", "note": "n", "override_reason": "r"}),
    )
    .await
    .assert_problem(409, None);
    assert_eq!(count_rows(&app._db, "decisions"), 1);
}

async fn scaling_an_inconclusive_pilot_says_why_it_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative(
        "unclear",
        json!({"criteria": {"target_preorder_rate": 0.08, "min_exposures": 100, "planned_exposures": 2000}}),
    )
    .await;
    send_customers(&app, "unclear", 0, 150, 0.08).await;
    let report = app.get("/api/v1/initiatives/unclear/report").await.body;
    assert_eq!(report["verdict"]["status"], "inconclusive", "{report}");
    let r = app
        .post(
            "/api/v1/initiatives/unclear/conclude",
            &json!({"decision": "scale", "note": "n"}),
        )
        .await;
    r.assert_problem(422, Some("override_reason"));
    let reason = reason_for(&r, "override_reason");
    assert!(
        reason.contains("the verdict is 'inconclusive': deciding 'scale' goes against it"),
        "{reason}"
    );
    assert!(
        !reason.contains("exposures"),
        "min_exposures is met: {reason}"
    );
    // `iterate` goes against no verdict once min_exposures is met.
    let r = app
        .post(
            "/api/v1/initiatives/unclear/conclude",
            &json!({"decision": "iterate", "note": "Not clear yet; a cheaper variant next."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["recorded_decision"]["against_evidence"], false);
    assert!(r.body["recorded_decision"]["override_reason"].is_null());
    assert_eq!(r.body["recorded_decision"]["decided_by"], "test key");
}

async fn a_decision_in_line_with_a_validated_verdict_is_not_flagged(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative(
        "strong",
        json!({"criteria": {"target_preorder_rate": 0.08, "min_exposures": 100, "planned_exposures": 2000}}),
    )
    .await;
    send_customers(&app, "strong", 0, 2400, 0.2).await;
    let summary = app.summary("strong").await;
    let report = app.get("/api/v1/initiatives/strong/report").await.body;
    assert_eq!(report["verdict"]["status"], "validated", "{report}");

    // Stopping a validated pilot goes against the verdict.
    let r = app
        .post(
            "/api/v1/initiatives/strong/conclude",
            &json!({"decision": "stop", "note": "n"}),
        )
        .await;
    r.assert_problem(422, Some("override_reason"));
    assert!(
        reason_for(&r, "override_reason")
            .contains("the verdict is 'validated': deciding 'stop' goes against it")
    );
    assert_eq!(count_rows(&app._db, "decisions"), 0);

    let r = app
        .post(
            "/api/v1/initiatives/strong/conclude",
            &json!({"decision": "scale", "note": "Demand is real in the core segment."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = app.get("/api/v1/initiatives/strong/decisions").await;
    assert_eq!(log.body["decided_against_evidence"], false);
    let e = &log.body["decisions"][0];
    assert_eq!(e["against_evidence"], false);
    assert!(e["override_reason"].is_null());
    assert_snapshot(e, &summary, &report);
    let report = app.get("/api/v1/initiatives/strong/report").await.body;
    assert_eq!(report["decided_against_evidence"], false);
    let portfolio = app.get("/api/v1/portfolio").await;
    assert_eq!(portfolio.body["decided_against_evidence"], json!([]));
    assert_eq!(report["decisions"].as_array().map(Vec::len), Some(1));
}

async fn the_log_is_append_only_and_unknown_initiatives_are_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.get("/api/v1/initiatives/ghost/decisions")
        .await
        .assert_problem(404, None);
    app.running_initiative("done", json!({})).await;
    let r = app
        .post(
            "/api/v1/initiatives/done/conclude",
            &json!({"decision": "stop", "note": "n", "override_reason": "Budget cut."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The database itself refuses to change or remove a recorded decision.
    for statement in [
        "UPDATE decisions SET note = 'rewritten'",
        "DELETE FROM decisions",
    ] {
        let refused = execute(&app._db, statement);
        assert!(refused.is_err(), "{statement} must be refused");
    }
    assert_eq!(count_rows(&app._db, "decisions"), 1);
    let log = app.get("/api/v1/initiatives/done/decisions").await;
    assert_eq!(log.body["decisions"][0]["note"], "n");
}

pub(crate) fn execute(db: &TestDb, statement: &str) -> Result<usize, diesel::result::Error> {
    let url = db.url();
    if !url.starts_with("postgres") {
        let mut c = diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://"))
            .expect("sqlite");
        diesel::sql_query(statement).execute(&mut c)
    } else {
        let mut c = diesel::PgConnection::establish(url).expect("postgres");
        diesel::sql_query(statement).execute(&mut c)
    }
}

backend_tests!(
    against_the_evidence_needs_a_reason_and_is_flagged,
    scaling_an_inconclusive_pilot_says_why_it_is_refused,
    a_decision_in_line_with_a_validated_verdict_is_not_flagged,
    the_log_is_append_only_and_unknown_initiatives_are_404,
);

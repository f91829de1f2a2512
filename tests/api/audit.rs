//! The audit log: every change an admin or a writer makes is recorded with who made it
//! and the target before and after, in the same transaction as the change; the database
//! refuses to rewrite it; only admins read it.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::decisions::execute;
use crate::helpers::{
    Backend, Reply, TestApp, client_with_key, count_rows, exposure, initiative_body, spawn_app,
};

/// A key made through the API: (secret, id, client).
async fn key(
    app: &TestApp,
    label: &str,
    role: &str,
    team: Option<&str>,
) -> (String, i64, reqwest::Client) {
    let mut body = json!({"label": label, "role": role});
    if let Some(t) = team {
        body["team"] = json!(t);
    }
    let r = app.post("/api/v1/keys", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.body["key"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_i64().unwrap();
    let client = client_with_key(&secret);
    (secret, id, client)
}

async fn send(app: &TestApp, req: reqwest::RequestBuilder) -> Reply {
    app.send(req).await
}

/// The audit entries matching `query`, newest first (read as the admin).
async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/audit?{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["entries"].as_array().unwrap().clone()
}

/// The one entry with this action and target.
async fn entry(app: &TestApp, action: &str, target_id: &str) -> Value {
    let all = audit(app, &format!("target_id={target_id}&limit=500")).await;
    let found: Vec<&Value> = all.iter().filter(|e| e["action"] == action).collect();
    assert_eq!(found.len(), 1, "one {action} of {target_id}: {all:#?}");
    found[0].clone()
}

fn assert_actor(e: &Value, id: i64, name: &str) {
    assert_eq!(e["actor"]["kind"], "api_key", "{e:#}");
    assert_eq!(e["actor"]["id"], id, "{e:#}");
    assert_eq!(e["actor"]["name"], name, "{e:#}");
}

async fn every_change_is_recorded_with_its_actor_and_before_and_after(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin_id = audit(&app, "target_type=api_key").await[0]["after"]["id"]
        .as_i64()
        .unwrap();
    // Keys: created by the admin, never with the secret.
    let (writer_secret, writer_id, writer) =
        key(&app, "growth writer", "writer", Some("growth")).await;
    let (viewer_secret, viewer_id, _) = key(&app, "board viewer", "viewer", None).await;
    let e = entry(&app, "api_key.create", &writer_id.to_string()).await;
    assert_actor(&e, admin_id, "test key");
    assert_eq!(e["target"]["type"], "api_key");
    assert!(e["before"].is_null());
    assert_eq!(e["after"]["label"], "growth writer");
    assert_eq!(e["after"]["role"], "writer");
    assert_eq!(e["after"]["team"], "growth");
    let everything = app.get("/api/v1/audit?limit=500").await.text;
    for secret in [&writer_secret, &viewer_secret] {
        assert!(
            !everything.contains(secret.as_str()),
            "a key's secret is never audited"
        );
    }

    // Segments, an initiative, its draft change and launch: by the writer.
    let r = send(
        &app,
        writer
            .post(app.url("/api/v1/segments"))
            .json(&json!({"key": "smb", "name": "Small firms"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let e = entry(&app, "segment.create", "smb").await;
    assert_actor(&e, writer_id, "growth writer");
    assert_eq!(e["after"]["name"], "Small firms");
    let r = send(
        &app,
        writer
            .post(app.url("/api/v1/initiatives"))
            .json(&initiative_body("audited")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let e = entry(&app, "initiative.create", "audited").await;
    assert_actor(&e, writer_id, "growth writer");
    assert!(e["before"].is_null());
    assert_eq!(e["after"]["status"], "draft");
    assert_eq!(e["after"]["name"], "Initiative audited");
    let r = send(
        &app,
        writer
            .patch(app.url("/api/v1/initiatives/audited"))
            .json(&json!({"name": "Team plan"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = entry(&app, "initiative.update", "audited").await;
    assert_actor(&e, writer_id, "growth writer");
    assert_eq!(e["before"]["name"], "Initiative audited");
    assert_eq!(e["after"]["name"], "Team plan");
    let r = send(
        &app,
        writer.post(app.url("/api/v1/initiatives/audited/launch")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = entry(&app, "initiative.launch", "audited").await;
    assert_actor(&e, writer_id, "growth writer");
    assert_eq!(e["before"]["status"], "draft");
    assert!(e["before"]["fingerprint"].is_null());
    assert_eq!(e["after"]["status"], "running");
    assert_eq!(e["after"]["fingerprint"], r.body["fingerprint"]);

    // Events are data, not changes: nothing is audited.
    let before_events = count_rows(&app._db, "audit_log");
    let r = app
        .post_events(
            "audited",
            &[exposure("e1", "c1", "smb"), exposure("e2", "c2", "smb")],
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    assert_eq!(count_rows(&app._db, "audit_log"), before_events);

    // Concluding: the transition and the decision, by the admin.
    let r = app
        .post(
            "/api/v1/initiatives/audited/conclude",
            &json!({"decision": "stop", "note": "No demand.", "override_reason": "Budget cut."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = entry(&app, "initiative.conclude", "audited").await;
    assert_actor(&e, admin_id, "test key");
    assert_eq!(e["before"]["status"], "running");
    assert_eq!(e["after"]["status"], "concluded");
    assert_eq!(e["after"]["decision"], "stop");
    let decision_id = r.body["recorded_decision"]["id"]
        .as_i64()
        .map(|i| i.to_string())
        .unwrap_or_else(|| panic!("decision id in {}", r.text));
    let e = entry(&app, "decision.record", &decision_id).await;
    assert_actor(&e, admin_id, "test key");
    assert_eq!(e["target"]["type"], "decision");
    assert_eq!(e["after"]["initiative"], "audited");
    assert_eq!(e["after"]["decision"]["decision"], "stop");
    assert_eq!(e["after"]["decision"]["override_reason"], "Budget cut.");
    assert_eq!(e["after"]["decision"]["against_evidence"], true);

    // Revoking a key; revoking it again changes nothing and records nothing.
    for _ in 0..2 {
        let r = app
            .send(
                app.client
                    .delete(app.url(&format!("/api/v1/keys/{viewer_id}"))),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let e = entry(&app, "api_key.revoke", &viewer_id.to_string()).await;
    assert_actor(&e, admin_id, "test key");
    assert!(e["before"]["revoked_at"].is_null());
    assert!(e["after"]["revoked_at"].is_string());

    // Filters and paging, newest first.
    let of_initiative = audit(&app, "target_type=initiative&target_id=audited").await;
    let actions: Vec<&str> = of_initiative
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "initiative.conclude",
            "initiative.launch",
            "initiative.update",
            "initiative.create"
        ]
    );
    let by_writer = audit(&app, &format!("actor_kind=api_key&actor_id={writer_id}")).await;
    assert_eq!(by_writer.len(), 4, "{by_writer:#?}");
    let all = audit(&app, "limit=500").await;
    let first = app.get("/api/v1/audit?limit=3").await;
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(&format!("/api/v1/audit?limit=3&before={cursor}"))
        .await;
    let paged: Vec<Value> = first.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["entries"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(
        paged,
        all[..6].to_vec(),
        "two pages are the first six entries"
    );
    let cursors: Vec<i64> = all
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] > w[1]), "newest first");
}

async fn only_admins_read_the_audit_log(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, _, viewer) = key(&app, "viewer", "viewer", None).await;
    let (_, _, writer) = key(&app, "writer", "writer", Some("growth")).await;
    for client in [&viewer, &writer] {
        send(&app, client.get(app.url("/api/v1/audit")))
            .await
            .assert_problem(403, None);
    }
    send(&app, reqwest::Client::new().get(app.url("/api/v1/audit")))
        .await
        .assert_problem(401, None);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("before=x", "before"),
        ("target_type=robot", "target_type"),
        ("actor_kind=robot", "actor_kind"),
        ("actor_id=-1", "actor_id"),
    ] {
        let r = app.get(&format!("/api/v1/audit?{query}")).await;
        r.assert_problem(400, None);
        assert!(r.text.contains(field), "{query}: {}", r.text);
    }
}

async fn the_database_refuses_to_rewrite_the_audit_log(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb"]).await;
    let n = count_rows(&app._db, "audit_log");
    assert!(n >= 2, "the key and the segment are recorded");
    for statement in [
        "UPDATE audit_log SET actor_name = 'someone else'",
        "DELETE FROM audit_log",
    ] {
        assert!(
            execute(&app._db, statement).is_err(),
            "{statement} must be refused"
        );
    }
    assert_eq!(count_rows(&app._db, "audit_log"), n);
    let e = audit(&app, "target_type=segment").await;
    assert_eq!(e[0]["actor"]["name"], "test key");
}

async fn a_rejected_change_writes_no_audit_row(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("live", json!({})).await;
    let (_, _, support) = key(&app, "support writer", "writer", Some("support")).await;
    let rows = count_rows(&app._db, "audit_log");
    let initiatives = count_rows(&app._db, "initiatives");
    // Refused after the initiative's row was inserted (the segment is checked after it):
    // the insert and its audit row roll back together.
    let mut unknown_segment = initiative_body("ghost");
    unknown_segment["core_segments"] = json!(["nowhere"]);
    app.post("/api/v1/initiatives", &unknown_segment)
        .await
        .assert_problem(422, Some("core_segments[0]"));
    // The key is taken.
    app.post("/api/v1/initiatives", &initiative_body("live"))
        .await
        .assert_problem(409, None);
    // Not a draft any more; launched already.
    app.patch("/api/v1/initiatives/live", &json!({"name": "x"}))
        .await
        .assert_problem(409, None);
    app.post("/api/v1/initiatives/live/launch", &json!({}))
        .await
        .assert_problem(409, None);
    // Scaling without evidence needs an override reason: refused inside the transaction.
    app.post(
        "/api/v1/initiatives/live/conclude",
        &json!({"decision": "scale", "note": "Ship it."}),
    )
    .await
    .assert_problem(422, Some("override_reason"));
    // Another team's writer; a segment that exists; a key without a team; an unknown key.
    send(
        &app,
        support
            .post(app.url("/api/v1/initiatives/live/conclude"))
            .json(&json!({"decision": "stop", "note": "n", "override_reason": "r"})),
    )
    .await
    .assert_problem(403, None);
    app.post("/api/v1/segments", &json!({"key": "smb"}))
        .await
        .assert_problem(409, None);
    app.post("/api/v1/keys", &json!({"label": "w", "role": "writer"}))
        .await
        .assert_problem(422, Some("team"));
    app.send(app.client.delete(app.url("/api/v1/keys/999999")))
        .await
        .assert_problem(404, None);
    assert_eq!(
        count_rows(&app._db, "audit_log"),
        rows,
        "no audit row for a refused change"
    );
    assert_eq!(count_rows(&app._db, "initiatives"), initiatives);
    let status = app.get("/api/v1/initiatives/live").await;
    assert_eq!(status.body["status"], "running");
}

async fn the_audit_page_is_for_signed_in_admins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb"]).await;
    let (viewer, _, _) = key(&app, "viewer", "viewer", None).await;
    let admin_cookie = app.key_session_cookie(&app.admin_key).await;
    let viewer_cookie = app.key_session_cookie(&viewer).await;
    let page = app
        .raw("GET", "/audit", &[("Cookie", &admin_cookie)], None)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"audit-table\""), "{}", page.body);
    assert!(page.body.contains("segment.create"), "{}", page.body);
    assert!(page.body.contains("test key"), "{}", page.body);
    let refused = app
        .raw("GET", "/audit", &[("Cookie", &viewer_cookie)], None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains("segment.create"));
    let anonymous = app.raw("GET", "/audit", &[], None).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/sign-in?next=/audit"));
}

backend_tests!(
    every_change_is_recorded_with_its_actor_and_before_and_after,
    only_admins_read_the_audit_log,
    the_database_refuses_to_rewrite_the_audit_log,
    a_rejected_change_writes_no_audit_row,
    the_audit_page_is_for_signed_in_admins,
);

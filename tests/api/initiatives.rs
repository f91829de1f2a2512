use serde_json::json;
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::helpers::{Backend, initiative_body, merge, spawn_app};

async fn create_get_list_with_defaults(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    let created = app
        .create_initiative(
            "team-plan",
            json!({"variants": [{"key": "a", "weight": 3}, {"key": "b", "weight": 1, "price_cents": 2900}]}),
        )
        .await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["mode"], "sequential");
    assert_eq!(created["criteria"]["confidence"], 0.95);
    assert_eq!(created["criteria"]["min_exposures"], 100);
    assert_eq!(created["criteria"]["planned_exposures"], 5000);
    assert_eq!(
        created["criteria"]["target_love_share"],
        serde_json::Value::Null
    );
    assert_eq!(created["variants"][0]["weight"], 0.75, "weights normalised");
    assert_eq!(created["variants"][1]["price_cents"], 2900);
    assert_eq!(created["fingerprint"], serde_json::Value::Null);

    let r = app.get("/api/v1/initiatives/team-plan").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Initiative team-plan");

    let mut other = initiative_body("other");
    merge(&mut other, json!({"owner_team": "support"}));
    assert_eq!(app.post("/api/v1/initiatives", &other).await.status, 201);
    app.post("/api/v1/initiatives/other/launch", &json!({}))
        .await;

    let list = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/initiatives{q}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body["initiatives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await.len(), 2);
    assert_eq!(list("?status=running").await, ["other"]);
    assert_eq!(list("?status=draft&team=growth").await, ["team-plan"]);
    assert!(list("?team=nobody").await.is_empty());
    app.get("/api/v1/initiatives?status=paused")
        .await
        .assert_problem(400, Some("status"));
    app.get("/api/v1/initiatives?sort=name")
        .await
        .assert_problem(400, Some("sort"));
    app.get("/api/v1/initiatives/missing")
        .await
        .assert_problem(404, None);
}

async fn invalid_initiatives_list_every_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb"]).await;
    let mut body = initiative_body("bad");
    merge(
        &mut body,
        json!({
            "key": "Bad Key",
            "kind": "value_magic",
            "offer": {"price_cents": -1, "currency": "EURO"},
            "core_segments": ["smb", "nope"],
            "criteria": {"target_preorder_rate": 1.5, "confidence": 0.5, "min_exposures": 0},
            "mode": "yolo",
        }),
    );
    let r = app.post("/api/v1/initiatives", &body).await;
    for field in [
        "key",
        "kind",
        "offer.price_cents",
        "offer.currency",
        "criteria.target_preorder_rate",
        "criteria.confidence",
        "criteria.min_exposures",
        "mode",
    ] {
        r.assert_problem(422, Some(field));
    }
    // Unknown segments are checked once the fields parse.
    let mut body = initiative_body("good");
    merge(&mut body, json!({"core_segments": ["smb", "nope"]}));
    app.post("/api/v1/initiatives", &body)
        .await
        .assert_problem(422, Some("core_segments[1]"));
    let mut body = initiative_body("good");
    merge(
        &mut body,
        json!({"variants": [{"key": "a", "weight": 1}, {"key": "a", "weight": 2}]}),
    );
    app.post("/api/v1/initiatives", &body)
        .await
        .assert_problem(422, Some("variants"));
    let mut body = initiative_body("good");
    merge(
        &mut body,
        json!({"variants": [{"key": "a", "weight": 0}, {"key": "b", "weight": 1}]}),
    );
    app.post("/api/v1/initiatives", &body)
        .await
        .assert_problem(422, Some("variants[0].weight"));
    let mut body = initiative_body("good");
    merge(
        &mut body,
        json!({"criteria": {"target_preorder_rate": 0.1, "min_exposures": 500, "planned_exposures": 100}}),
    );
    app.post("/api/v1/initiatives", &body)
        .await
        .assert_problem(422, Some("criteria.planned_exposures"));
    let mut body = initiative_body("good");
    merge(
        &mut body,
        json!({"criteria": {"target_preorder_rate": "high"}}),
    );
    app.post("/api/v1/initiatives", &body)
        .await
        .assert_problem(422, Some("criteria.target_preorder_rate"));

    assert!(
        app.get("/api/v1/initiatives").await.body["initiatives"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing written"
    );

    assert_eq!(
        app.post("/api/v1/initiatives", &initiative_body("dup"))
            .await
            .status,
        201
    );
    app.post("/api/v1/initiatives", &initiative_body("dup"))
        .await
        .assert_problem(409, None);
}

async fn lifecycle_locks_criteria_at_launch(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    app.create_initiative("plan", json!({})).await;

    let r = app
        .patch(
            "/api/v1/initiatives/plan",
            &json!({"name": "Team plan", "criteria": {"target_preorder_rate": 0.07, "target_love_share": 0.3}, "core_segments": ["smb", "students"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Team plan");
    assert_eq!(r.body["criteria"]["target_preorder_rate"], 0.07);
    assert_eq!(
        r.body["hypothesis"], "Customers will pre-order at 19 EUR.",
        "untouched"
    );
    app.patch(
        "/api/v1/initiatives/plan",
        &json!({"core_segments": ["ghosts"]}),
    )
    .await
    .assert_problem(422, Some("core_segments[0]"));
    app.patch("/api/v1/initiatives/plan", &json!({"status": "running"}))
        .await
        .assert_problem(422, Some("status"));

    // Events are refused before launch.
    app.post_events("plan", &[crate::helpers::exposure("e1", "c1", "smb")])
        .await
        .assert_problem(409, None);
    app.post(
        "/api/v1/initiatives/plan/conclude",
        &json!({"decision": "scale", "note": "n"}),
    )
    .await
    .assert_problem(409, None);

    let r = app
        .post("/api/v1/initiatives/plan/launch", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "running");
    assert!(r.body["launched_at"].is_string());
    // The fingerprint is the SHA-256 of the published canonical pre-registration.
    let pre = r.body["pre_registration"].as_str().unwrap();
    let expected = hex::encode(Sha256::digest(pre.as_bytes()));
    assert_eq!(r.body["fingerprint"], expected);
    let reg: serde_json::Value = serde_json::from_str(pre).unwrap();
    assert_eq!(reg["criteria"]["target_preorder_rate"], 0.07);
    assert_eq!(reg["core_segments"], json!(["smb", "students"]));

    app.patch(
        "/api/v1/initiatives/plan",
        &json!({"criteria": {"target_preorder_rate": 0.01}}),
    )
    .await
    .assert_problem(409, None);
    app.post("/api/v1/initiatives/plan/launch", &json!({}))
        .await
        .assert_problem(409, None);
    app.post(
        "/api/v1/initiatives/plan/conclude",
        &json!({"decision": "grow", "note": ""}),
    )
    .await
    .assert_problem(422, Some("decision"));
    let r = app.get("/api/v1/initiatives/plan").await;
    assert_eq!(
        r.body["criteria"]["target_preorder_rate"], 0.07,
        "criteria locked"
    );
    assert_eq!(r.body["fingerprint"], expected);

    // No customer exposed yet: deciding now goes against the evidence.
    app.post(
        "/api/v1/initiatives/plan/conclude",
        &json!({"decision": "iterate", "note": "Demand is there; price too high."}),
    )
    .await
    .assert_problem(422, Some("override_reason"));
    let r = app
        .post(
            "/api/v1/initiatives/plan/conclude",
            &json!({"decision": "iterate", "note": "Demand is there; price too high.",
                    "override_reason": "The offer changed; this pilot no longer tests it."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["recorded_decision"]["against_evidence"], true);
    assert_eq!(r.body["status"], "concluded");
    assert_eq!(r.body["decision"], "iterate");
    app.post_events("plan", &[crate::helpers::exposure("e1", "c1", "smb")])
        .await
        .assert_problem(409, None);
    app.post("/api/v1/initiatives/ghost/launch", &json!({}))
        .await
        .assert_problem(404, None);
}

backend_tests!(
    create_get_list_with_defaults,
    invalid_initiatives_list_every_field,
    lifecycle_locks_criteria_at_launch,
);

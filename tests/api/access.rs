//! Access control: the full matrix of every route x every kind of caller, generated from
//! the route table the authorization middleware reads.

use offerlab::api::routes::{Route, Rule, table};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, initiative_body, merge, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoKey,
    Malformed,
    Revoked,
    Viewer,
    OtherTeamWriter,
    TeamWriter,
    Admin,
}

const EVERYONE: [Who; 7] = [
    Who::NoKey,
    Who::Malformed,
    Who::Revoked,
    Who::Viewer,
    Who::OtherTeamWriter,
    Who::TeamWriter,
    Who::Admin,
];

/// The status class the rules promise: 401, 403, or through to the handler.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Unauthorized,
    Forbidden,
    Allowed,
}

/// The API routes of the table (pages have their own sign-in tests).
pub fn api_routes() -> Vec<Route> {
    table()
        .into_iter()
        .filter(|r| !matches!(r.rule, Rule::Page | Rule::AdminPage | Rule::OpenPage))
        .collect()
}

fn expected(rule: Rule, who: Who) -> Expect {
    use Expect::*;
    match (rule, who) {
        (Rule::Public | Rule::Page | Rule::AdminPage | Rule::OpenPage, _) => Allowed,
        (_, Who::NoKey | Who::Malformed | Who::Revoked) => Unauthorized,
        (Rule::Read, _) | (_, Who::Admin) => Allowed,
        (_, Who::Viewer) => Forbidden,
        (Rule::Admin, _) => Forbidden,
        (Rule::Contribute, _) => Allowed,
        (Rule::OwnerTeam | Rule::BodyTeam | Rule::OwnerAndBodyTeam, Who::TeamWriter) => Allowed,
        (Rule::OwnerTeam | Rule::BodyTeam | Rule::OwnerAndBodyTeam, Who::OtherTeamWriter) => {
            Forbidden
        }
    }
}

async fn new_key(app: &TestApp, role: &str, team: Option<&str>) -> String {
    let mut body = json!({"label": format!("{role} key"), "role": role});
    if let Some(t) = team {
        body["team"] = json!(t);
    }
    let r = app.post("/api/v1/keys", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["key"].as_str().unwrap().to_owned()
}

async fn every_route_for_every_caller(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // "ours" belongs to team growth.
    app.running_initiative("ours", json!({})).await;
    let viewer = new_key(&app, "viewer", None).await;
    let growth = new_key(&app, "writer", Some("growth")).await;
    let support = new_key(&app, "writer", Some("support")).await;
    let revoked = new_key(&app, "writer", Some("growth")).await;
    let keys = app.get("/api/v1/keys").await;
    let revoked_id = keys.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| revoked.starts_with(k["prefix"].as_str().unwrap()))
        .map(|k| k["id"].as_i64().unwrap())
        .unwrap();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/keys/{revoked_id}"))),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!keys.text.contains(&viewer) && !keys.text.contains(&growth));

    let plain = crate::helpers::plain_client();
    let mut checked = 0;
    let routes = api_routes();
    for route in &routes {
        for who in EVERYONE {
            let url = app.url(
                &route
                    .path
                    .replace("{key}", "ours")
                    .replace("{id}", "999999")
                    .replace("{delivery_id}", "999999"),
            );
            let mut req = match route.method {
                "GET" => plain.get(&url),
                "POST" => plain.post(&url),
                "PATCH" => plain.patch(&url),
                "PUT" => plain.put(&url),
                "DELETE" => plain.delete(&url),
                other => panic!("method {other}"),
            };
            if matches!(route.method, "POST" | "PATCH" | "PUT") {
                let body: Value = if route.rule == Rule::BodyTeam {
                    let mut b = initiative_body(&format!("m-{checked}"));
                    merge(&mut b, json!({"owner_team": "growth"}));
                    b
                } else {
                    json!({})
                };
                req = req.json(&body);
            }
            req = match who {
                Who::NoKey => req,
                Who::Malformed => req.header("authorization", "Bearer not-a-key"),
                Who::Revoked => req.bearer_auth(&revoked),
                Who::Viewer => req.bearer_auth(&viewer),
                Who::OtherTeamWriter => req.bearer_auth(&support),
                Who::TeamWriter => req.bearer_auth(&growth),
                Who::Admin => req.bearer_auth(&app.admin_key),
            };
            let r = app.send(req).await;
            let what = format!("{} {} as {who:?}", route.method, route.path);
            match expected(route.rule, who) {
                Expect::Unauthorized => {
                    r.assert_problem(401, None);
                }
                Expect::Forbidden => r.assert_problem(403, None),
                Expect::Allowed => assert!(
                    r.status != 401 && r.status != 403,
                    "{what}: expected to pass authorization, got {}: {}",
                    r.status,
                    r.text
                ),
            }
            for secret in [&viewer, &growth, &support, &revoked, &app.admin_key] {
                assert!(
                    !r.text.contains(secret.as_str()) || route.path == "/api/v1/keys",
                    "{what}: a key in the body"
                );
                let hash = offerlab::store::keys::hash_key(secret);
                assert!(!r.text.contains(&hash), "{what}: a key hash in the body");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * EVERYONE.len());
}

async fn revoking_a_key_stops_it_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app
        .post("/api/v1/keys", &json!({"label": "temp", "role": "viewer"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_i64().unwrap();
    assert!(key.starts_with("olk_") && key.len() == 68);
    let plain = crate::helpers::plain_client();
    let get = || plain.get(app.url("/api/v1/segments")).bearer_auth(&key);
    assert_eq!(app.send(get()).await.status, 200);
    let r = app
        .send(app.client.delete(app.url(&format!("/api/v1/keys/{id}"))))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["revoked_at"].is_string());
    let r = app.send(get()).await;
    r.assert_problem(401, None);
    // Key requests are validated like any other.
    app.post("/api/v1/keys", &json!({"label": "w", "role": "writer"}))
        .await
        .assert_problem(422, Some("team"));
    app.post(
        "/api/v1/keys",
        &json!({"label": "v", "role": "viewer", "team": "growth"}),
    )
    .await
    .assert_problem(422, Some("team"));
    app.post("/api/v1/keys", &json!({"label": "x", "role": "root"}))
        .await
        .assert_problem(422, Some("role"));
    let list = app.get("/api/v1/keys").await;
    assert!(!list.text.contains(&key), "keys are never listed");
    assert!(!list.text.contains("hash"), "nor their hashes");
}

async fn a_writer_cannot_move_an_initiative_to_another_team(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb"]).await;
    app.create_initiative("draft", json!({})).await;
    let growth = new_key(&app, "writer", Some("growth")).await;
    let plain = crate::helpers::plain_client();
    let r = app
        .send(
            plain
                .patch(app.url("/api/v1/initiatives/draft"))
                .bearer_auth(&growth)
                .json(&json!({"owner_team": "support"})),
        )
        .await;
    r.assert_problem(403, None);
    let r = app
        .send(
            plain
                .patch(app.url("/api/v1/initiatives/draft"))
                .bearer_auth(&growth)
                .json(&json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

backend_tests!(
    every_route_for_every_caller,
    revoking_a_key_stops_it_at_once,
    a_writer_cannot_move_an_initiative_to_another_team,
);

//! People: invites (once, until they expire), password sign-in with one generic error
//! and a rate limit, disabled users, sign-out everywhere, the session reading (never
//! writing) the API, and the readout's decision form behind a form token.

use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with, test_settings};
use crate::reports::send_customers;

const PASSWORD: &str = "plum tree violin 42";
const WRONG: &str = "Email or password is wrong.";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    cookie: Option<&str>,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(form(pairs));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn get_with(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    cookie: &str,
) -> reqwest::Response {
    client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// Invites someone through the API; answers the invite link's path.
async fn invite(app: &TestApp, email: &str, role: &str, teams: &[&str]) -> String {
    let r = app
        .post(
            "/api/v1/users/invites",
            &json!({"email": email, "name": format!("Person {email}"), "role": role, "teams": teams}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["invite_url"].as_str().unwrap();
    assert!(url.starts_with(&app.address), "{url}");
    url[app.address.len()..].to_owned()
}

async fn set_password(app: &TestApp, path: &str, password: &str) -> reqwest::Response {
    post_form(
        app,
        &browser(),
        path,
        None,
        &[("password", password), ("confirm", password)],
    )
    .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    post_form(
        app,
        &browser(),
        "/sign-in",
        None,
        &[("email", email), ("password", password), ("next", "/")],
    )
    .await
}

fn cookie_of(r: &reqwest::Response) -> String {
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// Invites, sets the password and signs in: the session cookie.
async fn person(app: &TestApp, email: &str, role: &str, teams: &[&str]) -> String {
    let path = invite(app, email, role, teams).await;
    assert_eq!(set_password(app, &path, PASSWORD).await.status(), 303);
    let r = sign_in(app, email, PASSWORD).await;
    assert_eq!(r.status(), 303);
    cookie_of(&r)
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

async fn invites_work_once_and_expire(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let path = invite(&app, "Ada@Example.com", "viewer", &[]).await;
    let client = browser();
    let page = client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("ada@example.com"), "email normalised: {html}");
    assert!(!html.contains("Sign out"), "signed-out visitor: {html}");

    // The same email (any case) cannot be invited twice; bad fields are named.
    let r = app
        .post(
            "/api/v1/users/invites",
            &json!({"email": "ADA@example.com", "name": "Ada", "role": "viewer"}),
        )
        .await;
    r.assert_problem(409, None);
    let r = app
        .post(
            "/api/v1/users/invites",
            &json!({"email": "not-an-email", "name": "", "role": "writer"}),
        )
        .await;
    r.assert_problem(422, Some("email"));
    for field in ["name", "teams"] {
        assert!(
            r.text.contains(&format!("\"field\":\"{field}\"")),
            "{}",
            r.text
        );
    }

    // Too short, or two different passwords: refused, the invite stays open.
    let r = set_password(&app, &path, "short").await;
    assert_eq!(r.status(), 422);
    let r = post_form(
        &app,
        &client,
        &path,
        None,
        &[("password", PASSWORD), ("confirm", "another long password")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("differ"));

    let r = set_password(&app, &path, PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/sign-in?welcome=1");

    // Used: refused with a page saying so, whether opened or posted again.
    let r = client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("used already"));
    let r = set_password(&app, &path, "a new long password").await;
    assert_eq!(r.status(), 410);
    // The password of the first use holds; the second did not change it.
    assert_eq!(
        sign_in(&app, "ada@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(
        sign_in(&app, "ada@example.com", "a new long password")
            .await
            .status(),
        401
    );

    // An unknown token: 404.
    let r = client
        .get(app.url(&format!("/invite/{}", "0".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // An expired invite (made in the store, valid until an hour ago).
    let store = offerlab::store::Store::open(test_settings(app._db.url()).store_options().unwrap())
        .unwrap();
    let mut conn = store.conn().unwrap();
    let (_, token) = offerlab::store::users::invite(
        &mut conn,
        &offerlab::domain::audit::Actor::system("test setup"),
        &offerlab::api::users::parse_invite::<&str>("late@example.com", "Late", "viewer", &[])
            .unwrap(),
        chrono::Duration::hours(1),
        chrono::Utc::now() - chrono::Duration::hours(2),
    )
    .unwrap();
    let late = format!("/invite/{token}");
    let r = client.get(app.url(&late)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("expired"));
    assert_eq!(set_password(&app, &late, PASSWORD).await.status(), 410);
    assert_eq!(
        sign_in(&app, "late@example.com", PASSWORD).await.status(),
        401
    );

    // Admins only: a viewer key may not invite or list.
    let viewer = crate::helpers::client_with_key(
        app.post("/api/v1/keys", &json!({"label": "v", "role": "viewer"}))
            .await
            .body["key"]
            .as_str()
            .unwrap(),
    );
    let r = app
        .send(
            viewer
                .post(app.url("/api/v1/users/invites"))
                .json(&json!({"email": "x@example.com", "name": "X", "role": "viewer"})),
        )
        .await;
    r.assert_problem(403, None);
    let r = app.get("/api/v1/users").await;
    assert_eq!(r.status, 200);
    let users = r.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["status"], "active");
    assert_eq!(users[1]["status"], "invited");
    assert!(!r.text.contains("argon2"), "no hash listed: {}", r.text);
}

async fn sign_in_errors_are_generic_and_brute_force_is_limited(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.dashboard.sign_in_failures_per_account = 5;
        s.dashboard.sign_in_failures_per_address = 9;
    })
    .await
    else {
        return;
    };
    let path = invite(&app, "bo@example.com", "viewer", &[]).await;
    // No password yet: the same message as a wrong one.
    let r = sign_in(&app, "bo@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains(WRONG));
    set_password(&app, &path, PASSWORD).await;

    // Unknown email and wrong password read the same.
    let unknown = sign_in(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), 401);
    assert!(!unknown.headers().contains_key("set-cookie"));
    assert!(unknown.text().await.unwrap().contains(WRONG));
    let wrong = sign_in(&app, "bo@example.com", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains(WRONG));
    // Any case of the email signs in.
    assert_eq!(
        sign_in(&app, "BO@Example.com", PASSWORD).await.status(),
        303
    );

    // Five failures on the account: the sixth attempt is refused, even with the right
    // password, with Retry-After.
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "bo@example.com", "guess").await.status(), 401);
    }
    let r = sign_in(&app, "bo@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert!(!r.headers().contains_key("set-cookie"));
    let html = r.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins"), "{html}");
    assert!(!html.contains("Sign out"));

    // Per address: 1 + 1 + 1 + 5 failures so far from this address, the limit is 9: one
    // more on another account, then every account is refused from here.
    assert_eq!(sign_in(&app, "x1@example.com", "guess").await.status(), 401);
    assert_eq!(sign_in(&app, "x2@example.com", "guess").await.status(), 429);
}

async fn a_disabled_user_is_signed_out_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = browser();
    let cookie = person(&app, "cy@example.com", "viewer", &[]).await;
    assert_eq!(get_with(&app, &client, "/", &cookie).await.status(), 200);
    assert_eq!(
        get_with(&app, &client, "/api/v1/portfolio", &cookie)
            .await
            .status(),
        200
    );
    let users = app.get("/api/v1/users").await;
    let id = users.body["users"][0]["id"].as_i64().unwrap();
    let r = app
        .post(&format!("/api/v1/users/{id}/disable"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "disabled");

    let r = get_with(&app, &client, "/", &cookie).await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
    assert_eq!(
        get_with(&app, &client, "/api/v1/portfolio", &cookie)
            .await
            .status(),
        401
    );
    let r = sign_in(&app, "cy@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains(WRONG));
    app.post("/api/v1/users/999999/disable", &json!({}))
        .await
        .assert_problem(404, None);
}

async fn a_cookie_reads_the_api_and_never_writes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    let client = browser();
    let cookie = person(&app, "dee@example.com", "writer", &["growth"]).await;
    for path in [
        "/api/v1/initiatives/plan/report",
        "/api/v1/initiatives/plan/report.csv",
        "/api/v1/initiatives/plan/decisions",
    ] {
        let r = get_with(&app, &client, path, &cookie).await;
        assert_eq!(r.status(), 200, "{path}");
        let head = client
            .head(app.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
    }
    // Admin-only reads stay admin-only for a cookie too.
    assert_eq!(
        get_with(&app, &client, "/api/v1/users", &cookie)
            .await
            .status(),
        403
    );
    // Writes: a cookie is not a caller, even from the same origin.
    let r = client
        .post(app.url("/api/v1/initiatives/plan/conclude"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"decision": "iterate", "note": "n", "override_reason": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(app.url("/api/v1/initiatives/plan/events"))
        .header("cookie", &cookie)
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let status = app.get("/api/v1/initiatives/plan").await;
    assert_eq!(status.body["status"], "running");
    // A tampered cookie reads nothing.
    let tampered = format!("{}0", &cookie[..cookie.len() - 1]);
    let tampered = if tampered == cookie {
        format!("{}1", &cookie[..cookie.len() - 1])
    } else {
        tampered
    };
    assert_eq!(
        get_with(&app, &client, "/api/v1/initiatives/plan/report", &tampered)
            .await
            .status(),
        401
    );
}

async fn decide_on_the_readout_with_a_form_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    send_customers(&app, "plan", 0, 40, 0.1).await;
    let client = browser();
    let writer = person(&app, "eve@example.com", "writer", &["growth"]).await;
    let viewer = person(&app, "fay@example.com", "viewer", &[]).await;
    let other = person(&app, "gus@example.com", "writer", &["support"]).await;

    let page = get_with(&app, &client, "/initiatives/plan", &writer).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("Record a decision"), "{html}");
    let token = csrf_of(&html);
    assert_eq!(token.len(), 64);
    for cookie in [&viewer, &other] {
        let html = get_with(&app, &client, "/initiatives/plan", cookie)
            .await
            .text()
            .await
            .unwrap();
        assert!(!html.contains("Record a decision"));
    }

    let decide = "/initiatives/plan/decide";
    let fields = |csrf: &str| -> Vec<(String, String)> {
        vec![
            ("csrf".into(), csrf.into()),
            ("decision".into(), "iterate".into()),
            ("note".into(), "Try a lower price".into()),
            ("override_reason".into(), String::new()),
        ]
    };
    let send = |cookie: String, pairs: Vec<(String, String)>, site: &'static str| {
        let client = client.clone();
        let url = app.url(decide);
        async move {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", site)
                .header("cookie", cookie)
                .body(form(&pairs))
                .send()
                .await
                .unwrap()
        }
    };
    // Cross-site, even with the right token: refused.
    let r = send(writer.clone(), fields(&token), "cross-site").await;
    assert_eq!(r.status(), 403);
    // Same site, without or with a wrong token: refused.
    let r = send(writer.clone(), fields(""), "same-origin").await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("This form has expired"));
    let wrong = format!(
        "{}{}",
        &token[..63],
        if token.ends_with('0') { "1" } else { "0" }
    );
    assert_eq!(
        send(writer.clone(), fields(&wrong), "same-origin")
            .await
            .status(),
        403
    );
    // Another session's token does not fit this session.
    let second = sign_in(&app, "eve@example.com", PASSWORD).await;
    let second = cookie_of(&second);
    assert_eq!(
        send(second.clone(), fields(&token), "same-origin")
            .await
            .status(),
        403
    );
    // A viewer with its own valid token: 403; a writer of another team: 403.
    for cookie in [&viewer, &other] {
        let html = get_with(&app, &client, "/", cookie)
            .await
            .text()
            .await
            .unwrap();
        let own = csrf_of(&html);
        let r = send(cookie.to_string(), fields(&own), "same-origin").await;
        assert_eq!(r.status(), 403);
    }
    assert_eq!(
        app.get("/api/v1/initiatives/plan").await.body["status"],
        "running"
    );

    // Before min_exposures, the API's rule: an override reason is needed. The form comes
    // back with the message and what was typed.
    let r = send(writer.clone(), fields(&token), "same-origin").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Override reason: is required"), "{html}");
    assert!(html.contains("Try a lower price"));
    let mut with_reason = fields(&token);
    with_reason[3].1 = "The board asked for a price test now".into();
    let r = send(writer.clone(), with_reason, "same-origin").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/initiatives/plan#decision-log");

    let log = app.get("/api/v1/initiatives/plan/decisions").await;
    let entry = &log.body["decisions"][0];
    assert_eq!(entry["decided_by"], "Person eve@example.com");
    assert_eq!(entry["against_evidence"], true);
    let html = get_with(&app, &client, "/initiatives/plan", &writer)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Person eve@example.com"));
    // Concluded: no form any more; a second post is a conflict shown on the page.
    assert!(!html.contains("Record a decision"));
    let mut again = fields(&token);
    again[3].1 = "again".into();
    let r = send(writer.clone(), again, "same-origin").await;
    assert_eq!(r.status(), 409);
}

async fn password_change_and_sign_out_everywhere(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = browser();
    let first = person(&app, "hal@example.com", "admin", &[]).await;
    let second = cookie_of(&sign_in(&app, "hal@example.com", PASSWORD).await);
    let html = get_with(&app, &client, "/account", &first)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign out everywhere"));
    let token = csrf_of(&html);
    let change = |current: &'static str, new: &'static str, csrf: String, cookie: String| {
        let client = client.clone();
        let url = app.url("/account/password");
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie)
                .body(form(&[
                    ("csrf", &csrf),
                    ("current", current),
                    ("password", new),
                    ("confirm", new),
                ]))
                .send()
                .await
                .unwrap()
        }
    };
    let r = change(
        "wrong",
        "a brand new passphrase",
        token.clone(),
        first.clone(),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = change(
        PASSWORD,
        "a brand new passphrase",
        String::new(),
        first.clone(),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = change(
        PASSWORD,
        "a brand new passphrase",
        token.clone(),
        first.clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    // The other session ended; this one goes on.
    assert_eq!(get_with(&app, &client, "/", &second).await.status(), 303);
    assert_eq!(get_with(&app, &client, "/", &first).await.status(), 200);
    assert_eq!(
        sign_in(&app, "hal@example.com", PASSWORD).await.status(),
        401
    );
    let third = cookie_of(&sign_in(&app, "hal@example.com", "a brand new passphrase").await);

    // Sign out everywhere: both remaining sessions end.
    let r = post_form(
        &app,
        &client,
        "/sign-out-everywhere",
        Some(&first),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(get_with(&app, &client, "/", &first).await.status(), 303);
    assert_eq!(get_with(&app, &client, "/", &third).await.status(), 303);
}

async fn admins_invite_and_disable_on_the_users_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = browser();
    let admin = person(&app, "ida@example.com", "admin", &[]).await;
    let viewer = person(&app, "jo@example.com", "viewer", &[]).await;
    assert_eq!(
        get_with(&app, &client, "/users", &viewer).await.status(),
        403
    );
    let html = get_with(&app, &client, "/users", &admin)
        .await
        .text()
        .await
        .unwrap();
    let token = csrf_of(&html);
    let r = post_form(
        &app,
        &client,
        "/users/invite",
        Some(&admin),
        &[
            ("csrf", &token),
            ("email", "kim@example.com"),
            ("name", "Kim"),
            ("role", "writer"),
            ("teams", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("teams a writer needs at least one team")
    );
    let r = post_form(
        &app,
        &client,
        "/users/invite",
        Some(&admin),
        &[
            ("csrf", &token),
            ("email", "kim@example.com"),
            ("name", "Kim"),
            ("role", "writer"),
            ("teams", "growth, support"),
        ],
    )
    .await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    let at = html.find("/invite/").unwrap();
    let path: String = html[at..].chars().take_while(|c| *c != '<').collect();
    assert_eq!(set_password(&app, &path, PASSWORD).await.status(), 303);
    // Both teams reach the API and the page.
    let html = get_with(&app, &client, "/users", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-teams=\"growth,support\""), "{html}");

    let users: Value = app.get("/api/v1/users").await.body;
    let kim = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "kim@example.com")
        .unwrap();
    assert_eq!(kim["teams"], json!(["growth", "support"]));
    let jo = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "jo@example.com")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = post_form(
        &app,
        &client,
        &format!("/users/{jo}/disable"),
        Some(&admin),
        &[("csrf", "")],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(
        &app,
        &client,
        &format!("/users/{jo}/disable"),
        Some(&admin),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(get_with(&app, &client, "/", &viewer).await.status(), 303);
}

/// A writer of two teams decides for initiatives of either, not of a third; a viewer for
/// none. The invite's teams round-trip through the API and are audited.
async fn a_writer_of_two_teams_decides_for_both_and_no_other(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("grow", json!({})).await;
    for (key, team) in [("help", "support"), ("core", "platform")] {
        app.create_initiative(key, json!({"owner_team": team}))
            .await;
        let r = app
            .post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Round trip: the teams as given (a repeated name counts once), sorted.
    let r = app
        .post(
            "/api/v1/users/invites",
            &json!({"email": "two@example.com", "name": "Two Teams", "role": "writer",
                    "teams": ["support", "growth", "support"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["user"]["teams"], json!(["growth", "support"]));
    let url = r.body["invite_url"].as_str().unwrap();
    let path = url[app.address.len()..].to_owned();
    assert_eq!(set_password(&app, &path, PASSWORD).await.status(), 303);
    let writer = cookie_of(&sign_in(&app, "two@example.com", PASSWORD).await);
    let viewer = person(&app, "view@example.com", "viewer", &[]).await;
    let audit = app.get("/api/v1/audit?target_type=user").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(
        audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["after"]["teams"] == json!(["growth", "support"])),
        "{}",
        audit.text
    );
    // Teams only for writers, and at least one for a writer.
    for body in [
        json!({"email": "w@example.com", "name": "W", "role": "writer", "teams": []}),
        json!({"email": "v@example.com", "name": "V", "role": "viewer", "teams": ["growth"]}),
        json!({"email": "x@example.com", "name": "X", "role": "writer", "teams": ["Not a team"]}),
    ] {
        app.post("/api/v1/users/invites", &body)
            .await
            .assert_problem(422, Some("teams"));
    }

    let client = browser();
    let decide = |cookie: String, key: &'static str, csrf: String| {
        let client = client.clone();
        let url = app.url(&format!("/initiatives/{key}/decide"));
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "same-origin")
                .header("cookie", cookie)
                .body(form(&[
                    ("csrf", &csrf),
                    ("decision", "iterate"),
                    ("note", "Keep going"),
                    ("override_reason", "A planned review"),
                ]))
                .send()
                .await
                .unwrap()
        }
    };
    for (key, allowed) in [("grow", true), ("help", true), ("core", false)] {
        for (cookie, may) in [(&writer, allowed), (&viewer, false)] {
            let html = get_with(&app, &client, &format!("/initiatives/{key}"), cookie)
                .await
                .text()
                .await
                .unwrap();
            assert_eq!(html.contains("Record a decision"), may, "{key}: {html}");
            let token = csrf_of(&html);
            let r = decide(cookie.clone(), key, token).await;
            let expected = if may { 303 } else { 403 };
            assert_eq!(r.status(), expected, "{key}");
        }
        let log = app
            .get(&format!("/api/v1/initiatives/{key}/decisions"))
            .await;
        let decided = log.body["decisions"].as_array().unwrap().len();
        assert_eq!(decided, usize::from(allowed), "{key}: {}", log.text);
    }
}

/// The `user_teams` migration moves each user's one team into the new table: a writer
/// invited before it keeps their team.
async fn existing_users_keep_their_team_across_the_migration(backend: Backend) {
    use diesel::Connection;
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    let Some(db) = crate::helpers::TestDb::create_unmigrated(backend) else {
        return;
    };
    let url = db.url().to_owned();
    let (folder, postgres) = if url.starts_with("postgres") {
        ("migrations/postgres", true)
    } else {
        ("migrations/sqlite", false)
    };
    let migrations = FileBasedMigrations::from_path(folder).unwrap();
    let before = [
        "INSERT INTO users (email, name, role, team, created_at) \
         VALUES ('w@example.com', 'W', 'writer', 'growth', '2026-11-01 00:00:00')",
        "INSERT INTO users (email, name, role, team, created_at) \
         VALUES ('v@example.com', 'V', 'viewer', NULL, '2026-11-01 00:00:00')",
    ];
    let moved: Vec<(String, String)> = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            email: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            team: String,
        }
        let query = "SELECT users.email, user_teams.team FROM user_teams \
                     JOIN users ON users.id = user_teams.user_id ORDER BY users.email";
        macro_rules! migrate_and_read {
            ($conn:expr) => {{
                let conn = $conn;
                // Every migration in order; two users just before `user_teams`.
                let mut seen = false;
                for m in conn.pending_migrations(migrations.clone()).unwrap() {
                    if m.name().to_string().ends_with("_user_teams") {
                        seen = true;
                        for statement in before {
                            diesel::sql_query(statement).execute(conn).unwrap();
                        }
                    }
                    conn.run_migration(&*m).unwrap();
                }
                assert!(seen, "the user_teams migration exists");
                diesel::sql_query(query)
                    .load::<Row>(conn)
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.email, r.team))
                    .collect()
            }};
        }
        if postgres {
            migrate_and_read!(&mut diesel::PgConnection::establish(&url).unwrap())
        } else {
            migrate_and_read!(
                &mut diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://"))
                    .unwrap()
            )
        }
    };
    assert_eq!(moved, vec![("w@example.com".into(), "growth".into())]);
    // And the store reads them as a set.
    let store = offerlab::store::Store::open(test_settings(&url).store_options().unwrap()).unwrap();
    let mut conn = store.conn().unwrap();
    let all = offerlab::store::users::list(&mut conn).unwrap();
    let teams: Vec<Vec<&str>> = all
        .iter()
        .map(|u| u.teams.iter().map(|t| t.as_str()).collect())
        .collect();
    assert_eq!(teams, vec![vec!["growth"], vec![]]);
    assert!(
        all[0]
            .caller()
            .writes_for(&offerlab::domain::TeamKey::parse("growth").unwrap())
    );
}

backend_tests!(
    existing_users_keep_their_team_across_the_migration,
    invites_work_once_and_expire,
    a_writer_of_two_teams_decides_for_both_and_no_other,
    sign_in_errors_are_generic_and_brute_force_is_limited,
    a_disabled_user_is_signed_out_at_once,
    a_cookie_reads_the_api_and_never_writes,
    decide_on_the_readout_with_a_form_token,
    password_change_and_sign_out_everywhere,
    admins_invite_and_disable_on_the_users_page,
);

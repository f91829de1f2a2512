//! Dashboard sign-in: cookie flags, sign-out, tampered cookies, revoked keys, links.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, spawn_app};

fn no_redirects() -> reqwest::Client {
    crate::helpers::install_tls();
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, key: &str) -> reqwest::Response {
    client
        .post(app.url("/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={key}&next=%2Finitiatives%2Fplan"))
        .send()
        .await
        .unwrap()
}

fn cookie_of(resp: &reqwest::Response) -> (String, String) {
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pair = set.split(';').next().unwrap().to_owned();
    (pair, set)
}

async fn page(app: &TestApp, client: &reqwest::Client, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client.get(app.url("/"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn pages_need_a_session_and_sign_out_ends_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = no_redirects();
    let viewer = app
        .post("/api/v1/keys", &json!({"label": "board", "role": "viewer"}))
        .await;
    let viewer_key = viewer.body["key"].as_str().unwrap().to_owned();

    let r = page(&app, &client, None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/sign-in?next=/");
    let r = client.get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("name=\"key\""));

    let r = sign_in(&app, &client, "olk_wrong").await;
    assert_eq!(r.status(), 401);
    assert!(!r.headers().contains_key("set-cookie"));

    let r = sign_in(&app, &client, &viewer_key).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/initiatives/plan");
    let (cookie, set) = cookie_of(&r);
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP here: {set}");
    assert!(!set.contains(&viewer_key), "the key is not the cookie");
    assert_eq!(page(&app, &client, Some(&cookie)).await.status(), 200);

    // A tampered cookie is refused.
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(page(&app, &client, Some(&tampered)).await.status(), 303);

    // Sign-out clears the cookie and ends the session: replaying it no longer works.
    let r = client
        .post(app.url("/sign-out"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(page(&app, &client, Some(&cookie)).await.status(), 303);
}

async fn revoking_the_key_ends_its_sessions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = no_redirects();
    let created = app
        .post("/api/v1/keys", &json!({"label": "temp", "role": "viewer"}))
        .await;
    let key = created.body["key"].as_str().unwrap().to_owned();
    let (cookie, _) = cookie_of(&sign_in(&app, &client, &key).await);
    assert_eq!(page(&app, &client, Some(&cookie)).await.status(), 200);
    let id = created.body["id"].as_i64().unwrap();
    let r = app
        .send(app.client.delete(app.url(&format!("/api/v1/keys/{id}"))))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(page(&app, &client, Some(&cookie)).await.status(), 303);
}

async fn a_sign_in_link_works_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = no_redirects();
    // The link serve --demo prints, made the same way.
    let db_url = app._db.url().to_owned();
    let code = tokio::task::spawn_blocking(move || {
        let store = offerlab::store::Store::open(
            crate::helpers::test_settings(&db_url)
                .store_options()
                .unwrap(),
        )
        .unwrap();
        let mut conn = store.conn().unwrap();
        let now = chrono::Utc::now();
        let key = offerlab::store::keys::create(
            &mut conn,
            &offerlab::domain::audit::Actor::system("test setup"),
            "demo",
            offerlab::domain::access::Role::Viewer,
            None,
            now,
        )
        .unwrap();
        offerlab::store::sessions::create(
            &mut conn,
            offerlab::domain::access::Who::Key(key.key.id),
            offerlab::store::sessions::Kind::Link,
            chrono::Duration::hours(1),
            now,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let url = app.url(&format!("/sign-in?code={code}"));
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (cookie, _) = cookie_of(&r);
    assert_eq!(page(&app, &client, Some(&cookie)).await.status(), 200);
    let again = client.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 401, "a link works once");
}

backend_tests!(
    pages_need_a_session_and_sign_out_ends_it,
    revoking_the_key_ends_its_sessions,
    a_sign_in_link_works_once,
);

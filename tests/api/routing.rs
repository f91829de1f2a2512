//! Authorization decided on what the router matched, for every route of the table.
//!
//! - Every route, in its plain form and in encodings a hostile client might try
//!   (percent-encoded letters in literal segments and in the key, `%2D`, `%2F`, a
//!   trailing slash, doubled slashes, dot segments), for every kind of caller: each
//!   encoded request gets the plain request's answer, or a 404; never a 5xx. Sent byte
//!   for byte, so no client normalises the path first. The table is the one the service
//!   is built from: a new route cannot escape.
//! - HEAD wherever GET, 405 with `Allow` for other methods, OPTIONS with `Allow`.
//! - Sign-in: hostile `next` targets always end on a same-site path; cross-site form
//!   posts are refused; a failed sign-in leaves no session behind.

use offerlab::api::routes::{Route, Rule, table};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, RawReply, TestApp, count_rows, initiative_body, merge, spawn_app};

/// The initiative of team growth every route is tried on (a key with a hyphen, for `%2D`).
const KEY: &str = "acl-g";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Viewer,
    OtherTeamWriter,
    TeamWriter,
    Admin,
}

const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::Viewer,
    Who::OtherTeamWriter,
    Who::TeamWriter,
    Who::Admin,
];

fn pct(c: char) -> String {
    format!("%{:02X}", c as u32)
}

/// `segment` with its first character percent-encoded.
fn encode_first(segment: &str) -> String {
    let mut chars = segment.chars();
    match chars.next() {
        Some(c) => format!("{}{}", pct(c), chars.as_str()),
        None => String::new(),
    }
}

/// The plain path of a route and its hostile encodings, each with a name.
fn encodings(route: &Route) -> (String, Vec<(String, String)>) {
    let concrete = |key: &str| {
        route
            .path
            .replace("{key}", key)
            .replace("{id}", "999999")
            .replace("{delivery_id}", "999999")
    };
    let plain = concrete(KEY);
    let segments: Vec<&str> = route.path.split('/').collect();
    let literal: Vec<usize> = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty() && !s.starts_with('{'))
        .map(|(i, _)| i)
        .collect();
    let mut out = Vec::new();
    for i in [literal.first(), literal.last()].into_iter().flatten() {
        let mut changed = segments.clone();
        let encoded = encode_first(segments[*i]);
        changed[*i] = &encoded;
        let path = changed
            .join("/")
            .replace("{key}", KEY)
            .replace("{id}", "999999")
            .replace("{delivery_id}", "999999");
        out.push((format!("letter in literal segment {i}"), path));
    }
    if route.path.contains("{key}") {
        out.push(("letter in the key".into(), concrete(&encode_first(KEY))));
        out.push(("%2D in the key".into(), concrete("acl%2Dg")));
        out.push(("%2d in the key".into(), concrete("acl%2dg")));
        out.push(("%2F in the key".into(), concrete("acl%2Fg")));
    }
    out.push(("trailing slash".into(), format!("{plain}/")));
    let (head, last) = plain.rsplit_once('/').unwrap_or(("", &plain));
    out.push(("doubled slash".into(), format!("{head}//{last}")));
    out.push(("dot segment".into(), format!("{head}/x/../{last}")));
    out.push((
        "encoded dot segment".into(),
        format!("{head}/x/%2E%2E/{last}"),
    ));
    out.push(("leading doubled slash".into(), format!("/{plain}")));
    (plain, out)
}

/// What an answer decided, for comparison: the status, with a redirect to sign-in told
/// apart from other redirects.
fn decision(reply: &RawReply, what: &str) -> String {
    assert!(
        reply.status < 500,
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    match reply.header("location") {
        Some(l) if reply.status == 303 && l.starts_with("/sign-in?") => "sign-in".into(),
        _ => reply.status.to_string(),
    }
}

struct Callers {
    viewer: String,
    growth: String,
    support: String,
    /// A signed-in viewer's session cookie.
    cookie: String,
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

async fn callers(app: &TestApp) -> Callers {
    let viewer = new_key(app, "viewer", None).await;
    let cookie = app.key_session_cookie(&viewer).await;
    Callers {
        growth: new_key(app, "writer", Some("growth")).await,
        support: new_key(app, "writer", Some("support")).await,
        viewer,
        cookie,
    }
}

/// Sends a route's request as `who`: API routes with a bearer key, pages with the
/// viewer's session (anyone signed in sees the same pages).
async fn send_as(
    app: &TestApp,
    callers: &Callers,
    route: &Route,
    target: &str,
    who: Who,
    n: usize,
) -> RawReply {
    let page = matches!(route.rule, Rule::Page | Rule::AdminPage | Rule::OpenPage);
    let bearer;
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if page {
        // Signing out would end the session the other requests use.
        if who != Who::Anonymous && route.path != "/sign-out" {
            headers.push(("Cookie", &callers.cookie));
        }
    } else {
        let key = match who {
            Who::Anonymous => None,
            Who::Viewer => Some(&callers.viewer),
            Who::OtherTeamWriter => Some(&callers.support),
            Who::TeamWriter => Some(&callers.growth),
            Who::Admin => Some(&app.admin_key),
        };
        if let Some(k) = key {
            bearer = format!("Bearer {k}");
            headers.push(("Authorization", &bearer));
        }
    }
    let body: Option<(String, String)> = match (route.method, page) {
        ("POST", true) => Some((
            "application/x-www-form-urlencoded".into(),
            "key=olk_wrong".into(),
        )),
        ("POST" | "PATCH" | "PUT", false) => {
            let body: Value = if route.rule == Rule::BodyTeam {
                let mut b = initiative_body(&format!("m-{n}"));
                merge(&mut b, json!({"owner_team": "growth"}));
                b
            } else {
                json!({})
            };
            Some(("application/json".into(), body.to_string()))
        }
        _ => None,
    };
    app.raw(
        route.method,
        target,
        &headers,
        body.as_ref().map(|(t, b)| (t.as_str(), b.as_str())),
    )
    .await
}

async fn encoded_paths_get_the_plain_decision_or_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative(KEY, json!({})).await; // owner team: growth
    let callers = callers(&app).await;
    let routes = table();
    let mut n = 0;
    let mut tried = 0;
    for route in &routes {
        let (plain, variants) = encodings(route);
        for who in EVERYONE {
            n += 1;
            let what = format!("{} {plain} as {who:?}", route.method);
            let expected = decision(&send_as(&app, &callers, route, &plain, who, n).await, &what);
            for (name, target) in &variants {
                n += 1;
                let what = format!("{} {target} ({name}) as {who:?}", route.method);
                let got = decision(&send_as(&app, &callers, route, target, who, n).await, &what);
                // 400: a request line the server refuses to parse is no bypass either.
                assert!(
                    got == expected || got == "404" || got == "400",
                    "{what}: answered {got}, the plain path {expected}"
                );
                tried += 1;
            }
        }
    }
    assert!(
        tried > routes.len() * EVERYONE.len() * 5,
        "{tried} requests"
    );
    // The reviewer's cases, by name: a writer of another team is refused whatever the
    // spelling, and the initiative is still running.
    for target in [
        "/api/v1/initiatives/%61cl-g/conclude",
        "/api/v1/initiatives/acl%2Dg/conclude",
        "/api/v1/%69nitiatives/acl-g/launch",
    ] {
        let r = app
            .raw(
                "POST",
                target,
                &[("Authorization", &format!("Bearer {}", callers.support))],
                Some(("application/json", r#"{"decision":"stop","note":"x"}"#)),
            )
            .await;
        assert!(r.status == 403 || r.status == 404, "{target}: {}", r.status);
    }
    let r = app.raw("GET", "/%69nitiatives/acl-g", &[], None).await;
    assert_eq!(
        r.status, 303,
        "a page needs a session whatever its spelling"
    );
    let state = app.get(&format!("/api/v1/initiatives/{KEY}")).await;
    assert_eq!(state.body["status"], "running", "{}", state.text);
}

async fn head_options_and_405_on_every_path(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative(KEY, json!({})).await;
    let callers = callers(&app).await;
    let routes = table();
    let auth = format!("Bearer {}", app.admin_key);
    for route in routes.iter().filter(|r| r.method == "GET") {
        let (target, _) = encodings(route);
        let page = matches!(route.rule, Rule::Page | Rule::AdminPage | Rule::OpenPage);
        let headers: Vec<(&str, &str)> = if page {
            vec![("Cookie", &callers.cookie)]
        } else {
            vec![("Authorization", &auth)]
        };
        let get = app.raw("GET", &target, &headers, None).await;
        let head = app.raw("HEAD", &target, &headers, None).await;
        assert_eq!(head.status, get.status, "HEAD {target}");
        assert!(head.body.is_empty(), "HEAD {target} has no body");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {target}"
        );
    }
    let mut paths: Vec<&str> = routes.iter().map(|r| r.path).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let route = routes.iter().find(|r| r.path == path).unwrap();
        let (target, _) = encodings(route);
        let declared: Vec<&str> = routes
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.method)
            .collect();
        // A method the path does not serve.
        let probe = if declared.contains(&"PUT") {
            "DELETE"
        } else {
            "PUT"
        };
        let r = app
            .raw(probe, &target, &[("Authorization", &auth)], None)
            .await;
        assert_eq!(r.status, 405, "{probe} {target}: {}", r.body);
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/problem+json")),
            "{probe} {target}"
        );
        let allow = r.header("allow").unwrap_or_default().to_owned();
        for m in &declared {
            assert!(
                allow.contains(m),
                "{probe} {target}: Allow {allow:?} lacks {m}"
            );
        }
        assert!(!allow.contains(probe), "{allow}");
        let r = app.raw("OPTIONS", &target, &[], None).await;
        assert_eq!(r.status, 204, "OPTIONS {target}");
        assert_eq!(r.header("allow"), Some(allow.as_str()), "OPTIONS {target}");
    }
    // Unknown paths stay 404, whatever the method.
    for method in ["GET", "PUT", "HEAD"] {
        let r = app
            .raw(method, "/api/v1/nowhere", &[("Authorization", &auth)], None)
            .await;
        assert_eq!(r.status, 404, "{method} /api/v1/nowhere");
    }
}

fn form(key: &str, next: &str) -> String {
    let next: String = next
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("key={key}&next={next}")
}

/// A `Location` a browser resolves to this site.
fn same_site(location: &str) -> bool {
    location.starts_with('/')
        && !location.starts_with("//")
        && !location.starts_with("/\\")
        && location.bytes().all(|b| b.is_ascii_graphic())
}

async fn sign_in_redirects_only_to_this_site(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let viewer = new_key(&app, "viewer", None).await;
    let hostile = [
        "//x",
        "/\\x",
        "/\t/x",
        "/\n/x",
        "/\r\nSet-Cookie: a=b",
        "https:x",
        "https://evil.example/",
        "//evil.example/%2F..",
        "/%2F/x",
        "/%09/evil.example",
        "\\\\evil.example",
        "http:\\\\evil.example",
        " /x",
        "javascript:alert(1)",
        "/initiatives/acl-g",
    ];
    for next in hostile {
        let before = count_rows(&app._db, "sessions");
        // A failed sign-in: an answer, no session.
        let r = app
            .raw(
                "POST",
                "/sign-in",
                &[],
                Some((
                    "application/x-www-form-urlencoded",
                    &form("olk_wrong", next),
                )),
            )
            .await;
        assert_eq!(r.status, 401, "{next:?}");
        assert!(r.header("set-cookie").is_none(), "{next:?}");
        assert_eq!(count_rows(&app._db, "sessions"), before, "{next:?}");
        // A good one lands on this site, with exactly one new session.
        let r = app
            .raw(
                "POST",
                "/sign-in",
                &[],
                Some(("application/x-www-form-urlencoded", &form(&viewer, next))),
            )
            .await;
        assert_eq!(r.status, 303, "{next:?}: {}", r.body);
        let location = r.header("location").unwrap_or_default();
        assert!(same_site(location), "{next:?} -> {location:?}");
        assert_eq!(count_rows(&app._db, "sessions"), before + 1, "{next:?}");
        // The form keeps `next` only when it is safe (escaped in the page either way).
        let page = app
            .raw(
                "GET",
                &format!("/sign-in?{}", form("", next).trim_start_matches("key=&")),
                &[],
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{next:?}");
    }
    let r = app
        .raw(
            "POST",
            "/sign-in",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                &form(&viewer, "/initiatives/acl-g?x=1"),
            )),
        )
        .await;
    assert_eq!(r.header("location"), Some("/initiatives/acl-g?x=1"));
}

async fn cross_site_form_posts_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let viewer = new_key(&app, "viewer", None).await;
    let body = form(&viewer, "/");
    let own_origin = app.address.clone();
    let before = count_rows(&app._db, "sessions");
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "null")],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![
            ("Sec-Fetch-Site", "same-site"),
            ("Origin", own_origin.as_str()),
        ],
        vec![("Origin", "http://127.0.0.1:1")],
    ] {
        for path in ["/sign-in", "/sign-out"] {
            let r = app
                .raw(
                    "POST",
                    path,
                    &headers,
                    Some(("application/x-www-form-urlencoded", &body)),
                )
                .await;
            assert_eq!(r.status, 403, "{path} {headers:?}: {}", r.body);
            assert!(r.header("set-cookie").is_none(), "{path} {headers:?}");
        }
    }
    assert_eq!(
        count_rows(&app._db, "sessions"),
        before,
        "nothing signed in"
    );
    for headers in [
        vec![("Origin", own_origin.as_str())],
        vec![
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", own_origin.as_str()),
        ],
        vec![],
    ] {
        let r = app
            .raw(
                "POST",
                "/sign-in",
                &headers,
                Some(("application/x-www-form-urlencoded", &body)),
            )
            .await;
        assert_eq!(r.status, 303, "{headers:?}: {}", r.body);
    }
}

backend_tests!(
    encoded_paths_get_the_plain_decision_or_404,
    head_options_and_405_on_every_path,
    sign_in_redirects_only_to_this_site,
    cross_site_form_posts_are_refused,
);

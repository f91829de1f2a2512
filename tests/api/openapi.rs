use crate::helpers::{Backend, spawn_app};

use offerlab::api::routes::Rule;

/// Every documented route of the service, as (method, OpenAPI path): the route table
/// but the pages.
fn routes() -> Vec<(String, String)> {
    crate::access::api_routes()
        .iter()
        .map(|r| (r.method.to_lowercase(), r.path.to_owned()))
        .collect()
}

/// The served document and the route table agree: every route is documented under its
/// method and path, every operation is routed, and each operation's `security` is its
/// rule's (public routes `security: []`, every other the bearer key).
/// Database-independent: runs once, on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_the_route_table() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let doc = app.get("/api/v1/openapi.json").await.body;
    let table = crate::access::api_routes();
    for route in &table {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is not documented",
            route.method,
            route.path
        );
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{} {} states no security", route.method, route.path));
        if route.rule == Rule::Public {
            assert!(
                security.is_empty(),
                "{} {} is public",
                route.method,
                route.path
            );
        } else {
            assert_eq!(
                security,
                &vec![serde_json::json!({"bearer": []})],
                "{} {} needs a key",
                route.method,
                route.path
            );
        }
    }
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            assert!(
                table
                    .iter()
                    .any(|r| r.path == path && r.method.eq_ignore_ascii_case(method)),
                "{method} {path} is documented but not routed"
            );
        }
    }
    assert_eq!(operations, table.len());
}

async fn openapi_documents_every_route(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = &r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let routes = routes();
    let mut documented = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            documented += 1;
            assert!(
                routes.contains(&(method.clone(), path.clone())),
                "documented but not in the route table: {method} {path}"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
        }
    }
    assert_eq!(documented, routes.len(), "every route is documented");
    // Each documented route is served (answers something other than the fallback 404).
    for (method, path) in &routes {
        let url = app.url(
            &path
                .replace("{key}", "ghost")
                .replace("{id}", "0")
                .replace("{delivery_id}", "0"),
        );
        let req = match method.as_str() {
            "get" => app.client.get(&url),
            "post" => app.client.post(&url).json(&serde_json::json!({})),
            "patch" => app.client.patch(&url).json(&serde_json::json!({})),
            "put" => app.client.put(&url).json(&serde_json::json!({})),
            "delete" => app.client.delete(&url),
            other => panic!("method {other}"),
        };
        let reply = app.send(req).await;
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(
            !(reply.status == 404 && detail.starts_with(&method.to_uppercase())),
            "{method} {path} is not routed: {}",
            reply.text
        );
    }
    for schema in [
        "InitiativeInput",
        "InitiativeView",
        "AnyEvent",
        "ExposureEvent",
        "Problem",
        "SummaryView",
        "DecisionList",
        "EvidenceSnapshot",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} documented"
        );
    }
}

// Routing and the document do not depend on the database.
crate::once_tests!(openapi_documents_every_route);

/// The served document equals the committed `tests/snapshots/openapi.json`, so every
/// change to the contract shows as a reviewable diff. `UPDATE_SNAPSHOTS=1` rewrites it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_matches_its_snapshot() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let served = format!("{}\n", serde_json::to_string_pretty(&r.body).unwrap());
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &served).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == served,
        "the served OpenAPI document differs from {}; review the change and run \
         UPDATE_SNAPSHOTS=1 cargo test --test api document_matches_its_snapshot",
        file.display()
    );
}

/// Every operation says what it does (summary and description) and answers its errors
/// as problem+json; keyed operations state 401, 429 (with `Retry-After`) and 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_described_with_its_errors() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let doc = app.get("/api/v1/openapi.json").await.body;
    assert!(doc["servers"].as_array().is_some_and(|s| !s.is_empty()));
    for route in crate::access::api_routes() {
        let name = format!("{} {}", route.method, route.path);
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        for field in ["summary", "description"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{name} has no {field}"
            );
        }
        let responses = op["responses"].as_object().unwrap();
        for (code, response) in responses {
            if code.starts_with('4') || code.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{name} {code}"
                );
            }
        }
        if route.rule != Rule::Public {
            for code in ["401", "429", "503"] {
                assert!(responses.contains_key(code), "{name} states no {code}");
            }
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{name}: 429 without Retry-After"
            );
        }
        if route.path.contains('{') {
            assert!(responses.contains_key("404"), "{name} states no 404");
        }
        if op["requestBody"].is_object() {
            for code in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(code), "{name} states no {code}");
            }
        }
    }
}

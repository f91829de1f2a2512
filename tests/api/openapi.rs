use crate::backend_tests;
use crate::helpers::{Backend, spawn_app};

/// Every documented route of the service, as (method, OpenAPI path): the route table
/// but the pages and the Prometheus metrics.
fn routes() -> Vec<(String, String)> {
    crate::access::api_routes()
        .iter()
        .filter(|r| r.path != "/metrics")
        .map(|r| (r.method.to_lowercase(), r.path.to_owned()))
        .collect()
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
        "EventInput",
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

backend_tests!(openapi_documents_every_route);

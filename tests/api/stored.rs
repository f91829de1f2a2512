//! Typed storage: closed sets are read through the store's typed columns, "no
//! sentiment" is NULL (not a sentinel string), and a stored value outside its closed set
//! is a clean error, not a panic.

use crate::backend_tests;
use crate::helpers::{Backend, TestDb, execute_sql, exposure, query_n, response, spawn_app_on};

/// Customers without a response are counted in one cell per key whose sentiment is NULL,
/// updated in place by later groups (the key stays unique although NULLs are distinct in a
/// unique index), and no cell stores an empty string.
async fn a_cell_without_a_response_has_a_null_sentiment(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let app = spawn_app_on(db, |_| {}).await;
    app.running_initiative("nulls", serde_json::json!({})).await;
    let first: Vec<_> = (1..=3)
        .map(|i| exposure(&format!("x{i}"), &format!("c{i}"), "smb"))
        .collect();
    assert_eq!(app.post_events("nulls", &first).await.status, 200);
    let r = app
        .post_events("nulls", &[response("r1", "c1", "love")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for i in 4..=5 {
        let r = app
            .post_events(
                "nulls",
                &[exposure(&format!("x{i}"), &format!("c{i}"), "smb")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let db = &app._db;
    assert_eq!(
        query_n(
            db,
            "SELECT COUNT(*) AS n FROM aggregate_cells WHERE sentiment = ''"
        ),
        0
    );
    assert_eq!(
        query_n(
            db,
            "SELECT COUNT(*) AS n FROM aggregate_cells WHERE sentiment IS NULL"
        ),
        1,
        "one cell for the customers without a response"
    );
    assert_eq!(
        query_n(
            db,
            "SELECT customers AS n FROM aggregate_cells WHERE sentiment IS NULL"
        ),
        4
    );
    assert_eq!(
        query_n(
            db,
            "SELECT customers AS n FROM aggregate_cells WHERE sentiment = 'love'"
        ),
        1
    );
    let summary = app.summary("nulls").await;
    assert_eq!(summary["total"]["exposures"], 5, "{summary}");
}

/// A status outside the closed set, written behind the server's back, makes reading that
/// initiative a 500 problem (logged, not a panic); the server keeps serving the rest.
async fn a_stored_value_outside_its_closed_set_is_a_clean_error(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let app = spawn_app_on(db, |_| {}).await;
    app.create_segments(&["smb"]).await;
    app.create_initiative("odd", serde_json::json!({})).await;
    app.create_initiative("fine", serde_json::json!({})).await;
    assert_eq!(
        execute_sql(
            &app._db,
            "UPDATE initiatives SET status = 'archived' WHERE key = 'odd'"
        ),
        1
    );
    let r = app.get("/api/v1/initiatives/odd").await;
    r.assert_problem(500, None);
    let r = app.get("/api/v1/initiatives/fine").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get("/healthz").await.status, 200);
}

backend_tests!(
    a_cell_without_a_response_has_a_null_sentiment,
    a_stored_value_outside_its_closed_set_is_a_clean_error,
);

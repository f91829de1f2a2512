//! `GET /initiatives/{key}/events` pages by the ingestion sequence (keyset): every event
//! exactly once, in order, and a page read from the index `events_initiative_seq`
//! without a sort, so its cost does not depend on how many events are stored.

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use offerlab::store::{DbConn, Store, events, initiatives};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, exposure, preorder, response, spawn_app, test_settings};

/// Events for customers `from..to` of initiative-unique ids `{prefix}-...`.
fn customer_events(prefix: &str, from: usize, to: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for i in from..to {
        let c = format!("{prefix}-c{i}");
        out.push(exposure(&format!("{c}-x"), &c, "smb"));
        if i % 2 == 0 {
            out.push(preorder(&format!("{c}-p"), &c, 1900));
        }
        if i % 3 == 0 {
            out.push(response(&format!("{c}-r"), &c, "love"));
        }
    }
    out
}

/// Follows `next_cursor` with pages of `limit`, checking each page's shape.
async fn page_through(app: &TestApp, key: &str, limit: usize) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = String::new();
    for _ in 0..10_000 {
        let r = app
            .get(&format!(
                "/api/v1/initiatives/{key}/events?limit={limit}&after={after}"
            ))
            .await;
        assert_eq!(r.status, 200, "page: {}", r.text);
        let page = r.body["events"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= limit, "page longer than limit: {}", r.text);
        let next = r.body["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(last) = page.last() {
            assert_eq!(
                last["cursor"],
                next.as_str(),
                "next_cursor is the last event's"
            );
        } else {
            assert_eq!(next, after, "an empty page keeps the cursor");
        }
        out.extend(page);
        after = next;
        if r.body["has_more"] != true {
            // Exact: nothing is stored after the last page.
            let r = app
                .get(&format!(
                    "/api/v1/initiatives/{key}/events?limit={limit}&after={after}"
                ))
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                r.body["events"],
                json!([]),
                "after the last page: {}",
                r.text
            );
            return out;
        }
    }
    panic!("paging did not end");
}

async fn paging_returns_every_event_once_in_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    app.create_initiative("other", json!({})).await;
    let r = app
        .post("/api/v1/initiatives/other/launch", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Two initiatives' batches interleaved, so one initiative's sequence has gaps.
    let mut sent: Vec<String> = Vec::new();
    for round in 0..4 {
        let mine = customer_events("p", round * 20, round * 20 + 20);
        let theirs = customer_events("o", round * 15, round * 15 + 15);
        let r = app.post_events("plan", &mine).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.post_events("other", &theirs).await;
        assert_eq!(r.status, 200, "{}", r.text);
        sent.extend(
            mine.iter()
                .map(|e| e["event_id"].as_str().unwrap().to_owned()),
        );
    }
    assert!(sent.len() > 100);

    for limit in [1, 7, 1000] {
        let stored = page_through(&app, "plan", limit).await;
        let ids: Vec<&str> = stored
            .iter()
            .map(|e| e["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids, sent,
            "limit {limit}: every event once, in ingestion order"
        );
        let cursors: Vec<i64> = stored
            .iter()
            .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(
            cursors.windows(2).all(|w| w[0] < w[1]),
            "cursors grow: {cursors:?}"
        );
    }

    // A page ending exactly at the last event says so.
    let r = app
        .get(&format!(
            "/api/v1/initiatives/plan/events?limit={}",
            sent.len()
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["has_more"], false, "{}", r.text);
    assert_eq!(r.body["events"].as_array().unwrap().len(), sent.len());

    // A poll from the last cursor sees only newer events.
    let last = r.body["next_cursor"].as_str().unwrap().to_owned();
    let newer = customer_events("p", 500, 502);
    let r = app.post_events("plan", &newer).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .get(&format!("/api/v1/initiatives/plan/events?after={last}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let polled: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = newer
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(polled, expected);
}

/// Stores `n` raw events for initiative `initiative_id` with one statement (no
/// aggregates: only the events table matters for the plan).
fn bulk_insert(conn: &mut DbConn, initiative_id: i64, tag: &str, n: i64) {
    let columns =
        "initiative_id, event_id, event_type, customer_id, occurred_at, received_at, segment";
    let sql = match conn {
        DbConn::Sqlite(_) => format!(
            "INSERT INTO events ({columns}) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             SELECT {initiative_id}, '{tag}-' || i, 'exposure', '{tag}-c' || i, \
                    '2026-11-25 10:00:00', '2026-11-25 10:00:00', 'smb' FROM n"
        ),
        DbConn::Postgres(_) => format!(
            "INSERT INTO events ({columns}) \
             SELECT {initiative_id}, '{tag}-' || i, 'exposure', '{tag}-c' || i, \
                    TIMESTAMP '2026-11-25 10:00:00', TIMESTAMP '2026-11-25 10:00:00', 'smb' \
             FROM generate_series(1, {n}) AS i"
        ),
    };
    diesel::sql_query(sql).execute(conn).expect("bulk insert");
}

/// The plans of the exact query `events::page` runs, for a first, a deep and a last
/// page, on a table large enough that the planner's choice is the one it makes in
/// production: PostgreSQL rightly prefers a sequential scan plus sort on a table of a
/// few rows, so rather than forcing its hand (`SET enable_seqscan = off`) the test
/// stores 30,000 events in two initiatives and refreshes the statistics (`ANALYZE`, as
/// autovacuum does). With statistics both planners would otherwise pick the primary key
/// with a row-by-row filter on `initiative_id`, which reads other initiatives' rows;
/// SQLite is also checked before `ANALYZE`, the state offerlab leaves it in.
fn page_plans(conn: &mut DbConn, analyze: bool) -> Vec<String> {
    let plan = initiatives::find(conn, "plan").unwrap().unwrap().id;
    let other = initiatives::find(conn, "other").unwrap().unwrap().id;
    if analyze {
        conn.batch_execute("ANALYZE").unwrap();
    }
    // The store reads pages as planned: check the pages too.
    let first = events::page(conn, plan, 0, 100).unwrap();
    assert_eq!(first.rows.len(), 100);
    assert!(first.has_more);
    let deep_cursor = first.rows[50].id + 15_000;
    let deep = events::page(conn, plan, deep_cursor, 100).unwrap();
    assert_eq!(deep.rows.len(), 100);
    assert!(deep.rows.iter().all(|r| r.id > deep_cursor));
    // The last page of `plan`, whose events all precede `other`'s: the case where the
    // primary key would read every later row of the table. (At the very end of the
    // table PostgreSQL may rightly read the few rows after the cursor by primary key
    // and sort them: that costs what the page returns.)
    let all = events::page(conn, plan, 0, 100_000).unwrap();
    let n = all.rows.len();
    assert_eq!(n, 20_000 + customer_events("p", 0, 10).len());
    assert!(!all.has_more);
    let tail = all.rows[n - 10].id;
    let last = events::page(conn, plan, tail, 100).unwrap();
    assert_eq!(last.rows.len(), 9);
    assert!(!last.has_more);
    [
        (plan, 0, 100),
        (plan, deep_cursor, 100),
        (plan, 0, 1000),
        (other, 0, 10),
        (plan, tail, 100),
    ]
    .map(|(initiative, after, limit)| events::page_plan(conn, initiative, after, limit).unwrap())
    .to_vec()
}

fn assert_keyset_plan(backend: Backend, plan: &str) {
    match backend {
        Backend::Sqlite => {
            assert!(
                plan.contains("INDEX events_initiative_seq (initiative_id=? AND id>?)"),
                "SQLite reads the page from the keyset index:\n{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE"),
                "SQLite sorts nothing:\n{plan}"
            );
        }
        Backend::Postgres => {
            assert!(
                plan.contains("Index Scan using events_initiative_seq on events"),
                "PostgreSQL reads the page from the keyset index:\n{plan}"
            );
            let cond = plan
                .lines()
                .find(|l| l.contains("Index Cond:"))
                .unwrap_or_default();
            assert!(
                cond.contains("(initiative_id >= ") && cond.contains("(id > "),
                "both keys bound the index scan:\n{plan}"
            );
            assert!(!plan.contains("Sort"), "PostgreSQL sorts nothing:\n{plan}");
            assert!(!plan.contains("Filter"), "no row-by-row filter:\n{plan}");
        }
    }
}

async fn page_plan_uses_the_index_without_a_sort(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.running_initiative("plan", json!({})).await;
    app.create_initiative("other", json!({})).await;
    let r = app.post_events("plan", &customer_events("p", 0, 10)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let url = app._db.url().to_owned();
    let plans = tokio::task::spawn_blocking(move || {
        let store = Store::open(test_settings(&url).store_options().unwrap()).unwrap();
        let mut conn = store.conn().unwrap();
        let plan = initiatives::find(&mut conn, "plan").unwrap().unwrap().id;
        let other = initiatives::find(&mut conn, "other").unwrap().unwrap().id;
        bulk_insert(&mut conn, plan, "bulk-p", 20_000);
        bulk_insert(&mut conn, other, "bulk-o", 10_000);
        let mut plans = Vec::new();
        if backend == Backend::Sqlite {
            plans.extend(page_plans(&mut conn, false));
        }
        plans.extend(page_plans(&mut conn, true));
        plans
    })
    .await
    .unwrap();

    assert!(!plans.is_empty());
    for plan in plans {
        assert_keyset_plan(backend, &plan);
    }
}

backend_tests!(
    paging_returns_every_event_once_in_order,
    page_plan_uses_the_index_without_a_sort,
);

//! Deposits, payments and follow-through (issue 11, items 3 and 5): the amount floor of a
//! pre-order by kind, the `payment` event, the report's `follow_through` against a
//! recount of the posted events, and events dated before the launch.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{
    Backend, TestApp, backfill_from, cancellation, exposure, preorder, response, spawn_app,
};

fn deposit(id: &str, customer: &str, cents: i64) -> Value {
    json!({"event_id": id, "type": "preorder", "kind": "deposit", "customer_id": customer, "amount_cents": cents, "currency": "EUR"})
}

fn payment(id: &str, customer: &str, cents: i64) -> Value {
    json!({"event_id": id, "type": "payment", "customer_id": customer, "amount_cents": cents, "currency": "EUR"})
}

/// A running initiative at 19 EUR taking a 5 EUR deposit (segments `smb`, `students`).
async fn with_deposit(app: &TestApp, key: &str) {
    app.running_initiative(
        key,
        json!({"criteria": {"target_preorder_rate": 0.05, "min_preorder_cents": {"deposit": 500}}}),
    )
    .await;
}

async fn report(app: &TestApp, key: &str) -> Value {
    let r = app.get(&format!("/api/v1/initiatives/{key}/report")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// One customer's story, as the recount sees it.
#[derive(Default)]
struct Story {
    said: Option<&'static str>,
    money_down: bool,
    paid: bool,
}

async fn follow_through_equals_a_recount(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    with_deposit(&app, "chain").await;
    let mut rng = StdRng::seed_from_u64(11);
    let mut stories: BTreeMap<String, Story> = BTreeMap::new();
    // Each customer's events in order; customers interleave at random.
    let mut lanes: Vec<Vec<Value>> = Vec::new();
    for n in 0..400 {
        let c = format!("c{n}");
        let mut story = Story::default();
        let mut lane = vec![exposure(
            &format!("{c}-x"),
            &c,
            ["smb", "students"][rng.random_range(0..2)],
        )];
        let sentiments = ["love", "like", "neutral", "dislike"];
        for r in 0..rng.random_range(0..3) {
            let s = sentiments[rng.random_range(0..4)];
            lane.push(response(&format!("{c}-r{r}"), &c, s));
            story.said = Some(s);
        }
        let down = match rng.random_range(0..10) {
            0..=3 => None,
            4..=6 => Some(("deposit", [500, 700][rng.random_range(0..2)])),
            _ => Some(("full", [1900, 3800][rng.random_range(0..2)])),
        };
        if let Some((kind, cents)) = down {
            story.money_down = true;
            lane.push(if kind == "deposit" {
                deposit(&format!("{c}-d"), &c, cents)
            } else {
                preorder(&format!("{c}-p"), &c, cents)
            });
            match rng.random_range(0..10) {
                0..=1 => lane.push(cancellation(&format!("{c}-k"), &c)),
                2..=7 => {
                    let rest = if kind == "deposit" {
                        1900 - cents
                    } else {
                        1900
                    };
                    let paid = payment(&format!("{c}-pay"), &c, rest);
                    lane.push(paid.clone());
                    if rng.random_bool(0.3) {
                        lane.push(paid); // a retry: counted once
                    }
                    story.paid = true;
                    if rng.random_bool(0.2) {
                        // Withdrawn after paying: still paid in full.
                        lane.push(cancellation(&format!("{c}-k"), &c));
                    }
                }
                _ => {}
            }
        }
        stories.insert(c, story);
        lanes.push(lane);
    }
    let mut order: Vec<usize> = lanes
        .iter()
        .enumerate()
        .flat_map(|(i, l)| std::iter::repeat_n(i, l.len()))
        .collect();
    order.shuffle(&mut rng);
    let mut cursors = vec![0usize; lanes.len()];
    let events: Vec<Value> = order
        .into_iter()
        .map(|i| {
            let e = lanes[i][cursors[i]].clone();
            cursors[i] += 1;
            e
        })
        .collect();
    let mut sent = 0;
    while sent < events.len() {
        let n = rng.random_range(1..=200).min(events.len() - sent);
        let r = app.post_events("chain", &events[sent..sent + n]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        sent += n;
    }

    // The recount, by what each customer said last.
    let labels = ["love", "like", "neutral", "dislike", "no_answer"];
    let mut expected: BTreeMap<&str, (u64, u64, u64)> =
        labels.iter().map(|l| (*l, (0, 0, 0))).collect();
    for s in stories.values() {
        let step = expected.get_mut(s.said.unwrap_or("no_answer")).unwrap();
        step.0 += 1;
        step.1 += u64::from(s.money_down);
        step.2 += u64::from(s.paid);
    }
    let down: u64 = expected.values().map(|s| s.1).sum();
    let paid: u64 = expected.values().map(|s| s.2).sum();
    assert!(down > 100 && paid > 50 && paid < down, "{down} {paid}");

    let ft = report(&app, "chain").await["follow_through"].clone();
    assert_eq!(ft["money_down"], down, "{ft}");
    assert_eq!(ft["paid"], paid, "{ft}");
    let share = paid as f64 / down as f64;
    assert!(
        (ft["share"].as_f64().unwrap() - share).abs() < 1e-12,
        "{ft}"
    );
    // The anytime-valid interval of the engine, tuned to the money down the plan expects
    // (5,000 planned exposures x 5%).
    let ci = offerlab::stats::BetaBinomialMixture::new(0.95, 250)
        .unwrap()
        .interval(paid, down)
        .unwrap();
    assert!(
        (ft["ci"]["low"].as_f64().unwrap() - ci.lower).abs() < 1e-9,
        "{ft}"
    );
    assert!(
        (ft["ci"]["high"].as_f64().unwrap() - ci.upper).abs() < 1e-9,
        "{ft}"
    );
    assert!(ci.lower < share && share < ci.upper);
    let chain = ft["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 5, "{ft}");
    for (step, label) in chain.iter().zip(labels) {
        let (customers, down, paid) = expected[label];
        assert_eq!(step["said"], label, "{ft}");
        assert_eq!(
            (
                step["customers"].as_u64(),
                step["money_down"].as_u64(),
                step["paid"].as_u64()
            ),
            (Some(customers), Some(down), Some(paid)),
            "{label}: {ft}"
        );
    }
    // The cells the report read hold the same counts.
    let summary = app.summary("chain").await;
    let cells = summary["cells"].as_array().unwrap();
    let sum = |k: &str| cells.iter().map(|c| c[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("money_down"), sum("paid")), (down, paid));
}

async fn preorders_below_their_floor_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    with_deposit(&app, "floored").await;
    let view = app.get("/api/v1/initiatives/floored").await.body;
    assert_eq!(
        view["criteria"]["min_preorder_cents"],
        json!({"full": null, "deposit": 500})
    );
    assert!(
        view["pre_registration"]
            .as_str()
            .unwrap()
            .contains(r#""min_preorder_cents":{"deposit":500,"full":null}"#),
        "the floors are part of the fingerprint: {view}"
    );

    // Below the floor of its kind: 422 naming the field, and nothing of the batch stored.
    for (event, words) in [
        (
            preorder("p1", "c1", 1899),
            "must be at least EUR 19.00 for a full pre-order",
        ),
        (
            deposit("p1", "c1", 499),
            "must be at least EUR 5.00 for a deposit pre-order",
        ),
    ] {
        let r = app
            .post_events("floored", &[exposure("x1", "c1", "smb"), event])
            .await;
        r.assert_problem(422, Some("events[1].amount_cents"));
        assert!(r.text.contains(words), "{words}: {}", r.text);
    }
    assert!(
        app.all_events("floored").await.is_empty(),
        "nothing written"
    );
    // At the floor: accepted, and listed with their kind.
    let r = app
        .post_events(
            "floored",
            &[
                exposure("x1", "c1", "smb"),
                preorder("p1", "c1", 1900),
                exposure("x2", "c2", "smb"),
                deposit("p2", "c2", 500),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let kinds: Vec<Value> = app
        .all_events("floored")
        .await
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [Value::Null, json!("full"), Value::Null, json!("deposit")]
    );
    let summary = app.summary("floored").await;
    assert_eq!(summary["total"]["preorders"], 2, "{summary}");
    assert_eq!(summary["total"]["committed_revenue_cents"], 2400);
    let r = app
        .post_events(
            "floored",
            &[json!({"event_id": "p3", "type": "preorder", "kind": "half", "customer_id": "c1", "amount_cents": 1900, "currency": "EUR"})],
        )
        .await;
    r.assert_problem(422, Some("events[0].kind"));

    // Without a deposit pre-registered, deposits are refused; an explicit full floor
    // replaces the price.
    app.create_initiative(
        "nodeposit",
        json!({"criteria": {"target_preorder_rate": 0.05, "min_preorder_cents": {"full": 1000}}}),
    )
    .await;
    app.post("/api/v1/initiatives/nodeposit/launch", &json!({}))
        .await;
    let r = app
        .post_events(
            "nodeposit",
            &[exposure("x1", "c1", "smb"), deposit("d1", "c1", 500)],
        )
        .await;
    r.assert_problem(422, Some("events[1].kind"));
    let r = app
        .post_events(
            "nodeposit",
            &[exposure("x1", "c1", "smb"), preorder("p1", "c1", 999)],
        )
        .await;
    r.assert_problem(422, Some("events[1].amount_cents"));
    assert!(r.text.contains("EUR 10.00"), "{}", r.text);
    let r = app
        .post_events(
            "nodeposit",
            &[exposure("x1", "c1", "smb"), preorder("p1", "c1", 1000)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A floor is an amount: 0 is refused at registration.
    let mut body = crate::helpers::initiative_body("zero");
    body["criteria"]["min_preorder_cents"] = json!({"deposit": 0});
    app.post("/api/v1/initiatives", &body)
        .await
        .assert_problem(422, Some("criteria.min_preorder_cents.deposit"));
}

async fn payments_need_money_down_and_count_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    with_deposit(&app, "paying").await;
    // No money down: refused, and the exposure of the batch is not stored either.
    let r = app
        .post_events(
            "paying",
            &[exposure("x1", "c1", "smb"), payment("pay1", "c1", 1900)],
        )
        .await;
    r.assert_problem(422, Some("events[1].type"));
    assert!(r.text.contains("money down"), "{}", r.text);
    assert!(app.all_events("paying").await.is_empty());

    let r = app
        .post_events(
            "paying",
            &[exposure("x1", "c1", "smb"), deposit("d1", "c1", 500)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // With the deposit, the payment must reach the price.
    let r = app
        .post_events("paying", &[payment("pay1", "c1", 1399)])
        .await;
    r.assert_problem(422, Some("events[0].amount_cents"));
    let r = app
        .post_events("paying", &[payment("pay1", "c1", 1400)])
        .await;
    assert_eq!(
        r.body,
        json!({"accepted": 1, "duplicates": 0}),
        "{}",
        r.text
    );
    // A retry counts once; another payment of the same customer is refused.
    let r = app
        .post_events("paying", &[payment("pay1", "c1", 1400)])
        .await;
    assert_eq!(
        r.body,
        json!({"accepted": 0, "duplicates": 1}),
        "{}",
        r.text
    );
    let r = app
        .post_events("paying", &[payment("pay2", "c1", 1400)])
        .await;
    r.assert_problem(422, Some("events[0].type"));
    // A payment takes no kind.
    let mut odd = payment("pay3", "c1", 1400);
    odd["kind"] = json!("full");
    app.post_events("paying", &[odd])
        .await
        .assert_problem(422, Some("events[0].kind"));

    let ft = report(&app, "paying").await["follow_through"].clone();
    assert_eq!(
        (ft["money_down"].as_u64(), ft["paid"].as_u64()),
        (Some(1), Some(1)),
        "{ft}"
    );
    assert_eq!(ft["chain"][4]["said"], "no_answer");
    assert_eq!(ft["chain"][4]["paid"], 1);
    // The revenue figures stay what was committed (the deposit).
    assert_eq!(
        app.summary("paying").await["total"]["committed_revenue_cents"],
        500
    );
}

async fn events_before_the_launch_need_a_backfill(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day_ago = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let days_ago = |d: i64| (chrono::Utc::now() - chrono::Duration::days(d)).to_rfc3339();
    app.running_initiative("plain", json!({})).await;
    let mut early = exposure("x1", "c1", "smb");
    early["occurred_at"] = json!(day_ago);
    let r = app.post_events("plain", &[early.clone()]).await;
    r.assert_problem(422, Some("events[0].occurred_at"));
    assert!(
        r.text.contains("before the initiative's launch") && r.text.contains("backfill_from"),
        "{}",
        r.text
    );
    assert!(app.all_events("plain").await.is_empty());

    // A pilot that ran before offerlab was connected pre-registers where it began.
    app.create_initiative(
        "backfilled",
        json!({"criteria": {"target_preorder_rate": 0.05, "backfill_from": backfill_from(10)}}),
    )
    .await;
    let launched = app
        .post("/api/v1/initiatives/backfilled/launch", &json!({}))
        .await;
    assert_eq!(launched.status, 200, "{}", launched.text);
    assert!(
        launched.body["pre_registration"]
            .as_str()
            .unwrap()
            .contains("\"backfill_from\""),
        "part of the fingerprint: {}",
        launched.text
    );
    assert!(launched.body["criteria"]["backfill_from"].is_string());
    let r = app.post_events("backfilled", &[early]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut earlier = exposure("x2", "c2", "smb");
    earlier["occurred_at"] = json!(days_ago(11));
    let r = app.post_events("backfilled", &[earlier]).await;
    r.assert_problem(422, Some("events[0].occurred_at"));
    assert!(r.text.contains("backfill_from"), "{}", r.text);

    // The readout says from when events count.
    let cookie = app.key_session_cookie(&app.admin_key).await;
    let page = app
        .client
        .get(app.url("/initiatives/backfilled"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("backfill before the launch"), "{html}");
    assert!(html.contains("id=\"follow-through\""), "{html}");

    // backfill_from is the start of a past pilot: not in the future, and a date or a time.
    for (value, field) in [
        (json!(days_ago(-1)), "criteria.backfill_from"),
        (json!("last week"), "criteria.backfill_from"),
    ] {
        let mut body = crate::helpers::initiative_body("future");
        body["criteria"]["backfill_from"] = value;
        app.post("/api/v1/initiatives", &body)
            .await
            .assert_problem(422, Some(field));
    }
    let mut body = crate::helpers::initiative_body("dated");
    body["criteria"]["backfill_from"] = json!("2026-01-01");
    let r = app.post("/api/v1/initiatives", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["criteria"]["backfill_from"], "2026-01-01T00:00:00Z");
}

backend_tests!(
    follow_through_equals_a_recount,
    preorders_below_their_floor_are_refused,
    payments_need_money_down_and_count_once,
    events_before_the_launch_need_a_backfill,
);

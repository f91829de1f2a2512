//! Provider webhooks: Stripe payloads signed by Stripe's own library (the `stripe` npm
//! package, installed by .ci/run), Typeform and the generic form hook, the inbox and
//! its replay.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Reply, TestApp, backfill_from, count_rows, spawn_app_with};

const SECRET: &str = "whsec_offerlab_test_secret";
const OLD_SECRET: &str = "whsec_rotated_out";
const TYPEFORM_SECRET: &str = "typeform-test-secret";
const FORM_SECRET: &str = "form-test-secret";

/// Where `npm install stripe` put the package (set by .ci/run). Under CI a missing
/// package fails the test rather than skipping it.
const NODE_MODULES_VAR: &str = "OFFERLAB_TEST_NODE_MODULES";

fn node_modules() -> Option<String> {
    match std::env::var(NODE_MODULES_VAR) {
        Ok(p) if std::path::Path::new(&p).join("stripe").is_dir() => Some(p),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{NODE_MODULES_VAR} must name a node_modules folder holding the stripe package under CI"
            );
            eprintln!("SKIPPED (Stripe): set {NODE_MODULES_VAR} to a node_modules with stripe");
            None
        }
    }
}

/// The `Stripe-Signature` header Stripe's library makes for `payload`.
fn stripe_signature(payload: &str, secret: &str, timestamp: Option<i64>) -> String {
    let modules = node_modules().expect("node modules");
    let script = r#"
const Stripe = require("stripe");
const stripe = Stripe("sk_test_offerlab");
const opts = { payload: process.env.PAYLOAD, secret: process.env.SECRET };
if (process.env.TIMESTAMP) opts.timestamp = Number(process.env.TIMESTAMP);
process.stdout.write(stripe.webhooks.generateTestHeaderString(opts));
"#;
    let mut cmd = std::process::Command::new("node");
    cmd.arg("-e")
        .arg(script)
        .env("NODE_PATH", modules)
        .env("PAYLOAD", payload)
        .env("SECRET", secret);
    if let Some(t) = timestamp {
        cmd.env("TIMESTAMP", t.to_string());
    }
    let out = cmd.output().expect("run node");
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn app_with_hooks(backend: Backend) -> Option<TestApp> {
    node_modules()?;
    spawn_app_with(backend, |s| {
        s.stripe.webhook_secrets = vec![
            offerlab::settings::Secret::new(OLD_SECRET),
            offerlab::settings::Secret::new(SECRET),
        ];
        s.typeform.secret = offerlab::settings::Secret::new(TYPEFORM_SECRET);
        s.forms.secret = offerlab::settings::Secret::new(FORM_SECRET);
    })
    .await
}

async fn post_signed(
    app: &TestApp,
    path: &str,
    header: Option<(&str, String)>,
    body: &str,
) -> Reply {
    let mut req = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    app.send(req).await
}

async fn stripe(app: &TestApp, body: &str) -> Reply {
    let header = stripe_signature(body, SECRET, None);
    post_signed(
        app,
        "/hooks/stripe",
        Some(("Stripe-Signature", header)),
        body,
    )
    .await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn checkout(evt: &str, pi: &str, initiative: &str, customer: &str, cents: i64) -> String {
    json!({
        "id": evt, "object": "event", "type": "checkout.session.completed", "created": now(),
        "data": {"object": {
            "id": format!("cs_{evt}"), "object": "checkout.session", "amount_total": cents,
            "currency": "eur", "payment_status": "paid", "payment_intent": pi,
            "metadata": {"offerlab_initiative": initiative, "offerlab_customer": customer, "offerlab_segment": "smb"}
        }}
    })
    .to_string()
}

fn refund(evt: &str, customer: &str, refunded: i64, before: i64, full: bool) -> String {
    json!({
        "id": evt, "object": "event", "type": "charge.refunded", "created": now(),
        "data": {"object": {
            "id": "ch_1", "object": "charge", "amount": 1900, "amount_refunded": refunded,
            "refunded": full, "currency": "eur", "payment_intent": "pi_1",
            "metadata": {"offerlab_initiative": "pilot", "offerlab_customer": customer}
        }, "previous_attributes": {"amount_refunded": before}}
    })
    .to_string()
}

async fn stripe_payments_are_preorders_and_retries_count_once(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    let body = checkout("evt_1", "pi_1", "pilot", "c1", 1900);
    let r = stripe(&app, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    assert_eq!(r.body["accepted"], 2, "exposure and pre-order: {}", r.text);
    // Stripe retries the same event: counted once.
    let again = stripe(&app, &body).await;
    assert_eq!(again.body["status"], "stored", "{}", again.text);
    assert_eq!(again.body["accepted"], 0, "{}", again.text);
    // The PaymentIntent event of the same payment is the same pre-order.
    let pi = json!({
        "id": "evt_pi", "type": "payment_intent.succeeded", "created": now(),
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount_received": 1900,
            "currency": "eur", "metadata": {"offerlab_initiative": "pilot", "offerlab_customer": "c1"}}}
    })
    .to_string();
    let r = stripe(&app, &pi).await;
    assert_eq!(r.body["accepted"], 0, "{}", r.text);
    // A Payment Link's client_reference_id, signed with the other configured secret.
    let link = json!({
        "id": "evt_2", "type": "checkout.session.completed", "created": now(),
        "data": {"object": {"amount_total": 1900, "currency": "eur", "payment_status": "paid",
            "payment_intent": "pi_2", "client_reference_id": "pilot:c2:students", "metadata": {}}}
    })
    .to_string();
    let header = stripe_signature(&link, OLD_SECRET, None);
    let r = post_signed(
        &app,
        "/hooks/stripe",
        Some(("Stripe-Signature", header)),
        &link,
    )
    .await;
    assert_eq!(r.body["accepted"], 2, "{}", r.text);
    let summary = app.summary("pilot").await;
    assert_eq!(summary["total"]["exposures"], 2, "{summary}");
    assert_eq!(summary["total"]["preorders"], 2, "{summary}");
    assert_eq!(
        summary["total"]["committed_revenue_cents"], 3800,
        "{summary}"
    );
    assert_eq!(
        summary["by_segment"]["students"]["preorders"], 1,
        "{summary}"
    );
    let events = app.all_events("pilot").await;
    let ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "stripe:pi_1:exposure",
            "stripe:pi_1",
            "stripe:pi_2:exposure",
            "stripe:pi_2"
        ]
    );
    // Other event types: acknowledged, nothing stored, nothing kept.
    let other = json!({"id": "evt_3", "type": "customer.created", "created": now(), "data": {"object": {}}})
        .to_string();
    let r = stripe(&app, &other).await;
    assert_eq!(r.body["status"], "ignored", "{}", r.text);
    assert_eq!(count_rows(&app._db, "events"), 4);
    assert_eq!(count_rows(&app._db, "inbox"), 0);
    let metrics = app.get("/metrics").await;
    assert!(
        metrics
            .text
            .contains("offerlab_hook_events_ignored_total{provider=\"stripe\"} 1"),
        "{}",
        metrics.text
    );
}

async fn bad_stripe_signatures_store_nothing(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    let body = checkout("evt_1", "pi_1", "pilot", "c1", 1900);
    let wrong = stripe_signature(&body, "whsec_someone_else", None);
    let old = stripe_signature(&body, SECRET, Some(now() - 301));
    let good = stripe_signature(&body, SECRET, None);
    let mutated = body.replace("1900", "1901");
    for (what, header, sent) in [
        ("wrong secret", Some(wrong), body.as_str()),
        ("old timestamp", Some(old), body.as_str()),
        ("mutated body", Some(good), mutated.as_str()),
        ("missing header", None, body.as_str()),
    ] {
        let r = post_signed(
            &app,
            "/hooks/stripe",
            header.map(|h| ("Stripe-Signature", h)),
            sent,
        )
        .await;
        r.assert_problem(400, Some("Stripe-Signature"));
        assert!(!r.text.contains(SECRET), "{what}: the secret in the answer");
    }
    assert_eq!(count_rows(&app._db, "events"), 0);
    assert_eq!(count_rows(&app._db, "inbox"), 0);
}

async fn a_hook_without_a_secret_accepts_nothing(backend: Backend) {
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    // Signed, but no secret to check it against: 404. Unsigned: 400 naming the header,
    // configured or not.
    for (path, header) in [
        ("/hooks/stripe", "Stripe-Signature"),
        ("/hooks/typeform", "Typeform-Signature"),
        ("/hooks/form", "X-Offerlab-Signature"),
    ] {
        post_signed(&app, path, None, "{}")
            .await
            .assert_problem(400, Some(header));
        let r = post_signed(&app, path, Some((header, "t=1,v1=00".into())), "{}").await;
        r.assert_problem(404, None);
        assert_eq!(
            r.body["type"], "urn:offerlab:problem:hook-not-configured",
            "{}",
            r.text
        );
    }
    assert_eq!(count_rows(&app._db, "inbox"), 0);
}

async fn stripe_refunds_lower_the_amount_and_a_full_one_cancels(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    // A customer who paid twice: a full refund of one payment keeps the other.
    let second = checkout("evt_2", "pi_2", "pilot", "c1", 1900);
    assert_eq!(
        stripe(&app, &checkout("evt_1", "pi_1", "pilot", "c1", 1900))
            .await
            .status,
        200
    );
    assert_eq!(stripe(&app, &second).await.body["accepted"], 1);
    let r = stripe(&app, &refund("evt_r", "c1", 1900, 0, true)).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    let summary = app.summary("pilot").await;
    assert_eq!(summary["total"]["preorders"], 1, "{summary}");
    assert_eq!(
        summary["total"]["committed_revenue_cents"], 1900,
        "{summary}"
    );
    assert_eq!(summary["total"]["cancelled"], 0, "{summary}");
    drop(app);
    one_payment_refunded(backend).await;
}

async fn one_payment_refunded(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    assert_eq!(
        stripe(&app, &checkout("evt_1", "pi_1", "pilot", "c1", 1900))
            .await
            .status,
        200
    );
    let partial = refund("evt_r1", "c1", 400, 0, false);
    let r = stripe(&app, &partial).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    let summary = app.summary("pilot").await;
    assert_eq!(summary["total"]["preorders"], 1, "{summary}");
    assert_eq!(
        summary["total"]["committed_revenue_cents"], 1500,
        "{summary}"
    );
    assert_eq!(summary["total"]["cancelled"], 0, "{summary}");
    // A retry of the refund counts once.
    let r = stripe(&app, &partial).await;
    assert_eq!(r.body["accepted"], 0, "{}", r.text);
    assert_eq!(
        app.summary("pilot").await["total"]["committed_revenue_cents"],
        1500
    );
    let r = stripe(&app, &refund("evt_r2", "c1", 1900, 400, true)).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    let summary = app.summary("pilot").await;
    assert_eq!(summary["total"]["preorders"], 0, "{summary}");
    assert_eq!(summary["total"]["cancelled"], 1, "{summary}");
    assert_eq!(summary["total"]["committed_revenue_cents"], 0, "{summary}");
    let types: Vec<Value> = app
        .all_events("pilot")
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("exposure"),
            json!("preorder"),
            json!("refund"),
            json!("refund")
        ]
    );
}

async fn unplaceable_payments_wait_in_the_inbox_and_replay(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    // A draft, not running yet. Payments made before its launch count only because it
    // pre-registers a backfill (without one they would stay in the inbox: dated before
    // the launch).
    app.create_initiative(
        "later",
        json!({"criteria": {"target_preorder_rate": 0.05, "backfill_from": backfill_from(1)}}),
    )
    .await;
    let body = checkout("evt_1", "pi_1", "later", "c1", 1900);
    let r = stripe(&app, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "inbox", "{}", r.text);
    assert!(
        r.body["reason"].as_str().unwrap().contains("draft"),
        "{}",
        r.text
    );
    let id = r.body["inbox_id"].as_i64().unwrap();
    // Stripe retries: still one entry, one more attempt.
    let r = stripe(&app, &body).await;
    assert_eq!(r.body["inbox_id"], id, "{}", r.text);
    // Wrong currency, unknown initiative, no customer: each kept with its reason.
    let usd = checkout("evt_usd", "pi_usd", "later", "c2", 1900).replace("\"eur\"", "\"usd\"");
    let ghost = checkout("evt_ghost", "pi_g", "ghost", "c3", 1900);
    let nobody = checkout("evt_nobody", "pi_n", "later", "", 1900);
    for (body, words) in [
        (usd, "USD"),
        (ghost, "unknown initiative"),
        (nobody, "customer"),
    ] {
        let r = stripe(&app, &body).await;
        assert_eq!(r.body["status"], "inbox", "{}", r.text);
        assert!(
            r.body["reason"].as_str().unwrap().contains(words),
            "{words}: {}",
            r.text
        );
    }
    let list = app
        .get("/api/v1/inbox?provider=stripe&status=pending")
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let entries = list.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{}", list.text);
    assert_eq!(entries[0]["id"], id);
    assert_eq!(entries[0]["attempts"], 2);
    assert_eq!(entries[0]["kind"], "checkout.session.completed");
    assert_eq!(
        entries[0]["payload"],
        body.as_str(),
        "the raw payload is kept"
    );
    let paged = app.get("/api/v1/inbox?limit=1").await;
    assert_eq!(paged.body["has_more"], true, "{}", paged.text);
    app.get("/api/v1/inbox?provider=paypal")
        .await
        .assert_problem(400, Some("provider"));
    assert_eq!(count_rows(&app._db, "events"), 0);

    // Replaying before the fix keeps it, with the reason.
    let r = app
        .post(&format!("/api/v1/inbox/{id}/replay"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "pending", "{}", r.text);
    // Launched: the replay places it into the pilot.
    let r = app
        .post("/api/v1/initiatives/later/launch", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(&format!("/api/v1/inbox/{id}/replay"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "replayed", "{}", r.text);
    assert_eq!(r.body["result"]["accepted"], 2, "{}", r.text);
    let summary = app.summary("later").await;
    assert_eq!(summary["total"]["preorders"], 1, "{summary}");
    assert_eq!(
        summary["total"]["committed_revenue_cents"], 1900,
        "{summary}"
    );
    // Stripe's late retry after the replay counts once.
    let r = stripe(&app, &body).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    assert_eq!(r.body["accepted"], 0, "{}", r.text);
    let pending = app.get("/api/v1/inbox?status=pending").await;
    assert_eq!(
        pending.body["entries"].as_array().unwrap().len(),
        3,
        "{}",
        pending.text
    );
    let missing = app.post("/api/v1/inbox/999999/replay", &json!({})).await;
    missing.assert_problem(404, None);
}

fn typeform_sign(body: &str, secret: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Now plus `seconds`, as Typeform writes times (whole seconds, UTC).
fn typeform_time(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn typeform_answer(token: &str, form: &str, customer: &str, label: &str) -> String {
    json!({
        "event_id": format!("01H{token}"), "event_type": "form_response",
        "form_response": {
            "form_id": form, "token": token, "submitted_at": typeform_time(0),
            "landed_at": typeform_time(-60),
            "hidden": {"customer_id": customer, "segment": "smb"},
            "definition": {"id": form, "title": "Would you pay for it?", "fields": []},
            "answers": [
                {"type": "text", "text": "fine", "field": {"id": "f1", "type": "short_text", "ref": "comment"}},
                {"type": "choice", "choice": {"id": "c", "label": label},
                 "field": {"id": "f2", "type": "multiple_choice", "ref": "feeling"}}
            ]
        }
    })
    .to_string()
}

async fn typeform(app: &TestApp, body: &str) -> Reply {
    let header = typeform_sign(body, TYPEFORM_SECRET);
    post_signed(
        app,
        "/hooks/typeform",
        Some(("Typeform-Signature", header)),
        body,
    )
    .await
}

async fn typeform_answers_become_responses_through_the_mapping(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    // Answers of a form no initiative maps wait in the inbox.
    let early = typeform_answer("tok0", "FORM1", "c0", "Love it");
    let r = typeform(&app, &early).await;
    assert_eq!(r.body["status"], "inbox", "{}", r.text);
    let early_id = r.body["inbox_id"].as_i64().unwrap();

    let bad = app
        .send(
            app.client
                .put(app.url("/api/v1/initiatives/pilot/survey-mapping"))
                .json(&json!({
                    "form_id": "FORM1", "sentiment_ref": "feeling", "customer_field": "customer_id",
                    "choices": {"Love it": "adore"}
                })),
        )
        .await;
    bad.assert_problem(422, Some("choices.Love it"));
    let mapping = json!({
        "form_id": "FORM1", "sentiment_ref": "feeling", "customer_field": "customer_id",
        "segment_field": "segment",
        "choices": {"Love it": "love", "It's fine": "like", "Meh": "neutral", "No thanks": "dislike"}
    });
    let r = app
        .send(
            app.client
                .put(app.url("/api/v1/initiatives/pilot/survey-mapping"))
                .json(&mapping),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let audit = app
        .get("/api/v1/audit?target_type=initiative&target_id=pilot")
        .await;
    assert!(
        audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "initiative.survey_mapping"
                && e["after"]["sentiment_ref"] == "feeling"),
        "the mapping change is audited: {}",
        audit.text
    );
    let r = app.get("/api/v1/initiatives/pilot/survey-mapping").await;
    assert_eq!(r.body["choices"]["Meh"], "neutral", "{}", r.text);

    // Typeform's retry is the same payload byte for byte (its times are stamped once).
    let answer = typeform_answer("tok1", "FORM1", "c1", "Love it");
    let r = typeform(&app, &answer).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    assert_eq!(
        r.body["accepted"], 2,
        "exposure in the hidden segment, then the response"
    );
    let r = typeform(&app, &answer).await;
    assert_eq!(r.body["accepted"], 0, "a retry counts once: {}", r.text);
    let r = typeform(&app, &typeform_answer("tok2", "FORM1", "c2", "No thanks")).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    // A label the mapping does not know: inbox.
    let r = typeform(&app, &typeform_answer("tok3", "FORM1", "c3", "Who knows")).await;
    assert_eq!(r.body["status"], "inbox", "{}", r.text);
    assert!(
        r.body["reason"].as_str().unwrap().contains("Who knows"),
        "{}",
        r.text
    );
    // Bad signature: 400, nothing stored.
    let body = typeform_answer("tok4", "FORM1", "c4", "Meh");
    let r = post_signed(
        &app,
        "/hooks/typeform",
        Some(("Typeform-Signature", typeform_sign(&body, "not-the-secret"))),
        &body,
    )
    .await;
    r.assert_problem(400, Some("Typeform-Signature"));
    let r = post_signed(&app, "/hooks/typeform", None, &body).await;
    r.assert_problem(400, Some("Typeform-Signature"));
    // The early answer replays now that the form is mapped.
    let r = app
        .post(&format!("/api/v1/inbox/{early_id}/replay"), &json!({}))
        .await;
    assert_eq!(r.body["status"], "replayed", "{}", r.text);
    let summary = app.summary("pilot").await;
    assert_eq!(summary["total"]["exposures"], 3, "{summary}");
    assert_eq!(summary["total"]["responses"]["love"], 2, "{summary}");
    assert_eq!(summary["total"]["responses"]["dislike"], 1, "{summary}");
    assert_eq!(summary["total"]["responses"]["neutral"], 0, "{summary}");
}

async fn the_generic_form_hook_records_responses(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative("pilot", json!({})).await;
    let send = |body: Value, secret: &'static str| {
        let text = body.to_string();
        let header = typeform_sign(&text, secret);
        let app = &app;
        async move {
            post_signed(
                app,
                "/hooks/form",
                Some(("X-Offerlab-Signature", header)),
                &text,
            )
            .await
        }
    };
    let answer = json!({"id": "a1", "initiative": "pilot", "customer": "c1", "segment": "smb",
        "sentiment": "like", "occurred_at": chrono::Utc::now().to_rfc3339()});
    let r = send(answer.clone(), FORM_SECRET).await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    let r = send(answer.clone(), FORM_SECRET).await;
    assert_eq!(r.body["accepted"], 0, "{}", r.text);
    let r = send(answer.clone(), "wrong").await;
    r.assert_problem(400, Some("X-Offerlab-Signature"));
    // No exposure and no segment: inbox.
    let r = send(
        json!({"id": "a2", "initiative": "pilot", "customer": "c2", "sentiment": "love"}),
        FORM_SECRET,
    )
    .await;
    assert_eq!(r.body["status"], "inbox", "{}", r.text);
    assert!(
        r.body["reason"].as_str().unwrap().contains("no exposure"),
        "{}",
        r.text
    );
    let list = app.get("/api/v1/inbox?provider=form").await;
    assert_eq!(
        list.body["entries"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
    let summary = app.summary("pilot").await;
    assert_eq!(summary["total"]["responses"]["like"], 1, "{summary}");
    assert_eq!(summary["total"]["exposures"], 1, "{summary}");
}

async fn the_inbox_page_is_for_admins_and_replays(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.create_segments(&["smb"]).await;
    // Paid before the launch: counted because the draft pre-registers a backfill.
    app.create_initiative(
        "later",
        json!({"criteria": {"target_preorder_rate": 0.05, "backfill_from": backfill_from(1)}}),
    )
    .await;
    let r = stripe(&app, &checkout("evt_page", "pi_page", "later", "c1", 1900)).await;
    let id = r.body["inbox_id"].as_i64().unwrap();
    let viewer = app
        .post("/api/v1/keys", &json!({"label": "v", "role": "viewer"}))
        .await;
    let viewer = app
        .key_session_cookie(viewer.body["key"].as_str().unwrap())
        .await;
    let r = app.raw("GET", "/inbox", &[("Cookie", &viewer)], None).await;
    assert_eq!(r.status, 403, "a viewer does not see raw payloads");
    let r = app.raw("GET", "/inbox", &[], None).await;
    assert_eq!(r.status, 303, "not signed in: to the sign-in page");
    let admin = app.key_session_cookie(&app.admin_key).await;
    let r = app.raw("GET", "/inbox", &[("Cookie", &admin)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("evt_page") && r.body.contains("draft"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!("/inbox/{id}/replay")),
        "{}",
        r.body
    );
    let r = app
        .raw("GET", "/inbox?provider=paypal", &[("Cookie", &admin)], None)
        .await;
    assert_eq!(r.status, 400);
    app.post("/api/v1/initiatives/later/launch", &json!({}))
        .await;
    let r = app
        .raw(
            "POST",
            &format!("/inbox/{id}/replay"),
            &[("Cookie", &admin)],
            Some(("application/x-www-form-urlencoded", "")),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.header("location").unwrap().to_owned();
    let r = app.raw("GET", &location, &[("Cookie", &admin)], None).await;
    assert!(r.body.contains("was replayed and stored"), "{}", r.body);
    assert_eq!(app.summary("later").await["total"]["preorders"], 1);
}

/// A Stripe payment whose metadata names its kind or a `payment`.
fn intent(evt: &str, pi: &str, customer: &str, cents: i64, extra: Value) -> String {
    let mut metadata = json!({"offerlab_initiative": "pilot", "offerlab_customer": customer, "offerlab_segment": "smb"});
    crate::helpers::merge(&mut metadata, extra);
    json!({
        "id": evt, "object": "event", "type": "payment_intent.succeeded", "created": now(),
        "data": {"object": {
            "id": pi, "object": "payment_intent", "amount_received": cents, "currency": "eur",
            "metadata": metadata
        }}
    })
    .to_string()
}

async fn stripe_deposits_floors_and_payments(backend: Backend) {
    let Some(app) = app_with_hooks(backend).await else {
        return;
    };
    app.running_initiative(
        "pilot",
        json!({"criteria": {"target_preorder_rate": 0.05, "min_preorder_cents": {"deposit": 500}}}),
    )
    .await;
    // Below the floor of a full pre-order: kept in the inbox with the reason, not dropped.
    let r = stripe(&app, &checkout("evt_small", "pi_small", "pilot", "c1", 500)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "inbox", "{}", r.text);
    let reason = r.body["reason"].as_str().unwrap();
    assert!(
        reason.contains("amount_cents")
            && reason.contains("must be at least EUR 19.00 for a full pre-order"),
        "{}",
        r.text
    );
    assert_eq!(count_rows(&app._db, "events"), 0);
    let inbox = app
        .get("/api/v1/inbox?provider=stripe&status=pending")
        .await;
    assert_eq!(inbox.body["entries"][0]["reason"], reason, "{}", inbox.text);
    // The same amount as a deposit counts.
    let r = stripe(
        &app,
        &intent(
            "evt_dep",
            "pi_dep",
            "c2",
            500,
            json!({"offerlab_kind": "deposit"}),
        ),
    )
    .await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    // Paid in full once the offer shipped; a payment without money down waits in the inbox.
    let r = stripe(
        &app,
        &intent(
            "evt_pay",
            "pi_pay",
            "c2",
            1400,
            json!({"offerlab_event": "payment"}),
        ),
    )
    .await;
    assert_eq!(r.body["status"], "stored", "{}", r.text);
    let r = stripe(
        &app,
        &intent(
            "evt_pay3",
            "pi_pay3",
            "c3",
            1900,
            json!({"offerlab_event": "payment"}),
        ),
    )
    .await;
    assert_eq!(r.body["status"], "inbox", "{}", r.text);
    assert!(r.text.contains("money down"), "{}", r.text);
    let ft = app.get("/api/v1/initiatives/pilot/report").await.body["follow_through"].clone();
    assert_eq!(
        (ft["money_down"].as_u64(), ft["paid"].as_u64()),
        (Some(1), Some(1)),
        "{ft}"
    );
    let kinds: Vec<Value> = app
        .all_events("pilot")
        .await
        .iter()
        .map(|e| json!([e["type"], e["kind"]]))
        .collect();
    assert_eq!(
        kinds,
        [
            json!(["exposure", null]),
            json!(["preorder", "deposit"]),
            json!(["payment", null])
        ]
    );
}

backend_tests!(
    stripe_deposits_floors_and_payments,
    the_inbox_page_is_for_admins_and_replays,
    stripe_payments_are_preorders_and_retries_count_once,
    bad_stripe_signatures_store_nothing,
    a_hook_without_a_secret_accepts_nothing,
    stripe_refunds_lower_the_amount_and_a_full_one_cancels,
    unplaceable_payments_wait_in_the_inbox_and_replay,
    typeform_answers_become_responses_through_the_mapping,
    the_generic_form_hook_records_responses,
);

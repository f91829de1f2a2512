//! The report, checked against the statistics engine applied to counts the test
//! recomputes itself from the events it sent.

use offerlab::stats;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, backfill_from, exposure, preorder, response, spawn_app};
use crate::model::Model;
use crate::stream::StreamGen;

fn close(actual: &Value, expected: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {actual}"));
    let tol = 1e-9 * expected.abs().max(1e-12);
    assert!((a - expected).abs() <= tol, "{what}: {a} != {expected}");
}

fn close_range(actual: &Value, lower: f64, upper: f64, what: &str) {
    close(&actual["low"], lower, &format!("{what}.low"));
    close(&actual["high"], upper, &format!("{what}.high"));
}

#[derive(Default, Clone, Copy)]
struct Counts {
    n: u64,
    k: u64,
    revenue: i64,
    sq: f64,
    love: u64,
    responses: u64,
}

fn counts<'a>(customers: impl Iterator<Item = (&'a str, &'a str, i64, &'a str, bool)>) -> Counts {
    let mut c = Counts::default();
    for (_, _, active, sentiment, _) in customers {
        c.n += 1;
        if active > 0 {
            c.k += 1;
        }
        c.revenue += active;
        c.sq += (active as f64) * (active as f64);
        if !sentiment.is_empty() {
            c.responses += 1;
        }
        if sentiment == "love" {
            c.love += 1;
        }
    }
    c
}

async fn report_equals_engine_on_recomputed_counts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students", "enterprise"])
        .await;
    let key = "priced";
    app.create_initiative(
        key,
        json!({
            "core_segments": ["smb", "enterprise"],
            "variants": [
                {"key": "cheap", "weight": 1, "price_cents": 1900},
                {"key": "dear", "weight": 1, "price_cents": 2900},
            ],
            "criteria": {"target_preorder_rate": 0.3, "target_love_share": 0.2, "confidence": 0.9, "min_exposures": 50, "planned_exposures": 800, "backfill_from": backfill_from(30)},
        }),
    )
    .await;
    app.post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
        .await;
    let mut model = Model::default();
    let mut generator = StreamGen::new(
        7,
        "r",
        &["smb", "students", "enterprise"],
        &["cheap", "dear"],
    );
    for _ in 0..12 {
        let n = generator.batch_size(200);
        let events = generator.batch(n);
        let r = app.post_events(key, &events).await;
        assert_eq!(r.status, 200, "{}", r.text);
        for e in &events {
            model.apply(e, chrono::Utc::now());
        }
    }
    let r = app.get(&format!("/api/v1/initiatives/{key}/report")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let report = r.body;
    let (conf, target, love_target) = (0.9, 0.3, 0.2);

    // Demand.
    let all = counts(model.customers());
    let d = &report["demand"];
    assert_eq!(d["exposures"], all.n);
    assert_eq!(d["preorders"], all.k);
    close(&d["rate"], all.k as f64 / all.n as f64, "demand.rate");
    // Sequential mode: every rate carries the anytime-valid interval of the
    // beta-binomial mixture tuned to the planned 800 exposures.
    let mix = stats::BetaBinomialMixture::new(conf, 800).unwrap();
    let cs = mix.interval(all.k, all.n).unwrap();
    close_range(&d["ci"], cs.lower, cs.upper, "demand.ci");
    assert_eq!(report["interval_method"], "anytime_valid");
    close(
        &d["evidence_ratio"],
        mix.evidence_ratio(all.k, all.n, target).unwrap(),
        "demand.evidence_ratio",
    );
    close(
        &d["evidence_needed"],
        1.0 / (1.0 - conf),
        "demand.evidence_needed",
    );
    close(
        &d["p_value"],
        stats::binomial_test(all.k, all.n, target)
            .unwrap()
            .p_greater,
        "demand.p_value",
    );
    let post = stats::beta_posterior(all.k, all.n, 1.0, 1.0, target, conf).unwrap();
    close(
        &d["prob_above_target"],
        post.prob_above_threshold,
        "demand.prob_above_target",
    );
    assert_eq!(d["committed_revenue_cents"], all.revenue);
    let mean = all.revenue as f64 / all.n as f64;
    close(&d["revenue_per_exposure"]["mean"], mean, "revenue mean");
    // The anytime-valid revenue interval, bounded by 10 × the highest offer price (29 EUR).
    let ri = stats::revenue_interval(all.n, all.revenue as f64, 29_000.0, conf, 800).unwrap();
    close_range(
        &d["revenue_per_exposure"]["ci"],
        ri.lower,
        ri.upper,
        "revenue ci",
    );
    assert!(ri.lower >= 0.0 && ri.lower <= mean && mean <= ri.upper);

    // Enthusiasm.
    let e = &report["enthusiasm"];
    assert_eq!(e["responses"], all.responses);
    assert_eq!(e["love"], all.love);
    close(
        &e["love_share"],
        all.love as f64 / all.responses as f64,
        "love_share",
    );
    let lw = mix.interval(all.love, all.responses).unwrap();
    close_range(&e["ci"], lw.lower, lw.upper, "enthusiasm.ci");
    close(
        &e["evidence_ratio"],
        mix.evidence_ratio(all.love, all.responses, love_target)
            .unwrap(),
        "enthusiasm.evidence_ratio",
    );
    close(
        &e["p_value"],
        stats::binomial_test(all.love, all.responses, love_target)
            .unwrap()
            .p_greater,
        "enthusiasm.p_value",
    );

    // Segments against the pooled core, Holm-adjusted.
    let seg = |s: &str| counts(model.customers().filter(|c| c.0 == s));
    let core = {
        let (a, b) = (seg("smb"), seg("enterprise"));
        Counts {
            n: a.n + b.n,
            k: a.k + b.k,
            ..Counts::default()
        }
    };
    let students = seg("students");
    let z = stats::two_proportion_ztest(core.k, core.n, students.k, students.n).unwrap();
    let rows = report["segments"].as_array().unwrap();
    let row = rows.iter().find(|r| r["segment"] == "students").unwrap();
    assert_eq!(row["core"], false);
    close(&row["vs_core"]["diff"], z.diff, "students.vs_core.diff");
    close(
        &row["vs_core"]["p_value"],
        z.p_two_sided,
        "students.vs_core.p_value",
    );
    close(
        &row["vs_core"]["p_value_holm"],
        z.p_two_sided,
        "one non-core segment: Holm = raw",
    );
    // The same kind of interval as the headline's; one non-core segment, so the
    // Bonferroni-adjusted breakout confidence is the initiative's own.
    let sw = mix.interval(students.k, students.n).unwrap();
    close_range(&row["ci"], sw.lower, sw.upper, "students.ci");
    close(
        &report["reach"]["breakout_confidence"],
        conf,
        "breakout confidence",
    );
    close_range(
        &row["breakout_ci"],
        sw.lower,
        sw.upper,
        "students.breakout_ci",
    );
    assert_eq!(row["breakout"], sw.lower > target);
    for r in rows.iter().filter(|r| r["core"] == true) {
        assert!(r["vs_core"].is_null());
    }
    let table: Vec<[u64; 2]> = ["enterprise", "smb", "students"]
        .iter()
        .map(|s| seg(s))
        .map(|c| [c.k, c.n - c.k])
        .collect();
    let chi = stats::chi_square_independence(&table).unwrap();
    close(
        &report["reach"]["independence"]["chi2"],
        chi.statistic,
        "reach.chi2",
    );
    close(
        &report["reach"]["independence"]["p_value"],
        chi.p_value,
        "reach.p_value",
    );
    close(
        &report["reach"]["non_core_preorder_share"],
        students.k as f64 / all.k as f64,
        "non-core share",
    );

    // Say versus do.
    let responders: Vec<_> = model.customers().filter(|c| !c.3.is_empty()).collect();
    let paid = |c: &(&str, &str, i64, &str, bool)| c.2 > 0;
    let love_paid = responders
        .iter()
        .filter(|c| c.3 == "love" && paid(c))
        .count() as u64;
    let rest_paid = responders
        .iter()
        .filter(|c| c.3 != "love" && paid(c))
        .count() as u64;
    let rest = all.responses - all.love;
    let fisher = stats::fisher_exact_2x2([
        [love_paid, all.love - love_paid],
        [rest_paid, rest - rest_paid],
    ])
    .unwrap();
    close(
        &report["say_do"]["lovers_vs_rest"]["p_value"],
        fisher.p_two_sided,
        "fisher",
    );
    let positive = |c: &&(&str, &str, i64, &str, bool)| c.3 == "love" || c.3 == "like";
    let pos_not_paid = responders
        .iter()
        .filter(|c| positive(c) && !paid(c))
        .count() as u64;
    let paid_not_pos = responders
        .iter()
        .filter(|c| !positive(c) && paid(c))
        .count() as u64;
    let m = &report["say_do"]["mcnemar"];
    assert_eq!(m["said_positive_not_paid"], pos_not_paid);
    assert_eq!(m["paid_not_said_positive"], paid_not_pos);
    let pos_paid = responders.iter().filter(|c| positive(c) && paid(c)).count() as u64;
    let neither = responders.len() as u64 - pos_paid - pos_not_paid - paid_not_pos;
    let mc = stats::mcnemar_exact([[pos_paid, pos_not_paid], [paid_not_pos, neither]]).unwrap();
    close(&m["p_value"], mc.p_value, "mcnemar");

    // Variants against the first.
    let var = |v: &str| counts(model.customers().filter(|c| c.1 == v));
    let (a, b) = (var("cheap"), var("dear"));
    let dear = &report["variants"][1];
    assert_eq!(report["variants"][0]["variant"], "cheap");
    assert_eq!(dear["exposures"], b.n);
    let dw = mix.interval(b.k, b.n).unwrap();
    close_range(
        &dear["ci"],
        dw.lower,
        dw.upper,
        "variant rate ci (anytime-valid)",
    );
    let nc = stats::newcombe_interval(a.k, a.n, b.k, b.n, conf).unwrap();
    close(&dear["vs_first"]["diff"], nc.diff, "variant diff");
    close_range(&dear["vs_first"]["ci"], nc.lower, nc.upper, "variant ci");
    close(
        &dear["vs_first"]["p_value"],
        stats::two_proportion_ztest(a.k, a.n, b.k, b.n)
            .unwrap()
            .p_two_sided,
        "variant p",
    );
    close(
        &dear["vs_first"]["prob_better"],
        stats::prob_b_beats_a(a.k, a.n, b.k, b.n, 1.0, 1.0).unwrap(),
        "prob_better",
    );
    let srm = stats::srm_chi_square(&[a.n, b.n], &[0.5, 0.5]).unwrap();
    close(&report["srm"]["p_value"], srm.p_value, "srm");
    assert_eq!(report["srm"]["mismatch"], srm.p_value < 0.001);
    assert_eq!(report["price_curve"].as_array().unwrap().len(), 2);
    assert!(
        report["best_price"]["price_cents"] == 1900 || report["best_price"]["price_cents"] == 2900
    );

    // Funnel.
    let f = &report["funnel"];
    assert_eq!(f["exposed"], all.n);
    assert_eq!(f["responded"], all.responses);
    assert_eq!(f["loved"], all.love);
    assert_eq!(f["preordered"], all.k);
    assert_eq!(f["cancelled"], model.customers().filter(|c| c.4).count());
    assert!(report["summary"].as_str().unwrap().len() > 40);
}

/// Sends `n` new customers of which a share `rate` pre-order (deterministically spread).
pub(crate) async fn send_customers(
    app: &crate::helpers::TestApp,
    key: &str,
    from: usize,
    n: usize,
    rate: f64,
) {
    let mut events = Vec::new();
    for i in from..from + n {
        let c = format!("c{i}");
        events.push(exposure(
            &format!("{c}-x"),
            &c,
            if i % 4 == 0 { "students" } else { "smb" },
        ));
        // Pre-order when the running count of pre-orders falls behind the rate.
        if ((i + 1) as f64 * rate).floor() > (i as f64 * rate).floor() {
            events.push(preorder(&format!("{c}-p"), &c, 1900));
        }
        if i % 3 == 0 {
            events.push(response(
                &format!("{c}-r"),
                &c,
                if i % 2 == 0 { "love" } else { "like" },
            ));
        }
    }
    let r = app.post_events(key, &events).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn verdict_moves_from_collecting_to_a_decision(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    for (key, rate, last) in [
        ("strong", 0.13, "validated"),
        ("weak", 0.01, "not_validated"),
    ] {
        app.create_initiative(
            key,
            json!({"criteria": {"target_preorder_rate": 0.08, "min_exposures": 100, "planned_exposures": 2000}}),
        )
        .await;
        app.post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        let mut seen: Vec<String> = Vec::new();
        let mut sent = 0;
        for step in [50, 100, 150, 300, 600, 1200, 2400] {
            send_customers(&app, key, sent, step - sent, rate).await;
            sent = step;
            let r = app.get(&format!("/api/v1/initiatives/{key}/report")).await;
            let status = r.body["verdict"]["status"].as_str().unwrap().to_owned();
            let needed = &r.body["verdict"]["additional_exposures_needed"];
            if status == "inconclusive" {
                // The outlook is the exact first-passage law of the verdict's rule from the
                // current counts, at the current rate, for the verdict the rate points to.
                let (k, n) = (
                    r.body["demand"]["preorders"].as_u64().unwrap(),
                    r.body["demand"]["exposures"].as_u64().unwrap(),
                );
                let criteria = offerlab::domain::Criteria {
                    target_preorder_rate: offerlab::domain::OpenRate::new(0.08).unwrap(),
                    target_love_share: None,
                    confidence: offerlab::domain::Confidence::DEFAULT,
                    min_exposures: 100,
                    planned_exposures: 2000,
                    min_preorder: Default::default(),
                    backfill_from: None,
                };
                let rate = k as f64 / n as f64;
                let design = offerlab::analysis::report::outlook_design(&criteria, rate, n);
                let exact = stats::sequential_plan_from(&design, rate, k, n).unwrap();
                let likely = if exact.validated.probability >= exact.not_validated.probability {
                    exact.validated
                } else {
                    exact.not_validated
                };
                match likely.median {
                    Some(m) => {
                        assert!(m > 0, "{key}: {}", r.text);
                        assert_eq!(needed, &json!(m), "{key}: {}", r.text);
                    }
                    None => assert!(needed.is_null(), "{key}: {}", r.text),
                }
            } else {
                assert!(needed.is_null());
            }
            if seen.last() != Some(&status) {
                seen.push(status);
            }
        }
        assert_eq!(
            seen,
            ["collecting", "inconclusive", last],
            "{key}: the verdict moves forward only"
        );
    }
}

async fn empty_and_tiny_initiatives_give_nulls(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    app.create_initiative("empty", json!({"core_segments": []}))
        .await;
    let r = app.get("/api/v1/initiatives/empty/report").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rep = &r.body;
    assert_eq!(rep["verdict"]["status"], "collecting");
    for field in [
        "rate",
        "ci",
        "evidence_ratio",
        "p_value",
        "prob_above_target",
    ] {
        assert!(rep["demand"][field].is_null(), "demand.{field}: {}", r.text);
    }
    assert!(rep["enthusiasm"]["love_share"].is_null());
    assert!(rep["reach"]["independence"].is_null());
    assert!(rep["reach"]["non_core_preorder_share"].is_null());
    assert!(rep["srm"].is_null());
    assert!(rep["say_do"]["mcnemar"]["p_value"].is_null());
    assert!(rep["segments"].as_array().unwrap().is_empty());
    assert!(rep["summary"].as_str().unwrap().contains("0 of the 100"));

    // One customer, one segment, no core segments, no pre-orders, no responses.
    app.post("/api/v1/initiatives/empty/launch", &json!({}))
        .await;
    app.post_events("empty", &[exposure("1", "only", "smb")])
        .await;
    let r = app.get("/api/v1/initiatives/empty/report").await;
    let rep = &r.body;
    assert_eq!(rep["demand"]["rate"], 0.0);
    assert_eq!(rep["demand"]["ci"]["low"], 0.0);
    assert!(rep["demand"]["ci"]["high"].as_f64().unwrap() > 0.0);
    assert!(
        rep["reach"]["independence"].is_null(),
        "one segment: no test"
    );
    assert!(
        rep["reach"]["non_core_preorder_share"].is_null(),
        "no pre-orders"
    );
    assert!(
        rep["segments"][0]["vs_core"].is_null(),
        "no core to compare with"
    );
    assert!(rep["say_do"]["lovers_vs_rest"]["p_value"].is_null());
    assert!(rep["enthusiasm"]["ci"].is_null());
    assert!(rep["demand"]["revenue_per_exposure"]["mean"] == 0.0);

    let r = app.get("/api/v1/initiatives/empty/report.csv").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/csv"));
    assert!(
        r.text
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("segment,smb,false,"),
        "{}",
        r.text
    );
    app.get("/api/v1/initiatives/ghost/report")
        .await
        .assert_problem(404, None);
    app.get("/api/v1/initiatives/ghost/report.csv")
        .await
        .assert_problem(404, None);
}

async fn portfolio_adjusts_running_p_values(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_segments(&["smb", "students"]).await;
    for (key, rate) in [("a", 0.2), ("b", 0.1), ("c", 0.05)] {
        app.create_initiative(key, json!({})).await;
        app.post(&format!("/api/v1/initiatives/{key}/launch"), &json!({}))
            .await;
        send_customers(&app, key, 0, 300, rate).await;
    }
    app.create_initiative("draft", json!({})).await;
    let r = app.get("/api/v1/portfolio").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let entries = r.body["initiatives"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    let running: Vec<&Value> = entries
        .iter()
        .filter(|e| e["status"] == "running")
        .collect();
    let raw: Vec<f64> = running
        .iter()
        .map(|e| e["p_value"].as_f64().unwrap())
        .collect();
    let bh = stats::bh_adjust(&raw, 0.05).unwrap();
    for (e, adj) in running.iter().zip(bh.adjusted) {
        close(&e["p_value_bh"], adj, "p_value_bh");
    }
    let draft = entries.iter().find(|e| e["key"] == "draft").unwrap();
    assert!(draft["p_value_bh"].is_null());
    assert_eq!(
        entries.last().unwrap()["key"],
        "draft",
        "drafts after running pilots"
    );
}

async fn plan_matches_the_engine(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app
        .post(
            "/api/v1/plan",
            &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "variants": 3, "mode": "fixed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let one = stats::sample_size_one_proportion(0.05, 0.08, 0.05, 0.8).unwrap();
    assert_eq!(r.body["exposures_needed"], one.n_ceil);
    let two = stats::sample_size_two_proportions(0.05, 0.08, 0.05, 0.8).unwrap();
    assert_eq!(
        r.body["per_variant"]["exposures_per_variant"],
        two.pooled.n_ceil
    );
    assert_eq!(
        r.body["per_variant"]["total_exposures"],
        3 * two.pooled.n_ceil
    );
    assert!(r.body["achieved_power"].as_f64().unwrap() >= 0.8);

    app.post(
        "/api/v1/plan",
        &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.04}),
    )
    .await
    .assert_problem(422, Some("minimum_rate"));
    app.post("/api/v1/plan", &json!({"minimum_rate": 0.04}))
        .await
        .assert_problem(422, Some("target_preorder_rate"));
    app.post(
        "/api/v1/plan",
        &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "power": 2}),
    )
    .await
    .assert_problem(422, Some("power"));
    app.post(
        "/api/v1/plan",
        &json!({"initiative": "ghost", "minimum_rate": 0.08}),
    )
    .await
    .assert_problem(404, None);
}

/// The verdict rule's boundaries at each n, found with `BetaBinomialMixture::decide`
/// itself: `above[n]` is the smallest k judged "validated" at n (none: `u64::MAX`),
/// `below[n]` one more than the largest k judged "not validated" (none: 0). Extended on
/// demand; each n starts its scan from the previous n's boundary.
struct DecideTable {
    mix: stats::BetaBinomialMixture,
    target: f64,
    above: Vec<u64>,
    below: Vec<u64>,
}

impl DecideTable {
    fn new(mix: stats::BetaBinomialMixture, target: f64) -> Self {
        Self {
            mix,
            target,
            above: vec![u64::MAX],
            below: vec![0],
        }
    }

    fn decide(&self, k: u64, n: u64) -> stats::RateVerdict {
        self.mix.decide(k, n, self.target).unwrap()
    }

    fn extend_to(&mut self, n_max: u64) {
        use stats::RateVerdict::{Above, Below};
        while (self.above.len() as u64) <= n_max {
            let n = self.above.len() as u64;
            let guess = |prev: u64| prev.min(n);
            // Above: a suffix of k.
            let mut a = match self.above[n as usize - 1] {
                u64::MAX => ((n as f64 * self.target).floor() as u64).min(n),
                prev => guess(prev),
            };
            if self.decide(a, n) == Above {
                while a > 0 && self.decide(a - 1, n) == Above {
                    a -= 1;
                }
            } else {
                while a <= n && self.decide(a, n) != Above {
                    a += 1;
                }
            }
            self.above.push(if a > n { u64::MAX } else { a });
            // Below: a prefix of k; b = number of k judged below.
            let mut b = match self.below[n as usize - 1] {
                0 => ((n as f64 * self.target).ceil() as u64).min(n) + 1,
                prev => guess(prev),
            };
            // Invariant sought: decide(b - 1) == Below, decide(b) != Below.
            while b > 0 && self.decide(b - 1, n) != Below {
                b -= 1;
            }
            while b <= n && self.decide(b, n) == Below {
                b += 1;
            }
            self.below.push(b);
        }
    }
}

/// Exposures by which half and 90% of `pilots` simulated pilots with true rate `rate`
/// are validated: each pilot is read after every exposure from `min_exposures` on with
/// the anytime-valid rule, up to `horizon` exposures (seeded; successes drawn as
/// geometric gaps).
fn simulate_validation(
    target: f64,
    rate: f64,
    confidence: f64,
    planned: u64,
    min_exposures: u64,
    horizon: u64,
    pilots: usize,
) -> (Option<u64>, Option<u64>) {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_125);
    let mut table = DecideTable::new(
        stats::BetaBinomialMixture::new(confidence, planned).unwrap(),
        target,
    );
    let ln_q = (1.0 - rate).ln();
    let mut validated_at = Vec::new();
    for _ in 0..pilots {
        let (mut n, mut k) = (0_u64, 0_u64);
        // Exposures until the next success (inclusive).
        let gap = |rng: &mut rand::rngs::StdRng| {
            let u: f64 = 1.0 - rng.random::<f64>();
            (u.ln() / ln_q).floor() as u64 + 1
        };
        let mut next_success = gap(&mut rng);
        'pilot: while n < horizon {
            n += 1;
            if n == next_success {
                k += 1;
                next_success = n + gap(&mut rng);
            }
            if n >= min_exposures {
                table.extend_to(n);
                if k >= table.above[n as usize] {
                    validated_at.push(n);
                    break 'pilot;
                }
                if k < table.below[n as usize] {
                    break 'pilot;
                }
            }
        }
    }
    validated_at.sort_unstable();
    let quantile = |level: f64| {
        let rank = (level * pilots as f64).ceil() as usize;
        validated_at.get(rank.saturating_sub(1)).copied()
    };
    (quantile(0.5), quantile(0.9))
}

async fn sequential_plan_matches_a_simulation_of_the_rule(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (confidence, planned, min_exposures) = (0.95, 2_000, 100);
    for target in [0.02, 0.05, 0.2] {
        for lift in [1.25, 2.0] {
            let rate = target * lift;
            let r = app
                .post(
                    "/api/v1/plan",
                    &json!({"target_preorder_rate": target, "minimum_rate": rate,
                            "confidence": confidence, "planned_exposures": planned,
                            "min_exposures": min_exposures}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.body["mode"], "sequential");
            assert_eq!(r.body["look_every"], 1);
            assert!(r.body["exposures_needed"].is_null());
            let horizon = r.body["horizon"].as_u64().unwrap();
            let (median, p90) = simulate_validation(
                target,
                rate,
                confidence,
                planned,
                min_exposures,
                horizon,
                2_000,
            );
            for (field, simulated) in [("exposures_median", median), ("exposures_p90", p90)] {
                let simulated = simulated
                    .unwrap_or_else(|| panic!("{target} × {lift}: simulation has no {field}"))
                    as f64;
                let planned = r.body[field]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{target} × {lift}: {field} missing: {}", r.body));
                assert!(
                    (planned - simulated).abs() <= 0.1 * simulated,
                    "{target} × {lift}: {field} {planned} vs simulated {simulated}"
                );
            }
            let p80 = r.body["exposures_p80"].as_u64().unwrap();
            let (m, p90) = (
                r.body["exposures_median"].as_u64().unwrap(),
                r.body["exposures_p90"].as_u64().unwrap(),
            );
            assert!(min_exposures <= m && m <= p80 && p80 <= p90, "{}", r.body);
            assert!(r.body["probability_validated"].as_f64().unwrap() > 0.9);
        }
    }
}

/// A plan's work is bounded whatever its inputs: a minimum rate on a target of 1/2 (no
/// verdict settles the walks) with a million planned exposures follows the bounded
/// horizon, not 20 × planned, and says so.
async fn a_plan_follows_a_bounded_horizon(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app
        .post(
            "/api/v1/plan",
            &json!({"target_preorder_rate": 0.5, "minimum_rate": 0.5001,
                    "planned_exposures": 1_000_000}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let horizon = r.body["horizon"].as_u64().unwrap();
    assert_eq!(
        horizon,
        offerlab::analysis::plan::horizon_for(1_000_000, 0.5001)
    );
    assert!(horizon <= 25_000, "{}", r.body);
    assert_eq!(r.body["look_every"], 1);
    assert!(r.body["exposures_median"].is_null(), "{}", r.body);
    let share = r.body["probability_validated"].as_f64().unwrap();
    assert!((0.0..0.5).contains(&share), "{}", r.body);
}

async fn plan_rejects_bad_modes_and_inconsistent_inputs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.post(
        "/api/v1/plan",
        &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "mode": "bayesian"}),
    )
    .await
    .assert_problem(422, Some("mode"));
    app.post(
        "/api/v1/plan",
        &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "confidence": 0.9, "alpha": 0.05}),
    )
    .await
    .assert_problem(422, Some("alpha"));
    app.post(
        "/api/v1/plan",
        &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "confidence": 0.5}),
    )
    .await
    .assert_problem(422, Some("confidence"));
    app.post(
        "/api/v1/plan",
        &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "planned_exposures": 0}),
    )
    .await
    .assert_problem(422, Some("planned_exposures"));
    // Consistent alpha and confidence are accepted and give the same plan.
    let both = app
        .post(
            "/api/v1/plan",
            &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "confidence": 0.9, "alpha": 0.1}),
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.text);
    let alone = app
        .post(
            "/api/v1/plan",
            &json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "alpha": 0.1}),
        )
        .await;
    assert_eq!(both.body, alone.body);
    close(&both.body["confidence"], 0.9, "confidence");

    // An initiative's mode, confidence, planned and minimum exposures are the defaults.
    app.create_segments(&["smb"]).await;
    app.create_initiative(
        "fixed-one",
        json!({"mode": "fixed", "criteria": {"target_preorder_rate": 0.05, "confidence": 0.9, "min_exposures": 200, "planned_exposures": 3000}}),
    )
    .await;
    let r = app
        .post(
            "/api/v1/plan",
            &json!({"initiative": "fixed-one", "minimum_rate": 0.08}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["mode"], "fixed");
    assert_eq!(r.body["planned_exposures"], 3000);
    assert_eq!(r.body["min_exposures"], 200);
    close(&r.body["confidence"], 0.9, "confidence");
    let one = stats::sample_size_one_proportion(0.05, 0.08, 1.0 - 0.9, 0.8).unwrap();
    assert_eq!(r.body["exposures_needed"], one.n_ceil);
    let r = app
        .post(
            "/api/v1/plan",
            &json!({"initiative": "fixed-one", "minimum_rate": 0.08, "mode": "sequential"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let design = stats::SequentialDesign {
        target: 0.05,
        confidence: 0.9,
        planned_exposures: 3000,
        look_every: 1,
        min_exposures: 200,
        horizon: r.body["horizon"].as_u64().unwrap(),
    };
    let exact = stats::sequential_plan(&design, 0.08).unwrap();
    assert_eq!(r.body["exposures_median"], exact.validated.median.unwrap());
    assert_eq!(r.body["exposures_p90"], exact.validated.p90.unwrap());
}

async fn preorders_beyond_the_revenue_bound_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Offer price 19 EUR: a customer's active pre-orders may total 190 EUR.
    app.running_initiative("bounded", json!({})).await;
    let r = app
        .post_events(
            "bounded",
            &[
                exposure("e1", "c1", "smb"),
                preorder("p1", "c1", 9_500),
                preorder("p2", "c1", 9_500),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // One more pre-order is refused, and nothing of the request is stored.
    let r = app
        .post_events(
            "bounded",
            &[exposure("e2", "c2", "smb"), preorder("p3", "c1", 1900)],
        )
        .await;
    r.assert_problem(422, Some("events[1].amount_cents"));
    assert!(r.text.contains("EUR 190.00"), "{}", r.text);
    let report = app.get("/api/v1/initiatives/bounded/report").await.body;
    assert_eq!(report["demand"]["exposures"], 1);
    assert_eq!(report["demand"]["committed_revenue_cents"], 19_000);
    let ri = stats::revenue_interval(1, 19_000.0, 19_000.0, 0.95, 5_000).unwrap();
    close_range(
        &report["demand"]["revenue_per_exposure"]["ci"],
        ri.lower,
        ri.upper,
        "revenue ci",
    );
    // After a cancellation the customer may commit again.
    let r = app
        .post_events(
            "bounded",
            &[
                json!({"event_id": "x1", "type": "cancellation", "customer_id": "c1"}),
                preorder("p4", "c1", 19_000),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

backend_tests!(
    report_equals_engine_on_recomputed_counts,
    verdict_moves_from_collecting_to_a_decision,
    empty_and_tiny_initiatives_give_nulls,
    portfolio_adjusts_running_p_values,
    plan_matches_the_engine,
    sequential_plan_matches_a_simulation_of_the_rule,
    plan_rejects_bad_modes_and_inconsistent_inputs,
    a_plan_follows_a_bounded_horizon,
    preorders_beyond_the_revenue_bound_are_refused,
);

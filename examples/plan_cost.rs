//! Cost of the two uses of the exact sequential planning: `POST /api/v1/plan` (sequential
//! mode, continuous reading) and the report's outlook for an undecided rate (bounded
//! horizon, 200 reads), at the sizes the API and the report meet.
//!
//! Run: `cargo run --release --example plan_cost` (or without `--release`: the debug build
//! the contract tests serve). Prints the median of 5 runs per case.
// A measuring tool run by hand, not service code: indexing, panics and casts of its
// own simulated numbers stop the run, as they should.
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_lossless
)]

use std::time::{Duration, Instant};

use offerlab::analysis::plan::{PlanRequest, plan};
use offerlab::analysis::report::outlook_design;
use offerlab::domain::{Confidence, Criteria, Mode, OpenRate};
use offerlab::stats::sequential_plan_from;

fn median_of_5(mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..5)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "| plan (sequential) | target | minimum | planned | horizon | look | median | p90 | time |"
    );
    // The usual plans, then the worst cases: a minimum rate on the target (no verdict
    // settles the walks, the whole horizon is followed) at p near 1/2, near 0 and near 1.
    for (target, minimum, planned) in [
        (0.02, 0.025, 2_000_u64),
        (0.05, 0.0625, 5_000),
        (0.2, 0.25, 5_000),
        (0.05, 0.0625, 50_000),
        (0.5, 0.5001, 5_000),
        (0.5, 0.5001, 1_000_000),
        (0.05, 0.05001, 1_000_000),
        (1e-9, 2e-9, 1_000_000),
        (0.9998, 0.9999, 1_000_000),
    ] {
        let req = PlanRequest {
            mode: Mode::Sequential,
            target_preorder_rate: target,
            minimum_rate: minimum,
            confidence: 0.95,
            power: 0.8,
            planned_exposures: planned,
            min_exposures: 100,
            variants: None,
        };
        let p = plan(req)?;
        let t = median_of_5(|| {
            let _ = plan(req);
        });
        println!(
            "| | {target} | {minimum} | {planned} | {} | {} | {:?} | {:?} | {t:.1?} |",
            p.horizon.unwrap_or_default(),
            p.look_every.unwrap_or_default(),
            p.exposures_median,
            p.exposures_p90
        );
    }
    println!();
    println!("| outlook (undecided rate) | k | n | horizon | look | median | time |");
    for (k, n) in [
        (560_u64, 10_000_u64),
        (5_150, 100_000),
        (50_300, 1_000_000),
        (49_800, 1_000_000),
    ] {
        let criteria = Criteria {
            target_preorder_rate: OpenRate::new(0.05)?,
            target_love_share: None,
            confidence: Confidence::new(0.95)?,
            min_exposures: 100,
            planned_exposures: 5_000,
            min_preorder: Default::default(),
            backfill_from: None,
        };
        let rate = k as f64 / n as f64;
        let d = outlook_design(&criteria, rate, n);
        let p = sequential_plan_from(&d, rate, k, n)?;
        let t = median_of_5(|| {
            let _ = sequential_plan_from(&d, rate, k, n);
        });
        let likely = if p.validated.probability >= p.not_validated.probability {
            p.validated
        } else {
            p.not_validated
        };
        println!(
            "| | {k} | {n} | {} | {} | {:?} | {t:.1?} |",
            d.horizon, d.look_every, likely.median
        );
    }
    Ok(())
}

//! Every reference case in `tests/fixtures/stats_cases.json` (SciPy / statsmodels / formula
//! values, see `/shared/reference/README.md`) checked within its tolerance
//! `|actual − expected| ≤ abs + rel·|expected|`; integers and booleans exactly; `null` as `None`.
//!
//! One test per method family. Each asserts that it checked exactly as many cases per method as
//! the file holds, and `every_method_is_covered` asserts that no method in the file is left out.
// Test code: an out-of-range index, a panic or a lossy cast fails the test, which is
// what test code is for (the crate's lints keep them out of the service's code).
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_lossless
)]

use std::collections::{BTreeMap, BTreeSet};

use offerlab::stats::{self, StatsError, SummaryStats};
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/stats_cases.json"
);

/// Method families and the methods each covers.
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "one_proportion",
        &[
            "wilson_interval",
            "clopper_pearson_interval",
            "jeffreys_interval",
            "binomial_test_greater",
        ],
    ),
    ("beta_posterior", &["beta_posterior"]),
    (
        "two_proportions",
        &[
            "two_proportion_ztest",
            "newcombe_interval",
            "prob_b_beats_a",
        ],
    ),
    (
        "contingency",
        &[
            "chi_square_independence",
            "fisher_exact_2x2",
            "srm_chi_square",
        ],
    ),
    ("paired", &["mcnemar_exact", "mcnemar_chi2"]),
    ("multiple_testing", &["holm_adjust", "bh_adjust"]),
    (
        "planning",
        &[
            "sample_size_one_proportion",
            "sample_size_two_proportions",
            "sample_size_cohen_h",
        ],
    ),
    ("welch", &["welch_t_test"]),
    ("sequential", &["confidence_sequence", "normal_mixture_rho"]),
];

struct Case {
    id: String,
    method: String,
    inputs: Value,
    expected: Value,
    abs: f64,
    rel: f64,
}

fn load() -> Result<(Vec<Case>, usize), String> {
    let text = std::fs::read_to_string(FIXTURE).map_err(|e| format!("{FIXTURE}: {e}"))?;
    let root: Value = serde_json::from_str(&text).map_err(|e| format!("{FIXTURE}: {e}"))?;
    let declared = root
        .get("count")
        .and_then(Value::as_u64)
        .ok_or("fixture has no `count`")? as usize;
    let raw = root
        .get("cases")
        .and_then(Value::as_array)
        .ok_or("fixture has no `cases`")?;
    let mut cases = Vec::with_capacity(raw.len());
    for c in raw {
        let text = |key: &str| {
            c.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(format!("case without `{key}`: {c}"))
        };
        let id = text("id")?;
        let tol = |key: &str| {
            c.get("tolerance")
                .and_then(|t| t.get(key))
                .and_then(Value::as_f64)
                .ok_or(format!("{id}: no tolerance.{key}"))
        };
        cases.push(Case {
            method: text("method")?,
            inputs: c.get("inputs").cloned().ok_or(format!("{id}: no inputs"))?,
            expected: c
                .get("expected")
                .cloned()
                .ok_or(format!("{id}: no expected"))?,
            abs: tol("abs")?,
            rel: tol("rel")?,
            id,
        });
    }
    Ok((cases, declared))
}

/// Accessors for one case's inputs and a collector of mismatches.
struct Check<'a> {
    case: &'a Case,
    failures: Vec<String>,
    fields: usize,
}

impl<'a> Check<'a> {
    fn new(case: &'a Case) -> Self {
        Check {
            case,
            failures: Vec::new(),
            fields: 0,
        }
    }

    fn input(&self, key: &str) -> Result<&'a Value, String> {
        self.case
            .inputs
            .get(key)
            .ok_or(format!("{}: missing input `{key}`", self.case.id))
    }

    fn u(&self, key: &str) -> Result<u64, String> {
        self.input(key)?
            .as_u64()
            .ok_or(format!("{}: input `{key}` is not a count", self.case.id))
    }

    fn f(&self, key: &str) -> Result<f64, String> {
        self.input(key)?
            .as_f64()
            .ok_or(format!("{}: input `{key}` is not a number", self.case.id))
    }

    fn floats(&self, key: &str) -> Result<Vec<f64>, String> {
        self.input(key)?
            .as_array()
            .ok_or(format!("{}: input `{key}` is not a list", self.case.id))?
            .iter()
            .map(|v| {
                v.as_f64()
                    .ok_or(format!("{}: `{key}` has a non-number", self.case.id))
            })
            .collect()
    }

    fn counts(&self, key: &str) -> Result<Vec<u64>, String> {
        self.input(key)?
            .as_array()
            .ok_or(format!("{}: input `{key}` is not a list", self.case.id))?
            .iter()
            .map(|v| {
                v.as_u64()
                    .ok_or(format!("{}: `{key}` has a non-count", self.case.id))
            })
            .collect()
    }

    fn table(&self) -> Result<Vec<Vec<u64>>, String> {
        self.input("table")?
            .as_array()
            .ok_or(format!("{}: table is not a list", self.case.id))?
            .iter()
            .map(|row| {
                row.as_array()
                    .ok_or(format!("{}: table row is not a list", self.case.id))?
                    .iter()
                    .map(|v| {
                        v.as_u64()
                            .ok_or(format!("{}: table cell is not a count", self.case.id))
                    })
                    .collect()
            })
            .collect()
    }

    fn table2(&self) -> Result<[[u64; 2]; 2], String> {
        match self.table()?.as_slice() {
            [r0, r1] => match (r0.as_slice(), r1.as_slice()) {
                ([a, b], [c, d]) => Ok([[*a, *b], [*c, *d]]),
                _ => Err(format!("{}: table is not 2x2", self.case.id)),
            },
            _ => Err(format!("{}: table is not 2x2", self.case.id)),
        }
    }

    fn expected(&self, field: &str) -> Option<&'a Value> {
        self.case.expected.get(field)
    }

    fn fail(&mut self, field: &str, message: String) {
        self.failures
            .push(format!("{} field `{field}`: {message}", self.case.id));
    }

    fn close(&self, actual: f64, expected: f64) -> bool {
        actual.is_finite()
            && (actual - expected).abs() <= self.case.abs + self.case.rel * expected.abs()
    }

    /// A real-valued field.
    fn real(&mut self, field: &str, actual: f64) {
        self.fields += 1;
        match self.expected(field).and_then(Value::as_f64) {
            Some(expected) if self.close(actual, expected) => {}
            Some(expected) => self.fail(
                field,
                format!(
                    "got {actual:e}, expected {expected:e} (|diff| {:e} > {:e})",
                    (actual - expected).abs(),
                    self.case.abs + self.case.rel * expected.abs()
                ),
            ),
            None => self.fail(field, "no real expected value in the fixture".into()),
        }
    }

    /// An integer field, matched exactly.
    fn int(&mut self, field: &str, actual: u64) {
        self.fields += 1;
        match self.expected(field).and_then(Value::as_u64) {
            Some(expected) if expected == actual => {}
            Some(expected) => {
                self.fail(field, format!("got {actual}, expected exactly {expected}"))
            }
            None => self.fail(field, "no integer expected value in the fixture".into()),
        }
    }

    /// A field that may be `null` (None).
    fn optional(&mut self, field: &str, actual: Option<f64>) {
        self.fields += 1;
        match (self.expected(field), actual) {
            (Some(Value::Null), None) => {}
            (Some(Value::Null), Some(a)) => self.fail(field, format!("got {a:e}, expected null")),
            (Some(v), Some(a)) => match v.as_f64() {
                Some(e) if self.close(a, e) => {}
                _ => self.fail(field, format!("got {a:e}, expected {v}")),
            },
            (Some(v), None) => self.fail(field, format!("got None, expected {v}")),
            (None, _) => self.fail(field, "missing in the fixture".into()),
        }
    }

    /// A list of reals, element by element.
    fn reals(&mut self, field: &str, actual: &[f64]) {
        self.fields += 1;
        let expected: Option<Vec<f64>> = self
            .expected(field)
            .and_then(Value::as_array)
            .and_then(|v| v.iter().map(Value::as_f64).collect());
        match expected {
            Some(e) if e.len() == actual.len() => {
                for (i, (&a, &x)) in actual.iter().zip(&e).enumerate() {
                    if !self.close(a, x) {
                        self.fail(
                            &format!("{field}[{i}]"),
                            format!("got {a:e}, expected {x:e}"),
                        );
                    }
                }
            }
            Some(e) => self.fail(
                field,
                format!("got {} values, expected {}", actual.len(), e.len()),
            ),
            None => self.fail(field, "no list of reals in the fixture".into()),
        }
    }

    /// A list of booleans, matched exactly.
    fn bools(&mut self, field: &str, actual: &[bool]) {
        self.fields += 1;
        let expected: Option<Vec<bool>> = self
            .expected(field)
            .and_then(Value::as_array)
            .and_then(|v| v.iter().map(Value::as_bool).collect());
        match expected {
            Some(e) if e.as_slice() == actual => {}
            Some(e) => self.fail(field, format!("got {actual:?}, expected {e:?}")),
            None => self.fail(field, "no list of booleans in the fixture".into()),
        }
    }
}

fn stats_err(id: &str) -> impl Fn(StatsError) -> String + '_ {
    move |e| format!("{id}: unexpected error: {e}")
}

/// Runs `eval` on every case of `family`'s methods; fails with every mismatch listed, and if the
/// number of cases checked per method differs from the number in the file.
fn run_family(family: &str, eval: impl Fn(&mut Check) -> Result<(), String>) {
    let (cases, _) = match load() {
        Ok(loaded) => loaded,
        Err(e) => panic!("cannot load the fixture: {e}"),
    };
    let methods: &[&str] = FAMILIES
        .iter()
        .find(|(name, _)| *name == family)
        .map_or(&[], |(_, m)| *m);
    assert!(!methods.is_empty(), "unknown family {family}");
    let mut in_file: BTreeMap<&str, usize> = methods.iter().map(|m| (*m, 0)).collect();
    let mut checked: BTreeMap<&str, usize> = methods.iter().map(|m| (*m, 0)).collect();
    let mut failures = Vec::new();
    for case in &cases {
        let Some(method) = methods.iter().find(|m| **m == case.method) else {
            continue;
        };
        *in_file.entry(method).or_default() += 1;
        let mut check = Check::new(case);
        match eval(&mut check) {
            Ok(()) if check.fields == 0 => failures.push(format!("{}: no field checked", case.id)),
            Ok(()) => {
                let expected_fields = case.expected.as_object().map_or(0, |o| o.len());
                if check.fields != expected_fields {
                    failures.push(format!(
                        "{}: checked {} fields, the fixture has {expected_fields}",
                        case.id, check.fields
                    ));
                }
                *checked.entry(method).or_default() += 1;
            }
            Err(e) => failures.push(e),
        }
        failures.extend(check.failures);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches in family {family}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        checked, in_file,
        "cases checked per method vs cases in the file"
    );
    for (method, count) in &in_file {
        assert!(*count > 0, "method {method} has no case in the file");
    }
}

#[test]
fn every_method_is_covered() {
    let (cases, declared) = match load() {
        Ok(loaded) => loaded,
        Err(e) => panic!("cannot load the fixture: {e}"),
    };
    assert_eq!(cases.len(), declared, "`count` vs number of cases");
    let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), cases.len(), "case ids must be unique");
    let in_file: BTreeSet<&str> = cases.iter().map(|c| c.method.as_str()).collect();
    let covered: BTreeSet<&str> = FAMILIES
        .iter()
        .flat_map(|(_, m)| m.iter().copied())
        .collect();
    let missing: Vec<_> = in_file.difference(&covered).collect();
    assert!(missing.is_empty(), "methods without a test: {missing:?}");
    let stale: Vec<_> = covered.difference(&in_file).collect();
    assert!(
        stale.is_empty(),
        "tested methods absent from the file: {stale:?}"
    );
}

#[test]
fn one_proportion() {
    run_family("one_proportion", |c| {
        let id = c.case.id.clone();
        let err = stats_err(&id);
        match c.case.method.as_str() {
            "binomial_test_greater" => {
                let r = stats::binomial_test(c.u("k")?, c.u("n")?, c.f("p0")?).map_err(err)?;
                c.real("p_value", r.p_greater);
            }
            method => {
                let (k, n, conf) = (c.u("k")?, c.u("n")?, c.f("confidence")?);
                let r = match method {
                    "wilson_interval" => stats::wilson_interval(k, n, conf),
                    "clopper_pearson_interval" => stats::clopper_pearson_interval(k, n, conf),
                    _ => stats::jeffreys_interval(k, n, conf),
                }
                .map_err(err)?;
                c.real("estimate", r.estimate);
                c.real("lower", r.lower);
                c.real("upper", r.upper);
            }
        }
        Ok(())
    });
}

#[test]
fn beta_posterior() {
    run_family("beta_posterior", |c| {
        let r = stats::beta_posterior(
            c.u("k")?,
            c.u("n")?,
            c.f("prior_alpha")?,
            c.f("prior_beta")?,
            c.f("threshold")?,
            c.f("confidence")?,
        )
        .map_err(stats_err(&c.case.id))?;
        c.real("post_alpha", r.post_alpha);
        c.real("post_beta", r.post_beta);
        c.real("mean", r.mean);
        c.real("prob_above_threshold", r.prob_above_threshold);
        c.real("lower", r.lower);
        c.real("upper", r.upper);
        Ok(())
    });
}

#[test]
fn two_proportions() {
    run_family("two_proportions", |c| {
        let id = c.case.id.clone();
        let (k_a, n_a, k_b, n_b) = (c.u("k_a")?, c.u("n_a")?, c.u("k_b")?, c.u("n_b")?);
        match c.case.method.as_str() {
            "two_proportion_ztest" => {
                let r = stats::two_proportion_ztest(k_a, n_a, k_b, n_b).map_err(stats_err(&id))?;
                c.real("diff", r.diff);
                c.real("pooled_rate", r.pooled_rate);
                c.real("z", r.z);
                c.real("p_two_sided", r.p_two_sided);
                c.real("p_greater", r.p_greater);
                c.real("p_less", r.p_less);
            }
            "newcombe_interval" => {
                let r = stats::newcombe_interval(k_a, n_a, k_b, n_b, c.f("confidence")?)
                    .map_err(stats_err(&id))?;
                c.real("diff", r.diff);
                c.real("lower", r.lower);
                c.real("upper", r.upper);
            }
            _ => {
                let p = stats::prob_b_beats_a(
                    k_a,
                    n_a,
                    k_b,
                    n_b,
                    c.f("prior_alpha")?,
                    c.f("prior_beta")?,
                )
                .map_err(stats_err(&id))?;
                c.real("prob", p);
            }
        }
        Ok(())
    });
}

#[test]
fn contingency() {
    run_family("contingency", |c| {
        let id = c.case.id.clone();
        match c.case.method.as_str() {
            "fisher_exact_2x2" => {
                let r = stats::fisher_exact_2x2(c.table2()?).map_err(stats_err(&id))?;
                c.optional("odds_ratio", r.odds_ratio);
                c.real("p_two_sided", r.p_two_sided);
                c.real("p_greater", r.p_greater);
                c.real("p_less", r.p_less);
            }
            method => {
                let r = if method == "srm_chi_square" {
                    stats::srm_chi_square(&c.counts("observed")?, &c.floats("weights")?)
                } else {
                    stats::chi_square_independence(&c.table()?)
                }
                .map_err(stats_err(&id))?;
                c.real("statistic", r.statistic);
                c.int("dof", r.dof);
                c.real("p_value", r.p_value);
            }
        }
        Ok(())
    });
}

#[test]
fn paired() {
    run_family("paired", |c| {
        let id = c.case.id.clone();
        let table = c.table2()?;
        if c.case.method == "mcnemar_exact" {
            let r = stats::mcnemar_exact(table).map_err(stats_err(&id))?;
            c.int("statistic", r.statistic);
            c.real("p_value", r.p_value);
        } else {
            let r = stats::mcnemar_chi2(table).map_err(stats_err(&id))?;
            c.real("statistic", r.statistic);
            c.real("p_value", r.p_value);
        }
        Ok(())
    });
}

#[test]
fn multiple_testing() {
    run_family("multiple_testing", |c| {
        let (p, alpha) = (c.floats("p_values")?, c.f("alpha")?);
        let r = if c.case.method == "holm_adjust" {
            stats::holm_adjust(&p, alpha)
        } else {
            stats::bh_adjust(&p, alpha)
        }
        .map_err(stats_err(&c.case.id))?;
        c.reals("adjusted", &r.adjusted);
        c.bools("reject", &r.reject);
        Ok(())
    });
}

#[test]
fn planning() {
    run_family("planning", |c| {
        let id = c.case.id.clone();
        let (alpha, power) = (c.f("alpha")?, c.f("power")?);
        match c.case.method.as_str() {
            "sample_size_one_proportion" => {
                let r = stats::sample_size_one_proportion(c.f("p0")?, c.f("p1")?, alpha, power)
                    .map_err(stats_err(&id))?;
                c.real("n", r.n);
                c.int("n_ceil", r.n_ceil);
            }
            "sample_size_two_proportions" => {
                let r = stats::sample_size_two_proportions(c.f("p_a")?, c.f("p_b")?, alpha, power)
                    .map_err(stats_err(&id))?;
                c.real("n_pooled", r.pooled.n);
                c.int("n_pooled_ceil", r.pooled.n_ceil);
                c.real("n_unpooled", r.unpooled.n);
                c.int("n_unpooled_ceil", r.unpooled.n_ceil);
            }
            _ => {
                let r = stats::sample_size_cohen_h(c.f("p_a")?, c.f("p_b")?, alpha, power)
                    .map_err(stats_err(&id))?;
                c.real("cohen_h", r.cohen_h);
                c.real("n", r.n);
                c.int("n_ceil", r.n_ceil);
            }
        }
        Ok(())
    });
}

#[test]
fn welch() {
    run_family("welch", |c| {
        let a = SummaryStats {
            mean: c.f("mean_a")?,
            sd: c.f("sd_a")?,
            n: c.u("n_a")?,
        };
        let b = SummaryStats {
            mean: c.f("mean_b")?,
            sd: c.f("sd_b")?,
            n: c.u("n_b")?,
        };
        let r = stats::welch_t_test(a, b, 0.95).map_err(stats_err(&c.case.id))?;
        c.real("t", r.t);
        c.real("df", r.df);
        c.real("p_two_sided", r.p_two_sided);
        c.real("p_greater", r.p_greater);
        c.real("p_less", r.p_less);
        Ok(())
    });
}

#[test]
fn sequential() {
    run_family("sequential", |c| {
        let id = c.case.id.clone();
        if c.case.method == "normal_mixture_rho" {
            let rho = stats::normal_mixture_rho(c.f("v_opt")?, c.f("confidence")?)
                .map_err(stats_err(&id))?;
            c.real("rho", rho);
        } else {
            let r = stats::confidence_sequence(
                c.u("k")?,
                c.u("n")?,
                c.f("confidence")?,
                c.f("sigma2")?,
                c.f("rho")?,
            )
            .map_err(stats_err(&id))?;
            c.real("estimate", r.estimate);
            c.real("radius", r.radius);
            c.real("lower", r.lower);
            c.real("upper", r.upper);
        }
        Ok(())
    });
}

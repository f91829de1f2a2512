//! Reports, the portfolio, planning and the CSV export.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::decisions::{DecisionView, load_decisions};
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, PathKey};
use super::{AppState, blocking, reading};
use crate::analysis::plan::{Plan, PlanRequest, plan};
use crate::analysis::portfolio::{self, Portfolio};
use crate::analysis::{self, Report};
use crate::domain::{Confidence, Criteria, FieldErrors, InitiativeKey, Mode};
use crate::store::{self, Freshness, aggregates, initiatives};

/// The report as the API serves it: the report, and the decision log beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    #[serde(flatten)]
    pub report: Report,
    /// Where the numbers were read (`read_from`) and, from a replica, how far behind the
    /// primary it may be (`replica_lag_seconds`).
    #[serde(flatten)]
    pub freshness: Freshness,
    /// Whether the latest decision went against the evidence (decided before
    /// `min_exposures`, or against the verdict, with an override reason).
    pub decided_against_evidence: bool,
    /// The decision log, newest first, each with the evidence at that moment.
    pub decisions: Vec<DecisionView>,
}

/// The demand report of one initiative.
///
/// The verdict, the numbers and the statistics behind them (intervals, the sequential test,
/// segments, variants, the timeline), with the decision log.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/report",
    tag = "reports",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = ReportView),
    )
)]
pub async fn get_report(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let (report, freshness) = load_report(&state, key.clone()).await?;
    let log = load_decisions(&state, key).await?;
    Ok(HttpResponse::Ok().json(ReportView {
        report,
        freshness,
        decided_against_evidence: log.decided_against_evidence,
        decisions: log.decisions,
    }))
}

/// Loads an initiative's aggregates (from the read replica when one is configured) and
/// builds its report; says how fresh the numbers are.
pub async fn load_report(
    state: &AppState,
    key: InitiativeKey,
) -> Result<(Report, Freshness), ApiError> {
    let replica = state.store.reads_from_replica();
    let ((initiative, cells, daily), freshness) = reading(state, move |c| {
        let loaded = aggregates::for_report(c, &key)?;
        let freshness = if replica {
            store::freshness(c)?
        } else {
            Freshness::PRIMARY
        };
        Ok((loaded, freshness))
    })
    .await?;
    Ok((
        analysis::build(&initiative, &cells, &daily, Utc::now()),
        freshness,
    ))
}

/// Every initiative's report, for the portfolio.
pub async fn load_portfolio(state: &AppState) -> Result<Portfolio, ApiError> {
    let all = reading(state, aggregates::all_for_report).await?;
    let now = Utc::now();
    let reports: Vec<Report> = all
        .iter()
        .map(|(i, cells, daily)| analysis::build(i, cells, daily, now))
        .collect();
    Ok(portfolio::build(&reports, now))
}

/// The portfolio: every initiative with its headline and verdict.
///
/// Headline numbers and verdict of every initiative; p-values of running initiatives
/// adjusted with Benjamini-Hochberg beside the raw ones; and the decisions taken against the
/// evidence.
#[utoipa::path(
    get,
    path = "/api/v1/portfolio",tag = "reports", responses((status = 200, body = PortfolioView)))]
pub async fn get_portfolio(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let portfolio = load_portfolio(&state).await?;
    let against = reading(&state, initiatives::decided_against_evidence).await?;
    Ok(HttpResponse::Ok().json(PortfolioView {
        portfolio,
        decided_against_evidence: against.into_iter().collect(),
    }))
}

/// The portfolio as the API serves it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortfolioView {
    #[serde(flatten)]
    pub portfolio: Portfolio,
    /// Keys of the initiatives whose latest decision went against the evidence.
    pub decided_against_evidence: Vec<String>,
}

/// What a plan is asked for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"target_preorder_rate": 0.05, "minimum_rate": 0.08, "confidence": 0.95, "mode": "sequential"}))]
pub struct PlanInput {
    /// Plan for this initiative: its mode, target, confidence, planned and minimum
    /// exposures and variants are the defaults.
    #[schema(
        example = "team-plan",
        pattern = "^[a-z0-9][a-z0-9_-]*$",
        min_length = 1,
        max_length = 64
    )]
    pub initiative: Option<String>,
    /// `sequential` (default: the anytime-valid rule the verdict reads continuously) or
    /// `fixed` (the classic fixed-horizon sample size, read once).
    #[schema(value_type = Option<crate::domain::Mode>)]
    pub mode: Option<String>,
    /// The target pre-order rate (required without `initiative`).
    #[schema(example = 0.05, exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub target_preorder_rate: Option<f64>,
    /// The smallest true pre-order rate worth detecting, above the target.
    #[schema(example = 0.08, exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub minimum_rate: f64,
    /// Confidence of the verdict, 0.8 to 0.999 (default: the initiative's, else 0.95).
    #[schema(example = 0.95, minimum = 0.8, maximum = 0.999)]
    pub confidence: Option<f64>,
    /// Deprecated: 1 − `confidence`, still accepted; given with `confidence`, the two must
    /// agree.
    #[schema(example = 0.05, minimum = 0.001, maximum = 0.2)]
    pub alpha: Option<f64>,
    /// Power of the fixed-horizon figures (default 0.8).
    #[schema(example = 0.8, exclusive_minimum = 0.5, exclusive_maximum = 1.0)]
    pub power: Option<f64>,
    /// Planned exposures, which tune the sequential rule (default: the initiative's, else
    /// 5,000).
    #[schema(example = 5000, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub planned_exposures: Option<i64>,
    /// No verdict before this many exposures (default: the initiative's, else 100).
    #[schema(example = 100, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub min_exposures: Option<i64>,
    /// Number of variants for a per-variant plan (default: the initiative's).
    #[schema(example = 2, minimum = 2, maximum = 100)]
    pub variants: Option<u32>,
}

/// Plan a pilot: the exposures it needs.
///
/// Exposures needed to tell a minimum rate worth detecting from the target: in sequential
/// mode the exposures by which half, 80% and 90% of pilots at the minimum rate are
/// validated by the verdict's own rule; in fixed mode the classic sample size. Given an
/// `initiative`, its criteria fill in what the body leaves out (404 if it does not exist).
#[utoipa::path(
    post,
    path = "/api/v1/plan",
    tag = "reports",
    request_body = PlanInput,
    responses(
        (status = 200, body = Plan),
        (status = 404, description = "The `initiative` named in the body does not exist (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_plan(
    state: web::Data<AppState>,
    ApiJson(input): ApiJson<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let initiative = match input.initiative {
        Some(raw) => {
            let key = InitiativeKey::parse(raw)
                .map_err(|reason| ApiError::invalid_field("initiative", reason))?;
            Some(blocking(&state, move |c| initiatives::get(c, &key)).await?)
        }
        None => None,
    };
    let criteria = initiative.as_ref().map(|i| i.criteria);
    let mut errors = FieldErrors::default();
    let mode = match input.mode.as_deref() {
        Some(raw) => Mode::parse(raw).unwrap_or_else(|reason| {
            errors.push("mode", reason);
            Mode::Sequential
        }),
        None => initiative.as_ref().map_or(Mode::Sequential, |i| i.mode),
    };
    let target = input
        .target_preorder_rate
        .or(criteria.map(|c| c.target_preorder_rate.get()));
    match target {
        None => errors.push(
            "target_preorder_rate",
            "is required unless an initiative is named",
        ),
        Some(t) if !(t > 0.0 && t < 1.0) => {
            errors.push("target_preorder_rate", "must be strictly between 0 and 1");
        }
        Some(_) => {}
    }
    let confidence = match (input.confidence, input.alpha) {
        (Some(c), Some(a)) if (1.0 - c - a).abs() > 1e-9 => {
            errors.push(
                "alpha",
                format!(
                    "must equal 1 - confidence ({}) when both are given",
                    1.0 - c
                ),
            );
            c
        }
        (Some(c), _) => {
            if let Err(reason) = Confidence::new(c) {
                errors.push("confidence", reason);
            }
            c
        }
        (None, Some(a)) => {
            if Confidence::new(1.0 - a).is_err() {
                errors.push(
                    "alpha",
                    "must be between 0.001 and 0.2 (confidence 0.8 to 0.999)",
                );
            }
            1.0 - a
        }
        (None, None) => criteria.map_or(Confidence::DEFAULT.get(), |c| c.confidence.get()),
    };
    let planned = match input.planned_exposures {
        Some(v) => Criteria::planned_exposures(v).unwrap_or_else(|reason| {
            errors.push("planned_exposures", reason);
            Criteria::DEFAULT_PLANNED_EXPOSURES
        }),
        None => criteria.map_or(Criteria::DEFAULT_PLANNED_EXPOSURES, |c| c.planned_exposures),
    };
    let min_exposures = match input.min_exposures {
        Some(v) => Criteria::min_exposures(v).unwrap_or_else(|reason| {
            errors.push("min_exposures", reason);
            Criteria::DEFAULT_MIN_EXPOSURES
        }),
        None => criteria.map_or(Criteria::DEFAULT_MIN_EXPOSURES, |c| c.min_exposures),
    };
    let variants = input.variants.or(initiative.as_ref().and_then(|i| {
        let n = i.variants.as_slice().len();
        (n >= 2).then(|| u32::try_from(n).unwrap_or(u32::MAX))
    }));
    let power = input.power.unwrap_or(0.8);
    if !(power > 0.5 && power < 1.0) {
        errors.push("power", "must be strictly between 0.5 and 1");
    }
    if variants.is_some_and(|v| !(2..=100).contains(&v)) {
        errors.push("variants", "must be between 2 and 100");
    }
    let Some(target) = target.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let request = PlanRequest {
        mode,
        target_preorder_rate: target,
        minimum_rate: input.minimum_rate,
        confidence,
        power,
        planned_exposures: planned,
        min_exposures,
        variants,
    };
    // The sequential plan is a dynamic programme of up to 100,000 reads: off the
    // async workers.
    let result = web::block(move || plan(request))
        .await?
        .map_err(|e| ApiError::invalid_field(e.field, e.reason))?;
    Ok(HttpResponse::Ok().json(result))
}

/// Neutralises spreadsheet formulas: a cell starting with `=`, `+`, `-` or `@` is
/// prefixed with `'` so a spreadsheet shows it as text.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x}"))
}

/// The report's segment and variant tables as CSV.
pub fn report_csv(report: &Report) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    w.write_record([
        "table",
        "name",
        "core",
        "price_cents",
        "exposures",
        "preorders",
        "rate",
        "ci_low",
        "ci_high",
        "responses",
        "love_share",
        "committed_revenue_cents",
        "diff",
        "p_value",
        "p_value_adjusted",
        "breakout",
    ])
    .map_err(internal)?;
    for s in &report.segments {
        w.write_record([
            "segment".to_string(),
            cell(&s.segment),
            s.core.to_string(),
            String::new(),
            s.exposures.to_string(),
            s.preorders.to_string(),
            num(s.rate),
            num(s.ci.map(|c| c.low)),
            num(s.ci.map(|c| c.high)),
            s.responses.to_string(),
            num(s.love_share),
            s.committed_revenue_cents.to_string(),
            num(s.vs_core.map(|v| v.diff)),
            num(s.vs_core.map(|v| v.p_value)),
            num(s.vs_core.map(|v| v.p_value_holm)),
            s.breakout.to_string(),
        ])
        .map_err(internal)?;
    }
    for v in &report.variants {
        w.write_record([
            "variant".to_string(),
            cell(&v.variant),
            String::new(),
            v.price_cents.to_string(),
            v.exposures.to_string(),
            v.preorders.to_string(),
            num(v.rate),
            num(v.ci.map(|c| c.low)),
            num(v.ci.map(|c| c.high)),
            String::new(),
            String::new(),
            num(v.revenue_per_exposure.mean.map(|m| m * v.exposures as f64)),
            num(v.vs_first.map(|c| c.diff)),
            num(v.vs_first.and_then(|c| c.p_value)),
            String::new(),
            String::new(),
        ])
        .map_err(internal)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The report's segment and variant tables, as CSV.
///
/// The same figures as the report's segment and variant tables, one row per segment and
/// variant, for spreadsheets.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/report.csv",
    tag = "reports",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, content_type = "text/csv", body = String),
    )
)]
pub async fn report_csv_export(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let filename = format!("{key}-report.csv");
    let (report, _) = load_report(&state, key).await?;
    let body = report_csv(&report)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn spreadsheet_formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("smb"), "smb");
    }
}

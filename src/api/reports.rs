//! Reports, the portfolio, planning and the CSV export.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::decisions::{DecisionView, load_decisions};
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, PathKey};
use super::{AppState, blocking};
use crate::analysis::plan::{Plan, PlanRequest, plan};
use crate::analysis::portfolio::{self, Portfolio};
use crate::analysis::{self, Report};
use crate::domain::{FieldErrors, InitiativeKey};
use crate::store::{aggregates, initiatives};

/// The report as the API serves it: the report, and the decision log beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    #[serde(flatten)]
    pub report: Report,
    /// Whether the latest decision went against the evidence (decided before
    /// `min_exposures`, or against the verdict, with an override reason).
    pub decided_against_evidence: bool,
    /// The decision log, newest first, each with the evidence at that moment.
    pub decisions: Vec<DecisionView>,
}

/// The demand report of one initiative: verdict, numbers and the statistics behind them,
/// with the decision log.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/report",
    tag = "reports",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, body = ReportView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_report(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let report = load_report(&state, key.clone()).await?;
    let log = load_decisions(&state, key).await?;
    Ok(HttpResponse::Ok().json(ReportView {
        report,
        decided_against_evidence: log.decided_against_evidence,
        decisions: log.decisions,
    }))
}

/// Loads an initiative's aggregates and builds its report.
pub async fn load_report(state: &AppState, key: InitiativeKey) -> Result<Report, ApiError> {
    let (initiative, cells, daily) =
        blocking(state, move |c| aggregates::for_report(c, &key)).await?;
    Ok(analysis::build(&initiative, &cells, &daily, Utc::now()))
}

/// Every initiative's report, for the portfolio.
pub async fn load_portfolio(state: &AppState) -> Result<Portfolio, ApiError> {
    let all = blocking(state, aggregates::all_for_report).await?;
    let now = Utc::now();
    let reports: Vec<Report> = all
        .iter()
        .map(|(i, cells, daily)| analysis::build(i, cells, daily, now))
        .collect();
    Ok(portfolio::build(&reports, now))
}

/// Every initiative with its headline numbers and verdict; p-values of running
/// initiatives adjusted with Benjamini-Hochberg beside the raw ones.
#[utoipa::path(
    get,
    path = "/api/v1/portfolio",tag = "reports", responses((status = 200, body = PortfolioView)))]
pub async fn get_portfolio(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let portfolio = load_portfolio(&state).await?;
    let against = blocking(&state, initiatives::decided_against_evidence).await?;
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
pub struct PlanInput {
    /// Plan for this initiative: its target, confidence and variants are the defaults.
    pub initiative: Option<String>,
    /// The target pre-order rate (required without `initiative`).
    pub target_preorder_rate: Option<f64>,
    /// The smallest true pre-order rate worth detecting, above the target.
    pub minimum_rate: f64,
    /// Significance level (default: 1 - the initiative's confidence, else 0.05).
    pub alpha: Option<f64>,
    /// Power (default 0.8).
    pub power: Option<f64>,
    /// Number of variants for a per-variant plan (default: the initiative's).
    pub variants: Option<u32>,
}

/// Exposures needed to tell a minimum rate worth detecting from the target.
#[utoipa::path(
    post,
    path = "/api/v1/plan",
    tag = "reports",
    request_body = PlanInput,
    responses(
        (status = 200, body = Plan),
        (status = 404, body = Problem, content_type = "application/problem+json"),
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
    let target = input
        .target_preorder_rate
        .or(initiative
            .as_ref()
            .map(|i| i.criteria.target_preorder_rate.get()))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "target_preorder_rate",
                "is required unless an initiative is named",
            )
        })?;
    let alpha = input
        .alpha
        .or(initiative
            .as_ref()
            .map(|i| 1.0 - i.criteria.confidence.get()))
        .unwrap_or(0.05);
    let variants = input.variants.or(initiative.as_ref().and_then(|i| {
        let n = i.variants.as_slice().len();
        (n >= 2).then(|| u32::try_from(n).unwrap_or(u32::MAX))
    }));
    let mut errors = FieldErrors::default();
    if !(target > 0.0 && target < 1.0) {
        errors.push("target_preorder_rate", "must be strictly between 0 and 1");
    }
    if !(alpha > 0.0 && alpha < 0.5) {
        errors.push("alpha", "must be strictly between 0 and 0.5");
    }
    let power = input.power.unwrap_or(0.8);
    if !(power > 0.5 && power < 1.0) {
        errors.push("power", "must be strictly between 0.5 and 1");
    }
    if variants.is_some_and(|v| !(2..=100).contains(&v)) {
        errors.push("variants", "must be between 2 and 100");
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let result = plan(PlanRequest {
        target_preorder_rate: target,
        minimum_rate: input.minimum_rate,
        alpha,
        power,
        variants,
    })
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

/// The segment and variant tables of the report, as CSV.
#[utoipa::path(
    get,
    path = "/api/v1/initiatives/{key}/report.csv",
    tag = "reports",
    params(("key" = String, Path, description = "Initiative key")),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn report_csv_export(
    state: web::Data<AppState>,
    PathKey(key): PathKey,
) -> Result<HttpResponse, ApiError> {
    let filename = format!("{key}-report.csv");
    let report = load_report(&state, key).await?;
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

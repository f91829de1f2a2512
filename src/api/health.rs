//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, Problem};
use crate::store::Fault;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers.
///
/// Always 200 while the process serves HTTP; does not touch the database. Public.
#[utoipa::path(
    get,
    path = "/healthz",tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// `/readyz` answers within this, whatever the database does.
const PROBE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(900);

/// Readiness: the database answers and writes can succeed.
///
/// 200 when the database answers within a second and writes do not fail for lack of space or
/// permission; 503 (with `Retry-After`) and the reason otherwise. Public.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(fault) = state.store.write_fault() {
        return Err(ApiError::NotReady(fault.describe().into()));
    }
    let store = state.store.clone();
    let probe = web::block(move || store.ping());
    match actix_web::rt::time::timeout(PROBE_DEADLINE, probe).await {
        Err(_) => {
            return Err(ApiError::NotReady(format!(
                "the database did not answer within {} ms",
                PROBE_DEADLINE.as_millis()
            )));
        }
        Ok(answer) => answer?.map_err(|e| {
            tracing::warn!(error = %e, "readiness probe failed");
            ApiError::NotReady(
                e.fault()
                    .unwrap_or(Fault::Unreachable)
                    .describe()
                    .to_owned(),
            )
        })?,
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}

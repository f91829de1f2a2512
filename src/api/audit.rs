//! `/api/v1/audit`: the audit log, newest first (admins; the route table enforces it).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::{AppState, blocking};
use crate::domain::audit::{ActorKind, TargetType};
use crate::store::audit::{self, AuditFilter, AuditPage, AuditRecord};

/// Filters and paging for the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `initiative`, `decision`, `api_key`, `segment`, `user` or `webhook`.
    #[param(pattern = "^(initiative|decision|api_key|segment|user|webhook)$")]
    pub target_type: Option<String>,
    /// The target's key or id (e.g. an initiative key, a key id).
    pub target_id: Option<String>,
    /// `api_key`, `user`, `cli` or `system`.
    #[param(pattern = "^(api_key|user|cli|system)$")]
    pub actor_kind: Option<String>,
    /// The acting API key's or user's id.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub actor_id: Option<String>,
    /// The `next_cursor` of the previous page; omit for the newest entries.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub before: Option<String>,
    /// Entries per page, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// `api_key`, `cli` or `system`.
    pub kind: String,
    /// The API key's id.
    pub id: Option<i64>,
    /// The key's label, the command line's operating-system user, or what the system did.
    pub name: String,
}

/// What was changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    #[serde(rename = "type")]
    pub target_type: String,
    pub id: String,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Position in the log (pass as `before` to read older entries).
    pub cursor: String,
    pub at: DateTime<Utc>,
    pub actor: ActorView,
    /// `target.verb`, e.g. `initiative.launch`, `api_key.revoke`.
    pub action: String,
    pub target: TargetView,
    /// The target before the change (null when it was created).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The target after the change (null when it was removed).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<AuditRecord> for AuditEntryView {
    fn from(r: AuditRecord) -> Self {
        Self {
            cursor: r.id.to_string(),
            at: r.at,
            actor: ActorView {
                kind: r.actor_kind.as_str().to_owned(),
                id: r.actor_id,
                name: r.actor_name,
            },
            action: r.action.as_str().to_owned(),
            target: TargetView {
                target_type: r.target_type.as_str().to_owned(),
                id: r.target_id,
            },
            before: r.before,
            after: r.after,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogPage {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `before` for the next (older) page; null when there is none.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

impl AuditQuery {
    /// The filter and page size, each bad parameter a 400 naming it.
    pub fn parse(self) -> Result<(AuditFilter, i64), ApiError> {
        let id = |name: &str, v: Option<String>, reason: &str| {
            v.filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>()
                        .ok()
                        .filter(|v| *v > 0)
                        .ok_or_else(|| ApiError::bad_query(name, reason))
                })
                .transpose()
        };
        let filter = AuditFilter {
            target_type: self
                .target_type
                .map(|t| TargetType::parse(&t).map_err(|r| ApiError::bad_query("target_type", r)))
                .transpose()?,
            target_id: self.target_id.filter(|t| !t.is_empty()),
            actor_kind: self
                .actor_kind
                .map(|k| ActorKind::parse(&k).map_err(|r| ApiError::bad_query("actor_kind", r)))
                .transpose()?,
            actor_id: id("actor_id", self.actor_id, "must be an API key id")?,
            before: id(
                "before",
                self.before,
                "must be a cursor returned as next_cursor",
            )?,
        };
        let limit = match self.limit.as_deref() {
            None | Some("") => 50,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|v| (1..=500).contains(v))
                .ok_or_else(|| {
                    ApiError::bad_query("limit", "must be a whole number from 1 to 500")
                })?,
        };
        Ok((filter, limit))
    }
}

/// Reads one page of the audit log.
pub async fn load_audit(
    state: &AppState,
    filter: AuditFilter,
    limit: i64,
) -> Result<AuditLogPage, ApiError> {
    let AuditPage { entries, has_more } =
        blocking(state, move |c| audit::page(c, &filter, limit)).await?;
    let next_cursor = entries
        .last()
        .filter(|_| has_more)
        .map(|e| e.id.to_string());
    Ok(AuditLogPage {
        entries: entries.into_iter().map(AuditEntryView::from).collect(),
        next_cursor,
        has_more,
    })
}

/// The audit log (admins).
///
/// Every change an admin or a writer made, newest first, with who made it and the target
/// before and after. Event ingestion is data, not a change, and is not in it. Filter by
/// target or actor; page with `before=<next_cursor>`.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditLogPage),
    )
)]
pub async fn list_audit(
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, limit) = query.into_inner().parse()?;
    Ok(HttpResponse::Ok().json(load_audit(&state, filter, limit).await?))
}

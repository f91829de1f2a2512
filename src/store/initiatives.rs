//! Initiatives and their lifecycle, persisted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::models::{DecisionRow, InitiativeRow};
use super::schema::decisions::dsl as d;
use super::schema::initiatives::dsl as i;
use super::{DbConn, StoreError, lock_initiatives};
use crate::domain::aggregate::{Cell, DailyCount};
use crate::domain::audit::{Action, Actor, AuditEntry};
use crate::domain::decision::{DecisionRecord, DecisionRequest, EvidenceSnapshot};
use crate::domain::{Initiative, InitiativeDraft, InitiativeKey, InitiativePatch, Status, TeamKey};

/// Filters for listing initiatives.
#[derive(Debug, Clone, Default)]
pub struct InitiativeFilter {
    pub status: Option<Status>,
    pub owner_team: Option<TeamKey>,
}

/// Creates a draft initiative. Core segments must exist; a taken key is a conflict.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    draft: InitiativeDraft,
    now: DateTime<Utc>,
) -> Result<Initiative, StoreError> {
    super::write_transaction(conn, |conn| {
        let core_segments = draft.core_segments.clone();
        let initiative = Initiative {
            id: 0,
            key: draft.key,
            name: draft.name,
            kind: draft.kind,
            hypothesis: draft.hypothesis,
            owner_team: draft.owner_team,
            price: draft.price,
            currency: draft.currency,
            core_segments: draft.core_segments,
            variants: draft.variants,
            criteria: draft.criteria,
            mode: draft.mode,
            status: Status::Draft,
            fingerprint: None,
            decision: None,
            decision_note: None,
            created_at: now,
            updated_at: now,
            launched_at: None,
            concluded_at: None,
        };
        let row = InitiativeRow::from_domain(&initiative)?;
        match diesel::insert_into(i::initiatives)
            .values(&row)
            .execute(conn)
        {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                return Err(StoreError::Conflict(format!(
                    "initiative '{}' exists already",
                    initiative.key
                )));
            }
            Err(e) => return Err(e.into()),
        }
        // Checked after the insert on purpose: a write first takes SQLite's write lock
        // at once (a read first would have to upgrade later, which SQLite cannot wait
        // for). Unknown segments roll the insert back.
        super::segments::require_all(conn, &core_segments, "core_segments")?;
        let created = get(conn, &initiative.key)?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::InitiativeCreate,
                created.key.as_str(),
                None,
                Some(to_json(&created)?),
                now,
            ),
        )?;
        Ok(created)
    })
}

/// One initiative by key.
pub fn get(conn: &mut DbConn, key: &InitiativeKey) -> Result<Initiative, StoreError> {
    find(conn, key.as_str())?.ok_or_else(|| StoreError::NotFound(format!("initiative '{key}'")))
}

/// One initiative by key, if it exists.
pub fn find(conn: &mut DbConn, key: &str) -> Result<Option<Initiative>, StoreError> {
    i::initiatives
        .select(InitiativeRow::as_select())
        .filter(i::key.eq(key))
        .first(conn)
        .optional()?
        .map(InitiativeRow::into_domain)
        .transpose()
}

/// The initiatives named by `keys`, held by an ingest transaction so that none changes
/// status (stops, concludes) while the group writes its events. On PostgreSQL a *shared*
/// row lock, taken as the rows are read (one round trip), in key order: instances
/// ingesting into the same initiative do not wait for one another (their conflicts are
/// per customer, per event id and per aggregate cell, see `store::bulk`), while a status
/// change waits for the writers. On SQLite the database write lock
/// ([`super::lock_initiatives`]), then the rows.
pub(crate) fn hold_for_ingest(
    conn: &mut DbConn,
    keys: &[&str],
) -> Result<Vec<Initiative>, StoreError> {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match conn {
        DbConn::Postgres(c) => i::initiatives
            .select(InitiativeRow::as_select())
            .filter(i::key.eq_any(&sorted))
            .order(i::key.asc())
            .for_share()
            .load(c)?
            .into_iter()
            .map(InitiativeRow::into_domain)
            .collect(),
        DbConn::Sqlite(_) => {
            super::lock_initiatives(conn, &sorted)?;
            let mut held = Vec::with_capacity(sorted.len());
            for key in sorted {
                held.extend(find(conn, key)?);
            }
            Ok(held)
        }
    }
}

/// Initiatives matching the filter, newest first.
pub fn list(conn: &mut DbConn, filter: &InitiativeFilter) -> Result<Vec<Initiative>, StoreError> {
    let mut q = i::initiatives
        .select(InitiativeRow::as_select())
        .into_boxed();
    if let Some(status) = filter.status {
        q = q.filter(i::status.eq(status));
    }
    if let Some(team) = &filter.owner_team {
        q = q.filter(i::owner_team.eq(team.as_str().to_owned()));
    }
    q.order((i::created_at.desc(), i::id.desc()))
        .load(conn)?
        .into_iter()
        .map(InitiativeRow::into_domain)
        .collect()
}

/// Whether any initiative exists (the demo fills only an empty database).
pub fn any(conn: &mut DbConn) -> Result<bool, StoreError> {
    Ok(i::initiatives
        .select(i::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// JSON of a value for the audit log.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(format!("audit entry: {e}")))
}

/// Loads, changes and saves one initiative under its write lock, and records the change
/// (`action`, before and after) in the audit log in the same transaction.
fn modify(
    conn: &mut DbConn,
    actor: &Actor,
    action: Action,
    key: &InitiativeKey,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut DbConn, &mut Initiative) -> Result<(), StoreError>,
) -> Result<Initiative, StoreError> {
    super::write_transaction(conn, |conn| {
        if lock_initiatives(conn, &[key.as_str()])? == 0 {
            return Err(StoreError::NotFound(format!("initiative '{key}'")));
        }
        let mut initiative = get(conn, key)?;
        let before = to_json(&initiative)?;
        change(conn, &mut initiative)?;
        let row = InitiativeRow::from_domain(&initiative)?;
        diesel::update(i::initiatives.filter(i::id.eq(initiative.id)))
            .set(&row)
            .execute(conn)?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                action,
                initiative.key.as_str(),
                Some(before),
                Some(to_json(&initiative)?),
                now,
            ),
        )?;
        Ok(initiative)
    })
}

/// Changes a draft. Core segments named by the patch must exist.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    key: &InitiativeKey,
    patch: InitiativePatch,
    now: DateTime<Utc>,
) -> Result<Initiative, StoreError> {
    modify(
        conn,
        actor,
        Action::InitiativeUpdate,
        key,
        now,
        |conn, initiative| {
            // Lifecycle first: a launched initiative answers 409 whatever the patch says.
            initiative.require(Status::Draft)?;
            if let Some(core) = &patch.core_segments {
                super::segments::require_all(conn, core, "core_segments")?;
            }
            initiative.apply_patch(patch, now)?;
            Ok(())
        },
    )
}

/// Launches a draft: locks its criteria and records their fingerprint.
pub fn launch(
    conn: &mut DbConn,
    actor: &Actor,
    key: &InitiativeKey,
    now: DateTime<Utc>,
) -> Result<Initiative, StoreError> {
    modify(
        conn,
        actor,
        Action::InitiativeLaunch,
        key,
        now,
        |_, initiative| Ok(initiative.launch(now)?),
    )
}

/// Concludes a running pilot: under the initiative's write lock (so no event slips in
/// between), reads its aggregates, lets `snapshot` say what the evidence says, checks
/// the decision against it ([`DecisionRequest::assess`]: a refused decision stores
/// nothing) and appends it to the decision log. The initiative keeps the latest
/// decision and note. The audit log gets the transition and the decision recorded.
pub fn conclude(
    conn: &mut DbConn,
    actor: &Actor,
    key: &InitiativeKey,
    request: DecisionRequest,
    now: DateTime<Utc>,
    snapshot: impl FnOnce(&Initiative, &[Cell], &[DailyCount]) -> EvidenceSnapshot,
) -> Result<(Initiative, DecisionRecord), StoreError> {
    let mut recorded = None;
    let initiative = modify(
        conn,
        actor,
        Action::InitiativeConclude,
        key,
        now,
        |conn, initiative| {
            // Lifecycle first: a concluded initiative answers 409 whatever the body says.
            initiative.require(Status::Running)?;
            let cells = super::aggregates::cells(conn, initiative.id)?;
            let daily = super::aggregates::daily(conn, initiative.id)?;
            let decided = request.assess(snapshot(initiative, &cells, &daily))?;
            initiative.conclude(decided.decision, decided.note.clone(), now)?;
            diesel::insert_into(d::decisions)
                .values(DecisionRow::new(initiative.id, &decided, now)?)
                .execute(conn)?;
            let decision = latest_decision(conn, initiative.id)?.ok_or_else(|| {
                StoreError::Corrupt("the recorded decision could not be read".into())
            })?;
            super::audit::record(
                conn,
                &AuditEntry::new(
                    actor,
                    Action::DecisionRecord,
                    decision.id.to_string(),
                    None,
                    Some(serde_json::json!({
                        "initiative": initiative.key.as_str(),
                        "decision": to_json(&decision)?,
                    })),
                    now,
                ),
            )?;
            recorded = Some(decision);
            Ok(())
        },
    )?;
    let recorded = recorded
        .ok_or_else(|| StoreError::Corrupt("the recorded decision could not be read".into()))?;
    Ok((initiative, recorded))
}

fn latest_decision(
    conn: &mut DbConn,
    initiative_id: i64,
) -> Result<Option<DecisionRecord>, StoreError> {
    d::decisions
        .select(DecisionRow::as_select())
        .filter(d::initiative_id.eq(initiative_id))
        .order(d::id.desc())
        .first(conn)
        .optional()?
        .map(DecisionRow::into_domain)
        .transpose()
}

/// The decision log of an initiative, newest first.
pub fn decisions(
    conn: &mut DbConn,
    key: &InitiativeKey,
) -> Result<Vec<DecisionRecord>, StoreError> {
    let initiative = get(conn, key)?;
    d::decisions
        .select(DecisionRow::as_select())
        .filter(d::initiative_id.eq(initiative.id))
        .order((d::decided_at.desc(), d::id.desc()))
        .load(conn)?
        .into_iter()
        .map(DecisionRow::into_domain)
        .collect()
}

/// Keys of the initiatives whose latest decision went against the evidence.
pub fn decided_against_evidence(conn: &mut DbConn) -> Result<BTreeSet<String>, StoreError> {
    let rows: Vec<(String, bool)> = d::decisions
        .inner_join(i::initiatives)
        .select((i::key, d::against_evidence))
        .order(d::id)
        .load(conn)?;
    let mut latest = BTreeMap::new();
    for (key, against) in rows {
        latest.insert(key, against);
    }
    Ok(latest
        .into_iter()
        .filter_map(|(key, against)| against.then_some(key))
        .collect())
}

//! What to announce, decided in the transaction of the change that causes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use crate::analysis::{self, Report};
use crate::domain::decision::DecisionRecord;
use crate::domain::webhook::{EventType, Notification};
use crate::domain::{Initiative, Status};
use crate::store::ingest::GroupHook;
use crate::store::outbox::{self, Announced};
use crate::store::{DbConn, StoreError, aggregates, webhooks};

/// The report link of an initiative: `<base>/initiatives/<key>`.
fn report_url(base: &str, initiative: &Initiative) -> String {
    format!(
        "{}/initiatives/{}",
        base.trim_end_matches('/'),
        initiative.key
    )
}

fn header(initiative: &Initiative) -> Value {
    json!({
        "key": initiative.key.as_str(),
        "name": initiative.name,
        "owner_team": initiative.owner_team.as_str(),
    })
}

fn announced_of(report: &Report, initiative: &Initiative) -> Announced {
    Announced {
        verdict: report.verdict.status.as_str().to_owned(),
        srm: report.srm.is_some_and(|s| s.mismatch),
        plan_reached: initiative.criteria.planned_exposures > 0
            && report.demand.exposures >= initiative.criteria.planned_exposures,
    }
}

/// The ingest hook: after each group, compares every changed initiative's verdict, SRM
/// check and progress with what was last announced, and writes the differences to the
/// outbox, in the group's transaction (so each change is announced exactly once, even
/// with several writers or instances: each locks the initiative's announced state before
/// it reads the counts).
#[derive(Debug)]
pub struct IngestWatch {
    /// Prefix of report links (`webhooks.public_base_url`).
    base_url: String,
    /// Set when a group wrote deliveries (see `sender::Wake::after_ingest`).
    enqueued: Arc<AtomicBool>,
    /// Whether any subscription exists, as last read: (this process's
    /// `webhooks::changes()` before the read, when, the answer).
    subscribed: Mutex<Option<(u64, Instant, bool)>>,
}

/// How long an answer of "is there any subscription?" is reused. A subscription stored by
/// this process is seen at the next group; one stored by another instance within this
/// time. Nothing is lost meanwhile: the first group that sees it compares the counts with
/// what was last announced, not with the events since.
const SUBSCRIBED_FOR: Duration = Duration::from_secs(1);

impl IngestWatch {
    pub fn new(base_url: String, enqueued: Arc<AtomicBool>) -> Self {
        Self {
            base_url,
            enqueued,
            subscribed: Mutex::new(None),
        }
    }

    /// Whether any subscription exists: read at most once a `SUBSCRIBED_FOR` (and again
    /// after this process changed the subscriptions), since every group asks.
    fn any_subscription(&self, conn: &mut DbConn) -> Result<bool, StoreError> {
        let mut cached = self
            .subscribed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changes = webhooks::changes();
        if let Some((seen, at, answer)) = *cached
            && seen == changes
            && at.elapsed() < SUBSCRIBED_FOR
        {
            return Ok(answer);
        }
        let answer = webhooks::any(conn)?;
        *cached = Some((changes, Instant::now(), answer));
        Ok(answer)
    }
}

impl GroupHook for IngestWatch {
    fn after_group(&self, conn: &mut DbConn, changed: &[&Initiative]) -> Result<(), StoreError> {
        if !self.any_subscription(conn)? {
            return Ok(());
        }
        let now = Utc::now();
        // In id order, so two instances lock the announced rows in the same order.
        let mut changed = changed.to_vec();
        changed.sort_by_key(|i| i.id);
        for initiative in changed {
            // Never announced: compare with the pilot before its first event.
            let baseline = announced_of(&analysis::build(initiative, &[], &[], now), initiative);
            // Lock first, then read the counts: they include every group committed before.
            let before = outbox::lock_announced(conn, initiative.id, &baseline)?;
            let cells = aggregates::cells(conn, initiative.id)?;
            let daily = aggregates::daily(conn, initiative.id)?;
            let report = analysis::build(initiative, &cells, &daily, now);
            let after = announced_of(&report, initiative);
            if after == before {
                continue;
            }
            let link = report_url(&self.base_url, initiative);
            let counts = json!({
                "exposures": report.demand.exposures,
                "preorders": report.demand.preorders,
                "rate": report.demand.rate,
            });
            let mut notes = Vec::new();
            if after.verdict != before.verdict {
                notes.push((
                    EventType::VerdictChanged,
                    json!({
                        "initiative": header(initiative),
                        "old_status": before.verdict,
                        "new_status": after.verdict,
                        "sentence": report.summary,
                        "reasons": report.verdict.reasons,
                        "evidence": {
                            "ratio": report.demand.evidence_ratio,
                            "needed": report.demand.evidence_needed,
                            "interval": report.demand.ci,
                        },
                        "counts": counts,
                        "report_url": link,
                    }),
                ));
            }
            if after.srm && !before.srm {
                notes.push((
                    EventType::SrmDetected,
                    json!({
                        "initiative": header(initiative),
                        "p_value": report.srm.map(|s| s.p_value),
                        "chi2": report.srm.map(|s| s.chi2),
                        "variants": report.variants.iter().map(|v| json!({
                            "variant": v.variant, "weight": v.weight, "exposures": v.exposures,
                        })).collect::<Vec<_>>(),
                        "counts": counts,
                        "report_url": link,
                    }),
                ));
            }
            if after.plan_reached && !before.plan_reached {
                notes.push((
                    EventType::PlanReached,
                    json!({
                        "initiative": header(initiative),
                        "planned_exposures": initiative.criteria.planned_exposures,
                        "exposures": report.demand.exposures,
                        "status": after.verdict,
                        "sentence": report.summary,
                        "counts": counts,
                        "report_url": link,
                    }),
                ));
            }
            for (event_type, data) in notes {
                if outbox::enqueue(conn, &notification(initiative, event_type, data))? > 0 {
                    self.enqueued.store(true, Ordering::Release);
                }
            }
            outbox::set_announced(conn, initiative.id, &after)?;
        }
        Ok(())
    }
}

fn notification(initiative: &Initiative, event_type: EventType, data: Value) -> Notification {
    Notification {
        event_type,
        initiative: Some(initiative.key.clone()),
        team: Some(initiative.owner_team.clone()),
        occurred_at: Utc::now(),
        data,
    }
}

/// `initiative.launched`, in the launch's transaction.
pub fn launched(
    conn: &mut DbConn,
    initiative: &Initiative,
    base_url: &str,
) -> Result<(), StoreError> {
    let data = json!({
        "initiative": header(initiative),
        "status": Status::Running,
        "fingerprint": initiative.fingerprint,
        "launched_at": initiative.launched_at,
        "report_url": report_url(base_url, initiative),
    });
    outbox::enqueue(
        conn,
        &notification(initiative, EventType::InitiativeLaunched, data),
    )?;
    Ok(())
}

/// `decision.recorded` and `initiative.concluded`, in the conclusion's transaction.
pub fn concluded(
    conn: &mut DbConn,
    initiative: &Initiative,
    decision: &DecisionRecord,
    base_url: &str,
) -> Result<(), StoreError> {
    let link = report_url(base_url, initiative);
    let recorded = json!({
        "initiative": header(initiative),
        "decision_id": decision.id,
        "decision": decision.decision,
        "note": decision.note,
        "override_reason": decision.override_reason,
        "against_evidence": decision.against_evidence,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
        "evidence": decision.snapshot,
        "report_url": link,
    });
    outbox::enqueue(
        conn,
        &notification(initiative, EventType::DecisionRecorded, recorded),
    )?;
    let done = json!({
        "initiative": header(initiative),
        "decision": decision.decision,
        "note": decision.note,
        "concluded_at": initiative.concluded_at,
        "report_url": link,
    });
    outbox::enqueue(
        conn,
        &notification(initiative, EventType::InitiativeConcluded, done),
    )?;
    Ok(())
}

/// `inbox.item`, in the transaction that keeps a provider's delivery in the inbox (its
/// first attempt only: a provider's retry of a kept delivery announces nothing new).
pub fn inbox_item(
    conn: &mut DbConn,
    entry: &crate::store::inbox::Entry,
    base_url: &str,
) -> Result<(), StoreError> {
    let key = entry
        .initiative
        .as_deref()
        .and_then(|k| crate::domain::InitiativeKey::parse(k).ok());
    // The owner team when the initiative exists, so team filters see it.
    let team = match &key {
        Some(k) => crate::store::initiatives::find(conn, k.as_str())?.map(|i| i.owner_team),
        None => None,
    };
    let data = json!({
        "inbox_id": entry.id,
        "provider": entry.provider,
        "kind": entry.kind,
        "external_id": entry.external_id,
        "initiative": entry.initiative.as_ref().map(|k| json!({"key": k})),
        "reason": entry.reason,
        "received_at": entry.received_at,
        "inbox_url": format!("{}/inbox", base_url.trim_end_matches('/')),
    });
    outbox::enqueue(
        conn,
        &Notification {
            event_type: EventType::InboxItem,
            initiative: key,
            team,
            occurred_at: Utc::now(),
            data,
        },
    )?;
    Ok(())
}

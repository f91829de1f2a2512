//! Rows as stored, and their conversion to and from domain types.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{decisions, initiatives, segments};
use super::typed::Json;
use super::{StoreError, to_naive, to_utc};
use crate::domain::decision::{DecisionRecord, EvidenceSnapshot, NewDecision};
use crate::domain::{
    Cents, Confidence, Criteria, Currency, Decision, Initiative, InitiativeKey, Kind, Mode,
    OpenRate, PreorderFloors, SegmentKey, Status, TeamKey, Variant, Variants,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = segments)]
pub struct SegmentRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = initiatives, treat_none_as_null = true)]
pub struct InitiativeRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub key: String,
    pub name: String,
    pub kind: Kind,
    pub hypothesis: String,
    pub owner_team: String,
    pub price_cents: i64,
    pub currency: String,
    pub core_segments: Json<Vec<String>>,
    pub variants: Json<Vec<StoredVariant>>,
    pub target_preorder_rate: f64,
    pub target_love_share: Option<f64>,
    pub confidence: f64,
    pub min_exposures: i64,
    pub planned_exposures: i64,
    pub mode: Mode,
    pub status: Status,
    pub fingerprint: Option<String>,
    pub decision: Option<Decision>,
    pub decision_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub launched_at: Option<NaiveDateTime>,
    pub concluded_at: Option<NaiveDateTime>,
    pub min_full_cents: Option<i64>,
    pub min_deposit_cents: Option<i64>,
    pub backfill_from: Option<NaiveDateTime>,
}

/// Variants as stored in the `variants` JSON column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredVariant {
    key: String,
    weight: f64,
    price_cents: Option<i64>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl InitiativeRow {
    pub fn from_domain(i: &Initiative) -> Result<Self, StoreError> {
        let core: Vec<String> = i.core_segments.iter().map(|s| s.to_string()).collect();
        let variants: Vec<StoredVariant> = i
            .variants
            .as_slice()
            .iter()
            .map(|v| StoredVariant {
                key: v.key.to_string(),
                weight: v.weight,
                price_cents: v.price_cents.map(Cents::get),
            })
            .collect();
        Ok(Self {
            id: i.id,
            key: i.key.to_string(),
            name: i.name.clone(),
            kind: i.kind,
            hypothesis: i.hypothesis.clone(),
            owner_team: i.owner_team.to_string(),
            price_cents: i.price.get(),
            currency: i.currency.to_string(),
            core_segments: Json::new(core)?,
            variants: Json::new(variants)?,
            target_preorder_rate: i.criteria.target_preorder_rate.get(),
            target_love_share: i.criteria.target_love_share.map(OpenRate::get),
            confidence: i.criteria.confidence.get(),
            min_exposures: to_i64(i.criteria.min_exposures),
            planned_exposures: to_i64(i.criteria.planned_exposures),
            mode: i.mode,
            status: i.status,
            fingerprint: i.fingerprint.clone(),
            decision: i.decision,
            decision_note: i.decision_note.clone(),
            created_at: to_naive(i.created_at),
            updated_at: to_naive(i.updated_at),
            launched_at: i.launched_at.map(to_naive),
            concluded_at: i.concluded_at.map(to_naive),
            min_full_cents: i.criteria.min_preorder.full.map(Cents::get),
            min_deposit_cents: i.criteria.min_preorder.deposit.map(Cents::get),
            backfill_from: i.criteria.backfill_from.map(to_naive),
        })
    }

    pub fn into_domain(self) -> Result<Initiative, StoreError> {
        let core = self.core_segments.into_inner();
        let variants = self.variants.into_inner();
        Ok(Initiative {
            id: self.id,
            key: InitiativeKey::from_trusted(self.key),
            name: self.name,
            kind: self.kind,
            hypothesis: self.hypothesis,
            owner_team: TeamKey::from_trusted(self.owner_team),
            price: Cents::from_trusted(self.price_cents),
            currency: Currency::parse(&self.currency).map_err(|e| corrupt("currency", e))?,
            core_segments: core.into_iter().map(SegmentKey::from_trusted).collect(),
            variants: Variants::from_trusted(
                variants
                    .into_iter()
                    .map(|v| Variant {
                        key: crate::domain::VariantKey::from_trusted(v.key),
                        weight: v.weight,
                        price_cents: v.price_cents.map(Cents::from_trusted),
                    })
                    .collect(),
            ),
            criteria: Criteria {
                target_preorder_rate: OpenRate::new(self.target_preorder_rate)
                    .map_err(|e| corrupt("target_preorder_rate", e))?,
                target_love_share: self
                    .target_love_share
                    .map(OpenRate::new)
                    .transpose()
                    .map_err(|e| corrupt("target_love_share", e))?,
                confidence: Confidence::new(self.confidence)
                    .map_err(|e| corrupt("confidence", e))?,
                min_exposures: u64::try_from(self.min_exposures).unwrap_or(0),
                planned_exposures: u64::try_from(self.planned_exposures).unwrap_or(0),
                min_preorder: PreorderFloors {
                    full: self.min_full_cents.map(Cents::from_trusted),
                    deposit: self.min_deposit_cents.map(Cents::from_trusted),
                },
                backfill_from: self.backfill_from.map(to_utc),
            },
            mode: self.mode,
            status: self.status,
            fingerprint: self.fingerprint,
            decision: self.decision,
            decision_note: self.decision_note,
            created_at: to_utc(self.created_at),
            updated_at: to_utc(self.updated_at),
            launched_at: self.launched_at.map(to_utc),
            concluded_at: self.concluded_at.map(to_utc),
        })
    }
}

/// One entry of the decision log.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = decisions)]
pub struct DecisionRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub initiative_id: i64,
    pub decision: Decision,
    pub note: String,
    pub override_reason: Option<String>,
    pub against_evidence: bool,
    pub verdict: String,
    pub snapshot: Json<EvidenceSnapshot>,
    pub decided_by: String,
    pub decided_by_key_id: Option<i64>,
    pub decided_at: NaiveDateTime,
    pub decided_by_user_id: Option<i64>,
}

impl DecisionRow {
    pub fn new(
        initiative_id: i64,
        d: &NewDecision,
        decided_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            id: 0,
            initiative_id,
            decision: d.decision,
            note: d.note.clone(),
            override_reason: d.override_reason.clone(),
            against_evidence: d.against_evidence,
            verdict: d.snapshot.verdict.clone(),
            snapshot: Json::new(d.snapshot.clone())?,
            decided_by: d.decided_by.clone(),
            decided_by_key_id: d.decided_by_who.and_then(|w| w.key_id()),
            decided_at: to_naive(decided_at),
            decided_by_user_id: d.decided_by_who.and_then(|w| w.user_id()),
        })
    }

    pub fn into_domain(self) -> Result<DecisionRecord, StoreError> {
        Ok(DecisionRecord {
            id: self.id,
            decision: self.decision,
            note: self.note,
            override_reason: self.override_reason,
            against_evidence: self.against_evidence,
            snapshot: self.snapshot.into_inner(),
            decided_by: self.decided_by,
            decided_at: to_utc(self.decided_at),
        })
    }
}

//! Initiatives: what is piloted, its pre-registered criteria, and its lifecycle
//! `draft -> running -> concluded`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Cents, Confidence, Currency, InitiativeKey, OpenRate, SegmentKey, TeamKey, VariantKey,
};

/// Longest name accepted.
pub const MAX_NAME: usize = 200;
/// Longest hypothesis or decision note accepted.
pub const MAX_TEXT: usize = 10_000;
/// Most variants an initiative may declare.
pub const MAX_VARIANTS: usize = 20;
/// Most core segments an initiative may declare.
pub const MAX_CORE_SEGMENTS: usize = 100;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        // The diesel derives only mark the type as a `Text` value; how it is written and
        // read (and what a stored value outside the set becomes) is `store::typed`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema, ::diesel::AsExpression, ::diesel::FromSqlRow)]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> { Self::parse(s) }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// Whether the initiative is a new offer or an improvement of an existing one.
    Kind { ValueEngineering => "value_engineering", ValueAnalysis => "value_analysis" }
);
text_enum!(
    /// How the verdict reads the data: an anytime-valid confidence sequence (safe under
    /// continuous monitoring) or a fixed-horizon interval (for a pre-planned sample).
    Mode { Sequential => "sequential", Fixed => "fixed" }
);
text_enum!(
    /// Lifecycle state.
    Status { Draft => "draft", Running => "running", Concluded => "concluded" }
);
text_enum!(
    /// What was decided when the pilot was concluded.
    Decision { Scale => "scale", Iterate => "iterate", Stop => "stop" }
);

/// Pre-registered success criteria. Locked when the initiative is launched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Criteria {
    pub target_preorder_rate: OpenRate,
    pub target_love_share: Option<OpenRate>,
    pub confidence: Confidence,
    pub min_exposures: u64,
    pub planned_exposures: u64,
    /// The smallest amount a pre-order counts with, by kind.
    #[serde(default)]
    pub min_preorder: PreorderFloors,
    /// Events dated from here on are accepted although they precede the launch (a pilot
    /// that ran before offerlab was connected); `None`: nothing before the launch.
    #[serde(default)]
    pub backfill_from: Option<DateTime<Utc>>,
}

/// The pre-registered floors of a pre-order's amount: below its floor a pre-order is
/// refused (a 1-cent "pre-order" of a EUR 19 offer is not demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PreorderFloors {
    /// Floor of a `full` pre-order; `None`: the price the customer was offered (their
    /// variant's own price in a price test).
    pub full: Option<Cents>,
    /// Floor of a `deposit` pre-order (the deposit amount); `None`: the initiative takes
    /// no deposits, and a deposit pre-order is refused.
    pub deposit: Option<Cents>,
}

impl PreorderFloors {
    /// Whether nothing is set (every floor is its default).
    pub fn is_default(&self) -> bool {
        self.full.is_none() && self.deposit.is_none()
    }
}

impl Criteria {
    pub const DEFAULT_MIN_EXPOSURES: u64 = 100;
    pub const DEFAULT_PLANNED_EXPOSURES: u64 = 5_000;
    const MAX_EXPOSURES: u64 = 1_000_000_000_000;

    pub fn min_exposures(v: i64) -> Result<u64, String> {
        u64::try_from(v)
            .ok()
            .filter(|v| (1..=Self::MAX_EXPOSURES).contains(v))
            .ok_or_else(|| format!("must be between 1 and {}", Self::MAX_EXPOSURES))
    }

    pub fn planned_exposures(v: i64) -> Result<u64, String> {
        Self::min_exposures(v)
    }
}

/// One arm of the offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub key: VariantKey,
    /// Assignment weight, normalised so that an initiative's weights sum to 1.
    pub weight: f64,
    /// The variant's own price; when variants carry prices they form a price test.
    pub price_cents: Option<Cents>,
}

/// The declared variants of an initiative (possibly none: then one implicit variant).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Variants(Vec<Variant>);

impl Variants {
    /// Validates keys (unique) and weights (positive, finite) and normalises the weights.
    pub fn new(raw: Vec<(VariantKey, f64, Option<Cents>)>) -> Result<Self, String> {
        if raw.len() > MAX_VARIANTS {
            return Err(format!("at most {MAX_VARIANTS} variants"));
        }
        if raw.is_empty() {
            return Ok(Self::default());
        }
        if raw.len() == 1 {
            return Err("declare at least two variants, or none".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (key, _, _) in &raw {
            if !seen.insert(key.as_str()) {
                return Err(format!("variant key '{key}' appears twice"));
            }
        }
        let total: f64 = raw.iter().map(|(_, w, _)| *w).sum();
        if !total.is_finite() || total <= 0.0 {
            return Err("weights must be positive numbers".into());
        }
        Ok(Self(
            raw.into_iter()
                .map(|(key, weight, price_cents)| Variant {
                    key,
                    weight: weight / total,
                    price_cents,
                })
                .collect(),
        ))
    }

    pub fn from_trusted(v: Vec<Variant>) -> Self {
        Self(v)
    }

    pub fn as_slice(&self) -> &[Variant] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The variant keys customers can be in: the declared ones, or the implicit one.
    pub fn keys(&self) -> Vec<VariantKey> {
        if self.0.is_empty() {
            vec![VariantKey::implicit()]
        } else {
            self.0.iter().map(|v| v.key.clone()).collect()
        }
    }

    pub fn contains(&self, key: &VariantKey) -> bool {
        self.0.iter().any(|v| &v.key == key)
    }

    /// Whether variants carry their own prices (a price test).
    pub fn is_price_test(&self) -> bool {
        self.0.iter().any(|v| v.price_cents.is_some())
    }

    /// Deterministic assignment: the same `(initiative, customer)` always lands in the same
    /// variant, on every instance, because it depends only on a SHA-256 of the two keys.
    pub fn assign(&self, initiative: &InitiativeKey, customer: &str) -> VariantKey {
        let mut hasher = Sha256::new();
        hasher.update(initiative.as_str().as_bytes());
        hasher.update([0u8]);
        hasher.update(customer.as_bytes());
        let digest = hasher.finalize();
        let (first, _) = digest.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
        let first = *first;
        // 53 random bits give a uniform draw in [0, 1).
        let u = (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
        let mut cumulative = 0.0;
        for v in &self.0 {
            cumulative += v.weight;
            if u < cumulative {
                return v.key.clone();
            }
        }
        self.0
            .last()
            .map(|v| v.key.clone())
            .unwrap_or_else(VariantKey::implicit)
    }
}

/// A validated request to create an initiative.
#[derive(Debug, Clone, PartialEq)]
pub struct InitiativeDraft {
    pub key: InitiativeKey,
    pub name: String,
    pub kind: Kind,
    pub hypothesis: String,
    pub owner_team: TeamKey,
    pub price: Cents,
    pub currency: Currency,
    pub core_segments: Vec<SegmentKey>,
    pub variants: Variants,
    pub criteria: Criteria,
    pub mode: Mode,
}

/// A validated change to a draft initiative; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InitiativePatch {
    pub name: Option<String>,
    pub kind: Option<Kind>,
    pub hypothesis: Option<String>,
    pub owner_team: Option<TeamKey>,
    pub offer: Option<(Cents, Currency)>,
    pub core_segments: Option<Vec<SegmentKey>>,
    pub variants: Option<Variants>,
    pub criteria: Option<Criteria>,
    pub mode: Option<Mode>,
}

/// Parses a name: trimmed, 1 to [`MAX_NAME`] characters.
pub fn parse_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_NAME {
        return Err(format!("must be at most {MAX_NAME} characters"));
    }
    Ok(s.to_owned())
}

/// Parses a free text (hypothesis, note): at most [`MAX_TEXT`] characters.
pub fn parse_text(s: &str, required: bool) -> Result<String, String> {
    let s = s.trim();
    if required && s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    Ok(s.to_owned())
}

/// Parses a list of core segments: unique, at most [`MAX_CORE_SEGMENTS`].
pub fn parse_core_segments(raw: Vec<SegmentKey>) -> Result<Vec<SegmentKey>, String> {
    if raw.len() > MAX_CORE_SEGMENTS {
        return Err(format!("at most {MAX_CORE_SEGMENTS} core segments"));
    }
    let mut sorted = raw.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != raw.len() {
        return Err("must not repeat a segment".into());
    }
    Ok(raw)
}

/// Why a lifecycle transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("initiative is {actual}; this needs it to be {expected}")]
    WrongStatus { expected: Status, actual: Status },
}

/// A customer's active pre-orders may total at most this many times the highest offer
/// price: the bound that makes the revenue interval valid (see
/// [`Initiative::max_active_cents_per_customer`]).
pub const MAX_UNITS_PER_CUSTOMER: i64 = 10;

/// An initiative as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Initiative {
    pub id: i64,
    pub key: InitiativeKey,
    pub name: String,
    pub kind: Kind,
    pub hypothesis: String,
    pub owner_team: TeamKey,
    pub price: Cents,
    pub currency: Currency,
    pub core_segments: Vec<SegmentKey>,
    pub variants: Variants,
    pub criteria: Criteria,
    pub mode: Mode,
    pub status: Status,
    pub fingerprint: Option<String>,
    pub decision: Option<Decision>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
}

impl Initiative {
    /// Fails unless the initiative is in `expected` status.
    pub fn require(&self, expected: Status) -> Result<(), LifecycleError> {
        if self.status == expected {
            Ok(())
        } else {
            Err(LifecycleError::WrongStatus {
                expected,
                actual: self.status,
            })
        }
    }

    /// Applies a patch; only drafts can change, so criteria cannot move after launch.
    pub fn apply_patch(
        &mut self,
        patch: InitiativePatch,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        self.require(Status::Draft)?;
        let InitiativePatch {
            name,
            kind,
            hypothesis,
            owner_team,
            offer,
            core_segments,
            variants,
            criteria,
            mode,
        } = patch;
        if let Some(v) = name {
            self.name = v;
        }
        if let Some(v) = kind {
            self.kind = v;
        }
        if let Some(v) = hypothesis {
            self.hypothesis = v;
        }
        if let Some(v) = owner_team {
            self.owner_team = v;
        }
        if let Some((price, currency)) = offer {
            self.price = price;
            self.currency = currency;
        }
        if let Some(v) = core_segments {
            self.core_segments = v;
        }
        if let Some(v) = variants {
            self.variants = v;
        }
        if let Some(v) = criteria {
            self.criteria = v;
        }
        if let Some(v) = mode {
            self.mode = v;
        }
        self.updated_at = now;
        Ok(())
    }

    /// Launches the pilot: locks the criteria and records their fingerprint.
    pub fn launch(&mut self, now: DateTime<Utc>) -> Result<(), LifecycleError> {
        self.require(Status::Draft)?;
        self.status = Status::Running;
        self.fingerprint = Some(self.pre_registration_fingerprint());
        self.launched_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// Concludes the pilot with a decision.
    pub fn conclude(
        &mut self,
        decision: Decision,
        note: String,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        self.require(Status::Running)?;
        self.status = Status::Concluded;
        self.decision = Some(decision);
        self.decision_note = Some(note);
        self.concluded_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// The canonical JSON of what is pre-registered: criteria, mode, offer, variants and
    /// core segments. Object keys are sorted (serde_json's default map is ordered) and
    /// core segments are sorted, so the same registration always gives the same bytes.
    /// The amount floors (`criteria.min_preorder_cents`) and `criteria.backfill_from`
    /// appear when set: an initiative registered before they existed keeps its bytes.
    pub fn pre_registration_json(&self) -> String {
        let mut core: Vec<&str> = self.core_segments.iter().map(|s| s.as_str()).collect();
        core.sort_unstable();
        let variants: Vec<serde_json::Value> = self
            .variants
            .as_slice()
            .iter()
            .map(|v| {
                serde_json::json!({
                    "key": v.key.as_str(),
                    "weight": v.weight,
                    "price_cents": v.price_cents.map(Cents::get),
                })
            })
            .collect();
        let c = &self.criteria;
        let mut criteria = serde_json::json!({
            "target_preorder_rate": c.target_preorder_rate.get(),
            "target_love_share": c.target_love_share.map(OpenRate::get),
            "confidence": c.confidence.get(),
            "min_exposures": c.min_exposures,
            "planned_exposures": c.planned_exposures,
        });
        if let Some(map) = criteria.as_object_mut() {
            if !c.min_preorder.is_default() {
                map.insert(
                    "min_preorder_cents".into(),
                    serde_json::json!({
                        "full": c.min_preorder.full.map(Cents::get),
                        "deposit": c.min_preorder.deposit.map(Cents::get),
                    }),
                );
            }
            if let Some(from) = c.backfill_from {
                map.insert(
                    "backfill_from".into(),
                    serde_json::Value::String(
                        from.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    ),
                );
            }
        }
        serde_json::json!({
            "initiative": self.key.as_str(),
            "core_segments": core,
            "criteria": criteria,
            "mode": self.mode.as_str(),
            "offer": {"price_cents": self.price.get(), "currency": self.currency.as_str()},
            "variants": variants,
        })
        .to_string()
    }

    /// SHA-256 (hex) of [`Self::pre_registration_json`].
    pub fn pre_registration_fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.pre_registration_json().as_bytes()))
    }

    /// The highest price offered: over the variants' own prices (a variant without one
    /// is offered the initiative's price).
    pub fn highest_price(&self) -> Cents {
        self.variants
            .keys()
            .iter()
            .map(|v| self.price_for(v))
            .max()
            .unwrap_or(self.price)
    }

    /// The most a customer's active pre-orders may total: [`MAX_UNITS_PER_CUSTOMER`] ×
    /// the highest offer price (several seats or units of one offer add up). `None` for a
    /// free offer (price 0), whose pre-orders are commitments, not revenue: only
    /// [`super::money::MAX_CENTS`] per amount applies. This is the bound B of the revenue
    /// interval (`stats::revenue_interval`); ingest refuses a pre-order beyond it.
    pub fn max_active_cents_per_customer(&self) -> Option<Cents> {
        let highest = self.highest_price().get();
        (highest > 0).then(|| Cents::from_trusted(highest.saturating_mul(MAX_UNITS_PER_CUSTOMER)))
    }

    /// The earliest `occurred_at` an event may carry: the pre-registered
    /// `backfill_from`, else the launch (`None` before launch: nothing is accepted then).
    pub fn accepts_events_from(&self) -> Option<DateTime<Utc>> {
        self.criteria.backfill_from.or(self.launched_at)
    }

    /// The price a customer in `variant` was offered.
    pub fn price_for(&self, variant: &VariantKey) -> Cents {
        self.variants
            .as_slice()
            .iter()
            .find(|v| &v.key == variant)
            .and_then(|v| v.price_cents)
            .unwrap_or(self.price)
    }
}

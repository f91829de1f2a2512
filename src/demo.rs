//! Demo data: a few realistic pilots with simulated customers, so a new user sees
//! real content at once. Customers are drawn with a seeded RNG: the same seed gives
//! the same demo.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::domain::decision::DecisionRequest;
use crate::domain::{
    Cents, Confidence, Criteria, Currency, CustomerId, Decision, Event, EventBody, EventId,
    InitiativeDraft, InitiativeKey, Kind, Mode, OpenRate, PreorderFloors, PreorderKind, SegmentKey,
    Sentiment, TeamKey, VariantKey, Variants,
};
use crate::store::ingest::{IngestBatch, Ingestor};
use crate::store::segments::{self, Segment};
use crate::store::{DbConn, StoreError, initiatives};

/// What the demo created.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub initiatives: usize,
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo data is inconsistent: {0}")]
    Invalid(String),
}

const SEGMENTS: &[(&str, &str, &str)] = &[
    (
        "smb",
        "Small businesses",
        "Companies with 1 to 50 employees",
    ),
    (
        "enterprise",
        "Enterprise",
        "Companies with more than 1,000 employees",
    ),
    ("agencies", "Agencies", "Design and marketing agencies"),
    ("freelancers", "Freelancers", "Self-employed professionals"),
    ("students", "Students", "Verified students"),
    ("nonprofits", "Non-profits", "Registered charities and NGOs"),
];

/// How one segment behaves in one pilot.
struct SegmentBehaviour {
    segment: &'static str,
    /// Share of exposed customers from this segment.
    mix: f64,
    /// Probability that an exposed customer pre-orders.
    preorder: f64,
}

struct PilotSpec {
    key: &'static str,
    name: &'static str,
    kind: Kind,
    hypothesis: &'static str,
    team: &'static str,
    price_cents: i64,
    core: &'static [&'static str],
    /// (key, weight, own price, multiplier on the pre-order probability)
    variants: &'static [(&'static str, f64, Option<i64>, f64)],
    target: f64,
    target_love: Option<f64>,
    customers: usize,
    behaviour: &'static [SegmentBehaviour],
    /// Probability of responding at all.
    respond: f64,
    /// Probability of "love" among responders who pre-ordered / did not.
    love_if_paid: f64,
    love_if_not: f64,
    /// Probability of "like" among responders who did not pre-order (the say/do gap).
    like_if_not: f64,
    launch: bool,
    conclude: Option<(Decision, &'static str)>,
}

const PILOTS: &[PilotSpec] = &[
    PilotSpec {
        key: "team-workspaces",
        name: "Team workspaces",
        kind: Kind::ValueEngineering,
        hypothesis: "Small businesses and agencies will pre-order shared team workspaces at 19 EUR a month.",
        team: "growth",
        price_cents: 1900,
        core: &["smb", "agencies"],
        variants: &[],
        target: 0.05,
        target_love: Some(0.25),
        customers: 8000,
        behaviour: &[
            SegmentBehaviour {
                segment: "smb",
                mix: 0.40,
                preorder: 0.095,
            },
            SegmentBehaviour {
                segment: "agencies",
                mix: 0.20,
                preorder: 0.085,
            },
            SegmentBehaviour {
                segment: "freelancers",
                mix: 0.25,
                preorder: 0.13,
            },
            SegmentBehaviour {
                segment: "students",
                mix: 0.15,
                preorder: 0.02,
            },
        ],
        respond: 0.35,
        love_if_paid: 0.7,
        love_if_not: 0.3,
        like_if_not: 0.45,
        launch: true,
        conclude: None,
    },
    PilotSpec {
        key: "priority-support",
        name: "Priority support",
        kind: Kind::ValueAnalysis,
        hypothesis: "Enterprise customers will pay for a 1-hour support response time; 49 EUR sells as well as 29 EUR.",
        team: "support",
        price_cents: 2900,
        core: &["enterprise"],
        variants: &[
            ("standard-29", 1.0, Some(2900), 1.0),
            ("premium-49", 1.0, Some(4900), 0.8),
        ],
        target: 0.06,
        target_love: None,
        customers: 1500,
        behaviour: &[
            SegmentBehaviour {
                segment: "enterprise",
                mix: 0.55,
                preorder: 0.075,
            },
            SegmentBehaviour {
                segment: "smb",
                mix: 0.45,
                preorder: 0.045,
            },
        ],
        respond: 0.30,
        love_if_paid: 0.5,
        love_if_not: 0.12,
        like_if_not: 0.40,
        launch: true,
        conclude: None,
    },
    PilotSpec {
        key: "ai-assistant",
        name: "AI writing assistant",
        kind: Kind::ValueEngineering,
        hypothesis: "Freelancers will pre-order an AI writing assistant add-on at 9 EUR a month.",
        team: "growth",
        price_cents: 900,
        core: &["freelancers"],
        variants: &[],
        target: 0.08,
        target_love: Some(0.3),
        customers: 2600,
        behaviour: &[
            SegmentBehaviour {
                segment: "freelancers",
                mix: 0.5,
                preorder: 0.035,
            },
            SegmentBehaviour {
                segment: "students",
                mix: 0.3,
                preorder: 0.02,
            },
            SegmentBehaviour {
                segment: "smb",
                mix: 0.2,
                preorder: 0.03,
            },
        ],
        respond: 0.5,
        love_if_paid: 0.7,
        love_if_not: 0.35,
        like_if_not: 0.45,
        launch: true,
        conclude: None,
    },
    PilotSpec {
        key: "nonprofit-plan",
        name: "Non-profit plan",
        kind: Kind::ValueAnalysis,
        hypothesis: "Non-profits will pre-order a discounted annual plan at 99 EUR a year.",
        team: "growth",
        price_cents: 9900,
        core: &["nonprofits"],
        variants: &[],
        target: 0.04,
        target_love: None,
        customers: 900,
        behaviour: &[
            SegmentBehaviour {
                segment: "nonprofits",
                mix: 0.8,
                preorder: 0.07,
            },
            SegmentBehaviour {
                segment: "smb",
                mix: 0.2,
                preorder: 0.02,
            },
        ],
        respond: 0.3,
        love_if_paid: 0.6,
        love_if_not: 0.2,
        like_if_not: 0.4,
        launch: true,
        conclude: Some((
            Decision::Iterate,
            "Demand is real among non-profits but the annual price is a barrier; test a monthly plan next.",
        )),
    },
    PilotSpec {
        key: "carbon-report",
        name: "Carbon footprint report",
        kind: Kind::ValueEngineering,
        hypothesis: "Enterprise sustainability teams will pre-order a quarterly carbon report at 190 EUR.",
        team: "platform",
        price_cents: 19000,
        core: &["enterprise"],
        variants: &[],
        target: 0.03,
        target_love: None,
        customers: 0,
        behaviour: &[],
        respond: 0.0,
        love_if_paid: 0.0,
        love_if_not: 0.0,
        like_if_not: 0.0,
        launch: false,
        conclude: None,
    },
];

fn invalid(what: &str, e: String) -> DemoError {
    DemoError::Invalid(format!("{what}: {e}"))
}

/// Who the audit log says made the demo's changes.
fn demo_actor() -> crate::domain::audit::Actor {
    crate::domain::audit::Actor::system("demo")
}

/// Fills the database with the demo segments and pilots (skipping segments and
/// initiatives that exist already).
pub fn load(conn: &mut DbConn, seed: u64, now: DateTime<Utc>) -> Result<DemoSummary, DemoError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let existing: Vec<String> = segments::list(conn)?
        .into_iter()
        .map(|s| s.key.to_string())
        .collect();
    for (key, name, description) in SEGMENTS {
        if existing.iter().any(|k| k == key) {
            continue;
        }
        segments::create(
            conn,
            &demo_actor(),
            &Segment {
                key: SegmentKey::parse(*key).map_err(|e| invalid("segment", e))?,
                name: (*name).into(),
                description: (*description).into(),
                created_at: now - Duration::days(60),
            },
        )?;
    }
    let mut summary = DemoSummary::default();
    for spec in PILOTS {
        if initiatives::find(conn, spec.key)?.is_some() {
            continue;
        }
        summary.events += load_pilot(conn, spec, &mut rng, now)?;
        summary.initiatives += 1;
    }
    Ok(summary)
}

fn load_pilot(
    conn: &mut DbConn,
    spec: &PilotSpec,
    rng: &mut StdRng,
    now: DateTime<Utc>,
) -> Result<usize, DemoError> {
    let key = InitiativeKey::parse(spec.key).map_err(|e| invalid("key", e))?;
    let currency = Currency::parse("EUR").map_err(|e| invalid("currency", e))?;
    let variants = Variants::new(
        spec.variants
            .iter()
            .map(|(k, w, p, _)| {
                Ok((
                    VariantKey::parse(*k).map_err(|e| invalid("variant", e))?,
                    *w,
                    p.map(Cents::price)
                        .transpose()
                        .map_err(|e| invalid("price", e))?,
                ))
            })
            .collect::<Result<Vec<_>, DemoError>>()?,
    )
    .map_err(|e| invalid("variants", e))?;
    let draft = InitiativeDraft {
        key: key.clone(),
        name: spec.name.into(),
        kind: spec.kind,
        hypothesis: spec.hypothesis.into(),
        owner_team: TeamKey::parse(spec.team).map_err(|e| invalid("team", e))?,
        price: Cents::price(spec.price_cents).map_err(|e| invalid("price", e))?,
        currency,
        core_segments: spec
            .core
            .iter()
            .map(|s| SegmentKey::parse(*s).map_err(|e| invalid("segment", e)))
            .collect::<Result<_, _>>()?,
        variants: variants.clone(),
        criteria: Criteria {
            target_preorder_rate: OpenRate::new(spec.target).map_err(|e| invalid("target", e))?,
            target_love_share: spec
                .target_love
                .map(OpenRate::new)
                .transpose()
                .map_err(|e| invalid("target_love_share", e))?,
            confidence: Confidence::DEFAULT,
            min_exposures: Criteria::DEFAULT_MIN_EXPOSURES,
            planned_exposures: Criteria::DEFAULT_PLANNED_EXPOSURES,
            // Every demo pilot takes a deposit of a quarter of its price.
            min_preorder: PreorderFloors {
                full: None,
                deposit: (spec.price_cents >= 4)
                    .then(|| Cents::amount(spec.price_cents / 4))
                    .transpose()
                    .map_err(|e| invalid("deposit", e))?,
            },
            backfill_from: None,
        },
        mode: Mode::Sequential,
    };
    let days = 28;
    let start = now - Duration::days(days);
    initiatives::create(conn, &demo_actor(), draft, start - Duration::days(3))?;
    if !spec.launch {
        return Ok(0);
    }
    let initiative = initiatives::launch(conn, &demo_actor(), &key, start)?;
    // Deposits and payments are drawn from a stream of their own, so the demo's other
    // numbers stay what they were before deposits existed.
    let mut follow = StdRng::seed_from_u64(spec.key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }));
    let deposit = initiative.criteria.min_preorder.deposit;

    let mut events = Vec::new();
    for n in 0..spec.customers {
        let customer = CustomerId::parse(format!("{}-c{n:05}", spec.key))
            .map_err(|e| invalid("customer", e))?;
        // Draw a segment by its mix.
        let mut u: f64 = rng.random();
        let behaviour = spec
            .behaviour
            .iter()
            .find(|b| {
                u -= b.mix;
                u < 0.0
            })
            .or(spec.behaviour.last())
            .ok_or_else(|| DemoError::Invalid("pilot without segments".into()))?;
        let variant = (!variants.is_empty()).then(|| variants.assign(&key, customer.as_str()));
        let lift = spec
            .variants
            .iter()
            .find(|(k, ..)| variant.as_ref().is_some_and(|v| v.as_str() == *k))
            .map_or(1.0, |(.., lift)| *lift);
        let price = variant
            .as_ref()
            .map_or(initiative.price, |v| initiative.price_for(v));
        // Exposures arrive over the pilot's weeks, more of them later on.
        let offset = Duration::seconds(crate::stats::convert::saturating_i64(
            rng.random::<f64>().sqrt() * (days as f64 - 0.1) * 86_400.0,
        ));
        let mut t = start + offset;
        let segment = SegmentKey::parse(behaviour.segment).map_err(|e| invalid("segment", e))?;
        let mut next_id = 0;
        let mut push = |t: DateTime<Utc>, body: EventBody| -> Result<(), DemoError> {
            next_id += 1;
            events.push(Event {
                event_id: EventId::parse(format!("{customer}-e{next_id}"))
                    .map_err(|e| invalid("event id", e))?,
                customer: customer.clone(),
                occurred_at: t,
                body,
            });
            Ok(())
        };
        push(
            t,
            EventBody::Exposure {
                segment,
                variant: variant.clone(),
            },
        )?;
        let paid = rng.random_bool((behaviour.preorder * lift).clamp(0.0, 1.0));
        let mut said = None;
        if rng.random_bool(spec.respond) {
            let love = if paid {
                spec.love_if_paid
            } else {
                spec.love_if_not
            };
            let u: f64 = rng.random();
            let sentiment = if u < love {
                Sentiment::Love
            } else if u < love + spec.like_if_not.min(1.0 - love) {
                Sentiment::Like
            } else if u < love + (1.0 - love) * 0.8 {
                Sentiment::Neutral
            } else {
                Sentiment::Dislike
            };
            t += Duration::minutes(rng.random_range(1..120));
            said = Some(sentiment);
            push(t, EventBody::Response { sentiment })?;
        }
        if paid {
            t += Duration::minutes(rng.random_range(5..2_000));
            let seats = if rng.random_bool(0.15) { 2 } else { 1 };
            let total = price.get() * seats;
            // Some put a deposit down, the others pre-order at the full price.
            let down = deposit.filter(|_| follow.random_bool(0.4));
            let (amount, kind) = match down {
                Some(d) => (d, PreorderKind::Deposit),
                None => (
                    Cents::amount(total).map_err(|e| invalid("amount", e))?,
                    PreorderKind::Full,
                ),
            };
            push(
                t,
                EventBody::Preorder {
                    amount,
                    currency,
                    kind,
                },
            )?;
            let paid_at = t + Duration::hours(follow.random_range(24..24 * 14));
            if rng.random_bool(0.08) {
                t += Duration::hours(rng.random_range(1..72));
                push(t, EventBody::Cancellation)?;
            } else {
                // Once the offer ships, most pay in full: those who said they love it
                // most often (the say -> deposit -> paid chain).
                let pays = match said {
                    Some(Sentiment::Love) => 0.85,
                    Some(Sentiment::Like) => 0.65,
                    Some(Sentiment::Neutral) => 0.45,
                    Some(Sentiment::Dislike) => 0.25,
                    None => 0.55,
                };
                if follow.random_bool(pays) {
                    // The rest of the price after a deposit; the whole charge of a
                    // pre-order whose card was authorised, not charged.
                    let rest = total - down.map_or(0, Cents::get);
                    let amount = Cents::amount(if rest > 0 { rest } else { total })
                        .map_err(|e| invalid("payment", e))?;
                    push(paid_at, EventBody::Payment { amount, currency })?;
                }
            }
        }
    }
    // Arrival in time order, as a live pilot would send them; nothing in the future.
    events.retain(|e| e.occurred_at <= now);
    events.sort_by_key(|e| e.occurred_at);
    let total = events.len();
    for chunk in events.chunks(5_000) {
        let batch = IngestBatch::new(
            key.clone(),
            chunk.to_vec(),
            chunk.last().map_or(now, |e| e.occurred_at),
        );
        for result in Ingestor::default().apply(conn, std::slice::from_ref(&batch))? {
            result.map_err(|e| DemoError::Invalid(format!("{}: {e}", spec.key)))?;
        }
    }
    if let Some((decision, note)) = spec.conclude {
        let at = now - Duration::hours(6);
        let request = DecisionRequest {
            decision,
            note: note.into(),
            override_reason: None,
            decided_by: "demo".into(),
            decided_by_who: None,
        };
        initiatives::conclude(conn, &demo_actor(), &key, request, at, |i, cells, daily| {
            crate::api::decisions::snapshot(&crate::analysis::build(i, cells, daily, at))
        })?;
    }
    Ok(total)
}

//! Seeded random event streams that are valid in order.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// Generates a valid stream: exposures first for each customer, then pre-orders,
/// cancellations, responses (with out-of-order `occurred_at`), repeat exposures and
/// re-sent events (duplicates).
pub struct StreamGen {
    rng: StdRng,
    prefix: String,
    segments: Vec<&'static str>,
    variants: Vec<&'static str>,
    exposed: Vec<(String, &'static str, Option<&'static str>)>,
    active: std::collections::HashSet<String>,
    sent: Vec<Value>,
    next_event: u64,
}

impl StreamGen {
    pub fn new(
        seed: u64,
        prefix: &str,
        segments: &[&'static str],
        variants: &[&'static str],
    ) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            prefix: prefix.to_owned(),
            segments: segments.to_vec(),
            variants: variants.to_vec(),
            exposed: Vec::new(),
            active: Default::default(),
            sent: Vec::new(),
            next_event: 0,
        }
    }

    fn id(&mut self) -> String {
        self.next_event += 1;
        format!("{}-e{}", self.prefix, self.next_event)
    }

    fn when(&mut self) -> String {
        let minutes = self.rng.random_range(0..20_000);
        (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339()
    }

    pub fn next(&mut self) -> Value {
        let roll: f64 = self.rng.random();
        let event = if self.exposed.is_empty() || roll < 0.35 {
            let n = self.exposed.len();
            let customer = format!("{}-c{n}", self.prefix);
            let segment = self.segments[self.rng.random_range(0..self.segments.len())];
            let variant = (!self.variants.is_empty())
                .then(|| self.variants[self.rng.random_range(0..self.variants.len())]);
            self.exposed.push((customer.clone(), segment, variant));
            let mut e = json!({"event_id": self.id(), "type": "exposure", "customer_id": customer, "segment": segment, "occurred_at": self.when()});
            if let Some(v) = variant {
                e["variant"] = json!(v);
            }
            e
        } else if roll < 0.40 && !self.sent.is_empty() {
            // A re-sent event: must be ignored.
            let i = self.rng.random_range(0..self.sent.len());
            return self.sent[i].clone();
        } else {
            let i = self.rng.random_range(0..self.exposed.len());
            let (customer, segment, variant) = self.exposed[i].clone();
            if roll < 0.45 {
                let mut e = json!({"event_id": self.id(), "type": "exposure", "customer_id": customer, "segment": segment});
                if let Some(v) = variant {
                    e["variant"] = json!(v);
                }
                e
            } else if roll < 0.65 {
                self.active.insert(customer.clone());
                // At least every test offer's price (the floor of a full pre-order).
                let amount = [2900, 3900, 4900][self.rng.random_range(0..3)];
                json!({"event_id": self.id(), "type": "preorder", "customer_id": customer, "amount_cents": amount, "currency": "EUR"})
            } else if roll < 0.72 && self.active.remove(&customer) {
                json!({"event_id": self.id(), "type": "cancellation", "customer_id": customer})
            } else {
                let sentiment = ["love", "like", "neutral", "dislike"][self.rng.random_range(0..4)];
                json!({"event_id": self.id(), "type": "response", "customer_id": customer, "sentiment": sentiment, "occurred_at": self.when()})
            }
        };
        self.sent.push(event.clone());
        event
    }

    /// The next `n` events.
    pub fn batch(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|_| self.next()).collect()
    }

    pub fn batch_size(&mut self, max: usize) -> usize {
        self.rng.random_range(1..=max)
    }
}

//! Stripe events read into offerlab events.
//!
//! | Stripe event | offerlab event |
//! |---|---|
//! | `checkout.session.completed` with `payment_status = paid` | pre-order of `amount_total` in `currency` |
//! | `checkout.session.async_payment_succeeded` | the same |
//! | `payment_intent.succeeded` | pre-order of `amount_received` (custom flows) |
//! | `charge.refunded` | refund of the newly refunded amount (`amount_refunded` minus `previous_attributes.amount_refunded`) |
//!
//! A refund lowers the customer's committed amount; one that leaves nothing active (a
//! full refund of the customer's only payment) withdraws the pre-order, which counts as
//! a cancellation. A full refund is not sent as a `cancellation` event because that
//! would withdraw *every* pre-order of a customer who paid more than once.
//! | anything else | ignored (200) |
//!
//! A payment is a pre-order of kind `full` unless its metadata says
//! `offerlab_kind = deposit` (or `full`). A payment whose metadata says
//! `offerlab_event = payment` is a `payment` event instead: the customer paid in full
//! after the offer shipped (it needs their earlier money down). A payment below the
//! initiative's floor, or a `payment` without money down, is refused by the ingest path
//! and kept in the inbox with the reason.
//!
//! Initiative, customer and segment come from the object's `metadata`
//! (`offerlab_initiative`, `offerlab_customer`, `offerlab_segment`), or from
//! `client_reference_id` = `<initiative>:<customer>[:<segment>]` (what a Payment Link URL
//! can carry).
//!
//! Event ids: a payment is `stripe:<PaymentIntent id>` (so `checkout.session.completed`
//! and the `payment_intent.succeeded` of the same payment count once; `stripe:<event
//! id>` when the object names no PaymentIntent); a refund is
//! `stripe:<event id>`. Stripe's retries carry the same ids and count once.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{Envelope, Reading, Request, body_id};
use crate::domain::{Cents, Currency, EventBody, PreorderKind};

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: Value,
    #[serde(default)]
    previous_attributes: Option<Value>,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Initiative, customer and segment named by a Stripe object.
fn who(object: &Value) -> Result<(String, String, Option<String>), String> {
    let meta = object.get("metadata").cloned().unwrap_or(Value::Null);
    let from_meta = |k| text(&meta, k).map(str::to_owned);
    let (mut initiative, mut customer, mut segment) = (
        from_meta("offerlab_initiative"),
        from_meta("offerlab_customer"),
        from_meta("offerlab_segment"),
    );
    if let Some(reference) = text(object, "client_reference_id") {
        let mut parts = reference.splitn(3, ':');
        let (i, c, s) = (parts.next(), parts.next(), parts.next());
        initiative = initiative.or(i.filter(|s| !s.is_empty()).map(str::to_owned));
        customer = customer.or(c.filter(|s| !s.is_empty()).map(str::to_owned));
        segment = segment.or(s.filter(|s| !s.is_empty()).map(str::to_owned));
    }
    match (initiative, customer) {
        (Some(i), Some(c)) => Ok((i, c, segment)),
        (None, _) => Err("names no initiative: set metadata.offerlab_initiative or client_reference_id = <initiative>:<customer>".into()),
        (Some(_), None) => Err("names no customer: set metadata.offerlab_customer or client_reference_id = <initiative>:<customer>".into()),
    }
}

fn money(object: &Value, amount_key: &str) -> Result<(Cents, Currency), String> {
    let amount = object
        .get(amount_key)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("has no {amount_key}"))?;
    let amount = Cents::amount(amount).map_err(|e| format!("{amount_key} {e}"))?;
    let currency = text(object, "currency").ok_or("has no currency")?;
    let currency = Currency::parse(&currency.to_ascii_uppercase())
        .map_err(|e| format!("currency '{currency}' {e}"))?;
    Ok((amount, currency))
}

/// Reads a verified Stripe event.
pub fn read(payload: &[u8]) -> (Envelope, Reading) {
    let event: StripeEvent = match serde_json::from_slice(payload) {
        Ok(e) => e,
        Err(e) => {
            return (
                Envelope {
                    external_id: body_id(payload),
                    kind: "unreadable".into(),
                },
                Reading::Unplaceable {
                    reason: format!("not a Stripe event: {e}"),
                    initiative: None,
                },
            );
        }
    };
    let envelope = Envelope {
        external_id: event.id.clone(),
        kind: event.kind.clone(),
    };
    let reading = interpret(&event).unwrap_or_else(|(reason, initiative)| Reading::Unplaceable {
        reason: format!("{} {}: {reason}", event.kind, event.id),
        initiative,
    });
    (envelope, reading)
}

type Refusal = (String, Option<String>);

fn interpret(event: &StripeEvent) -> Result<Reading, Refusal> {
    let object = &event.data.object;
    let plain = |e: String| (e, None);
    let payment = match event.kind.as_str() {
        "checkout.session.completed" => {
            if text(object, "payment_status") != Some("paid") {
                // Paid later: checkout.session.async_payment_succeeded follows.
                return Ok(Reading::Ignored);
            }
            Some("amount_total")
        }
        "checkout.session.async_payment_succeeded" => Some("amount_total"),
        "payment_intent.succeeded" => Some("amount_received"),
        "charge.refunded" => None,
        _ => return Ok(Reading::Ignored),
    };
    let occurred_at: DateTime<Utc> = DateTime::from_timestamp(event.created, 0)
        .ok_or_else(|| plain("created is not a valid time".into()))?;
    let (initiative, customer, segment) = who(object).map_err(plain)?;
    let named = |e: String| (e, Some(initiative.clone()));
    let (event_id, body, compare_time) = match payment {
        Some(amount_key) => {
            let (amount, currency) = money(object, amount_key).map_err(named)?;
            let payment_intent = if event.kind == "payment_intent.succeeded" {
                text(object, "id")
            } else {
                text(object, "payment_intent")
            };
            let id = format!("stripe:{}", payment_intent.unwrap_or(&event.id));
            let meta = object.get("metadata").cloned().unwrap_or(Value::Null);
            let body = match text(&meta, "offerlab_event") {
                None | Some("preorder") => {
                    let kind = match text(&meta, "offerlab_kind") {
                        None => PreorderKind::Full,
                        Some(k) => PreorderKind::parse(k)
                            .map_err(|e| named(format!("metadata.offerlab_kind '{k}' {e}")))?,
                    };
                    EventBody::Preorder {
                        amount,
                        currency,
                        kind,
                    }
                }
                Some("payment") => EventBody::Payment { amount, currency },
                Some(other) => {
                    return Err(named(format!(
                        "metadata.offerlab_event '{other}' must be one of: preorder, payment"
                    )));
                }
            };
            // Two Stripe events of one payment are one event, whenever each was sent.
            (id, body, false)
        }
        None => {
            let (_, currency) = money(object, "amount").map_err(named)?;
            let refunded = object
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .ok_or_else(|| named("has no amount_refunded".into()))?;
            let before = event
                .data
                .previous_attributes
                .as_ref()
                .and_then(|p| p.get("amount_refunded"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let amount = Cents::amount(refunded - before)
                .map_err(|e| named(format!("newly refunded amount {e}")))?;
            let body = EventBody::Refund { amount, currency };
            (format!("stripe:{}", event.id), body, true)
        }
    };
    Ok(Reading::Event(Request {
        initiative,
        customer,
        segment,
        occurred_at,
        event_id,
        body,
        compare_time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_json(v: Value) -> Reading {
        read(v.to_string().as_bytes()).1
    }

    #[test]
    fn checkout_paid_is_a_preorder_from_the_reference() {
        let r = read_json(json!({
            "id": "evt_1", "type": "checkout.session.completed", "created": 1_700_000_000,
            "data": {"object": {"amount_total": 1900, "currency": "eur", "payment_status": "paid",
                "payment_intent": "pi_1", "client_reference_id": "pilot:c1:smb", "metadata": {}}}
        }));
        let Reading::Event(req) = r else {
            panic!("{r:?}")
        };
        assert_eq!(req.initiative, "pilot");
        assert_eq!(req.customer, "c1");
        assert_eq!(req.segment.as_deref(), Some("smb"));
        assert_eq!(req.event_id, "stripe:pi_1");
        assert!(matches!(req.body, EventBody::Preorder { amount, .. } if amount.get() == 1900));
    }

    #[test]
    fn metadata_names_a_deposit_or_a_payment() {
        let with = |meta: Value| {
            read_json(json!({
                "id": "evt_k", "type": "payment_intent.succeeded", "created": 1_700_000_000,
                "data": {"object": {"id": "pi_k", "amount_received": 500, "currency": "eur",
                    "metadata": meta}}
            }))
        };
        let base = json!({"offerlab_initiative": "p", "offerlab_customer": "c"});
        let mut deposit = base.clone();
        deposit["offerlab_kind"] = "deposit".into();
        assert!(matches!(
            with(deposit),
            Reading::Event(Request {
                body: EventBody::Preorder {
                    kind: PreorderKind::Deposit,
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            with(base.clone()),
            Reading::Event(Request {
                body: EventBody::Preorder {
                    kind: PreorderKind::Full,
                    ..
                },
                ..
            })
        ));
        let mut payment = base.clone();
        payment["offerlab_event"] = "payment".into();
        assert!(matches!(
            with(payment),
            Reading::Event(Request { body: EventBody::Payment { amount, .. }, .. }) if amount.get() == 500
        ));
        let mut odd = base;
        odd["offerlab_kind"] = "half".into();
        assert!(matches!(
            with(odd),
            Reading::Unplaceable { reason, .. } if reason.contains("offerlab_kind")
        ));
    }

    #[test]
    fn refunds_and_others() {
        let refund = |refunded: i64, full: bool| {
            read_json(json!({
                "id": "evt_r", "type": "charge.refunded", "created": 1_700_000_000,
                "data": {"object": {"amount": 1900, "amount_refunded": refunded, "refunded": full,
                    "currency": "eur", "metadata": {"offerlab_initiative": "p", "offerlab_customer": "c"}},
                    "previous_attributes": {"amount_refunded": 100}}
            }))
        };
        assert!(
            matches!(refund(1900, true), Reading::Event(Request { body: EventBody::Refund { amount, .. }, .. }) if amount.get() == 1800)
        );
        assert!(
            matches!(refund(600, false), Reading::Event(Request { body: EventBody::Refund { amount, .. }, .. }) if amount.get() == 500)
        );
        assert_eq!(
            read_json(
                json!({"id": "evt_x", "type": "customer.created", "created": 1, "data": {"object": {}}})
            ),
            Reading::Ignored
        );
        assert!(matches!(
            read_json(
                json!({"id": "evt_y", "type": "payment_intent.succeeded", "created": 1,
                "data": {"object": {"id": "pi_2", "amount_received": 5, "currency": "eur", "metadata": {}}}})
            ),
            Reading::Unplaceable { .. }
        ));
    }
}

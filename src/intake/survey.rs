//! Survey answers read into responses: Typeform, and the generic signed form hook.
//!
//! Typeform: the initiative is the one whose survey mapping names the answer's
//! `form_response.form_id`; the sentiment is the choice label answered to the question
//! whose `ref` is the mapping's `sentiment_ref`, translated by the mapping's `choices`;
//! the customer is the hidden field `customer_field` (and, for a customer not exposed
//! yet, the segment is the hidden field `segment_field`). Event id:
//! `typeform:<form_response.token>`. Only `form_response` events are read.
//!
//! The generic form hook takes one JSON object:
//! `{"id", "initiative", "customer", "sentiment", "segment"?, "occurred_at"?}` where
//! `sentiment` is `love`/`like`/`neutral`/`dislike`, or a label of the initiative's
//! mapping `choices`. Event id: `form:<id>`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{Envelope, Reading, Request, body_id};
use crate::domain::{EventBody, InitiativeKey, Sentiment};
use crate::store::{DbConn, StoreError, surveys};

#[derive(Deserialize)]
struct TypeformEvent {
    event_id: String,
    event_type: String,
    form_response: Option<FormResponse>,
}

#[derive(Deserialize)]
struct FormResponse {
    form_id: String,
    token: String,
    submitted_at: String,
    #[serde(default)]
    hidden: BTreeMap<String, Value>,
    #[serde(default)]
    answers: Vec<Value>,
}

fn unreadable(payload: &[u8], what: &str, e: impl std::fmt::Display) -> (Envelope, Reading) {
    (
        Envelope {
            external_id: body_id(payload),
            kind: "unreadable".into(),
        },
        Reading::Unplaceable {
            reason: format!("not {what}: {e}"),
            initiative: None,
        },
    )
}

fn time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("'{s}' is not an RFC 3339 time"))
}

/// Reads a verified Typeform webhook.
pub fn read_typeform(conn: &mut DbConn, payload: &[u8]) -> Result<(Envelope, Reading), StoreError> {
    let event: TypeformEvent = match serde_json::from_slice(payload) {
        Ok(e) => e,
        Err(e) => return Ok(unreadable(payload, "a Typeform webhook", e)),
    };
    let envelope = Envelope {
        external_id: event.event_id.clone(),
        kind: event.event_type.clone(),
    };
    let Some(response) = event
        .form_response
        .filter(|_| event.event_type == "form_response")
    else {
        return Ok((envelope, Reading::Ignored));
    };
    let refuse = |reason: String, initiative: Option<&InitiativeKey>| Reading::Unplaceable {
        reason,
        initiative: initiative.map(ToString::to_string),
    };
    let Some((key, mapping)) = surveys::for_form(conn, &response.form_id)? else {
        let reason = format!(
            "no initiative maps Typeform form '{}': set it with PUT /api/v1/initiatives/{{key}}/survey-mapping",
            response.form_id
        );
        return Ok((envelope, refuse(reason, None)));
    };
    let hidden = |name: &str| match response.hidden.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let Some(customer) = hidden(&mapping.customer_field) else {
        let reason = format!(
            "the response has no hidden field '{}' with the customer id",
            mapping.customer_field
        );
        return Ok((envelope, refuse(reason, Some(&key))));
    };
    let answer = response.answers.iter().find(|a| {
        a.get("field")
            .and_then(|f| f.get("ref"))
            .and_then(Value::as_str)
            == Some(mapping.sentiment_ref.as_str())
    });
    let label = answer
        .and_then(|a| a.get("choice"))
        .and_then(|c| c.get("label"))
        .and_then(Value::as_str);
    let Some(label) = label else {
        let reason = format!(
            "the response has no choice answered to the question with ref '{}'",
            mapping.sentiment_ref
        );
        return Ok((envelope, refuse(reason, Some(&key))));
    };
    let Some(sentiment) = mapping.sentiment(label) else {
        let reason = format!(
            "choice '{label}' is not in the mapping's choices ({})",
            mapping
                .choices
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok((envelope, refuse(reason, Some(&key))));
    };
    let occurred_at = match time(&response.submitted_at) {
        Ok(t) => t,
        Err(e) => return Ok((envelope, refuse(format!("submitted_at {e}"), Some(&key)))),
    };
    let request = Request {
        initiative: key.to_string(),
        customer,
        segment: mapping.segment_field.as_deref().and_then(hidden),
        occurred_at,
        event_id: format!("typeform:{}", response.token),
        body: EventBody::Response { sentiment },
        compare_time: true,
    };
    Ok((envelope, Reading::Event(request)))
}

/// The generic form hook's body.
#[derive(Deserialize)]
struct FormAnswer {
    id: String,
    initiative: String,
    customer: String,
    sentiment: String,
    segment: Option<String>,
    occurred_at: Option<String>,
}

/// Reads a verified generic form payload.
pub fn read_form(conn: &mut DbConn, payload: &[u8]) -> Result<(Envelope, Reading), StoreError> {
    let answer: FormAnswer = match serde_json::from_slice(payload) {
        Ok(a) => a,
        Err(e) => return Ok(unreadable(payload, "a form answer", e)),
    };
    let envelope = Envelope {
        external_id: answer.id.clone(),
        kind: "form".into(),
    };
    let refuse = |reason: String| Reading::Unplaceable {
        reason,
        initiative: Some(answer.initiative.clone()),
    };
    let sentiment = match Sentiment::parse(&answer.sentiment) {
        Ok(s) => s,
        Err(_) => {
            let mapped = match InitiativeKey::parse(answer.initiative.as_str()) {
                Ok(key) => match surveys::get(conn, &key) {
                    Ok(mapping) => mapping.and_then(|m| m.sentiment(&answer.sentiment)),
                    Err(StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                },
                Err(_) => None,
            };
            match mapped {
                Some(s) => s,
                None => {
                    let reason = format!(
                        "sentiment '{}' is neither love, like, neutral nor dislike, nor a choice of the initiative's survey mapping",
                        answer.sentiment
                    );
                    return Ok((envelope, refuse(reason)));
                }
            }
        }
    };
    let (occurred_at, compare_time) = match answer.occurred_at.as_deref().map(time) {
        Some(Ok(t)) => (t, true),
        Some(Err(e)) => return Ok((envelope, refuse(format!("occurred_at {e}")))),
        None => (Utc::now(), false),
    };
    let request = Request {
        initiative: answer.initiative.clone(),
        customer: answer.customer.clone(),
        segment: answer.segment.clone(),
        occurred_at,
        event_id: format!("form:{}", answer.id),
        body: EventBody::Response { sentiment },
        compare_time,
    };
    Ok((envelope, Reading::Event(request)))
}

//! The Slack format: an incoming-webhook message (`text`, and `blocks` for a richer
//! layout) made from the standard payload.

use serde_json::{Value, json};

/// One line a person reads in a channel.
pub fn text(event_type: &str, data: &Value) -> String {
    let name = data
        .pointer("/initiative/name")
        .and_then(Value::as_str)
        .or_else(|| data.pointer("/initiative/key").and_then(Value::as_str))
        .unwrap_or("an initiative");
    let s = |v: &Value| v.as_str().unwrap_or("?").replace('_', " ");
    match event_type {
        "verdict.changed" => format!(
            "*{name}*: verdict {} → *{}*. {}",
            s(&data["old_status"]),
            s(&data["new_status"]),
            data["sentence"].as_str().unwrap_or("")
        ),
        "srm.detected" => format!(
            "*{name}*: the split of exposures across variants is not what was planned (p = {}). Check the assignment before reading the results.",
            data["p_value"]
                .as_f64()
                .map_or_else(|| "?".into(), |p| format!("{p:.2e}"))
        ),
        "plan.reached" => format!(
            "*{name}* reached its planned {} exposures; the verdict is *{}*.",
            data["planned_exposures"],
            s(&data["status"])
        ),
        "decision.recorded" => format!(
            "*{name}*: decision *{}* recorded by {}{}. {}",
            s(&data["decision"]),
            data["decided_by"].as_str().unwrap_or("someone"),
            if data["against_evidence"].as_bool() == Some(true) {
                " (against the evidence)"
            } else {
                ""
            },
            data["note"].as_str().unwrap_or("")
        ),
        "initiative.launched" => format!("*{name}* was launched: its criteria are locked."),
        "initiative.concluded" => {
            format!("*{name}* was concluded: *{}*.", s(&data["decision"]))
        }
        "inbox.item" => format!(
            "A {} delivery could not be placed and waits in the inbox (entry {}): {}",
            data["provider"].as_str().unwrap_or("provider"),
            data["inbox_id"],
            data["reason"].as_str().unwrap_or("")
        ),
        other => format!("*{name}*: {other}"),
    }
}

/// The Slack body for a standard payload (`{type, timestamp, data}`).
pub fn render(payload: &str) -> String {
    let v: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let event_type = v.get("type").and_then(Value::as_str).unwrap_or("event");
    let data = v.get("data").unwrap_or(&Value::Null);
    let line = text(event_type, data);
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": line},
    })];
    let mut context = vec![json!({"type": "mrkdwn", "text": format!("`{event_type}`")})];
    if let Some(url) = data["report_url"].as_str() {
        context.push(json!({"type": "mrkdwn", "text": format!("<{url}|Open the report>")}));
    }
    blocks.push(json!({"type": "context", "elements": context}));
    json!({"text": line, "blocks": blocks}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_change_reads_as_a_sentence_with_a_link() {
        let body = render(
            &json!({
                "type": "verdict.changed",
                "timestamp": "2026-01-01T00:00:00Z",
                "data": {
                    "initiative": {"key": "k", "name": "Pro plan"},
                    "old_status": "collecting",
                    "new_status": "validated",
                    "sentence": "Customers want it.",
                    "report_url": "https://x.example/initiatives/k"
                }
            })
            .to_string(),
        );
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(
            v["text"],
            "*Pro plan*: verdict collecting → *validated*. Customers want it."
        );
        assert!(body.contains("Open the report"));
    }
}

//! Outbound webhooks: subscriptions, event types, formats, the signing secret and the
//! notification an event becomes. Pure: no I/O (the address check that needs DNS is in
//! `notify::guard`).

use std::fmt;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{FieldErrors, InitiativeKey, TeamKey};

/// What a subscriber can be told about.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum EventType {
    /// The verdict status of a running pilot changed on ingest.
    #[serde(rename = "verdict.changed")]
    VerdictChanged,
    /// The split of exposures across variants is not what was planned (sample ratio
    /// mismatch), detected on ingest.
    #[serde(rename = "srm.detected")]
    SrmDetected,
    /// The pilot reached its planned exposures.
    #[serde(rename = "plan.reached")]
    PlanReached,
    /// A decision was appended to the decision log.
    #[serde(rename = "decision.recorded")]
    DecisionRecorded,
    /// A draft was launched.
    #[serde(rename = "initiative.launched")]
    InitiativeLaunched,
    /// A pilot was concluded.
    #[serde(rename = "initiative.concluded")]
    InitiativeConcluded,
    /// A provider's signed delivery could not be placed and was kept in the inbox.
    #[serde(rename = "inbox.item")]
    InboxItem,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::VerdictChanged,
        EventType::SrmDetected,
        EventType::PlanReached,
        EventType::DecisionRecorded,
        EventType::InitiativeLaunched,
        EventType::InitiativeConcluded,
        EventType::InboxItem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::VerdictChanged => "verdict.changed",
            EventType::SrmDetected => "srm.detected",
            EventType::PlanReached => "plan.reached",
            EventType::DecisionRecorded => "decision.recorded",
            EventType::InitiativeLaunched => "initiative.launched",
            EventType::InitiativeConcluded => "initiative.concluded",
            EventType::InboxItem => "inbox.item",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "unknown event type '{s}'; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How deliveries are posted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The Standard Webhooks convention: a JSON body `{type, timestamp, data}` signed with
    /// the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
    Standard,
    /// A Slack incoming webhook: `{"text": ..., "blocks": [...]}` (also signed).
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Slack => "slack",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(Format::Standard),
            "slack" => Ok(Format::Slack),
            _ => Err(format!("unknown format '{s}'; expected standard or slack")),
        }
    }
}

/// An endpoint URL: absolute `http` or `https`, with a host, without credentials or a
/// fragment, at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > 2048 {
            return Err("must be at most 2048 characters".into());
        }
        let url = url::Url::parse(s.trim()).map_err(|e| format!("is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.host().is_none() {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".into());
        }
        if url.fragment().is_some() {
            return Err("must not contain a fragment".into());
        }
        Ok(Self(url))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// Wraps a value read back from storage, where only parsed values are written.
    pub fn from_trusted(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl From<WebhookUrl> for String {
    fn from(u: WebhookUrl) -> String {
        u.0.into()
    }
}

/// The signing secret of a subscription: `whsec_` and the base64 of 24 random bytes, as
/// Standard Webhooks libraries expect. Kept recoverable (the sender signs with it); never
/// printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";

    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 24];
        rand::RngExt::fill(&mut rand::rng(), &mut bytes[..]);
        Self(format!(
            "{}{}",
            Self::PREFIX,
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    /// A stored secret; it must decode.
    pub fn from_stored(s: String) -> Result<Self, String> {
        let secret = Self(s);
        secret.key()?;
        Ok(secret)
    }

    /// The HMAC key: the bytes behind the base64.
    pub fn key(&self) -> Result<Vec<u8>, String> {
        let encoded = self.0.strip_prefix(Self::PREFIX).unwrap_or(&self.0);
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("webhook secret is not base64: {e}"))
    }

    /// The secret itself: shown once at creation, stored for the sender.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_***)")
    }
}

/// A subscription as an admin asks for it.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub event_types: Vec<EventType>,
    pub initiative: Option<InitiativeKey>,
    pub team: Option<TeamKey>,
    pub format: Format,
}

impl NewWebhook {
    /// Parses every field, reporting all problems at once.
    pub fn parse(
        url: &str,
        event_types: &[String],
        initiative: Option<&str>,
        team: Option<&str>,
        format: Option<&str>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let url = errors.take("url", WebhookUrl::parse(url));
        let mut types = Vec::new();
        if event_types.is_empty() {
            errors.push("event_types", "name at least one event type");
        }
        for (i, t) in event_types.iter().enumerate() {
            if let Some(t) = errors.take(&format!("event_types[{i}]"), EventType::parse(t)) {
                types.push(t);
            }
        }
        types.sort_unstable();
        types.dedup();
        let initiative =
            initiative.and_then(|k| errors.take("initiative", InitiativeKey::parse(k)));
        let team = team.and_then(|k| errors.take("team", TeamKey::parse(k)));
        let format = errors.take("format", Format::parse(format.unwrap_or("standard")));
        errors.finish(|| {
            Some(NewWebhook {
                url: url?,
                event_types: types,
                initiative,
                team,
                format: format?,
            })
        })
    }
}

/// A stored subscription (without its secret).
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: WebhookUrl,
    pub event_types: Vec<EventType>,
    pub initiative: Option<InitiativeKey>,
    pub team: Option<TeamKey>,
    pub format: Format,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    /// Whether this subscription wants `n`.
    pub fn wants(&self, n: &Notification) -> bool {
        self.event_types.contains(&n.event_type)
            && self
                .initiative
                .as_ref()
                .is_none_or(|k| n.initiative.as_ref() == Some(k))
            && self
                .team
                .as_ref()
                .is_none_or(|t| n.team.as_ref() == Some(t))
    }
}

/// Something that happened, to be told to every subscription that wants it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event_type: EventType,
    pub initiative: Option<InitiativeKey>,
    /// The owner team of the initiative (team filters read it).
    pub team: Option<TeamKey>,
    pub occurred_at: DateTime<Utc>,
    /// The event's data (`data` of the payload).
    pub data: serde_json::Value,
}

impl Notification {
    /// The Standard Webhooks payload: `{"type", "timestamp", "data"}`.
    pub fn payload(&self) -> String {
        serde_json::json!({
            "type": self.event_type.as_str(),
            "timestamp": self.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": self.data,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(WebhookUrl::parse("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(WebhookUrl::parse("ftp://example.com/").is_err());
        assert!(WebhookUrl::parse("https://user:pw@example.com/").is_err());
        assert!(WebhookUrl::parse("not a url").is_err());
        assert!(WebhookUrl::parse("https://example.com/#x").is_err());
    }

    #[test]
    fn a_secret_decodes_to_24_bytes_and_hides_in_debug() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.key().map(|k| k.len()), Ok(24));
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
    }

    #[test]
    fn parse_lists_every_problem() {
        let e = NewWebhook::parse(
            "http://x.example/",
            &["verdict.changed".into(), "nope".into()],
            Some("Bad Key"),
            None,
            Some("teams"),
        )
        .err()
        .map(|e| e.0.into_iter().map(|e| e.field).collect::<Vec<_>>());
        assert_eq!(
            e,
            Some(vec![
                "event_types[1]".to_string(),
                "initiative".to_string(),
                "format".to_string()
            ])
        );
    }
}

//! The audit log's vocabulary: who changed what. Every change an admin or a writer makes
//! (initiatives, lifecycle transitions, decisions, API keys, segments) is recorded as an
//! [`AuditEntry`] in the same transaction as the change itself (see `store::audit`).

use chrono::{DateTime, Utc};

use super::initiative::text_enum;

text_enum!(
    /// What kind of actor made a change.
    ActorKind {
        ApiKey => "api_key",
        User => "user",
        Cli => "cli",
        System => "system",
    }
);

text_enum!(
    /// What was changed.
    TargetType {
        Initiative => "initiative",
        Decision => "decision",
        ApiKey => "api_key",
        Segment => "segment",
        User => "user",
        Webhook => "webhook",
    }
);

text_enum!(
    /// A change, named `target.verb`.
    Action {
        InitiativeCreate => "initiative.create",
        InitiativeUpdate => "initiative.update",
        InitiativeLaunch => "initiative.launch",
        InitiativeConclude => "initiative.conclude",
        InitiativeSurveyMapping => "initiative.survey_mapping",
        DecisionRecord => "decision.record",
        KeyCreate => "api_key.create",
        KeyRevoke => "api_key.revoke",
        SegmentCreate => "segment.create",
        UserInvite => "user.invite",
        UserDisable => "user.disable",
        WebhookCreate => "webhook.create",
        WebhookDelete => "webhook.delete",
    }
);

impl Action {
    /// The kind of thing this action changes.
    pub fn target_type(self) -> TargetType {
        match self {
            Action::InitiativeCreate
            | Action::InitiativeUpdate
            | Action::InitiativeLaunch
            | Action::InitiativeConclude
            | Action::InitiativeSurveyMapping => TargetType::Initiative,
            Action::DecisionRecord => TargetType::Decision,
            Action::KeyCreate | Action::KeyRevoke => TargetType::ApiKey,
            Action::SegmentCreate => TargetType::Segment,
            Action::UserInvite | Action::UserDisable => TargetType::User,
            Action::WebhookCreate | Action::WebhookDelete => TargetType::Webhook,
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The API key's id (none for the command line and the system).
    pub id: Option<i64>,
    /// The key's label, the operating-system user of the command line, or what the
    /// system was doing (e.g. "demo").
    pub name: String,
}

impl Actor {
    /// An API key, named by its label.
    pub fn api_key(id: i64, label: String) -> Self {
        Self {
            kind: ActorKind::ApiKey,
            id: Some(id),
            name: label,
        }
    }

    /// A person signed in to the pages, named by their name.
    pub fn user(id: i64, name: String) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(id),
            name,
        }
    }

    /// The command line, run by `user`.
    pub fn cli(user: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Cli,
            id: None,
            name: user.into(),
        }
    }

    /// The service itself (the demo loader, the first-start key).
    pub fn system(what: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            name: what.into(),
        }
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub actor: Actor,
    pub action: Action,
    /// The changed thing's key or id (initiative key, decision id, key id, segment key).
    pub target_id: String,
    /// The target before the change (none when it was created).
    pub before: Option<serde_json::Value>,
    /// The target after the change.
    pub after: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    pub fn new(
        actor: &Actor,
        action: Action,
        target_id: impl Into<String>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            actor: actor.clone(),
            action,
            target_id: target_id.into(),
            before,
            after,
            at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_names_its_target_type_first() {
        for action in Action::ALL {
            let (target, _) = action
                .as_str()
                .split_once('.')
                .unwrap_or_else(|| panic!("{action} has no verb"));
            assert_eq!(target, action.target_type().as_str(), "{action}");
        }
    }
}

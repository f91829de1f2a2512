//! Who may do what: roles, teams and the decision for one request.

use super::TeamKey;
use super::initiative::text_enum;

text_enum!(
    /// What an API key or a user may do.
    Role { Admin => "admin", Writer => "writer", Viewer => "viewer" }
);

/// Who is behind a request: a machine's API key, or a person signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Key(i64),
    User(i64),
}

impl Who {
    pub fn key_id(self) -> Option<i64> {
        match self {
            Who::Key(id) => Some(id),
            Who::User(_) => None,
        }
    }

    pub fn user_id(self) -> Option<i64> {
        match self {
            Who::User(id) => Some(id),
            Who::Key(_) => None,
        }
    }
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Key(id) => write!(f, "key {id}"),
            Who::User(id) => write!(f, "user {id}"),
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub who: Who,
    pub role: Role,
    /// The team a writer writes for (admins and viewers have none).
    pub team: Option<TeamKey>,
}

/// What a request needs, as classified by the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Read anything: every role.
    Read,
    /// Create shared reference data (segments): writers and admins.
    Contribute,
    /// Change an initiative, or send it events: its owner team's writers, and admins.
    /// `teams` are every owner team involved (the current one, and a new one a request
    /// would set); an unknown initiative has none, so the handler can answer 404.
    WriteFor { teams: Vec<TeamKey> },
    /// Manage API keys: admins only.
    Admin,
}

/// Why a known caller is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("read-only (role viewer)")]
    ReadOnly,
    #[error("only admins may do this")]
    AdminOnly,
    #[error("this caller writes for team '{key_team}', not '{wanted}'")]
    OtherTeam { key_team: String, wanted: String },
    #[error("this writer has no team")]
    NoTeam,
}

impl Caller {
    /// Decides whether the caller may do what the request needs.
    pub fn allows(&self, need: &Need) -> Result<(), Denied> {
        match (self.role, need) {
            (Role::Admin, _) | (_, Need::Read) => Ok(()),
            (_, Need::Admin) => Err(Denied::AdminOnly),
            (Role::Viewer, _) => Err(Denied::ReadOnly),
            (Role::Writer, Need::Contribute) => Ok(()),
            (Role::Writer, Need::WriteFor { teams }) => {
                let own = self.team.as_ref().ok_or(Denied::NoTeam)?;
                match teams.iter().find(|t| *t != own) {
                    None => Ok(()),
                    Some(other) => Err(Denied::OtherTeam {
                        key_team: own.to_string(),
                        wanted: other.to_string(),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(s: &str) -> TeamKey {
        TeamKey::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn decisions() {
        let admin = Caller {
            who: Who::Key(1),
            role: Role::Admin,
            team: None,
        };
        let viewer = Caller {
            who: Who::Key(2),
            role: Role::Viewer,
            team: None,
        };
        let growth = Caller {
            who: Who::Key(3),
            role: Role::Writer,
            team: Some(team("growth")),
        };
        let write_growth = Need::WriteFor {
            teams: vec![team("growth")],
        };
        let move_to_support = Need::WriteFor {
            teams: vec![team("growth"), team("support")],
        };
        assert!(admin.allows(&Need::Admin).is_ok());
        assert!(admin.allows(&move_to_support).is_ok());
        assert!(viewer.allows(&Need::Read).is_ok());
        assert_eq!(viewer.allows(&Need::Contribute), Err(Denied::ReadOnly));
        assert_eq!(viewer.allows(&Need::Admin), Err(Denied::AdminOnly));
        assert!(growth.allows(&write_growth).is_ok());
        assert!(growth.allows(&Need::Contribute).is_ok());
        assert!(matches!(
            growth.allows(&move_to_support),
            Err(Denied::OtherTeam { .. })
        ));
        assert_eq!(growth.allows(&Need::Admin), Err(Denied::AdminOnly));
        // An initiative that does not exist involves no team: the handler answers 404.
        assert!(growth.allows(&Need::WriteFor { teams: vec![] }).is_ok());
    }
}

//! Who may do what: roles, teams and the decision for one request.

use std::collections::BTreeSet;

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
    /// The teams a writer writes for: an API key's one team, or every team of a person
    /// (admins and viewers have none).
    pub teams: BTreeSet<TeamKey>,
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
    #[error("this caller writes for {own}, not for team '{wanted}'")]
    OtherTeam { own: String, wanted: String },
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
                if self.teams.is_empty() {
                    return Err(Denied::NoTeam);
                }
                match teams.iter().find(|t| !self.teams.contains(*t)) {
                    None => Ok(()),
                    Some(other) => Err(Denied::OtherTeam {
                        own: self.teams_text(),
                        wanted: other.to_string(),
                    }),
                }
            }
        }
    }

    /// Whether the caller may write for `team` (an admin always; a writer of that team).
    pub fn writes_for(&self, team: &TeamKey) -> bool {
        self.allows(&Need::WriteFor {
            teams: vec![team.clone()],
        })
        .is_ok()
    }

    /// "team 'growth'" or "teams 'growth', 'support'".
    fn teams_text(&self) -> String {
        let names: Vec<String> = self.teams.iter().map(|t| format!("'{t}'")).collect();
        match names.len() {
            1 => format!("team {}", names.join("")),
            _ => format!("teams {}", names.join(", ")),
        }
    }
}

/// The teams of a caller from an optional single team (an API key's).
pub fn one_team(team: Option<TeamKey>) -> BTreeSet<TeamKey> {
    team.into_iter().collect()
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
            teams: BTreeSet::new(),
        };
        let viewer = Caller {
            who: Who::Key(2),
            role: Role::Viewer,
            teams: BTreeSet::new(),
        };
        let growth = Caller {
            who: Who::Key(3),
            role: Role::Writer,
            teams: one_team(Some(team("growth"))),
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

    #[test]
    fn a_writer_of_several_teams_writes_for_each_of_them_only() {
        let both = Caller {
            who: Who::User(4),
            role: Role::Writer,
            teams: [team("growth"), team("support")].into_iter().collect(),
        };
        assert!(both.writes_for(&team("growth")));
        assert!(both.writes_for(&team("support")));
        assert!(!both.writes_for(&team("platform")));
        // Moving an initiative between two of their teams is allowed; to a third is not.
        assert!(
            both.allows(&Need::WriteFor {
                teams: vec![team("growth"), team("support")],
            })
            .is_ok()
        );
        let denied = both.allows(&Need::WriteFor {
            teams: vec![team("growth"), team("platform")],
        });
        assert_eq!(
            denied,
            Err(Denied::OtherTeam {
                own: "teams 'growth', 'support'".into(),
                wanted: "platform".into(),
            })
        );
        let none = Caller {
            teams: BTreeSet::new(),
            ..both
        };
        assert!(!none.writes_for(&team("growth")));
        let viewer = Caller {
            who: Who::User(5),
            role: Role::Viewer,
            teams: BTreeSet::new(),
        };
        assert!(!viewer.writes_for(&team("growth")));
    }
}

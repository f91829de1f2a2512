//! Identifiers. Keys that appear in URLs are slugs; customer and event ids are
//! opaque client strings with a bounded length.

use serde::{Deserialize, Serialize};
use std::fmt;

const MAX_SLUG: usize = 64;
const MAX_OPAQUE: usize = 128;

fn parse_slug(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_SLUG {
        return Err(format!("must be at most {MAX_SLUG} characters"));
    }
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !first_ok || !rest_ok {
        return Err(
            "must be a slug: lowercase letters, digits, '-' and '_', starting with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

fn parse_opaque(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_OPAQUE {
        return Err(format!("must be at most {MAX_OPAQUE} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

macro_rules! string_key {
    ($(#[$doc:meta])* $name:ident, $check:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: impl Into<String>) -> Result<Self, String> {
                let s = s.into();
                $check(&s)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps a value read back from storage, where only parsed values are written.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(k: $name) -> String {
                k.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_key!(
    /// The unique slug of an initiative, as used in URLs.
    InitiativeKey,
    parse_slug
);
string_key!(
    /// The slug of a customer segment (`smb`, `students`).
    SegmentKey,
    parse_slug
);
string_key!(
    /// The slug of a variant (an arm of the offer).
    VariantKey,
    parse_slug
);
string_key!(
    /// The slug of a product team that owns initiatives.
    TeamKey,
    parse_slug
);
string_key!(
    /// A client's customer identifier: opaque, at most 128 bytes.
    CustomerId,
    parse_opaque
);
string_key!(
    /// A client-chosen event id, the idempotency key of an event within an initiative.
    EventId,
    parse_opaque
);

impl VariantKey {
    /// The one variant of an initiative that declares none.
    pub fn implicit() -> Self {
        Self("default".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(InitiativeKey::parse("team-plan_2").is_ok());
        assert!(InitiativeKey::parse("").is_err());
        assert!(InitiativeKey::parse("-x").is_err());
        assert!(InitiativeKey::parse("Team").is_err());
        assert!(InitiativeKey::parse("a b").is_err());
        assert!(InitiativeKey::parse("a".repeat(65)).is_err());
        assert!(InitiativeKey::parse("a".repeat(64)).is_ok());
    }

    #[test]
    fn opaque_ids() {
        assert!(CustomerId::parse("cust 42 / é").is_ok());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse("a\nb").is_err());
        assert!(CustomerId::parse("x".repeat(129)).is_err());
    }
}

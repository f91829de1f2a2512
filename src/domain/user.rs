//! People who sign in: a normalised email, a name, and a password that never leaves
//! this type except to be hashed.

use super::initiative::parse_name;

/// The longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;
/// The shortest password accepted (NIST SP 800-63B asks for at least 8; 12 is the
/// OWASP recommendation without composition rules).
pub const MIN_PASSWORD: usize = 12;
/// The longest password accepted: hashing cost stays bounded.
pub const MAX_PASSWORD: usize = 256;

/// An email address, trimmed and lower-cased, so one person has one account whatever
/// the case they type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > MAX_EMAIL {
            return Err(format!("must be at most {MAX_EMAIL} characters"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("must be an email address (name@example.com)".into());
        };
        let ok = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err("must be an email address (name@example.com)".into());
        }
        Ok(Self(s))
    }

    /// A value read back from the database, normalised when it was stored.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name.
pub fn parse_user_name(raw: &str) -> Result<String, String> {
    parse_name(raw)
}

/// A new password. Its `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password someone chooses: long enough, not absurdly long. Not trimmed: every
    /// character counts.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD {
            return Err(format!("must be at least {MIN_PASSWORD} characters"));
        }
        if n > MAX_PASSWORD {
            return Err(format!("must be at most {MAX_PASSWORD} characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret, to hash or verify.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
            "a@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_a_length_and_hide_in_debug() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(MAX_PASSWORD + 1)).is_err());
        let p = Password::parse("correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.expose(), "correct horse battery");
        assert!(!format!("{p:?}").contains("horse"));
    }
}

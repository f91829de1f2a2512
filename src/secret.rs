//! Secrets that do not print: signing secrets, the session cookie key and database URLs
//! with passwords, held in `secrecy`'s [`SecretString`] (zeroed on drop, `Debug`
//! redacted). Reading one is an explicit `expose()`; no `Display` shows it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A signing secret or key (`stripe.webhook_secrets`, `typeform.secret`,
/// `forms.secret`, `dashboard.cookie_secret`). `Debug` shows `***` (or `""` when unset,
/// so a missing secret is visible); there is no `Display`.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(SecretString::from(s.into()))
    }

    /// The secret's bytes, to key a MAC.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    /// Unset: empty or blanks only.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "\"\"" } else { "***" })
    }
}

/// A database URL that may carry a password (`database.url`, `database.read_url`).
/// `Debug` and `Display` show it with the password (in the user part or a `password=`
/// parameter) replaced by `***`: what messages and logs may say about it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    pub fn new(s: impl Into<String>) -> Self {
        Self(SecretString::from(s.into()))
    }

    /// The URL itself, password included, to connect with.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for SecretUrl {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretUrl {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(self.expose()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_url(self.expose()))
    }
}

/// A URL without its password: `postgres://user:***@host/db?password=***`. A file path
/// (no scheme) has none and is answered as it is; text with an `@` that is not a URL is
/// hidden whole, in case it carries credentials.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw.trim()) else {
        return if raw.contains('@') {
            "***".into()
        } else {
            raw.to_owned()
        };
    };
    if url.password().is_some() && url.set_password(Some("***")).is_err() {
        return "***".into();
    }
    let has_password_parameter = url
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"));
    if has_password_parameter {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://offerlab:hunter2@db.example:5432/offerlab"),
            "postgres://offerlab:***@db.example:5432/offerlab"
        );
        let query = redact_url("postgresql://db.example/offerlab?user=o&password=hunter2&x=1");
        assert!(!query.contains("hunter2"), "{query}");
        assert!(query.contains("user=o") && query.contains("x=1"), "{query}");
        assert_eq!(
            redact_url("postgres://db.example/offerlab"),
            "postgres://db.example/offerlab"
        );
        assert_eq!(redact_url("data/offerlab.db"), "data/offerlab.db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(redact_url("not a url with p@ss"), "***");
    }

    #[test]
    fn secrets_do_not_print() {
        let url = SecretUrl::new("postgres://u:hunter2@h/db");
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://u:hunter2@h/db");
        let secret = Secret::new("whsec_hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), b"whsec_hunter2");
        assert_eq!(format!("{:?}", Secret::default()), "\"\"");
        assert!(Secret::new("  ").is_empty());
    }
}

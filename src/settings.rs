//! Configuration: the embedded defaults (`config/default.toml`), then `config/default.toml`
//! and `config/<OFFERLAB_ENV>.toml` from the working directory when present, then
//! `OFFERLAB__SECTION__KEY` environment variables. Unknown keys are rejected.

use std::path::Path;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::store::{DatabaseUrl, SqliteSync, StoreError, StoreOptions};

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub ingest: IngestSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub dashboard: DashboardSettings,
    pub webhooks: WebhookSettings,
    pub stripe: StripeSettings,
    pub typeform: TypeformSettings,
    pub forms: FormSettings,
}

pub use crate::secret::{Secret, SecretUrl};

/// `POST /hooks/stripe`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// The endpoint's signing secrets (`whsec_...`); several while one is rotated out.
    /// None: the hook answers 404 `hook-not-configured` (Stripe retries, nothing is
    /// accepted unsigned).
    pub webhook_secrets: Vec<Secret>,
    /// Oldest signature timestamp accepted, in seconds before now (replay window).
    pub tolerance_seconds: u64,
}

impl StripeSettings {
    /// The configured secrets, blanks left out.
    pub fn secrets(&self) -> Vec<&Secret> {
        self.webhook_secrets
            .iter()
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// `POST /hooks/typeform`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeformSettings {
    /// The secret set on the Typeform webhook. Empty: the hook answers 404.
    pub secret: Secret,
}

/// `POST /hooks/form`, the generic signed form webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSettings {
    /// The secret the sending tool signs with. Empty: the hook answers 404.
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSettings {
    /// Pages open to anyone who reaches the service, without signing in.
    pub public: bool,
    /// How long a sign-in lasts.
    pub session_hours: u32,
    /// Key that signs session cookies (hex or any string). Empty: a random key per
    /// process, so sessions end when it restarts. Set it (from the environment, never
    /// in a committed file) when several instances serve the pages.
    pub cookie_secret: Secret,
    /// How long an invite link stays valid, in hours.
    pub invite_hours: u32,
    /// Failed sign-ins allowed per account within `sign_in_window_minutes`.
    pub sign_in_failures_per_account: u32,
    /// Failed sign-ins allowed per client address within `sign_in_window_minutes`.
    pub sign_in_failures_per_address: u32,
    /// The window failed sign-ins are counted in, in minutes.
    pub sign_in_window_minutes: u32,
}

/// Outbound webhooks (`[webhooks]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Run the sender in this instance (deliveries are still written when off).
    pub sender: bool,
    /// Deliver to loopback, private, link-local and metadata addresses too.
    pub allow_private_networks: bool,
    /// Prefix of the report links in payloads (`https://offerlab.example.com`).
    pub public_base_url: String,
    pub connect_timeout_ms: u64,
    /// Longest a whole attempt may take.
    pub timeout_ms: u64,
    /// First retry delay; it doubles per attempt (with jitter) up to `max_backoff_ms`.
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// After this long without success a delivery is marked failed.
    pub retry_window_minutes: u64,
    /// How often the sender looks for due deliveries when not woken.
    pub poll_interval_ms: u64,
    /// How long a claimed delivery stays claimed (a killed sender's claims run out).
    pub lease_ms: u64,
    /// Deliveries attempted at once (each to a different endpoint).
    pub batch: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    pub public: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password: printed with it replaced by `***`.
    pub url: SecretUrl,
    /// A PostgreSQL streaming replica for pages, reports and exports; empty: none.
    pub read_url: SecretUrl,
    pub pool_size: u32,
    pub sqlite_synchronous: SqliteSync,
    pub busy_timeout_ms: u64,
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    pub max_events_per_request: usize,
    pub max_events_per_transaction: usize,
    pub queue_capacity: usize,
    /// Ingest writer threads (PostgreSQL; SQLite always has one).
    pub writers: usize,
    /// On PostgreSQL, a group's new events (or new customers) from this many rows are
    /// written with binary `COPY`.
    pub copy_from_rows: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_body_bytes: usize,
    pub requests_per_second_per_key: u32,
    pub burst_per_key: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file that cannot be read or parsed (the message names it; it is not also given
    /// as the source, which would print it twice).
    #[error("configuration: {0}")]
    Load(config::ConfigError),
    /// A key with a bad value, an unknown key, or a value out of range: where it was set
    /// (a file, an environment variable or the built-in defaults), the key and why.
    #[error("configuration: {origin}: {key}: {reason}")]
    Key {
        origin: String,
        key: String,
        reason: String,
    },
    /// `OFFERLAB_ENV` names no configuration file.
    #[error("configuration: OFFERLAB_ENV={name}: {reason}")]
    Environment { name: String, reason: String },
}

/// `OFFERLAB__SECTION__KEY` variables. `OFFERLAB__STRIPE__WEBHOOK_SECRETS` is a
/// comma-separated list (`whsec_a,whsec_b`); every other variable is one value.
fn env_source() -> Environment {
    Environment::with_prefix("OFFERLAB")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("stripe.webhook_secrets")
}

impl From<config::ConfigError> for SettingsError {
    fn from(e: config::ConfigError) -> Self {
        Self::Load(e)
    }
}

/// Refuses an environment name that is not a plain word, or (but `local`) has no file.
fn check_environment(dir: &Path, name: &str) -> Result<(), SettingsError> {
    let refuse = |reason: String| {
        Err(SettingsError::Environment {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return refuse("an environment name is letters, digits, '-' and '_'".into());
    }
    let file = dir.join(format!("{name}.toml"));
    if name == "local" || file.is_file() {
        return Ok(());
    }
    let mut known: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.ok()?.file_name().into_string().ok()?;
            let stem = file_name.strip_suffix(".toml")?;
            (stem != "default").then(|| stem.to_owned())
        })
        .collect();
    known.push("local".into());
    known.sort();
    known.dedup();
    refuse(format!(
        "unknown environment: there is no {} (known: {})",
        file.display(),
        known.join(", ")
    ))
}

/// Where the value of `key` was set: the environment variable, else the last file that
/// has it, else the built-in defaults.
fn origin_of(dir: &Path, environment: &str, key: &str) -> String {
    let var = format!("OFFERLAB__{}", key.replace('.', "__").to_uppercase());
    if std::env::var_os(&var).is_some() {
        return format!("environment variable {var}");
    }
    for file in [
        dir.join(format!("{environment}.toml")),
        dir.join("default.toml"),
    ] {
        let has_key = Config::builder()
            .add_source(File::from(file.as_path()).required(false))
            .build()
            .is_ok_and(|c| c.get::<config::Value>(key).is_ok());
        if has_key {
            return file.display().to_string();
        }
    }
    "built-in defaults".into()
}

/// Why a value was refused, without the key and origin the message adds itself.
fn reason(error: &config::ConfigError) -> String {
    match error {
        config::ConfigError::Type {
            unexpected,
            expected,
            ..
        } => format!("invalid type: {unexpected}, expected {expected}"),
        config::ConfigError::At { error, .. } => reason(error),
        other => other.to_string(),
    }
}

impl Settings {
    /// Loads the layered configuration for environment `OFFERLAB_ENV` (default `local`,
    /// whose file is optional). Any other environment must have its file,
    /// `config/<OFFERLAB_ENV>.toml`: a misspelt name is an error, not the defaults.
    pub fn load() -> Result<Self, SettingsError> {
        let dir = Path::new("config");
        let environment = match std::env::var("OFFERLAB_ENV") {
            Err(std::env::VarError::NotPresent) => "local".to_owned(),
            Err(std::env::VarError::NotUnicode(raw)) => {
                return Err(SettingsError::Environment {
                    name: raw.to_string_lossy().into_owned(),
                    reason: "not valid UTF-8".into(),
                });
            }
            Ok(name) => name,
        };
        check_environment(dir, &environment)?;
        Self::load_from(dir, &environment)
    }

    /// Loads from a given configuration folder and environment name.
    pub fn load_from(dir: &Path, environment: &str) -> Result<Self, SettingsError> {
        let config = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(env_source())
            .build()?;
        let key_error = |key: String, reason: String| SettingsError::Key {
            origin: origin_of(dir, environment, &key),
            key,
            reason,
        };
        let settings: Settings = serde_path_to_error::deserialize(config)
            .map_err(|e| key_error(e.path().to_string(), reason(e.inner())))?;
        settings
            .check()
            .map_err(|(key, why)| key_error(key.to_owned(), why.to_owned()))?;
        Ok(settings)
    }

    /// The first out-of-range value: (its key, why).
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.ingest.max_events_per_request == 0 {
            return Err(("ingest.max_events_per_request", "must be at least 1"));
        }
        if self.ingest.max_events_per_transaction < self.ingest.max_events_per_request {
            return Err((
                "ingest.max_events_per_transaction",
                "must be at least ingest.max_events_per_request",
            ));
        }
        if self.ingest.writers == 0 {
            return Err(("ingest.writers", "must be at least 1"));
        }
        if self.ingest.copy_from_rows == 0 {
            return Err(("ingest.copy_from_rows", "must be at least 1"));
        }
        if self.database.acquire_timeout_ms == 0 {
            return Err(("database.acquire_timeout_ms", "must be at least 1"));
        }
        if self.dashboard.invite_hours == 0 {
            return Err(("dashboard.invite_hours", "must be at least 1"));
        }
        let d = &self.dashboard;
        for (key, value) in [
            (
                "dashboard.sign_in_failures_per_account",
                d.sign_in_failures_per_account,
            ),
            (
                "dashboard.sign_in_failures_per_address",
                d.sign_in_failures_per_address,
            ),
            ("dashboard.sign_in_window_minutes", d.sign_in_window_minutes),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1"));
            }
        }
        if self.stripe.tolerance_seconds == 0 {
            return Err(("stripe.tolerance_seconds", "must be at least 1"));
        }
        let w = &self.webhooks;
        for (key, value) in [
            ("webhooks.timeout_ms", w.timeout_ms),
            ("webhooks.connect_timeout_ms", w.connect_timeout_ms),
            ("webhooks.poll_interval_ms", w.poll_interval_ms),
            ("webhooks.base_backoff_ms", w.base_backoff_ms),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1"));
            }
        }
        if w.lease_ms < w.timeout_ms.saturating_mul(2) {
            return Err((
                "webhooks.lease_ms",
                "must be at least twice webhooks.timeout_ms",
            ));
        }
        if w.max_backoff_ms < w.base_backoff_ms {
            return Err((
                "webhooks.max_backoff_ms",
                "must be at least webhooks.base_backoff_ms",
            ));
        }
        if w.batch == 0 {
            return Err(("webhooks.batch", "must be at least 1"));
        }
        if self.limits.max_body_bytes < 1024 {
            return Err(("limits.max_body_bytes", "must be at least 1024"));
        }
        Ok(())
    }

    pub fn store_options(&self) -> Result<StoreOptions, StoreError> {
        let url = DatabaseUrl::parse(self.database.url.expose())?;
        let read_url = match self.database.read_url.expose().trim() {
            "" => None,
            raw => match (DatabaseUrl::parse(raw)?, &url) {
                (replica @ DatabaseUrl::Postgres(_), DatabaseUrl::Postgres(_)) => Some(replica),
                _ => {
                    return Err(StoreError::Config(
                        "database.read_url names a PostgreSQL replica; it needs a postgres:// \
                         database.url too"
                            .into(),
                    ));
                }
            },
        };
        Ok(StoreOptions {
            url,
            read_url,
            pool_size: self.database.pool_size,
            sqlite_synchronous: self.database.sqlite_synchronous,
            busy_timeout: Duration::from_millis(self.database.busy_timeout_ms),
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_env(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Ok(Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(env_source().source(Some(map)))
            .build()?
            .try_deserialize()?)
    }

    #[test]
    fn ingest_counts_of_zero_are_refused() {
        for (var, key) in [
            ("OFFERLAB__INGEST__WRITERS", "ingest.writers"),
            ("OFFERLAB__INGEST__COPY_FROM_ROWS", "ingest.copy_from_rows"),
        ] {
            let s = with_env(&[(var, "0")]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.check().map_err(|(k, _)| k), Err(key));
        }
        let s = with_env(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.check(), Ok(()));
        assert_eq!(
            s.ingest.copy_from_rows,
            crate::store::ingest::DEFAULT_COPY_FROM_ROWS,
            "config/default.toml and the library agree"
        );
    }

    #[test]
    fn stripe_secrets_from_the_environment_are_a_list() {
        let s = with_env(&[
            ("OFFERLAB__STRIPE__WEBHOOK_SECRETS", "whsec_a,whsec_b"),
            ("OFFERLAB__DASHBOARD__COOKIE_SECRET", "one,value"),
            ("OFFERLAB__TYPEFORM__SECRET", "tf,secret"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let exposed = |v: &[Secret]| v.iter().map(|s| s.expose().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            exposed(&s.stripe.webhook_secrets),
            [b"whsec_a".to_vec(), b"whsec_b".to_vec()]
        );
        assert_eq!(s.dashboard.cookie_secret.expose(), b"one,value");
        assert_eq!(s.typeform.secret.expose(), b"tf,secret");
        let one = with_env(&[("OFFERLAB__STRIPE__WEBHOOK_SECRETS", "whsec_only")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            exposed(&one.stripe.webhook_secrets),
            [b"whsec_only".to_vec()]
        );
        let none = with_env(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(none.stripe.secrets().is_empty());
        assert_eq!(none.stripe.tolerance_seconds, 300);
    }

    #[test]
    fn secrets_never_print() {
        let s = with_env(&[
            ("OFFERLAB__STRIPE__WEBHOOK_SECRETS", "whsec_visible"),
            ("OFFERLAB__FORMS__SECRET", "form_visible"),
            ("OFFERLAB__TYPEFORM__SECRET", "typeform_visible"),
            ("OFFERLAB__DASHBOARD__COOKIE_SECRET", "cookie_visible"),
            (
                "OFFERLAB__DATABASE__URL",
                "postgres://offerlab:url_visible@db.example/offerlab",
            ),
            (
                "OFFERLAB__DATABASE__READ_URL",
                "postgres://reader:read_visible@replica.example/offerlab",
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{s:?} {:?} {}", s.database, s.database.url);
        assert!(!shown.contains("visible"), "{shown}");
        assert!(
            shown.contains("postgres://offerlab:***@db.example/offerlab"),
            "{shown}"
        );
        let options = format!("{:?}", s.store_options().unwrap_or_else(|e| panic!("{e}")));
        assert!(!options.contains("visible"), "{options}");
    }
}

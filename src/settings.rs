//! Configuration: the embedded defaults (`config/default.toml`), then `config/default.toml`
//! and `config/<OFFERLAB_ENV>.toml` from the working directory when present, then
//! `OFFERLAB__SECTION__KEY` environment variables. Unknown keys are rejected.

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
    pub cookie_secret: String,
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
    pub url: String,
    /// A PostgreSQL streaming replica for pages, reports and exports; empty: none.
    pub read_url: String,
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
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads the layered configuration for environment `OFFERLAB_ENV` (default `local`).
    pub fn load() -> Result<Self, SettingsError> {
        let environment = std::env::var("OFFERLAB_ENV").unwrap_or_else(|_| "local".into());
        Self::load_from(std::path::Path::new("config"), &environment)
    }

    /// Loads from a given configuration folder and environment name.
    pub fn load_from(dir: &std::path::Path, environment: &str) -> Result<Self, SettingsError> {
        let settings: Settings = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(
                Environment::with_prefix("OFFERLAB")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        let invalid = |s: &str| Err(SettingsError::Invalid(s.into()));
        if self.ingest.max_events_per_request == 0 {
            return invalid("ingest.max_events_per_request must be at least 1");
        }
        if self.ingest.max_events_per_transaction < self.ingest.max_events_per_request {
            return invalid(
                "ingest.max_events_per_transaction must be at least ingest.max_events_per_request",
            );
        }
        if self.database.acquire_timeout_ms == 0 {
            return invalid("database.acquire_timeout_ms must be at least 1");
        }
        if self.limits.max_body_bytes < 1024 {
            return invalid("limits.max_body_bytes must be at least 1024");
        }
        Ok(())
    }

    pub fn store_options(&self) -> Result<StoreOptions, StoreError> {
        let url = DatabaseUrl::parse(&self.database.url)?;
        let read_url = match self.database.read_url.trim() {
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

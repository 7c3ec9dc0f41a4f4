//! Configuration, in one place. Sources, lowest precedence first: built-in defaults, an
//! optional TOML file (`--config` or `RATEL_CONFIG`), the environment (`RATEL_*`, plus
//! `DATABASE_URL`), and command-line flags.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::alerting::EngineSettings;
use crate::alerting::retry::Schedule;
use crate::storage::DbSettings;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on (`RATEL_BIND`).
    pub bind: String,
    /// `sqlite://FILE?mode=rwc` or `postgres://...` (`DATABASE_URL`).
    pub database_url: String,
    /// Base of the URLs the API returns (`RATEL_PUBLIC_URL`); defaults to `http://<bind>`.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Requests per second allowed per key; unset means no limit.
    pub rate_limit: Option<u32>,
    /// Burst allowed above the rate (defaults to the rate).
    pub rate_limit_burst: Option<u32>,
    /// Connections in the read pool; by default 4 on SQLite (more only adds thread switching
    /// on a small machine) and on PostgreSQL four per core, 8 to 32 (a quarter of them
    /// writer lanes, a quarter reader lanes).
    pub db_max_connections: Option<u32>,
    /// SQLite `synchronous=FULL` (survives power loss; the default) or NORMAL (`false`).
    pub sqlite_synchronous_full: bool,
    /// A tracing filter, e.g. `info` or `ratel_server=debug`.
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Seconds a key stays cached after a successful lookup (0 disables the cache). Every
    /// process checks for revocations each 250 ms and then empties its cache, so a revoked
    /// key stops working within that; this bounds it when the check cannot read the store.
    pub key_cache_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
    /// Seconds between delivery attempts, comma-separated; after the last step a delivery
    /// is failed (Standard Webhooks' schedule by default).
    #[serde(deserialize_with = "text_or_number")]
    pub delivery_retry_schedule: String,
    /// Seconds a dispatcher holds a claimed delivery before another may take it.
    pub delivery_lease_secs: u64,
    /// Seconds a web hook receiver has to answer.
    pub webhook_timeout_secs: u64,
    /// Allow deliveries to loopback, private and link-local addresses.
    pub webhook_allow_private_networks: bool,
    /// How often the stale and max_runtime sweeps run, and how often the dispatcher looks
    /// for work queued by other replicas (milliseconds).
    pub sweep_interval_ms: u64,
    /// `smtp://[user:pass@]host:port` (STARTTLS when offered) or `smtps://…` (TLS).
    pub smtp_url: Option<String>,
    /// The sender of email notifications.
    pub mail_from: String,
}

/// A setting kept as text that the environment may spell as a number (`RATEL_X=5`).
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        Float(f64),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Text(s) => s,
        Raw::Int(n) => n.to_string(),
        Raw::Float(f) => f.to_string(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://ratel.sqlite3?mode=rwc";

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8000".to_owned(),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            public_url: None,
            body_limit: 1024 * 1024,
            rate_limit: None,
            rate_limit_burst: None,
            db_max_connections: None,
            sqlite_synchronous_full: true,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            shutdown_grace_secs: 30,
            key_cache_secs: 5,
            delivery_retry_schedule: crate::alerting::retry::DEFAULT_SCHEDULE.to_owned(),
            delivery_lease_secs: 30,
            webhook_timeout_secs: 15,
            webhook_allow_private_networks: false,
            sweep_interval_ms: 1000,
            smtp_url: None,
            mail_from: "Ratel <ratel@localhost>".to_owned(),
        }
    }
}

/// Values given on the command line; `None` means "not given".
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Settings {
    /// Every setting's name (the environment variable is `RATEL_` + the name, uppercased).
    pub const KEYS: [&'static str; 19] = [
        "bind",
        "database_url",
        "public_url",
        "body_limit",
        "rate_limit",
        "rate_limit_burst",
        "db_max_connections",
        "sqlite_synchronous_full",
        "log_level",
        "log_format",
        "key_cache_secs",
        "shutdown_grace_secs",
        "delivery_retry_schedule",
        "delivery_lease_secs",
        "webhook_timeout_secs",
        "webhook_allow_private_networks",
        "sweep_interval_ms",
        "smtp_url",
        "mail_from",
    ];

    /// Loads the settings from every source.
    pub fn load(file: Option<PathBuf>, overrides: Overrides) -> Result<Self, Box<figment::Error>> {
        let file = file.or_else(|| std::env::var_os("RATEL_CONFIG").map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            // Only the settings' own names: other RATEL_* variables belong to other tools.
            .merge(Env::prefixed("RATEL_").only(&Self::KEYS))
            .merge(Env::raw().only(&["database_url"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// The alerting engine's settings; fails on an invalid retry schedule.
    pub fn engine(&self) -> anyhow::Result<EngineSettings> {
        Ok(EngineSettings {
            retry_schedule: Schedule::parse(&self.delivery_retry_schedule)
                .map_err(anyhow::Error::msg)?,
            lease: Duration::from_secs(self.delivery_lease_secs.max(1)),
            webhook_timeout: Duration::from_secs(self.webhook_timeout_secs.max(1)),
            allow_private_networks: self.webhook_allow_private_networks,
            sweep_interval: Duration::from_millis(self.sweep_interval_ms.max(10)),
            smtp_url: self.smtp_url.clone().filter(|u| !u.is_empty()),
            mail_from: self.mail_from.clone(),
        })
    }

    pub fn db(&self) -> DbSettings {
        DbSettings {
            url: self.database_url.clone(),
            max_connections: self.db_max_connections,
            sqlite_synchronous_full: self.sqlite_synchronous_full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FULL by default (README, Durability): every SQLite connection fsyncs its commits.
    #[tokio::test]
    async fn sqlite_is_durable_by_default() {
        use sea_orm::ConnectionTrait;
        let dir = std::env::temp_dir().join(format!("ratel-config-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = Settings {
            database_url: format!("sqlite://{}/d.sqlite3?mode=rwc", dir.display()),
            ..Settings::default()
        };
        let store = crate::storage::Store::connect(&settings.db())
            .await
            .unwrap();
        let row = store
            .conn()
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                "PRAGMA synchronous",
            ))
            .await
            .unwrap()
            .unwrap();
        let level: i32 = row.try_get_by_index(0).unwrap();
        assert_eq!(level, 2, "synchronous=FULL");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keys_name_every_setting() {
        let value = serde_json::to_value(Settings::default()).unwrap();
        let mut fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = Settings::KEYS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn precedence_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "ratel.toml",
                "bind = \"0.0.0.0:1\"\nbody_limit = 10\nlog_level = \"warn\"",
            )?;
            jail.set_env("RATEL_BODY_LIMIT", "20");
            jail.set_env("DATABASE_URL", "postgres://x/y");
            jail.set_env("RATEL_SOMETHING_ELSE", "ignored");
            let s = Settings::load(
                Some("ratel.toml".into()),
                Overrides {
                    log_level: Some("debug".into()),
                    ..Overrides::default()
                },
            )
            .map_err(|e| *e)?;
            assert_eq!(s.bind, "0.0.0.0:1");
            assert_eq!(s.body_limit, 20);
            assert_eq!(s.database_url, "postgres://x/y");
            assert_eq!(s.log_level, "debug");
            Ok(())
        });
    }
}

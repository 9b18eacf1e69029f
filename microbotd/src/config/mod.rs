//! Daemon configuration: [`Config`], loaded once at start-up and passed down.
//!
//! # Precedence
//! Built-in defaults (every key has one), then the TOML file (`--config`,
//! else `/etc/microbot/microbotd.toml` for a system service, else
//! `$XDG_CONFIG_HOME/microbot/microbotd.toml`; a missing default file is
//! fine, a missing explicit one is not), then `MICROBOT_<SECTION>_<KEY>`
//! environment variables. Anything wrong stops start-up with one line that
//! names the key and why ([`ConfigError`]).

mod bytes;
mod cluster;
mod duration;
pub mod keys;
mod paths;
mod raw;
mod render;
mod session_key;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use bytes::{ByteSize, format_bytes, parse_bytes};
pub use cluster::{ClusterConfig, MAX_NODE_ID};
pub use duration::{HumanDuration, format_duration, parse_duration};
pub use paths::Environment;
pub use render::redact_url as redact_database_url;

use crate::telegram::Secret;

/// Why the configuration cannot be used. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("config: {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// How messages reach Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramMode {
    Live,
    DryRun,
}

impl TelegramMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TelegramMode::Live => "live",
            TelegramMode::DryRun => "dry-run",
        }
    }
}

/// `[daemon]`.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    /// Members may read and manage templates and schedulers.
    pub operator_group: String,
    /// Members may do everything.
    pub admin_group: String,
    /// Calls slower than this are logged at WARN ("took longer than").
    pub slow_call_warn: Duration,
    pub log_level: String,
    /// This daemon's name among the nodes sharing one database (configured,
    /// or `<hostname>-<random>` per start). Not secret.
    pub node_id: String,
    /// False when `node_id` was derived at start (then a reload, which
    /// derives another, must not call it changed).
    pub node_id_configured: bool,
}

/// `[database]`.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; may hold a password, so never printed raw.
    pub url: String,
    pub max_connections: u32,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &render::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// `[telegram]`.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub mode: TelegramMode,
    pub api_id: i32,
    /// Resolved from `api_hash`, `api_hash_file` or the systemd credential.
    pub api_hash: Option<Secret>,
    /// Where the hash came from, for `check-config` (never the value).
    pub api_hash_source: Option<String>,
    pub rate_limit_per_minute: u32,
    /// `socks5://[user[:password]@]host:port` for every Telegram connection.
    pub proxy: Option<Secret>,
    /// Seals sessions at rest (`crate::seal`); `None` stores them plain.
    pub session_key: Option<crate::seal::SessionKey>,
    /// Where the key came from, for `check-config` (never the key).
    pub session_key_source: Option<String>,
    /// The documented opt-out: live mode without a key.
    pub allow_plain_sessions: bool,
}

/// `[scheduler]`.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub default_timezone: chrono_tz::Tz,
    /// A missed slot newer than this gets one catch-up send under `once`.
    pub misfire_grace: Duration,
    /// Slots are claimed (rows and `random_id` committed) this far ahead.
    pub lookahead: Duration,
}

/// `[backup]`.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    pub dir: PathBuf,
    pub keep_days: u32,
    /// Cap on an uploaded archive, on each member it unpacks to, and on
    /// their total.
    pub max_unpacked_bytes: u64,
}

/// `[retention]`.
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// Finished deliveries older than this many days are pruned daily; 0
    /// keeps them forever.
    pub deliveries_days: u32,
}

/// `[templates]`.
#[derive(Debug, Clone)]
pub struct TemplatesConfig {
    /// Most chats one template may send to.
    pub max_chats: u32,
    /// Largest attachment, in bytes.
    pub max_media_bytes: u64,
}

/// `[metrics]`: the opt-in Prometheus endpoint.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    /// Where `/metrics` is served; `None` (the default) serves nothing.
    pub listen: Option<std::net::SocketAddr>,
    /// Label send metrics with the account name (one series per account).
    pub per_account: bool,
}

/// `[control]`: the optional remote control listener (gRPC over mutual TLS).
#[derive(Debug, Clone, Default)]
pub struct ControlConfig {
    /// `None` (the default): the Unix socket only.
    pub tcp_listen: Option<std::net::SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    /// A path only; the key itself is read at start-up and never logged.
    pub tls_key: Option<PathBuf>,
    /// Client certificates must chain to this CA.
    pub client_ca: Option<PathBuf>,
    /// Client certificate subject common names (CN) with the admin role.
    pub admin_names: Vec<String>,
    /// … and with the operator role. Any other CN is refused.
    pub operator_names: Vec<String>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub daemon: DaemonConfig,
    pub database: DatabaseConfig,
    pub telegram: TelegramConfig,
    pub scheduler: SchedulerConfig,
    pub backup: BackupConfig,
    pub cluster: ClusterConfig,
    pub metrics: MetricsConfig,
    pub control: ControlConfig,
    pub retention: RetentionConfig,
    pub templates: TemplatesConfig,
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
}

impl Config {
    /// Loads defaults, the file and the environment.
    ///
    /// `explicit` is `--config`: it must exist. Without it the default file
    /// is read when present.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let env = Environment::current();
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(explicit, &env, &vars)
    }

    /// [`Config::load`] with the environment passed in (for tests).
    pub fn load_from(
        explicit: Option<&Path>,
        env: &Environment,
        vars: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let (path, text) = match explicit {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                (Some(p.to_path_buf()), Some(text))
            }
            None => {
                let p = env.default_config_file();
                match std::fs::read_to_string(&p) {
                    Ok(text) => (Some(p), Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
                    Err(source) => return Err(ConfigError::Read { path: p, source }),
                }
            }
        };
        let raw = raw::parse(path.as_deref(), text.as_deref(), vars)?;
        let credentials_dir = vars
            .iter()
            .find(|(k, _)| k == "CREDENTIALS_DIRECTORY")
            .map(|(_, v)| PathBuf::from(v));
        let mut config = raw.resolve(env, credentials_dir.as_deref())?;
        config.source = path;
        Ok(config)
    }

    /// The database URL, with any password replaced by `***`.
    pub fn redacted_database_url(&self) -> String {
        render::redact_url(&self.database.url)
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        render::to_toml(self)
    }
}

#[cfg(test)]
mod tests;

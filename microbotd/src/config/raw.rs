//! The file's shape ([`RawConfig`], serde defaults for every key), the
//! environment overlay, and validation into a [`Config`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cluster::{RawCluster, resolve_node_id};
use super::{
    BackupConfig, ByteSize, Config, ConfigError, ControlConfig, DaemonConfig, DatabaseConfig,
    Environment, HumanDuration, MetricsConfig, RetentionConfig, SchedulerConfig, TelegramConfig,
    TelegramMode, TemplatesConfig,
};
use crate::telegram::Secret;

const SECTIONS: [&str; 10] = [
    "daemon",
    "database",
    "telegram",
    "scheduler",
    "backup",
    "cluster",
    "metrics",
    "control",
    "retention",
    "templates",
];

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawConfig {
    daemon: RawDaemon,
    database: RawDatabase,
    telegram: RawTelegram,
    scheduler: RawScheduler,
    backup: RawBackup,
    cluster: RawCluster,
    metrics: RawMetrics,
    control: RawControl,
    retention: RawRetention,
    templates: RawTemplates,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawDaemon {
    socket: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    operator_group: String,
    admin_group: String,
    slow_call_warn: HumanDuration,
    log_level: String,
    node_id: Option<String>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            socket: None,
            state_dir: None,
            operator_group: "microbot".into(),
            admin_group: "microbot-admin".into(),
            slow_call_warn: HumanDuration(std::time::Duration::from_millis(500)),
            log_level: "info".into(),
            node_id: None,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
    max_connections: u32,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase {
            url: None,
            max_connections: 20,
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawTelegram {
    mode: String,
    api_id: i64,
    api_hash: String,
    api_hash_file: Option<PathBuf>,
    rate_limit_per_minute: u32,
    proxy: String,
    session_key_file: Option<PathBuf>,
    allow_plain_sessions: bool,
}

impl std::fmt::Debug for RawTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTelegram")
            .field("mode", &self.mode)
            .field("api_id", &self.api_id)
            .field("api_hash", &"***")
            .field("api_hash_file", &self.api_hash_file)
            .field("proxy", &super::render::redact_url(&self.proxy))
            .field("session_key_file", &self.session_key_file)
            .field("allow_plain_sessions", &self.allow_plain_sessions)
            .finish()
    }
}

impl Default for RawTelegram {
    fn default() -> Self {
        RawTelegram {
            mode: "live".into(),
            api_id: 0,
            api_hash: String::new(),
            api_hash_file: None,
            rate_limit_per_minute: 20,
            proxy: String::new(),
            session_key_file: None,
            allow_plain_sessions: false,
        }
    }
}

/// The longest `scheduler.lookahead` accepted.
const MAX_LOOKAHEAD: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawScheduler {
    default_timezone: String,
    misfire_grace: HumanDuration,
    lookahead: HumanDuration,
}

impl Default for RawScheduler {
    fn default() -> Self {
        RawScheduler {
            default_timezone: "UTC".into(),
            misfire_grace: HumanDuration(std::time::Duration::from_secs(600)),
            lookahead: HumanDuration(std::time::Duration::from_secs(5)),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawBackup {
    dir: Option<PathBuf>,
    keep_days: u32,
    max_unpacked_bytes: ByteSize,
}

impl Default for RawBackup {
    fn default() -> Self {
        RawBackup {
            dir: None,
            keep_days: 30,
            max_unpacked_bytes: ByteSize(1 << 30),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawMetrics {
    listen: String,
    per_account: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawControl {
    tcp_listen: String,
    tls_cert: String,
    tls_key: String,
    client_ca: String,
    admin_names: Vec<String>,
    operator_names: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawRetention {
    deliveries_days: u32,
}

impl Default for RawRetention {
    fn default() -> Self {
        RawRetention {
            deliveries_days: 90,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawTemplates {
    max_chats: u32,
    max_media_bytes: ByteSize,
}

impl Default for RawTemplates {
    fn default() -> Self {
        RawTemplates {
            max_chats: 1000,
            max_media_bytes: ByteSize(MAX_MEDIA_DEFAULT),
        }
    }
}

/// Parses the file text (if any) with the environment overlay applied.
pub(crate) fn parse(
    path: Option<&Path>,
    text: Option<&str>,
    vars: &[(String, String)],
) -> Result<RawConfig, ConfigError> {
    let shown = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| "<defaults>".into());
    let mut table: toml::Table = match text {
        Some(text) => text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                path: shown.clone(),
                message: crate::toml_error::describe(text, &e),
            })?,
        None => toml::Table::new(),
    };
    overlay_env(&mut table, vars)?;
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        let reason = e.into_inner().message().to_string();
        ConfigError::Invalid { key, reason }
    })
}

/// Applies `MICROBOT_<SECTION>_<KEY>=value` on top of the file.
fn overlay_env(table: &mut toml::Table, vars: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("MICROBOT_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let Some((section, key)) = rest.split_once('_') else {
            continue;
        };
        // Other MICROBOT_ variables (MICROBOT_SOCKET is the CLI's) are not ours.
        if !SECTIONS.contains(&section) {
            continue;
        }
        let value = env_value(value);
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section_table) = entry else {
            return Err(ConfigError::invalid(section, "must be a table"));
        };
        section_table.insert(key.to_string(), value);
    }
    Ok(())
}

/// Environment values are TOML scalars when they parse as one (`20`,
/// `true`), else strings.
fn env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(v @ (toml::Value::Integer(_) | toml::Value::Boolean(_))) => v,
            _ => toml::Value::String(raw.to_string()),
        },
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

impl RawConfig {
    /// Checks every value and fills the derived defaults.
    pub(crate) fn resolve(
        self,
        env: &Environment,
        credentials_dir: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let d = self.daemon;
        let socket = absolute(
            "daemon.socket",
            d.socket.unwrap_or_else(|| env.default_socket()),
        )?;
        let state_dir = absolute(
            "daemon.state_dir",
            d.state_dir.unwrap_or_else(|| env.default_state_dir()),
        )?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&d.log_level) {
            return Err(ConfigError::invalid("daemon.log_level", e.to_string()));
        }
        let url = self
            .database
            .url
            .unwrap_or_else(|| format!("sqlite://{}", state_dir.join("microbot.db").display()));
        crate::store::Backend::from_url(&url)
            .map_err(|e| ConfigError::invalid("database.url", e.to_string()))?;
        if self.database.max_connections == 0 {
            return Err(ConfigError::invalid(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        if self.scheduler.lookahead.0 > MAX_LOOKAHEAD {
            return Err(ConfigError::invalid(
                "scheduler.lookahead",
                "must be at most 10m (rows claimed further ahead hold old text for longer)",
            ));
        }
        let telegram = resolve_telegram(self.telegram, credentials_dir)?;
        let default_timezone = self
            .scheduler
            .default_timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                ConfigError::invalid(
                    "scheduler.default_timezone",
                    format!(
                        "unknown time zone {:?} (use an IANA name such as \"Europe/Istanbul\")",
                        self.scheduler.default_timezone
                    ),
                )
            })?;
        let backup_dir = absolute(
            "backup.dir",
            self.backup
                .dir
                .unwrap_or_else(|| env.default_backup_dir(&state_dir)),
        )?;
        let node_id_configured = d.node_id.is_some();
        let node_id = resolve_node_id(d.node_id)?;
        let cluster = self.cluster.resolve()?;
        let max_unpacked_bytes = self.backup.max_unpacked_bytes.0;
        if !(MIN_UNPACKED..=MAX_UNPACKED).contains(&max_unpacked_bytes) {
            return Err(ConfigError::invalid(
                "backup.max_unpacked_bytes",
                "must be between 1MiB and 4GiB",
            ));
        }
        if self.templates.max_chats == 0 {
            return Err(ConfigError::invalid(
                "templates.max_chats",
                "must be at least 1",
            ));
        }
        let max_media_bytes = self.templates.max_media_bytes.0;
        if !(1..=MAX_MEDIA_LIMIT).contains(&max_media_bytes) {
            return Err(ConfigError::invalid(
                "templates.max_media_bytes",
                "must be between 1 byte and 2GiB (Telegram's limit on a file)",
            ));
        }
        Ok(Config {
            daemon: DaemonConfig {
                socket,
                state_dir,
                operator_group: d.operator_group,
                admin_group: d.admin_group,
                slow_call_warn: d.slow_call_warn.0,
                log_level: d.log_level,
                node_id,
                node_id_configured,
            },
            database: DatabaseConfig {
                url,
                max_connections: self.database.max_connections,
            },
            telegram,
            scheduler: SchedulerConfig {
                default_timezone,
                misfire_grace: self.scheduler.misfire_grace.0,
                lookahead: self.scheduler.lookahead.0,
            },
            backup: BackupConfig {
                dir: backup_dir,
                keep_days: self.backup.keep_days,
                max_unpacked_bytes,
            },
            retention: RetentionConfig {
                deliveries_days: self.retention.deliveries_days,
            },
            templates: TemplatesConfig {
                max_chats: self.templates.max_chats,
                max_media_bytes,
            },
            cluster,
            metrics: resolve_metrics(self.metrics)?,
            control: resolve_control(self.control)?,
            source: None,
        })
    }
}

fn resolve_metrics(m: RawMetrics) -> Result<MetricsConfig, ConfigError> {
    let listen = match m.listen.trim() {
        "" => None,
        addr => Some(addr.parse::<std::net::SocketAddr>().map_err(|_| {
            ConfigError::invalid(
                "metrics.listen",
                format!("{addr:?} is not an address:port such as \"127.0.0.1:9464\""),
            )
        })?),
    };
    Ok(MetricsConfig {
        listen,
        per_account: m.per_account,
    })
}

fn resolve_control(c: RawControl) -> Result<ControlConfig, ConfigError> {
    let tcp_listen = match c.tcp_listen.trim() {
        "" => None,
        addr => Some(addr.parse::<std::net::SocketAddr>().map_err(|_| {
            ConfigError::invalid(
                "control.tcp_listen",
                format!("{addr:?} is not an address:port such as \"0.0.0.0:7443\""),
            )
        })?),
    };
    let file = |key: &str, value: String| -> Result<Option<PathBuf>, ConfigError> {
        match value.trim() {
            "" if tcp_listen.is_some() => Err(ConfigError::invalid(
                format!("control.{key}"),
                "required with control.tcp_listen (PEM file)",
            )),
            "" => Ok(None),
            v => absolute(&format!("control.{key}"), PathBuf::from(v)).map(Some),
        }
    };
    Ok(ControlConfig {
        tcp_listen,
        tls_cert: file("tls_cert", c.tls_cert)?,
        tls_key: file("tls_key", c.tls_key)?,
        client_ca: file("client_ca", c.client_ca)?,
        admin_names: c.admin_names,
        operator_names: c.operator_names,
    })
}
/// Default of `templates.max_media_bytes` (20MiB).
const MAX_MEDIA_DEFAULT: u64 = 20 << 20;
/// Largest `templates.max_media_bytes`: Telegram takes files up to 2GiB.
const MAX_MEDIA_LIMIT: u64 = 2 << 30;

/// Bounds of `backup.max_unpacked_bytes`: the CLI refuses backup files
/// above [`MAX_UNPACKED`] before reading them, so the key cannot exceed it.
const MIN_UNPACKED: u64 = 1 << 20;
pub(crate) const MAX_UNPACKED: u64 = 4 << 30;

fn absolute(key: &str, p: PathBuf) -> Result<PathBuf, ConfigError> {
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(ConfigError::invalid(
            key,
            format!("{:?} must be an absolute path", p.display().to_string()),
        ))
    }
}

fn resolve_telegram(
    t: RawTelegram,
    credentials_dir: Option<&Path>,
) -> Result<TelegramConfig, ConfigError> {
    let mode = match t.mode.as_str() {
        "live" => TelegramMode::Live,
        "dry-run" => TelegramMode::DryRun,
        other => {
            return Err(ConfigError::invalid(
                "telegram.mode",
                format!("unknown mode {other:?} (use \"live\" or \"dry-run\")"),
            ));
        }
    };
    if t.rate_limit_per_minute == 0 {
        return Err(ConfigError::invalid(
            "telegram.rate_limit_per_minute",
            "must be at least 1",
        ));
    }
    let api_id = i32::try_from(t.api_id)
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| ConfigError::invalid("telegram.api_id", "must be a positive number"))?;
    if !t.api_hash.is_empty() && t.api_hash_file.is_some() {
        return Err(ConfigError::invalid(
            "telegram.api_hash_file",
            "set either api_hash or api_hash_file, not both",
        ));
    }
    // The systemd credential wins: it is how the packaged service is meant
    // to get the hash. The unit supplies a lone newline when no credential
    // file exists, so an empty credential means "not set".
    let credential = match credentials_dir.map(|d| d.join("telegram_api_hash")) {
        Some(file) if file.exists() => std::fs::read_to_string(&file)
            .map(|text| text.trim().to_string())
            .map_err(|e| {
                ConfigError::invalid(
                    "credential telegram_api_hash",
                    format!("{}: {e}", file.display()),
                )
            })?,
        _ => String::new(),
    };
    let (api_hash, source) = if !credential.is_empty() {
        (
            Some(Secret::new(credential)),
            Some("systemd credential telegram_api_hash".to_string()),
        )
    } else if !t.api_hash.is_empty() {
        (
            Some(Secret::new(t.api_hash)),
            Some("telegram.api_hash".to_string()),
        )
    } else if let Some(file) = &t.api_hash_file {
        let value = read_secret_file(file)
            .map_err(|reason| ConfigError::invalid("telegram.api_hash_file", reason))?;
        (Some(value), Some(file.display().to_string()))
    } else {
        (None, None)
    };
    if mode == TelegramMode::Live && (api_id == 0 || api_hash.is_none()) {
        let missing = match (api_id == 0, api_hash.is_none()) {
            (true, true) => "api_id and api_hash",
            (true, false) => "api_id",
            _ => "api_hash",
        };
        return Err(ConfigError::invalid(
            format!("telegram.{}", missing.split(' ').next().unwrap_or(missing)),
            format!(
                "live mode needs {missing} (get them at https://my.telegram.org → API development \
                 tools; put the hash in api_hash, api_hash_file or the systemd credential \
                 telegram_api_hash), or set mode = \"dry-run\""
            ),
        ));
    }
    let proxy = match t.proxy.trim() {
        "" => None,
        url => {
            crate::telegram::live::proxy::validate(url)
                .map_err(|why| ConfigError::invalid("telegram.proxy", why))?;
            Some(Secret::new(url))
        }
    };
    let (session_key, session_key_source) =
        super::session_key::resolve(t.session_key_file.as_deref(), credentials_dir)?;
    if mode == TelegramMode::Live && session_key.is_none() && !t.allow_plain_sessions {
        return Err(ConfigError::invalid(
            "telegram.session_key_file",
            "live mode seals Telegram sessions at rest and needs a session key: give the \
             systemd credential session_key or session_key_file (32 random bytes: \
             head -c 32 /dev/urandom), or set allow_plain_sessions = true to store them in clear",
        ));
    }
    Ok(TelegramConfig {
        mode,
        api_id,
        api_hash,
        api_hash_source: source,
        rate_limit_per_minute: t.rate_limit_per_minute,
        proxy,
        session_key,
        session_key_source,
        allow_plain_sessions: t.allow_plain_sessions,
    })
}

fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(value))
}

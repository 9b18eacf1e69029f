//! SIGHUP: re-read the configuration file the daemon started with and apply
//! what can change live — `daemon.log_level`, `daemon.slow_call_warn`,
//! `telegram.rate_limit_per_minute` (see `config::keys`) — and name, at WARN,
//! every changed key that needs a restart. An invalid file changes nothing.
//!
//! # Lifecycle
//! [`run`] waits on its trigger (SIGHUP, from `main.rs`): `RELOADING=1` →
//! load → [`apply`] → `READY=1` with the status line, whatever the outcome.

use std::future::Future;
use std::sync::Arc;

use crate::config::keys::{KEYS, KeyDoc};
use crate::config::{Config, format_duration};
use crate::context::Context;
use crate::live::LiveSettings;
use crate::logging::LogControl;

use super::notify;

/// What one reload changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Live keys applied, as `key: old → new`.
    pub applied: Vec<String>,
    /// Keys that differ from the running configuration but need a restart.
    pub needs_restart: Vec<String>,
}

/// Reloads each time `trigger` fires, until dropped. `status` gives the
/// `STATUS=` line sent with `READY=1` afterwards.
pub async fn run<S, F>(ctx: Context, trigger: Arc<tokio::sync::Notify>, status: S)
where
    S: Fn() -> F,
    F: Future<Output = String>,
{
    // The last configuration read: live keys are applied when the file
    // changes them, so `microbotctl log-level` survives an unrelated reload.
    let mut loaded = (*ctx.config).clone();
    loop {
        trigger.notified().await;
        notify::reloading();
        tracing::info!("SIGHUP: reloading the configuration");
        match Config::load(ctx.config.source.as_deref()) {
            Ok(new) => {
                let outcome = apply(&ctx.live, &ctx.log, &ctx.config, &loaded, &new);
                if outcome.applied.is_empty() {
                    tracing::info!("configuration reloaded; nothing to apply live");
                }
                loaded = new;
            }
            Err(e) => {
                tracing::error!("reload failed, still running the previous configuration: {e}");
            }
        }
        notify::ready(&status().await);
    }
}

/// Applies the live keys `new` changes relative to `previous` (to `live`
/// and `log`) and warns about keys that differ from `running` (the start-up
/// configuration) but need a restart.
pub fn apply(
    live: &LiveSettings,
    log: &LogControl,
    running: &Config,
    previous: &Config,
    new: &Config,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut new_level = None;
    for key in KEYS {
        let path = key.path();
        if key.reloadable {
            let (old, now) = (value_of(previous, key), value_of(new, key));
            if old != now {
                tracing::info!(key = %path, "reload: {path} changed: {old} → {now}");
                if path == "daemon.log_level" {
                    // Last, or a quieter level would hide the lines above.
                    new_level = Some(&new.daemon.log_level);
                } else {
                    set_live(live, &path, new);
                }
                outcome.applied.push(format!("{path}: {old} → {now}"));
            }
        } else if value_of(running, key) != value_of(new, key) {
            tracing::warn!(
                key = %path,
                "reload: {path} changed in the file but needs a restart to apply \
                 (systemctl restart microbotd)"
            );
            outcome.needs_restart.push(path);
        }
    }
    if let Some(level) = new_level
        && let Err(e) = log.set(level)
    {
        tracing::error!("reload: daemon.log_level: {e}");
    }
    outcome
}

fn set_live(live: &LiveSettings, path: &str, new: &Config) {
    match path {
        "daemon.slow_call_warn" => live.set_slow_call_warn(new.daemon.slow_call_warn),
        "telegram.rate_limit_per_minute" => {
            live.set_rate_limit_per_minute(new.telegram.rate_limit_per_minute)
        }
        other => tracing::error!("reload: {other} is marked reloadable but nothing applies it"),
    }
}

/// A key's value, comparable between two configurations. Secrets are
/// compared but never shown: only reloadable keys' values are logged, and
/// none of them is secret.
fn value_of(c: &Config, key: &KeyDoc) -> String {
    let (d, db, t) = (&c.daemon, &c.database, &c.telegram);
    match (key.section, key.name) {
        ("daemon", "socket") => d.socket.display().to_string(),
        ("daemon", "state_dir") => d.state_dir.display().to_string(),
        ("daemon", "operator_group") => d.operator_group.clone(),
        ("daemon", "admin_group") => d.admin_group.clone(),
        ("daemon", "slow_call_warn") => format_duration(d.slow_call_warn),
        ("daemon", "log_level") => d.log_level.clone(),
        ("daemon", "node_id") if d.node_id_configured => d.node_id.clone(),
        ("daemon", "node_id") => "<derived at start>".to_string(),
        ("database", "url") => db.url.clone(),
        ("database", "max_connections") => db.max_connections.to_string(),
        ("telegram", "mode") => t.mode.as_str().to_string(),
        ("telegram", "api_id") => t.api_id.to_string(),
        ("telegram", "api_hash") => t
            .api_hash
            .as_ref()
            .map(|s| s.expose().to_string())
            .unwrap_or_default(),
        ("telegram", "api_hash_file") => t.api_hash_source.clone().unwrap_or_default(),
        ("telegram", "rate_limit_per_minute") => t.rate_limit_per_minute.to_string(),
        ("telegram", "proxy") => t
            .proxy
            .as_ref()
            .map(|s| s.expose().to_string())
            .unwrap_or_default(),
        // The key's source and id: a new key (or file) is a change.
        ("telegram", "session_key_file") => format!(
            "{} {}",
            t.session_key_source.clone().unwrap_or_default(),
            t.session_key
                .as_ref()
                .map(|k| k.id().to_hex())
                .unwrap_or_default()
        ),
        ("telegram", "allow_plain_sessions") => t.allow_plain_sessions.to_string(),
        ("scheduler", "default_timezone") => c.scheduler.default_timezone.name().to_string(),
        ("scheduler", "misfire_grace") => format_duration(c.scheduler.misfire_grace),
        ("scheduler", "lookahead") => format_duration(c.scheduler.lookahead),
        ("backup", "dir") => c.backup.dir.display().to_string(),
        ("backup", "keep_days") => c.backup.keep_days.to_string(),
        ("cluster", "lease") => format_duration(c.cluster.lease),
        ("cluster", "renew") => format_duration(c.cluster.renew),
        ("cluster", "retry") => format_duration(c.cluster.retry),
        ("metrics", "listen") => c.metrics.listen.map(|a| a.to_string()).unwrap_or_default(),
        ("metrics", "per_account") => c.metrics.per_account.to_string(),
        ("control", "tcp_listen") => c
            .control
            .tcp_listen
            .map(|a| a.to_string())
            .unwrap_or_default(),
        ("control", "tls_cert") => format!("{:?}", c.control.tls_cert),
        ("control", "tls_key") => format!("{:?}", c.control.tls_key),
        ("control", "client_ca") => format!("{:?}", c.control.client_ca),
        ("control", "admin_names") => c.control.admin_names.join(","),
        ("control", "operator_names") => c.control.operator_names.join(","),
        ("backup", "max_unpacked_bytes") => c.backup.max_unpacked_bytes.to_string(),
        ("retention", "deliveries_days") => c.retention.deliveries_days.to_string(),
        ("templates", "max_chats") => c.templates.max_chats.to_string(),
        ("templates", "max_media_bytes") => c.templates.max_media_bytes.to_string(),
        // A key added to the table but not here: every reload warns about it
        // (tested below), so it cannot go unnoticed.
        _ => format!("<unknown key {}>", key.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("microbotd.toml");
        let text = format!(
            "[daemon]\nsocket = \"/run/t/control.sock\"\nstate_dir = \"/var/lib/t\"\n{text}"
        );
        std::fs::write(&path, text).unwrap();
        let env = crate::config::Environment {
            xdg_runtime_dir: None,
            xdg_config_home: None,
            ..crate::config::Environment::user_in(dir.path())
        };
        let vars = vec![("MICROBOT_TELEGRAM_MODE".to_string(), "dry-run".to_string())];
        Config::load_from(Some(&path), &env, &vars).unwrap()
    }

    #[test]
    fn every_key_has_a_comparable_value() {
        let c = config("");
        for k in KEYS {
            assert!(
                !value_of(&c, k).starts_with("<unknown key"),
                "reload::value_of does not know {}",
                k.path()
            );
        }
    }

    #[test]
    fn reloadable_keys_are_applied_only_when_the_file_changes_them() {
        let old = config("log_level = \"info\"\nslow_call_warn = \"500ms\"\n");
        let new = config(
            "log_level = \"debug\"\nslow_call_warn = \"2s\"\n\
             [telegram]\nrate_limit_per_minute = 7\n",
        );
        let (live, log) = (
            LiveSettings::from_config(&old),
            LogControl::detached("info"),
        );
        let outcome = apply(&live, &log, &old, &old, &new);
        assert_eq!(
            outcome.applied,
            vec![
                "daemon.slow_call_warn: 500ms → 2s",
                "daemon.log_level: info → debug",
                "telegram.rate_limit_per_minute: 20 → 7",
            ]
        );
        assert!(outcome.needs_restart.is_empty(), "{outcome:?}");
        assert_eq!(live.rate_limit_per_minute(), 7);
        assert_eq!(live.slow_call_warn(), std::time::Duration::from_secs(2));
        assert_eq!(log.current(), "debug");
        // An operator's `log-level trace` survives a reload that leaves the
        // file's level alone.
        log.set("trace").unwrap();
        let again = apply(&live, &log, &old, &new, &new);
        assert_eq!(again, Outcome::default());
        assert_eq!(log.current(), "trace");
    }

    #[test]
    fn restart_keys_are_named_not_applied() {
        let old = config("");
        let new = config(
            "operator_group = \"ops\"\nnode_id = \"n1\"\n\
             [database]\nurl = \"postgres://u:pw@db/x\"\n\
             [telegram]\napi_hash = \"abc\"\n[cluster]\nlease = \"20s\"\n",
        );
        let (live, log) = (
            LiveSettings::from_config(&old),
            LogControl::detached("info"),
        );
        let outcome = apply(&live, &log, &old, &old, &new);
        assert!(outcome.applied.is_empty(), "{outcome:?}");
        assert_eq!(
            outcome.needs_restart,
            vec![
                "daemon.operator_group",
                "daemon.node_id",
                "database.url",
                "telegram.api_hash",
                "telegram.api_hash_file",
                "cluster.lease"
            ]
        );
        assert_eq!(live.rate_limit_per_minute(), 20);
    }
}

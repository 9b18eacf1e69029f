//! [`KEYS`]: every configuration key with its default, whether a SIGHUP
//! reload applies it, and what it means. One table: `microbotd.toml(5)` is
//! generated from it, `systemd::reload` uses it to name what changed, and a
//! test holds its defaults to the real ones (`raw.rs`).

/// A key's built-in default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A fixed value, written as a TOML literal (`"info"`, `20`).
    Literal(&'static str),
    /// Worked out at start-up; the text says how.
    Derived(&'static str),
}

/// One key of `microbotd.toml`.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub section: &'static str,
    pub name: &'static str,
    pub default: DefaultValue,
    /// True when SIGHUP (`systemctl reload microbotd`) applies a change;
    /// otherwise a change takes a restart.
    pub reloadable: bool,
    pub meaning: &'static str,
}

impl KeyDoc {
    /// `section.name`, as in error messages and the environment overlay.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }

    /// The environment variable overriding it (`MICROBOT_DAEMON_LOG_LEVEL`).
    pub fn env_var(&self) -> String {
        format!("MICROBOT_{}_{}", self.section, self.name).to_ascii_uppercase()
    }
}

use DefaultValue::{Derived, Literal};

const fn key(
    section: &'static str,
    name: &'static str,
    default: DefaultValue,
    reloadable: bool,
    meaning: &'static str,
) -> KeyDoc {
    KeyDoc {
        section,
        name,
        default,
        reloadable,
        meaning,
    }
}

/// Every key, in file order.
pub const KEYS: &[KeyDoc] = &[
    key(
        "daemon",
        "socket",
        Derived(
            "/run/microbot/control.sock for a system service ($RUNTIME_DIRECTORY/control.sock \
             under systemd); $XDG_RUNTIME_DIR/microbot/control.sock for other users",
        ),
        false,
        "Path of the control socket (gRPC over a Unix stream socket, mode 0660, group \
         operator_group). Under systemd, microbotd.socket binds it and hands it over; \
         change ListenStream= there too.",
    ),
    key(
        "daemon",
        "state_dir",
        Derived(
            "/var/lib/microbot for a system service ($STATE_DIRECTORY under systemd); \
             $XDG_STATE_HOME/microbot (~/.local/state/microbot) for other users",
        ),
        false,
        "Directory for the SQLite database, the dry-run ledger and other state.",
    ),
    key(
        "daemon",
        "operator_group",
        Literal("\"microbot\""),
        false,
        "Members may read everything and manage templates and schedulers.",
    ),
    key(
        "daemon",
        "admin_group",
        Literal("\"microbot-admin\""),
        false,
        "Members may do everything (accounts, logins, backups, database maintenance). Root \
         and the daemon's own user always may.",
    ),
    key(
        "daemon",
        "slow_call_warn",
        Literal("\"500ms\""),
        true,
        "Control calls slower than this are logged at WARN with \"took longer than\".",
    ),
    key(
        "daemon",
        "log_level",
        Literal("\"info\""),
        true,
        "Log filter: a level (error, warn, info, debug, trace) or RUST_LOG directives such \
         as \"info,microbotd=debug\". RUST_LOG in the environment wins at start-up; \
         microbotctl log-level changes it at run time.",
    ),
    key(
        "daemon",
        "node_id",
        Derived("<hostname>-<random>, a new random suffix at every start"),
        false,
        "This daemon's name among the nodes sharing one PostgreSQL database (at most 64 \
         printable characters). Shown by microbotctl status and cluster status, in the start-up \
         log line and as the journald field NODE on every line.",
    ),
    key(
        "database",
        "url",
        Derived("sqlite://<state_dir>/microbot.db"),
        false,
        "sqlite://PATH (embedded, the default) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB. \
         A password is never printed.",
    ),
    key(
        "database",
        "max_connections",
        Literal("20"),
        false,
        "Size of the database connection pool.",
    ),
    key(
        "telegram",
        "mode",
        Literal("\"live\""),
        false,
        "\"live\" talks to Telegram (needs api_id and api_hash); \"dry-run\" sends nothing and \
         appends every message to <state_dir>/dry-run-ledger.jsonl (login code 22222).",
    ),
    key(
        "telegram",
        "api_id",
        Literal("0"),
        false,
        "API id from https://my.telegram.org (required in live mode).",
    ),
    key(
        "telegram",
        "api_hash",
        Literal("\"\""),
        false,
        "API hash from https://my.telegram.org (live mode). Prefer api_hash_file or the \
         systemd credential telegram_api_hash, which keep it out of this file.",
    ),
    key(
        "telegram",
        "api_hash_file",
        Derived("unset"),
        false,
        "File holding the API hash (surrounding whitespace is trimmed). Without api_hash and \
         api_hash_file, the systemd credential telegram_api_hash is used when present.",
    ),
    key(
        "telegram",
        "rate_limit_per_minute",
        Literal("20"),
        true,
        "Messages per minute per account (a token bucket), on top of Telegram's own limits.",
    ),
    key(
        "telegram",
        "proxy",
        Literal("\"\""),
        false,
        "SOCKS5 proxy for every Telegram connection, \"socks5://[user[:password]@]host:port\" \
         (for networks where Telegram is filtered); empty = connect directly. The password is \
         never logged and check-config shows it as ***.",
    ),
    key(
        "telegram",
        "session_key_file",
        Derived("unset"),
        false,
        "File holding the key Telegram sessions are sealed with at rest (ChaCha20-Poly1305): \
         32 random bytes (head -c 32 /dev/urandom) or 64 hex digits, mode 0600 (a file group \
         or others may read is refused). The systemd credential session_key wins when present \
         (LoadCredentialEncrypted=, see microbotd(8)). Live mode refuses to start without a key \
         unless allow_plain_sessions = true. check-config shows where the key came from and its \
         id, never the key. Rotate with microbotd rekey --new-key-file F.",
    ),
    key(
        "telegram",
        "allow_plain_sessions",
        Literal("false"),
        false,
        "The opt-out: true lets live mode start without a session key and store Telegram \
         sessions in clear in the database (any database dump or backup is then a takeover of \
         every account). Dry-run needs no key either way.",
    ),
    key(
        "scheduler",
        "default_timezone",
        Literal("\"UTC\""),
        false,
        "IANA time zone for templates created without --tz.",
    ),
    key(
        "scheduler",
        "misfire_grace",
        Literal("\"10m\""),
        false,
        "After downtime, a template with misfire policy \"once\" sends one catch-up message \
         when its newest missed slot is at most this old.",
    ),
    key(
        "scheduler",
        "lookahead",
        Literal("\"5s\""),
        false,
        "How far ahead of a slot its deliveries are claimed: rows and their random_id are \
         committed this early, so at the slot's instant only the send call remains. An edit, \
         disable or scheduler stop inside the window cancels the claimed rows (state \
         cancelled) and plans the slots again. 0 claims at the instant; at most 10m.",
    ),
    key(
        "backup",
        "dir",
        Derived("/var/backups/microbot for a system service; <state_dir>/backups for other users"),
        false,
        "Where backups are written and pruned.",
    ),
    key(
        "backup",
        "keep_days",
        Literal("30"),
        false,
        "Backups older than this many days are pruned.",
    ),
    key(
        "backup",
        "max_unpacked_bytes",
        Literal("\"1GiB\""),
        false,
        "Cap on an archive sent to backup verify or restore, on each member it unpacks to and \
         on their total (1MiB to 4GiB). Larger uploads are refused as they stream in, so a \
         gzip bomb costs neither memory nor disk.",
    ),
    key(
        "retention",
        "deliveries_days",
        Literal("90"),
        false,
        "Finished deliveries (sent, failed, missed, cancelled) older than this many days are \
         deleted once a day, in batches; doctor shows the setting and the oldest row. 0 keeps \
         them forever.",
    ),
    key(
        "templates",
        "max_chats",
        Literal("1000"),
        false,
        "Most chats one template may send to; create, edit, apply and restore refuse more.",
    ),
    key(
        "templates",
        "max_media_bytes",
        Literal("\"20MiB\""),
        false,
        "Largest file a template may attach (--photo, --video, --document; 1 byte to 2GiB); \
         create, edit and apply refuse a bigger one with nothing written. The files live in the \
         database, so backups carry them.",
    ),
    key(
        "cluster",
        "lease",
        Literal("\"15s\""),
        false,
        "PostgreSQL only (SQLite is single-node). How long an account's lease lasts after each \
         renew, by the database's clock; a dead node's accounts move after this. Must be longer \
         than renew.",
    ),
    key(
        "cluster",
        "renew",
        Literal("\"10s\""),
        false,
        "A node stops sending for an account when its last successful renew was sent longer \
         ago than this (its own monotonic clock), so a node cut off from the database goes \
         silent before its lease expires. Must be shorter than lease, longer than retry.",
    ),
    key(
        "cluster",
        "retry",
        Literal("\"2s\""),
        false,
        "How often a node renews its leases, takes free or expired ones up to its fair share \
         and gives surplus back.",
    ),
    key(
        "metrics",
        "listen",
        Literal("\"\""),
        false,
        "Address:port of the Prometheus endpoint (GET /metrics, OpenMetrics text), e.g. \
         \"127.0.0.1:9464\". Empty: no metrics and no TCP listener at all. The endpoint has \
         no authentication: bind it to loopback or a monitoring network.",
    ),
    key(
        "metrics",
        "per_account",
        Literal("false"),
        false,
        "Add an account label to the send metrics (one series per account and outcome). \
         Off by default to keep the number of series small.",
    ),
    key(
        "control",
        "tcp_listen",
        Literal("\"\""),
        false,
        "Address:port for remote control: the same gRPC API over mutual TLS, e.g. \
         \"0.0.0.0:7443\". Empty: the Unix socket only and no TCP listener. Needs tls_cert, \
         tls_key and client_ca; callers present a client certificate signed by client_ca whose \
         subject common name (CN) is listed in admin_names or operator_names.",
    ),
    key(
        "control",
        "tls_cert",
        Literal("\"\""),
        false,
        "Server certificate chain (PEM) for tcp_listen. microbotctl doctor warns 30 days \
         before it expires.",
    ),
    key(
        "control",
        "tls_key",
        Literal("\"\""),
        false,
        "Private key (PEM, PKCS#8, PKCS#1 or SEC1) of tls_cert; keep it mode 0600.",
    ),
    key(
        "control",
        "client_ca",
        Literal("\"\""),
        false,
        "CA certificate(s) (PEM) client certificates must chain to. A connection without a \
         valid client certificate (none, another CA, expired) is refused during the TLS \
         handshake, before any service runs.",
    ),
    key(
        "control",
        "admin_names",
        Literal("[]"),
        false,
        "Client certificate subject common names (CN) that get the admin role over tcp_listen.",
    ),
    key(
        "control",
        "operator_names",
        Literal("[]"),
        false,
        "Client certificate subject common names (CN) that get the operator role over \
         tcp_listen. A valid certificate whose CN is in neither list gets PERMISSION_DENIED. \
         The audit trail records remote callers with uid -1 and their CN as subject.",
    ),
];

/// The table entry for `section.name`.
pub fn find(path: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.path() == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in defaults, as the file would spell them.
    fn real_defaults() -> toml::Table {
        let text = toml::to_string(&super::super::raw::RawConfig::default()).unwrap();
        text.parse().unwrap()
    }

    #[test]
    fn literal_defaults_are_the_real_ones() {
        let real = real_defaults();
        for k in KEYS {
            let actual = real.get(k.section).and_then(|s| s.get(k.name));
            match k.default {
                Literal(lit) => {
                    let want: toml::Table = format!("v = {lit}").parse().unwrap();
                    assert_eq!(actual, want.get("v"), "{}: table says {lit}", k.path());
                }
                Derived(_) => assert!(
                    actual.is_none(),
                    "{} has a fixed default {actual:?}; the table calls it derived",
                    k.path()
                ),
            }
        }
    }

    #[test]
    fn every_key_of_the_file_is_described_once() {
        let real = real_defaults();
        for (section, keys) in &real {
            for name in keys.as_table().unwrap().keys() {
                assert!(
                    find(&format!("{section}.{name}")).is_some(),
                    "{section}.{name} is missing from config::keys::KEYS"
                );
            }
        }
        let mut paths: Vec<String> = KEYS.iter().map(KeyDoc::path).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), KEYS.len(), "a key is listed twice");
        // Derived keys are the Option fields: parsing a file that sets them works.
        for k in KEYS.iter().filter(|k| matches!(k.default, Derived(_))) {
            let text = format!("[{}]\n{} = \"/x\"\n", k.section, k.name);
            super::super::raw::parse(None, Some(&text), &[])
                .unwrap_or_else(|e| panic!("{}: {e}", k.path()));
        }
    }

    #[test]
    fn system_service_derived_defaults_match_the_text() {
        let env = super::super::Environment {
            is_root: true,
            uid: 0,
            home: None,
            xdg_runtime_dir: None,
            xdg_state_home: None,
            xdg_config_home: None,
            systemd_runtime_dir: None,
            systemd_state_dir: None,
        };
        let vars = vec![("MICROBOT_TELEGRAM_MODE".to_string(), "dry-run".to_string())];
        // Through the raw layer: as root, Config::load would read
        // /etc/microbot/microbotd.toml, which a build machine may have.
        let c = super::super::raw::parse(None, None, &vars)
            .unwrap()
            .resolve(&env, None)
            .unwrap();
        let derived = |p: &str| match find(p).unwrap().default {
            Derived(text) => text,
            Literal(_) => panic!("{p} is not derived"),
        };
        assert!(derived("daemon.socket").starts_with(&c.daemon.socket.display().to_string()));
        assert!(derived("daemon.state_dir").starts_with(&c.daemon.state_dir.display().to_string()));
        assert!(derived("backup.dir").starts_with(&c.backup.dir.display().to_string()));
        assert_eq!(
            derived("database.url").replace("<state_dir>", "/var/lib/microbot"),
            c.database.url
        );
    }

    #[test]
    fn the_shipped_config_file_shows_the_real_defaults() {
        let text = include_str!("../../../packaging/microbotd.toml");
        let mut section = String::new();
        let mut seen = 0;
        for line in text.lines() {
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_string();
            } else if let Some((name, value)) = line
                .strip_prefix('#')
                .and_then(|l| l.split_once(" = "))
                .filter(|(n, _)| !n.contains(' '))
            {
                let k = find(&format!("{section}.{name}")).unwrap_or_else(|| {
                    panic!("packaging/microbotd.toml: unknown {section}.{name}")
                });
                if let Literal(lit) = k.default {
                    assert_eq!(value, lit, "packaging/microbotd.toml: {}", k.path());
                }
                seen += 1;
            }
        }
        assert_eq!(
            seen,
            KEYS.len(),
            "packaging/microbotd.toml lists every key once"
        );
    }
}

//! microbotd's command line ([`Args`]), in the library so the man page
//! generator (`microbotd man DIR`) renders the same definition `main.rs`
//! parses.

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::keys::{DefaultValue, KEYS};

#[derive(Parser, Debug)]
#[command(
    name = "microbotd",
    version,
    about = "microbot daemon: scheduled Telegram messages",
    long_about = "microbot daemon: sends scheduled messages from Telegram accounts, exactly once \
                  across crashes, and serves the gRPC control API that microbotctl(1) uses on a \
                  Unix socket. Normally run by systemd (microbotd.service, microbotd.socket).",
    after_help = "Configuration keys: man 5 microbotd.toml. Exit status 78: invalid configuration."
)]
pub struct Args {
    /// Configuration file (default: /etc/microbot/microbotd.toml as a system
    /// service, else $XDG_CONFIG_HOME/microbot/microbotd.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the configuration and print it with secrets redacted.
    #[command(after_long_help = keys_help())]
    CheckConfig,
    /// Apply database migrations and exit.
    Migrate,
    /// Re-seal every stored Telegram session under a new session key, then
    /// exit. Offline: stop every microbotd on the database first.
    #[command(long_about = REKEY_ABOUT)]
    Rekey {
        /// The new key: 32 random bytes (or 64 hex digits), mode 0600.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
    /// Write the manual pages microbotd.8 and microbotd.toml.5 into DIR
    /// (packaging; see scripts/gen-man.sh).
    #[command(hide = true)]
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

const REKEY_ABOUT: &str = "Re-seal every stored Telegram session under a new session key, then \
exit. Offline: stop every microbotd on the database first (on SQLite the database lock refuses a \
running daemon).

Sessions are read with the configured key (the systemd credential session_key or \
telegram.session_key_file; sessions stored in clear need none) and written under the new one, \
one account at a time. Each row keeps the id of the key it is sealed under, so a run killed \
half-way is finished by running the same command again. Only when it says \"done\" give the \
daemon the new key, for example:

    head -c 32 /dev/urandom > /root/session_key.new
    systemctl stop microbotd
    microbotd --config /etc/microbot/microbotd.toml rekey --new-key-file /root/session_key.new
    systemd-creds encrypt --name=session_key /root/session_key.new \\
        /etc/microbot/credentials/session_key.cred
    systemctl start microbotd

One line per account is printed; the key itself never is. Exit status 1 when a session could \
not be opened (it is named and left as it was).";

/// The clap definition, for man pages and completions.
pub fn command() -> clap::Command {
    Args::command()
}

/// `check-config --help`'s list of keys, from the key table: one line per
/// key, `[section] name = default`, marked when a reload applies it.
fn keys_help() -> String {
    let mut out = String::from(
        "Keys and defaults (R = applied by `systemctl reload`, the others need a restart;\n\
         see man 5 microbotd.toml):\n",
    );
    for k in KEYS {
        let default = match k.default {
            DefaultValue::Literal(lit) => lit,
            DefaultValue::Derived(_) => "(derived)",
        };
        let mark = if k.reloadable { "R" } else { " " };
        out.push_str(&format!(
            "  {mark} [{}] {} = {default}\n",
            k.section, k.name
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_config_help_lists_every_key() {
        let help = command()
            .find_subcommand_mut("check-config")
            .unwrap()
            .render_long_help()
            .to_string();
        for k in KEYS {
            assert!(
                help.contains(&format!("[{}] {} =", k.section, k.name)),
                "{} missing from check-config --help:\n{help}",
                k.path()
            );
        }
        assert!(
            help.contains("R [telegram] rate_limit_per_minute = 20"),
            "{help}"
        );
    }

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }
}

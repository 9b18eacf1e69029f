//! microbotd's command line ([`Args`]), in the library so the man page
//! generator (`microbotd man DIR`) renders the same definition `main.rs`
//! parses.

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

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
    CheckConfig,
    /// Apply database migrations and exit.
    Migrate,
    /// Write the manual pages microbotd.8 and microbotd.toml.5 into DIR
    /// (packaging; see scripts/gen-man.sh).
    #[command(hide = true)]
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// The clap definition, for man pages and completions.
pub fn command() -> clap::Command {
    Args::command()
}

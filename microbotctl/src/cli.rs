//! The command line, as clap derive types. Names, flags and exit codes are
//! a contract operators' scripts depend on (docs/DESIGN.md "CLI").

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::output::Format;

#[derive(Parser, Debug)]
#[command(
    name = "microbotctl",
    version,
    about = "Control microbotd: accounts, templates, schedulers, deliveries, backups",
    after_help = "Exit codes: 0 ok, 1 failed or unhealthy, 2 usage, 69 daemon unreachable."
)]
pub struct Cli {
    /// Control socket of the daemon [default: the user's daemon if running, else /run/microbot/control.sock]
    #[arg(long, global = true, env = "MICROBOT_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Remote daemon over mutual TLS, https://HOST:PORT (its [control] tcp_listen); used instead of --socket
    #[arg(long, global = true, env = "MICROBOT_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// With --endpoint: CA certificate (PEM) the daemon's certificate must chain to
    #[arg(long, global = true, env = "MICROBOT_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// With --endpoint: this client's certificate (PEM); its subject CN decides the role
    #[arg(long, global = true, env = "MICROBOT_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// With --endpoint: the key of --cert (PEM)
    #[arg(long, global = true, env = "MICROBOT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Output format.
    #[arg(
        short = 'o',
        long = "format",
        global = true,
        value_enum,
        default_value = "table"
    )]
    pub output: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Is the daemon up and its database reachable? Exit 1 when not.
    Health,
    /// Version, uptime, database backend, counts and the next sends.
    Status,
    /// Telegram accounts: add, list, log in and out.
    #[command(subcommand)]
    Account(crate::commands::account::AccountCommand),
    /// Message templates: create, list, edit, apply from a file.
    #[command(subcommand)]
    Template(crate::commands::template::TemplateCommand),
    /// Check a cron expression before using it.
    #[command(subcommand)]
    Cron(crate::commands::cron::CronCommand),
    /// The dispatcher per account: status, start, stop.
    #[command(subcommand)]
    Scheduler(crate::commands::scheduler::SchedulerCommand),
    /// The delivery log: list, retry.
    #[command(subcommand)]
    Deliveries(crate::commands::deliveries::DeliveriesCommand),
    /// Database connectivity check and maintenance (vacuum).
    #[command(subcommand)]
    Db(crate::commands::db::DbCommand),
    /// Backups: create (streamed, mode 0600), verify, restore.
    #[command(subcommand)]
    Backup(crate::commands::backup::BackupCommand),
    /// Several daemons on one PostgreSQL: nodes, account leases, release.
    #[command(subcommand)]
    Cluster(crate::commands::cluster::ClusterCommand),
    /// The daily checklist: OK / WARN / FAIL per check; exit 1 on any FAIL.
    Doctor,
    /// The audit trail: who changed what.
    Audit(crate::commands::audit::AuditArgs),
    /// Sent, failed, missed, cancelled, flood waits and lateness per day, account or template.
    Stats(crate::commands::stats::StatsArgs),
    /// Change the daemon's log level without a restart. Admin only.
    LogLevel(crate::commands::log_level::LogLevelArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages into DIR (packaging; see scripts/gen-man.sh).
    #[command(hide = true)]
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

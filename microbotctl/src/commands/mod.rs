//! One module per command group; [`dispatch`] runs the parsed command.

pub mod account;
mod account_login;
pub mod audit;
pub mod backup;
pub mod cluster;
pub mod cron;
pub mod db;
pub mod deliveries;
mod docs;
mod doctor;
mod health;
pub mod log_level;
pub mod scheduler;
pub mod stats;
mod status;
pub mod template;
mod template_media;

use std::process::ExitCode;

use microbot_proto::client::Client;

use crate::cli::{Cli, Command};
use crate::failure::Failure;
use crate::output::Format;

/// What every command gets: the connection and the output format.
pub struct Ctx {
    pub client: Client,
    pub format: Format,
}

impl Ctx {
    /// Maps a failed call to the operator's one line.
    pub fn fail(&self, status: tonic::Status) -> Failure {
        self.client.error(status).into()
    }
}

/// Runs one command and returns its exit code.
pub async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    // These work without a daemon: answer before connecting.
    match &cli.command {
        Command::Completions { shell } => return docs::completions(*shell),
        Command::Man { dir } => return docs::man(dir),
        _ => {}
    }
    let client = match &cli.endpoint {
        Some(endpoint) => crate::remote::connect(endpoint, &cli).await?,
        None => {
            let socket = cli
                .socket
                .clone()
                .unwrap_or_else(crate::socket::default_socket);
            Client::connect(&socket).await?
        }
    };
    let ctx = Ctx {
        client,
        format: cli.output,
    };
    match cli.command {
        Command::Health => health::run(&ctx).await,
        Command::Status => status::run(&ctx).await,
        Command::Account(cmd) => account::run(&ctx, cmd).await,
        Command::Template(cmd) => template::run(&ctx, cmd).await,
        Command::Cron(cmd) => cron::run(&ctx, cmd).await,
        Command::Scheduler(cmd) => scheduler::run(&ctx, cmd).await,
        Command::Deliveries(cmd) => deliveries::run(&ctx, cmd).await,
        Command::Db(cmd) => db::run(&ctx, cmd).await,
        Command::Backup(cmd) => backup::run(&ctx, cmd).await,
        Command::Cluster(cmd) => cluster::run(&ctx, cmd).await,
        Command::Doctor => doctor::run(&ctx).await,
        Command::Audit(args) => audit::run(&ctx, args).await,
        Command::Stats(args) => stats::run(&ctx, args).await,
        Command::LogLevel(args) => log_level::run(&ctx, args).await,
        Command::Completions { .. } | Command::Man { .. } => unreachable!("answered above"),
    }
}

//! `microbotctl scheduler …`: per-account dispatcher status, start and stop.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use microbot_proto::convert::rfc3339;
use microbot_proto::v1::{self, SchedulerControlRequest, SchedulerStatusRequest};
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_rows};

#[derive(Subcommand, Debug)]
pub enum SchedulerCommand {
    /// Per account: running/stopped/limited/flood wait, queued sends, next send, last error.
    Status {
        #[arg(long, value_name = "A")]
        account: Option<String>,
    },
    /// Start sending for an account (operators) or for all (admins only).
    Start(Which),
    /// Stop sending for an account (operators) or for all (admins only);
    /// what comes due meanwhile follows each template's misfire policy on start.
    Stop(Which),
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// This account only (operators may).
    #[arg(long, value_name = "A")]
    account: Option<String>,
    /// Every account (admins only).
    #[arg(long)]
    all: bool,
}

const COLUMNS: [&str; 6] = [
    "account",
    "state",
    "flood_wait_until",
    "queued",
    "next_send",
    "last_error",
];

fn row(a: &v1::AccountScheduler) -> Vec<Value> {
    vec![
        json!(a.account),
        json!(a.state),
        json!(rfc3339(a.flood_wait_until.as_ref())),
        json!(a.queued),
        json!(rfc3339(a.next_send.as_ref())),
        if a.last_error.is_empty() {
            Value::Null
        } else {
            json!(a.last_error)
        },
    ]
}

fn print(ctx: &Ctx, resp: &v1::SchedulerStatusResponse) {
    let rows: Vec<_> = resp.accounts.iter().map(row).collect();
    print_rows(ctx.format, &COLUMNS, &rows);
    if ctx.format == Format::Table {
        match rfc3339(resp.last_heartbeat.as_ref()) {
            Some(t) => println!("\ndispatcher last turned at {t}"),
            None => println!("\ndispatcher has not turned yet"),
        }
    }
}

pub async fn run(ctx: &Ctx, cmd: SchedulerCommand) -> Result<ExitCode, Failure> {
    let mut client = ctx.client.scheduler();
    let resp = match cmd {
        SchedulerCommand::Status { account } => {
            client
                .scheduler_status(SchedulerStatusRequest {
                    account: account.unwrap_or_default(),
                })
                .await
        }
        SchedulerCommand::Start(w) => {
            client
                .start_scheduler(SchedulerControlRequest {
                    account: w.account.unwrap_or_default(),
                    all: w.all,
                })
                .await
        }
        SchedulerCommand::Stop(w) => {
            client
                .stop_scheduler(SchedulerControlRequest {
                    account: w.account.unwrap_or_default(),
                    all: w.all,
                })
                .await
        }
    }
    .map_err(|s| ctx.fail(s))?
    .into_inner();
    print(ctx, &resp);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Operators may start and stop one account; only `--all` is an
    /// admin's (the help once said "admin only" for both).
    #[test]
    fn help_says_who_may() {
        let cli = crate::cli::Cli::command();
        let scheduler = cli.find_subcommand("scheduler").unwrap();
        for verb in ["start", "stop"] {
            let cmd = scheduler.find_subcommand(verb).unwrap();
            let about = cmd.get_about().unwrap().to_string();
            assert!(about.contains("(operators)"), "{verb}: {about}");
            assert!(about.contains("all (admins only)"), "{verb}: {about}");
            assert!(
                !about.to_lowercase().contains("admin only"),
                "{verb}: {about}"
            );
        }
    }
}

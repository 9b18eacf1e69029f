//! `microbotctl account …`: Telegram accounts.

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::convert::rfc3339;
use microbot_proto::v1::{self, AddAccountRequest, ListAccountsRequest};
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_object, print_rows};

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Register a Telegram account (then log it in with `account login`).
    Add {
        /// Operator name, e.g. sales-tr (a-z, 0-9, '.', '_', '-').
        name: String,
        /// International phone number, e.g. +905321234567.
        #[arg(long)]
        phone: String,
    },
    /// List accounts with their state (phones masked).
    List,
}

const COLUMNS: [&str; 7] = [
    "name",
    "state",
    "phone",
    "telegram_user",
    "flood_wait_until",
    "scheduler",
    "last_error",
];

fn row(a: &v1::Account) -> Vec<Value> {
    let opt = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    vec![
        json!(a.name),
        json!(a.state),
        json!(a.phone_masked),
        opt(&a.telegram_user),
        json!(rfc3339(a.flood_wait_until.as_ref())),
        json!(if a.scheduler_enabled {
            "running"
        } else {
            "stopped"
        }),
        opt(&a.last_error),
    ]
}

pub async fn run(ctx: &Ctx, cmd: AccountCommand) -> Result<ExitCode, Failure> {
    let mut client = ctx.client.accounts();
    match cmd {
        AccountCommand::Add { name, phone } => {
            let a = client
                .add_account(AddAccountRequest { name, phone })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let fields: Vec<(&str, Value)> = COLUMNS.iter().copied().zip(row(&a)).collect();
            print_object(ctx.format, &fields);
            if ctx.format == Format::Table {
                println!("\nnext: microbotctl account login {}", a.name);
            }
        }
        AccountCommand::List => {
            let list = client
                .list_accounts(ListAccountsRequest {})
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let rows: Vec<_> = list.accounts.iter().map(row).collect();
            print_rows(ctx.format, &COLUMNS, &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

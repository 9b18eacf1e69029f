//! `microbotctl account …`: Telegram accounts.

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::convert::rfc3339;
use microbot_proto::v1::{
    self, AddAccountRequest, ListAccountsRequest, ListChatsRequest, LogoutAccountRequest,
    RemoveAccountRequest, ResumeAccountRequest,
};
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
    /// Log an account in: prompts for the code, then the 2FA password if
    /// needed; reads them as lines from stdin when it is not a terminal.
    Login { name: String },
    /// Log out at Telegram and drop the stored session.
    Logout { name: String },
    /// Let a limited (PEER_FLOOD) or paused account send again.
    Resume { name: String },
    /// The account's chats with their ids, to pick template targets.
    Chats {
        name: String,
        /// Only chats whose title, username or id contains TEXT.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
    /// Delete an account (refused while templates use it, unless --force).
    Remove {
        name: String,
        /// Also delete its templates and cancel their pending deliveries.
        #[arg(long)]
        force: bool,
    },
}

pub(crate) const COLUMNS: [&str; 7] = [
    "name",
    "state",
    "phone",
    "telegram_user",
    "flood_wait_until",
    "scheduler",
    "last_error",
];

pub(crate) fn row(a: &v1::Account) -> Vec<Value> {
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
        AccountCommand::Login { name } => return super::account_login::run(ctx, &name).await,
        AccountCommand::Logout { name } => {
            let out = client
                .logout_account(LogoutAccountRequest { name: name.clone() })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            warn(&out.warning);
            if ctx.format == Format::Json {
                print_account(ctx, out.account.as_ref());
            } else {
                println!("logged out: {name} (session dropped)");
            }
        }
        AccountCommand::Resume { name } => {
            let a = client
                .resume_account(ResumeAccountRequest { name })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            print_account(ctx, Some(&a));
        }
        AccountCommand::Chats { name, search } => {
            let list = client
                .list_chats(ListChatsRequest {
                    name,
                    search: search.unwrap_or_default(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let rows: Vec<_> = list
                .chats
                .iter()
                .map(|c| {
                    let username = if c.username.is_empty() {
                        Value::Null
                    } else {
                        json!(format!("@{}", c.username))
                    };
                    vec![json!(c.id), json!(c.kind), json!(c.title), username]
                })
                .collect();
            print_rows(ctx.format, &["id", "kind", "title", "username"], &rows);
        }
        AccountCommand::Remove { name, force } => {
            let out = client
                .remove_account(RemoveAccountRequest {
                    name: name.clone(),
                    force,
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            warn(&out.warning);
            if ctx.format == Format::Json {
                print_object(
                    ctx.format,
                    &[
                        ("name", json!(name)),
                        ("templates_deleted", json!(out.templates_deleted)),
                        ("deliveries_cancelled", json!(out.deliveries_cancelled)),
                    ],
                );
            } else {
                println!(
                    "removed: {name} ({} template(s) deleted, {} delivery(ies) cancelled)",
                    out.templates_deleted, out.deliveries_cancelled
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one account as key/value facts (or a JSON object).
pub(crate) fn print_account(ctx: &Ctx, a: Option<&v1::Account>) {
    if let Some(a) = a {
        let fields: Vec<(&str, Value)> = COLUMNS.iter().copied().zip(row(a)).collect();
        print_object(ctx.format, &fields);
    }
}

/// A non-fatal problem the daemon reported, on stderr.
fn warn(warning: &str) {
    if !warning.is_empty() {
        eprintln!("microbotctl: warning: {warning}");
    }
}

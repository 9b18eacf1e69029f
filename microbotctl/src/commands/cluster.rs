//! `microbotctl cluster …`: several daemons on one PostgreSQL — nodes and
//! account leases (`status`), and moving one account (`release`, admin).
//! `status -o json`: `{"clustered", "node_id", "database_now", "nodes": [..],
//! "leases": [..]}`, each list with the table's column names.

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::convert::rfc3339;
use microbot_proto::v1::{self, ClusterStatusRequest, ReleaseAccountRequest};
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_json, print_object, print_rows};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Nodes (last seen, accounts held) and each account's owner, epoch and expiry.
    Status,
    /// Clear an account's owner so another node takes it once its lease runs out. Admin only.
    Release {
        #[arg(value_name = "ACCOUNT")]
        account: String,
    },
}

const NODE_COLUMNS: [&str; 5] = ["node", "live", "last_seen", "started_at", "accounts_held"];
const LEASE_COLUMNS: [&str; 5] = ["account", "owner", "epoch", "expires_at", "expired"];

fn node_row(n: &v1::ClusterNode) -> Vec<Value> {
    vec![
        json!(n.node_id),
        json!(n.live),
        json!(rfc3339(n.last_seen.as_ref())),
        json!(rfc3339(n.started_at.as_ref())),
        json!(n.accounts_held),
    ]
}

fn lease_row(l: &v1::AccountLease) -> Vec<Value> {
    vec![
        json!(l.account),
        if l.owner.is_empty() {
            Value::Null
        } else {
            json!(l.owner)
        },
        json!(l.epoch),
        json!(rfc3339(l.expires_at.as_ref())),
        json!(l.expired),
    ]
}

/// Rows as JSON objects keyed by column.
fn objects(columns: &[&str], rows: Vec<Vec<Value>>) -> Value {
    Value::Array(
        rows.into_iter()
            .map(|r| Value::Object(columns.iter().map(|c| c.to_string()).zip(r).collect()))
            .collect(),
    )
}

async fn status(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let s = ctx
        .client
        .cluster()
        .cluster_status(ClusterStatusRequest {})
        .await
        .map_err(|st| ctx.fail(st))?
        .into_inner();
    let nodes: Vec<_> = s.nodes.iter().map(node_row).collect();
    let leases: Vec<_> = s.leases.iter().map(lease_row).collect();
    match ctx.format {
        Format::Json => print_json(&json!({
            "clustered": s.clustered,
            "node_id": s.node_id,
            "database_now": rfc3339(s.database_now.as_ref()),
            "nodes": objects(&NODE_COLUMNS, nodes),
            "leases": objects(&LEASE_COLUMNS, leases),
        })),
        Format::Table if !s.clustered => {
            println!(
                "single-node (SQLite): node {} holds every account; several nodes need PostgreSQL",
                s.node_id
            );
        }
        Format::Table => {
            print_object(
                Format::Table,
                &[
                    ("this node", json!(s.node_id)),
                    ("database now", json!(rfc3339(s.database_now.as_ref()))),
                ],
            );
            println!();
            print_rows(Format::Table, &NODE_COLUMNS, &nodes);
            println!();
            print_rows(Format::Table, &LEASE_COLUMNS, &leases);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(ctx: &Ctx, cmd: ClusterCommand) -> Result<ExitCode, Failure> {
    match cmd {
        ClusterCommand::Status => status(ctx).await,
        ClusterCommand::Release { account } => {
            let r = ctx
                .client
                .cluster()
                .release_account(ReleaseAccountRequest { account })
                .await
                .map_err(|st| ctx.fail(st))?
                .into_inner();
            let previous = if r.previous_owner.is_empty() {
                Value::Null
            } else {
                json!(r.previous_owner)
            };
            match ctx.format {
                Format::Json => print_object(
                    Format::Json,
                    &[
                        ("account", json!(r.account)),
                        ("previous_owner", previous),
                        ("epoch", json!(r.epoch)),
                    ],
                ),
                Format::Table => println!(
                    "released {} (was {} at epoch {}); a node takes it once its lease runs out",
                    r.account,
                    if r.previous_owner.is_empty() {
                        "unowned"
                    } else {
                        &r.previous_owner
                    },
                    r.epoch
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

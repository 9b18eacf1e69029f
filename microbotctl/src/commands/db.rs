//! `microbotctl db check | db vacuum [--reindex]` (runbook 3.1, 3.3).

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::v1::{DbCheckRequest, DbVacuumRequest};
use serde_json::json;

use super::Ctx;
use crate::failure::Failure;
use crate::output::print_object;

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Connect, time a round trip, show schema version and pool usage. Exit 1 when unreachable.
    Check,
    /// Compact and re-analyse the database (safe while sending). Admin only.
    Vacuum {
        /// Also rebuild every index.
        #[arg(long)]
        reindex: bool,
    },
}

/// Bytes as MiB with one decimal, for people.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

pub async fn run(ctx: &Ctx, cmd: DbCommand) -> Result<ExitCode, Failure> {
    let mut client = ctx.client.maintenance();
    match cmd {
        DbCommand::Check => {
            let r = client
                .db_check(DbCheckRequest {})
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            if !r.reachable {
                let mut f =
                    Failure::new(format!("database unreachable ({}): {}", r.backend, r.error));
                f.hint =
                    Some("see the database section of microbotd.toml and the daemon log".into());
                return Err(f);
            }
            print_object(
                ctx.format,
                &[
                    ("backend", json!(r.backend)),
                    ("reachable", json!(true)),
                    ("latency_ms", json!(r.latency_micros as f64 / 1000.0)),
                    ("schema_version", json!(r.schema_version)),
                    ("latest_schema_version", json!(r.latest_schema_version)),
                    ("pool_size", json!(r.pool_size)),
                    ("pool_idle", json!(r.pool_idle)),
                    ("pool_max", json!(r.pool_max)),
                ],
            );
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Vacuum { reindex } => {
            let r = client
                .db_vacuum(DbVacuumRequest { reindex })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            match ctx.format {
                crate::output::Format::Json => print_object(
                    ctx.format,
                    &[
                        ("backend", json!(r.backend)),
                        ("millis", json!(r.millis)),
                        ("size_before", json!(r.size_before)),
                        ("size_after", json!(r.size_after)),
                        ("reindexed", json!(r.reindexed)),
                    ],
                ),
                crate::output::Format::Table => println!(
                    "vacuumed {}{} in {} ms: {} → {}",
                    r.backend,
                    if r.reindexed { " (reindexed)" } else { "" },
                    r.millis,
                    mib(r.size_before),
                    mib(r.size_after)
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `microbotctl audit [--since 24h] [--uid N]`: who changed what.

use std::process::ExitCode;

use clap::Args;
use microbot_proto::convert::rfc3339;
use microbot_proto::v1::ListAuditRequest;
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::print_rows;

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only entries newer than this (e.g. 24h, 7d).
    #[arg(long, value_name = "DURATION", value_parser = crate::since::parse_since)]
    pub since: Option<i64>,
    /// Only calls by this user id.
    #[arg(long, value_name = "N")]
    pub uid: Option<i64>,
}

pub async fn run(ctx: &Ctx, args: AuditArgs) -> Result<ExitCode, Failure> {
    let r = ctx
        .client
        .maintenance()
        .list_audit(ListAuditRequest {
            since: args.since.map(|s| format!("{s}s")).unwrap_or_default(),
            uid: args.uid,
            limit: 0,
        })
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    let rows: Vec<Vec<Value>> = r
        .entries
        .iter()
        .map(|e| {
            vec![
                json!(rfc3339(e.at.as_ref())),
                json!(e.uid),
                json!(e.pid),
                json!(e.method),
                if e.target.is_empty() {
                    Value::Null
                } else {
                    json!(e.target)
                },
                json!(e.result),
                if e.subject.is_empty() {
                    Value::Null
                } else {
                    json!(e.subject)
                },
            ]
        })
        .collect();
    print_rows(
        ctx.format,
        &["at", "uid", "pid", "method", "target", "result", "subject"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

//! `microbotctl doctor`: the runbook 8.1 daily checks in one call; exit 1
//! on any FAIL. `-o json`: `{"ok": bool, "checks": [{"name", "result", "detail"}]}`.

use std::process::ExitCode;

use microbot_proto::v1::DoctorRequest;
use serde_json::json;

use super::Ctx;
use crate::failure::{EXIT_FAILED, Failure};
use crate::output::{Format, print_json, print_rows};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let r = ctx
        .client
        .maintenance()
        .doctor(DoctorRequest {})
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    match ctx.format {
        Format::Json => print_json(&json!({
            "ok": r.ok,
            "checks": r.checks.iter().map(|c| json!({
                "name": c.name, "result": c.result, "detail": c.detail,
            })).collect::<Vec<_>>(),
        })),
        Format::Table => {
            let rows: Vec<_> = r
                .checks
                .iter()
                .map(|c| vec![json!(c.name), json!(c.result), json!(c.detail)])
                .collect();
            print_rows(Format::Table, &["check", "result", "detail"], &rows);
            println!("{}", if r.ok { "all checks passed" } else { "FAILED" });
        }
    }
    Ok(if r.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

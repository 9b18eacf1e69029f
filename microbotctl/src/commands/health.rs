//! `microbotctl health`: exit 0 when every check passes, 1 otherwise.

use std::process::ExitCode;

use microbot_proto::v1::HealthRequest;
use serde_json::json;

use super::Ctx;
use crate::failure::{EXIT_FAILED, Failure};
use crate::output::{Format, print_json, print_rows};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let resp = ctx
        .client
        .system()
        .health(HealthRequest {})
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    match ctx.format {
        Format::Json => print_json(&json!({
            "healthy": resp.healthy,
            "checks": resp.checks.iter().map(|c| json!({
                "name": c.name, "ok": c.ok, "detail": c.detail,
            })).collect::<Vec<_>>(),
        })),
        Format::Table => {
            let rows: Vec<_> = resp
                .checks
                .iter()
                .map(|c| {
                    vec![
                        json!(c.name),
                        json!(if c.ok { "OK" } else { "FAIL" }),
                        json!(c.detail),
                    ]
                })
                .collect();
            print_rows(Format::Table, &["check", "result", "detail"], &rows);
            println!("{}", if resp.healthy { "healthy" } else { "UNHEALTHY" });
        }
    }
    Ok(if resp.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

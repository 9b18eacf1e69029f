//! `microbotctl log-level LEVEL`: change the daemon's log filter without a
//! restart (RUST_LOG syntax, e.g. `debug` or `info,microbotd=trace`).

use std::process::ExitCode;

use clap::Args;
use microbot_proto::v1::SetLogLevelRequest;
use serde_json::json;

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_object};

#[derive(Args, Debug)]
pub struct LogLevelArgs {
    /// A level (trace, debug, info, warn, error, off) or RUST_LOG directives.
    pub level: String,
}

pub async fn run(ctx: &Ctx, args: LogLevelArgs) -> Result<ExitCode, Failure> {
    let r = ctx
        .client
        .maintenance()
        .set_log_level(SetLogLevelRequest { level: args.level })
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    match ctx.format {
        Format::Json => print_object(
            ctx.format,
            &[("old", json!(r.old_level)), ("new", json!(r.new_level))],
        ),
        Format::Table => println!("log level: {} → {}", r.old_level, r.new_level),
    }
    Ok(ExitCode::SUCCESS)
}

//! `microbotctl cron validate`: explains a schedule before it is saved —
//! next fire instants in the zone and warnings (OR-ed day fields, DST, rate).
//! An invalid expression exits 1; with `-o json` the JSON is printed first.

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::convert::timestamp;
use microbot_proto::v1::ValidateCronRequest;
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::{EXIT_FAILED, Failure};
use crate::output::{Format, print_json};

#[derive(Subcommand, Debug)]
pub enum CronCommand {
    /// Show the next fire times of a cron expression (or `every 90m`) and warnings.
    Validate {
        /// The expression, e.g. "0 9 * * 1-5", @daily or "every 90m".
        #[arg(required_unless_present = "at", num_args = 1.., value_name = "EXPR")]
        expr: Vec<String>,
        /// Check a one-shot time instead (template create --at): its instant
        /// in --tz, DST warnings, or why a past time is refused.
        #[arg(long, value_name = "LOCAL_DATETIME", conflicts_with = "expr")]
        at: Option<String>,
        /// IANA time zone [default: the daemon's scheduler.default_timezone].
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Start instant, RFC 3339 (e.g. 2027-03-27T12:00:00Z) [default: now].
        #[arg(long, value_name = "RFC3339")]
        from: Option<String>,
        /// How many fire times to show.
        #[arg(short = 'n', default_value_t = 5)]
        n: u32,
    },
}

pub async fn run(ctx: &Ctx, cmd: CronCommand) -> Result<ExitCode, Failure> {
    let CronCommand::Validate {
        expr,
        at,
        tz,
        from,
        n,
    } = cmd;
    let expr = match at {
        Some(at) => format!("at {at}"),
        None => expr.join(" "),
    };
    let from = match from {
        None => None,
        Some(s) => Some(timestamp(
            chrono::DateTime::parse_from_rfc3339(&s)
                .map_err(|e| Failure::new(format!("--from {s:?}: not RFC 3339 ({e})")))?
                .with_timezone(&chrono::Utc),
        )),
    };
    let req = ValidateCronRequest {
        expr,
        timezone: tz.unwrap_or_default(),
        from,
        count: n.max(1),
    };
    let r = ctx
        .client
        .schedules()
        .validate_cron(req)
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    if ctx.format == Format::Json {
        print_json(&json!({
            "valid": r.valid,
            "next": r.next,
            "warnings": r.warnings,
            "error": if r.valid { Value::Null } else { json!(r.error) },
        }));
        return Ok(if r.valid {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_FAILED)
        });
    }
    if !r.valid {
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
        return Err(Failure::new(format!("invalid schedule: {}", r.error)));
    }
    println!("next fires:");
    for t in &r.next {
        println!("  {t}");
    }
    if !r.warnings.is_empty() {
        println!("warnings:");
        for w in &r.warnings {
            println!("  - {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

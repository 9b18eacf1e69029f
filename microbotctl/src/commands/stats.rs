//! `microbotctl stats`: sent, failed, missed, cancelled, flood waits and
//! lateness per UTC day, account or template (runbook 8.1 and 8.3). On a
//! terminal, the per-day table is followed by a bar per day so a trend shows
//! at a glance.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use microbot_proto::v1::{GetStatsRequest, StatsRow};
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_rows};
use crate::since::parse_since;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Deliveries whose slot is this recent: 24h, 7d, 30d.
    #[arg(long, value_name = "DURATION", value_parser = parse_since, default_value = "30d")]
    since: i64,
    /// One row per UTC day, per account or per template.
    #[arg(long, value_enum, default_value = "day")]
    by: By,
    /// Only this account's deliveries.
    #[arg(long, value_name = "A")]
    account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum By {
    Day,
    Account,
    Template,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            By::Day => "day",
            By::Account => "account",
            By::Template => "template",
        }
    }

    fn key_columns(self) -> &'static [&'static str] {
        match self {
            By::Day => &["day"],
            By::Account => &["account"],
            By::Template => &["account", "template_id", "template", "kind"],
        }
    }
}

const COUNT_COLUMNS: [&str; 8] = [
    "sent",
    "failed",
    "missed",
    "cancelled",
    "open",
    "flood_waits",
    "late_p50_s",
    "late_p95_s",
];

/// Widest trend bar, in characters.
const BAR_WIDTH: i64 = 30;

fn seconds(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| json!(ms as f64 / 1000.0))
}

fn row(by: By, r: &StatsRow) -> Vec<Value> {
    let mut v = match by {
        By::Day => vec![json!(r.day)],
        By::Account => vec![json!(r.account)],
        By::Template => vec![
            json!(r.account),
            json!(r.template_id),
            if r.template.is_empty() {
                Value::Null
            } else {
                json!(r.template)
            },
            json!(r.kind),
        ],
    };
    v.extend([
        json!(r.sent),
        json!(r.failed),
        json!(r.missed),
        json!(r.cancelled),
        json!(r.open),
        json!(r.flood_waits),
        seconds(r.lateness_p50_ms),
        seconds(r.lateness_p95_ms),
    ]);
    v
}

/// One day's bar: `█` sent, `▓` failed, `░` missed, scaled so the busiest
/// day fills [`BAR_WIDTH`]; any non-zero count shows at least one mark.
pub fn bar(r: &StatsRow, busiest: i64) -> String {
    let part = |n: i64, c: char| {
        let len = if n == 0 || busiest == 0 {
            0
        } else {
            (n * BAR_WIDTH / busiest).max(1)
        };
        c.to_string().repeat(len as usize)
    };
    format!(
        "{}{}{}",
        part(r.sent, '█'),
        part(r.failed, '▓'),
        part(r.missed, '░')
    )
}

/// Below the table on a terminal: one bar per day, so a trend shows at a
/// glance (fits 80 columns).
fn print_trend(rows: &[StatsRow]) {
    let busiest = rows
        .iter()
        .map(|r| r.sent + r.failed + r.missed)
        .max()
        .unwrap_or(0);
    println!();
    for r in rows {
        let total = r.sent + r.failed + r.missed;
        let count = if total == 0 {
            String::new()
        } else {
            format!(" {total}")
        };
        println!("{} │{}{count}", r.day, bar(r, busiest));
    }
    println!("{:10} └ █ sent  ▓ failed  ░ missed (UTC days)", "");
}

pub async fn run(ctx: &Ctx, args: StatsArgs) -> Result<ExitCode, Failure> {
    let resp = ctx
        .client
        .stats()
        .get_stats(GetStatsRequest {
            since_seconds: args.since,
            by: args.by.as_str().into(),
            account: args.account.unwrap_or_default(),
        })
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    let mut columns: Vec<&str> = args.by.key_columns().to_vec();
    columns.extend(COUNT_COLUMNS);
    let rows: Vec<Vec<Value>> = resp.rows.iter().map(|r| row(args.by, r)).collect();
    print_rows(ctx.format, &columns, &rows);
    if ctx.format == Format::Table && args.by == By::Day && std::io::stdout().is_terminal() {
        print_trend(&resp.rows);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day() {
        let day = |sent, failed, missed| StatsRow {
            sent,
            failed,
            missed,
            ..StatsRow::default()
        };
        assert_eq!(bar(&day(60, 0, 0), 60), "█".repeat(30));
        assert_eq!(bar(&day(30, 1, 2), 60), format!("{}▓░", "█".repeat(15)));
        assert_eq!(bar(&day(0, 0, 0), 0), "");
    }
}

//! `microbotctl deliveries …`: the delivery log and retrying one delivery.

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::convert::rfc3339;
use microbot_proto::v1::{self, ListDeliveriesRequest, RetryDeliveryRequest};
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::{print_object, print_rows};

#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// Deliveries, newest slot first.
    List {
        #[arg(long, value_name = "A")]
        account: Option<String>,
        /// pending | sending | sent | failed | missed | cancelled
        #[arg(long)]
        state: Option<String>,
        /// Only slots this recent: 90s, 15m, 24h, 7d.
        #[arg(long, value_name = "DURATION", value_parser = parse_since)]
        since: Option<i64>,
    },
    /// Queue a failed or missed delivery again (same random_id: no duplicate).
    Retry { id: i64 },
}

/// `24h` → seconds. Units: s, m, h, d.
pub(crate) fn parse_since(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 24h"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: use a number with s, m, h or d (e.g. 24h)")),
    };
    if n <= 0 {
        return Err("must be positive".into());
    }
    Ok(n.saturating_mul(mult))
}

const COLUMNS: [&str; 11] = [
    "id",
    "account",
    "template_id",
    "template",
    "chat",
    "slot",
    "state",
    "attempts",
    "sent_at",
    "message_id",
    "error",
];

fn row(d: &v1::Delivery) -> Vec<Value> {
    let opt = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    vec![
        json!(d.id),
        json!(d.account),
        json!(d.template_id),
        opt(&d.template),
        json!(d.chat),
        json!(rfc3339(d.slot.as_ref())),
        json!(d.state),
        json!(d.attempts),
        json!(rfc3339(d.sent_at.as_ref())),
        if d.message_id == 0 {
            Value::Null
        } else {
            json!(d.message_id)
        },
        opt(&d.error),
    ]
}

pub async fn run(ctx: &Ctx, cmd: DeliveriesCommand) -> Result<ExitCode, Failure> {
    let mut client = ctx.client.deliveries();
    match cmd {
        DeliveriesCommand::List {
            account,
            state,
            since,
        } => {
            let list = client
                .list_deliveries(ListDeliveriesRequest {
                    account: account.unwrap_or_default(),
                    state: state.unwrap_or_default(),
                    since_seconds: since.unwrap_or(0),
                    limit: 0,
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let rows: Vec<_> = list.deliveries.iter().map(row).collect();
            print_rows(ctx.format, &COLUMNS, &rows);
        }
        DeliveriesCommand::Retry { id } => {
            let d = client
                .retry_delivery(RetryDeliveryRequest { id })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let fields: Vec<(&str, Value)> = COLUMNS.iter().copied().zip(row(&d)).collect();
            print_object(ctx.format, &fields);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_parses_humane_durations() {
        assert_eq!(super::parse_since("24h"), Ok(86_400));
        assert_eq!(super::parse_since("15m"), Ok(900));
        assert!(super::parse_since("24x").is_err());
        assert!(super::parse_since("h").is_err());
    }
}

//! `microbotctl deliveries …`: the delivery log and retrying one delivery.

use std::process::ExitCode;

use clap::Subcommand;
use microbot_proto::convert::{EnumText, rfc3339};
use microbot_proto::v1::{self, ListDeliveriesRequest, RetryDeliveryRequest};
use serde_json::{Value, json};

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_object, print_rows};

#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// Deliveries, newest slot first (the newest 100 unless --limit says otherwise).
    List {
        #[arg(long, value_name = "A")]
        account: Option<String>,
        /// pending | sending | sent | failed | missed | cancelled
        #[arg(long)]
        state: Option<String>,
        /// Only slots this recent: 90s, 15m, 24h, 7d.
        #[arg(long, value_name = "DURATION", value_parser = crate::since::parse_since)]
        since: Option<i64>,
        /// Show at most N deliveries, newest first (0 = all).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT)]
        limit: u32,
    },
    /// Queue a failed or missed delivery again (same random_id: no duplicate).
    Retry { id: i64 },
}

/// Rows `deliveries list` shows without `--limit`.
const DEFAULT_LIMIT: u32 = 100;

const COLUMNS: [&str; 12] = [
    "id",
    "account",
    "template_id",
    "template",
    "kind",
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
        opt(&d.kind),
        json!(d.chat),
        json!(rfc3339(d.slot.as_ref())),
        json!(v1::DeliveryState::text_or(d.delivery_state, &d.state)),
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
            limit,
        } => {
            let list = client
                .list_deliveries(ListDeliveriesRequest {
                    account: account.unwrap_or_default(),
                    state: state.unwrap_or_default(),
                    since_seconds: since.unwrap_or(0),
                    limit: i64::from(limit),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let rows: Vec<_> = list.deliveries.iter().map(row).collect();
            print_rows(ctx.format, &COLUMNS, &rows);
            // A full page may hide older rows: say so where humans read.
            if ctx.format == Format::Table && limit > 0 && rows.len() == limit as usize {
                eprintln!("(the newest {limit} shown; --limit N for more, --limit 0 for all)");
            }
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
    use super::*;

    /// The state column is the typed field's text; the older text field
    /// only fills in for a daemon that does not send the typed one.
    #[test]
    fn state_comes_from_the_typed_field() {
        let state = |typed: v1::DeliveryState, text: &str| {
            let d = v1::Delivery {
                delivery_state: typed.into(),
                state: text.into(),
                ..Default::default()
            };
            row(&d)[COLUMNS.iter().position(|c| *c == "state").unwrap()].clone()
        };
        assert_eq!(state(v1::DeliveryState::Missed, ""), json!("missed"));
        assert_eq!(state(v1::DeliveryState::Unspecified, "sent"), json!("sent"));
    }
}

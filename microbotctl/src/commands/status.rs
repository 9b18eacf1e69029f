//! `microbotctl status`: version, node, uptime, backend, counts, next sends.

use std::process::ExitCode;

use microbot_proto::convert::rfc3339;
use microbot_proto::v1::StatusRequest;
use serde_json::json;

use super::Ctx;
use crate::failure::Failure;
use crate::output::{Format, print_json, print_object};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let s = ctx
        .client
        .system()
        .status(StatusRequest {})
        .await
        .map_err(|st| ctx.fail(st))?
        .into_inner();
    let next: Vec<_> = s
        .next_sends
        .iter()
        .map(|n| {
            json!({
                "template_id": n.template_id,
                "template": n.template_name,
                "account": n.account,
                "due": rfc3339(n.due.as_ref()),
            })
        })
        .collect();
    let fields = [
        ("version", json!(s.version)),
        ("node_id", json!(s.node_id)),
        ("protocol", json!(s.protocol)),
        ("started_at", json!(rfc3339(s.started_at.as_ref()))),
        ("uptime_seconds", json!(s.uptime_seconds)),
        ("backend", json!(s.backend)),
        ("schema_version", json!(s.schema_version)),
        ("telegram_mode", json!(s.telegram_mode)),
        ("accounts", json!(s.accounts)),
        ("templates", json!(s.templates)),
        ("active_templates", json!(s.active_templates)),
        ("pending_deliveries", json!(s.pending_deliveries)),
    ];
    match ctx.format {
        Format::Json => {
            let mut obj = serde_json::Map::new();
            for (k, v) in fields {
                obj.insert(k.into(), v);
            }
            obj.insert("next_sends".into(), json!(next));
            print_json(&serde_json::Value::Object(obj));
        }
        Format::Table => {
            print_object(Format::Table, &fields);
            if next.is_empty() {
                println!("next sends          none scheduled");
            } else {
                println!("next sends:");
                for n in &s.next_sends {
                    println!(
                        "  {}  {}/{} (template {})",
                        rfc3339(n.due.as_ref()).unwrap_or_default(),
                        n.account,
                        n.template_name,
                        n.template_id
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

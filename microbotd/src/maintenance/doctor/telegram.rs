//! Live mode only: does each data centre the accounts use answer? One check
//! per DC (connect + MTProto ping with the stored auth key, round-trip time
//! shown), naming the address and the error when it does not (runbook 2.3).

use std::collections::BTreeMap;

use super::{Check, check};
use crate::config::{TelegramMode, redact_database_url};
use crate::context::Context;
use crate::maintenance::doctor::rules::Level;
use crate::store::on_pool;
use crate::telegram::SessionStore;
use crate::telegram::live::probe::{self, DcTarget};
use crate::telegram::live::session::stored_home_dc;

/// The checks; none in dry-run mode.
pub async fn checks(ctx: &Context) -> Vec<Check> {
    if ctx.config.telegram.mode != TelegramMode::Live {
        return Vec::new();
    }
    let rows: Result<Vec<(i64, String)>, _> = on_pool!(ctx.store, p => sqlx::query_as(
        "SELECT id, name FROM accounts WHERE session IS NOT NULL ORDER BY name"
    ).fetch_all(p).await);
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return vec![check("telegram", Level::Fail, e.to_string())],
    };
    let mut dcs: BTreeMap<(i32, String), (DcTarget, Vec<String>)> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (id, name) in rows {
        let target = match ctx.store.load_session(id).await {
            Ok(Some(bytes)) => stored_home_dc(&bytes).and_then(|o| DcTarget::from_option(&o)),
            _ => None,
        };
        match target {
            Some(t) => {
                dcs.entry((t.dc_id, t.address.to_string()))
                    .or_insert_with(|| (t, Vec::new()))
                    .1
                    .push(name);
            }
            None => unreadable.push(name),
        }
    }
    let proxy = ctx.config.telegram.proxy.as_ref();
    let via = proxy
        .map(|p| format!(" via {}", redact_database_url(p.expose())))
        .unwrap_or_default();
    let mut out = Vec::new();
    if dcs.is_empty() && unreadable.is_empty() {
        out.push(check(
            "telegram",
            Level::Ok,
            "no account has a session yet; nothing to probe",
        ));
    }
    for ((dc_id, address), (target, names)) in dcs {
        let name = format!("telegram DC{dc_id}");
        let accounts = names.join(", ");
        out.push(match probe::ping(&target, proxy).await {
            Ok(rtt) => check(
                &name,
                Level::Ok,
                format!(
                    "{address} answered a ping in {} ms{via} ({accounts})",
                    rtt.as_millis()
                ),
            ),
            Err(why) => check(
                &name,
                Level::Fail,
                format!("{address}{via}: {why} ({accounts})"),
            ),
        });
    }
    if !unreadable.is_empty() {
        out.push(check(
            "telegram sessions",
            Level::Warn,
            format!(
                "no data centre with an auth key in the session of: {} (microbotctl account login NAME)",
                unreadable.join(", ")
            ),
        ));
    }
    out
}

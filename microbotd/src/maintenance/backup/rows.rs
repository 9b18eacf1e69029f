//! [`check`]: every row of a backup obeys the rules a control call would
//! have applied when it was written — names, zones, schedules, text,
//! parse modes, misfire policies, targets, account states, chats per
//! template — so
//! a self-consistent but hand-made archive cannot restore values that
//! `template export` or `doctor` would then choke on. Refusals name the
//! member, the row and the reason.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::archive::Backup;
use super::{BackupError, data_path};
use crate::store::accounts::{normalize_phone, valid_account_name};
use crate::store::states::{AccountState, DeliveryState, Misfire, ScheduleKind};
use crate::telegram::target::parse_target;
use crate::templates::spec::{parse_mode, validate_name, validate_text, validate_tz};
use crate::templates::{ScheduleSpec, SendOptions};

type Row = Map<String, Value>;

/// Checks every row of `backup`; `max_chats` is `templates.max_chats`.
pub fn check(backup: &Backup, max_chats: u32) -> Result<(), BackupError> {
    for (table, rows) in &backup.tables {
        let rule: fn(&Row) -> Result<(), String> = match table.as_str() {
            "accounts" => account,
            "targets" => target,
            "templates" => template,
            "deliveries" => delivery,
            "media" => media,
            "template_media" => template_media,
            _ => continue,
        };
        for (i, row) in rows.iter().enumerate() {
            rule(row).map_err(|reason| {
                BackupError::invalid(format!("{} row {}: {reason}", data_path(table), i + 1))
            })?;
        }
    }
    chats_per_template(backup, max_chats)
}

/// A text column (absent or null counts as empty: the insert decides).
fn text<'a>(row: &'a Row, column: &str) -> &'a str {
    row.get(column).and_then(Value::as_str).unwrap_or_default()
}

fn named(column: &str) -> impl Fn(String) -> String + '_ {
    move |reason| format!("{column}: {reason}")
}

/// A file's bytes are what its name (their SHA-256) says.
fn media(row: &Row) -> Result<(), String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text(row, "bytes"))
        .map_err(|e| format!("bytes: {e}"))?;
    let digest = crate::telegram::media::sha256_hex(&bytes);
    if digest != text(row, "sha256") {
        return Err(format!(
            "sha256: {:?} is not the digest of the bytes ({digest})",
            text(row, "sha256")
        ));
    }
    if row.get("size").and_then(Value::as_i64) != Some(bytes.len() as i64) {
        return Err(format!(
            "size: not the length of the bytes ({})",
            bytes.len()
        ));
    }
    Ok(())
}

fn template_media(row: &Row) -> Result<(), String> {
    let kind = text(row, "kind");
    if crate::telegram::MediaKind::parse(kind).is_none() {
        return Err(format!("kind: {kind:?} is not photo, video or document"));
    }
    Ok(())
}

fn account(row: &Row) -> Result<(), String> {
    valid_account_name(text(row, "name")).map_err(named("name"))?;
    let phone = text(row, "phone");
    if normalize_phone(phone).as_deref() != Some(phone) {
        return Err("phone: not a phone number in +digits form".into());
    }
    text(row, "state")
        .parse::<AccountState>()
        .map_err(named("state"))?;
    Ok(())
}

fn target(row: &Row) -> Result<(), String> {
    let spec = text(row, "spec");
    let parsed = parse_target(spec).map_err(|e| format!("spec: {e}"))?;
    if parsed.canonical() != spec {
        return Err(format!(
            "spec: {spec:?} is not in canonical form ({})",
            parsed.canonical()
        ));
    }
    Ok(())
}

fn template(row: &Row) -> Result<(), String> {
    let field = |e: crate::templates::FieldError| format!("{}: {}", e.field.key(), e.reason);
    validate_name(text(row, "name")).map_err(field)?;
    validate_text(text(row, "text")).map_err(field)?;
    let mode = text(row, "parse_mode");
    if parse_mode(Some(mode)).map_err(field)? != mode {
        return Err(format!(
            "parse_mode: {mode:?} is not one of plain, markdown, html"
        ));
    }
    let zone = text(row, "timezone");
    if zone.trim().is_empty() {
        return Err("timezone: required".into());
    }
    let tz = validate_tz(Some(zone), chrono_tz::UTC).map_err(field)?;
    let expr = text(row, "schedule_expr");
    match text(row, "schedule_kind").parse::<ScheduleKind>() {
        Ok(ScheduleKind::Cron) => ScheduleSpec::cron(expr, tz).map(drop),
        Ok(ScheduleKind::Every) => ScheduleSpec::every(expr).map(drop),
        Ok(ScheduleKind::At) => ScheduleSpec::at(expr, tz).map(drop),
        Err(e) => return Err(format!("schedule_kind: {e}")),
    }
    .map_err(field)?;
    text(row, "misfire")
        .parse::<Misfire>()
        .map_err(named("misfire"))?;
    // Absent in backups made before send options existed: none.
    SendOptions::from_db(text(row, "send_options")).map_err(named("send_options"))?;
    Ok(())
}

/// A delivery's state is one the daemon reads back (a typed column: any
/// other text would fail every read of the delivery log).
fn delivery(row: &Row) -> Result<(), String> {
    text(row, "state")
        .parse::<DeliveryState>()
        .map_err(named("state"))?;
    Ok(())
}

/// No template sends to more chats than `templates.max_chats` allows.
fn chats_per_template(backup: &Backup, max_chats: u32) -> Result<(), BackupError> {
    let Some((_, rows)) = backup.tables.iter().find(|(t, _)| t == "template_targets") else {
        return Ok(());
    };
    let mut chats: HashMap<i64, u32> = HashMap::new();
    for row in rows {
        if let Some(id) = row.get("template_id").and_then(Value::as_i64) {
            *chats.entry(id).or_default() += 1;
        }
    }
    match chats.into_iter().filter(|(_, n)| *n > max_chats).min() {
        Some((id, n)) => Err(BackupError::invalid(format!(
            "{}: template {id} sends to {n} chats, templates.max_chats allows {max_chats}",
            data_path("template_targets")
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::maintenance::backup::Manifest;

    fn backup(table: &str, row: Value) -> Backup {
        Backup {
            manifest: Manifest {
                format: 1,
                microbot_version: String::new(),
                schema_version: 1,
                backend: "sqlite".into(),
                created_at: String::new(),
                tables: Vec::new(),
                members: Vec::new(),
                session_key_ids: Vec::new(),
                sessions_in_clear: 0,
            },
            tables: vec![(table.to_string(), vec![row.as_object().unwrap().clone()])],
        }
    }

    fn template(change: Value) -> Value {
        let mut t = json!({
            "id": 1, "account_id": 1, "name": "daily", "text": "hello",
            "parse_mode": "plain", "schedule_kind": "cron", "schedule_expr": "0 9 * * *",
            "timezone": "Europe/Istanbul", "anchor_at": 0, "active": true, "misfire": "once",
        });
        for (k, v) in change.as_object().unwrap() {
            t[k] = v.clone();
        }
        t
    }

    fn refusal(table: &str, row: Value) -> String {
        check(&backup(table, row), 1000).unwrap_err().to_string()
    }

    #[test]
    fn templates_obey_the_rules_of_create() {
        assert!(check(&backup("templates", template(json!({}))), 1000).is_ok());
        let cases = [
            (
                json!({"timezone": "Mars/Olympus"}),
                "row 1: timezone: unknown time zone",
            ),
            (json!({"schedule_expr": "*/0 * * * *"}), "row 1: cron: "),
            (
                json!({"text": "x".repeat(10_000)}),
                "row 1: text: 10000 UTF-16 code units",
            ),
            (
                json!({"parse_mode": "rtf"}),
                "row 1: parse_mode: \"rtf\" is not one of",
            ),
            (
                json!({"send_options": "pin-notify"}),
                "row 1: send_options: pin-notify needs pin",
            ),
            (json!({"misfire": "never"}), "row 1: misfire: "),
            (json!({"name": "a b"}), "row 1: name: "),
            (
                json!({"schedule_kind": "every", "schedule_expr": "0s"}),
                "row 1: every: ",
            ),
            (json!({"schedule_kind": "at"}), "row 1: at: "),
            (json!({"schedule_kind": "once"}), "row 1: schedule_kind: "),
        ];
        for (change, want) in cases {
            let err = refusal("templates", template(change.clone()));
            assert!(
                err.starts_with("data/templates.jsonl row 1: "),
                "{change}: {err}"
            );
            assert!(err.contains(want), "{change}: {err}");
        }
    }

    #[test]
    fn accounts_and_targets_too() {
        let account = json!({"name": "sales", "phone": "+905321234567", "state": "active"});
        assert!(check(&backup("accounts", account.clone()), 1000).is_ok());
        let mut bad = account.clone();
        bad["state"] = json!("bored");
        assert!(refusal("accounts", bad).contains("accounts.jsonl row 1: state: "));
        let mut bad = account;
        bad["name"] = json!("Sales");
        assert!(refusal("accounts", bad).contains("row 1: name: "));
        assert!(check(&backup("deliveries", json!({"state": "missed"})), 1000).is_ok());
        let err = refusal("deliveries", json!({"state": "delivered"}));
        assert!(
            err.starts_with("data/deliveries.jsonl row 1: state: "),
            "{err}"
        );
        let err = refusal("targets", json!({"spec": "@foo__bar"}));
        assert!(err.starts_with("data/targets.jsonl row 1: spec: "), "{err}");
        let err = refusal("targets", json!({"spec": "@Ops_Channel"}));
        assert!(
            err.contains("not in canonical form (@ops_channel)"),
            "{err}"
        );
    }

    #[test]
    fn chats_per_template_are_capped() {
        let rows: Vec<Map<String, Value>> = (0..3)
            .map(|i| json!({"template_id": 7, "target_id": i, "position": i}))
            .map(|v| v.as_object().unwrap().clone())
            .collect();
        let mut b = backup("template_targets", json!({}));
        b.tables[0].1 = rows;
        assert!(check(&b, 3).is_ok());
        let err = check(&b, 2).unwrap_err().to_string();
        assert_eq!(
            err,
            "data/template_targets.jsonl: template 7 sends to 3 chats, templates.max_chats allows 2"
        );
    }
}

//! A stored template row and the spec it validates as, both ways: the
//! helpers the service and `apply` share ([`row_spec`], [`schedule_state`],
//! [`check_not_past`], [`data_of`]). A leaf: it uses neither of them.

use chrono::{DateTime, Utc};

use crate::control::error::ApiError;
use crate::schedule::{OnceSchedule, parse_tz};
use crate::store::states::ScheduleKind;
use crate::store::templates::{TemplateData, TemplateRow};
use crate::store::{from_ms, to_ms};
use crate::templates::SendOptions;
use crate::templates::spec::{self, FieldError, ScheduleSpec, TemplateSpec};

/// A validation failure as INVALID_ARGUMENT naming the CLI flag.
pub fn field_error(e: FieldError) -> ApiError {
    ApiError::invalid(e.field.flag(), e.reason)
}

/// The stored row as a validated spec (what apply compares and export writes).
pub fn row_spec(row: &TemplateRow) -> Result<TemplateSpec, ApiError> {
    let corrupt = |what: &str| {
        ApiError::Internal(format!("template {} has an invalid stored {what}", row.id))
    };
    Ok(TemplateSpec {
        account: row.account.clone(),
        name: row.name.clone(),
        chats: row.chats.clone(),
        schedule: ScheduleSpec {
            kind: row.schedule_kind,
            expr: row.schedule_expr.clone(),
        },
        tz: parse_tz(&row.timezone).map_err(|_| corrupt("timezone"))?,
        text: row.text.clone(),
        parse_mode: spec::parse_mode(Some(&row.parse_mode)).map_err(|_| corrupt("parse mode"))?,
        misfire: row.misfire,
        active: row.active,
        options: SendOptions::from_db(&row.send_options).map_err(|_| corrupt("send options"))?,
        attachments: row.attachments.clone(),
    })
}

/// Anchor and next slot to store for `new`, given what was stored before
/// (`None` on create). `every` anchors restart when the schedule changes;
/// the slot is recomputed on create, on any schedule or zone change, and
/// when the template becomes active.
pub fn schedule_state(
    old: Option<(&TemplateRow, &TemplateSpec)>,
    new: &TemplateSpec,
    now: DateTime<Utc>,
) -> (i64, Option<i64>) {
    let next = |anchor: i64| {
        new.schedule
            .build(new.tz, from_ms(anchor))
            .and_then(|s| s.next_after(now))
            .map(to_ms)
    };
    match old {
        None => (to_ms(now), next(to_ms(now))),
        Some((row, cur)) => {
            let schedule_changed = cur.schedule != new.schedule;
            let anchor = if schedule_changed && new.schedule.kind == ScheduleKind::Every {
                to_ms(now)
            } else {
                row.anchor_at
            };
            if schedule_changed || cur.tz != new.tz || (new.active && !row.active) {
                (anchor, next(anchor))
            } else {
                (anchor, row.next_slot)
            }
        }
    }
}

/// A one-shot time must be in the future when it is set (`next`, from
/// [`schedule_state`], is `None` for a past one); a finished template keeps
/// its past time through edits of other fields, export and apply.
pub fn check_not_past(
    old: Option<&TemplateSpec>,
    new: &TemplateSpec,
    next: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), FieldError> {
    let set_now = old.is_none_or(|o| o.schedule != new.schedule || o.tz != new.tz);
    if new.schedule.kind != ScheduleKind::At || next.is_some() || !set_now {
        return Ok(());
    }
    let reason = match OnceSchedule::parse(&new.schedule.expr, new.tz) {
        Ok(o) => crate::control::cron::past_at(&o, new.tz, now),
        Err(e) => e.to_string(),
    };
    Err(FieldError::new(spec::Field::At, reason))
}

/// What to write for `spec` with the given schedule state.
pub fn data_of(spec: &TemplateSpec, anchor_at: i64, next_slot: Option<i64>) -> TemplateData {
    TemplateData {
        name: spec.name.clone(),
        text: spec.text.clone(),
        parse_mode: spec.parse_mode.to_owned(),
        schedule_kind: spec.schedule.kind,
        schedule_expr: spec.schedule.expr.clone(),
        timezone: spec.tz.name().to_owned(),
        anchor_at,
        active: spec.active,
        misfire: spec.misfire,
        next_slot,
        chats: spec.chats.clone(),
        send_options: spec.options.to_db(),
        attachments: spec.attachments.clone(),
    }
}

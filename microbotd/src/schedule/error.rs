//! Error type for schedule parsing, shared by cron, `every` and durations.
//!
//! Messages are written for operators: they name the field that is wrong and
//! why, so the control API can return them verbatim as INVALID_ARGUMENT.

use std::fmt;

/// One of the five standard cron fields, in crontab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    /// The fields in the order they appear in an expression.
    pub const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    /// The name used in messages, as crontab(5) spells it.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a schedule, duration or time zone was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("empty cron expression")]
    EmptyCron,
    #[error(
        "\"{0}\" is not a local date and time: use YYYY-MM-DDTHH:MM (e.g. 2026-12-01T10:00), \
         in the template's zone"
    )]
    BadLocalTime(String),
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), got {got}{hint}")]
    FieldCount { got: usize, hint: &'static str },
    #[error("{field} field \"{text}\": {reason}")]
    Field {
        field: CronField,
        text: String,
        reason: String,
    },
    #[error(
        "unknown macro \"{0}\": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
    )]
    UnknownMacro(String),
    /// croner refused an expression our own checks accepted; kept separate so
    /// such a disagreement is visible instead of being blamed on a field.
    /// croner's words ("Component error") mean nothing to an operator: they
    /// stay in `reason`, which the daemon logs, not in the message.
    #[error(
        "cron expression \"{expr}\" is not supported: each field is valid, but the scheduler \
         cannot use them together; write it more simply (see `microbotctl cron validate`)"
    )]
    Croner { expr: String, reason: String },
    #[error("invalid duration \"{input}\": {reason}")]
    Duration { input: String, reason: String },
    #[error("interval {0} is too short: the minimum is 1s")]
    IntervalTooShort(String),
    #[error("interval {0} is too long: the maximum is 366d")]
    IntervalTooLong(String),
    #[error("unknown time zone \"{0}\": use an IANA name such as Europe/Istanbul or UTC")]
    UnknownTimeZone(String),
}

impl ScheduleError {
    pub(super) fn field(field: CronField, text: &str, reason: impl Into<String>) -> Self {
        ScheduleError::Field {
            field,
            text: text.to_owned(),
            reason: reason.into(),
        }
    }

    pub(super) fn duration(input: &str, reason: impl Into<String>) -> Self {
        ScheduleError::Duration {
            input: input.to_owned(),
            reason: reason.into(),
        }
    }
}

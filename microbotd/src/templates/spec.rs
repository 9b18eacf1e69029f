//! [`TemplateInput`] (strings as the operator typed them) → [`TemplateSpec`]
//! (validated and canonical), or a [`FieldError`] naming the field.
//!
//! Canonical forms make comparisons (apply's diff) exact: targets as
//! `parse_target` prints them, `every` intervals as `format_duration`
//! prints them, cron text trimmed, zones as IANA names.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::schedule::{OnceSchedule, Schedule, format_duration, parse_duration, parse_tz};
use crate::store::states::{Misfire, ScheduleKind};
use crate::telegram::Attachment;
use crate::telegram::target::parse_target;

use super::options::SendOptions;

/// Telegram's limit on a message, in UTF-16 code units.
pub const MAX_TEXT_UTF16: usize = 4096;
/// Longest template name.
pub const MAX_NAME: usize = 64;

/// A field of a template, named as the CLI flag (and as the file key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Account,
    Name,
    Chat,
    Cron,
    Every,
    At,
    Schedule,
    Tz,
    Text,
    ParseMode,
    Misfire,
    PinNotify,
    Attachment,
}

impl Field {
    /// The CLI's name for the field (what create/edit errors say).
    pub fn flag(self) -> &'static str {
        match self {
            Field::Account => "account",
            Field::Name => "name",
            Field::Chat => "chat",
            Field::Cron => "cron",
            Field::Every => "every",
            Field::At => "at",
            Field::Schedule => "cron/every",
            Field::Tz => "tz",
            Field::Text => "text",
            Field::ParseMode => "parse-mode",
            Field::Misfire => "misfire",
            Field::PinNotify => "pin-notify",
            Field::Attachment => "photo/video/document",
        }
    }

    /// The template file's key for the field (what apply errors say).
    pub fn key(self) -> &'static str {
        match self {
            Field::Chat => "chats",
            Field::Tz => "timezone",
            Field::ParseMode => "parse_mode",
            Field::PinNotify => "pin_notify",
            Field::Attachment => "attachments",
            other => other.flag(),
        }
    }
}

/// One field is wrong, and why. Nothing is written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: Field, reason: impl Into<String>) -> Self {
        FieldError {
            field,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.flag(), self.reason)
    }
}

/// A template's fields as given: by the CLI (create) or the file (apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateInput {
    pub account: String,
    pub name: String,
    pub chats: Vec<String>,
    pub cron: Option<String>,
    pub every: Option<String>,
    /// A one-shot local date and time (`2026-12-01T10:00`).
    pub at: Option<String>,
    /// `None`: the daemon's default zone.
    pub timezone: Option<String>,
    pub text: String,
    /// `None`: plain.
    pub parse_mode: Option<String>,
    /// `None`: once.
    pub misfire: Option<String>,
    pub active: bool,
    pub options: SendOptions,
    /// Files sent with the text, in order, already checked one by one
    /// ([`super::attachments::describe`]).
    pub attachments: Vec<Attachment>,
}

/// What the schedule columns store: the kind; `expr` the trimmed cron text
/// or the canonical interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub kind: ScheduleKind,
    pub expr: String,
}

impl ScheduleSpec {
    /// Parses a cron expression, refusing one that never fires.
    pub fn cron(expr: &str, tz: Tz) -> Result<ScheduleSpec, FieldError> {
        let s =
            Schedule::cron(expr, tz).map_err(|e| FieldError::new(Field::Cron, e.to_string()))?;
        if s.never_fires() {
            return Err(FieldError::new(
                Field::Cron,
                format!(
                    "\"{}\" never fires: no calendar date matches its day-of-month, month and \
                     day-of-week fields together (like 30 February)",
                    expr.trim()
                ),
            ));
        }
        Ok(ScheduleSpec {
            kind: ScheduleKind::Cron,
            expr: expr.trim().to_owned(),
        })
    }

    /// Parses an interval (`90m`; a leading `every ` is allowed too).
    pub fn every(input: &str) -> Result<ScheduleSpec, FieldError> {
        let t = input.trim();
        let t = match t.split_once(char::is_whitespace) {
            Some((head, rest)) if head.eq_ignore_ascii_case("every") => rest,
            _ => t,
        };
        let err = |e: crate::schedule::ScheduleError| FieldError::new(Field::Every, e.to_string());
        let d = parse_duration(t).map_err(err)?;
        // Checks the interval bounds (1 s to 366 d).
        Schedule::every(d, DateTime::<Utc>::UNIX_EPOCH).map_err(err)?;
        Ok(ScheduleSpec {
            kind: ScheduleKind::Every,
            expr: format_duration(d),
        })
    }

    /// A one-shot local date and time in `tz`, canonical
    /// (`2026-12-01T10:00`). A past time is not refused here: a finished
    /// template is stored and exported with it (create refuses it).
    pub fn at(input: &str, tz: Tz) -> Result<ScheduleSpec, FieldError> {
        let o = OnceSchedule::parse(input, tz)
            .map_err(|e| FieldError::new(Field::At, e.to_string()))?;
        Ok(ScheduleSpec {
            kind: ScheduleKind::At,
            expr: o.expr(),
        })
    }

    /// Exactly one of `cron` / `every` / `at`.
    pub fn from_parts(
        cron: Option<&str>,
        every: Option<&str>,
        at: Option<&str>,
        tz: Tz,
    ) -> Result<ScheduleSpec, FieldError> {
        match (cron, every, at) {
            (Some(c), None, None) => ScheduleSpec::cron(c, tz),
            (None, Some(e), None) => ScheduleSpec::every(e),
            (None, None, Some(a)) => ScheduleSpec::at(a, tz),
            (None, None, None) => Err(FieldError::new(
                Field::Schedule,
                "a schedule is required: a cron expression, an interval (every) or a time (at)",
            )),
            _ => Err(FieldError::new(
                Field::Schedule,
                "give one of a cron expression, an interval (every) or a time (at), not several",
            )),
        }
    }

    /// The schedule itself; `anchor` is where an `every` interval starts.
    pub fn build(&self, tz: Tz, anchor: DateTime<Utc>) -> Option<Schedule> {
        match self.kind {
            ScheduleKind::Every => Schedule::every(parse_duration(&self.expr).ok()?, anchor).ok(),
            ScheduleKind::Cron => Schedule::cron(&self.expr, tz).ok(),
            ScheduleKind::At => Schedule::once(&self.expr, tz).ok(),
        }
    }

    /// As the CLI shows it: `0 9 * * 1-5`, `every 1h30m` or
    /// `at 2026-12-01T10:00`.
    pub fn display(&self) -> String {
        match self.kind {
            ScheduleKind::Every => format!("every {}", self.expr),
            ScheduleKind::Cron => self.expr.clone(),
            ScheduleKind::At => format!("at {}", self.expr),
        }
    }
}

/// A validated template, every field canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpec {
    pub account: String,
    pub name: String,
    /// Canonical targets, in the given order, no duplicates.
    pub chats: Vec<String>,
    pub schedule: ScheduleSpec,
    pub tz: Tz,
    pub text: String,
    pub parse_mode: &'static str,
    pub misfire: Misfire,
    pub active: bool,
    pub options: SendOptions,
    pub attachments: Vec<Attachment>,
}

/// Validates every field; the first wrong one is reported.
pub fn validate(input: &TemplateInput, default_tz: Tz) -> Result<TemplateSpec, FieldError> {
    if input.account.trim().is_empty() {
        return Err(FieldError::new(Field::Account, "required"));
    }
    validate_name(&input.name)?;
    let chats = validate_chats(&input.chats)?;
    let tz = validate_tz(input.timezone.as_deref(), default_tz)?;
    let schedule = ScheduleSpec::from_parts(
        input.cron.as_deref(),
        input.every.as_deref(),
        input.at.as_deref(),
        tz,
    )?;
    validate_text(&input.text)?;
    validate_placeholders(&input.text)?;
    input
        .options
        .check()
        .map_err(|r| FieldError::new(Field::PinNotify, r))?;
    super::attachments::check_list(&input.attachments, &input.text)?;
    Ok(TemplateSpec {
        account: input.account.trim().to_owned(),
        name: input.name.clone(),
        chats,
        schedule,
        tz,
        text: input.text.clone(),
        parse_mode: parse_mode(input.parse_mode.as_deref())?,
        misfire: misfire(input.misfire.as_deref())?,
        active: input.active,
        options: input.options,
        attachments: input.attachments.clone(),
    })
}

/// 1–64 characters of letters, digits, `.`, `_`, `-`, starting with a
/// letter or digit (so `account/name` stays unambiguous in plans).
pub fn validate_name(name: &str) -> Result<(), FieldError> {
    let err = |r: String| FieldError::new(Field::Name, r);
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME {
        return Err(err(format!("must be 1 to {MAX_NAME} characters")));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(err("must start with a letter or digit".into()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(err(format!(
            "{c:?} is not allowed (use letters, digits, '.', '_', '-')"
        )));
    }
    Ok(())
}

/// At most `max` chats per template (`templates.max_chats`): checked before
/// anything else, so an oversized request costs nothing.
pub fn check_chat_count(chats: usize, max: u32) -> Result<(), FieldError> {
    if chats > max as usize {
        return Err(FieldError::new(
            Field::Chat,
            format!("{chats} chats; a template may send to at most {max} (templates.max_chats)"),
        ));
    }
    Ok(())
}

/// At least one chat; each parses; none twice (after canonicalisation).
pub fn validate_chats(chats: &[String]) -> Result<Vec<String>, FieldError> {
    if chats.is_empty() {
        return Err(FieldError::new(
            Field::Chat,
            "at least one chat is required",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(chats.len());
    let mut seen = std::collections::HashSet::with_capacity(chats.len());
    for c in chats {
        let t = parse_target(c)
            .map_err(|e| FieldError::new(Field::Chat, format!("{c:?}: {e}")))?
            .canonical();
        if !seen.insert(t.clone()) {
            return Err(FieldError::new(Field::Chat, format!("{t} is listed twice")));
        }
        out.push(t);
    }
    Ok(out)
}

/// An IANA zone; empty or absent means `default`.
pub fn validate_tz(tz: Option<&str>, default: Tz) -> Result<Tz, FieldError> {
    match tz.map(str::trim) {
        None | Some("") => Ok(default),
        Some(name) => parse_tz(name).map_err(|e| FieldError::new(Field::Tz, e.to_string())),
    }
}

/// Non-empty, no control characters but tab and line breaks (Telegram
/// refuses them; PostgreSQL cannot store NUL), and at most 4096 UTF-16
/// code units, counted on the raw text (markup included) — stricter than
/// Telegram for markdown/html, never looser.
pub fn validate_text(text: &str) -> Result<(), FieldError> {
    if text.trim().is_empty() {
        return Err(FieldError::new(Field::Text, "must not be empty"));
    }
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(FieldError::new(
            Field::Text,
            format!(
                "control character U+{:04X} at character {}: Telegram refuses it (tab and line \
                 breaks are fine)",
                u32::from(c),
                at + 1
            ),
        ));
    }
    let units = text.encode_utf16().count();
    if units > MAX_TEXT_UTF16 {
        return Err(FieldError::new(
            Field::Text,
            format!(
                "{units} UTF-16 code units, Telegram allows at most {MAX_TEXT_UTF16} (counted on \
                 the raw text, markup included)"
            ),
        ));
    }
    Ok(())
}

/// Only known placeholders (`{date}`, `{time}`, `{weekday}`, `{slot}`;
/// `{{` for a literal `{`), and the text still within Telegram's limit with
/// each filled in at its longest.
pub fn validate_placeholders(text: &str) -> Result<(), FieldError> {
    let longest = super::placeholders::check(text).map_err(|r| FieldError::new(Field::Text, r))?;
    let units = longest.encode_utf16().count();
    if units > MAX_TEXT_UTF16 {
        return Err(FieldError::new(
            Field::Text,
            format!(
                "{units} UTF-16 code units with its placeholders filled in at their longest; \
                 Telegram allows at most {MAX_TEXT_UTF16}"
            ),
        ));
    }
    Ok(())
}

/// `plain` (default), `markdown` or `html`.
pub fn parse_mode(s: Option<&str>) -> Result<&'static str, FieldError> {
    match s.map(str::trim) {
        None | Some("") | Some("plain") => Ok("plain"),
        Some("markdown") => Ok("markdown"),
        Some("html") => Ok("html"),
        Some(other) => Err(FieldError::new(
            Field::ParseMode,
            format!("{other:?} is not one of plain, markdown, html"),
        )),
    }
}

/// `skip`, `once` (default) or `all`.
pub fn misfire(s: Option<&str>) -> Result<Misfire, FieldError> {
    match s.map(str::trim) {
        None | Some("") => Ok(Misfire::Once),
        Some(text) => text.parse().map_err(|_| {
            FieldError::new(
                Field::Misfire,
                format!("{text:?} is not one of skip, once, all"),
            )
        }),
    }
}

#[cfg(test)]
mod tests;

//! Our own parser for the five cron fields.
//!
//! croner's own errors ("Number out of bounds.") do not say which field is
//! wrong, and it accepts things Vixie cron does not (`1,,2`, six fields), so
//! every field is checked and normalised here first. croner then only ever
//! sees plain numbers (names already replaced), which also sidesteps its
//! whole-string name substitution.

use super::error::{CronField, ScheduleError};

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field after checking: the plain values it selects, whether it starts
/// with `*` (what crontab(5) means by "unrestricted" for the day fields) and
/// the numeric text handed to croner.
#[derive(Debug, Clone)]
pub(super) struct Field {
    /// Bit `v` set when value `v` is selected by a plain value, range or
    /// step; `L`, `W` and `#` items are not represented here.
    pub bits: u64,
    pub star: bool,
    /// True when the field has `L`, `W` or `#` items.
    pub special: bool,
    pub normalized: String,
}

impl Field {
    pub fn count(&self) -> u32 {
        self.bits.count_ones()
    }
}

fn range_of(field: CronField) -> (u32, u32) {
    match field {
        CronField::Minute => (0, 59),
        CronField::Hour => (0, 23),
        CronField::DayOfMonth => (1, 31),
        CronField::Month => (1, 12),
        CronField::DayOfWeek => (0, 7),
    }
}

fn expected_names(field: CronField) -> &'static str {
    match field {
        CronField::Month => " (use JAN-DEC or 1-12)",
        CronField::DayOfWeek => " (use SUN-SAT or 0-7)",
        _ => " (this field takes numbers only)",
    }
}

/// Parses one field; `text` is the field as the user typed it.
pub(super) fn parse_field(field: CronField, text: &str) -> Result<Field, ScheduleError> {
    let err = |reason: String| ScheduleError::field(field, text, reason);
    let upper = text.to_ascii_uppercase();
    let mut out = Field {
        bits: 0,
        star: upper.starts_with('*'),
        special: false,
        normalized: String::new(),
    };
    let in_list = upper.contains(',');
    for (i, item) in upper.split(',').enumerate() {
        if item.is_empty() {
            return Err(err(
                "empty list item (two commas, or a comma at an end)".into()
            ));
        }
        let norm = parse_item(field, item, in_list, &mut out).map_err(err)?;
        if i > 0 {
            out.normalized.push(',');
        }
        out.normalized.push_str(&norm);
    }
    if field == CronField::DayOfWeek && out.bits & (1 << 7) != 0 {
        // 7 and 0 are both Sunday; folding keeps counts and names honest.
        out.bits = (out.bits & !(1 << 7)) | 1;
    }
    Ok(out)
}

/// Checks one comma-separated item and returns its numeric form. Inside a
/// list, `*` is written as its full range: croner refuses `*` there, and
/// `*,5` means the same as `0-59,5`.
fn parse_item(
    field: CronField,
    item: &str,
    in_list: bool,
    out: &mut Field,
) -> Result<String, String> {
    let (lo, hi) = range_of(field);
    if let Some(norm) = parse_special(field, item)? {
        out.special = true;
        return Ok(norm);
    }
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    let step = match step {
        None => None,
        Some(s) => {
            let n = parse_number(s, "step")?;
            if n == 0 {
                return Err("a step of 0 is not allowed".into());
            }
            if n > hi {
                return Err(format!("step {n} is larger than the maximum {hi}"));
            }
            Some(n)
        }
    };
    let (start, end, norm_range) = if range == "*" && in_list {
        (lo, hi, format!("{lo}-{hi}"))
    } else if range == "*" {
        (lo, hi, "*".to_owned())
    } else if let Some((a, b)) = range.split_once('-') {
        let a = parse_value(field, a, false)?;
        let b = parse_value(field, b, true)?;
        if a > b {
            return Err(format!(
                "range {a}-{b} is reversed (its start is after its end)"
            ));
        }
        (a, b, format!("{a}-{b}"))
    } else {
        if step.is_some() {
            return Err(format!(
                "a step needs a range or * before the \"/\" (write */{s} or {r}-{hi}/{s})",
                s = step.unwrap_or(1),
                r = range,
            ));
        }
        let v = parse_value(field, range, false)?;
        (v, v, v.to_string())
    };
    let step_by = step.unwrap_or(1) as usize;
    for v in (start..=end).step_by(step_by) {
        out.bits |= 1 << v;
    }
    Ok(match step {
        Some(s) => format!("{norm_range}/{s}"),
        None => norm_range,
    })
}

/// `L`, `LW`, `nW` in day-of-month and `nL`, `n#k` in day-of-week: the
/// extensions croner supports that people actually use.
fn parse_special(field: CronField, item: &str) -> Result<Option<String>, String> {
    match field {
        CronField::DayOfMonth => {
            if item == "L" || item == "LW" {
                return Ok(Some(item.to_owned()));
            }
            if let Some(day) = item.strip_suffix('W') {
                let d = parse_value(field, day, false)?;
                return Ok(Some(format!("{d}W")));
            }
            if item.contains('#') {
                return Err("\"#\" belongs in the day-of-week field (e.g. 1#1)".into());
            }
        }
        CronField::DayOfWeek => {
            if let Some(day) = item.strip_suffix('L') {
                if day.is_empty() {
                    return Err(
                        "\"L\" needs a weekday here (e.g. 5L = last Friday); for the last day \
                         of the month put L in the day-of-month field"
                            .into(),
                    );
                }
                let d = parse_value(field, day, false)?;
                return Ok(Some(format!("{d}L")));
            }
            if let Some((day, nth)) = item.split_once('#') {
                let d = parse_value(field, day, false)?;
                let k = parse_number(nth, "occurrence")?;
                if !(1..=5).contains(&k) {
                    return Err(format!(
                        "#{k}: a month has at most 5 of each weekday (use #1 to #5)"
                    ));
                }
                return Ok(Some(format!("{d}#{k}")));
            }
        }
        _ => {}
    }
    Ok(None)
}

fn parse_number(s: &str, what: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Err(format!("missing {what} number"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("\"{s}\" is not a valid {what}"));
    }
    // Long digit strings are out of range rather than a parse failure.
    Ok(s.parse::<u32>().unwrap_or(u32::MAX))
}

/// A single value: a number in range or, for month and weekday, a name.
/// `range_end` lets `MON-SUN` mean Monday to Sunday (7), not to 0.
fn parse_value(field: CronField, s: &str, range_end: bool) -> Result<u32, String> {
    let (lo, hi) = range_of(field);
    if s.is_empty() {
        return Err("missing value".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let v = s.parse::<u32>().unwrap_or(u32::MAX);
        if v < lo || v > hi {
            let shown = if s.len() > 12 { "that number" } else { s };
            return Err(format!("{shown} is out of range {lo}-{hi}"));
        }
        return Ok(v);
    }
    if s.bytes().all(|b| b.is_ascii_alphabetic()) {
        let names: &[&str] = match field {
            CronField::Month => &MONTHS,
            CronField::DayOfWeek => &DAYS,
            _ => &[],
        };
        return match names.iter().position(|n| *n == s) {
            Some(i) if field == CronField::Month => Ok(i as u32 + 1),
            Some(0) if range_end => Ok(7),
            Some(i) => Ok(i as u32),
            None => Err(format!("unknown name \"{s}\"{}", expected_names(field))),
        };
    }
    match s.chars().find(|c| !c.is_ascii_alphanumeric()) {
        Some(bad) => Err(format!("unexpected character '{bad}' in \"{s}\"")),
        None => Err(format!("\"{s}\" is neither a number nor a name")),
    }
}

/// Expands `@daily` and friends to their five fields.
pub(super) fn expand_macro(expr: &str) -> Result<&'static str, ScheduleError> {
    Ok(match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return Err(ScheduleError::UnknownMacro(expr.to_owned())),
    })
}

/// Names of the weekdays selected by plain values, for warnings.
pub(super) fn weekday_names(bits: u64) -> Vec<&'static str> {
    const FULL: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    (0..7)
        .filter(|d| bits & (1 << d) != 0)
        .map(|d| FULL[d])
        .collect()
}

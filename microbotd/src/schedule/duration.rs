//! Humane durations: `90s`, `15m`, `2h`, `1d`, `1h30m`, `500ms`.
//!
//! Canonical form (what [`format_duration`] prints): units from largest to
//! smallest, `d h m s ms`, each at most once, zero parts left out, no
//! spaces; zero is `0s`. So 5400 s is `1h30m`, 86400 s is `1d`, 90 s is
//! `1m30s`. [`parse_duration`] accepts that and any other descending
//! combination (`90m`, `1d 2h`), so every canonical string round-trips.

use std::time::Duration;

use super::error::ScheduleError;

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration such as `1h30m`. Units must go from largest to
/// smallest and appear once each, which keeps `1m30m`-style typos errors.
pub fn parse_duration(input: &str) -> Result<Duration, ScheduleError> {
    let err = |reason: &str| ScheduleError::duration(input, reason);
    let s = input.trim();
    if s.is_empty() {
        return Err(err("empty; write e.g. 90s, 15m, 2h, 1d or 1h30m"));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    let mut last_unit = None;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(err("expected a number before each unit"));
        }
        let digits = &s[start..i];
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = s[ustart..i].to_ascii_lowercase();
        if unit.is_empty() {
            return Err(err("missing unit after a number (use d, h, m, s or ms)"));
        }
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(err(&format!(
                "unknown unit \"{unit}\" (use d, h, m, s or ms)"
            )));
        };
        if last_unit.is_some_and(|l| idx <= l) {
            return Err(err(
                "units must go from largest to smallest, each once (e.g. 1h30m)",
            ));
        }
        last_unit = Some(idx);
        let n: u64 = digits.parse().map_err(|_| err("number too large"))?;
        total_ms = n
            .checked_mul(UNITS[idx].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| err("too large"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Prints the canonical form described in the module docs. Sub-millisecond
/// parts are dropped: schedules never carry them.
pub fn format_duration(d: Duration) -> String {
    let mut rest = d.as_millis();
    if rest == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, ms) in UNITS {
        let ms = u128::from(ms);
        let n = rest / ms;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(unit);
            rest -= n * ms;
        }
    }
    out
}

//! Placeholders in a template's text, filled in at send time from the
//! delivery's slot in the template's zone: `{date}` (2026-12-01), `{time}`
//! (10:00), `{weekday}` (Tuesday) and `{slot}` (RFC 3339 with the zone's
//! offset, 2026-12-01T10:00:00+03:00). `{{` is a literal `{`; a `}` is
//! always literal.
//!
//! Create, edit and apply refuse any other `{…}` ([`check`]), so what is
//! stored renders exactly. The send path ([`render`]) leaves anything it
//! does not know as written: text stored before placeholders existed (or
//! restored from such a backup) still goes out as it was.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// The names, as the error for an unknown one lists them.
const NAMES: [&str; 4] = ["date", "time", "weekday", "slot"];

/// The longest value each can take (all ASCII): validation counts the text
/// with these in place, so a rendered message never exceeds Telegram's
/// limit.
fn longest(name: &str) -> &'static str {
    match name {
        "date" => "2026-12-31",
        "time" => "23:59",
        "weekday" => "Wednesday",
        _ => "2026-12-31T23:59:59+05:45",
    }
}

/// One piece of a text: literal text, or a placeholder's name.
enum Piece<'a> {
    Literal(&'a str),
    Name(&'a str),
}

/// Splits `text` into pieces; `Err(at, why)` where it cannot be read
/// (`at`: the 1-based character position of the `{`).
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, (usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut consumed = 0;
    while let Some(open) = rest.find('{') {
        out.push(Piece::Literal(&rest[..open]));
        let after = &rest[open + 1..];
        let at = text[..consumed + open].chars().count() + 1;
        if let Some(escaped) = after.strip_prefix('{') {
            out.push(Piece::Literal("{"));
            rest = escaped;
            consumed += open + 2;
            continue;
        }
        let Some(close) = after.find('}') else {
            return Err((
                at,
                "\"{\" is never closed (write {{ for a literal {)".into(),
            ));
        };
        let name = &after[..close];
        if !NAMES.contains(&name) {
            let shown: String = name.chars().take(32).collect();
            return Err((
                at,
                format!(
                    "unknown placeholder {{{shown}}}: use {} (or {{{{ for a literal {{)",
                    NAMES.map(|n| format!("{{{n}}}")).join(", ")
                ),
            ));
        }
        out.push(Piece::Name(name));
        rest = &after[close + 1..];
        consumed += open + close + 2;
    }
    out.push(Piece::Literal(rest));
    Ok(out)
}

fn join<'a>(pieces: &[Piece<'a>], value: impl Fn(&'a str) -> Cow<'a, str>) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Literal(l) => s.push_str(l),
            Piece::Name(n) => s.push_str(&value(n)),
        }
    }
    s
}

/// Refuses a text with an unknown or unclosed placeholder, naming where.
/// Returns the text as long as it can get once rendered.
pub fn check(text: &str) -> Result<String, String> {
    let pieces = pieces(text).map_err(|(at, why)| format!("at character {at}: {why}"))?;
    Ok(join(&pieces, |n| Cow::Borrowed(longest(n))))
}

/// The text to send for a delivery of `slot` in zone `tz`. A text without
/// `{` is borrowed as it is.
pub fn render(text: &str, slot: DateTime<Utc>, tz: Tz) -> Cow<'_, str> {
    if !text.contains('{') {
        return Cow::Borrowed(text);
    }
    let Ok(pieces) = pieces(text) else {
        return Cow::Borrowed(text);
    };
    let local = slot.with_timezone(&tz);
    Cow::Owned(join(&pieces, |n| {
        Cow::Owned(match n {
            "date" => local.format("%Y-%m-%d").to_string(),
            "time" => local.format("%H:%M").to_string(),
            "weekday" => local.format("%A").to_string(),
            _ => local.to_rfc3339_opts(SecondsFormat::Secs, false),
        })
    }))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn renders_in_the_template_zone() {
        let slot = at(2026, 12, 1, 7, 0);
        let text = "{weekday} {date} {time} ({slot}) {{date}} }";
        assert_eq!(
            render(text, slot, Tz::Europe__Istanbul),
            "Tuesday 2026-12-01 10:00 (2026-12-01T10:00:00+03:00) {date}} }"
        );
        // Across midnight the zone decides the day.
        assert_eq!(
            render(
                "{weekday} {date} {time}",
                at(2026, 12, 1, 23, 30),
                Tz::Asia__Tokyo
            ),
            "Wednesday 2026-12-02 08:30"
        );
        // DST: the same UTC hour is another local offset in summer.
        assert_eq!(
            render("{slot}", at(2026, 7, 1, 8, 0), Tz::Europe__Berlin),
            "2026-07-01T10:00:00+02:00"
        );
        assert!(matches!(
            render("plain", slot, Tz::UTC),
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused() {
        let e = check("hello {name}").unwrap_err();
        assert!(
            e.starts_with("at character 7: unknown placeholder {name}: use {date}, {time}"),
            "{e}"
        );
        let e = check("é {date} {").unwrap_err();
        assert!(
            e.starts_with("at character 10: \"{\" is never closed"),
            "{e}"
        );
        assert!(check("{{name}} and } alone").is_ok());
        assert!(check("{Date}").is_err(), "names are exact");
        // Stored text the rules refuse is sent as written.
        assert_eq!(
            render("{name} {date", at(2026, 1, 1, 0, 0), Tz::UTC),
            "{name} {date"
        );
    }

    #[test]
    fn the_longest_rendering_is_counted() {
        assert_eq!(check("{slot}").unwrap().len(), 25);
        assert_eq!(check("{weekday}{{").unwrap(), "Wednesday{");
    }
}

//! Just enough roff for the hand-shaped parts of our man pages: escaping and
//! the few `man(7)` macros we use.

/// Escapes text for a roff body line: backslashes, hyphens (so they render
/// as ASCII minus, copy-pasteable), and a leading `.` or `'`.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// A section heading.
pub fn sh(out: &mut String, title: &str) {
    out.push_str(&format!(".SH \"{}\"\n", title.to_uppercase()));
}

/// Starts a paragraph, unless a heading just did (mandoc warns otherwise).
fn paragraph_break(out: &mut String) {
    let after_heading = out
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .is_some_and(|l| l.starts_with(".SH") || l.starts_with(".SS"));
    if !after_heading {
        out.push_str(".PP\n");
    }
}

/// A paragraph.
pub fn pp(out: &mut String, text: &str) {
    paragraph_break(out);
    out.push_str(&esc(text));
    out.push('\n');
}

/// A tagged paragraph: `tag` in bold, then `text`.
pub fn tp(out: &mut String, tag: &str, text: &str) {
    out.push_str(".TP\n");
    out.push_str(&format!("\\fB{}\\fR\n", esc(tag)));
    out.push_str(&esc(text));
    out.push('\n');
}

/// Lines shown verbatim (commands, examples).
pub fn example(out: &mut String, lines: &[&str]) {
    paragraph_break(out);
    out.push_str(".nf\n.RS 4\n");
    for l in lines {
        out.push_str(&esc(l));
        out.push('\n');
    }
    out.push_str(".RE\n.fi\n");
}

/// The page date: the day of the newest `packaging/changelog` entry, as
/// YYYY-MM-DD, so pages change with releases, not with every build.
pub fn release_date() -> String {
    const CHANGELOG: &str = include_str!("../../../packaging/changelog");
    CHANGELOG
        .lines()
        .find_map(|l| l.strip_prefix(" -- "))
        .and_then(|l| l.split_once(">  "))
        .and_then(|(_, date)| chrono::DateTime::parse_from_rfc2822(date.trim()).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(esc("--config"), "\\-\\-config");
        assert_eq!(esc("a\\b"), "a\\eb");
        assert_eq!(esc(".hidden"), "\\&.hidden");
        assert_eq!(esc("'quoted"), "\\&'quoted");
    }

    #[test]
    fn date_from_the_changelog() {
        let d = release_date();
        assert_eq!(d.len(), 10, "{d:?}");
        assert!(
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").is_ok(),
            "{d}"
        );
    }
}

//! Template file format: round trip, strictness, and a property test that
//! arbitrary input only ever errors.

use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

const SAMPLE: &str = r#"
[[template]]
account = "sales-tr"
name = "daily-report"
chats = ["@Ops_Channel", "-1001234567890"]
cron = "0 9 * * 1-5"
timezone = "Europe/Istanbul"
text = """
Günaydın!
Line "two" \\ backslash"""
parse_mode = "plain"
misfire = "once"
active = true

[[template]]
account = "sales-tr"
name = "ping"
chats = ["t.me/ops_channel"]
every = "90m"
text = "ping"
"#;

#[test]
fn sample_parses_with_defaults() {
    let specs = parse(SAMPLE, Tz::UTC).unwrap();
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0].chats, ["@ops_channel", "-1001234567890"]);
    assert_eq!(specs[0].text, "Günaydın!\nLine \"two\" \\ backslash");
    assert_eq!(specs[1].schedule.expr, "1h30m");
    assert_eq!(specs[1].tz, Tz::UTC);
    assert!(specs[1].active);
    assert_eq!(parse("", Tz::UTC).unwrap(), vec![]);
}

#[test]
fn render_then_parse_round_trips() {
    let specs = parse(SAMPLE, Tz::UTC).unwrap();
    let text = render(&specs);
    assert!(text.contains("[[template]]"), "{text}");
    assert_eq!(parse(&text, Tz::Asia__Tokyo).unwrap(), specs);
    assert_eq!(render(&parse(&text, Tz::UTC).unwrap()), text);
}

#[test]
fn unknown_keys_are_errors() {
    let e = parse(
        &SAMPLE.replace("misfire = \"once\"", "misfir = \"once\""),
        Tz::UTC,
    );
    assert!(
        matches!(&e, Err(FileError::Syntax(m)) if m.contains("misfir")),
        "{e:?}"
    );
    let e = parse("version = 2\n", Tz::UTC);
    assert!(
        matches!(&e, Err(FileError::Syntax(m)) if m.contains("version")),
        "{e:?}"
    );
    let e = parse("[[template]]\naccount = \"a\"\n", Tz::UTC).unwrap_err();
    assert!(!e.to_string().contains('\n'), "{e}");
}

#[test]
fn duplicates_are_named() {
    let doubled = format!(
        "{SAMPLE}\n{}",
        &SAMPLE[..SAMPLE
            .find("[[template]]\naccount = \"sales-tr\"\nname = \"ping\"")
            .unwrap()]
    );
    let e = parse(&doubled, Tz::UTC).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template[3] (sales-tr/daily-report) is a duplicate of template[1]"
    );
}

#[test]
fn invalid_entries_name_index_and_key() {
    let e = parse(&SAMPLE.replace("0 9 * * 1-5", "0 0 30 2 *"), Tz::UTC).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("template[1] (sales-tr/daily-report): cron: ")
            && msg.contains("never fires"),
        "{msg}"
    );
    let e = parse(
        &SAMPLE.replace("Europe/Istanbul", "Europe/Nowhere"),
        Tz::UTC,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("template[1] (sales-tr/daily-report): timezone: "),
        "{e}"
    );
    let e = parse(&SAMPLE.replace("every = \"90m\"", ""), Tz::UTC).unwrap_err();
    assert!(
        e.to_string()
            .contains("template[2] (sales-tr/ping): cron/every: "),
        "{e}"
    );
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    (
        "[a-z][a-z0-9-]{0,10}",
        "[a-zA-Z0-9][a-zA-Z0-9._-]{0,20}",
        prop::collection::btree_set("[a-z](_?[a-z0-9]){4,10}", 1..4),
        prop_oneof![
            Just((Some("0 9 * * 1-5".to_owned()), None, None)),
            Just((Some("*/5 * * * *".to_owned()), None, None)),
            (1u32..5000).prop_map(|m| (None, Some(format!("{m}m")), None)),
            // In a DST gap in some zones: still its canonical self.
            Just((None, None, Some("2027-03-28T02:30".to_owned()))),
        ],
        prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York"]),
        // Control characters other than tab and line breaks are refused.
        "([^\\p{Cc}]|[\t\n]){1,200}"
            .prop_filter("non-blank", |s| !s.trim().is_empty())
            // A brace opens a placeholder; doubled it is literal.
            .prop_map(|s| s.replace('{', "{{")),
        prop::sample::select(vec!["plain", "markdown", "html"]),
        prop::sample::select(vec!["skip", "once", "all"]),
        any::<bool>(),
        any::<[bool; 5]>(),
    )
        .prop_map(
            |(account, name, chats, (cron, every, at), tz, text, pm, mf, active, o)| Entry {
                account,
                name,
                chats: chats.into_iter().map(|c| format!("@{c}")).collect(),
                cron,
                every,
                at,
                timezone: Some(tz.to_owned()),
                text,
                parse_mode: Some(pm.to_owned()),
                misfire: Some(mf.to_owned()),
                active: Some(active),
                silent: o[0],
                no_preview: o[1],
                pin: o[2],
                // Only with pin: alone it is refused.
                pin_notify: o[2] && o[3],
                replace_previous: o[4],
                attachments: Vec::new(),
            },
        )
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC*") {
        let _ = parse(&s, Tz::UTC);
    }

    #[test]
    fn toml_shaped_input_never_panics(
        lines in prop::collection::vec(
            prop_oneof![
                Just("[[template]]".to_owned()),
                "(account|name|cron|every|timezone|text|parse_mode|misfire|active|chats|x) = \"[^\"\\\\]{0,12}\"",
                "(chats) = \\[\"[^\"\\\\]{0,12}\"\\]",
                "(active) = (true|false|1)",
                "\\PC{0,20}",
            ],
            0..20,
        )
    ) {
        let _ = parse(&lines.join("\n"), Tz::UTC);
    }

    #[test]
    fn valid_entries_round_trip(entries in prop::collection::vec(arb_entry(), 0..4)) {
        let doc = FileDoc { template: entries };
        let text = toml::to_string(&doc).unwrap();
        match parse(&text, Tz::UTC) {
            Ok(specs) => {
                let again = render(&specs);
                prop_assert_eq!(parse(&again, Tz::UTC).unwrap(), specs);
            }
            // Two random entries may share (account, name).
            Err(FileError::Duplicate { .. }) => {}
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

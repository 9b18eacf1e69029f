//! Validation of one template's fields.

use super::*;

fn input() -> TemplateInput {
    TemplateInput {
        account: "sales-tr".into(),
        name: "daily-report".into(),
        chats: vec!["t.me/Ops_Channel".into(), "-1001234567890".into()],
        cron: Some(" 0 9 * * 1-5 ".into()),
        text: "hello".into(),
        active: true,
        ..Default::default()
    }
}

fn field_of(i: &TemplateInput) -> Field {
    validate(i, Tz::UTC).unwrap_err().field
}

#[test]
fn valid_input_is_canonicalised() {
    let s = validate(&input(), Tz::Europe__Istanbul).unwrap();
    assert_eq!(s.chats, ["@ops_channel", "-1001234567890"]);
    assert_eq!(
        s.schedule,
        ScheduleSpec {
            kind: ScheduleKind::Cron,
            expr: "0 9 * * 1-5".into()
        }
    );
    assert_eq!(s.tz, Tz::Europe__Istanbul);
    assert_eq!((s.parse_mode, s.misfire), ("plain", Misfire::Once));
    let mut i = input();
    i.cron = None;
    i.every = Some("every 90m".into());
    assert_eq!(validate(&i, Tz::UTC).unwrap().schedule.expr, "1h30m");
}

#[test]
fn each_bad_field_is_named() {
    type Case = (fn(&mut TemplateInput), Field);
    let cases: Vec<Case> = vec![
        (|i| i.account = " ".into(), Field::Account),
        (|i| i.name = String::new(), Field::Name),
        (|i| i.name = "a".repeat(65), Field::Name),
        (|i| i.name = "daily report".into(), Field::Name),
        (|i| i.name = "a/b".into(), Field::Name),
        (|i| i.chats.clear(), Field::Chat),
        (|i| i.chats.push("https://t.me/+abc".into()), Field::Chat),
        (|i| i.chats.push("@OPS_channel".into()), Field::Chat),
        (|i| i.cron = Some("61 * * * *".into()), Field::Cron),
        (|i| i.cron = Some("0 0 30 2 *".into()), Field::Cron),
        (|i| i.every = Some("90m".into()), Field::Schedule),
        (|i| i.cron = None, Field::Schedule),
        (|i| i.timezone = Some("Mars/Base".into()), Field::Tz),
        (|i| i.text = " \n".into(), Field::Text),
        (|i| i.text = "é".repeat(4097), Field::Text),
        (|i| i.text = "a\0b".into(), Field::Text),
        (|i| i.text = "bell\u{7}".into(), Field::Text),
        (|i| i.text = "hello {name}".into(), Field::Text),
        (
            |i| i.text = format!("{}{{slot}}", "a".repeat(4080)),
            Field::Text,
        ),
        (|i| i.parse_mode = Some("rtf".into()), Field::ParseMode),
        (|i| i.misfire = Some("never".into()), Field::Misfire),
        (|i| i.options.pin_notify = true, Field::PinNotify),
    ];
    for (change, field) in cases {
        let mut i = input();
        change(&mut i);
        assert_eq!(field_of(&i), field, "{i:?}");
    }
    let mut i = input();
    i.cron = None;
    i.every = Some("0s".into());
    assert_eq!(field_of(&i), Field::Every);
}

#[test]
fn text_is_counted_in_utf16_units() {
    // An emoji outside the BMP is two units: 2048 of them is the limit.
    assert!(validate_text(&"😀".repeat(2048)).is_ok());
    let e = validate_text(&"😀".repeat(2049)).unwrap_err();
    assert!(
        e.reason.contains("4098 UTF-16") && e.reason.contains("raw text"),
        "{e}"
    );
    assert!(validate_text(&"a".repeat(4096)).is_ok());
    assert!(validate_text("tab\there\r\nline").is_ok());
    let e = validate_text("ab\0").unwrap_err();
    assert!(
        e.reason
            .starts_with("control character U+0000 at character 3"),
        "{e}"
    );
}

#[test]
fn chats_are_capped() {
    assert!(check_chat_count(1000, 1000).is_ok());
    let e = check_chat_count(1001, 1000).unwrap_err();
    assert_eq!(e.field, Field::Chat);
    assert_eq!(
        e.reason,
        "1001 chats; a template may send to at most 1000 (templates.max_chats)"
    );
}

#[test]
fn never_firing_cron_says_so() {
    let e = ScheduleSpec::cron("0 0 30 2 *", Tz::UTC).unwrap_err();
    assert_eq!(e.field, Field::Cron);
    assert!(e.reason.contains("never fires"), "{e}");
    let e = ScheduleSpec::cron("61 * * * *", Tz::UTC).unwrap_err();
    assert!(e.to_string().starts_with("cron: minute field"), "{e}");
}

//! The storage rules for anchors and next slots.

use chrono::TimeZone;

use super::*;
use crate::templates::spec::TemplateSpec;

fn row_of(spec: &TemplateSpec, anchor_at: i64, next_slot: Option<i64>) -> TemplateRow {
    let d = data_of(spec, anchor_at, next_slot);
    TemplateRow {
        id: 1,
        account_id: 1,
        account: spec.account.clone(),
        name: d.name,
        text: d.text,
        parse_mode: d.parse_mode,
        schedule_kind: d.schedule_kind,
        schedule_expr: d.schedule_expr,
        timezone: d.timezone,
        anchor_at,
        active: spec.active,
        misfire: d.misfire,
        next_slot,
        created_at: 0,
        updated_at: 0,
        chats: d.chats,
        send_options: d.send_options,
        attachments: d.attachments,
    }
}

fn every(expr: &str) -> TemplateSpec {
    let input = TemplateInput {
        account: "a".into(),
        name: "t".into(),
        chats: vec!["-42".into()],
        every: Some(expr.into()),
        text: "x".into(),
        active: true,
        ..Default::default()
    };
    spec::validate(&input, Tz::UTC).unwrap()
}

#[test]
fn schedule_state_follows_the_storage_rules() {
    let now = Utc.with_ymd_and_hms(2027, 1, 1, 10, 0, 0).unwrap();
    let hour = 3_600_000;
    // Create: anchored now, first fire one interval later.
    let cur = every("1h");
    assert_eq!(
        schedule_state(None, &cur, now),
        (to_ms(now), Some(to_ms(now) + hour))
    );
    // Row stored with an old anchor and a slot in the past.
    let row = row_of(&cur, 0, Some(5));
    // Text change: anchor and slot untouched.
    let mut text = cur.clone();
    text.text = "other".into();
    assert_eq!(schedule_state(Some((&row, &cur)), &text, now), (0, Some(5)));
    // New interval: re-anchored at now.
    let two = every("2h");
    let (anchor, next) = schedule_state(Some((&row, &cur)), &two, now);
    assert_eq!((anchor, next), (to_ms(now), Some(to_ms(now) + 2 * hour)));
    // Zone change only: slot recomputed from the old anchor.
    let mut zoned = cur.clone();
    zoned.tz = Tz::Asia__Tokyo;
    assert_eq!(
        schedule_state(Some((&row, &cur)), &zoned, now),
        (0, Some(to_ms(now) + hour))
    );
    // Becoming active recomputes; staying inactive does not.
    let mut off = cur.clone();
    off.active = false;
    let off_row = row_of(&off, 0, Some(5));
    assert_eq!(
        schedule_state(Some((&off_row, &off)), &cur, now).1,
        Some(to_ms(now) + hour)
    );
    assert_eq!(schedule_state(Some((&off_row, &off)), &off, now).1, Some(5));
}

fn at(local: &str) -> TemplateSpec {
    let input = TemplateInput {
        account: "a".into(),
        name: "t".into(),
        chats: vec!["-42".into()],
        at: Some(local.into()),
        timezone: Some("Europe/Istanbul".into()),
        text: "x".into(),
        active: true,
        ..Default::default()
    };
    spec::validate(&input, Tz::UTC).unwrap()
}

#[test]
fn a_one_shot_must_be_future_when_set_and_stays_finished() {
    let now = Utc.with_ymd_and_hms(2027, 1, 1, 10, 0, 0).unwrap();
    // 13:00 in Istanbul is 10:00 UTC: not after now.
    let past = at("2027-01-01T13:00");
    let (_, next) = schedule_state(None, &past, now);
    assert_eq!(next, None);
    let e = check_not_past(None, &past, next, now).unwrap_err();
    assert_eq!(e.field, spec::Field::At);
    assert!(e.reason.contains("already past"), "{e:?}");
    let future = at("2027-01-01T13:01");
    let (_, next) = schedule_state(None, &future, now);
    assert_eq!(next, Some(to_ms(now) + 60_000));
    assert!(check_not_past(None, &future, next, now).is_ok());
    // Finished (fired: no next slot): other fields may change, its time
    // may not be set to another past one.
    let row = row_of(&past, 0, None);
    let mut text = past.clone();
    text.text = "other".into();
    let (_, next) = schedule_state(Some((&row, &past)), &text, now);
    assert!(check_not_past(Some(&past), &text, next, now).is_ok());
    let earlier = at("2026-12-31T09:00");
    let (_, next) = schedule_state(Some((&row, &past)), &earlier, now);
    assert!(check_not_past(Some(&past), &earlier, next, now).is_err());
    // Enabling a finished one-shot finds no next slot: it stays finished.
    let mut off = past.clone();
    off.active = false;
    let off_row = row_of(&off, 0, None);
    assert_eq!(schedule_state(Some((&off_row, &off)), &past, now).1, None);
}

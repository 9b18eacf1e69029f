//! Claiming ahead (`scheduler.lookahead`, 5 s by default): rows are
//! committed before their slot and never sent before it; an edit, disable or
//! scheduler stop inside the window cancels them and plans the slots again
//! (a revived row keeps its `random_id`); outcome writes never overwrite a
//! row that was cancelled meanwhile, unless it really was sent.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::store::deliveries::RowOutcome;
use crate::store::templates::TemplateData;
use crate::telegram::fake::FakeMessenger;

const WAIT: Duration = Duration::from_secs(60);
/// How far ahead of the test's start its slot lies. Generous: on a loaded
/// machine the claim, the check and the edit must all fall before it, or
/// the row is sent first and the test proves nothing.
const LEAD: chrono::Duration = chrono::Duration::seconds(12);
/// Claims the whole lead at once.
const LOOKAHEAD: [(&str, &str); 1] = [("MICROBOT_SCHEDULER_LOOKAHEAD", "30s")];

/// A `0 0 1 1 *` template (next fire far away) on a fresh account and
/// chat, whose durable next slot is set to `slot`.
async fn due_at(store: &Store, name: &str, slot: chrono::DateTime<Utc>) -> (i64, i64, i64) {
    let a = account(store, name, "active").await;
    let c = target(store, a, &format!("@{name}chat")).await;
    let t = template(
        store,
        a,
        name,
        ("cron", "0 0 1 1 *"),
        "once",
        (Some(slot), slot),
        &[c],
    )
    .await;
    (a, t, c)
}

async fn rows_claimed_ahead_are_sent_at_their_slot_not_before(store: crate::store::Store) {
    let now = Utc::now();
    let slot = now + LEAD;
    let (_a, t, _c) = due_at(&store, "early", slot).await;
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start_with(&store, fake.clone(), 600, now, &LOOKAHEAD);
    // Claimed (committed with its random_id) well before the slot.
    eventually("claimed", || async { !rows(&store).await.is_empty() }).await;
    let claimed = rows(&store).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, "pending");
    assert!(run.ctx.now() < slot, "claimed before the slot");
    assert!(fake.wait_for_sends(1, WAIT).await);
    let attempt = &fake.attempts()[0];
    assert!(
        attempt.at >= slot,
        "sent at {} before its slot {slot}",
        attempt.at
    );
    assert_eq!(attempt.random_id, claimed[0].random_id);
    eventually("sent", || async {
        state_of(&store, claimed[0].id).await == "sent"
    })
    .await;
    assert_eq!(fake.sent()[0].template_id, Some(t));
    run.stop().await;
}
crate::store::testing::per_backend!(rows_claimed_ahead_are_sent_at_their_slot_not_before);

async fn an_edit_inside_the_window_sends_the_new_text_once(store: crate::store::Store) {
    let now = Utc::now();
    let slot = now + LEAD;
    let (_a, t, _c) = due_at(&store, "edited", slot).await;
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start_with(&store, fake.clone(), 600, now, &LOOKAHEAD);
    eventually("claimed", || async { !rows(&store).await.is_empty() }).await;
    let first = rows(&store).await.remove(0);
    // The operator edits the text inside the window (as `template edit` does).
    let row = store.template_get(t).await.unwrap();
    let data = TemplateData {
        name: row.name.clone(),
        text: "the new text".into(),
        parse_mode: row.parse_mode.clone(),
        schedule_kind: row.schedule_kind,
        schedule_expr: row.schedule_expr.clone(),
        timezone: row.timezone.clone(),
        anchor_at: row.anchor_at,
        active: row.active,
        misfire: row.misfire,
        next_slot: row.next_slot,
        chats: row.chats.clone(),
        send_options: row.send_options.clone(),
        attachments: Vec::new(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.template_update(t, row.account_id, &data, to_ms(run.ctx.now()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Read before the dispatcher hears of the edit: once it does, it claims
    // the slot again at once and moves `next_slot` on.
    assert_eq!(
        store.template_get(t).await.unwrap().next_slot,
        Some(to_ms(slot)),
        "the cancelled slot is planned again"
    );
    run.change(Change::Template(t));
    assert!(fake.wait_for_sends(1, WAIT).await);
    eventually("sent", || async {
        state_of(&store, first.id).await == "sent"
    })
    .await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "the new text");
    assert_eq!(
        sent[0].random_id, first.random_id,
        "the revived row keeps its random_id"
    );
    assert_eq!(rows(&store).await.len(), 1, "one row for the slot");
    run.stop().await;
}
crate::store::testing::per_backend!(an_edit_inside_the_window_sends_the_new_text_once);

async fn disable_or_scheduler_stop_inside_the_window_cancels_the_claim(store: crate::store::Store) {
    let now = Utc::now();
    let slot = now + LEAD;
    let (a, off, _) = due_at(&store, "disabled", slot).await;
    let (b, stopped, _) = due_at(&store, "stopped", slot).await;
    // A witness on the disabled template's account, one second later:
    // once it is sent, the disabled slot has certainly passed.
    let later = slot + chrono::Duration::seconds(1);
    let witness_chat = target(&store, a, "@witness").await;
    let witness = template(
        &store,
        a,
        "witness",
        ("cron", "0 0 1 1 *"),
        "once",
        (Some(later), later),
        &[witness_chat],
    )
    .await;
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start_with(&store, fake.clone(), 600, now, &LOOKAHEAD);
    eventually("claimed", || async { rows(&store).await.len() == 3 }).await;
    let t_now = to_ms(run.ctx.now());
    store
        .template_set_active(off, false, None, t_now)
        .await
        .unwrap();
    run.change(Change::Template(off));
    store
        .scheduler_set_enabled(Some("stopped"), false, t_now)
        .await
        .unwrap();
    run.change(Change::Account(b));
    for (t, why) in [(off, "disabled"), (stopped, "scheduler was stopped")] {
        let r = rows(&store)
            .await
            .into_iter()
            .find(|r| r.template_id == t)
            .unwrap();
        assert_eq!(r.state, "cancelled", "{why}");
        assert!(r.last_error.as_deref().unwrap_or("").contains(why), "{r:?}");
    }
    assert_eq!(
        store.template_get(stopped).await.unwrap().next_slot,
        Some(to_ms(slot)),
        "a stopped scheduler plans the slot again when it starts"
    );
    assert!(fake.wait_for_sends(1, WAIT).await);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].template_id, Some(witness));
    run.stop().await;
}
crate::store::testing::per_backend!(disable_or_scheduler_stop_inside_the_window_cancels_the_claim);

async fn outcomes_never_overwrite_a_cancel_unless_the_row_was_sent(store: crate::store::Store) {
    let (_a, t, c) = outbox(&store, "late", &["@x"]).await;
    let failed = delivery(&store, t, c[0], 1, "cancelled", 11).await;
    let sent = delivery(&store, t, c[0], 2, "cancelled", 12).await;
    let retried = delivery(&store, t, c[0], 3, "failed", 13).await;
    let n = store
        .outbox_apply(
            &[
                (
                    0,
                    RowOutcome::Failed {
                        id: failed,
                        error: "x".into(),
                        attempts: 1,
                    },
                ),
                (
                    0,
                    RowOutcome::Sent {
                        id: sent,
                        message_id: Some(5),
                        at: 9,
                        attempts: 1,
                        note: None,
                        album_ids: vec![6, 7],
                    },
                ),
                (
                    0,
                    RowOutcome::Retry {
                        id: retried,
                        not_before: None,
                        error: "y".into(),
                        attempts: 2,
                    },
                ),
            ],
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "only the send that really happened changes a row");
    assert_eq!(state_of(&store, failed).await, "cancelled");
    assert_eq!(state_of(&store, sent).await, "sent");
    assert_eq!(state_of(&store, retried).await, "failed");
}
crate::store::testing::per_backend!(outcomes_never_overwrite_a_cancel_unless_the_row_was_sent);

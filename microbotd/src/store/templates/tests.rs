//! Template storage on both backends.

use super::*;
use crate::store::states::{Misfire, ScheduleKind};

fn data(name: &str, chats: &[&str]) -> TemplateData {
    TemplateData {
        name: name.into(),
        text: "hello".into(),
        parse_mode: "plain".into(),
        schedule_kind: ScheduleKind::Cron,
        schedule_expr: "0 9 * * 1-5".into(),
        timezone: "Europe/Istanbul".into(),
        anchor_at: 1000,
        active: true,
        misfire: Misfire::Once,
        next_slot: Some(5000),
        chats: chats.iter().map(|c| c.to_string()).collect(),
        send_options: String::new(),
        attachments: Vec::new(),
    }
}

async fn insert(store: &Store, account_id: i64, d: &TemplateData) -> Result<i64, StoreError> {
    let mut tx = store.begin().await?;
    let id = tx.template_insert(account_id, d, 1000).await?;
    tx.commit().await?;
    Ok(id)
}

async fn create_get_list_and_conflict(store: crate::store::Store) {
    let a = store
        .account_create("sales-tr", "+1234567", 0)
        .await
        .unwrap()
        .id;
    let b = store
        .account_create("alpha", "+1234568", 0)
        .await
        .unwrap()
        .id;
    let id = insert(&store, a, &data("daily", &["@zeta_chat", "-42"]))
        .await
        .unwrap();
    let row = store.template_get(id).await.unwrap();
    assert_eq!(row.account, "sales-tr");
    assert_eq!(
        row.chats,
        ["@zeta_chat", "-42"],
        "position order, not spec order"
    );
    assert_eq!(
        (row.anchor_at, row.next_slot, row.active),
        (1000, Some(5000), true)
    );
    assert!(matches!(
        insert(&store, a, &data("daily", &["-42"])).await,
        Err(StoreError::Conflict(_))
    ));
    let mut off = data("off", &["-43"]);
    off.active = false;
    insert(&store, b, &off).await.unwrap();
    let all = store.template_list(None, false).await.unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|r| (r.account.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(names, [("alpha", "off"), ("sales-tr", "daily")]);
    assert_eq!(all[1].chats, ["@zeta_chat", "-42"]);
    assert_eq!(store.template_list(Some(b), false).await.unwrap().len(), 1);
    assert_eq!(store.template_list(None, true).await.unwrap()[0].id, id);
    assert!(matches!(
        store.template_get(999).await,
        Err(StoreError::NotFound(_))
    ));
}
crate::store::testing::per_backend!(create_get_list_and_conflict);

async fn update_replaces_targets_and_refuses_taken_names(store: crate::store::Store) {
    let a = store.account_create("a", "+1234567", 0).await.unwrap().id;
    let id = insert(&store, a, &data("one", &["-1", "-2"]))
        .await
        .unwrap();
    insert(&store, a, &data("two", &["-1"])).await.unwrap();
    let mut d = data("uno", &["-3", "-1"]);
    d.schedule_kind = ScheduleKind::Every;
    d.schedule_expr = "1h30m".into();
    d.next_slot = None;
    let mut tx = store.begin().await.unwrap();
    tx.template_update(id, a, &d, 2000).await.unwrap();
    tx.commit().await.unwrap();
    let row = store.template_get(id).await.unwrap();
    assert_eq!(
        (row.name.as_str(), row.schedule_expr.as_str()),
        ("uno", "1h30m")
    );
    assert_eq!(row.chats, ["-3", "-1"]);
    assert_eq!((row.next_slot, row.updated_at), (None, 2000));
    let mut tx = store.begin().await.unwrap();
    let e = tx.template_update(id, a, &data("two", &["-1"]), 3000).await;
    assert!(matches!(e, Err(StoreError::Conflict(_))), "{e:?}");
    drop(tx);
    assert_eq!(store.template_get(id).await.unwrap().name, "uno");
}
crate::store::testing::per_backend!(update_replaces_targets_and_refuses_taken_names);

async fn uncommitted_writes_vanish(store: crate::store::Store) {
    let a = store.account_create("a", "+1234567", 0).await.unwrap().id;
    let mut tx = store.begin().await.unwrap();
    tx.template_insert(a, &data("one", &["-1"]), 0)
        .await
        .unwrap();
    tx.template_insert(a, &data("two", &["-2"]), 0)
        .await
        .unwrap();
    drop(tx);
    assert!(store.template_list(None, false).await.unwrap().is_empty());
}
crate::store::testing::per_backend!(uncommitted_writes_vanish);

async fn enable_sets_next_slot_and_disable_keeps_it(store: crate::store::Store) {
    let a = store.account_create("a", "+1234567", 0).await.unwrap().id;
    let id = insert(&store, a, &data("one", &["-1"])).await.unwrap();
    store
        .template_set_active(id, false, Some(1), 2000)
        .await
        .unwrap();
    let row = store.template_get(id).await.unwrap();
    assert_eq!((row.active, row.next_slot), (false, Some(5000)));
    store
        .template_set_active(id, true, Some(9000), 3000)
        .await
        .unwrap();
    let row = store.template_get(id).await.unwrap();
    assert_eq!(
        (row.active, row.next_slot, row.updated_at),
        (true, Some(9000), 3000)
    );
    assert!(matches!(
        store.template_set_active(77, true, None, 0).await,
        Err(StoreError::NotFound(_))
    ));
}
crate::store::testing::per_backend!(enable_sets_next_slot_and_disable_keeps_it);

async fn delete_cancels_pending_deliveries_only(store: crate::store::Store) {
    let a = store.account_create("a", "+1234567", 0).await.unwrap().id;
    let id = insert(&store, a, &data("one", &["-1"])).await.unwrap();
    for (slot, state) in [(1, "pending"), (2, "sent"), (3, "pending"), (4, "sending")] {
        on_pool!(store, p => sqlx::query(
        "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id,
             created_at, updated_at) VALUES ($1, $2, 1, $3, $4, $3, 0, 0)"
    ).bind(a).bind(id).bind(slot as i64).bind(state).execute(p).await.map(|_| ()))
        .unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.template_delete(id, 7000).await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert!(matches!(
        store.template_get(id).await,
        Err(StoreError::NotFound(_))
    ));
    let states: Vec<String> = on_pool!(store, p => sqlx::query_scalar(
    "SELECT state FROM deliveries ORDER BY slot"
).fetch_all(p).await)
    .unwrap();
    assert_eq!(states, ["cancelled", "sent", "cancelled", "sending"]);
    let links: i64 = on_pool!(store, p => sqlx::query_scalar(
    "SELECT COUNT(*) FROM template_targets"
).fetch_one(p).await)
    .unwrap();
    assert_eq!(links, 0);
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.template_delete(id, 0).await,
        Err(StoreError::NotFound(_))
    ));
}
crate::store::testing::per_backend!(delete_cancels_pending_deliveries_only);

/// `template edit`'s write: next_slot only over the value it was computed
/// from, so a slot the dispatcher claimed in between is not handed out again.
async fn next_slot_is_written_only_over_what_was_read(store: crate::store::Store) {
    let a = store.account_create("a", "+1234567", 0).await.unwrap().id;
    let id = insert(&store, a, &data("daily", &["-42"])).await.unwrap();
    let mut edited = data("daily", &["-42"]);
    edited.text = "changed".into();
    edited.next_slot = Some(9000);
    // Read 4000, but the row holds 5000 now: fields change, the slot stays.
    let mut tx = store.begin_write().await.unwrap();
    tx.template_update_from(id, a, &edited, Some(4000), 2000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let row = store.template_get(id).await.unwrap();
    assert_eq!((row.text.as_str(), row.next_slot), ("changed", Some(5000)));
    // Read inside the transaction: the slot is written.
    let mut tx = store.begin_write().await.unwrap();
    let read = tx.template_get(id).await.unwrap();
    assert_eq!(read.chats, ["-42"]);
    tx.template_update_from(id, a, &edited, read.next_slot, 3000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.template_get(id).await.unwrap().next_slot, Some(9000));
    // NULL compares as a value too.
    edited.next_slot = None;
    let mut tx = store.begin_write().await.unwrap();
    tx.template_update_from(id, a, &edited, Some(9000), 4000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    edited.next_slot = Some(7000);
    let mut tx = store.begin_write().await.unwrap();
    tx.template_update_from(id, a, &edited, None, 5000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.template_get(id).await.unwrap().next_slot, Some(7000));
}
crate::store::testing::per_backend!(next_slot_is_written_only_over_what_was_read);

//! Media storage on both backends: content addressing, order, sharing
//! between templates, and pruning when the last reference goes.

use super::*;
use crate::store::states::{Misfire, ScheduleKind};
use crate::store::templates::TemplateData;
use crate::telegram::media::sha256_hex;

fn attachment(kind: MediaKind, name: &str, bytes: &[u8]) -> Attachment {
    Attachment {
        kind,
        file_name: name.into(),
        mime: "image/png".into(),
        size: bytes.len() as i64,
        sha256: sha256_hex(bytes),
    }
}

fn data(name: &str, attachments: Vec<Attachment>) -> TemplateData {
    TemplateData {
        name: name.into(),
        text: "caption".into(),
        parse_mode: "plain".into(),
        schedule_kind: ScheduleKind::Cron,
        schedule_expr: "0 9 * * *".into(),
        timezone: "UTC".into(),
        anchor_at: 1000,
        active: true,
        misfire: Misfire::Once,
        next_slot: Some(5000),
        chats: vec!["-42".into()],
        send_options: String::new(),
        attachments,
    }
}

async fn put_all(tx: &mut Tx, files: &[&[u8]]) {
    for f in files {
        tx.media_put(&sha256_hex(f), "image/png", f, 1000)
            .await
            .unwrap();
    }
}

async fn shared_ordered_and_pruned(store: Store) {
    let a = store.account_create("acc", "+1234567", 0).await.unwrap().id;
    let (one, two): (&[u8], &[u8]) = (b"first file", b"second file");
    let album = vec![
        attachment(MediaKind::Photo, "b.png", two),
        attachment(MediaKind::Photo, "a.png", one),
    ];
    let mut tx = store.begin().await.unwrap();
    put_all(&mut tx, &[one, two]).await;
    let t1 = tx
        .template_insert(a, &data("t1", album.clone()), 1000)
        .await
        .unwrap();
    // The same bytes again (another template): stored once.
    put_all(&mut tx, &[one]).await;
    let t2 = tx
        .template_insert(a, &data("t2", vec![album[1].clone()]), 1000)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let row = store.template_get(t1).await.unwrap();
    assert_eq!(row.attachments, album, "kept in the order given");
    assert_eq!(
        store.media_get(&sha256_hex(two)).await.unwrap().unwrap(),
        two
    );
    let listed = store.media_list().await.unwrap();
    assert_eq!(listed.len(), 2);
    let shared = listed.iter().find(|m| m.sha256 == sha256_hex(one)).unwrap();
    assert_eq!((shared.size, shared.templates), (one.len() as i64, 2));
    let all = store.template_list(None, false).await.unwrap();
    assert_eq!(
        all.iter().find(|r| r.id == t2).unwrap().attachments,
        [album[1].clone()]
    );

    // t1 drops its attachments: `two` has no template left, `one` has t2.
    let mut tx = store.begin_write().await.unwrap();
    tx.template_update(t1, a, &data("t1", Vec::new()), 2000)
        .await
        .unwrap();
    assert_eq!(tx.media_prune().await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(store.media_get(&sha256_hex(two)).await.unwrap().is_none());
    assert!(store.media_get(&sha256_hex(one)).await.unwrap().is_some());
    assert!(store.template_get(t1).await.unwrap().attachments.is_empty());

    // Deleting the last template that sends `one` removes it too.
    let mut tx = store.begin().await.unwrap();
    tx.template_delete(t2, 3000).await.unwrap();
    assert_eq!(tx.media_prune().await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(store.media_list().await.unwrap().is_empty());
}
crate::store::testing::per_backend!(shared_ordered_and_pruned);

async fn metadata_column_and_source(store: Store) {
    let a = store.account_create("acc", "+1234567", 0).await.unwrap().id;
    let bytes: &[u8] = b"%PDF-1.7 report";
    let doc = Attachment {
        mime: "application/pdf".into(),
        ..attachment(MediaKind::Document, "report.pdf", bytes)
    };
    let mut tx = store.begin().await.unwrap();
    tx.media_put(&doc.sha256, &doc.mime, bytes, 1000)
        .await
        .unwrap();
    let with = tx
        .template_insert(a, &data("with", vec![doc.clone()]), 1000)
        .await
        .unwrap();
    let without = tx
        .template_insert(a, &data("without", Vec::new()), 1000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // What the dispatcher reads with the template row.
    let sql = format!(
        "SELECT {} FROM templates t WHERE t.id = $1",
        store.attachments_sql()
    );
    for (id, want) in [(with, vec![doc.clone()]), (without, Vec::new())] {
        let json: Option<String> =
            on_pool!(store, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id).fetch_one(p).await)
            .unwrap();
        assert_eq!(&*parse_attachments(json.as_deref()), want.as_slice());
    }
    let source = StoreMedia::new(store.clone());
    assert_eq!(&*source.load(&doc.sha256).await.unwrap(), bytes);
    assert!(matches!(
        source.load(&sha256_hex(b"never stored")).await,
        Err(TelegramError::MediaMissing { .. })
    ));
}
crate::store::testing::per_backend!(metadata_column_and_source);

/// The outbox read-back (a worker's start or refresh) carries the
/// attachments with each open row, in the same statement.
async fn outbox_rows_carry_their_attachments(store: Store) {
    let a = store.account_create("acc", "+1234567", 0).await.unwrap().id;
    let (one, two): (&[u8], &[u8]) = (b"one", b"two");
    let album = vec![
        attachment(MediaKind::Video, "v.mp4", two),
        attachment(MediaKind::Photo, "p.png", one),
    ];
    let mut tx = store.begin().await.unwrap();
    put_all(&mut tx, &[one, two]).await;
    let t = tx
        .template_insert(a, &data("t", album.clone()), 1000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    on_pool!(store, p => sqlx::query(
        "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id,
                                 attempts, created_at, updated_at)
         SELECT $1, $2, target_id, 5000, 'pending', 7, 0, 1000, 1000
         FROM template_targets WHERE template_id = $2"
    ).bind(a).bind(t).execute(p).await.map(drop))
    .unwrap();
    let rows = store.outbox_open(a, None, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    let queued = crate::scheduler::queue::Queued::from_row(rows[0].clone(), 0);
    assert_eq!(&*queued.attachments, album.as_slice());
}
crate::store::testing::per_backend!(outbox_rows_carry_their_attachments);

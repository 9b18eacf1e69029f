//! Tests of the attachment TL builders in `media_tl.rs`, on hand-built
//! layer values.

use super::*;
use crate::telegram::live::send::input_peer;
use crate::telegram::{PeerKind, ResolvedPeer};

fn peer() -> tl::enums::InputPeer {
    input_peer(&ResolvedPeer {
        peer_id: -1_001_234_567_890,
        kind: PeerKind::Channel,
        access_hash: Some(-9),
        title: "t".into(),
    })
    .unwrap()
}

fn att(kind: MediaKind, name: &str, mime: &str) -> Attachment {
    Attachment {
        kind,
        file_name: name.into(),
        mime: mime.into(),
        size: 3,
        sha256: "ab".repeat(32),
    }
}

fn photo_handle(id: i64) -> tl::enums::InputMedia {
    tl::types::InputMediaPhoto {
        spoiler: false,
        live_photo: false,
        id: tl::types::InputPhoto {
            id,
            access_hash: 1,
            file_reference: vec![1],
        }
        .into(),
        ttl_seconds: None,
        video: None,
    }
    .into()
}

/// Every part's bytes, in order, and whether all parts were big ones.
fn reassemble(plan: &UploadPlan, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut all_big = true;
    for i in 0..plan.parts {
        match plan.part(bytes, i) {
            PartRequest::Small(q) => {
                assert_eq!((q.file_id, q.file_part), (plan.file_id, i));
                assert!(q.bytes.len() <= PART_SIZE);
                all_big = false;
                out.extend_from_slice(&q.bytes);
            }
            PartRequest::Big(q) => {
                assert_eq!(
                    (q.file_id, q.file_part, q.file_total_parts),
                    (plan.file_id, i, plan.parts)
                );
                assert!(q.bytes.len() <= PART_SIZE);
                out.extend_from_slice(&q.bytes);
            }
        }
    }
    (out, all_big)
}

#[test]
fn small_files_go_up_in_parts_with_save_file_part() {
    let bytes: Vec<u8> = (0..PART_SIZE * 2 + 10).map(|i| i as u8).collect();
    let plan = UploadPlan::new(77, bytes.len());
    assert_eq!((plan.parts, plan.big), (3, false));
    let (again, big) = reassemble(&plan, &bytes);
    assert!(!big);
    assert_eq!(again, bytes);
    match plan.input_file("a.png") {
        tl::enums::InputFile::File(f) => {
            assert_eq!((f.id, f.parts, f.name.as_str()), (77, 3, "a.png"))
        }
        other => panic!("{other:?}"),
    }
    // Exactly at the limit is still a small file.
    assert!(!UploadPlan::new(1, BIG_FILE_SIZE).big);
}

#[test]
fn files_over_ten_mib_go_up_with_save_big_file_part() {
    let bytes = vec![7u8; BIG_FILE_SIZE + 1];
    let plan = UploadPlan::new(5, bytes.len());
    assert_eq!((plan.parts, plan.big), (21, true));
    let (again, big) = reassemble(&plan, &bytes);
    assert!(big);
    assert_eq!(again, bytes);
    match plan.input_file("") {
        tl::enums::InputFile::Big(f) => {
            assert_eq!((f.id, f.parts, f.name.as_str()), (5, 21, "file"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_file_is_one_empty_part() {
    let plan = UploadPlan::new(1, 0);
    assert_eq!(plan.parts, 1);
    match plan.part(&[], 0) {
        PartRequest::Small(q) => assert!(q.bytes.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_kind_is_uploaded_as_telegram_shows_it() {
    let file = || UploadPlan::new(1, 3).input_file("x");
    match uploaded_input_media(&att(MediaKind::Photo, "a.jpg", "image/jpeg"), file()) {
        tl::enums::InputMedia::UploadedPhoto(p) => assert_eq!(p.file, file()),
        other => panic!("{other:?}"),
    }
    match uploaded_input_media(&att(MediaKind::Video, "v.mp4", "video/mp4"), file()) {
        tl::enums::InputMedia::UploadedDocument(d) => {
            assert_eq!(d.mime_type, "video/mp4");
            assert!(!d.force_file);
            assert!(matches!(
                d.attributes.as_slice(),
                [
                    tl::enums::DocumentAttribute::Video(v),
                    tl::enums::DocumentAttribute::Filename(n),
                ] if v.supports_streaming && !v.round_message && n.file_name == "v.mp4"
            ));
        }
        other => panic!("{other:?}"),
    }
    match uploaded_input_media(
        &att(MediaKind::Document, "report.pdf", "application/pdf"),
        file(),
    ) {
        tl::enums::InputMedia::UploadedDocument(d) => {
            assert_eq!(d.mime_type, "application/pdf");
            // A picture sent as a document stays a file.
            assert!(d.force_file);
            assert!(matches!(
                d.attributes.as_slice(),
                [tl::enums::DocumentAttribute::Filename(n)] if n.file_name == "report.pdf"
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn upload_answers_become_reusable_handles() {
    let photo = tl::types::MessageMediaPhoto {
        spoiler: false,
        live_photo: false,
        photo: Some(
            tl::types::Photo {
                has_stickers: false,
                id: 11,
                access_hash: 22,
                file_reference: vec![3, 3],
                date: 0,
                sizes: vec![],
                video_sizes: None,
                dc_id: 2,
            }
            .into(),
        ),
        ttl_seconds: None,
        video: None,
    };
    match reusable_media(photo.into()).unwrap() {
        tl::enums::InputMedia::Photo(tl::types::InputMediaPhoto {
            id: tl::enums::InputPhoto::Photo(p),
            ..
        }) => assert_eq!(
            (p.id, p.access_hash, p.file_reference),
            (11, 22, vec![3, 3])
        ),
        other => panic!("{other:?}"),
    }
    let doc = tl::types::MessageMediaDocument {
        nopremium: false,
        spoiler: false,
        video: false,
        round: false,
        voice: false,
        document: Some(
            tl::types::Document {
                id: 44,
                access_hash: 55,
                file_reference: vec![6],
                date: 0,
                mime_type: "application/pdf".into(),
                size: 3,
                thumbs: None,
                video_thumbs: None,
                dc_id: 2,
                attributes: vec![],
            }
            .into(),
        ),
        alt_documents: None,
        video_cover: None,
        video_timestamp: None,
        ttl_seconds: None,
    };
    match reusable_media(doc.into()).unwrap() {
        tl::enums::InputMedia::Document(tl::types::InputMediaDocument {
            id: tl::enums::InputDocument::Document(d),
            ..
        }) => assert_eq!((d.id, d.access_hash, d.file_reference), (44, 55, vec![6])),
        other => panic!("{other:?}"),
    }
    assert!(reusable_media(tl::enums::MessageMedia::Empty).is_err());
}

#[test]
fn one_file_is_send_media_with_our_random_id_caption_and_silence() {
    let req = media_request(
        peer(),
        vec![photo_handle(1)],
        "daily **status**",
        ParseMode::Markdown,
        -42,
        true,
    );
    assert_eq!(req.random_ids(), [-42]);
    match req {
        MediaRequest::Single(q) => {
            assert_eq!((q.random_id, q.message.as_str()), (-42, "daily status"));
            assert!(q.silent);
            assert_eq!(q.media, photo_handle(1));
            assert!(matches!(
                q.entities.as_deref(),
                Some([tl::enums::MessageEntity::Bold(_)])
            ));
            assert!(matches!(q.peer, tl::enums::InputPeer::Channel(_)));
        }
        other => panic!("{other:?}"),
    }
    match media_request(
        peer(),
        vec![photo_handle(1)],
        "x",
        ParseMode::Plain,
        1,
        false,
    ) {
        MediaRequest::Single(q) => assert!(!q.silent && q.entities.is_none()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_album_is_send_multi_media_with_one_committed_id_per_item() {
    let media = vec![photo_handle(1), photo_handle(2), photo_handle(3)];
    let req = media_request(peer(), media, "<b>week</b> 48", ParseMode::Html, 900, true);
    let want: Vec<i64> = (0..3).map(|i| album_random_id(900, i)).collect();
    assert_eq!(req.random_ids(), want);
    assert_eq!(want[0], 900, "item 0 is the delivery's own id");
    match req {
        MediaRequest::Album(q) => {
            assert!(q.silent);
            let items: Vec<&tl::types::InputSingleMedia> = q
                .multi_media
                .iter()
                .map(|tl::enums::InputSingleMedia::Media(m)| m)
                .collect();
            assert_eq!(items.len(), 3);
            // The caption (with its entities) on the first item only.
            assert_eq!(items[0].message, "week 48");
            assert!(matches!(
                items[0].entities.as_deref(),
                Some([tl::enums::MessageEntity::Bold(_)])
            ));
            for (i, item) in items.iter().enumerate() {
                assert_eq!(item.random_id, want[i]);
                assert_eq!(item.media, photo_handle(i as i64 + 1));
                if i > 0 {
                    assert!(item.message.is_empty() && item.entities.is_none());
                }
            }
        }
        other => panic!("{other:?}"),
    }
    let quiet = media_request(
        peer(),
        vec![photo_handle(1), photo_handle(2)],
        "",
        ParseMode::Plain,
        1,
        false,
    );
    assert!(matches!(quiet, MediaRequest::Album(q) if !q.silent));
}

fn msg_id(id: i32, random_id: i64) -> tl::enums::Update {
    tl::types::UpdateMessageId { id, random_id }.into()
}

#[test]
fn album_ids_are_read_by_random_id_in_item_order() {
    let ids: Vec<i64> = (0..3).map(|i| album_random_id(5, i)).collect();
    // Telegram's order of updates is not the album's.
    let u = tl::enums::Updates::Updates(tl::types::Updates {
        updates: vec![msg_id(12, ids[2]), msg_id(10, ids[0]), msg_id(11, ids[1])],
        users: vec![],
        chats: vec![],
        date: 0,
        seq: 0,
    });
    assert_eq!(sent_ids(&u, &ids), [Some(10), Some(11), Some(12)]);
    let partial = tl::enums::Updates::Combined(tl::types::UpdatesCombined {
        updates: vec![msg_id(20, ids[0]), msg_id(22, ids[2])],
        users: vec![],
        chats: vec![],
        date: 0,
        seq_start: 0,
        seq: 0,
    });
    assert_eq!(sent_ids(&partial, &ids), [Some(20), None, Some(22)]);
    assert_eq!(
        sent_ids(&tl::enums::Updates::TooLong, &ids),
        [None, None, None]
    );
    // One file reads like a text message.
    let short = tl::enums::Updates::UpdateShort(tl::types::UpdateShort {
        update: msg_id(30, 5),
        date: 0,
    });
    assert_eq!(sent_ids(&short, &[5]), [Some(30)]);
}

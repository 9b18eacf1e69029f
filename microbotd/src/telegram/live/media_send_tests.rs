//! Tests of the attachment send path (`media_send.rs`) against scripted
//! Telegram calls: uploads once per account, the committed ids on every
//! (re)send, one re-upload on a stale handle.

use super::*;
use crate::telegram::fake::MemoryMedia;
use crate::telegram::live::media_tl::PART_SIZE;
use crate::telegram::live::send::input_peer;
use crate::telegram::media::album_random_id;
use crate::telegram::{ParseMode, PeerKind, ResolvedPeer};

#[path = "media_send_tests/fake.rs"]
mod fake;

use fake::{Call, Fake};

fn rpc(name: &str) -> TelegramError {
    TelegramError::Rpc {
        code: 400,
        name: name.into(),
    }
}

struct World {
    source: MemoryMedia,
    cache: MediaCache,
    peer: ResolvedPeer,
}

impl World {
    fn new() -> Self {
        World {
            source: MemoryMedia::default(),
            cache: MediaCache::default(),
            peer: ResolvedPeer {
                peer_id: -1_001_234_567_890,
                kind: PeerKind::Channel,
                access_hash: Some(-9),
                title: "ops".into(),
            },
        }
    }

    fn file(&self, kind: MediaKind, name: &str, bytes: &[u8]) -> Attachment {
        Attachment {
            kind,
            file_name: name.into(),
            mime: "application/octet-stream".into(),
            size: bytes.len() as i64,
            sha256: self.source.insert(bytes),
        }
    }

    async fn send(
        &self,
        calls: &Fake,
        attachments: &[Attachment],
        random_id: i64,
    ) -> Result<Sent, TelegramError> {
        let msg = OutgoingText {
            peer: &self.peer,
            chat_label: "@ops",
            text: "status **ok**",
            parse_mode: ParseMode::Markdown,
            random_id,
            template_id: Some(1),
            slot: None,
            silent: true,
            no_preview: false,
            attachments,
        };
        let peer = input_peer(&self.peer).unwrap();
        send_media(calls, &self.cache, &self.source, peer, &msg).await
    }
}

/// The file reference of each item of a send.
fn references(req: &MediaRequest) -> Vec<Vec<u8>> {
    let reference = |m: &tl::enums::InputMedia| match m {
        tl::enums::InputMedia::Photo(tl::types::InputMediaPhoto {
            id: tl::enums::InputPhoto::Photo(p),
            ..
        }) => p.file_reference.clone(),
        tl::enums::InputMedia::Document(tl::types::InputMediaDocument {
            id: tl::enums::InputDocument::Document(d),
            ..
        }) => d.file_reference.clone(),
        other => panic!("not an uploaded handle: {other:?}"),
    };
    match req {
        MediaRequest::Single(q) => vec![reference(&q.media)],
        MediaRequest::Album(q) => q
            .multi_media
            .iter()
            .map(|tl::enums::InputSingleMedia::Media(m)| reference(&m.media))
            .collect(),
    }
}

#[tokio::test]
async fn a_photo_is_uploaded_once_per_account_and_reused() {
    let w = World::new();
    let bytes = vec![9u8; PART_SIZE + 1];
    let photo = w.file(MediaKind::Photo, "status.png", &bytes);
    let fake = Fake::default();

    let sent = w
        .send(&fake, std::slice::from_ref(&photo), 41)
        .await
        .unwrap();
    assert_eq!(
        sent,
        Sent {
            message_id: 100,
            album_ids: vec![],
            duplicate: false
        }
    );
    let calls = fake.calls();
    // Two parts of one upload, then uploadMedia, then the send.
    let Call::Part { file_id, .. } = calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(
        calls[..2],
        [
            Call::Part {
                file_id,
                part: 0,
                len: PART_SIZE
            },
            Call::Part {
                file_id,
                part: 1,
                len: 1
            },
        ]
    );
    match &calls[2] {
        Call::Upload(m) => match &**m {
            tl::enums::InputMedia::UploadedPhoto(p) => match &p.file {
                tl::enums::InputFile::File(f) => {
                    assert_eq!((f.id, f.parts, f.name.as_str()), (file_id, 2, "status.png"))
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    match &calls[3] {
        Call::Send(MediaRequest::Single(q)) => {
            assert_eq!((q.random_id, q.message.as_str()), (41, "status ok"));
            assert!(q.silent);
            assert!(q.entities.is_some(), "caption entities");
            assert!(matches!(q.media, tl::enums::InputMedia::Photo(_)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.len(), 4);

    // The next delivery of the same file sends the stored handle.
    w.send(&fake, std::slice::from_ref(&photo), 42)
        .await
        .unwrap();
    let calls = fake.calls();
    assert_eq!(calls.len(), 5, "no second upload: {calls:?}");
    assert!(matches!(&calls[4], Call::Send(MediaRequest::Single(q)) if q.random_id == 42));
    assert_eq!(w.cache.len(), 1);
}

#[tokio::test]
async fn an_album_goes_out_with_every_committed_id_and_reads_them_back() {
    let w = World::new();
    let files = [
        w.file(MediaKind::Photo, "a.jpg", b"a"),
        w.file(MediaKind::Video, "b.mp4", b"b"),
        w.file(MediaKind::Document, "c.pdf", b"c"),
    ];
    let fake = Fake::default();
    let sent = w.send(&fake, &files, 7).await.unwrap();
    assert_eq!(
        sent,
        Sent {
            message_id: 100,
            album_ids: vec![101, 102],
            duplicate: false
        }
    );
    let uploads = fake.uploads();
    assert!(matches!(
        uploads.as_slice(),
        [
            tl::enums::InputMedia::UploadedPhoto(_),
            tl::enums::InputMedia::UploadedDocument(v),
            tl::enums::InputMedia::UploadedDocument(d),
        ] if !v.force_file && d.force_file
    ));
    let sends = fake.sends();
    let [MediaRequest::Album(q)] = sends.as_slice() else {
        panic!("{sends:?}")
    };
    assert!(q.silent);
    let want: Vec<i64> = (0..3).map(|i| album_random_id(7, i)).collect();
    assert_eq!(sends[0].random_ids(), want);
    let tl::enums::InputSingleMedia::Media(first) = &q.multi_media[0];
    assert_eq!(first.message, "status ok");
}

#[tokio::test]
async fn an_expired_reference_uploads_again_and_resends_the_same_ids_once() {
    for stale in [
        "FILE_REFERENCE_EXPIRED",
        "FILE_REFERENCE_INVALID",
        "MEDIA_EMPTY",
    ] {
        let w = World::new();
        let files = [
            w.file(MediaKind::Photo, "a.jpg", b"a"),
            w.file(MediaKind::Document, "b.pdf", b"b"),
        ];
        let fake = Fake::default();
        // Uploaded and cached by an earlier delivery.
        w.send(&fake, &files, 1).await.unwrap();
        assert_eq!(fake.uploads().len(), 2);

        fake.send_errors.lock().unwrap().push_back(rpc(stale));
        let sent = w.send(&fake, &files, 500).await.unwrap();
        assert_eq!(
            (sent.message_id, sent.album_ids.as_slice()),
            (100, &[101][..]),
            "{stale}"
        );
        let sends = fake.sends();
        assert_eq!(sends.len(), 3, "{stale}: one resend: {sends:?}");
        let want: Vec<i64> = (0..2).map(|i| album_random_id(500, i)).collect();
        assert_eq!(sends[1].random_ids(), want, "{stale}");
        assert_eq!(sends[2].random_ids(), want, "{stale}: the same ids again");
        assert_eq!(
            fake.uploads().len(),
            4,
            "{stale}: both files uploaded again"
        );
        // The cached handles failed; the resend carries the new ones.
        assert_eq!(references(&sends[1]), [vec![1], vec![2]], "{stale}");
        assert_eq!(references(&sends[2]), [vec![3], vec![4]], "{stale}");
    }
}

#[tokio::test]
async fn a_second_stale_answer_fails_instead_of_looping() {
    let w = World::new();
    let photo = [w.file(MediaKind::Photo, "a.jpg", b"a")];
    let fake = Fake::failing_sends([rpc("FILE_REFERENCE_EXPIRED"), rpc("FILE_REFERENCE_EXPIRED")]);
    let err = w.send(&fake, &photo, 9).await.unwrap_err();
    assert_eq!(err, rpc("FILE_REFERENCE_EXPIRED"));
    let sends = fake.sends();
    assert_eq!(sends.len(), 2);
    assert!(sends.iter().all(|s| s.random_ids() == [9]));
}

#[tokio::test]
async fn other_refusals_are_not_retried_and_nothing_is_cached() {
    let w = World::new();
    let photo = [w.file(MediaKind::Photo, "wide.png", b"a")];
    let fake = Fake::default();
    fake.upload_errors
        .lock()
        .unwrap()
        .push_back(rpc("PHOTO_INVALID_DIMENSIONS"));
    assert_eq!(
        w.send(&fake, &photo, 1).await,
        Err(rpc("PHOTO_INVALID_DIMENSIONS"))
    );
    assert!(fake.sends().is_empty());
    assert_eq!(w.cache.len(), 0);

    let fake = Fake::failing_sends([rpc("MEDIA_CAPTION_TOO_LONG")]);
    assert_eq!(
        w.send(&fake, &photo, 2).await,
        Err(rpc("MEDIA_CAPTION_TOO_LONG"))
    );
    assert_eq!(fake.sends().len(), 1);

    // A FLOOD_WAIT during an upload reaches the scheduler as one.
    let fake = Fake::default();
    w.cache.clear();
    fake.part_errors
        .lock()
        .unwrap()
        .push_back(TelegramError::FloodWait { seconds: 30 });
    assert_eq!(
        w.send(&fake, &photo, 3).await,
        Err(TelegramError::FloodWait { seconds: 30 })
    );
    assert!(fake.sends().is_empty());
}

#[tokio::test]
async fn a_repeat_of_a_sent_album_is_a_duplicate() {
    let w = World::new();
    let files = [
        w.file(MediaKind::Photo, "a.jpg", b"a"),
        w.file(MediaKind::Photo, "b.jpg", b"b"),
    ];
    let fake = Fake::failing_sends([TelegramError::RandomIdDuplicate]);
    assert_eq!(
        w.send(&fake, &files, 3).await,
        Ok(Sent {
            message_id: 0,
            album_ids: vec![],
            duplicate: true
        })
    );
}

#[tokio::test]
async fn missing_bytes_fail_the_delivery_before_any_call() {
    let w = World::new();
    let mut photo = w.file(MediaKind::Photo, "a.jpg", b"a");
    photo.sha256 = "00".repeat(32);
    let fake = Fake::default();
    assert_eq!(
        w.send(&fake, &[photo], 1).await,
        Err(TelegramError::MediaMissing {
            sha256: "00".repeat(32)
        })
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn the_same_bytes_as_another_kind_or_name_are_another_upload() {
    let w = World::new();
    let fake = Fake::default();
    let photo = w.file(MediaKind::Photo, "a.png", b"same");
    let doc = w.file(MediaKind::Document, "a.png", b"same");
    let renamed = w.file(MediaKind::Document, "b.png", b"same");
    for (i, f) in [&photo, &doc, &renamed, &doc].into_iter().enumerate() {
        w.send(&fake, std::slice::from_ref(f), i as i64 + 1)
            .await
            .unwrap();
    }
    assert_eq!(fake.uploads().len(), 3);
}

#[test]
fn the_cache_is_bounded_and_clears() {
    let cache = MediaCache::default();
    let handle: tl::enums::InputMedia = tl::enums::InputMedia::Empty;
    let att = |i: usize| Attachment {
        kind: MediaKind::Photo,
        file_name: "a".into(),
        mime: "image/png".into(),
        size: 1,
        sha256: format!("{i:064x}"),
    };
    for i in 0..=MAX_CACHED {
        cache.put(&att(i), handle.clone());
    }
    assert_eq!(cache.len(), MAX_CACHED);
    assert!(cache.get(&att(0)).is_none(), "the oldest went");
    assert!(cache.get(&att(MAX_CACHED)).is_some());
    cache.forget(&att(MAX_CACHED));
    assert_eq!(cache.len(), MAX_CACHED - 1);
    cache.clear();
    assert_eq!(cache.len(), 0);
}

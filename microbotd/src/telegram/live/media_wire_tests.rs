//! [`LiveMessenger`] sending attachments over real MTProto (grammers, TCP
//! on loopback) to the test server in `tests/mtproto-server`: the bytes
//! that arrive are the stored ones, uploads happen once per account, album
//! ids come back in order, and an expired file reference is cured by one
//! re-upload and a resend under the same `random_id`s.

use microbot_tests::mtproto_test_server::{ChatKind, MtprotoServer, SentMessage};

use super::*;
use crate::telegram::fake::MemoryMedia;
use crate::telegram::media::album_random_id;
use crate::telegram::{Attachment, MediaKind, ParseMode, PeerKind, SessionStoreError};

/// A session already holding the server's auth key (no key exchange can
/// happen with a test server), as `tests/harness/live.rs` seeds one.
struct Seeded(Vec<u8>);

#[async_trait]
impl SessionStore for Seeded {
    async fn load_session(&self, _: i64) -> Result<Option<Vec<u8>>, SessionStoreError> {
        Ok(Some(self.0.clone()))
    }
    async fn save_session(&self, _: i64, _: &[u8]) -> Result<(), SessionStoreError> {
        Ok(())
    }
    async fn clear_session(&self, _: i64) -> Result<(), SessionStoreError> {
        Ok(())
    }
}

struct Wire {
    server: MtprotoServer,
    media: Arc<MemoryMedia>,
    live: LiveMessenger,
    account: AccountKey,
    peer: ResolvedPeer,
}

impl Wire {
    fn start() -> Self {
        let server = MtprotoServer::start("12345", None);
        server.lock().authorized = true;
        let snapshot = serde_json::json!({
            "version": 1,
            "home_dc": 2,
            "dc_options": [server.dc_option()],
            "peers": [],
            "updates": { "pts": 0, "qts": 0, "date": 0, "seq": 0, "channels": [] },
        });
        let media = Arc::new(MemoryMedia::default());
        let live = LiveMessenger::new(
            12345,
            Secret::new("0123456789abcdef0123456789abcdef"),
            Arc::new(Seeded(serde_json::to_vec(&snapshot).unwrap())),
            media.clone(),
        );
        let room = server.chat("ops_room");
        assert_eq!(room.kind, ChatKind::Channel);
        let peer = ResolvedPeer {
            peer_id: room.marked_id(),
            kind: PeerKind::Channel,
            access_hash: Some(room.access_hash),
            title: room.title,
        };
        Wire {
            server,
            media,
            live,
            account: AccountKey {
                id: 1,
                name: "ops".into(),
            },
            peer,
        }
    }

    fn file(&self, kind: MediaKind, name: &str, mime: &str, bytes: &[u8]) -> Attachment {
        Attachment {
            kind,
            file_name: name.into(),
            mime: mime.into(),
            size: bytes.len() as i64,
            sha256: self.media.insert(bytes),
        }
    }

    async fn send(&self, attachments: &[Attachment], random_id: i64) -> Sent {
        let msg = OutgoingText {
            peer: &self.peer,
            chat_label: "@ops_room",
            text: "daily **status**",
            parse_mode: ParseMode::Markdown,
            random_id,
            template_id: Some(1),
            slot: None,
            silent: true,
            no_preview: false,
            attachments,
        };
        self.live
            .send_text(&self.account, &msg)
            .await
            .unwrap_or_else(|e| panic!("send: {e}; server calls {:?}", self.server.calls()))
    }

    /// Stops the client; it kept MTProto's msg_id / seq_no rules throughout.
    async fn finish(self) {
        self.live.shutdown().await;
        assert_eq!(self.server.lock().protocol_errors, Vec::<String>::new());
    }

    fn kept(&self, random_id: i64) -> SentMessage {
        self.server
            .kept()
            .into_iter()
            .find(|m| m.random_id == random_id)
            .unwrap_or_else(|| panic!("no message {random_id} on the server"))
    }
}

/// Bytes that differ everywhere, so a lost or reordered part shows.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

#[tokio::test]
async fn a_photo_arrives_whole_and_is_uploaded_once() {
    let w = Wire::start();
    let photo = w.file(
        MediaKind::Photo,
        "status.png",
        "image/png",
        &bytes(600 * 1024, 1),
    );
    let sent = w.send(std::slice::from_ref(&photo), 77).await;
    let m = w.kept(77);
    assert_eq!(
        (sent.message_id, sent.duplicate),
        (i64::from(m.message_id), false)
    );
    assert!(sent.album_ids.is_empty());
    let media = m.media.expect("a media message");
    assert_eq!(
        (
            media.kind.as_str(),
            media.file_name.as_str(),
            media.sha256.as_str()
        ),
        ("photo", "status.png", photo.sha256.as_str())
    );
    assert_eq!((m.text.as_str(), m.silent), ("daily status", true));
    assert_eq!(m.entities, ["Bold(6,6)"]);
    assert_eq!(w.server.count_calls("upload.saveFilePart"), 2);

    // The next delivery reuses the upload.
    w.send(std::slice::from_ref(&photo), 78).await;
    assert_eq!(w.kept(78).media.unwrap().sha256, photo.sha256);
    assert_eq!(w.server.count_calls("messages.uploadMedia"), 1);
    assert_eq!(w.server.count_calls("upload.saveFilePart"), 2);

    // Another node took the account: its uploads are forgotten here.
    w.live.release(&w.account).await;
    w.send(std::slice::from_ref(&photo), 79).await;
    assert_eq!(w.server.count_calls("messages.uploadMedia"), 2);
    w.finish().await;
}

#[tokio::test]
async fn an_album_survives_expired_references_with_the_same_ids() {
    let w = Wire::start();
    let files = [
        w.file(MediaKind::Photo, "a.jpg", "image/jpeg", &bytes(1000, 2)),
        w.file(MediaKind::Video, "b.mp4", "video/mp4", &bytes(2000, 3)),
        w.file(
            MediaKind::Document,
            "c.pdf",
            "application/pdf",
            &bytes(3000, 4),
        ),
    ];
    let sent = w.send(&files, 500).await;
    let ids: Vec<i64> = (0..3).map(|i| album_random_id(500, i)).collect();
    let kept: Vec<SentMessage> = ids.iter().map(|&r| w.kept(r)).collect();
    assert_eq!(sent.message_id, i64::from(kept[0].message_id));
    assert_eq!(
        sent.album_ids,
        [i64::from(kept[1].message_id), i64::from(kept[2].message_id)]
    );
    for (m, f) in kept.iter().zip(&files) {
        let media = m.media.as_ref().unwrap();
        assert_eq!(
            (media.kind.as_str(), media.sha256.as_str()),
            (f.kind.as_str(), f.sha256.as_str())
        );
        assert!(m.silent && m.grouped_id.is_some());
    }
    assert_eq!(kept[0].text, "daily status");
    assert!(kept[1].text.is_empty() && kept[2].text.is_empty());
    assert_eq!(w.server.count_calls("messages.uploadMedia"), 3);

    // Telegram expired the handles the account keeps.
    w.server.expire_file_references();
    let again = w.send(&files, 900).await;
    assert!(!again.duplicate);
    assert_eq!(w.server.attempts_of(900), 2, "one resend, same first id");
    assert_eq!(w.server.count_calls("messages.sendMultiMedia"), 3);
    assert_eq!(w.server.count_calls("messages.uploadMedia"), 6);
    let second: Vec<i64> = (0..3)
        .map(|i| i64::from(w.kept(album_random_id(900, i)).message_id))
        .collect();
    assert_eq!(again.message_id, second[0]);
    assert_eq!(again.album_ids, second[1..]);
    w.finish().await;
}

#[tokio::test]
async fn a_file_over_ten_mib_goes_up_in_big_parts() {
    let w = Wire::start();
    let doc = w.file(
        MediaKind::Document,
        "dump.bin",
        "application/octet-stream",
        &bytes(10 * 1024 * 1024 + 5, 5),
    );
    w.send(std::slice::from_ref(&doc), 3).await;
    let media = w.kept(3).media.unwrap();
    assert_eq!(
        (
            media.sha256.as_str(),
            media.file_name.as_str(),
            media.mime.as_str()
        ),
        (doc.sha256.as_str(), "dump.bin", "application/octet-stream")
    );
    assert_eq!(w.server.count_calls("upload.saveBigFilePart"), 21);
    assert_eq!(w.server.count_calls("upload.saveFilePart"), 0);
    w.finish().await;
}

//! Tests of the pure TL helpers in `send.rs`, on hand-built layer values.

use super::*;

fn resolved(peer_id: i64, kind: PeerKind, access_hash: Option<i64>) -> ResolvedPeer {
    ResolvedPeer {
        peer_id,
        kind,
        access_hash,
        title: "t".into(),
    }
}

#[test]
fn input_peers_from_marked_ids() {
    use tl::enums::InputPeer as P;
    match input_peer(&resolved(777, PeerKind::User, Some(5))).unwrap() {
        P::User(u) => assert_eq!((u.user_id, u.access_hash), (777, 5)),
        other => panic!("{other:?}"),
    }
    match input_peer(&resolved(-42, PeerKind::Chat, None)).unwrap() {
        P::Chat(c) => assert_eq!(c.chat_id, 42),
        other => panic!("{other:?}"),
    }
    match input_peer(&resolved(-1_001_234_567_890, PeerKind::Channel, Some(-9))).unwrap() {
        P::Channel(c) => assert_eq!((c.channel_id, c.access_hash), (1_234_567_890, -9)),
        other => panic!("{other:?}"),
    }
    // Missing hash: ambient authority (0), as grammers does.
    match input_peer(&resolved(777, PeerKind::User, None)).unwrap() {
        P::User(u) => assert_eq!(u.access_hash, 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kind_and_sign_must_agree() {
    for (id, kind) in [
        (-5, PeerKind::User),
        (0, PeerKind::User),
        (5, PeerKind::Chat),
        (-42, PeerKind::Channel),
        (-1_000_000_000_000, PeerKind::Channel),
        (5, PeerKind::Channel),
    ] {
        assert!(
            matches!(
                input_peer(&resolved(id, kind, None)),
                Err(TelegramError::PeerInvalid { .. })
            ),
            "{id} {kind:?}"
        );
    }
}

#[test]
fn request_carries_our_random_id_and_entities() {
    let peer = input_peer(&resolved(777, PeerKind::User, Some(1))).unwrap();
    let req = send_message_request(
        peer.clone(),
        "hi *there*",
        ParseMode::Plain,
        123,
        SendFlags::default(),
    );
    assert_eq!((req.random_id, req.message.as_str()), (123, "hi *there*"));
    assert!(req.entities.is_none());

    let req = send_message_request(
        peer.clone(),
        "hi **there**",
        ParseMode::Markdown,
        -5,
        SendFlags::default(),
    );
    assert_eq!((req.random_id, req.message.as_str()), (-5, "hi there"));
    assert!(matches!(
        req.entities.as_deref(),
        Some([tl::enums::MessageEntity::Bold(_)])
    ));

    let req = send_message_request(peer, "a <b>b</b>", ParseMode::Html, 1, SendFlags::default());
    assert_eq!(req.message, "a b");
    assert!(matches!(
        req.entities.as_deref(),
        Some([tl::enums::MessageEntity::Bold(_)])
    ));
}

#[test]
fn request_carries_the_send_options() {
    let peer = input_peer(&resolved(777, PeerKind::User, Some(1))).unwrap();
    let plain = send_message_request(
        peer.clone(),
        "hi",
        ParseMode::Plain,
        9,
        SendFlags::default(),
    );
    assert!(!plain.silent && !plain.no_webpage);
    let flags = SendFlags {
        silent: true,
        no_webpage: false,
    };
    let req = send_message_request(peer.clone(), "hi", ParseMode::Plain, 9, flags);
    assert!(req.silent && !req.no_webpage);
    assert_eq!(req.random_id, 9);
    let flags = SendFlags {
        silent: false,
        no_webpage: true,
    };
    let req = send_message_request(peer, "hi", ParseMode::Plain, 9, flags);
    assert!(!req.silent && req.no_webpage);
}

#[test]
fn pin_is_silent_unless_it_notifies() {
    let peer = input_peer(&resolved(-42, PeerKind::Chat, None)).unwrap();
    let req = pin_request(peer.clone(), 77, false).unwrap();
    assert!(req.silent && !req.unpin && !req.pm_oneside);
    assert_eq!(req.id, 77);
    assert!(matches!(req.peer, tl::enums::InputPeer::Chat(ref c) if c.chat_id == 42));
    assert!(!pin_request(peer.clone(), 77, true).unwrap().silent);
    // Not an id Telegram gives: refused before any call.
    assert!(pin_request(peer.clone(), 0, false).is_err());
    assert!(pin_request(peer, i64::from(i32::MAX) + 1, false).is_err());
}

#[test]
fn delete_goes_to_the_channel_or_revokes_for_everyone() {
    let channel = input_peer(&resolved(-1_001_234_567_890, PeerKind::Channel, Some(-9))).unwrap();
    match delete_request(channel, 5).unwrap() {
        DeleteRequest::Channel(q) => {
            assert_eq!(q.id, [5]);
            match q.channel {
                tl::enums::InputChannel::Channel(c) => {
                    assert_eq!((c.channel_id, c.access_hash), (1_234_567_890, -9))
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    let user = input_peer(&resolved(777, PeerKind::User, Some(1))).unwrap();
    match delete_request(user, 6).unwrap() {
        DeleteRequest::Messages(q) => assert!(q.revoke && q.id == [6]),
        other => panic!("{other:?}"),
    }
}

fn msg_id(id: i32, random_id: i64) -> tl::enums::Update {
    tl::types::UpdateMessageId { id, random_id }.into()
}

#[test]
fn id_from_short_sent_message() {
    let u = tl::enums::Updates::UpdateShortSentMessage(tl::types::UpdateShortSentMessage {
        out: true,
        id: 55,
        pts: 1,
        pts_count: 1,
        date: 0,
        media: None,
        entities: None,
        ttl_period: None,
    });
    assert_eq!(sent_message_id(&u, 9), Some(55));
}

#[test]
fn id_from_updates_matches_our_random_id() {
    let u = tl::enums::Updates::Updates(tl::types::Updates {
        updates: vec![msg_id(10, 1), msg_id(11, 2)],
        users: vec![],
        chats: vec![],
        date: 0,
        seq: 0,
    });
    assert_eq!(sent_message_id(&u, 2), Some(11));
    assert_eq!(sent_message_id(&u, 3), None);

    let c = tl::enums::Updates::Combined(tl::types::UpdatesCombined {
        updates: vec![msg_id(12, 7)],
        users: vec![],
        chats: vec![],
        date: 0,
        seq_start: 0,
        seq: 0,
    });
    assert_eq!(sent_message_id(&c, 7), Some(12));

    let s = tl::enums::Updates::UpdateShort(tl::types::UpdateShort {
        update: msg_id(13, 8),
        date: 0,
    });
    assert_eq!(sent_message_id(&s, 8), Some(13));
    assert_eq!(sent_message_id(&tl::enums::Updates::TooLong, 8), None);
}

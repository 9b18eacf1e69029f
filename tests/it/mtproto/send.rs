//! Sending through the test server: the request carries the delivery's
//! stored random_id, peer, text and entities; a repeat after kill -9 is
//! de-duplicated by random_id and the row ends `sent` with the first id.

use std::time::Duration;

use microbot_tests::daemon::Db;
use microbot_tests::live::Live;
use mtproto_test_server::{Action, Fault, SentPeer};

use super::template;

fn mtproto_send_carries_the_stored_random_id_peer_text_and_entities(db: Db) {
    let live = Live::start(db, None);
    live.logged_in("ops");
    template(
        &live,
        "ops",
        "deploy",
        &["@ops_room", "@alice_example"],
        "**Deploy** at _noon_",
        "markdown",
    );
    live.wait_for("both chats sent", 60, || {
        let rows = live.deliveries();
        ["@ops_room", "@alice_example"]
            .iter()
            .all(|t| rows.iter().any(|d| &d.target == t && d.state == "sent"))
    });
    let (room, alice) = (
        live.server.chat("ops_room"),
        live.server.chat("alice_example"),
    );
    let kept = live.server.kept();
    for d in live.deliveries().iter().filter(|d| d.state == "sent") {
        let m = kept
            .iter()
            .find(|m| m.random_id == d.random_id)
            .unwrap_or_else(|| panic!("server never got random_id of {d:?}: {kept:?}"));
        assert_eq!(Some(i64::from(m.message_id)), d.message_id, "{d:?}");
        let want = if d.target == "@ops_room" {
            SentPeer::Channel {
                id: room.id,
                access_hash: room.access_hash,
            }
        } else {
            SentPeer::User {
                id: alice.id,
                access_hash: alice.access_hash,
            }
        };
        assert_eq!(m.peer, want, "{d:?}");
        assert_eq!(m.text, "Deploy at noon");
        assert_eq!(m.entities, ["Bold(0,6)", "Italic(10,4)"]);
        assert_eq!(live.server.attempts_of(d.random_id), 1, "{d:?}");
    }
    let chats = live
        .daemon
        .ctl_json(&["deliveries", "list", "--state", "sent"]);
    assert!(chats[0]["message_id"].as_i64().unwrap() > 0, "{chats}");
}
microbot_tests::per_backend!(mtproto_send_carries_the_stored_random_id_peer_text_and_entities);

/// The answer to the first send is held back; the daemon is killed while
/// it waits, so the row is `sending` and the outcome never written. After
/// the restart it sends again with the same random_id: the server sees it
/// twice, keeps one message, and the row ends `sent` with that message's id.
fn mtproto_kill9_between_send_and_outcome_resends_the_same_random_id_and_keeps_one_message(db: Db) {
    let mut live = Live::start(db, None);
    live.logged_in("ops");
    live.server.inject(Fault::new(
        "messages.sendMessage",
        Action::Delay(Duration::from_secs(120)),
    ));
    template(&live, "ops", "tick", &["@ops_room"], "tick", "plain");
    live.wait_for("the first send", 60, || !live.server.attempts().is_empty());
    let first = live.server.attempts()[0].clone();
    // Nothing is written before a send (the random_id was committed
    // with the claim): the row is still open while the answer is held.
    assert!(
        live.deliveries()
            .iter()
            .any(|d| d.random_id == first.random_id && d.state == "pending"),
        "the row in flight is open"
    );
    live.daemon.kill9();
    let kept_before = live.server.kept();
    assert_eq!(kept_before.len(), 1, "the server kept the first send");

    live.daemon.spawn().expect("restart after kill -9");
    live.wait_for("the row sent after the restart", 60, || {
        live.deliveries()
            .iter()
            .any(|d| d.random_id == first.random_id && d.state == "sent")
    });
    assert_eq!(live.server.attempts_of(first.random_id), 2);
    let kept: Vec<_> = live
        .server
        .kept()
        .into_iter()
        .filter(|m| m.random_id == first.random_id)
        .collect();
    assert_eq!(kept.len(), 1, "one message for one random_id: {kept:?}");
    let row = live
        .deliveries()
        .into_iter()
        .find(|d| d.random_id == first.random_id)
        .unwrap();
    assert_eq!(row.message_id, Some(i64::from(kept_before[0].message_id)));
}
microbot_tests::per_backend!(
    mtproto_kill9_between_send_and_outcome_resends_the_same_random_id_and_keeps_one_message
);

/// Send options on the live path: `silent` and `no_webpage` ride on
/// `messages.sendMessage`; each message is pinned silently
/// (`messages.updatePinnedMessage`) and, once the next one is sent, deleted
/// (`channels.deleteMessages` in a channel, `messages.deleteMessages` with
/// revoke for a user).
fn mtproto_send_options_pin_silently_and_delete_the_previous_message(db: Db) {
    use mtproto_test_server::MessageCall;
    let live = Live::start(db, None);
    live.logged_in("ops");
    let t = live.daemon.ctl_json(&[
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "status",
        "--every",
        "2s",
        "--text",
        "status https://example.com",
        "--chat",
        "@ops_room",
        "--chat",
        "@alice_example",
        "--silent",
        "--no-preview",
        "--pin",
        "--replace-previous",
    ]);
    let id = t["id"].as_i64().unwrap();
    live.wait_for("two sends to each chat", 90, || {
        let rows = live.deliveries();
        ["@ops_room", "@alice_example"].iter().all(|c| {
            rows.iter()
                .filter(|d| &d.target == c && d.state == "sent")
                .count()
                >= 2
        })
    });
    live.daemon
        .ctl_ok(&["template", "disable", &id.to_string()]);
    let (room, alice) = (
        live.server.chat("ops_room"),
        live.server.chat("alice_example"),
    );
    let kept = live.server.kept();
    assert!(kept.iter().all(|m| m.silent && m.no_webpage), "{kept:?}");
    let calls = live.server.message_calls();
    for m in &kept {
        let pinned = calls.iter().any(|c| {
            matches!(c, MessageCall::Pin { message_id, silent: true, .. } if *message_id == m.message_id)
        });
        assert!(
            pinned,
            "message {} pinned silently: {calls:?}",
            m.message_id
        );
    }
    // The first message of each chat was deleted, the right way.
    let first = |peer: &SentPeer| kept.iter().find(|m| &m.peer == peer).unwrap().message_id;
    let room_peer = SentPeer::Channel {
        id: room.id,
        access_hash: room.access_hash,
    };
    let alice_peer = SentPeer::User {
        id: alice.id,
        access_hash: alice.access_hash,
    };
    assert!(
        calls.contains(&MessageCall::Delete {
            channel: Some(room.id),
            message_ids: vec![first(&room_peer)],
            revoke: true,
        }),
        "{calls:?}"
    );
    assert!(
        calls.contains(&MessageCall::Delete {
            channel: None,
            message_ids: vec![first(&alice_peer)],
            revoke: true,
        }),
        "{calls:?}"
    );
}
microbot_tests::per_backend!(mtproto_send_options_pin_silently_and_delete_the_previous_message);

//! Telegram's errors and network trouble, injected by the test server,
//! each ending in the state docs/DESIGN.md promises.

use std::time::Duration;

use microbot_tests::daemon::Db;
use microbot_tests::live::Live;
use mtproto_test_server::{Action, Fault};

use super::{account, template};

const SEND: &str = "messages.sendMessage";

/// `doctor -o json`'s check `name`: (result, detail).
pub(super) fn doctor_check(live: &Live, name: &str) -> (String, String) {
    let out = live.daemon.ctl(&["-o", "json", "doctor"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v}"))
        .clone();
    (
        c["result"].as_str().unwrap().to_owned(),
        c["detail"].as_str().unwrap().to_owned(),
    )
}

fn sent(live: &Live, random_id: i64) -> bool {
    live.deliveries()
        .iter()
        .any(|d| d.random_id == random_id && d.state == "sent")
}

fn mtproto_flood_wait_pauses_the_account_until_the_deadline_then_sends(db: Db) {
    let live = Live::start(db, None);
    live.logged_in("ops");
    live.server.inject(Fault::rpc(SEND, 420, "FLOOD_WAIT_3"));
    template(&live, "ops", "tick", &["@ops_room"], "tick", "plain");
    live.wait_for("the flood wait shown", 60, || {
        !account(&live, "ops")["flood_wait_until"].is_null()
    });
    let first = live.server.attempts()[0].clone();
    assert!(first.fault.is_some());
    live.wait_for("the same row sent", 60, || sent(&live, first.random_id));
    let attempts = live.server.attempts();
    let retry = attempts
        .iter()
        .filter(|a| a.random_id == first.random_id)
        .nth(1)
        .expect("sent again");
    // Not before the deadline (the daemon keeps it to the second).
    assert!(
        retry.at.duration_since(first.at) >= Duration::from_secs(2),
        "resent {:?} after FLOOD_WAIT_3",
        retry.at.duration_since(first.at)
    );
    // No other send went out during the pause either.
    assert!(
        attempts
            .iter()
            .filter(|a| a.at > first.at && a.at < retry.at)
            .count()
            == 0,
        "{attempts:?}"
    );
    assert_eq!(account(&live, "ops")["state"], "active");
}
microbot_tests::per_backend!(mtproto_flood_wait_pauses_the_account_until_the_deadline_then_sends);

fn mtproto_slowmode_wait_delays_that_chat_only(db: Db) {
    let live = Live::start(db, None);
    live.logged_in("ops");
    let room = live.server.chat("ops_room");
    live.server
        .inject(Fault::rpc(SEND, 420, "SLOWMODE_WAIT_5").for_peer(room.id));
    template(
        &live,
        "ops",
        "tick",
        &["@ops_room", "@alice_example"],
        "tick",
        "plain",
    );
    live.wait_for("the slow-mode answer", 60, || {
        live.server.attempts().iter().any(|a| a.fault.is_some())
    });
    let held = live
        .server
        .attempts()
        .into_iter()
        .find(|a| a.fault.is_some())
        .unwrap();
    live.wait_for("the held row sent", 60, || sent(&live, held.random_id));
    let attempts = live.server.attempts();
    let retry = attempts
        .iter()
        .filter(|a| a.random_id == held.random_id)
        .nth(1)
        .unwrap();
    let alice = live.server.chat("alice_example");
    assert!(
        attempts
            .iter()
            .any(|a| a.peer == Some(alice.id) && a.at > held.at && a.at < retry.at),
        "the other chat was not held back: {attempts:?}"
    );
    let a = account(&live, "ops");
    assert_eq!(a["state"], "active", "{a}");
    assert!(a["flood_wait_until"].is_null(), "{a}");
}
microbot_tests::per_backend!(mtproto_slowmode_wait_delays_that_chat_only);

fn mtproto_peer_flood_marks_the_account_limited(db: Db) {
    let live = Live::start(db, None);
    live.logged_in("ops");
    live.server.inject(Fault::rpc(SEND, 400, "PEER_FLOOD"));
    template(&live, "ops", "tick", &["@ops_room"], "tick", "plain");
    live.wait_for("the account limited", 60, || {
        account(&live, "ops")["state"] == "limited"
    });
    let first = live.server.attempts()[0].clone();
    assert!(!sent(&live, first.random_id), "sent while limited");
    let (result, detail) = doctor_check(&live, "telegram limits");
    assert_eq!(result, "WARN", "{detail}");
    assert!(detail.contains("limited: [ops]"), "{detail}");
}
microbot_tests::per_backend!(mtproto_peer_flood_marks_the_account_limited);

fn mtproto_revoked_or_banned_session_marks_the_account_logged_out_and_doctor_says_so(db: Db) {
    for error in ["AUTH_KEY_UNREGISTERED", "USER_DEACTIVATED_BAN"] {
        let live = Live::start(db, None);
        live.logged_in("ops");
        live.server.inject(Fault::rpc(SEND, 401, error));
        template(&live, "ops", "tick", &["@ops_room"], "tick", "plain");
        live.wait_for("the account logged out", 60, || {
            account(&live, "ops")["state"] == "logged_out"
        });
        let a = account(&live, "ops");
        assert!(
            a["last_error"].as_str().unwrap_or("").contains(error),
            "{error}: {a}"
        );
        let (result, detail) = doctor_check(&live, "accounts");
        assert_eq!(result, "WARN", "{detail}");
        assert!(detail.contains("1 logged out (ops)"), "{detail}");
    }
}
microbot_tests::per_backend!(
    mtproto_revoked_or_banned_session_marks_the_account_logged_out_and_doctor_says_so
);

fn mtproto_chat_write_forbidden_fails_that_delivery_only(db: Db) {
    let live = Live::start(db, None);
    live.logged_in("ops");
    let room = live.server.chat("ops_room");
    live.server
        .inject(Fault::rpc(SEND, 403, "CHAT_WRITE_FORBIDDEN").for_peer(room.id));
    template(
        &live,
        "ops",
        "tick",
        &["@ops_room", "@alice_example"],
        "tick",
        "plain",
    );
    live.wait_for("one failed and one sent", 60, || {
        let rows = live.deliveries();
        rows.iter()
            .any(|d| d.target == "@ops_room" && d.state == "failed")
            && rows
                .iter()
                .any(|d| d.target == "@alice_example" && d.state == "sent")
    });
    let failed = live
        .deliveries()
        .into_iter()
        .find(|d| d.state == "failed")
        .unwrap();
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("CHAT_WRITE_FORBIDDEN"),
        "{failed:?}"
    );
    assert_eq!(live.server.attempts_of(failed.random_id), 1);
    assert_eq!(account(&live, "ops")["state"], "active");
}
microbot_tests::per_backend!(mtproto_chat_write_forbidden_fails_that_delivery_only);

/// The connection drops mid-call — after the send took effect (the answer
/// is lost) or before — the daemon reconnects, sends the same random_id,
/// and the row is sent once, with the kept message's id.
fn mtproto_dropped_connection_mid_call_reconnects_and_the_row_is_sent_once(db: Db) {
    for drop in [Action::DropAfter, Action::DropBefore] {
        let live = Live::start(db, None);
        live.logged_in("ops");
        live.server.inject(Fault::new(SEND, drop));
        template(&live, "ops", "tick", &["@ops_room"], "tick", "plain");
        live.wait_for("the dropped send", 60, || {
            !live.server.attempts().is_empty()
        });
        let first = live.server.attempts()[0].clone();
        live.wait_for("the row sent", 60, || sent(&live, first.random_id));
        assert_eq!(live.server.attempts_of(first.random_id), 2);
        let kept: Vec<_> = live
            .server
            .kept()
            .into_iter()
            .filter(|m| m.random_id == first.random_id)
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        let row = live
            .deliveries()
            .into_iter()
            .find(|d| d.random_id == first.random_id)
            .unwrap();
        assert_eq!(row.message_id, Some(i64::from(kept[0].message_id)));
        assert!(
            live.server.count_calls("initConnection") >= 2,
            "no reconnect: {:?}",
            live.server.calls()
        );
    }
}
microbot_tests::per_backend!(
    mtproto_dropped_connection_mid_call_reconnects_and_the_row_is_sent_once
);

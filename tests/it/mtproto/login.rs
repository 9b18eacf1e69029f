//! Login through the test server: code, two-step verification (a wrong
//! password refused by real SRP, then the right one), the session kept
//! across a restart (sealed at rest under the daemon's session key), and
//! logout reaching `auth.logOut`.

use microbot_tests::daemon::Db;
use microbot_tests::live::{CODE, Live, PASSWORD};

use super::{account, stderr};

fn mtproto_login_with_code_then_2fa_refuses_a_wrong_password_then_accepts_the_right_one(db: Db) {
    let live = Live::start(db, Some(PASSWORD));
    live.add_account("ops");

    let wrong = live.login("ops", &[CODE, "not the password"]);
    assert!(!wrong.status.success(), "a wrong password logged in");
    assert!(stderr(&wrong).contains("password"), "{}", stderr(&wrong));
    assert_eq!(account(&live, "ops")["state"], "password_needed");

    let right = live.login("ops", &[CODE, PASSWORD]);
    assert!(
        right.status.success(),
        "{}\n{}",
        stderr(&right),
        live.daemon.log()
    );
    let said = String::from_utf8_lossy(&right.stdout);
    assert!(said.contains("logged in: ops as @mtproto_op"), "{said}");
    assert_eq!(live.server.lock().password_checks, vec![false, true]);
    let calls = live.server.calls();
    for call in [
        "initConnection",
        "help.getConfig",
        "auth.sendCode",
        "auth.signIn",
        "account.getPassword",
        "auth.checkPassword",
    ] {
        assert!(
            calls.iter().any(|c| c == call),
            "{call} missing from {calls:?}"
        );
    }
    let a = account(&live, "ops");
    assert_eq!(a["state"], "active", "{a}");
    assert_eq!(a["telegram_user"], "@mtproto_op");

    let chats = live.daemon.ctl_json(&["account", "chats", "ops"]);
    let titles: Vec<&str> = chats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    // grammers names a user by first name.
    assert_eq!(titles, ["Ops Room", "Alice"], "{chats}");
    assert_eq!(chats[0]["id"], -1_000_002_000_001i64, "{chats}");
    assert_eq!(chats[0]["username"], "@ops_room");
    assert!(!live.daemon.log().contains(PASSWORD), "password in the log");
    assert!(!live.daemon.log().contains(CODE), "login code in the log");
}
microbot_tests::per_backend!(
    mtproto_login_with_code_then_2fa_refuses_a_wrong_password_then_accepts_the_right_one
);

#[test]
fn mtproto_login_with_a_wrong_code_is_refused() {
    let live = Live::start(Db::Sqlite, None);
    live.add_account("ops");
    let out = live.login("ops", &["11111"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("code"), "{}", stderr(&out));
    assert!(!live.server.lock().authorized);
    assert_eq!(account(&live, "ops")["state"], "code_sent");
}

fn mtproto_session_survives_a_restart_and_logout_calls_auth_log_out(db: Db) {
    let mut live = Live::start(db, None);
    live.logged_in("ops");
    let sign_ins = live.server.count_calls("auth.signIn");
    // The daemon saved the logged-in session sealed under its key.
    let stored = microbot_tests::seal::stored_sessions(&live.daemon.db_url);
    let blob = stored[0].session.clone().unwrap();
    assert_eq!(stored[0].key_id.as_deref(), Some(live.key.id().as_str()));
    assert!(!microbot_tests::seal::contains(&blob, b"dc_options"));
    let snapshot: serde_json::Value =
        serde_json::from_slice(&live.key.open(stored[0].id, &blob).unwrap()).unwrap();
    assert!(
        !snapshot["peers"].as_array().unwrap().is_empty(),
        "the login's snapshot, not the seeded one: {snapshot}"
    );

    live.daemon.terminate();
    live.daemon.spawn().expect("restart");
    let again = live.login("ops", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("already logged in"), "{said}");
    assert_eq!(
        live.server.count_calls("auth.signIn"),
        sign_ins,
        "no new login"
    );
    assert_eq!(live.server.count_calls("auth.sendCode"), 1);

    live.daemon.ctl_ok(&["account", "logout", "ops"]);
    assert_eq!(live.server.count_calls("auth.logOut"), 1);
    assert!(!live.server.lock().authorized);
    assert_eq!(account(&live, "ops")["state"], "logged_out");
}
microbot_tests::per_backend!(mtproto_session_survives_a_restart_and_logout_calls_auth_log_out);

/// Telegram cannot be reached during a login: the daemon answers
/// "unavailable", which the CLI must not read as "the daemon cannot be
/// reached" (exit 69, "is microbotd running?") — it is running.
fn mtproto_login_while_telegram_is_unreachable_is_a_failure_not_an_unreachable_daemon(db: Db) {
    let live = Live::start(db, None);
    live.daemon.ctl_ok(&[
        "account",
        "add",
        "ops",
        "--phone",
        microbot_tests::live::PHONE,
    ]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut dc = live.server.dc_option();
    dc.ipv4.set_port(port);
    dc.ipv6.set_port(port);
    live.seed_session("ops", &dc);

    let out = live.login("ops", &[CODE]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("cannot reach microbotd"), "{err}");
    assert!(!err.contains("is microbotd running"), "{err}");
}
microbot_tests::per_backend!(
    mtproto_login_while_telegram_is_unreachable_is_a_failure_not_an_unreachable_daemon
);

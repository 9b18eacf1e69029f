//! `doctor` in live mode probes each data centre the accounts use:
//! connect + MTProto ping with the stored auth key, round-trip time shown;
//! the address and the error when it does not answer.

use microbot_tests::daemon::Db;
use microbot_tests::live::Live;

use super::faults::doctor_check;

fn mtproto_doctor_shows_the_data_centre_reachable_then_failing_with_its_address_when_stopped(
    db: Db,
) {
    let mut live = Live::start(db, None);
    live.logged_in("ops");
    let address = live.server.address();

    let (result, detail) = doctor_check(&live, "telegram DC2");
    assert_eq!(result, "OK", "{detail}");
    assert!(detail.contains(&address), "{detail}");
    assert!(detail.contains("answered a ping in"), "{detail}");
    assert!(detail.contains(" ms (ops)"), "{detail}");
    assert!(live.server.count_calls("ping") >= 1);

    live.server.stop();
    let (result, detail) = doctor_check(&live, "telegram DC2");
    assert_eq!(result, "FAIL", "{detail}");
    assert!(detail.contains(&address), "{detail}");
    assert!(detail.contains("cannot connect"), "{detail}");
    assert!(detail.contains("(ops)"), "{detail}");

    live.server.resume();
    assert_eq!(doctor_check(&live, "telegram DC2").0, "OK");
}
microbot_tests::per_backend!(
    mtproto_doctor_shows_the_data_centre_reachable_then_failing_with_its_address_when_stopped
);

#[test]
fn mtproto_doctor_without_sessions_has_nothing_to_probe() {
    let live = Live::start(Db::Sqlite, None);
    let (result, detail) = doctor_check(&live, "telegram");
    assert_eq!(result, "OK", "{detail}");
    assert!(detail.contains("nothing to probe"), "{detail}");
}

/// A session whose auth key the data centre does not know: `doctor` says
/// so, and a login fails with an error instead of hanging (grammers would
/// need Telegram's RSA keys to make a new key; the server refuses, as
/// Telegram refuses an unknown key, with transport error -404).
#[test]
fn mtproto_doctor_and_login_name_an_auth_key_the_data_centre_does_not_know() {
    let live = Live::start(Db::Sqlite, None);
    live.add_account("ops");
    let mut dc = live.server.dc_option();
    if let Some(k) = dc.auth_key.as_mut() {
        k[0] ^= 0xff;
    }
    live.seed_session("ops", &dc);

    let (result, detail) = doctor_check(&live, "telegram DC2");
    assert_eq!(result, "FAIL", "{detail}");
    assert!(
        detail.contains("does not know this session's auth key"),
        "{detail}"
    );
    assert!(detail.contains(&live.server.address()), "{detail}");

    let out = live.login("ops", &[microbot_tests::live::CODE]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Telegram is not reachable now"), "{said}");
    assert!(said.contains("-404"), "{said}");
    assert_eq!(live.server.count_calls("auth.sendCode"), 0);
}

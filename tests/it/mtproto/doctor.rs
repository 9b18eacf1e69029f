//! `doctor` in live mode probes each data centre the accounts use:
//! connect + MTProto ping with the stored auth key, round-trip time shown;
//! the address and the error when it does not answer.

use microbot_tests::daemon::Db;
use microbot_tests::live::Live;

use super::faults::doctor_check;

#[test]
fn mtproto_doctor_shows_the_data_centre_reachable_then_failing_with_its_address_when_stopped() {
    for db in Db::all() {
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
}

#[test]
fn mtproto_doctor_without_sessions_has_nothing_to_probe() {
    let live = Live::start(Db::Sqlite, None);
    let (result, detail) = doctor_check(&live, "telegram");
    assert_eq!(result, "OK", "{detail}");
    assert!(detail.contains("nothing to probe"), "{detail}");
}

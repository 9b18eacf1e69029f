//! Accounts through the real binaries.

use microbot_tests::daemon::{Db, TestDaemon};

#[test]
fn add_and_list_mask_the_phone() {
    for db in Db::all() {
        let d = TestDaemon::start(db);
        d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+90 532 123 45 67"]);
        let list = d.ctl_json(&["account", "list"]);
        assert_eq!(list[0]["name"], "sales-tr", "{list}");
        assert_eq!(list[0]["state"], "new");
        assert_eq!(list[0]["phone"], "+90••••••4567");
        let table = d.ctl_ok(&["account", "list"]);
        assert!(!table.contains("5321234567"), "{table}");
        assert!(!d.log().contains("5321234567"), "phone in the daemon log");
        let dup = d.ctl(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
        assert_eq!(dup.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
        let bad = d.ctl(&["account", "add", "Bad Name", "--phone", "+905321234567"]);
        assert_eq!(bad.status.code(), Some(1));
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains("invalid argument: name:"), "{err}");
        assert_eq!(
            d.ctl_json(&["account", "list"]).as_array().unwrap().len(),
            1
        );
    }
}

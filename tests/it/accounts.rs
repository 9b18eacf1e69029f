//! Accounts through the real binaries.

use microbot_tests::daemon::{Db, TestDaemon};

fn add_and_list_mask_the_phone(db: Db) {
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
microbot_tests::per_backend!(add_and_list_mask_the_phone);

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn account<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no account {name} in {list}"))
}

/// Login with the dry-run code piped on stdin, logout, and login again;
/// neither the code nor the phone number reaches the daemon's log.
fn login_logout_and_login_again(db: Db) {
    let d = TestDaemon::start(db);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+90 532 123 45 67"]);
    let out = d.ctl_stdin(&["account", "login", "sales-tr"], "22222\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("logged in: sales-tr as Dry Run (sales-tr)"),
        "{said}"
    );

    let list = d.ctl_json(&["account", "list"]);
    let a = account(&list, "sales-tr");
    assert_eq!(a["state"], "active", "{list}");
    assert_eq!(a["telegram_user"], "Dry Run (sales-tr)");
    assert_eq!(a["last_error"], serde_json::Value::Null);

    // A dry-run account that sent nothing sees no chats.
    let chats = d.ctl_json(&["account", "chats", "sales-tr", "--search", "ops"]);
    assert_eq!(chats, serde_json::json!([]));

    let out = d.ctl_ok(&["account", "logout", "sales-tr"]);
    assert!(out.contains("logged out: sales-tr"), "{out}");
    let list = d.ctl_json(&["account", "list"]);
    assert_eq!(account(&list, "sales-tr")["state"], "logged_out");
    let refused = d.ctl(&["account", "resume", "sales-tr"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("log it in first"),
        "{}",
        stderr(&refused)
    );

    let out = d.ctl_stdin(&["-o", "json", "account", "login", "sales-tr"], "22222\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["state"], "active", "{a}");
    d.ctl_ok(&["account", "resume", "sales-tr"]);

    let log = d.log();
    assert!(log.contains("account logged in"), "{log}");
    assert!(
        !log.contains("22222"),
        "login code in the daemon log:\n{log}"
    );
    assert!(
        !log.contains("5321234567"),
        "phone in the daemon log:\n{log}"
    );
}
microbot_tests::per_backend!(login_logout_and_login_again);

#[test]
fn wrong_code_fails_with_one_clear_line() {
    let d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    let out = d.ctl_stdin(&["account", "login", "sales-tr"], "11111\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("invalid argument: code: the login code is wrong"),
        "{err}"
    );
    assert!(!err.contains("11111"), "{err}");
    let list = d.ctl_json(&["account", "list"]);
    let a = account(&list, "sales-tr");
    assert_eq!(a["state"], "code_sent");
    assert_eq!(a["last_error"], "the login code is wrong");
    // Nothing piped at all: a clear line too.
    let out = d.ctl_stdin(&["account", "login", "sales-tr"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no login code given"),
        "{}",
        stderr(&out)
    );
    let log = d.log();
    assert!(
        log.contains("login failed account=sales-tr uid=") && log.contains("reason=code_invalid"),
        "{log}"
    );
    assert!(
        !log.contains("11111"),
        "login code in the daemon log:\n{log}"
    );
}

#[test]
fn repeated_wrong_codes_lock_the_account_out() {
    let d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    d.ctl_ok(&["account", "add", "other", "--phone", "+905321234568"]);
    let mut last = String::new();
    for _ in 0..6 {
        let out = d.ctl_stdin(&["account", "login", "sales-tr"], "00000\n");
        assert_eq!(out.status.code(), Some(1));
        last = stderr(&out);
    }
    assert!(
        last.contains("too many failed login attempts for sales-tr; try again after"),
        "{last}"
    );
    // Even the right code is refused now; another account is not affected.
    let out = d.ctl_stdin(&["account", "login", "sales-tr"], "22222\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("too many failed login attempts"));
    let out = d.ctl_stdin(&["account", "login", "other"], "22222\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = d.log();
    assert_eq!(
        log.matches("login failed account=sales-tr").count(),
        5,
        "{log}"
    );
    assert!(log.contains("login locked account=sales-tr"), "{log}");
}

fn remove_an_account_without_templates(db: Db) {
    let d = TestDaemon::start(db);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    d.ctl_ok(&["account", "add", "keep", "--phone", "+905321234568"]);
    let out = d.ctl_stdin(&["account", "login", "sales-tr"], "22222\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = d.ctl_ok(&["account", "remove", "sales-tr"]);
    assert!(out.contains("removed: sales-tr"), "{out}");
    let list = d.ctl_json(&["account", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "keep");
    let again = d.ctl(&["account", "remove", "sales-tr"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("not found"), "{}", stderr(&again));
    let audit = d.log();
    assert!(!audit.contains("5321234567"));
}
microbot_tests::per_backend!(remove_an_account_without_templates);

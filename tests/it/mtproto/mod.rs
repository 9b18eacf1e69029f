//! The live Telegram path end to end, offline: the real `microbotd` in
//! `live` mode (grammers, MTProto 2.0 over TCP) against the test MTProto
//! server in `tests/mtproto-server`, driven by the real `microbotctl`.
//! `cargo test mtproto` runs them all, on SQLite and PostgreSQL.

mod doctor;
mod faults;
mod login;
mod media;
mod proxy;
mod send;

use microbot_tests::live::Live;
use serde_json::Value;

/// An `every 2s` template of `name` on account `acct` to `chats`.
fn template(live: &Live, acct: &str, name: &str, chats: &[&str], text: &str, mode: &str) -> i64 {
    let mut args = vec![
        "template",
        "create",
        "--account",
        acct,
        "--name",
        name,
        "--every",
        "2s",
        "--text",
        text,
        "--parse-mode",
        mode,
        "--misfire",
        "skip",
    ];
    for c in chats {
        args.push("--chat");
        args.push(c);
    }
    let t = live.daemon.ctl_json(&args);
    t["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("template id in {t}"))
}

#[allow(dead_code)]
fn disable(live: &Live, id: i64) {
    live.daemon
        .ctl_ok(&["template", "disable", &id.to_string()]);
}

fn account(live: &Live, name: &str) -> Value {
    let list = live.daemon.ctl_json(&["account", "list"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no account {name} in {list}"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

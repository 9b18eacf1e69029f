//! `[telegram] proxy`: every connection of the daemon (login, sends,
//! doctor's probe) goes through the SOCKS5 proxy, with its credentials,
//! and the proxy password appears in no log and no check-config output.

use microbot_tests::daemon::{Db, bin};
use microbot_tests::live::{CODE, Live};
use mtproto_test_server::Socks5Proxy;

use super::faults::doctor_check;
use super::template;

const PROXY_PASSWORD: &str = "s3cr3t-proxy-pw";

fn mtproto_all_traffic_goes_through_the_socks5_proxy_and_its_password_is_never_shown(db: Db) {
    let proxy = Socks5Proxy::start("mb", PROXY_PASSWORD);
    let url = format!("socks5://mb:{PROXY_PASSWORD}@127.0.0.1:{}", proxy.port());
    let live = Live::start_with(db, None, &format!("proxy = {url:?}"));
    live.add_account("ops");
    let out = live.login("ops", &[CODE]);
    assert!(out.status.success(), "{}", live.daemon.log());
    template(&live, "ops", "tick", &["@ops_room"], "via proxy", "plain");
    live.wait_for("a send", 60, || {
        live.deliveries().iter().any(|d| d.state == "sent")
    });
    let (result, detail) = doctor_check(&live, "telegram DC2");
    assert_eq!(result, "OK", "{detail}");
    let shown = format!("via socks5://mb:***@127.0.0.1:{}", proxy.port());
    assert!(detail.contains(&shown), "{detail}");

    let tunnels = proxy.tunnels();
    assert!(!tunnels.is_empty());
    for t in &tunnels {
        assert_eq!(t.target, live.server.address(), "{tunnels:?}");
        assert_eq!(t.user, "mb");
    }
    // Every connection the server accepted came through the proxy.
    assert_eq!(live.server.lock().connections, tunnels.len());
    assert_eq!(proxy.refused(), 0);

    let check = std::process::Command::new(bin("microbotd"))
        .arg("--config")
        .arg(&live.daemon.config_path)
        .arg("check-config")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(
        printed.contains("proxy = \"socks5://mb:***@127.0.0.1:"),
        "{printed}"
    );
    assert!(!printed.contains(PROXY_PASSWORD), "{printed}");
    assert!(
        !live.daemon.log().contains(PROXY_PASSWORD),
        "proxy password in the log"
    );
}
microbot_tests::per_backend!(
    mtproto_all_traffic_goes_through_the_socks5_proxy_and_its_password_is_never_shown
);

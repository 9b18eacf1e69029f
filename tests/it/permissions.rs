//! Who may use the socket: mode 0660, SO_PEERCRED roles, refusals.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use microbot_tests::daemon::{Db, TestDaemon, bin};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs microbotctl as uid 65534 with the given primary group and no others.
fn ctl_as_nobody(d: &TestDaemon, gid: u32, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            &format!("--regid={gid}"),
            "--clear-groups",
            "--",
        ])
        .arg(bin("microbotctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .output()
        .unwrap()
}

fn open_up(d: &TestDaemon) {
    // Let uid 65534 traverse the temp dirs to reach the socket.
    for p in [d.dir.path(), d.socket.parent().unwrap()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn socket_is_0660() {
    let d = TestDaemon::start(Db::Sqlite);
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
}

#[test]
fn outsiders_are_refused_operators_admitted() {
    if !is_root() {
        eprintln!("skipping: needs root to switch users");
        return;
    }
    // The operator group is nogroup (65534); the admin group does not exist.
    let d = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DAEMON_OPERATOR_GROUP", "nogroup")
        .env("MICROBOT_DAEMON_ADMIN_GROUP", "microbot-no-such-group")
        .start();
    open_up(&d);
    // The socket belongs to the operator group...
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), 65534);
    let ok = ctl_as_nobody(&d, 65534, &["status"]);
    assert!(ok.status.success(), "operator refused: {ok:?}");
    // ...so give a non-member a way in through the file mode, and the
    // daemon itself must still refuse it by its credentials.
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = ctl_as_nobody(&d, 1, &["status"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("uid 65534"), "{err}");
}

#[test]
fn operators_see_the_cluster_but_only_admins_release() {
    if !is_root() {
        eprintln!("skipping: needs root to switch users");
        return;
    }
    let d = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DAEMON_OPERATOR_GROUP", "nogroup")
        .env("MICROBOT_DAEMON_ADMIN_GROUP", "microbot-no-such-group")
        .start();
    open_up(&d);
    let status = ctl_as_nobody(&d, 65534, &["cluster", "status"]);
    assert!(status.status.success(), "{status:?}");
    let release = ctl_as_nobody(&d, 65534, &["cluster", "release", "sales"]);
    assert_eq!(release.status.code(), Some(1), "{release:?}");
    let err = String::from_utf8_lossy(&release.stderr);
    assert!(err.contains("cluster release needs admin rights"), "{err}");
}

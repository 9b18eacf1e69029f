//! Remote control over mutual TLS (`[control] tcp_listen`) with
//! certificates made at run time: an admin certificate may do everything,
//! an operator certificate is refused an admin call, and no certificate,
//! one from another CA or an expired one are refused before any service
//! runs. The audit trail names the certificate; doctor warns before the
//! server certificate expires.

use std::process::{Command, Output};

use microbot_tests::certs::{Pair, TestCa};
use microbot_tests::daemon::{Db, TestDaemon, bin};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `microbotctl --endpoint … --ca CA [--cert C --key K] ARGS`.
fn remote(port: u16, ca: &TestCa, client: Option<&Pair>, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin("microbotctl"));
    cmd.env_remove("MICROBOT_SOCKET")
        .arg("--endpoint")
        .arg(format!("https://localhost:{port}"))
        .arg("--ca")
        .arg(ca.cert_path());
    if let Some(p) = client {
        cmd.arg("--cert").arg(&p.cert).arg("--key").arg(&p.key);
    }
    cmd.args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn mutual_tls_admits_by_certificate_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "ca");
    let other_ca = TestCa::new(dir.path(), "other-ca");
    // Valid, but within doctor's 30-day warning.
    let server = ca.issue("microbotd", &["localhost", "127.0.0.1"], 10);
    let admin = ca.issue("ops-lead", &[], 365);
    let operator = ca.issue("ci-bot", &[], 365);
    let stranger = ca.issue("stranger", &[], 365);
    let foreign = other_ca.issue("ops-lead", &[], 365);
    let expired = ca.issue("ops-lead", &[], -1);
    let port = free_port();
    let d = TestDaemon::builder(Db::Sqlite)
        .config(&format!(
            "[control]\ntcp_listen = \"127.0.0.1:{port}\"\ntls_cert = {:?}\ntls_key = {:?}\n\
             client_ca = {:?}\nadmin_names = [\"ops-lead\"]\noperator_names = [\"ci-bot\"]\n",
            server.cert.display().to_string(),
            server.key.display().to_string(),
            ca.cert_path().display().to_string(),
        ))
        .start();

    // Admin: reads and an admin-only call.
    let status = remote(port, &ca, Some(&admin), &["-o", "json", "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let level = remote(port, &ca, Some(&admin), &["log-level", "info"]);
    assert!(level.status.success(), "{}", stderr(&level));

    // Operator: reads yes, the admin call no.
    let status = remote(port, &ca, Some(&operator), &["status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let refused = remote(port, &ca, Some(&operator), &["log-level", "debug"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("permission denied"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("ci-bot"), "{}", stderr(&refused));

    // A valid certificate whose CN has no role.
    let nobody = remote(port, &ca, Some(&stranger), &["status"]);
    assert_eq!(nobody.status.code(), Some(1), "{}", stderr(&nobody));
    assert!(stderr(&nobody).contains("stranger"), "{}", stderr(&nobody));

    // Refused by the handshake: no certificate, another CA, expired.
    // (The same CN with a valid certificate of the right CA is admitted
    // above, so the certificate is what is refused. TLS's alert text, e.g.
    // "UnknownCA", only shows when the client reads it before the server
    // closes; under load it reads "connection closed" or "broken pipe".)
    for (what, client) in [
        ("no certificate", None),
        ("another CA", Some(&foreign)),
        ("expired", Some(&expired)),
    ] {
        let out = remote(port, &ca, client, &["status"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(69), "{what}: {err}");
        assert!(
            err.contains("cannot reach microbotd at https://"),
            "{what}: {err}"
        );
    }

    // The audit trail names the certificate, not a uid.
    let audit = d.ctl_json(&["audit"]);
    let rows = audit.as_array().unwrap();
    let set = rows
        .iter()
        .find(|r| r["method"] == "log.set_level" && r["result"] == "ok")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(set["subject"], "ops-lead", "{audit}");
    assert_eq!(set["uid"], -1, "{audit}");
    assert!(
        rows.iter()
            .all(|r| r["subject"] != "stranger" && r["subject"] != "ci-bot" || r["result"] != "ok"),
        "{audit}"
    );

    // doctor: the server certificate expires within 30 days.
    let doctor = d.ctl(&["-o", "json", "doctor"]);
    let v: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tls certificate")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(check["result"], "WARN", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("expires in"),
        "{check}"
    );
}

#[test]
fn without_tcp_listen_doctor_has_no_certificate_check() {
    let d = TestDaemon::start(Db::Sqlite);
    let doctor = d.ctl(&["-o", "json", "doctor"]);
    let v: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "tls certificate"),
        "{v}"
    );
}

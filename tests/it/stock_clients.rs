//! Stock gRPC clients that know nothing of microbot: reflection in both
//! protocol versions, and the Python example client (stock grpcio from PyPI,
//! installed by `examples/python/setup.sh`, which `scripts/test` runs).

use std::path::PathBuf;
use std::process::Command;

use microbot_tests::daemon::{Db, TestDaemon};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn channel(d: &TestDaemon) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("unix://{}", d.socket.display()))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[test]
fn reflection_v1alpha_lists_the_services() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let d = TestDaemon::start(Db::Sqlite);
    let services: Vec<String> = runtime().block_on(async {
        let mut client = ServerReflectionClient::new(channel(&d).await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        match stream.message().await.unwrap().unwrap().message_response {
            Some(MessageResponse::ListServicesResponse(l)) => {
                l.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("unexpected reflection answer: {other:?}"),
        }
    });
    for want in ["microbot.v1.Templates", "grpc.health.v1.Health"] {
        assert!(services.iter().any(|s| s == want), "{want}: {services:?}");
    }
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/python")
}

/// The example venv's interpreter, or `None` (skip; a failure under CI)
/// when `examples/python/setup.sh` has not run.
fn python() -> Option<PathBuf> {
    let dir = examples_dir();
    let py = dir.join(".venv/bin/python");
    if py.exists() && dir.join("gen/microbot/v1/templates_pb2_grpc.py").exists() {
        return Some(py);
    }
    assert!(
        !microbot_tests::in_ci(),
        "examples/python/setup.sh has not run"
    );
    eprintln!("skipping: run examples/python/setup.sh for the Python client tests");
    None
}

fn run_example(py: &PathBuf, script: &str, d: &TestDaemon) -> String {
    let out = Command::new(py)
        .arg(examples_dir().join(script))
        .arg("--socket")
        .arg(&d.socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn python_example_lists_templates_with_stock_grpcio() {
    let Some(py) = python() else { return };
    let d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "daily",
        "--chat",
        "@ops_channel",
        "--cron",
        "0 9 * * *",
        "--text",
        "hello",
    ]);
    let rows: serde_json::Value =
        serde_json::from_str(&run_example(&py, "list_templates.py", &d)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["name"], "daily");
    assert_eq!(rows[0]["account"], "sales-tr");
    assert_eq!(rows[0]["chats"], serde_json::json!(["@ops_channel"]));
}

#[test]
fn python_reflection_client_lists_services() {
    let Some(py) = python() else { return };
    let d = TestDaemon::start(Db::Sqlite);
    let out = run_example(&py, "list_services.py", &d);
    let services: Vec<&str> = out.lines().collect();
    for want in [
        "microbot.v1.Templates",
        "microbot.v1.System",
        "grpc.health.v1.Health",
    ] {
        assert!(services.contains(&want), "{want}: {services:?}");
    }
}

//! Health, status, reflection and the life cycle, on both backends.

use microbot_tests::daemon::{Db, TestDaemon};

fn health_and_status_on_every_backend(db: Db) {
    let d = TestDaemon::start(db);
    let out = d.ctl(&["health"]);
    assert!(out.status.success(), "{db:?}: {out:?}");
    let health = d.ctl_json(&["health"]);
    assert_eq!(health["healthy"], true, "{db:?}: {health}");
    let status = d.ctl_json(&["status"]);
    let backend = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    assert_eq!(status["backend"], backend);
    assert_eq!(status["schema_version"], 10);
    assert_eq!(status["accounts"], 0);
    assert_eq!(status["telegram_mode"], "dry-run");
    assert!(status["version"].as_str().is_some_and(|v| !v.is_empty()));
}
microbot_tests::per_backend!(health_and_status_on_every_backend);

#[test]
fn unreachable_daemon_exits_69() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(microbot_tests::daemon::bin("microbotctl"))
        .arg("--socket")
        .arg(dir.path().join("none.sock"))
        .arg("health")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach microbotd"), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("microbotctl:"))
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = std::process::Command::new(microbot_tests::daemon::bin("microbotctl"))
        .arg("no-such-command")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigterm_removes_the_socket_and_exits_0() {
    let mut d = TestDaemon::start(Db::Sqlite);
    assert!(d.socket.exists());
    let status = d.terminate();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(!d.socket.exists(), "socket left behind");
}

#[test]
fn stale_socket_is_replaced_live_one_refused() {
    let mut d = TestDaemon::start(Db::Sqlite);
    // A second daemon on the same socket must refuse and leave the first alone.
    let out = std::process::Command::new(microbot_tests::daemon::bin("microbotd"))
        .arg("--config")
        .arg(&d.config_path)
        .env("MICROBOT_DAEMON_STATE_DIR", d.dir.path().join("state2"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another microbotd is serving"), "{err}");
    d.ctl_ok(&["health"]);
    // kill -9 leaves the socket file; the next start replaces it.
    d.kill9();
    assert!(d.socket.exists());
    d.spawn().unwrap();
    d.ctl_ok(&["health"]);
}

#[test]
fn stock_grpc_reflection_and_health() {
    // A stock client: raw HTTP/2 gRPC through the typed descriptor-free path
    // is what grpcurl does; here the standard health service answers SERVING.
    let d = TestDaemon::start(Db::Sqlite);
    let out = std::process::Command::new(microbot_tests::daemon::bin("microbotctl"))
        .args(["--socket"])
        .arg(&d.socket)
        .args(["-o", "json", "status"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rt = tokio_runtime();
    rt.block_on(async {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("unix://{}", d.socket.display()))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let resp = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            resp.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
        let services = reflection_services(channel).await;
        assert!(
            services.iter().any(|s| s == "microbot.v1.System"),
            "{services:?}"
        );
        assert!(
            services.iter().any(|s| s == "grpc.health.v1.Health"),
            "{services:?}"
        );
    });
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn reflection_services(channel: tonic::transport::Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = stream.message().await.unwrap().unwrap();
    match msg.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer: {other:?}"),
    }
}

#[test]
fn a_client_of_another_protocol_is_told_plainly() {
    use microbot_proto::client::ClientError;
    use microbot_proto::v1::StatusRequest;
    use microbot_proto::v1::system_client::SystemClient;
    let d = TestDaemon::start(Db::Sqlite);
    tokio_runtime().block_on(async {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("unix://{}", d.socket.display()))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let future_cli = |mut req: tonic::Request<()>| {
            req.metadata_mut().insert(
                microbot_proto::PROTOCOL_HEADER,
                tonic::metadata::MetadataValue::from(999u32),
            );
            Ok(req)
        };
        let mut client = SystemClient::with_interceptor(channel, future_cli);
        let status = client.status(StatusRequest {}).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        match ClientError::from_status(status, &d.socket) {
            ClientError::ProtocolMismatch(msg) => {
                assert!(msg.contains("protocol mismatch"), "{msg}");
                assert!(msg.contains("999"), "{msg}");
            }
            other => panic!("not recognised as a protocol mismatch: {other:?}"),
        }
    });
}

//! The server against grammers' own MTProto sender (no daemon): the
//! transport, encryption and wrappers work, errors arrive as grammers
//! parses them, and an unknown auth key is refused the way Telegram does.

use grammers_mtproto::transport::{self, Full};
use grammers_mtsender::{InvocationError, ServerAddr, connect_with_auth};
use grammers_tl_types as tl;
use mtproto_test_server::{Action, Fault, MtprotoServer};

fn addr(s: &MtprotoServer) -> ServerAddr {
    ServerAddr::Tcp {
        address: s.address().parse().unwrap(),
    }
}

fn init<Q>(query: Q) -> tl::functions::InvokeWithLayer<tl::functions::InitConnection<Q>> {
    tl::functions::InvokeWithLayer {
        layer: tl::LAYER,
        query: tl::functions::InitConnection {
            api_id: 1,
            device_model: "test".into(),
            system_version: "1".into(),
            app_version: "1".into(),
            system_lang_code: "en".into(),
            lang_pack: String::new(),
            lang_code: "en".into(),
            proxy: None,
            params: None,
            query,
        },
    }
}

#[tokio::test]
async fn config_ping_errors_and_a_held_answer() {
    let server = MtprotoServer::start("12345", None);
    let mut sender = connect_with_auth(Full::new(), addr(&server), server.auth_key())
        .await
        .unwrap();
    // help.getConfig comes back gzip-packed (it is over 512 bytes).
    let tl::enums::Config::Config(c) = sender
        .invoke(&init(tl::functions::help::GetConfig {}))
        .await
        .unwrap();
    let tl::enums::DcOption::Option(dc) = &c.dc_options[0];
    assert_eq!((c.this_dc, dc.port), (2, i32::from(server.port())));

    let tl::enums::Pong::Pong(p) = sender
        .invoke(&tl::functions::Ping { ping_id: 77 })
        .await
        .unwrap();
    assert_eq!(p.ping_id, 77);

    match sender.invoke(&tl::functions::updates::GetState {}).await {
        Err(InvocationError::Rpc(e)) => {
            assert_eq!((e.code, e.name.as_str()), (401, "AUTH_KEY_UNREGISTERED"))
        }
        other => panic!("{other:?}"),
    }
    server.lock().authorized = true;
    server.inject(Fault::rpc("updates.getState", 420, "FLOOD_WAIT_7"));
    match sender.invoke(&tl::functions::updates::GetState {}).await {
        Err(InvocationError::Rpc(e)) => {
            assert_eq!((e.name.as_str(), e.value), ("FLOOD_WAIT", Some(7)))
        }
        other => panic!("{other:?}"),
    }
    server.inject(Fault::new(
        "updates.getState",
        Action::Delay(std::time::Duration::from_millis(300)),
    ));
    assert!(
        sender
            .invoke(&tl::functions::updates::GetState {})
            .await
            .is_ok()
    );
    assert_eq!(server.lock().protocol_errors, Vec::<String>::new());
    let calls = server.calls();
    assert_eq!(
        &calls[..3],
        ["invokeWithLayer", "initConnection", "help.getConfig"]
    );
}

#[tokio::test]
async fn an_unknown_auth_key_gets_transport_error_404() {
    let server = MtprotoServer::start("12345", None);
    let mut key = server.auth_key();
    key[0] ^= 0xff;
    let mut sender = connect_with_auth(Full::new(), addr(&server), key)
        .await
        .unwrap();
    match sender.invoke(&tl::functions::Ping { ping_id: 1 }).await {
        Err(InvocationError::Transport(transport::Error::BadStatus { status: 404 })) => {}
        other => panic!("{other:?}"),
    }
}

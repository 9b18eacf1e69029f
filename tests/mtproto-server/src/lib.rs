//! A test-only MTProto server: enough of Telegram, on loopback, for the
//! real `microbotd` in live mode to log in, list chats, send and fail the
//! way Telegram does — with the same transport ("full" TCP framing),
//! MTProto 2.0 encryption, and grammers' own TL types at its layer.
//!
//! There is no key exchange: grammers only trusts Telegram's RSA keys, so a
//! test hands the client an auth key this server knows ([`MtprotoServer::dc_option`]),
//! the way a logged-in client's session would hold one. Never shipped:
//! `publish = false`, not part of any package.

mod conn;
mod crypto;
mod media;
mod objects;
mod rpc;
mod socks5;
mod srp;
mod world;

use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

pub use socks5::{Socks5Proxy, Tunnel};
pub use world::{
    Action, Attempt, ChatKind, ChatSpec, Fault, MessageCall, SentMedia, SentMessage, SentPeer,
    StoredMedia, World,
};

use crate::crypto::ServerKey;

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

/// The server: its state outlives [`MtprotoServer::stop`], so a test can
/// stop it (connections refused) and [`MtprotoServer::resume`] it on the
/// same port.
pub struct MtprotoServer {
    world: Arc<Mutex<World>>,
    key: ServerKey,
    port: u16,
    running: Option<Running>,
}

impl MtprotoServer {
    /// Starts on a free loopback port. `code` is the login code it accepts;
    /// `password`, when given, turns on two-step verification.
    pub fn start(code: &str, password: Option<&str>) -> Self {
        let key = ServerKey::new(std::array::from_fn(|_| rand::random::<u8>()));
        let mut s = MtprotoServer {
            world: Arc::new(Mutex::new(World::new(code, password))),
            key,
            port: 0,
            running: None,
        };
        s.resume();
        s
    }

    /// (Re)starts listening, on the same port as before if there was one.
    pub fn resume(&mut self) {
        assert!(self.running.is_none(), "server already running");
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))
            .expect("bind the test MTProto server");
        listener.set_nonblocking(true).expect("nonblocking");
        self.port = listener.local_addr().expect("local addr").port();
        self.lock().port = self.port;
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let (world, key) = (Arc::clone(&self.world), self.key.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                            world.lock().unwrap_or_else(|p| p.into_inner()).connections += 1;
                            tokio::spawn(conn::serve(stream, key.clone(), Arc::clone(&world)));
                        },
                    }
                }
            });
            // Dropping the runtime closes every connection it served.
        });
        self.running = Some(Running { stop, thread });
    }

    /// Stops listening and closes every connection; the state is kept.
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.stop.send(());
            let _ = r.thread.join();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The auth key this server accepts (a logged-in client's session holds it).
    pub fn auth_key(&self) -> [u8; 256] {
        self.key.bytes()
    }

    /// Data centre 2 as a grammers session stores it: this server's address
    /// and the auth key it knows.
    pub fn dc_option(&self) -> grammers_session::types::DcOption {
        let v4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        grammers_session::types::DcOption {
            id: 2,
            ipv4: v4,
            ipv6: SocketAddrV6::new(v4.ip().to_ipv6_mapped(), self.port, 0, 0),
            auth_key: Some(self.auth_key()),
        }
    }

    /// Queues a fault; see [`Fault`].
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// The server's state, to read what it received (or to change it).
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub fn count_calls(&self, name: &str) -> usize {
        self.lock().calls.iter().filter(|c| *c == name).count()
    }

    /// Messages kept, one per `random_id`.
    pub fn kept(&self) -> Vec<SentMessage> {
        self.lock().kept.clone()
    }

    /// Makes every stored file's reference stale (see
    /// [`World::expire_file_references`]).
    pub fn expire_file_references(&self) {
        self.lock().expire_file_references();
    }

    /// Pins and deletes received, in order.
    pub fn message_calls(&self) -> Vec<MessageCall> {
        self.lock().message_calls.clone()
    }

    /// Every `messages.sendMessage` received, repeats and faulted ones included.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    /// How many `messages.sendMessage` calls carried this `random_id`.
    pub fn attempts_of(&self, random_id: i64) -> usize {
        self.lock()
            .attempts
            .iter()
            .filter(|a| a.random_id == random_id)
            .count()
    }

    /// A chat by username (see [`World::new`] for the fixed set).
    pub fn chat(&self, username: &str) -> ChatSpec {
        self.lock()
            .chats
            .iter()
            .find(|c| c.username.as_deref() == Some(username))
            .cloned()
            .unwrap_or_else(|| panic!("no chat @{username} on the test server"))
    }
}

impl Drop for MtprotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

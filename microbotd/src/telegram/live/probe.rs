//! Is a data centre reachable? Opens the transport grammers uses, with the
//! session's own auth key, and sends one MTProto `ping`: the round trip
//! proves the address answers and still knows the key, without touching
//! the account (a ping needs no login and changes nothing).

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use grammers_mtproto::transport;
use grammers_mtsender::{InvocationError, connect_with_auth};
use grammers_session::types::DcOption;
use grammers_tl_types as tl;

use crate::telegram::Secret;

/// How long connect + ping may take before the DC counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A data centre to probe. Debug by hand: it holds the auth key.
#[derive(Clone)]
pub struct DcTarget {
    pub dc_id: i32,
    pub address: SocketAddr,
    auth_key: [u8; 256],
}

impl fmt::Debug for DcTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DcTarget")
            .field("dc_id", &self.dc_id)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl DcTarget {
    /// The IPv4 address of a stored DC option that has an auth key.
    pub fn from_option(o: &DcOption) -> Option<Self> {
        Some(DcTarget {
            dc_id: o.id,
            address: SocketAddr::V4(o.ipv4),
            auth_key: o.auth_key?,
        })
    }
}

/// Connect (through the proxy, if any) + ping: the ping's round-trip time,
/// or why it failed (one line, no secrets).
pub async fn ping(target: &DcTarget, proxy: Option<&Secret>) -> Result<Duration, String> {
    match tokio::time::timeout(PROBE_TIMEOUT, ping_inner(target, proxy)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

async fn ping_inner(target: &DcTarget, proxy: Option<&Secret>) -> Result<Duration, String> {
    let addr = super::proxy::server_addr(target.address, proxy);
    let mut sender = connect_with_auth(transport::Full::new(), addr, target.auth_key)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let started = Instant::now();
    let ping_id = rand::random::<i64>();
    match sender.invoke(&tl::functions::Ping { ping_id }).await {
        Ok(tl::enums::Pong::Pong(p)) if p.ping_id == ping_id => Ok(started.elapsed()),
        Ok(_) => Err("answered a ping with the wrong id".to_owned()),
        Err(InvocationError::Transport(transport::Error::BadStatus { status: 404 })) => {
            Err("the data centre does not know this session's auth key (log in again)".to_owned())
        }
        Err(e) => Err(format!("ping failed: {e}")),
    }
}

//! The interceptor in front of every service: checks the protocol version
//! and admits the caller (SO_PEERCRED → [`Caller`], or on the remote
//! listener its client certificate's CN → [`Caller`]) or refuses it.

use std::sync::Arc;

use microbot_proto::{DAEMON_PROTOCOL_HEADER, PROTOCOL_HEADER, PROTOCOL_VERSION};
use tonic::metadata::MetadataValue;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Status};

use super::caller::{AccessPolicy, Caller, groups_of};
use super::remote::RemoteRoles;

/// Clone-able interceptor closure state.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<AccessPolicy>,
    remote: Arc<RemoteRoles>,
}

impl Guard {
    pub fn new(policy: AccessPolicy) -> Self {
        Self::with_remote(policy, RemoteRoles::default())
    }

    /// A guard that also admits mutual-TLS callers by certificate CN.
    pub fn with_remote(policy: AccessPolicy, remote: RemoteRoles) -> Self {
        Guard {
            policy: Arc::new(policy),
            remote: Arc::new(remote),
        }
    }

    /// Admits or refuses one request.
    pub fn check(&self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = req.metadata().get(PROTOCOL_HEADER) {
            let theirs = v.to_str().ok().and_then(|s| s.parse::<u32>().ok());
            if theirs != Some(PROTOCOL_VERSION) {
                let mut status = Status::failed_precondition(format!(
                    "protocol mismatch: microbotctl speaks protocol {}, microbotd {} speaks {}; \
                     use the microbotctl that came with this daemon",
                    v.to_str().unwrap_or("?"),
                    env!("CARGO_PKG_VERSION"),
                    PROTOCOL_VERSION
                ));
                status.metadata_mut().insert(
                    DAEMON_PROTOCOL_HEADER,
                    MetadataValue::from(PROTOCOL_VERSION),
                );
                return Err(status);
            }
        }
        // Only the TLS listener's connections carry peer certificates (the
        // handshake already checked the chain and validity).
        if let Some(certs) = req.peer_certs() {
            let caller = self.remote.caller(&certs)?;
            req.extensions_mut().insert(caller);
            return Ok(req);
        }
        let cred = req
            .extensions()
            .get::<UdsConnectInfo>()
            .and_then(|info| info.peer_cred)
            .ok_or_else(|| Status::permission_denied("caller credentials unavailable"))?;
        let uid = cred.uid();
        let pid = cred.pid();
        let gids = groups_of(pid, uid, cred.gid());
        let role = self.policy.role(uid, &gids).ok_or_else(|| {
            tracing::warn!(
                uid,
                pid,
                "refused control call from a caller outside the microbot groups"
            );
            Status::permission_denied(format!(
                "uid {uid} may not use microbotd: join the operator or admin group"
            ))
        })?;
        req.extensions_mut().insert(Caller {
            uid,
            pid,
            role,
            subject: None,
        });
        Ok(req)
    }
}

//! The interceptor in front of every service: checks the protocol version
//! and admits the caller — on the Unix socket its [`Peer`] (read at accept
//! time) → [`Caller`], on the remote listener its client certificate's CN
//! → [`Caller`] — or refuses it; a refusal is audited (uid or CN, pid, gRPC
//! path, reason) and logged at WARN.

use std::sync::Arc;

use microbot_proto::{DAEMON_PROTOCOL_HEADER, PROTOCOL_HEADER, PROTOCOL_VERSION};
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use super::audit::record_refusal;
use super::caller::{AccessPolicy, Caller};
use super::peer::Peer;
use super::remote::RemoteRoles;
use super::slow::CallPath;
use crate::context::Context;

/// Clone-able interceptor closure state.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<AccessPolicy>,
    remote: Arc<RemoteRoles>,
    ctx: Context,
}

impl Guard {
    pub fn new(policy: AccessPolicy, ctx: Context) -> Self {
        Self::with_remote(policy, RemoteRoles::default(), ctx)
    }

    /// A guard that also admits mutual-TLS callers by certificate CN.
    pub fn with_remote(policy: AccessPolicy, remote: RemoteRoles, ctx: Context) -> Self {
        Guard {
            policy: Arc::new(policy),
            remote: Arc::new(remote),
            ctx,
        }
    }

    /// Audits a refusal without holding up the reply: the interceptor is
    /// synchronous, so the row is written by a task of its own.
    fn record(&self, req: &Request<()>, who: (u32, Option<i32>, Option<String>), reason: String) {
        let method = req
            .extensions()
            .get::<CallPath>()
            .map(|p| p.0.clone())
            .unwrap_or_else(|| "unknown".into());
        let store = self.ctx.store.clone();
        let at = self.ctx.now();
        tokio::spawn(async move {
            let (uid, pid, subject) = who;
            record_refusal(&store, at, (uid, pid, subject.as_deref()), &method, &reason).await;
        });
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
            return match self.remote.caller(&certs) {
                Ok(caller) => {
                    req.extensions_mut().insert(caller);
                    Ok(req)
                }
                Err(status) => {
                    let cn = certs
                        .first()
                        .and_then(|der| super::remote::common_name(der.as_ref()));
                    self.record(&req, (u32::MAX, None, cn), status.message().to_owned());
                    Err(status)
                }
            };
        }
        // Read from the socket when the connection was accepted (peer.rs).
        let peer = req.extensions().get::<Peer>().cloned().ok_or_else(|| {
            // No uid to audit: the log line is all there is.
            tracing::warn!("refused control call: caller credentials unavailable");
            Status::permission_denied("caller credentials unavailable")
        })?;
        let (uid, pid) = (peer.uid, peer.pid);
        let Some(role) = self.policy.role(uid, &peer.gids()) else {
            let reason =
                format!("uid {uid} may not use microbotd: join the operator or admin group");
            self.record(&req, (uid, pid, None), reason.clone());
            return Err(Status::permission_denied(reason));
        };
        req.extensions_mut().insert(Caller {
            uid,
            pid,
            role,
            subject: None,
        });
        Ok(req)
    }
}

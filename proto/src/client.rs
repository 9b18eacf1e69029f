//! [`Client`]: a connection to `microbotd`'s control socket that sends the
//! protocol version with every call and turns failures into [`ClientError`].

use std::path::{Path, PathBuf};

use tonic::codegen::InterceptedService;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};

use crate::v1::accounts_client::AccountsClient;
use crate::v1::backup_client::BackupClient;
use crate::v1::cluster_client::ClusterClient;
use crate::v1::deliveries_client::DeliveriesClient;
use crate::v1::maintenance_client::MaintenanceClient;
use crate::v1::scheduler_client::SchedulerClient;
use crate::v1::schedules_client::SchedulesClient;
use crate::v1::stats_client::StatsClient;
use crate::v1::system_client::SystemClient;
use crate::v1::templates_client::TemplatesClient;
use crate::{DAEMON_PROTOCOL_HEADER, DAEMON_STATUS_HEADER, PROTOCOL_HEADER, PROTOCOL_VERSION};

/// Adds the protocol header to each outgoing request.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProtocolInterceptor;

impl Interceptor for ProtocolInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        req.metadata_mut()
            .insert(PROTOCOL_HEADER, MetadataValue::from(PROTOCOL_VERSION));
        Ok(req)
    }
}

/// The channel type every generated client is built on.
pub type Transport = InterceptedService<Channel, ProtocolInterceptor>;

/// Why a call to the daemon failed, in the terms an operator acts on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers on the socket (or endpoint), or TLS refused.
    #[error("cannot reach microbotd at {}: {reason}", socket.display())]
    Unreachable { socket: PathBuf, reason: String },
    /// The daemon speaks another protocol version.
    #[error("{0}")]
    ProtocolMismatch(String),
    /// The daemon answered with an error.
    #[error("{}", .0.message())]
    Status(#[source] Status),
}

impl ClientError {
    /// Classifies a status from any call, so transport failures that only
    /// show up at the first request still read as "unreachable".
    pub fn from_status(status: Status, socket: &Path) -> Self {
        if status.metadata().get(DAEMON_PROTOCOL_HEADER).is_some() {
            return ClientError::ProtocolMismatch(status.message().to_string());
        }
        if status.metadata().get(DAEMON_STATUS_HEADER).is_some() {
            return ClientError::Status(status);
        }
        // A status made from a transport error carries it as its source; one
        // the daemon sent does not. Over TLS 1.3 a refused client
        // certificate surfaces that way at the first call ("operation was
        // canceled").
        let from_transport = std::error::Error::source(&status).is_some()
            && matches!(status.code(), Code::Cancelled | Code::Unknown);
        if from_transport || (status.code() == Code::Unavailable && is_transport_failure(&status)) {
            return ClientError::Unreachable {
                socket: socket.to_path_buf(),
                reason: transport_reason(&status),
            };
        }
        ClientError::Status(status)
    }
}

fn is_transport_failure(status: &Status) -> bool {
    let m = status.message();
    m.contains("transport") || m.contains("connect") || m.contains("connection")
}

fn transport_reason(status: &Status) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    let mut last = status.message().to_string();
    while let Some(err) = source {
        last = err.to_string();
        source = err.source();
    }
    last
}

/// A connected control client.
#[derive(Clone)]
pub struct Client {
    channel: Transport,
    socket: PathBuf,
}

impl Client {
    /// Connects to the daemon's control socket.
    pub async fn connect(socket: &Path) -> Result<Self, ClientError> {
        let unreachable = |reason: String| ClientError::Unreachable {
            socket: socket.to_path_buf(),
            reason,
        };
        if !socket.exists() {
            return Err(unreachable("no such socket".into()));
        }
        let uri = format!("unix://{}", socket.display());
        let endpoint = Endpoint::from_shared(uri).map_err(|e| unreachable(e.to_string()))?;
        let channel = endpoint.connect().await.map_err(|e| {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(err) = source {
                reason = err.to_string();
                source = err.source();
            }
            unreachable(reason)
        })?;
        Ok(Client {
            channel: InterceptedService::new(channel, ProtocolInterceptor),
            socket: socket.to_path_buf(),
        })
    }

    /// Connects to a remote daemon over mutual TLS (`https://HOST:PORT`,
    /// `[control] tcp_listen`): `ca` is the PEM the server certificate must
    /// chain to, `identity` the client certificate and key (PEM). The
    /// handshake's verdict on a refused certificate shows up as
    /// [`ClientError::Unreachable`] with TLS's reason.
    pub async fn connect_tls(
        endpoint: &str,
        ca: &[u8],
        identity: Option<(&[u8], &[u8])>,
    ) -> Result<Self, ClientError> {
        let unreachable = |reason: String| ClientError::Unreachable {
            socket: PathBuf::from(endpoint),
            reason,
        };
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        let channel = Endpoint::from_shared(endpoint.to_string())
            .and_then(|e| e.tls_config(tls))
            .map_err(|e| unreachable(e.to_string()))?
            .connect()
            .await
            .map_err(|e| {
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(err) = source {
                    reason = err.to_string();
                    source = err.source();
                }
                unreachable(reason)
            })?;
        Ok(Client {
            channel: InterceptedService::new(channel, ProtocolInterceptor),
            socket: PathBuf::from(endpoint),
        })
    }

    /// The socket (or remote endpoint) this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The raw channel, for generated clients of services this type has no
    /// helper for.
    pub fn transport(&self) -> Transport {
        self.channel.clone()
    }

    /// Maps a failed call's status.
    pub fn error(&self, status: Status) -> ClientError {
        ClientError::from_status(status, &self.socket)
    }

    /// The `Accounts` service.
    pub fn accounts(&self) -> AccountsClient<Transport> {
        AccountsClient::new(self.transport())
    }

    /// The `Scheduler` service.
    pub fn scheduler(&self) -> SchedulerClient<Transport> {
        SchedulerClient::new(self.transport())
    }

    /// The `Deliveries` service.
    pub fn deliveries(&self) -> DeliveriesClient<Transport> {
        DeliveriesClient::new(self.transport())
    }

    /// The `System` service.
    pub fn system(&self) -> SystemClient<Transport> {
        SystemClient::new(self.transport())
    }

    /// The `Templates` service. Requests carry whole attachments (an album
    /// is up to ten files of the daemon's `templates.max_media_bytes`,
    /// which it checks) and `template apply` the files beside its template
    /// file; `template export -f` receives every attachment: nothing is
    /// capped either way (the daemon bounds what it accepts).
    pub fn templates(&self) -> TemplatesClient<Transport> {
        TemplatesClient::new(self.transport())
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(usize::MAX)
    }

    /// The `Schedules` service.
    pub fn schedules(&self) -> SchedulesClient<Transport> {
        SchedulesClient::new(self.transport())
    }

    /// The `Maintenance` service.
    pub fn maintenance(&self) -> MaintenanceClient<Transport> {
        MaintenanceClient::new(self.transport())
    }

    /// The `Cluster` service.
    pub fn cluster(&self) -> ClusterClient<Transport> {
        ClusterClient::new(self.transport())
    }

    /// The `Backup` service.
    pub fn backup(&self) -> BackupClient<Transport> {
        BackupClient::new(self.transport())
    }

    /// The `Stats` service.
    pub fn stats(&self) -> StatsClient<Transport> {
        StatsClient::new(self.transport())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(from_daemon: bool) -> ClientError {
        let mut s = Status::unavailable("Telegram cannot be reached: connection refused");
        if from_daemon {
            s.metadata_mut()
                .insert(DAEMON_STATUS_HEADER, "1".parse().unwrap());
        }
        ClientError::from_status(s, Path::new("/run/microbot/microbot.sock"))
    }

    /// The daemon's own "unavailable" is its answer, not a sign that the
    /// daemon cannot be reached (which would exit 69, "not running").
    #[test]
    fn the_daemons_own_unavailable_is_its_answer() {
        assert!(
            matches!(unavailable(true), ClientError::Status(s) if s.code() == Code::Unavailable)
        );
        assert!(matches!(
            unavailable(false),
            ClientError::Unreachable { .. }
        ));
    }
}

//! Remote control (`[control] tcp_listen`): the same services over TCP with
//! mutual TLS. The TLS handshake refuses a client without a certificate,
//! with one from another CA, or an expired one — before any service runs;
//! [`RemoteRoles`] then maps the certificate's subject common name (CN) to
//! a role (`control.admin_names`, `control.operator_names`).

use std::collections::HashSet;
use std::sync::Arc;

use tonic::Status;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::caller::{Caller, Role};
use crate::config::ControlConfig;

/// Which certificate CNs get which role.
#[derive(Debug, Default, Clone)]
pub struct RemoteRoles {
    admins: HashSet<String>,
    operators: HashSet<String>,
}

/// The listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("control.{key}: {path}: {source}")]
    Read {
        key: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("control.tcp_listen {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("control.tls_cert / tls_key / client_ca: {0}")]
    Tls(#[from] tonic::transport::Error),
}

impl RemoteRoles {
    pub fn new(config: &ControlConfig) -> Self {
        RemoteRoles {
            admins: config.admin_names.iter().cloned().collect(),
            operators: config.operator_names.iter().cloned().collect(),
        }
    }

    /// The caller behind a verified client certificate chain, or
    /// PERMISSION_DENIED when its CN has no role.
    pub fn caller(&self, certs: &[impl AsRef<[u8]>]) -> Result<Caller, Status> {
        let cn = certs
            .first()
            .and_then(|der| common_name(der.as_ref()))
            .ok_or_else(|| Status::permission_denied("client certificate has no subject CN"))?;
        let role = if self.admins.contains(&cn) {
            Role::Admin
        } else if self.operators.contains(&cn) {
            Role::Operator
        } else {
            tracing::warn!(subject = %cn, "refused remote control call: CN has no role");
            return Err(Status::permission_denied(format!(
                "certificate CN {cn:?} is in neither control.admin_names nor control.operator_names"
            )));
        };
        Ok(Caller {
            uid: u32::MAX,
            pid: None,
            role,
            subject: Some(Arc::from(cn)),
        })
    }
}

/// The subject common name of a DER certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

/// When a PEM certificate stops being valid (Unix seconds), for `doctor`.
pub fn not_after(pem: &[u8]) -> Option<i64> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    Some(cert.validity().not_after.timestamp())
}

fn read(key: &'static str, path: &Option<std::path::PathBuf>) -> Result<Vec<u8>, RemoteError> {
    let path = path.as_ref().expect("checked when the config was loaded");
    std::fs::read(path).map_err(|source| RemoteError::Read {
        key,
        path: path.display().to_string(),
        source,
    })
}

/// The server's TLS settings: its identity, and client certificates
/// required and verified against `client_ca`.
pub fn tls_config(config: &ControlConfig) -> Result<ServerTlsConfig, RemoteError> {
    let cert = read("tls_cert", &config.tls_cert)?;
    let key = read("tls_key", &config.tls_key)?;
    let ca = read("client_ca", &config.client_ca)?;
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(cert, key))
        .client_ca_root(Certificate::from_pem(ca))
        .client_auth_optional(false))
}

/// Binds `tcp_listen` now, so a taken port stops start-up with one line.
pub async fn bind(config: &ControlConfig) -> Result<Option<tokio::net::TcpListener>, RemoteError> {
    let Some(addr) = config.tcp_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RemoteError::Bind { addr, source })?;
    tracing::info!(listen = %addr, "remote control over mutual TLS");
    Ok(Some(listener))
}

//! The control socket: taken from systemd socket activation (`LISTEN_FDS`)
//! or bound here — replacing a stale socket left by a crash, refusing when
//! another daemon is alive — then made mode 0660, group `operator_group`.
//!
//! # Lifecycle
//! [`ControlSocket::acquire`] before anything is spawned; the returned guard
//! removes a socket file it created when dropped (never one systemd owns).

use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why the socket could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("another microbotd is serving {}", .0.display())]
    InUse(PathBuf),
    #[error("{} exists and is not a socket; remove it or set daemon.socket", .0.display())]
    NotASocket(PathBuf),
    #[error("cannot create socket directory {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot bind {}: {source}", path.display())]
    Bind {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A listening control socket.
pub struct ControlSocket {
    pub listener: tokio::net::UnixListener,
    pub path: PathBuf,
    /// True when systemd passed the socket in: then it is systemd's to keep.
    pub activated: bool,
}

/// Removes the socket file on drop when this process created it.
pub struct SocketCleanup {
    path: Option<PathBuf>,
}

impl Drop for SocketCleanup {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The listening fd systemd passed (`LISTEN_PID` = us, `LISTEN_FDS` ≥ 1).
/// Must be called before any thread is started: it clears those variables
/// so children do not inherit them.
#[allow(unsafe_code)]
pub fn take_activated_fd() -> Option<std::os::unix::net::UnixListener> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let fds = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok());
    // SAFETY: called from main before the runtime or any other thread exists.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if !pid_ok || fds.unwrap_or(0) < 1 {
        return None;
    }
    // SAFETY: systemd guarantees fd 3 is the first passed socket and that we own it.
    Some(unsafe { std::os::unix::net::UnixListener::from_raw_fd(3) })
}

impl ControlSocket {
    /// Uses the activated socket if there is one, else binds `path`.
    pub fn acquire(
        path: &Path,
        activated: Option<std::os::unix::net::UnixListener>,
        group: Option<u32>,
    ) -> Result<(ControlSocket, SocketCleanup), SocketError> {
        if let Some(std_listener) = activated {
            let bind = |source| SocketError::Bind {
                path: path.to_path_buf(),
                source,
            };
            std_listener.set_nonblocking(true).map_err(bind)?;
            let listener = tokio::net::UnixListener::from_std(std_listener).map_err(bind)?;
            let path = listener
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(Path::to_path_buf))
                .unwrap_or_else(|| path.to_path_buf());
            return Ok((
                ControlSocket {
                    listener,
                    path,
                    activated: true,
                },
                SocketCleanup { path: None },
            ));
        }
        prepare_dir(path, group)?;
        clear_stale(path)?;
        let std_listener =
            std::os::unix::net::UnixListener::bind(path).map_err(|source| SocketError::Bind {
                path: path.to_path_buf(),
                source,
            })?;
        let cleanup = SocketCleanup {
            path: Some(path.to_path_buf()),
        };
        let bind_err = |source| SocketError::Bind {
            path: path.to_path_buf(),
            source,
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(bind_err)?;
        if let Some(gid) = group
            && let Err(e) = nix::unistd::chown(path, None, Some(nix::unistd::Gid::from_raw(gid)))
        {
            tracing::warn!(socket = %path.display(), gid, error = %e,
                "cannot give the socket to the operator group; only admins can reach it");
        }
        std_listener.set_nonblocking(true).map_err(bind_err)?;
        let listener = tokio::net::UnixListener::from_std(std_listener).map_err(bind_err)?;
        Ok((
            ControlSocket {
                listener,
                path: path.to_path_buf(),
                activated: false,
            },
            cleanup,
        ))
    }
}

/// Creates the socket's directory (0750, group `group`) when missing.
fn prepare_dir(path: &Path, group: Option<u32>) -> Result<(), SocketError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    let dir_err = |source| SocketError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(dir_err)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750)).map_err(dir_err)?;
    if let Some(gid) = group {
        let _ = nix::unistd::chown(dir, None, Some(nix::unistd::Gid::from_raw(gid)));
    }
    Ok(())
}

/// Removes a socket file nobody listens on; refuses a live one.
fn clear_stale(path: &Path) -> Result<(), SocketError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(SocketError::Bind {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !meta.file_type().is_socket() {
        return Err(SocketError::NotASocket(path.to_path_buf()));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(SocketError::InUse(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(socket = %path.display(), "removing stale socket from a previous run");
            std::fs::remove_file(path).map_err(|source| SocketError::Bind {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(SocketError::Bind {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stale_is_replaced_live_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/control.sock");
        let (live, cleanup) = ControlSocket::acquire(&path, None, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let err = ControlSocket::acquire(&path, None, None).err().unwrap();
        assert!(matches!(err, SocketError::InUse(_)), "{err}");
        // A crash leaves the file behind with nobody listening.
        drop(live);
        std::mem::forget(cleanup);
        assert!(path.exists());
        let (_again, _cleanup) = ControlSocket::acquire(&path, None, None).unwrap();
    }

    #[test]
    fn a_regular_file_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        std::fs::write(&path, "precious").unwrap();
        let err = ControlSocket::acquire(&path, None, None).err().unwrap();
        assert!(matches!(err, SocketError::NotASocket(_)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    }
}

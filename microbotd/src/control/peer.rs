//! Who is on the other end of a control connection, read once when the
//! connection is accepted: uid, gid and pid (SO_PEERCRED) and the
//! supplementary groups (SO_PEERGROUPS), attached to every request of the
//! connection as a [`Peer`] for the guard.
//!
//! Why at accept time and from the socket: these are the credentials the
//! peer held when it connected, exactly, from the kernel. The alternatives
//! are worse: `/proc/<pid>/status` per request is blocking file I/O on the
//! runtime and racy (the pid may have been reused by then), and resolving
//! a uid's groups through NSS (`getgrouplist`) may block on LDAP/sssd and
//! misses `newgrp`/`sg`. One getsockopt per connection costs nothing.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::Connected;

/// The peer's credentials, as the kernel recorded them at connect().
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// Supplementary groups (the primary gid may or may not be among them).
    pub groups: Vec<u32>,
}

impl Peer {
    /// Every group of the peer: the primary one first.
    pub fn gids(&self) -> Vec<u32> {
        let mut all = Vec::with_capacity(self.groups.len() + 1);
        all.push(self.gid);
        all.extend(self.groups.iter().copied().filter(|g| *g != self.gid));
        all
    }
}

/// An accepted connection and its [`Peer`].
pub struct PeerStream {
    inner: UnixStream,
    peer: Peer,
}

impl Connected for PeerStream {
    type ConnectInfo = Peer;
    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

/// Connections on `listener`, each with its peer read; a connection whose
/// credentials cannot be read is dropped (and logged), never admitted.
pub fn incoming(listener: UnixListener) -> impl Stream<Item = io::Result<PeerStream>> {
    tokio_stream::wrappers::UnixListenerStream::new(listener).filter_map(|conn| match conn {
        Err(e) => Some(Err(e)),
        Ok(inner) => match peer_of(&inner) {
            Ok(peer) => Some(Ok(PeerStream { inner, peer })),
            Err(e) => {
                tracing::warn!(error = %e, "refused a connection: its credentials are unreadable");
                None
            }
        },
    })
}

/// SO_PEERCRED and SO_PEERGROUPS of a connected Unix socket.
pub fn peer_of(stream: &UnixStream) -> io::Result<Peer> {
    let cred = stream.peer_cred()?;
    Ok(Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
        groups: peer_groups(stream.as_raw_fd())?,
    })
}

/// SO_PEERGROUPS (Linux ≥ 4.13): the groups the peer held at connect().
#[allow(unsafe_code)]
fn peer_groups(fd: RawFd) -> io::Result<Vec<u32>> {
    // libc does not export it for every target: the asm-generic value,
    // which all Linux architectures but SPARC use.
    const SO_PEERGROUPS: nix::libc::c_int = if cfg!(target_arch = "sparc64") {
        0x3d
    } else {
        59
    };
    let mut groups: Vec<nix::libc::gid_t> = vec![0; 64];
    loop {
        let mut len =
            (groups.len() * std::mem::size_of::<nix::libc::gid_t>()) as nix::libc::socklen_t;
        // SAFETY: `groups` is a live, writable buffer of `len` bytes; the
        // kernel writes at most `len` bytes and reports the size it needs.
        let rc = unsafe {
            nix::libc::getsockopt(
                fd,
                nix::libc::SOL_SOCKET,
                SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let n = len as usize / std::mem::size_of::<nix::libc::gid_t>();
        if rc == 0 {
            groups.truncate(n);
            return Ok(groups);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(nix::libc::ERANGE) && n > groups.len() {
            groups.resize(n, 0);
            continue;
        }
        return Err(err);
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our own connection: the kernel reports exactly our groups.
    #[tokio::test]
    async fn own_credentials_and_groups() {
        let (a, _b) = UnixStream::pair().unwrap();
        let peer = peer_of(&a).unwrap();
        assert_eq!(peer.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(peer.gid, nix::unistd::getegid().as_raw());
        assert_eq!(peer.pid, Some(std::process::id() as i32));
        let mut ours: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        ours.sort_unstable();
        let mut theirs = peer.groups.clone();
        theirs.sort_unstable();
        assert_eq!(theirs, ours);
        assert_eq!(peer.gids()[0], peer.gid);
    }
}

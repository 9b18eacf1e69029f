//! [`TcpProxy`]: a loopback TCP forwarder a test can cut and restore, to
//! play a network partition between a daemon (or a store) and PostgreSQL.
//!
//! A cut behaves like a partition, not a refusal: nothing is lost or reset,
//! bytes simply stop moving (in both directions, on every connection, and
//! new connections are accepted but not forwarded), so the client sees a
//! peer that has gone silent. [`TcpProxy::restore`] lets the held bytes
//! through, as TCP retransmission would after the network heals.
//!
//! # Lifecycle
//! [`TcpProxy::start`] binds `127.0.0.1:0` and forwards on plain threads (it
//! needs no async runtime). Dropping the proxy stops accepting; existing
//! connections end when either side closes.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A running forwarder from a local port to `target`.
pub struct TcpProxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

const POLL: Duration = Duration::from_millis(10);

impl TcpProxy {
    /// Forwards `127.0.0.1:<port()>` to `target`.
    pub fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (cut.clone(), stop.clone());
        std::thread::spawn(move || accept_loop(listener, target, c, s));
        TcpProxy { addr, cut, stop }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `url` (a `scheme://user@host:PORT/…` URL of the target) rewritten to
    /// go through this proxy.
    pub fn rewrite_url(&self, url: &str, target_port: u16) -> String {
        url.replacen(
            &format!(":{target_port}/"),
            &format!(":{}/", self.port()),
            1,
        )
    }

    /// Partitions: bytes stop moving both ways until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    /// Heals the partition; held bytes flow again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }
}

fn wait_while_cut(cut: &AtomicBool) {
    while cut.load(Ordering::SeqCst) {
        std::thread::sleep(POLL);
    }
}

fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let cut = cut.clone();
                std::thread::spawn(move || {
                    // A connection made during a partition hangs, unanswered.
                    wait_while_cut(&cut);
                    let Ok(server) = TcpStream::connect(target) else {
                        let _ = client.shutdown(Shutdown::Both);
                        return;
                    };
                    let _ = client.set_nonblocking(false);
                    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let cut2 = cut.clone();
                    std::thread::spawn(move || pump(c2, s2, &cut2));
                    pump(server, client, &cut);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Copies `from` → `to`, holding each chunk while the link is cut.
fn pump(mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        wait_while_cut(cut);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_and_holds_bytes_while_cut() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in echo.incoming().flatten() {
                let mut r = s.try_clone().unwrap();
                let mut w = s;
                std::thread::spawn(move || std::io::copy(&mut r, &mut w));
            }
        });
        let proxy = TcpProxy::start(target);
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 5];
        c.write_all(b"hello").unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        proxy.cut();
        c.write_all(b"again").unwrap();
        assert!(c.read_exact(&mut buf).is_err(), "nothing passes a cut link");
        proxy.restore();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"again", "held bytes arrive after the restore");
    }
}

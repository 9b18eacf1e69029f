//! A tiny SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 user/password) on
//! loopback, recording every tunnel it opens: proof that a client's traffic
//! went through it.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One CONNECT the proxy carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunnel {
    pub user: String,
    pub target: String,
}

#[derive(Default)]
struct Log {
    tunnels: Vec<Tunnel>,
    refused: usize,
}

/// The proxy; stops when dropped.
pub struct Socks5Proxy {
    port: u16,
    log: Arc<Mutex<Log>>,
    stop: Option<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Socks5Proxy {
    /// Listens on a free loopback port, accepting only `user`/`password`.
    pub fn start(user: &str, password: &str) -> Self {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let (l2, creds) = (Arc::clone(&log), (user.to_owned(), password.to_owned()));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => if let Ok((s, _)) = accepted {
                            let (log, creds) = (Arc::clone(&l2), creds.clone());
                            tokio::spawn(async move {
                                let _ = serve(s, &creds, &log).await;
                            });
                        },
                    }
                }
            });
        });
        Socks5Proxy {
            port,
            log,
            stop: Some((tx, thread)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Tunnels opened so far.
    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tunnels
            .clone()
    }

    /// Clients turned away for wrong credentials.
    pub fn refused(&self) -> usize {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).refused
    }
}

impl Drop for Socks5Proxy {
    fn drop(&mut self) {
        if let Some((tx, thread)) = self.stop.take() {
            let _ = tx.send(());
            let _ = thread.join();
        }
    }
}

async fn serve(
    mut s: TcpStream,
    (user, password): &(String, String),
    log: &Mutex<Log>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut methods).await?;
    if head[0] != 5 || !methods.contains(&2) {
        s.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    s.write_all(&[5, 2]).await?;
    // RFC 1929: VER ULEN UNAME PLEN PASSWD
    let mut b = [0u8; 2];
    s.read_exact(&mut b).await?;
    let mut u = vec![0u8; usize::from(b[1])];
    s.read_exact(&mut u).await?;
    let mut plen = [0u8; 1];
    s.read_exact(&mut plen).await?;
    let mut p = vec![0u8; usize::from(plen[0])];
    s.read_exact(&mut p).await?;
    if u != user.as_bytes() || p != password.as_bytes() {
        log.lock().unwrap_or_else(|p| p.into_inner()).refused += 1;
        s.write_all(&[1, 1]).await?;
        return Ok(());
    }
    s.write_all(&[1, 0]).await?;
    // VER CMD RSV ATYP DST.ADDR DST.PORT
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await?;
            Ipv4Addr::from(a).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await?;
            format!("[{}]", Ipv6Addr::from(a))
        }
        3 => {
            let mut n = [0u8; 1];
            s.read_exact(&mut n).await?;
            let mut name = vec![0u8; usize::from(n[0])];
            s.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    if req[1] != 1 {
        s.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let mut upstream = match TcpStream::connect(&target).await {
        Ok(u) => u,
        Err(_) => {
            s.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .tunnels
        .push(Tunnel {
            user: user.clone(),
            target,
        });
    let bound = upstream
        .local_addr()
        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut reply = vec![5, 0, 0, 1];
    match bound {
        SocketAddr::V4(v4) => reply.extend(v4.ip().octets()),
        SocketAddr::V6(_) => reply.extend([0, 0, 0, 0]),
    }
    reply.extend(bound.port().to_be_bytes());
    s.write_all(&reply).await?;
    tokio::io::copy_bidirectional(&mut s, &mut upstream).await?;
    Ok(())
}

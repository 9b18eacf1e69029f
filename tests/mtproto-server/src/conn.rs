//! One client connection: the "full" TCP transport grammers uses
//! (`len | seq | payload | crc32`), MTProto 2.0 encryption both ways,
//! server msg_ids and seq_nos, containers, gzip, pings, `rpc_result`, and
//! the faults that act on the connection itself (drop, delay).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use grammers_crypto::DequeBuffer;
use grammers_mtproto::transport::{Full, Transport};
use grammers_tl_types::{self as tl, Cursor, Deserializable, Identifiable, Serializable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::crypto::{CryptoError, ServerKey};
use crate::rpc;
use crate::world::{Action, Attempt, World};

const RPC_RESULT: u32 = 0xf35c_6d01;
const MSG_CONTAINER: u32 = 0x73f1_f8dc;
const GZIP_PACKED: u32 = 0x3072_cfa1;
const MSGS_ACK: u32 = 0x62d6_b459;
const PING: u32 = 0x7abe_77ec;
const PING_DELAY_DISCONNECT: u32 = 0xf342_7b8c;
/// Results at least this long go out gzip-packed, as Telegram does.
const GZIP_FROM: usize = 512;
const MAX_FRAME: usize = 2 << 20;

/// The rest of a buffer, for the generic `query` of wrapper calls.
struct Rest(Vec<u8>);

impl Deserializable for Rest {
    fn deserialize(buf: &mut Cursor) -> tl::deserialize::Result<Self> {
        let mut v = Vec::new();
        buf.read_to_end(&mut v)?;
        Ok(Rest(v))
    }
}

fn ctor(body: &[u8]) -> u32 {
    body.get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .unwrap_or(0)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("in-memory gzip");
    let packed = e.finish().expect("in-memory gzip");
    let mut out = GZIP_PACKED.to_le_bytes().to_vec();
    packed.serialize(&mut out);
    out
}

fn gunzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let packed = Vec::<u8>::from_bytes(body.get(4..)?).ok()?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// The sending half: encryption state, msg_id/seq_no counters, the socket.
struct Writer {
    wr: OwnedWriteHalf,
    transport: Full,
    key: ServerKey,
    session_id: i64,
    last_msg_id: i64,
    seq: i32,
}

impl Writer {
    /// Server msg_ids grow with time; `% 4` is 1 for answers, 3 otherwise.
    fn msg_id(&mut self, answer: bool) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let t = ((now.as_secs() as i64) << 32) | (i64::from(now.subsec_nanos()) << 2);
        let base = t.max(self.last_msg_id + 4) & !3;
        self.last_msg_id = base | if answer { 1 } else { 3 };
        self.last_msg_id
    }

    async fn send(&mut self, body: &[u8], content_related: bool, answer: bool) -> io::Result<()> {
        let msg_id = self.msg_id(answer);
        let seq = if content_related {
            self.seq += 2;
            self.seq - 1
        } else {
            self.seq
        };
        let mut plain = Vec::with_capacity(32 + body.len());
        0i64.serialize(&mut plain); // salt: 0, so grammers never asks for future salts
        self.session_id.serialize(&mut plain);
        msg_id.serialize(&mut plain);
        seq.serialize(&mut plain);
        (body.len() as i32).serialize(&mut plain);
        plain.extend_from_slice(body);
        let enc = self.key.encrypt(&plain);
        let mut buf = DequeBuffer::with_capacity(enc.len() + 4, 8);
        buf.extend(enc);
        self.transport.pack(&mut buf);
        self.wr.write_all(buf.as_ref()).await
    }

    async fn close(&mut self) {
        let _ = self.wr.shutdown().await;
    }
}

enum Flow {
    Go,
    Close,
}

struct Conn {
    world: Arc<Mutex<World>>,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    seen: Mutex<std::collections::HashSet<i64>>,
}

/// Serves one connection until the client leaves or a fault closes it.
pub async fn serve(stream: TcpStream, key: ServerKey, world: Arc<Mutex<World>>) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut inbound = Full::new();
    // The first packet names the session; nothing is written before it.
    let Ok(Some(first)) = read_frame(&mut rd, &mut inbound).await else {
        return;
    };
    let plain = match key.decrypt(&first) {
        Ok(p) => p,
        Err(CryptoError::Plain | CryptoError::UnknownKey) => {
            // What Telegram says for an unknown auth key: transport error -404.
            let _ = wr.write_all(&(-404i32).to_le_bytes()).await;
            return;
        }
        Err(_) => return,
    };
    let session_id = i64::from_le_bytes(plain[8..16].try_into().expect("checked length"));
    let conn = Conn {
        world,
        writer: Arc::new(tokio::sync::Mutex::new(Writer {
            wr,
            transport: Full::new(),
            key: key.clone(),
            session_id,
            last_msg_id: 0,
            seq: 0,
        })),
        seen: Mutex::new(std::collections::HashSet::new()),
    };
    let mut plain = plain;
    let mut first_msg = true;
    while let Some((msg_id, seq_no, body)) = message(&plain) {
        if first_msg {
            first_msg = false;
            let created = tl::enums::NewSession::Created(tl::types::NewSessionCreated {
                first_msg_id: msg_id,
                unique_id: rand::random(),
                server_salt: 0,
            });
            if conn.send(&created.to_bytes(), true, false).await.is_err() {
                break;
            }
        }
        conn.check(msg_id, seq_no, &body);
        if let Flow::Close = conn.handle(msg_id, body).await {
            break;
        }
        plain = match read_frame(&mut rd, &mut inbound).await {
            Ok(Some(frame)) => match key.decrypt(&frame) {
                Ok(p) => p,
                Err(_) => break,
            },
            _ => break,
        };
    }
    conn.writer.lock().await.close().await;
}

/// `(msg_id, seq_no, body)` of a decrypted packet (`salt | session | msg_id | seq | len | body`).
fn message(plain: &[u8]) -> Option<(i64, i32, Vec<u8>)> {
    let msg_id = i64::from_le_bytes(plain.get(16..24)?.try_into().ok()?);
    let seq_no = i32::from_le_bytes(plain.get(24..28)?.try_into().ok()?);
    let len = i32::from_le_bytes(plain.get(28..32)?.try_into().ok()?) as usize;
    Some((msg_id, seq_no, plain.get(32..32 + len)?.to_vec()))
}

/// Whether a client message must carry an odd seq_no: everything but
/// acks and containers (MTProto's "content-related" messages).
fn content_related(body: &[u8]) -> bool {
    !matches!(ctor(body), MSGS_ACK | MSG_CONTAINER)
}

async fn read_frame(rd: &mut OwnedReadHalf, transport: &mut Full) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match rd.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = i32::from_le_bytes(len);
    if n < 12 || n as usize > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad frame length",
        ));
    }
    let mut buf = vec![0u8; n as usize];
    buf[..4].copy_from_slice(&len);
    rd.read_exact(&mut buf[4..]).await?;
    let off = transport
        .unpack(&mut buf)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(Some(buf[off.data_range].to_vec()))
}

impl Conn {
    /// Telegram's rules for client msg_ids and seq_nos; a break is recorded
    /// in [`World::protocol_errors`] (Telegram would answer bad_msg_notification).
    fn check(&self, msg_id: i64, seq_no: i32, body: &[u8]) {
        let mut problems = Vec::new();
        if msg_id % 4 != 0 {
            problems.push(format!("msg_id {msg_id} not divisible by 4"));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        if ((msg_id >> 32) - now).abs() > 300 {
            problems.push(format!(
                "msg_id {msg_id} more than 300 s off the server's clock"
            ));
        }
        if !self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(msg_id)
        {
            problems.push(format!("msg_id {msg_id} used twice in one session"));
        }
        if content_related(body) != (seq_no % 2 == 1) {
            problems.push(format!(
                "seq_no {seq_no} has the wrong parity for {}",
                tl::name_for_id(ctor(body))
            ));
        }
        if !problems.is_empty() {
            self.world
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .protocol_errors
                .extend(problems);
        }
    }

    async fn send(&self, body: &[u8], content_related: bool, answer: bool) -> io::Result<()> {
        self.writer
            .lock()
            .await
            .send(body, content_related, answer)
            .await
    }

    async fn handle(&self, msg_id: i64, body: Vec<u8>) -> Flow {
        if ctor(&body) != MSG_CONTAINER {
            return self.handle_one(msg_id, body).await;
        }
        let mut cur = Cursor::from_slice(&body[4..]);
        let Ok(count) = i32::deserialize(&mut cur) else {
            return Flow::Close;
        };
        let mut inner = Vec::new();
        for _ in 0..count {
            let parsed = (|| {
                let id = i64::deserialize(&mut cur)?;
                let seq = i32::deserialize(&mut cur)?;
                let len = i32::deserialize(&mut cur)? as usize;
                let mut b = vec![0u8; len];
                cur.read_exact(&mut b)?;
                Ok::<_, tl::deserialize::Error>((id, seq, b))
            })();
            match parsed {
                Ok(m) => inner.push(m),
                Err(_) => return Flow::Close,
            }
        }
        for (id, seq, b) in inner {
            self.check(id, seq, &b);
            if let Flow::Close = self.handle_one(id, b).await {
                return Flow::Close;
            }
        }
        Flow::Go
    }

    async fn handle_one(&self, msg_id: i64, mut body: Vec<u8>) -> Flow {
        loop {
            match ctor(&body) {
                GZIP_PACKED => match gunzip(&body) {
                    Some(b) => body = b,
                    None => return Flow::Close,
                },
                MSGS_ACK => return Flow::Go,
                PING | PING_DELAY_DISCONNECT => {
                    self.world
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .calls
                        .push("ping".into());
                    let ping_id = body
                        .get(4..12)
                        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                        .unwrap_or(0);
                    let pong = tl::enums::Pong::Pong(tl::types::Pong { msg_id, ping_id });
                    return match self.send(&pong.to_bytes(), false, true).await {
                        Ok(()) => Flow::Go,
                        Err(_) => Flow::Close,
                    };
                }
                _ => return self.rpc(msg_id, body).await,
            }
        }
    }

    async fn rpc(&self, msg_id: i64, body: Vec<u8>) -> Flow {
        let mut inner = body;
        let mut wrappers = Vec::new();
        loop {
            let c = ctor(&inner);
            if c == tl::functions::InvokeWithLayer::<Rest>::CONSTRUCTOR_ID && inner.len() >= 8 {
                wrappers.push("invokeWithLayer");
                inner = inner[8..].to_vec();
            } else if c == tl::functions::InitConnection::<Rest>::CONSTRUCTOR_ID {
                match tl::functions::InitConnection::<Rest>::from_bytes(&inner[4..]) {
                    Ok(init) => {
                        wrappers.push("initConnection");
                        inner = init.query.0;
                    }
                    Err(_) => return Flow::Close,
                }
            } else {
                break;
            }
        }
        let name = tl::name_for_id(ctor(&inner));
        let action = {
            let mut w = self.world.lock().unwrap_or_else(|p| p.into_inner());
            w.calls.extend(wrappers.iter().map(|s| (*s).to_owned()));
            w.calls.push(name.to_owned());
            let target = rpc::send_target(name, &inner);
            let action = w.take_fault(name, target.and_then(|t| t.1));
            if let Some((random_id, peer)) = target {
                w.attempts.push(Attempt {
                    random_id,
                    peer,
                    at: Instant::now(),
                    fault: action.as_ref().map(|a| format!("{a:?}")),
                });
            }
            action
        };
        let outcome = match &action {
            Some(Action::DropBefore) => return Flow::Close,
            Some(Action::Rpc { code, message }) => Err((*code, message.clone())),
            _ => rpc::call(
                &mut self.world.lock().unwrap_or_else(|p| p.into_inner()),
                name,
                &inner,
            ),
        };
        let mut answer = RPC_RESULT.to_le_bytes().to_vec();
        msg_id.serialize(&mut answer);
        match outcome {
            Ok(result) if result.len() >= GZIP_FROM => answer.extend(gzip(&result)),
            Ok(result) => answer.extend(result),
            Err((code, message)) => answer.extend(
                tl::enums::RpcError::Error(tl::types::RpcError {
                    error_code: code,
                    error_message: message,
                })
                .to_bytes(),
            ),
        }
        match action {
            Some(Action::DropAfter) => Flow::Close,
            Some(Action::Delay(d)) => {
                let writer = Arc::clone(&self.writer);
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    let _ = writer.lock().await.send(&answer, true, true).await;
                });
                Flow::Go
            }
            _ => match self.send(&answer, true, true).await {
                Ok(()) => Flow::Go,
                Err(_) => Flow::Close,
            },
        }
    }
}

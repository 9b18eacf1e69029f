//! What the test server knows and does: one account (its login code, its
//! 2FA password as an SRP verifier, whether the auth key is logged in), a
//! few chats, every call received, every message kept, and the faults a
//! test has asked for.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::srp::Srp;

/// A chat the account sees in its dialogs.
#[derive(Clone, Debug)]
pub struct ChatSpec {
    pub kind: ChatKind,
    /// Telegram's bare id.
    pub id: i64,
    pub access_hash: i64,
    pub title: String,
    pub username: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatKind {
    User,
    Channel,
}

impl ChatSpec {
    /// The Bot-API ("marked") id microbot shows and stores.
    pub fn marked_id(&self) -> i64 {
        match self.kind {
            ChatKind::User => self.id,
            ChatKind::Channel => -1_000_000_000_000 - self.id,
        }
    }
}

/// What a test wants a call to do instead of (or besides) answering.
#[derive(Clone, Debug)]
pub enum Action {
    /// Answer `rpc_error` (e.g. 420 `FLOOD_WAIT_3`) without doing anything.
    Rpc { code: i32, message: String },
    /// Close the connection before the call has any effect.
    DropBefore,
    /// Do the call, then close the connection: the answer is lost.
    DropAfter,
    /// Do the call at once, answer only after this long.
    Delay(Duration),
}

/// One injected fault: the next `times` calls of `method` (TL name, e.g.
/// `messages.sendMessage`), optionally only those aimed at one chat (bare id).
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: String,
    pub peer: Option<i64>,
    pub action: Action,
    pub times: u32,
}

impl Fault {
    pub fn rpc(method: &str, code: i32, message: &str) -> Self {
        Self::new(
            method,
            Action::Rpc {
                code,
                message: message.to_owned(),
            },
        )
    }

    pub fn new(method: &str, action: Action) -> Self {
        Fault {
            method: method.to_owned(),
            peer: None,
            action,
            times: 1,
        }
    }

    /// Only calls aimed at this chat (Telegram's bare id).
    pub fn for_peer(mut self, bare_id: i64) -> Self {
        self.peer = Some(bare_id);
        self
    }

    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
}

/// The peer a `messages.sendMessage` named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SentPeer {
    User { id: i64, access_hash: i64 },
    Chat { id: i64 },
    Channel { id: i64, access_hash: i64 },
    Other(String),
}

impl SentPeer {
    pub fn bare_id(&self) -> Option<i64> {
        match self {
            SentPeer::User { id, .. } | SentPeer::Chat { id } | SentPeer::Channel { id, .. } => {
                Some(*id)
            }
            SentPeer::Other(_) => None,
        }
    }
}

/// One `messages.sendMessage` call as it arrived, faulted or not.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub random_id: i64,
    /// Bare id of the chat it named.
    pub peer: Option<i64>,
    pub at: std::time::Instant,
    /// The injected fault that answered it, if any.
    pub fault: Option<String>,
}

/// A `messages.sendMessage` as received.
#[derive(Clone, Debug)]
pub struct SentMessage {
    pub message_id: i32,
    pub random_id: i64,
    pub peer: SentPeer,
    pub text: String,
    /// `Kind(offset,length)` per entity, e.g. `Bold(0,4)`.
    pub entities: Vec<String>,
    pub silent: bool,
    pub no_webpage: bool,
    /// The file sent with it (`messages.sendMedia` / `sendMultiMedia`).
    pub media: Option<SentMedia>,
    /// Shared by the items of one album (`sendMultiMedia`).
    pub grouped_id: Option<i64>,
}

/// A file as the server stored it: what a test checks arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMedia {
    /// `photo`, `video` (a document with a video attribute) or `document`.
    pub kind: String,
    pub file_name: String,
    pub mime: String,
    /// Lower-case hex SHA-256 of the bytes put together from the parts.
    pub sha256: String,
    pub size: usize,
}

/// A file `messages.uploadMedia` stored: its handle and what it holds.
#[derive(Clone, Debug)]
pub struct StoredMedia {
    pub access_hash: i64,
    /// Changed by [`World::expire_file_references`]; a send with an old
    /// one is answered `FILE_REFERENCE_EXPIRED`.
    pub file_reference: Vec<u8>,
    pub media: SentMedia,
}

/// A call on a sent message: `messages.updatePinnedMessage` or a delete
/// (`messages.deleteMessages` / `channels.deleteMessages`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageCall {
    Pin {
        peer: SentPeer,
        message_id: i32,
        silent: bool,
    },
    Delete {
        /// Set for `channels.deleteMessages` (its bare id), else `None`.
        channel: Option<i64>,
        message_ids: Vec<i32>,
        revoke: bool,
    },
}

/// The server's state, shared by every connection (and kept across a
/// server stop/start, like Telegram's).
pub struct World {
    pub code: String,
    pub srp: Option<Srp>,
    pub hint: Option<String>,
    pub authorized: bool,
    pub me: ChatSpec,
    pub chats: Vec<ChatSpec>,
    /// TL names of every call, in order (wrappers and pings included).
    pub calls: Vec<String>,
    /// Every `messages.sendMessage` received, repeats and faulted ones included.
    pub attempts: Vec<Attempt>,
    /// Messages kept (one per `random_id`).
    pub kept: Vec<SentMessage>,
    pub by_random_id: HashMap<i64, usize>,
    /// Pins and deletes, in order.
    pub message_calls: Vec<MessageCall>,
    /// Parts received by `upload.saveFilePart` / `saveBigFilePart`, by file id.
    pub uploads: HashMap<i64, BTreeMap<i32, Vec<u8>>>,
    /// Files made sendable by `messages.uploadMedia`, by photo/document id.
    pub media: HashMap<i64, StoredMedia>,
    pub next_media_id: i64,
    /// Passwords checked: true = accepted.
    pub password_checks: Vec<bool>,
    pub faults: Vec<Fault>,
    pub next_message_id: i32,
    pub pts: i32,
    /// TCP connections accepted.
    pub connections: usize,
    /// Client messages that broke MTProto's msg_id / seq_no rules.
    pub protocol_errors: Vec<String>,
    pub port: u16,
}

impl World {
    pub fn new(code: &str, password: Option<&str>) -> Self {
        World {
            code: code.to_owned(),
            srp: password.map(Srp::new),
            hint: password.map(|_| "the usual".to_owned()),
            authorized: false,
            me: ChatSpec {
                kind: ChatKind::User,
                id: 100_100,
                access_hash: 5_550_001,
                title: "Test Operator".into(),
                username: Some("mtproto_op".into()),
            },
            chats: vec![
                ChatSpec {
                    kind: ChatKind::Channel,
                    id: 2_000_001,
                    access_hash: 5_550_002,
                    title: "Ops Room".into(),
                    username: Some("ops_room".into()),
                },
                ChatSpec {
                    kind: ChatKind::User,
                    id: 300_001,
                    access_hash: 5_550_003,
                    title: "Alice Example".into(),
                    username: Some("alice_example".into()),
                },
            ],
            calls: Vec::new(),
            attempts: Vec::new(),
            kept: Vec::new(),
            by_random_id: HashMap::new(),
            message_calls: Vec::new(),
            uploads: HashMap::new(),
            media: HashMap::new(),
            next_media_id: 7_000_001,
            password_checks: Vec::new(),
            faults: Vec::new(),
            next_message_id: 1,
            pts: 1,
            connections: 0,
            protocol_errors: Vec::new(),
            port: 0,
        }
    }

    /// Every stored file gets a new file reference, as Telegram's expire:
    /// handles a client kept stop working until it fetches new ones.
    pub fn expire_file_references(&mut self) {
        for m in self.media.values_mut() {
            m.file_reference.push(0xee);
        }
    }

    /// Takes the first fault matching this call, if any.
    pub fn take_fault(&mut self, method: &str, peer: Option<i64>) -> Option<Action> {
        let i = self.faults.iter().position(|f| {
            f.times > 0 && f.method == method && (f.peer.is_none() || f.peer == peer)
        })?;
        let f = &mut self.faults[i];
        f.times -= 1;
        let action = f.action.clone();
        if f.times == 0 {
            self.faults.remove(i);
        }
        Some(action)
    }
}

//! [`DbSession`]: grammers' `Session` trait kept in memory and persisted as
//! one versioned JSON snapshot through our [`SessionStore`] (the database).
//!
//! grammers calls the session on every request (`home_dc_id`, `dc_option`)
//! and on every peer it sees (`cache_peer`), so those calls only touch memory.
//! Persisting is done by a background saver task:
//! * important changes — a new auth key, a new home DC, the logged-in user
//!   being cached (login) — wake it at once;
//! * everything else (peer cache, update state, DC addresses) only marks the
//!   session dirty and is written by the periodic tick (`SAVE_EVERY`);
//! * callers `flush()` explicitly after login, and `forget()` on logout so a
//!   late save cannot resurrect a cleared session.
//!
//! Losing a few peers or update counters on a crash is harmless (they are
//! fetched again); losing an auth key is not, hence the immediate save.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use grammers_session::types::{
    ChannelState, DcOption, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_session::{BoxFuture, Session, SessionData};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::telegram::{SessionStore, SessionStoreError};

/// Periodic save of low-value changes (peers, update state).
pub const SAVE_EVERY: Duration = Duration::from_secs(60);
/// Bounds memory for accounts in very many chats; the logged-in user is always kept.
const MAX_PEERS: usize = 50_000;
const SNAPSHOT_VERSION: u32 = 1;

/// What is stored in the database. Versioned so a future layout can migrate.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    home_dc: i32,
    dc_options: Vec<DcOption>,
    peers: Vec<PeerInfo>,
    updates: UpdatesState,
}

struct State {
    home_dc: i32,
    dc_options: BTreeMap<i32, DcOption>,
    peers: HashMap<PeerId, PeerInfo>,
    self_id: Option<PeerId>,
    updates: UpdatesState,
}

impl State {
    fn fresh() -> Self {
        let d = SessionData::default();
        State {
            home_dc: d.home_dc,
            dc_options: d.dc_options.into_iter().collect(),
            peers: HashMap::new(),
            self_id: None,
            updates: d.updates_state,
        }
    }

    fn from_snapshot(s: Snapshot) -> Self {
        let mut state = State::fresh();
        state.home_dc = s.home_dc;
        state
            .dc_options
            .extend(s.dc_options.into_iter().map(|o| (o.id, o)));
        for p in s.peers {
            state.insert_peer(p);
        }
        state.updates = s.updates;
        state
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            home_dc: self.home_dc,
            dc_options: self.dc_options.values().cloned().collect(),
            peers: self.peers.values().cloned().collect(),
            updates: self.updates.clone(),
        }
    }

    /// Returns true when the logged-in user was (re)recorded.
    fn insert_peer(&mut self, peer: PeerInfo) -> bool {
        let id = peer.id();
        let is_self = matches!(
            peer,
            PeerInfo::User {
                is_self: Some(true),
                ..
            }
        );
        if !is_self && self.peers.len() >= MAX_PEERS && !self.peers.contains_key(&id) {
            return false;
        }
        self.peers
            .entry(id)
            .or_insert_with(|| peer.clone())
            .extend_info(&peer);
        if is_self {
            self.self_id = Some(id);
        }
        is_self
    }
}

/// The home data centre recorded in a stored session (its id, addresses
/// and auth key), without loading the rest; `None` for an unreadable
/// snapshot or one whose home DC has no address recorded.
pub fn stored_home_dc(bytes: &[u8]) -> Option<DcOption> {
    let snap: Snapshot = serde_json::from_slice(bytes).ok()?;
    if snap.version != SNAPSHOT_VERSION {
        return None;
    }
    let mut state = State::from_snapshot(snap);
    let home = state.home_dc;
    state.dc_options.remove(&home)
}

/// One account's MTProto session. Cheap to query; see the module docs for
/// when it is written to the [`SessionStore`].
pub struct DbSession {
    account_id: i64,
    store: Arc<dyn SessionStore>,
    state: Mutex<State>,
    /// Bumped on every change; `saved` is the generation last written.
    generation: AtomicU64,
    saved: AtomicU64,
    urgent: Notify,
    closed: AtomicBool,
    /// Orders writes so an older snapshot never overwrites a newer one.
    save_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for DbSession {
    // By hand: the state holds auth keys, which must never be printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("DbSession")
            .field("account_id", &self.account_id)
            .field("home_dc", &st.home_dc)
            .field("peers", &st.peers.len())
            .finish_non_exhaustive()
    }
}

impl DbSession {
    /// Loads the account's session, or starts a fresh one when none is stored.
    /// A stored session that cannot be read is an error, never silently
    /// replaced: it holds the login.
    pub async fn load(
        account_id: i64,
        store: Arc<dyn SessionStore>,
    ) -> Result<Arc<Self>, SessionStoreError> {
        let state = match store.load_session(account_id).await? {
            None => State::fresh(),
            Some(bytes) => {
                let snap: Snapshot = serde_json::from_slice(&bytes)
                    .map_err(|e| SessionStoreError(format!("unreadable session: {e}")))?;
                if snap.version != SNAPSHOT_VERSION {
                    return Err(SessionStoreError(format!(
                        "unsupported session version {}",
                        snap.version
                    )));
                }
                State::from_snapshot(snap)
            }
        };
        Ok(Arc::new(DbSession {
            account_id,
            store,
            state: Mutex::new(state),
            generation: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            urgent: Notify::new(),
            closed: AtomicBool::new(false),
            save_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// Starts the background saver. It ends after [`DbSession::close`] or
    /// [`DbSession::forget`], saving pending changes on close.
    pub fn spawn_saver(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !me.closed.load(Ordering::Acquire) {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = me.urgent.notified() => {}
                }
                if let Err(e) = me.flush().await {
                    tracing::warn!(account_id = me.account_id, error = %e, "saving the Telegram session failed; will retry");
                }
            }
        })
    }

    /// Writes the current state if it changed since the last write.
    pub async fn flush(&self) -> Result<(), SessionStoreError> {
        let _guard = self.save_lock.lock().await;
        let generation = self.generation.load(Ordering::Acquire);
        if generation == self.saved.load(Ordering::Acquire) {
            return Ok(());
        }
        let bytes = {
            let st = self.lock();
            serde_json::to_vec(&st.snapshot())
                .map_err(|e| SessionStoreError(format!("serialize session: {e}")))?
        };
        if self.forgotten() {
            return Ok(());
        }
        self.store.save_session(self.account_id, &bytes).await?;
        self.saved.store(generation, Ordering::Release);
        Ok(())
    }

    /// Stops the saver after one last save of pending changes.
    pub async fn close(&self) {
        if let Err(e) = self.flush().await {
            tracing::warn!(account_id = self.account_id, error = %e, "final session save failed");
        }
        self.closed.store(true, Ordering::Release);
        self.urgent.notify_one();
    }

    /// Logout: stop saving for good (a late save must not bring the session
    /// back) and delete the stored copy.
    pub async fn forget(&self) -> Result<(), SessionStoreError> {
        let _guard = self.save_lock.lock().await;
        self.closed.store(true, Ordering::Release);
        self.saved.store(u64::MAX, Ordering::Release);
        self.urgent.notify_one();
        self.store.clear_session(self.account_id).await
    }

    fn forgotten(&self) -> bool {
        self.saved.load(Ordering::Acquire) == u64::MAX
    }

    /// Whether a logged-in user is recorded (set by grammers at login).
    pub fn has_self_user(&self) -> bool {
        self.lock().self_id.is_some()
    }

    /// The cached peer info for a marked id, if any (access hashes live here).
    pub fn cached_peer(&self, id: PeerId) -> Option<PeerInfo> {
        self.lock().peers.get(&id).cloned()
    }

    /// The auth key for a DC, for tests and diagnostics (never logged).
    pub fn auth_key(&self, dc_id: i32) -> Option<[u8; 256]> {
        self.lock().dc_options.get(&dc_id).and_then(|o| o.auth_key)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data: a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self, urgent: bool) {
        if self.forgotten() {
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        if urgent {
            self.urgent.notify_one();
        }
    }
}

impl Session for DbSession {
    type Error = Infallible;

    fn home_dc_id(&self) -> Result<i32, Infallible> {
        Ok(self.lock().home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), Infallible>> {
        let changed = {
            let mut st = self.lock();
            std::mem::replace(&mut st.home_dc, dc_id) != dc_id
        };
        if changed {
            self.changed(true);
        }
        Box::pin(async { Ok(()) })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, Infallible> {
        Ok(self.lock().dc_options.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), Infallible>> {
        // grammers calls this on every new connection; only a new key is urgent.
        let (changed, key_changed) = {
            let mut st = self.lock();
            let old = st.dc_options.insert(dc_option.id, dc_option.clone());
            let key_changed = old.as_ref().map(|o| o.auth_key) != Some(dc_option.auth_key);
            (old.as_ref() != Some(dc_option), key_changed)
        };
        if changed {
            self.changed(key_changed);
        }
        Box::pin(async { Ok(()) })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, Infallible>> {
        let found = {
            let st = self.lock();
            // `PeerId::self_user()` is a sentinel without a real id.
            let id = if peer == PeerId::self_user() {
                st.self_id
            } else {
                Some(peer)
            };
            id.and_then(|id| st.peers.get(&id).cloned())
        };
        Box::pin(async move { Ok(found) })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), Infallible>> {
        let is_self = self.lock().insert_peer(peer);
        self.changed(is_self);
        Box::pin(async { Ok(()) })
    }

    fn cache_peers(&self, peers: Vec<PeerInfo>) -> BoxFuture<'_, Result<(), Infallible>> {
        let is_self = {
            let mut st = self.lock();
            peers
                .into_iter()
                .fold(false, |acc, p| st.insert_peer(p) | acc)
        };
        self.changed(is_self);
        Box::pin(async { Ok(()) })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, Infallible>> {
        let state = self.lock().updates.clone();
        Box::pin(async move { Ok(state) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), Infallible>> {
        {
            let mut st = self.lock();
            let u = &mut st.updates;
            match update {
                UpdateState::All(all) => *u = all,
                UpdateState::Primary { pts, date, seq } => {
                    (u.pts, u.date, u.seq) = (pts, date, seq);
                }
                UpdateState::Secondary { qts } => u.qts = qts,
                UpdateState::Channel { id, pts } => {
                    u.channels.retain(|c| c.id != id);
                    u.channels.push(ChannelState { id, pts });
                }
            }
        }
        self.changed(false);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

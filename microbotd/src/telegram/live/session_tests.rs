//! Tests of [`DbSession`]: persistence round trip and save triggers.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use grammers_session::types::{PeerAuth, PeerId, PeerInfo};

use super::*;

#[derive(Default)]
struct MemStore {
    data: Mutex<HashMap<i64, Vec<u8>>>,
    saves: AtomicU64,
}

#[async_trait]
impl SessionStore for MemStore {
    async fn load_session(&self, id: i64) -> Result<Option<Vec<u8>>, SessionStoreError> {
        Ok(self.data.lock().unwrap().get(&id).cloned())
    }
    async fn save_session(&self, id: i64, data: &[u8]) -> Result<(), SessionStoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.data.lock().unwrap().insert(id, data.to_vec());
        Ok(())
    }
    async fn clear_session(&self, id: i64) -> Result<(), SessionStoreError> {
        self.data.lock().unwrap().remove(&id);
        Ok(())
    }
}

fn keyed(dc: i32, byte: u8) -> DcOption {
    let mut o = SessionData::default().dc_options[&2].clone();
    o.id = dc;
    o.auth_key = Some([byte; 256]);
    o
}

fn me() -> PeerInfo {
    PeerInfo::User {
        id: 4242,
        auth: Some(PeerAuth::from_hash(99)),
        bot: Some(false),
        is_self: Some(true),
    }
}

#[tokio::test]
async fn fresh_session_has_grammers_defaults() {
    let store = Arc::new(MemStore::default());
    let s = DbSession::load(1, store).await.unwrap();
    assert_eq!(s.home_dc_id().unwrap(), SessionData::default().home_dc);
    for dc in 1..=5 {
        assert!(s.dc_option(dc).unwrap().is_some());
    }
    assert_eq!(s.peer(PeerId::self_user()).await.unwrap(), None);
}

#[tokio::test]
async fn round_trip_keeps_keys_dc_peers_and_updates() {
    let store = Arc::new(MemStore::default());
    let s = DbSession::load(7, store.clone()).await.unwrap();
    s.set_home_dc_id(4).await.unwrap();
    s.set_dc_option(&keyed(4, 0xAB)).await.unwrap();
    s.cache_peer(me()).await.unwrap();
    let chan = PeerInfo::Channel {
        id: 555,
        auth: Some(PeerAuth::from_hash(-77)),
        kind: None,
    };
    s.cache_peer(chan.clone()).await.unwrap();
    s.set_update_state(UpdateState::Primary {
        pts: 10,
        date: 20,
        seq: 30,
    })
    .await
    .unwrap();
    s.set_update_state(UpdateState::Channel { id: 555, pts: 3 })
        .await
        .unwrap();
    s.flush().await.unwrap();

    let t = DbSession::load(7, store.clone()).await.unwrap();
    assert_eq!(t.home_dc_id().unwrap(), 4);
    assert_eq!(t.auth_key(4), Some([0xAB; 256]));
    assert_eq!(t.dc_option(4).unwrap(), Some(keyed(4, 0xAB)));
    assert_eq!(t.peer(PeerId::self_user()).await.unwrap(), Some(me()));
    assert!(t.has_self_user());
    assert_eq!(t.cached_peer(PeerId::channel(555).unwrap()), Some(chan));
    let up = t.updates_state().await.unwrap();
    assert_eq!(
        (up.pts, up.date, up.seq, up.channels.len()),
        (10, 20, 30, 1)
    );
    // Nothing changed since loading: no extra write.
    let before = store.saves.load(Ordering::SeqCst);
    t.flush().await.unwrap();
    assert_eq!(store.saves.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn new_auth_key_is_saved_promptly_but_peers_wait_for_the_tick() {
    let store = Arc::new(MemStore::default());
    let s = DbSession::load(3, store.clone()).await.unwrap();
    let saver = s.spawn_saver(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(20)).await; // first tick fires at once
    let base = store.saves.load(Ordering::SeqCst);

    s.cache_peer(PeerInfo::Chat { id: 9 }).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        store.saves.load(Ordering::SeqCst),
        base,
        "peer alone is not urgent"
    );

    s.set_dc_option(&keyed(2, 1)).await.unwrap();
    for _ in 0..100 {
        if store.saves.load(Ordering::SeqCst) > base {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.saves.load(Ordering::SeqCst), base + 1);
    let t = DbSession::load(3, store.clone()).await.unwrap();
    assert_eq!(t.auth_key(2), Some([1; 256]));

    s.close().await;
    tokio::time::timeout(Duration::from_secs(2), saver)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn forget_clears_and_never_saves_again() {
    let store = Arc::new(MemStore::default());
    let s = DbSession::load(5, store.clone()).await.unwrap();
    s.set_dc_option(&keyed(2, 7)).await.unwrap();
    s.flush().await.unwrap();
    s.forget().await.unwrap();
    s.set_dc_option(&keyed(2, 8)).await.unwrap();
    s.flush().await.unwrap();
    assert_eq!(store.load_session(5).await.unwrap(), None);
}

#[tokio::test]
async fn unreadable_or_future_sessions_are_errors_not_resets() {
    let store = Arc::new(MemStore::default());
    store.save_session(1, b"not json").await.unwrap();
    assert!(DbSession::load(1, store.clone()).await.is_err());
    let snap = Snapshot {
        version: 99,
        ..State::fresh().snapshot()
    };
    store
        .save_session(1, &serde_json::to_vec(&snap).unwrap())
        .await
        .unwrap();
    assert!(DbSession::load(1, store.clone()).await.is_err());
}

#[tokio::test]
async fn debug_never_shows_auth_keys() {
    let store = Arc::new(MemStore::default());
    let s = DbSession::load(1, store).await.unwrap();
    s.set_dc_option(&keyed(2, 0xCD)).await.unwrap();
    let dbg = format!("{s:?}");
    assert!(
        !dbg.to_lowercase().contains("cdcd") && !dbg.contains("205"),
        "{dbg}"
    );
}

#[tokio::test]
async fn the_stored_home_dc_is_read_back_with_its_key() {
    let store = Arc::new(MemStore::default());
    let s = DbSession::load(7, store.clone()).await.unwrap();
    s.set_dc_option(&keyed(4, 9)).await.unwrap();
    s.set_home_dc_id(4).await.unwrap();
    s.flush().await.unwrap();
    let bytes = store.load_session(7).await.unwrap().unwrap();
    let home = stored_home_dc(&bytes).expect("home dc");
    assert_eq!((home.id, home.auth_key), (4, Some([9; 256])));
    assert!(stored_home_dc(b"not json").is_none());
    let probe = super::super::probe::DcTarget::from_option(&home).unwrap();
    assert!(!format!("{probe:?}").contains("auth_key"), "{probe:?}");
}

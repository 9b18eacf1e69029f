//! Tests of the offline parts of `LiveMessenger`: retry policy, panic
//! containment, peer conversion, secrets in Debug.

use std::num::NonZeroU32;

use std::ops::ControlFlow;

use grammers_mtsender::{InvocationError, RetryContext, RetryPolicy, RpcError};
use grammers_session::types::PeerId;

use super::resolve::resolved;
use super::*;
use crate::telegram::PeerKind;

fn ctx(error: InvocationError, n: u32) -> RetryContext {
    RetryContext {
        fail_count: NonZeroU32::new(n).unwrap(),
        slept_so_far: Duration::ZERO,
        error,
    }
}

fn flood(secs: u32) -> InvocationError {
    InvocationError::Rpc(RpcError {
        code: 420,
        name: "FLOOD_WAIT".into(),
        value: Some(secs),
        caused_by: None,
    })
}

#[test]
fn retry_policy_never_sleeps_on_flood_wait() {
    for secs in [1, 5, 59, 3600] {
        assert_eq!(
            ReconnectOnly.should_retry(&ctx(flood(secs), 1)),
            ControlFlow::Break(())
        );
    }
    let slow = InvocationError::Rpc(RpcError {
        code: 420,
        name: "SLOWMODE_WAIT".into(),
        value: Some(3),
        caused_by: None,
    });
    assert_eq!(
        ReconnectOnly.should_retry(&ctx(slow, 1)),
        ControlFlow::Break(())
    );
}

#[test]
fn retry_policy_retries_io_twice() {
    let io = || InvocationError::Io(std::io::ErrorKind::ConnectionReset.into());
    assert_eq!(
        ReconnectOnly.should_retry(&ctx(io(), 1)),
        ControlFlow::Continue(Duration::from_millis(500))
    );
    assert_eq!(
        ReconnectOnly.should_retry(&ctx(io(), 2)),
        ControlFlow::Continue(Duration::from_millis(1000))
    );
    assert_eq!(
        ReconnectOnly.should_retry(&ctx(io(), 3)),
        ControlFlow::Break(())
    );
    assert_eq!(
        ReconnectOnly.should_retry(&ctx(InvocationError::Dropped("x"), 1)),
        ControlFlow::Break(())
    );
}

#[tokio::test]
async fn grammers_panics_become_errors() {
    let r: Result<(), _> = contained("auth.sendCode", async {
        panic!("should not have logged in yet")
    })
    .await;
    assert!(
        matches!(r, Err(TelegramError::Rpc { code: 0, .. })),
        "{r:?}"
    );
    let ok = contained("x", async { Ok(5) }).await;
    assert_eq!(ok, Ok(5));
}

#[test]
fn resolved_peer_from_grammers_ids() {
    let chan = resolved(PeerId::channel(1_234_567_890).unwrap(), Some(-9), "News").unwrap();
    assert_eq!(
        (chan.peer_id, chan.kind, chan.access_hash),
        (-1_001_234_567_890, PeerKind::Channel, Some(-9))
    );
    let chat = resolved(PeerId::chat(42).unwrap(), Some(0), "G").unwrap();
    assert_eq!(
        (chat.peer_id, chat.kind, chat.access_hash),
        (-42, PeerKind::Chat, None)
    );
    let user = resolved(PeerId::user(777).unwrap(), Some(5), "Ann").unwrap();
    assert_eq!(
        (user.peer_id, user.kind, user.access_hash),
        (777, PeerKind::User, Some(5))
    );
    assert!(resolved(PeerId::self_user(), None, "").is_err());
    // And our send path builds the matching input peer again.
    assert!(send::input_peer(&chan).is_ok() && send::input_peer(&chat).is_ok());
}

struct NoStore;

fn no_media() -> Arc<dyn MediaSource> {
    Arc::new(crate::telegram::fake::MemoryMedia::default())
}

#[async_trait]
impl SessionStore for NoStore {
    async fn load_session(
        &self,
        _: i64,
    ) -> Result<Option<Vec<u8>>, super::super::SessionStoreError> {
        Ok(None)
    }
    async fn save_session(&self, _: i64, _: &[u8]) -> Result<(), super::super::SessionStoreError> {
        Ok(())
    }
    async fn clear_session(&self, _: i64) -> Result<(), super::super::SessionStoreError> {
        Ok(())
    }
}

#[test]
fn debug_hides_api_hash() {
    let m = LiveMessenger::new(
        12345,
        Secret::new("0123456789abcdef"),
        Arc::new(NoStore),
        no_media(),
    );
    let dbg = format!("{m:?}");
    assert!(
        !dbg.contains("0123456789abcdef") && dbg.contains("12345"),
        "{dbg}"
    );
}

#[tokio::test]
async fn login_steps_without_a_started_login_are_refused() {
    let m = LiveMessenger::new(1, Secret::new("h"), Arc::new(NoStore), no_media());
    let acct = AccountKey {
        id: 1,
        name: "a".into(),
    };
    assert_eq!(
        m.submit_code(&acct, &Secret::new("12345")).await,
        Err(TelegramError::NoLoginInProgress)
    );
    assert_eq!(
        m.submit_password(&acct, &Secret::new("pw")).await,
        Err(TelegramError::NoLoginInProgress)
    );
}

#[tokio::test]
async fn invite_links_fail_before_any_network() {
    let m = LiveMessenger::new(1, Secret::new("h"), Arc::new(NoStore), no_media());
    let acct = AccountKey {
        id: 1,
        name: "a".into(),
    };
    let err = m.resolve(&acct, "https://t.me/+abc").await.unwrap_err();
    assert!(err.to_string().contains("account chats"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn resolve_is_bounded() {
    // Paused time: the clock below is tokio's, advanced only by the timer.
    let started = tokio::time::Instant::now();
    let r: Result<(), _> =
        bounded("resolving a chat", RESOLVE_TIMEOUT, std::future::pending()).await;
    assert_eq!(started.elapsed(), RESOLVE_TIMEOUT, "given up at the limit");
    assert_eq!(
        r,
        Err(TelegramError::Transient(
            "resolving a chat took longer than 60s; will try again".into()
        ))
    );
    assert_eq!(bounded("x", RESOLVE_TIMEOUT, async { Ok(1) }).await, Ok(1));
}

/// A session store that counts saves.
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicUsize);

#[async_trait]
impl SessionStore for Counting {
    async fn load_session(
        &self,
        _: i64,
    ) -> Result<Option<Vec<u8>>, super::super::SessionStoreError> {
        Ok(None)
    }
    async fn save_session(&self, _: i64, _: &[u8]) -> Result<(), super::super::SessionStoreError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    async fn clear_session(&self, _: i64) -> Result<(), super::super::SessionStoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn shutdown_saves_and_stops_every_connection() {
    let store = Arc::new(Counting::default());
    let m = LiveMessenger::new(1, Secret::new("h"), store.clone(), no_media());
    let account = AccountKey {
        id: 7,
        name: "a".into(),
    };
    let slot = m.slot(&account);
    // Builds the client, its runner and its saver (no network until a call).
    let (_client, session) = m.conn(&slot, &account).await.unwrap();
    // A change the saver has to write (home DC 5 is nobody's default).
    grammers_session::Session::set_home_dc_id(&*session, 5)
        .await
        .unwrap();
    m.shutdown().await;
    assert!(slot.conn.lock().await.is_none(), "the connection is gone");
    assert_eq!(
        store.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one last save"
    );
}

#[tokio::test]
async fn release_drops_the_accounts_uploaded_files() {
    let m = LiveMessenger::new(1, Secret::new("h"), Arc::new(NoStore), no_media());
    let account = AccountKey {
        id: 3,
        name: "a".into(),
    };
    let slot = m.slot(&account);
    let photo = crate::telegram::Attachment {
        kind: crate::telegram::MediaKind::Photo,
        file_name: "a.png".into(),
        mime: "image/png".into(),
        size: 1,
        sha256: "ab".repeat(32),
    };
    slot.media
        .put(&photo, grammers_tl_types::enums::InputMedia::Empty);
    assert_eq!(slot.media.len(), 1);
    m.release(&account).await;
    assert_eq!(slot.media.len(), 0, "another node may send for it now");
}

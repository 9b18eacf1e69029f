//! Sessions at rest, on both backends: sealed round trips, the raw column
//! never in clear, another key reported and never overwritten, a blob moved
//! to another account refused, start-up sealing and re-sealing.

use super::*;
use crate::seal::{Keyring, SessionKey};
use crate::store::session_keys::Resealed;

fn key(n: u8) -> SessionKey {
    SessionKey::from_bytes([n; 32])
}

async fn account(store: &Store, name: &str) -> i64 {
    store
        .account_create(name, "+905321234567", 0)
        .await
        .unwrap()
        .id
}

/// (session bytes, key id) as stored.
async fn raw(store: &Store, id: i64) -> (Option<Vec<u8>>, Option<String>) {
    on_pool!(store, p => sqlx::query_as(
        "SELECT session, session_key_id FROM accounts WHERE id = $1"
    ).bind(id).fetch_one(p).await)
    .unwrap()
}

const PLAIN: &[u8] = b"{\"auth_key\":\"top secret auth key\"}";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn without_a_key_sessions_round_trip_in_clear(store: crate::store::Store) {
    let id = account(&store, "a").await;
    assert_eq!(store.load_session(id).await.unwrap(), None);
    store.save_session(id, &[1, 2, 3]).await.unwrap();
    assert_eq!(store.load_session(id).await.unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(raw(&store, id).await, (Some(vec![1, 2, 3]), None));
    store.clear_session(id).await.unwrap();
    assert_eq!(store.load_session(id).await.unwrap(), None);
}
crate::store::testing::per_backend!(without_a_key_sessions_round_trip_in_clear);

async fn with_a_key_the_column_holds_only_sealed_bytes(store: crate::store::Store) {
    let store = store.with_keys(Keyring::new(Some(key(1))));
    let id = account(&store, "a").await;
    store.save_session(id, PLAIN).await.unwrap();
    let (bytes, key_id) = raw(&store, id).await;
    let bytes = bytes.unwrap();
    assert!(
        !contains(&bytes, b"top secret"),
        "no session bytes in clear"
    );
    assert_eq!(key_id, Some(key(1).id().to_hex()));
    assert_eq!(
        store.load_session(id).await.unwrap().as_deref(),
        Some(PLAIN)
    );
    assert!(store.sealed_accounts().await.unwrap().is_empty());
    store.clear_session(id).await.unwrap();
    assert_eq!(raw(&store, id).await, (None, None));
}
crate::store::testing::per_backend!(with_a_key_the_column_holds_only_sealed_bytes);

async fn another_key_shows_sealed_and_nothing_is_overwritten(store: crate::store::Store) {
    let first = store.clone().with_keys(Keyring::new(Some(key(1))));
    let id = account(&first, "a").await;
    first.save_session(id, PLAIN).await.unwrap();
    let before = raw(&first, id).await;
    let other = store.clone().with_keys(Keyring::new(Some(key(2))));
    let err = other.load_session(id).await.unwrap_err().to_string();
    assert!(
        err.contains(&key(1).id().to_hex()) && err.contains("session_key"),
        "{err}"
    );
    assert_eq!(
        other.sealed_accounts().await.unwrap(),
        vec![("a".to_string(), key(1).id().to_hex())]
    );
    assert_eq!(
        other.accounts_by_state().await.unwrap(),
        vec![("sealed".to_string(), 1)]
    );
    assert_eq!(
        first.accounts_by_state().await.unwrap(),
        vec![("new".to_string(), 1)]
    );
    let row = other.account_by_id(id).await.unwrap();
    assert_eq!(row.sealed_key_id, Some(key(1).id().to_hex()));
    assert_eq!(first.account_by_id(id).await.unwrap().sealed_key_id, None);
    assert!(other.save_session(id, b"newer").await.is_err());
    assert_eq!(other.seal_plain_sessions().await.unwrap(), 0);
    assert_eq!(raw(&store, id).await, before, "nothing overwritten");
    assert_eq!(
        first.load_session(id).await.unwrap().as_deref(),
        Some(PLAIN)
    );
    let plain = store.clone();
    assert_eq!(
        plain.sealed_accounts().await.unwrap().len(),
        1,
        "no key at all"
    );
}
crate::store::testing::per_backend!(another_key_shows_sealed_and_nothing_is_overwritten);

async fn a_blob_copied_to_another_account_does_not_open(store: crate::store::Store) {
    let store = store.with_keys(Keyring::new(Some(key(1))));
    let a = account(&store, "a").await;
    let b = account(&store, "b").await;
    store.save_session(a, PLAIN).await.unwrap();
    let (bytes, key_id) = raw(&store, a).await;
    on_pool!(store, p => sqlx::query(
        "UPDATE accounts SET session = $1, session_key_id = $2 WHERE id = $3"
    ).bind(bytes).bind(key_id).bind(b).execute(p).await.map(|_| ()))
    .unwrap();
    let err = store.load_session(b).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("account {b}")) && err.contains("belongs to another account"),
        "{err}"
    );
    let broken = store.unopenable_sessions().await.unwrap();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].0, "b");
}
crate::store::testing::per_backend!(a_blob_copied_to_another_account_does_not_open);

async fn plain_sessions_are_sealed_at_once_and_rekey_resumes_after_a_crash(
    store: crate::store::Store,
) {
    let mut ids = Vec::new();
    for n in 0..4 {
        let id = account(&store, &format!("a{n}")).await;
        store.save_session(id, PLAIN).await.unwrap();
        ids.push(id);
    }
    let old = store.clone().with_keys(Keyring::new(Some(key(1))));
    assert_eq!(old.seal_plain_sessions().await.unwrap(), 4);
    assert_eq!(old.seal_plain_sessions().await.unwrap(), 0);
    for id in &ids {
        assert_eq!(raw(&store, *id).await.1, Some(key(1).id().to_hex()));
    }
    let rekey = store
        .clone()
        .with_keys(Keyring::new(Some(key(2))).with_older(key(1)));
    assert_eq!(rekey.sessions_to_reseal().await.unwrap(), 4);
    // Two rows, then the "crash": the run simply stops.
    let (first, step) = rekey.reseal_next(0).await.unwrap().unwrap();
    assert!(matches!(step, Resealed::Done { .. }), "{step:?}");
    rekey.reseal_next(first).await.unwrap().unwrap();
    assert_eq!(rekey.sessions_to_reseal().await.unwrap(), 2);
    // Started again from the beginning, it finishes the rest.
    let mut after = 0;
    let mut done = 0;
    while let Some((id, step)) = rekey.reseal_next(after).await.unwrap() {
        assert!(matches!(step, Resealed::Done { .. }), "{step:?}");
        after = id;
        done += 1;
    }
    assert_eq!(done, 2);
    let new = store.clone().with_keys(Keyring::new(Some(key(2))));
    for id in &ids {
        assert_eq!(new.load_session(*id).await.unwrap().as_deref(), Some(PLAIN));
    }
    assert_eq!(
        old.sealed_accounts().await.unwrap().len(),
        4,
        "the old key alone opens none"
    );
    // A session under a key neither has is left alone and named.
    let stranger = store.clone().with_keys(Keyring::new(Some(key(3))));
    let id = account(&store, "z").await;
    stranger.save_session(id, PLAIN).await.unwrap();
    let (_, step) = rekey.reseal_next(0).await.unwrap().unwrap();
    assert!(
        matches!(&step, Resealed::Failed { account, .. } if account == "z"),
        "{step:?}"
    );
}
crate::store::testing::per_backend!(
    plain_sessions_are_sealed_at_once_and_rekey_resumes_after_a_crash
);

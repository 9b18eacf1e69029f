//! Leases and Telegram sessions on a throwaway PostgreSQL: a stale owner's
//! session save changes nothing (issue 12, item 3), and a node that cannot
//! open an account's sealed session leaves its lease alone.

use std::collections::BTreeSet;

use super::tests::{add_accounts, held_ids, lease_row, manager, open, pg_url};
use crate::store::Pool;

/// Issue 12, item 3 for session bytes: a stale owner's save changes
/// nothing and drops the account; a node holding nothing writes only while
/// no other node holds the account (a login on a free account).
#[tokio::test]
async fn a_stale_owner_cannot_overwrite_the_session() {
    use crate::store::sessions::FencedSessions;
    use crate::telegram::SessionStore;
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    let id = add_accounts(&store, 1).await[0];
    let mut a = manager(&store, "a");
    assert!(a.turn().await);
    let epoch = a.leases().held(id).unwrap();
    let sessions = FencedSessions {
        store: store.clone(),
        leases: a.leases().clone(),
    };
    sessions.save_session(id, b"from a").await.unwrap();
    assert_eq!(store.load_session(id).await.unwrap().unwrap(), b"from a");
    // Another node takes the account over (A has not noticed yet).
    let Pool::Postgres(p) = store.pool() else {
        unreachable!()
    };
    sqlx::query("UPDATE account_leases SET owner = 'b', epoch = epoch + 1 WHERE account_id = $1")
        .bind(id)
        .execute(p)
        .await
        .unwrap();
    let err = sessions.save_session(id, b"stale").await.unwrap_err();
    assert!(err.to_string().contains("not saved"), "{err}");
    assert_eq!(
        store.load_session(id).await.unwrap().unwrap(),
        b"from a",
        "the stale owner's save changed nothing"
    );
    assert_eq!(a.leases().held(id), None, "and it dropped the account");
    assert_ne!(epoch, lease_row(&store, id).await.1);
    // Holding nothing, A still may not write while B holds the account ...
    assert!(sessions.save_session(id, b"login on a").await.is_err());
    assert_eq!(store.load_session(id).await.unwrap().unwrap(), b"from a");
    // ... but may once nobody holds it (a login on a free account).
    sqlx::query("UPDATE account_leases SET owner = NULL, expires_at = 0")
        .execute(p)
        .await
        .unwrap();
    sessions.save_session(id, b"login on a").await.unwrap();
    assert_eq!(
        store.load_session(id).await.unwrap().unwrap(),
        b"login on a"
    );
}

/// A node whose session key cannot open an account's session leaves that
/// account's lease to a node that can.
#[tokio::test]
async fn a_node_without_the_key_does_not_take_a_sealed_account() {
    use crate::seal::{Keyring, SessionKey};
    use crate::telegram::SessionStore;
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    let ids = add_accounts(&store, 2).await;
    let keyed = store
        .clone()
        .with_keys(Keyring::new(Some(SessionKey::from_bytes([1; 32]))));
    keyed.save_session(ids[0], b"sealed").await.unwrap();
    let other = store
        .clone()
        .with_keys(Keyring::new(Some(SessionKey::from_bytes([2; 32]))));
    let mut b = manager(&other, "b");
    assert!(b.turn().await);
    assert_eq!(
        held_ids(&b),
        BTreeSet::from([ids[1]]),
        "only the one it can open"
    );
    let mut a = manager(&keyed, "a");
    assert!(a.turn().await);
    assert_eq!(held_ids(&a), BTreeSet::from([ids[0]]));
}

//! Test support: run a store test against a fresh SQLite file and a fresh
//! database in the throwaway PostgreSQL cluster of `microbot-tests`.

use std::future::Future;

use super::Store;

/// An SQLite store in a temp dir (kept alive by the returned guard).
pub async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

/// A store on a fresh PostgreSQL database, or `None` where PostgreSQL is
/// not installed and this is not CI (the harness says so loudly).
pub async fn postgres() -> Option<Store> {
    let url = microbot_tests::pg::fresh_database_url()?;
    let store = Store::open(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

/// Runs `test` on SQLite, then on PostgreSQL.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let (store, _dir) = sqlite().await;
    test(store.clone()).await;
    store.close().await;
    if let Some(store) = postgres().await {
        test(store.clone()).await;
        store.close().await;
    }
}

//! Test support: run a store test against a fresh SQLite file and a fresh
//! database in the throwaway PostgreSQL cluster of `microbot-tests`.

use super::Store;

/// An SQLite store in a temp dir (kept alive by the returned guard).
pub async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

/// A store on a fresh PostgreSQL database, or `None` where the operator
/// opted out of the PostgreSQL tests (`MICROBOT_NO_POSTGRES=1`).
pub async fn postgres() -> Option<Store> {
    let url = microbot_tests::pg::fresh_database_url()?;
    let store = Store::open(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

/// Declares, for each `async fn name(store: Store)`, the tests
/// `name::sqlite` and `name::postgres`, each on a fresh store of its
/// backend: a failure names its backend and one never hides the other. The
/// PostgreSQL test fails where PostgreSQL is missing, unless the operator
/// opted out with `MICROBOT_NO_POSTGRES=1`.
macro_rules! per_backend {
    ($($(#[$attr:meta])* $name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            $(#[$attr])*
            async fn sqlite() {
                let (store, _dir) = $crate::store::testing::sqlite().await;
                super::$name(store.clone()).await;
                store.close().await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn postgres() {
                let Some(store) = $crate::store::testing::postgres().await else {
                    return microbot_tests::pg::say_skipped(stringify!($name));
                };
                super::$name(store.clone()).await;
                store.close().await;
            }
        }
    )+};
}
pub(crate) use per_backend;

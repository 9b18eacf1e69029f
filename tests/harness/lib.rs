//! Test harness shared by every end-to-end test and by the daemon's store
//! tests: [`pg`] (a throwaway PostgreSQL cluster) and [`daemon`] (the real
//! `microbotd` binary on a temp socket, driven by the real `microbotctl`),
//! [`proxy`] (a TCP link to PostgreSQL a test can cut), [`live`] (that
//! daemon in live mode, talking to the test MTProto server) and [`seal`]
//! (session key files and the sealed session format).

pub mod certs;
pub mod daemon;
pub mod live;
pub mod pg;
pub mod proxy;
pub mod seal;

/// The test MTProto server, for the daemon's own tests of its live
/// transport (`microbotd/src/telegram/live/media_wire_tests.rs`).
pub use mtproto_test_server;

/// True under CI (`CI=true`), where missing prerequisites fail instead of skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Declares, for each `fn name(db: Db)`, the tests `name::sqlite` and
/// `name::postgres`: each backend is its own test, so a failure names its
/// backend and one backend never hides the other. The PostgreSQL test fails
/// where PostgreSQL is missing, unless `MICROBOT_NO_POSTGRES=1`.
#[macro_export]
macro_rules! per_backend {
    ($($(#[$attr:meta])* $name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            $(#[$attr])*
            fn sqlite() {
                super::$name($crate::daemon::Db::Sqlite)
            }

            #[test]
            $(#[$attr])*
            fn postgres() {
                if $crate::pg::cluster().is_none() {
                    return $crate::pg::say_skipped(stringify!($name));
                }
                super::$name($crate::daemon::Db::Postgres)
            }
        }
    )+};
}

/// Declares, for each `fn name(src: Db, dst: Db)`, the tests
/// `name::sqlite_to_sqlite`, `…::sqlite_to_postgres`, `…::postgres_to_sqlite`
/// and `…::postgres_to_postgres` (backups restored across backends), each
/// its own test like [`per_backend!`]'s.
#[macro_export]
macro_rules! per_backend_pair {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use $crate::daemon::Db;

            fn run(src: Db, dst: Db, test: &str) {
                let wants_pg = src == Db::Postgres || dst == Db::Postgres;
                if wants_pg && $crate::pg::cluster().is_none() {
                    return $crate::pg::say_skipped(test);
                }
                super::$name(src, dst)
            }

            #[test]
            fn sqlite_to_sqlite() {
                run(Db::Sqlite, Db::Sqlite, "sqlite_to_sqlite");
            }

            #[test]
            fn sqlite_to_postgres() {
                run(Db::Sqlite, Db::Postgres, "sqlite_to_postgres");
            }

            #[test]
            fn postgres_to_sqlite() {
                run(Db::Postgres, Db::Sqlite, "postgres_to_sqlite");
            }

            #[test]
            fn postgres_to_postgres() {
                run(Db::Postgres, Db::Postgres, "postgres_to_postgres");
            }
        }
    )+};
}

/// True when this process may switch users (root), for the tests that run
/// `microbotctl` as another user. Not root is a failure, unless the
/// operator opted out with `MICROBOT_NO_ROOT=1`: then the test says it
/// skipped (and returns false).
pub fn root_or_opted_out(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let out = std::env::var("MICROBOT_NO_ROOT").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        out && !in_ci(),
        "{test} switches users: run the tests as root, or opt out with MICROBOT_NO_ROOT=1"
    );
    eprintln!("SKIPPED {test}: not root and MICROBOT_NO_ROOT is set");
    false
}

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

/// True under CI (`CI=true`), where missing prerequisites fail instead of skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

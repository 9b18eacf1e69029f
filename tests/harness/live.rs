//! [`Live`]: the real `microbotd` in `live` mode wired to the test MTProto
//! server (`tests/mtproto-server`) on loopback.
//!
//! Wiring: after `account add`, the account's stored session (the
//! `accounts.session` column, the JSON snapshot of
//! `microbotd/src/telegram/live/session.rs`) is seeded with data centre 2 at
//! the server's address and an auth key the server knows. grammers trusts
//! only Telegram's RSA keys, so no key exchange can happen with a test
//! server; a seeded session is what a client that once exchanged keys holds.
//! Live mode seals sessions at rest, so each `Live` has a session key file
//! and seeds sessions sealed under it ([`crate::seal`]).
//! Nothing in the daemon knows about the test server.

use std::process::Output;
use std::time::{Duration, Instant};

use mtproto_test_server::MtprotoServer;

use crate::daemon::{Db, TestDaemon};
use crate::seal::{KeyFile, stored_sessions, write_session};

/// The login code the test server accepts.
pub const CODE: &str = "24680";
/// The 2FA password of the test server's account (when it has one).
pub const PASSWORD: &str = "correct horse battery";
pub const PHONE: &str = "+905321234567";

/// The `[telegram]` section of a live-mode test daemon.
pub fn telegram_config(extra: &str) -> String {
    format!(
        "[telegram]\nmode = \"live\"\napi_id = 12345\napi_hash = \"0123456789abcdef0123456789abcdef\"\n\
         rate_limit_per_minute = 6000\n{extra}\n"
    )
}

pub struct Live {
    pub server: MtprotoServer,
    pub daemon: TestDaemon,
    /// The daemon's session key (`telegram.session_key_file`).
    pub key: KeyFile,
    _key_dir: tempfile::TempDir,
}

impl Live {
    /// The server (with 2FA when `password`) and a live daemon on `db`.
    pub fn start(db: Db, password: Option<&str>) -> Live {
        Self::start_with(db, password, "")
    }

    /// Like [`Live::start`], with extra `[telegram]` keys.
    pub fn start_with(db: Db, password: Option<&str>, telegram_extra: &str) -> Live {
        let server = MtprotoServer::start(CODE, password);
        let key_dir = tempfile::tempdir().unwrap();
        let key = KeyFile::random(key_dir.path(), "session.key");
        let extra = format!("{}{telegram_extra}", key.config_line());
        let daemon = TestDaemon::builder(db)
            .config(&telegram_config(&extra))
            .start();
        Live {
            server,
            daemon,
            key,
            _key_dir: key_dir,
        }
    }

    /// `account add NAME` and the session seeded to reach the server.
    pub fn add_account(&self, name: &str) {
        self.daemon
            .ctl_ok(&["account", "add", name, "--phone", PHONE]);
        self.seed_session(name, &self.server.dc_option());
    }

    /// Stores a session whose home DC (2) is `dc` for account `name`,
    /// sealed under the daemon's key.
    pub fn seed_session(&self, name: &str, dc: &grammers_session::types::DcOption) {
        let snapshot = serde_json::json!({
            "version": 1,
            "home_dc": 2,
            "dc_options": [dc],
            "peers": [],
            "updates": { "pts": 0, "qts": 0, "date": 0, "seq": 0, "channels": [] },
        });
        let bytes = serde_json::to_vec(&snapshot).unwrap();
        let id = stored_sessions(&self.daemon.db_url)
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no account {name}"))
            .id;
        let sealed = self.key.seal(id, &bytes);
        write_session(&self.daemon.db_url, name, &sealed, Some(&self.key.id()));
    }

    /// `account login NAME` with the code (and password lines) piped in.
    pub fn login(&self, name: &str, answers: &[&str]) -> Output {
        let mut input = String::new();
        for a in answers {
            input.push_str(a);
            input.push('\n');
        }
        self.daemon.ctl_stdin(&["account", "login", name], &input)
    }

    /// Adds and logs in an account on a server without 2FA.
    pub fn logged_in(&self, name: &str) {
        self.add_account(name);
        let out = self.login(name, &[CODE]);
        assert!(
            out.status.success(),
            "login: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.daemon.log()
        );
    }

    /// Waits until `check` holds, failing with the daemon log after `secs`.
    pub fn wait_for(&self, what: &str, secs: u64, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; server calls {:?}\n{}",
                self.server.calls(),
                self.daemon.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The deliveries rows as stored (random_id is not shown by the CLI).
    pub fn deliveries(&self) -> Vec<db::Delivery> {
        db::deliveries(&self.daemon.db_url)
    }
}

impl Drop for Live {
    /// Every test also proves the daemon kept MTProto's msg_id / seq_no
    /// rules (unless it failed already: no double panic).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let errors = self.server.lock().protocol_errors.clone();
            assert!(errors.is_empty(), "MTProto rules broken: {errors:?}");
        }
    }
}

/// Direct database access for what the CLI does not show.
pub mod db {
    use sqlx::Row;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Delivery {
        pub id: i64,
        pub target: String,
        pub state: String,
        pub random_id: i64,
        pub message_id: Option<i64>,
        pub attempts: i64,
        pub last_error: Option<String>,
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// One statement with a bytes and a text parameter; rows affected.
    pub fn exec(url: &str, sql: &'static str, bytes: &[u8], text: &str) -> u64 {
        rt().block_on(async {
            if url.starts_with("sqlite:") {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                let n = sqlx::query(sql)
                    .bind(bytes)
                    .bind(text)
                    .execute(&pool)
                    .await
                    .unwrap()
                    .rows_affected();
                pool.close().await;
                n
            } else {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let n = sqlx::query(sql)
                    .bind(bytes)
                    .bind(text)
                    .execute(&pool)
                    .await
                    .unwrap()
                    .rows_affected();
                pool.close().await;
                n
            }
        })
    }

    const DELIVERIES: &str = "SELECT d.id, t.spec, d.state, d.random_id, d.message_id, \
         d.attempts, d.last_error FROM deliveries d JOIN targets t ON t.id = d.target_id \
         ORDER BY d.id";

    macro_rules! rows {
        ($rows:expr) => {
            $rows
                .iter()
                .map(|r| Delivery {
                    id: r.get(0),
                    target: r.get(1),
                    state: r.get(2),
                    random_id: r.get(3),
                    message_id: r.get(4),
                    attempts: r.get(5),
                    last_error: r.get(6),
                })
                .collect()
        };
    }

    pub fn deliveries(url: &str) -> Vec<Delivery> {
        rt().block_on(async {
            if url.starts_with("sqlite:") {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                let rows = sqlx::query(DELIVERIES).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows!(rows)
            } else {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let rows = sqlx::query(DELIVERIES).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows!(rows)
            }
        })
    }
}

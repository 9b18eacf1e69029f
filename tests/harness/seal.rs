//! Sealed sessions as the tests see them: a session key file, and the
//! sealed format written out again independently of the daemon (docs:
//! `microbotd/src/seal/mod.rs`) — `0x01 | key id (8) | nonce (12) |
//! ChaCha20-Poly1305(session)`, associated data = the header and the
//! account id (8 bytes, big-endian); the key id is the first 8 bytes of
//! SHA-256("microbot session key id v1\0" || key). Plus raw reads of the
//! `accounts` rows, for tests that look for session bytes in clear.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// A 32-byte session key in a mode-0600 file.
#[derive(Debug, Clone)]
pub struct KeyFile {
    pub path: PathBuf,
    pub key: [u8; 32],
}

impl KeyFile {
    /// A random key written to `dir/name`.
    pub fn random(dir: &Path, name: &str) -> KeyFile {
        let mut key = [0u8; 32];
        SystemRandom::new().fill(&mut key).unwrap();
        Self::write(dir, name, key)
    }

    pub fn write(dir: &Path, name: &str, key: [u8; 32]) -> KeyFile {
        let path = dir.join(name);
        std::fs::write(&path, key).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        KeyFile { path, key }
    }

    /// The `[telegram]` line naming this file.
    pub fn config_line(&self) -> String {
        format!("session_key_file = {:?}\n", self.path.display().to_string())
    }

    /// The 16 hex digits `microbotd` names this key by.
    pub fn id(&self) -> String {
        key_id(&self.key)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `plain` sealed for account `account_id` under this key.
    pub fn seal(&self, account_id: i64, plain: &[u8]) -> Vec<u8> {
        let mut header = vec![1u8];
        header.extend_from_slice(&key_id(&self.key));
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).unwrap();
        let mut body = plain.to_vec();
        aead(&self.key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated(&header, account_id)),
                &mut body,
            )
            .unwrap();
        let mut out = header;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        out
    }

    /// Opens a blob sealed for `account_id`; `None` when it does not open.
    pub fn open(&self, account_id: i64, blob: &[u8]) -> Option<Vec<u8>> {
        if blob.len() < 9 + NONCE_LEN + 16 || blob[1..9] != key_id(&self.key) {
            return None;
        }
        let (header, rest) = blob.split_at(9);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let mut body = body.to_vec();
        aead(&self.key)
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).ok()?,
                Aad::from(associated(header, account_id)),
                &mut body,
            )
            .ok()
            .map(|p| p.to_vec())
    }
}

fn key_id(key: &[u8; 32]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(b"microbot session key id v1\0");
    h.update(key);
    h.finalize()[..8].try_into().unwrap()
}

fn associated(header: &[u8], account_id: i64) -> Vec<u8> {
    let mut ad = header.to_vec();
    ad.extend_from_slice(&account_id.to_be_bytes());
    ad
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).unwrap())
}

/// One `accounts` row's session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub id: i64,
    pub name: String,
    pub session: Option<Vec<u8>>,
    pub key_id: Option<String>,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const SESSIONS: &str = "SELECT id, name, session, session_key_id FROM accounts ORDER BY name";

/// Every account's stored session, straight from the database.
pub fn stored_sessions(url: &str) -> Vec<StoredSession> {
    macro_rules! rows {
        ($rows:expr) => {
            $rows
                .iter()
                .map(|r| StoredSession {
                    id: r.get(0),
                    name: r.get(1),
                    session: r.get(2),
                    key_id: r.get(3),
                })
                .collect()
        };
    }
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let rows = sqlx::query(SESSIONS).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows!(rows)
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows = sqlx::query(SESSIONS).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows!(rows)
        }
    })
}

/// Writes `session` and `key_id` into account `name`'s row as they are.
pub fn write_session(url: &str, name: &str, session: &[u8], key_id: Option<&str>) {
    const SQL: &str = "UPDATE accounts SET session = $1, session_key_id = $2 WHERE name = $3";
    let n = rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let q = sqlx::query(SQL).bind(session).bind(key_id).bind(name);
            let n = q.execute(&pool).await.unwrap().rows_affected();
            pool.close().await;
            n
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let q = sqlx::query(SQL).bind(session).bind(key_id).bind(name);
            let n = q.execute(&pool).await.unwrap().rows_affected();
            pool.close().await;
            n
        }
    });
    assert_eq!(n, 1, "writing the session of {name}");
}

/// Whether `needle` occurs anywhere in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

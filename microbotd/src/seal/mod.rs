//! Telegram sessions sealed at rest: an MTProto session is the account, so
//! the database (and every backup, replica or dump of it) holds it only
//! encrypted under a key that lives outside the database.
//!
//! * [`SessionKey`] (in [`key`]): 32 bytes from the systemd credential
//!   `session_key` or `telegram.session_key_file`; its [`KeyId`] is a
//!   fingerprint, so every node given the same key agrees on the id
//!   without configuring one.
//! * [`Keyring`]: the key new blobs are sealed under, plus older keys that
//!   are only read (`microbotd rekey` holds the old and the new).
//!
//! Sealed format (version 1), stored in `accounts.session` with the key id
//! also in `accounts.session_key_id` (so SQL can tell which rows a node can
//! open without decrypting):
//!
//! ```text
//! 0x01 | key id (8 bytes) | nonce (12 bytes) | ChaCha20-Poly1305 ciphertext + tag
//! ```
//!
//! The associated data is the header (version and key id) followed by the
//! account id as 8 big-endian bytes: a blob copied into another account's
//! row does not open. The nonce is random per write.

pub mod key;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

pub use key::{KeyId, SessionKey};

/// The first byte of a sealed blob.
pub const FORMAT_V1: u8 = 1;
const HEADER_LEN: usize = 1 + KeyId::LEN;
const TAG_LEN: usize = 16;

/// Why a stored session does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "session sealed under key {0}, which this daemon does not have \
         (give it the systemd credential session_key or telegram.session_key_file)"
    )]
    KeyUnavailable(KeyId),
    #[error(
        "session does not open under key {0} for this account: the sealed blob belongs to \
         another account or was altered"
    )]
    Rejected(KeyId),
    #[error("session is not a sealed blob (unknown format or truncated)")]
    Malformed,
    #[error("sealing failed (no system randomness)")]
    Random,
}

/// The keys this process holds. Cheap to clone.
#[derive(Clone, Default, Debug)]
pub struct Keyring {
    /// New blobs are sealed under this one; `None` stores sessions plain
    /// (dry-run without a key, or `telegram.allow_plain_sessions`).
    current: Option<SessionKey>,
    /// Read only: blobs under these still open.
    older: Vec<SessionKey>,
}

impl Keyring {
    /// Seals under `current` (when given) and opens under it.
    pub fn new(current: Option<SessionKey>) -> Keyring {
        Keyring {
            current,
            older: Vec::new(),
        }
    }

    /// Also opens blobs sealed under `old` (rotation).
    pub fn with_older(mut self, old: SessionKey) -> Keyring {
        if self.current.as_ref().map(SessionKey::id) != Some(old.id()) {
            self.older.push(old);
        }
        self
    }

    /// The id new blobs get, `None` when sessions are stored plain.
    pub fn current_id(&self) -> Option<KeyId> {
        self.current.as_ref().map(SessionKey::id)
    }

    /// Every key id this ring can open.
    pub fn ids(&self) -> Vec<KeyId> {
        self.current
            .iter()
            .chain(&self.older)
            .map(SessionKey::id)
            .collect()
    }

    pub fn can_open(&self, id: &KeyId) -> bool {
        self.find(id).is_some()
    }

    fn find(&self, id: &KeyId) -> Option<&SessionKey> {
        self.current
            .iter()
            .chain(&self.older)
            .find(|k| k.id() == *id)
    }

    /// Seals `plain` for `account_id` under the current key; `None` when
    /// this ring has no current key (sessions stay plain).
    pub fn seal(&self, account_id: i64, plain: &[u8]) -> Result<Option<Sealed>, SealError> {
        let Some(key) = &self.current else {
            return Ok(None);
        };
        seal_with(key, account_id, plain).map(Some)
    }

    /// Opens a blob stored for `account_id`.
    pub fn open(&self, account_id: i64, blob: &[u8]) -> Result<Vec<u8>, SealError> {
        let id = blob_key_id(blob).ok_or(SealError::Malformed)?;
        let key = self.find(&id).ok_or(SealError::KeyUnavailable(id))?;
        if blob.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (header, rest) = blob.split_at(HEADER_LEN);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut in_out = body.to_vec();
        let plain = aead_key(key)
            .open_in_place(
                nonce,
                Aad::from(associated(header, account_id)),
                &mut in_out,
            )
            .map_err(|_| SealError::Rejected(id))?;
        Ok(plain.to_vec())
    }
}

/// A sealed blob and the id of the key it is sealed under.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: KeyId,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The key id a sealed blob names, `None` when it is not one.
pub fn blob_key_id(blob: &[u8]) -> Option<KeyId> {
    match blob {
        [FORMAT_V1, rest @ ..] if rest.len() >= KeyId::LEN => {
            KeyId::from_bytes(&rest[..KeyId::LEN])
        }
        _ => None,
    }
}

fn seal_with(key: &SessionKey, account_id: i64, plain: &[u8]) -> Result<Sealed, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Random)?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.push(FORMAT_V1);
    header.extend_from_slice(key.id().as_bytes());
    let mut in_out = plain.to_vec();
    aead_key(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated(&header, account_id)),
            &mut in_out,
        )
        .map_err(|_| SealError::Random)?;
    let mut bytes = header;
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&in_out);
    Ok(Sealed {
        key_id: key.id(),
        bytes,
    })
}

fn associated(header: &[u8], account_id: i64) -> Vec<u8> {
    let mut ad = header.to_vec();
    ad.extend_from_slice(&account_id.to_be_bytes());
    ad
}

fn aead_key(key: &SessionKey) -> LessSafeKey {
    // 32 bytes is exactly ChaCha20-Poly1305's key length, checked at load.
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key.bytes()).expect("32-byte key"))
}

#[cfg(test)]
mod tests;

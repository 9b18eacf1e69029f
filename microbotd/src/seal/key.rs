//! [`SessionKey`]: the 32-byte session key, read from a file (the systemd
//! credential `session_key` or `telegram.session_key_file`), and its
//! [`KeyId`]. Neither `Debug` nor any error shows the key itself.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The systemd credential the key is read from (`$CREDENTIALS_DIRECTORY/session_key`).
pub const CREDENTIAL: &str = "session_key";

/// Bytes a key file holds (or twice as many hex digits).
pub const KEY_LEN: usize = 32;

/// A key's public name: the first 8 bytes of SHA-256 over a fixed label
/// and the key, shown as 16 hex digits. Nodes with the same key agree on
/// it; it says nothing usable about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KeyId::LEN]);

impl KeyId {
    pub const LEN: usize = 8;

    pub fn from_bytes(b: &[u8]) -> Option<KeyId> {
        b.try_into().ok().map(KeyId)
    }

    pub fn as_bytes(&self) -> &[u8; KeyId::LEN] {
        &self.0
    }

    /// The 16 hex digits stored in `accounts.session_key_id`.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn parse(hex: &str) -> Option<KeyId> {
        let bytes = decode_hex(hex)?;
        KeyId::from_bytes(&bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// The key itself. Cheap to clone; `Debug` shows only the id.
#[derive(Clone)]
pub struct SessionKey {
    bytes: [u8; KEY_LEN],
    id: KeyId,
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey(id {})", self.id)
    }
}

impl SessionKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SessionKey {
        let mut h = Sha256::new();
        h.update(b"microbot session key id v1\0");
        h.update(bytes);
        let digest = h.finalize();
        let mut id = [0u8; KeyId::LEN];
        id.copy_from_slice(&digest[..KeyId::LEN]);
        SessionKey {
            bytes,
            id: KeyId(id),
        }
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(super) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// Reads a key file: 32 raw bytes, or 64 hex digits (a trailing newline
    /// is fine). With `check_mode`, a file group or others may read is
    /// refused (systemd's credential directory is private already).
    pub fn from_file(path: &Path, check_mode: bool) -> Result<SessionKey, String> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{shown} is not a regular file"));
        }
        let mode = meta.permissions().mode() & 0o777;
        if check_mode && mode & 0o077 != 0 {
            return Err(format!(
                "{shown} is readable by group or others (mode {mode:04o}); chmod 0600 it"
            ));
        }
        if meta.len() > 1024 {
            return Err(format!("{shown} is not a session key (too large)"));
        }
        let raw = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        Self::parse(&raw).ok_or_else(|| {
            format!(
                "{shown} must hold exactly {KEY_LEN} random bytes (create one with: \
                 head -c {KEY_LEN} /dev/urandom > FILE) or {} hex digits",
                KEY_LEN * 2
            )
        })
    }

    /// Whether a credential's content means "not set": systemd 252 supplies
    /// a lone newline (`SetCredential=`) when the credential file is missing.
    pub fn is_unset(raw: &[u8]) -> bool {
        raw.iter().all(u8::is_ascii_whitespace)
    }

    fn parse(raw: &[u8]) -> Option<SessionKey> {
        if let Ok(bytes) = <[u8; KEY_LEN]>::try_from(raw) {
            return Some(Self::from_bytes(bytes));
        }
        let text = std::str::from_utf8(raw).ok()?.trim();
        let bytes = decode_hex(text)?;
        Some(Self::from_bytes(bytes.try_into().ok()?))
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

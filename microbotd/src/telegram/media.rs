//! Attachments as they cross the [`Messenger`](super::Messenger) trait:
//! what a file is (kind, name, MIME type, size, SHA-256), never its bytes.
//! A transport that needs the bytes (to upload them once per account) asks
//! its [`MediaSource`] by digest, so the dry-run and an already-uploaded
//! file cost no database read at send time.
//!
//! An album's items each need their own `random_id`; they are derived from
//! the delivery's committed `random_id` by [`album_random_id`], a fixed
//! function, so every item's id is decided when the delivery row commits
//! and a resend after a crash repeats all of them.

use std::sync::Arc;

use async_trait::async_trait;

use super::TelegramError;

/// How Telegram shows a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Compressed and shown inline as a picture.
    Photo,
    /// Shown as a playable video.
    Video,
    /// Sent as a file, unchanged.
    Document,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Photo => "photo",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "photo" => Some(MediaKind::Photo),
            "video" => Some(MediaKind::Video),
            "document" => Some(MediaKind::Document),
            _ => None,
        }
    }
}

/// One file sent with a message, described by content; `sha256` (lower-case
/// hex) names its bytes in the database's `media` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub kind: MediaKind,
    /// The file's name as the operator gave it (no directories).
    pub file_name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

/// The `random_id` of item `index` of an album sent under the delivery's
/// committed `random_id`. Item 0 uses the delivery's own id; the others are
/// a SplitMix64 step away, so they are as unlikely to collide as the ids
/// themselves. Never change this function: a resend after an upgrade must
/// repeat the ids of the first attempt for Telegram to de-duplicate it.
pub fn album_random_id(random_id: i64, index: usize) -> i64 {
    if index == 0 {
        return random_id;
    }
    let mut z =
        (random_id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(index as u64));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as i64
}

/// Where a transport reads an attachment's bytes. The daemon's source is
/// the database; tests use `fake::MemoryMedia`.
#[async_trait]
pub trait MediaSource: Send + Sync + 'static {
    /// The bytes stored under `sha256`. A digest that is not stored is
    /// [`TelegramError::MediaMissing`]: the delivery fails with that reason.
    async fn load(&self, sha256: &str) -> Result<Arc<[u8]>, TelegramError>;
}

/// Lower-case hex SHA-256 of `bytes`, the name media is stored under.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn album_ids_are_fixed_and_distinct() {
        let ids: Vec<i64> = (0..10).map(|i| album_random_id(42, i)).collect();
        assert_eq!(ids[0], 42);
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        // Pinned values: a change here breaks de-duplication of resends
        // made by an older daemon.
        assert_eq!(album_random_id(0, 1), -2_152_535_657_050_944_081);
    }

    #[test]
    fn sha256_is_hex_of_the_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! [`MemoryMedia`]: a [`MediaSource`] holding attachment bytes in memory,
//! for tests of the transports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::telegram::TelegramError;
use crate::telegram::media::{MediaSource, sha256_hex};

/// Bytes held in memory, by digest.
#[derive(Debug, Default)]
pub struct MemoryMedia {
    files: Mutex<HashMap<String, Arc<[u8]>>>,
}

impl MemoryMedia {
    /// Stores `bytes` and returns their lower-case hex SHA-256.
    pub fn insert(&self, bytes: &[u8]) -> String {
        let digest = sha256_hex(bytes);
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.clone(), Arc::from(bytes));
        digest
    }
}

#[async_trait]
impl MediaSource for MemoryMedia {
    async fn load(&self, sha256: &str) -> Result<Arc<[u8]>, TelegramError> {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sha256)
            .cloned()
            .ok_or_else(|| TelegramError::MediaMissing {
                sha256: sha256.to_owned(),
            })
    }
}

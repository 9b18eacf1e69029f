//! What the dry run records of a message's attachments: each file's kind
//! and name, and the SHA-256 and length of the bytes it loaded from its
//! [`MediaSource`] — computed from those bytes, so a ledger line proves the
//! database really held them. Each digest is loaded and hashed once per
//! process: a file's bytes never change under their name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::LedgerAttachment;
use crate::telegram::media::sha256_hex;
use crate::telegram::{Attachment, MediaSource, TelegramError};

#[derive(Default)]
pub(super) struct Loader {
    /// None: a send with attachments fails (the bytes cannot be had).
    source: Option<Arc<dyn MediaSource>>,
    /// Stored digest → (digest, length) of the bytes loaded under it.
    verified: Mutex<HashMap<String, (String, u64)>>,
}

impl Loader {
    pub(super) fn new(source: Arc<dyn MediaSource>) -> Self {
        Loader {
            source: Some(source),
            verified: Mutex::default(),
        }
    }

    fn known(&self, sha256: &str) -> Option<(String, u64)> {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sha256)
            .cloned()
    }

    /// Each attachment as the ledger records it.
    pub(super) async fn loaded(
        &self,
        list: &[Attachment],
    ) -> Result<Vec<LedgerAttachment>, TelegramError> {
        let mut out = Vec::with_capacity(list.len());
        for a in list {
            let (sha256, size) = match self.known(&a.sha256) {
                Some(known) => known,
                None => {
                    let source =
                        self.source
                            .as_ref()
                            .ok_or_else(|| TelegramError::MediaMissing {
                                sha256: a.sha256.clone(),
                            })?;
                    let bytes = source.load(&a.sha256).await?;
                    let known = (sha256_hex(&bytes), bytes.len() as u64);
                    self.verified
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(a.sha256.clone(), known.clone());
                    known
                }
            };
            out.push(LedgerAttachment {
                kind: a.kind.as_str().to_owned(),
                file_name: a.file_name.clone(),
                sha256,
                size,
            });
        }
        Ok(out)
    }
}

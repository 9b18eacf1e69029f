//! What a template's send options ask for once its message is sent: pin
//! it, and delete the message the template sent to that chat before
//! (`replace-previous`). Both come after the send and never undo it: a
//! failure becomes a note on the delivery (its `last_error`), the delivery
//! stays `sent`.
//!
//! A repeat after a crash (the send de-duplicated by its `random_id`)
//! repeats them too; pinning a pinned message and deleting a deleted one
//! change nothing.

use std::time::Duration;

use super::Worker;
use crate::scheduler::queue::Queued;
use crate::telegram::{AccountKey, ResolvedPeer, SentRef, TelegramError};

/// A pin or delete that takes longer than this has failed.
const FOLLOW_UP_TIMEOUT: Duration = Duration::from_secs(20);

impl Worker {
    /// Pins and replaces as `r`'s options say; returns the note to keep on
    /// the delivery when something failed. `album_ids` are the sent
    /// album's other items (an album is pinned by its first; replacing it
    /// later deletes every item).
    pub(super) async fn follow_up(
        &mut self,
        key: &AccountKey,
        r: &Queued,
        peer: &ResolvedPeer,
        message_id: i64,
        album_ids: &[i64],
    ) -> Option<String> {
        let mut notes = Vec::new();
        let sent = SentRef {
            peer,
            chat_label: &r.target.spec,
            message_id,
        };
        if r.options.pin {
            let notify = r.options.pin_notify;
            let call = self.ctx.messenger.pin_message(key, &sent, notify);
            if let Err(e) = self.bounded(call).await {
                tracing::warn!(account = %key.name, chat = %r.target.spec, message_id, error = %e, "sent, but not pinned");
                notes.push(format!("sent, but not pinned: {e}"));
            }
        }
        if r.options.replace_previous {
            let cell = (r.template_id, r.target.target_id);
            match self.previous(r).await {
                Ok(Some(ids)) if ids.first() != Some(&message_id) => {
                    // Every item of a previous album, in order.
                    for previous in ids {
                        let old = SentRef {
                            message_id: previous,
                            ..sent.clone()
                        };
                        let call = self.ctx.messenger.delete_message(key, &old);
                        match self.bounded(call).await {
                            Ok(()) => {
                                tracing::info!(account = %key.name, chat = %r.target.spec, previous, "previous message deleted")
                            }
                            Err(e) => {
                                tracing::warn!(account = %key.name, chat = %r.target.spec, previous, error = %e, "previous message not deleted");
                                notes.push(format!(
                                    "sent, but previous message {previous} not deleted: {e}"
                                ));
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => notes.push(format!(
                    "sent, but the previous message could not be looked up: {e}"
                )),
            }
            let newer = self.last_sent.get(&cell).is_none_or(|(s, _)| *s <= r.slot);
            if newer {
                let ids = std::iter::once(message_id)
                    .chain(album_ids.iter().copied())
                    .collect();
                self.last_sent.insert(cell, (r.slot, ids));
            }
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    /// The message this template last sent to the chat before `r`'s slot
    /// (with an album's other items): what this worker sent (its outcome
    /// may still be on its way to the database) or what the database
    /// holds, whichever slot is later.
    async fn previous(&self, r: &Queued) -> Result<Option<Vec<i64>>, crate::store::StoreError> {
        let stored = self
            .ctx
            .store
            .previous_message(r.template_id, r.target.target_id, r.slot)
            .await?;
        let here = self
            .last_sent
            .get(&(r.template_id, r.target.target_id))
            .filter(|(slot, _)| *slot < r.slot)
            .cloned();
        Ok(stored
            .into_iter()
            .chain(here)
            .max_by_key(|(slot, _)| *slot)
            .map(|(_, ids)| ids))
    }

    /// A follow-up call under its timeout; shutdown abandons it (the row's
    /// outcome is still recorded as sent).
    async fn bounded(
        &self,
        call: impl Future<Output = Result<(), TelegramError>>,
    ) -> Result<(), TelegramError> {
        tokio::select! {
            r = tokio::time::timeout(FOLLOW_UP_TIMEOUT, call) => {
                r.unwrap_or_else(|_| Err(TelegramError::Transient("timed out".into())))
            }
            _ = self.cancel.cancelled() => Err(TelegramError::Transient("abandoned at shutdown".into())),
        }
    }
}

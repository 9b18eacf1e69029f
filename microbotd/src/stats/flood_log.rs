//! [`FloodLog`]: wraps the real [`Messenger`] and notes every FLOOD_WAIT a
//! send gets on its delivery row (`deliveries.flood_waits`,
//! `flood_wait_seconds`; found by account and `random_id`), so `stats` can
//! count flood waits after the fact. The scheduler itself only pauses the
//! account and keeps no such record. Failing to write the note is logged and
//! never changes the send's result.

use std::sync::Arc;

use crate::store::Store;
use crate::telegram::decorator::send_decorator;
use crate::telegram::{Messenger, TelegramError};

/// A [`Messenger`] that records the FLOOD_WAITs of the one it wraps.
pub struct FloodLog {
    inner: Arc<dyn Messenger>,
    store: Store,
}

impl FloodLog {
    pub fn new(inner: Arc<dyn Messenger>, store: Store) -> Self {
        FloodLog { inner, store }
    }
}

send_decorator!(FloodLog, |self, account, msg| {
    let result = self.inner.send_text(account, msg).await;
    if let Err(TelegramError::FloodWait { seconds }) = &result
        && let Err(e) = self
            .store
            .record_flood_wait(account.id, msg.random_id, *seconds)
            .await
    {
        tracing::warn!(account = %account.name, error = %e, "could not note a FLOOD_WAIT for stats");
    }
    result
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::on_pool;
    use crate::telegram::fake::{FakeMessenger, Outcome};
    use crate::telegram::{AccountKey, OutgoingText, ResolvedPeer};
    use crate::telegram::{ParseMode, PeerKind};

    /// Like the metrics wrapper, the flood log passes `shutdown` on (the
    /// live transport stops its connections there).
    async fn shutdown_reaches_the_wrapped_messenger(store: crate::store::Store) {
        let fake = Arc::new(FakeMessenger::new());
        FloodLog::new(fake.clone(), store).shutdown().await;
        assert_eq!(fake.shutdowns(), 1);
    }
    crate::store::testing::per_backend!(shutdown_reaches_the_wrapped_messenger);

    async fn a_flood_wait_is_noted_on_its_delivery(store: crate::store::Store) {
        on_pool!(store, p => sqlx::query(
            "INSERT INTO deliveries (account_id, template_id, target_id, slot, state,
                 random_id, created_at, updated_at)
             VALUES (1, 1, 1, 0, 'sending', 777, 0, 0), (1, 1, 2, 0, 'sending', 778, 0, 0)"
        ).execute(p).await.map(|_| ()))
        .unwrap();
        let fake = Arc::new(FakeMessenger::new());
        fake.script_account(
            "sales",
            [
                Outcome::Err(TelegramError::FloodWait { seconds: 30 }),
                Outcome::Err(TelegramError::FloodWait { seconds: 12 }),
                Outcome::Ok,
            ],
        );
        let log = FloodLog::new(fake, store.clone());
        let account = AccountKey {
            id: 1,
            name: "sales".into(),
        };
        let peer = ResolvedPeer {
            peer_id: 7,
            kind: PeerKind::User,
            access_hash: Some(1),
            title: "seven".into(),
        };
        for _ in 0..3 {
            let msg = OutgoingText {
                peer: &peer,
                chat_label: "@seven",
                text: "hi",
                parse_mode: ParseMode::Plain,
                random_id: 777,
                template_id: Some(1),
                slot: None,
                silent: false,
                no_preview: false,
                attachments: &[],
            };
            let _ = log.send_text(&account, &msg).await;
        }
        let rows: Vec<(i64, i64, i64)> = on_pool!(store, p => sqlx::query_as(
            "SELECT random_id, flood_waits, flood_wait_seconds FROM deliveries ORDER BY random_id"
        ).fetch_all(p).await)
        .unwrap();
        assert_eq!(rows, vec![(777, 2, 42), (778, 0, 0)]);
    }
    crate::store::testing::per_backend!(a_flood_wait_is_noted_on_its_delivery);
}

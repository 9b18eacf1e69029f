//! [`MeteredMessenger`]: wraps the real [`Messenger`] and records each
//! `send_text` — its duration, the lateness of its slot, its outcome (as the
//! scheduler classifies it) and any FLOOD_WAIT — without touching the
//! scheduler. Every other call passes straight through.

use std::sync::Arc;
use std::time::Instant;

use super::Metrics;
use crate::clock::Clock;
use crate::scheduler::outcome::{Verdict, classify};
use crate::telegram::decorator::send_decorator;
use crate::telegram::{AccountKey, Messenger, Sent, TelegramError};

/// A [`Messenger`] that measures the sends of the one it wraps.
pub struct MeteredMessenger {
    inner: Arc<dyn Messenger>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
}

impl MeteredMessenger {
    pub fn new(inner: Arc<dyn Messenger>, metrics: Arc<Metrics>, clock: Arc<dyn Clock>) -> Self {
        MeteredMessenger {
            inner,
            metrics,
            clock,
        }
    }

    fn record(&self, account: &AccountKey, result: &Result<Sent, TelegramError>) {
        let m = &self.metrics;
        let outcome = match classify(result.clone()) {
            Verdict::Sent { .. } => "sent",
            Verdict::Fail(_) => "failed",
            Verdict::Retry(_) => "retry",
            Verdict::ChatWait { .. } => "chat_wait",
            Verdict::AccountWait { seconds, .. } => {
                m.flood_wait
                    .get_or_create(&m.labels("", &account.name))
                    .inc_by(u64::from(seconds));
                "flood_wait"
            }
            Verdict::AccountStop { .. } => "account_stopped",
        };
        m.deliveries
            .get_or_create(&m.labels(outcome, &account.name))
            .inc();
    }
}

send_decorator!(MeteredMessenger, |self, account, msg| {
    let m = &self.metrics;
    let labels = m.labels("", &account.name);
    if let Some(slot) = msg.slot {
        let late = (self.clock.now() - slot).num_milliseconds().max(0) as f64 / 1000.0;
        m.fire_lateness.get_or_create(&labels).observe(late);
    }
    let started = Instant::now();
    let result = self.inner.send_text(account, msg).await;
    m.send_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    self.record(account, &result);
    result
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::telegram::fake::{FakeMessenger, Outcome};
    use crate::telegram::{OutgoingText, ResolvedPeer};
    use crate::telegram::{ParseMode, PeerKind};

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    /// The live transport stops its connections in `shutdown`; a wrapper
    /// that swallowed the call would leave them running as the pool closes.
    #[tokio::test]
    async fn shutdown_reaches_the_wrapped_messenger() {
        let fake = Arc::new(FakeMessenger::new());
        let metrics = Arc::new(Metrics::new(false, "sqlite"));
        MeteredMessenger::new(fake.clone(), metrics, Arc::new(SystemClock))
            .shutdown()
            .await;
        assert_eq!(fake.shutdowns(), 1);
    }

    #[tokio::test]
    async fn sends_are_counted_by_outcome_with_flood_wait_seconds() {
        let fake = Arc::new(FakeMessenger::new());
        fake.script_account(
            "sales",
            [
                Outcome::Ok,
                Outcome::Err(TelegramError::FloodWait { seconds: 42 }),
                Outcome::Err(TelegramError::PeerFlood),
            ],
        );
        let metrics = Arc::new(Metrics::new(true, "sqlite"));
        let metered = MeteredMessenger::new(fake, metrics.clone(), Arc::new(SystemClock));
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
        let slot = chrono::Utc::now() - chrono::Duration::seconds(3);
        for random_id in 1..=3 {
            let msg = OutgoingText {
                peer: &peer,
                chat_label: "@seven",
                text: "hi",
                parse_mode: ParseMode::Plain,
                random_id,
                template_id: Some(1),
                slot: Some(slot),
                silent: false,
                no_preview: false,
                attachments: &[],
            };
            let _ = metered.send_text(&account, &msg).await;
        }
        let text = metrics.encode();
        for (series, want) in [
            (
                "microbot_deliveries_total{account=\"sales\",outcome=\"sent\"}",
                "1",
            ),
            (
                "microbot_deliveries_total{account=\"sales\",outcome=\"flood_wait\"}",
                "1",
            ),
            (
                "microbot_deliveries_total{account=\"sales\",outcome=\"account_stopped\"}",
                "1",
            ),
            ("microbot_flood_wait_seconds_total{account=\"sales\"}", "42"),
            (
                "microbot_send_duration_seconds_count{account=\"sales\"}",
                "3",
            ),
            (
                "microbot_fire_lateness_seconds_count{account=\"sales\"}",
                "3",
            ),
        ] {
            let got = line(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
            assert_eq!(got.rsplit(' ').next(), Some(want), "{got}");
        }
        // Three seconds late: nothing in the buckets below 2.56 s.
        let early = line(
            &text,
            "microbot_fire_lateness_seconds_bucket{le=\"2.56\",account=\"sales\"}",
        )
        .unwrap_or_else(|| panic!("bucket missing:\n{text}"));
        assert!(early.ends_with(" 0"), "{early}");
    }
}

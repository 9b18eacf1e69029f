//! Telegram's per-account send limits as the worker applies them: a token
//! bucket of `rate_limit_per_minute` ([`TokenBucket`]) and at most one
//! message per chat per second ([`ChatSpacing`]).

use std::time::Duration;

use tokio::time::Instant;

/// Minimum gap between two messages to the same chat.
pub const CHAT_GAP: Duration = Duration::from_secs(1);

/// A token bucket refilled continuously at `per_minute` tokens a minute.
/// It holds at most ten seconds' worth (at least one token), so a backlog
/// drains at the configured rate instead of in one burst Telegram would
/// answer with FLOOD_WAIT. The rate is passed on every call, so a config
/// reload takes effect at the next send.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A bucket that starts with one token: a restart never bursts.
    pub fn new(now: Instant) -> Self {
        TokenBucket {
            tokens: 1.0,
            last: now,
        }
    }

    fn capacity(per_minute: u32) -> f64 {
        (f64::from(per_minute) / 6.0).max(1.0)
    }

    fn refill(&mut self, now: Instant, per_minute: u32) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let rate = f64::from(per_minute.max(1)) / 60.0;
        self.tokens = (self.tokens + elapsed * rate).min(Self::capacity(per_minute));
    }

    /// Whole tokens available now.
    pub fn available(&mut self, now: Instant, per_minute: u32) -> usize {
        self.refill(now, per_minute);
        self.tokens.floor().max(0.0) as usize
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant, per_minute: u32) -> bool {
        self.refill(now, per_minute);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until one token is available.
    pub fn wait_for_one(&mut self, now: Instant, per_minute: u32) -> Duration {
        self.refill(now, per_minute);
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        let rate = f64::from(per_minute.max(1)) / 60.0;
        Duration::from_secs_f64((1.0 - self.tokens) / rate)
    }
}

/// When each chat (target id) last got a message from this account.
#[derive(Debug, Default)]
pub struct ChatSpacing {
    last: super::IdMap<i64, Instant>,
}

impl ChatSpacing {
    /// When the chat may get its next message (`now` if already).
    pub fn ready_at(&self, target_id: i64, now: Instant) -> Instant {
        match self.last.get(&target_id) {
            Some(t) => (*t + CHAT_GAP).max(now),
            None => now,
        }
    }

    pub fn record(&mut self, target_id: i64, at: Instant) {
        self.last.insert(target_id, at);
        // Forget chats idle for a while so the map stays small.
        if self.last.len() > 4096 {
            self.last
                .retain(|_, t| at.saturating_duration_since(*t) < CHAT_GAP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_the_rate_and_caps() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(t0);
        assert!(b.try_take(t0, 60));
        assert!(!b.try_take(t0, 60));
        assert_eq!(b.wait_for_one(t0, 60), Duration::from_secs(1));
        // After a long idle period the bucket holds ten seconds' worth.
        assert_eq!(b.available(t0 + Duration::from_secs(3600), 60), 10);
        // A lower rate (config reload) shrinks the cap at once.
        assert_eq!(b.available(t0 + Duration::from_secs(3601), 12), 2);
    }

    #[test]
    fn chat_spacing_is_one_second() {
        let t0 = Instant::now();
        let mut s = ChatSpacing::default();
        assert_eq!(s.ready_at(7, t0), t0);
        s.record(7, t0);
        assert_eq!(s.ready_at(7, t0), t0 + CHAT_GAP);
        assert_eq!(s.ready_at(8, t0), t0);
    }
}

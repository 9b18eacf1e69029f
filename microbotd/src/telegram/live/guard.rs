//! Guards around every grammers call: the retry policy that lets each
//! FLOOD_WAIT reach the scheduler ([`ReconnectOnly`]), panic containment
//! ([`contained`]) and a time bound ([`bounded`]).

use std::ops::ControlFlow;
use std::time::Duration;

use grammers_mtsender::{InvocationError, RetryContext, RetryPolicy};

use crate::telegram::TelegramError;

/// Retries only I/O failures (a dropped connection is re-opened by grammers
/// on the next attempt), twice, 0.5 s then 1 s apart. Never sleeps on
/// FLOOD_WAIT or SLOWMODE_WAIT: the caller must see and record those.
pub struct ReconnectOnly;

impl RetryPolicy for ReconnectOnly {
    fn should_retry(&self, ctx: &RetryContext) -> ControlFlow<(), Duration> {
        match ctx.error {
            InvocationError::Io(_) if ctx.fail_count.get() <= 2 => {
                ControlFlow::Continue(Duration::from_millis(500) * ctx.fail_count.get())
            }
            _ => ControlFlow::Break(()),
        }
    }
}

/// Runs a grammers call in its own task so that a panic inside grammers
/// (it has several `panic!`/`unwrap` on unexpected answers) fails this call
/// only, never the daemon.
pub(crate) async fn contained<T, F>(what: &'static str, fut: F) -> Result<T, TelegramError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, TelegramError>> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => {
            tracing::error!(
                call = what,
                "grammers panicked on an unexpected Telegram answer"
            );
            Err(TelegramError::Rpc {
                code: 0,
                name: format!("UNEXPECTED_ANSWER_TO_{what}"),
            })
        }
        Err(_) => Err(TelegramError::Transient(format!("{what} was cancelled"))),
    }
}

/// How long resolving one target may take (a username lookup, or a scan of
/// every dialog for an id without a cached access hash). The account's
/// worker waits on it: without a bound a stuck call would hold the account.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(60);

/// `fut`, or a transient error once `limit` has passed.
pub(crate) async fn bounded<T>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, TelegramError>>,
) -> Result<T, TelegramError> {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
        Err(TelegramError::Transient(format!(
            "{what} took longer than {}s; will try again",
            limit.as_secs()
        )))
    })
}

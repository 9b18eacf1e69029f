//! A tower layer that logs calls slower than `daemon.slow_call_warn` at WARN
//! with "took longer than" (the phrase the runbook's 5.1 greps for). The
//! threshold is read per call from [`LiveSettings`], so SIGHUP changes it.
//! It also puts the call's gRPC path into the request's extensions
//! ([`CallPath`]), where the guard finds it to name a refused call.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};

use crate::live::LiveSettings;

/// The gRPC path of the call (`/microbot.v1.Backup/CreateBackup`).
#[derive(Debug, Clone)]
pub struct CallPath(pub String);

/// Wraps every control service.
#[derive(Clone, Debug)]
pub struct SlowCallLayer {
    pub live: Arc<LiveSettings>,
}

impl<S> Layer<S> for SlowCallLayer {
    type Service = SlowCall<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SlowCall {
            inner,
            live: self.live.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SlowCall<S> {
    inner: S,
    live: Arc<LiveSettings>,
}

impl<S, B> Service<http::Request<B>> for SlowCall<S>
where
    S: Service<http::Request<B>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let path = req.uri().path().to_string();
        req.extensions_mut().insert(CallPath(path.clone()));
        let threshold = self.live.slow_call_warn();
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            let took = started.elapsed();
            if took > threshold {
                tracing::warn!(
                    method = %path,
                    took_ms = took.as_millis() as u64,
                    "{path} took longer than {}ms ({}ms)",
                    threshold.as_millis(),
                    took.as_millis()
                );
            }
            res
        })
    }
}

//! The HTTP endpoint: `GET /metrics` on `[metrics] listen`, OpenMetrics
//! text. Bound at start-up (a taken port stops the daemon with one line);
//! stops with the daemon.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use super::Metrics;
use super::gauges::ScrapeGauges;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The endpoint could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("metrics.listen {addr}: {source}")]
pub struct BindError {
    addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    gauges: Arc<ScrapeGauges>,
}

/// Binds `addr` now; the returned future serves until `shutdown`.
pub async fn bind(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    gauges: ScrapeGauges,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<impl Future<Output = ()> + Send, BindError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(listen = %local, "metrics endpoint: http://{local}/metrics");
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            metrics,
            gauges: Arc::new(gauges),
        });
    Ok(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    })
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    s.gauges.refresh(&s.metrics).await;
    ([(CONTENT_TYPE, OPENMETRICS)], s.metrics.encode())
}

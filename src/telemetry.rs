//! Logs and per-request telemetry: the subscriber (JSON lines or pretty), and
//! the middleware that gives every request an id, its metrics and one access
//! log event, even when the client goes away before the answer.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, Method};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::error::Failure;
use crate::metrics as m;
use crate::request_id;
use crate::routes::document::DocumentAccess;

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), output on stdout.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    // A second init (tests start many apps in one process) is not an error.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
    };
}

/// Route templates as metric labels: a closed set, never a raw path.
fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    match matched.map(MatchedPath::as_str) {
        Some("/{id}") => "/{id}",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/metrics") => "/metrics",
        _ => "unmatched",
    }
}

pub async fn observe(request: Request, next: Next) -> Response {
    let request_id = request_id::from_headers(request.headers());
    let mut record = Record {
        started: Instant::now(),
        route: route_label(request.extensions().get::<MatchedPath>()),
        method: request.method().clone(),
        request_id: request_id.clone(),
        done: false,
    };
    metrics::gauge!(m::HTTP_IN_FLIGHT).increment(1.0);

    let mut response = request_id::scope(request_id, next.run(request)).await;

    if let Ok(value) = HeaderValue::from_str(&record.request_id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    record.finish(
        response.status().as_u16(),
        response.extensions().get::<DocumentAccess>(),
        response.extensions().get::<Failure>(),
    );
    response
}

/// One request's telemetry. If the request future is dropped (the client
/// disconnected), `Drop` records it with nginx's 499 so nothing goes unseen.
struct Record {
    started: Instant,
    route: &'static str,
    method: Method,
    request_id: String,
    done: bool,
}

impl Record {
    fn finish(&mut self, status: u16, access: Option<&DocumentAccess>, failure: Option<&Failure>) {
        self.done = true;
        metrics::gauge!(m::HTTP_IN_FLIGHT).decrement(1.0);
        let elapsed = self.started.elapsed();
        m::record_request(self.route, self.method.as_str(), status, elapsed);

        let default = DocumentAccess::default();
        let access = access.unwrap_or(&default);
        let outcome = failure.map_or(if status == 499 { "client_closed" } else { "ok" }, |f| {
            f.code
        });
        let error = failure.map(|f| f.message.as_str());
        macro_rules! access_event {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    request_id = %self.request_id,
                    id = access.id,
                    method = %self.method,
                    route = self.route,
                    status,
                    latency_ms = elapsed.as_secs_f64() * 1000.0,
                    attempts = access.attempts,
                    outcome,
                    served_type = access.served_type,
                    bytes = access.bytes,
                    coalesced = access.coalesced,
                    error,
                    "request"
                )
            };
        }
        // Probes and scrapes come every few seconds; they are logged only at debug.
        if self.route == "/{id}" || self.route == "unmatched" {
            access_event!(tracing::Level::INFO);
        } else {
            access_event!(tracing::Level::DEBUG);
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if !self.done {
            self.finish(499, None, None);
        }
    }
}

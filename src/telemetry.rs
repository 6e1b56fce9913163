//! Logs and per-request telemetry: the subscriber (JSON lines or pretty), and
//! the middleware that gives every request an id, a span its log lines carry,
//! its metrics and one access log event, even when the client goes away
//! before the answer.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::Method;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::error::{self, Failure};
use crate::log_output::{self, Flusher};
use crate::metrics as m;
use crate::request_id::{self, RequestId};

/// What the access log reports about a document request.
#[derive(Debug, Clone, Default)]
pub struct DocumentAccess {
    pub id: Option<u64>,
    pub attempts: u32,
    pub served_type: Option<&'static str>,
    /// `full`, or `structure` for an encrypted PDF that needs a password.
    pub verification: Option<&'static str>,
    pub bytes: u64,
    /// The request id of the fetch this request joined, when it joined one.
    pub joined_fetch: Option<String>,
}

/// A request's access record, filled in by the route as it goes, so that
/// even the line of a request whose client went away (499) says what it was for.
#[derive(Debug, Clone, Default)]
pub struct AccessRecord(Arc<Mutex<DocumentAccess>>);

impl AccessRecord {
    pub fn update(&self, f: impl FnOnce(&mut DocumentAccess)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn snapshot(&self) -> DocumentAccess {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`),
/// output on stdout through [`log_output`], whose writing thread lives as
/// long as the returned [`Flusher`] (held by `main`; dropping it writes what
/// is left). `None` when a subscriber is already installed: tests start many
/// apps in one process, and a second init is not an error.
pub fn init(format: LogFormat) -> Option<Flusher> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, flusher) = match log_output::spawn(std::io::stdout(), log_output::CAPACITY) {
        Ok(started) => started,
        Err(error) => {
            eprintln!("docproxy: cannot start the log writer: {error}");
            return None;
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match format {
        // The innermost span on each line: `request` (with its `request_id`)
        // or, inside an upstream fetch, `fetch` (the id it was started by).
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
    };
    installed.ok().map(|()| flusher)
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

pub async fn observe(mut request: Request, next: Next) -> Response {
    let request_id = RequestId::from_headers(request.headers());
    let access = AccessRecord::default();
    request.extensions_mut().insert(request_id.clone());
    request.extensions_mut().insert(access.clone());
    let mut record = Record {
        started: Instant::now(),
        route: route_label(request.extensions().get::<MatchedPath>()),
        method: request.method().clone(),
        request_id: request_id.clone(),
        access,
        done: false,
    };
    metrics::gauge!(m::HTTP_IN_FLIGHT).increment(1.0);

    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.run(request).instrument(span).await;

    error::name_request(&mut response, &request_id);
    response
        .headers_mut()
        .insert(request_id::HEADER, request_id.header_value());
    record.finish(
        response.status().as_u16(),
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
    request_id: RequestId,
    access: AccessRecord,
    done: bool,
}

impl Record {
    fn finish(&mut self, status: u16, failure: Option<&Failure>) {
        self.done = true;
        metrics::gauge!(m::HTTP_IN_FLIGHT).decrement(1.0);
        let elapsed = self.started.elapsed();
        m::record_request(self.route, self.method.as_str(), status, elapsed);

        let access = self.access.snapshot();
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
                    verification = access.verification,
                    bytes = access.bytes,
                    coalesced = access.joined_fetch.is_some(),
                    joined_fetch = access.joined_fetch.as_deref(),
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
            self.finish(499, None);
        }
    }
}

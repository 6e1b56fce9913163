//! Every metric docproxy exports: names, help texts, buckets and label values.
//!
//! This module is the single source of truth for metric names; dashboards and
//! alert rules in `observability/` are checked against a real scrape.
//! Labels are always from small closed sets: never a raw id or a request id.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{
    SharedString, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "docproxy_http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "docproxy_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "docproxy_http_requests_in_flight";
pub const UPSTREAM_ATTEMPTS: &str = "docproxy_upstream_attempts_total";
pub const UPSTREAM_ATTEMPT_DURATION: &str = "docproxy_upstream_attempt_duration_seconds";
pub const UPSTREAM_RETRIES: &str = "docproxy_upstream_retries_total";
pub const RETRY_BUDGET_EXHAUSTED: &str = "docproxy_retry_budget_exhausted_total";
pub const DOCUMENTS_SERVED: &str = "docproxy_documents_served_total";
pub const DOCUMENTS_REJECTED: &str = "docproxy_documents_rejected_total";
pub const CONTENT_TYPE_MISMATCH: &str = "docproxy_upstream_content_type_mismatch_total";
pub const BREAKER_STATE: &str = "docproxy_breaker_state";
pub const BREAKER_TRANSITIONS: &str = "docproxy_breaker_transitions_total";
pub const REQUESTS_SHED: &str = "docproxy_requests_shed_total";
pub const THROTTLE_REJECT_PROBABILITY: &str = "docproxy_throttle_reject_probability";
pub const REQUESTS_COALESCED: &str = "docproxy_requests_coalesced_total";
pub const VERDICT_CACHE_HITS: &str = "docproxy_verdict_cache_hits_total";
pub const VERDICT_CACHE_MISSES: &str = "docproxy_verdict_cache_misses_total";
pub const VERDICT_CACHE_ENTRIES: &str = "docproxy_verdict_cache_entries";
pub const LOG_LINES_DROPPED: &str = "docproxy_log_lines_dropped_total";
pub const BUILD_INFO: &str = "docproxy_build_info";

/// Latency buckets for inbound requests, in seconds: fine below 100 ms where
/// the service lives, coarse up to the default deadline.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const UPSTREAM_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Breaker states as exported by [`BREAKER_STATE`]: one series per state, the
/// current one set to 1.
pub const BREAKER_STATES: [&str; 3] = ["closed", "open", "half_open"];

/// Every `reason` of [`REQUESTS_SHED`]: the local refusals.
pub const SHED_REASONS: [&str; 5] = [
    "breaker_open",
    "throttled",
    "in_flight",
    "bytes",
    "validation",
];

/// Installs the process-wide Prometheus recorder once, with its descriptions
/// and zero-valued series, and returns its handle.
///
/// The recorder is global (the `metrics` facade has one per process), so
/// every `Application` in a test binary shares it.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.into()), HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(UPSTREAM_ATTEMPT_DURATION.into()),
                        UPSTREAM_BUCKETS,
                    )
                })
                .expect("bucket lists are non-empty constants")
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("no other recorder is installed");
            describe_all();
            preregister();
            handle
        })
        .clone()
}

/// Runs the exporter's upkeep (histogram summary maintenance) until the task is dropped.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

fn describe_all() {
    describe_counter!(
        HTTP_REQUESTS,
        "Inbound HTTP requests by route template, method and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Inbound HTTP request latency by route template, method and status."
    );
    describe_gauge!(HTTP_IN_FLIGHT, "Inbound requests currently being handled.");
    describe_counter!(UPSTREAM_ATTEMPTS, "Upstream fetch attempts by outcome.");
    describe_histogram!(
        UPSTREAM_ATTEMPT_DURATION,
        metrics::Unit::Seconds,
        "Upstream fetch attempt latency (to the last body byte) by outcome."
    );
    describe_counter!(
        UPSTREAM_RETRIES,
        "Upstream retries by the reason of the failed attempt."
    );
    describe_counter!(
        RETRY_BUDGET_EXHAUSTED,
        "Retries not made because the retry budget was spent."
    );
    describe_counter!(
        DOCUMENTS_SERVED,
        "Validated documents served, by type and verification (full, or structure for encrypted PDFs that need a password)."
    );
    describe_counter!(
        DOCUMENTS_REJECTED,
        "Upstream documents rejected by validation, by reason."
    );
    describe_counter!(
        CONTENT_TYPE_MISMATCH,
        "Valid documents whose upstream Content-Type disagreed with their true type."
    );
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state: 1 for the current state, 0 for the others."
    );
    describe_counter!(
        BREAKER_TRANSITIONS,
        "Circuit breaker transitions by the state entered."
    );
    describe_counter!(
        REQUESTS_SHED,
        "Requests refused locally with 503 by reason (breaker_open, throttled, in_flight, bytes, validation)."
    );
    describe_gauge!(
        THROTTLE_REJECT_PROBABILITY,
        "Probability that the adaptive throttle refuses the next upstream attempt (0 unless the upstream signals overload)."
    );
    describe_counter!(
        REQUESTS_COALESCED,
        "Requests that joined a fetch of the same id already under way instead of calling the upstream."
    );
    describe_counter!(
        VERDICT_CACHE_HITS,
        "Bodies equal to a document already proven valid (byte for byte, or by BLAKE3 digest), so not validated again."
    );
    describe_counter!(
        VERDICT_CACHE_MISSES,
        "Bodies not found in the verdict cache, so validated."
    );
    describe_gauge!(
        VERDICT_CACHE_ENTRIES,
        "Verdicts held by the verdict cache (bounded by --verdict-cache-entries)."
    );
    describe_counter!(
        LOG_LINES_DROPPED,
        "Log lines dropped because the process's output did not keep up (src/log_output.rs)."
    );
    describe_gauge!(BUILD_INFO, "Build information; always 1.");
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Records one finished inbound request. The labels are static text for the
/// statuses and methods docproxy answers, so no request formats or allocates one.
pub fn record_request(route: &'static str, method: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("route", SharedString::const_str(route)),
        ("method", method_label(method)),
        ("status", status_label(status)),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
}

fn method_label(method: &str) -> SharedString {
    match method {
        "GET" => SharedString::const_str("GET"),
        "HEAD" => SharedString::const_str("HEAD"),
        other => SharedString::from_owned(other.to_owned()),
    }
}

fn status_label(status: u16) -> SharedString {
    const STATUSES: [(u16, &str); 11] = [
        (200, "200"),
        (304, "304"),
        (400, "400"),
        (404, "404"),
        (405, "405"),
        (412, "412"),
        (499, "499"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    match STATUSES.iter().find(|(code, _)| *code == status) {
        Some((_, text)) => SharedString::const_str(text),
        None => SharedString::from_owned(status.to_string()),
    }
}

/// Every outcome label of [`UPSTREAM_ATTEMPTS`], for pre-registration.
const ATTEMPT_OUTCOMES: [&str; 14] = [
    "ok",
    "not_found",
    "client_error",
    "server_error",
    "overloaded",
    "redirect",
    "timeout",
    "validation_deadline",
    "connect_error",
    "tls_error",
    "reset",
    "truncated",
    "too_large",
    "invalid_document",
];

/// Creates the series dashboards and alerts rely on at zero, so that "none
/// yet" reads as 0 rather than as no data.
fn preregister() {
    for outcome in ATTEMPT_OUTCOMES {
        counter!(UPSTREAM_ATTEMPTS, "outcome" => outcome).absolute(0);
    }
    for reason in SHED_REASONS {
        counter!(REQUESTS_SHED, "reason" => reason).absolute(0);
    }
    for (doc_type, verification) in [("pdf", "full"), ("pdf", "structure"), ("png", "full")] {
        counter!(DOCUMENTS_SERVED, "type" => doc_type, "verification" => verification).absolute(0);
    }
    for state in BREAKER_STATES {
        counter!(BREAKER_TRANSITIONS, "to" => state).absolute(0);
    }
    counter!(UPSTREAM_RETRIES, "reason" => "invalid_document").absolute(0);
    for reason in crate::document::REJECTION_REASONS {
        counter!(DOCUMENTS_REJECTED, "reason" => *reason).absolute(0);
    }
    counter!(REQUESTS_COALESCED).absolute(0);
    counter!(RETRY_BUDGET_EXHAUSTED).absolute(0);
    counter!(CONTENT_TYPE_MISMATCH).absolute(0);
    counter!(VERDICT_CACHE_HITS).absolute(0);
    counter!(VERDICT_CACHE_MISSES).absolute(0);
    counter!(LOG_LINES_DROPPED).absolute(0);
    gauge!(VERDICT_CACHE_ENTRIES).set(0.0);
    gauge!(HTTP_IN_FLIGHT).set(0.0);
    gauge!(THROTTLE_REJECT_PROBABILITY).set(0.0);
    set_breaker_state("closed");
}

fn set_breaker_state(current: &str) {
    for state in BREAKER_STATES {
        gauge!(BREAKER_STATE, "state" => state).set(if state == current { 1.0 } else { 0.0 });
    }
}

/// Logs and counts a breaker transition.
pub fn record_breaker_transition(from: &'static str, to: &'static str) {
    tracing::warn!(from, to, "breaker transition");
    counter!(BREAKER_TRANSITIONS, "to" => to).increment(1);
    set_breaker_state(to);
}

/// Records one upstream attempt that reached the upstream, by its outcome
/// label (refusals did not reach it, and are counted as shed requests).
pub fn record_attempt(outcome: &'static str, elapsed: Duration) {
    counter!(UPSTREAM_ATTEMPTS, "outcome" => outcome).increment(1);
    histogram!(UPSTREAM_ATTEMPT_DURATION, "outcome" => outcome).record(elapsed.as_secs_f64());
}

/// Counts a document rejected by validation, by reason.
pub fn record_rejected_document(reason: &'static str) {
    counter!(DOCUMENTS_REJECTED, "reason" => reason).increment(1);
}

/// Counts a request refused locally, by one of [`SHED_REASONS`].
pub fn record_shed(reason: &'static str) {
    counter!(REQUESTS_SHED, "reason" => reason).increment(1);
}

/// Counts log lines the output did not take.
pub fn record_log_lines_dropped(lines: u64) {
    counter!(LOG_LINES_DROPPED).increment(lines);
}

/// Exports the throttle's current refusal probability (set at each scrape).
pub fn set_throttle_probability(p: f64) {
    gauge!(THROTTLE_REJECT_PROBABILITY).set(p);
}

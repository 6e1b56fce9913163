//! The upstream document service: one shared HTTP client, and the policy
//! around it. A fetch is a series of attempts, each admitted by the circuit
//! breaker and bounded by the per-attempt timeout and the request deadline;
//! transient faults are retried with jittered exponential backoff while the
//! retry budget allows.

mod attempt;
pub mod breaker;
mod budget;
pub mod memory;
mod single_flight;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;
use tokio::time::Instant;

use attempt::{AttemptContext, fetch_once};
pub use attempt::{AttemptError, Document};
use breaker::{BreakerSettings, BreakerState, CircuitBreaker};
use budget::RetryBudget;
use memory::ByteBudget;
use single_flight::SingleFlight;

use crate::config::Config;
use crate::metrics as m;

/// Idle upstream connections kept for reuse. Each holds read buffers sized
/// by the documents it carried, so an unbounded pool keeps the memory of the
/// busiest moment; beyond this, a burst's extra connections are closed.
const IDLE_CONNECTIONS: usize = 128;

/// What a request carries through to the upstream.
#[derive(Debug, Clone)]
pub struct Propagation {
    pub request_id: HeaderValue,
    pub traceparent: Option<HeaderValue>,
}

/// The result of a fetch and how many attempts it took. Cheap to clone: the
/// document is shared by every request that joined the same fetch.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub attempts: u32,
    pub result: Result<Arc<Document>, AttemptError>,
    /// True when this request joined another request's fetch of the same id.
    pub coalesced: bool,
}

pub struct Upstream {
    http: reqwest::Client,
    base_url: String,
    attempt_timeout: Duration,
    deadline: Duration,
    max_attempts: u32,
    backoff: Duration,
    retry_after_cap: Duration,
    max_document_size: u64,
    breaker: CircuitBreaker,
    retry_budget: RetryBudget,
    byte_budget: ByteBudget,
    in_progress: SingleFlight<u64, Fetch>,
}

impl Upstream {
    pub fn new(config: &Config, base_url: String) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(IDLE_CONNECTIONS)
            .tcp_nodelay(true)
            .no_proxy()
            .build()?;
        let breaker = CircuitBreaker::new(
            BreakerSettings {
                failure_rate_percent: config.breaker_failure_rate,
                window: config.breaker_window,
                min_calls: config.breaker_min_calls,
                consecutive_failures: config.breaker_consecutive_failures,
                open_for: config.breaker_open_for,
                open_max: config.breaker_open_max,
                half_open_probes: config.breaker_half_open_probes,
            },
            Box::new(m::record_breaker_transition),
        );
        Ok(Upstream {
            http,
            base_url,
            attempt_timeout: config.attempt_timeout,
            deadline: config.deadline,
            max_attempts: config.max_attempts,
            backoff: config.retry_backoff,
            retry_after_cap: config.retry_after_cap,
            max_document_size: config.max_document_size,
            breaker,
            retry_budget: RetryBudget::new(config.retry_budget_ratio, config.retry_budget_floor),
            byte_budget: ByteBudget::new(config.max_in_flight_bytes),
            in_progress: SingleFlight::new(),
        })
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Fetches and validates document `id`, joining a fetch of the same id
    /// that is already under way.
    pub async fn fetch(self: &Arc<Self>, id: u64, propagation: &Propagation) -> Fetch {
        let upstream = self.clone();
        let propagation = propagation.clone();
        let (mut fetch, coalesced) = self
            .in_progress
            .run(id, move || {
                async move { upstream.fetch_alone(id, &propagation).await }.boxed()
            })
            .await;
        if coalesced {
            metrics::counter!(m::REQUESTS_COALESCED).increment(1);
        }
        fetch.coalesced = coalesced;
        fetch
    }

    /// Fetches and validates document `id`, retrying transient faults.
    async fn fetch_alone(&self, id: u64, propagation: &Propagation) -> Fetch {
        let deadline = Instant::now() + self.deadline;
        self.retry_budget.deposit();
        let url = format!("{}/{id}", self.base_url);
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-request-id"),
            propagation.request_id.clone(),
        );
        if let Some(traceparent) = &propagation.traceparent {
            headers.insert(HeaderName::from_static("traceparent"), traceparent.clone());
        }
        let ctx = AttemptContext {
            http: &self.http,
            url: &url,
            headers: &headers,
            max_document_size: self.max_document_size,
            byte_budget: &self.byte_budget,
        };
        let attempts = AtomicU32::new(0);
        let backoff = ExponentialBuilder::new()
            .with_min_delay(self.backoff)
            .with_max_delay(self.deadline)
            .with_max_times(self.max_attempts as usize - 1);

        let result = (|| {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(&ctx, deadline)
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(AttemptError::is_transient)
        .adjust(|error, delay| self.next_delay(error, delay?, deadline))
        .notify(|error, delay| {
            metrics::counter!(m::UPSTREAM_RETRIES, "reason" => error.outcome()).increment(1);
            tracing::debug!(%error, ?delay, "retrying upstream");
        })
        .await;
        Fetch {
            attempts: attempts.into_inner(),
            result: result.map(Arc::new),
            coalesced: false,
        }
    }

    /// The wait before the next attempt, or `None` to stop retrying. It only
    /// ever narrows: `None` from the backoff never becomes a retry.
    fn next_delay(
        &self,
        error: &AttemptError,
        backoff: Duration,
        deadline: Instant,
    ) -> Option<Duration> {
        let delay = match error {
            // Honour the upstream's wish; one longer than we are willing to wait ends the retries.
            AttemptError::RateLimited {
                retry_after: Some(wait),
            } => (*wait <= self.retry_after_cap).then_some(*wait)?,
            // Full jitter: anywhere between zero and the exponential delay.
            _ => backoff.mul_f64(rand::rng().random_range(0.0..=1.0)),
        };
        if Instant::now() + delay >= deadline {
            return None;
        }
        if !self.retry_budget.try_withdraw() {
            metrics::counter!(m::RETRY_BUDGET_EXHAUSTED).increment(1);
            return None;
        }
        Some(delay)
    }

    /// One attempt, admitted by the breaker and bounded by the attempt timeout
    /// and what is left of the deadline.
    async fn attempt(
        &self,
        ctx: &AttemptContext<'_>,
        deadline: Instant,
    ) -> Result<Document, AttemptError> {
        let permit = self
            .breaker
            .try_acquire()
            .map_err(|refused| AttemptError::BreakerOpen {
                retry_after: refused.retry_after,
            })?;
        let started = Instant::now();
        let left = deadline.saturating_duration_since(started);
        let limit = self.attempt_timeout.min(left);
        let result = match tokio::time::timeout(limit, fetch_once(ctx)).await {
            Ok(result) => result,
            Err(_) if limit < self.attempt_timeout => Err(AttemptError::DeadlineExceeded),
            Err(_) => Err(AttemptError::Timeout),
        };
        match result.as_ref().err().map(AttemptError::is_upstream_failure) {
            None | Some(Some(false)) => permit.success(),
            Some(Some(true)) => permit.failure(),
            Some(None) => drop(permit),
        }
        m::record_attempt(&result, started.elapsed());
        result
    }
}

//! The upstream document service: one shared HTTP client, and the policy
//! around it. A fetch is a series of attempts, each admitted by the circuit
//! breaker (hard outages) and the adaptive throttle (overload the upstream
//! signals), and bounded by the per-attempt timeout and the request deadline;
//! transient faults are retried with jittered exponential backoff while the
//! retry budget allows.

mod attempt;
pub mod breaker;
mod budget;
pub mod memory;
mod repeat_invalid;
mod single_flight;
mod throttle;
pub mod tls;
mod validation;
mod verdicts;
mod window;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;
use tokio::time::Instant;
use tracing::Instrument;

use attempt::{AttemptContext, fetch_body, validate_body};
pub use attempt::{AttemptError, Document, FetchError, Refusal};
use breaker::{BreakerSettings, BreakerState, CircuitBreaker, Verdict};
use budget::RetryBudget;
use memory::ByteBudget;
use repeat_invalid::RepeatInvalid;
use single_flight::SingleFlight;
use throttle::{Throttle, ThrottleSettings};
use validation::ValidationPool;
use verdicts::VerdictCache;

use crate::config::Config;
use crate::document::Limits;
use crate::metrics as m;

/// Idle upstream connections kept for reuse, shared out among the workers'
/// clients. Each holds read buffers sized by the documents it carried, so an
/// unbounded pool keeps the memory of the busiest moment; beyond this, a
/// burst's extra connections are closed.
const IDLE_CONNECTIONS: usize = 128;

/// Why the upstream client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    CaFile(#[from] tls::CaFileError),
    #[error("cannot build the upstream HTTP client")]
    Build(#[source] reqwest::Error),
}

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
    pub result: Result<Arc<Document>, FetchError>,
    /// True when this request joined another request's fetch of the same id.
    pub coalesced: bool,
    /// The id of the request that started the fetch, sent upstream with it.
    pub request_id: HeaderValue,
}

pub struct Upstream {
    /// One client per worker (`workers.rs`): its pooled connections are
    /// served by the worker that opened them.
    http: Vec<reqwest::Client>,
    /// Parsed once: parsing it per request (host, IDNA) was 1.5% of the CPU.
    base_url: reqwest::Url,
    attempt_timeout: Duration,
    deadline: Duration,
    max_attempts: u32,
    backoff: Duration,
    max_document_size: u64,
    validation_limits: Limits,
    breaker: CircuitBreaker,
    throttle: Throttle,
    retry_budget: RetryBudget,
    repeat_invalid: RepeatInvalid,
    byte_budget: ByteBudget,
    validation: ValidationPool,
    verdicts: VerdictCache,
    in_progress: SingleFlight<u64, Fetch>,
}

impl Upstream {
    /// `workers` clients, one for each worker (`workers.rs`).
    pub fn new(config: &Config, base_url: String, workers: usize) -> Result<Self, ClientError> {
        tls::install_crypto_provider();
        let certificates = match &config.upstream_ca_file {
            Some(path) => tls::load_ca_file(path)?,
            None => Vec::new(),
        };
        let http = (0..workers)
            .map(|_| {
                let mut http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(config.connect_timeout)
                    .pool_idle_timeout(Duration::from_secs(30))
                    .pool_max_idle_per_host(IDLE_CONNECTIONS.div_ceil(workers))
                    .tcp_nodelay(true)
                    .no_proxy();
                for certificate in &certificates {
                    http = http.add_root_certificate(certificate.clone());
                }
                http.build().map_err(ClientError::Build)
            })
            .collect::<Result<_, _>>()?;
        let breaker = CircuitBreaker::new(
            BreakerSettings {
                consecutive_failures: config.breaker_consecutive_failures,
                open_for: config.breaker_open_for,
                open_max: config.breaker_open_max,
                half_open_probes: config.breaker_half_open_probes,
            },
            Box::new(m::record_breaker_transition),
        );
        let validation = ValidationPool::for_this_machine(config.validation_queue as usize);
        Ok(Upstream {
            http,
            base_url: reqwest::Url::parse(&base_url)
                .expect("the configuration checked the upstream URL"),
            attempt_timeout: config.attempt_timeout,
            deadline: config.deadline,
            max_attempts: config.max_attempts,
            backoff: config.retry_backoff,
            max_document_size: config.max_document_size,
            validation_limits: config.validation_limits(),
            breaker,
            throttle: Throttle::new(ThrottleSettings {
                k: config.throttle_k,
                max_reject: config.throttle_max_reject,
            }),
            retry_budget: RetryBudget::new(config.retry_budget_ratio, config.retry_budget_floor),
            repeat_invalid: RepeatInvalid::new(),
            byte_budget: ByteBudget::new(config.max_in_flight_bytes, validation.cores()),
            validation,
            verdicts: VerdictCache::new(
                config.verdict_cache_entries as usize,
                usize::try_from(config.verdict_cache_bytes).unwrap_or(usize::MAX),
            ),
            in_progress: SingleFlight::new(),
        })
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The probability that the throttle refuses the next attempt.
    pub fn throttle_probability(&self) -> f64 {
        self.throttle.probability()
    }

    /// Fetches and validates document `id`, joining a fetch of the same id
    /// that is already under way.
    pub async fn fetch(self: &Arc<Self>, id: u64, propagation: &Propagation) -> Fetch {
        let upstream = self.clone();
        let propagation = propagation.clone();
        let (mut fetch, coalesced) = self
            .in_progress
            .run(id, move || {
                // Its own span: whichever waiter polls the shared future, its
                // lines name the request that started it.
                let span = tracing::info_span!("fetch", fetch = %String::from_utf8_lossy(propagation.request_id.as_bytes()), id);
                async move { upstream.fetch_alone(id, &propagation).await }
                    .instrument(span)
                    .boxed()
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
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .push(&id.to_string());
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-request-id"),
            propagation.request_id.clone(),
        );
        if let Some(traceparent) = &propagation.traceparent {
            headers.insert(HeaderName::from_static("traceparent"), traceparent.clone());
        }
        let ctx = AttemptContext {
            http: &self.http[crate::workers::current() % self.http.len()],
            url: &url,
            headers: &headers,
            max_document_size: self.max_document_size,
            validation_limits: &self.validation_limits,
            byte_budget: &self.byte_budget,
            validation: &self.validation,
            verdicts: &self.verdicts,
        };
        let attempts = AtomicU32::new(0);
        let invalid = AtomicU32::new(0);
        // A document invalid on every attempt of a recent fetch is not retried for being invalid.
        let repeat_invalid = self.repeat_invalid.contains(id);
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
        .when(|error| match error {
            FetchError::Failed(AttemptError::Invalid(_)) => {
                invalid.fetch_add(1, Ordering::Relaxed);
                !repeat_invalid
            }
            FetchError::Failed(e) => e.is_transient(),
            FetchError::Refused(_) => false,
        })
        .adjust(|_, delay| self.next_delay(delay?, deadline))
        .notify(|error, delay| {
            if let FetchError::Failed(e) = error {
                metrics::counter!(m::UPSTREAM_RETRIES, "reason" => e.outcome()).increment(1);
            }
            tracing::debug!(%error, ?delay, "retrying upstream");
        })
        .await;
        let attempts = attempts.into_inner();
        if let Err(FetchError::Failed(AttemptError::Invalid(_))) = result
            && invalid.into_inner() == attempts
            && (attempts > 1 || repeat_invalid)
        {
            self.repeat_invalid.insert(id);
        }
        Fetch {
            attempts,
            result: result.map(Arc::new),
            coalesced: false,
            request_id: propagation.request_id.clone(),
        }
    }

    /// The wait before the next attempt, or `None` to stop retrying. It only
    /// ever narrows: `None` from the backoff never becomes a retry.
    fn next_delay(&self, backoff: Duration, deadline: Instant) -> Option<Duration> {
        // Full jitter: anywhere between zero and the exponential delay.
        let delay = backoff.mul_f64(rand::rng().random_range(0.0..=1.0));
        if Instant::now() + delay >= deadline {
            return None;
        }
        if !self.retry_budget.try_withdraw() {
            metrics::counter!(m::RETRY_BUDGET_EXHAUSTED).increment(1);
            return None;
        }
        Some(delay)
    }

    /// One attempt, admitted by the breaker and the throttle. Reading the
    /// body is bounded by the attempt timeout and what is left of the
    /// deadline; validating it, docproxy's own work, by the deadline alone.
    async fn attempt(
        &self,
        ctx: &AttemptContext<'_>,
        deadline: Instant,
    ) -> Result<Document, FetchError> {
        let permit = self
            .breaker
            .try_acquire()
            .map_err(|refused| Refusal::BreakerOpen {
                retry_after: refused.retry_after,
            })?;
        let admitted = self.throttle.admit().map_err(|_| Refusal::Throttled)?;
        let started = Instant::now();
        let left = deadline.saturating_duration_since(started);
        let limit = self.attempt_timeout.min(left);
        let body = match tokio::time::timeout(limit, fetch_body(ctx)).await {
            Ok(result) => result,
            Err(_) if limit < self.attempt_timeout => Err(AttemptError::DeadlineExceeded.into()),
            Err(_) => Err(AttemptError::Timeout.into()),
        };
        let result = match body {
            Ok(body) => tokio::time::timeout_at(deadline, validate_body(ctx, body))
                .await
                .unwrap_or_else(|_| Err(AttemptError::DeadlineWhileValidating.into())),
            Err(e) => Err(e),
        };
        let (health, load, outcome) = match &result {
            Ok(_) => (Verdict::Success, throttle::Verdict::Accepted, Some("ok")),
            Err(FetchError::Failed(e)) => {
                (e.breaker_verdict(), e.throttle_verdict(), Some(e.outcome()))
            }
            // Refused mid-body by docproxy's own limits: the upstream answered.
            Err(FetchError::Refused(_)) => (Verdict::Neutral, throttle::Verdict::Accepted, None),
        };
        permit.report(health);
        admitted.record(load);
        if let Err(FetchError::Failed(AttemptError::Invalid(rejection))) = &result {
            m::record_rejected_document(rejection.reason());
        }
        if let Some(outcome) = outcome {
            m::record_attempt(outcome, started.elapsed());
        }
        result
    }
}

//! The load generator: closed-loop workers on tokio + reqwest, to 127.0.0.1
//! only, bounded by a deadline and a request count, stoppable by a flag. Every
//! 200 body is checked the way a client would want it checked: a valid
//! document, labelled with its real type, byte-for-byte one the upstream has.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use docproxy::document::validate;
use rand::Rng;

/// A ceiling on any one load run's requests, whatever its duration says.
pub const MAX_REQUESTS: u64 = 5_000_000;

/// How much load, for how long.
#[derive(Clone, Debug)]
pub struct Load {
    pub concurrency: usize,
    pub duration: Duration,
    pub max_requests: u64,
    /// Total requests per second across all workers; None = as fast as answers come.
    pub rps: Option<f64>,
}

/// Shared between the workers and the scenario that drives them.
#[derive(Clone, Default)]
pub struct Control {
    pub stop: Arc<AtomicBool>,
    pub in_flight: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
}

impl Control {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    /// No HTTP answer: refused, reset, timed out, or a body cut short.
    Transport(String),
}

#[derive(Clone, Debug)]
pub struct Outcome {
    /// When the request started, from the scenario's origin.
    pub at: Duration,
    pub latency: Duration,
    pub answer: Answer,
    /// Set when an answer breaks the promise: a 200 whose body is not a valid
    /// document of the labelled type, or an error that is not problem+json.
    pub violation: Option<String>,
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self.answer {
            Answer::Status(s) => Some(s),
            Answer::Transport(_) => None,
        }
    }
}

pub fn client(pool_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .pool_idle_timeout(pool_timeout)
        .build()
        .expect("reqwest client")
}

/// Runs `load` against `base_url` and returns every outcome.
pub async fn run(
    client: &reqwest::Client,
    base_url: &str,
    load: &Load,
    control: &Control,
    origin: Instant,
) -> Vec<Outcome> {
    let deadline = Instant::now() + load.duration;
    let per_worker_interval = load
        .rps
        .map(|rps| Duration::from_secs_f64(load.concurrency as f64 / rps));
    let workers: Vec<_> = (0..load.concurrency)
        .map(|i| {
            let client = client.clone();
            let base_url = base_url.to_string();
            let control = control.clone();
            let max = load.max_requests;
            let concurrency = load.concurrency;
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut tick = per_worker_interval.map(|every| {
                    // Spread the workers' first ticks over one interval.
                    let offset = every.mul_f64(i as f64 / concurrency as f64);
                    let mut t =
                        tokio::time::interval_at(tokio::time::Instant::now() + offset, every);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    t
                });
                loop {
                    if let Some(t) = tick.as_mut() {
                        t.tick().await;
                    }
                    if control.stop.load(Ordering::SeqCst)
                        || Instant::now() >= deadline
                        || control.sent.fetch_add(1, Ordering::SeqCst) >= max
                    {
                        break;
                    }
                    outcomes.push(one_request(&client, &base_url, &control, origin).await);
                }
                outcomes
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("load worker panicked"));
    }
    all.sort_by_key(|o| o.at);
    all
}

/// One GET /{random id}, timed, its answer checked.
pub async fn one_request(
    client: &reqwest::Client,
    base_url: &str,
    control: &Control,
    origin: Instant,
) -> Outcome {
    // Ids from 1,000 up: the scenarios keep the small ones for special documents.
    let id: u64 = rand::rng().random_range(1_000..1_000_000_000_000);
    request_id(client, base_url, id, control, origin).await
}

/// One GET /{id}, timed, its answer checked.
pub async fn request_id(
    client: &reqwest::Client,
    base_url: &str,
    id: u64,
    control: &Control,
    origin: Instant,
) -> Outcome {
    request_checked(client, base_url, id, control, origin, check_answer).await
}

/// What an answer must be: `Err` says how it breaks the promise.
pub type Check = fn(u16, Option<&str>, &[u8]) -> Result<(), String>;

/// One GET /{id}, timed, its answer judged by `check` (for upstreams that
/// serve other documents than the dummy's usual two).
pub async fn request_checked(
    client: &reqwest::Client,
    base_url: &str,
    id: u64,
    control: &Control,
    origin: Instant,
    check: Check,
) -> Outcome {
    let url = format!("{base_url}/{id}");
    let start = Instant::now();
    control.in_flight.fetch_add(1, Ordering::SeqCst);
    let result = fetch(client, &url).await;
    control.in_flight.fetch_sub(1, Ordering::SeqCst);
    let latency = start.elapsed();
    let at = start - origin;
    match result {
        Ok((status, content_type, body)) => Outcome {
            at,
            latency,
            answer: Answer::Status(status),
            violation: check(status, content_type.as_deref(), &body).err(),
        },
        Err(kind) => Outcome {
            at,
            latency,
            answer: Answer::Transport(kind),
            violation: None,
        },
    }
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
) -> Result<(u16, Option<String>, Vec<u8>), String> {
    let resp = client.get(url).send().await.map_err(classify)?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.bytes().await.map_err(classify)?;
    Ok((status, content_type, body.to_vec()))
}

fn classify(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    kind.to_string()
}

/// The promise docproxy makes to its clients, checked independently of it.
pub fn check_answer(status: u16, content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
    if status == 200 {
        let kind = validate(body).map_err(|r| format!("200 with an invalid body: {r}"))?;
        if content_type != Some(kind.mime()) {
            return Err(format!("200 {} labelled {content_type:?}", kind.as_str()));
        }
        if body != dummy_pdf_or_png::PDF && body != dummy_pdf_or_png::PNG {
            return Err(format!(
                "200 {} of {} bytes that is not the upstream's document",
                kind.as_str(),
                body.len()
            ));
        }
        Ok(())
    } else if content_type != Some("application/problem+json") {
        Err(format!(
            "{status} labelled {content_type:?}, not problem+json"
        ))
    } else {
        Ok(())
    }
}

/// What a set of outcomes adds up to.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub requests: u64,
    /// Answers by status code; "transport" for no HTTP answer at all.
    pub answers: BTreeMap<String, u64>,
    /// Answers without an HTTP status, by kind (connect, timeout, body, request).
    pub transport_errors: BTreeMap<String, u64>,
    pub corrupt_served: u64,
    pub bad_errors: u64,
    pub violations: Vec<String>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut s = Summary::default();
        let mut latencies = Vec::new();
        for o in outcomes {
            s.requests += 1;
            let key = match &o.answer {
                Answer::Status(code) => code.to_string(),
                Answer::Transport(kind) => {
                    *s.transport_errors.entry(kind.clone()).or_insert(0) += 1;
                    "transport".to_string()
                }
            };
            *s.answers.entry(key).or_insert(0) += 1;
            if let Some(v) = &o.violation {
                if o.status() == Some(200) {
                    s.corrupt_served += 1;
                } else {
                    s.bad_errors += 1;
                }
                if s.violations.len() < 5 {
                    s.violations.push(v.clone());
                }
            }
            latencies.push(o.latency);
        }
        latencies.sort();
        s.p50_ms = percentile_ms(&latencies, 0.50);
        s.p99_ms = percentile_ms(&latencies, 0.99);
        s.max_ms = latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3);
        s
    }

    pub fn count(&self, status: &str) -> u64 {
        self.answers.get(status).copied().unwrap_or(0)
    }

    /// Share of requests answered `status`, 0..=1.
    pub fn share(&self, status: &str) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.count(status) as f64 / self.requests as f64
        }
    }
}

/// Nearest-rank percentile of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstreams_documents_pass_and_mislabels_fail() {
        if validate(dummy_pdf_or_png::PNG).is_err() {
            return; // placeholder documents: nothing to prove yet
        }
        assert!(check_answer(200, Some("image/png"), dummy_pdf_or_png::PNG).is_ok());
        assert!(check_answer(200, Some("application/pdf"), dummy_pdf_or_png::PNG).is_err());
        assert!(check_answer(200, Some("application/pdf"), dummy_pdf_or_png::PDF).is_ok());
        let cut = &dummy_pdf_or_png::PDF[..dummy_pdf_or_png::PDF.len() / 2];
        assert!(check_answer(200, Some("application/pdf"), cut).is_err());
    }

    #[test]
    fn errors_must_be_problem_json() {
        assert!(check_answer(503, Some("application/problem+json"), b"{}").is_ok());
        assert!(check_answer(503, Some("text/plain"), b"busy").is_err());
        assert!(check_answer(200, Some("image/png"), b"not a png").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&v, 0.5), 50.0);
        assert_eq!(percentile_ms(&v, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
    }
}

//! Validation off the async workers, over real sockets: while documents are
//! being validated, health, readiness and metrics answer at once; a full
//! validation queue is a 503 at once; a deadline passing during validation is
//! a 504 at the deadline; validation working memory counts in the byte budget.
//!
//! Its own test binary: each test keeps cores busy with large, valid PNGs,
//! which would disturb the timing of other binaries' tests. A PNG of 2^25
//! one-pixel scanlines (64 KB on the wire, 64 MiB inflated) costs ~0.7 s of
//! CPU in a test build, where the per-scanline checks are unoptimised, and
//! ~0.08 s in a release build; the deadline test sets its deadline from the
//! time it measures. Each body is distinct, so none is
//! spared validation by having been seen before.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{Running, start_docproxy};

const WIDTH: u32 = 1;
const HEIGHT: u32 = 1 << 25;

/// A valid greyscale PNG that takes long to validate; `variant` makes its bytes unique.
fn slow_png(variant: u32) -> Vec<u8> {
    static IDAT: OnceLock<Vec<u8>> = OnceLock::new();
    let idat = IDAT.get_or_init(|| {
        // Every scanline is filter byte 0 and a black pixel: all zeros.
        let raw_len = (WIDTH as usize + 1) * HEIGHT as usize;
        let zeros = vec![0u8; 1 << 20];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        for _ in 0..raw_len / zeros.len() {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap()
    });
    let chunk = dummy_pdf_or_png::generate::png_chunk;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&WIDTH.to_be_bytes());
    ihdr.extend_from_slice(&HEIGHT.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"tEXt",
        format!("Comment\0variant {variant}").as_bytes(),
    );
    for part in idat.chunks(64 << 10) {
        chunk(&mut png, b"IDAT", part);
    }
    chunk(&mut png, b"IEND", b"");
    png
}

struct TestApp {
    address: String,
    client: reqwest::Client,
    upstream: MockServer,
    docproxy: Running,
}

/// docproxy in front of a wiremock upstream answering `/{n}` with `slow_png(n)`
/// for n in `ids`, on these extra settings.
async fn spawn_app(ids: std::ops::Range<u32>, args: &[&str]) -> TestApp {
    let upstream = MockServer::start().await;
    for n in ids {
        Mock::given(method("GET"))
            .and(path(format!("/{n}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(slow_png(n), "image/png"))
            .mount(&upstream)
            .await;
    }
    let uri = upstream.uri();
    let mut argv = vec!["--upstream-url", &uri, "--max-attempts", "1"];
    argv.extend_from_slice(args);
    let docproxy = start_docproxy(&argv).await;
    TestApp {
        address: docproxy.address.clone(),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        upstream,
        docproxy,
    }
}

impl TestApp {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("docproxy answers")
    }

    /// Waits until the upstream has sent `n` bodies: they are docproxy's to validate.
    async fn until_upstream_received(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while self
                .upstream
                .received_requests()
                .await
                .map_or(0, |r| r.len())
                < n
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .expect("the upstream receives the requests");
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[tokio::test]
async fn health_readiness_and_metrics_answer_at_once_while_documents_validate() {
    // As many slow documents as there are cores: every validation thread busy.
    let n = cores() as u32;
    let app = spawn_app(1..n + 1, &["--deadline", "60s", "--attempt-timeout", "10s"]).await;
    let validating = AtomicBool::new(true);
    let documents = async {
        let paths: Vec<String> = (1..n + 1).map(|i| format!("/{i}")).collect();
        let responses = join_all(paths.iter().map(|p| app.get(p))).await;
        validating.store(false, Ordering::SeqCst);
        responses
    };
    let probes = async {
        app.until_upstream_received(n as usize).await;
        let mut while_validating = 0;
        while validating.load(Ordering::SeqCst) {
            for probe in ["/healthz", "/readyz", "/metrics"] {
                let started = Instant::now();
                let response = app.get(probe).await;
                let took = started.elapsed();
                assert_eq!(response.status(), 200, "{probe}");
                assert!(
                    took < Duration::from_millis(250),
                    "{probe} took {took:?} while documents were validated"
                );
            }
            if validating.load(Ordering::SeqCst) {
                while_validating += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        while_validating
    };
    let (responses, while_validating) = tokio::join!(documents, probes);
    for response in responses {
        assert_eq!(response.status(), 200, "the slow documents are valid");
    }
    assert!(
        while_validating >= 3,
        "the probes must run during validation to prove anything: {while_validating} rounds did"
    );
}

#[tokio::test]
async fn documents_beyond_the_validation_queue_are_shed_at_once() {
    // No queue: one document per core is validated, the rest are refused.
    let admitted = cores();
    let n = admitted as u32 + 2;
    let app = spawn_app(
        1..n + 1,
        &[
            "--validation-queue",
            "0",
            "--deadline",
            "60s",
            "--attempt-timeout",
            "10s",
        ],
    )
    .await;
    let started = Instant::now();
    let app = &app;
    let responses = join_all((1..n + 1).map(|i| async move {
        let response = app.get(&format!("/{i}")).await;
        let took = started.elapsed();
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        let code = if status == 200 {
            None
        } else {
            Some(response.json::<serde_json::Value>().await.unwrap()["code"].clone())
        };
        (status, retry_after, code, took)
    }))
    .await;

    let ok: Vec<_> = responses.iter().filter(|r| r.0 == 200).collect();
    let shed: Vec<_> = responses.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(ok.len(), admitted, "{responses:?}");
    assert_eq!(shed.len(), 2, "{responses:?}");
    let first_ok = ok.iter().map(|r| r.3).min().unwrap();
    for (_, retry_after, code, took) in shed {
        assert_eq!(code.as_ref().unwrap(), "shed");
        assert!(retry_after);
        assert!(
            *took < first_ok,
            "refused at once ({took:?}), not after a validation ({first_ok:?})"
        );
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let shed_line = metrics
        .lines()
        .find(|l| l.starts_with("docproxy_requests_shed_total{reason=\"validation\"}"))
        .unwrap();
    let count: f64 = shed_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2.0, "{shed_line}");
}

#[tokio::test]
async fn a_deadline_passing_during_validation_is_a_504_at_the_deadline() {
    // A third of what validating one of these bodies takes in this build
    // (~0.7 s in a test build, less in a release one), so the deadline
    // passes while the validation runs, whichever profile runs the test.
    let body = slow_png(0);
    let started = Instant::now();
    assert!(docproxy::document::validate(&body).is_ok());
    let deadline = started.elapsed() / 3;
    assert!(
        deadline >= Duration::from_millis(5),
        "validation too fast for a deadline to pass during it"
    );
    let ms = format!("{}ms", deadline.as_millis());
    let app = spawn_app(
        1..2,
        &[
            "--deadline",
            &ms,
            "--attempt-timeout",
            &ms,
            "--connect-timeout",
            &ms,
        ],
    )
    .await;
    let deadline = Duration::from_millis(deadline.as_millis() as u64);
    let started = Instant::now();
    let response = app.get("/1").await;
    let took = started.elapsed();
    assert_eq!(response.status(), 504);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "deadline_exceeded");
    assert!(
        took >= deadline && took < deadline + Duration::from_millis(200),
        "answered at the deadline, not when validation ended: {took:?}"
    );
    // The abandoned validation does not hold up the service, nor its shutdown.
    let started = Instant::now();
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(250));
    app.docproxy.stop().await.expect("docproxy stops cleanly");
}

#[tokio::test]
async fn validation_memory_is_reserved_in_the_byte_budget() {
    // The PNG is 64 KB on the wire, and its validation draws 256 KiB of
    // working memory from the same budget: 300 KiB holds the body, not both.
    let body = slow_png(1).len() as u64;
    assert!(body < 100 << 10 && body + (256 << 10) > 300 << 10);
    let tight = spawn_app(
        1..2,
        &[
            "--max-in-flight-bytes",
            "300KiB",
            "--max-document-size",
            "256KiB",
        ],
    )
    .await;
    let response = tight.get("/1").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let metrics = tight.docproxy.metrics(&tight.client).await;
    assert!(
        metrics.contains("docproxy_requests_shed_total{reason=\"bytes\"} 1"),
        "{metrics}"
    );

    let roomy = spawn_app(
        1..2,
        &[
            "--max-in-flight-bytes",
            "400KiB",
            "--max-document-size",
            "256KiB",
            "--deadline",
            "60s",
            "--attempt-timeout",
            "30s",
        ],
    )
    .await;
    // With room for both, it is served.
    assert_eq!(roomy.get("/1").await.status(), 200);
}

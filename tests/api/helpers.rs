//! `spawn_app`: docproxy on an ephemeral port in front of a wiremock upstream.

use std::time::Duration;

use clap::Parser;
use docproxy::Application;
use docproxy::config::{Cli, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PDF: &[u8] = dummy_pdf_or_png::PDF;
pub const PNG: &[u8] = dummy_pdf_or_png::PNG;
pub const CORRUPT_PDF: &[u8] = dummy_pdf_or_png::CORRUPT_PDF;

pub struct TestApp {
    pub address: String,
    pub upstream: MockServer,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Test defaults: fast backoff, and timeouts short enough to test quickly.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts docproxy with extra command-line settings, e.g. `&["--max-attempts", "1"]`.
pub async fn spawn_app_with(args: &[&str]) -> TestApp {
    let upstream = MockServer::start().await;
    let mut argv = vec![
        "docproxy",
        "--listen",
        "127.0.0.1:0",
        "--retry-backoff",
        "1ms",
    ];
    let uri = upstream.uri();
    if !args.contains(&"--upstream-url") {
        argv.extend_from_slice(&["--upstream-url", &uri]);
    }
    argv.extend_from_slice(args);
    let config: Config = Cli::try_parse_from(argv)
        .expect("test settings parse")
        .config;
    config.validate().expect("test settings are valid");
    // Logs only on request: `TEST_LOG=1 cargo test`.
    if std::env::var_os("TEST_LOG").is_some() {
        docproxy::telemetry::init(config.log_format);
    }

    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        upstream,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("docproxy answers")
    }

    /// Mounts a response for every `GET /<digits>` on the upstream.
    pub async fn upstream_answers(&self, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path_regex(r"^/\d+$"))
            .respond_with(response)
            .mount(&self.upstream)
            .await;
    }

    /// Answers `response` to the next `times` upstream requests only.
    pub async fn upstream_answers_first(&self, times: u64, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path_regex(r"^/\d+$"))
            .respond_with(response)
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.upstream)
            .await;
    }

    /// Waits until the upstream has received `n` requests (so they are in flight).
    pub async fn until_upstream_received(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while self.upstream_requests().await < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the upstream receives the requests");
    }

    pub async fn upstream_requests(&self) -> usize {
        self.upstream
            .received_requests()
            .await
            .map_or(0, |r| r.len())
    }

    /// Sends the shutdown signal and waits for the server to drain and stop.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.server
            .take()
            .unwrap()
            .await
            .expect("server task does not panic")
    }
}

/// The URL of a port nobody listens on: connections to it are refused.
pub fn unreachable_upstream() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

pub fn pdf() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(PDF, "application/pdf")
}

pub fn png() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(PNG, "image/png")
}

pub fn corrupt_pdf() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(CORRUPT_PDF, "application/pdf")
}

pub fn status(code: u16) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_string("upstream says no")
}

pub fn slow(response: ResponseTemplate, delay: Duration) -> ResponseTemplate {
    response.set_delay(delay)
}

/// Reads a problem+json body and checks its shape.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "errors are problem+json"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(
        body["request_id"], request_id,
        "the body names the request id"
    );
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

//! `spawn_app`: docproxy on an ephemeral port in front of a wiremock upstream.

use std::time::Duration;

use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Running, start_docproxy};

pub const PDF: &[u8] = dummy_pdf_or_png::PDF;
pub const PNG: &[u8] = dummy_pdf_or_png::PNG;
pub const CORRUPT_PDF: &[u8] = dummy_pdf_or_png::CORRUPT_PDF;

pub struct TestApp {
    pub address: String,
    pub upstream: MockServer,
    pub client: reqwest::Client,
    docproxy: Running,
}

/// Test defaults: fast backoff, and timeouts short enough to test quickly.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts docproxy with extra command-line settings, e.g. `&["--max-attempts", "1"]`.
pub async fn spawn_app_with(args: &[&str]) -> TestApp {
    let upstream = MockServer::start().await;
    let uri = upstream.uri();
    let mut argv = vec!["--retry-backoff", "1ms"];
    if !args.contains(&"--upstream-url") {
        argv.extend_from_slice(&["--upstream-url", &uri]);
    }
    argv.extend_from_slice(args);
    let docproxy = start_docproxy(&argv).await;
    TestApp {
        address: docproxy.address.clone(),
        upstream,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
        docproxy,
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
    pub async fn stop(self) -> std::io::Result<()> {
        self.docproxy.stop().await
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

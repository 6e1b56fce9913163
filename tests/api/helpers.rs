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

/// A valid PNG of a little over `padding` bytes: the sample PNG with a private
/// ancillary chunk of zeros after IHDR (validators skip its content).
pub fn large_png(padding: usize) -> Vec<u8> {
    dummy_pdf_or_png::padded_png(padding)
}

/// One response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl TestApp {
    /// A raw connection to docproxy, for tests that need the socket itself.
    pub async fn connect(&self) -> tokio::net::TcpStream {
        tokio::net::TcpStream::connect(self.address.trim_start_matches("http://"))
            .await
            .expect("docproxy accepts")
    }
}

/// Writes `request` (a whole request head) and reads one response with a
/// Content-Length body.
pub async fn exchange(stream: &mut tokio::net::TcpStream, request: &str) -> RawResponse {
    use tokio::io::AsyncWriteExt;
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(stream)
        .await
        .expect("a response before the connection closes")
}

/// Reads one response with a Content-Length body; `None` when the connection
/// closes first.
pub async fn read_response(stream: &mut tokio::net::TcpStream) -> Option<RawResponse> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(RawResponse { status, body })
}

/// Reads until the server closes the connection (EOF or reset); the bytes read.
pub async fn until_closed(stream: &mut tokio::net::TcpStream) -> usize {
    use tokio::io::AsyncReadExt;
    let mut chunk = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

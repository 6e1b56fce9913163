//! The Prometheus exposition after real traffic. Its own test binary: the
//! metrics recorder is global to a process, so counts here are exact.

mod common;

use common::start_docproxy;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn traffic_shows_up_in_bounded_metrics() {
    let upstream = MockServer::start().await;
    let pdf = ResponseTemplate::new(200).set_body_raw(dummy_pdf_or_png::PDF, "image/png");
    let corrupt =
        ResponseTemplate::new(200).set_body_raw(dummy_pdf_or_png::CORRUPT_PDF, "application/pdf");
    Mock::given(method("GET"))
        .and(path("/1"))
        .respond_with(corrupt)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/1"))
        .respond_with(pdf)
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/2"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&upstream)
        .await;

    let docproxy = start_docproxy(&["--upstream-url", &upstream.uri()]).await;
    let base = docproxy.address.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // /1234567 has no mock: wiremock answers 404, as /2 does.
    for path in ["/1", "/2", "/abc", "/1234567"] {
        client.get(format!("{base}{path}")).send().await.unwrap();
    }

    let text = docproxy.metrics(&client).await;
    let has = |line: &str| text.lines().any(|l| l == line);

    for expected in [
        r#"docproxy_http_requests_total{route="/{id}",method="GET",status="200"} 1"#,
        r#"docproxy_http_requests_total{route="/{id}",method="GET",status="404"} 2"#,
        r#"docproxy_http_requests_total{route="/{id}",method="GET",status="400"} 1"#,
        r#"docproxy_upstream_attempts_total{outcome="invalid_document"} 1"#,
        r#"docproxy_upstream_attempts_total{outcome="ok"} 1"#,
        r#"docproxy_upstream_attempts_total{outcome="not_found"} 2"#,
        r#"docproxy_upstream_retries_total{reason="invalid_document"} 1"#,
        r#"docproxy_documents_served_total{type="pdf",verification="full"} 1"#,
        r#"docproxy_documents_served_total{type="pdf",verification="structure"} 0"#,
        r#"docproxy_upstream_content_type_mismatch_total 1"#,
        r#"docproxy_breaker_state{state="closed"} 1"#,
        r#"docproxy_breaker_state{state="open"} 0"#,
        r#"docproxy_requests_shed_total{reason="in_flight"} 0"#,
    ] {
        assert!(has(expected), "missing {expected}\n{text}");
    }
    assert!(text.contains(r#"docproxy_http_request_duration_seconds_bucket{route="/{id}",method="GET",status="200",le="0.005"}"#));
    assert!(
        text.contains("docproxy_documents_rejected_total{reason=\"pdf_"),
        "{text}"
    );
    // No raw ids or request ids in any label: the only numbers in labels are statuses and bucket bounds.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            !line.contains("1234567") && !line.contains("\"/1\""),
            "unbounded label in {line}"
        );
    }
    docproxy.stop().await.expect("docproxy stops cleanly");
}

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn serves_a_valid_pdf_with_its_type_and_safe_headers() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/529852"))
        .respond_with(pdf())
        .expect(1)
        .mount(&app.upstream)
        .await;

    let response = app.get("/529852").await;

    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["content-length"], PDF.len().to_string());
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-disposition"], "inline; filename=\"529852.pdf\"");
    assert_eq!(h["cache-control"], "private, no-cache");
    assert_eq!(h["x-request-id"].len(), 32);
    assert_eq!(response.bytes().await.unwrap(), PDF);
}

#[tokio::test]
async fn serves_the_true_type_when_the_upstream_mislabels() {
    let app = spawn_app().await;
    app.upstream_answers(ResponseTemplate::new(200).set_body_raw(PNG, "application/pdf"))
        .await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(
        response.headers()["content-disposition"],
        "inline; filename=\"1.png\""
    );
    assert_eq!(response.bytes().await.unwrap(), PNG);
}

#[tokio::test]
async fn head_answers_headers_without_a_body() {
    let app = spawn_app().await;
    app.upstream_answers(png()).await;

    let response = app
        .client
        .head(format!("{}/9", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["content-length"], PNG.len().to_string());
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn malformed_ids_are_400_and_never_reach_the_upstream() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;

    for bad in [
        "/abc",
        "/-1",
        "/1.5",
        "/18446744073709551616",
        "/123456789012345678901",
        "/1/2",
        "/",
        "/%31",
        "/1%00",
    ] {
        let response = app.get(bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body = problem(response).await;
        assert_eq!(body["code"], "bad_id", "{bad}");
    }
    assert_eq!(app.upstream_requests().await, 0);
}

#[tokio::test]
async fn other_methods_are_405_with_allow_on_every_route() {
    let app = spawn_app().await;
    for route in ["/1", "/healthz", "/readyz", "/metrics"] {
        for method in [
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::OPTIONS,
        ] {
            let response = app
                .client
                .request(method.clone(), format!("{}{route}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {route}");
            assert_eq!(response.headers()["allow"], "GET, HEAD", "{method} {route}");
            assert_eq!(problem(response).await["code"], "method_not_allowed");
        }
    }
    assert_eq!(app.upstream_requests().await, 0);
}

#[tokio::test]
async fn request_ids_and_traceparent_travel_upstream() {
    let app = spawn_app().await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    Mock::given(method("GET"))
        .and(header("x-request-id", "client-id-1"))
        .and(header("traceparent", traceparent))
        .respond_with(pdf())
        .expect(1)
        .mount(&app.upstream)
        .await;

    let response = app
        .client
        .get(format!("{}/1", app.address))
        .header("x-request-id", "client-id-1")
        .header("traceparent", traceparent)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "client-id-1");
}

#[tokio::test]
async fn insane_request_ids_are_replaced() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    let response = app
        .client
        .get(format!("{}/1", app.address))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32);
    let sent = &app.upstream.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers["x-request-id"],
        id.as_str(),
        "the same id goes upstream"
    );
}

#[tokio::test]
async fn upstream_bodies_never_leak_into_errors() {
    let app = spawn_app_with(&["--max-attempts", "1"]).await;
    app.upstream_answers(
        ResponseTemplate::new(500).set_body_string("secret stack trace at db.internal:5432"),
    )
    .await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 502);
    let text = problem(response).await.to_string();
    assert!(
        !text.contains("secret") && !text.contains("db.internal"),
        "{text}"
    );
}

fn encrypted_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/encrypted")
            .join(name),
    )
    .unwrap()
}

async fn served_count(app: &TestApp, verification: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let series =
        format!("docproxy_documents_served_total{{type=\"pdf\",verification=\"{verification}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn an_encrypted_pdf_is_served_with_the_verification_its_password_allows() {
    let app = spawn_app().await;
    let (before_full, before_structure) = (
        served_count(&app, "full").await,
        served_count(&app, "structure").await,
    );
    let opens = encrypted_fixture("qpdf-aes-256.pdf");
    Mock::given(path("/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(opens.clone(), "application/pdf"))
        .mount(&app.upstream)
        .await;
    let sealed = encrypted_fixture("libreoffice-open-password.pdf");
    Mock::given(path("/2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sealed.clone(), "application/pdf"))
        .mount(&app.upstream)
        .await;

    let response = app.get("/1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), opens);
    let response = app.get("/2").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), sealed);

    // The recorder is the process's: other tests serve full documents too.
    assert!(served_count(&app, "full").await >= before_full + 1.0);
    assert_eq!(
        served_count(&app, "structure").await,
        before_structure + 1.0
    );
}

#[tokio::test]
async fn encrypted_pdf_refuse_refuses_only_what_needs_a_password() {
    let app = spawn_app_with(&["--encrypted-pdf", "refuse", "--max-attempts", "1"]).await;
    Mock::given(path("/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(encrypted_fixture("qpdf-rc4-128.pdf"), "application/pdf"),
        )
        .mount(&app.upstream)
        .await;
    Mock::given(path("/2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            encrypted_fixture("qpdf-rc4-128-user-password.pdf"),
            "application/pdf",
        ))
        .mount(&app.upstream)
        .await;

    assert_eq!(app.get("/1").await.status(), 200);
    let refused = app.get("/2").await;
    assert_eq!(refused.status(), 502);
    assert_eq!(problem(refused).await["code"], "upstream_failed");
}

use std::time::{Duration, Instant, SystemTime};

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn a_corrupt_document_is_retried_and_never_served() {
    let app = spawn_app().await;
    app.upstream_answers_first(1, corrupt_pdf()).await;
    app.upstream_answers(pdf()).await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), PDF);
    assert_eq!(app.upstream_requests().await, 2);
}

#[tokio::test]
async fn persistent_corruption_is_a_502_after_max_attempts() {
    let app = spawn_app().await;
    app.upstream_answers(corrupt_pdf()).await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 502);
    assert_eq!(problem(response).await["code"], "upstream_failed");
    assert_eq!(app.upstream_requests().await, 5);
}

#[tokio::test]
async fn bodies_that_are_not_documents_are_rejected() {
    let app = spawn_app_with(&["--max-attempts", "1"]).await;
    let html = "<!doctype html><html><body>502 Bad Gateway</body></html>";
    for body in [
        ResponseTemplate::new(200).set_body_raw(html, "application/pdf"),
        ResponseTemplate::new(200),
    ] {
        app.upstream.reset().await;
        app.upstream_answers(body).await;
        assert_eq!(app.get("/1").await.status(), 502);
    }
}

#[tokio::test]
async fn transient_statuses_are_retried() {
    for code in [500, 502, 503, 504] {
        let app = spawn_app().await;
        app.upstream_answers_first(2, status(code)).await;
        app.upstream_answers(png()).await;

        let response = app.get("/1").await;

        assert_eq!(response.status(), 200, "after two {code}s");
        assert_eq!(app.upstream_requests().await, 3);
    }
}

#[tokio::test]
async fn final_statuses_are_not_retried() {
    for (upstream, expected) in [(404, 404), (400, 502), (403, 502), (501, 502), (302, 502)] {
        let app = spawn_app().await;
        app.upstream_answers(status(upstream).insert_header("location", "/elsewhere"))
            .await;

        let response = app.get("/1").await;

        assert_eq!(response.status(), expected, "upstream {upstream}");
        problem(response).await;
        assert_eq!(
            app.upstream_requests().await,
            1,
            "upstream {upstream} is answered once, redirects not followed"
        );
    }
}

#[tokio::test]
async fn overload_answers_are_passed_on_at_once_and_never_retried() {
    let in_two_seconds = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    for (code, retry_after, expected) in [
        (429, "3", "3"),
        (503, "30", "30"),
        (503, in_two_seconds.as_str(), "2"),
        (429, "3600", "60"),
    ] {
        let app = spawn_app().await;
        app.upstream_answers(status(code).insert_header("retry-after", retry_after))
            .await;

        let started = Instant::now();
        let response = app.get("/1").await;

        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(response.status(), 503, "{code} {retry_after}");
        let passed_on = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .to_owned();
        // An HTTP-date has whole seconds: two seconds ahead may read as one.
        assert!(
            passed_on == expected || (expected == "2" && passed_on == "1"),
            "{code} {retry_after}: {passed_on}"
        );
        assert_eq!(problem(response).await["code"], "upstream_overloaded");
        assert_eq!(app.upstream_requests().await, 1, "not retried");
    }
}

#[tokio::test]
async fn a_slow_attempt_times_out_and_is_retried() {
    let app = spawn_app_with(&["--attempt-timeout", "200ms", "--connect-timeout", "100ms"]).await;
    app.upstream_answers_first(1, slow(pdf(), Duration::from_secs(5)))
        .await;
    app.upstream_answers(pdf()).await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.upstream_requests().await, 2);
}

#[tokio::test]
async fn the_deadline_bounds_the_whole_request() {
    let app = spawn_app_with(&[
        "--attempt-timeout",
        "300ms",
        "--deadline",
        "500ms",
        "--connect-timeout",
        "100ms",
    ])
    .await;
    app.upstream_answers(slow(pdf(), Duration::from_secs(5)))
        .await;

    let started = Instant::now();
    let response = app.get("/1").await;

    assert_eq!(response.status(), 504);
    assert_eq!(problem(response).await["code"], "deadline_exceeded");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(480) && took < Duration::from_millis(1500),
        "took {took:?}"
    );
}

#[tokio::test]
async fn documents_over_the_size_limit_are_refused_without_retry() {
    let app = spawn_app_with(&["--max-document-size", "1KiB"]).await;
    app.upstream_answers(pdf()).await;

    assert_eq!(app.get("/1").await.status(), 502);
    assert_eq!(app.upstream_requests().await, 1);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_after_retries() {
    let app = spawn_app_with(&["--upstream-url", &unreachable_upstream()]).await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 502);
}

#[tokio::test]
async fn the_retry_budget_stops_a_retry_storm() {
    let app = spawn_app_with(&[
        "--retry-budget-ratio",
        "0",
        "--retry-budget-floor",
        "1",
        "--breaker-consecutive-failures",
        "10000",
    ])
    .await;
    app.upstream_answers(status(503)).await;

    for _ in 0..20 {
        assert_eq!(app.get("/1").await.status(), 502);
    }

    // 20 first attempts, plus the floor: 1 retry/s over the 10 s window.
    assert_eq!(app.upstream_requests().await, 30);
}

#[tokio::test]
async fn only_the_id_path_is_requested_upstream() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/42"))
        .respond_with(pdf())
        .expect(1)
        .mount(&app.upstream)
        .await;
    assert_eq!(app.get("/42").await.status(), 200);
}

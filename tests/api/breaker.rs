use std::time::{Duration, Instant};

use crate::helpers::*;

const FAST_BREAKER: &[&str] = &[
    "--max-attempts",
    "1",
    "--breaker-consecutive-failures",
    "5",
    "--breaker-open-for",
    "300ms",
    "--breaker-open-max",
    "300ms",
    "--breaker-half-open-probes",
    "1",
];

#[tokio::test]
async fn a_failing_upstream_trips_the_breaker_and_it_answers_503_fast() {
    let app = spawn_app_with(FAST_BREAKER).await;
    app.upstream_answers(status(503)).await;

    for _ in 0..5 {
        assert_eq!(app.get("/1").await.status(), 502);
    }
    let started = Instant::now();
    let response = app.get("/1").await;
    let took = started.elapsed();

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(problem(response).await["code"], "breaker_open");
    assert!(
        took < Duration::from_millis(100),
        "fail fast, took {took:?}"
    );
    assert_eq!(
        app.upstream_requests().await,
        5,
        "nothing reaches the upstream while open"
    );
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["breaker"], "open");
    assert_eq!(
        ready["status"], "ready",
        "an open breaker does not make the pod unready"
    );
}

#[tokio::test]
async fn the_breaker_recovers_through_half_open() {
    let app = spawn_app_with(FAST_BREAKER).await;
    app.upstream_answers_first(5, status(500)).await;
    app.upstream_answers(pdf()).await;
    for _ in 0..5 {
        app.get("/1").await;
    }
    assert_eq!(app.get("/1").await.status(), 503);

    tokio::time::sleep(Duration::from_millis(400)).await;

    assert_eq!(app.get("/1").await.status(), 200, "the probe succeeds");
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["breaker"], "closed");
    assert_eq!(app.get("/2").await.status(), 200);
}

#[tokio::test]
async fn a_failed_probe_reopens_the_breaker() {
    let app = spawn_app_with(FAST_BREAKER).await;
    app.upstream_answers(status(500)).await;
    for _ in 0..5 {
        app.get("/1").await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;

    assert_eq!(
        app.get("/1").await.status(),
        502,
        "the probe reaches the upstream and fails"
    );
    assert_eq!(app.get("/1").await.status(), 503, "open again");
    assert_eq!(app.upstream_requests().await, 6);
}

#[tokio::test]
async fn not_found_answers_never_trip_the_breaker() {
    let app = spawn_app_with(FAST_BREAKER).await;
    app.upstream_answers(status(404)).await;
    for _ in 0..30 {
        assert_eq!(app.get("/1").await.status(), 404);
    }
    assert_eq!(app.upstream_requests().await, 30);
}

#[tokio::test]
async fn the_original_ten_percent_corruption_never_trips_the_default_breaker() {
    let app = spawn_app().await;
    // Every tenth upstream answer is the corrupt PDF, as the original upstream's mix averages.
    for _ in 0..30 {
        app.upstream_answers_first(9, pdf()).await;
        app.upstream_answers_first(1, corrupt_pdf()).await;
    }
    app.upstream_answers(pdf()).await;
    for id in 0..250 {
        assert_eq!(app.get(&format!("/{id}")).await.status(), 200);
    }
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["breaker"], "closed");
}

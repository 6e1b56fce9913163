use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::helpers::*;

#[tokio::test]
async fn requests_beyond_max_in_flight_are_shed_at_once() {
    let app = spawn_app_with(&["--max-in-flight", "2"]).await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(500)))
        .await;

    let started = Instant::now();
    let responses = join_all((0..6).map(|i| {
        let app = &app;
        async move {
            let response = app.get(&format!("/{i}")).await;
            (
                response.status().as_u16(),
                response.headers().get("retry-after").cloned(),
                started.elapsed(),
            )
        }
    }))
    .await;

    let ok = responses.iter().filter(|r| r.0 == 200).count();
    let shed: Vec<_> = responses.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(ok, 2, "{responses:?}");
    assert_eq!(shed.len(), 4, "{responses:?}");
    for (_, retry_after, took) in shed {
        assert!(retry_after.is_some());
        assert!(
            *took < Duration::from_millis(400),
            "shed without queueing: {took:?}"
        );
    }
    assert_eq!(app.upstream_requests().await, 2);
}

#[tokio::test]
async fn the_byte_budget_sheds_when_documents_would_not_fit() {
    // Room for one PDF (~13 KB) at a time, not two.
    let app = spawn_app_with(&[
        "--max-in-flight-bytes",
        "20KiB",
        "--max-document-size",
        "20KiB",
        "--max-attempts",
        "1",
    ])
    .await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(300)))
        .await;

    let statuses: Vec<u16> = join_all((0..2).map(|i| {
        let app = &app;
        async move { app.get(&format!("/{i}")).await.status().as_u16() }
    }))
    .await;

    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 503], "{statuses:?}");
    // Once the first body is released, there is room again.
    assert_eq!(app.get("/3").await.status(), 200);
}

#[tokio::test]
async fn health_endpoints_are_not_shed() {
    let app = spawn_app_with(&["--max-in-flight", "1"]).await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(300)))
        .await;
    let busy = app.get("/1");
    let health = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        (
            app.get("/healthz").await.status(),
            app.get("/readyz").await.status(),
        )
    };
    let (busy, (healthz, readyz)) = tokio::join!(busy, health);
    assert_eq!(busy.status(), 200);
    assert_eq!((healthz.as_u16(), readyz.as_u16()), (200, 200));
}

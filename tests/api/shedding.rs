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
    // The real dummy drips a padded PNG (~327 KiB) for about a third of a
    // second, so the first request holds its reservation while the second
    // arrives. The budget holds one body and the 256 KiB its validation
    // draws (583 KiB), not two bodies (653 KiB).
    const PADDING: usize = 280 << 10;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let mut dummy = dummy_pdf_or_png::Config {
        only: Some(dummy_pdf_or_png::Only::Png),
        pad_png: PADDING,
        ..Default::default()
    };
    dummy.faults.drip_rate = 1.0;
    dummy.faults.drip_interval = Duration::from_millis(1);
    tokio::spawn(dummy_pdf_or_png::serve(
        listener,
        dummy,
        std::future::pending(),
    ));
    let app = spawn_app_with(&[
        "--upstream-url",
        &upstream,
        "--max-in-flight-bytes",
        "600KiB",
        "--max-document-size",
        "512KiB",
        "--max-attempts",
        "1",
    ])
    .await;

    let (first, second) = tokio::join!(app.get("/1"), async {
        // The dummy has started dripping the first document: docproxy holds its bytes.
        let metrics = format!("{upstream}/_dummy/metrics");
        while !app
            .client
            .get(&metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("dummy_documents_served_total{kind=\"png\"} 1")
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        app.get("/2").await
    });

    assert_eq!(first.status(), 200);
    assert_eq!(
        first.bytes().await.unwrap(),
        dummy_pdf_or_png::padded_png(PADDING)
    );
    assert_eq!(second.status(), 503);
    assert_eq!(problem(second).await["code"], "shed");
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
        app.until_upstream_received(1).await;
        (
            app.get("/healthz").await.status(),
            app.get("/readyz").await.status(),
        )
    };
    let (busy, (healthz, readyz)) = tokio::join!(busy, health);
    assert_eq!(busy.status(), 200);
    assert_eq!((healthz.as_u16(), readyz.as_u16()), (200, 200));
}

//! One document's fate never decides other ids': a client hammering an id
//! whose document is always invalid, too large, or forbidden opens no breaker,
//! engages no throttle and spends no retry budget the other ids need.

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

async fn answer(app: &TestApp, id: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/{id}")))
        .respond_with(response)
        .with_priority(1)
        .mount(&app.upstream)
        .await;
}

async fn requests_for(app: &TestApp, id: &str) -> usize {
    let requests = app.upstream.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.url.path() == format!("/{id}"))
        .count()
}

#[tokio::test]
async fn hammering_bad_ids_never_opens_the_breaker() {
    // A breaker that opens after five failures in a row: any bad-id answer
    // counted as an upstream failure would open it within two requests.
    let app = spawn_app_with(&[
        "--breaker-consecutive-failures",
        "5",
        "--max-document-size",
        "16KiB",
    ])
    .await;
    answer(&app, "7", corrupt_pdf()).await;
    answer(
        &app,
        "8",
        ResponseTemplate::new(200).set_body_raw(vec![b' '; 64 << 10], "application/pdf"),
    )
    .await;
    answer(&app, "9", status(403)).await;
    app.upstream_answers(pdf()).await;

    for _ in 0..40 {
        for (id, code) in [
            ("7", "upstream_failed"),
            ("8", "upstream_failed"),
            ("9", "upstream_failed"),
        ] {
            let response = app.get(&format!("/{id}")).await;
            assert_eq!(response.status(), 502, "/{id}");
            assert_eq!(problem(response).await["code"], code);
        }
    }

    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["breaker"], "closed");
    for id in 10..30 {
        assert_eq!(app.get(&format!("/{id}")).await.status(), 200, "/{id}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("docproxy_throttle_reject_probability 0\n"),
        "no overload signal, no throttling"
    );
}

#[tokio::test]
async fn an_always_invalid_id_stops_spending_the_retry_budget() {
    // Ten retries in the whole window (a floor of one a second, no ratio).
    let app = spawn_app_with(&["--retry-budget-ratio", "0", "--retry-budget-floor", "1"]).await;
    answer(&app, "7", corrupt_pdf()).await;

    for _ in 0..20 {
        assert_eq!(app.get("/7").await.status(), 502);
    }
    // Five attempts the first time; then its invalid documents are not retried.
    assert_eq!(requests_for(&app, "7").await, 5 + 19);

    // Six retries are left for everyone else: a random corruption is still retried.
    app.upstream_answers_first(2, corrupt_pdf()).await;
    app.upstream_answers(pdf()).await;
    assert_eq!(app.get("/1").await.status(), 200);
    assert_eq!(requests_for(&app, "1").await, 3);
}

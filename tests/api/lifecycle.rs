use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn liveness_does_not_depend_on_the_upstream() {
    let app = spawn_app_with(&["--upstream-url", &unreachable_upstream()]).await;

    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    app.get("/1").await;

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("# TYPE docproxy_http_requests_total counter"),
        "{text}"
    );
    assert!(text.contains("docproxy_build_info{version="));
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let app = spawn_app().await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(400)))
        .await;
    let url = format!("{}/1", app.address);
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    app.until_upstream_received(1).await;

    let address = app.address.clone();
    app.stop().await.expect("clean stop");

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), PDF);
    let after = reqwest::Client::new()
        .get(format!("{address}/healthz"))
        .send()
        .await;
    assert!(after.is_err(), "the listener is closed after shutdown");
}

/// The names of this process's threads that are docproxy workers.
fn worker_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.unwrap().path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("docproxy-w"))
        .collect()
}

#[tokio::test]
async fn every_worker_serves_and_drains_then_ends() {
    assert!(
        worker_threads().is_empty(),
        "no other test here starts workers"
    );
    let app = spawn_app_with(&["--workers", "3"]).await;
    // The server task starts them: wait for it to run.
    let mut names = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let names = worker_threads();
            if names.len() >= 2 {
                break names;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the workers start");
    names.sort();
    assert_eq!(names, ["docproxy-w1", "docproxy-w2"]);
    app.upstream_answers(slow(pdf(), Duration::from_millis(400)))
        .await;
    // A connection each, so the workers share them out as they accept.
    let in_flight: Vec<_> = (0..12)
        .map(|n| {
            let url = format!("{}/{n}", app.address);
            tokio::spawn(async move {
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                let response = client.get(url).send().await?;
                let status = response.status();
                response.bytes().await.map(|body| (status, body))
            })
        })
        .collect();
    app.until_upstream_received(12).await;

    app.stop().await.expect("clean stop");

    for request in in_flight {
        let (status, body) = request.await.unwrap().expect("each request completes");
        assert_eq!(status, 200);
        assert_eq!(body, PDF);
    }
    assert!(
        worker_threads().is_empty(),
        "the workers ended with the server"
    );
}

#[tokio::test]
async fn readiness_is_503_while_draining() {
    let app = spawn_app_with(&["--shutdown-grace", "2s"]).await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(600)))
        .await;
    // Keep one connection busy so draining lasts, and ask readiness on another
    // connection that was opened before the shutdown.
    let probe_client = reqwest::Client::builder().no_proxy().build().unwrap();
    assert_eq!(
        probe_client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let busy_url = format!("{}/1", app.address);
    let busy = tokio::spawn(async move { reqwest::get(busy_url).await });
    app.until_upstream_received(1).await;

    let readyz = format!("{}/readyz", app.address);
    let stopping = tokio::spawn(app.stop());
    // While the busy request drains, readiness turns 503 (or the idle
    // keep-alive connection is closed by the drain).
    let turned = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match probe_client.get(&readyz).send().await {
                Ok(response) if response.status() == 200 => {}
                Ok(response) => break response.status().as_u16(),
                Err(_) => break 0,
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("readiness changes during the drain");
    assert!(turned == 503 || turned == 0, "readiness answered {turned}");
    assert!(
        !busy.is_finished(),
        "the drain had begun while the request was still in flight"
    );

    assert_eq!(busy.await.unwrap().unwrap().status(), 200);
    stopping.await.unwrap().unwrap();
}

use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::*;

#[tokio::test]
async fn concurrent_requests_for_one_id_share_one_upstream_fetch() {
    let app = spawn_app().await;
    app.upstream_answers(slow(pdf(), Duration::from_millis(300)))
        .await;

    let responses = join_all((0..10).map(|_| app.get("/7"))).await;

    for response in responses {
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), PDF);
    }
    assert_eq!(
        app.upstream_requests().await,
        1,
        "one fetch for ten concurrent requests"
    );
}

#[tokio::test]
async fn different_ids_are_fetched_separately() {
    let app = spawn_app().await;
    app.upstream_answers(slow(png(), Duration::from_millis(100)))
        .await;

    let paths: Vec<String> = (0..5).map(|i| format!("/{i}")).collect();
    let responses = join_all(paths.iter().map(|p| app.get(p))).await;

    assert!(responses.iter().all(|r| r.status() == 200));
    assert_eq!(app.upstream_requests().await, 5);
}

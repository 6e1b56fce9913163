//! What one client connection may hold and for how long: the request head's
//! size, the number of connections, the header-read and keep-alive clocks.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use crate::helpers::*;

fn get_with_header(path: &str, value_len: usize) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: docproxy\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(value_len)
    )
}

#[tokio::test]
async fn a_head_over_the_limit_is_a_problem_json_431() {
    let app = spawn_app_with(&["--max-header-size", "2KiB"]).await;

    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-padding", "a".repeat(2100))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    assert_eq!(problem(response).await["code"], "headers_too_large");

    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-padding", "a".repeat(1900))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a head under the limit is served");
}

#[tokio::test]
async fn a_head_far_over_the_limit_is_refused_by_hyper_and_closed() {
    let app = spawn_app_with(&["--max-header-size", "2KiB"]).await;
    let mut stream = app.connect().await;

    // hyper stops reading at its own limit (8 KiB here), answers a bare 431
    // and closes: the connection never holds the rest.
    let _ = stream
        .write_all(get_with_header("/healthz", 500 << 10).as_bytes())
        .await;
    let response = read_response(&mut stream).await;
    if let Some(response) = response {
        assert_eq!(response.status, 431, "{response:?}");
    }
    tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream))
        .await
        .expect("closed after the 431");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_while_all_are_busy() {
    let app = spawn_app_with(&["--max-connections", "2"]).await;
    let request = "GET /healthz HTTP/1.1\r\nHost: docproxy\r\n\r\n";
    // Two connections in the middle of their requests' headers: busy, not idle.
    let mut first = app.connect().await;
    let mut second = app.connect().await;
    for busy in [&mut first, &mut second] {
        busy.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A third connection is not served while both are busy...
    let mut third = app.connect().await;
    third.write_all(request.as_bytes()).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(300), read_response(&mut third)).await;
    assert!(waiting.is_err(), "answered beyond the limit: {waiting:?}");

    // ...and is served as soon as one closes.
    drop(first);
    let answered = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third))
        .await
        .expect("served once a slot is free")
        .expect("a response");
    assert_eq!(answered.status, 200);
    // The other finishes its request as if nothing happened.
    second.write_all(b"Host: docproxy\r\n\r\n").await.unwrap();
    assert_eq!(read_response(&mut second).await.unwrap().status, 200);
}

#[tokio::test]
async fn at_the_limit_idle_keep_alive_connections_make_room() {
    let app = spawn_app_with(&["--max-connections", "2"]).await;
    let request = "GET /healthz HTTP/1.1\r\nHost: docproxy\r\n\r\n";
    let mut first = app.connect().await;
    let mut second = app.connect().await;
    assert_eq!(exchange(&mut first, request).await.status, 200);
    assert_eq!(exchange(&mut second, request).await.status, 200);

    // Both are idle: a new connection is served, and idle ones are closed for it.
    let mut third = app.connect().await;
    let answered = tokio::time::timeout(Duration::from_secs(5), exchange(&mut third, request))
        .await
        .expect("an idle connection makes room");
    assert_eq!(answered.status, 200);
    for idle in [&mut first, &mut second] {
        tokio::time::timeout(Duration::from_secs(5), until_closed(idle))
            .await
            .expect("idle connections are closed at the limit");
    }
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: docproxy\r\n\r\n";

// Paused time: tokio jumps the clock to the next timer whenever every task
// waits, so 65 s idle pass at once, with docproxy's real timers (hyper's
// included) in play. /healthz needs no upstream, whose sockets live outside
// this runtime's clock.

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_reused_after_65_seconds() {
    let app = spawn_app().await;
    let mut stream = app.connect().await;
    assert_eq!(exchange(&mut stream, HEALTHZ).await.status, 200);

    tokio::time::sleep(Duration::from_secs(65)).await;

    let again = exchange(&mut stream, HEALTHZ).await;
    assert_eq!(
        again.status, 200,
        "the connection outlived a balancer's 60 s idle timeout"
    );
    assert_eq!(again.body, br#"{"status":"ok"}"#);
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_after_the_keep_alive_timeout() {
    let app = spawn_app().await;
    let mut stream = app.connect().await;
    assert_eq!(exchange(&mut stream, HEALTHZ).await.status, 200);
    let idle = Instant::now();

    until_closed(&mut stream).await;

    let after = idle.elapsed();
    assert!(
        (Duration::from_secs(75)..Duration::from_secs(76)).contains(&after),
        "closed after {after:?} idle"
    );
}

#[tokio::test(start_paused = true)]
async fn headers_must_arrive_within_the_header_read_timeout_of_their_first_byte() {
    let app = spawn_app().await;
    let mut stream = app.connect().await;
    assert_eq!(exchange(&mut stream, HEALTHZ).await.status, 200);

    // Idle for a minute, then a request that never finishes its headers: the
    // five seconds count from its first byte, not from the idle start.
    tokio::time::sleep(Duration::from_secs(60)).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: docproxy\r\n")
        .await
        .unwrap();
    let started = Instant::now();

    until_closed(&mut stream).await;

    let after = started.elapsed();
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(6)).contains(&after),
        "closed {after:?} after the first header byte"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let app = spawn_app().await;
    let mut stream = app.connect().await;
    let connected = Instant::now();

    until_closed(&mut stream).await;

    let after = connected.elapsed();
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(6)).contains(&after),
        "closed after {after:?}"
    );
}

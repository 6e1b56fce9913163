//! The byte budget covers the send: a response's document stays reserved, and
//! its in-flight slot taken, until its last bytes are handed to the socket;
//! a client that stops reading for the send timeout is disconnected.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;

/// Larger than what the kernel buffers on both sides of a loopback socket
/// (at most 4 MiB of send buffer, and a receive buffer kept small here), so a
/// client that never reads leaves most of it unsent.
const DOCUMENT: usize = 6 << 20;

/// Asks for `path` on a connection with a small receive buffer, reads the
/// status line, and then reads nothing more.
async fn stop_reading_after_the_status(app: &TestApp, path: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr = app.address.trim_start_matches("http://").parse().unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: docproxy\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).await.unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
    stream
}

#[tokio::test]
async fn a_client_that_stops_reading_holds_the_budget_until_the_send_timeout() {
    let app = spawn_app_with(&[
        "--max-in-flight-bytes",
        "8MiB",
        "--max-document-size",
        "8MiB",
        "--send-timeout",
        "1s",
        "--max-attempts",
        "1",
    ])
    .await;
    let document = large_png(DOCUMENT);
    app.upstream_answers(
        wiremock::ResponseTemplate::new(200).set_body_raw(document.clone(), "image/png"),
    )
    .await;

    let mut stalled = stop_reading_after_the_status(&app, "/1").await;
    let stalled_at = Instant::now();

    // Its 6 MiB are still reserved: another document does not fit in 8 MiB.
    let refused = app.get("/2").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(problem(refused).await["code"], "shed");

    // Once the send timeout disconnects the stalled client, there is room again.
    let served = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let response = app.get("/3").await;
            if response.status() == 200 {
                break response;
            }
            assert_eq!(response.status(), 503);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the budget is freed after the send timeout");
    let waited = stalled_at.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "freed only by the send timeout, after {waited:?}"
    );
    assert_eq!(served.bytes().await.unwrap(), document);

    let received = until_closed(&mut stalled).await;
    assert!(
        received < document.len(),
        "the stalled client was cut off ({received} of {} bytes)",
        document.len()
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_holds_its_in_flight_slot() {
    let app = spawn_app_with(&[
        "--max-in-flight",
        "1",
        "--max-in-flight-bytes",
        "16MiB",
        "--max-document-size",
        "8MiB",
        "--send-timeout",
        "30s",
    ])
    .await;
    app.upstream_answers(
        wiremock::ResponseTemplate::new(200).set_body_raw(large_png(DOCUMENT), "image/png"),
    )
    .await;

    let stalled = stop_reading_after_the_status(&app, "/1").await;

    let refused = app.get("/2").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(problem(refused).await["code"], "shed");

    // A client that goes away frees the slot at once.
    drop(stalled);
    let served = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let response = app.get("/3").await;
            if response.status() == 200 {
                break response;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the slot is freed when the client disconnects");
    assert_eq!(
        served.bytes().await.unwrap().len(),
        DOCUMENT + PNG.len() + 12
    );
}

#[tokio::test]
async fn a_slow_but_steady_reader_gets_the_whole_document() {
    let app = spawn_app_with(&[
        "--max-in-flight-bytes",
        "16MiB",
        "--max-document-size",
        "8MiB",
        "--send-timeout",
        "1s",
    ])
    .await;
    let document = large_png(DOCUMENT);
    app.upstream_answers(
        wiremock::ResponseTemplate::new(200).set_body_raw(document.clone(), "image/png"),
    )
    .await;

    let mut stream = stop_reading_after_the_status(&app, "/1").await;
    // Pauses shorter than the send timeout never cut a reader off.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let rest = until_closed_or(&mut stream, document.len()).await;
    assert!(rest >= document.len(), "got {rest} bytes after the status");
}

/// Reads until `at_least` bytes arrived or the connection closes.
async fn until_closed_or(stream: &mut TcpStream, at_least: usize) -> usize {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < at_least {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    total
}

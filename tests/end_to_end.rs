//! docproxy in front of the real dummy-pdf-or-png (in-process, real sockets):
//! the original 50/40/10 mix, corrupt PDFs included, must come out as 100%
//! valid documents with their true types.

mod common;

use common::start_docproxy;

use futures_util::{StreamExt, stream};
use tokio::net::TcpListener;

const REQUESTS: usize = 1_000;

/// The real dummy on a free port, serving until the test ends; its base URL.
async fn start_dummy(config: dummy_pdf_or_png::Config) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(dummy_pdf_or_png::serve(
        listener,
        config,
        std::future::pending(),
    ));
    upstream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_through_the_real_dummy_are_all_valid() {
    let upstream = start_dummy(dummy_pdf_or_png::Config {
        seed: Some(2026),
        ..Default::default()
    })
    .await;

    // Default settings but for attempts: with the default five, one request
    // in 100,000 meets five corrupt PDFs in a row, which would fail 1% of runs
    // of this test; with eight, one run in 100,000.
    let docproxy = start_docproxy(&["--upstream-url", &upstream, "--max-attempts", "8"]).await;
    let base = docproxy.address.clone();

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let results: Vec<(u16, String, bytes::Bytes)> = stream::iter(0..REQUESTS)
        .map(|id| {
            let (client, base) = (&client, &base);
            async move {
                let response = client.get(format!("{base}/{id}")).send().await.unwrap();
                let status = response.status().as_u16();
                let content_type = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                (status, content_type, response.bytes().await.unwrap())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;

    let (mut pdfs, mut pngs) = (0, 0);
    for (status, content_type, body) in &results {
        assert_eq!(
            *status,
            200,
            "{content_type}: {}",
            String::from_utf8_lossy(body)
        );
        assert_ne!(
            body.as_ref(),
            dummy_pdf_or_png::CORRUPT_PDF,
            "the corrupt PDF is never served"
        );
        match content_type.as_str() {
            "application/pdf" => {
                assert_eq!(body.as_ref(), dummy_pdf_or_png::PDF);
                pdfs += 1;
            }
            "image/png" => {
                assert_eq!(body.as_ref(), dummy_pdf_or_png::PNG);
                pngs += 1;
            }
            other => panic!("unexpected type {other}"),
        }
    }
    assert_eq!(pdfs + pngs, REQUESTS);
    // Corrupt PDFs are retried away, so PDFs are 40 of the 90 valid in a hundred.
    assert!((380..=510).contains(&pdfs), "{pdfs} PDFs, {pngs} PNGs");
    docproxy.stop().await.expect("docproxy stops cleanly");
}

/// The dummy's `--unique` mode, as benchmarks of the cold path use it: every
/// body is new, so none is spared validation, and every one is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_bodies_from_the_real_dummy_are_all_validated_and_served() {
    let upstream = start_dummy(dummy_pdf_or_png::Config {
        seed: Some(2027),
        unique: true,
        ..Default::default()
    })
    .await;
    let docproxy = start_docproxy(&["--upstream-url", &upstream, "--max-attempts", "8"]).await;
    let base = docproxy.address.clone();

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let bodies: Vec<bytes::Bytes> = stream::iter(0..100)
        .map(|id| {
            let (client, base) = (&client, &base);
            async move {
                let response = client.get(format!("{base}/{id}")).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let distinct: std::collections::HashSet<_> = bodies.iter().collect();
    assert_eq!(distinct.len(), bodies.len(), "every body is new");
    for body in &bodies {
        assert!(
            body.len() == dummy_pdf_or_png::PDF.len() || body.len() == dummy_pdf_or_png::PNG.len()
        );
        assert!(docproxy::document::validate(body).is_ok());
    }
    docproxy.stop().await.expect("docproxy stops cleanly");
}

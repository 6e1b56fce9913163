//! The verdict cache over real sockets: bytes already proven valid are served
//! without being validated again, whatever id they come under; changed bytes
//! are validated; and every request still fetches its id from the upstream.
//! Its own test binary: the metrics recorder is global to a process, so the
//! hit and miss counts read here are this test's alone.

mod common;

use common::start_docproxy;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Counts {
    hits: u64,
    misses: u64,
    entries: u64,
}

async fn counts(client: &reqwest::Client, docproxy: &common::Running) -> Counts {
    let text = docproxy.metrics(client).await;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .parse()
            .unwrap()
    };
    Counts {
        hits: value("docproxy_verdict_cache_hits_total"),
        misses: value("docproxy_verdict_cache_misses_total"),
        entries: value("docproxy_verdict_cache_entries"),
    }
}

async fn answer(upstream: &MockServer, body: &'static [u8], label: &str) {
    upstream.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, label))
        .mount(upstream)
        .await;
}

#[tokio::test]
async fn the_same_bytes_are_validated_once_and_changed_bytes_again() {
    let upstream = MockServer::start().await;
    let docproxy =
        start_docproxy(&["--upstream-url", &upstream.uri(), "--max-attempts", "1"]).await;
    let base = docproxy.address.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: &'static str| {
        let (client, base) = (&client, &base);
        async move { client.get(format!("{base}{path}")).send().await.unwrap() }
    };

    answer(&upstream, dummy_pdf_or_png::PNG, "image/png").await;
    assert_eq!(get("/1").await.status(), 200);
    let first = counts(&client, &docproxy).await;
    assert_eq!((first.hits, first.misses, first.entries), (0, 1, 1));

    // The same bytes again, under the same id and under another: not validated again.
    for path in ["/1", "/2"] {
        let response = get(path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(response.bytes().await.unwrap(), dummy_pdf_or_png::PNG);
    }
    let again = counts(&client, &docproxy).await;
    assert_eq!((again.hits, again.misses), (2, 1));
    // Not an id cache: every request went to the upstream for fresh bytes.
    assert_eq!(upstream.received_requests().await.unwrap().len(), 3);

    // Changed bytes are validated: a corrupt body under a proven id is refused...
    answer(&upstream, dummy_pdf_or_png::CORRUPT_PDF, "application/pdf").await;
    assert_eq!(get("/1").await.status(), 502);
    // ...and a new valid one is proven and served with its own type.
    answer(&upstream, dummy_pdf_or_png::PDF, "application/pdf").await;
    let response = get("/1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.bytes().await.unwrap(), dummy_pdf_or_png::PDF);
    let changed = counts(&client, &docproxy).await;
    assert_eq!((changed.hits, changed.misses, changed.entries), (2, 3, 2));

    docproxy.stop().await.expect("docproxy stops cleanly");
}

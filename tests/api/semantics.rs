//! HTTP semantics a browser's PDF viewer relies on: a strong ETag, 304 for a
//! copy the client has, ranges (206, 416), If-Range, and HEAD like GET.

use crate::helpers::*;

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("docproxy answers")
}

fn etag_of(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn documents_carry_a_strong_etag_from_their_bytes() {
    let app = spawn_app().await;
    app.upstream_answers_first(2, pdf()).await;
    app.upstream_answers(png()).await;

    let first = app.get("/1").await;
    let again = app.get("/1").await;
    let other = app.get("/1").await;

    let tag = etag_of(&first);
    assert_eq!(tag.len(), 2 + 64, "a quoted 256-bit digest: {tag}");
    assert!(tag.starts_with('"') && !tag.starts_with("W/"));
    assert_eq!(first.headers()["accept-ranges"], "bytes");
    assert_eq!(etag_of(&again), tag, "same bytes, same tag");
    assert_ne!(etag_of(&other), tag, "other bytes, another tag");
}

#[tokio::test]
async fn if_none_match_is_304_when_the_fetched_document_is_the_clients() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    let tag = etag_of(&app.get("/1").await);

    let cached = get_with(&app, "/1", &[("if-none-match", &tag)]).await;
    assert_eq!(cached.status(), 304);
    assert_eq!(etag_of(&cached), tag);
    assert_eq!(cached.headers()["cache-control"], "private, no-cache");
    assert!(cached.bytes().await.unwrap().is_empty());

    let stale = get_with(&app, "/1", &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes().await.unwrap(), PDF);
}

#[tokio::test]
async fn a_range_is_206_with_content_range() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    let len = PDF.len();

    let head = get_with(&app, "/1", &[("range", "bytes=0-99")]).await;
    assert_eq!(head.status(), 206);
    assert_eq!(head.headers()["content-range"], format!("bytes 0-99/{len}"));
    assert_eq!(head.headers()["content-length"], "100");
    assert_eq!(head.headers()["content-type"], "application/pdf");
    assert_eq!(head.bytes().await.unwrap(), &PDF[..100]);

    let tail = get_with(&app, "/1", &[("range", "bytes=-10")]).await;
    assert_eq!(tail.status(), 206);
    assert_eq!(
        tail.headers()["content-range"],
        format!("bytes {}-{}/{len}", len - 10, len - 1)
    );
    assert_eq!(tail.bytes().await.unwrap(), &PDF[len - 10..]);

    // Several ranges are answered with the whole document (allowed; no multipart).
    let several = get_with(&app, "/1", &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!(several.status(), 200);
    assert_eq!(several.bytes().await.unwrap(), PDF);
}

#[tokio::test]
async fn a_range_past_the_end_is_a_problem_json_416() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    let len = PDF.len();

    let response = get_with(&app, "/1", &[("range", &format!("bytes={len}-"))]).await;

    assert_eq!(response.status(), 416);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes */{len}")
    );
    assert_eq!(problem(response).await["code"], "range_not_satisfiable");
}

#[tokio::test]
async fn if_range_never_stitches_slices_of_two_documents() {
    let app = spawn_app().await;
    app.upstream_answers_first(1, pdf()).await;
    app.upstream_answers(png()).await;

    // The client has the PDF's first 100 bytes and asks for the rest...
    let start = get_with(&app, "/1", &[("range", "bytes=0-99")]).await;
    assert_eq!(start.status(), 206);
    let tag = etag_of(&start);

    // ...but the upstream now answers the same id with a PNG: the client gets
    // the whole new document, never the PNG's bytes after offset 100.
    let rest = get_with(&app, "/1", &[("range", "bytes=100-"), ("if-range", &tag)]).await;
    assert_eq!(rest.status(), 200);
    assert_ne!(etag_of(&rest), tag);
    assert_eq!(rest.bytes().await.unwrap(), PNG);
}

#[tokio::test]
async fn if_range_with_the_same_document_serves_the_range() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    let tag = etag_of(&app.get("/1").await);

    let rest = get_with(&app, "/1", &[("range", "bytes=100-"), ("if-range", &tag)]).await;

    assert_eq!(rest.status(), 206);
    assert_eq!(rest.bytes().await.unwrap(), &PDF[100..]);
}

#[tokio::test]
async fn head_answers_the_same_headers_as_get() {
    let app = spawn_app().await;
    app.upstream_answers(pdf()).await;
    let headers = |response: &reqwest::Response| {
        let mut pairs: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    };

    let get = app.get("/1").await;
    let head = app
        .client
        .head(format!("{}/1", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(head.status(), 200);
    assert_eq!(headers(&head), headers(&get));
    assert!(head.bytes().await.unwrap().is_empty());
}

//! `GET|HEAD /{id}`: the request path, top to bottom. Parse the id, take an
//! in-flight slot, fetch a validated document from the upstream (breaker,
//! attempts, retries), and answer with its true type: whole, a range of it,
//! or 304 (`conditional.rs` decides which).

use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use http_body::{Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;

use super::conditional::{self, Answer};
use crate::app::AppState;
use crate::error::AppError;
use crate::metrics as m;
use crate::request_id::RequestId;
use crate::telemetry::AccessRecord;
use crate::upstream::{Document, FetchError, Propagation};

pub async fn get_document(
    State(state): State<Arc<AppState>>,
    request_id: Option<Extension<RequestId>>,
    access: Option<Extension<AccessRecord>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let request_id = request_id.map_or(HeaderValue::from_static("unknown"), |id| id.header_value());
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    serve(&state, &method, uri.path(), &headers, request_id, &access)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn serve(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    request_id: HeaderValue,
    access: &AccessRecord,
) -> Result<Response, AppError> {
    let id = parse_id(path.strip_prefix('/').unwrap_or(path)).map_err(AppError::BadId)?;
    access.update(|a| a.id = Some(id));

    let slot = state.in_flight.clone().try_acquire_owned().map_err(|_| {
        m::record_shed("in_flight");
        AppError::Overloaded
    })?;

    let propagation = Propagation {
        request_id,
        traceparent: crate::request_id::traceparent(headers),
    };
    let fetch = state.upstream.fetch(id, &propagation).await;
    access.update(|a| {
        a.attempts = fetch.attempts;
        a.joined_fetch = fetch
            .coalesced
            .then(|| String::from_utf8_lossy(fetch.request_id.as_bytes()).into_owned());
    });
    if fetch.coalesced {
        tracing::debug!(fetch = ?fetch.request_id, "joined the fetch of another request");
    }
    let document = fetch.result.inspect_err(|e| {
        if let FetchError::Refused(refusal) = e {
            m::record_shed(refusal.reason());
        }
    })?;

    let verification = document.verification.as_str();
    access.update(|a| {
        a.served_type = Some(document.doc_type.as_str());
        a.verification = Some(verification);
    });
    metrics::counter!(
        m::DOCUMENTS_SERVED,
        "type" => document.doc_type.as_str(),
        "verification" => verification
    )
    .increment(1);
    let etag = conditional::etag(&document.digest);
    let len = document.bytes.len();
    let (status, range) = match conditional::decide(method, headers, &etag, len) {
        Answer::Full => (StatusCode::OK, 0..len),
        Answer::Partial(range) => (StatusCode::PARTIAL_CONTENT, range),
        Answer::NotModified => return Ok(not_modified(etag)),
        Answer::Unsatisfiable => return Err(AppError::RangeNotSatisfiable { len }),
    };
    access.update(|a| a.bytes = range.len() as u64);
    Ok(document_response(id, document, status, range, etag, slot))
}

/// Parses an id: 1 to 20 ASCII digits whose value fits in a u64.
pub fn parse_id(raw: &str) -> Result<u64, &'static str> {
    if raw.is_empty() {
        return Err("is missing");
    }
    if raw.len() > 20 {
        return Err("is longer than 20 digits");
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not made of digits");
    }
    raw.parse().map_err(|_| "does not fit in 64 bits")
}

fn document_response(
    id: u64,
    document: Arc<Document>,
    status: StatusCode,
    range: Range<usize>,
    etag: HeaderValue,
    slot: OwnedSemaphorePermit,
) -> Response {
    let mime = document.doc_type.mime();
    // The short names are the types' file extensions too.
    let extension = document.doc_type.as_str();
    let len = document.bytes.len();
    let mut response = Response::new(Body::new(DocumentBody::new(
        document.clone(),
        range.clone(),
        slot,
    )));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(range.len()));
    if status == StatusCode::PARTIAL_CONTENT {
        let content_range = format!("bytes {}-{}/{len}", range.start, range.end - 1);
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&content_range).expect("digits are valid header text"),
        );
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    validator_headers(headers, etag);
    let disposition = format!("inline; filename=\"{id}.{extension}\"");
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::try_from(disposition)
            .expect("digits and a known extension are valid header text"),
    );
    response
}

/// 304: the client's copy is this document; no body, its validator again.
fn not_modified(etag: HeaderValue) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    validator_headers(response.headers_mut(), etag);
    response
}

/// What a 200, 206 and 304 share (RFC 9110 §15.4.5: a 304 repeats these).
fn validator_headers(headers: &mut HeaderMap, etag: HeaderValue) {
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Private: documents may be personal. no-cache: the upstream makes no
    // promise that an id always maps to the same bytes, so caches revalidate
    // (with If-None-Match, answered 304 when the fetched bytes are the same).
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
}

/// How much of a document is handed to hyper at a time. hyper takes another
/// frame only once its write queue has drained below its buffer size, so a
/// client that reads slowly holds back the rest of the body here, still
/// counted in the byte budget, rather than in hyper's queue.
const FRAME: usize = 64 * 1024;

/// A document's bytes (or a range of them) as a body of bounded frames,
/// slices of the one shared buffer. It holds the document, and so its
/// byte-budget reservation, and the request's in-flight slot until its last
/// frame is taken, or until it is dropped (the client went away, or stopped
/// reading for the send timeout).
struct DocumentBody {
    document: Arc<Document>,
    next: usize,
    end: usize,
    _slot: OwnedSemaphorePermit,
}

impl DocumentBody {
    fn new(document: Arc<Document>, range: Range<usize>, slot: OwnedSemaphorePermit) -> Self {
        DocumentBody {
            document,
            next: range.start,
            end: range.end,
            _slot: slot,
        }
    }
}

impl http_body::Body for DocumentBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.next >= self.end {
            return Poll::Ready(None);
        }
        let until = self.end.min(self.next + FRAME);
        let frame = self.document.bytes.slice(self.next..until);
        self.next = until;
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.next >= self.end
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.end - self.next) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_are_short_digit_strings_that_fit_in_u64() {
        assert_eq!(parse_id("1"), Ok(1));
        assert_eq!(parse_id("529852"), Ok(529_852));
        assert_eq!(parse_id("007"), Ok(7));
        assert_eq!(parse_id("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_id("18446744073709551616"),
            Err("does not fit in 64 bits")
        );
        assert_eq!(
            parse_id("000000000000000000001"),
            Err("is longer than 20 digits")
        );
        for bad in ["", "-1", "+1", "1a", " 1", "1.0", "%31", "١"] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
    }
}

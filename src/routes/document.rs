//! `GET|HEAD /{id}`: the request path, top to bottom. Parse the id, take an
//! in-flight slot, fetch a validated document from the upstream (breaker,
//! attempts, retries), and answer with its true type.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Uri, header};
use http_body::{Frame, SizeHint};

use crate::app::AppState;
use crate::error::AppError;
use crate::metrics as m;
use crate::upstream::{Document, FetchError, Propagation};

/// What the access log reports about a document request.
#[derive(Debug, Clone, Default)]
pub struct DocumentAccess {
    pub id: Option<u64>,
    pub attempts: u32,
    pub served_type: Option<&'static str>,
    pub bytes: u64,
    pub coalesced: bool,
}

pub async fn get_document(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut access = DocumentAccess::default();
    let mut response = serve(&state, uri.path(), &headers, &mut access)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(access);
    response
}

async fn serve(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    access: &mut DocumentAccess,
) -> Result<Response, AppError> {
    let id = parse_id(path.strip_prefix('/').unwrap_or(path)).map_err(AppError::BadId)?;
    access.id = Some(id);

    let _slot = state.in_flight.clone().try_acquire_owned().map_err(|_| {
        m::record_shed("in_flight");
        AppError::Overloaded
    })?;

    let propagation = Propagation {
        request_id: crate::request_id::current()
            .and_then(|id| HeaderValue::from_str(&id).ok())
            .unwrap_or(HeaderValue::from_static("unknown")),
        traceparent: crate::request_id::traceparent(headers),
    };
    let fetch = state.upstream.fetch(id, &propagation).await;
    access.attempts = fetch.attempts;
    access.coalesced = fetch.coalesced;
    let document = fetch.result.inspect_err(|e| {
        if let FetchError::Refused(refusal) = e {
            m::record_shed(refusal.reason());
        }
    })?;

    access.served_type = Some(document.doc_type.as_str());
    access.bytes = document.bytes.len() as u64;
    metrics::counter!(m::DOCUMENTS_SERVED, "type" => document.doc_type.as_str()).increment(1);
    Ok(document_response(id, document))
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

fn document_response(id: u64, document: Arc<Document>) -> Response {
    let mime = document.doc_type.mime();
    // The short names are the types' file extensions too.
    let extension = document.doc_type.as_str();
    let len = document.bytes.len();
    let mut response = Response::new(Body::new(ReservedBody {
        bytes: Some(document.bytes.clone()),
        _document: document.clone(),
    }));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Private: documents may be personal. no-cache: the upstream makes no
    // promise that an id always maps to the same bytes, so caches revalidate.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let disposition = format!("inline; filename=\"{id}.{extension}\"");
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::try_from(disposition)
            .expect("digits and a known extension are valid header text"),
    );
    response
}

/// A document body that keeps the document, and so its byte-budget
/// reservation, until the server is done with the body.
struct ReservedBody {
    bytes: Option<Bytes>,
    _document: Arc<Document>,
}

impl http_body::Body for ReservedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.bytes.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.as_ref().map_or(0, |b| b.len() as u64))
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

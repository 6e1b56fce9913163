//! HTTP semantics of a document response (RFC 9110 §13, §14): its strong
//! entity tag, and what a conditional or range request gets. Decided from the
//! request's headers and the freshly fetched document alone: there is no cache.

use std::ops::Range;

use http::{HeaderMap, HeaderValue, Method, header};

/// What to answer a request for a document of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the whole document.
    Full,
    /// 304: the client's copy (`If-None-Match`) is this document.
    NotModified,
    /// 206 with these bytes.
    Partial(Range<usize>),
    /// 416: the range starts past the end.
    Unsatisfiable,
}

/// A strong entity tag from the document's digest: two answers share it only
/// when they carry the same bytes.
pub fn etag(digest: &blake3::Hash) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", digest.to_hex()))
        .expect("hex digits in quotes are a valid header value")
}

/// Preconditions first, then the range (RFC 9110 §13.2.2): `If-None-Match`
/// decides 304; `Range` is honoured for GET only, and only when `If-Range`
/// (if sent) names this very document, so a client resuming a download can
/// never stitch slices of two different documents together.
pub fn decide(method: &Method, headers: &HeaderMap, etag: &HeaderValue, len: usize) -> Answer {
    let ours = etag.to_str().unwrap_or_default();
    if let Some(tags) = header_text(headers, header::IF_NONE_MATCH) {
        return if none_match_lists(tags, ours) {
            Answer::NotModified
        } else {
            Answer::Full
        };
    }
    if method != Method::GET {
        return Answer::Full;
    }
    let Some(range) = header_text(headers, header::RANGE) else {
        return Answer::Full;
    };
    // If-Range with a date can never match: documents have no Last-Modified.
    if let Some(validator) = header_text(headers, header::IF_RANGE)
        && validator.trim() != ours
    {
        return Answer::Full;
    }
    match parse_range(range, len) {
        Some(Some(bytes)) => Answer::Partial(bytes),
        Some(None) => Answer::Unsatisfiable,
        None => Answer::Full,
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `If-None-Match` uses the weak comparison: `W/"x"` matches `"x"`.
fn none_match_lists(tags: &str, ours: &str) -> bool {
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

/// One `bytes=` range: `Some(Some(range))` to serve, `Some(None)` when it
/// starts past the end, `None` to ignore the header and answer in full (a
/// syntax error, another unit, or several ranges: a server may answer those
/// with the whole document, and docproxy does, rather than multipart).
fn parse_range(value: &str, len: usize) -> Option<Option<Range<usize>>> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<usize> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A number too large for usize is past any end.
        Some(s.parse().unwrap_or(usize::MAX))
    };
    if first.trim().is_empty() {
        // A suffix: the last n bytes.
        let n = number(last)?;
        if n == 0 || len == 0 {
            return Some(None);
        }
        return Some(Some(len - n.min(len)..len));
    }
    let start = number(first)?;
    let end = match last.trim() {
        "" => len,
        last => {
            let last = number(last)?;
            if last < start {
                return None;
            }
            last.saturating_add(1).min(len)
        }
    };
    if start >= len {
        return Some(None);
    }
    Some(Some(start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"abc\"";

    fn answer(method: Method, pairs: &[(&str, &str)], len: usize) -> Answer {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        decide(&method, &headers, &HeaderValue::from_static(TAG), len)
    }

    fn get(pairs: &[(&str, &str)]) -> Answer {
        answer(Method::GET, pairs, 100)
    }

    #[test]
    fn the_etag_is_the_quoted_digest() {
        let digest = blake3::hash(b"document");
        let tag = etag(&digest);
        assert_eq!(tag.to_str().unwrap(), format!("\"{}\"", digest.to_hex()));
        assert_ne!(etag(&blake3::hash(b"other")), tag);
    }

    #[test]
    fn if_none_match_answers_304_only_for_this_document() {
        assert_eq!(get(&[("if-none-match", TAG)]), Answer::NotModified);
        assert_eq!(get(&[("if-none-match", "W/\"abc\"")]), Answer::NotModified);
        assert_eq!(
            get(&[("if-none-match", "\"x\", \"abc\"")]),
            Answer::NotModified
        );
        assert_eq!(get(&[("if-none-match", "*")]), Answer::NotModified);
        assert_eq!(get(&[("if-none-match", "\"x\"")]), Answer::Full);
        // A precondition that fails means the whole new document, not a range of it.
        assert_eq!(
            get(&[("if-none-match", "\"x\""), ("range", "bytes=0-9")]),
            Answer::Full
        );
        assert_eq!(
            answer(Method::HEAD, &[("if-none-match", TAG)], 100),
            Answer::NotModified
        );
    }

    #[test]
    fn single_ranges_in_every_form() {
        assert_eq!(get(&[("range", "bytes=0-9")]), Answer::Partial(0..10));
        assert_eq!(get(&[("range", "bytes=90-")]), Answer::Partial(90..100));
        assert_eq!(get(&[("range", "bytes=90-1000")]), Answer::Partial(90..100));
        assert_eq!(get(&[("range", "bytes=-10")]), Answer::Partial(90..100));
        assert_eq!(get(&[("range", "bytes=-1000")]), Answer::Partial(0..100));
        assert_eq!(get(&[("range", "bytes=99-99")]), Answer::Partial(99..100));
        assert_eq!(
            get(&[("range", "bytes=0-99999999999999999999999")]),
            Answer::Partial(0..100)
        );
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(get(&[("range", "bytes=100-")]), Answer::Unsatisfiable);
        assert_eq!(get(&[("range", "bytes=100-200")]), Answer::Unsatisfiable);
        assert_eq!(get(&[("range", "bytes=-0")]), Answer::Unsatisfiable);
        assert_eq!(
            get(&[("range", "bytes=99999999999999999999999-")]),
            Answer::Unsatisfiable
        );
    }

    #[test]
    fn other_ranges_are_ignored_and_answered_in_full() {
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=9-0",
            "bytes=a-b",
            "bytes=-",
            "items=0-1",
            "bytes 0-1",
            "bytes=+1-2",
        ] {
            assert_eq!(get(&[("range", ignored)]), Answer::Full, "{ignored}");
        }
        assert_eq!(
            answer(Method::HEAD, &[("range", "bytes=0-9")], 100),
            Answer::Full,
            "Range is defined for GET only"
        );
    }

    #[test]
    fn if_range_serves_the_range_only_for_the_same_document() {
        assert_eq!(
            get(&[("range", "bytes=0-9"), ("if-range", TAG)]),
            Answer::Partial(0..10)
        );
        for other in ["\"other\"", "W/\"abc\"", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(
                get(&[("range", "bytes=0-9"), ("if-range", other)]),
                Answer::Full,
                "{other}"
            );
        }
    }
}

//! Request ids: a client's `x-request-id` is kept when it is sane, otherwise
//! one is generated. The id travels with the request: in its extensions (for
//! the upstream headers and error bodies) and as the `request` span that
//! every log line of the request is logged in (telemetry.rs).

use std::fmt;

use http::{HeaderMap, HeaderValue};
use rand::Rng;

pub const HEADER: &str = "x-request-id";

/// One request's id: 1-64 characters of `[A-Za-z0-9._-]`, so always a valid
/// header value and safe in logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The client's id when it is sane, else a new one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        RequestId(
            headers
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|id| is_sane(id))
                .map_or_else(generate, str::to_owned),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).expect("a sane id is a valid header value")
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// 128 random bits as 32 hex digits (the same shape as a W3C trace id).
fn generate() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// A W3C `traceparent` worth propagating: version 00 shape, not all-zero ids.
pub fn traceparent(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get("traceparent")?;
    let text = value.to_str().ok()?;
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |s: &str, len| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    let valid = matches!(parts.as_slice(), [version, trace, parent, flags]
        if hex(version, 2) && *version != "ff" && hex(trace, 32) && hex(parent, 16) && hex(flags, 2)
            && trace.bytes().any(|b| b != b'0') && parent.bytes().any(|b| b != b'0'));
    valid.then(|| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, "abc-123.X_y".parse().unwrap());
        assert_eq!(RequestId::from_headers(&headers).as_str(), "abc-123.X_y");
        for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
            headers.insert(HEADER, bad.parse().unwrap());
            let id = RequestId::from_headers(&headers);
            assert_eq!(id.as_str().len(), 32, "{bad:?} replaced by a generated id");
        }
        assert_ne!(
            RequestId::from_headers(&HeaderMap::new()),
            RequestId::from_headers(&HeaderMap::new())
        );
    }

    #[test]
    fn only_well_formed_traceparents_propagate() {
        let mut headers = HeaderMap::new();
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        headers.insert("traceparent", good.parse().unwrap());
        assert_eq!(traceparent(&headers).unwrap(), good);
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "zz",
        ] {
            headers.insert("traceparent", bad.parse().unwrap());
            assert!(traceparent(&headers).is_none(), "{bad}");
        }
    }
}

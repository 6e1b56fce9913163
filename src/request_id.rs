//! Request ids: a client's `x-request-id` is kept when it is sane, otherwise
//! one is generated. The id of the request being handled is available to any
//! code running within it (error bodies, logs) through a task-local.

use http::{HeaderMap, HeaderValue};
use rand::Rng;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The client's id when it is 1-64 characters of `[A-Za-z0-9._-]`, else a new one.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane(id))
        .map_or_else(generate, str::to_owned)
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

/// Runs `f` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, f: F) -> F::Output {
    CURRENT.scope(id, f).await
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, "abc-123.X_y".parse().unwrap());
        assert_eq!(from_headers(&headers), "abc-123.X_y");
        for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
            headers.insert(HEADER, bad.parse().unwrap());
            let id = from_headers(&headers);
            assert_eq!(id.len(), 32, "{bad:?} replaced by a generated id");
        }
        assert_ne!(
            from_headers(&HeaderMap::new()),
            from_headers(&HeaderMap::new())
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

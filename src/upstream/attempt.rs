//! One upstream attempt: send `GET {upstream}/{id}`, read the body within the
//! size limit and the byte budget, validate it on the validation pool, and
//! classify what happened.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, header};

use super::breaker::Verdict;
use super::memory::{ByteBudget, Reservation};
use super::throttle::Verdict as Load;
use super::validation::ValidationPool;
use super::verdicts::{Lookup, VerdictCache};
use crate::document::{self, DocumentType, Limits, Rejection, ValidationError, Verification};

/// A validated document, with the bytes it holds reserved in the byte budget.
#[derive(Debug)]
pub struct Document {
    pub bytes: Bytes,
    pub doc_type: DocumentType,
    /// How much of it validation could prove (encrypted PDFs needing a password: structure).
    pub verification: Verification,
    /// BLAKE3 of `bytes`: the verdict cache's key, and a strong ETag.
    pub digest: blake3::Hash,
    pub reservation: Reservation,
}

/// What an attempt found when it did not produce a document. `outcome()` is
/// the metric label; `breaker_verdict()` and `throttle_verdict()` are all the
/// breaker and the throttle learn from it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AttemptError {
    #[error("upstream answered 404")]
    NotFound,
    #[error("upstream answered {0}")]
    ClientError(StatusCode),
    #[error("upstream answered {0}")]
    ServerError(StatusCode),
    /// 429, or 503 with Retry-After: the upstream says it has too much to do.
    #[error("upstream answered {status}: overloaded")]
    Overloaded {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    #[error("upstream redirected with {0}; redirects are not followed")]
    Redirect(StatusCode),
    #[error("attempt timed out")]
    Timeout,
    #[error("the request deadline passed")]
    DeadlineExceeded,
    /// The upstream answered in full, but the deadline passed while the body
    /// waited for the validation pool or was being validated.
    #[error("the request deadline passed during validation")]
    DeadlineWhileValidating,
    #[error("could not connect to the upstream")]
    Connect(#[source] Arc<reqwest::Error>),
    /// The upstream's certificate was not trusted or valid, or the TLS
    /// handshake failed: a setup problem no retry fixes.
    #[error("TLS with the upstream failed: {0}")]
    Tls(rustls::Error, #[source] Arc<reqwest::Error>),
    #[error("upstream connection failed before a response")]
    Reset(#[source] Arc<reqwest::Error>),
    #[error("upstream body ended early")]
    Truncated(#[source] Arc<reqwest::Error>),
    #[error("document larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Invalid(Rejection),
}

/// docproxy declined to call the upstream, or to go on reading from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("circuit breaker is open")]
    BreakerOpen { retry_after: Duration },
    #[error("the upstream signalled overload; attempt throttled")]
    Throttled,
    #[error("in-flight document bytes (bodies and validation memory) are at their limit")]
    OverBudget,
    #[error("the validation pool is full")]
    ValidationBusy,
}

/// Why a fetch produced no document.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Failed(#[from] AttemptError),
}

impl Refusal {
    /// The `reason` label of the shed-requests metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::BreakerOpen { .. } => "breaker_open",
            Refusal::Throttled => "throttled",
            Refusal::OverBudget => "bytes",
            Refusal::ValidationBusy => "validation",
        }
    }
}

impl AttemptError {
    pub fn outcome(&self) -> &'static str {
        match self {
            AttemptError::NotFound => "not_found",
            AttemptError::ClientError(_) => "client_error",
            AttemptError::ServerError(_) => "server_error",
            AttemptError::Overloaded { .. } => "overloaded",
            AttemptError::Redirect(_) => "redirect",
            AttemptError::Timeout | AttemptError::DeadlineExceeded => "timeout",
            AttemptError::DeadlineWhileValidating => "validation_deadline",
            AttemptError::Connect(_) => "connect_error",
            AttemptError::Tls(..) => "tls_error",
            AttemptError::Reset(_) => "reset",
            AttemptError::Truncated(_) => "truncated",
            AttemptError::TooLarge { .. } => "too_large",
            AttemptError::Invalid(_) => "invalid_document",
        }
    }

    /// Transient faults worth another attempt; everything else is final.
    /// Overload is final: another attempt would add to what the upstream
    /// asked to be spared, so the client is told to retry after a while.
    pub fn is_transient(&self) -> bool {
        match self {
            AttemptError::ServerError(status) => matches!(status.as_u16(), 500 | 502 | 503 | 504),
            AttemptError::Timeout
            | AttemptError::Connect(_)
            | AttemptError::Reset(_)
            | AttemptError::Truncated(_)
            | AttemptError::Invalid(_) => true,
            _ => false,
        }
    }

    /// What this says about the upstream's health. Only the upstream failing
    /// to answer properly (connect errors, timeouts, resets, truncations,
    /// 5xx, 429) counts; what one document or request met (invalid, too
    /// large, a 4xx, a redirect) is neutral, so it never decides other ids' fate.
    pub fn breaker_verdict(&self) -> Verdict {
        match self {
            AttemptError::ServerError(_)
            | AttemptError::Overloaded { .. }
            | AttemptError::Timeout
            | AttemptError::Connect(_)
            | AttemptError::Tls(..)
            | AttemptError::Reset(_)
            | AttemptError::Truncated(_) => Verdict::Failure,
            // A deadline cut short by this request's own budget proves nothing.
            AttemptError::DeadlineExceeded
            | AttemptError::DeadlineWhileValidating
            | AttemptError::NotFound
            | AttemptError::ClientError(_)
            | AttemptError::Redirect(_)
            | AttemptError::TooLarge { .. }
            | AttemptError::Invalid(_) => Verdict::Neutral,
        }
    }

    /// What this says about the upstream's load: only its own overload
    /// signals (429, 503 with Retry-After, timeouts) do.
    pub fn throttle_verdict(&self) -> Load {
        match self {
            AttemptError::Overloaded { .. }
            | AttemptError::Timeout
            | AttemptError::DeadlineExceeded => Load::Overloaded,
            _ => Load::Accepted,
        }
    }
}

/// Everything an attempt needs besides the id.
pub struct AttemptContext<'a> {
    pub http: &'a reqwest::Client,
    pub url: &'a reqwest::Url,
    pub headers: &'a HeaderMap,
    pub max_document_size: u64,
    pub validation_limits: &'a Limits,
    pub byte_budget: &'a ByteBudget,
    pub validation: &'a ValidationPool,
    pub verdicts: &'a VerdictCache,
}

/// A body read in full, its bytes reserved in the byte budget, not yet validated.
pub struct Body {
    bytes: Bytes,
    /// The upstream's Content-Type, only ever compared with the true type.
    label: Option<String>,
    reservation: Reservation,
}

/// Sends one request and reads the whole body; no timeout here.
pub async fn fetch_body(ctx: &AttemptContext<'_>) -> Result<Body, FetchError> {
    let response = ctx
        .http
        .get(ctx.url.clone())
        .headers(ctx.headers.clone())
        .send()
        .await
        .map_err(|e| {
            if let Some(tls) = super::tls::tls_failure(&e) {
                let tls = tls.clone();
                tracing::warn!(error = %tls, url = %ctx.url, "TLS with the upstream failed; check its certificate and --upstream-ca-file");
                AttemptError::Tls(tls, Arc::new(e))
            } else if e.is_connect() {
                AttemptError::Connect(Arc::new(e))
            } else {
                AttemptError::Reset(Arc::new(e))
            }
        })?;

    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after(response.headers(), SystemTime::now());
        return Err(FetchError::Failed(match status {
            StatusCode::NOT_FOUND => AttemptError::NotFound,
            StatusCode::TOO_MANY_REQUESTS => AttemptError::Overloaded {
                status,
                retry_after,
            },
            StatusCode::SERVICE_UNAVAILABLE if retry_after.is_some() => AttemptError::Overloaded {
                status,
                retry_after,
            },
            s if s.is_redirection() => AttemptError::Redirect(s),
            s if s.is_server_error() => AttemptError::ServerError(s),
            s => AttemptError::ClientError(s),
        }));
    }

    let declared = response.content_length();
    if declared.is_some_and(|len| len > ctx.max_document_size) {
        return Err(AttemptError::TooLarge {
            limit: ctx.max_document_size,
        }
        .into());
    }
    let label = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let mut reservation = ctx
        .byte_budget
        .reserve(declared.unwrap_or(0))
        .ok_or(Refusal::OverBudget)?;
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    let mut response = response;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| AttemptError::Truncated(Arc::new(e)))?
    {
        let len = (body.len() + chunk.len()) as u64;
        if len > ctx.max_document_size {
            return Err(AttemptError::TooLarge {
                limit: ctx.max_document_size,
            }
            .into());
        }
        if !reservation.grow_to(len) {
            return Err(Refusal::OverBudget.into());
        }
        body.extend_from_slice(&chunk);
    }

    Ok(Body {
        bytes: body.freeze(),
        label,
        reservation,
    })
}

/// Validates a body, on the validation pool unless the same bytes were proven
/// before; no timeout here. The bytes and their reservation go with the job,
/// so a body abandoned mid-validation stays counted in the byte budget until
/// the job lets go of it. The job's working memory is drawn from the same
/// reservation as it grows, and given back when the job ends; a budget that
/// cannot hold it sheds the request (503) like one that cannot hold the body.
pub async fn validate_body(ctx: &AttemptContext<'_>, body: Body) -> Result<Document, FetchError> {
    let Body {
        bytes,
        label,
        reservation,
    } = body;
    let (verdict, digest, bytes, reservation) = match ctx.verdicts.lookup(&bytes) {
        Lookup::Proven(verdict, digest) => (verdict, digest, bytes, reservation),
        Lookup::Unknown(digest) => {
            let limits = *ctx.validation_limits;
            let (verdict, bytes, reservation) = ctx
                .validation
                .run(move || {
                    let mut reservation = reservation;
                    let body = bytes.len() as u64;
                    let mut grant = |working| reservation.draw_to(body + working);
                    let verdict = document::validate_within(&bytes, &limits, &mut grant);
                    reservation.shrink_to(body);
                    (verdict, bytes, reservation)
                })
                .await?;
            let verdict = verdict.map_err(|e| match e {
                ValidationError::Invalid(rejection) => AttemptError::Invalid(rejection).into(),
                ValidationError::OutOfMemory => FetchError::from(Refusal::OverBudget),
            })?;
            ctx.verdicts.insert(digest, verdict);
            (verdict, digest, bytes, reservation)
        }
    };
    let document::Verdict {
        doc_type,
        verification,
    } = verdict;
    if let Some(label) = label.filter(|l| !label_matches(l, doc_type)) {
        tracing::warn!(
            upstream_content_type = %label,
            served_type = doc_type.mime(),
            "upstream mislabelled a document"
        );
        metrics::counter!(crate::metrics::CONTENT_TYPE_MISMATCH).increment(1);
    }
    Ok(Document {
        bytes,
        doc_type,
        verification,
        digest,
        reservation,
    })
}

fn label_matches(label: &str, doc_type: DocumentType) -> bool {
    let essence = label.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(doc_type.mime())
}

/// Parses Retry-After in either form: delta-seconds or an HTTP-date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        headers.insert(header::RETRY_AFTER, later.parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        headers.insert(header::RETRY_AFTER, past.parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn labels_compare_by_essence() {
        assert!(label_matches("application/pdf", DocumentType::Pdf));
        assert!(label_matches(
            "Image/PNG; charset=binary",
            DocumentType::Png
        ));
        assert!(!label_matches("application/pdf", DocumentType::Png));
        assert!(!label_matches("text/html", DocumentType::Pdf));
    }

    #[test]
    fn only_transient_faults_are_retried() {
        assert!(AttemptError::ServerError(StatusCode::BAD_GATEWAY).is_transient());
        assert!(!AttemptError::ServerError(StatusCode::NOT_IMPLEMENTED).is_transient());
        assert!(!AttemptError::NotFound.is_transient());
        assert!(!AttemptError::ClientError(StatusCode::FORBIDDEN).is_transient());
        assert!(!AttemptError::Redirect(StatusCode::FOUND).is_transient());
        assert!(AttemptError::Invalid(Rejection::Empty).is_transient());
        assert!(!AttemptError::TooLarge { limit: 1 }.is_transient());
        assert!(!AttemptError::DeadlineExceeded.is_transient());
        assert!(
            !AttemptError::Overloaded {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: None
            }
            .is_transient()
        );
    }

    #[test]
    fn only_the_upstreams_health_reaches_the_breaker_and_only_overload_the_throttle() {
        let rejection = Rejection::Empty;
        let neutral = [
            AttemptError::NotFound,
            AttemptError::ClientError(StatusCode::FORBIDDEN),
            AttemptError::Redirect(StatusCode::FOUND),
            AttemptError::TooLarge { limit: 1 },
            AttemptError::Invalid(rejection),
            // docproxy's own validation was too slow: nothing about the upstream.
            AttemptError::DeadlineWhileValidating,
        ];
        for e in &neutral {
            assert_eq!(e.breaker_verdict(), Verdict::Neutral, "{e}");
            assert_eq!(e.throttle_verdict(), Load::Accepted, "{e}");
        }
        let overloaded = AttemptError::Overloaded {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some(Duration::from_secs(1)),
        };
        for e in [&overloaded, &AttemptError::Timeout] {
            assert_eq!(e.breaker_verdict(), Verdict::Failure, "{e}");
            assert_eq!(e.throttle_verdict(), Load::Overloaded, "{e}");
        }
        let plain = AttemptError::ServerError(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(plain.breaker_verdict(), Verdict::Failure);
        assert_eq!(
            plain.throttle_verdict(),
            Load::Accepted,
            "a 503 without Retry-After is a failure, not overload"
        );
    }
}

//! The one place where failures become responses: a status, headers, and an
//! RFC 9457 `application/problem+json` body that never carries upstream
//! bodies or internals.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::request_id::RequestId;
use crate::upstream::{AttemptError, FetchError, Refusal};

/// The longest upstream Retry-After passed on to clients.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Everything a document request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadId(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request head larger than {limit} bytes")]
    HeadTooLarge { limit: usize },
    #[error("range not satisfiable in {len} bytes")]
    RangeNotSatisfiable { len: usize },
    #[error("too many requests in flight")]
    Overloaded,
    #[error("internal error")]
    Internal,
    #[error(transparent)]
    Upstream(#[from] AttemptError),
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl From<FetchError> for AppError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Refused(r) => AppError::Refused(r),
            FetchError::Failed(a) => AppError::Upstream(a),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadId(_) => StatusCode::BAD_REQUEST,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Refused(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream(e) => match e {
                AttemptError::NotFound => StatusCode::NOT_FOUND,
                AttemptError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AttemptError::DeadlineExceeded | AttemptError::DeadlineWhileValidating => {
                    StatusCode::GATEWAY_TIMEOUT
                }
                _ => StatusCode::BAD_GATEWAY,
            },
        }
    }

    /// A short machine-readable code, also the access log's `outcome`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadId(_) => "bad_id",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::HeadTooLarge { .. } => "headers_too_large",
            AppError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            AppError::Overloaded => "shed",
            AppError::Internal => "internal",
            AppError::Upstream(AttemptError::NotFound) => "not_found",
            AppError::Upstream(AttemptError::Overloaded { .. }) => "upstream_overloaded",
            AppError::Refused(Refusal::BreakerOpen { .. }) => "breaker_open",
            AppError::Refused(Refusal::Throttled) => "throttled",
            AppError::Refused(Refusal::OverBudget | Refusal::ValidationBusy) => "shed",
            AppError::Upstream(
                AttemptError::DeadlineExceeded | AttemptError::DeadlineWhileValidating,
            ) => "deadline_exceeded",
            AppError::Upstream(_) => "upstream_failed",
        }
    }

    fn detail(&self) -> String {
        match self {
            AppError::BadId(why) => {
                format!("the id {why}; ids are 1 to 20 digits that fit in 64 bits")
            }
            AppError::MethodNotAllowed => "only GET and HEAD are supported".into(),
            AppError::HeadTooLarge { limit } => {
                format!("the request line and headers must fit in {limit} bytes")
            }
            AppError::RangeNotSatisfiable { len } => {
                format!("the range starts past the end of the document ({len} bytes)")
            }
            AppError::Overloaded => "too many requests in flight; retry shortly".into(),
            AppError::Internal => "an internal error occurred".into(),
            AppError::Upstream(AttemptError::NotFound) => "no document with this id".into(),
            AppError::Upstream(AttemptError::Overloaded { .. }) => {
                "the upstream is overloaded; retry after the time given".into()
            }
            AppError::Refused(Refusal::BreakerOpen { .. }) => {
                "the upstream is failing; requests are paused to let it recover".into()
            }
            AppError::Refused(Refusal::Throttled) => {
                "the upstream is overloaded; requests are throttled to let it recover".into()
            }
            AppError::Refused(Refusal::OverBudget) => {
                "too many document bytes in flight; retry shortly".into()
            }
            AppError::Refused(Refusal::ValidationBusy) => {
                "too many documents being validated; retry shortly".into()
            }
            AppError::Upstream(AttemptError::DeadlineExceeded) => {
                "the upstream did not answer in time".into()
            }
            AppError::Upstream(AttemptError::DeadlineWhileValidating) => {
                "the document could not be validated in time".into()
            }
            AppError::Upstream(_) => "the upstream did not return a valid document".into(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            AppError::Overloaded
            | AppError::Refused(
                Refusal::Throttled | Refusal::OverBudget | Refusal::ValidationBusy,
            ) => Some(Duration::from_secs(1)),
            AppError::Refused(Refusal::BreakerOpen { retry_after }) => Some(*retry_after),
            AppError::Upstream(AttemptError::Overloaded { retry_after, .. }) => Some(
                retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(MAX_RETRY_AFTER),
            ),
            _ => None,
        }
    }
}

#[derive(Clone, Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'static str,
    request_id: Option<String>,
}

/// The error, kept on the response so the access log can report it and the
/// body can name the request (`name_request`).
#[derive(Clone)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    problem: Problem,
}

/// Writes the request's id into a problem+json body. The telemetry middleware
/// calls it for every response, as the one place that knows the id.
pub fn name_request(response: &mut Response, request_id: &RequestId) {
    let Some(failure) = response.extensions().get::<Failure>() else {
        return;
    };
    let mut problem = failure.problem.clone();
    problem.request_id = Some(request_id.to_string());
    let body = serde_json::to_vec(&problem).expect("a problem serializes");
    *response.body_mut() = Body::from(body);
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code(),
            request_id: None,
        };
        let mut response = (status, Json(problem.clone())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(wait) = self.retry_after() {
            // Round up: Retry-After has whole seconds, and 0 would invite an instant retry.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        match self {
            AppError::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            }
            AppError::RangeNotSatisfiable { len } => {
                headers.insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}"))
                        .expect("digits are valid header text"),
                );
            }
            _ => {}
        }
        response.extensions_mut().insert(Failure {
            code: self.code(),
            message: error_chain(&self),
            problem,
        });
        response
    }
}

/// The error and its sources on one line, for the access log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

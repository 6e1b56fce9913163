//! Operational endpoints: liveness, readiness and the Prometheus scrape.
//! None of them touches the upstream.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::app::AppState;
use crate::shutdown::Phase;

/// Liveness: the process is up and serving HTTP. Never depends on the upstream,
/// so an upstream outage cannot make Kubernetes restart healthy pods.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 503 while starting or draining. The upstream's health is
/// reported but does not decide it: every replica shares the upstream, so
/// pulling them all out of rotation would only turn 503s into connection errors.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let phase = state.phase.get();
    let status = if phase == Phase::Ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body =
        json!({ "status": phase.as_str(), "breaker": state.upstream.breaker_state().as_str() });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    crate::metrics::set_throttle_probability(state.upstream.throttle_probability());
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

//! dummy-pdf-or-png: the upstream simulator (placeholder: being written).

use std::future::Future;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;

pub const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub seed: Option<u64>,
}

pub fn router(_config: Config) -> Router {
    Router::new().fallback(|| async {
        if rand::random::<bool>() {
            ([(header::CONTENT_TYPE, "image/png")], Bytes::from_static(PNG)).into_response()
        } else {
            ([(header::CONTENT_TYPE, "application/pdf")], Bytes::from_static(PDF)).into_response()
        }
    })
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config)).with_graceful_shutdown(shutdown).await
}

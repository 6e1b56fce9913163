//! The application: shared state, the router with its middleware stack in one
//! place, and the server loop (header-read timeout, graceful drain).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use http::Uri;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::Config;
use crate::error::AppError;
use crate::routes::{document, health, parse_id};
use crate::shutdown::{Phase, PhaseCell};
use crate::upstream::Upstream;
use crate::{metrics as m, telemetry};

/// What every handler shares.
pub struct AppState {
    pub upstream: Arc<Upstream>,
    pub in_flight: Arc<Semaphore>,
    pub phase: PhaseCell,
    pub metrics: PrometheusHandle,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("no upstream URL: set --upstream-url / DOCPROXY_UPSTREAM_URL")]
    NoUpstream,
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the upstream HTTP client")]
    Client(#[from] reqwest::Error),
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: Arc<AppState>,
    header_read_timeout: Duration,
    shutdown_grace: Duration,
}

/// Builds the router: routes, then the middleware stack (outermost first).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/{id}",
            get(document::get_document).fallback(method_not_allowed),
        )
        .fallback(not_a_document)
        .layer(
            tower::ServiceBuilder::new()
                .layer(middleware::from_fn(telemetry::observe))
                .layer(CatchPanicLayer::custom(|_| {
                    AppError::Internal.into_response()
                })),
        )
        .with_state(state)
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Any other path is a malformed id: answered 400, never sent upstream.
async fn not_a_document(uri: Uri) -> AppError {
    AppError::BadId(
        parse_id(uri.path().trim_start_matches('/'))
            .err()
            .unwrap_or("is not a document path"),
    )
}

/// Connections the kernel queues before `accept`: the default 128 drops SYNs
/// (a one-second client stall) when a few hundred clients connect at once.
const LISTEN_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted pod can bind at once, whatever connections linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let metrics = m::install();
        let upstream_url = config
            .upstream_url
            .clone()
            .ok_or(StartupError::NoUpstream)?;
        let state = Arc::new(AppState {
            upstream: Arc::new(Upstream::new(&config, upstream_url)?),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight as usize)),
            phase: PhaseCell::new(Phase::Starting),
            metrics,
        });
        let listener = listen(config.listen).map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Application {
            listener,
            router: router(state.clone()),
            state,
            header_read_timeout: config.header_read_timeout,
            shutdown_grace: config.shutdown_grace,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until `shutdown` resolves, then drains: readiness turns 503, the
    /// listener closes, and in-flight requests get the grace period to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let upkeep = tokio::spawn(m::upkeep(self.state.metrics.clone()));
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);

        self.state.phase.set(Phase::Ready);
        tracing::info!(addr = %self.local_addr(), "listening");
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(self.router.clone());
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
        }

        self.state.phase.set(Phase::Draining);
        drop(self.listener);
        tracing::info!(grace = ?self.shutdown_grace, "draining in-flight requests");
        match tokio::time::timeout(self.shutdown_grace, graceful.shutdown()).await {
            Ok(()) => tracing::info!("drained; stopped"),
            Err(_) => tracing::warn!("grace period over; closing the remaining connections"),
        }
        upkeep.abort();
        Ok(())
    }
}

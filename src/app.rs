//! The application: shared state, the router with its middleware stack in one
//! place, and the server loop (connection cap, connection clocks, header
//! size, graceful drain).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::TryFutureExt;
use http::Uri;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::Config;
use crate::connection::{ClientIo, ConnectionState, Connections};
use crate::error::AppError;
use crate::routes::{document, health, parse_id};
use crate::shutdown::{Phase, PhaseCell};
use crate::upstream::Upstream;
use crate::workers;
use crate::{metrics as m, telemetry};

/// What every handler shares.
pub struct AppState {
    pub upstream: Arc<Upstream>,
    pub in_flight: Arc<Semaphore>,
    pub phase: PhaseCell,
    pub metrics: PrometheusHandle,
    /// Largest request head answered; larger ones get 431.
    pub max_header_size: usize,
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
    #[error(transparent)]
    Client(#[from] crate::upstream::ClientError),
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: Arc<AppState>,
    connections: Arc<Connections>,
    header_read_timeout: Duration,
    keep_alive_timeout: Duration,
    send_timeout: Duration,
    shutdown_grace: Duration,
    /// Threads serving connections, this one included.
    workers: usize,
}

/// Builds the router: routes, then the middleware stack (outermost first).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        // Every route answers other methods with a problem+json 405 and `Allow`
        // (axum's own 405 has an empty body).
        .route(
            "/healthz",
            get(health::healthz).fallback(method_not_allowed),
        )
        .route("/readyz", get(health::readyz).fallback(method_not_allowed))
        .route(
            "/metrics",
            get(health::metrics).fallback(method_not_allowed),
        )
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
                }))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    refuse_large_heads,
                )),
        )
        .with_state(state)
}

/// Answers 431 to a request whose head is over `--max-header-size`, before
/// any route sees it. hyper itself refuses heads a little larger
/// (`hyper_head_limit`), with a bare 431, so that this answer is the one
/// clients normally get.
async fn refuse_large_heads(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if head_size(&request) > state.max_header_size {
        return AppError::HeadTooLarge {
            limit: state.max_header_size,
        }
        .into_response();
    }
    next.run(request).await
}

/// The request head's size as sent with single spaces: `METHOD target HTTP/1.1`,
/// `name: value` lines, each line with its CRLF, and the blank line.
fn head_size(request: &Request) -> usize {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |target| target.as_str().len());
    let line = request.method().as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    line + headers + 2
}

/// hyper's own limit on a request head: above docproxy's by enough for
/// a head with extra whitespace, so a normal client over the limit gets the
/// problem+json 431; and never under hyper's minimum buffer.
fn hyper_head_limit(max_header_size: usize) -> usize {
    (max_header_size + 4096).max(8192)
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
        let workers = config.worker_count();
        let state = Arc::new(AppState {
            upstream: Arc::new(Upstream::new(&config, upstream_url, workers)?),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight as usize)),
            phase: PhaseCell::new(Phase::Starting),
            metrics,
            max_header_size: config.max_header_size as usize,
        });
        let listener = listen(config.listen).map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Application {
            listener,
            router: router(state.clone()),
            state,
            connections: Connections::new(config.max_connections),
            header_read_timeout: config.header_read_timeout,
            keep_alive_timeout: config.keep_alive_timeout,
            send_timeout: config.send_timeout,
            shutdown_grace: config.shutdown_grace,
            workers,
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
    /// Worker 0 is the caller's runtime; the others are threads of their own
    /// (`workers.rs`), each accepting from the same listener.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let upkeep = tokio::spawn(m::upkeep(self.state.metrics.clone()));
        let head_limit = hyper_head_limit(self.state.max_header_size);
        let mut http = hyper::server::conn::http1::Builder::new();
        // hyper's header-read timer runs from the moment a connection is idle
        // until the next request's headers are parsed: it is the keep-alive
        // limit. The header-read timeout proper is ClientIo's clock, which
        // starts at a request's first byte.
        http.timer(TokioTimer::new())
            .header_read_timeout(self.keep_alive_timeout)
            .max_header_size(head_limit)
            .max_buf_size(head_limit);
        let server = Arc::new(Server {
            router: self.router,
            connections: self.connections.clone(),
            http,
            header_read_timeout: self.header_read_timeout,
            send_timeout: self.send_timeout,
        });

        let addr = self.listener.local_addr()?;
        let listener = self.listener.into_std()?;
        let (stage, _) = watch::channel(Stage::Serving);
        let mut others = Vec::with_capacity(self.workers - 1);
        for index in 1..self.workers {
            let (listener, server, stage) =
                (listener.try_clone()?, server.clone(), stage.subscribe());
            others.push(workers::spawn(index, move || {
                server.run_worker(listener, stage)
            })?);
        }
        let listener = TcpListener::from_std(listener)?;

        self.state.phase.set(Phase::Ready);
        tracing::info!(%addr, workers = self.workers, "listening");
        server.accept(listener, shutdown).await;
        stage.send_replace(Stage::Draining);

        self.state.phase.set(Phase::Draining);
        tracing::info!(grace = ?self.shutdown_grace, "draining in-flight requests");
        self.connections.drain();
        match tokio::time::timeout(self.shutdown_grace, self.connections.all_closed()).await {
            Ok(()) => tracing::info!("drained; stopped"),
            Err(_) => tracing::warn!("grace period over; closing the remaining connections"),
        }
        // Each worker's runtime, and what it still serves, ends with its thread.
        stage.send_replace(Stage::Stopped);
        let _ = tokio::task::spawn_blocking(move || {
            for worker in others {
                let _ = worker.join();
            }
        })
        .await;
        upkeep.abort();
        Ok(())
    }
}

/// Where the workers are in a shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Serving,
    /// Not accepting; serving the connections open until the drain ends.
    Draining,
    Stopped,
}

/// What every worker's accept loop shares.
struct Server {
    router: Router,
    connections: Arc<Connections>,
    http: hyper::server::conn::http1::Builder,
    header_read_timeout: Duration,
    send_timeout: Duration,
}

impl Server {
    /// A worker other than 0: accepts until the drain begins, then goes on
    /// serving its open connections until the drain ends.
    async fn run_worker(
        self: Arc<Self>,
        listener: std::net::TcpListener,
        mut stage: watch::Receiver<Stage>,
    ) {
        match TcpListener::from_std(listener) {
            Ok(listener) => {
                let draining = async {
                    let _ = stage.wait_for(|s| *s != Stage::Serving).await;
                };
                self.accept(listener, draining).await;
            }
            Err(error) => {
                tracing::error!(%error, worker = workers::current(), "a worker cannot listen")
            }
        }
        let _ = stage.wait_for(|s| *s == Stage::Stopped).await;
    }

    /// Accepts connections and serves each on a task of this worker's
    /// runtime, until `stop` resolves; the listener closes on return.
    async fn accept(&self, listener: TcpListener, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            // A connection slot first: at the limit, new connections wait in
            // the listen backlog instead of each costing buffers here.
            let accept = async {
                let slot = self.connections.slot().await;
                (slot, listener.accept().await)
            };
            let (slot, stream, peer) = tokio::select! {
                (slot, accepted) = accept => match accepted {
                    Ok((stream, peer)) => (slot, stream, peer),
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut stop => return,
            };
            let _ = stream.set_nodelay(true);
            let state = ConnectionState::new(self.header_read_timeout);
            let io = ClientIo::new(stream, peer, state.clone(), self.send_timeout);
            let router = self.router.clone();
            let service = {
                let state = state.clone();
                hyper::service::service_fn(move |request| {
                    let state = state.clone();
                    router
                        .clone()
                        .oneshot(request)
                        .map_ok(move |response| state.request_started(response))
                })
            };
            let connections = self.connections.clone();
            let connection = self.http.serve_connection(TokioIo::new(io), service);
            tokio::spawn(async move {
                let mut connection = std::pin::pin!(connection);
                let result = tokio::select! {
                    result = connection.as_mut() => result,
                    () = connections.should_close(&state) => {
                        // Finishes the request under way, if any, then closes.
                        connection.as_mut().graceful_shutdown();
                        connection.await
                    }
                };
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                drop(slot);
            });
        }
    }
}

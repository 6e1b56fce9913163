//! The HTTP server: its own accept loop (so an injected reset can be a real
//! TCP RST), carrying out each request's plan (see `faults`), and `/_dummy/` endpoints.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::config::{BadAnswer, Config};
use crate::documents::{HostileBody, Kind, hostile};
use crate::faults::Plan;

type Body = BoxBody<Bytes, io::Error>;

/// The documents' modification time, sent as Last-Modified like the original's file server.
const LAST_MODIFIED: &str = "Fri, 21 Nov 2025 00:00:00 GMT";
const DRIP_CHUNK: usize = 1024;
const FAULTS: [&str; 6] = ["error", "spike", "reset", "truncate", "wrong_type", "drip"];
/// The `--bad-id ID=oversize` body: 9 MiB, over docproxy's default 8 MiB limit.
const OVERSIZE: usize = 9 << 20;

struct State {
    config: Config,
    rng: Mutex<StdRng>,
    served: [AtomicU64; 3],
    faults: [AtomicU64; 6],
    /// Document requests being handled, for capacity mode.
    in_flight: AtomicU32,
    /// Requests refused by capacity mode.
    over_capacity: AtomicU64,
    /// The next `--unique` or `--hostile` serial number.
    serial: AtomicU64,
    /// The `--hostile` shapes, built once, and how many of each were served.
    hostile: Vec<HostileBody>,
    hostile_served: Vec<AtomicU64>,
    /// The PNG as served: padded to `--pad-png` once, here, not per request.
    png: Bytes,
}

/// Holds one capacity-mode slot until dropped.
struct Slot<'a>(&'a AtomicU32);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl State {
    fn plan(&self) -> Plan {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        Plan::draw(&mut *rng, &self.config)
    }

    fn count_fault(&self, name: &str) {
        if let Some(i) = FAULTS.iter().position(|f| *f == name) {
            self.faults[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Serves on `listener` until `shutdown` resolves, then lets open requests finish (5 s at most).
/// A config out of range is refused with `InvalidInput` before anything is served.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    config
        .validate()
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let rng = match config.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let names = config.hostile_shapes();
    // Seconds of CPU for the largest shapes: off the runtime, before serving.
    let hostile: Vec<HostileBody> = tokio::task::spawn_blocking(move || {
        names
            .into_iter()
            .filter_map(|name| {
                Some(HostileBody::new(
                    name,
                    hostile::full_size(name, hostile::SERVED_MAX_LEN)?,
                ))
            })
            .collect()
    })
    .await
    .map_err(io::Error::other)?;
    let state = Arc::new(State {
        hostile_served: hostile.iter().map(|_| AtomicU64::new(0)).collect(),
        hostile,
        rng: Mutex::new(rng),
        served: Default::default(),
        faults: Default::default(),
        in_flight: AtomicU32::new(0),
        over_capacity: AtomicU64::new(0),
        // Not from the seeded generator, whose sequence the seed promises; a
        // random start keeps a restarted dummy's bodies new too.
        serial: AtomicU64::new(rand::random()),
        png: match config.pad_png {
            0 => Bytes::from_static(crate::documents::PNG),
            padding => Bytes::from(crate::documents::padded_png(padding)),
        },
        config,
    });
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(Connection {
            stream,
            reset: reset.clone(),
        });
        let state = state.clone();
        let service = service_fn(move |request| handle(state.clone(), reset.clone(), request));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

async fn handle(
    state: Arc<State>,
    reset: Arc<AtomicBool>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path();
    if let Some(endpoint) = path.strip_prefix("/_dummy/") {
        return Ok(match endpoint {
            "healthz" => text(StatusCode::OK, "ok\n".into()),
            "metrics" => text(StatusCode::OK, render_metrics(&state)),
            _ => text(StatusCode::NOT_FOUND, "no such endpoint\n".into()),
        });
    }
    let head = match *request.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n".into());
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Ok(response);
        }
    };

    // Capacity mode: the slot is taken before any work, as a real server's
    // worker pool would be; beyond capacity the answer is an immediate 503.
    let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst);
    let _slot = Slot(&state.in_flight);
    let overload = &state.config.overload;
    if overload.capacity > 0 && in_flight >= overload.capacity {
        state.over_capacity.fetch_add(1, Ordering::Relaxed);
        let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "over capacity\n".into());
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(overload.capacity_retry_after),
        );
        return Ok(response);
    }
    let bad = path
        .strip_prefix('/')
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| state.config.bad_ids.iter().find(|(bad, _)| *bad == id))
        .map(|(_, answer)| *answer);

    let plan = state.plan();
    let faults = &state.config.faults;
    let mut delay = faults.latency + overload.latency_per_in_flight * in_flight;
    if plan.spike {
        state.count_fault("spike");
        delay += faults.spike_latency;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if plan.reset {
        state.count_fault("reset");
        // The connection sees the flag on its next read or write and closes with an RST.
        reset.store(true, Ordering::SeqCst);
        return Ok(text(StatusCode::OK, String::new()));
    }
    match bad {
        Some(BadAnswer::Forbidden) => return Ok(text(StatusCode::FORBIDDEN, "forbidden\n".into())),
        Some(BadAnswer::Invalid) => {
            return Ok(document(Kind::CorruptPdf.bytes(), "application/pdf", head));
        }
        Some(BadAnswer::Oversize) => {
            static BODY: OnceLock<Bytes> = OnceLock::new();
            let body = BODY.get_or_init(|| {
                let mut body = b"%PDF-1.4\n".to_vec();
                body.resize(OVERSIZE, b' ');
                Bytes::from(body)
            });
            let mut response = Response::new(if head {
                empty()
            } else {
                Full::new(body.clone())
                    .map_err(|never| match never {})
                    .boxed()
            });
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(OVERSIZE));
            return Ok(response);
        }
        None => {}
    }
    if plan.error {
        state.count_fault("error");
        let status =
            StatusCode::from_u16(faults.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Ok(text(status, "injected fault\n".into()));
    }

    if !state.hostile.is_empty() {
        let serial = state.serial.fetch_add(1, Ordering::Relaxed);
        let pick = path
            .strip_prefix('/')
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or(serial);
        let index = (pick % state.hostile.len() as u64) as usize;
        let shape = &state.hostile[index];
        state.hostile_served[index].fetch_add(1, Ordering::Relaxed);
        return Ok(hostile_document(shape, serial, head));
    }

    state.served[plan.kind as usize].fetch_add(1, Ordering::Relaxed);
    let bytes = if state.config.unique {
        let serial = state.serial.fetch_add(1, Ordering::Relaxed);
        Bytes::from(crate::documents::unique(plan.kind, serial))
    } else if plan.kind == Kind::Png {
        state.png.clone()
    } else {
        Bytes::from_static(plan.kind.bytes())
    };
    let len = bytes.len();
    let label = if plan.wrong_type {
        state.count_fault("wrong_type");
        if plan.kind == Kind::Png {
            "application/pdf"
        } else {
            "image/png"
        }
    } else {
        plan.kind.content_type()
    };
    let body = if head {
        empty()
    } else if plan.truncate {
        state.count_fault("truncate");
        let half = bytes.slice(..len / 2);
        // Pause before failing so the half already sent is flushed, then the connection drops.
        let cut = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "injected truncation",
            ))
        };
        BodyExt::boxed(StreamBody::new(
            stream::iter([Ok(Frame::data(half))]).chain(stream::once(cut)),
        ))
    } else if plan.drip {
        state.count_fault("drip");
        drip(bytes, faults.drip_interval)
    } else {
        Full::new(bytes).map_err(|never| match never {}).boxed()
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(label));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_static(LAST_MODIFIED),
    );
    Ok(response)
}

/// A whole document answer, as the normal path sends one.
fn document(bytes: &'static [u8], label: &'static str, head: bool) -> Response<Body> {
    let body = if head {
        empty()
    } else {
        Full::new(Bytes::from_static(bytes))
            .map_err(|never| match never {})
            .boxed()
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(label));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    response
}

/// A hostile shape with a new serial, its shared bulk sent without a copy.
fn hostile_document(shape: &HostileBody, serial: u64, head: bool) -> Response<Body> {
    let body = if head {
        empty()
    } else {
        let parts = shape.with_serial(serial).map(|part| Ok(Frame::data(part)));
        BodyExt::boxed(StreamBody::new(stream::iter(parts)))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(shape.len()));
    response
}

fn drip(bytes: Bytes, interval: Duration) -> Body {
    let chunks = stream::unfold(0usize, move |at| {
        let bytes = bytes.clone();
        async move {
            if at >= bytes.len() {
                return None;
            }
            if at > 0 {
                tokio::time::sleep(interval).await;
            }
            let end = (at + DRIP_CHUNK).min(bytes.len());
            Some((Ok(Frame::data(bytes.slice(at..end))), end))
        }
    });
    BodyExt::boxed(StreamBody::new(chunks))
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn render_metrics(state: &State) -> String {
    let mut out = String::new();
    out.push_str("# HELP dummy_documents_served_total Documents served by kind.\n# TYPE dummy_documents_served_total counter\n");
    for kind in Kind::ALL {
        let n = state.served[kind as usize].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "dummy_documents_served_total{{kind=\"{}\"}} {n}",
            kind.as_str()
        );
    }
    out.push_str("# HELP dummy_faults_injected_total Faults injected by kind.\n# TYPE dummy_faults_injected_total counter\n");
    for (i, fault) in FAULTS.iter().enumerate() {
        let n = state.faults[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "dummy_faults_injected_total{{fault=\"{fault}\"}} {n}");
    }
    if !state.hostile.is_empty() {
        out.push_str("# HELP dummy_hostile_served_total Hostile bodies served by shape.\n# TYPE dummy_hostile_served_total counter\n");
    }
    for (shape, served) in state.hostile.iter().zip(&state.hostile_served) {
        let _ = writeln!(
            out,
            "dummy_hostile_served_total{{shape=\"{}\"}} {}",
            shape.name,
            served.load(Ordering::Relaxed)
        );
    }
    out.push_str("# HELP dummy_over_capacity_total Requests answered 503 by capacity mode.\n# TYPE dummy_over_capacity_total counter\n");
    let _ = writeln!(
        out,
        "dummy_over_capacity_total {}",
        state.over_capacity.load(Ordering::Relaxed)
    );
    out
}

/// A TCP connection that can be reset from a handler: once `reset` is set,
/// the next read or write fails, and dropping the socket with a zero linger
/// sends an RST instead of a FIN.
struct Connection {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Connection {
    fn check(&self) -> io::Result<()> {
        if self.reset.load(Ordering::SeqCst) {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "injected reset",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

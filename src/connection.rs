//! Client connections: the slots `--max-connections` allows, with idle ones
//! reclaimed when a new connection waits; and the clocks on a connection that
//! hyper has no setting for: a request's headers must arrive within the
//! header-read timeout counted from their first byte (or from the accept, for
//! a connection's first request), and a client that stops reading a response
//! for the send timeout is disconnected, so the document it pins is freed.
//!
//! The idle keep-alive limit is hyper's own header-read timer (see `app.rs`):
//! in hyper 1.x it starts the moment a connection goes idle and stops when a
//! request's headers are parsed, so on its own it cannot tell a slow client
//! from a quiet one.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};

/// The connection slots (`--max-connections`) and what every connection task
/// listens to: the drain at shutdown, and a request to close when idle.
pub struct Connections {
    slots: Arc<Semaphore>,
    limit: u32,
    reclaim: Notify,
    drain: watch::Sender<bool>,
}

/// How often idle connections are asked again to close while a new one waits.
const RECLAIM_EVERY: Duration = Duration::from_millis(50);

impl Connections {
    pub fn new(limit: u32) -> Arc<Self> {
        Arc::new(Connections {
            slots: Arc::new(Semaphore::new(limit as usize)),
            limit,
            reclaim: Notify::new(),
            drain: watch::Sender::new(false),
        })
    }

    /// A slot for the next connection, taken before it is accepted. At the
    /// limit, idle keep-alive connections are asked to close (as nginx reuses
    /// them when out of connections), so clients that keep many idle
    /// connections cannot lock new ones out; only connections that are all
    /// busy make a new one wait in the listen backlog.
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(slot) = self.slots.clone().try_acquire_owned() {
                return slot;
            }
            self.reclaim.notify_waiters();
            if let Ok(slot) =
                tokio::time::timeout(RECLAIM_EVERY, self.slots.clone().acquire_owned()).await
            {
                return slot.expect("the connection semaphore is never closed");
            }
        }
    }

    /// Resolves when this connection should close gracefully: the server is
    /// draining, or a new connection waits for a slot and this one is idle.
    pub async fn should_close(&self, state: &ConnectionState) {
        let mut drain = self.drain.subscribe();
        loop {
            tokio::select! {
                _ = drain.wait_for(|draining| *draining) => return,
                () = self.reclaim.notified() => {
                    if state.is_idle() {
                        return;
                    }
                }
            }
        }
    }

    /// Asks every connection to finish its request and close.
    pub fn drain(&self) {
        self.drain.send_replace(true);
    }

    /// Resolves when every connection has closed.
    pub async fn all_closed(&self) {
        let _ = self.slots.acquire_many(self.limit).await;
    }
}

/// One connection's state, shared by its reads (which start the header clock),
/// its service (which stops it once hyper has parsed a request) and its
/// response bodies (which tell when it is idle again).
pub struct ConnectionState {
    header_timeout: Duration,
    /// When the headers being received must be complete.
    header_deadline: Mutex<Option<Instant>>,
    open_responses: AtomicUsize,
}

impl ConnectionState {
    /// A new connection owes its first request's headers: the clock runs.
    pub fn new(header_timeout: Duration) -> Arc<Self> {
        Arc::new(ConnectionState {
            header_timeout,
            header_deadline: Mutex::new(Some(Instant::now() + header_timeout)),
            open_responses: AtomicUsize::new(0),
        })
    }

    /// hyper parsed a request's headers: nothing is owed until the next one,
    /// and the connection is busy until `body` (its response's) is done.
    pub fn request_started(self: &Arc<Self>, response: Response) -> Response {
        *self.lock() = None;
        self.open_responses.fetch_add(1, Ordering::Relaxed);
        response.map(|inner| {
            Body::new(TrackedBody {
                inner,
                state: self.clone(),
            })
        })
    }

    /// Between requests: no response being sent, no headers arriving.
    fn is_idle(&self) -> bool {
        self.open_responses.load(Ordering::Relaxed) == 0 && self.lock().is_none()
    }

    /// Bytes arrived; if no request was being received, they start the next one.
    fn bytes_arrived(&self) {
        self.lock()
            .get_or_insert_with(|| Instant::now() + self.header_timeout);
    }

    fn deadline(&self) -> Option<Instant> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.header_deadline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// A response body that marks its connection idle again when hyper drops it
/// (sent, or abandoned).
struct TrackedBody {
    inner: Body,
    state: Arc<ConnectionState>,
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.state.open_responses.fetch_sub(1, Ordering::Relaxed);
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A client socket with the header-read and send clocks. Either clock running
/// out fails the read or write, and hyper closes the connection, dropping the
/// response body and with it the document's bytes and in-flight slot.
pub struct ClientIo<S> {
    inner: S,
    peer: SocketAddr,
    headers: Arc<ConnectionState>,
    header_timer: Option<Pin<Box<Sleep>>>,
    send_timeout: Duration,
    /// Armed when a write could not make progress; disarmed by any progress.
    send_timer: Option<Pin<Box<Sleep>>>,
    send_stalled: bool,
}

impl<S> ClientIo<S> {
    pub fn new(
        inner: S,
        peer: SocketAddr,
        headers: Arc<ConnectionState>,
        send_timeout: Duration,
    ) -> Self {
        ClientIo {
            inner,
            peer,
            headers,
            header_timer: None,
            send_timeout,
            send_timer: None,
            send_stalled: false,
        }
    }

    /// Ready with an error once the owed headers are late.
    fn poll_header_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(deadline) = self.headers.deadline() else {
            return Poll::Pending;
        };
        let timer = self
            .header_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        ready!(timer.as_mut().poll(cx));
        tracing::debug!(peer = %self.peer, "request headers not received within the header-read timeout; closing");
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "request headers not received within the header-read timeout",
        ))
    }

    /// Called when a write is pending: ready with an error once the client
    /// has read nothing for the send timeout.
    fn poll_send_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = Instant::now() + self.send_timeout;
        let timer = self
            .send_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.send_stalled {
            self.send_stalled = true;
            timer.as_mut().reset(deadline);
        }
        ready!(timer.as_mut().poll(cx));
        tracing::info!(peer = %self.peer, send_timeout = ?self.send_timeout, "the client stopped reading; disconnected");
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing within the send timeout",
        ))
    }

    fn wrote(
        &mut self,
        result: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Pending => self.poll_send_deadline(cx).map(Err),
            done => {
                self.send_stalled = false;
                done
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ClientIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.headers.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_header_deadline(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

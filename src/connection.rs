//! One client connection and the clocks on it that hyper has no setting for:
//! a request's headers must arrive within the header-read timeout counted
//! from their first byte (or from the accept, for a connection's first
//! request), and a client that stops reading a response for the send timeout
//! is disconnected, so the document it pins is freed.
//!
//! The idle keep-alive limit is hyper's own header-read timer (see `app.rs`):
//! in hyper 1.x it starts the moment a connection goes idle and stops when a
//! request's headers are parsed, so on its own it cannot tell a slow client
//! from a quiet one.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// When the headers being received must be complete; shared by the
/// connection's reads (which start the clock) and its service (which stops it
/// once hyper has parsed a request).
pub struct HeaderClock {
    timeout: Duration,
    deadline: Mutex<Option<Instant>>,
}

impl HeaderClock {
    /// A clock already running: a new connection owes its first request's headers.
    pub fn started(timeout: Duration) -> Arc<Self> {
        Arc::new(HeaderClock {
            timeout,
            deadline: Mutex::new(Some(Instant::now() + timeout)),
        })
    }

    /// A request's headers have been parsed: nothing is owed until the next one.
    pub fn headers_received(&self) {
        *self.lock() = None;
    }

    /// Bytes arrived; if no request was being received, they start the next one.
    fn bytes_arrived(&self) {
        self.lock()
            .get_or_insert_with(|| Instant::now() + self.timeout);
    }

    fn deadline(&self) -> Option<Instant> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A client socket with the header-read and send clocks. Either clock running
/// out fails the read or write, and hyper closes the connection, dropping the
/// response body and with it the document's bytes and in-flight slot.
pub struct ClientIo<S> {
    inner: S,
    peer: SocketAddr,
    headers: Arc<HeaderClock>,
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
        headers: Arc<HeaderClock>,
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

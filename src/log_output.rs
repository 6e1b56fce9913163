//! Log output that never holds up a request. Each line is appended to a
//! bounded buffer in memory, and a thread of its own writes the buffer out.
//!
//! Written straight to stdout, as before, one stopped reader of the
//! process's output (a stalled log driver, a full pipe) blocked every worker
//! at its next log line: with stdout a pipe nobody read, /healthz stopped
//! answering. Now such a reader costs log lines, each one counted in
//! `docproxy_log_lines_dropped_total`, and nothing else. Lines also go out in
//! batches, one write for many, instead of a write per request.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::metrics as m;

/// Log bytes waiting to be written, at most: about 3,000 access lines, or
/// 150 ms of them at 20,000 requests a second. The writer holds at most
/// twice this (the batch it writes and the lines that come meanwhile).
pub const CAPACITY: usize = 1 << 20;

/// How long the writer gathers lines after the first before it writes them.
const BATCH_FOR: Duration = Duration::from_millis(20);

/// How long the end of the process waits for the last lines to go out: a
/// stalled output must not hold up the exit either.
const LAST_WRITE_FOR: Duration = Duration::from_secs(1);

/// The subscriber's writer: a handle on the buffer.
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// Owns the writing thread. Dropping it writes what is left, waiting at most
/// `LAST_WRITE_FOR`, and ends the thread.
pub struct Flusher {
    shared: Arc<Shared>,
    /// Disconnected when the thread ends.
    ended: mpsc::Receiver<()>,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the thread that writes to `out`, holding at most `capacity` bytes
/// of lines waiting.
pub fn spawn(
    out: impl Write + Send + 'static,
    capacity: usize,
) -> io::Result<(LogWriter, Flusher)> {
    let shared = Arc::new(Shared {
        pending: Mutex::default(),
        wake: Condvar::new(),
        capacity,
    });
    let (ending, ended) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("docproxy-log".into())
        .spawn({
            let shared = shared.clone();
            move || {
                let _ending = ending;
                write_out(&shared, out);
            }
        })?;
    let flusher = Flusher {
        shared: shared.clone(),
        ended,
    };
    Ok((LogWriter { shared }, flusher))
}

/// The writing thread: waits for a line, gathers for `BATCH_FOR`, writes the
/// batch; until closed and empty.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let pending = shared.lock();
        let pending = shared
            .wake
            .wait_while(pending, |p| p.lines.is_empty() && !p.closed)
            .unwrap_or_else(|p| p.into_inner());
        let (mut pending, _) = shared
            .wake
            .wait_timeout_while(pending, BATCH_FOR, |p| !p.closed)
            .unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut pending.lines, &mut batch);
        let last = pending.closed;
        drop(pending);
        if out.write_all(&batch).and_then(|()| out.flush()).is_err() {
            // Nowhere to write (stdout closed, say): these lines are lost too.
            dropped(&batch);
        }
        batch.clear();
        if last {
            return;
        }
    }
}

/// Counts the lines in `bytes` as dropped.
fn dropped(bytes: &[u8]) {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    m::record_log_lines_dropped(lines as u64);
}

impl Write for &LogWriter {
    /// Takes one whole line (tracing-subscriber writes each event with one
    /// call), or drops and counts it when the buffer is full. Never blocks
    /// on the output.
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut pending = self.shared.lock();
        if pending.closed || pending.lines.len() + line.len() > self.shared.capacity {
            drop(pending);
            dropped(line);
            return Ok(line.len());
        }
        let first = pending.lines.is_empty();
        pending.lines.extend_from_slice(line);
        drop(pending);
        if first {
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        let _ = self.ended.recv_timeout(LAST_WRITE_FOR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use std::sync::mpsc;

    /// An output that takes nothing until `go` is dropped, then keeps all it gets.
    struct Stalled {
        go: mpsc::Receiver<()>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.go.recv();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_output_costs_counted_lines_never_a_wait() {
        const LINES: usize = 1_000;
        const HELD: usize = 100;
        let line = |i: usize| format!("line {i:04} {}\n", "x".repeat(89)).into_bytes();
        let (go, gate) = mpsc::channel::<()>();
        let written = Arc::new(Mutex::new(Vec::new()));
        let out = Stalled {
            go: gate,
            written: written.clone(),
        };
        let (writer, flusher) = spawn(out, HELD * line(0).len()).unwrap();

        // The lines, from a thread of their own: a writer that waited on the
        // output would never finish, and this test would fail, not hang.
        let recorder = PrometheusBuilder::new().build_recorder();
        let scrape = recorder.handle();
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            metrics::with_local_recorder(&recorder, || {
                for i in 0..LINES {
                    (&writer).write_all(&line(i)).unwrap();
                }
            });
            done.send(writer).unwrap();
        });
        let writer = finished
            .recv_timeout(Duration::from_secs(10))
            .expect("writing 1,000 lines waited on a stalled output");
        drop(go);
        drop(flusher);

        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let numbers: Vec<usize> = text
            .lines()
            .map(|l| {
                assert_eq!(l.len(), 99, "a line came out cut or merged: {l:?}");
                l[5..9].parse().unwrap()
            })
            .collect();
        // The buffer fills before anything is dropped, so the first `HELD`
        // lines all come out; then at most one more buffer's worth (taken
        // while the writer held a batch), in order.
        assert!(
            numbers.len() >= HELD && numbers.len() <= 2 * HELD,
            "{}",
            numbers.len()
        );
        assert_eq!(numbers[..HELD], (0..HELD).collect::<Vec<_>>());
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        // Every line not written was counted.
        let dropped = scrape
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("docproxy_log_lines_dropped_total "))
            .map(|v| v.parse::<usize>().unwrap());
        assert_eq!(dropped, Some(LINES - numbers.len()));
        drop(writer);
    }

    #[test]
    fn the_end_does_not_wait_on_a_stalled_output() {
        let (_go, gate) = mpsc::channel::<()>();
        let out = Stalled {
            go: gate,
            written: Arc::default(),
        };
        let (writer, flusher) = spawn(out, 1 << 10).unwrap();
        (&writer).write_all(b"a line\n").unwrap();
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            drop(flusher);
            done.send(()).unwrap();
        });
        // The output never takes the line; the drop gives up after a second.
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("dropping the flusher waited on a stalled output");
    }
}

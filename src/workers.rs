//! Workers: threads that each run a single-threaded runtime, as nginx runs
//! one worker process per core. Each accepts from the shared listener and
//! serves its connections to the end, and each sends to the upstream on a
//! client of its own, so a request's tasks (its connection, the upstream
//! connection, the wakeups between them) stay on one thread.
//!
//! tokio's multi-thread scheduler moved them between threads: 0.68 task
//! switches per proxied request against nginx's 0.22 (docs/BENCHMARKS.md).
//! Worker 0 is the thread that runs `Application::run_until_stopped`.

use std::cell::Cell;
use std::future::Future;
use std::thread::JoinHandle;

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// The worker this thread is; 0 on any thread that is not one.
pub fn current() -> usize {
    INDEX.get()
}

/// A worker's runtime: single-threaded, with timers and I/O.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Starts worker `index` on a thread of its own (`docproxy-w{index}`: Linux
/// keeps 15 bytes of a thread's name), which runs the future
/// `work` makes to its end on a current-thread runtime. `work` is called on
/// that thread, inside the runtime, so what it registers (a listener)
/// belongs to this worker's reactor.
pub fn spawn<W, F>(index: usize, work: W) -> std::io::Result<JoinHandle<()>>
where
    W: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()>,
{
    let runtime = runtime()?;
    std::thread::Builder::new()
        .name(format!("docproxy-w{index}"))
        .spawn(move || {
            INDEX.set(index);
            runtime.block_on(async move { work().await });
        })
}

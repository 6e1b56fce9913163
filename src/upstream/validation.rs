//! The validation pool: CPU-heavy validation runs on tokio's blocking threads,
//! at most one per core at a time, so it never stalls the async workers that
//! answer health checks, metrics and fail-fast refusals.
//!
//! Work waiting for a core is bounded too: beyond `queue` waiting jobs a new
//! one is refused at once (`Refusal::ValidationBusy`, a 503) instead of
//! queueing without bound. A caller that stops waiting (its deadline passed)
//! abandons the job; a job already running finishes on its own, still holding
//! its core, so abandoned work cannot pile up beyond the pool's bound.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::attempt::Refusal;

pub struct ValidationPool {
    /// One permit per job admitted: running or waiting for a core.
    admitted: Arc<Semaphore>,
    /// One permit per core.
    cores: Arc<Semaphore>,
    /// Jobs that run at once.
    size: usize,
}

impl ValidationPool {
    /// A pool of `cores` concurrent jobs with room for `queue` more waiting.
    pub fn new(cores: usize, queue: usize) -> Self {
        ValidationPool {
            admitted: Arc::new(Semaphore::new(cores + queue)),
            cores: Arc::new(Semaphore::new(cores)),
            size: cores,
        }
    }

    /// How many jobs run at once.
    pub fn cores(&self) -> usize {
        self.size
    }

    /// Sized to the machine: one job per core the process may use.
    pub fn for_this_machine(queue: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, queue)
    }

    /// Runs `job` on a blocking thread once a core is free, or refuses it at
    /// once when the queue is full. A panic in `job` is resumed here.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Refusal>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::ValidationBusy)?;
        let core = self
            .cores
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphores are never closed");
        // Both permits go with the job: dropping this future does not free its core.
        let handle = tokio::task::spawn_blocking(move || {
            let output = job();
            drop((core, admitted));
            output
        });
        match handle.await {
            Ok(output) => Ok(output),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A job that blocks its thread until released, and says when it started.
    fn gated(
        started: mpsc::Sender<()>,
    ) -> (impl FnOnce() -> u32 + Send + 'static, mpsc::Sender<()>) {
        let (release, gate) = mpsc::channel::<()>();
        let job = move || {
            started.send(()).unwrap();
            let _ = gate.recv();
            7
        };
        (job, release)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_beyond_the_cores_and_the_queue_are_refused_at_once() {
        let pool = Arc::new(ValidationPool::new(1, 1));
        let (started_tx, started) = mpsc::channel();
        let (running, release_running) = gated(started_tx.clone());
        let (queued, release_queued) = gated(started_tx);
        let first = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(running).await }
        });
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(queued).await }
        });
        // The second waits for the only core: it has not started.
        assert!(started.recv_timeout(Duration::from_millis(100)).is_err());
        // A third finds the queue full.
        while pool.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| 1).await, Err(Refusal::ValidationBusy));

        release_running.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(7));
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        release_queued.send(()).unwrap();
        assert_eq!(second.await.unwrap(), Ok(7));
        assert_eq!(pool.run(|| 1).await, Ok(1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_job_keeps_its_core_until_it_finishes() {
        let pool = ValidationPool::new(1, 0);
        let (started_tx, started) = mpsc::channel();
        let (job, release) = gated(started_tx);
        let abandoned = tokio::time::timeout(Duration::from_millis(50), pool.run(job)).await;
        assert!(abandoned.is_err(), "the caller gave up");
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        // Still running: no room for another job.
        assert_eq!(pool.run(|| 1).await, Err(Refusal::ValidationBusy));
        release.send(()).unwrap();
        let freed = async {
            while pool.admitted.available_permits() == 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), freed)
            .await
            .unwrap();
        assert_eq!(pool.run(|| 2).await, Ok(2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_abandoned_while_queued_never_runs() {
        let pool = ValidationPool::new(1, 1);
        let (started_tx, started) = mpsc::channel();
        let (running, release) = gated(started_tx.clone());
        let (never, _release_never) = gated(started_tx);
        let first = pool.run(running);
        tokio::pin!(first);
        // Poll the first until its job runs, then give the second 50 ms in the queue.
        tokio::select! {
            _ = &mut first => unreachable!("the job is gated"),
            _ = async { while started.try_recv().is_err() { tokio::task::yield_now().await } } => {}
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(50), pool.run(never))
                .await
                .is_err()
        );
        release.send(()).unwrap();
        assert_eq!(first.await, Ok(7));
        assert!(
            started.recv_timeout(Duration::from_millis(100)).is_err(),
            "the abandoned job never started"
        );
        assert_eq!(pool.admitted.available_permits(), 2);
    }
}

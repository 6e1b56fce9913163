//! Single-flight: concurrent calls for the same key share one execution, so a
//! hot id cannot multiply the upstream's load.
//!
//! The shared call runs as long as someone waits for it; when the last
//! waiter goes away before it finishes, it is dropped, and the next call for
//! that key starts afresh.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

pub struct SingleFlight<K, V: Clone> {
    calls: Mutex<HashMap<K, Shared<BoxFuture<'static, V>>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    pub fn new() -> Self {
        SingleFlight {
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Joins the running call for `key`, or starts `call`. The flag is true
    /// when the value came from a call another caller started.
    pub async fn run(&self, key: K, call: impl FnOnce() -> BoxFuture<'static, V>) -> (V, bool) {
        let (shared, joined) = {
            let mut calls = self.lock();
            match calls.get(&key) {
                Some(running) => (running.clone(), true),
                None => {
                    let shared = call().shared();
                    calls.insert(key.clone(), shared.clone());
                    (shared, false)
                }
            }
        };
        let mut waiter = Waiter {
            flight: self,
            key,
            shared: Some(shared.clone()),
        };
        let value = shared.await;
        waiter.leave(true);
        (value, joined)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Shared<BoxFuture<'static, V>>>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn running(&self) -> usize {
        self.lock().len()
    }
}

/// Takes the call out of the map when it finishes, or when its last waiter leaves.
struct Waiter<'a, K: Hash + Eq + Clone, V: Clone> {
    flight: &'a SingleFlight<K, V>,
    key: K,
    shared: Option<Shared<BoxFuture<'static, V>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> Waiter<'_, K, V> {
    fn leave(&mut self, finished: bool) {
        let Some(ours) = self.shared.take() else {
            return;
        };
        let mut calls = self.flight.lock();
        let same = calls
            .get(&self.key)
            .is_some_and(|current| current.ptr_eq(&ours));
        // Two references left: the map's and ours. Nobody else is waiting.
        let last = ours.strong_count().is_some_and(|n| n <= 2);
        if same && (finished || last) {
            calls.remove(&self.key);
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for Waiter<'_, K, V> {
    fn drop(&mut self) {
        self.leave(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn counted_call(
        calls: &Arc<AtomicUsize>,
        value: u32,
    ) -> impl FnOnce() -> BoxFuture<'static, u32> {
        let calls = calls.clone();
        move || {
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                value
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_calls_for_one_key_share_one_execution() {
        let flight = SingleFlight::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let (a, b, c) = tokio::join!(
            flight.run(1, counted_call(&calls, 10)),
            flight.run(1, counted_call(&calls, 20)),
            flight.run(2, counted_call(&calls, 30)),
        );
        assert_eq!(a, (10, false));
        assert_eq!(b, (10, true));
        assert_eq!(c, (30, false));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(flight.running(), 0);
        // A later call starts afresh.
        assert_eq!(flight.run(1, counted_call(&calls, 40)).await, (40, false));
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_call_is_forgotten() {
        let flight = SingleFlight::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let abandoned = tokio::time::timeout(
            Duration::from_millis(10),
            flight.run(1, counted_call(&calls, 10)),
        )
        .await;
        assert!(abandoned.is_err());
        assert_eq!(flight.running(), 0);
        assert_eq!(flight.run(1, counted_call(&calls, 20)).await, (20, false));
    }

    #[tokio::test(start_paused = true)]
    async fn a_leaving_waiter_does_not_cancel_the_others() {
        let flight = SingleFlight::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let first = tokio::time::timeout(
            Duration::from_millis(10),
            flight.run(1, counted_call(&calls, 10)),
        );
        let second = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            flight.run(1, counted_call(&calls, 20)).await
        };
        let (first, second) = tokio::join!(first, second);
        assert!(first.is_err());
        assert_eq!(second, (10, true));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

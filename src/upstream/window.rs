//! Counts over the last `S` whole seconds, in per-second buckets: the one
//! sliding-window mechanism behind the retry budget (10 s) and the adaptive
//! throttle (4 s).

use std::sync::Mutex;

use tokio::time::Instant;

/// `N` counters (e.g. requests and retries), each summed over the last `S` seconds.
pub struct Window<const N: usize, const S: usize> {
    start: Instant,
    buckets: Mutex<[Bucket<N>; S]>,
}

#[derive(Clone, Copy)]
struct Bucket<const N: usize> {
    second: u64,
    counts: [u32; N],
}

impl<const N: usize, const S: usize> Window<N, S> {
    pub fn new() -> Self {
        Window {
            start: Instant::now(),
            buckets: Mutex::new(
                [Bucket {
                    second: 0,
                    counts: [0; N],
                }; S],
            ),
        }
    }

    /// Adds `increments` to the counters in the current second.
    pub fn add(&self, increments: [u32; N]) {
        self.update(|_| increments);
    }

    /// Sums every counter over the window.
    pub fn totals(&self) -> [u64; N] {
        let mut totals = [0; N];
        self.update(|t| {
            totals = *t;
            [0; N]
        });
        totals
    }

    /// Under one lock: shows `decide` the totals over the window, and adds
    /// the increments it returns to the current second.
    pub fn update(&self, decide: impl FnOnce(&[u64; N]) -> [u32; N]) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // The clock is read under the lock, so no bucket is ever stamped later
        // than `now`; `live` still checks the order before it subtracts.
        let now = self.second();
        let mut totals = [0u64; N];
        for bucket in buckets.iter().filter(|b| live(b.second, now, S)) {
            for (total, count) in totals.iter_mut().zip(bucket.counts) {
                *total += u64::from(count);
            }
        }
        let increments = decide(&totals);
        if increments == [0; N] {
            return;
        }
        let bucket = &mut buckets[(now % S as u64) as usize];
        if bucket.second != now {
            *bucket = Bucket {
                second: now,
                counts: [0; N],
            };
        }
        for (count, increment) in bucket.counts.iter_mut().zip(increments) {
            *count = count.saturating_add(increment);
        }
    }

    fn second(&self) -> u64 {
        // Offset by the window so that no live bucket is confused with the zeroed ones.
        self.start.elapsed().as_secs() + S as u64
    }
}

/// Whether a bucket stamped `second` is inside the `span`-second window
/// ending at `now`. The order is checked first: `now - second` would
/// underflow for a bucket stamped after `now`.
fn live(second: u64, now: u64, span: usize) -> bool {
    second <= now && now - second < span as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn counts_expire_after_the_window() {
        let window = Window::<2, 10>::new();
        window.add([1, 1]);
        tokio::time::advance(Duration::from_secs(5)).await;
        window.add([1, 0]);
        assert_eq!(window.totals(), [2, 1]);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(window.totals(), [1, 0], "the first second has left");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(window.totals(), [0, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_stamped_after_now_is_not_live_and_does_not_underflow() {
        // The old retry budget read the clock before taking the lock and
        // computed `now - second` before checking `second <= now`: a thread
        // that had read the clock just before another moved the window on
        // panicked in debug builds (and counted garbage in release builds).
        let window = Window::<1, 10>::new();
        {
            let mut buckets = window.buckets.lock().unwrap();
            let future = window.second() + 1;
            buckets[(future % 10) as usize] = Bucket {
                second: future,
                counts: [7],
            };
        }
        assert_eq!(window.totals(), [0]);
        assert!(!live(11, 10, 10));
        assert!(live(10, 10, 10));
        assert!(!live(0, 10, 10));
    }
}

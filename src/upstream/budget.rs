//! The retry budget: retries may be at most `ratio` of the requests seen over
//! the last ten seconds, plus a floor of `floor_per_sec` per second, so that
//! an upstream outage cannot turn into a retry storm (each request retrying
//! `max_attempts - 1` times would multiply the upstream's load).

use std::sync::Mutex;

use tokio::time::Instant;

const BUCKETS: usize = 10;

pub struct RetryBudget {
    ratio: f64,
    floor_per_sec: u32,
    start: Instant,
    window: Mutex<[Bucket; BUCKETS]>,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    second: u64,
    requests: u32,
    retries: u32,
}

impl RetryBudget {
    pub fn new(ratio: f64, floor_per_sec: u32) -> Self {
        RetryBudget {
            ratio,
            floor_per_sec,
            start: Instant::now(),
            window: Mutex::new([Bucket::default(); BUCKETS]),
        }
    }

    /// Counts a new request (each one earns the budget `ratio` retries).
    pub fn deposit(&self) {
        self.with_current(|bucket| bucket.requests += 1);
    }

    /// Takes one retry from the budget; false when it is spent.
    pub fn try_withdraw(&self) -> bool {
        let now = self.second();
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let live = window
            .iter()
            .filter(|b| now - b.second < BUCKETS as u64 && b.second <= now);
        let (requests, retries) = live.fold((0u64, 0u64), |(q, r), b| {
            (q + u64::from(b.requests), r + u64::from(b.retries))
        });
        let allowed = self.ratio * requests as f64 + f64::from(self.floor_per_sec) * BUCKETS as f64;
        if (retries as f64) < allowed {
            Self::current(&mut window, now).retries += 1;
            true
        } else {
            false
        }
    }

    fn with_current(&self, f: impl FnOnce(&mut Bucket)) {
        let now = self.second();
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        f(Self::current(&mut window, now));
    }

    fn current(window: &mut [Bucket; BUCKETS], now: u64) -> &mut Bucket {
        let bucket = &mut window[(now % BUCKETS as u64) as usize];
        if bucket.second != now {
            *bucket = Bucket {
                second: now,
                ..Bucket::default()
            };
        }
        bucket
    }

    fn second(&self) -> u64 {
        // Offset by the window so that no live bucket is confused with the zeroed ones.
        self.start.elapsed().as_secs() + BUCKETS as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn retries_are_a_fraction_of_requests_plus_a_floor() {
        let budget = RetryBudget::new(0.2, 1);
        for _ in 0..1000 {
            budget.deposit();
        }
        let granted = (0..1000).filter(|_| budget.try_withdraw()).count();
        // 20% of 1000 requests plus a floor of 1/s over the 10 s window.
        assert_eq!(granted, 210);
    }

    #[tokio::test(start_paused = true)]
    async fn the_floor_allows_retries_at_low_traffic() {
        let budget = RetryBudget::new(0.0, 2);
        budget.deposit();
        assert_eq!((0..100).filter(|_| budget.try_withdraw()).count(), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_forgets_old_traffic() {
        let budget = RetryBudget::new(0.5, 0);
        for _ in 0..100 {
            budget.deposit();
        }
        assert_eq!((0..100).filter(|_| budget.try_withdraw()).count(), 50);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(
            !budget.try_withdraw(),
            "no requests in the last 10 s, no floor"
        );
        budget.deposit();
        budget.deposit();
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
    }
}

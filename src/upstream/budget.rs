//! The retry budget: retries may be at most `ratio` of the requests seen over
//! the last ten seconds, plus a floor of `floor_per_sec` per second, so that
//! an upstream outage cannot turn into a retry storm (each request retrying
//! `max_attempts - 1` times would multiply the upstream's load).
//!
//! Kept rather than tower's `retry::budget::TpsBudget`: tower's reads
//! `std::time::Instant`, so its window cannot be tested with paused time, and
//! the throttle needs the same per-second window (`window.rs`) anyway.

use super::window::Window;

/// The window, in seconds.
const SECONDS: usize = 10;

pub struct RetryBudget {
    ratio: f64,
    floor_per_sec: u32,
    /// Requests and retries.
    window: Window<2, SECONDS>,
}

impl RetryBudget {
    pub fn new(ratio: f64, floor_per_sec: u32) -> Self {
        RetryBudget {
            ratio,
            floor_per_sec,
            window: Window::new(),
        }
    }

    /// Counts a new request (each one earns the budget `ratio` retries).
    pub fn deposit(&self) {
        self.window.add([1, 0]);
    }

    /// Takes one retry from the budget; false when it is spent.
    pub fn try_withdraw(&self) -> bool {
        let mut granted = false;
        self.window.update(|&[requests, retries]| {
            let allowed =
                self.ratio * requests as f64 + f64::from(self.floor_per_sec) * SECONDS as f64;
            granted = (retries as f64) < allowed;
            [0, u32::from(granted)]
        });
        granted
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

//! The circuit breaker guarding the upstream, with resilience4j semantics.
//!
//! Closed: calls pass; outcomes fill a count-based sliding window. It opens
//! when the window holds at least `min_calls` and the failure rate reaches the
//! threshold, or after `consecutive_failures` failures in a row.
//! Open: calls are refused at once, for a jittered period that doubles on each
//! failed recovery up to a cap.
//! Half-open: a few probe calls pass; all succeeding closes it, any failing
//! opens it again. A probe dropped without an outcome frees its slot.
//!
//! Time is `tokio::time::Instant` so tests can pause it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct BreakerSettings {
    pub failure_rate_percent: u8,
    pub window: u32,
    pub min_calls: u32,
    pub consecutive_failures: u32,
    pub open_for: Duration,
    pub open_max: Duration,
    pub half_open_probes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// The breaker refused a call; retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

/// Called on every state change, with (from, to); used for logs and metrics.
pub type OnTransition = Box<dyn Fn(BreakerState, BreakerState) + Send + Sync>;

#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

struct Inner {
    settings: BreakerSettings,
    state: Mutex<State>,
    on_transition: OnTransition,
}

struct State {
    kind: BreakerState,
    /// Bumped on every transition so late outcomes from an earlier state are ignored.
    generation: u64,
    window: VecDeque<bool>,
    failures_in_window: u32,
    consecutive_failures: u32,
    /// Failed recoveries in a row: the open period doubles with each.
    reopen_count: u32,
    open_until: Instant,
    probes_in_flight: u32,
    probes_succeeded: u32,
}

/// Admission for one upstream call. Report its outcome with `success` or
/// `failure`; dropping it unreported releases a probe slot and records nothing.
pub struct Permit {
    breaker: CircuitBreaker,
    generation: u64,
    probe: bool,
    reported: bool,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings, on_transition: OnTransition) -> Self {
        let window = VecDeque::with_capacity(settings.window as usize);
        CircuitBreaker {
            inner: Arc::new(Inner {
                settings,
                on_transition,
                state: Mutex::new(State {
                    kind: BreakerState::Closed,
                    generation: 0,
                    window,
                    failures_in_window: 0,
                    consecutive_failures: 0,
                    reopen_count: 0,
                    open_until: Instant::now(),
                    probes_in_flight: 0,
                    probes_succeeded: 0,
                }),
            }),
        }
    }

    pub fn state(&self) -> BreakerState {
        self.lock().kind
    }

    /// Admits a call, or refuses it while open (or while half-open probes are taken).
    pub fn try_acquire(&self) -> Result<Permit, Refused> {
        let mut state = self.lock();
        let now = Instant::now();
        if state.kind == BreakerState::Open {
            if now < state.open_until {
                return Err(Refused {
                    retry_after: state.open_until - now,
                });
            }
            self.transition(&mut state, BreakerState::HalfOpen);
        }
        let probe = state.kind == BreakerState::HalfOpen;
        if probe {
            let settings = &self.inner.settings;
            if state.probes_in_flight + state.probes_succeeded >= settings.half_open_probes {
                // Probes are out; a refused caller may come back shortly.
                return Err(Refused {
                    retry_after: Duration::from_secs(1),
                });
            }
            state.probes_in_flight += 1;
        }
        Ok(Permit {
            breaker: self.clone(),
            generation: state.generation,
            probe,
            reported: false,
        })
    }

    fn record(&self, permit: &Permit, success: bool) {
        let mut state = self.lock();
        if permit.generation != state.generation {
            return;
        }
        let settings = &self.inner.settings;
        match state.kind {
            BreakerState::Closed => {
                if state.window.len() == settings.window as usize
                    && let Some(false) = state.window.pop_front()
                {
                    state.failures_in_window -= 1;
                }
                state.window.push_back(success);
                if success {
                    state.consecutive_failures = 0;
                } else {
                    state.failures_in_window += 1;
                    state.consecutive_failures += 1;
                }
                let calls = state.window.len() as u32;
                let rate_tripped = calls >= settings.min_calls
                    && state.failures_in_window * 100
                        >= u32::from(settings.failure_rate_percent) * calls;
                if rate_tripped || state.consecutive_failures >= settings.consecutive_failures {
                    self.open(&mut state);
                }
            }
            BreakerState::HalfOpen => {
                state.probes_in_flight -= 1;
                if !success {
                    state.reopen_count = state.reopen_count.saturating_add(1);
                    self.open(&mut state);
                } else {
                    state.probes_succeeded += 1;
                    if state.probes_succeeded >= settings.half_open_probes {
                        state.reopen_count = 0;
                        self.transition(&mut state, BreakerState::Closed);
                    }
                }
            }
            BreakerState::Open => {}
        }
    }

    fn release_probe(&self, permit: &Permit) {
        let mut state = self.lock();
        if permit.generation == state.generation && state.kind == BreakerState::HalfOpen {
            state.probes_in_flight -= 1;
        }
    }

    fn open(&self, state: &mut State) {
        let settings = &self.inner.settings;
        let base = settings
            .open_for
            .saturating_mul(1u32 << state.reopen_count.min(16))
            .min(settings.open_max);
        // ±20% jitter so a fleet of replicas does not probe in lockstep.
        let jittered = base
            .mul_f64(rand::rng().random_range(0.8..=1.2))
            .min(settings.open_max);
        state.open_until = Instant::now() + jittered;
        self.transition(state, BreakerState::Open);
    }

    fn transition(&self, state: &mut State, to: BreakerState) {
        let from = state.kind;
        state.kind = to;
        state.generation += 1;
        state.window.clear();
        state.failures_in_window = 0;
        state.consecutive_failures = 0;
        state.probes_in_flight = 0;
        state.probes_succeeded = 0;
        (self.inner.on_transition)(from, to);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent
        // in a way worse than refusing service, so poisoning is ignored.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Permit {
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.record(&self, true);
    }

    pub fn failure(mut self) {
        self.reported = true;
        self.breaker.record(&self, false);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            self.breaker.release_probe(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn settings() -> BreakerSettings {
        BreakerSettings {
            failure_rate_percent: 50,
            window: 10,
            min_calls: 4,
            consecutive_failures: 5,
            open_for: Duration::from_secs(10),
            open_max: Duration::from_secs(60),
            half_open_probes: 2,
        }
    }

    fn breaker() -> (CircuitBreaker, Arc<AtomicUsize>) {
        let transitions = Arc::new(AtomicUsize::new(0));
        let counted = transitions.clone();
        let b = CircuitBreaker::new(
            settings(),
            Box::new(move |_, _| {
                counted.fetch_add(1, Ordering::SeqCst);
            }),
        );
        (b, transitions)
    }

    /// Fails calls until the breaker opens (four, by the failure rate).
    fn trip(b: &CircuitBreaker) {
        while b.state() != BreakerState::Open {
            call(b, false);
        }
    }

    fn call(b: &CircuitBreaker, ok: bool) {
        let permit = b.try_acquire().expect("admitted");
        if ok {
            permit.success()
        } else {
            permit.failure()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_on_failure_rate_only_after_min_calls() {
        let (b, _) = breaker();
        call(&b, false);
        call(&b, true);
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Closed, "3 calls < min_calls");
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open, "2 of 4 failed = 50%");
        let refused = b.try_acquire().err().expect("refused while open");
        assert!(
            refused.retry_after >= Duration::from_secs(8)
                && refused.retry_after <= Duration::from_secs(12)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn opens_on_consecutive_failures() {
        let (b, _) = breaker();
        // Plenty of successes keep the rate low; five failures in a row still trip it.
        for _ in 0..10 {
            call(&b, true);
        }
        for _ in 0..4 {
            call(&b, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_probes_close_it_on_success() {
        let (b, transitions) = breaker();
        trip(&b);
        tokio::time::advance(Duration::from_secs(13)).await;
        let p1 = b.try_acquire().expect("probe 1");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let p2 = b.try_acquire().expect("probe 2");
        assert!(b.try_acquire().is_err(), "only two probes at once");
        p1.success();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        p2.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(
            transitions.load(Ordering::SeqCst),
            3,
            "open, half-open, closed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_for_longer() {
        let (b, _) = breaker();
        trip(&b);
        tokio::time::advance(Duration::from_secs(13)).await;
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Open);
        let retry_after = b.try_acquire().err().unwrap().retry_after;
        assert!(
            retry_after >= Duration::from_secs(16),
            "doubled open period, got {retry_after:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_probe_frees_its_slot() {
        let (b, _) = breaker();
        trip(&b);
        tokio::time::advance(Duration::from_secs(13)).await;
        let p1 = b.try_acquire().unwrap();
        let _p2 = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err());
        drop(p1);
        assert!(
            b.try_acquire().is_ok(),
            "the dropped probe's slot is free again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn late_outcomes_from_an_earlier_state_are_ignored() {
        let (b, _) = breaker();
        let slow = b.try_acquire().unwrap();
        trip(&b);
        assert_eq!(b.state(), BreakerState::Open);
        slow.success();
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn ten_percent_failures_never_trip_the_default_breaker() {
        let defaults = BreakerSettings {
            failure_rate_percent: 50,
            window: 100,
            min_calls: 20,
            consecutive_failures: 20,
            open_for: Duration::from_secs(5),
            open_max: Duration::from_secs(60),
            half_open_probes: 3,
        };
        let b = CircuitBreaker::new(defaults, Box::new(|_, _| {}));
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        for _ in 0..100_000 {
            call(&b, !rng.random_bool(0.1));
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }
}

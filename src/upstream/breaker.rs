//! The circuit breaker guarding the upstream: for hard outages only.
//!
//! Closed: calls pass. Only verdicts about the upstream's health count: a
//! success resets the run, a failure extends it, and a neutral outcome (an
//! invalid document, a 4xx, a 404) changes nothing. It opens after
//! `consecutive_failures` failures in a row, that is when the success rate
//! over the last that-many health verdicts is zero. There is no failure-rate
//! threshold: an upstream where 30% of attempts succeed is degraded, not down,
//! and every one of those successes is worth serving (see the README).
//! Open: calls are refused at once, for a jittered period that doubles on each
//! failed recovery up to a cap.
//! Half-open: up to `half_open_probes` probe calls pass at once; the first
//! success closes it (the upstream is up, even if degraded), and as many
//! failures without a success open it again. A probe dropped or reported
//! neutral frees its slot.
//!
//! Time is `tokio::time::Instant` so tests can pause it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct BreakerSettings {
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

/// What a call says about the upstream's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Failure,
    /// About one document or one request, not the upstream: counted nowhere.
    Neutral,
}

/// The breaker refused a call; retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

/// Called on every state change, with (from, to); used for logs and metrics.
pub type OnTransition = Box<dyn Fn(&'static str, &'static str) + Send + Sync>;

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
    consecutive_failures: u32,
    /// Failed recoveries in a row: the open period doubles with each.
    reopen_count: u32,
    open_until: Instant,
    probes_in_flight: u32,
    probes_failed: u32,
}

/// Admission for one upstream call. Report its verdict with `report`;
/// dropping it unreported is the same as reporting `Neutral`.
pub struct Permit {
    breaker: CircuitBreaker,
    generation: u64,
    probe: bool,
    reported: bool,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings, on_transition: OnTransition) -> Self {
        CircuitBreaker {
            inner: Arc::new(Inner {
                settings,
                on_transition,
                state: Mutex::new(State {
                    kind: BreakerState::Closed,
                    generation: 0,
                    consecutive_failures: 0,
                    reopen_count: 0,
                    open_until: Instant::now(),
                    probes_in_flight: 0,
                    probes_failed: 0,
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
            if state.probes_in_flight >= self.inner.settings.half_open_probes {
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

    fn record(&self, permit: &Permit, verdict: Verdict) {
        let mut state = self.lock();
        if permit.generation != state.generation {
            return;
        }
        let settings = &self.inner.settings;
        match (state.kind, verdict) {
            (BreakerState::Closed, Verdict::Success) => state.consecutive_failures = 0,
            (BreakerState::Closed, Verdict::Failure) => {
                state.consecutive_failures += 1;
                if state.consecutive_failures >= settings.consecutive_failures {
                    self.open(&mut state);
                }
            }
            (BreakerState::HalfOpen, _) => {
                state.probes_in_flight -= 1;
                match verdict {
                    Verdict::Success => {
                        state.reopen_count = 0;
                        self.transition(&mut state, BreakerState::Closed);
                    }
                    Verdict::Failure => {
                        state.probes_failed += 1;
                        if state.probes_failed >= settings.half_open_probes {
                            state.reopen_count = state.reopen_count.saturating_add(1);
                            self.open(&mut state);
                        }
                    }
                    Verdict::Neutral => {}
                }
            }
            (BreakerState::Closed, Verdict::Neutral) | (BreakerState::Open, _) => {}
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
        state.consecutive_failures = 0;
        state.probes_in_flight = 0;
        state.probes_failed = 0;
        (self.inner.on_transition)(from.as_str(), to.as_str());
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent
        // in a way worse than refusing service, so poisoning is ignored.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Permit {
    pub fn report(mut self, verdict: Verdict) {
        self.reported = true;
        self.breaker.record(&self, verdict);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            self.breaker.record(self, Verdict::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn settings() -> BreakerSettings {
        BreakerSettings {
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

    /// Fails calls until the breaker opens (five in a row).
    fn trip(b: &CircuitBreaker) {
        while b.state() != BreakerState::Open {
            call(b, Verdict::Failure);
        }
    }

    fn call(b: &CircuitBreaker, verdict: Verdict) {
        b.try_acquire().expect("admitted").report(verdict);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_on_consecutive_failures_only() {
        let (b, _) = breaker();
        for _ in 0..4 {
            call(&b, Verdict::Failure);
        }
        call(&b, Verdict::Success);
        for _ in 0..4 {
            call(&b, Verdict::Failure);
        }
        assert_eq!(b.state(), BreakerState::Closed, "a success breaks the run");
        call(&b, Verdict::Failure);
        assert_eq!(b.state(), BreakerState::Open);
        let refused = b.try_acquire().err().expect("refused while open");
        assert!(
            refused.retry_after >= Duration::from_secs(8)
                && refused.retry_after <= Duration::from_secs(12)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_high_failure_rate_with_successes_never_opens_it() {
        // 80% failures, but never five in a row: degraded, not down.
        let (b, _) = breaker();
        for _ in 0..1000 {
            for _ in 0..4 {
                call(&b, Verdict::Failure);
            }
            call(&b, Verdict::Success);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn neutral_verdicts_neither_count_nor_break_a_run() {
        let (b, _) = breaker();
        for _ in 0..1000 {
            call(&b, Verdict::Neutral);
        }
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a bad document is not an outage"
        );
        for _ in 0..4 {
            call(&b, Verdict::Failure);
            call(&b, Verdict::Neutral);
        }
        call(&b, Verdict::Failure);
        assert_eq!(b.state(), BreakerState::Open, "nor does it hide one");
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_successful_probe_closes_it() {
        let (b, transitions) = breaker();
        trip(&b);
        tokio::time::advance(Duration::from_secs(13)).await;
        let p1 = b.try_acquire().expect("probe 1");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let p2 = b.try_acquire().expect("probe 2");
        assert!(b.try_acquire().is_err(), "only two probes at once");
        p1.report(Verdict::Failure);
        assert_eq!(b.state(), BreakerState::HalfOpen, "one failure of two");
        let p3 = b.try_acquire().expect("the failed probe's slot is free");
        p2.report(Verdict::Success);
        assert_eq!(b.state(), BreakerState::Closed);
        p3.report(Verdict::Failure);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a late probe from half-open is ignored"
        );
        assert_eq!(
            transitions.load(Ordering::SeqCst),
            3,
            "open, half-open, closed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probes_reopen_for_longer_up_to_the_cap() {
        let (b, _) = breaker();
        trip(&b);
        let mut previous = Duration::ZERO;
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(73)).await;
            call(&b, Verdict::Failure);
            assert_eq!(b.state(), BreakerState::HalfOpen, "one failed probe of two");
            call(&b, Verdict::Failure);
            assert_eq!(b.state(), BreakerState::Open);
            let retry_after = b.try_acquire().err().unwrap().retry_after;
            assert!(retry_after <= Duration::from_secs(60), "{retry_after:?}");
            assert!(
                retry_after >= previous.min(Duration::from_secs(48)),
                "{retry_after:?} after {previous:?}"
            );
            previous = retry_after;
        }
        assert!(previous >= Duration::from_secs(48), "doubled to the cap");
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_or_neutral_probes_free_their_slot() {
        let (b, _) = breaker();
        trip(&b);
        tokio::time::advance(Duration::from_secs(13)).await;
        let p1 = b.try_acquire().unwrap();
        let p2 = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err());
        drop(p1);
        let p3 = b
            .try_acquire()
            .expect("the dropped probe's slot is free again");
        p2.report(Verdict::Neutral);
        let _p4 = b
            .try_acquire()
            .expect("the neutral probe's slot is free again");
        drop(p3);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn late_outcomes_from_an_earlier_state_are_ignored() {
        let (b, _) = breaker();
        let slow = b.try_acquire().unwrap();
        trip(&b);
        assert_eq!(b.state(), BreakerState::Open);
        slow.report(Verdict::Success);
        assert_eq!(b.state(), BreakerState::Open);
    }

    /// The default run length, 100, against random failures: at e = 0.7
    /// (30% of attempts succeed) a run of 100 has probability about
    /// 0.3 * 0.7^100 = 1e-16 per attempt, so a million attempts never open
    /// it, while 20 in a row (the old trigger) happen every few thousand.
    #[tokio::test(start_paused = true)]
    async fn seventy_percent_random_failures_never_trip_the_default_breaker() {
        let defaults = BreakerSettings {
            consecutive_failures: 100,
            open_for: Duration::from_secs(2),
            open_max: Duration::from_secs(10),
            half_open_probes: 3,
        };
        let b = CircuitBreaker::new(defaults, Box::new(|_, _| {}));
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let (mut run, mut runs_of_20) = (0, 0);
        for _ in 0..1_000_000 {
            let failed = rng.random_bool(0.7);
            run = if failed { run + 1 } else { 0 };
            runs_of_20 += u32::from(run == 20);
            call(
                &b,
                if failed {
                    Verdict::Failure
                } else {
                    Verdict::Success
                },
            );
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(runs_of_20 > 100, "the old trigger fired {runs_of_20} times");
    }
}

//! Ids whose document keeps failing validation. The original upstream
//! corrupts a random 10% of answers, so an invalid body is retried; but an id
//! whose document is invalid every time would spend four retries per request
//! from the retry budget every other id relies on. An id whose fetch found an
//! invalid document on every attempt is remembered for a while, and its
//! invalid documents are not retried meanwhile (other faults still are).
//!
//! Bounded: a fixed table of slots indexed by a hash of the id; a collision
//! evicts, which only means an extra retry or two for the evicted id.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

const SLOTS: usize = 1024;

/// How long an id stays remembered after its last all-invalid fetch.
pub const REMEMBER_FOR: Duration = Duration::from_secs(60);

/// An id and the moment it is forgotten.
type Slot = Option<(u64, Instant)>;

pub struct RepeatInvalid {
    slots: Mutex<Box<[Slot]>>,
}

impl RepeatInvalid {
    pub fn new() -> Self {
        RepeatInvalid {
            slots: Mutex::new(vec![None; SLOTS].into_boxed_slice()),
        }
    }

    /// Whether `id`'s document was invalid on every attempt of a fetch in the
    /// last `REMEMBER_FOR`.
    pub fn contains(&self, id: u64) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        matches!(slots[slot(id)], Some((held, until)) if held == id && Instant::now() < until)
    }

    pub fn insert(&self, id: u64) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots[slot(id)] = Some((id, Instant::now() + REMEMBER_FOR));
    }
}

fn slot(id: u64) -> usize {
    // Fibonacci hashing: consecutive ids spread over the table.
    (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn remembers_an_id_for_a_while() {
        let ids = RepeatInvalid::new();
        assert!(!ids.contains(7));
        ids.insert(7);
        assert!(ids.contains(7));
        assert!(!ids.contains(8));
        tokio::time::advance(REMEMBER_FOR).await;
        assert!(!ids.contains(7));
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_bounded_and_ids_never_alias() {
        let ids = RepeatInvalid::new();
        for id in 0..100_000 {
            ids.insert(id);
        }
        assert_eq!(ids.slots.lock().unwrap().len(), SLOTS);
        let remembered = (0..100_000).filter(|&id| ids.contains(id)).count();
        assert!(remembered <= SLOTS, "{remembered}");
        assert!(!ids.contains(100_000), "never inserted");
    }
}

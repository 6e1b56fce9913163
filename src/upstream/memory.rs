//! The byte budget: a cap on document bytes buffered across all requests, and
//! on the working memory validating them takes, so memory stays bounded
//! however many clients ask for large documents at once. A reservation is
//! held until the response body carrying the bytes is dropped; a validation
//! grows it while it runs and shrinks it back to the body when it ends.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone)]
pub struct ByteBudget {
    bytes: Arc<Semaphore>,
}

/// Bytes held in the budget; released on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    held: u64,
}

impl ByteBudget {
    /// `limit` must fit in u32 (the config refuses more than 4 GiB).
    pub fn new(limit: u64) -> Self {
        ByteBudget {
            bytes: Arc::new(Semaphore::new(limit as usize)),
        }
    }

    /// Reserves `bytes` now; `None` when the budget cannot hold them.
    pub fn reserve(&self, bytes: u64) -> Option<Reservation> {
        let mut reservation = Reservation {
            budget: self.bytes.clone(),
            permit: None,
            held: 0,
        };
        reservation.grow_to(bytes).then_some(reservation)
    }

    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

impl Reservation {
    /// Grows the reservation to `total` bytes; false when the budget is spent.
    pub fn grow_to(&mut self, total: u64) -> bool {
        if total <= self.held {
            return true;
        }
        let Ok(extra) = u32::try_from(total - self.held) else {
            return false;
        };
        match self.budget.clone().try_acquire_many_owned(extra) {
            Ok(permit) => {
                match &mut self.permit {
                    Some(held) => held.merge(permit),
                    None => self.permit = Some(permit),
                }
                self.held = total;
                true
            }
            Err(_) => false,
        }
    }

    /// Gives back all but `total` bytes.
    pub fn shrink_to(&mut self, total: u64) {
        if total >= self.held {
            return;
        }
        if let Some(permit) = &mut self.permit {
            // Both fit in u32: `held` was acquired as permits.
            drop(permit.split((self.held - total) as usize));
        }
        self.held = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_released_on_drop() {
        let budget = ByteBudget::new(100);
        let mut a = budget.reserve(60).unwrap();
        assert!(budget.reserve(50).is_none());
        assert!(a.grow_to(90));
        assert!(!a.grow_to(101));
        assert_eq!(budget.available(), 10);
        a.shrink_to(30);
        assert_eq!(budget.available(), 70);
        assert!(a.grow_to(40));
        assert_eq!(budget.available(), 60);
        drop(a);
        assert_eq!(budget.available(), 100);
        assert!(budget.reserve(0).is_some());
    }
}

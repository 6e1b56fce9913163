//! The byte budget: a cap on document bytes buffered across all requests, and
//! on the working memory validating them takes, so memory stays bounded
//! however many clients ask for large documents at once. A reservation is
//! held until the response body carrying the bytes is dropped; a validation
//! grows it while it runs and shrinks it back to the body when it ends.
//!
//! Bodies leave a headroom free for the validations that will follow them:
//! without it, bodies still arriving fill the budget and almost every body
//! that completes finds no memory to be validated in (the chaos scorecard's
//! `bounded-memory` scenario served 618 documents in 30 s; with the headroom
//! 5,399, against 7,272 before validation memory was counted).
//! The headroom is one typical validation's draw per core (PNG 256 KiB, the
//! upstream's PDF 384 KiB; 512 KiB each), at most a quarter of the budget.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Headroom per core left free by bodies for validation working memory.
const HEADROOM_PER_CORE: u64 = 512 << 10;

#[derive(Clone)]
pub struct ByteBudget {
    bytes: Arc<Semaphore>,
    headroom: usize,
}

/// Bytes held in the budget; released on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Semaphore>,
    headroom: usize,
    permit: Option<OwnedSemaphorePermit>,
    held: u64,
}

impl ByteBudget {
    /// `limit` must fit in u32 (the config refuses more than 4 GiB); bodies
    /// leave a headroom for the validations of `cores` at once.
    pub fn new(limit: u64, cores: usize) -> Self {
        let headroom = (cores as u64 * HEADROOM_PER_CORE).min(limit / 4);
        ByteBudget {
            bytes: Arc::new(Semaphore::new(limit as usize)),
            headroom: headroom as usize,
        }
    }

    /// Reserves `bytes` of a body now; `None` when the budget cannot hold
    /// them and its headroom.
    pub fn reserve(&self, bytes: u64) -> Option<Reservation> {
        let mut reservation = Reservation {
            budget: self.bytes.clone(),
            headroom: self.headroom,
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
    /// Grows a body's reservation to `total` bytes; false when the budget,
    /// less its headroom, is spent.
    pub fn grow_to(&mut self, total: u64) -> bool {
        self.grow(total, self.headroom)
    }

    /// Grows the reservation to `total` bytes for validation working
    /// memory, which may use the headroom; false when the budget is spent.
    pub fn draw_to(&mut self, total: u64) -> bool {
        self.grow(total, 0)
    }

    fn grow(&mut self, total: u64, leave_free: usize) -> bool {
        if total <= self.held {
            return true;
        }
        let Ok(extra) = u32::try_from(total - self.held) else {
            return false;
        };
        // Checked, then taken: concurrent bodies may dip into the headroom
        // by what they reserve at the same moment, never past the limit.
        if self.budget.available_permits() < extra as usize + leave_free {
            return false;
        }
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
        let budget = ByteBudget::new(100, 0);
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

    #[test]
    fn bodies_leave_the_headroom_to_validation() {
        // 1 MiB budget: the headroom of two cores is capped at a quarter.
        let budget = ByteBudget::new(1 << 20, 2);
        assert_eq!(budget.headroom, 256 << 10);
        let mut body = budget.reserve(700 << 10).unwrap();
        assert!(
            budget.reserve(100 << 10).is_none(),
            "only the headroom is left"
        );
        assert!(!body.grow_to(800 << 10));
        assert!(body.draw_to(900 << 10), "validation may use the headroom");
        assert!(!body.draw_to((1 << 20) + 1));
        body.shrink_to(700 << 10);
        assert_eq!(budget.available(), 324 << 10);
    }
}

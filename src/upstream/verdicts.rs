//! The verdict cache: the verdict (type and verification) of every document proven valid, keyed by the
//! BLAKE3 digest of its bytes, so the same bytes are validated once however
//! often, and under whatever ids, the upstream sends them.
//!
//! Content-addressed, not an id cache: every request still fetches the id's
//! bytes from the upstream, and only a body whose digest matches one already
//! proven skips validation. BLAKE3 is collision-resistant, so a hostile
//! upstream cannot make an unproven body share a proven one's key. Only valid
//! verdicts are kept: those are what a request that serves a document needs.
//!
//! Bounded by entries; each holds a 32-byte digest and a two-byte verdict, so
//! entries bound bytes too. A map slot is 34 bytes and a control byte, and a
//! map of n entries has at most 16n/7 slots (a power of two above n / (7/8));
//! the eviction queue keeps a 32-byte digest per entry in a ring of at most
//! 2n. So at most 144 bytes an entry; at the default 65,536 both are powers of
//! two already: 70 + 32 = 102 bytes an entry, 6.4 MiB in all.
//!
//! Eviction is first in, first out: a verdict never goes stale, so recency
//! would buy little for its cost on every hit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::document::Verdict;
use crate::metrics as m;

pub struct VerdictCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    verdicts: HashMap<blake3::Hash, Verdict>,
    /// Insertion order, oldest first.
    order: VecDeque<blake3::Hash>,
}

impl VerdictCache {
    /// A cache of at most `capacity` verdicts; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        VerdictCache {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The verdict for these bytes, if they were proven before; counted as a
    /// hit or a miss.
    pub fn get(&self, digest: &blake3::Hash) -> Option<Verdict> {
        if self.capacity == 0 {
            return None;
        }
        let found = self.lock().verdicts.get(digest).copied();
        metrics::counter!(if found.is_some() {
            m::VERDICT_CACHE_HITS
        } else {
            m::VERDICT_CACHE_MISSES
        })
        .increment(1);
        found
    }

    /// Remembers what validation proved of the bytes with this digest.
    pub fn insert(&self, digest: blake3::Hash, verdict: Verdict) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.verdicts.contains_key(&digest) {
            return;
        }
        // Room first, so neither collection ever holds more than `capacity`.
        if entries.order.len() >= self.capacity
            && let Some(oldest) = entries.order.pop_front()
        {
            entries.verdicts.remove(&oldest);
        }
        entries.verdicts.insert(digest, verdict);
        entries.order.push_back(digest);
        metrics::gauge!(m::VERDICT_CACHE_ENTRIES).set(entries.order.len() as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().verdicts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocumentType, Verification};

    fn full(doc_type: DocumentType) -> Verdict {
        Verdict {
            doc_type,
            verification: Verification::Full,
        }
    }

    fn digest(n: u32) -> blake3::Hash {
        blake3::hash(&n.to_le_bytes())
    }

    #[test]
    fn a_proven_digest_is_found_and_others_are_not() {
        let cache = VerdictCache::new(4);
        assert_eq!(cache.get(&digest(1)), None);
        cache.insert(digest(1), full(DocumentType::Png));
        cache.insert(digest(2), full(DocumentType::Pdf));
        assert_eq!(cache.get(&digest(1)), Some(full(DocumentType::Png)));
        assert_eq!(cache.get(&digest(2)), Some(full(DocumentType::Pdf)));
        assert_eq!(cache.get(&digest(3)), None);
        // Inserting the same bytes again changes nothing.
        cache.insert(digest(1), full(DocumentType::Png));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_forgets_the_oldest_first() {
        let cache = VerdictCache::new(3);
        for n in 0..10 {
            cache.insert(digest(n), full(DocumentType::Pdf));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        for n in 0..7 {
            assert_eq!(cache.get(&digest(n)), None, "{n} was evicted");
        }
        for n in 7..10 {
            assert_eq!(cache.get(&digest(n)), Some(full(DocumentType::Pdf)));
        }
        assert_eq!(cache.lock().order.len(), 3);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = VerdictCache::new(0);
        cache.insert(digest(1), full(DocumentType::Png));
        assert_eq!(cache.get(&digest(1)), None);
        assert_eq!(cache.len(), 0);
    }
}

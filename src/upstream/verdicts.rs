//! The verdict cache: the type of every document proven valid, keyed by the
//! BLAKE3 digest of its bytes, so the same bytes are validated once however
//! often, and under whatever ids, the upstream sends them.
//!
//! Content-addressed, not an id cache: every request still fetches the id's
//! bytes from the upstream, and only a body whose digest matches one already
//! proven skips validation. BLAKE3 is collision-resistant, so a hostile
//! upstream cannot make an unproven body share a proven one's key. Only valid
//! verdicts are kept: those are what a request that serves a document needs.
//!
//! Bounded by entries; each holds a 32-byte digest and a one-byte type, so
//! entries bound bytes too. A map slot is 33 bytes and a control byte, and a
//! map of n entries has at most 16n/7 slots (a power of two above n / (7/8));
//! the eviction queue keeps a 32-byte digest per entry in a ring of at most
//! 2n. So at most 141 bytes an entry; at the default 65,536 both are powers of
//! two already: 68 + 32 = 100 bytes an entry, 6.25 MiB in all.
//!
//! Eviction is first in, first out: a verdict never goes stale, so recency
//! would buy little for its cost on every hit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::document::DocumentType;
use crate::metrics as m;

pub struct VerdictCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    types: HashMap<blake3::Hash, DocumentType>,
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
    pub fn get(&self, digest: &blake3::Hash) -> Option<DocumentType> {
        if self.capacity == 0 {
            return None;
        }
        let found = self.lock().types.get(digest).copied();
        metrics::counter!(if found.is_some() {
            m::VERDICT_CACHE_HITS
        } else {
            m::VERDICT_CACHE_MISSES
        })
        .increment(1);
        found
    }

    /// Remembers that the bytes with this digest are a valid `doc_type`.
    pub fn insert(&self, digest: blake3::Hash, doc_type: DocumentType) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.types.contains_key(&digest) {
            return;
        }
        // Room first, so neither collection ever holds more than `capacity`.
        if entries.order.len() >= self.capacity
            && let Some(oldest) = entries.order.pop_front()
        {
            entries.types.remove(&oldest);
        }
        entries.types.insert(digest, doc_type);
        entries.order.push_back(digest);
        metrics::gauge!(m::VERDICT_CACHE_ENTRIES).set(entries.order.len() as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().types.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u32) -> blake3::Hash {
        blake3::hash(&n.to_le_bytes())
    }

    #[test]
    fn a_proven_digest_is_found_and_others_are_not() {
        let cache = VerdictCache::new(4);
        assert_eq!(cache.get(&digest(1)), None);
        cache.insert(digest(1), DocumentType::Png);
        cache.insert(digest(2), DocumentType::Pdf);
        assert_eq!(cache.get(&digest(1)), Some(DocumentType::Png));
        assert_eq!(cache.get(&digest(2)), Some(DocumentType::Pdf));
        assert_eq!(cache.get(&digest(3)), None);
        // Inserting the same bytes again changes nothing.
        cache.insert(digest(1), DocumentType::Png);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_forgets_the_oldest_first() {
        let cache = VerdictCache::new(3);
        for n in 0..10 {
            cache.insert(digest(n), DocumentType::Pdf);
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        for n in 0..7 {
            assert_eq!(cache.get(&digest(n)), None, "{n} was evicted");
        }
        for n in 7..10 {
            assert_eq!(cache.get(&digest(n)), Some(DocumentType::Pdf));
        }
        assert_eq!(cache.lock().order.len(), 3);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = VerdictCache::new(0);
        cache.insert(digest(1), DocumentType::Png);
        assert_eq!(cache.get(&digest(1)), None);
        assert_eq!(cache.len(), 0);
    }
}

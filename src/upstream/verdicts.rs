//! The verdict cache: the verdict (type and verification) of every document
//! proven valid, keyed by the BLAKE3 digest of its bytes, so the same bytes are
//! validated once however often, and under whatever ids, the upstream sends them.
//!
//! Content-addressed, not an id cache: every request still fetches the id's
//! bytes from the upstream, and only a body that matches one already proven
//! skips validation. Only valid verdicts are kept: those are what a request
//! that serves a document needs.
//!
//! Two ways to match, both exact:
//! - **Kept documents.** The bytes of the documents most recently matched by
//!   their digest, so seen at least twice, are kept, up to `byte_capacity`,
//!   under a seeded xxh3 fingerprint. A document seen once is not kept: when
//!   every body is new, copying each would only churn memory. A body whose
//!   fingerprint names a kept document and whose bytes equal it byte for
//!   byte is that document: no digest is computed (the fingerprint and the
//!   comparison cost a fraction of a BLAKE3 digest). The fingerprint only
//!   picks the candidate, so a hostile upstream that finds collisions can
//!   only make bodies miss.
//! - **Digests.** Otherwise the body's BLAKE3 digest is looked up among every
//!   verdict kept. BLAKE3 is collision-resistant, so a hostile upstream cannot
//!   pass an unproven body off as a proven one.
//!
//! Either way the digest of the document is returned: it is also its strong ETag.
//!
//! Bounded by entries and bytes. A digest entry holds a 32-byte digest and a
//! two-byte verdict. A map slot is 34 bytes and a control byte, and a map of n
//! entries has at most 16n/7 slots (a power of two above n / (7/8)); the
//! eviction queue keeps a 32-byte digest per entry in a ring of at most 2n. So
//! at most 144 bytes an entry; at the default 65,536 both are powers of two
//! already: 70 + 32 = 102 bytes an entry, 6.4 MiB in all. A kept document
//! counts its length plus [`KEPT_OVERHEAD`] against `byte_capacity`, and one
//! larger than a sixteenth of it is not kept (hashing is then a small part of
//! its cost), so at least sixteen fit.
//!
//! Eviction is first in, first out: a verdict never goes stale, so recency
//! would buy little for its cost on every hit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

use crate::document::Verdict;
use crate::metrics as m;

/// What a kept document costs besides its bytes, counted against the byte
/// capacity: its map slot (8-byte key, 72-byte value, control byte) at 16/7
/// slots an entry, its queue slot, and the allocation's header, rounded up.
const KEPT_OVERHEAD: usize = 256;

pub struct VerdictCache {
    capacity: usize,
    byte_capacity: usize,
    seed: u64,
    entries: Mutex<Entries>,
}

/// What the cache knows of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Proven before: its verdict, and its digest.
    Proven(Verdict, blake3::Hash),
    /// Not proven yet: its digest, for the verdict once it is.
    Unknown(blake3::Hash),
}

#[derive(Default)]
struct Entries {
    verdicts: HashMap<blake3::Hash, Verdict>,
    /// Insertion order, oldest first.
    order: VecDeque<blake3::Hash>,
    kept: HashMap<u64, Kept>,
    /// Fingerprints of `kept` in insertion order, oldest first.
    kept_order: VecDeque<u64>,
    /// What `kept` costs: lengths plus [`KEPT_OVERHEAD`] each.
    kept_bytes: usize,
}

/// A kept document: its own copy of the bytes, so it holds no more memory
/// than its length, whatever buffer the body arrived in.
#[derive(Clone)]
struct Kept {
    bytes: Bytes,
    digest: blake3::Hash,
    verdict: Verdict,
}

impl VerdictCache {
    /// A cache of at most `capacity` verdicts (0 turns it off), keeping up to
    /// `byte_capacity` bytes of documents to match without a digest.
    pub fn new(capacity: usize, byte_capacity: usize) -> Self {
        VerdictCache {
            capacity,
            byte_capacity: if capacity == 0 { 0 } else { byte_capacity },
            seed: rand::random(),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// What is known of these bytes; counted as a hit or a miss.
    pub fn lookup(&self, bytes: &[u8]) -> Lookup {
        if self.capacity == 0 {
            return Lookup::Unknown(blake3::hash(bytes));
        }
        let fingerprint = self.fingerprint(bytes);
        // Compared outside the lock: the clone only counts a reference.
        let candidate = fingerprint.and_then(|f| self.lock().kept.get(&f).cloned());
        let found = match candidate {
            Some(kept) if kept.bytes == bytes => Lookup::Proven(kept.verdict, kept.digest),
            _ => {
                let digest = blake3::hash(bytes);
                let verdict = self.lock().verdicts.get(&digest).copied();
                match verdict {
                    Some(verdict) => {
                        self.keep(fingerprint, bytes, digest, verdict);
                        Lookup::Proven(verdict, digest)
                    }
                    None => Lookup::Unknown(digest),
                }
            }
        };
        metrics::counter!(match found {
            Lookup::Proven(..) => m::VERDICT_CACHE_HITS,
            Lookup::Unknown(_) => m::VERDICT_CACHE_MISSES,
        })
        .increment(1);
        found
    }

    /// Remembers what validation proved of the bytes whose digest is `digest`.
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

    /// The fingerprint a document is kept under, when one of its size is kept.
    fn fingerprint(&self, bytes: &[u8]) -> Option<u64> {
        let fits = bytes.len() + KEPT_OVERHEAD <= self.byte_capacity / 16;
        fits.then(|| xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.seed))
    }

    /// Keeps a copy of a document's bytes, seen again, under its fingerprint, the
    /// oldest making room. A fingerprint already taken (the same document, or
    /// a collision) is left as it is.
    fn keep(&self, fingerprint: Option<u64>, bytes: &[u8], digest: blake3::Hash, verdict: Verdict) {
        let Some(fingerprint) = fingerprint else {
            return;
        };
        if self.lock().kept.contains_key(&fingerprint) {
            return;
        }
        // Copied outside the lock.
        let kept = Kept {
            bytes: Bytes::copy_from_slice(bytes),
            digest,
            verdict,
        };
        let cost = bytes.len() + KEPT_OVERHEAD;
        let mut entries = self.lock();
        if entries.kept.contains_key(&fingerprint) {
            return;
        }
        while entries.kept_bytes + cost > self.byte_capacity
            && let Some(oldest) = entries.kept_order.pop_front()
        {
            let evicted = entries.kept.remove(&oldest).expect("kept in order");
            entries.kept_bytes -= evicted.bytes.len() + KEPT_OVERHEAD;
        }
        entries.kept.insert(fingerprint, kept);
        entries.kept_order.push_back(fingerprint);
        entries.kept_bytes += cost;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
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

    /// A distinct document of `len` bytes.
    fn document(n: u32, len: usize) -> Vec<u8> {
        let mut bytes = n.to_le_bytes().repeat(len.div_ceil(4));
        bytes.truncate(len);
        bytes
    }

    fn proven(cache: &VerdictCache, bytes: &[u8], verdict: Verdict) {
        let Lookup::Unknown(digest) = cache.lookup(bytes) else {
            panic!("not proven yet");
        };
        assert_eq!(digest, blake3::hash(bytes));
        cache.insert(digest, verdict);
    }

    /// Proven, then seen again: kept.
    fn proven_twice(cache: &VerdictCache, bytes: &[u8], verdict: Verdict) {
        proven(cache, bytes, verdict);
        assert_eq!(
            cache.lookup(bytes),
            Lookup::Proven(verdict, blake3::hash(bytes))
        );
    }

    impl VerdictCache {
        fn verdicts(&self) -> usize {
            self.lock().verdicts.len()
        }

        fn kept(&self) -> (usize, usize) {
            let entries = self.lock();
            assert_eq!(entries.kept.len(), entries.kept_order.len());
            (entries.kept.len(), entries.kept_bytes)
        }
    }

    #[test]
    fn a_proven_document_is_found_with_its_digest_and_others_are_not() {
        for byte_capacity in [0, 1 << 20] {
            let cache = VerdictCache::new(4, byte_capacity);
            let (png, pdf, other) = (document(1, 100), document(2, 100), document(3, 100));
            proven(&cache, &png, full(DocumentType::Png));
            proven(&cache, &pdf, full(DocumentType::Pdf));
            // Seen once: proven by its digest, not kept.
            assert_eq!(cache.kept(), (0, 0));
            let found = |bytes: &[u8]| cache.lookup(bytes);
            assert_eq!(
                found(&png),
                Lookup::Proven(full(DocumentType::Png), blake3::hash(&png))
            );
            assert_eq!(
                found(&pdf),
                Lookup::Proven(full(DocumentType::Pdf), blake3::hash(&pdf))
            );
            assert_eq!(found(&other), Lookup::Unknown(blake3::hash(&other)));
            // Inserting the same digest again changes nothing.
            cache.insert(blake3::hash(&png), full(DocumentType::Png));
            assert_eq!(cache.verdicts(), 2);
            // Both seen twice: kept, when bytes are.
            let kept = if byte_capacity == 0 { 0 } else { 2 };
            assert_eq!(cache.kept(), (kept, kept * (100 + KEPT_OVERHEAD)));
        }
    }

    #[test]
    fn a_kept_document_is_matched_by_its_bytes_not_its_fingerprint() {
        let cache = VerdictCache::new(4, 1 << 20);
        let (proven_bytes, other) = (document(1, 100), document(2, 100));
        proven_twice(&cache, &proven_bytes, full(DocumentType::Png));
        // Forge a collision: the other body's fingerprint names the proven document.
        {
            let mut entries = cache.lock();
            let kept = entries.kept.values().next().unwrap().clone();
            entries
                .kept
                .insert(cache.fingerprint(&other).unwrap(), kept);
        }
        assert_eq!(cache.lookup(&other), Lookup::Unknown(blake3::hash(&other)));
    }

    #[test]
    fn a_document_matched_by_its_digest_is_kept_for_the_next_copy() {
        let cache = VerdictCache::new(4, 1 << 20);
        let bytes = document(1, 100);
        proven(&cache, &bytes, full(DocumentType::Pdf));
        assert_eq!(cache.kept().0, 0);
        let expected = Lookup::Proven(full(DocumentType::Pdf), blake3::hash(&bytes));
        assert_eq!(cache.lookup(&bytes), expected);
        assert_eq!(cache.kept().0, 1);
        // Found among the kept now, even without its digest entry.
        cache.lock().verdicts.clear();
        assert_eq!(cache.lookup(&bytes), expected);
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_forgets_the_oldest_first() {
        let cache = VerdictCache::new(3, 0);
        for n in 0..10 {
            proven(&cache, &document(n, 8), full(DocumentType::Pdf));
            assert!(cache.verdicts() <= 3);
        }
        assert_eq!(cache.verdicts(), 3);
        for n in 0..7 {
            assert!(
                matches!(cache.lookup(&document(n, 8)), Lookup::Unknown(_)),
                "{n} was evicted"
            );
        }
        for n in 7..10 {
            assert!(matches!(cache.lookup(&document(n, 8)), Lookup::Proven(..)));
        }
        assert_eq!(cache.lock().order.len(), 3);
    }

    #[test]
    fn kept_bytes_stay_within_the_byte_capacity_oldest_out_first() {
        let byte_capacity = 64 * 1024;
        let len = 1000;
        let cache = VerdictCache::new(1000, byte_capacity);
        for n in 0..200 {
            proven_twice(&cache, &document(n, len), full(DocumentType::Png));
            assert!(cache.kept().1 <= byte_capacity);
        }
        let fit = byte_capacity / (len + KEPT_OVERHEAD);
        assert_eq!(cache.kept(), (fit, fit * (len + KEPT_OVERHEAD)));
        let entries = cache.lock();
        let newest: Vec<u64> = (200 - fit as u32..200)
            .map(|n| cache.fingerprint(&document(n, len)).unwrap())
            .collect();
        assert_eq!(entries.kept_order, newest);
    }

    #[test]
    fn a_document_over_a_sixteenth_of_the_byte_capacity_is_not_kept() {
        let byte_capacity = 16 * 1024;
        let cache = VerdictCache::new(4, byte_capacity);
        let largest = byte_capacity / 16 - KEPT_OVERHEAD;
        proven_twice(&cache, &document(1, largest), full(DocumentType::Png));
        proven_twice(&cache, &document(2, largest + 1), full(DocumentType::Png));
        assert_eq!(cache.kept().0, 1);
        // Still proven, by its digest.
        assert!(matches!(
            cache.lookup(&document(2, largest + 1)),
            Lookup::Proven(..)
        ));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = VerdictCache::new(0, 1 << 20);
        let bytes = document(1, 100);
        cache.insert(blake3::hash(&bytes), full(DocumentType::Png));
        assert_eq!(cache.lookup(&bytes), Lookup::Unknown(blake3::hash(&bytes)));
        assert_eq!(cache.verdicts(), 0);
        assert_eq!(cache.kept().0, 0);
    }
}

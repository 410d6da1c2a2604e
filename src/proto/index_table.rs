// SPDX-License-Identifier: GPL-2.0
//! Receiver indices: the random 32-bit numbers by which incoming handshake
//! responses, cookie replies and data messages name the handshake or keypair
//! they belong to (the C driver's `index_hashtable` in `peerlookup.c`).
//!
//! [`STRIPES`] [`HashTable`]s of a fixed [`STRIPE_BUCKETS`] buckets each
//! ([`IndexTable::stripe`]; [`BUCKETS`] in all, as the C driver's one table;
//! a stripe never grows, so lookups and insertions never allocate a bucket
//! array but its first). Indices are random, so the bucket is simply the low
//! bits of the index. The value is whatever the caller needs to find the
//! handshake or the keypair (e.g. a peer and a kind); it must be `Copy`.
//!
//! Each stripe is under a lock of its own in the driver: every
//! data message and handshake response looks its index up, on whichever CPU
//! received it, and one lock for all would be one cache line that every
//! receiving CPU writes (the C driver's lookup takes no lock: RCU). An
//! index's stripe ([`stripe_of`]) is given by bits its bucket does not use,
//! so each stripe's entries spread over all of its buckets; [`draw`] finds a
//! fresh index across the stripes, locking the one of each draw only.
//!
//! New indices are drawn with [`Crypto::random_bytes`] until one is free, as
//! the C driver does; with at most 3 x 2^20 entries in a 2^32 space a draw is
//! free with probability above 0.999.

use super::hashtable::{HashTable, KeyHash};
use super::platform::{Alloc, AllocError, Crypto};

/// Number of hash buckets (the C driver's 2^13), all stripes together.
pub const BUCKETS: usize = 1 << 13;
/// Number of stripes the driver splits the table into.
pub const STRIPES: usize = 64;
/// Buckets of one stripe.
pub const STRIPE_BUCKETS: usize = BUCKETS / STRIPES;
/// The lowest bit of an index that picks its stripe: above every bit a
/// bucket of a whole table (and so of a stripe) uses.
const STRIPE_SHIFT: u32 = BUCKETS.trailing_zeros();

/// The stripe `index` lives in (below [`STRIPES`]).
#[inline]
pub fn stripe_of(index: u32) -> usize {
    (index >> STRIPE_SHIFT) as usize % STRIPES
}

/// The one of `stripes` (a table each, behind whatever lock the caller keeps
/// it) that `index` lives in: what every insertion, lookup and removal of
/// `index` goes through.
#[inline]
pub fn stripe<L>(stripes: &[L; STRIPES], index: u32) -> &L {
    &stripes[stripe_of(index)]
}
/// Random draws tried before giving up on finding a free index (only a
/// broken random source gets there).
pub const MAX_DRAWS: usize = 64;

/// Why an insertion failed; the table's entries are unchanged (it may have
/// kept what it allocated: its bucket array, free slots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexError {
    /// Out of memory.
    NoMemory,
    /// No free index found in [`MAX_DRAWS`] draws.
    IndexTaken,
}

impl From<AllocError> for IndexError {
    fn from(_: AllocError) -> Self {
        Self::NoMemory
    }
}

/// Indices are random: an index is its own hash.
#[derive(Clone, Copy)]
pub struct RandomIndex;

impl KeyHash<u32> for RandomIndex {
    #[inline]
    fn hash(&self, index: &u32) -> usize {
        *index as usize
    }
}

/// Receiver index -> `V`.
pub type IndexTable<A, V> = HashTable<A, u32, V, RandomIndex>;

impl<A: Alloc, V: Copy> HashTable<A, u32, V, RandomIndex> {
    /// An empty stripe of [`STRIPE_BUCKETS`] buckets. Allocates nothing: its
    /// bucket array comes with its first insertion ([`Self::insert_at`],
    /// which `insert_new` gives one).
    pub fn stripe() -> Self {
        Self::unallocated(RandomIndex, STRIPE_BUCKETS)
    }

    /// Registers `value` under `index` if that is free (true), and changes
    /// nothing if it is taken (false).
    pub fn insert_at(&mut self, index: u32, value: V) -> Result<bool, AllocError> {
        if self.lookup(&index).is_some() {
            return Ok(false);
        }
        self.insert_new(index, value)?;
        Ok(true)
    }
}

/// Draws random indices until `try_at` takes one (true: it was free and is
/// now registered), which it returns; gives up after [`MAX_DRAWS`] taken
/// ones. `try_at` says for one index at a time, so that the driver locks
/// only that index's stripe for it.
pub fn draw<C: Crypto>(
    mut try_at: impl FnMut(u32) -> Result<bool, AllocError>,
) -> Result<u32, IndexError> {
    for _ in 0..MAX_DRAWS {
        let mut bytes = [0u8; 4];
        C::random_bytes(&mut bytes);
        let index = u32::from_le_bytes(bytes);
        if try_at(index)? {
            return Ok(index);
        }
    }
    Err(IndexError::IndexTaken)
}

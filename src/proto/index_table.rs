// SPDX-License-Identifier: GPL-2.0
//! Receiver indices: the random 32-bit numbers by which incoming handshake
//! responses, cookie replies and data messages name the handshake or keypair
//! they belong to (the C driver's `index_hashtable` in `peerlookup.c`).
//!
//! A [`HashTable`] of a fixed [`BUCKETS`] buckets (it never grows, so lookups
//! and insertions never allocate a bucket array). Indices are random, so the
//! bucket is simply the low bits of the index. The value is whatever the
//! caller needs to find the handshake or the keypair (e.g. a peer and a
//! kind); it must be `Copy`.
//!
//! New indices are drawn with [`Crypto::random_bytes`] until one is free, as
//! the C driver does; with at most 3 x 2^20 entries in a 2^32 space a draw is
//! free with probability above 0.999.

use super::hashtable::{HashTable, KeyHash};
use super::platform::{Alloc, AllocError, Crypto};

/// Number of hash buckets (the C driver's 2^13).
pub const BUCKETS: usize = 1 << 13;
/// Random draws tried before giving up on finding a free index (only a
/// broken random source gets there).
pub const MAX_DRAWS: usize = 64;

/// Why an insertion failed; the table is unchanged.
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
    /// An empty table (allocates the bucket array: 32 KiB).
    pub fn new() -> Result<Self, AllocError> {
        Self::with_buckets(RandomIndex, BUCKETS, BUCKETS)
    }

    /// Registers `value` under a fresh random index, which it returns.
    pub fn insert<C: Crypto>(&mut self, value: V) -> Result<u32, IndexError> {
        self.reserve(1)?;
        for _ in 0..MAX_DRAWS {
            let mut bytes = [0u8; 4];
            C::random_bytes(&mut bytes);
            let index = u32::from_le_bytes(bytes);
            if self.lookup(&index).is_none() {
                self.insert_new(index, value)?;
                return Ok(index);
            }
        }
        Err(IndexError::IndexTaken)
    }
}

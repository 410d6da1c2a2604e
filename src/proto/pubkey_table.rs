// SPDX-License-Identifier: GPL-2.0
//! Public key -> peer: how a handshake initiation, once its static key is
//! decrypted, finds its peer (the C driver's `pubkey_hashtable`).
//!
//! A [`HashTable`] bucketed by SipHash-2-4 of the key under a random secret
//! key, so that nobody can pick public keys that collide. The bucket array
//! starts at the C driver's 2^11 and doubles when the table holds more than
//! two entries per bucket (if memory allows; otherwise chains just get
//! longer), up to [`MAX_BUCKETS`].

use super::allowedips::PeerId;
use super::hashtable::{HashTable, KeyHash};
use super::platform::{Alloc, AllocError, Crypto, KEY_LEN};
use super::siphash::SipKey;

/// Initial number of buckets.
pub const INITIAL_BUCKETS: usize = 1 << 11;
/// Largest bucket array (enough for the C driver's `MAX_PEERS_PER_DEVICE`, 2^20, at two per bucket).
pub const MAX_BUCKETS: usize = 1 << 19;

/// Why an insertion failed; the table is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PubkeyError {
    /// Out of memory.
    NoMemory,
    /// The key is already registered, for this peer.
    Exists(PeerId),
}

impl From<AllocError> for PubkeyError {
    fn from(_: AllocError) -> Self {
        Self::NoMemory
    }
}

impl<C: Crypto> KeyHash<[u8; KEY_LEN]> for SipKey<C> {
    #[inline]
    fn hash(&self, key: &[u8; KEY_LEN]) -> usize {
        // Truncation is intended: only the low bits pick the bucket.
        SipKey::hash(self, key) as usize
    }
}

/// Public key -> [`PeerId`], in memory of `A`, hashed by `C`.
pub type PubkeyTable<A, C> = HashTable<A, [u8; KEY_LEN], PeerId, SipKey<C>>;

impl<A: Alloc, C: Crypto> HashTable<A, [u8; KEY_LEN], PeerId, SipKey<C>> {
    /// An empty table hashing under `hash_key` (use [`SipKey::random`]);
    /// allocates the initial bucket array (8 KiB).
    pub fn new(hash_key: SipKey<C>) -> Result<Self, AllocError> {
        Self::with_buckets(hash_key, INITIAL_BUCKETS, MAX_BUCKETS)
    }

    /// Registers `key` for `peer`.
    pub fn insert(&mut self, key: &[u8; KEY_LEN], peer: PeerId) -> Result<(), PubkeyError> {
        if let Some(existing) = self.lookup(key) {
            return Err(PubkeyError::Exists(existing));
        }
        Ok(self.insert_new(*key, peer)?)
    }
}

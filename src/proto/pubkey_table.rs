// SPDX-License-Identifier: GPL-2.0
//! Public key -> peer: how a handshake initiation, once its static key is
//! decrypted, finds its peer (the C driver's `pubkey_hashtable`).
//!
//! A chained hash table over a slab of entries (index-addressed, free list
//! reused), bucketed by SipHash-2-4 of the key under a random secret key, so
//! that nobody can pick public keys that collide. The bucket array starts at
//! the C driver's 2^11 and doubles when the table holds more than two entries
//! per bucket (if memory allows; otherwise chains just get longer).

use super::allowedips::PeerId;
use super::platform::{vec_filled, Alloc, AllocError, KEY_LEN};
use super::siphash::{siphash24, SipKey};

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

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot {
    key: [u8; KEY_LEN],
    /// Next slot in the bucket chain or the free list.
    next: u32,
    /// `None` when free.
    peer: Option<PeerId>,
}

/// Public key -> [`PeerId`].
pub struct PubkeyTable<A: Alloc> {
    hash_key: SipKey,
    buckets: A::Vec<u32>,
    slots: A::Vec<Slot>,
    free: u32,
    len: usize,
}

impl<A: Alloc> PubkeyTable<A> {
    /// An empty table hashing under `hash_key` (use [`SipKey::random`]);
    /// allocates the initial bucket array (8 KiB).
    pub fn new(hash_key: SipKey) -> Result<Self, AllocError> {
        Ok(Self {
            hash_key,
            buckets: vec_filled::<A, _>(INITIAL_BUCKETS, NIL)?,
            slots: A::vec_new(),
            free: NIL,
            len: 0,
        })
    }

    /// Number of keys registered.
    #[cfg(feature = "testing")]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no key is registered.
    #[cfg(feature = "testing")]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn bucket_in(&self, n_buckets: usize, key: &[u8; KEY_LEN]) -> usize {
        // Truncation is intended: the bucket count is a power of two.
        (siphash24(&self.hash_key, key) as usize) & n_buckets.wrapping_sub(1)
    }

    fn find(&self, key: &[u8; KEY_LEN]) -> Option<u32> {
        let mut i = *self.buckets.get(self.bucket_in(self.buckets.len(), key))?;
        for _ in 0..self.slots.len() {
            let s = self.slots.get(i as usize)?;
            if s.peer.is_some() && s.key == *key {
                return Some(i);
            }
            i = s.next;
        }
        None
    }

    /// The peer whose public key is `key`.
    pub fn lookup(&self, key: &[u8; KEY_LEN]) -> Option<PeerId> {
        self.find(key)
            .and_then(|i| self.slots.get(i as usize))
            .and_then(|s| s.peer)
    }

    /// Makes sure the next `n` insertions cannot fail for lack of memory
    /// (free entries are made now; the bucket array only grows
    /// opportunistically and never fails an insertion). Changes nothing
    /// observable.
    pub fn reserve(&mut self, n: usize) -> Result<(), AllocError> {
        let free = self.slots.len().saturating_sub(self.len);
        let need = n.saturating_sub(free);
        if need == 0 {
            return Ok(());
        }
        A::vec_reserve(&mut self.slots, need)?;
        for _ in 0..need {
            let i = u32::try_from(self.slots.len()).map_err(|_| AllocError)?;
            if i == NIL {
                return Err(AllocError);
            }
            A::vec_push(
                &mut self.slots,
                Slot {
                    key: [0; KEY_LEN],
                    next: self.free,
                    peer: None,
                },
            )?;
            self.free = i;
        }
        Ok(())
    }

    /// Registers `key` for `peer`.
    pub fn insert(&mut self, key: &[u8; KEY_LEN], peer: PeerId) -> Result<(), PubkeyError> {
        if let Some(existing) = self.lookup(key) {
            return Err(PubkeyError::Exists(existing));
        }
        if self.free == NIL {
            let i = u32::try_from(self.slots.len()).map_err(|_| AllocError)?;
            if i == NIL {
                return Err(PubkeyError::NoMemory);
            }
            A::vec_push(
                &mut self.slots,
                Slot {
                    key: [0; KEY_LEN],
                    next: NIL,
                    peer: None,
                },
            )?;
            self.free = i;
        }
        self.maybe_grow();
        let b = self.bucket_in(self.buckets.len(), key);
        let head = *self.buckets.get(b).ok_or(PubkeyError::NoMemory)?;
        let i = self.free;
        let slot = self
            .slots
            .get_mut(i as usize)
            .ok_or(PubkeyError::NoMemory)?;
        self.free = slot.next;
        *slot = Slot {
            key: *key,
            next: head,
            peer: Some(peer),
        };
        if let Some(h) = self.buckets.get_mut(b) {
            *h = i;
        }
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Unregisters `key`; returns its peer.
    pub fn remove(&mut self, key: &[u8; KEY_LEN]) -> Option<PeerId> {
        let b = self.bucket_in(self.buckets.len(), key);
        let mut prev = NIL;
        let mut i = *self.buckets.get(b)?;
        for _ in 0..self.slots.len() {
            let s = self.slots.get(i as usize)?;
            let next = s.next;
            if s.peer.is_some() && s.key == *key {
                let link = if prev == NIL {
                    self.buckets.get_mut(b)
                } else {
                    self.slots.get_mut(prev as usize).map(|p| &mut p.next)
                };
                if let Some(link) = link {
                    *link = next;
                }
                let s = self.slots.get_mut(i as usize)?;
                let peer = s.peer.take();
                s.key = [0; KEY_LEN];
                s.next = self.free;
                self.free = i;
                self.len = self.len.saturating_sub(1);
                return peer;
            }
            prev = i;
            i = next;
        }
        None
    }

    /// Doubles the bucket array when there are more than two entries per
    /// bucket, if memory allows (a failure only leaves chains longer).
    fn maybe_grow(&mut self) {
        let n = self.buckets.len();
        if self.len < n.saturating_mul(2) || n >= MAX_BUCKETS {
            return;
        }
        let Some(new_n) = n.checked_mul(2) else {
            return;
        };
        // Growing is opportunistic: without memory the chains just get longer.
        let Ok(mut new) = vec_filled::<A, _>(new_n, NIL) else {
            return;
        };
        // Rehash every live slot (slots do not move; chains are rebuilt).
        for k in 0..self.slots.len() {
            let Some(s) = self.slots.get(k) else { break };
            if s.peer.is_none() {
                continue;
            }
            let b = self.bucket_in(new_n, &s.key);
            let Some(head) = new.get_mut(b) else { continue };
            let old_head = core::mem::replace(head, k as u32);
            if let Some(s) = self.slots.get_mut(k) {
                s.next = old_head;
            }
        }
        self.buckets = new;
    }

    /// Current number of buckets.
    #[cfg(feature = "testing")]
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }
}

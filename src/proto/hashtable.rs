// SPDX-License-Identifier: GPL-2.0
//! The chained hash table behind [`index_table`](super::index_table) and
//! [`pubkey_table`](super::pubkey_table) (the C driver's two tables in
//! `peerlookup.c`).
//!
//! Entries live in a slab (index-addressed, free list reused) and are chained
//! per bucket through slab indices. The bucket of a key is its
//! [`KeyHash`] masked to the bucket count, a power of two. The bucket array
//! doubles when the table holds more than two entries per bucket, up to a
//! maximum fixed at creation (equal to the initial count for a table that
//! never grows); growing is opportunistic and never fails an insertion.
//! Chain walks are bounded by the slab length, so a corrupted chain cannot
//! loop.

use super::platform::{vec_filled, Alloc, AllocError};

/// How a key picks its bucket (masked to the bucket count).
pub trait KeyHash<K> {
    /// The key's hash; only its low bits are used.
    fn hash(&self, key: &K) -> usize;
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot<K, V> {
    /// `K::default()` when free.
    key: K,
    /// Next slot in the bucket chain or the free list.
    next: u32,
    /// `None` when free.
    value: Option<V>,
}

/// `K` -> `V`, bucketed by `H`.
pub struct HashTable<A: Alloc, K, V, H> {
    hasher: H,
    max_buckets: usize,
    pub(crate) buckets: A::Vec<u32>,
    slots: A::Vec<Slot<K, V>>,
    free: u32,
    pub(crate) len: usize,
}

impl<A: Alloc, K: Copy + Eq + Default, V: Copy, H: KeyHash<K>> HashTable<A, K, V, H> {
    /// An empty table with `buckets` buckets, growing up to `max_buckets`
    /// (both powers of two); allocates the bucket array.
    pub(super) fn with_buckets(
        hasher: H,
        buckets: usize,
        max_buckets: usize,
    ) -> Result<Self, AllocError> {
        Ok(Self {
            hasher,
            max_buckets,
            buckets: vec_filled::<A, _>(buckets, NIL)?,
            slots: A::vec_new(),
            free: NIL,
            len: 0,
        })
    }

    /// An empty table that allocates nothing yet: lookups find nothing, and
    /// its bucket array of `max_buckets` buckets comes with its first
    /// insertion ([`Self::ensure_buckets`]).
    pub(super) fn unallocated(hasher: H, max_buckets: usize) -> Self {
        Self {
            hasher,
            max_buckets,
            buckets: A::vec_new(),
            slots: A::vec_new(),
            free: NIL,
            len: 0,
        }
    }

    /// Gives an [`unallocated`](Self::unallocated) table its bucket array (a
    /// table that has one is left as it is). On failure nothing changed.
    pub(super) fn ensure_buckets(&mut self) -> Result<(), AllocError> {
        if self.buckets.is_empty() {
            self.buckets = vec_filled::<A, _>(self.max_buckets, NIL)?;
        }
        Ok(())
    }

    fn bucket_in(&self, n_buckets: usize, key: &K) -> usize {
        self.hasher.hash(key) & n_buckets.wrapping_sub(1)
    }

    /// The slot holding `key` in its bucket `b`, and the slot before it in
    /// the chain (NIL: `key`'s is the first).
    #[inline]
    fn find(&self, b: usize, key: &K) -> Option<(u32, u32)> {
        let mut prev = NIL;
        let mut i = *self.buckets.get(b)?;
        for _ in 0..self.slots.len() {
            let s = self.slots.get(i as usize)?;
            if s.value.is_some() && s.key == *key {
                return Some((prev, i));
            }
            prev = i;
            i = s.next;
        }
        None
    }

    /// The value registered under `key`.
    #[inline]
    pub fn lookup(&self, key: &K) -> Option<V> {
        let (_, i) = self.find(self.bucket_in(self.buckets.len(), key), key)?;
        self.slots.get(i as usize)?.value
    }

    /// Makes sure the next `n` insertions cannot fail for lack of memory
    /// (free entries are made now; the bucket array only grows
    /// opportunistically and never fails an insertion). Changes nothing
    /// observable.
    pub fn reserve(&mut self, n: usize) -> Result<(), AllocError> {
        let free = self.slots.len().saturating_sub(self.len);
        let need = n.saturating_sub(free);
        A::vec_reserve(&mut self.slots, need)?;
        for _ in 0..need {
            let i = u32::try_from(self.slots.len()).map_err(|_| AllocError)?;
            if i == NIL {
                return Err(AllocError);
            }
            let slot = Slot {
                key: K::default(),
                next: self.free,
                value: None,
            };
            A::vec_push(&mut self.slots, slot)?;
            self.free = i;
        }
        Ok(())
    }

    /// Registers `value` under `key`, which the caller made sure is not in
    /// the table.
    pub(super) fn insert_new(&mut self, key: K, value: V) -> Result<(), AllocError> {
        self.ensure_buckets()?;
        self.reserve(1)?;
        self.maybe_grow();
        let b = self.bucket_in(self.buckets.len(), &key);
        let head = self.buckets.get_mut(b).ok_or(AllocError)?;
        let i = self.free;
        let slot = self.slots.get_mut(i as usize).ok_or(AllocError)?;
        self.free = slot.next;
        *slot = Slot {
            key,
            next: core::mem::replace(head, i),
            value: Some(value),
        };
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Unregisters `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let b = self.bucket_in(self.buckets.len(), key);
        let (prev, i) = self.find(b, key)?;
        let s = self.slots.get_mut(i as usize)?;
        let next = core::mem::replace(&mut s.next, self.free);
        let value = s.value.take();
        s.key = K::default();
        let link = if prev == NIL {
            self.buckets.get_mut(b)
        } else {
            self.slots.get_mut(prev as usize).map(|p| &mut p.next)
        };
        if let Some(link) = link {
            *link = next;
        }
        self.free = i;
        self.len = self.len.saturating_sub(1);
        value
    }

    /// Doubles the bucket array when there are more than two entries per
    /// bucket, if memory allows (a failure only leaves chains longer).
    fn maybe_grow(&mut self) {
        let n = self.buckets.len();
        // Doubling saturates only where `len` cannot reach it.
        let new_n = n.saturating_mul(2);
        if self.len < new_n || n >= self.max_buckets {
            return;
        }
        let Ok(mut new) = vec_filled::<A, _>(new_n, NIL) else {
            return;
        };
        // Rehash every live slot (slots do not move; chains are rebuilt), as
        // `bucket_in` does (`self` is borrowed by the walk).
        let hasher = &self.hasher;
        for (k, s) in self.slots.iter_mut().enumerate() {
            if s.value.is_none() {
                continue;
            }
            let b = hasher.hash(&s.key) & new_n.wrapping_sub(1);
            if let Some(head) = new.get_mut(b) {
                s.next = core::mem::replace(head, k as u32);
            }
        }
        self.buckets = new;
    }
}

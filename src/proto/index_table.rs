// SPDX-License-Identifier: GPL-2.0
//! Receiver indices: the random 32-bit numbers by which incoming handshake
//! responses, cookie replies and data messages name the handshake or keypair
//! they belong to (the C driver's `index_hashtable` in `peerlookup.c`).
//!
//! A chained hash table over a slab of entries (index-addressed, free list
//! reused). Indices are random, so the bucket is simply the low bits of the
//! index. The value is whatever the caller needs to find the handshake or the
//! keypair (e.g. a peer and a kind); it must be `Copy`.
//!
//! New indices are drawn with [`Crypto::random_bytes`] until one is free, as
//! the C driver does; with at most 3 x 2^20 entries in a 2^32 space a draw is
//! free with probability above 0.999.

use super::platform::{vec_filled, Alloc, AllocError, Crypto};

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

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot<V> {
    index: u32,
    /// Next slot in the bucket chain or the free list.
    next: u32,
    /// `None` when the slot is free.
    value: Option<V>,
}

/// Receiver index -> `V`.
pub struct IndexTable<A: Alloc, V: Copy> {
    buckets: A::Vec<u32>,
    slots: A::Vec<Slot<V>>,
    free: u32,
    len: usize,
}

impl<A: Alloc, V: Copy> IndexTable<A, V> {
    /// An empty table (allocates the bucket array: 32 KiB).
    pub fn new() -> Result<Self, AllocError> {
        Ok(Self {
            buckets: vec_filled::<A, _>(BUCKETS, NIL)?,
            slots: A::vec_new(),
            free: NIL,
            len: 0,
        })
    }

    /// Number of indices in use.
    #[cfg(feature = "testing")]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no index is in use.
    #[cfg(feature = "testing")]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn bucket(index: u32) -> usize {
        index as usize & (BUCKETS - 1)
    }

    /// The slot holding `index`, if any.
    fn find(&self, index: u32) -> Option<u32> {
        let mut i = *self.buckets.get(Self::bucket(index))?;
        for _ in 0..self.slots.len() {
            let s = self.slots.get(i as usize)?;
            if s.index == index && s.value.is_some() {
                return Some(i);
            }
            i = s.next;
        }
        None
    }

    /// The value registered under `index`.
    #[inline]
    pub fn lookup(&self, index: u32) -> Option<V> {
        self.find(index)
            .and_then(|i| self.slots.get(i as usize))
            .and_then(|s| s.value)
    }

    /// Whether `index` is in use.
    pub fn contains(&self, index: u32) -> bool {
        self.find(index).is_some()
    }

    /// Makes sure `additional` insertions will not need memory.
    pub fn reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        let mut free = 0usize;
        let mut f = self.free;
        while f != NIL && free < additional {
            free = free.saturating_add(1);
            f = self.slots.get(f as usize).map_or(NIL, |s| s.next);
        }
        while free < additional {
            let i = u32::try_from(self.slots.len()).map_err(|_| AllocError)?;
            if i == NIL {
                return Err(AllocError);
            }
            A::vec_push(
                &mut self.slots,
                Slot {
                    index: 0,
                    next: self.free,
                    value: None,
                },
            )?;
            self.free = i;
            free = free.saturating_add(1);
        }
        Ok(())
    }

    /// Registers `value` under a fresh random index, which it returns.
    pub fn insert<C: Crypto>(&mut self, value: V) -> Result<u32, IndexError> {
        self.reserve(1)?;
        for _ in 0..MAX_DRAWS {
            let mut bytes = [0u8; 4];
            C::random_bytes(&mut bytes);
            let index = u32::from_le_bytes(bytes);
            if !self.contains(index) {
                self.put(index, value)?;
                return Ok(index);
            }
        }
        Err(IndexError::IndexTaken)
    }

    fn put(&mut self, index: u32, value: V) -> Result<(), IndexError> {
        let b = Self::bucket(index);
        let head = *self.buckets.get(b).ok_or(IndexError::NoMemory)?;
        let i = self.free;
        let slot = self.slots.get_mut(i as usize).ok_or(IndexError::NoMemory)?;
        self.free = slot.next;
        *slot = Slot {
            index,
            next: head,
            value: Some(value),
        };
        if let Some(h) = self.buckets.get_mut(b) {
            *h = i;
        }
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Frees `index`; returns its value.
    pub fn remove(&mut self, index: u32) -> Option<V> {
        let b = Self::bucket(index);
        let mut prev = NIL;
        let mut i = *self.buckets.get(b)?;
        for _ in 0..self.slots.len() {
            let s = self.slots.get(i as usize)?;
            let next = s.next;
            if s.index == index && s.value.is_some() {
                let link = if prev == NIL {
                    self.buckets.get_mut(b)
                } else {
                    self.slots.get_mut(prev as usize).map(|p| &mut p.next)
                };
                if let Some(link) = link {
                    *link = next;
                }
                let s = self.slots.get_mut(i as usize)?;
                let value = s.value.take();
                s.next = self.free;
                self.free = i;
                self.len = self.len.saturating_sub(1);
                return value;
            }
            prev = i;
            i = next;
        }
        None
    }
}

// SPDX-License-Identifier: GPL-2.0
//! Rate limiting of handshake messages per source address, used while the
//! device is under load (as the C driver's `ratelimiter.c`).
//!
//! A token bucket per source: [`RATELIMIT_PACKETS_PER_SECOND`] packets per
//! second with a burst of [`RATELIMIT_PACKETS_BURSTABLE`]. A source is a full
//! IPv4 address or an IPv6 /64. Buckets live in a hash table keyed with
//! SipHash under a random key (chosen collisions are impractical), whose
//! entries are all allocated when the limiter is created: nothing is
//! allocated per packet, and when every entry is in use new sources are
//! refused (as the C driver's `max_entries`). Entries idle for more than a
//! second are dropped by [`RateLimiter::gc`], which the glue calls about once
//! a second.
//!
//! One limiter covers one scope (device or network namespace): the C driver's
//! global table keys on the namespace too; here the caller keeps one limiter
//! per scope.

use super::constants::{NSEC_PER_SEC, RATELIMIT_PACKETS_BURSTABLE, RATELIMIT_PACKETS_PER_SECOND};
use super::platform::{vec_filled, Alloc, AllocError};
use super::siphash::{siphash13, SipKey};

/// Cost of one packet in tokens (a token is a nanosecond of allowance).
pub const PACKET_COST: u64 = NSEC_PER_SEC / RATELIMIT_PACKETS_PER_SECOND;
/// Bucket size: the burst.
pub const TOKEN_MAX: u64 = PACKET_COST * RATELIMIT_PACKETS_BURSTABLE;
/// Entries per hash bucket on average when the table is full (the C driver's
/// `max_entries = table_size * 8`).
pub const ENTRIES_PER_BUCKET: usize = 8;
/// Largest table size accepted (the C driver's size on machines with more
/// than 1 GiB of memory).
pub const MAX_TABLE_SIZE: usize = 8192;
/// Smallest table size.
pub const MIN_TABLE_SIZE: usize = 16;

/// The source of a packet, as the limiter groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An IPv4 source address (network byte order).
    V4([u8; 4]),
    /// An IPv6 source address (network byte order); only its first 64 bits count.
    V6([u8; 16]),
}

impl Source {
    /// The grouping key: family tag and 64 bits of address.
    fn key(&self) -> (u8, u64) {
        match self {
            Source::V4(a) => (4, u64::from(u32::from_be_bytes(*a))),
            Source::V6(a) => (
                6,
                a.iter()
                    .take(8)
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
            ),
        }
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    addr: u64,
    last_ns: u64,
    tokens: u64,
    /// Next entry in the bucket chain, or in the free list.
    next: u32,
    family: u8,
}

const FREE_ENTRY: Entry = Entry {
    addr: 0,
    last_ns: 0,
    tokens: 0,
    next: NIL,
    family: 0,
};

/// A bounded per-source token-bucket limiter.
pub struct RateLimiter<A: Alloc> {
    key: SipKey,
    /// Chain heads; length is a power of two.
    buckets: A::Vec<u32>,
    /// Every entry, allocated up front.
    entries: A::Vec<Entry>,
    free: u32,
    used: usize,
}

impl<A: Alloc> RateLimiter<A> {
    /// A limiter with `table_size` hash buckets (rounded up to a power of two
    /// and clamped to [`MIN_TABLE_SIZE`]..=[`MAX_TABLE_SIZE`]) and room for
    /// `ENTRIES_PER_BUCKET` times as many sources, all allocated now
    /// (32 bytes per entry plus 4 per bucket). `key` should be
    /// [`SipKey::random`]. The C driver picks the table size from the
    /// machine's memory: 8192 above 1 GiB, else RAM / 16 KiB / 8 (at least 16).
    pub fn new(table_size: usize, key: SipKey) -> Result<Self, AllocError> {
        let size = table_size
            .clamp(MIN_TABLE_SIZE, MAX_TABLE_SIZE)
            .checked_next_power_of_two()
            .unwrap_or(MAX_TABLE_SIZE);
        let capacity = size.saturating_mul(ENTRIES_PER_BUCKET);
        let buckets = vec_filled::<A, _>(size, NIL)?;
        let mut entries = A::vec_new();
        A::vec_reserve(&mut entries, capacity)?;
        let mut free = NIL;
        for i in 0..capacity {
            let index = u32::try_from(i).map_err(|_| AllocError)?;
            A::vec_push(
                &mut entries,
                Entry {
                    next: free,
                    ..FREE_ENTRY
                },
            )?;
            free = index;
        }
        Ok(Self {
            key,
            buckets,
            entries,
            free,
            used: 0,
        })
    }

    /// Most sources tracked at once.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn bucket_of(&self, family: u8, addr: u64) -> usize {
        let mut input = [0u8; 9];
        for (dst, src) in input
            .iter_mut()
            .zip(addr.to_le_bytes().into_iter().chain([family]))
        {
            *dst = src;
        }
        // Truncation is intended: the table size is a power of two below 2^32.
        (siphash13(&self.key, &input) as usize) & self.buckets.len().wrapping_sub(1)
    }

    /// Whether a packet from `src` at time `now_ns` is within its rate. The
    /// first packet of a new source is allowed (and leaves the burst less
    /// one); when the table is full, packets of new sources are refused.
    pub fn allow(&mut self, src: &Source, now_ns: u64) -> bool {
        let (family, addr) = src.key();
        let bucket = self.bucket_of(family, addr);
        let Some(&head) = self.buckets.get(bucket) else {
            return false;
        };
        let mut i = head;
        // Chains cannot be longer than the table.
        for _ in 0..self.entries.len() {
            let Some(e) = self.entries.get_mut(i as usize) else {
                break;
            };
            if e.family == family && e.addr == addr {
                let elapsed = now_ns.saturating_sub(e.last_ns);
                let tokens = e.tokens.saturating_add(elapsed).min(TOKEN_MAX);
                e.last_ns = now_ns;
                let ok = tokens >= PACKET_COST;
                e.tokens = if ok { tokens - PACKET_COST } else { tokens };
                return ok;
            }
            i = e.next;
        }
        // A new source.
        let new = self.free;
        let Some(e) = self.entries.get_mut(new as usize) else {
            return false;
        };
        self.free = e.next;
        *e = Entry {
            addr,
            last_ns: now_ns,
            tokens: TOKEN_MAX - PACKET_COST,
            next: head,
            family,
        };
        if let Some(h) = self.buckets.get_mut(bucket) {
            *h = new;
        }
        self.used = self.used.saturating_add(1);
        true
    }

    /// Forgets sources idle for more than a second (as the C driver's
    /// periodic garbage collection). Returns how many were dropped.
    pub fn gc(&mut self, now_ns: u64) -> usize {
        self.retain(|last| now_ns.saturating_sub(last) <= NSEC_PER_SEC)
    }

    /// Forgets every source.
    pub fn clear(&mut self) {
        self.retain(|_| false);
    }

    fn retain(&mut self, keep: impl Fn(u64) -> bool) -> usize {
        let mut dropped = 0usize;
        let limit = self.entries.len();
        for b in 0..self.buckets.len() {
            let mut prev = NIL;
            let mut i = self.buckets.get(b).copied().unwrap_or(NIL);
            for _ in 0..limit {
                let Some(e) = self.entries.get_mut(i as usize) else {
                    break;
                };
                let next = e.next;
                if keep(e.last_ns) {
                    prev = i;
                } else {
                    *e = Entry {
                        next: self.free,
                        ..FREE_ENTRY
                    };
                    self.free = i;
                    self.used = self.used.saturating_sub(1);
                    dropped = dropped.saturating_add(1);
                    let link = if prev == NIL {
                        self.buckets.get_mut(b)
                    } else {
                        self.entries.get_mut(prev as usize).map(|p| &mut p.next)
                    };
                    if let Some(link) = link {
                        *link = next;
                    }
                }
                i = next;
            }
        }
        dropped
    }
}

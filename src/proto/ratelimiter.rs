// SPDX-License-Identifier: GPL-2.0
//! Rate limiting of handshake messages per source address, used while the
//! device is under load (as the C driver's `ratelimiter.c`).
//!
//! A token bucket per source: [`RATELIMIT_PACKETS_PER_SECOND`] packets per
//! second with a burst of [`RATELIMIT_PACKETS_BURSTABLE`]. A source is a
//! scope (the caller's: the driver passes its network namespace) plus a full
//! IPv4 address or an IPv6 /64.
//!
//! # Design: a full table never locks a new source out
//!
//! The table is set-associative: a source hashes (hsiphash under a random
//! key, so chosen collisions are impractical) to one set of
//! [`ENTRIES_PER_BUCKET`] slots, all allocated when the limiter is created:
//! nothing is allocated per packet, and each packet looks at one set only
//! (bounded work). A source that is not in its set takes, in this order:
//!
//! 1. an empty slot;
//! 2. a slot whose bucket has refilled to [`TOKEN_MAX`] (idle for long
//!    enough): such an entry answers exactly as an absent one would (a new
//!    source starts with a full burst too), so reusing it changes nothing
//!    for the source it held;
//! 3. otherwise the least recently used slot of the set.
//!
//! So a new source is never refused for lack of room (the C driver, and this
//! limiter before, refused every unknown source once full: an attacker with
//! many addresses could hold the table and lock every new client out for as
//! long as the flood lasted). What an eviction (case 3) gives away is bounded:
//! the evicted source, when it comes back, gets one fresh burst
//! ([`RATELIMIT_PACKETS_BURSTABLE`] packets) more than it would have had.
//! The least recently used entry is evicted because a source that keeps
//! sending is the most recently used one after each of its packets: to evict
//! it, an attacker must bring `ENTRIES_PER_BUCKET` new sources into its very
//! set between two of its packets, without knowing the hash key; with the
//! driver's table (8192 sets) that is tens of thousands of new sources, each
//! of which must have completed a cookie exchange, per packet interval of the
//! victim. A steady source is thus held to its rate however many sources an
//! attacker cycles through.
//!
//! Entries idle for more than a second are forgotten (as the C driver's
//! garbage collection, once a second): [`RateLimiter::allow`] sweeps one set
//! per call besides its own (bounded work), so under
//! load the whole table is swept every `sets` packets, and [`RateLimiter::gc`]
//! sweeps everything at once. The sweep is not needed for room (idle entries
//! are reused on demand, case 2): it keeps [`RateLimiter::len`] meaningful
//! and forgets the addresses of sources that went away.

use super::constants::{NSEC_PER_SEC, RATELIMIT_PACKETS_BURSTABLE, RATELIMIT_PACKETS_PER_SECOND};
use super::platform::{vec_filled, Alloc, AllocError, Crypto};
use super::siphash::SipKey;
use core::cmp::Reverse;

/// Cost of one packet in tokens (a token is a nanosecond of allowance).
pub const PACKET_COST: u64 = NSEC_PER_SEC / RATELIMIT_PACKETS_PER_SECOND;
/// Bucket size: the burst.
pub const TOKEN_MAX: u64 = PACKET_COST * RATELIMIT_PACKETS_BURSTABLE;
/// Slots per set (the C driver's `max_entries = table_size * 8`).
pub const ENTRIES_PER_BUCKET: usize = 8;
/// Largest number of sets (the C driver's table size on machines with more
/// than 1 GiB of memory): 65,536 sources.
pub const MAX_TABLE_SIZE: usize = 8192;
/// Smallest number of sets.
pub const MIN_TABLE_SIZE: usize = 16;

// Tokens are stored in 32 bits.
const _: () = assert!(TOKEN_MAX <= u32::MAX as u64);

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
            Source::V6(a) => (6, (u128::from_be_bytes(*a) >> 64) as u64),
        }
    }
}

/// `family` of an empty slot (so the all-zero `Entry::default()` is empty).
const EMPTY: u8 = 0;

#[derive(Clone, Copy, Default)]
pub(crate) struct Entry {
    scope: u64,
    addr: u64,
    last_ns: u64,
    tokens: u32,
    pub(crate) family: u8,
}

impl Entry {
    /// The tokens the entry would have at `now_ns`.
    fn tokens_at(&self, now_ns: u64) -> u64 {
        u64::from(self.tokens)
            .saturating_add(now_ns.saturating_sub(self.last_ns))
            .min(TOKEN_MAX)
    }
}

/// A bounded per-source token-bucket limiter that always has room for a new
/// source (see the module documentation).
pub struct RateLimiter<A: Alloc, C: Crypto> {
    key: SipKey<C>,
    /// `sets * ENTRIES_PER_BUCKET` slots, set by set; `sets` is a power of two.
    pub(crate) entries: A::Vec<Entry>,
    pub(crate) sets: usize,
    /// The next set the incremental sweep looks at.
    sweep: usize,
    pub(crate) used: usize,
}

impl<A: Alloc, C: Crypto> RateLimiter<A, C> {
    /// A limiter with `table_size` sets (rounded up to a power of two and
    /// clamped to [`MIN_TABLE_SIZE`]..=[`MAX_TABLE_SIZE`]) of
    /// `ENTRIES_PER_BUCKET` sources each, all allocated now (32 bytes per
    /// source: 2 MiB at the largest size). `key` should be
    /// [`SipKey::random`]. The C driver picks the table size from the
    /// machine's memory: 8192 above 1 GiB, else RAM / 16 KiB / 8 (at least 16).
    pub fn new(table_size: usize, key: SipKey<C>) -> Result<Self, AllocError> {
        let sets = Self::sets_for(table_size);
        let entries =
            vec_filled::<A, _>(sets.saturating_mul(ENTRIES_PER_BUCKET), Entry::default())?;
        Ok(Self {
            key,
            entries,
            sets,
            sweep: 0,
            used: 0,
        })
    }

    /// The table size the C driver picks for a machine with `ram_bytes` of
    /// memory: [`MAX_TABLE_SIZE`] above 1 GiB, else RAM / 16 KiB / 8
    /// rounded up to a power of two, at least [`MIN_TABLE_SIZE`]. Here the
    /// entries are all allocated up front: 32 bytes per source, so at most
    /// RAM / 512 (2 MiB for the largest table).
    pub fn table_size_for_memory(ram_bytes: u64) -> usize {
        if ram_bytes > 1 << 30 {
            return MAX_TABLE_SIZE;
        }
        Self::sets_for(usize::try_from(ram_bytes / (1 << 14) / 8).unwrap_or(MAX_TABLE_SIZE))
    }

    /// `n` within [`MIN_TABLE_SIZE`]..=[`MAX_TABLE_SIZE`], rounded up to a
    /// power of two.
    fn sets_for(n: usize) -> usize {
        n.clamp(MIN_TABLE_SIZE, MAX_TABLE_SIZE)
            .checked_next_power_of_two()
            .unwrap_or(MAX_TABLE_SIZE)
    }

    fn set_mut(&mut self, set: usize) -> &mut [Entry] {
        let start = set.saturating_mul(ENTRIES_PER_BUCKET);
        let end = start.saturating_add(ENTRIES_PER_BUCKET);
        self.entries.get_mut(start..end).unwrap_or(&mut [])
    }

    /// Whether a packet from `src` in `scope` at time `now_ns` is within its
    /// rate. The first packet of a source the table does not hold is always
    /// allowed (and leaves the burst less one), full table or not.
    pub fn allow(&mut self, scope: u64, src: &Source, now_ns: u64) -> bool {
        // One more set of the incremental sweep.
        let set = self.sweep;
        self.sweep = set.wrapping_add(1) & self.sets.wrapping_sub(1);
        self.sweep_set(set, now_ns);
        let (family, addr) = src.key();
        // Hashed: the scope and the address as little-endian words, then the
        // family (`u128` only to place the words: shifts by a constant 64).
        let words = ((u128::from(addr) << 64) | u128::from(scope)).to_le_bytes();
        let input: [u8; 17] = core::array::from_fn(|i| words.get(i).copied().unwrap_or(family));
        // The number of sets is a power of two: the low bits pick one.
        let set = (self.key.hsiphash(&input) as usize) & self.sets.wrapping_sub(1);
        let slots = self.set_mut(set);
        if let Some(e) = slots
            .iter_mut()
            .find(|e| e.family == family && e.addr == addr && e.scope == scope)
        {
            let tokens = e.tokens_at(now_ns);
            e.last_ns = now_ns;
            let left = tokens.checked_sub(PACKET_COST);
            e.tokens = u32::try_from(left.unwrap_or(tokens)).unwrap_or(u32::MAX);
            return left.is_some();
        }
        // A new source: an empty slot, else one whose bucket is full again
        // (indistinguishable from an absent entry), else the least recently
        // used one.
        // The first of the highest rank: empty, then refilled, then least
        // recently used.
        let victim = slots.iter_mut().min_by_key(|e| {
            Reverse(if e.family == EMPTY {
                (2, 0)
            } else if e.tokens_at(now_ns) >= TOKEN_MAX {
                (1, 0)
            } else {
                (0, u64::MAX - e.last_ns)
            })
        });
        let Some(e) = victim else {
            // Only with an empty table (no slots at all).
            return true;
        };
        let was_empty = e.family == EMPTY;
        *e = Entry {
            scope,
            addr,
            last_ns: now_ns,
            tokens: (TOKEN_MAX - PACKET_COST) as u32,
            family,
        };
        if was_empty {
            self.used = self.used.saturating_add(1);
        }
        true
    }

    /// Empties the slots of `set` idle for more than a second at `now_ns`;
    /// returns how many.
    pub(crate) fn sweep_set(&mut self, set: usize, now_ns: u64) -> usize {
        let mut dropped = 0usize;
        for e in self.set_mut(set).iter_mut() {
            if e.family != EMPTY && now_ns.saturating_sub(e.last_ns) > NSEC_PER_SEC {
                *e = Entry::default();
                dropped = dropped.saturating_add(1);
            }
        }
        self.used = self.used.saturating_sub(dropped);
        dropped
    }
}

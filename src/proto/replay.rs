// SPDX-License-Identifier: GPL-2.0
//! Replay protection for data messages: a sliding window over the receive
//! counters of one keypair, in the manner of RFC 6479.
//!
//! The window is a ring of [`WORDS`] 64-bit words (8192 bits). One word is
//! always being recycled as the window slides, so the usable window is
//! [`WINDOW_SIZE`] = 8192 - 64 counters behind the highest one accepted, as in
//! the C driver (`counter_validate` in `receive.c`). Sliding forward clears at
//! most the whole ring, so every call costs O(1) (at most 128 word stores).
//!
//! Counters are stored shifted by one internally (`counter + 1`) so that an
//! all-zero window means "nothing received yet" and counter 0 is accepted once.

use super::constants::REJECT_AFTER_MESSAGES;

/// Bits in one word of the ring.
const WORD_BITS: u64 = u64::BITS as u64;
/// Words in the ring (a power of two).
const WORDS: usize = 128;
/// Total bits in the ring.
const BITS_TOTAL: u64 = WORDS as u64 * WORD_BITS;
/// How far behind the highest accepted counter a counter may be and still be
/// accepted (if not seen before): 8128, as `COUNTER_WINDOW_SIZE` in the C driver.
pub const WINDOW_SIZE: u64 = BITS_TOTAL - WORD_BITS;

/// The replay window of one receiving key. About 1 KiB: embed it in a
/// heap-allocated keypair, do not keep several on the stack.
#[derive(Clone)]
pub struct ReplayWindow {
    /// Highest accepted counter plus one; 0 when nothing was accepted yet.
    pub(crate) next: u64,
    /// Ring of seen bits; bit `c % 64` of word `(c / 64) % WORDS` stands for
    /// the shifted counter `c`.
    bitmap: [u64; WORDS],
}

impl ReplayWindow {
    /// An empty window: every counter below [`REJECT_AFTER_MESSAGES`] is acceptable.
    pub const fn new() -> Self {
        Self {
            next: 0,
            bitmap: [0; WORDS],
        }
    }

    /// Returns `true` and records `counter` if it is acceptable: below
    /// [`REJECT_AFTER_MESSAGES`], not more than [`WINDOW_SIZE`] behind the
    /// highest counter accepted so far, and not accepted before. Returns
    /// `false` (and changes nothing) otherwise.
    ///
    /// Call it only after the packet authenticated, so that forged counters
    /// cannot advance the window.
    pub fn check_and_update(&mut self, counter: u64) -> bool {
        if counter >= REJECT_AFTER_MESSAGES {
            return false;
        }
        // Below REJECT_AFTER_MESSAGES: adding one cannot wrap.
        let shifted = counter.wrapping_add(1);
        if shifted.saturating_add(WINDOW_SIZE) < self.next {
            // Too old: behind the window.
            return false;
        }
        let word_index = shifted / WORD_BITS;
        if shifted > self.next {
            // Slide forward: clear the words between the current head word
            // (exclusive) and the new head word (inclusive), at most the ring.
            let current = self.next / WORD_BITS;
            let to_clear = word_index.saturating_sub(current).min(WORDS as u64);
            for i in 1..=to_clear {
                if let Some(w) = self.bitmap.get_mut(ring_slot(current.wrapping_add(i))) {
                    *w = 0;
                }
            }
            self.next = shifted;
        }
        let bit = 1u64 << (shifted % WORD_BITS);
        self.bitmap.get_mut(ring_slot(word_index)).is_some_and(|w| {
            let seen = *w & bit != 0;
            *w |= bit;
            !seen
        })
    }
}

/// Position in the ring of the word that holds shifted counters
/// `word * 64 .. word * 64 + 63`.
#[inline]
fn ring_slot(word: u64) -> usize {
    // WORDS is a power of two; the result is below WORDS, so the cast is lossless.
    (word % WORDS as u64) as usize
}

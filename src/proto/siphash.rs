// SPDX-License-Identifier: GPL-2.0
//! The keyed hash of the protocol core's hash tables: SipHash-2-4 (Aumasson
//! and Bernstein) under a secret random key, so that an attacker who chooses
//! the hashed values (source addresses, public keys) cannot choose
//! collisions. The platform computes it ([`Crypto::siphash`]: the kernel's
//! `siphash()`); the rate limiter uses the faster [`Crypto::hsiphash`], as
//! the C driver does.

use super::platform::Crypto;
use super::secret::Secret;
use core::marker::PhantomData;

/// A 128-bit SipHash key, as two little-endian 64-bit words, hashing with
/// platform `C`.
pub struct SipKey<C> {
    pub(crate) words: [u64; 2],
    platform: PhantomData<fn() -> C>,
}

impl<C: Crypto> SipKey<C> {
    /// The key of two words.
    pub const fn new(words: [u64; 2]) -> Self {
        Self {
            words,
            platform: PhantomData,
        }
    }

    /// A fresh random key.
    pub fn random() -> Self {
        // Two little-endian words; `u128` only to convert: a shift by a
        // constant 64 is a word move.
        let k = u128::from_le_bytes(*Secret::<C, 16>::random().as_bytes());
        Self::new([k as u64, (k >> 64) as u64])
    }

    /// SipHash-2-4 of `data`.
    pub fn hash(&self, data: &[u8]) -> u64 {
        C::siphash(&self.words, data)
    }

    /// The kernel's `hsiphash()` of `data` (SipHash-1-3, 32 bits).
    pub fn hsiphash(&self, data: &[u8]) -> u32 {
        C::hsiphash(&self.words, data)
    }
}

impl<C> core::fmt::Debug for SipKey<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The key is secret.
        f.write_str("SipKey(..)")
    }
}

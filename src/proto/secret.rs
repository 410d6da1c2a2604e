// SPDX-License-Identifier: GPL-2.0
//! A fixed-size secret that is zeroed on drop.

use super::platform::Crypto;
use core::marker::PhantomData;

/// `N` secret bytes, zeroed with [`Crypto::zeroize`] when dropped. Not `Copy`
/// and not `Debug`, so that secrets are neither duplicated by accident nor
/// printed.
pub struct Secret<C: Crypto, const N: usize> {
    bytes: [u8; N],
    _crypto: PhantomData<fn() -> C>,
}

/// A 32-byte symmetric key, private key or chaining key.
pub type Key<C> = Secret<C, 32>;

impl<C: Crypto, const N: usize> Secret<C, N> {
    /// All zeroes.
    pub const fn zero() -> Self {
        Self::new([0; N])
    }

    /// Takes ownership of `bytes` (the caller should zero its own copy).
    pub const fn new(bytes: [u8; N]) -> Self {
        Self {
            bytes,
            _crypto: PhantomData,
        }
    }

    /// Fresh random bytes.
    pub fn random() -> Self {
        let mut s = Self::zero();
        C::random_bytes(&mut s.bytes);
        s
    }

    /// Copies `src` in and zeroes `src`.
    pub fn take_from(src: &mut [u8; N]) -> Self {
        let s = Self::new(*src);
        C::zeroize(src);
        s
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; N] {
        &self.bytes
    }

    /// The secret bytes, mutably.
    pub fn as_mut_bytes(&mut self) -> &mut [u8; N] {
        &mut self.bytes
    }

    /// Whether every byte is zero (constant time).
    pub fn is_zero(&self) -> bool {
        C::ct_eq(&self.bytes, &[0u8; N])
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &[u8; N]) -> bool {
        C::ct_eq(&self.bytes, other)
    }

    /// An explicit copy (secrets are not `Clone` to keep copies visible).
    pub fn duplicate(&self) -> Self {
        Self::new(self.bytes)
    }
}

impl<C: Crypto, const N: usize> Drop for Secret<C, N> {
    fn drop(&mut self) {
        C::zeroize(&mut self.bytes);
    }
}

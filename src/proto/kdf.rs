// SPDX-License-Identifier: GPL-2.0
//! BLAKE2s hashing, keyed MACs, HMAC-BLAKE2s and the HKDF chain of the
//! WireGuard paper (section 5.4): `Kdf1`, `Kdf2`, `Kdf3`.

use super::platform::{Crypto, BLAKE2S_BLOCK_LEN as BLOCK_LEN, HASH_LEN, KEY_LEN};
use super::secret::Key;
/// Length of mac1, mac2 and cookies.
pub const MAC_LEN: usize = 16;

/// `HASH(a || b)`: unkeyed BLAKE2s-256.
pub fn hash<C: Crypto>(a: &[u8], b: &[u8]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    C::blake2s(&mut out, &[], &[a, b]);
    out
}

/// `MAC(key, a || b)`: keyed BLAKE2s with a 16-byte digest (mac1, mac2, cookies).
pub fn mac<C: Crypto>(key: &[u8], a: &[u8], b: &[u8]) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    C::blake2s(&mut out, key, &[a, b]);
    out
}

/// `HMAC(key, a || b)` with BLAKE2s-256 (RFC 2104). Keys longer than a block
/// are hashed first, as RFC 2104 says; WireGuard's are all 32 bytes.
pub fn hmac<C: Crypto>(key: &[u8], a: &[u8], b: &[u8]) -> Key<C> {
    let mut pad = key_block::<C>(key);
    xor_pad(&mut pad, IPAD);
    let mut inner = [0u8; HASH_LEN];
    C::blake2s(&mut inner, &[], &[&pad, a, b]);
    xor_pad(&mut pad, IPAD ^ OPAD);
    let mut out = Key::<C>::zero();
    C::blake2s(out.as_mut_bytes(), &[], &[&pad, &inner]);
    C::zeroize(&mut pad);
    C::zeroize(&mut inner);
    out
}

/// `key` zero-padded to a block; a key longer than a block is hashed first
/// (RFC 2104).
fn key_block<C: Crypto>(key: &[u8]) -> [u8; BLOCK_LEN] {
    let mut block = [0u8; BLOCK_LEN];
    if let Some(k) = block.get_mut(..key.len()) {
        k.copy_from_slice(key);
    } else if let Some(h) = block.first_chunk_mut::<HASH_LEN>() {
        C::blake2s(h, &[], &[key]);
    }
    block
}

/// RFC 2104's inner and outer pad bytes.
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// `block ^= byte` in every position, eight bytes at a time: kernel code
/// has no SIMD, and the compiler would otherwise go byte by byte (64 loads
/// and stores, for each of the two pads of every HMAC).
fn xor_pad(block: &mut [u8; BLOCK_LEN], byte: u8) {
    let fill = u64::from_ne_bytes([byte; 8]);
    for word in block.chunks_exact_mut(8) {
        if let Ok(word) = <&mut [u8; 8]>::try_from(word) {
            *word = (u64::from_ne_bytes(*word) ^ fill).to_ne_bytes();
        }
    }
}

/// A keyed MAC's long-lived key (mac1's, made from a public key; the cookie
/// secret) with its block hashed once: each MAC under it hashes only the
/// message. mac1 of an initiation takes 2 BLAKE2s compressions instead of
/// 3, for every handshake message received, forged or not, and every one
/// sent; a source's cookie 1 instead of 2.
pub struct MacKey<C: Crypto>(C::Blake2sPrefix);

impl<C: Crypto> MacKey<C> {
    /// The MAC key `key`, its block hashed now.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self(C::blake2s_keyed_prefix(MAC_LEN, key))
    }

    /// `MAC(key, a || b)`; `a || b` is never empty (a message body).
    pub fn mac(&self, a: &[u8], b: &[u8]) -> [u8; MAC_LEN] {
        let mut out = [0u8; MAC_LEN];
        C::blake2s_resume(&self.0, &mut out, &[a, b]);
        out
    }

    /// Whether `mac` is `MAC(key, a || b)`. Constant time; the computed MAC
    /// is wiped.
    pub fn verify(&self, a: &[u8], b: &[u8], mac: &[u8; MAC_LEN]) -> bool {
        let mut computed = self.mac(a, b);
        let ok = C::ct_eq(&computed, mac);
        C::zeroize(&mut computed);
        ok
    }
}

impl<C: Crypto> Clone for MacKey<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// An HMAC-BLAKE2s key with its two padded blocks (RFC 2104's `K ^ ipad`
/// and `K ^ opad`) hashed once: each HMAC under it then takes two BLAKE2s
/// compressions instead of four. A `Kdf` makes all its outputs under one
/// key (`T0`): `Kdf2` saves 2 compressions, `Kdf3` 4 (the responder's
/// chain of keys, four `Kdf1`s, three `Kdf2`s and a `Kdf3`: 73
/// compressions instead of 83; `host/tests/crypto_calls.rs` counts them).
struct HmacKey<C: Crypto> {
    inner: C::Blake2sPrefix,
    outer: C::Blake2sPrefix,
}

impl<C: Crypto> HmacKey<C> {
    /// `Kdf`'s extraction: the key `T0 = HMAC(key, input)`.
    fn extract(key: &[u8], input: &[u8]) -> Self {
        let t0 = hmac::<C>(key, input, &[]);
        let mut pad = key_block::<C>(t0.as_bytes());
        xor_pad(&mut pad, IPAD);
        let inner = C::blake2s_block_prefix(&pad);
        xor_pad(&mut pad, IPAD ^ OPAD);
        let outer = C::blake2s_block_prefix(&pad);
        C::zeroize(&mut pad);
        Self { inner, outer }
    }

    /// `HMAC(T0, a || b)`: `a` is never empty here (each output's input
    /// ends with its counter byte), as `blake2s_resume` needs.
    fn mac(&self, a: &[u8], b: &[u8]) -> Key<C> {
        let mut inner = [0u8; HASH_LEN];
        C::blake2s_resume(&self.inner, &mut inner, &[a, b]);
        let mut out = Key::<C>::zero();
        C::blake2s_resume(&self.outer, out.as_mut_bytes(), &[&inner]);
        C::zeroize(&mut inner);
        out
    }
}

/// `Kdf1(key, input)`: one 32-byte output.
pub fn kdf1<C: Crypto>(key: &[u8], input: &[u8]) -> Key<C> {
    HmacKey::<C>::extract(key, input).mac(&[1], &[])
}

/// `Kdf2(key, input)`: two 32-byte outputs.
pub fn kdf2<C: Crypto>(key: &[u8], input: &[u8]) -> (Key<C>, Key<C>) {
    let t0 = HmacKey::<C>::extract(key, input);
    let t1 = t0.mac(&[1], &[]);
    let t2 = t0.mac(t1.as_bytes(), &[2]);
    (t1, t2)
}

/// `Kdf3(key, input)`: three 32-byte outputs.
pub fn kdf3<C: Crypto>(key: &[u8], input: &[u8]) -> (Key<C>, Key<C>, Key<C>) {
    let t0 = HmacKey::<C>::extract(key, input);
    let t1 = t0.mac(&[1], &[]);
    let t2 = t0.mac(t1.as_bytes(), &[2]);
    let t3 = t0.mac(t2.as_bytes(), &[3]);
    (t1, t2, t3)
}

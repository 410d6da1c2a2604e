// SPDX-License-Identifier: GPL-2.0
//! BLAKE2s hashing, keyed MACs, HMAC-BLAKE2s and the HKDF chain of the
//! WireGuard paper (section 5.4): `Kdf1`, `Kdf2`, `Kdf3`.

use super::platform::{Crypto, HASH_LEN};
use super::secret::Key;

/// BLAKE2s block size, the HMAC block size.
const BLOCK_LEN: usize = 64;
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
    let mut pad = [0x36u8; BLOCK_LEN];
    let mut hashed_key = [0u8; HASH_LEN];
    let key = if key.len() > BLOCK_LEN {
        C::blake2s(&mut hashed_key, &[], &[key]);
        &hashed_key[..]
    } else {
        key
    };
    // The key, zero-padded to a block, XOR ipad.
    for (p, k) in pad.iter_mut().zip(key.iter()) {
        *p ^= *k;
    }
    let mut inner = [0u8; HASH_LEN];
    C::blake2s(&mut inner, &[], &[&pad, a, b]);
    for p in pad.iter_mut() {
        *p ^= 0x36 ^ 0x5c;
    }
    let mut out = Key::<C>::zero();
    C::blake2s(out.as_mut_bytes(), &[], &[&pad, &inner]);
    C::zeroize(&mut pad);
    C::zeroize(&mut inner);
    C::zeroize(&mut hashed_key);
    out
}

/// `Kdf1(key, input)`: one 32-byte output (two HMACs where `Kdf2` takes three).
pub fn kdf1<C: Crypto>(key: &[u8], input: &[u8]) -> Key<C> {
    hmac::<C>(hmac::<C>(key, input, &[]).as_bytes(), &[1], &[])
}

/// `Kdf2(key, input)`: two 32-byte outputs.
pub fn kdf2<C: Crypto>(key: &[u8], input: &[u8]) -> (Key<C>, Key<C>) {
    let t0 = hmac::<C>(key, input, &[]);
    let t1 = hmac::<C>(t0.as_bytes(), &[1], &[]);
    let t2 = hmac::<C>(t0.as_bytes(), t1.as_bytes(), &[2]);
    (t1, t2)
}

/// `Kdf3(key, input)`: three 32-byte outputs.
pub fn kdf3<C: Crypto>(key: &[u8], input: &[u8]) -> (Key<C>, Key<C>, Key<C>) {
    let t0 = hmac::<C>(key, input, &[]);
    let t1 = hmac::<C>(t0.as_bytes(), &[1], &[]);
    let t2 = hmac::<C>(t0.as_bytes(), t1.as_bytes(), &[2]);
    let t3 = hmac::<C>(t0.as_bytes(), t2.as_bytes(), &[3]);
    (t1, t2, t3)
}

// SPDX-License-Identifier: GPL-2.0
//! The host platform: RustCrypto crates stand in for the kernel's lib/crypto,
//! `std::time` for ktime, `std` vectors for kmalloc.

extern crate std;

use crate::proto::platform::{
    Alloc, AllocError, Clock, Crypto, BLAKE2S_BLOCK_LEN, HASH_LEN, KEY_LEN, TAG_LEN, XNONCE_LEN,
};
use blake2::digest::{Update, VariableOutput};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use std::vec::Vec;

/// The host platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host;

impl Crypto for Host {
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        // Outside the contract: zeroes, as the kernel platform gives.
        if out.is_empty() || out.len() > HASH_LEN || key.len() > KEY_LEN {
            out.fill(0);
        } else if key.is_empty() {
            let mut h = blake2::Blake2sVar::new(out.len()).expect("digest length 1..=32");
            for part in input {
                h.update(part);
            }
            h.finalize_variable(out).expect("output length matches");
        } else {
            keyed_blake2s(out, key, input);
        }
    }

    type Blake2sPrefix = Blake2sPrefix;

    fn blake2s_keyed_prefix(out_len: usize, key: &[u8; KEY_LEN]) -> Blake2sPrefix {
        let mut first = [0u8; BLAKE2S_BLOCK_LEN];
        first[..KEY_LEN].copy_from_slice(key);
        Blake2sPrefix {
            first,
            key_len: KEY_LEN,
            out_len,
        }
    }

    fn blake2s_block_prefix(block: &[u8; BLAKE2S_BLOCK_LEN]) -> Blake2sPrefix {
        Blake2sPrefix {
            first: *block,
            key_len: 0,
            out_len: 32,
        }
    }

    fn blake2s_resume(prefix: &Blake2sPrefix, out: &mut [u8], input: &[&[u8]]) {
        if out.len() != prefix.out_len || input.iter().all(|part| part.is_empty()) {
            out.fill(0);
        } else if prefix.key_len > 0 {
            Self::blake2s(out, &prefix.first[..prefix.key_len], input);
        } else {
            let mut all: Vec<&[u8]> = Vec::with_capacity(input.len() + 1);
            all.push(&prefix.first);
            all.extend_from_slice(input);
            Self::blake2s(out, &[], &all);
        }
    }

    fn x25519(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN], point: &[u8; KEY_LEN]) -> bool {
        let secret = x25519_dalek::StaticSecret::from(*scalar);
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*point));
        *out = *shared.as_bytes();
        shared.was_contributory()
    }

    fn x25519_base(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN]) {
        let secret = x25519_dalek::StaticSecret::from(*scalar);
        *out = *x25519_dalek::PublicKey::from(&secret).as_bytes();
    }

    fn aead_seal(key: &[u8; KEY_LEN], counter: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let cipher = chacha20poly1305::ChaCha20Poly1305::new(key.into());
        let tag = cipher
            .encrypt_in_place_detached(&nonce96(counter).into(), ad, buf)
            .expect("buffer within AEAD limits");
        tag.into()
    }

    fn aead_open(
        key: &[u8; KEY_LEN],
        counter: u64,
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        let cipher = chacha20poly1305::ChaCha20Poly1305::new(key.into());
        cipher
            .decrypt_in_place_detached(&nonce96(counter).into(), ad, buf, tag.into())
            .is_ok()
    }

    fn xaead_seal(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
        let tag = cipher
            .encrypt_in_place_detached(nonce.into(), ad, buf)
            .expect("buffer within AEAD limits");
        tag.into()
    }

    fn xaead_open(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
        cipher
            .decrypt_in_place_detached(nonce.into(), ad, buf, tag.into())
            .is_ok()
    }

    fn random_bytes(buf: &mut [u8]) {
        getrandom::getrandom(buf).expect("system randomness");
    }

    fn zeroize(buf: &mut [u8]) {
        zeroize::Zeroize::zeroize(buf);
    }

    fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
    }

    fn siphash(key: &[u64; 2], data: &[u8]) -> u64 {
        crate::siphash::siphash24(key, data)
    }

    fn hsiphash(key: &[u64; 2], data: &[u8]) -> u32 {
        // Truncation is the kernel's: `hsiphash()` returns the low 32 bits.
        crate::siphash::siphash13(key, data) as u32
    }
}

/// The host's BLAKE2s after one block: the block itself (a key, or an HMAC
/// pad), hashed again on each resume. The host platform is the definition
/// the kernel's (a real mid-state) is checked against, not a fast one.
#[derive(Clone)]
pub struct Blake2sPrefix {
    first: [u8; BLAKE2S_BLOCK_LEN],
    /// 0: unkeyed, `first` is the block; else `first` starts with the key.
    key_len: usize,
    out_len: usize,
}

impl Drop for Blake2sPrefix {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.first);
    }
}

fn nonce96(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// Keyed BLAKE2s with an arbitrary digest length (1..=32) and key (1..=32).
fn keyed_blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
    use blake2::digest::{FixedOutput, Mac};
    // The `blake2` crate only exposes keyed hashing with a type-level output
    // size; WireGuard needs 16 (mac1/mac2) and 32 (HMAC is built on the
    // unkeyed hash, so 32 is only used by tests). Dispatch on the size.
    macro_rules! keyed {
        ($n:ty) => {{
            let mut m = <blake2::Blake2sMac<$n> as blake2::digest::KeyInit>::new_from_slice(key)
                .expect("key length 1..=32");
            for part in input {
                Mac::update(&mut m, part);
            }
            out.copy_from_slice(&m.finalize_fixed());
        }};
    }
    use blake2::digest::consts::{U16, U32};
    match out.len() {
        16 => keyed!(U16),
        32 => keyed!(U32),
        n => panic!("unsupported keyed BLAKE2s digest length {n}"),
    }
}

impl Clock for Host {
    fn now_ns() -> u64 {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        let start = *START.get_or_init(Instant::now);
        // Start well above zero, as the kernel's boot-time clock does after boot,
        // so that "a long time ago" is representable.
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1_000_000_000_000
    }

    fn wall() -> (u64, u32) {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970");
        (d.as_secs(), d.subsec_nanos())
    }
}

impl Alloc for Host {
    type Vec<T> = Vec<T>;

    fn vec_new<T>() -> Vec<T> {
        Vec::new()
    }

    fn vec_push<T>(vec: &mut Vec<T>, value: T) -> Result<(), AllocError> {
        vec.try_reserve(1).map_err(|_| AllocError)?;
        vec.push(value);
        Ok(())
    }

    fn vec_pop<T>(vec: &mut Vec<T>) -> Option<T> {
        vec.pop()
    }

    fn vec_reserve<T>(vec: &mut Vec<T>, additional: usize) -> Result<(), AllocError> {
        vec.try_reserve(additional).map_err(|_| AllocError)
    }
}

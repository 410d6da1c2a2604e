// SPDX-License-Identifier: GPL-2.0
//! What the protocol core needs from its host: cryptographic primitives, a clock,
//! and fallible allocation.
//!
//! The kernel module implements these traits over the in-kernel crypto library
//! (lib/crypto, with its SIMD versions), `ktime` and `kmalloc`; the host crate
//! (`host/`) implements them over RustCrypto crates, `std::time` and `std::vec`
//! so that `cargo test` runs the very same protocol source files.
//!
//! Everything here is associated functions on zero-sized implementors, so that
//! the protocol code is monomorphised per platform and nothing is dispatched at
//! run time on the data path.

/// Length of every symmetric key, public key and private key.
pub const KEY_LEN: usize = 32;
/// Length of a ChaCha20-Poly1305 authentication tag.
pub const TAG_LEN: usize = 16;
/// Length of an XChaCha20-Poly1305 nonce.
pub const XNONCE_LEN: usize = 24;
/// Length of a BLAKE2s-256 digest.
pub const HASH_LEN: usize = 32;
/// Length of a BLAKE2s block (the HMAC block size).
pub const BLAKE2S_BLOCK_LEN: usize = 64;

/// The allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError;

/// Cryptographic primitives. All functions are constant time with respect to
/// secret inputs.
pub trait Crypto: 'static {
    /// BLAKE2s with a digest of `out.len()` bytes (1..=32), keyed with `key`
    /// (0..=32 bytes, empty means unkeyed), over the concatenation of `input`.
    /// Other lengths are a caller's bug: the kernel platform zeroes `out`.
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]);

    /// A BLAKE2s state that has hashed exactly one block and nothing more,
    /// to be finished any number of times over different inputs
    /// ([`Crypto::blake2s_resume`]): a fixed key's block hashed once for
    /// every message under it (mac1's keys, an HMAC key's padded blocks).
    /// It stands for its key: zeroed when dropped.
    type Blake2sPrefix: Clone;

    /// Keyed BLAKE2s with a digest of `out_len` bytes (1..=32), after the
    /// key's block: `blake2s_resume(&p, out, input)` is
    /// `blake2s(out, key, input)`.
    fn blake2s_keyed_prefix(out_len: usize, key: &[u8; KEY_LEN]) -> Self::Blake2sPrefix;

    /// Unkeyed BLAKE2s-256 after `block`: `blake2s_resume(&p, out, input)`
    /// is `blake2s(out, &[], &[block, input...])`.
    fn blake2s_block_prefix(block: &[u8; BLAKE2S_BLOCK_LEN]) -> Self::Blake2sPrefix;

    /// `prefix` (left as it is) finished over the concatenation of `input`.
    /// `input` must not be empty (BLAKE2s would have finished the prefix's
    /// block as the last one) and `out` must have the prefix's digest
    /// length: otherwise `out` is zeroed.
    fn blake2s_resume(prefix: &Self::Blake2sPrefix, out: &mut [u8], input: &[&[u8]]);

    /// X25519: `out = scalar * point`. Returns `false` when the result is the
    /// all-zero point (a low-order `point`), in which case `out` is unspecified.
    /// `scalar` is clamped by the function itself.
    fn x25519(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN], point: &[u8; KEY_LEN]) -> bool;

    /// X25519 with the base point: the public key of `scalar`.
    fn x25519_base(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN]);

    /// ChaCha20-Poly1305 (RFC 8439) in place, with the 96-bit nonce made of 4
    /// zero bytes and `counter` in little endian. Returns the tag. The texts
    /// of all four AEAD calls are short (handshake fields, cookies, the
    /// self-test's vectors): the kernel platform takes at most 128 bytes and
    /// seals a longer text to zeroes with a zero tag, which no peer accepts.
    fn aead_seal(key: &[u8; KEY_LEN], counter: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN];

    /// Inverse of [`Crypto::aead_seal`]. On failure returns `false`; the content of
    /// `buf` is then unspecified and must be discarded by the caller.
    fn aead_open(
        key: &[u8; KEY_LEN],
        counter: u64,
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool;

    /// XChaCha20-Poly1305 in place (cookie replies).
    fn xaead_seal(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN];

    /// Inverse of [`Crypto::xaead_seal`]; `false` on failure.
    fn xaead_open(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool;

    /// Fills `buf` with cryptographically secure random bytes.
    fn random_bytes(buf: &mut [u8]);

    /// Zeroes `buf` in a way the compiler may not elide.
    fn zeroize(buf: &mut [u8]);

    /// Constant-time equality of two byte strings of the same length
    /// (`false` when the lengths differ; the length is not secret).
    fn ct_eq(a: &[u8], b: &[u8]) -> bool;

    /// SipHash-2-4 of `data` under `key` (two little-endian words), the
    /// kernel's `siphash()`: see [`super::siphash`].
    fn siphash(key: &[u64; 2], data: &[u8]) -> u64;

    /// The kernel's 64-bit `hsiphash()`: SipHash-1-3 of `data` under `key`,
    /// truncated to 32 bits (faster, for the rate limiter, as in C).
    fn hsiphash(key: &[u64; 2], data: &[u8]) -> u32;
}

/// Time sources.
pub trait Clock: 'static {
    /// Monotonic time in nanoseconds that keeps counting across suspend
    /// (`ktime_get_coarse_boottime_ns()` in the kernel).
    fn now_ns() -> u64;

    /// Wall-clock time as seconds and nanoseconds since the Unix epoch
    /// (for TAI64N timestamps).
    fn wall() -> (u64, u32);
}

/// Fallible heap allocation. Nothing on a path reachable from unauthenticated
/// packets may call it.
pub trait Alloc: 'static {
    /// A growable array (`KVVec` in the kernel: kmalloc, falling back to
    /// vmalloc when large). Indexing goes through `Deref<Target = [T]>`.
    type Vec<T>: core::ops::DerefMut<Target = [T]>;

    /// An empty vector; does not allocate.
    fn vec_new<T>() -> Self::Vec<T>;

    /// Appends `value`, growing the vector if needed. On failure the vector is
    /// unchanged and `value` is dropped.
    fn vec_push<T>(vec: &mut Self::Vec<T>, value: T) -> Result<(), AllocError>;

    /// Removes and returns the last element.
    fn vec_pop<T>(vec: &mut Self::Vec<T>) -> Option<T>;

    /// Makes room for at least `additional` more elements.
    fn vec_reserve<T>(vec: &mut Self::Vec<T>, additional: usize) -> Result<(), AllocError>;
}

/// A vector of `n` copies of `value`, allocated in one step (bucket arrays).
pub fn vec_filled<A: Alloc, T: Copy>(n: usize, value: T) -> Result<A::Vec<T>, AllocError> {
    let mut v = A::vec_new();
    A::vec_reserve(&mut v, n)?;
    for _ in 0..n {
        A::vec_push(&mut v, value)?;
    }
    Ok(v)
}

// SPDX-License-Identifier: GPL-2.0
//! The kernel platform of the protocol core: `proto::platform`'s traits over
//! the in-kernel crypto library (with its SIMD versions), ktime and kmalloc.
//!
//! The AEADs are lib/crypto's (`chacha20poly1305_encrypt` and the XChaCha
//! variant, as the C driver's handshake calls them); they take the tag after
//! the text, where the core keeps it apart, so the text and tag pass through
//! a stack buffer (handshake fields are at most 48 bytes with their tag).

use super::bindings as b;
use crate::proto::platform::{
    Alloc, AllocError, Clock, Crypto, BLAKE2S_BLOCK_LEN, HASH_LEN, KEY_LEN, TAG_LEN, XNONCE_LEN,
};
use core::mem::MaybeUninit;
use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicI64, Ordering};
use kernel::alloc::{
    flags::{GFP_ATOMIC, GFP_KERNEL},
    KVVec,
};

/// The kernel platform. Allocation uses `GFP_KERNEL`: it may sleep, so
/// callers allocate from process context and outside spinlocks.
pub(crate) struct Kernel;

/// The longest text the AEADs take: a handshake field is at most 32 bytes
/// (a static key), a cookie 16, the load-time self-test's XChaCha20-Poly1305
/// vector 114. Nothing longer is ever sealed or opened (the lengths are the
/// protocol's constants, not a sender's); if it were, `seal` would return
/// the text zeroed with a zero tag, which no peer accepts, and `open` fails.
const AEAD_MAX: usize = 128;

/// Text and tag side by side, as lib/crypto's AEADs read and write them.
struct Joined([u8; AEAD_MAX + TAG_LEN]);

impl Drop for Joined {
    fn drop(&mut self) {
        Kernel::zeroize(&mut self.0);
    }
}

/// One of lib/crypto's AEADs, `(dst, src, src_len, ad, ad_len, nonce, key)`
/// with the tag after the text: the nonce `N` is a counter (ChaCha20-Poly1305)
/// or a pointer to `XNONCE_LEN` bytes (XChaCha20-Poly1305).
type Encrypt<N> = unsafe extern "C" fn(*mut u8, *const u8, usize, *const u8, usize, N, *const u8);
/// The decryption of [`Encrypt`]: checks the text and tag at `src`, and only
/// then writes the plaintext to `dst`.
type Decrypt<N> =
    unsafe extern "C" fn(*mut u8, *const u8, usize, *const u8, usize, N, *const u8) -> bool;

/// Seals `buf` in place with `encrypt`; returns the tag.
///
/// # Safety
///
/// `nonce` is what `encrypt` reads: a counter, or a pointer to `XNONCE_LEN`
/// readable bytes.
unsafe fn seal_joined<N>(
    encrypt: Encrypt<N>,
    key: &[u8; KEY_LEN],
    nonce: N,
    ad: &[u8],
    buf: &mut [u8],
) -> [u8; TAG_LEN] {
    let mut tag = [0u8; TAG_LEN];
    let len = buf.len();
    if len > AEAD_MAX {
        Kernel::zeroize(buf);
        return tag;
    }
    let mut out = Joined([0; AEAD_MAX + TAG_LEN]);
    // SAFETY: `out` is valid for writes of `len + TAG_LEN` bytes (`len <=
    // AEAD_MAX`), `buf` for reads of `len`, `ad` and `key` for reads of their
    // lengths; the nonce per the contract.
    unsafe {
        encrypt(
            out.0.as_mut_ptr(),
            buf.as_ptr(),
            len,
            ad.as_ptr(),
            ad.len(),
            nonce,
            key.as_ptr(),
        )
    };
    match out
        .0
        .split_at_checked(len)
        .and_then(|(text, rest)| Some((text, rest.first_chunk::<TAG_LEN>()?)))
    {
        Some((text, t)) => {
            buf.copy_from_slice(text);
            tag = *t;
        }
        // Not reached (`len <= AEAD_MAX`); never leave the plaintext.
        None => Kernel::zeroize(buf),
    }
    tag
}

/// Opens `buf` in place with `decrypt`, checking it against `tag`.
///
/// # Safety
///
/// As for [`seal_joined`].
unsafe fn open_joined<N>(
    decrypt: Decrypt<N>,
    key: &[u8; KEY_LEN],
    nonce: N,
    ad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    let mut input = Joined([0; AEAD_MAX + TAG_LEN]);
    let Some((text, rest)) = input.0.split_at_mut_checked(buf.len()) else {
        return false;
    };
    let Some(t) = rest.first_chunk_mut::<TAG_LEN>() else {
        return false;
    };
    text.copy_from_slice(buf);
    *t = *tag;
    // SAFETY: `input` is valid for reads of `buf.len() + TAG_LEN` bytes (the
    // text and the tag were just placed there), `buf` for writes of its
    // length, `ad` and `key` for reads of theirs; the nonce per the contract.
    unsafe {
        decrypt(
            buf.as_mut_ptr(),
            input.0.as_ptr(),
            buf.len().saturating_add(TAG_LEN),
            ad.as_ptr(),
            ad.len(),
            nonce,
            key.as_ptr(),
        )
    }
}

/// lib/crypto's BLAKE2s state after exactly one block, none of it left in
/// its buffer ([`Crypto::Blake2sPrefix`]). Zeroed when dropped.
pub(crate) struct Blake2sPrefix(b::blake2s_state);

impl Blake2sPrefix {
    /// A state initialised for a digest of `out_len` bytes (clamped to
    /// 1..=32), keyed with `key` (up to 32 bytes; empty: unkeyed), given
    /// `block`, with its whole pending block hashed. `blake2s_update` keeps
    /// the last block in its buffer for `blake2s_final` to hash as the last
    /// one; given one byte more, it hashes that block as an inner one and
    /// buffers the byte, which is then taken back out, and the buffer (the
    /// rest of the key) cleared. (Were a block still pending, a resume
    /// would hash it with its input all the same.)
    fn new(out_len: usize, key: &[u8], block: &[u8]) -> Self {
        let mut p = Self(b::blake2s_state::default());
        let one = [0u8];
        // SAFETY: `out_len` is clamped to 1..=32 and `key` is at most 32
        // bytes (both callers: empty, or `KEY_LEN`), as `__blake2s_init`
        // needs; the pointers describe valid buffers of their lengths.
        unsafe {
            b::wg_shim_blake2s_init(
                &mut p.0,
                out_len.clamp(1, HASH_LEN),
                key.as_ptr(),
                key.len(),
            );
            b::blake2s_update(&mut p.0, block.as_ptr(), block.len());
            if p.0.buflen as usize == BLAKE2S_BLOCK_LEN {
                b::blake2s_update(&mut p.0, one.as_ptr(), one.len());
                p.0.buflen = 0;
                p.0.buf = [0; BLAKE2S_BLOCK_LEN];
            }
        }
        p
    }
}

impl Clone for Blake2sPrefix {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl Drop for Blake2sPrefix {
    fn drop(&mut self) {
        self.0 = b::blake2s_state::default();
        barrier_data(addr_of!(self.0).cast());
    }
}

/// The kernel's `memzero_explicit()`: zeroes `buf` in a way the compiler
/// may not elide.
#[inline]
pub(crate) fn memzero_explicit(buf: &mut [u8]) {
    buf.fill(0);
    barrier_data(buf.as_ptr());
}

/// Runs `f`, then zeroes the stack below the caller's frame that `f` and
/// what it called may have used, [`SCRUB_BYTES`] of it: no copy of a secret
/// survives there once `f` returned.
///
/// Why: a Rust move copies the bytes and leaves the source to no `Drop`, so
/// a key returned by value, or a struct of them moved into its owner, leaves
/// copies in the frames it passed through, which `Drop`'s zeroing never
/// sees (the C driver wipes each local with `memzero_explicit()` instead).
/// The kernel's crypto under `f` is covered too: not all of it wipes its
/// locals (x86-64's curve25519 leaves the DH result in `encode_point`'s
/// frame, which the C driver leaves behind).
///
/// `f` runs in a frame of its own (not inlined into the caller's), so that
/// everything it puts on the stack lies below the caller's frame, where the
/// scrub then writes. Each call costs a zeroing of [`SCRUB_BYTES`]: for
/// handshakes and configuration, not packets. The caller must have that
/// much stack left beyond its own frame (it runs near the top of a kernel
/// thread's or a system call's stack, of 16 KiB).
#[inline(always)]
pub(crate) fn scrubbed<R>(f: impl FnOnce() -> R) -> R {
    let r = call_apart(f);
    scrub_frames(SCRUB_BYTES / SCRUB_FRAME);
    r
}

/// How deep [`scrubbed`] zeroes. The deepest stack of the module's own code
/// under a scrubbed call is some 3.8 KiB on the release kernel (the handshake
/// worker's, through `send_response` and its HMACs) and 4.1 KiB on the debug
/// kernel's (KASAN), and the kernel's crypto below it up to 2.1 KiB more
/// (curve25519, which leaves a DH result on its stack): within this, they
/// are zeroed too. `tests/static/stack-depth.py` computes the module's depth
/// as built and fails if it and 2.5 KiB for the kernel's crypto outgrow this.
pub(crate) const SCRUB_BYTES: usize = 8 * 1024;
/// The scrub goes down in frames of this size, one page of stack at most
/// between two writes (the kernel builds no stack probes: a single frame
/// larger than the guard page could step over it on a full stack).
const SCRUB_FRAME: usize = 1024;

#[inline(never)]
fn call_apart<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `frames` frames of [`SCRUB_FRAME`] zeroed bytes, each below the last.
/// The barrier after the recursive call keeps each frame's array live
/// across it (not a tail call, whose frame would be reused), and, as it may
/// write the array too, in this frame's memory (an immutable array only
/// read could be made a constant elsewhere). `tests/static/stack-depth.py`
/// checks the shape as built: the frame, the zeroing, the recursion, and a
/// call of it right after each `call_apart`.
#[inline(never)]
fn scrub_frames(frames: usize) {
    let mut area = [0u8; SCRUB_FRAME];
    if frames > 1 {
        scrub_frames(frames - 1);
    }
    barrier_data_mut(area.as_mut_ptr());
}

/// As [`barrier_data`], for memory the statement may also write: the
/// compiler must keep what is behind `p` in memory, with what was stored
/// there, and may not assume it unchanged after.
#[inline(always)]
fn barrier_data_mut(p: *mut u8) {
    // SAFETY: the statement is empty: it neither reads nor writes anything,
    // uses no stack and leaves the flags alone; without `readonly` the
    // compiler must assume it may read and write what `p` points to.
    unsafe { core::arch::asm!("/* {0} */", in(reg) p, options(nostack, preserves_flags)) }
}

/// The kernel's `barrier_data()`, which `memzero_explicit()` puts after its
/// `memset()`: an empty `asm!` given the address of what was just written,
/// which the compiler must assume reads it, so that it cannot drop the
/// writes as dead stores to memory about to go out of scope. Inline, a
/// key's zeroing is four stores (as `memzero_explicit()`, a static inline,
/// is in C), not a call into the shim and one on to `memset()`.
#[inline(always)]
fn barrier_data(p: *const u8) {
    // SAFETY: the statement is empty: it neither reads nor writes anything, uses no
    // stack and leaves the flags alone; `readonly` (not `nomem`) is what
    // keeps the stores before it.
    unsafe { core::arch::asm!("/* {0} */", in(reg) p, options(nostack, preserves_flags, readonly)) }
}

impl Crypto for Kernel {
    type Blake2sPrefix = Blake2sPrefix;

    fn blake2s_keyed_prefix(out_len: usize, key: &[u8; KEY_LEN]) -> Blake2sPrefix {
        Blake2sPrefix::new(out_len, key, &[])
    }

    fn blake2s_block_prefix(block: &[u8; BLAKE2S_BLOCK_LEN]) -> Blake2sPrefix {
        Blake2sPrefix::new(HASH_LEN, &[], block)
    }

    fn blake2s_resume(prefix: &Blake2sPrefix, out: &mut [u8], input: &[&[u8]]) {
        if out.len() != prefix.0.outlen as usize || input.iter().all(|part| part.is_empty()) {
            out.fill(0);
            return;
        }
        // A copy, which `blake2s_final` zeroes.
        let mut state = prefix.0;
        // SAFETY: `state` is an initialised state; `out` has its digest
        // length, what `blake2s_final` writes; the pointers describe valid
        // buffers of their lengths.
        unsafe {
            for part in input {
                b::blake2s_update(&mut state, part.as_ptr(), part.len());
            }
            b::blake2s_final(&mut state, out.as_mut_ptr());
        }
    }

    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        // Lengths outside the trait's contract: `__blake2s_init` would copy a
        // key over 64 bytes past the block buffer. Refused as
        // `blake2s_resume` refuses its own.
        if out.is_empty() || out.len() > HASH_LEN || key.len() > KEY_LEN {
            out.fill(0);
            return;
        }
        // Not zeroed first (120 bytes, for each of the two dozen hashes of
        // a handshake): `__blake2s_init` writes every field but the block
        // buffer (unless keyed), which `blake2s_update` and `blake2s_final`
        // write before they read it, and `blake2s_final` zeroes the whole
        // state. No Rust reference to it is ever made.
        let mut state = MaybeUninit::<b::blake2s_state>::uninit();
        let state = state.as_mut_ptr();
        // SAFETY: `out.len()` is 1..=32 and `key.len()` at most 32 (checked
        // above); the pointers describe valid buffers; `state` is
        // initialised by `__blake2s_init` before the others read it, as C
        // callers with a state on the stack do.
        unsafe {
            b::wg_shim_blake2s_init(state, out.len(), key.as_ptr(), key.len());
            for part in input {
                b::blake2s_update(state, part.as_ptr(), part.len());
            }
            b::blake2s_final(state, out.as_mut_ptr());
        }
    }

    fn x25519(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN], point: &[u8; KEY_LEN]) -> bool {
        // SAFETY: three 32-byte buffers.
        unsafe { b::wg_shim_curve25519(out.as_mut_ptr(), scalar.as_ptr(), point.as_ptr()) }
    }

    fn x25519_base(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN]) {
        // `curve25519_generate_public` refuses an all-zero secret (it returns
        // false and leaves `out` alone); a clamped zero secret is still a
        // scalar, so compute it against the base point the generic way.
        let mut basepoint = [0u8; KEY_LEN];
        basepoint[0] = 9;
        // SAFETY: two 32-byte buffers.
        if !unsafe { b::wg_shim_curve25519_generate_public(out.as_mut_ptr(), scalar.as_ptr()) }
            && !Self::x25519(out, scalar, &basepoint)
        {
            out.fill(0);
        }
    }

    fn aead_seal(key: &[u8; KEY_LEN], counter: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        // SAFETY: the nonce of `chacha20poly1305_encrypt` is a counter.
        unsafe { seal_joined(b::chacha20poly1305_encrypt, key, counter, ad, buf) }
    }

    fn aead_open(
        key: &[u8; KEY_LEN],
        counter: u64,
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        // SAFETY: the nonce of `chacha20poly1305_decrypt` is a counter.
        unsafe { open_joined(b::chacha20poly1305_decrypt, key, counter, ad, buf, tag) }
    }

    fn xaead_seal(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        // SAFETY: `nonce` points to the 24 bytes the XChaCha20 nonce is.
        unsafe { seal_joined(b::xchacha20poly1305_encrypt, key, nonce.as_ptr(), ad, buf) }
    }

    fn xaead_open(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        let decrypt = b::xchacha20poly1305_decrypt;
        // SAFETY: `nonce` points to the 24 bytes the XChaCha20 nonce is.
        unsafe { open_joined(decrypt, key, nonce.as_ptr(), ad, buf, tag) }
    }

    fn random_bytes(buf: &mut [u8]) {
        // SAFETY: `buf` is valid for writes of its length.
        unsafe { b::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) }
    }

    #[inline]
    fn zeroize(buf: &mut [u8]) {
        memzero_explicit(buf);
    }

    fn ct_eq(a: &[u8], b_: &[u8]) -> bool {
        // SAFETY: both buffers are valid for reads of the common length.
        a.len() == b_.len()
            && unsafe { b::__crypto_memneq(a.as_ptr().cast(), b_.as_ptr().cast(), a.len()) } == 0
    }

    fn siphash(key: &[u64; 2], data: &[u8]) -> u64 {
        let key = b::siphash_key_t { key: *key };
        // SAFETY: `data` is valid for reads of its length; `siphash()` calls
        // this for data of any alignment.
        unsafe { b::__siphash_unaligned(data.as_ptr().cast(), data.len(), &key) }
    }

    fn hsiphash(key: &[u64; 2], data: &[u8]) -> u32 {
        // `unsigned long` words: the kernel's hsiphash is SipHash-1-3 with
        // this key on 64-bit only (elsewhere the self-test refuses to load).
        let key = b::hsiphash_key_t {
            key: key.map(|w| w as usize),
        };
        // SAFETY: `data` is valid for reads of its length; `hsiphash()` calls
        // this for data of any alignment.
        unsafe { b::__hsiphash_unaligned(data.as_ptr().cast(), data.len(), &key) }
    }
}

impl Kernel {
    /// Whether the kernel's random number generator is seeded
    /// (`rng_is_initialized`): until then, handshakes are dropped, as the C
    /// driver does (their ephemeral keys and cookie secrets would be weak).
    pub(crate) fn rng_is_initialized() -> bool {
        // SAFETY: reads the RNG's state; callable from any context.
        unsafe { b::rng_is_initialized() }
    }

    /// The machine's memory in bytes (`totalram_pages() << PAGE_SHIFT`).
    pub(crate) fn total_ram_bytes() -> u64 {
        // SAFETY: `_totalram_pages` is an exported `atomic_long_t`, only
        // accessed atomically (`totalram_pages()`: `atomic_long_read`).
        let pages = unsafe { AtomicI64::from_ptr(addr_of_mut!(b::_totalram_pages.counter)) };
        (pages.load(Ordering::Relaxed) as u64) << kernel::page::PAGE_SHIFT
    }
}

impl Clock for Kernel {
    fn now_ns() -> u64 {
        // SAFETY: reads the coarse boot-time clock
        // (`ktime_get_coarse_boottime_ns`); callable from any context.
        unsafe { b::ktime_get_coarse_with_offset(b::tk_offsets_TK_OFFS_BOOT) as u64 }
    }

    fn wall() -> (u64, u32) {
        let mut ts = b::timespec64::default();
        // SAFETY: `ts` is valid for writes.
        unsafe { b::ktime_get_real_ts64(&mut ts) };
        (
            u64::try_from(ts.tv_sec).unwrap_or(0),
            u32::try_from(ts.tv_nsec).unwrap_or(0),
        )
    }
}

/// `Alloc` over `KVVec` with the given allocation flags.
macro_rules! kernel_alloc {
    ($ty:ty, $flags:expr) => {
        impl Alloc for $ty {
            type Vec<T> = KVVec<T>;

            fn vec_new<T>() -> KVVec<T> {
                KVVec::new()
            }

            // Never inlined, nor `vec_reserve`: the kernel crate's `Vec`
            // growth, whose overflow checks its invariants bound, stays in
            // these two functions, which tests/static/panic-sites.py allows
            // on the packet paths by name (and nothing else around it).
            #[inline(never)]
            fn vec_push<T>(vec: &mut KVVec<T>, value: T) -> Result<(), AllocError> {
                vec.push(value, $flags).map_err(|_| AllocError)
            }

            fn vec_pop<T>(vec: &mut KVVec<T>) -> Option<T> {
                let last = vec.len().checked_sub(1)?;
                // SAFETY: element `last` is initialised; after shrinking the
                // length by one it is no longer owned by the vector, so
                // reading it out moves it exactly once.
                unsafe {
                    let value = core::ptr::read(vec.as_ptr().add(last));
                    vec.set_len(last);
                    Some(value)
                }
            }

            #[inline(never)]
            fn vec_reserve<T>(vec: &mut KVVec<T>, additional: usize) -> Result<(), AllocError> {
                vec.reserve(additional, $flags).map_err(|_| AllocError)
            }
        }
    };
}

kernel_alloc!(Kernel, GFP_KERNEL);

/// The kernel's allocator with `GFP_ATOMIC`: for tables that grow under a
/// spinlock held with softirqs off (the receiver-index table). Large
/// vectors cannot fall back to vmalloc here; a failed growth is reported as
/// an allocation error (a handshake then fails and is retried).
pub(crate) struct KernelAtomic;

kernel_alloc!(KernelAtomic, GFP_ATOMIC);

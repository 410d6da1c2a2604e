// SPDX-License-Identifier: GPL-2.0
//! The kernel platform of the protocol core: `proto::platform`'s traits over
//! the in-kernel crypto library (with its SIMD versions), ktime and kmalloc.
//!
//! The AEADs are assembled here from the ChaCha20 and Poly1305 primitives of
//! lib/crypto exactly as lib/crypto/chacha20poly1305.c assembles them, so that
//! they work in place with a detached tag (no bounce buffer, no copy).

use super::bindings as b;
use crate::proto::platform::{Alloc, AllocError, Clock, Crypto, KEY_LEN, TAG_LEN, XNONCE_LEN};
use kernel::alloc::{flags::{GFP_ATOMIC, GFP_KERNEL}, KBox, KVVec};

/// The kernel platform. Allocation uses `GFP_KERNEL`: it may sleep, so
/// callers allocate from process context and outside spinlocks.
pub(crate) struct Kernel;

/// Sixteen zero bytes: Poly1305 padding, and the key stream input of block 0.
const ZEROES: [u8; 32] = [0; 32];

/// ChaCha20 state words.
type ChaChaState = [u32; 16];

fn zeroize_words(words: &mut [u32]) {
    // SAFETY: the pointer and length describe `words`, which is valid for writes.
    unsafe { b::wg_shim_memzero_explicit(words.as_mut_ptr().cast(), core::mem::size_of_val(words)) }
}

/// A ChaCha20-Poly1305 computation in progress: the ChaCha20 state (counter
/// at block 1 after the Poly1305 key was taken from block 0) and Poly1305.
struct Aead {
    chacha: ChaChaState,
    poly: b::poly1305_desc_ctx,
}

impl Aead {
    /// Starts with `key` and a 16-byte ChaCha20 IV (counter, nonce).
    fn new(key: &[u8; KEY_LEN], iv: &[u8; 16]) -> Self {
        let mut chacha: ChaChaState = [0; 16];
        // SAFETY: `chacha` has 16 words, `key` 32 bytes and `iv` 16.
        unsafe { b::wg_shim_chacha20_init(chacha.as_mut_ptr(), key.as_ptr(), iv.as_ptr()) };
        Self::with_state(chacha)
    }

    fn with_state(mut chacha: ChaChaState) -> Self {
        let mut block0 = [0u8; 32];
        let mut poly = b::poly1305_desc_ctx::default();
        // SAFETY: valid buffers of the stated lengths.
        unsafe {
            b::wg_shim_chacha20_crypt(chacha.as_mut_ptr(), block0.as_mut_ptr(), ZEROES.as_ptr(), 32);
            b::wg_shim_poly1305_init(&mut poly, block0.as_ptr());
        }
        Kernel::zeroize(&mut block0);
        Aead { chacha, poly }
    }

    fn mac(&mut self, data: &[u8]) {
        // Packets are far below 4 GiB; chunk anyway so that the cast is exact.
        for chunk in data.chunks(1 << 30) {
            // SAFETY: `chunk` is valid for reads of its length.
            unsafe { b::wg_shim_poly1305_update(&mut self.poly, chunk.as_ptr(), chunk.len() as u32) };
        }
        let rem = data.len() % 16;
        if rem != 0 {
            // SAFETY: `ZEROES` has at least 16 - rem bytes.
            unsafe { b::wg_shim_poly1305_update(&mut self.poly, ZEROES.as_ptr(), (16 - rem) as u32) };
        }
    }

    fn crypt(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(1 << 30) {
            // SAFETY: in place over `chunk`, valid for reads and writes.
            unsafe {
                b::wg_shim_chacha20_crypt(self.chacha.as_mut_ptr(), chunk.as_mut_ptr(), chunk.as_ptr(), chunk.len() as u32)
            };
        }
    }

    fn finish(&mut self, ad_len: usize, data_len: usize) -> [u8; TAG_LEN] {
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&(ad_len as u64).to_le_bytes());
        lens[8..].copy_from_slice(&(data_len as u64).to_le_bytes());
        let mut tag = [0u8; TAG_LEN];
        // SAFETY: valid buffers of the stated lengths.
        unsafe {
            b::wg_shim_poly1305_update(&mut self.poly, lens.as_ptr(), 16);
            b::wg_shim_poly1305_final(&mut self.poly, tag.as_mut_ptr());
        }
        tag
    }

    fn seal(mut self, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        self.mac(ad);
        self.crypt(buf);
        self.mac(buf);
        self.finish(ad.len(), buf.len())
    }

    fn open(mut self, ad: &[u8], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        self.mac(ad);
        self.mac(buf);
        let mut computed = self.finish(ad.len(), buf.len());
        let ok = Kernel::ct_eq(&computed, tag);
        Kernel::zeroize(&mut computed);
        if ok {
            self.crypt(buf);
        }
        ok
    }
}

impl Drop for Aead {
    fn drop(&mut self) {
        zeroize_words(&mut self.chacha);
        // SAFETY: `poly` is a plain struct valid for writes of its size.
        unsafe {
            b::wg_shim_memzero_explicit(
                core::ptr::addr_of_mut!(self.poly).cast(),
                core::mem::size_of::<b::poly1305_desc_ctx>(),
            )
        };
    }
}

fn counter_iv(counter: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[8..].copy_from_slice(&counter.to_le_bytes());
    iv
}

/// XChaCha20: the HChaCha20 subkey of `key` and the first 16 nonce bytes,
/// then ChaCha20 with the last 8 nonce bytes.
fn xaead(key: &[u8; KEY_LEN], nonce: &[u8; XNONCE_LEN]) -> Aead {
    let mut first = [0u8; 16];
    first.copy_from_slice(&nonce[..16]);
    let mut state: ChaChaState = [0; 16];
    let mut sub = [0u32; 8];
    // SAFETY: valid buffers of the stated lengths.
    unsafe {
        b::wg_shim_chacha20_init(state.as_mut_ptr(), key.as_ptr(), first.as_ptr());
        b::wg_shim_hchacha20(state.as_ptr(), sub.as_mut_ptr());
    }
    let mut subkey = [0u8; KEY_LEN];
    for (dst, w) in subkey.chunks_exact_mut(4).zip(sub.iter()) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    let mut iv = [0u8; 16];
    iv[8..].copy_from_slice(&nonce[16..]);
    let aead = Aead::new(&subkey, &iv);
    zeroize_words(&mut state);
    zeroize_words(&mut sub);
    Kernel::zeroize(&mut subkey);
    aead
}

impl Crypto for Kernel {
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        let mut state = b::blake2s_state::default();
        // SAFETY: `out.len()` and `key.len()` are at most 32 as the trait
        // requires; the pointers describe valid buffers.
        unsafe {
            b::wg_shim_blake2s_init(&mut state, out.len(), key.as_ptr(), key.len());
            for part in input {
                b::blake2s_update(&mut state, part.as_ptr(), part.len());
            }
            b::blake2s_final(&mut state, out.as_mut_ptr());
        }
    }

    fn x25519(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN], point: &[u8; KEY_LEN]) -> bool {
        // SAFETY: three 32-byte buffers.
        unsafe { b::wg_shim_curve25519(out.as_mut_ptr(), scalar.as_ptr(), point.as_ptr()) }
    }

    fn x25519_base(out: &mut [u8; KEY_LEN], scalar: &[u8; KEY_LEN]) {
        // SAFETY: two 32-byte buffers.
        unsafe { b::wg_shim_curve25519_base(out.as_mut_ptr(), scalar.as_ptr()) }
    }

    fn aead_seal(key: &[u8; KEY_LEN], counter: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        Aead::new(key, &counter_iv(counter)).seal(ad, buf)
    }

    fn aead_open(key: &[u8; KEY_LEN], counter: u64, ad: &[u8], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        Aead::new(key, &counter_iv(counter)).open(ad, buf, tag)
    }

    fn xaead_seal(key: &[u8; KEY_LEN], nonce: &[u8; XNONCE_LEN], ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        xaead(key, nonce).seal(ad, buf)
    }

    fn xaead_open(
        key: &[u8; KEY_LEN],
        nonce: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        xaead(key, nonce).open(ad, buf, tag)
    }

    fn random_bytes(buf: &mut [u8]) {
        // SAFETY: `buf` is valid for writes of its length.
        unsafe { b::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) }
    }

    fn zeroize(buf: &mut [u8]) {
        // SAFETY: `buf` is valid for writes of its length.
        unsafe { b::wg_shim_memzero_explicit(buf.as_mut_ptr().cast(), buf.len()) }
    }

    fn ct_eq(a: &[u8], b_: &[u8]) -> bool {
        // SAFETY: both buffers are valid for reads of the common length.
        a.len() == b_.len() && unsafe { b::__crypto_memneq(a.as_ptr().cast(), b_.as_ptr().cast(), a.len()) } == 0
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
        // SAFETY: reads a counter; callable from any context.
        unsafe { b::wg_shim_totalram_bytes() }
    }
}

impl Clock for Kernel {
    fn now_ns() -> u64 {
        // SAFETY: reads the coarse boot-time clock; callable from any context.
        unsafe { b::wg_shim_ktime_get_coarse_boottime_ns() }
    }

    fn wall() -> (u64, u32) {
        let mut ts = b::timespec64::default();
        // SAFETY: `ts` is valid for writes.
        unsafe { b::ktime_get_real_ts64(&mut ts) };
        (u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
    }
}

/// `Alloc` over `KBox`/`KVVec` with the given allocation flags.
macro_rules! kernel_alloc {
    ($ty:ty, $flags:expr) => {
        impl Alloc for $ty {
            type Box<T> = KBox<T>;
            type Vec<T> = KVVec<T>;

            fn try_box<T>(value: T) -> Result<KBox<T>, AllocError> {
                KBox::new(value, $flags).map_err(|_| AllocError)
            }

            fn vec_new<T>() -> KVVec<T> {
                KVVec::new()
            }

            fn vec_push<T>(vec: &mut KVVec<T>, value: T) -> Result<(), AllocError> {
                vec.push(value, $flags).map_err(|_| AllocError)
            }

            fn vec_pop<T>(vec: &mut KVVec<T>) -> Option<T> {
                let len = vec.len();
                let last = len.checked_sub(1)?;
                // SAFETY: element `last` is initialised; after shrinking the
                // length by one it is no longer owned by the vector, so
                // reading it out moves it exactly once.
                unsafe {
                    let value = core::ptr::read(vec.as_ptr().add(last));
                    vec.set_len(last);
                    Some(value)
                }
            }

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

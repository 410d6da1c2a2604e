// SPDX-License-Identifier: GPL-2.0
//! SipHash (Aumasson and Bernstein) for the host platform's
//! [`Crypto::siphash`](crate::proto::platform::Crypto::siphash), where the
//! module calls the kernel's `siphash()`. [`siphash24`] is SipHash-2-4, the
//! kernel's `siphash()`; [`siphash13`] is SipHash-1-3, which the kernel's
//! `hsiphash()` is on 64-bit machines (tested against the kernel's vectors).

/// SipHash-2-4 of `data` under `key`.
pub fn siphash24(key: &[u64; 2], data: &[u8]) -> u64 {
    siphash::<2, 4>(key, data)
}

/// SipHash-1-3 of `data` under `key`.
pub fn siphash13(key: &[u64; 2], data: &[u8]) -> u64 {
    siphash::<1, 3>(key, data)
}

/// Reads up to 8 bytes as a little-endian word (missing bytes are zero).
#[inline]
fn le64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    for (dst, src) in word.iter_mut().zip(bytes) {
        *dst = *src;
    }
    u64::from_le_bytes(word)
}

struct State([u64; 4]);

impl State {
    #[inline(always)]
    fn round(&mut self) {
        let [v0, v1, v2, v3] = &mut self.0;
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13);
        *v1 ^= *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16);
        *v3 ^= *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21);
        *v3 ^= *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17);
        *v1 ^= *v2;
        *v2 = v2.rotate_left(32);
    }

    #[inline(always)]
    fn compress<const C: usize>(&mut self, m: u64) {
        let [_, _, _, v3] = &mut self.0;
        *v3 ^= m;
        for _ in 0..C {
            self.round();
        }
        let [v0, _, _, _] = &mut self.0;
        *v0 ^= m;
    }
}

fn siphash<const C: usize, const D: usize>(key: &[u64; 2], data: &[u8]) -> u64 {
    let [k0, k1] = *key;
    let mut s = State([
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ]);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        s.compress::<C>(le64(chunk));
    }
    // The final word: the remaining bytes, and the length (mod 256) on top.
    let last = le64(chunks.remainder()) | ((data.len() as u64) << 56);
    s.compress::<C>(last);
    let [_, _, v2, _] = &mut s.0;
    *v2 ^= 0xff;
    for _ in 0..D {
        s.round();
    }
    let [v0, v1, v2, v3] = s.0;
    v0 ^ v1 ^ v2 ^ v3
}

// SPDX-License-Identifier: GPL-2.0
//! Known-answer self-tests of a [`Crypto`] platform and of the Noise layer
//! over it, generic so that the very same checks run on the host (RustCrypto,
//! `host/tests/selftest.rs`) and in the kernel at module load (lib/crypto, on
//! the debug flavour), as the C driver runs its self-tests under DEBUG.
//!
//! Vectors: BLAKE2s ("abc", and the keyed KAT with an empty input), RFC 7748
//! X25519, the XChaCha20-Poly1305 vector of draft-irtf-cfrg-xchacha (A.3.1),
//! and the cacophony Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s vector (both
//! handshake messages, the handshake hash, transport messages each way), which
//! also covers ChaCha20-Poly1305 with WireGuard's counter nonce.

use super::noise::{self, SymmetricState};
use super::platform::Crypto;
use super::secret::Key;
use super::{handshake, kdf};

/// Decodes a hex string at compile time (only ever used in `const` items).
const fn hex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 2 * N, "hex length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

const BLAKE2S_ABC: [u8; 32] =
    hex("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
const BLAKE2S_KEYED_EMPTY: [u8; 32] =
    hex("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
const X25519_SCALAR: [u8; 32] =
    hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
const X25519_POINT: [u8; 32] =
    hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
const X25519_OUT: [u8; 32] =
    hex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
const XAEAD_AD: [u8; 12] = hex("50515253c0c1c2c3c4c5c6c7");
const XAEAD_PLAIN: &[u8; 114] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
const XAEAD_CIPHER: [u8; 114] = hex(concat!(
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
    "21f9664c97637da9768812f615c68b13b52e",
));
const XAEAD_TAG: [u8; 16] = hex("c0875924c1c7987947deafd8780acf49");

const NOISE_NAME: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
const PROLOGUE: [u8; 9] = hex("4a6f686e2047616c74");
const INIT_STATIC: [u8; 32] =
    hex("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1");
const INIT_EPHEMERAL: [u8; 32] =
    hex("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
const RESP_STATIC: [u8; 32] =
    hex("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893");
const RESP_EPHEMERAL: [u8; 32] =
    hex("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
const HANDSHAKE_HASH: [u8; 32] =
    hex("f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5");
const PSK: [u8; 32] = hex("54686973206973206d7920417573747269616e20706572737065637469766521");
const PAYLOAD0: [u8; 16] = hex("4c756477696720766f6e204d69736573");
const MESSAGE0: [u8; 112] = hex(concat!(
    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944",
    "001e21de9f98ddd8e2ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf",
    "1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985",
    "464cf17e51ee93109008399a21f7e13f",
));
const PAYLOAD1: [u8; 15] = hex("4d757272617920526f746862617264");
const MESSAGE1: [u8; 63] = hex(concat!(
    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843",
    "cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a",
));
const PAYLOAD2: [u8; 11] = hex("462e20412e20486179656b");
const MESSAGE2: [u8; 27] = hex(concat!(
    "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7",
));
const PAYLOAD3: [u8; 11] = hex("4361726c204d656e676572");
const MESSAGE3: [u8; 27] = hex(concat!(
    "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef",
));

/// Runs every check; on failure, names the first one that failed.
pub fn run<C: Crypto>() -> Result<(), &'static str> {
    primitives::<C>()?;
    cacophony::<C>()?;
    initial_state::<C>()
}

fn check(ok: bool, what: &'static str) -> Result<(), &'static str> {
    if ok {
        Ok(())
    } else {
        Err(what)
    }
}

/// A key's block hashed once, then finished over inputs that end within,
/// at and across block boundaries: as BLAKE2s of the whole (checked above);
/// keyed (mac1's keys) and unkeyed after a block (HMAC's padded keys), and
/// the `Kdf`s built on the latter as HMAC by its definition.
fn blake2s_prefixes<C: Crypto>(key: &[u8; 32]) -> Result<(), &'static str> {
    let msg: [u8; 129] = core::array::from_fn(|i| (i as u8).wrapping_mul(7));
    let block: [u8; 64] = core::array::from_fn(|i| 0x36 ^ i as u8);
    let mac_key = kdf::MacKey::<C>::new(key);
    let block_prefix = C::blake2s_block_prefix(&block);
    for len in [1, 32, 63, 64, 65, 116, 128, 129] {
        let (a, b) = msg
            .get(..len)
            .ok_or("blake2s prefix lengths")?
            .split_at(len / 2);
        check(
            mac_key.mac(a, b) == kdf::mac::<C>(key, a, b),
            "blake2s keyed prefix",
        )?;
        let (mut whole, mut resumed) = ([0u8; 32], [0u8; 32]);
        C::blake2s(&mut whole, &[], &[&block, a, b]);
        C::blake2s_resume(&block_prefix, &mut resumed, &[a, b]);
        check(whole == resumed, "blake2s block prefix")?;
    }
    let t0 = kdf::hmac::<C>(key, &msg[..33], &[]);
    let t1 = kdf::hmac::<C>(t0.as_bytes(), &[1], &[]);
    let t2 = kdf::hmac::<C>(t0.as_bytes(), t1.as_bytes(), &[2]);
    let t3 = kdf::hmac::<C>(t0.as_bytes(), t2.as_bytes(), &[3]);
    let (k1, k2, k3) = kdf::kdf3::<C>(key, &msg[..33]);
    check(
        k1.as_bytes() == t1.as_bytes()
            && k2.as_bytes() == t2.as_bytes()
            && k3.as_bytes() == t3.as_bytes(),
        "kdf3",
    )?;
    let (k1, k2) = kdf::kdf2::<C>(key, &msg[..33]);
    check(
        k1.as_bytes() == t1.as_bytes() && k2.as_bytes() == t2.as_bytes(),
        "kdf2",
    )?;
    check(
        kdf::kdf1::<C>(key, &msg[..33]).as_bytes() == t1.as_bytes(),
        "kdf1",
    )
}

fn primitives<C: Crypto>() -> Result<(), &'static str> {
    let mut h = [0u8; 32];
    C::blake2s(&mut h, &[], &[b"a", b"", b"bc"]);
    check(h == BLAKE2S_ABC, "blake2s")?;
    let key: [u8; 32] = core::array::from_fn(|i| i as u8);
    C::blake2s(&mut h, &key, &[]);
    check(h == BLAKE2S_KEYED_EMPTY, "keyed blake2s")?;
    // Lengths outside the contract give zeroes (the kernel's init would
    // take a longer key and digest as parameters, and copy a key over 64
    // bytes past its block).
    let (mut long_out, long_key) = ([0xffu8; 33], [7u8; 33]);
    C::blake2s(&mut long_out, &[], &[b"abc"]);
    C::blake2s(&mut h, &long_key, &[b"abc"]);
    check(long_out == [0; 33] && h == [0; 32], "blake2s lengths")?;
    blake2s_prefixes::<C>(&key)?;
    // SipHash-2-4's reference vector of length 15 (github.com/veorq/SipHash).
    let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
    let sip_key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
    check(
        C::siphash(&sip_key, &msg) == 0xa129_ca61_49be_45e5,
        "siphash",
    )?;
    // The kernel's 64-bit hsiphash vector of length 15 (lib/siphash_kunit.c).
    check(C::hsiphash(&sip_key, &msg) == 0x2a51_9956, "hsiphash")?;

    let mut out = [0u8; 32];
    check(
        C::x25519(&mut out, &X25519_SCALAR, &X25519_POINT) && out == X25519_OUT,
        "x25519",
    )?;
    check(
        !C::x25519(&mut out, &X25519_SCALAR, &[0u8; 32]),
        "x25519 low order point",
    )?;
    let (mut a_pub, mut b_pub, mut ab, mut ba) = ([0u8; 32], [0u8; 32], [0u8; 32], [0u8; 32]);
    C::x25519_base(&mut a_pub, &X25519_SCALAR);
    C::x25519_base(&mut b_pub, &X25519_OUT);
    check(
        C::x25519(&mut ab, &X25519_SCALAR, &b_pub)
            && C::x25519(&mut ba, &X25519_OUT, &a_pub)
            && ab == ba,
        "x25519 base point agreement",
    )?;

    let xkey: [u8; 32] = core::array::from_fn(|i| 0x80 + i as u8);
    let xnonce: [u8; 24] = core::array::from_fn(|i| 0x40 + i as u8);
    let mut buf = *XAEAD_PLAIN;
    let tag = C::xaead_seal(&xkey, &xnonce, &XAEAD_AD, &mut buf);
    check(
        buf == XAEAD_CIPHER && tag == XAEAD_TAG,
        "xchacha20poly1305 seal",
    )?;
    check(
        C::xaead_open(&xkey, &xnonce, &XAEAD_AD, &mut buf, &tag) && buf == *XAEAD_PLAIN,
        "xchacha20poly1305 open",
    )?;
    let mut bad_tag = tag;
    bad_tag[0] ^= 1;
    let mut buf = XAEAD_CIPHER;
    check(
        !C::xaead_open(&xkey, &xnonce, &XAEAD_AD, &mut buf, &bad_tag),
        "xchacha20poly1305 forgery",
    )?;

    check(
        C::ct_eq(&[1, 2, 3], &[1, 2, 3])
            && !C::ct_eq(&[1, 2, 3], &[1, 2, 4])
            && !C::ct_eq(&[1], &[1, 2]),
        "ct_eq",
    )?;
    let mut z = [0xffu8; 7];
    C::zeroize(&mut z);
    check(z == [0; 7], "zeroize")
}

/// The handshake's precomputed initial chaining key and hash are what the
/// protocol name and prologue give.
fn initial_state<C: Crypto>() -> Result<(), &'static str> {
    let ck = kdf::hash::<C>(handshake::CONSTRUCTION, &[]);
    check(
        ck == handshake::INITIAL_CHAINING_KEY,
        "initial chaining key",
    )?;
    let h = kdf::hash::<C>(&ck, handshake::IDENTIFIER);
    check(h == handshake::INITIAL_HASH, "initial hash")
}

/// Noise's initial IK state for [`NOISE_NAME`] (longer than a hash, so
/// hashed), [`PROLOGUE`] and the responder's static key.
fn ik_init<C: Crypto>(responder_static: &[u8; 32]) -> SymmetricState<C> {
    let h = kdf::hash::<C>(NOISE_NAME, &[]);
    let mut st = SymmetricState::from_parts(h, h);
    st.mix_hash(&PROLOGUE, &[]);
    st.mix_hash(responder_static, &[]);
    st
}

fn cacophony<C: Crypto>() -> Result<(), &'static str> {
    let init_static = Key::<C>::new(INIT_STATIC);
    let init_eph = Key::<C>::new(INIT_EPHEMERAL);
    let resp_static = Key::<C>::new(RESP_STATIC);
    let resp_eph = Key::<C>::new(RESP_EPHEMERAL);
    let init_pub = noise::public_key::<C>(&init_static);
    let resp_pub = noise::public_key::<C>(&resp_static);
    let (mut ist, mut rst) = (ik_init::<C>(&resp_pub), ik_init::<C>(&resp_pub));

    // Message 1: e, es, s, ss, and the payload.
    let ss_i = noise::dh::<C>(&init_static, &resp_pub).ok_or("cacophony: ss")?;
    let (mut e, mut s) = ([0u8; 32], [0u8; 48]);
    let mut p0 = [0u8; 32];
    p0[..16].copy_from_slice(&PAYLOAD0);
    noise::ik_write_msg1(
        &mut ist, &init_pub, &init_eph, &resp_pub, &ss_i, &mut e, &mut s, &mut p0,
    )
    .map_err(|_| "cacophony: write message 1")?;
    check(
        MESSAGE0[..32] == e && MESSAGE0[32..80] == s && MESSAGE0[80..] == p0,
        "cacophony: message 1",
    )?;
    let rs = noise::ik_read_msg1_static(&mut rst, &resp_static, &e, &s)
        .map_err(|_| "cacophony: read static")?;
    check(rs == init_pub, "cacophony: initiator static")?;
    let ss_r = noise::dh::<C>(&resp_static, &rs).ok_or("cacophony: ss")?;
    let mut got0 = [0u8; 16];
    noise::ik_read_msg1_payload(&mut rst, &ss_r, &p0, &mut got0)
        .map_err(|_| "cacophony: read message 1")?;
    check(got0 == PAYLOAD0, "cacophony: payload 1")?;

    // Message 2: e, ee, se, psk, and the payload.
    let psk = Key::<C>::new(PSK);
    let mut e2 = [0u8; 32];
    let mut p1 = [0u8; 31];
    p1[..15].copy_from_slice(&PAYLOAD1);
    noise::ik_write_msg2(&mut rst, &resp_eph, &e, &rs, &psk, &mut e2, &mut p1)
        .map_err(|_| "cacophony: write message 2")?;
    check(
        MESSAGE1[..32] == e2 && MESSAGE1[32..] == p1,
        "cacophony: message 2",
    )?;
    let mut got1 = [0u8; 15];
    noise::ik_read_msg2(&mut ist, &init_static, &init_eph, &psk, &e2, &p1, &mut got1)
        .map_err(|_| "cacophony: read message 2")?;
    check(got1 == PAYLOAD1, "cacophony: payload 2")?;
    check(
        *ist.h.as_bytes() == HANDSHAKE_HASH && *rst.h.as_bytes() == HANDSHAKE_HASH,
        "cacophony: hash",
    )?;

    // Transport, one message each way: the first message under each key
    // (counter 0), sealed by the sender's key and opened by the receiver's.
    let (i1, i2) = ist.split();
    let (r1, r2) = rst.split();
    let transport = |send: &Key<C>, recv: &Key<C>, payload: &[u8; 11], msg: &[u8; 27]| {
        let mut t = *payload;
        let tag = C::aead_seal(send.as_bytes(), 0, &[], &mut t);
        let sealed = t[..] == msg[..11] && tag[..] == msg[11..];
        t.copy_from_slice(&msg[..11]);
        let opened = C::aead_open(recv.as_bytes(), 0, &[], &mut t, &tag) && t == *payload;
        t.copy_from_slice(&msg[..11]);
        t[3] ^= 0x40;
        let forged = C::aead_open(recv.as_bytes(), 0, &[], &mut t, &tag);
        sealed && opened && !forged
    };
    check(
        transport(&i1, &r1, &PAYLOAD2, &MESSAGE2),
        "cacophony: transport initiator to responder",
    )?;
    check(
        transport(&r2, &i2, &PAYLOAD3, &MESSAGE3),
        "cacophony: transport responder to initiator",
    )
}

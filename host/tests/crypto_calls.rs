//! How much BLAKE2s and X25519 each step of a handshake computes: a counting
//! platform (delegating to the host platform) runs one handshake step by
//! step. The X25519 calls are those of the Noise IKpsk2 pattern as WireGuard
//! runs it (the C driver's `noise.c`); the BLAKE2s work is counted in
//! compressions (64-byte blocks), derived below. A step that computed more
//! (`Kdf2` where WireGuard takes `Kdf1`, an initial hash recomputed per
//! message, an HMAC key's padded blocks hashed again for each output, mac1's
//! key block hashed again for each message) fails here although its output
//! would be the same.
use std::cell::Cell;
use wg_proto::host::Host;
use wg_proto::proto::cookie::{CookieChecker, CookieMaker, MacCheck};
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::messages::{Initiation, Response};
use wg_proto::proto::platform::{Crypto, KEY_LEN, TAG_LEN, XNONCE_LEN};
use wg_proto::proto::secret::Key;

struct Counting;

thread_local! {
    /// BLAKE2s compressions.
    static BLAKE2S: Cell<u32> = const { Cell::new(0) };
    static X25519: Cell<u32> = const { Cell::new(0) };
    static X25519_BASE: Cell<u32> = const { Cell::new(0) };
}

fn bump(c: &'static std::thread::LocalKey<Cell<u32>>) {
    add(c, 1);
}

fn add(c: &'static std::thread::LocalKey<Cell<u32>>, n: u32) {
    c.with(|c| c.set(c.get() + n));
}

/// The BLAKE2s compressions of a message of `n` bytes (a keyed hash's key
/// block included): one per 64-byte block, at least one.
fn blocks(n: usize) -> u32 {
    n.div_ceil(64).max(1) as u32
}

fn input_len(input: &[&[u8]]) -> usize {
    input.iter().map(|part| part.len()).sum()
}

/// The work since the last `take`: (BLAKE2s compressions, X25519 calls,
/// X25519 calls with the base point).
fn take() -> (u32, u32, u32) {
    (
        BLAKE2S.with(|c| c.replace(0)),
        X25519.with(|c| c.replace(0)),
        X25519_BASE.with(|c| c.replace(0)),
    )
}

impl Crypto for Counting {
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        let key_block = if key.is_empty() { 0 } else { 64 };
        add(&BLAKE2S, blocks(key_block + input_len(input)));
        Host::blake2s(out, key, input)
    }
    type Blake2sPrefix = <Host as Crypto>::Blake2sPrefix;
    fn blake2s_keyed_prefix(n: usize, key: &[u8; KEY_LEN]) -> Self::Blake2sPrefix {
        bump(&BLAKE2S);
        Host::blake2s_keyed_prefix(n, key)
    }
    fn blake2s_block_prefix(block: &[u8; 64]) -> Self::Blake2sPrefix {
        bump(&BLAKE2S);
        Host::blake2s_block_prefix(block)
    }
    fn blake2s_resume(p: &Self::Blake2sPrefix, out: &mut [u8], input: &[&[u8]]) {
        add(&BLAKE2S, blocks(input_len(input)));
        Host::blake2s_resume(p, out, input)
    }
    fn x25519(out: &mut [u8; KEY_LEN], s: &[u8; KEY_LEN], p: &[u8; KEY_LEN]) -> bool {
        bump(&X25519);
        Host::x25519(out, s, p)
    }
    fn x25519_base(out: &mut [u8; KEY_LEN], s: &[u8; KEY_LEN]) {
        bump(&X25519_BASE);
        Host::x25519_base(out, s)
    }
    fn aead_seal(k: &[u8; KEY_LEN], c: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        Host::aead_seal(k, c, ad, buf)
    }
    fn aead_open(k: &[u8; KEY_LEN], c: u64, ad: &[u8], buf: &mut [u8], t: &[u8; TAG_LEN]) -> bool {
        Host::aead_open(k, c, ad, buf, t)
    }
    fn xaead_seal(
        k: &[u8; KEY_LEN],
        n: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        Host::xaead_seal(k, n, ad, buf)
    }
    fn xaead_open(
        k: &[u8; KEY_LEN],
        n: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        t: &[u8; TAG_LEN],
    ) -> bool {
        Host::xaead_open(k, n, ad, buf, t)
    }
    fn random_bytes(buf: &mut [u8]) {
        Host::random_bytes(buf)
    }
    fn zeroize(buf: &mut [u8]) {
        Host::zeroize(buf)
    }
    fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        Host::ct_eq(a, b)
    }
    fn siphash(key: &[u64; 2], data: &[u8]) -> u64 {
        Host::siphash(key, data)
    }
    fn hsiphash(key: &[u64; 2], data: &[u8]) -> u32 {
        Host::hsiphash(key, data)
    }
}

// Costs of the symmetric operations, in BLAKE2s compressions.
/// MixHash of a public key, `tau`, the 28-byte encrypted timestamp or the
/// 16-byte encrypted empty payload: `h || x` fits one block.
const MIX_HASH: u32 = 1;
/// MixHash of the 48-byte encrypted static key: 80 bytes.
const MIX_HASH_STATIC: u32 = 2;
/// A `Kdf`'s key `T0 = HMAC(ck, input)`, of a 32-byte input (a public key,
/// a DH result, the PSK): inner `K^ipad || input` (96 bytes), outer
/// `K^opad || inner` (96 bytes).
const EXTRACT: u32 = 4;
/// The same of an empty input (the session keys' `Kdf2`): `K^ipad` alone is
/// one block.
const EXTRACT_EMPTY: u32 = 3;
/// `T0`'s two padded blocks, hashed once per `Kdf`.
const PADS: u32 = 2;
/// Each output after that: the inner hash of its input (the previous output
/// and a counter byte) and the outer one of 32 bytes, one block each.
const OUTPUT: u32 = 2;
/// 8 (as it was with every HMAC hashing its padded blocks).
const KDF1: u32 = EXTRACT + PADS + OUTPUT;
/// 10 (12 before).
const KDF2: u32 = EXTRACT + PADS + 2 * OUTPUT;
/// 12 (16 before).
const KDF3: u32 = EXTRACT + PADS + 3 * OUTPUT;
/// 9 (11 before).
const KDF2_EMPTY: u32 = EXTRACT_EMPTY + PADS + 2 * OUTPUT;
/// mac1 of an initiation: its 116 bytes, the key's block hashed at set-up
/// (3 before).
const MAC_INITIATION: u32 = 2;
/// mac1 of a response: its 60 bytes (2 before).
const MAC_RESPONSE: u32 = 1;

#[test]
fn one_handshake_calls_what_wireguard_does() {
    let psk = [0x5a; 32];
    let (a, b) = (
        StaticIdentity::<Counting>::new(Key::new([1; 32])),
        StaticIdentity::<Counting>::new(Key::new([2; 32])),
    );
    let mut ia = PeerHandshake::<Counting>::new(Some(&a), *b.public_key(), Some(&psk));
    let mut rb = PeerHandshake::<Counting>::new(Some(&b), *a.public_key(), Some(&psk));
    let mut maker_a = CookieMaker::<Counting>::new(b.public_key());
    let mut maker_b = CookieMaker::<Counting>::new(a.public_key());
    let mut checker_a = CookieChecker::<Counting>::new(Some(a.public_key()));
    let mut checker_b = CookieChecker::<Counting>::new(Some(b.public_key()));
    let (src_a, src_b): (&[u8], &[u8]) = (&[192, 0, 2, 1], &[192, 0, 2, 2]);
    let port: &[u8] = &[0xca, 0x6c];
    // Set-up (keys, the static-static DH, the initial hashes, the MAC keys)
    // happens once per key or peer, not per message: not counted. So does
    // the first cookie secret (one compression: its block; a new one every
    // two minutes).
    checker_a.keys(0);
    checker_b.keys(0);
    take();

    // Initiator, message 1: `e` (MixHash, Kdf1), `es` (DH, Kdf2), `s`
    // (MixHash of the ciphertext), `ss` (precomputed DH, Kdf2), the
    // timestamp (MixHash). The initial chaining key and hash, and the hash
    // of the responder's static key, are precomputed.
    let mut init = ia
        .create_initiation_with_ephemeral(&a, 1, (100, 0), Key::new([0x77; 32]))
        .unwrap();
    let e_es_s_ss_ts = MIX_HASH + KDF1 + KDF2 + MIX_HASH_STATIC + KDF2 + MIX_HASH;
    assert_eq!(take(), (e_es_s_ss_ts, 1, 1), "create_initiation");
    maker_a.add_macs(&mut init, 0).unwrap();
    assert_eq!(
        take(),
        (MAC_INITIATION, 0, 0),
        "mac1 of the initiation (no cookie)"
    );

    // Responder: mac1, then `e`, `es`, `s` (one DH), then `ss` and the
    // timestamp (no DH: precomputed).
    let keys = checker_b.keys(0);
    assert_eq!(keys.check(&init, (src_a, port), false), MacCheck::Valid);
    assert_eq!(
        take(),
        (MAC_INITIATION, 0, 0),
        "mac1 check of the initiation"
    );
    // Under load, without a cookie: mac1, the source's cookie (a MAC of its
    // address and port under the secret, whose block is hashed already: 1,
    // 2 before), mac2 (a MAC under that cookie of the body and mac1: a key
    // block and 132 bytes, 4).
    assert_eq!(
        keys.check(&init, (src_a, port), true),
        MacCheck::NeedsCookie
    );
    assert_eq!(
        take(),
        (MAC_INITIATION + 1 + 4, 0, 0),
        "mac1 and mac2 check under load"
    );
    let st = read_initiation(&b, &Initiation::parse(&init).unwrap()).unwrap();
    assert_eq!(
        take(),
        (MIX_HASH + KDF1 + KDF2 + MIX_HASH_STATIC, 1, 0),
        "read_initiation"
    );
    rb.consume_initiation(st, 0).unwrap();
    assert_eq!(take(), (KDF2 + MIX_HASH, 0, 0), "consume_initiation");

    // Responder, message 2: `e` (MixHash, Kdf1), `ee` and `se` (DH, Kdf1
    // each: no key is taken from them), `psk` (Kdf3, MixHash of its second
    // output), the empty payload (MixHash), then the session keys (Kdf2).
    let (mut resp, _keys_b) = rb
        .create_response_with_ephemeral(2, Key::new([0x88; 32]))
        .unwrap();
    let e_ee_se_psk_empty = MIX_HASH + KDF1 + KDF1 + KDF1 + KDF3 + MIX_HASH + MIX_HASH;
    assert_eq!(
        take(),
        (e_ee_se_psk_empty + KDF2_EMPTY, 2, 1),
        "create_response"
    );
    maker_b.add_macs(&mut resp, 0).unwrap();
    assert_eq!(take(), (MAC_RESPONSE, 0, 0), "mac1 of the response");

    // Initiator: mac1, then the same tokens read, then the session keys.
    let keys = checker_a.keys(0);
    assert_eq!(keys.check(&resp, (src_b, port), false), MacCheck::Valid);
    assert_eq!(take(), (MAC_RESPONSE, 0, 0), "mac1 check of the response");
    ia.consume_response(&a, &Response::parse(&resp).unwrap())
        .unwrap();
    assert_eq!(
        take(),
        (e_ee_se_psk_empty + KDF2_EMPTY, 2, 0),
        "consume_response"
    );
}

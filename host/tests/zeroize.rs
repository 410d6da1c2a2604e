//! Secrets are zeroed on drop: a spy platform (delegating to the host
//! platform) records every buffer handed to `Crypto::zeroize` before zeroing
//! it, and the tests look for the secrets among them.
use std::cell::{Cell, RefCell};
use wg_proto::host::Host;
use wg_proto::proto::cookie::{CookieChecker, CookieMaker};
use wg_proto::proto::handshake::{read_initiation, PeerHandshake, StaticIdentity};
use wg_proto::proto::keypair::Keypair;
use wg_proto::proto::messages::{CookieReply, Initiation, Response, INITIATION_LEN};
use wg_proto::proto::noise::SymmetricState;
use wg_proto::proto::platform::{Crypto, KEY_LEN, TAG_LEN, XNONCE_LEN};
use wg_proto::proto::secret::Key;

struct Spy;

thread_local! {
    static ZEROED: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    // The key of the last aead_seal or aead_open.
    static AEAD_KEY: Cell<[u8; KEY_LEN]> = const { Cell::new([0; KEY_LEN]) };
}

fn zeroed(secret: &[u8]) -> bool {
    ZEROED.with(|z| z.borrow().iter().any(|b| b.as_slice() == secret))
}

fn reset() {
    ZEROED.with(|z| z.borrow_mut().clear());
}

/// The host's prefix, with its block (the key's, zero-padded), handed to
/// `zeroize` when it goes, as a platform's prefix is zeroed.
#[derive(Clone)]
struct SpyPrefix(<Host as Crypto>::Blake2sPrefix, [u8; 64]);

impl Drop for SpyPrefix {
    fn drop(&mut self) {
        Spy::zeroize(&mut self.1);
    }
}

impl Crypto for Spy {
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        Host::blake2s(out, key, input)
    }
    type Blake2sPrefix = SpyPrefix;
    fn blake2s_keyed_prefix(n: usize, key: &[u8; KEY_LEN]) -> SpyPrefix {
        let mut block = [0; 64];
        block[..KEY_LEN].copy_from_slice(key);
        SpyPrefix(Host::blake2s_keyed_prefix(n, key), block)
    }
    fn blake2s_block_prefix(block: &[u8; 64]) -> SpyPrefix {
        SpyPrefix(Host::blake2s_block_prefix(block), *block)
    }
    fn blake2s_resume(p: &SpyPrefix, out: &mut [u8], input: &[&[u8]]) {
        Host::blake2s_resume(&p.0, out, input)
    }
    fn x25519(out: &mut [u8; KEY_LEN], s: &[u8; KEY_LEN], p: &[u8; KEY_LEN]) -> bool {
        Host::x25519(out, s, p)
    }
    fn x25519_base(out: &mut [u8; KEY_LEN], s: &[u8; KEY_LEN]) {
        Host::x25519_base(out, s)
    }
    fn aead_seal(k: &[u8; KEY_LEN], c: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        AEAD_KEY.with(|a| a.set(*k));
        Host::aead_seal(k, c, ad, buf)
    }
    fn aead_open(k: &[u8; KEY_LEN], c: u64, ad: &[u8], buf: &mut [u8], t: &[u8; TAG_LEN]) -> bool {
        AEAD_KEY.with(|a| a.set(*k));
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
        ZEROED.with(|z| z.borrow_mut().push(buf.to_vec()));
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

fn id(b: u8) -> StaticIdentity<Spy> {
    StaticIdentity::new(Key::new([b; 32]))
}

#[test]
fn key_and_identity() {
    reset();
    drop(Key::<Spy>::new([0x11; 32]));
    assert!(zeroed(&[0x11; 32]));
    drop(id(0x22));
    assert!(zeroed(&[0x22; 32]));
    // Taking a secret out of a plain array zeroes the array.
    let mut raw = [0x33u8; 32];
    let k = Key::<Spy>::take_from(&mut raw);
    assert_eq!(raw, [0; 32]);
    assert!(k.ct_eq(&[0x33; 32]));
}

#[test]
fn handshake_state_and_session_keys() {
    let (a, b) = (id(1), id(2));
    let psk = [0x5a; 32];
    let mut ia = PeerHandshake::<Spy>::new(Some(&a), *b.public_key(), Some(&psk));
    let mut rb = PeerHandshake::<Spy>::new(Some(&b), *a.public_key(), Some(&psk));
    let eph = [0x77; 32];
    let init = ia
        .create_initiation_with_ephemeral(&a, 1, (100, 0), Key::new(eph))
        .unwrap();
    let init = Initiation::parse(&init).unwrap();
    rb.consume_initiation(read_initiation(&b, &init).unwrap(), 0)
        .unwrap();
    let (resp, rkeys) = rb.create_response(2).unwrap();
    reset();
    let ikeys = ia
        .consume_response(&a, &Response::parse(&resp).unwrap())
        .unwrap();
    // Completing the handshake zeroed the initiator's ephemeral key.
    assert!(zeroed(&eph));
    let (send, recv) = (*ikeys.sending_key(), *ikeys.receiving_key());
    assert_eq!(&send, rkeys.receiving_key());
    drop(rkeys);
    // Keys in a keypair are zeroed when the keypair goes.
    let kp = Keypair::new(ikeys, 0);
    reset();
    drop(kp);
    assert!(zeroed(&send) && zeroed(&recv));
    // Dropping a peer's handshake zeroes the PSK and the static-static DH.
    let ss = *wg_proto::proto::noise::dh::<Spy>(a.private_key(), b.public_key())
        .unwrap()
        .as_bytes();
    reset();
    drop(ia);
    assert!(zeroed(&psk));
    assert!(zeroed(&ss));
}

#[test]
fn cookie_is_zeroed() {
    let b = id(2);
    let src = [10, 0, 0, 1, 0, 1];
    let mut checker = CookieChecker::<Spy>::new(Some(b.public_key()));
    let mut maker = CookieMaker::<Spy>::new(b.public_key());
    let mut msg = [0u8; INITIATION_LEN];
    msg[0] = 1;
    maker.add_macs(&mut msg, 0).unwrap();
    reset();
    let reply = checker.create_reply(&msg, 1, &src, 0).unwrap();
    // The first cookie secret: made random, as the key of the MAC that
    // makes cookies (its block hashed once), and zeroed once that is done.
    let secret = ZEROED.with(|z| {
        let z = z.borrow();
        let random: Vec<&Vec<u8>> = z
            .iter()
            .filter(|b| b.len() == 32 && b.iter().any(|x| *x != 0))
            .collect();
        assert_eq!(random.len(), 1, "one 32-byte secret zeroed: {random:?}");
        random[0].clone()
    });
    maker
        .consume_reply(&CookieReply::parse(&reply).unwrap(), 0)
        .unwrap();
    reset();
    drop(maker);
    drop(checker);
    // The cookie (16 bytes) and the checker's secret (in its MAC key's
    // block) were zeroed.
    ZEROED.with(|z| {
        let z = z.borrow();
        assert!(z.iter().any(|b| b.len() == 16 && b.iter().any(|x| *x != 0)));
        assert!(z.iter().any(|b| b.len() == 64 && b[..32] == secret[..]));
    });
}

/// Whether the bytes of `st` hold `key` anywhere.
fn holds(st: &SymmetricState<Spy>, key: &[u8; KEY_LEN]) -> bool {
    // SAFETY: reads the state's own bytes, within its size (a test looking
    // at memory a secret may have been left in).
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (st as *const SymmetricState<Spy>).cast::<u8>(),
            std::mem::size_of_val(st),
        )
    };
    bytes.windows(KEY_LEN).any(|w| w == key)
}

/// A handshake key is used once, by one EncryptAndHash or DecryptAndHash,
/// and is zeroed where it lies: the state keeps no copy of it (moving it
/// out with `Option::take` would leave its bytes behind).
#[test]
fn used_handshake_key_leaves_no_copy() {
    let mut sender = SymmetricState::<Spy>::from_parts([1; 32], [2; 32]);
    let mut receiver = sender.duplicate();
    sender.mix_key(&[3; 32]);
    receiver.mix_key(&[3; 32]);
    let mut buf = [7u8; 16 + TAG_LEN];
    sender.encrypt_and_hash(&mut buf).unwrap();
    let key = AEAD_KEY.with(|a| a.get());
    assert!(
        !holds(&sender, &key),
        "the sender's state still holds the key"
    );
    let mut out = [0u8; 16];
    receiver.decrypt_and_hash(&buf, &mut out).unwrap();
    assert_eq!(out, [7u8; 16]);
    assert_eq!(AEAD_KEY.with(|a| a.get()), key);
    assert!(
        !holds(&receiver, &key),
        "the receiver's state still holds the key"
    );
    // And neither can use it again.
    assert!(sender.encrypt_and_hash(&mut buf).is_err());
    assert!(receiver.decrypt_and_hash(&buf, &mut out).is_err());
}

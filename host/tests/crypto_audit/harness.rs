#![no_std]
//! Panic audit harness of the cryptographic protocol (see
//! ../crypto_panic_audit.rs): instantiates handshake, cookie, keypair,
//! message and Noise operations with a dummy platform whose primitives are
//! opaque external functions, and exports one function per operation that
//! takes untrusted input.
#![allow(missing_docs)]
#[allow(dead_code, unreachable_pub)]
#[path = "@PROTO@"]
pub mod proto;

use proto::platform::{Crypto, KEY_LEN, TAG_LEN, XNONCE_LEN};
extern "C" {
    fn opaque_fill(p: *mut u8, n: usize);
    fn opaque_read(p: *const u8, n: usize);
    fn opaque_ok() -> bool;
}
fn fill(b: &mut [u8]) {
    unsafe { opaque_fill(b.as_mut_ptr(), b.len()) }
}
fn read(b: &[u8]) {
    unsafe { opaque_read(b.as_ptr(), b.len()) }
}
fn ok() -> bool {
    unsafe { opaque_ok() }
}

pub struct Dummy;
#[derive(Clone)]
pub struct Prefix([u8; 64]);
impl Crypto for Dummy {
    fn blake2s(out: &mut [u8], key: &[u8], input: &[&[u8]]) {
        read(key);
        for i in input {
            read(i)
        }
        fill(out)
    }
    type Blake2sPrefix = Prefix;
    fn blake2s_keyed_prefix(_: usize, key: &[u8; KEY_LEN]) -> Prefix {
        read(key);
        let mut p = Prefix([0; 64]);
        fill(&mut p.0);
        p
    }
    fn blake2s_block_prefix(block: &[u8; 64]) -> Prefix {
        read(block);
        let mut p = Prefix([0; 64]);
        fill(&mut p.0);
        p
    }
    fn blake2s_resume(p: &Prefix, out: &mut [u8], input: &[&[u8]]) {
        read(&p.0);
        for i in input {
            read(i)
        }
        fill(out)
    }
    fn x25519(out: &mut [u8; KEY_LEN], s: &[u8; KEY_LEN], p: &[u8; KEY_LEN]) -> bool {
        read(s);
        read(p);
        fill(out);
        ok()
    }
    fn x25519_base(out: &mut [u8; KEY_LEN], s: &[u8; KEY_LEN]) {
        read(s);
        fill(out)
    }
    fn aead_seal(k: &[u8; KEY_LEN], c: u64, ad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        read(k);
        read(&c.to_le_bytes());
        read(ad);
        fill(buf);
        let mut t = [0; TAG_LEN];
        fill(&mut t);
        t
    }
    fn aead_open(k: &[u8; KEY_LEN], c: u64, ad: &[u8], buf: &mut [u8], t: &[u8; TAG_LEN]) -> bool {
        read(k);
        read(&c.to_le_bytes());
        read(ad);
        read(t);
        fill(buf);
        ok()
    }
    fn xaead_seal(
        k: &[u8; KEY_LEN],
        n: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        read(k);
        read(n);
        read(ad);
        fill(buf);
        let mut t = [0; TAG_LEN];
        fill(&mut t);
        t
    }
    fn xaead_open(
        k: &[u8; KEY_LEN],
        n: &[u8; XNONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        t: &[u8; TAG_LEN],
    ) -> bool {
        read(k);
        read(n);
        read(ad);
        read(t);
        fill(buf);
        ok()
    }
    fn random_bytes(buf: &mut [u8]) {
        fill(buf)
    }
    fn zeroize(buf: &mut [u8]) {
        fill(buf)
    }
    fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        read(a);
        read(b);
        ok()
    }
    fn siphash(_: &[u64; 2], d: &[u8]) -> u64 {
        read(d);
        0
    }
    fn hsiphash(_: &[u64; 2], d: &[u8]) -> u32 {
        read(d);
        0
    }
}
pub struct NoBox<T>(T);
impl<T> core::ops::Deref for NoBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
impl<T> core::ops::DerefMut for NoBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

use proto::cookie::*;
use proto::error::Error;
use proto::handshake::*;
use proto::keypair::*;
use proto::messages::*;
use proto::noise;
/// Noise's initial IK state, as the host tests' `testing::ik_init` builds it
/// (the module itself starts from precomputed values).
fn ik_init(pn: &[u8], prologue: &[u8], rs: &[u8; 32]) -> noise::SymmetricState<Dummy> {
    let h = proto::kdf::hash::<Dummy>(pn, &[]);
    let mut st = noise::SymmetricState::from_parts(h, h);
    st.mix_hash(prologue, &[]);
    st.mix_hash(rs, &[]);
    st
}
use proto::secret::Key;
type Kp = Keypair<Dummy>;
// The harness's keypair slots hold bare keypairs (the module's hold its
// `KeypairCell`s, the host tests' their `LocalKeypair`s).
impl<C: Crypto> AsRef<Keypair<C>> for Keypair<C> {
    fn as_ref(&self) -> &Keypair<C> {
        self
    }
}

#[no_mangle]
pub fn cx_parse_init(p: &[u8]) -> Result<[u8; INITIATION_LEN], Error> {
    Initiation::parse(p).map(|m| m.encode())
}
#[no_mangle]
pub fn cx_parse_resp(p: &[u8]) -> Result<[u8; RESPONSE_LEN], Error> {
    Response::parse(p).map(|m| m.encode())
}
#[no_mangle]
pub fn cx_parse_cookie(p: &[u8]) -> Result<[u8; COOKIE_REPLY_LEN], Error> {
    CookieReply::parse(p).map(|m| m.encode())
}
#[no_mangle]
pub fn cx_parse_data(p: &[u8]) -> Result<[u8; DATA_HEADER_LEN], Error> {
    DataHeader::parse(p).map(|m| m.encode())
}
#[no_mangle]
pub fn cx_read_initiation(id: &StaticIdentity<Dummy>, p: &[u8]) -> Result<u32, Error> {
    let m = Initiation::parse(p)?;
    read_initiation(id, &m).map(|i| u32::from(i.remote_static()[0]))
}
#[no_mangle]
pub fn cx_consume_initiation(
    id: &StaticIdentity<Dummy>,
    hs: &mut PeerHandshake<Dummy>,
    p: &[u8],
    now: u64,
) -> Result<(), Error> {
    let m = Initiation::parse(p)?;
    hs.consume_initiation(read_initiation(id, &m)?, now)
}
#[no_mangle]
pub fn cx_create_initiation(
    id: &StaticIdentity<Dummy>,
    hs: &mut PeerHandshake<Dummy>,
    i: u32,
    s: u64,
    ns: u32,
) -> Result<[u8; INITIATION_LEN], Error> {
    hs.create_initiation_with_ephemeral(id, i, (s, ns), Key::random())
}
#[no_mangle]
pub fn cx_create_response(
    hs: &mut PeerHandshake<Dummy>,
    i: u32,
    now: u64,
    out: &mut [u8; RESPONSE_LEN],
) -> Result<u32, Error> {
    let (r, k) = hs.create_response_with_ephemeral(i, Key::random())?;
    *out = r;
    Ok(Kp::new(k, now).local_index())
}
#[no_mangle]
pub fn cx_consume_response(
    id: &StaticIdentity<Dummy>,
    hs: &mut PeerHandshake<Dummy>,
    p: &[u8],
) -> Result<u32, Error> {
    let m = Response::parse(p)?;
    hs.consume_response(id, &m).map(|k| k.remote_index)
}
#[no_mangle]
pub fn cx_new_peer(
    id: &StaticIdentity<Dummy>,
    k: &[u8; 32],
    psk: &[u8; 32],
    out: &mut core::mem::MaybeUninit<PeerHandshake<Dummy>>,
) {
    out.write(PeerHandshake::new(Some(id), *k, Some(psk)));
}
#[no_mangle]
pub fn cx_check(
    c: &mut CookieChecker<Dummy>,
    p: &[u8],
    src: &[u8],
    now: u64,
    load: bool,
) -> MacCheck {
    c.keys(now).check(p, (src, &[]), load)
}
#[no_mangle]
pub fn cx_create_reply(
    c: &mut CookieChecker<Dummy>,
    p: &[u8],
    i: u32,
    src: &[u8],
    now: u64,
) -> Result<[u8; COOKIE_REPLY_LEN], Error> {
    c.keys(now).create_reply(p, i, (src, &[]))
}
#[no_mangle]
pub fn cx_add_macs(m: &mut CookieMaker<Dummy>, p: &mut [u8], now: u64) -> Result<(), Error> {
    m.add_macs(p, now)
}
#[no_mangle]
pub fn cx_consume_reply(m: &mut CookieMaker<Dummy>, p: &[u8], now: u64) -> Result<(), Error> {
    let r = CookieReply::parse(p)?;
    m.consume_reply(&r, now)
}
#[no_mangle]
pub fn cx_under_load(q: usize, now: u64, last: Option<u64>) -> (bool, Option<u64>) {
    under_load(q, now, last)
}
#[no_mangle]
pub fn cx_padding(len: usize, mtu: usize) -> usize {
    padding_len(len, mtu)
}
#[no_mangle]
pub fn cx_reserve(k: &Kp, now: u64) -> Result<u64, Error> {
    k.reserve_send(now)
}
#[no_mangle]
pub fn cx_check_receive(k: &Kp, now: u64, c: u64) -> Result<(), Error> {
    k.check_receive(now, c)
}
#[no_mangle]
pub fn cx_rekey(k: &Kp, now: u64) -> bool {
    let v = k.rekey_view(now);
    proto::timers::rekey_due_on_send(Some(&v), now)
        | proto::timers::rekey_due_on_receive(Some(&v), now)
}
#[no_mangle]
pub fn cx_kps_insert(k: &mut Keypairs<Dummy, NoBox<Kp>>, n: NoBox<Kp>) -> [bool; 2] {
    k.insert(n).map(|x| x.is_some())
}
#[no_mangle]
pub fn cx_kps_received(k: &mut Keypairs<Dummy, NoBox<Kp>>, i: u32) -> bool {
    k.received_with(i).0
}
#[no_mangle]
pub fn cx_kps_get(k: &mut Keypairs<Dummy, NoBox<Kp>>, i: u32) -> bool {
    k.get(i).is_some()
}
#[no_mangle]
pub fn cx_kps_misc(k: &mut Keypairs<Dummy, NoBox<Kp>>) -> [bool; 3] {
    k.expire_sending();
    k.clear().map(|x| x.is_some())
}
#[no_mangle]
pub fn cx_hmac(k: &[u8], a: &[u8], b: &[u8]) -> [u8; 32] {
    *proto::kdf::hmac::<Dummy>(k, a, b).as_bytes()
}
#[no_mangle]
pub fn cx_kdf3(k: &[u8], a: &[u8]) -> [u8; 32] {
    *proto::kdf::kdf3::<Dummy>(k, a).2.as_bytes()
}
#[no_mangle]
pub fn cx_tai64n(s: u64, n: u32) -> [u8; 12] {
    proto::tai64n::tai64n(s, n)
}
#[no_mangle]
pub fn cx_noise_msg1(
    pn: &[u8],
    pro: &[u8],
    s: &Key<Dummy>,
    e: &Key<Dummy>,
    rs: &[u8; 32],
    ss: &Key<Dummy>,
    payload: &mut [u8],
    out: &mut ([u8; 32], [u8; 48]),
) -> Result<(), Error> {
    let mut st = ik_init(pn, pro, rs);
    let sp = noise::public_key(s);
    noise::ik_write_msg1(&mut st, &sp, e, rs, ss, &mut out.0, &mut out.1, payload)
}
#[no_mangle]
pub fn cx_noise_read1(
    pn: &[u8],
    s: &Key<Dummy>,
    ss: &Key<Dummy>,
    e: &[u8; 32],
    es: &[u8; 48],
    ct: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let mut st = ik_init(pn, &[], e);
    noise::ik_read_msg1_static(&mut st, s, e, es)?;
    noise::ik_read_msg1_payload(&mut st, ss, ct, out)
}
#[no_mangle]
pub fn cx_noise_msg2(
    st: &mut noise::SymmetricState<Dummy>,
    e: &Key<Dummy>,
    re: &[u8; 32],
    psk: &Key<Dummy>,
    eo: &mut [u8; 32],
    payload: &mut [u8],
    ct: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    noise::ik_write_msg2(st, e, re, re, psk, eo, payload)?;
    noise::ik_read_msg2(st, e, e, psk, re, ct, out)
}
#[no_mangle]
pub fn cx_cipher(
    st: &mut noise::SymmetricState<Dummy>,
    st2: &mut noise::SymmetricState<Dummy>,
    buf: &mut [u8],
    ct: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    // Two states: a key is used once, by one encryption or one decryption.
    st.encrypt_and_hash(buf)?;
    st2.decrypt_and_hash(ct, out)
}

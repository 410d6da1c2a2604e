#![no_std]
//! Panic audit harness (see ../panic_audit.rs): instantiates the tables and
//! timers of the protocol core with a dummy platform whose vectors have a
//! length the optimiser cannot know, and exports one function per operation.
#![allow(missing_docs)]
#[allow(dead_code, unreachable_pub)]
#[path = "@PROTO@"]
pub mod proto;

use proto::platform::{Alloc, AllocError, Crypto, KEY_LEN, TAG_LEN, XNONCE_LEN};
extern "C" {
    fn opaque_ptr() -> usize;
    fn opaque_len() -> usize;
    fn opaque_ok() -> bool;
}
pub struct Dummy;
pub struct NoVec<T>(*mut T, usize);
unsafe impl<T> Send for NoVec<T> {}
unsafe impl<T> Sync for NoVec<T> {}
impl<T> core::ops::Deref for NoVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        unsafe { core::slice::from_raw_parts(self.0, self.1) }
    }
}
impl<T> core::ops::DerefMut for NoVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        unsafe { core::slice::from_raw_parts_mut(self.0, self.1) }
    }
}
impl Alloc for Dummy {
    type Vec<T> = NoVec<T>;
    fn vec_new<T>() -> NoVec<T> {
        let (p, l) = unsafe { (opaque_ptr(), opaque_len()) };
        NoVec(p as *mut T, l)
    }
    fn vec_push<T>(v: &mut NoVec<T>, _: T) -> Result<(), AllocError> {
        if unsafe { opaque_ok() } {
            v.1 = unsafe { opaque_len() };
            Ok(())
        } else {
            Err(AllocError)
        }
    }
    fn vec_pop<T>(v: &mut NoVec<T>) -> Option<T> {
        v.1 = unsafe { opaque_len() };
        None
    }
    fn vec_reserve<T>(_: &mut NoVec<T>, _: usize) -> Result<(), AllocError> {
        if unsafe { opaque_ok() } {
            Ok(())
        } else {
            Err(AllocError)
        }
    }
}
// The tables hash with `Crypto::siphash` (the kernel's C function): opaque.
impl Crypto for Dummy {
    fn blake2s(_: &mut [u8], _: &[u8], _: &[&[u8]]) {}
    type Blake2sPrefix = ();
    fn blake2s_keyed_prefix(_: usize, _: &[u8; KEY_LEN]) {}
    fn blake2s_block_prefix(_: &[u8; 64]) {}
    fn blake2s_resume(_: &(), _: &mut [u8], _: &[&[u8]]) {}
    fn x25519(_: &mut [u8; KEY_LEN], _: &[u8; KEY_LEN], _: &[u8; KEY_LEN]) -> bool {
        false
    }
    fn x25519_base(_: &mut [u8; KEY_LEN], _: &[u8; KEY_LEN]) {}
    fn aead_seal(_: &[u8; KEY_LEN], _: u64, _: &[u8], _: &mut [u8]) -> [u8; TAG_LEN] {
        [0; TAG_LEN]
    }
    fn aead_open(_: &[u8; KEY_LEN], _: u64, _: &[u8], _: &mut [u8], _: &[u8; TAG_LEN]) -> bool {
        false
    }
    fn xaead_seal(
        _: &[u8; KEY_LEN],
        _: &[u8; XNONCE_LEN],
        _: &[u8],
        _: &mut [u8],
    ) -> [u8; TAG_LEN] {
        [0; TAG_LEN]
    }
    fn xaead_open(
        _: &[u8; KEY_LEN],
        _: &[u8; XNONCE_LEN],
        _: &[u8],
        _: &mut [u8],
        _: &[u8; TAG_LEN],
    ) -> bool {
        false
    }
    fn random_bytes(_: &mut [u8]) {}
    fn zeroize(_: &mut [u8]) {}
    fn ct_eq(_: &[u8], _: &[u8]) -> bool {
        false
    }
    fn siphash(_: &[u64; 2], _: &[u8]) -> u64 {
        unsafe { opaque_len() as u64 }
    }
    fn hsiphash(_: &[u64; 2], _: &[u8]) -> u32 {
        unsafe { opaque_len() as u32 }
    }
}
use proto::allowedips::*;
#[no_mangle]
pub fn ai_lookup4(t: &AllowedIps<Dummy>, a: [u8; 4]) -> Option<PeerId> {
    t.lookup_v4(a)
}
#[no_mangle]
pub fn ai_lookup6(t: &AllowedIps<Dummy>, a: &[u8; 16]) -> Option<PeerId> {
    t.lookup_v6(a)
}
#[no_mangle]
pub fn ai_insert4(t: &mut AllowedIps<Dummy>, a: [u8; 4], c: u8, p: PeerId) -> bool {
    t.insert(&Prefix::V4 { addr: a, cidr: c }, p).is_ok()
}
#[no_mangle]
pub fn ai_insert6(t: &mut AllowedIps<Dummy>, a: &[u8; 16], c: u8, p: PeerId) -> bool {
    t.insert(&Prefix::V6 { addr: *a, cidr: c }, p).is_ok()
}
#[no_mangle]
pub fn ai_remove4(t: &mut AllowedIps<Dummy>, a: [u8; 4], c: u8, p: PeerId) -> bool {
    t.remove(&Prefix::V4 { addr: a, cidr: c }, p)
}
#[no_mangle]
pub fn ai_remove6(t: &mut AllowedIps<Dummy>, a: &[u8; 16], c: u8, p: PeerId) -> bool {
    t.remove(&Prefix::V6 { addr: *a, cidr: c }, p)
}
#[no_mangle]
pub fn ai_remove_peer(t: &mut AllowedIps<Dummy>, p: PeerId) {
    t.remove_by_peer(p)
}
#[no_mangle]
pub fn ai_walk(t: &AllowedIps<Dummy>, p: PeerId) -> Option<Prefix> {
    t.peer_prefixes(p).last()
}
#[no_mangle]
pub fn ai_walk_after(t: &AllowedIps<Dummy>, p: PeerId, x: &Prefix) -> Option<Prefix> {
    t.peer_prefixes_after(p, Some(x)).and_then(|w| w.last())
}
use proto::ratelimiter::*;
#[no_mangle]
pub fn rl_allow(r: &mut RateLimiter<Dummy, Dummy>, c: u64, s: &Source, n: u64) -> bool {
    r.allow(c, s, n)
}
#[no_mangle]
pub fn rl_new(k: proto::siphash::SipKey<Dummy>, n: usize) -> bool {
    RateLimiter::<Dummy, Dummy>::new(n, k).is_ok()
}
use proto::index_table::*;
#[no_mangle]
pub fn it_lookup(t: &IndexTable<Dummy, (u32, u8)>, i: u32) -> Option<(u32, u8)> {
    t.lookup(&i)
}
#[no_mangle]
pub fn it_insert_at(t: &mut IndexTable<Dummy, (u32, u8)>, i: u32, v: (u32, u8)) -> bool {
    t.insert_at(i, v) == Ok(true)
}
#[no_mangle]
pub fn it_stripe_of(i: u32) -> usize {
    stripe_of(i)
}
#[no_mangle]
pub fn it_stripe(s: &[u64; STRIPES], i: u32) -> u64 {
    *stripe(s, i)
}
#[no_mangle]
pub fn it_remove(t: &mut IndexTable<Dummy, (u32, u8)>, i: u32) -> Option<(u32, u8)> {
    t.remove(&i)
}
use proto::pubkey_table::*;
#[no_mangle]
pub fn pk_lookup(t: &PubkeyTable<Dummy, Dummy>, k: &[u8; 32]) -> Option<PeerId> {
    t.lookup(k)
}
#[no_mangle]
pub fn pk_insert(t: &mut PubkeyTable<Dummy, Dummy>, k: &[u8; 32], p: PeerId) -> bool {
    t.insert(k, p).is_ok()
}
#[no_mangle]
pub fn pk_remove(t: &mut PubkeyTable<Dummy, Dummy>, k: &[u8; 32]) -> Option<PeerId> {
    t.remove(k)
}
#[no_mangle]
pub fn rp_check(w: &mut proto::replay::ReplayWindow, c: u64) -> bool {
    w.check_and_update(c)
}
#[no_mangle]
pub fn sh24(k: &proto::siphash::SipKey<Dummy>, d: &[u8]) -> u64 {
    k.hash(d)
}
use proto::timers::*;
#[no_mangle]
pub fn tm_poll(p: &mut PeerTimers, n: u64) -> Actions {
    p.poll(n)
}
#[no_mangle]
pub fn tm_data_rx(p: &mut PeerTimers, n: u64, a: bool, b: bool, k: Option<CurrentKey>) -> bool {
    p.data_packet_received(n, a, b, k)
}
#[no_mangle]
pub fn tm_data_tx(p: &mut PeerTimers, n: u64, a: bool, j: u64) {
    p.data_packets_sent(n, a, || j)
}
#[no_mangle]
pub fn tm_init_sent(p: &mut PeerTimers, n: u64, j: u64) {
    p.handshake_initiation_sent(n, j)
}
#[no_mangle]
pub fn tm_kkf(p: &mut PeerTimers, k: Option<&CurrentKey>, n: u64) -> bool {
    p.keep_key_fresh_on_send(k, n)
}
#[no_mangle]
pub fn it_new() -> bool {
    IndexTable::<Dummy, (u32, u8)>::stripe()
        .lookup(&0)
        .is_none()
}
#[no_mangle]
pub fn pk_new(k: proto::siphash::SipKey<Dummy>) -> bool {
    PubkeyTable::<Dummy, Dummy>::new(k).is_ok()
}
#[no_mangle]
pub fn ai_reserve(t: &mut AllowedIps<Dummy>, p: PeerId, n: usize) -> bool {
    t.reserve(p, n).is_ok()
}
#[no_mangle]
pub fn sk_random() -> proto::siphash::SipKey<Dummy> {
    proto::siphash::SipKey::random()
}
#[no_mangle]
pub fn tm_lifecycle(p: &mut PeerTimers, i: u16) -> bool {
    p.stop();
    p.start() | p.set_persistent_keepalive(i)
}
#[no_mangle]
pub fn tm_handshake(p: &mut PeerTimers, n: u64) -> bool {
    p.handshake_response_sent(n);
    p.handshake_response_consumed(n);
    p.handshake_packet_received(n);
    p.queue_handshake_initiation(n) | p.begin_handshake_initiation(n)
}
#[no_mangle]
pub fn tm_next(p: &PeerTimers) -> Option<u64> {
    p.next_deadline()
}
#[no_mangle]
pub fn rp_max(w: &proto::replay::ReplayWindow) -> Option<u64> {
    w.next.checked_sub(1) // the host tests' `max_counter` (host/src/testing.rs)
}

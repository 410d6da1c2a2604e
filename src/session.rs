// SPDX-License-Identifier: GPL-2.0
//! Sessions: the receiver-index table (which index names which peer), the
//! keypairs a finished handshake makes, and their removal. Every index a
//! peer's handshake or keypairs hold (registered by [`new_index`] for
//! `send::with_new_index`) is unregistered here when the handshake or
//! keypair lets go of it.
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::platform::{Kernel, KernelAtomic};
use crate::kapi::sync::SpinLockBh;
use crate::new_spinlock_bh;
use crate::peer::{KeypairCell, KeypairRef, PeerRef, PeerState};
use crate::proto::allowedips::PeerId;
use crate::proto::handshake::StaticIdentity;
use crate::proto::index_table::{self, IndexTable};
use crate::proto::keypair::SessionKeys;
use crate::proto::platform::Clock;
use crate::proto::timers::CurrentKey;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// One stripe of the receiver-index table (`Device::index`): a table under a
/// lock of its own, after a cache line's worth of padding, so that no cache
/// line holds what two stripes' users write and read, whatever the array's
/// alignment (a stripe is longer than a line; the first one is kept apart
/// from the field before the array too).
#[pin_data]
#[repr(C)]
pub(crate) struct IndexStripe {
    _pad: [u8; CACHE_LINE],
    #[pin]
    table: SpinLockBh<IndexTable<KernelAtomic, PeerId>>,
}

/// x86-64's cache line.
const CACHE_LINE: usize = 64;

impl IndexStripe {
    /// An empty stripe (it allocates at its first insertion).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(IndexStripe {
            _pad: [0; CACHE_LINE],
            table <- new_spinlock_bh!(IndexTable::stripe(), "wireguard_index"),
        })
    }
}

/// The lock and table of the stripe `index` lives in.
fn stripe(dev: &Device, index: u32) -> &SpinLockBh<IndexTable<KernelAtomic, PeerId>> {
    &index_table::stripe(&dev.index, index).table
}

/// Registers `peer` under a fresh random index, which it returns (allocates
/// with `GFP_ATOMIC` at most).
pub(crate) fn new_index(dev: &Device, peer: PeerId) -> Option<u32> {
    index_table::draw::<Kernel>(|index| stripe(dev, index).lock().insert_at(index, peer)).ok()
}

/// Unregisters `index`.
pub(crate) fn drop_index(dev: &Device, index: u32) {
    stripe(dev, index).lock().remove(&index);
}

/// The peer registered under `index`, if it is still published.
pub(crate) fn peer_by_index(dev: &Device, index: u32) -> Option<PeerRef> {
    let id = stripe(dev, index).lock().lookup(&index)?;
    let guard = crate::kapi::rcu::read_lock();
    dev.routing.read(&guard).peer(id).cloned()
}

fn drop_keypairs(dev: &Device, kps: impl IntoIterator<Item = Option<KeypairRef>>) {
    for kp in kps.into_iter().flatten() {
        drop_index(dev, kp.keypair.local_index());
    }
}

/// Installs the session of a finished handshake (an initiator's becomes
/// current, a responder's waits as next) under the index the handshake
/// registered. Allocates: only after the handshake authenticated.
///
/// A removed peer gets no session (`wg_noise_handshake_begin_session`'s
/// `is_dead` check): `dead` is read under the keypairs' lock, which removal
/// takes after setting it, to clear the keypairs; so either the session is
/// installed before that clearing (which drops it and its index), or it sees
/// `dead` here and its index is dropped now. No index outlives the peer.
///
/// Nor does a handshake made under a private key the device no longer has:
/// `identity` (the one it was made with) must still be the device's, read
/// with the device's key held for reading, which a key change holds for
/// writing while it stops every peer's sessions sending (`set_identity`). So the session lands either
/// before that (and stops sending with the others) or not at all. (The C
/// driver's key change clears the handshake, whose state its
/// `begin_session` checks; ours was taken out of the handshake before.)
pub(crate) fn begin_session(
    peer: &PeerState,
    keys: SessionKeys<Kernel>,
    identity: &Arc<StaticIdentity<Kernel>>,
) -> Result {
    let dev = peer.dev.get().data();
    let local = keys.local_index;
    let installed = KeypairCell::new_arc(keys, Kernel::now_ns(), peer).and_then(|kp| {
        let current = dev.identity.read();
        let mut kps = peer.keypairs.lock();
        let stale = !current.as_ref().is_some_and(|c| Arc::ptr_eq(c, identity));
        if stale || peer.dead.load(Ordering::Acquire) {
            return Err(ENODEV);
        }
        Ok(kps.insert(kp))
    });
    let evicted = installed.inspect_err(|_| drop_index(dev, local))?;
    drop_keypairs(dev, evicted);
    Ok(())
}

/// A run of data messages opened under the session of `local_index` (one
/// burst, the NAPI poll, in order), under one hold of the keypairs' lock:
/// `counters` is given a check of a counter against that session's replay
/// window (true: it passed, and the window has it now) to call for each
/// message in order. If one passed, it confirms the responder's pending
/// keypair (the first data message under it makes it current). Returns
/// whether they confirmed that keypair, and the current session's
/// re-keying view after that; `None` if none passed, or the session is
/// gone (dropped after the messages were opened: then none is checked).
/// `counters` runs with the keypairs' and the replay window's BH spinlocks
/// held: it must not lock, print, or call into the peer.
pub(crate) fn receive_run(
    peer: &PeerState,
    local_index: u32,
    now_ns: u64,
    counters: impl FnOnce(&mut dyn FnMut(u64) -> bool),
) -> Option<(bool, Option<CurrentKey>)> {
    let (received, evicted) = {
        let mut kps = peer.keypairs.lock();
        let kp = kps.get(local_index)?;
        let mut any = false;
        {
            let mut replay = kp.replay.lock();
            counters(&mut |counter| {
                let passed = replay.check_and_update(counter);
                any |= passed;
                passed
            });
        }
        if !any {
            return None;
        }
        let (confirmed, evicted) = kps.received_with(local_index);
        let current = kps.current.as_ref().map(|k| k.keypair.rekey_view(now_ns));
        ((confirmed, current), evicted)
    };
    drop_keypairs(peer.dev.get().data(), [evicted]);
    Some(received)
}

/// Zeroes all of a peer's key material (process context): abandons the
/// handshake in flight, then drops every keypair (zeroing them as they go).
pub(crate) fn clear_all(peer: &PeerState) {
    let dev = peer.dev.get().data();
    let index = peer.handshake.lock().clear();
    if let Some(i) = index {
        drop_index(dev, i);
    }
    let kps = peer.keypairs.lock().clear();
    drop_keypairs(dev, kps);
}

/// The device's key changed: the peer's handshake is redone for it and its
/// sessions stop sending (`wg_noise_expire_current_peer_keypairs`).
pub(crate) fn set_identity(peer: &PeerState, identity: Option<&StaticIdentity<Kernel>>) {
    let index = peer.handshake.lock().set_identity(identity);
    if let Some(i) = index {
        drop_index(peer.dev.get().data(), i);
    }
    peer.keypairs.lock().expire_sending();
    peer.timers.lock().reset_last_sent_handshake();
}

/// The keypair to send with, if any.
pub(crate) fn current(peer: &PeerState) -> Option<KeypairRef> {
    peer.keypairs.lock().current.clone()
}

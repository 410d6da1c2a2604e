// SPDX-License-Identifier: GPL-2.0
//! Sending: the device's transmit path (cryptokey routing, staging),
//! encryption and ordered transmission per peer, keepalives, and our
//! handshake messages.
//!
//! Packets for a peer wait in its staged queue (the oldest dropped while more
//! than MAX_STAGED_PACKETS wait, before a send's packets are added; released
//! from their sockets) until it has a session; then each gets its counter
//! and goes both on the peer's transmit queue (at most MAX_QUEUED_PACKETS,
//! in order) and into the device's encryption ring, whose per-CPU workers
//! seal packets in place in any order; the worker that sealed a packet (or
//! the peer's transmit work item) sends from the head of its queue what is
//! sealed, in order. A small packet after a pause is sealed and sent by the
//! transmit path itself instead (`seal_here`), still through the queue.
#![forbid(unsafe_code)]

use crate::device::{data_packet_head_room, Device};
use crate::kapi::anchored::{Anchored, WorkId};
use crate::kapi::crypt_queue::{self, CryptQueue, CryptWorker};
use crate::kapi::error::enetunreach;
use crate::kapi::gso::UdpGso;
use crate::kapi::netdev::{DevError, NetDevice};
use crate::kapi::ordered::{self, Bundle, Dispatched, Job, USER_CB_LEN};
use crate::kapi::platform::{self, Kernel};
use crate::kapi::rcu;
use crate::kapi::skb::SkBuff;
use crate::peer::{peer_dbg, KeypairRef, PeerRef, PeerState};
use crate::proto::constants::{
    MAX_QUEUED_PACKETS, MAX_STAGED_PACKETS, NSEC_PER_SEC, ZERO_KEYS_AFTER,
};
use crate::proto::error::Error;
use crate::proto::handshake::{PeerHandshake, StaticIdentity};
use crate::proto::keypair::padding_len;
use crate::proto::messages::{DataHeader, DATA_MIN_LEN};
use crate::proto::platform::Clock;
use crate::proto::secret::Key;
use crate::proto::timers::random_jitter;
use crate::socket;
use crate::{session, timers, wg_dbg, wg_pr_debug};
use core::cell::Cell;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The outer DSCP of handshake messages (`HANDSHAKE_DSCP`, AF41).
const HANDSHAKE_DSCP: u8 = 0x88;

/// What the data path keeps in the user bytes of a packet's control block
/// while it owns the packet (bytes 0..4, 4..8, 8..16). Transmit: the route's
/// MTU (for the padding), the outer DS field, and from when the packet leaves
/// the staged queue its counter. Receive: the receiver index, the message's
/// length, and its counter.
pub(crate) struct PacketCb(pub(crate) u32, pub(crate) u32, pub(crate) u64);

impl PacketCb {
    pub(crate) fn read(cb: &[u8; USER_CB_LEN]) -> Self {
        let [a0, a1, a2, a3, b0, b1, b2, b3, counter @ ..] = *cb;
        let a = u32::from_ne_bytes([a0, a1, a2, a3]);
        let b = u32::from_ne_bytes([b0, b1, b2, b3]);
        PacketCb(a, b, u64::from_ne_bytes(counter))
    }

    /// Those of a packet the caller owns.
    pub(crate) fn of(skb: &mut SkBuff) -> Option<Self> {
        skb.cb().first_chunk().map(Self::read)
    }

    pub(crate) fn write(&self, cb: &mut [u8; USER_CB_LEN]) {
        cb[..4].copy_from_slice(&self.0.to_ne_bytes());
        cb[4..8].copy_from_slice(&self.1.to_ne_bytes());
        cb[8..].copy_from_slice(&self.2.to_ne_bytes());
    }

    pub(crate) fn write_to(&self, skb: &mut SkBuff) {
        if let Some(cb) = skb.cb().first_chunk_mut::<USER_CB_LEN>() {
            self.write(cb);
        }
    }
}

/// `ndo_start_xmit`.
pub(crate) fn xmit(dev: &NetDevice<Device>, skb: SkBuff) {
    let Some(dst) = skb.inner_destination() else {
        wg_dbg!("{}: Invalid IP packet", dev.name());
        dev.count_error(DevError::Tx);
        return;
    };
    let routing = &dev.data().routing;
    let peer = routing.read(&rcu::read_lock()).route(&dst).cloned();
    let Some(peer) = peer else {
        wg_dbg!("{}: No peer is configured for {}", dev.name(), dst);
        dev.count_error(DevError::Tx);
        skb.reject_unreachable();
        return;
    };
    if peer.endpoint.lock().addr.is_none() {
        peer_dbg!(
            peer,
            "No valid endpoint has been configured or discovered for peer {}"
        );
        dev.count_error(DevError::Tx);
        skb.reject_unreachable();
        return;
    }
    let mtu = skb.route_mtu(dev);
    let Ok(segments) = skb.segment() else {
        dev.count_error(DevError::Tx);
        return;
    };
    // The segments of a super-packet stay together: one bundle, one
    // encryption job on one CPU (staged, each waits as an entry of its own:
    // `stage`).
    let bundle: Bundle = segments
        .filter_map(|seg| {
            let ds = seg.outer_ds();
            let Some(mut seg) = seg.unshare() else {
                dev.count_error(DevError::Tx);
                return None;
            };
            seg.drop_dst();
            PacketCb(mtu, ds.into(), 0).write_to(&mut seg);
            Some(seg)
        })
        .collect();
    if !bundle.is_empty() {
        send_staged(&peer, Some(bundle));
    }
}

/// Frees a bundle that is dropped, counting its packets as `tx_dropped`.
fn drop_counted(dev: &NetDevice<Device>, mut bundle: Bundle) {
    while bundle.pop().is_some() {
        dev.count_error(DevError::TxDropped);
    }
}

/// Stages the packets of `bundle` until the peer has a session, each an entry
/// of its own (the limit counts packets, as the C driver's, not
/// super-packets), each
/// released from its socket (`skb_orphan`, as the C driver does for what
/// waits for a handshake: a packet that waits must not hold its sender's
/// send buffer, or a blocking sender stalls until the handshake gives up).
/// As `wg_xmit`, the oldest are dropped (and counted) while more than
/// MAX_STAGED_PACKETS wait, before the bundle's packets are added, all of
/// them: a super-packet's segments never push out each other.
///
/// Never inlined: the sendpath suite's `staged_during_confirmation` holds
/// this function by name (a kprobe) to force a session to come up between
/// the sender's look at it and the staging.
#[inline(never)]
fn stage(peer: &PeerState, bundle: Bundle) {
    let dropped = peer
        .staged
        .trim_then_append_each(orphaned(bundle), MAX_STAGED_PACKETS as u32);
    drop_counted(peer.dev.get(), dropped);
}

/// `bundle`'s packets, in order, each released from its socket
/// (`skb_orphan`): what waits for a session (`stage`, and what a session
/// that ran out of counters puts back in `send_staged`).
fn orphaned(mut bundle: Bundle) -> Bundle {
    core::iter::from_fn(|| bundle.pop())
        .map(|mut skb| {
            skb.orphan();
            skb
        })
        .collect()
}

/// Frees what is staged, each packet counted as `tx_dropped` (the C
/// driver's `wg_packet_purge_staged_packets`), then the transmit queue.
pub(crate) fn purge(peer: &PeerState) {
    let dev = peer.dev.get();
    while let Some(bundle) = peer.staged.pop() {
        drop_counted(dev, bundle);
    }
    peer.tx.purge();
}

/// What `look` finds; if nothing, `fresh` (if any) is staged and `look` asked
/// once more.
fn look_or_stage<T>(
    peer: &PeerState,
    fresh: &mut Option<Bundle>,
    look: impl Fn() -> Option<T>,
) -> Option<T> {
    if let Some(found) = look() {
        return Some(found);
    }
    stage(peer, fresh.take()?);
    look()
}

/// Sends `fresh` (a packet from the device's transmit path, if any) and what
/// is staged, if the peer has a session; otherwise stages `fresh` and asks
/// for a handshake. Each packet gets its counter here, in order, and goes on
/// the peer's transmit queue and into the device's encryption ring (or,
/// after a pause, is sealed and sent right here: `seal_here`). While
/// nothing is staged (the steady state), `fresh` goes straight there.
///
/// Whoever installs a session (or brings the device up) calls this
/// afterwards with no `fresh`, and it takes the staged packets under the
/// queue's lock, never judging the queue empty by a lockless look. So a
/// packet staged concurrently is either taken then or staged after that
/// took the lock, and then its sender, looking again after staging, sees
/// what was installed: a packet staged for want of a session (or of a
/// running device) is never stranded. A handshake that completed in between
/// either took the packet or is seen by the second look, which then sends
/// what is staged. So a sender with a fresh packet only looks at the
/// queue's length after it (no lock): what it misses was staged after its
/// stager found no session or no running device, and is taken by that
/// stager's second look or by whoever installs the next session or brings
/// the device up.
pub(crate) fn send_staged(peer: &Anchored<PeerState>, mut fresh: Option<Bundle>) {
    // Behind what waits already.
    if let Some(b) = fresh.take_if(|_| !peer.staged.is_empty()) {
        stage(peer, b);
    }
    let now = Kernel::now_ns();
    let usable = || session::current(peer).filter(|k| k.keypair.can_send(now));
    let Some(kp) = look_or_stage(peer, &mut fresh, usable) else {
        if !peer.staged.is_empty() {
            timers::want_initiation(peer);
        }
        return;
    };
    let dev = peer.dev.get();
    let d = dev.data();
    let guard = rcu::read_lock();
    // Down: what is staged waits for the device to come up (which sends it:
    // as for a session, the ring is looked at again after staging).
    let Some(ring) = look_or_stage(peer, &mut fresh, || d.encrypt.get(&guard)) else {
        return;
    };
    let mut wake_serial = false;
    let mut sealed_here = false;
    let had_fresh = fresh.is_some();
    loop {
        let (mut bundle, from_xmit) = match fresh.take() {
            Some(b) => (b, true),
            // After a fresh packet, what is staged is only looked at
            // (a lockless look at the queue's length, no lock taken in the
            // steady state): a packet the look misses is taken by its
            // stager's second look after staging (`look_or_stage`) or, if
            // that finds no session or no running device either, by
            // whoever installs one or brings the device up, which calls
            // this without a fresh packet: then the queue is emptied under
            // its lock (as for a keepalive).
            None if had_fresh && peer.staged.is_empty() => break,
            None => match peer.staged.pop() {
                Some(b) => (b, false),
                None => break,
            },
        };
        let mut ran_out = false;
        let mut packets = 0u32;
        bundle.for_each_user_cb(|cb| {
            packets = packets.saturating_add(1);
            match kp.keypair.reserve_send(now) {
                Ok(counter) => cb[8..].copy_from_slice(&counter.to_ne_bytes()),
                Err(_) => ran_out = true,
            }
        });
        if ran_out {
            // The session ran out: keep the packets for the next one (the
            // counters taken are skipped, which the receiver allows). A
            // fresh super-packet goes back whole: the staged queue then
            // holds at most its segments beyond the limit.
            peer.staged.push_head(orphaned(bundle));
            timers::want_initiation(peer);
            break;
        }
        // Each packet is counted once: a full ring or transmit queue as
        // dropped, here; a failed encryption as an error, by `run_job`
        // (the worker's, or below).
        if from_xmit && seal_here(peer, &bundle, now) {
            match ordered::dispatch_here(&peer.tx, &ring, bundle, peer.to_arc(), kp.clone()) {
                Ok(job) => {
                    drop(run_job(job, u32::from(data_packet_head_room())));
                    sealed_here = true;
                }
                Err(Dispatched::SerialFull) => dev.count_errors(DevError::TxDropped, packets),
                Err(_) => {}
            }
            continue;
        }
        match ordered::dispatch(&peer.tx, &ring, bundle, peer.to_arc(), kp.clone()) {
            Dispatched::Queued => ring.kick(&d.tx_wq),
            Dispatched::RingFull => {
                dev.count_errors(DevError::TxDropped, packets);
                wake_serial = true;
            }
            Dispatched::SerialFull => dev.count_errors(DevError::TxDropped, packets),
            Dispatched::Empty => {}
        }
    }
    drop(guard);
    if sealed_here {
        transmit_here(peer);
    }
    if wake_serial {
        timers::queue_work(peer, WorkId::A);
    }
}

/// The longest packet (before padding) the device's transmit seals itself
/// after a pause: 128 bytes, two ChaCha20 blocks (a ping, a request, an
/// acknowledgement).
pub(crate) const SMALL_PACKET_LEN: u32 = 128;

/// Whether the device's transmit seals and sends `bundle` (from it) itself,
/// rather than an encryption worker: a small packet alone after a pause in
/// the peer's traffic (`LastPacket`). Then the workers are asleep, and
/// waking one (`queue_work_on`, a context switch, the wake-up of an idle
/// CPU) costs more than the seal: an idle tunnel's round trip is what it
/// saves. Within a stream the workers stay: they spread the crypto over
/// the CPUs, and sealing each small packet here instead cost the UDP
/// 64-byte bench 40% (the sender's CPU then did everything). Nor when this
/// transmit is nested in another device's (a routing loop back into the
/// device, a tunnel over it): the hop through a worker keeps the stack
/// from growing with every turn.
fn seal_here(peer: &PeerState, bundle: &Bundle, now: u64) -> bool {
    peer.last_tx.after_pause(now)
        && bundle
            .single_len()
            .is_some_and(|len| len <= SMALL_PACKET_LEN)
        && crate::kapi::xmit::nesting() <= 1
}

/// Sends a keepalive (an empty data message) unless data waits anyway.
pub(crate) fn keepalive(peer: &Anchored<PeerState>) {
    if peer.staged.is_empty() && peer.tx.is_empty() {
        let Some(mut skb) = SkBuff::alloc(u32::from(data_packet_head_room()), &[]) else {
            return;
        };
        PacketCb(peer.dev.get().mtu(), 0, 0).write_to(&mut skb);
        // Not bounded (`u32::MAX`), as the C driver's keepalive.
        let _ = peer
            .staged
            .trim_then_append_each(Bundle::single(skb), u32::MAX);
        peer_dbg!(peer, "Sending keepalive packet to peer {}");
    }
    send_staged(peer, None);
}

/// A packet of the encryption ring: the peer and the session it is sealed
/// under travel with it.
pub(crate) type EncryptJob = Job<PeerRef, KeypairRef>;

/// The device's encryption workers (one per CPU, process context): seal
/// packets in place, in any order, then wake the peer's transmit work.
pub(crate) struct EncryptWorker;

impl CryptWorker for EncryptWorker {
    type Item = EncryptJob;

    fn run(queue: &CryptQueue<Self>) {
        let headroom = u32::from(data_packet_head_room());
        while let Some(job) = queue.consume() {
            let peer = run_job(job, headroom);
            // This worker sends what is sealed at the head of the peer's
            // queue itself, unless another CPU is already doing so: no
            // hand-off to a work item between sealing and sending.
            transmit(&peer);
            ordered::cond_resched();
        }
    }
}

/// Runs an encryption job (a worker, or `send_staged` after a pause): seals
/// its packets and finishes it; a failure is counted here (the serial side
/// drops the bundle without counting it). Returns the job's peer.
fn run_job(mut job: EncryptJob, headroom: u32) -> PeerRef {
    let (ok, packets) = seal(&mut job, headroom);
    let (peer, _kp) = job.finish(ok);
    if !ok {
        peer.dev.get().count_errors(DevError::Tx, packets);
    }
    peer
}

/// Seals the job's packets; whether all were sealed, and how many packets
/// the job has.
fn seal(job: &mut EncryptJob, headroom: u32) -> (bool, u32) {
    let (_peer, kp, mut segments) = job.parts();
    let receiver_index = kp.keypair.remote_index();
    let key = kp.keypair.sending_key();
    let mut packets = 0u32;
    let mut ok = true;
    segments.for_each(|cb, skb| {
        packets = packets.saturating_add(1);
        if !ok {
            // The bundle is lost anyway: only counted.
            return true;
        }
        let PacketCb(mtu, _, counter) = PacketCb::read(cb);
        let header = DataHeader {
            receiver_index,
            counter,
        }
        .encode();
        let len = skb.len();
        let padding = u32::try_from(padding_len(len as usize, mtu as usize)).unwrap_or(0);
        ok = skb.seal_in_place(&header, padding, headroom, key, counter);
        true
    });
    (ok, packets)
}

/// Sends, in order, the packets at the head of the peer's transmit queue
/// whose encryption is finished (process context): on one CPU at a time, and
/// if another CPU is at it, that one sends what this caller came for too. A
/// batch that runs out of budget continues in the peer's work item.
pub(crate) fn transmit(peer: &Anchored<PeerState>) {
    if peer.dead.load(Ordering::Acquire) {
        return;
    }
    if peer
        .tx
        .consume_exclusive(|| send_sealed_batch(peer, MAX_QUEUED_PACKETS, true))
    {
        timers::queue_work(peer, WorkId::A);
    }
}

/// Packets [`transmit_here`] sends before it leaves the rest to the peer's
/// work item.
const SEND_HERE_BUDGET: usize = 16;

/// [`transmit`] from the device's transmit (softirqs off) after it sealed a
/// packet itself: one short batch (`SerialQueue::consume_once`), whatever
/// is left to the peer's work item.
fn transmit_here(peer: &Anchored<PeerState>) {
    if peer.dead.load(Ordering::Acquire) {
        return;
    }
    if peer
        .tx
        .consume_once(|| send_sealed_batch(peer, SEND_HERE_BUDGET, false))
    {
        timers::queue_work(peer, WorkId::A);
    }
}

/// One batch of [`transmit`] (the caller is the queue's only consumer), of
/// about `budget` packets (the bundle that reaches it goes whole), offering
/// the CPU after each packet if `resched` (process context); returns
/// whether it stopped with packets left.
///
/// Sealed packets waiting one behind the other leave together where they
/// can ([`coalesce`]), across the bundles they were queued in: a stream of
/// small packets (each its own bundle) that queued up while the last send
/// ran then takes one pass through the outer stack instead of one each.
fn send_sealed_batch(peer: &Anchored<PeerState>, budget: usize, resched: bool) -> bool {
    let mut sent_any = false;
    let mut told = Told::Nothing;
    // A bounded batch, in packets (a bundle may hold tens of them): a
    // packet sent may come straight back into this queue (a routing loop),
    // and the work item must yield. In process context (the encryption
    // workers and the peer's work item) the CPU is offered to others after
    // every packet.
    let budget = Cell::new(budget);
    // The next finished bundle whose job succeeded, while the budget lasts
    // beyond the `taken` packets of the send being built. A failed one is
    // counted where it failed (encryption) or was refused (a full ring):
    // dropped here without counting it twice.
    let next_done = |taken: u32| loop {
        if budget.get() <= taken as usize {
            return None;
        }
        match peer.tx.pop_done()? {
            (bundle, true) => return Some(bundle),
            (_failed, false) => budget.set(budget.get().saturating_sub(1)),
        }
    };
    let mut bundle = Bundle::empty();
    loop {
        let Some(skb) = bundle.pop() else {
            match next_done(0) {
                Some(b) => bundle = b,
                None => break,
            }
            continue;
        };
        let (skb, ds, packets, is_data) = coalesce(skb, &mut bundle, &next_done);
        budget.set(budget.get().saturating_sub(packets as usize));
        sent_any |= send_sealed(peer, skb, ds, packets, is_data, &mut told);
        if resched {
            ordered::cond_resched();
        }
    }
    let budget = budget.get();
    if sent_any {
        let now = Kernel::now_ns();
        let key = session::current(peer).map(|k| k.keypair.rekey_view(now));
        if peer.timers.lock().keep_key_fresh_on_send(key.as_ref(), now) {
            timers::queue_initiation(peer);
        }
    }
    budget == 0 && !peer.tx.is_empty()
}

/// What the timers were told of a batch of sealed packets so far.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Told {
    Nothing,
    /// An authenticated packet (a keepalive) was sent.
    Keepalive,
    /// A data packet was sent.
    Data,
}

/// The outer DS field a sealed packet leaves with (kept in its control
/// block since the transmit path).
fn outer_ds(cb: &[u8; USER_CB_LEN]) -> u8 {
    u8::try_from(PacketCb::read(cb).1).unwrap_or(0)
}

/// Makes `first`, a sealed packet of the peer's transmit queue, and the
/// packets after it (in its bundle, then in the finished bundles behind it
/// that `next` gives, told how many packets are taken so far) that can go
/// with it into one UDP GSO super-packet ([`UdpGso`]): those of its length
/// (the last may be shorter, a super-packet splits into segments of one
/// size and a remainder) and of its outer DS field, in order. Each is reset
/// for the outer stack first. Returns the packet to send, its outer DS
/// field, how many packets it carries, and whether it carries data (its
/// first packet does: one after a keepalive, of the minimum length, can only
/// be another). In a bundle (a super-packet of the device, segmented) every
/// segment but the last has the same length after padding, so a bundle
/// leaves as one super-packet or a few; small packets of one length queued
/// one behind the other leave together.
fn coalesce(
    mut first: SkBuff,
    bundle: &mut Bundle,
    next: &dyn Fn(u32) -> Option<Bundle>,
) -> (SkBuff, u8, u32, bool) {
    let ds = first.cb().first_chunk().map_or(0, outer_ds);
    let is_data = first.len() != DATA_MIN_LEN as u32;
    first.reset(true);
    let mut gso = match UdpGso::new(first) {
        Ok(gso) => gso,
        Err(first) => return (first, ds, 1, is_data),
    };
    let mut taken = 1u32;
    loop {
        if bundle.is_empty() {
            match next(taken) {
                Some(b) => *bundle = b,
                None => break,
            }
        }
        let Some(mut skb) = bundle.pop_if(|len, cb| gso.takes(len) && outer_ds(cb) == ds) else {
            break;
        };
        skb.reset(true);
        if let Err(skb) = gso.push(skb) {
            // Its geometry does not allow it: it goes next, on its own.
            bundle.push_front(skb);
            break;
        }
        taken = taken.saturating_add(1);
    }
    let (skb, packets) = gso.finish();
    (skb, ds, u32::from(packets), is_data)
}

/// Sends one sealed packet (or a super-packet of them: [`coalesce`]) of the
/// peer's transmit queue (`transmit`) with outer DS field `ds`; it carries
/// `packets` packets; `told` is what the timers were told of this batch so
/// far.
fn send_sealed(
    peer: &Anchored<PeerState>,
    skb: SkBuff,
    ds: u8,
    packets: u32,
    is_data: bool,
    told: &mut Told,
) -> bool {
    // The timers hear of the packet before it leaves: its answer can be
    // processed on another CPU before the send returns, and its
    // "authenticated packet received" must cancel what this arms (new
    // handshake), not be overtaken by it; likewise this cancels the
    // keepalive timer before an answer's data can arm it again. (The C
    // driver tells them of a data packet after the send, when it was handed
    // to the socket: a window it rarely loses, a batch here would lose it
    // often.)
    let this = if is_data { Told::Data } else { Told::Keepalive };
    if this > *told {
        let now = Kernel::now_ns();
        // The jitter is drawn only if the timer is armed (not per batch).
        timers::event(peer, |t| {
            t.data_packets_sent(now, is_data, random_jitter::<Kernel>)
        });
        *told = this;
    }
    let sent = send_to_peer(peer, skb, ds).is_ok();
    if !sent {
        peer.dev.get().count_errors(DevError::Tx, packets);
    }
    sent
}

/// Sends an encrypted packet or handshake message to the peer's endpoint,
/// from the device's socket of the endpoint's family; counts it (the whole
/// WireGuard message, as the C driver).
fn send_to_peer(peer: &PeerState, mut skb: SkBuff, ds: u8) -> Result {
    let len = skb.len();
    // One transmit queue of the outer device for all of the peer's packets,
    // whichever CPU sends them (the encryption worker that finished, the
    // transmit after a pause, the handshake worker): packets on two queues
    // can leave out of order. The CPU is picked from the peer's number as
    // the C driver picks the CPU of a peer's transmit work, again on each
    // send (a few word reads): the same while the online CPUs stay the same.
    skb.set_xps_cpu(crypt_queue::online_cpu_for(peer.internal_id()));
    // A copy: the send may come back into this device (WireGuard routed
    // over WireGuard, routing loops), so no lock of ours is held across it.
    let before = peer.endpoint.lock().addr.ok_or_else(enetunreach)?;
    let mut addr = before;
    // Softirqs off until the check below: no other send on this CPU may
    // find a route this one cached for an old endpoint.
    let guard = rcu::read_lock();
    let sent = socket::send(peer.dev.get(), skb, &mut addr, ds, Some(&peer.dst_cache));
    // A route looked up (on a cache miss) is cached for the endpoint as it
    // was copied above; the route may also have picked another source.
    if !matches!(sent, Ok(false)) {
        let mut ep = peer.endpoint.lock();
        if ep.addr == Some(before) {
            ep.addr = Some(addr);
        } else {
            // The endpoint (or its source) changed meanwhile; that change
            // reset the cache, maybe before this send filled it with the
            // route to the old one: forget that. (The C driver holds the
            // endpoint's read lock across the send instead.)
            drop(ep);
            peer.dst_cache.reset();
        }
    }
    drop(guard);
    sent?;
    // The device's transmit statistics are counted by the tunnel's
    // transmit (`iptunnel_xmit`), from the inner network header on: the
    // whole WireGuard message, as for the peer.
    peer.tx_bytes.fetch_add(u64::from(len), Ordering::Relaxed);
    Ok(())
}

/// A handshake message in a fresh packet.
fn message_skb(msg: &[u8]) -> Option<SkBuff> {
    let mut skb = SkBuff::alloc(u32::from(data_packet_head_room()), msg)?;
    skb.set_inner_network_header_here();
    Some(skb)
}

/// Sends a handshake message to the peer.
fn send_buffer(peer: &PeerState, msg: &[u8]) {
    if let Some(skb) = message_skb(msg) {
        let _ = send_to_peer(peer, skb, HANDSHAKE_DSCP);
    }
}

/// The peer's handshake work item (process context): zeroes keys when the
/// timers asked for it, and sends a handshake initiation when one is due.
pub(crate) fn handshake_work(peer: &Anchored<PeerState>) {
    if peer.dead.load(Ordering::Acquire) {
        return;
    }
    if peer.want_clear.swap(false, Ordering::AcqRel) {
        session::clear_all(peer);
        wg_pr_debug!(
            "{}: Zeroing out all keys for peer {}, since we haven't received a new one in {} seconds",
            peer.dev.get().name(),
            peer.internal_id(),
            ZERO_KEYS_AFTER / NSEC_PER_SEC
        );
    }
    if peer.want_initiation.swap(false, Ordering::AcqRel) {
        // The stack it used zeroed after it (`platform::scrubbed` says why).
        platform::scrubbed(|| send_initiation(peer));
    }
}

/// Creates a handshake message with `create` under a fresh local index, which
/// it returns with the message. The index the handshake held before names
/// nothing any more and is unregistered; if `create` fails, the fresh one is.
fn with_new_index<T>(
    peer: &PeerState,
    create: impl FnOnce(&mut PeerHandshake<Kernel>, u32) -> Result<T, Error>,
) -> Option<(u32, T)> {
    let d = peer.dev.get().data();
    // A fresh random index (allocates with `GFP_ATOMIC` at most; after
    // authentication or for our own handshakes only).
    let index = session::new_index(d, peer.id())?;
    let mut h = peer.handshake.lock();
    let old = h.local_index();
    match create(&mut h, index) {
        Ok(made) => {
            if let Some(o) = old {
                session::drop_index(d, o);
            }
            Some((index, made))
        }
        Err(_) => {
            drop(h);
            session::drop_index(d, index);
            None
        }
    }
}

fn send_initiation(peer: &Anchored<PeerState>) {
    let d = peer.dev.get().data();
    let now = Kernel::now_ns();
    if !peer.timers.lock().begin_handshake_initiation(now) {
        return;
    }
    let identity_guard = d.identity.read();
    let Some(identity) = identity_guard.as_ref() else {
        return;
    };
    let created = with_new_index(peer, |hs, index| {
        hs.create_initiation_with_ephemeral(identity, index, Kernel::wall(), Key::random())
    });
    drop(identity_guard);
    let Some((_, mut msg)) = created else { return };
    if peer.cookie.lock().add_macs(&mut msg, now).is_err() {
        return;
    }
    peer_dbg!(peer, "Sending handshake initiation to peer {}");
    let jitter = random_jitter::<Kernel>();
    timers::event(peer, |t| t.handshake_initiation_sent(now, jitter));
    send_buffer(peer, &msg);
}

/// Answers an initiation consumed under `identity`: the response, and the
/// new (responder's) session. Process context (handshake worker).
pub(crate) fn send_response(peer: &Anchored<PeerState>, identity: &Arc<StaticIdentity<Kernel>>) {
    let d = peer.dev.get().data();
    let now = Kernel::now_ns();
    let Some((index, (mut msg, keys))) = with_new_index(peer, |hs, index| {
        hs.create_response_with_ephemeral(index, Key::random())
    }) else {
        return;
    };
    if peer.cookie.lock().add_macs(&mut msg, now).is_err() {
        session::drop_index(d, index);
        return;
    }
    if session::begin_session(peer, keys, identity).is_err() {
        return;
    }
    peer_dbg!(peer, "Sending handshake response to peer {}");
    timers::event(peer, |t| t.handshake_response_sent(now));
    send_buffer(peer, &msg);
}

/// Answers a handshake message with a cookie reply, to where it came from,
/// from the socket it came on.
pub(crate) fn send_cookie_reply(dev: &NetDevice<Device>, reply: &[u8], mut to: socket::Endpoint) {
    if let Some(skb) = message_skb(reply) {
        let _ = socket::send(dev, skb, &mut to, 0, None);
    }
}

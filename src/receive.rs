// SPDX-License-Identifier: GPL-2.0
//! Receiving: datagrams from the device's UDP sockets.
//!
//! - `encap_recv` (softirq) checks only the length and type of a message and
//!   routes it: handshake messages to the device's handshake queue (bounded,
//!   served by per-CPU workers), data messages by their receiver index to
//!   the peer's receive queue (bounded), drained in order by the peer's NAPI
//!   poll. A burst of one session that GRO coalesced (`kapi::gro`) goes as
//!   one bundle: one lookup, one job for the decryption workers, each packet
//!   with its own fate. A small data message alone after a pause is opened
//!   right here instead (`OPEN_HERE_MAX_LEN`). Nothing about a peer changes
//!   here.
//! - The handshake worker checks the MACs (cookie replies only when under
//!   load and only to a valid mac1), the per-source rate limit under load,
//!   and runs the Noise handshake; only an authenticated message changes a
//!   peer (endpoint, session, timers, counters).
//! - The NAPI poll authenticates and decrypts each data message, checks its
//!   counter against the replay window, and only then lets it move the
//!   endpoint, confirm a session and drive the timers; the inner packet must
//!   come from an address routed to the same peer (allowed IPs).
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::anchored::Anchored;
use crate::kapi::crypt_queue::{self, CryptQueue, CryptWorker};
use crate::kapi::gro::KEY_BYTES as GRO_KEY_BYTES;
use crate::kapi::netdev::{DevError, DevHold, NetDevice};
use crate::kapi::ordered::{self, Bundle, Dispatched, Job};
use crate::kapi::platform::{self, Kernel};
use crate::kapi::rcu;
use crate::kapi::skb::{RxReject, SkBuff, SocketAddr};
use crate::kapi::udp::{Datagrams, EncapRecv};
use crate::peer::{peer_dbg, Endpoint, KeypairRef, PeerRef, PeerState};
use crate::proto::constants::MAX_QUEUED_INCOMING_HANDSHAKES;
use crate::proto::cookie::{self, MacCheck};
use crate::proto::handshake::read_initiation;
use crate::proto::messages::{
    data_receiver_index, CookieReply, DataHeader, Initiation, Response, COOKIE_REPLY_LEN,
    DATA_MIN_LEN, INITIATION_LEN, MESSAGE_HANDSHAKE_COOKIE, MESSAGE_HANDSHAKE_INITIATION,
    MESSAGE_HANDSHAKE_RESPONSE, RESPONSE_LEN,
};
use crate::proto::platform::Clock;
use crate::proto::ratelimiter::Source;
use crate::send::{self, PacketCb};
use crate::socket;
use crate::{session, timers, wg_dbg};
use core::sync::atomic::Ordering;

impl EncapRecv for Device {
    /// Data messages coalesce by their receiver index (the session they
    /// claim); handshake messages never do.
    fn gro_key(header: &[u8; GRO_KEY_BYTES], len: u32) -> Option<u32> {
        data_receiver_index(header, len as usize)
    }

    fn encap_recv(dev: &NetDevice<Self>, datagrams: Datagrams) {
        let mut datagrams = datagrams.peekable();
        while let Some(mut skb) = datagrams.next() {
            let Some(header) = data_header(&mut skb) else {
                receive_handshake(dev, skb);
                continue;
            };
            // The data messages of the same session right behind it (a burst
            // that GRO coalesced) travel with it, as one bundle.
            let index = header.receiver_index;
            let mut burst = core::iter::from_fn(|| {
                let next = data_header(datagrams.peek_mut()?)?;
                (next.receiver_index == index)
                    .then(|| datagrams.next())
                    .flatten()
                    .map(|skb| (skb, next))
            });
            receive_data(dev, (skb, header), &mut burst);
            // What it left (its session unknown, the device down) goes too.
            burst.for_each(drop);
        }
    }
}

/// The header of a data message, if `skb` holds one (of at least the
/// shortest length, with its type).
fn data_header(skb: &mut SkBuff) -> Option<DataHeader> {
    skb.linear_prefix(DATA_MIN_LEN as u32)
        .and_then(|h| DataHeader::parse(h).ok())
}

/// A datagram that is not a data message: queued for the handshake workers
/// if it is a handshake message (of exactly the length of its type),
/// dropped otherwise.
fn receive_handshake(dev: &NetDevice<Device>, mut skb: SkBuff) {
    let Some(&ty) = skb.linear_prefix(4).and_then(|p| p.first_chunk()) else {
        return;
    };
    let want = match u32::from_le_bytes(ty) {
        MESSAGE_HANDSHAKE_INITIATION => INITIATION_LEN as u32,
        MESSAGE_HANDSHAKE_RESPONSE => RESPONSE_LEN as u32,
        MESSAGE_HANDSHAKE_COOKIE => COOKIE_REPLY_LEN as u32,
        _ => return,
    };
    if skb.len() != want || skb.linear_prefix(want).is_none() {
        return;
    }
    // As the C driver: no handshake before the RNG is seeded (its keys and
    // cookie secrets would be predictable).
    if !Kernel::rng_is_initialized() {
        wg_dbg!("{}: Dropping handshake packet", dev.name());
        return;
    }
    let d = dev.data();
    let guard = rcu::read_lock();
    let Some(queue) = d.handshakes.get(&guard) else {
        return;
    };
    // Counted before it is queued (and uncounted if it is not): a worker may
    // take it and count it out before `produce` returns, and the count must
    // never go below zero.
    let queued = d.handshake_queue_len.fetch_add(1, Ordering::Relaxed);
    let produced = if queued >= MAX_QUEUED_INCOMING_HANDSHAKES as u32 {
        Err(skb)
    } else if queued > MAX_QUEUED_INCOMING_HANDSHAKES as u32 / 2 {
        // More than half full: as the C driver, queue only if no other CPU
        // is queueing right now, so that a flood on every CPU does not spin
        // on the producer lock.
        queue.try_produce(skb)
    } else {
        queue.produce(skb)
    };
    match produced {
        Ok(()) => match flood_cpus(queued.saturating_add(1)) {
            Some(n) => queue.kick_among(&d.handshake_wq, n),
            None => queue.kick(&d.handshake_wq),
        },
        Err(_dropped) => {
            d.handshake_queue_len.fetch_sub(1, Ordering::Relaxed);
            wg_dbg!("{}: Dropping handshake packet", dev.name());
        }
    }
}

/// Data messages of one session (`first` and those of `rest`): to the
/// session's peer's receive queue and the decryption ring, as one bundle,
/// with one lookup of the session. Nothing about the peer changes here.
fn receive_data(
    dev: &NetDevice<Device>,
    first: (SkBuff, DataHeader),
    rest: &mut impl Iterator<Item = (SkBuff, DataHeader)>,
) {
    let d = dev.data();
    let index = first.1.receiver_index;
    let Some(peer) = session::peer_by_index(d, index) else {
        return;
    };
    let Some(kp) = peer.keypairs.lock().get(index).cloned() else {
        return;
    };
    let guard = rcu::read_lock();
    let Some(ring) = d.decrypt.get(&guard) else {
        return;
    };
    let bundle: Bundle = core::iter::once(first)
        .chain(rest)
        .map(|(mut skb, header)| {
            PacketCb(index, skb.len(), header.counter).write_to(&mut skb);
            skb
        })
        .collect();
    let packets = bundle.len();
    // The pause is only looked at: the NAPI poll notes authenticated
    // packets only.
    let small = bundle
        .single_len()
        .is_some_and(|len| len <= OPEN_HERE_MAX_LEN);
    if small && peer.last_rx.paused(Kernel::now_ns()) {
        // A small packet alone after a pause: opened here, which costs less
        // than waking a worker for it; delivered in order by the NAPI poll
        // all the same.
        match ordered::dispatch_here(&peer.rx, &ring, bundle, peer.clone(), kp) {
            Ok(job) => {
                run_job(job);
            }
            Err(Dispatched::SerialFull) => dev.count_errors(DevError::RxDropped, packets),
            Err(_) => {}
        }
        return;
    }
    match ordered::dispatch(&peer.rx, &ring, bundle, peer.clone(), kp) {
        Dispatched::Queued => ring.kick(&d.tx_wq),
        Dispatched::RingFull => {
            dev.count_errors(DevError::RxDropped, packets);
            peer.napi_schedule();
        }
        Dispatched::SerialFull => dev.count_errors(DevError::RxDropped, packets),
        Dispatched::Empty => {}
    }
}

/// A data message of the decryption ring: the peer and the session it
/// claims travel with it.
pub(crate) type DecryptJob = Job<PeerRef, KeypairRef>;

/// The device's decryption workers (one per CPU, process context): check
/// the session's limits and open packets in place, in any order, then wake
/// the peer's NAPI poll, which delivers them in order.
pub(crate) struct DecryptWorker;

impl CryptWorker for DecryptWorker {
    type Item = DecryptJob;

    fn run(queue: &CryptQueue<Self>) {
        // Jobs in batches with bottom halves off: the NAPI polls the batch
        // schedules run on this CPU as it ends, each delivering what it
        // found finished (not one poll per packet), and no later than that.
        // A full batch: there may be more.
        while ordered::with_bh_disabled(|| {
            let mut left = DECRYPT_BATCH;
            while left > 0 {
                let Some(job) = queue.consume() else {
                    return false;
                };
                left = left.saturating_sub(run_job(job));
            }
            true
        }) {
            ordered::cond_resched();
        }
    }
}

/// Packets a decryption worker opens between two chances for the NAPI polls
/// (and the scheduler) to run (at least: a burst is opened whole).
const DECRYPT_BATCH: usize = 32;

/// The longest data message `receive_data` opens itself (softirq, on the
/// CPU that received it) rather than a decryption worker, when it comes
/// alone after a pause in the peer's authenticated data (`LastPacket`,
/// noted by the NAPI poll): a small packet's (`send::SMALL_PACKET_LEN`,
/// padded). As for sending (see `send::seal_here`): after a pause the
/// workers are asleep and waking one costs more than the opening; within a
/// stream they spread the crypto over the CPUs (opening every small packet
/// here cost the UDP 64-byte bench about 45%). Forged packets never end the
/// pause, so each of a flood of small ones is opened here: one Poly1305 over
/// at most 160 bytes in the softirq that received it, no more than a
/// worker would do for it, and no state of the peer changes.
const OPEN_HERE_MAX_LEN: u32 = DATA_MIN_LEN as u32 + send::SMALL_PACKET_LEN;

/// The message length a packet's control block gives once it failed to
/// open (a data message is never that short): the NAPI poll drops it.
const NOT_OPENED: u32 = 0;

/// The same, once its counter failed the replay window (the NAPI poll).
const REPLAYED: u32 = 1;

/// Runs a decryption job (a worker, or `receive_data` after a pause): opens
/// its packets, finishes it and wakes the peer's NAPI poll; returns how
/// many packets it had.
fn run_job(mut job: DecryptJob) -> usize {
    let (ok, packets) = open(&mut job);
    let (peer, _kp) = job.finish(ok);
    peer.napi_schedule();
    packets
}

/// Opens a bundle's packets in place (one session's). Each has its own fate:
/// one that does not open (forged, say, or beyond the session's limits) is
/// marked [`NOT_OPENED`], and the others go on. Returns whether any opened,
/// and how many packets it had.
fn open(job: &mut DecryptJob) -> (bool, usize) {
    let (_peer, kp, mut segments) = job.parts();
    let now = Kernel::now_ns();
    let (mut any, mut packets) = (false, 0usize);
    segments.for_each(|cb, skb| {
        packets = packets.saturating_add(1);
        let PacketCb(index, _, counter) = PacketCb::read(cb);
        if kp.keypair.check_receive(now, counter).is_ok()
            && skb.open_in_place(kp.keypair.receiving_key(), counter)
        {
            any = true;
        } else {
            PacketCb(index, NOT_OPENED, counter).write(cb);
        }
        true
    });
    (any, packets)
}

/// The handshake queue's per-CPU workers.
pub(crate) struct HandshakeWorker {
    pub(crate) dev: DevHold<Device>,
}

impl CryptWorker for HandshakeWorker {
    type Item = SkBuff;

    fn run(queue: &CryptQueue<Self>) {
        let dev = queue.dev.get();
        let d = dev.data();
        while let Some(skb) = queue.consume() {
            // The stack it used is zeroed after each message: no copy of a
            // secret outlives it there (`scrubbed` says why there are any).
            platform::scrubbed(|| process_handshake(dev, skb));
            let queued = d.handshake_queue_len.fetch_sub(1, Ordering::Relaxed);
            if let Some(n) = flood_cpus(queued.saturating_sub(1)) {
                if !crypt_queue::running_on_first_cpus(n) {
                    // Left to the workers of the first CPUs (one is queued
                    // now, in case none runs).
                    queue.kick_among(&d.handshake_wq, n);
                    return;
                }
            }
            // Under a flood the queue never runs dry: on a kernel without
            // full preemption this loop would otherwise keep the CPU (soft
            // lockups, the rest of the CPU's work starved), as C's does not.
            ordered::cond_resched();
        }
    }
}

/// How many CPUs (the first of the online ones) work on handshake messages
/// while `queued` wait: all of them (None) normally; under load (the queue
/// an eighth full, where cookies start) half of them, at least one. Under a
/// flood the queue never runs dry and its workers run without pause: each
/// takes as much of its CPU as any other busy thread, so on every CPU the
/// attacker would hold a share that sessions already authenticated then
/// lack (the C driver's workers take every CPU; measured on two vCPUs under
/// the bench's flood: the handshake workers 71% of both CPUs, the TCP stream
/// through the tunnel what was left). The other half stays with the data.
fn flood_cpus(queued: u32) -> Option<usize> {
    cookie::queue_loaded(queued as usize).then(|| (crypt_queue::online_cpus() / 2).max(1))
}

fn process_handshake(dev: &NetDevice<Device>, mut skb: SkBuff) {
    let d = dev.data();
    let Some(src) = socket::Endpoint::from_received(&skb) else {
        return;
    };
    // `encap_recv` checked the exact length of the type: all linear.
    let len = skb.len();
    let Some(msg) = skb.linear_prefix(len) else {
        return;
    };
    let Some(&[t0, t1, t2, t3, s0, s1, s2, s3]) = msg.first_chunk::<8>() else {
        return;
    };
    let ty = u32::from_le_bytes([t0, t1, t2, t3]);
    let now = Kernel::now_ns();

    if ty == MESSAGE_HANDSHAKE_COOKIE {
        let Ok(reply) = CookieReply::parse(msg) else {
            return;
        };
        let Some(peer) = session::peer_by_index(d, reply.receiver_index) else {
            return;
        };
        if peer.cookie.lock().consume_reply(&reply, now).is_ok() {
            peer_dbg!(peer, "Receiving cookie response from peer {}");
        } else {
            wg_dbg!("{}: Could not decrypt invalid cookie response", dev.name());
        }
        return;
    }

    let queued = d.handshake_queue_len.load(Ordering::Relaxed) as usize;
    let mut last = d.last_under_load.lock();
    let (under_load, since) = cookie::under_load(queued, now, *last);
    *last = since;
    drop(last);
    // What the cookie of a source is made of: address, then port (network
    // order).
    let (ip, port, source): (&[u8], [u8; 2], Source) = match &src.addr {
        SocketAddr::V4(a, port) => (a, port.to_be_bytes(), Source::V4(*a)),
        SocketAddr::V6(a, port) => (a, port.to_be_bytes(), Source::V6(*a)),
    };
    let src_bytes = (ip, &port[..]);
    // The keys are copied out under the lock; the MACs are computed without
    // it (under a flood every handshake worker is here at once).
    let keys = d.cookie_checker.lock().keys(now);
    match keys.check(msg, src_bytes, under_load) {
        MacCheck::Invalid => {
            wg_dbg!("{}: Invalid MAC of handshake, dropping packet", dev.name());
            return;
        }
        MacCheck::NeedsCookie => {
            let sender = u32::from_le_bytes([s0, s1, s2, s3]);
            if let Ok(reply) = keys.create_reply(msg, sender, src_bytes) {
                send::send_cookie_reply(dev, &reply, src);
            }
            return;
        }
        MacCheck::ValidWithCookie => {
            if !d.ratelimiter.lock().allow(d.ratelimit_scope, &source, now) {
                return;
            }
        }
        MacCheck::Valid => {}
    }

    let peer = match ty {
        MESSAGE_HANDSHAKE_INITIATION => {
            let Ok(init) = Initiation::parse(msg) else {
                return;
            };
            // Read and committed with the device's key held for reading
            // (by the workers of every CPU at once, as C's `down_read`): a
            // key change, which clears every handshake while it holds the
            // key for writing, comes before or after, never in between.
            let identity = d.identity.read();
            let Some(id) = identity.clone() else {
                return;
            };
            let found = read_initiation(&id, &init).ok().and_then(|st| {
                let guard = rcu::read_lock();
                let peer = d.routing.read(&guard).peer_by_key(st.remote_static())?;
                Some((peer.clone(), st))
            });
            let Some((peer, st)) = found else {
                wg_dbg!("{}: Invalid handshake initiation", dev.name());
                return;
            };
            if peer.handshake.lock().consume_initiation(st, now).is_err() {
                wg_dbg!("{}: Invalid handshake initiation", dev.name());
                return;
            }
            drop(identity);
            authenticated(&peer, src, "initiation");
            send::send_response(&peer, &id);
            peer
        }
        MESSAGE_HANDSHAKE_RESPONSE => {
            let Ok(resp) = Response::parse(msg) else {
                return;
            };
            let Some(peer) = session::peer_by_index(d, resp.receiver_index) else {
                return;
            };
            // Read with the device's key held (for reading);
            // `begin_session` checks that the key is still the one.
            let identity = d.identity.read();
            let Some(id) = identity.clone() else { return };
            let keys = peer.handshake.lock().consume_response(&id, &resp);
            drop(identity);
            let Ok(keys) = keys else {
                wg_dbg!("{}: Invalid handshake response", dev.name());
                return;
            };
            authenticated(&peer, src, "response");
            if session::begin_session(&peer, keys, &id).is_ok() {
                *peer.last_handshake.lock() = wall_now();
                timers::event(&peer, |t| t.handshake_response_consumed(now));
                // Sends what was staged, or a keepalive to confirm the session.
                send::keepalive(&peer);
            }
            peer
        }
        _ => return,
    };
    count_rx(&peer, len);
    timers::event(&peer, |t| t.handshake_packet_received(now));
}

/// A handshake message of `what` from `peer` authenticated: the peer's
/// endpoint moves to where it came from.
fn authenticated(peer: &PeerState, src: socket::Endpoint, what: &str) {
    peer.set_endpoint(src, Endpoint::from_xmit(&src));
    peer_dbg!(peer, "Receiving handshake {} from peer {}", what);
}

fn wall_now() -> (i64, i64) {
    let (s, ns) = Kernel::wall();
    (i64::try_from(s).unwrap_or(i64::MAX), i64::from(ns))
}

/// The peer's NAPI poll: delivers, in order, up to `budget` packets whose
/// decryption is finished.
pub(crate) fn napi_poll(peer: &Anchored<PeerState>, budget: i32) -> i32 {
    let mut done = 0;
    while done < budget {
        let Some((mut bundle, ok)) = peer.rx.pop_done() else {
            break;
        };
        if !ok {
            // Nothing in it opened: freed.
            done = done.saturating_add(1);
            continue;
        }
        // Each packet of a burst counts against the budget: what fits is
        // consumed as one run (the whole bundle, most often, as it is).
        let room = u32::try_from(budget.saturating_sub(done)).unwrap_or(0);
        let packets = bundle.len();
        if packets <= room {
            // At most the room left: `done` stays within the budget.
            done = done.saturating_add(i32::try_from(packets).unwrap_or(i32::MAX));
            consume_run(peer, bundle);
            continue;
        }
        let run: Bundle = core::iter::from_fn(|| bundle.pop())
            .take(room as usize)
            .collect();
        done = done.saturating_add(i32::try_from(run.len()).unwrap_or(i32::MAX));
        consume_run(peer, run);
        // The budget ran out within a burst: the rest goes first next time.
        peer.rx.put_back(bundle);
    }
    if done < budget && peer.napi_complete(done) {
        // Idle now. A packet at the head still being decrypted is delivered
        // by the poll its worker schedules once it is done (a schedule while
        // this poll ran left NAPIF_STATE_MISSED, and napi_complete_done
        // returned false and scheduled the poll again itself; with threaded
        // NAPI, by waking the NAPI thread). Should that wake-up ever be lost
        // all the same, the peer's receive path would stall for good (no
        // later packet can pass the head): so look once more, and poll
        // again if the head is finished by now.
        if peer.rx.head_done() {
            peer.napi_schedule();
        }
    }
    done
}

/// Delivers a run of packets of one burst (opened under one session, or
/// marked [`NOT_OPENED`]; from one source), in order: the C driver's
/// per-packet steps, with what is the same for all of them done once. The
/// replay window is checked for all under one hold of the keypairs' lock.
/// Each authenticated packet sets the endpoint. Before the first is
/// delivered, as for each packet in C: packets staged for a session the
/// run confirmed go out (to the endpoint it set), and the timers hear of
/// the run, as of one packet and of a second data packet if there was one
/// (what they keep of any further ones: that another keepalive is needed).
fn consume_run(peer: &Anchored<PeerState>, mut run: Bundle) {
    let dev = peer.dev.get();
    let mut index = None;
    run.for_each_user_cb(|cb| {
        let PacketCb(i, msg_len, _) = PacketCb::read(cb);
        if msg_len != NOT_OPENED {
            index.get_or_insert(i);
        }
    });
    let Some(index) = index else { return };
    let now = Kernel::now_ns();
    // Authentic under this session (opened by a worker, or by
    // `receive_data`); the session may have been dropped since, and then so
    // are they. A replayed one is marked in its control block, as one that
    // did not open.
    let mut data = 0u32;
    let received = session::receive_run(peer, index, now, |passes| {
        run.for_each_user_cb(|cb| {
            let PacketCb(i, msg_len, counter) = PacketCb::read(cb);
            if msg_len == NOT_OPENED {
                // Takes no place in the window.
            } else if !passes(counter) {
                PacketCb(i, REPLAYED, counter).write(cb);
            } else if msg_len as usize != DATA_MIN_LEN {
                // Not a keepalive: a message of a header and a tag, which
                // `open_in_place` leaves empty (`skb.len() == 0` below).
                data = data.saturating_add(1);
            }
        })
    });
    let mut first = true;
    while let Some(mut skb) = run.pop() {
        let Some(PacketCb(_, msg_len, counter)) = PacketCb::of(&mut skb) else {
            continue;
        };
        if msg_len == NOT_OPENED {
            continue;
        }
        if msg_len == REPLAYED {
            peer_dbg!(peer, "Packet has invalid nonce {} from peer {}", counter);
            continue;
        }
        let Some((confirmed, current)) = received else {
            continue;
        };
        // Authenticated from here on. The endpoint roams to its source (for
        // each packet, as C: what changed it meanwhile elsewhere is undone;
        // `set_endpoint` compares first). A source that cannot be read
        // drops it, as C.
        let Some(ep) = socket::Endpoint::from_received(&skb) else {
            continue;
        };
        peer.set_endpoint(ep, Endpoint::from_xmit(&ep));
        if first {
            first = false;
            // No pause in the peer's data now (`receive_data`).
            peer.last_rx.note(now);
            // What waited for this session goes out (to the endpoint just
            // set), and the timers hear of the run.
            if confirmed {
                *peer.last_handshake.lock() = wall_now();
                send::send_staged(peer, None);
            }
            let rekey = timers::event(peer, |t| t.data_run_received(now, confirmed, data, current));
            if rekey {
                timers::queue_initiation(peer);
            }
        }
        if skb.len() == 0 {
            count_rx(peer, msg_len);
            peer_dbg!(peer, "Receiving keepalive packet from peer {}");
            continue;
        }
        deliver(peer, dev, skb, msg_len);
    }
}

/// Hands an authenticated data packet (not a keepalive) to the stack, if
/// it is IP and its source is one of the peer's allowed IPs.
fn deliver(peer: &Anchored<PeerState>, dev: &NetDevice<Device>, mut skb: SkBuff, msg_len: u32) {
    let outer_ds = skb.dsfield();
    skb.reset(false);
    // Counted as the C driver does: a packet that is not IP is a frame
    // error, one whose IP length does not fit a length error.
    let src = match skb.finish_rx(dev, outer_ds) {
        Ok(src) => src,
        Err(RxReject::NotIp) => {
            peer_dbg!(peer, "Packet is neither ipv4 nor ipv6 from peer {}");
            dev.count_error(DevError::RxFrame);
            return;
        }
        Err(RxReject::BadLength) => {
            peer_dbg!(peer, "Packet has incorrect size from peer {}");
            dev.count_error(DevError::RxLength);
            return;
        }
        Err(RxReject::NoMemory) => return,
    };
    let routed = dev.data().routing.read(&rcu::read_lock()).route_id(&src);
    if routed != Some(peer.id()) {
        peer_dbg!(peer, "Packet has unallowed src IP ({}) from peer {}", src);
        dev.count_error(DevError::RxFrame);
        return;
    }
    count_rx(peer, msg_len);
    peer.napi_gro_receive(skb);
}

/// Counts a received WireGuard message (the whole message, in the peer's and
/// the device's statistics, as the C driver).
fn count_rx(peer: &PeerState, len: u32) {
    peer.rx_bytes.fetch_add(u64::from(len), Ordering::Relaxed);
    peer.dev.get().count_rx(len);
}

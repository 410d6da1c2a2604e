// SPDX-License-Identifier: GPL-2.0
//! The peer's protocol timers, driven by one kernel timer per peer: every
//! event goes through [`event`], which updates the peer's `PeerTimers` (the
//! protocol core's state machine) under its lock and re-arms the kernel timer
//! at the earliest deadline; when that fires, [`fired`] carries out the
//! actions.
#![forbid(unsafe_code)]

use crate::kapi::anchored::{Anchored, WorkId};
use crate::kapi::platform::Kernel;
use crate::peer::PeerState;
use crate::proto::platform::Clock;
use crate::proto::timers::PeerTimers;
use crate::{send, session};
use core::sync::atomic::Ordering;

/// Runs `f` on the peer's timer state and re-arms the kernel timer at the
/// earliest deadline; returns what `f` returned. Any context.
pub(crate) fn event<R>(peer: &Anchored<PeerState>, f: impl FnOnce(&mut PeerTimers) -> R) -> R {
    let mut t = peer.timers.lock();
    let before = t.next_deadline();
    let r = f(&mut t);
    // Most events (every data packet: "cancel the new-handshake timer",
    // already cancelled) leave the earliest deadline where it is, and then
    // the kernel timer is not touched.
    if t.next_deadline() != before {
        rearm(peer, &t);
    }
    r
}

/// Moves the one kernel timer to the earliest deadline. Called under the
/// timers' lock, so that two CPUs' events cannot leave it at the older of
/// their deadlines.
fn rearm(peer: &Anchored<PeerState>, t: &PeerTimers) {
    match t.next_deadline() {
        Some(at) => peer.arm_timer_in(at.saturating_sub(Kernel::now_ns())),
        None => peer.cancel_timer(),
    }
}

/// The kernel timer fired (softirq): fires every due protocol timer, and
/// re-arms the kernel timer in any case: the coarse clock may still read a
/// little before the deadline when the timer wheel fires, and then nothing
/// is due yet but the deadline must not be lost.
pub(crate) fn fired(peer: &Anchored<PeerState>) {
    let now = Kernel::now_ns();
    let mut t = peer.timers.lock();
    let a = t.poll(now);
    rearm(peer, &t);
    drop(t);
    if a.clear_endpoint_src {
        peer.clear_endpoint_src();
    }
    if a.purge_staged_packets {
        send::purge(peer);
    }
    if a.zero_key_material {
        peer.want_clear.store(true, Ordering::Release);
        queue_work(peer, WorkId::B);
    }
    if a.queue_handshake_initiation {
        queue_initiation(peer);
    }
    if a.send_keepalive {
        send::keepalive(peer);
    }
}

/// Queues one of the peer's work items, unless the peer was removed: A, the
/// transmission of what is encrypted (`send::transmit`), on `wg-crypt`; B,
/// initiations and zeroing (`send::handshake_work`), on the second `wg-kex`.
pub(crate) fn queue_work(peer: &Anchored<PeerState>, id: WorkId) {
    if peer.dead.load(Ordering::Acquire) {
        return;
    }
    let d = peer.dev.get().data();
    let wq = match id {
        WorkId::A => &d.tx_wq,
        WorkId::B => &d.handshake_send_wq,
    };
    peer.queue_work(id, wq);
}

/// A handshake initiation is wanted (`wg_packet_send_queued_handshake_initiation`):
/// at most one per REKEY_TIMEOUT.
pub(crate) fn want_initiation(peer: &Anchored<PeerState>) {
    let now = Kernel::now_ns();
    if peer.timers.lock().queue_handshake_initiation(now) {
        queue_initiation(peer);
    }
}

/// Has the handshake worker send an initiation (the rate limit was checked).
pub(crate) fn queue_initiation(peer: &Anchored<PeerState>) {
    peer.want_initiation.store(true, Ordering::Release);
    queue_work(peer, WorkId::B);
}

/// The device went up or the peer was created on a running device.
pub(crate) fn start(peer: &Anchored<PeerState>) {
    if event(peer, |t| t.start()) {
        send::keepalive(peer);
    }
}

/// The device went down or the peer is going away: every timer stops, and
/// the keys are zeroed (process context).
pub(crate) fn stop(peer: &Anchored<PeerState>) {
    event(peer, |t| t.stop());
    peer.cancel_timer();
    send::purge(peer);
    session::clear_all(peer);
}

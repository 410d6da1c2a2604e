//! Timer state machine and re-keying predicates with a fake clock: every
//! timer at its exact deadline and 1 ns before, the handshake give-up, the
//! initiation rate limit, and the predicates' boundaries.

use wg_proto::host::Host;
use wg_proto::proto::constants::*;
use wg_proto::proto::keypair::has_expired;
use wg_proto::proto::timers::Timer::*;
use wg_proto::proto::timers::{
    random_jitter, rekey_due_on_receive, rekey_due_on_send, Actions, CurrentKey, PeerTimers, Timer,
};

const T0: u64 = 10_000 * NSEC_PER_SEC;

fn active() -> PeerTimers {
    let mut p = PeerTimers::default();
    assert!(!p.start());
    p
}

fn none() -> Actions {
    Actions::default()
}

/// A data packet (not a keepalive, under no new keypair) was received: no
/// current key, so no re-keying.
fn data_received(p: &mut PeerTimers, now: u64) {
    assert!(!p.data_packet_received(now, false, false, None));
}

/// A keepalive was sent: any authenticated packet sent, and its traversal.
fn keepalive_sent(p: &mut PeerTimers, now: u64) {
    p.data_packets_sent(now, false, || 0);
}

/// Asserts that nothing fires 1 ns before `deadline`, and returns what fires at it.
fn fire_exactly_at(p: &mut PeerTimers, timer: Timer, deadline: u64) -> Actions {
    assert_eq!(p.deadline(timer), Some(deadline), "{timer:?} deadline");
    assert_eq!(p.next_deadline(), Some(deadline));
    assert_eq!(p.poll(deadline - 1), none(), "{timer:?} fired 1 ns early");
    assert!(p.is_pending(timer));
    let a = p.poll(deadline);
    assert!(!p.is_pending(timer) || p.deadline(timer) > Some(deadline));
    a
}

#[test]
fn retransmit_handshake_deadline_and_jitter() {
    for jitter in [
        0,
        1,
        REKEY_TIMEOUT_JITTER_MAX - 1,
        REKEY_TIMEOUT_JITTER_MAX + 7,
    ] {
        let mut p = active();
        data_received(&mut p, T0);
        assert!(p.is_pending(SendKeepalive));
        p.handshake_initiation_sent(T0, jitter);
        let d = T0 + REKEY_TIMEOUT + jitter % REKEY_TIMEOUT_JITTER_MAX;
        assert_eq!(p.deadline(RetransmitHandshake), Some(d));
        assert!(!p.is_pending(SendKeepalive));
        let a = fire_exactly_at(&mut p, RetransmitHandshake, d);
        assert!(a.clear_endpoint_src);
        assert!(a.queue_handshake_initiation);
        assert_eq!(p.handshake_attempts(), 1);
    }
}

#[test]
fn send_keepalive_deadline_and_need_another() {
    let mut p = active();
    data_received(&mut p, T0);
    assert_eq!(p.deadline(SendKeepalive), Some(T0 + KEEPALIVE_TIMEOUT));
    let a = fire_exactly_at(&mut p, SendKeepalive, T0 + KEEPALIVE_TIMEOUT);
    assert!(a.send_keepalive);
    assert!(!p.is_pending(SendKeepalive));

    // Data received again while pending: one more keepalive round, from the firing.
    let mut p = active();
    data_received(&mut p, T0);
    data_received(&mut p, T0 + 3 * NSEC_PER_SEC);
    assert_eq!(
        p.deadline(SendKeepalive),
        Some(T0 + KEEPALIVE_TIMEOUT),
        "pending timer is not moved"
    );
    let a = fire_exactly_at(&mut p, SendKeepalive, T0 + KEEPALIVE_TIMEOUT);
    assert!(a.send_keepalive);
    assert_eq!(p.deadline(SendKeepalive), Some(T0 + 2 * KEEPALIVE_TIMEOUT));
    let a = fire_exactly_at(&mut p, SendKeepalive, T0 + 2 * KEEPALIVE_TIMEOUT);
    assert!(a.send_keepalive);
    assert!(!p.is_pending(SendKeepalive));

    // Anything authenticated sent in between cancels it.
    let mut p = active();
    data_received(&mut p, T0);
    p.data_packets_sent(T0 + 1, false, || 0);
    assert!(!p.is_pending(SendKeepalive));
    assert_eq!(p.poll(T0 + KEEPALIVE_TIMEOUT), none());
}

#[test]
fn new_handshake_deadline() {
    let mut p = active();
    p.data_packets_sent(T0, true, || 123);
    let d = T0 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 123;
    assert_eq!(p.deadline(NewHandshake), Some(d));
    // More data sent does not push it back.
    p.data_packets_sent(T0 + NSEC_PER_SEC, true, || 0);
    assert_eq!(p.deadline(NewHandshake), Some(d));
    // Keepalives alone do not arm it.
    let mut q = active();
    q.data_packets_sent(T0, false, || 0);
    assert!(!q.is_pending(NewHandshake));
    let a = fire_exactly_at(&mut p, NewHandshake, d);
    assert!(a.clear_endpoint_src);
    assert!(a.queue_handshake_initiation);

    // Anything authenticated received cancels it.
    let mut p = active();
    p.data_packets_sent(T0, true, || 0);
    assert!(!p.data_packet_received(T0 + 1, false, true, None));
    assert!(!p.is_pending(NewHandshake));
    assert_eq!(p.poll(u64::MAX), none());
}

#[test]
fn zero_key_material_deadline() {
    let mut p = active();
    p.handshake_response_sent(T0);
    assert_eq!(
        p.deadline(ZeroKeyMaterial),
        Some(T0 + 3 * REJECT_AFTER_TIME)
    );
    // A later session moves it.
    p.handshake_response_consumed(T0 + NSEC_PER_SEC);
    let d = T0 + NSEC_PER_SEC + ZERO_KEYS_AFTER;
    assert_eq!(p.deadline(ZeroKeyMaterial), Some(d));
    let a = fire_exactly_at(&mut p, ZeroKeyMaterial, d);
    assert!(a.zero_key_material);
    assert!(!a.send_keepalive);
}

#[test]
fn persistent_keepalive() {
    let mut p = active();
    keepalive_sent(&mut p, T0);
    assert_eq!(p.next_deadline(), None, "off by default");
    assert!(
        p.set_persistent_keepalive(25),
        "turning it on sends one at once"
    );
    assert!(!p.set_persistent_keepalive(30), "changing it does not");
    assert!(!p.set_persistent_keepalive(25));
    keepalive_sent(&mut p, T0);
    assert_eq!(
        p.deadline(PersistentKeepalive),
        Some(T0 + 25 * NSEC_PER_SEC)
    );
    // Received packets re-arm it too.
    p.handshake_packet_received(T0 + NSEC_PER_SEC);
    let d = T0 + 26 * NSEC_PER_SEC;
    assert_eq!(p.deadline(PersistentKeepalive), Some(d));
    let a = fire_exactly_at(&mut p, PersistentKeepalive, d);
    assert!(a.send_keepalive);
    // Turned off while pending: fires without sending.
    keepalive_sent(&mut p, T0 + 100 * NSEC_PER_SEC);
    assert!(!p.set_persistent_keepalive(0));
    let a = p.poll(T0 + 200 * NSEC_PER_SEC);
    assert!(!a.send_keepalive);
    assert!(!p.is_pending(PersistentKeepalive));
    // The maximum interval does not overflow.
    let _ = p.set_persistent_keepalive(u16::MAX);
    keepalive_sent(&mut p, u64::MAX - 5);
    assert_eq!(p.deadline(PersistentKeepalive), Some(u64::MAX));
}

/// The jitter of the new-handshake timer is drawn only when that timer is
/// armed (as the C driver's `wg_timers_data_sent`): not for every batch of
/// data sent while it is pending, nor for keepalives, nor while the peer is
/// inactive. Each draw is a call into the kernel's random source on the
/// transmit path.
#[test]
fn new_handshake_jitter_drawn_only_when_armed() {
    let draws = core::cell::Cell::new(0u32);
    let draw = || {
        draws.set(draws.get() + 1);
        7
    };
    let mut p = active();
    p.data_packets_sent(T0, false, draw);
    assert_eq!(draws.get(), 0, "a keepalive arms no new-handshake timer");
    p.data_packets_sent(T0, true, draw);
    assert_eq!(draws.get(), 1);
    assert_eq!(
        p.deadline(NewHandshake),
        Some(T0 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 7)
    );
    for i in 1..100 {
        p.data_packets_sent(T0 + i, true, draw);
    }
    assert_eq!(draws.get(), 1, "drawn again while the timer was pending");
    // Cancelled by an authenticated packet: the next data sent draws again.
    data_received(&mut p, T0 + 200);
    assert!(!p.is_pending(NewHandshake));
    p.data_packets_sent(T0 + 201, true, draw);
    assert_eq!(draws.get(), 2);
    let mut q = PeerTimers::default();
    q.data_packets_sent(T0, true, draw);
    assert_eq!(draws.get(), 2, "drawn for an inactive peer");
    assert!(!q.is_pending(NewHandshake));
}

/// The new-handshake timer firing during retransmissions is not a retry: as
/// in the C driver, it resets the attempt count even when the initiation
/// itself is refused by the rate limit.
#[test]
fn new_handshake_timer_resets_attempts() {
    let mut p = active();
    p.data_packets_sent(T0, true, || 0);
    assert!(p.queue_handshake_initiation(T0));
    assert!(p.begin_handshake_initiation(T0));
    p.handshake_initiation_sent(T0, 0);
    for k in 1..=3u64 {
        let a = p.poll(T0 + k * REKEY_TIMEOUT);
        assert!(a.queue_handshake_initiation);
        assert_eq!(p.handshake_attempts(), if k == 3 { 0 } else { k });
        assert!(p.begin_handshake_initiation(T0 + k * REKEY_TIMEOUT));
        p.handshake_initiation_sent(T0 + k * REKEY_TIMEOUT, 0);
    }
    // At 15 s both fired: the retransmission (attempt 3) and then the
    // new-handshake timer, which resets the count.
    assert!(!p.is_pending(NewHandshake));
}

#[test]
fn handshake_gives_up_exact_count_without_data_timer() {
    let mut p = active();
    let mut now = T0;
    assert!(p.queue_handshake_initiation(now));
    assert!(p.begin_handshake_initiation(now));
    p.handshake_initiation_sent(now, 0);
    let mut initiations = 1u64;
    loop {
        now = p.deadline(RetransmitHandshake).unwrap();
        let a = p.poll(now);
        if a.purge_staged_packets {
            break;
        }
        assert!(a.queue_handshake_initiation);
        assert!(p.begin_handshake_initiation(now));
        p.handshake_initiation_sent(now, 0);
        initiations += 1;
    }
    assert_eq!(initiations, MAX_TIMER_HANDSHAKES + 2);
    assert_eq!(now - T0, (MAX_TIMER_HANDSHAKES + 2) * REKEY_TIMEOUT);
    // A completed handshake resets the count.
    p.handshake_response_consumed(now);
    assert_eq!(p.handshake_attempts(), 0);
}

#[test]
fn initiation_rate_limit() {
    let mut p = active();
    assert!(p.queue_handshake_initiation(T0), "never sent");
    assert!(p.begin_handshake_initiation(T0));
    assert!(!p.begin_handshake_initiation(T0 + 1));
    assert!(!p.queue_handshake_initiation(T0 + REKEY_TIMEOUT - 1));
    assert!(p.queue_handshake_initiation(T0 + REKEY_TIMEOUT));
    // A response sent counts too.
    p.handshake_response_sent(T0 + REKEY_TIMEOUT);
    assert!(!p.queue_handshake_initiation(T0 + 2 * REKEY_TIMEOUT - 1));
    assert!(p.begin_handshake_initiation(T0 + 2 * REKEY_TIMEOUT));
    // Retries (the retransmission timer) keep the attempt count; anything
    // else resets it.
    p.handshake_initiation_sent(T0 + 2 * REKEY_TIMEOUT, 0);
    let a = p.poll(T0 + 3 * REKEY_TIMEOUT);
    assert!(a.queue_handshake_initiation);
    assert_eq!(p.handshake_attempts(), 1);
    assert!(p.begin_handshake_initiation(T0 + 3 * REKEY_TIMEOUT));
    p.handshake_initiation_sent(T0 + 3 * REKEY_TIMEOUT, 0);
    let a = p.poll(T0 + 4 * REKEY_TIMEOUT);
    assert!(a.queue_handshake_initiation);
    assert_eq!(p.handshake_attempts(), 2);
    let _ = p.queue_handshake_initiation(T0 + 4 * REKEY_TIMEOUT);
    assert_eq!(p.handshake_attempts(), 0);
}

#[test]
fn inactive_peers_arm_nothing() {
    let mut p = PeerTimers::default();
    data_received(&mut p, T0);
    p.handshake_initiation_sent(T0, 0);
    assert!(!p.is_pending(RetransmitHandshake));
    assert!(!p.queue_handshake_initiation(T0 + REKEY_TIMEOUT));
    assert_eq!(p.next_deadline(), None);
    assert!(!p.set_persistent_keepalive(10));
    assert!(p.start(), "persistent keepalive on device up");
    data_received(&mut p, T0);
    p.handshake_response_consumed(T0);
    assert!(p.is_pending(SendKeepalive));
    assert!(p.is_pending(ZeroKeyMaterial));
    assert!(p.is_pending(PersistentKeepalive));
    p.stop();
    for t in Timer::ALL {
        assert!(!p.is_pending(t));
    }
    assert_eq!(p.next_deadline(), None);
    assert_eq!(p.poll(u64::MAX), none());
    data_received(&mut p, T0);
    assert_eq!(p.next_deadline(), None);
    // Stopping forgets the last handshake time, as wg_stop.
    assert!(p.start());
    assert!(p.queue_handshake_initiation(T0 + 1));
}

#[test]
fn polling_a_cancelled_or_early_timer_does_nothing() {
    let mut p = active();
    data_received(&mut p, T0);
    keepalive_sent(&mut p, T0);
    assert_eq!(p.poll(T0 + KEEPALIVE_TIMEOUT), none());
    // A late kernel timer still runs the handler.
    data_received(&mut p, T0);
    assert!(p.poll(T0 + KEEPALIVE_TIMEOUT + NSEC_PER_SEC).send_keepalive);
    // An early one (1 ns before the deadline) leaves it pending.
    data_received(&mut p, T0);
    assert_eq!(p.poll(T0 + KEEPALIVE_TIMEOUT - 1), none());
    assert_eq!(p.deadline(SendKeepalive), Some(T0 + KEEPALIVE_TIMEOUT));
    assert!(p.poll(T0 + KEEPALIVE_TIMEOUT).send_keepalive);
}

#[test]
fn poll_fires_simultaneous_timers_in_order() {
    let mut p = active();
    let _ = p.set_persistent_keepalive(10);
    data_received(&mut p, T0);
    let a = p.poll(T0 + 10 * NSEC_PER_SEC);
    assert!(a.send_keepalive);
    assert_eq!(p.next_deadline(), None);
}

fn key(valid: bool, counter: u64, initiator: bool, birth: u64) -> CurrentKey {
    CurrentKey {
        sending_valid: valid,
        sending_counter: counter,
        i_am_the_initiator: initiator,
        birthdate_ns: birth,
    }
}

fn on_send(k: CurrentKey, now: u64) -> bool {
    rekey_due_on_send(Some(&k), now)
}

fn on_receive(k: CurrentKey, now: u64) -> bool {
    rekey_due_on_receive(Some(&k), now)
}

#[test]
fn rekey_on_send_boundaries() {
    const N: u64 = REKEY_AFTER_MESSAGES;
    assert!(!rekey_due_on_send(None, T0));
    // By count: more than REKEY_AFTER_MESSAGES, either role.
    assert!(!on_send(key(true, N, false, T0), T0));
    assert!(on_send(key(true, N + 1, false, T0), T0));
    assert!(!on_send(key(false, N + 1, true, T0), T0));
    // By age: only the initiator, at exactly REKEY_AFTER_TIME.
    let k = key(true, 0, true, T0);
    assert!(!on_send(k, T0 + REKEY_AFTER_TIME - 1));
    assert!(on_send(k, T0 + REKEY_AFTER_TIME));
    assert!(!on_send(key(true, 0, false, T0), T0 + REJECT_AFTER_TIME));
    // Far-future birthdates do not overflow.
    assert!(!on_send(key(true, 0, true, u64::MAX), u64::MAX - 1));
}

#[test]
fn rekey_on_receive_boundaries() {
    assert_eq!(REKEY_ON_RECEIVE_AFTER, 165 * NSEC_PER_SEC);
    let k = key(true, 0, true, T0);
    assert!(!on_receive(k, T0 + REKEY_ON_RECEIVE_AFTER - 1));
    assert!(on_receive(k, T0 + REKEY_ON_RECEIVE_AFTER));
    assert!(!on_receive(key(true, 0, false, T0), T0 + REJECT_AFTER_TIME));
    assert!(!on_receive(key(false, 0, true, T0), T0 + REJECT_AFTER_TIME));
    assert!(!rekey_due_on_receive(None, T0));

    // Once per handshake.
    let mut p = active();
    let now = T0 + REKEY_ON_RECEIVE_AFTER;
    assert!(!p.data_packet_received(now - 1, false, false, Some(k)));
    assert!(p.data_packet_received(now, false, true, Some(k)));
    assert!(p.begin_handshake_initiation(now));
    assert!(!p.data_packet_received(now + REKEY_TIMEOUT, false, false, Some(k)));
    // The first data under the new keypair completes the handshake and re-enables it.
    assert!(!p.data_packet_received(now + NSEC_PER_SEC, true, false, None));
    assert!(p.data_packet_received(now + REKEY_TIMEOUT, false, false, Some(k)));

    // On send: subject to the initiation rate limit.
    let mut p = active();
    let k = key(true, 0, true, T0);
    assert!(p.keep_key_fresh_on_send(Some(&k), T0 + REKEY_AFTER_TIME));
    assert!(p.begin_handshake_initiation(T0 + REKEY_AFTER_TIME));
    assert!(!p.keep_key_fresh_on_send(Some(&k), T0 + REKEY_AFTER_TIME + 1));
    assert!(p.keep_key_fresh_on_send(Some(&k), T0 + REKEY_AFTER_TIME + REKEY_TIMEOUT));
}

#[test]
fn full_exchange_as_initiator_and_responder() {
    // Initiator: initiation out, response in, keepalive out, then quiet.
    let mut i = active();
    assert!(i.queue_handshake_initiation(T0));
    assert!(i.begin_handshake_initiation(T0));
    i.data_packets_sent(T0, true, || 0);
    i.handshake_initiation_sent(T0, 0);
    assert!(i.is_pending(RetransmitHandshake));
    assert!(i.is_pending(NewHandshake));
    let t1 = T0 + 30_000_000;
    i.handshake_response_consumed(t1);
    i.handshake_packet_received(t1);
    assert!(!i.is_pending(RetransmitHandshake));
    assert_eq!(i.deadline(ZeroKeyMaterial), Some(t1 + ZERO_KEYS_AFTER));
    assert!(!i.is_pending(NewHandshake));
    i.data_packets_sent(t1, false, || 0);
    assert_eq!(i.next_deadline(), Some(t1 + ZERO_KEYS_AFTER));

    // Responder: initiation in, response out; first data confirms.
    let mut r = active();
    r.handshake_response_sent(T0);
    r.handshake_packet_received(T0);
    assert_eq!(r.deadline(ZeroKeyMaterial), Some(T0 + ZERO_KEYS_AFTER));
    assert!(!r.data_packet_received(t1, true, false, None));
    assert!(!r.is_pending(RetransmitHandshake));
    assert_eq!(r.deadline(SendKeepalive), Some(t1 + KEEPALIVE_TIMEOUT));
    // It replies with data: no keepalive needed.
    r.data_packets_sent(t1 + 1, true, || 0);
    assert!(!r.is_pending(SendKeepalive));
    assert_eq!(
        r.deadline(NewHandshake),
        Some(t1 + 1 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT)
    );
}

#[test]
fn helpers() {
    assert!(has_expired(5, 10, 15));
    assert!(!has_expired(5, 10, 14));
    assert!(!has_expired(u64::MAX, 1, u64::MAX - 1));
    for _ in 0..1000 {
        assert!(random_jitter::<Host>() < REKEY_TIMEOUT_JITTER_MAX);
    }
}

/// A run of a burst's packets told to the timers at once leaves them as the
/// packets told one by one would (the same state, the same answer), from
/// any starting state: every sequence of up to five keepalives and data
/// packets, the first one confirming a new keypair or not, with no current
/// key, one not due for re-keying and one due; from a fresh peer, one whose
/// keepalive timer is pending, one with its last-minute handshake spent,
/// and an inactive one.
#[test]
fn data_run_received_is_per_packet() {
    let now = T0 + REKEY_ON_RECEIVE_AFTER;
    let keys = [
        None,
        Some(key(true, 0, true, now)),
        Some(key(true, 0, true, T0)),
    ];
    let mut starts = Vec::new();
    starts.push(active());
    let mut p = active();
    data_received(&mut p, now - NSEC_PER_SEC);
    starts.push(p);
    let mut p = active();
    assert!(p.data_packet_received(now, false, true, keys[2]));
    starts.push(p);
    starts.push(PeerTimers::default());
    for start in &starts {
        for k in keys {
            for confirmed in [false, true] {
                for len in 1..=5u32 {
                    for kinds in 0..(1u32 << len) {
                        // Bit i set: packet i is data, else a keepalive.
                        let mut one = start.clone();
                        let mut rekey_one = false;
                        for i in 0..len {
                            let keepalive = kinds & (1 << i) == 0;
                            rekey_one |=
                                one.data_packet_received(now, confirmed && i == 0, keepalive, k);
                        }
                        let mut run = start.clone();
                        let rekey_run =
                            run.data_run_received(now, confirmed, kinds.count_ones(), k);
                        assert_eq!(
                            rekey_run, rekey_one,
                            "{start:?} {k:?} {confirmed} {len} {kinds:b}"
                        );
                        assert_eq!(
                            format!("{run:?}"),
                            format!("{one:?}"),
                            "{k:?} {confirmed} {len} {kinds:b}"
                        );
                    }
                }
            }
        }
    }
}

/// A pause is a gap of at least `PAUSE_NS` since the previous packet of that
/// direction, whichever packets came in between: a stream never pauses, the
/// first packet and one after an idle gap do.
#[test]
fn last_packet_pause() {
    use wg_proto::proto::timers::{LastPacket, PAUSE_NS};
    let last = LastPacket::default();
    let t0 = 5 * NSEC_PER_SEC;
    assert!(last.after_pause(t0), "the first packet");
    assert!(!last.after_pause(t0), "the same tick");
    assert!(!last.after_pause(t0 + PAUSE_NS - 1));
    // Measured from the previous packet, not from the last pause.
    assert!(!last.after_pause(t0 + 2 * PAUSE_NS - 2));
    assert!(last.after_pause(t0 + 3 * PAUSE_NS));
    // A stream with gaps shorter than a pause never pauses.
    let mut t = t0 + 10 * PAUSE_NS;
    assert!(last.after_pause(t));
    for _ in 0..100 {
        t += PAUSE_NS / 2;
        assert!(!last.after_pause(t));
    }
    assert!(last.after_pause(t + PAUSE_NS));
    // A reading older than the last one (a racing CPU wrote it) is no pause.
    assert!(!last.after_pause(t));
}

/// `paused` only looks; `note` records: a look that finds a pause leaves it
/// for the next (as the receive path looks at unauthenticated packets and
/// notes only authenticated ones).
#[test]
fn last_packet_look_and_note() {
    use wg_proto::proto::timers::{LastPacket, PAUSE_NS};
    let last = LastPacket::default();
    let t0 = 7 * NSEC_PER_SEC;
    last.note(t0);
    let later = t0 + PAUSE_NS;
    assert!(last.paused(later));
    assert!(last.paused(later), "a look changes nothing");
    last.note(later);
    assert!(!last.paused(later + PAUSE_NS - 1));
}

/// On the coarse clock, whose readings step by whole ticks (a real gap `g`
/// reads as `g` rounded down or up to a tick): at `HZ` 100, 250 and 1000, a
/// gap under 20 ms never counts as a pause and one of 30 ms or more always
/// does, so a stream of more than 50 packets a second never pauses.
#[test]
fn last_packet_pause_in_ticks() {
    use wg_proto::proto::timers::{LastPacket, PAUSE_NS};
    const MS: u64 = 1_000_000;
    for tick in [10 * MS, 4 * MS, MS] {
        let read = |real: u64| real / tick * tick;
        for start in (0..tick).step_by((tick / 4) as usize) {
            let t0 = 100 * NSEC_PER_SEC + start;
            for gap in [
                MS,
                5 * MS,
                10 * MS,
                15 * MS,
                19 * MS,
                30 * MS,
                31 * MS,
                60 * MS,
            ] {
                let last = LastPacket::default();
                last.note(read(t0));
                let paused = last.after_pause(read(t0 + gap));
                if gap < 20 * MS {
                    assert!(!paused, "tick {tick}, start {start}, gap {gap}");
                } else if gap >= 30 * MS {
                    assert!(paused, "tick {tick}, start {start}, gap {gap}");
                }
            }
            // A steady stream of 51 packets a second never pauses.
            let last = LastPacket::default();
            last.note(read(t0));
            let mut real = t0;
            for _ in 0..200 {
                real += NSEC_PER_SEC / 51;
                assert!(
                    !last.after_pause(read(real)),
                    "tick {tick}: a stream paused"
                );
            }
        }
    }
    assert_eq!(PAUSE_NS, 25 * MS);
}

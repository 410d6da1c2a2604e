//! Timer state machine and re-keying predicates with a fake clock: every
//! timer at its exact deadline and 1 ns before, the handshake give-up, the
//! initiation rate limit, and the predicates' boundaries.

use wg_proto::host::Host;
use wg_proto::proto::constants::*;
use wg_proto::proto::timers::{
    has_expired, random_jitter, rekey_due_on_receive, rekey_due_on_send, Actions, CurrentKey,
    LoadTracker, PeerTimers, PerTimer, Timer, TimerOp,
};

const T0: u64 = 10_000 * NSEC_PER_SEC;

fn active() -> PeerTimers {
    let mut p = PeerTimers::new();
    assert!(p.start().is_empty());
    p
}

/// Asserts that nothing fires 1 ns before `deadline`, and returns what fires at it.
fn fire_exactly_at(p: &mut PeerTimers, timer: Timer, deadline: u64) -> Actions {
    assert_eq!(p.deadline(timer), Some(deadline), "{timer:?} deadline");
    assert_eq!(p.next_deadline(), Some(deadline));
    assert!(
        p.poll(deadline - 1).is_empty(),
        "{timer:?} fired 1 ns early"
    );
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
        let a = p.handshake_initiation_sent(T0, jitter);
        let d = T0 + REKEY_TIMEOUT + jitter % REKEY_TIMEOUT_JITTER_MAX;
        assert_eq!(a.timer(Timer::RetransmitHandshake), TimerOp::Arm(d));
        assert_eq!(a.timer(Timer::SendKeepalive), TimerOp::Cancel);
        let a = fire_exactly_at(&mut p, Timer::RetransmitHandshake, d);
        assert!(a.clear_endpoint_src);
        assert!(a.queue_handshake_initiation);
        assert_eq!(p.handshake_attempts(), 1);
    }
}

#[test]
fn send_keepalive_deadline_and_need_another() {
    let mut p = active();
    let a = p.data_received(T0);
    assert_eq!(
        a.timer(Timer::SendKeepalive),
        TimerOp::Arm(T0 + KEEPALIVE_TIMEOUT)
    );
    let a = fire_exactly_at(&mut p, Timer::SendKeepalive, T0 + KEEPALIVE_TIMEOUT);
    assert!(a.send_keepalive);
    assert_eq!(a.timer(Timer::SendKeepalive), TimerOp::Unchanged);
    assert!(!p.is_pending(Timer::SendKeepalive));

    // Data received again while pending: one more keepalive round, from the firing.
    let mut p = active();
    let _ = p.data_received(T0);
    let a = p.data_received(T0 + 3 * NSEC_PER_SEC);
    assert!(a.is_empty(), "pending timer is not moved");
    let a = fire_exactly_at(&mut p, Timer::SendKeepalive, T0 + KEEPALIVE_TIMEOUT);
    assert!(a.send_keepalive);
    assert_eq!(
        a.timer(Timer::SendKeepalive),
        TimerOp::Arm(T0 + 2 * KEEPALIVE_TIMEOUT)
    );
    let a = fire_exactly_at(&mut p, Timer::SendKeepalive, T0 + 2 * KEEPALIVE_TIMEOUT);
    assert!(a.send_keepalive);
    assert!(!p.is_pending(Timer::SendKeepalive));

    // Anything authenticated sent in between cancels it.
    let mut p = active();
    let _ = p.data_received(T0);
    let a = p.data_packets_sent(T0 + 1, false, 0);
    assert_eq!(a.timer(Timer::SendKeepalive), TimerOp::Cancel);
    assert!(p.poll(T0 + KEEPALIVE_TIMEOUT).is_empty());
}

#[test]
fn new_handshake_deadline() {
    let mut p = active();
    let a = p.data_packets_sent(T0, true, 123);
    let d = T0 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 123;
    assert_eq!(a.timer(Timer::NewHandshake), TimerOp::Arm(d));
    // More data sent does not push it back.
    assert_eq!(
        p.data_sent(T0 + NSEC_PER_SEC, 0).timer(Timer::NewHandshake),
        TimerOp::Unchanged
    );
    // Keepalives alone do not arm it.
    let mut q = active();
    assert_eq!(
        q.data_packets_sent(T0, false, 0).timer(Timer::NewHandshake),
        TimerOp::Unchanged
    );
    let a = fire_exactly_at(&mut p, Timer::NewHandshake, d);
    assert!(a.clear_endpoint_src);
    assert!(a.queue_handshake_initiation);

    // Anything authenticated received cancels it.
    let mut p = active();
    let _ = p.data_sent(T0, 0);
    let a = p.data_packet_received(T0 + 1, false, true);
    assert_eq!(a.timer(Timer::NewHandshake), TimerOp::Cancel);
    assert!(p.poll(u64::MAX).is_empty());
}

#[test]
fn zero_key_material_deadline() {
    let mut p = active();
    let a = p.handshake_response_sent(T0);
    assert_eq!(
        a.timer(Timer::ZeroKeyMaterial),
        TimerOp::Arm(T0 + 3 * REJECT_AFTER_TIME)
    );
    // A later session moves it.
    let a = p.handshake_response_consumed(T0 + NSEC_PER_SEC);
    let d = T0 + NSEC_PER_SEC + ZERO_KEYS_AFTER;
    assert_eq!(a.timer(Timer::ZeroKeyMaterial), TimerOp::Arm(d));
    assert!(a.send_keepalive);
    let a = fire_exactly_at(&mut p, Timer::ZeroKeyMaterial, d);
    assert!(a.zero_key_material);
    assert!(!a.send_keepalive);
}

#[test]
fn persistent_keepalive() {
    let mut p = active();
    assert!(
        p.any_authenticated_packet_traversal(T0).is_empty(),
        "off by default"
    );
    let a = p.set_persistent_keepalive(25);
    assert!(a.send_keepalive, "turning it on sends one at once");
    assert!(
        !p.set_persistent_keepalive(30).send_keepalive,
        "changing it does not"
    );
    assert!(!p.set_persistent_keepalive(25).send_keepalive);
    let a = p.any_authenticated_packet_traversal(T0);
    assert_eq!(
        a.timer(Timer::PersistentKeepalive),
        TimerOp::Arm(T0 + 25 * NSEC_PER_SEC)
    );
    // Received packets re-arm it too.
    let a = p.handshake_packet_received(T0 + NSEC_PER_SEC);
    let d = T0 + 26 * NSEC_PER_SEC;
    assert_eq!(a.timer(Timer::PersistentKeepalive), TimerOp::Arm(d));
    let a = fire_exactly_at(&mut p, Timer::PersistentKeepalive, d);
    assert!(a.send_keepalive);
    // Turned off while pending: fires without sending.
    let _ = p.any_authenticated_packet_traversal(T0 + 100 * NSEC_PER_SEC);
    let _ = p.set_persistent_keepalive(0);
    let a = p.poll(T0 + 200 * NSEC_PER_SEC);
    assert!(!a.send_keepalive);
    assert!(!p.is_pending(Timer::PersistentKeepalive));
    // The maximum interval does not overflow.
    let _ = p.set_persistent_keepalive(u16::MAX);
    let a = p.any_authenticated_packet_traversal(u64::MAX - 5);
    assert_eq!(a.timer(Timer::PersistentKeepalive), TimerOp::Arm(u64::MAX));
}

/// The new-handshake timer firing during retransmissions is not a retry: as
/// in the C driver, it resets the attempt count even when the initiation
/// itself is refused by the rate limit.
#[test]
fn new_handshake_timer_resets_attempts() {
    let mut p = active();
    let _ = p.data_sent(T0, 0);
    assert!(p.queue_handshake_initiation(T0, false));
    assert!(p.begin_handshake_initiation(T0));
    let _ = p.handshake_initiation_sent(T0, 0);
    for k in 1..=3u64 {
        let a = p.poll(T0 + k * REKEY_TIMEOUT);
        assert!(a.queue_handshake_initiation);
        assert_eq!(p.handshake_attempts(), if k == 3 { 0 } else { k });
        assert!(p.begin_handshake_initiation(T0 + k * REKEY_TIMEOUT));
        let _ = p.handshake_initiation_sent(T0 + k * REKEY_TIMEOUT, 0);
    }
    // At 15 s both fired: the retransmission (attempt 3) and then the
    // new-handshake timer, which resets the count.
    assert!(!p.is_pending(Timer::NewHandshake));
}

#[test]
fn handshake_gives_up_exact_count_without_data_timer() {
    let mut p = active();
    let mut now = T0;
    assert!(p.queue_handshake_initiation(now, false));
    assert!(p.begin_handshake_initiation(now));
    let _ = p.handshake_initiation_sent(now, 0);
    let mut initiations = 1u64;
    loop {
        now = p.deadline(Timer::RetransmitHandshake).unwrap();
        let a = p.expired(Timer::RetransmitHandshake, now);
        if a.purge_staged_packets {
            break;
        }
        assert!(a.queue_handshake_initiation);
        assert!(p.begin_handshake_initiation(now));
        let _ = p.handshake_initiation_sent(now, 0);
        initiations += 1;
    }
    assert_eq!(initiations, MAX_TIMER_HANDSHAKES + 2);
    assert_eq!(now - T0, (MAX_TIMER_HANDSHAKES + 2) * REKEY_TIMEOUT);
    // A completed handshake resets the count.
    let _ = p.handshake_complete();
    assert_eq!(p.handshake_attempts(), 0);
}

#[test]
fn initiation_rate_limit() {
    let mut p = active();
    assert!(p.queue_handshake_initiation(T0, false), "never sent");
    assert!(p.begin_handshake_initiation(T0));
    assert!(!p.begin_handshake_initiation(T0 + 1));
    assert!(!p.queue_handshake_initiation(T0 + REKEY_TIMEOUT - 1, false));
    assert!(p.queue_handshake_initiation(T0 + REKEY_TIMEOUT, false));
    // A response sent counts too.
    let _ = p.handshake_response_sent(T0 + REKEY_TIMEOUT);
    assert!(!p.queue_handshake_initiation(T0 + 2 * REKEY_TIMEOUT - 1, false));
    assert!(p.begin_handshake_initiation(T0 + 2 * REKEY_TIMEOUT));
    // Non-retries reset the attempt count; retries keep it.
    let _ = p.handshake_initiation_sent(T0 + 2 * REKEY_TIMEOUT, 0);
    let _ = p.poll(T0 + 3 * REKEY_TIMEOUT);
    assert_eq!(p.handshake_attempts(), 1);
    let _ = p.queue_handshake_initiation(T0 + 3 * REKEY_TIMEOUT, true);
    assert_eq!(p.handshake_attempts(), 1);
    let _ = p.queue_handshake_initiation(T0 + 3 * REKEY_TIMEOUT, false);
    assert_eq!(p.handshake_attempts(), 0);
}

#[test]
fn inactive_peers_arm_nothing() {
    let mut p = PeerTimers::new();
    assert!(!p.is_active());
    assert!(p.data_received(T0).is_empty());
    assert_eq!(
        p.handshake_initiation_sent(T0, 0)
            .timer(Timer::RetransmitHandshake),
        TimerOp::Unchanged
    );
    assert!(!p.queue_handshake_initiation(T0 + REKEY_TIMEOUT, false));
    assert_eq!(p.next_deadline(), None);
    let _ = p.set_persistent_keepalive(10);
    assert!(
        p.start().send_keepalive,
        "persistent keepalive on device up"
    );
    let _ = p.data_received(T0);
    let _ = p.session_derived(T0);
    let _ = p.any_authenticated_packet_traversal(T0);
    assert!(p.next_deadline().is_some());
    let a = p.stop();
    for t in Timer::ALL {
        assert_eq!(a.timer(t), TimerOp::Cancel);
        assert!(!p.is_pending(t));
    }
    assert!(p.poll(u64::MAX).is_empty());
    assert!(p.data_received(T0).is_empty());
    // Stopping forgets the last handshake time, as wg_stop.
    let _ = p.start();
    assert!(p.queue_handshake_initiation(T0 + 1, false));
}

#[test]
fn firing_a_cancelled_timer_does_nothing() {
    let mut p = active();
    let _ = p.data_received(T0);
    let _ = p.any_authenticated_packet_sent();
    for t in Timer::ALL {
        assert!(p.expired(t, T0 + KEEPALIVE_TIMEOUT).is_empty());
    }
    // A late kernel timer still runs the handler.
    let _ = p.data_received(T0);
    assert!(
        p.expired(Timer::SendKeepalive, T0 + KEEPALIVE_TIMEOUT + NSEC_PER_SEC)
            .send_keepalive
    );
    // An early one (1 ns before the deadline) only re-arms it.
    let _ = p.data_received(T0);
    let a = p.expired(Timer::SendKeepalive, T0 + KEEPALIVE_TIMEOUT - 1);
    assert_eq!(
        a,
        Actions {
            timers: PerTimer {
                send_keepalive: TimerOp::Arm(T0 + KEEPALIVE_TIMEOUT),
                ..Actions::NONE.timers
            },
            ..Actions::NONE
        }
    );
    assert_eq!(
        p.deadline(Timer::SendKeepalive),
        Some(T0 + KEEPALIVE_TIMEOUT)
    );
    assert!(
        p.expired(Timer::SendKeepalive, T0 + KEEPALIVE_TIMEOUT)
            .send_keepalive
    );
}

#[test]
fn poll_fires_simultaneous_timers_in_order() {
    let mut p = active();
    let _ = p.set_persistent_keepalive(10);
    let _ = p.data_received(T0);
    let _ = p.any_authenticated_packet_traversal(T0);
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

#[test]
fn rekey_on_send_boundaries() {
    assert!(!rekey_due_on_send(None, T0));
    // By count: more than REKEY_AFTER_MESSAGES, either role.
    assert!(!rekey_due_on_send(
        Some(&key(true, REKEY_AFTER_MESSAGES, false, T0)),
        T0
    ));
    assert!(rekey_due_on_send(
        Some(&key(true, REKEY_AFTER_MESSAGES + 1, false, T0)),
        T0
    ));
    assert!(!rekey_due_on_send(
        Some(&key(false, REKEY_AFTER_MESSAGES + 1, true, T0)),
        T0
    ));
    // By age: only the initiator, at exactly REKEY_AFTER_TIME.
    let k = key(true, 0, true, T0);
    assert!(!rekey_due_on_send(Some(&k), T0 + REKEY_AFTER_TIME - 1));
    assert!(rekey_due_on_send(Some(&k), T0 + REKEY_AFTER_TIME));
    assert!(!rekey_due_on_send(
        Some(&key(true, 0, false, T0)),
        T0 + REJECT_AFTER_TIME
    ));
    // Far-future birthdates do not overflow.
    assert!(!rekey_due_on_send(
        Some(&key(true, 0, true, u64::MAX)),
        u64::MAX - 1
    ));
}

#[test]
fn rekey_on_receive_boundaries() {
    assert_eq!(REKEY_ON_RECEIVE_AFTER, 165 * NSEC_PER_SEC);
    let k = key(true, 0, true, T0);
    assert!(!rekey_due_on_receive(
        Some(&k),
        T0 + REKEY_ON_RECEIVE_AFTER - 1
    ));
    assert!(rekey_due_on_receive(Some(&k), T0 + REKEY_ON_RECEIVE_AFTER));
    assert!(!rekey_due_on_receive(
        Some(&key(true, 0, false, T0)),
        T0 + REJECT_AFTER_TIME
    ));
    assert!(!rekey_due_on_receive(
        Some(&key(false, 0, true, T0)),
        T0 + REJECT_AFTER_TIME
    ));
    assert!(!rekey_due_on_receive(None, T0));

    // Once per handshake.
    let mut p = active();
    let now = T0 + REKEY_ON_RECEIVE_AFTER;
    assert!(!p.keep_key_fresh_on_receive(Some(&k), now - 1));
    assert!(p.keep_key_fresh_on_receive(Some(&k), now));
    assert!(p.begin_handshake_initiation(now));
    assert!(!p.keep_key_fresh_on_receive(Some(&k), now + REKEY_TIMEOUT));
    // The first data under the new keypair completes the handshake and re-enables it.
    let _ = p.data_packet_received(now + NSEC_PER_SEC, true, false);
    assert!(p.keep_key_fresh_on_receive(Some(&k), now + REKEY_TIMEOUT));

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
    assert!(i.queue_handshake_initiation(T0, false));
    assert!(i.begin_handshake_initiation(T0));
    let _ = i.handshake_initiation_sent(T0, 0);
    let t1 = T0 + 30_000_000;
    let mut a = i.handshake_response_consumed(t1);
    a.merge(i.handshake_packet_received(t1));
    assert_eq!(a.timer(Timer::RetransmitHandshake), TimerOp::Cancel);
    assert_eq!(
        a.timer(Timer::ZeroKeyMaterial),
        TimerOp::Arm(t1 + ZERO_KEYS_AFTER)
    );
    assert_eq!(a.timer(Timer::NewHandshake), TimerOp::Cancel);
    assert!(a.send_keepalive);
    let _ = i.data_packets_sent(t1, false, 0);
    assert_eq!(i.next_deadline(), Some(t1 + ZERO_KEYS_AFTER));

    // Responder: initiation in, response out; first data confirms.
    let mut r = active();
    let mut a = r.handshake_response_sent(T0);
    a.merge(r.handshake_packet_received(T0));
    assert_eq!(
        a.timer(Timer::ZeroKeyMaterial),
        TimerOp::Arm(T0 + ZERO_KEYS_AFTER)
    );
    let a = r.data_packet_received(t1, true, false);
    assert_eq!(a.timer(Timer::RetransmitHandshake), TimerOp::Cancel);
    assert_eq!(
        a.timer(Timer::SendKeepalive),
        TimerOp::Arm(t1 + KEEPALIVE_TIMEOUT)
    );
    // It replies with data: no keepalive needed.
    let a = r.data_packets_sent(t1 + 1, true, 0);
    assert_eq!(a.timer(Timer::SendKeepalive), TimerOp::Cancel);
    assert_eq!(
        a.timer(Timer::NewHandshake),
        TimerOp::Arm(t1 + 1 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT)
    );
}

#[test]
fn load_tracker() {
    let mut l = LoadTracker::new();
    let max = MAX_QUEUED_INCOMING_HANDSHAKES;
    assert!(!l.under_load(max / 8 - 1, max, T0));
    assert!(l.under_load(max / 8, max, T0));
    assert!(l.under_load(0, max, T0 + NSEC_PER_SEC - 1));
    assert!(!l.under_load(0, max, T0 + NSEC_PER_SEC));
    assert!(!l.under_load(0, max, T0 + 1));
}

#[test]
fn helpers() {
    assert!(has_expired(5, 10, 15));
    assert!(!has_expired(5, 10, 14));
    assert!(!has_expired(u64::MAX, 1, u64::MAX - 1));
    for _ in 0..1000 {
        assert!(random_jitter::<Host>() < REKEY_TIMEOUT_JITTER_MAX);
    }
    let mut a = Actions::NONE;
    assert!(a.is_empty());
    a.merge(Actions {
        send_keepalive: true,
        ..Actions::NONE
    });
    assert!(!a.is_empty());
}

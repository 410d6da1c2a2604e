// SPDX-License-Identifier: GPL-2.0
//! The per-peer timer state machine of the C driver's `timers.c`, as pure
//! functions of events and a clock, plus the re-keying predicates of `send.c`
//! and `receive.c`.
//!
//! [`PeerTimers`] keeps the deadline of each of the five timers of a peer and
//! the little state that goes with them. Every event hook takes the current
//! time and moves the deadlines; the glue keeps one kernel timer per peer at
//! [`PeerTimers::next_deadline`], and when it fires calls [`PeerTimers::poll`],
//! which returns the [`Actions`] to carry out (send a keepalive, queue a
//! handshake initiation, clear the endpoint's source address, purge staged
//! packets, zero the keys).
//!
//! The five timers:
//! - *retransmit handshake*: `REKEY_TIMEOUT` + jitter after an initiation is
//!   sent; resend it (at most `MAX_TIMER_HANDSHAKES` + 1 times, then give up,
//!   purge staged packets and schedule zeroing the keys);
//! - *send keepalive*: `KEEPALIVE_TIMEOUT` after data is received if nothing
//!   authenticated was sent since;
//! - *new handshake*: `KEEPALIVE_TIMEOUT + REKEY_TIMEOUT` + jitter after data
//!   is sent if nothing authenticated was received since;
//! - *zero key material*: `3 * REJECT_AFTER_TIME` after the last session was
//!   derived;
//! - *persistent keepalive*: the user's interval after any authenticated
//!   packet went either way.
//!
//! Where the C driver adds `get_random_u32_below(HZ / 3)` jiffies of jitter,
//! the hooks take `jitter_ns`, reduced modulo [`REKEY_TIMEOUT_JITTER_MAX`]
//! (pass [`random_jitter`] in production, fixed values in tests).

use super::constants::{
    KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, NSEC_PER_SEC, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME,
    REKEY_ON_RECEIVE_AFTER, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER,
};
use super::keypair::has_expired;
use super::platform::Crypto;

/// One of a peer's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Resend a handshake initiation that got no response.
    RetransmitHandshake,
    /// Send a keepalive after receiving data and sending nothing.
    SendKeepalive,
    /// Start a new handshake after sending data and receiving nothing.
    NewHandshake,
    /// Zero all keys after a long time without a new session.
    ZeroKeyMaterial,
    /// The user's persistent keepalive.
    PersistentKeepalive,
}

impl Timer {
    /// Every timer, in the order [`PeerTimers::poll`] fires simultaneous ones.
    pub const ALL: [Timer; 5] = [
        Timer::RetransmitHandshake,
        Timer::SendKeepalive,
        Timer::NewHandshake,
        Timer::ZeroKeyMaterial,
        Timer::PersistentKeepalive,
    ];
}

/// What the glue must do after an event, in field order (the timers'
/// deadlines are already updated: see [`PeerTimers::next_deadline`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Actions {
    /// Clear the source address of the peer's endpoint (it may be the cause
    /// of the trouble).
    pub clear_endpoint_src: bool,
    /// Queue a handshake initiation (the rate limit has been checked: in the
    /// worker, call [`PeerTimers::begin_handshake_initiation`]).
    pub queue_handshake_initiation: bool,
    /// Send a keepalive (an empty data packet, or staged packets if any).
    pub send_keepalive: bool,
    /// Drop the packets staged for the peer (the handshake gave up).
    pub purge_staged_packets: bool,
    /// Zero the handshake state and every keypair of the peer.
    pub zero_key_material: bool,
}

/// A jitter value for the hooks that take one: uniform below
/// [`REKEY_TIMEOUT_JITTER_MAX`].
pub fn random_jitter<C: Crypto>() -> u64 {
    let mut bytes = [0u8; 8];
    C::random_bytes(&mut bytes);
    u64::from_le_bytes(bytes) % REKEY_TIMEOUT_JITTER_MAX
}

/// What the re-keying predicates need to know about the current keypair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentKey {
    /// The sending half is still valid.
    pub sending_valid: bool,
    /// Nonces handed out so far (the next sending counter).
    pub sending_counter: u64,
    /// We initiated the handshake of this keypair.
    pub i_am_the_initiator: bool,
    /// When the keypair was derived (ns).
    pub birthdate_ns: u64,
}

/// `send.c`'s `keep_key_fresh`: after sending, a new handshake is due when the
/// current key has sent more than `REKEY_AFTER_MESSAGES` messages, or (only the
/// initiator) is `REKEY_AFTER_TIME` old.
pub fn rekey_due_on_send(key: Option<&CurrentKey>, now_ns: u64) -> bool {
    key.is_some_and(|k| {
        k.sending_valid
            && (k.sending_counter > REKEY_AFTER_MESSAGES
                || (k.i_am_the_initiator && has_expired(k.birthdate_ns, REKEY_AFTER_TIME, now_ns)))
    })
}

/// `receive.c`'s `keep_key_fresh`: after receiving data, the initiator of a
/// key `REKEY_ON_RECEIVE_AFTER` old (`REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT -
/// REKEY_TIMEOUT`) starts a handshake, once per handshake
/// ([`PeerTimers::keep_key_fresh_on_receive`] keeps the "once").
pub fn rekey_due_on_receive(key: Option<&CurrentKey>, now_ns: u64) -> bool {
    key.is_some_and(|k| {
        k.sending_valid
            && k.i_am_the_initiator
            && has_expired(k.birthdate_ns, REKEY_ON_RECEIVE_AFTER, now_ns)
    })
}

/// The timer state of one peer.
#[derive(Clone, Debug, Default)]
pub struct PeerTimers {
    /// The deadline (absolute time, ns) of each timer, `None` if not pending.
    deadlines: [Option<u64>; Timer::ALL.len()],
    /// Retransmissions of the current handshake so far.
    pub(crate) handshake_attempts: u64,
    need_another_keepalive: bool,
    sent_lastminute_handshake: bool,
    /// Persistent keepalive interval in seconds (0 = off).
    persistent_keepalive_interval: u16,
    /// When the last initiation or response was sent, if recently.
    last_sent_handshake: Option<u64>,
    /// Device running and peer alive: timers may be armed.
    active: bool,
}

impl PeerTimers {
    /// A new peer's timers: nothing pending, inactive until [`PeerTimers::start`].
    pub fn new() -> Self {
        Self::default()
    }

    /// When `timer` will fire, if pending.
    pub fn deadline(&self, timer: Timer) -> Option<u64> {
        self.deadlines.get(timer as usize).copied().flatten()
    }

    /// Whether `timer` is pending.
    pub fn is_pending(&self, timer: Timer) -> bool {
        self.deadline(timer).is_some()
    }

    /// The earliest pending deadline: the glue keeps one kernel timer there
    /// and calls [`PeerTimers::poll`] when it fires.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The persistent keepalive interval in seconds (0 = off).
    pub fn persistent_keepalive_interval(&self) -> u16 {
        self.persistent_keepalive_interval
    }

    // ---- timer primitives -------------------------------------------------

    /// `mod_peer_timer`: arms only while active.
    fn arm(&mut self, timer: Timer, at: u64) {
        if self.active {
            self.set(timer, Some(at));
        }
    }

    /// `del_timer`.
    fn cancel(&mut self, timer: Timer) {
        self.set(timer, None);
    }

    fn set(&mut self, timer: Timer, at: Option<u64>) {
        if let Some(d) = self.deadlines.get_mut(timer as usize) {
            *d = at;
        }
    }

    fn jittered(base: u64, now_ns: u64, jitter_ns: u64) -> u64 {
        now_ns
            .saturating_add(base)
            .saturating_add(jitter_ns % REKEY_TIMEOUT_JITTER_MAX)
    }

    // ---- lifecycle -----------------------------------------------------------

    /// The device went up (or the peer was created on a running device):
    /// timers may be armed. Returns whether to send a keepalive: if a
    /// persistent keepalive is configured (as `wg_open`; the glue also sends
    /// staged packets).
    pub fn start(&mut self) -> bool {
        self.active = true;
        self.persistent_keepalive_interval != 0
    }

    /// The device went down or the peer is being removed (`wg_timers_stop`,
    /// and `wg_noise_reset_last_sent_handshake` as `wg_stop`): cancels every
    /// timer, and no timer is armed until [`PeerTimers::start`].
    pub fn stop(&mut self) {
        self.active = false;
        self.last_sent_handshake = None;
        self.deadlines = Default::default();
    }

    /// Forgets when the last handshake message was sent, so that the next
    /// initiation is not held back (`wg_noise_reset_last_sent_handshake`, as
    /// when the device's key changes).
    pub fn reset_last_sent_handshake(&mut self) {
        self.last_sent_handshake = None;
    }

    /// Sets the persistent keepalive interval (seconds, 0 = off). Returns
    /// whether to send a keepalive: turning it on sends one at once (as the
    /// C netlink code) if active.
    pub fn set_persistent_keepalive(&mut self, interval_s: u16) -> bool {
        let send = self.persistent_keepalive_interval == 0 && interval_s != 0 && self.active;
        self.persistent_keepalive_interval = interval_s;
        send
    }

    // ---- the hooks of timers.c ------------------------------------------------

    /// After an authenticated data packet was sent (`wg_timers_data_sent`).
    pub fn data_sent(&mut self, now_ns: u64, jitter_ns: u64) {
        if !self.is_pending(Timer::NewHandshake) {
            let base = KEEPALIVE_TIMEOUT.saturating_add(REKEY_TIMEOUT);
            self.arm(Timer::NewHandshake, Self::jittered(base, now_ns, jitter_ns));
        }
    }

    /// After an authenticated data packet was received (`wg_timers_data_received`).
    pub fn data_received(&mut self, now_ns: u64) {
        if self.active {
            if !self.is_pending(Timer::SendKeepalive) {
                self.arm(
                    Timer::SendKeepalive,
                    now_ns.saturating_add(KEEPALIVE_TIMEOUT),
                );
            } else {
                self.need_another_keepalive = true;
            }
        }
    }

    /// After any authenticated packet (keepalive, data, handshake) was sent.
    pub fn any_authenticated_packet_sent(&mut self) {
        self.cancel(Timer::SendKeepalive);
    }

    /// After any authenticated packet (keepalive, data, handshake) was received.
    pub fn any_authenticated_packet_received(&mut self) {
        self.cancel(Timer::NewHandshake);
    }

    /// Before an authenticated packet is sent or after one is received
    /// (`wg_timers_any_authenticated_packet_traversal`): re-arms the
    /// persistent keepalive.
    pub fn any_authenticated_packet_traversal(&mut self, now_ns: u64) {
        if self.persistent_keepalive_interval != 0 {
            let at = now_ns.saturating_add(
                u64::from(self.persistent_keepalive_interval).saturating_mul(NSEC_PER_SEC),
            );
            self.arm(Timer::PersistentKeepalive, at);
        }
    }

    /// After a handshake initiation was sent (`wg_timers_handshake_initiated`).
    pub fn handshake_initiated(&mut self, now_ns: u64, jitter_ns: u64) {
        let at = Self::jittered(REKEY_TIMEOUT, now_ns, jitter_ns);
        self.arm(Timer::RetransmitHandshake, at);
    }

    /// After a handshake response was processed, or the first data message
    /// confirmed a responder's keypair (`wg_timers_handshake_complete`). The
    /// glue records the wall-clock time of the last handshake.
    pub fn handshake_complete(&mut self) {
        self.cancel(Timer::RetransmitHandshake);
        self.handshake_attempts = 0;
        self.sent_lastminute_handshake = false;
    }

    /// After a session was derived: before sending a response, or after
    /// processing one (`wg_timers_session_derived`).
    pub fn session_derived(&mut self, now_ns: u64) {
        self.arm(
            Timer::ZeroKeyMaterial,
            now_ns.saturating_add(ZERO_KEYS_AFTER),
        );
    }

    // ---- handshake initiation rate limit (send.c) ---------------------------

    /// `wg_packet_send_queued_handshake_initiation` (not a retry): resets the
    /// attempt count; returns whether to queue the initiation (not if one was
    /// sent less than `REKEY_TIMEOUT` ago, nor while inactive).
    pub fn queue_handshake_initiation(&mut self, now_ns: u64) -> bool {
        self.handshake_attempts = 0;
        self.may_queue_initiation(now_ns)
    }

    /// The same for a retransmission, which keeps the attempt count.
    fn may_queue_initiation(&self, now_ns: u64) -> bool {
        self.active && self.handshake_send_allowed(now_ns)
    }

    fn handshake_send_allowed(&self, now_ns: u64) -> bool {
        self.last_sent_handshake
            .is_none_or(|last| has_expired(last, REKEY_TIMEOUT, now_ns))
    }

    /// In the handshake worker, before creating an initiation
    /// (`wg_packet_send_handshake_initiation`): returns whether to go ahead,
    /// and if so records the time.
    pub fn begin_handshake_initiation(&mut self, now_ns: u64) -> bool {
        if !self.handshake_send_allowed(now_ns) {
            return false;
        }
        self.last_sent_handshake = Some(now_ns);
        true
    }

    // ---- the call sites of send.c and receive.c, composed --------------------

    /// An initiation was created and is being sent.
    pub fn handshake_initiation_sent(&mut self, now_ns: u64, jitter_ns: u64) {
        self.any_authenticated_packet_traversal(now_ns);
        self.any_authenticated_packet_sent();
        self.last_sent_handshake = Some(now_ns);
        self.handshake_initiated(now_ns, jitter_ns);
    }

    /// A response was created, its session began, and it is being sent
    /// (`wg_packet_send_handshake_response`).
    pub fn handshake_response_sent(&mut self, now_ns: u64) {
        self.last_sent_handshake = Some(now_ns);
        self.session_derived(now_ns);
        self.any_authenticated_packet_traversal(now_ns);
        self.any_authenticated_packet_sent();
    }

    /// A response was consumed and its session began: the handshake is
    /// complete (the glue then sends a keepalive to confirm the session).
    pub fn handshake_response_consumed(&mut self, now_ns: u64) {
        self.session_derived(now_ns);
        self.handshake_complete();
    }

    /// Any handshake message (initiation or response) from the peer
    /// authenticated; call after the specific hook above.
    pub fn handshake_packet_received(&mut self, now_ns: u64) {
        self.any_authenticated_packet_received();
        self.any_authenticated_packet_traversal(now_ns);
    }

    /// Data packets (or a keepalive) were handed to the socket
    /// (`wg_packet_create_data_done`); `any_data` is whether one of them was
    /// not a keepalive. Then call [`PeerTimers::keep_key_fresh_on_send`].
    pub fn data_packets_sent(&mut self, now_ns: u64, any_data: bool, jitter_ns: u64) {
        self.any_authenticated_packet_traversal(now_ns);
        self.any_authenticated_packet_sent();
        if any_data {
            self.data_sent(now_ns, jitter_ns);
        }
    }

    /// A data packet authenticated (`wg_packet_consume_data_done`):
    /// `confirmed_keypair` is whether it was the first one under the
    /// responder's new keypair (the handshake is then complete; the glue sends
    /// staged packets), `is_keepalive` whether it was empty. Call
    /// [`PeerTimers::keep_key_fresh_on_receive`] after this.
    pub fn data_packet_received(
        &mut self,
        now_ns: u64,
        confirmed_keypair: bool,
        is_keepalive: bool,
    ) {
        if confirmed_keypair {
            self.handshake_complete();
        }
        self.any_authenticated_packet_received();
        self.any_authenticated_packet_traversal(now_ns);
        if !is_keepalive {
            self.data_received(now_ns);
        }
    }

    /// `send.c`'s `keep_key_fresh`: returns whether to queue an initiation.
    pub fn keep_key_fresh_on_send(&mut self, key: Option<&CurrentKey>, now_ns: u64) -> bool {
        rekey_due_on_send(key, now_ns) && self.queue_handshake_initiation(now_ns)
    }

    /// `receive.c`'s `keep_key_fresh`: at most once per handshake; returns
    /// whether to queue an initiation.
    pub fn keep_key_fresh_on_receive(&mut self, key: Option<&CurrentKey>, now_ns: u64) -> bool {
        if self.sent_lastminute_handshake || !rekey_due_on_receive(key, now_ns) {
            return false;
        }
        self.sent_lastminute_handshake = true;
        self.queue_handshake_initiation(now_ns)
    }

    // ---- expiry -----------------------------------------------------------------

    /// Fires every timer due at `now_ns` (deadline at or before it), earliest
    /// first (simultaneous ones in the order of [`Timer::ALL`]), and returns
    /// the combined actions. `now_ns` is the firing time (the kernel timer
    /// may fire a little late). Call it under the same lock as the event
    /// hooks, and arm the kernel timer at or after [`PeerTimers::next_deadline`]
    /// (round up to the next jiffy): a timer not yet due is left pending.
    pub fn poll(&mut self, now_ns: u64) -> Actions {
        let mut a = Actions::default();
        // Each firing can only arm timers in the future, so at most one
        // round per timer.
        for _ in 0..Timer::ALL.len() {
            let due = Timer::ALL
                .iter()
                .filter_map(|&t| self.deadline(t).filter(|&d| d <= now_ns).map(|d| (d, t)))
                .min();
            let Some((_, t)) = due else { break };
            self.fire(t, now_ns, &mut a);
        }
        a
    }

    /// The expiry handler of `timer`, which is due.
    fn fire(&mut self, timer: Timer, now_ns: u64, a: &mut Actions) {
        self.cancel(timer);
        match timer {
            Timer::RetransmitHandshake => {
                if self.handshake_attempts > MAX_TIMER_HANDSHAKES {
                    // Give up: no keepalive, drop what waits for a key, and
                    // destroy what is left of the exchange later.
                    self.cancel(Timer::SendKeepalive);
                    a.purge_staged_packets = true;
                    if !self.is_pending(Timer::ZeroKeyMaterial) {
                        self.arm(
                            Timer::ZeroKeyMaterial,
                            now_ns.saturating_add(ZERO_KEYS_AFTER),
                        );
                    }
                } else {
                    self.handshake_attempts = self.handshake_attempts.saturating_add(1);
                    a.clear_endpoint_src = true;
                    a.queue_handshake_initiation |= self.may_queue_initiation(now_ns);
                }
            }
            Timer::SendKeepalive => {
                a.send_keepalive = true;
                if self.need_another_keepalive {
                    self.need_another_keepalive = false;
                    self.arm(
                        Timer::SendKeepalive,
                        now_ns.saturating_add(KEEPALIVE_TIMEOUT),
                    );
                }
            }
            Timer::NewHandshake => {
                a.clear_endpoint_src = true;
                a.queue_handshake_initiation |= self.queue_handshake_initiation(now_ns);
            }
            Timer::ZeroKeyMaterial => {
                a.zero_key_material |= self.active;
            }
            Timer::PersistentKeepalive => {
                a.send_keepalive |= self.persistent_keepalive_interval != 0;
            }
        }
    }
}

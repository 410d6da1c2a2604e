// SPDX-License-Identifier: GPL-2.0
//! The per-peer timer state machine of the C driver's `timers.c`, as pure
//! functions of events and a clock, plus the re-keying predicates of `send.c`
//! and `receive.c`.
//!
//! [`PeerTimers`] keeps the deadline of each of the five timers of a peer and
//! the little state that goes with them. Every event hook takes the current
//! time and returns [`Actions`]: which timers to arm (at an absolute time in
//! nanoseconds) or cancel, and what to do (send a keepalive, queue a handshake
//! initiation, clear the endpoint's source address, purge staged packets, zero
//! the keys). The kernel glue maps "arm timer X at T" to `mod_timer` and
//! "cancel" to `del_timer`, and when a kernel timer fires calls
//! [`PeerTimers::expired`]; alternatively it can keep one timer per peer at
//! [`PeerTimers::next_deadline`] and call [`PeerTimers::poll`].
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

/// What to do with one timer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimerOp {
    /// Leave it as it is.
    #[default]
    Unchanged,
    /// (Re)arm it to fire at this absolute time (ns, the core's clock).
    Arm(u64),
    /// Stop it if pending.
    Cancel,
}

/// Per-timer values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerTimer<T> {
    /// [`Timer::RetransmitHandshake`].
    pub retransmit_handshake: T,
    /// [`Timer::SendKeepalive`].
    pub send_keepalive: T,
    /// [`Timer::NewHandshake`].
    pub new_handshake: T,
    /// [`Timer::ZeroKeyMaterial`].
    pub zero_key_material: T,
    /// [`Timer::PersistentKeepalive`].
    pub persistent_keepalive: T,
}

impl<T> PerTimer<T> {
    /// The value for `timer`.
    pub fn get(&self, timer: Timer) -> &T {
        match timer {
            Timer::RetransmitHandshake => &self.retransmit_handshake,
            Timer::SendKeepalive => &self.send_keepalive,
            Timer::NewHandshake => &self.new_handshake,
            Timer::ZeroKeyMaterial => &self.zero_key_material,
            Timer::PersistentKeepalive => &self.persistent_keepalive,
        }
    }

    /// The value for `timer`, mutably.
    pub fn get_mut(&mut self, timer: Timer) -> &mut T {
        match timer {
            Timer::RetransmitHandshake => &mut self.retransmit_handshake,
            Timer::SendKeepalive => &mut self.send_keepalive,
            Timer::NewHandshake => &mut self.new_handshake,
            Timer::ZeroKeyMaterial => &mut self.zero_key_material,
            Timer::PersistentKeepalive => &mut self.persistent_keepalive,
        }
    }
}

/// What the glue must do after an event. Apply the timer operations first,
/// then the rest, in field order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Actions {
    /// Timer operations.
    pub timers: PerTimer<TimerOp>,
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

impl Actions {
    /// No action at all.
    pub const NONE: Actions = Actions {
        timers: PerTimer {
            retransmit_handshake: TimerOp::Unchanged,
            send_keepalive: TimerOp::Unchanged,
            new_handshake: TimerOp::Unchanged,
            zero_key_material: TimerOp::Unchanged,
            persistent_keepalive: TimerOp::Unchanged,
        },
        clear_endpoint_src: false,
        queue_handshake_initiation: false,
        send_keepalive: false,
        purge_staged_packets: false,
        zero_key_material: false,
    };

    /// The operation for `timer`.
    pub fn timer(&self, timer: Timer) -> TimerOp {
        *self.timers.get(timer)
    }

    /// Whether nothing is to be done.
    pub fn is_empty(&self) -> bool {
        *self == Self::NONE
    }

    /// Adds `later` (which happened after `self`) to `self`.
    pub fn merge(&mut self, later: Actions) {
        for t in Timer::ALL {
            let op = *later.timers.get(t);
            if op != TimerOp::Unchanged {
                *self.timers.get_mut(t) = op;
            }
        }
        self.clear_endpoint_src |= later.clear_endpoint_src;
        self.queue_handshake_initiation |= later.queue_handshake_initiation;
        self.send_keepalive |= later.send_keepalive;
        self.purge_staged_packets |= later.purge_staged_packets;
        self.zero_key_material |= later.zero_key_material;
    }
}

/// A jitter value for the hooks that take one: uniform below
/// [`REKEY_TIMEOUT_JITTER_MAX`].
pub fn random_jitter<C: Crypto>() -> u64 {
    let mut bytes = [0u8; 8];
    C::random_bytes(&mut bytes);
    u64::from_le_bytes(bytes) % REKEY_TIMEOUT_JITTER_MAX
}

/// `birthdate + age <= now` without overflow: the C driver's
/// `wg_birthdate_has_expired`.
pub fn has_expired(birthdate_ns: u64, age_ns: u64, now_ns: u64) -> bool {
    birthdate_ns.saturating_add(age_ns) <= now_ns
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
    match key {
        Some(k) => {
            k.sending_valid
                && (k.sending_counter > REKEY_AFTER_MESSAGES
                    || (k.i_am_the_initiator
                        && has_expired(k.birthdate_ns, REKEY_AFTER_TIME, now_ns)))
        }
        None => false,
    }
}

/// `receive.c`'s `keep_key_fresh`: after receiving data, the initiator of a
/// key `REKEY_ON_RECEIVE_AFTER` old (`REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT -
/// REKEY_TIMEOUT`) starts a handshake, once per handshake
/// ([`PeerTimers::keep_key_fresh_on_receive`] keeps the "once").
pub fn rekey_due_on_receive(key: Option<&CurrentKey>, now_ns: u64) -> bool {
    match key {
        Some(k) => {
            k.sending_valid
                && k.i_am_the_initiator
                && has_expired(k.birthdate_ns, REKEY_ON_RECEIVE_AFTER, now_ns)
        }
        None => false,
    }
}

/// Whether the device counts as under load (the C driver's
/// `last_under_load` logic in `receive.c`): it is while the handshake queue is
/// at least an eighth full, and for one second after.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadTracker {
    last_under_load: Option<u64>,
}

impl LoadTracker {
    /// A tracker that has never seen load.
    pub const fn new() -> Self {
        Self {
            last_under_load: None,
        }
    }

    /// Whether to require cookies now; `queue_len` is the number of handshake
    /// messages waiting, `queue_max` the queue's size.
    pub fn under_load(&mut self, queue_len: usize, queue_max: usize, now_ns: u64) -> bool {
        if queue_len >= queue_max / 8 {
            self.last_under_load = Some(now_ns);
            return true;
        }
        match self.last_under_load {
            Some(last) if !has_expired(last, NSEC_PER_SEC, now_ns) => true,
            _ => {
                self.last_under_load = None;
                false
            }
        }
    }
}

/// The timer state of one peer.
#[derive(Clone, Debug)]
pub struct PeerTimers {
    /// Pending deadlines (None = not pending).
    deadlines: PerTimer<Option<u64>>,
    /// Retransmissions of the current handshake so far.
    handshake_attempts: u64,
    need_another_keepalive: bool,
    sent_lastminute_handshake: bool,
    /// Persistent keepalive interval in seconds (0 = off).
    persistent_keepalive_interval: u16,
    /// When the last initiation or response was sent, if recently.
    last_sent_handshake: Option<u64>,
    /// Device running and peer alive: timers may be armed.
    active: bool,
}

impl Default for PeerTimers {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerTimers {
    /// A new peer's timers: nothing pending, inactive until [`PeerTimers::start`].
    pub const fn new() -> Self {
        Self {
            deadlines: PerTimer {
                retransmit_handshake: None,
                send_keepalive: None,
                new_handshake: None,
                zero_key_material: None,
                persistent_keepalive: None,
            },
            handshake_attempts: 0,
            need_another_keepalive: false,
            sent_lastminute_handshake: false,
            persistent_keepalive_interval: 0,
            last_sent_handshake: None,
            active: false,
        }
    }

    /// When `timer` will fire, if pending.
    pub fn deadline(&self, timer: Timer) -> Option<u64> {
        *self.deadlines.get(timer)
    }

    /// Whether `timer` is pending.
    pub fn is_pending(&self, timer: Timer) -> bool {
        self.deadline(timer).is_some()
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<u64> {
        Timer::ALL.iter().filter_map(|&t| self.deadline(t)).min()
    }

    /// Retransmissions of the handshake in flight so far.
    pub fn handshake_attempts(&self) -> u64 {
        self.handshake_attempts
    }

    /// The persistent keepalive interval in seconds (0 = off).
    pub fn persistent_keepalive_interval(&self) -> u16 {
        self.persistent_keepalive_interval
    }

    /// Whether timers may be armed (device up, peer alive).
    pub fn is_active(&self) -> bool {
        self.active
    }

    // ---- timer primitives -------------------------------------------------

    /// `mod_peer_timer`: arms only while active.
    fn arm(&mut self, a: &mut Actions, timer: Timer, at: u64) {
        if self.active {
            *self.deadlines.get_mut(timer) = Some(at);
            *a.timers.get_mut(timer) = TimerOp::Arm(at);
        }
    }

    /// `del_timer`.
    fn cancel(&mut self, a: &mut Actions, timer: Timer) {
        *self.deadlines.get_mut(timer) = None;
        *a.timers.get_mut(timer) = TimerOp::Cancel;
    }

    fn jittered(base: u64, now_ns: u64, jitter_ns: u64) -> u64 {
        now_ns
            .saturating_add(base)
            .saturating_add(jitter_ns % REKEY_TIMEOUT_JITTER_MAX)
    }

    // ---- lifecycle -----------------------------------------------------------

    /// The device went up (or the peer was created on a running device):
    /// timers may be armed. Sends a keepalive if a persistent keepalive is
    /// configured (as `wg_open`; the glue also sends staged packets).
    pub fn start(&mut self) -> Actions {
        self.active = true;
        Actions {
            send_keepalive: self.persistent_keepalive_interval != 0,
            ..Actions::NONE
        }
    }

    /// The device went down or the peer is being removed (`wg_timers_stop`,
    /// and `wg_noise_reset_last_sent_handshake` as `wg_stop`): cancels every
    /// timer, and no timer is armed until [`PeerTimers::start`].
    pub fn stop(&mut self) -> Actions {
        self.active = false;
        self.last_sent_handshake = None;
        let mut a = Actions::NONE;
        for t in Timer::ALL {
            self.cancel(&mut a, t);
        }
        a
    }

    /// Forgets when the last handshake message was sent, so that the next
    /// initiation is not held back (`wg_noise_reset_last_sent_handshake`, as
    /// when the device's key changes).
    pub fn reset_last_sent_handshake(&mut self) {
        self.last_sent_handshake = None;
    }

    /// Sets the persistent keepalive interval (seconds, 0 = off). Turning it
    /// on sends a keepalive at once (as the C netlink code) if active.
    pub fn set_persistent_keepalive(&mut self, interval_s: u16) -> Actions {
        let send = self.persistent_keepalive_interval == 0 && interval_s != 0 && self.active;
        self.persistent_keepalive_interval = interval_s;
        Actions {
            send_keepalive: send,
            ..Actions::NONE
        }
    }

    // ---- the hooks of timers.c ------------------------------------------------

    /// After an authenticated data packet was sent (`wg_timers_data_sent`).
    pub fn data_sent(&mut self, now_ns: u64, jitter_ns: u64) -> Actions {
        let mut a = Actions::NONE;
        if !self.is_pending(Timer::NewHandshake) {
            let at = Self::jittered(
                KEEPALIVE_TIMEOUT.saturating_add(REKEY_TIMEOUT),
                now_ns,
                jitter_ns,
            );
            self.arm(&mut a, Timer::NewHandshake, at);
        }
        a
    }

    /// After an authenticated data packet was received (`wg_timers_data_received`).
    pub fn data_received(&mut self, now_ns: u64) -> Actions {
        let mut a = Actions::NONE;
        if self.active {
            if !self.is_pending(Timer::SendKeepalive) {
                self.arm(
                    &mut a,
                    Timer::SendKeepalive,
                    now_ns.saturating_add(KEEPALIVE_TIMEOUT),
                );
            } else {
                self.need_another_keepalive = true;
            }
        }
        a
    }

    /// After any authenticated packet (keepalive, data, handshake) was sent.
    pub fn any_authenticated_packet_sent(&mut self) -> Actions {
        let mut a = Actions::NONE;
        self.cancel(&mut a, Timer::SendKeepalive);
        a
    }

    /// After any authenticated packet (keepalive, data, handshake) was received.
    pub fn any_authenticated_packet_received(&mut self) -> Actions {
        let mut a = Actions::NONE;
        self.cancel(&mut a, Timer::NewHandshake);
        a
    }

    /// Before an authenticated packet is sent or after one is received
    /// (`wg_timers_any_authenticated_packet_traversal`): re-arms the
    /// persistent keepalive.
    pub fn any_authenticated_packet_traversal(&mut self, now_ns: u64) -> Actions {
        let mut a = Actions::NONE;
        if self.persistent_keepalive_interval != 0 {
            let at = now_ns.saturating_add(
                u64::from(self.persistent_keepalive_interval).saturating_mul(NSEC_PER_SEC),
            );
            self.arm(&mut a, Timer::PersistentKeepalive, at);
        }
        a
    }

    /// After a handshake initiation was sent (`wg_timers_handshake_initiated`).
    pub fn handshake_initiated(&mut self, now_ns: u64, jitter_ns: u64) -> Actions {
        let mut a = Actions::NONE;
        let at = Self::jittered(REKEY_TIMEOUT, now_ns, jitter_ns);
        self.arm(&mut a, Timer::RetransmitHandshake, at);
        a
    }

    /// After a handshake response was processed, or the first data message
    /// confirmed a responder's keypair (`wg_timers_handshake_complete`). The
    /// glue records the wall-clock time of the last handshake.
    pub fn handshake_complete(&mut self) -> Actions {
        let mut a = Actions::NONE;
        self.cancel(&mut a, Timer::RetransmitHandshake);
        self.handshake_attempts = 0;
        self.sent_lastminute_handshake = false;
        a
    }

    /// After a session was derived: before sending a response, or after
    /// processing one (`wg_timers_session_derived`).
    pub fn session_derived(&mut self, now_ns: u64) -> Actions {
        let mut a = Actions::NONE;
        self.arm(
            &mut a,
            Timer::ZeroKeyMaterial,
            now_ns.saturating_add(ZERO_KEYS_AFTER),
        );
        a
    }

    // ---- handshake initiation rate limit (send.c) ---------------------------

    /// `wg_packet_send_queued_handshake_initiation`: a retry keeps the attempt
    /// count, anything else resets it; returns whether to queue the
    /// initiation (not if one was sent less than `REKEY_TIMEOUT` ago, nor
    /// while inactive).
    pub fn queue_handshake_initiation(&mut self, now_ns: u64, is_retry: bool) -> bool {
        if !is_retry {
            self.handshake_attempts = 0;
        }
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
    pub fn handshake_initiation_sent(&mut self, now_ns: u64, jitter_ns: u64) -> Actions {
        let mut a = self.any_authenticated_packet_traversal(now_ns);
        a.merge(self.any_authenticated_packet_sent());
        self.last_sent_handshake = Some(now_ns);
        a.merge(self.handshake_initiated(now_ns, jitter_ns));
        a
    }

    /// A response was created, its session began, and it is being sent
    /// (`wg_packet_send_handshake_response`).
    pub fn handshake_response_sent(&mut self, now_ns: u64) -> Actions {
        self.last_sent_handshake = Some(now_ns);
        let mut a = self.session_derived(now_ns);
        a.merge(self.any_authenticated_packet_traversal(now_ns));
        a.merge(self.any_authenticated_packet_sent());
        a
    }

    /// A response was consumed and its session began: the handshake is
    /// complete; a keepalive confirms the session at once.
    pub fn handshake_response_consumed(&mut self, now_ns: u64) -> Actions {
        let mut a = self.session_derived(now_ns);
        a.merge(self.handshake_complete());
        a.send_keepalive = true;
        a
    }

    /// Any handshake message (initiation or response) from the peer
    /// authenticated; call after the specific hook above.
    pub fn handshake_packet_received(&mut self, now_ns: u64) -> Actions {
        let mut a = self.any_authenticated_packet_received();
        a.merge(self.any_authenticated_packet_traversal(now_ns));
        a
    }

    /// Data packets (or a keepalive) were handed to the socket
    /// (`wg_packet_create_data_done`); `any_data` is whether one of them was
    /// not a keepalive. Then call [`PeerTimers::keep_key_fresh_on_send`].
    pub fn data_packets_sent(&mut self, now_ns: u64, any_data: bool, jitter_ns: u64) -> Actions {
        let mut a = self.any_authenticated_packet_traversal(now_ns);
        a.merge(self.any_authenticated_packet_sent());
        if any_data {
            a.merge(self.data_sent(now_ns, jitter_ns));
        }
        a
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
    ) -> Actions {
        let mut a = Actions::NONE;
        if confirmed_keypair {
            a.merge(self.handshake_complete());
        }
        a.merge(self.any_authenticated_packet_received());
        a.merge(self.any_authenticated_packet_traversal(now_ns));
        if !is_keepalive {
            a.merge(self.data_received(now_ns));
        }
        a
    }

    /// `send.c`'s `keep_key_fresh`: returns whether to queue an initiation.
    pub fn keep_key_fresh_on_send(&mut self, key: Option<&CurrentKey>, now_ns: u64) -> bool {
        rekey_due_on_send(key, now_ns) && self.queue_handshake_initiation(now_ns, false)
    }

    /// `receive.c`'s `keep_key_fresh`: at most once per handshake; returns
    /// whether to queue an initiation.
    pub fn keep_key_fresh_on_receive(&mut self, key: Option<&CurrentKey>, now_ns: u64) -> bool {
        if self.sent_lastminute_handshake || !rekey_due_on_receive(key, now_ns) {
            return false;
        }
        self.sent_lastminute_handshake = true;
        self.queue_handshake_initiation(now_ns, false)
    }

    // ---- expiry -----------------------------------------------------------------

    /// `timer` fired. Call it under the same lock as the event hooks.
    /// - Not pending here (cancelled by an event that raced with the kernel
    ///   timer): nothing to do.
    /// - Pending but `now_ns` is before its deadline (the timer was moved
    ///   later while the kernel timer was firing, or the kernel clock and
    ///   timer wheel disagree by a tick): the actions only re-arm it at its
    ///   deadline, so that it cannot be lost.
    /// - Otherwise runs the expiry handler; `now_ns` is the firing time (a
    ///   kernel timer may fire a little late).
    ///
    /// The glue must arm kernel timers to fire at or after the deadline
    /// (round up to the next jiffy).
    pub fn expired(&mut self, timer: Timer, now_ns: u64) -> Actions {
        let Some(deadline) = self.deadline(timer) else {
            return Actions::NONE;
        };
        let mut a = Actions::NONE;
        if now_ns < deadline {
            *a.timers.get_mut(timer) = TimerOp::Arm(deadline);
            return a;
        }
        *self.deadlines.get_mut(timer) = None;
        match timer {
            Timer::RetransmitHandshake => {
                if self.handshake_attempts > MAX_TIMER_HANDSHAKES {
                    // Give up: no keepalive, drop what waits for a key, and
                    // destroy what is left of the exchange later.
                    self.cancel(&mut a, Timer::SendKeepalive);
                    a.purge_staged_packets = true;
                    if !self.is_pending(Timer::ZeroKeyMaterial) {
                        self.arm(
                            &mut a,
                            Timer::ZeroKeyMaterial,
                            now_ns.saturating_add(ZERO_KEYS_AFTER),
                        );
                    }
                } else {
                    self.handshake_attempts = self.handshake_attempts.saturating_add(1);
                    a.clear_endpoint_src = true;
                    a.queue_handshake_initiation = self.queue_handshake_initiation(now_ns, true);
                }
            }
            Timer::SendKeepalive => {
                a.send_keepalive = true;
                if self.need_another_keepalive {
                    self.need_another_keepalive = false;
                    self.arm(
                        &mut a,
                        Timer::SendKeepalive,
                        now_ns.saturating_add(KEEPALIVE_TIMEOUT),
                    );
                }
            }
            Timer::NewHandshake => {
                a.clear_endpoint_src = true;
                a.queue_handshake_initiation = self.queue_handshake_initiation(now_ns, false);
            }
            Timer::ZeroKeyMaterial => {
                a.zero_key_material = self.active;
            }
            Timer::PersistentKeepalive => {
                a.send_keepalive = self.persistent_keepalive_interval != 0;
            }
        }
        a
    }

    /// Fires every timer due at `now_ns` (deadline at or before it), earliest
    /// first, and returns the combined actions. For a glue that keeps one
    /// kernel timer per peer at [`PeerTimers::next_deadline`].
    pub fn poll(&mut self, now_ns: u64) -> Actions {
        let mut a = Actions::NONE;
        // Each firing can only arm timers in the future, so at most one
        // round per timer.
        for _ in 0..Timer::ALL.len() {
            let due = Timer::ALL
                .iter()
                .filter_map(|&t| self.deadline(t).filter(|&d| d <= now_ns).map(|d| (d, t)))
                .min();
            let Some((_, t)) = due else { break };
            a.merge(self.expired(t, now_ns));
        }
        a
    }
}

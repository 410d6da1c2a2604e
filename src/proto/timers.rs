// SPDX-License-Identifier: GPL-2.0
//! The per-peer timer state machine of the C driver's `timers.c`, as pure
//! functions of events and a clock, plus the re-keying predicates of `send.c`
//! and `receive.c`.
//!
//! [`PeerTimers`] keeps the deadline of each of the five timers of a peer and
//! the little state that goes with them. The driver tells it of each event at
//! the call sites of `send.c` and `receive.c` (the hooks of `timers.c` are
//! inlined there, under their C names), with the current time; it keeps one
//! kernel timer per peer at [`PeerTimers::next_deadline`], and when that fires
//! calls [`PeerTimers::poll`], which returns the [`Actions`] to carry out (send
//! a keepalive, queue a handshake initiation, clear the endpoint's source
//! address, purge staged packets, zero the keys).
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
//! the functions that arm those timers take `jitter_ns`, reduced modulo
//! [`REKEY_TIMEOUT_JITTER_MAX`] (pass [`random_jitter`] in production, fixed
//! values in tests).

use super::constants::{
    KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, NSEC_PER_SEC, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME,
    REKEY_ON_RECEIVE_AFTER, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER,
};
use super::keypair::has_expired;
use super::platform::Crypto;

/// One of a peer's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

/// What the glue must do after the timers fired, in field order (the timers'
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

/// `base` plus the jitter (reduced below [`REKEY_TIMEOUT_JITTER_MAX`]).
fn jittered(base: u64, jitter_ns: u64) -> u64 {
    base.saturating_add(jitter_ns % REKEY_TIMEOUT_JITTER_MAX)
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
/// ([`PeerTimers::data_packet_received`] keeps the "once").
pub fn rekey_due_on_receive(key: Option<&CurrentKey>, now_ns: u64) -> bool {
    key.is_some_and(|k| {
        k.sending_valid
            && k.i_am_the_initiator
            && has_expired(k.birthdate_ns, REKEY_ON_RECEIVE_AFTER, now_ns)
    })
}

/// The timer state of one peer (`Default`: nothing pending, inactive until
/// [`PeerTimers::start`]).
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
    /// Device running and peer alive: timers may be armed (so nothing is
    /// pending while inactive).
    active: bool,
}

impl PeerTimers {
    /// When `timer` will fire, if pending.
    pub fn deadline(&self, timer: Timer) -> Option<u64> {
        self.deadlines.get(timer as usize).copied().flatten()
    }

    /// The earliest pending deadline: the glue keeps one kernel timer there
    /// and calls [`PeerTimers::poll`] when it fires.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// `mod_peer_timer`, `after_ns` from now: arms only while active.
    fn arm(&mut self, timer: Timer, now_ns: u64, after_ns: u64) {
        if self.active {
            self.set(timer, Some(now_ns.saturating_add(after_ns)));
        }
    }

    /// Sets the deadline of `timer` (`None`: `del_timer`).
    fn set(&mut self, timer: Timer, at: Option<u64>) {
        if let Some(d) = self.deadlines.get_mut(timer as usize) {
            *d = at;
        }
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

    /// The persistent keepalive interval in seconds (0 = off).
    pub fn persistent_keepalive_interval(&self) -> u16 {
        self.persistent_keepalive_interval
    }

    /// Sets the persistent keepalive interval (seconds, 0 = off). Returns
    /// whether to send a keepalive: turning it on sends one at once (as the
    /// C netlink code) if active.
    pub fn set_persistent_keepalive(&mut self, interval_s: u16) -> bool {
        let send = self.persistent_keepalive_interval == 0 && interval_s != 0 && self.active;
        self.persistent_keepalive_interval = interval_s;
        send
    }

    // ---- handshake initiation rate limit (send.c) ---------------------------

    /// `wg_packet_send_queued_handshake_initiation` (not a retry): resets the
    /// attempt count; returns whether to queue the initiation (not if one was
    /// sent less than `REKEY_TIMEOUT` ago, nor while inactive).
    pub fn queue_handshake_initiation(&mut self, now_ns: u64) -> bool {
        self.handshake_attempts = 0;
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

    // ---- the call sites of send.c and receive.c, with timers.c's hooks -------

    /// An authenticated packet (keepalive, data, handshake) is about to be
    /// sent (`cancel` is then the send-keepalive timer:
    /// `wg_timers_any_authenticated_packet_sent`) or was received (the
    /// new-handshake timer: `wg_timers_any_authenticated_packet_received`);
    /// either way the persistent keepalive is re-armed
    /// (`wg_timers_any_authenticated_packet_traversal`).
    fn authenticated_packet(&mut self, now_ns: u64, cancel: Timer) {
        self.set(cancel, None);
        if self.persistent_keepalive_interval != 0 {
            let interval = u64::from(self.persistent_keepalive_interval);
            let after = interval.saturating_mul(NSEC_PER_SEC);
            self.arm(Timer::PersistentKeepalive, now_ns, after);
        }
    }

    /// `wg_timers_handshake_complete`: after a handshake response was
    /// processed, or the first data message confirmed a responder's keypair.
    /// The glue records the wall-clock time of the last handshake.
    fn handshake_complete(&mut self) {
        self.set(Timer::RetransmitHandshake, None);
        self.handshake_attempts = 0;
        self.sent_lastminute_handshake = false;
    }

    /// An initiation was created and is being sent.
    pub fn handshake_initiation_sent(&mut self, now_ns: u64, jitter_ns: u64) {
        self.authenticated_packet(now_ns, Timer::SendKeepalive);
        self.last_sent_handshake = Some(now_ns);
        // wg_timers_handshake_initiated
        let after = jittered(REKEY_TIMEOUT, jitter_ns);
        self.arm(Timer::RetransmitHandshake, now_ns, after);
    }

    /// A response was created, its session began, and it is being sent
    /// (`wg_packet_send_handshake_response`).
    pub fn handshake_response_sent(&mut self, now_ns: u64) {
        self.last_sent_handshake = Some(now_ns);
        // wg_timers_session_derived
        self.arm(Timer::ZeroKeyMaterial, now_ns, ZERO_KEYS_AFTER);
        self.authenticated_packet(now_ns, Timer::SendKeepalive);
    }

    /// A response was consumed and its session began: the handshake is
    /// complete (the glue then sends a keepalive to confirm the session).
    pub fn handshake_response_consumed(&mut self, now_ns: u64) {
        // wg_timers_session_derived
        self.arm(Timer::ZeroKeyMaterial, now_ns, ZERO_KEYS_AFTER);
        self.handshake_complete();
    }

    /// Any handshake message (initiation or response) from the peer
    /// authenticated; call after the specific hook above.
    pub fn handshake_packet_received(&mut self, now_ns: u64) {
        self.authenticated_packet(now_ns, Timer::NewHandshake);
    }

    /// Data packets (or a keepalive) were handed to the socket
    /// (`wg_packet_create_data_done`); `any_data` is whether one of them was
    /// not a keepalive. Then call [`PeerTimers::keep_key_fresh_on_send`].
    ///
    /// `jitter_ns` is called only when the new-handshake timer is armed,
    /// that is when it was not pending (as the C driver draws its jitter):
    /// a random draw per batch sent cost about 0.6% of the samples in the UDP
    /// 64-byte bench, where every batch is one packet.
    pub fn data_packets_sent(
        &mut self,
        now_ns: u64,
        any_data: bool,
        jitter_ns: impl FnOnce() -> u64,
    ) {
        self.authenticated_packet(now_ns, Timer::SendKeepalive);
        // wg_timers_data_sent
        if any_data && self.active && self.deadline(Timer::NewHandshake).is_none() {
            let after = jittered(KEEPALIVE_TIMEOUT.saturating_add(REKEY_TIMEOUT), jitter_ns());
            self.arm(Timer::NewHandshake, now_ns, after);
        }
    }

    /// A data packet authenticated (`wg_packet_consume_data_done`):
    /// `confirmed_keypair` is whether it was the first one under the
    /// responder's new keypair (the handshake is then complete; the glue sends
    /// staged packets), `is_keepalive` whether it was empty, `key` the current
    /// keypair after that. Returns whether to queue an initiation
    /// (`receive.c`'s `keep_key_fresh`: at most once per handshake).
    pub fn data_packet_received(
        &mut self,
        now_ns: u64,
        confirmed_keypair: bool,
        is_keepalive: bool,
        key: Option<CurrentKey>,
    ) -> bool {
        if confirmed_keypair {
            self.handshake_complete();
        }
        self.authenticated_packet(now_ns, Timer::NewHandshake);
        // wg_timers_data_received (its netif_running check is `arm`'s: while
        // inactive nothing is pending)
        if !is_keepalive {
            if self.deadline(Timer::SendKeepalive).is_none() {
                self.arm(Timer::SendKeepalive, now_ns, KEEPALIVE_TIMEOUT);
            } else {
                self.need_another_keepalive = true;
            }
        }
        if self.sent_lastminute_handshake || !rekey_due_on_receive(key.as_ref(), now_ns) {
            return false;
        }
        self.sent_lastminute_handshake = true;
        self.queue_handshake_initiation(now_ns)
    }

    /// A run of data messages of one burst authenticated at once (the NAPI
    /// poll): as many [`PeerTimers::data_packet_received`] as there were
    /// messages, at `now_ns` and with one view `key` of the current keypair,
    /// `data_packets` of them not keepalives, `confirmed_keypair` whether
    /// one of them was the first under the responder's new keypair. Returns
    /// whether to queue an initiation. Two calls do what any number does:
    /// after a second data packet, further ones only set again what it set
    /// (that another keepalive is needed).
    pub fn data_run_received(
        &mut self,
        now_ns: u64,
        confirmed_keypair: bool,
        data_packets: u32,
        key: Option<CurrentKey>,
    ) -> bool {
        let first = self.data_packet_received(now_ns, confirmed_keypair, data_packets == 0, key);
        let second = data_packets >= 2 && self.data_packet_received(now_ns, false, false, key);
        first || second
    }

    /// `send.c`'s `keep_key_fresh`: returns whether to queue an initiation.
    pub fn keep_key_fresh_on_send(&mut self, key: Option<&CurrentKey>, now_ns: u64) -> bool {
        rekey_due_on_send(key, now_ns) && self.queue_handshake_initiation(now_ns)
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
        for _ in Timer::ALL {
            let due = Timer::ALL
                .iter()
                .filter_map(|&t| self.deadline(t).filter(|&d| d <= now_ns).map(|d| (d, t)))
                .min();
            let Some((_, timer)) = due else { break };
            self.set(timer, None);
            match timer {
                // wg_expired_retransmit_handshake
                Timer::RetransmitHandshake if self.handshake_attempts > MAX_TIMER_HANDSHAKES => {
                    // Give up: no keepalive, drop what waits for a key, and
                    // destroy what is left of the exchange later.
                    self.set(Timer::SendKeepalive, None);
                    a.purge_staged_packets = true;
                    if self.deadline(Timer::ZeroKeyMaterial).is_none() {
                        self.arm(Timer::ZeroKeyMaterial, now_ns, ZERO_KEYS_AFTER);
                    }
                }
                Timer::RetransmitHandshake => {
                    self.handshake_attempts = self.handshake_attempts.saturating_add(1);
                    a.clear_endpoint_src = true;
                    // A retry: keeps the attempt count.
                    a.queue_handshake_initiation |=
                        self.active && self.handshake_send_allowed(now_ns);
                }
                Timer::SendKeepalive => {
                    a.send_keepalive = true;
                    if self.need_another_keepalive {
                        self.need_another_keepalive = false;
                        self.arm(Timer::SendKeepalive, now_ns, KEEPALIVE_TIMEOUT);
                    }
                }
                Timer::NewHandshake => {
                    a.clear_endpoint_src = true;
                    a.queue_handshake_initiation |= self.queue_handshake_initiation(now_ns);
                }
                Timer::ZeroKeyMaterial => a.zero_key_material |= self.active,
                Timer::PersistentKeepalive => {
                    a.send_keepalive |= self.persistent_keepalive_interval != 0;
                }
            }
        }
        a
    }
}

/// A pause in one direction of a peer's data: at least this long since its
/// previous packet, as the driver's coarse clock reads it (in ticks: 4 ms at
/// `HZ=250`, 10 ms at `HZ=100`, 1 ms at `HZ=1000`), so that a gap under 20 ms
/// never counts as a pause and one of 30 ms or more always does: a stream of
/// more than 50 packets a second never pauses.
pub const PAUSE_NS: u64 = 25_000_000;

/// When one direction of a peer's data last had a packet (a clock in
/// nanoseconds; written once per tick that had a packet, not per packet).
/// The data plane hands a small packet after a pause to no worker, as a
/// worker woken for it costs more than its crypto (see `send::seal_here`):
/// a packet after a pause finds the workers asleep, one within a stream
/// finds them busy. Shared by every CPU: racing packets may both see the
/// pause, and a CPU may write an older reading over a newer one (the next
/// packet then finds no pause: `now` before the reading counts as none);
/// either answer is safe, only the CPU the crypto runs on depends on it.
#[derive(Default)]
pub struct LastPacket(core::sync::atomic::AtomicU64);

impl LastPacket {
    /// Whether a packet at `now` comes after a pause (the first one does),
    /// without noting it.
    pub fn paused(&self, now: u64) -> bool {
        let prev = self.0.load(core::sync::atomic::Ordering::Relaxed);
        now.saturating_sub(prev) >= PAUSE_NS
    }

    /// Notes a packet at `now`.
    pub fn note(&self, now: u64) {
        use core::sync::atomic::Ordering::Relaxed;
        if self.0.load(Relaxed) != now {
            // Once per tick.
            self.0.store(now, Relaxed);
        }
    }

    /// Notes a packet at `now`; returns whether it came after a pause.
    pub fn after_pause(&self, now: u64) -> bool {
        let paused = self.paused(now);
        self.note(now);
        paused
    }
}

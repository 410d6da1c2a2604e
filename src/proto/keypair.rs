// SPDX-License-Identifier: GPL-2.0
//! Session keypairs and their rotation (paper section 5.4.6).
//!
//! A [`Keypair`] is born from the [`SessionKeys`] of a completed handshake.
//! Every operation works under `&Keypair`, so that a keypair can be shared
//! (an RCU-published `Arc` in the kernel) by the CPUs that encrypt and
//! decrypt in parallel. Sending reserves the next counter with
//! [`Keypair::reserve_send`] (atomic); the counter is the AEAD nonce, and the
//! caller seals with [`Keypair::sending_key`]. Receiving checks
//! [`Keypair::check_receive`], opens with [`Keypair::receiving_key`], and
//! only then records the counter in the keypair's `ReplayWindow`, which the
//! caller keeps beside the keypair under its own lock (the window is the only
//! mutable receive state).
//!
//! [`Keypairs`] holds a peer's `previous`, `current` and `next` keypairs (any
//! owning pointer to anything that is `AsRef<Keypair>`) and rotates them as
//! the C driver does.

use super::constants::{MESSAGE_PADDING_MULTIPLE, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME};
use super::error::Error;
use super::platform::{Crypto, KEY_LEN};
use super::secret::Key;
use super::timers::CurrentKey;
use core::marker::PhantomData;
use core::ops::Deref;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The keys a handshake produced, and the indices naming the session.
pub struct SessionKeys<C: Crypto> {
    pub(crate) sending: Key<C>,
    pub(crate) receiving: Key<C>,
    /// Our index: the receiver index of data messages sent to us.
    pub local_index: u32,
    /// The peer's index: the receiver index of the data messages we send.
    pub remote_index: u32,
    /// Whether we initiated the handshake.
    pub initiator: bool,
}

/// Whether `birthdate + age` is at or before `now` (saturating, so that a
/// far-future birthdate is never expired and nothing overflows).
pub fn has_expired(birthdate: u64, age: u64, now_ns: u64) -> bool {
    birthdate.saturating_add(age) <= now_ns
}

/// Padding the C driver adds to a plaintext of `len` bytes: up to a multiple of
/// MESSAGE_PADDING_MULTIPLE, but not beyond `mtu` (0: no MTU known). A packet
/// longer than the MTU is padded as its remainder modulo the MTU.
pub fn padding_len(len: usize, mtu: usize) -> usize {
    // No MTU known: no cap (nothing is longer than `usize::MAX`).
    let mtu = if mtu == 0 { usize::MAX } else { mtu };
    let last_unit = if len > mtu { len % mtu } else { len };
    let aligned = last_unit.checked_next_multiple_of(MESSAGE_PADDING_MULTIPLE);
    aligned
        .unwrap_or(usize::MAX)
        .min(mtu)
        .saturating_sub(last_unit)
}

/// One session: keys, sending counter, birthdate, indices. The replay window
/// of its receiving side is kept by the caller (see the module doc).
pub struct Keypair<C: Crypto> {
    pub(crate) keys: SessionKeys<C>,
    pub(crate) sending_counter: AtomicU64,
    sending_valid: AtomicBool,
    pub(crate) birthdate: u64,
}

impl<C: Crypto> Keypair<C> {
    /// A keypair born at monotonic time `now_ns`.
    pub fn new(keys: SessionKeys<C>, now_ns: u64) -> Self {
        Self {
            keys,
            sending_counter: AtomicU64::new(0),
            sending_valid: AtomicBool::new(true),
            birthdate: now_ns,
        }
    }

    /// Our index, the receiver index of data messages for this keypair.
    pub fn local_index(&self) -> u32 {
        self.keys.local_index
    }

    /// The peer's index.
    pub fn remote_index(&self) -> u32 {
        self.keys.remote_index
    }

    /// The next counter to be reserved.
    pub fn sending_counter(&self) -> u64 {
        self.sending_counter.load(Ordering::Relaxed)
    }

    /// The sending key, for callers that encrypt scatter-gather buffers after
    /// [`Self::reserve_send`].
    pub fn sending_key(&self) -> &[u8; KEY_LEN] {
        self.keys.sending.as_bytes()
    }

    /// The receiving key, for callers that decrypt scatter-gather buffers after
    /// [`Self::check_receive`].
    pub fn receiving_key(&self) -> &[u8; KEY_LEN] {
        self.keys.receiving.as_bytes()
    }

    /// Stops sending with this keypair (e.g. the peer's keys were expired).
    pub fn invalidate_sending(&self) {
        self.sending_valid.store(false, Ordering::Relaxed);
    }

    /// Whether this keypair may still send at `now_ns` (not invalidated, not
    /// older than REJECT_AFTER_TIME, counter not exhausted).
    pub fn can_send(&self, now_ns: u64) -> bool {
        self.sending_valid.load(Ordering::Relaxed)
            && !has_expired(self.birthdate, REJECT_AFTER_TIME, now_ns)
            && self.sending_counter() < REJECT_AFTER_MESSAGES
    }

    /// Reserves the next sending counter. Fails once the keypair is older
    /// than REJECT_AFTER_TIME or the counter reached REJECT_AFTER_MESSAGES,
    /// and then marks the keypair unusable for sending.
    pub fn reserve_send(&self, now_ns: u64) -> Result<u64, Error> {
        if !self.sending_valid.load(Ordering::Relaxed)
            || has_expired(self.birthdate, REJECT_AFTER_TIME, now_ns)
        {
            self.invalidate_sending();
            return Err(Error::KeyExpired);
        }
        let counter = self.sending_counter.fetch_add(1, Ordering::Relaxed);
        if counter >= REJECT_AFTER_MESSAGES {
            // Keep the counter from ever wrapping back into the valid range.
            self.sending_counter
                .store(REJECT_AFTER_MESSAGES, Ordering::Relaxed);
            self.invalidate_sending();
            return Err(Error::CounterExhausted);
        }
        Ok(counter)
    }

    /// Checks that this keypair may still receive a message with `counter` at
    /// `now_ns` (not older than REJECT_AFTER_TIME, counter below
    /// REJECT_AFTER_MESSAGES). Does not consult the replay window.
    pub fn check_receive(&self, now_ns: u64, counter: u64) -> Result<(), Error> {
        if has_expired(self.birthdate, REJECT_AFTER_TIME, now_ns) {
            return Err(Error::KeyExpired);
        }
        if counter >= REJECT_AFTER_MESSAGES {
            return Err(Error::CounterExhausted);
        }
        Ok(())
    }

    /// What the re-keying predicates of [`super::timers`] need to know of
    /// this keypair as the current one, at `now_ns`.
    pub fn rekey_view(&self, now_ns: u64) -> CurrentKey {
        CurrentKey {
            sending_valid: self.can_send(now_ns),
            sending_counter: self.sending_counter(),
            i_am_the_initiator: self.keys.initiator,
            birthdate_ns: self.birthdate,
        }
    }
}

/// A peer's keypairs: `current` sends; `previous` still receives; `next` is the
/// responder's new keypair awaiting confirmation by the first data message
/// under it. `B` is the owning pointer (a box, or an `Arc`) to anything that
/// is `AsRef<Keypair>` (the keypair, or the caller's bundle of a keypair and
/// its locked replay window). The caller serialises the writers (the C
/// driver's `keypair_update_lock`) and republishes the slots to lockless
/// readers as it sees fit.
///
/// Every method that drops a keypair from the slots returns it, so that the
/// caller unregisters its index before freeing it.
pub struct Keypairs<C: Crypto, B> {
    pub(crate) previous: Option<B>,
    pub(crate) current: Option<B>,
    pub(crate) next: Option<B>,
    _crypto: PhantomData<fn() -> C>,
}

impl<C: Crypto, B> Keypairs<C, B> {
    /// No keypairs.
    pub const fn new() -> Self {
        Self {
            previous: None,
            current: None,
            next: None,
            _crypto: PhantomData,
        }
    }
}

impl<C: Crypto, B: Deref> Keypairs<C, B>
where
    B::Target: AsRef<Keypair<C>>,
{
    fn kp(b: &B) -> &Keypair<C> {
        (**b).as_ref()
    }

    /// The slot holding the keypair whose local index is `local_index`.
    pub fn get(&self, local_index: u32) -> Option<&B> {
        [&self.current, &self.previous, &self.next]
            .into_iter()
            .flatten()
            .find(|b| Self::kp(*b).keys.local_index == local_index)
    }

    /// Installs the keypair of a completed handshake. An initiator's keypair
    /// becomes `current` at once (the response confirmed it); the old current
    /// becomes `previous`, or, if a `next` was pending, that `next` becomes
    /// `previous` and the old current is dropped. A responder's keypair goes
    /// to `next` until confirmed, replacing any pending `next`, and
    /// `previous` is dropped. Returns the keypairs dropped.
    pub fn insert(&mut self, new: B) -> [Option<B>; 2] {
        if !Self::kp(&new).keys.initiator {
            return [self.next.replace(new), self.previous.take()];
        }
        let old_current = self.current.replace(new);
        match self.next.take() {
            Some(next) => [self.previous.replace(next), old_current],
            None => [core::mem::replace(&mut self.previous, old_current), None],
        }
    }

    /// To be called after a data message authenticated under the keypair of
    /// index `local_index`. If that is the pending `next`, it is confirmed:
    /// it becomes `current`, the old current `previous`; returns `true` and
    /// the dropped old previous.
    pub fn received_with(&mut self, local_index: u32) -> (bool, Option<B>) {
        let named = |next: &B| Self::kp(next).keys.local_index == local_index;
        if !self.next.as_ref().is_some_and(named) {
            return (false, None);
        }
        let old_current = core::mem::replace(&mut self.current, self.next.take());
        (true, core::mem::replace(&mut self.previous, old_current))
    }

    /// Stops sending under `current` and `next` (the C driver's
    /// `wg_noise_expire_current_peer_keypairs`); a new handshake is needed.
    pub fn expire_sending(&self) {
        for b in [&self.current, &self.next].into_iter().flatten() {
            Self::kp(b).invalidate_sending();
        }
    }

    /// Drops all keypairs; returns them (previous, current, next).
    pub fn clear(&mut self) -> [Option<B>; 3] {
        [self.previous.take(), self.current.take(), self.next.take()]
    }
}

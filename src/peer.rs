// SPDX-License-Identifier: GPL-2.0
//! Peers: their configuration and the device's ordered set of them.
//!
//! Every peer has a dense [`PeerId`] (reused after removal: the allowed-IPs
//! table and the data plane index by it) and a creation serial; the set keeps
//! peers in creation order, the C driver's dump order. The set looks peers up
//! by public key through the protocol core's [`PubkeyTable`].
//!
//! Growth is split in two: [`Peers::reserve`] allocates everything a batch of
//! new peers needs (may fail, changes nothing observable), after which
//! [`Peers::insert`] and [`Peers::remove`] cannot fail. This is how a
//! configuration message is applied all or nothing.
#![forbid(unsafe_code)]

use crate::kapi::platform::Kernel;
use crate::proto::allowedips::PeerId;
use crate::proto::handshake::{PeerHandshake, StaticIdentity};
use crate::proto::platform::{Alloc, AllocError, Crypto, KEY_LEN};
use crate::proto::pubkey_table::PubkeyTable;
use crate::proto::secret::Key;
use crate::proto::siphash::SipKey;
use kernel::alloc::KBox;
use kernel::prelude::*;

/// Most peers on one device (the C driver's `MAX_PEERS_PER_DEVICE`).
pub(crate) const MAX_PEERS: usize = 1 << 20;

/// `sizeof(struct sockaddr_in)`.
pub(crate) const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub(crate) const SOCKADDR_IN6_LEN: usize = 28;

/// A peer's endpoint, as the `struct sockaddr_in`/`sockaddr_in6` it was set
/// with (the C driver stores and reports the structure as given).
#[derive(Clone, Copy)]
pub(crate) enum Endpoint {
    V4([u8; SOCKADDR_IN_LEN]),
    V6([u8; SOCKADDR_IN6_LEN]),
}

impl Endpoint {
    /// The `sockaddr` bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Endpoint::V4(b) => b,
            Endpoint::V6(b) => b,
        }
    }
}

/// One peer.
pub(crate) struct Peer {
    id: PeerId,
    serial: u64,
    public_key: [u8; KEY_LEN],
    /// All zero when none (as the C driver, which reports it so).
    pub(crate) preshared_key: Key<Kernel>,
    /// The handshake state (static-static DH precomputed from the device's
    /// identity, preshared key) for the data plane.
    pub(crate) handshake: PeerHandshake<Kernel>,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) persistent_keepalive: u16,
    /// Statistics, updated by the data plane.
    pub(crate) rx_bytes: u64,
    pub(crate) tx_bytes: u64,
    /// Wall-clock time of the last handshake (seconds, nanoseconds); zero
    /// when none.
    pub(crate) last_handshake: (i64, i64),
}

impl Peer {
    fn blank() -> Self {
        Peer {
            id: PeerId(0),
            serial: 0,
            public_key: [0; KEY_LEN],
            preshared_key: Key::zero(),
            handshake: PeerHandshake::new(None, [0; KEY_LEN], None),
            endpoint: None,
            persistent_keepalive: 0,
            rx_bytes: 0,
            tx_bytes: 0,
            last_handshake: (0, 0),
        }
    }

    pub(crate) fn id(&self) -> PeerId {
        self.id
    }

    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    pub(crate) fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public_key
    }

    /// Sets the preshared key (all zero: none) here and in the handshake.
    pub(crate) fn set_preshared_key(&mut self, psk: &Key<Kernel>) {
        self.preshared_key = psk.duplicate();
        self.handshake.set_preshared_key(Some(psk.as_bytes()));
    }

    /// The device's identity changed: recompute the static-static DH and
    /// drop the handshake in flight.
    pub(crate) fn set_identity(&mut self, identity: Option<&StaticIdentity<Kernel>>) {
        // The index a handshake in flight held is the data plane's to
        // unregister; there is none before it exists.
        let _ = self.handshake.set_identity(identity);
    }
}

/// Memory for a batch of new peers, taken by [`Peers::insert`].
pub(crate) struct PeerReserve {
    blanks: KVVec<KBox<Peer>>,
}

/// The peers of one device.
pub(crate) struct Peers {
    /// By peer number.
    slots: KVVec<Option<KBox<Peer>>>,
    /// Creation order (serials increase along it).
    order: KVVec<PeerId>,
    /// Free peer numbers; its capacity always covers every slot.
    free: KVVec<PeerId>,
    by_key: PubkeyTable<Kernel>,
    next_serial: u64,
}

impl Peers {
    pub(crate) fn new() -> Result<Self, AllocError> {
        Ok(Peers {
            slots: KVVec::new(),
            order: KVVec::new(),
            free: KVVec::new(),
            by_key: PubkeyTable::new(SipKey::random::<Kernel>())?,
            next_serial: 1,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The largest peer number a batch of `n` new peers may get.
    pub(crate) fn max_id_after(&self, n: usize) -> PeerId {
        PeerId(u32::try_from(self.slots.len().saturating_add(n)).unwrap_or(u32::MAX))
    }

    pub(crate) fn lookup(&self, key: &[u8; KEY_LEN]) -> Option<PeerId> {
        self.by_key.lookup(key)
    }

    pub(crate) fn get(&self, id: PeerId) -> Option<&Peer> {
        self.slots.get(id.0 as usize)?.as_deref()
    }

    pub(crate) fn get_mut(&mut self, id: PeerId) -> Option<&mut Peer> {
        self.slots.get_mut(id.0 as usize)?.as_deref_mut()
    }

    /// Peers in creation order.
    #[allow(dead_code)] // For the data plane.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Peer> + '_ {
        self.order.iter().filter_map(move |id| self.get(*id))
    }

    /// Peers created after the peer of serial `serial` (`None`: all), in
    /// creation order; `None` if that peer no longer exists.
    pub(crate) fn iter_after(&self, serial: Option<u64>) -> Option<impl Iterator<Item = &Peer> + '_> {
        let start = match serial {
            None => 0,
            Some(s) => {
                let pos = self
                    .order
                    .binary_search_by_key(&s, |id| self.get(*id).map_or(0, |p| p.serial))
                    .ok()?;
                pos.saturating_add(1)
            }
        };
        Some(self.order.get(start..).unwrap_or(&[]).iter().filter_map(move |id| self.get(*id)))
    }

    /// Allocates what `n` new peers need: their memory, room in the peer
    /// lists and in the public-key table. Changes nothing observable.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<PeerReserve, AllocError> {
        let mut blanks = KVVec::new();
        Kernel::vec_reserve(&mut blanks, n)?;
        for _ in 0..n {
            Kernel::vec_push(&mut blanks, Kernel::try_box(Peer::blank())?)?;
        }
        Kernel::vec_reserve(&mut self.slots, n)?;
        Kernel::vec_reserve(&mut self.order, n)?;
        let want_free = self.slots.len().saturating_add(n);
        let have_free = self.free.len();
        Kernel::vec_reserve(&mut self.free, want_free.saturating_sub(have_free))?;
        self.by_key.reserve(n)?;
        Ok(PeerReserve { blanks })
    }

    /// Creates a peer with `public_key` from the reserve. `None` (nothing
    /// changed) only if the reserve is exhausted, which a reserve made for
    /// the batch rules out.
    pub(crate) fn insert(
        &mut self,
        reserve: &mut PeerReserve,
        public_key: &[u8; KEY_LEN],
        identity: Option<&StaticIdentity<Kernel>>,
    ) -> Option<PeerId> {
        let mut peer = Kernel::vec_pop(&mut reserve.blanks)?;
        let id = match Kernel::vec_pop(&mut self.free) {
            Some(id) => id,
            None => PeerId(u32::try_from(self.slots.len()).ok()?),
        };
        *peer = Peer {
            id,
            serial: self.next_serial,
            public_key: *public_key,
            preshared_key: Key::zero(),
            handshake: PeerHandshake::new(identity, *public_key, None),
            endpoint: None,
            persistent_keepalive: 0,
            rx_bytes: 0,
            tx_bytes: 0,
            last_handshake: (0, 0),
        };
        let fresh = id.0 as usize == self.slots.len();
        if fresh {
            // Capacity reserved: this push does not allocate.
            if Kernel::vec_push(&mut self.slots, None).is_err() {
                return None;
            }
        }
        if self.by_key.insert(public_key, id).is_err() {
            if fresh {
                let _ = Kernel::vec_pop(&mut self.slots);
            } else {
                let _ = Kernel::vec_push(&mut self.free, id);
            }
            return None;
        }
        if Kernel::vec_push(&mut self.order, id).is_err() {
            self.by_key.remove(public_key);
            if fresh {
                let _ = Kernel::vec_pop(&mut self.slots);
            } else {
                let _ = Kernel::vec_push(&mut self.free, id);
            }
            return None;
        }
        self.next_serial = self.next_serial.wrapping_add(1);
        if let Some(slot) = self.slots.get_mut(id.0 as usize) {
            *slot = Some(peer);
        }
        Some(id)
    }

    /// Removes a peer (the caller removes its allowed IPs). Cannot fail.
    pub(crate) fn remove(&mut self, id: PeerId) -> Option<KBox<Peer>> {
        let serial = self.get(id)?.serial;
        // `order` is sorted by serial: find the peer's place in O(log n).
        let pos = self
            .order
            .binary_search_by_key(&serial, |o| self.get(*o).map_or(0, |p| p.serial))
            .ok();
        let peer = self.slots.get_mut(id.0 as usize)?.take()?;
        self.by_key.remove(&peer.public_key);
        if let Some(pos) = pos {
            if let Some(tail) = self.order.get_mut(pos..) {
                tail.rotate_left(1);
            }
            let _ = Kernel::vec_pop(&mut self.order);
        }
        // Capacity covers every slot: this push does not allocate.
        let _ = Kernel::vec_push(&mut self.free, id);
        Some(peer)
    }

    /// Removes every peer. Cannot fail.
    pub(crate) fn clear(&mut self) {
        while let Some(id) = self.order.last().copied() {
            if self.remove(id).is_none() {
                let _ = Kernel::vec_pop(&mut self.order);
            }
        }
    }

    /// Calls `f` on every peer, in creation order.
    pub(crate) fn for_each_mut(&mut self, mut f: impl FnMut(&mut Peer)) {
        for i in 0..self.order.len() {
            let Some(id) = self.order.get(i).copied() else { break };
            if let Some(p) = self.get_mut(id) {
                f(p);
            }
        }
    }
}

/// Constant-time comparison of public keys.
pub(crate) fn keys_equal(a: &[u8; KEY_LEN], b: &[u8; KEY_LEN]) -> bool {
    Kernel::ct_eq(a, b)
}

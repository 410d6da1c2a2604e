// SPDX-License-Identifier: GPL-2.0
//! Peers: the state of one peer ([`PeerState`], shared as a [`PeerRef`] by
//! the configuration, the tables packets read, and the peer's own timer,
//! NAPI context and work items), and the device's ordered set of them
//! ([`Peers`], under the configuration mutex).
//!
//! Every peer has a dense [`PeerId`] (reused after removal: the allowed-IPs
//! table and the receiver-index table name peers by it) and a creation
//! serial; the set keeps peers in creation order, the C driver's dump order.
//!
//! Growth is split in two: [`Peers::reserve`] allocates everything a batch of
//! new peers needs (may fail, changes nothing observable), after which
//! [`Peers::insert`] and [`Peers::remove`] cannot fail. This is how a
//! configuration message is applied all or nothing.
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::anchored::Anchored;
use crate::kapi::netdev::{DevHold, NetDevice};
use crate::kapi::ordered::{BundleQueue, SerialQueue};
use crate::kapi::platform::Kernel;
use crate::kapi::skb::SocketAddr;
use crate::kapi::sync::SpinLockBh;
use crate::kapi::xmit::DstCache;
use crate::new_spinlock_bh;
use crate::proto::allowedips::PeerId;
use crate::proto::constants::MAX_QUEUED_PACKETS;
use crate::proto::cookie::CookieMaker;
use crate::proto::handshake::{PeerHandshake, StaticIdentity};
use crate::proto::keypair::{Keypair, Keypairs, SessionKeys};
use crate::proto::platform::{Alloc, AllocError, Crypto, KEY_LEN};
use crate::proto::pubkey_table::PubkeyTable;
use crate::proto::replay::ReplayWindow;
use crate::proto::siphash::SipKey;
use crate::proto::timers::{LastPacket, PeerTimers};
use crate::socket;
use crate::{wg_dbg, wg_pr_debug};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};
use kernel::{new_mutex, new_spinlock};

/// Most peers on one device (the C driver's `MAX_PEERS_PER_DEVICE`).
pub(crate) const MAX_PEERS: usize = 1 << 20;

/// A debug line a packet of `peer` triggers ([`wg_dbg!`]): "<device>: " and
/// `fmt`, whose last `{}` is the peer's number, after `args`.
macro_rules! peer_dbg {
    ($peer:expr, $fmt:literal $(, $arg:expr)*) => {
        $crate::wg_dbg!(
            concat!("{}: ", $fmt),
            $peer.dev.get().name(),
            $($arg,)*
            $peer.internal_id()
        )
    };
}
pub(crate) use peer_dbg;

/// Debug numbers of peers and keypairs, as the C driver's (global).
static NEXT_INTERNAL_ID: AtomicU64 = AtomicU64::new(1);

/// A peer's endpoint, as the `struct sockaddr_in`/`sockaddr_in6` it was set
/// with or learnt from (the C driver stores and reports the structure).
#[derive(Clone, Copy)]
pub(crate) enum Endpoint {
    /// `struct sockaddr_in`.
    V4([u8; 16]),
    /// `struct sockaddr_in6`.
    V6([u8; 28]),
}

impl Endpoint {
    /// The `sockaddr` bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Endpoint::V4(b) => b,
            Endpoint::V6(b) => b,
        }
    }

    /// The address to send to.
    pub(crate) fn to_xmit(&self) -> socket::Endpoint {
        match *self {
            Endpoint::V4([_, _, p0, p1, a0, a1, a2, a3, ..]) => {
                let port = u16::from_be_bytes([p0, p1]);
                socket::Endpoint::new(SocketAddr::V4([a0, a1, a2, a3], port), 0)
            }
            Endpoint::V6([_, _, p0, p1, _, _, _, _, addr @ .., s0, s1, s2, s3]) => {
                let port = u16::from_be_bytes([p0, p1]);
                let scope = u32::from_ne_bytes([s0, s1, s2, s3]);
                socket::Endpoint::new(SocketAddr::V6(addr, port), scope)
            }
        }
    }

    /// The `sockaddr` of an address learnt from a packet.
    pub(crate) fn from_xmit(ep: &socket::Endpoint) -> Self {
        match ep.addr {
            SocketAddr::V4(a, port) => {
                let mut b = [0u8; 16];
                b[..2].copy_from_slice(&crate::kapi::wireguard::a::AF_INET.to_ne_bytes());
                b[2..4].copy_from_slice(&port.to_be_bytes());
                b[4..8].copy_from_slice(&a);
                Endpoint::V4(b)
            }
            SocketAddr::V6(a, port) => {
                let mut b = [0u8; 28];
                b[..2].copy_from_slice(&crate::kapi::wireguard::a::AF_INET6.to_ne_bytes());
                b[2..4].copy_from_slice(&port.to_be_bytes());
                b[8..24].copy_from_slice(&a);
                b[24..28].copy_from_slice(&ep.scope_id.to_ne_bytes());
                Endpoint::V6(b)
            }
        }
    }
}

/// Where the peer is: the address to send to (with the cached source) and
/// the `sockaddr` reported to `wg`.
pub(crate) struct EndpointState {
    pub(crate) addr: Option<socket::Endpoint>,
    pub(crate) reported: Option<Endpoint>,
}

/// A device name copied for debug lines printed when the device may be gone.
#[derive(Clone, Copy)]
pub(crate) struct DbgName([u8; 16]);

impl DbgName {
    pub(crate) fn of(dev: &NetDevice<Device>) -> Self {
        let name = dev.name().as_bytes();
        DbgName(core::array::from_fn(|i| name.get(i).copied().unwrap_or(0)))
    }
}

impl core::fmt::Display for DbgName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = self.0.iter().take_while(|&&c| c != 0);
        name.map(|&c| char::from(c))
            .try_for_each(|c| f.write_char(c))
    }
}

/// A session: the keypair, its replay window, and its debug identity.
#[pin_data(PinnedDrop)]
pub(crate) struct KeypairCell {
    pub(crate) keypair: Keypair<Kernel>,
    /// Only the peer's NAPI poll (softirq, one CPU at a time) uses it.
    #[pin]
    pub(crate) replay: SpinLock<ReplayWindow>,
    internal_id: u64,
    peer_internal_id: u64,
    dev_name: DbgName,
}

/// A shared keypair.
pub(crate) type KeypairRef = Arc<KeypairCell>;

impl KeypairCell {
    /// A new session born now (allocates: after authentication only).
    pub(crate) fn new_arc(
        keys: SessionKeys<Kernel>,
        now_ns: u64,
        peer: &PeerState,
    ) -> Result<KeypairRef> {
        let internal_id = NEXT_INTERNAL_ID.fetch_add(1, Ordering::Relaxed);
        let kp = Arc::pin_init(
            pin_init!(KeypairCell {
                keypair: Keypair::new(keys, now_ns),
                replay <- new_spinlock!(ReplayWindow::new(), "wireguard_replay"),
                internal_id,
                peer_internal_id: peer.internal_id(),
                dev_name: DbgName::of(peer.dev.get()),
            }),
            GFP_KERNEL,
        )?;
        wg_dbg!(
            "{}: Keypair {} created for peer {}",
            kp.dev_name,
            internal_id,
            kp.peer_internal_id
        );
        Ok(kp)
    }
}

impl AsRef<Keypair<Kernel>> for KeypairCell {
    fn as_ref(&self) -> &Keypair<Kernel> {
        &self.keypair
    }
}

#[pinned_drop]
impl PinnedDrop for KeypairCell {
    fn drop(self: Pin<&mut Self>) {
        wg_dbg!(
            "{}: Keypair {} destroyed for peer {}",
            self.dev_name,
            self.internal_id,
            self.peer_internal_id
        );
    }
}

/// One peer.
#[pin_data(PinnedDrop)]
pub(crate) struct PeerState {
    pub(crate) dev: DevHold<Device>,
    /// Fixed at creation.
    pub(crate) public_key: [u8; KEY_LEN],
    /// Set when the peer is inserted (before it is published).
    id: AtomicU32,
    serial: AtomicU64,
    /// 0 until the peer is inserted (and announced as "created").
    internal_id: AtomicU64,
    /// Removed from the device: nothing may be started for it any more.
    pub(crate) dead: AtomicBool,
    /// The handshake and the preshared key (process context only).
    #[pin]
    pub(crate) handshake: Mutex<PeerHandshake<Kernel>>,
    #[pin]
    pub(crate) cookie: SpinLockBh<CookieMaker<Kernel>>,
    #[pin]
    pub(crate) keypairs: SpinLockBh<Keypairs<Kernel, KeypairRef>>,
    #[pin]
    pub(crate) endpoint: SpinLockBh<EndpointState>,
    pub(crate) dst_cache: DstCache,
    #[pin]
    pub(crate) timers: SpinLockBh<PeerTimers>,
    /// Packets waiting for a session, each a bundle of its own (at most
    /// `MAX_STAGED_PACKETS` before a send's packets are added: `send::stage`;
    /// but a super-packet whose session ran out of counters goes back whole,
    /// one entry: `send::send_staged`).
    #[pin]
    pub(crate) staged: BundleQueue,
    /// Packets being encrypted (by the device's encryption workers) and
    /// sent, in order (at most `MAX_QUEUED_PACKETS` bundles: a GSO
    /// super-packet's segments count as one).
    #[pin]
    pub(crate) tx: SerialQueue,
    /// Received data messages being decrypted (by the device's decryption
    /// workers) and delivered, in order (at most `MAX_QUEUED_PACKETS`, a
    /// burst's each counted).
    #[pin]
    pub(crate) rx: SerialQueue,
    pub(crate) rx_bytes: AtomicU64,
    pub(crate) tx_bytes: AtomicU64,
    /// When the device last had a packet to send to the peer, and last
    /// delivered an authenticated data message from it (a pause in either
    /// lets a small packet skip the workers).
    pub(crate) last_tx: LastPacket,
    pub(crate) last_rx: LastPacket,
    /// Wall-clock time of the last handshake (seconds, nanoseconds).
    #[pin]
    pub(crate) last_handshake: SpinLockBh<(i64, i64)>,
    /// Work to do in the handshake work item (process context).
    pub(crate) want_initiation: AtomicBool,
    pub(crate) want_clear: AtomicBool,
}

/// A peer as everyone shares it.
pub(crate) type PeerRef = Arc<Anchored<PeerState>>;

impl PeerState {
    /// A new, unnumbered peer with `public_key` (allocates; process context).
    fn new_ref(dev: &NetDevice<Device>, public_key: &[u8; KEY_LEN]) -> Result<PeerRef> {
        let dst_cache = DstCache::new()?;
        let init = try_pin_init!(PeerState {
            dev: dev.hold(),
            public_key: *public_key,
            id: AtomicU32::new(u32::MAX),
            serial: AtomicU64::new(0),
            internal_id: AtomicU64::new(0),
            dead: AtomicBool::new(false),
            handshake <- new_mutex!(
                PeerHandshake::new(None, *public_key, None),
                "wireguard_peer_handshake"
            ),
            cookie <- new_spinlock_bh!(CookieMaker::new(public_key), "wireguard_peer_cookie"),
            keypairs <- new_spinlock_bh!(Keypairs::new(), "wireguard_peer_keypairs"),
            endpoint <- new_spinlock_bh!(EndpointState { addr: None, reported: None }, "wireguard_peer_endpoint"),
            dst_cache,
            timers <- new_spinlock_bh!(PeerTimers::default(), "wireguard_peer_timers"),
            staged <- BundleQueue::new(),
            tx <- SerialQueue::new(u32::MAX),
            rx <- SerialQueue::new(MAX_QUEUED_PACKETS as u32),
            rx_bytes: AtomicU64::new(0),
            tx_bytes: AtomicU64::new(0),
            last_tx: LastPacket::default(),
            last_rx: LastPacket::default(),
            last_handshake <- new_spinlock_bh!((0, 0), "wireguard_peer_last_handshake"),
            want_initiation: AtomicBool::new(false),
            want_clear: AtomicBool::new(false),
        }? Error);
        Anchored::new_arc(init)
    }

    pub(crate) fn id(&self) -> PeerId {
        PeerId(self.id.load(Ordering::Relaxed))
    }

    pub(crate) fn serial(&self) -> u64 {
        self.serial.load(Ordering::Relaxed)
    }

    /// The number debug lines name the peer by.
    pub(crate) fn internal_id(&self) -> u64 {
        self.internal_id.load(Ordering::Relaxed)
    }

    /// Sets the endpoint (configuration, or roaming to an authenticated
    /// source); a change forgets the cached route. The route cache is reset
    /// under the endpoint's lock (as the C driver): a send that copies the
    /// new endpoint after the unlock then finds no route cached for the old
    /// one.
    pub(crate) fn set_endpoint(&self, ep: socket::Endpoint, reported: Endpoint) {
        let mut e = self.endpoint.lock();
        if e.addr == Some(ep) {
            return;
        }
        e.addr = Some(ep);
        e.reported = Some(reported);
        self.dst_cache.reset();
    }

    /// Forgets the cached source address of the endpoint, and the cached
    /// routes, under the endpoint's lock.
    pub(crate) fn clear_endpoint_src(&self) {
        let mut e = self.endpoint.lock();
        if let Some(ep) = e.addr.as_mut() {
            ep.clear_src();
        }
        self.dst_cache.reset();
    }
}

#[pinned_drop]
impl PinnedDrop for PeerState {
    fn drop(self: Pin<&mut Self>) {
        // Peers of a reserve that were never inserted were never announced.
        if self.internal_id() != 0 {
            wg_pr_debug!(
                "{}: Peer {} destroyed",
                self.dev.get().name(),
                self.internal_id()
            );
        }
    }
}

/// Memory for a batch of new peers, taken by [`Peers::insert`]: one peer per
/// possibly created peer of the update, by public key.
pub(crate) struct PeerReserve {
    fresh: KVVec<Option<PeerRef>>,
    /// Where the next peer is looked for first: a configuration creates its
    /// new peers in the order it reserved them, so a 10,000-peer `setconf`
    /// takes each in one step, not by a scan of the whole reserve.
    next: usize,
}

impl PeerReserve {
    fn take(&mut self, key: &[u8; KEY_LEN]) -> Option<PeerRef> {
        let matches = |p: &Option<PeerRef>| {
            p.as_ref()
                .is_some_and(|p| Kernel::ct_eq(&p.public_key, key))
        };
        let at = match self.fresh.get(self.next) {
            Some(p) if matches(p) => self.next,
            _ => self.fresh.iter().position(matches)?,
        };
        self.next = at.saturating_add(1);
        self.fresh.get_mut(at).and_then(Option::take)
    }
}

/// The peers of one device (under the configuration mutex).
pub(crate) struct Peers {
    /// By peer number.
    slots: KVVec<Option<PeerRef>>,
    /// Creation order (serials increase along it).
    order: KVVec<PeerId>,
    /// Free peer numbers; its capacity always covers every slot.
    free: KVVec<PeerId>,
    by_key: PubkeyTable<Kernel, Kernel>,
    next_serial: u64,
}

impl Peers {
    pub(crate) fn new() -> Result<Self, AllocError> {
        Ok(Peers {
            slots: KVVec::new(),
            order: KVVec::new(),
            free: KVVec::new(),
            by_key: PubkeyTable::new(SipKey::random())?,
            next_serial: 1,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn lookup(&self, key: &[u8; KEY_LEN]) -> Option<PeerId> {
        self.by_key.lookup(key)
    }

    pub(crate) fn get(&self, id: PeerId) -> Option<&PeerRef> {
        self.slots.get(id.0 as usize)?.as_ref()
    }

    /// Peers in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &PeerRef> + '_ {
        self.order.iter().filter_map(move |id| self.get(*id))
    }

    /// Peers created after the peer of serial `serial` (`None`: all), in
    /// creation order; `None` if that peer no longer exists.
    pub(crate) fn iter_after(
        &self,
        serial: Option<u64>,
    ) -> Option<impl Iterator<Item = &PeerRef> + '_> {
        let start = match serial {
            None => 0,
            Some(s) => self.position(s)?.saturating_add(1),
        };
        let order = self.order.get(start..).unwrap_or(&[]);
        Some(order.iter().filter_map(move |id| self.get(*id)))
    }

    /// Where the peer of serial `serial` is in `order`, which is sorted by
    /// serial: O(log n).
    fn position(&self, serial: u64) -> Option<usize> {
        let serial_of = |id: &PeerId| self.get(*id).map_or(0, |p| p.serial());
        self.order.binary_search_by_key(&serial, serial_of).ok()
    }

    /// Allocates what new peers with `keys` need: their state, room in the
    /// peer lists and in the public-key table. Changes nothing observable.
    pub(crate) fn reserve(
        &mut self,
        dev: &NetDevice<Device>,
        keys: &[[u8; KEY_LEN]],
    ) -> Result<PeerReserve> {
        let mut fresh = KVVec::new();
        for key in keys {
            fresh.push(Some(PeerState::new_ref(dev, key)?), GFP_KERNEL)?;
        }
        let n = fresh.len();
        Kernel::vec_reserve(&mut self.slots, n).map_err(|_| ENOMEM)?;
        Kernel::vec_reserve(&mut self.order, n).map_err(|_| ENOMEM)?;
        let want_free = self.slots.len().saturating_add(n);
        let have_free = self.free.len();
        Kernel::vec_reserve(&mut self.free, want_free.saturating_sub(have_free))
            .map_err(|_| ENOMEM)?;
        self.by_key.reserve(n).map_err(|_| ENOMEM)?;
        Ok(PeerReserve { fresh, next: 0 })
    }

    /// The largest peer number the next `n` insertions may give.
    pub(crate) fn max_id_after(&self, n: usize) -> PeerId {
        PeerId(u32::try_from(self.slots.len().saturating_add(n)).unwrap_or(u32::MAX))
    }

    /// Creates the peer with `public_key` from the reserve (numbered, with
    /// the device's identity), not yet published to the data path. `None`
    /// (nothing changed) only if the reserve lacks it.
    pub(crate) fn insert(
        &mut self,
        reserve: &mut PeerReserve,
        public_key: &[u8; KEY_LEN],
        identity: Option<&StaticIdentity<Kernel>>,
    ) -> Option<PeerRef> {
        let peer = reserve.take(public_key)?;
        let id = Kernel::vec_pop(&mut self.free)
            .or_else(|| u32::try_from(self.slots.len()).ok().map(PeerId))?;
        let fresh = id.0 as usize == self.slots.len();
        if fresh && Kernel::vec_push(&mut self.slots, None).is_err() {
            return None;
        }
        if self.by_key.insert(public_key, id).is_err()
            || Kernel::vec_push(&mut self.order, id).is_err()
        {
            self.by_key.remove(public_key);
            if fresh {
                let _ = Kernel::vec_pop(&mut self.slots);
            } else {
                let _ = Kernel::vec_push(&mut self.free, id);
            }
            return None;
        }
        peer.id.store(id.0, Ordering::Relaxed);
        peer.serial.store(self.next_serial, Ordering::Relaxed);
        self.next_serial = self.next_serial.wrapping_add(1);
        let internal = NEXT_INTERNAL_ID.fetch_add(1, Ordering::Relaxed);
        peer.internal_id.store(internal, Ordering::Relaxed);
        let _ = peer.handshake.lock().set_identity(identity);
        wg_pr_debug!("{}: Peer {} created", peer.dev.get().name(), internal);
        if let Some(slot) = self.slots.get_mut(id.0 as usize) {
            *slot = Some(peer.clone());
        }
        Some(peer)
    }

    /// Removes every peer from the set, in creation order, handing each to
    /// `f` (the caller unpublishes and stops them). O(n) for n peers, where
    /// [`Peers::remove`] one at a time would be O(n²).
    pub(crate) fn remove_all(&mut self, mut f: impl FnMut(PeerRef)) {
        let order = core::mem::replace(&mut self.order, KVVec::new());
        for id in order.iter() {
            if let Some(peer) = self.release(*id) {
                f(peer);
            }
        }
        // The emptied list keeps its memory for the next peers.
        self.order = order;
        while Kernel::vec_pop(&mut self.order).is_some() {}
    }

    /// Removes a peer from the set (the caller unpublishes and stops it).
    pub(crate) fn remove(&mut self, id: PeerId) -> Option<PeerRef> {
        let pos = self.position(self.get(id)?.serial());
        // Non-empty (it starts at the peer): `rotate_left` cannot fail.
        let tail = pos.and_then(|pos| self.order.get_mut(pos..));
        if let Some(tail) = tail.filter(|t| !t.is_empty()) {
            tail.rotate_left(1);
            let _ = Kernel::vec_pop(&mut self.order);
        }
        self.release(id)
    }

    /// Empties the slot of peer `id` and forgets its key; its number is free
    /// again. The caller takes it out of `order`.
    fn release(&mut self, id: PeerId) -> Option<PeerRef> {
        let peer = self.slots.get_mut(id.0 as usize)?.take()?;
        self.by_key.remove(&peer.public_key);
        // Capacity covers every slot: this push does not allocate.
        let _ = Kernel::vec_push(&mut self.free, id);
        Some(peer)
    }
}

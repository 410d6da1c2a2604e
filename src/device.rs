// SPDX-License-Identifier: GPL-2.0
//! The `wireguard` rtnl link kind: device set-up and lifetime.
#![forbid(unsafe_code)]

use crate::config::{Applied, Config};
use crate::kapi::anchored::{AnchorOps, Anchored, WorkId};
use crate::kapi::crypt_queue::CryptQueue;
use crate::kapi::error::enonet;
use crate::kapi::net::Net;
use crate::kapi::netdev::consts::*;
use crate::kapi::netdev::features as f;
use crate::kapi::netdev::{DeviceSetup, LinkKind, LinkOps, NetDevice};
use crate::kapi::ordered::cond_resched_every_64;
use crate::kapi::platform::Kernel;
use crate::kapi::rcu::{self, RcuArc};
use crate::kapi::rtnl::Rtnl;
use crate::kapi::skb::SkBuff;
use crate::kapi::sync::{LeftRight, RwSem, SpinLockBh};
use crate::kapi::work::{Workqueue, WqFlags as Wq};
use crate::new_spinlock_bh;
use crate::peer::{PeerRef, PeerState};
use crate::proto::constants::{
    MAX_QUEUED_INCOMING_HANDSHAKES, MAX_QUEUED_PACKETS, MESSAGE_PADDING_MULTIPLE,
};
use crate::proto::cookie::CookieChecker;
use crate::proto::handshake::StaticIdentity;
use crate::proto::index_table::STRIPES;
use crate::proto::messages::{DATA_HEADER_LEN, DATA_MIN_LEN};
use crate::proto::ratelimiter::RateLimiter;
use crate::proto::siphash::SipKey;
use crate::receive::{DecryptWorker, HandshakeWorker};
use crate::send::EncryptWorker;
use crate::session::IndexStripe;
use crate::socket::Sockets;
use crate::tables::{Routing, TableOp, Tables};
use crate::{receive, send, timers};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::c_str;
use kernel::error::Error;
use kernel::init::{pin_init_array_from_fn, PinInit};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// The driver's link kind.
pub(crate) static KIND: LinkKind<Device> = LinkKind::new();

/// UDP header.
const UDP_HEADER_LEN: usize = 8;
/// The larger of the IPv4 and IPv6 headers.
const MAX_IP_HEADER_LEN: usize = 40;
/// What encapsulation adds to every packet: the data message's header (type,
/// receiver index, counter) and authentication tag, UDP, IP.
const OVERHEAD: u32 = (DATA_MIN_LEN + UDP_HEADER_LEN + MAX_IP_HEADER_LEN) as u32;

/// Head room for a data packet: the data header, the outer IP and UDP headers
/// and the stack's own pad, rounded up to 4 bytes.
pub(crate) fn data_packet_head_room() -> u16 {
    // Rounded up as `x + 3 & !3`: no overflow check (`next_multiple_of` has
    // one); `NET_SKB_PAD` is a cache line, far from the top.
    ((DATA_HEADER_LEN + MAX_IP_HEADER_LEN + UDP_HEADER_LEN) as u16)
        .saturating_add(net_skb_pad())
        .saturating_add(3)
        & !3
}

/// The handshake rate limiter of the whole module, as the C driver's (one
/// table for every device, keyed by network namespace too).
///
/// Why one table: its entries are allocated up front (nothing is allocated
/// per packet), and it must hold at least as many sources as the C driver's
/// (65,536 on machines over 1 GiB: 2 MiB here); one such table per device
/// would be 20 GiB for 10,000 devices. A source is limited per namespace as
/// in the C driver: each device passes the cookie of the namespace its
/// sockets live in (`Device::ratelimit_scope`). A full table never refuses
/// a new source (see `proto::ratelimiter`), so sharing it lets no device's
/// flood lock the clients of another out. The spinlock is taken once per
/// handshake message with a valid cookie while a device is under load.
pub(crate) type SharedRateLimiter = SpinLockBh<RateLimiter<Kernel, Kernel>>;

static RATELIMITER: RcuArc<SharedRateLimiter> = RcuArc::new();

/// While this lives, devices can be created: the module's rate limiter
/// exists. Each device holds a reference of its own.
pub(crate) struct RateLimiterRegistration(());

impl RateLimiterRegistration {
    /// Allocates the table, sized from the machine's memory as the C driver's.
    pub(crate) fn new() -> Result<Self> {
        let sets = RateLimiter::<Kernel, Kernel>::table_size_for_memory(Kernel::total_ram_bytes());
        let rl = RateLimiter::new(sets, SipKey::random()).map_err(|_| ENOMEM)?;
        let rl = Arc::pin_init(new_spinlock_bh!(rl, "wireguard_ratelimiter"), GFP_KERNEL)?;
        RATELIMITER.replace(Some(rl));
        Ok(RateLimiterRegistration(()))
    }
}

impl Drop for RateLimiterRegistration {
    fn drop(&mut self) {
        RATELIMITER.replace(None);
    }
}

/// The state of one WireGuard device. See Documentation/dataplane.md for
/// what protects what and what runs where.
#[pin_data]
pub(crate) struct Device {
    /// Everything `wg` configures. Lock order: RTNL, then this, then
    /// `identity`, then a peer's handshake.
    #[pin]
    pub(crate) config: Mutex<Config>,
    /// Cryptokey routing, peers by number and by key (read by packets).
    pub(crate) routing: Routing,
    /// Receiver indices of handshakes and sessions: a table per stripe
    /// (`index_table::stripe_of`), each under a lock of its own
    /// (`session::stripe`).
    #[pin]
    pub(crate) index: [IndexStripe; STRIPES],
    /// The device's key pair, for handshakes. Held for reading by the
    /// handshake work of every CPU at once (an initiation read and
    /// committed, ours made, a response read, a session begun only under the
    /// key it was made with), as the C driver takes `static_identity.lock`
    /// for reading; for writing by a key change, which redoes every peer's
    /// handshake and stops its sessions sending while it holds it.
    #[pin]
    pub(crate) identity: RwSem<Option<Arc<StaticIdentity<Kernel>>>>,
    #[pin]
    pub(crate) cookie_checker: SpinLockBh<CookieChecker<Kernel>>,
    /// The module's handshake rate limiter, and this device's scope in it
    /// (the cookie of the namespace its sockets live in).
    pub(crate) ratelimiter: Arc<SharedRateLimiter>,
    pub(crate) ratelimit_scope: u64,
    #[pin]
    pub(crate) last_under_load: SpinLockBh<Option<u64>>,
    /// The UDP sockets (while up).
    pub(crate) sockets: RcuArc<Sockets>,
    /// The incoming handshake queue and its workers (while up).
    pub(crate) handshakes: RcuArc<CryptQueue<HandshakeWorker>>,
    pub(crate) handshake_queue_len: AtomicU32,
    /// The encryption and decryption rings and their per-CPU workers
    /// (while up).
    pub(crate) encrypt: RcuArc<CryptQueue<EncryptWorker>>,
    pub(crate) decrypt: RcuArc<CryptQueue<DecryptWorker>>,
    /// The crypt rings' per-CPU workers and the peers' transmit work items.
    pub(crate) tx_wq: Workqueue,
    /// Handshake workers.
    pub(crate) handshake_wq: Workqueue,
    /// Peers' handshake work items (initiations, zeroing).
    pub(crate) handshake_send_wq: Workqueue,
    pub(crate) fwmark: AtomicU32,
}

impl Device {
    /// Binds the device's sockets on `port` (0: any free port) in the
    /// namespace the device was created in, replacing the old ones on
    /// success (keeping them on failure). The port reported afterwards is the
    /// bound one.
    pub(crate) fn rebind(
        rtnl: &Rtnl,
        dev: &NetDevice<Self>,
        cfg: &mut Config,
        port: u16,
    ) -> Result {
        let net = dev.creating_net(rtnl).ok_or_else(enonet)?;
        let sockets = Sockets::bind(net, dev, port)?;
        let sockets = Arc::new(sockets, GFP_KERNEL)?;
        cfg.listen_port = sockets.v4.local_port();
        for p in cfg.peers.iter() {
            p.clear_endpoint_src();
        }
        // The old sockets (if any) are released once no sender uses them.
        dev.data().sockets.replace(Some(sockets));
        Ok(())
    }

    /// Releases the sockets, the handshake queue and the crypt rings (what
    /// is left in a ring is finished as failed: the peers' queues drop it).
    fn unbind(&self) {
        self.sockets.replace(None);
        self.handshakes.replace(None);
        self.handshake_queue_len.store(0, Ordering::Relaxed);
        self.decrypt.replace(None);
        self.encrypt.replace(None);
    }

    /// What the data plane does after a configuration message: make new
    /// peers ready for packets (NAPI context, timers), publish the table
    /// batch, stop removed peers, send what waits.
    ///
    /// A new peer is complete before the tables name it: from the moment a
    /// packet can find it, a handshake can give it a session, whose data
    /// needs the NAPI context and whose expiry needs the timers running.
    pub(crate) fn after_update(dev: &NetDevice<Self>, cfg: &Config, applied: Applied) {
        let d = dev.data();
        let running = dev.is_running();
        // The new peers.
        for op in applied.ops.iter() {
            let TableOp::AddPeer(p) = op else { continue };
            p.napi_add(dev);
            if running {
                timers::start(p);
            }
        }
        if d.routing.write(|t| t.apply(&applied.ops)).is_err() {
            pr_err!("{}: could not update the routing tables\n", dev.name());
        }
        remove_peers(&applied.removed);
        for p in applied.keepalive.iter() {
            send::keepalive(p);
        }
        if running && applied.identity_changed {
            // Packets staged while the device had no key (or the old one)
            // go out under the new one.
            for p in cfg.peers.iter() {
                send::send_staged(p, None);
            }
        } else if running {
            for p in applied.touched.iter() {
                send::send_staged(p, None);
            }
        }
    }
}

/// Stops peers that are no longer published (process context): no timer,
/// NAPI poll or work item of them runs after this, their keys are zeroed and
/// their queues emptied; the memory goes with the last reference. One grace
/// period for all (see [`Anchored::shutdown_all`]) and chances to
/// reschedule: deleting a device of 10,000 peers holds RTNL for a bounded,
/// short time.
fn remove_peers(peers: &[PeerRef]) {
    for (n, peer) in peers.iter().enumerate() {
        // `dead` first: `session::begin_session` reads it under the
        // keypairs' lock, which `timers::stop` takes next to clear them.
        peer.dead.store(true, Ordering::Release);
        timers::stop(peer);
        cond_resched_every_64(n);
    }
    Anchored::shutdown_all(peers);
    for (n, peer) in peers.iter().enumerate() {
        peer.rx.purge();
        // Anything a worker still running for it added meanwhile.
        timers::stop(peer);
        cond_resched_every_64(n);
    }
}

/// Keys are wiped before the system sleeps, as the C driver does: every
/// peer of every device loses its handshake and sessions (a new handshake
/// follows on the next packet).
pub(crate) struct WipeOnSleep;

impl crate::kapi::pm::SleepHandler for WipeOnSleep {
    fn prepare_sleep() {
        // As the C driver: with autosleep, suspend is too frequent to wipe.
        if cfg!(CONFIG_PM_AUTOSLEEP) || cfg!(CONFIG_PM_USERSPACE_AUTOSLEEP) {
            return;
        }
        let rtnl = Rtnl::lock();
        KIND.for_each_device(&rtnl, |dev| {
            let cfg = dev.data().config.lock();
            for p in cfg.peers.iter() {
                crate::session::clear_all(p);
            }
        });
    }
}

impl AnchorOps for PeerState {
    fn timer_fired(this: &Anchored<Self>) {
        timers::fired(this);
    }

    fn napi_poll(this: &Anchored<Self>, budget: i32) -> i32 {
        receive::napi_poll(this, budget)
    }

    fn work(this: &Anchored<Self>, which: WorkId) {
        match which {
            WorkId::A => send::transmit(this),
            WorkId::B => send::handshake_work(this),
        }
    }
}

impl LinkOps for Device {
    const KIND: &'static CStr = c_str!("wireguard");

    fn kind() -> &'static LinkKind<Self> {
        &KIND
    }

    fn setup(dev: &mut DeviceSetup<'_>) {
        let max_mtu =
            (i32::MAX as u32 / MESSAGE_PADDING_MULTIPLE as u32) * MESSAGE_PADDING_MULTIPLE as u32;
        // Big TCP (upstream from 6.13): super-packets are segmented in
        // software on the way in, whatever their size (`l3_tunnel` lifts the
        // GSO limit).
        // Behind the packet: the padding and the authentication tag.
        let tail = (MESSAGE_PADDING_MULTIPLE + 16) as u16;
        let room = (data_packet_head_room(), tail);
        let mtu = (ETH_DATA_LEN - OVERHEAD, max_mtu - OVERHEAD);
        // Checksums, scatter-gather and software GSO.
        let features = f::HW_CSUM | f::RXCSUM | f::SG | f::GSO | f::GSO_SOFTWARE | f::HIGHDMA;
        dev.l3_tunnel(features, room, mtu);
    }

    fn new_link(_rtnl: &Rtnl, src_net: &Net, name: &CStr) -> impl PinInit<Self, Error> {
        let ratelimit_scope = src_net.cookie();
        // Named after the device as in the C driver ("wg-crypt-wg0"; the name
        // as given, so a pattern stays one: "wg-crypt-wg%d").
        let wq = |prefix: &CStr, flags| Workqueue::new(prefix, name, flags);
        let tx_wq = wq(c_str!("wg-crypt"), Wq::CPU_INTENSIVE.with(Wq::MEM_RECLAIM));
        let handshake_wq = wq(c_str!("wg-kex"), Wq::CPU_INTENSIVE.with(Wq::FREEZABLE));
        let handshake_send_wq = wq(c_str!("wg-kex"), Wq::UNBOUND.with(Wq::FREEZABLE));
        try_pin_init!(Device {
            config <- new_mutex!(Config::new()?, "wireguard_config"),
            // Both copies equal, and empty.
            routing: LeftRight::new(Tables::new()?, Tables::new()?)?,
            index <- pin_init_array_from_fn(|_| IndexStripe::new()),
            identity <- RwSem::new(None),
            cookie_checker <- new_spinlock_bh!(CookieChecker::new(None), "wireguard_cookie_checker"),
            ratelimiter: RATELIMITER.get(&rcu::read_lock()).map(Arc::from).ok_or(ENOMEM)?,
            ratelimit_scope,
            last_under_load <- new_spinlock_bh!(None, "wireguard_load"),
            sockets: RcuArc::new(),
            handshakes: RcuArc::new(),
            handshake_queue_len: AtomicU32::new(0),
            encrypt: RcuArc::new(),
            decrypt: RcuArc::new(),
            tx_wq: tx_wq?,
            handshake_wq: handshake_wq?,
            handshake_send_wq: handshake_send_wq?,
            fwmark: AtomicU32::new(0),
        }? Error)
    }

    fn registered(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        crate::wg_pr_debug!("{}: Interface created", dev.name());
    }

    fn open(rtnl: &Rtnl, dev: &NetDevice<Self>) -> Result {
        dev.quiet_inet_conf(rtnl);
        let d = dev.data();
        let mut cfg = d.config.lock();
        let worker = HandshakeWorker { dev: dev.hold() };
        let queue = CryptQueue::new_arc(MAX_QUEUED_INCOMING_HANDSHAKES as u32, None, worker)?;
        // Bundles: a GSO super-packet's segments to seal; a burst of received
        // data messages, each of which counts (as in the C driver's ring).
        let encrypt = CryptQueue::new_arc(MAX_QUEUED_PACKETS as u32, None, EncryptWorker)?;
        let decrypt = CryptQueue::new_arc(
            MAX_QUEUED_PACKETS as u32,
            Some(MAX_QUEUED_PACKETS as u32),
            DecryptWorker,
        )?;
        d.handshakes.replace(Some(queue));
        d.encrypt.replace(Some(encrypt));
        d.decrypt.replace(Some(decrypt));
        let port = cfg.listen_port;
        Self::rebind(rtnl, dev, &mut cfg, port).inspect_err(|_| d.unbind())?;
        for p in cfg.peers.iter() {
            timers::start(p);
            send::send_staged(p, None);
        }
        Ok(())
    }

    fn stop(_rtnl: &Rtnl, dev: &NetDevice<Self>) -> Result {
        let d = dev.data();
        let cfg = d.config.lock();
        // Keys are wiped when the device goes down, as the C driver does.
        for p in cfg.peers.iter() {
            timers::stop(p);
        }
        // The reported port stays the last bound one, as in the C driver.
        d.unbind();
        for p in cfg.peers.iter() {
            p.rx.purge();
            p.tx.purge();
        }
        Ok(())
    }

    fn start_xmit(dev: &NetDevice<Self>, skb: SkBuff) {
        send::xmit(dev, skb);
    }

    fn creating_net_exit(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        crate::wg_pr_debug!("{}: Creating namespace exiting", dev.name());
        let d = dev.data();
        let _cfg = d.config.lock();
        d.sockets.replace(None);
        dev.carrier_off();
    }

    fn uninit(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        let d = dev.data();
        let mut cfg = d.config.lock();
        let mut removed: KVVec<PeerRef> = KVVec::new();
        let mut ops: KVVec<TableOp> = KVVec::new();
        let n = cfg.peers.len();
        if removed.reserve(n, GFP_KERNEL).is_err() || ops.reserve(n, GFP_KERNEL).is_err() {
            // Out of memory: one peer at a time.
            let mut k = 0usize;
            cfg.peers.remove_all(|p| {
                let _ = d.routing.write(|t| t.apply(&[TableOp::RemovePeer(p.id())]));
                remove_peers(core::slice::from_ref(&p));
                cond_resched_every_64(k);
                k = k.wrapping_add(1);
            });
        } else {
            // Reserved above: these pushes do not allocate.
            cfg.peers.remove_all(|p| {
                let _ = ops.push(TableOp::RemovePeer(p.id()), GFP_KERNEL);
                let _ = removed.push(p, GFP_KERNEL);
            });
            let _ = d.routing.write(|t| t.apply(&ops));
            remove_peers(&removed);
        }
        d.unbind();
    }

    fn destroy(dev: &NetDevice<Self>) {
        crate::wg_pr_debug!("{}: Interface destroyed", dev.name());
    }
}

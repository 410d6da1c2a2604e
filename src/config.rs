// SPDX-License-Identifier: GPL-2.0
//! A device's configuration (what `wg` sets and shows) and how one
//! `WG_CMD_SET_DEVICE` message is applied to it: all or nothing.
//!
//! The netlink layer validates a message completely into an [`Update`]
//! (every input error is found there, before anything changes); then
//! [`Config::prepare`] allocates everything the update may need, here and in
//! the tables packets read; then the listen port is rebound (the one step
//! that can fail for reasons outside the message, done before any other
//! change); then [`Config::apply`] makes the changes, which cannot fail, and
//! returns what the data plane must do about them ([`Applied`]: the table
//! batch to publish, peers to stop, peers to start). The order of the
//! changes is the C driver's (`wg_set_device`/`set_peer`): fwmark, port,
//! REPLACE_PEERS, private key, then each peer in message order.
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::netdev::NetDevice;
use crate::kapi::platform::Kernel;
use crate::peer::{Endpoint, PeerRef, PeerReserve, Peers, MAX_PEERS};
use crate::proto::allowedips::Prefix;
use crate::proto::handshake::StaticIdentity;
use crate::proto::peerplan::{self, Entry};
use crate::proto::platform::{Alloc, Crypto, KEY_LEN};
use crate::proto::secret::Key;
use crate::session;
use crate::tables::{TableOp, Tables};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The changes of one peer (`WGDEVICE_A_PEERS` entry), validated.
pub(crate) struct PeerUpdate {
    pub(crate) public_key: [u8; KEY_LEN],
    pub(crate) preshared_key: Option<Key<Kernel>>,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) persistent_keepalive: Option<u16>,
    pub(crate) remove_me: bool,
    pub(crate) update_only: bool,
    pub(crate) replace_allowed_ips: bool,
    /// Each with `WGALLOWEDIP_F_REMOVE_ME`: remove instead of add.
    pub(crate) allowed_ips: KVVec<(Prefix, bool)>,
}

/// The changes of one `WG_CMD_SET_DEVICE` message, validated.
pub(crate) struct Update {
    pub(crate) private_key: Option<Key<Kernel>>,
    pub(crate) listen_port: Option<u16>,
    pub(crate) fwmark: Option<u32>,
    pub(crate) replace_peers: bool,
    pub(crate) peers: KVVec<PeerUpdate>,
}

/// What [`Config::prepare`] allocated for an update (the lists empty, with
/// room for everything applying it may list), and what applying it left for
/// the data plane to do.
pub(crate) struct Applied {
    /// The new peers, taken as they are created.
    reserve: PeerReserve,
    /// The identity of a new, non-zero private key (taken when it is set).
    identity: Option<Arc<StaticIdentity<Kernel>>>,
    /// The batch for the tables (published once the new peers, its
    /// `AddPeer`s, are ready).
    pub(crate) ops: KVVec<TableOp>,
    /// Peers removed: stop them once unpublished.
    pub(crate) removed: KVVec<PeerRef>,
    /// Every peer the message named that still exists (send what waits).
    pub(crate) touched: KVVec<PeerRef>,
    /// Peers that get a keepalive now (persistent keepalive turned on).
    pub(crate) keepalive: KVVec<PeerRef>,
    /// The device identity changed.
    pub(crate) identity_changed: bool,
}

impl Applied {
    /// Unpublishes and stops a peer removed from the set, if any (capacity
    /// reserved in `prepare`: these pushes do not allocate).
    fn remove(&mut self, p: Option<PeerRef>) {
        let Some(p) = p else { return };
        let _ = self.ops.push(TableOp::RemovePeer(p.id()), GFP_KERNEL);
        let _ = self.removed.push(p, GFP_KERNEL);
    }
}

/// The configuration of one device; behind the device's mutex.
pub(crate) struct Config {
    /// The private key as stored (clamped), all zero initially.
    pub(crate) private_key: Key<Kernel>,
    /// Present when the private key is not all zero (the C `has_identity`);
    /// the device's `identity` holds the same.
    pub(crate) identity: Option<Arc<StaticIdentity<Kernel>>>,
    /// The listen port: the configured one while down, the bound one while up.
    pub(crate) listen_port: u16,
    pub(crate) fwmark: u32,
    pub(crate) peers: Peers,
    /// Changes on every configuration change (dump consistency); never 0.
    pub(crate) generation: u32,
}

impl Config {
    pub(crate) fn new() -> Result<Self> {
        Ok(Config {
            private_key: Key::zero(),
            identity: None,
            listen_port: 0,
            fwmark: 0,
            peers: Peers::new().map_err(|_| ENOMEM)?,
            generation: 1,
        })
    }

    /// Allocates everything `update` may need, so that [`Config::apply`]
    /// cannot fail. Changes nothing observable.
    pub(crate) fn prepare(&mut self, dev: &NetDevice<Device>, update: &Update) -> Result<Applied> {
        // The private key the update sets, if it changes it.
        let new_key = update
            .private_key
            .as_ref()
            .filter(|k| !self.private_key.ct_eq(k.as_bytes()));
        let identity = match new_key.filter(|k| !k.is_zero()) {
            Some(k) => Some(Arc::new(StaticIdentity::new(k.duplicate()), GFP_KERNEL)?),
            None => None,
        };
        // The device's public key once the update is applied, if any.
        let own = new_key.map_or(self.identity.as_deref(), |_| identity.as_deref());
        let keys = self.new_keys(update, own.map(|i| i.public_key()))?;
        let may_create = keys.len();
        let reserve = self.peers.reserve(dev, &keys)?;
        // The table batch: at most one op per existing peer (REPLACE_PEERS),
        // one for a peer removed by a new private key, and per peer update
        // two plus one per allowed IP.
        let mut n_ops = self.peers.len().saturating_add(1);
        let mut inserts = 0usize;
        for p in update.peers.iter() {
            n_ops = n_ops.saturating_add(2).saturating_add(p.allowed_ips.len());
            // Summed saturating: `count` checks for overflow, a panic site.
            let adds = p.allowed_ips.iter().filter(|(_, rm)| !rm);
            inserts = adds.fold(inserts, |n, _| n.saturating_add(1));
        }
        // The tables the packets read: room for every insertion.
        let max_peer = self.peers.max_id_after(may_create);
        dev.data()
            .routing
            .prepare(|t: &mut Tables| t.reserve(max_peer, inserts, may_create))?;
        let n_removed = self.peers.len().saturating_add(update.peers.len());
        Ok(Applied {
            reserve,
            identity,
            ops: KVVec::with_capacity(n_ops, GFP_KERNEL)?,
            removed: KVVec::with_capacity(n_removed, GFP_KERNEL)?,
            touched: KVVec::with_capacity(update.peers.len(), GFP_KERNEL)?,
            keepalive: KVVec::with_capacity(update.peers.len(), GFP_KERNEL)?,
            identity_changed: false,
        })
    }

    /// The public keys of the peers `update` creates, in order, found by
    /// applying it in order as [`Config::apply`] will; ENOSPC if a creation
    /// would find the device at `MAX_PEERS` peers, as the C driver's
    /// in-order application refuses it (so a key created, removed and
    /// created again counts once, and a removal makes room for a later
    /// creation). `own`: the device's public key after the update.
    /// O(n²) in the message's peers.
    fn new_keys(
        &self,
        update: &Update,
        own: Option<&[u8; KEY_LEN]>,
    ) -> Result<KVVec<[u8; KEY_LEN]>> {
        let exists_now =
            |k: &[u8; KEY_LEN]| !update.replace_peers && self.peers.lookup(k).is_some();
        // A peer with the new public key goes with the key change (no peer
        // ever has the device's own key otherwise).
        let gone = usize::from(own.is_some_and(|k| exists_now(k)));
        let alive = if update.replace_peers {
            0
        } else {
            self.peers.len().saturating_sub(gone)
        };
        // Entries with the device's own key are ignored (see `apply_peer`).
        let entries = update
            .peers
            .iter()
            .filter(move |p| own != Some(&p.public_key));
        let entries = entries.map(|p: &PeerUpdate| Entry {
            key: &p.public_key,
            remove: p.remove_me,
            create: !p.remove_me && !p.update_only,
        });
        let mut keys = KVVec::new();
        peerplan::creations(entries, exists_now, alive, MAX_PEERS, ENOSPC, |k| {
            Kernel::vec_push(&mut keys, *k).map_err(|_| ENOMEM)
        })?;
        Ok(keys)
    }

    /// Applies a validated update into what [`Config::prepare`] allocated for
    /// it (the listen port was handled by the caller). Cannot fail; what the
    /// data plane has to do is left in `out`.
    pub(crate) fn apply(&mut self, dev: &NetDevice<Device>, update: Update, out: &mut Applied) {
        // Never 0.
        self.generation = self.generation.wrapping_add(1).max(1);
        if let Some(mark) = update.fwmark.filter(|m| *m != self.fwmark) {
            self.fwmark = mark;
            dev.data().fwmark.store(mark, Ordering::Relaxed);
            for p in self.peers.iter() {
                p.clear_endpoint_src();
            }
        }
        if update.replace_peers {
            self.peers.remove_all(|p| out.remove(Some(p)));
        }
        if let Some(key) = update.private_key {
            self.set_private_key(dev, key, out);
        }
        for pu in update.peers {
            self.apply_peer(pu, out);
        }
    }

    /// The C driver's private-key rules: an unchanged key is a no-op; a peer
    /// whose public key is the new public key is removed; the stored key is
    /// clamped; an all-zero key leaves the device without identity. Every
    /// peer's handshake is redone for the new key and its sessions stop
    /// sending. Notes in `out` whether the key changed.
    fn set_private_key(&mut self, dev: &NetDevice<Device>, key: Key<Kernel>, out: &mut Applied) {
        if self.private_key.ct_eq(key.as_bytes()) {
            return;
        }
        let identity = out.identity.take();
        let own = identity
            .as_ref()
            .and_then(|i| self.peers.lookup(i.public_key()));
        out.remove(own.and_then(|id| self.peers.remove(id)));
        let mut clamped = key;
        // X25519 clamping (`curve25519_clamp_secret`).
        let k = clamped.as_mut_bytes();
        k[0] &= 248;
        k[31] = (k[31] & 127) | 64;
        self.private_key = clamped;
        self.identity = identity.clone();
        let d = dev.data();
        let mut dev_identity = d.identity.write();
        *dev_identity = identity;
        d.cookie_checker
            .lock()
            .set_public_key(self.identity.as_deref().map(|i| i.public_key()));
        for p in self.peers.iter() {
            session::set_identity(p, self.identity.as_deref());
        }
        drop(dev_identity);
        out.identity_changed = true;
    }

    fn apply_peer(&mut self, pu: PeerUpdate, out: &mut Applied) {
        let peer = match self
            .peers
            .lookup(&pu.public_key)
            .and_then(|id| self.peers.get(id))
        {
            Some(p) => p.clone(),
            None => {
                // Not to be created.
                if pu.remove_me || pu.update_only {
                    return;
                }
                // A peer with the device's own public key is silently
                // ignored, as the C driver does.
                let identity = self.identity.as_deref();
                if identity.is_some_and(|me| Kernel::ct_eq(me.public_key(), &pu.public_key)) {
                    return;
                }
                let reserve = &mut out.reserve;
                let Some(p) = self.peers.insert(reserve, &pu.public_key, identity) else {
                    pr_err!("peer reservation missing: configuration incomplete\n");
                    return;
                };
                let _ = out.ops.push(TableOp::AddPeer(p.clone()), GFP_KERNEL);
                p
            }
        };
        let id = peer.id();
        if pu.remove_me {
            out.remove(self.peers.remove(id));
            return;
        }
        if let Some(psk) = pu.preshared_key.as_ref() {
            // All zero: none.
            peer.handshake
                .lock()
                .set_preshared_key(Some(psk.as_bytes()));
        }
        if let Some(ep) = pu.endpoint {
            peer.set_endpoint(ep.to_xmit(), ep);
        }
        if let Some(ka) = pu.persistent_keepalive {
            // Turning it on for a running peer sends a keepalive at once.
            if peer.timers.lock().set_persistent_keepalive(ka) {
                let _ = out.keepalive.push(peer.clone(), GFP_KERNEL);
            }
        }
        if pu.replace_allowed_ips {
            let _ = out.ops.push(TableOp::RemovePrefixes(id), GFP_KERNEL);
        }
        for &(prefix, remove) in pu.allowed_ips.iter() {
            let op = if remove {
                TableOp::Remove(prefix, id)
            } else {
                TableOp::Insert(prefix, id)
            };
            let _ = out.ops.push(op, GFP_KERNEL);
        }
        // A peer named twice is touched twice: harmless.
        let _ = out.touched.push(peer, GFP_KERNEL);
    }
}

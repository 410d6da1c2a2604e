// SPDX-License-Identifier: GPL-2.0
//! A device's configuration (what `wg` sets and shows) and how one
//! `WG_CMD_SET_DEVICE` message is applied to it: all or nothing.
//!
//! The netlink layer validates a message completely into an [`Update`]
//! (every input error is found there, before anything changes); then
//! [`Config::prepare`] allocates everything the update may need; then the
//! listen port is rebound (the one step that can fail for reasons outside the
//! message, done before any other change); then [`Config::apply`] makes the
//! changes, which cannot fail. The order of the changes is the C driver's
//! (`wg_set_device`/`set_peer`): fwmark, port, REPLACE_PEERS, private key,
//! then each peer in message order.
#![forbid(unsafe_code)]

use crate::kapi::error::{enomem, enospc};
use crate::kapi::platform::Kernel;
use crate::peer::{keys_equal, Endpoint, PeerReserve, Peers, MAX_PEERS};
use crate::proto::allowedips::Prefix;
use crate::proto::handshake::StaticIdentity;
use crate::proto::platform::KEY_LEN;
use crate::proto::secret::Key;
use crate::routing::Routing;
use crate::socket::Sockets;
use kernel::prelude::*;

/// One allowed-IP change of a peer.
pub(crate) struct AllowedIpChange {
    pub(crate) prefix: Prefix,
    /// `WGALLOWEDIP_F_REMOVE_ME`: remove instead of add.
    pub(crate) remove: bool,
}

/// The changes of one peer (`WGDEVICE_A_PEERS` entry), validated.
pub(crate) struct PeerUpdate {
    pub(crate) public_key: [u8; KEY_LEN],
    pub(crate) preshared_key: Option<Key<Kernel>>,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) persistent_keepalive: Option<u16>,
    pub(crate) remove_me: bool,
    pub(crate) update_only: bool,
    pub(crate) replace_allowed_ips: bool,
    pub(crate) allowed_ips: KVVec<AllowedIpChange>,
}

impl PeerUpdate {
    /// Whether applying this may create the peer.
    fn may_create(&self) -> bool {
        !self.remove_me && !self.update_only
    }
}

/// The changes of one `WG_CMD_SET_DEVICE` message, validated.
pub(crate) struct Update {
    pub(crate) private_key: Option<Key<Kernel>>,
    pub(crate) listen_port: Option<u16>,
    pub(crate) fwmark: Option<u32>,
    pub(crate) replace_peers: bool,
    pub(crate) peers: KVVec<PeerUpdate>,
}

impl Update {
    pub(crate) fn new() -> Self {
        Update { private_key: None, listen_port: None, fwmark: None, replace_peers: false, peers: KVVec::new() }
    }
}

/// What [`Config::prepare`] allocated for an update.
pub(crate) struct Prepared {
    peers: PeerReserve,
}

/// The configuration of one device; behind the device's mutex.
pub(crate) struct Config {
    /// The private key as stored (clamped), all zero initially.
    private_key: Key<Kernel>,
    /// Present when the private key is not all zero (the C `has_identity`).
    identity: Option<StaticIdentity<Kernel>>,
    /// The listen port: the configured one while down, the bound one while up.
    pub(crate) listen_port: u16,
    pub(crate) fwmark: u32,
    pub(crate) peers: Peers,
    pub(crate) routing: Routing,
    /// The UDP sockets (bound while the device is up).
    pub(crate) sockets: Sockets,
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
            peers: Peers::new().map_err(|_| enomem())?,
            routing: Routing::new(),
            sockets: Sockets::default(),
            generation: 1,
        })
    }

    /// The private key as stored (clamped).
    pub(crate) fn private_key(&self) -> &Key<Kernel> {
        &self.private_key
    }

    pub(crate) fn identity(&self) -> Option<&StaticIdentity<Kernel>> {
        self.identity.as_ref()
    }

    /// Allocates everything `update` may need, so that [`Config::apply`]
    /// cannot fail. Changes nothing observable.
    pub(crate) fn prepare(&mut self, update: &Update) -> Result<Prepared> {
        let may_create = update.peers.iter().filter(|p| p.may_create()).count();
        // Peers that can exist after the update, at most: a peer whose key
        // exists now only comes back after being removed in the same update.
        let new_keys = update
            .peers
            .iter()
            .filter(|p| p.may_create() && (update.replace_peers || self.peers.lookup(&p.public_key).is_none()))
            .count();
        let base = if update.replace_peers { 0 } else { self.peers.len() };
        if base.saturating_add(new_keys) > MAX_PEERS {
            return Err(enospc());
        }
        let peers = self.peers.reserve(may_create).map_err(|_| enomem())?;
        self.routing
            .reserve(self.peers.max_id_after(may_create))
            .map_err(|_| enomem())?;
        // Nodes for every allowed IP the update adds, so that applying it
        // cannot run out of memory halfway.
        let (mut v4, mut v6) = (0usize, 0usize);
        for change in update.peers.iter().flat_map(|p| p.allowed_ips.iter()).filter(|c| !c.remove) {
            match change.prefix {
                Prefix::V4 { .. } => v4 = v4.saturating_add(1),
                Prefix::V6 { .. } => v6 = v6.saturating_add(1),
            }
        }
        self.routing.reserve_inserts(v4, v6).map_err(|_| enomem())?;
        Ok(Prepared { peers })
    }

    /// Applies a validated, prepared update (the listen port was handled by
    /// the caller). `running`: the device is up.
    pub(crate) fn apply(&mut self, update: Update, mut prep: Prepared, _running: bool) -> Result {
        self.bump_generation();
        if let Some(mark) = update.fwmark {
            // The data plane clears every peer's cached source address here.
            self.fwmark = mark;
        }
        if update.replace_peers {
            self.peers.clear();
            self.routing.clear();
        }
        if let Some(key) = update.private_key {
            self.set_private_key(key);
        }
        let mut result = Ok(());
        for pu in update.peers {
            if let Err(e) = self.apply_peer(pu, &mut prep) {
                // Only a broken reservation gets here; keep going so that
                // the rest of the update is applied as planned.
                result = Err(e);
            }
        }
        result
    }

    fn bump_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.generation = 1;
        }
    }

    /// The C driver's private-key rules: an unchanged key is a no-op; a peer
    /// whose public key is the new public key is removed; the stored key is
    /// clamped; an all-zero key leaves the device without identity.
    fn set_private_key(&mut self, key: Key<Kernel>) {
        if self.private_key.ct_eq(key.as_bytes()) {
            return;
        }
        let identity = if key.is_zero() { None } else { Some(StaticIdentity::new(key.duplicate())) };
        if let Some(id) = identity.as_ref() {
            if let Some(pid) = self.peers.lookup(id.public_key()) {
                self.remove_peer(pid);
            }
        }
        let mut clamped = key;
        clamp(clamped.as_mut_bytes());
        self.private_key = clamped;
        self.identity = identity;
        let identity = self.identity.as_ref();
        self.peers.for_each_mut(|p| p.set_identity(identity));
    }

    fn remove_peer(&mut self, id: crate::proto::allowedips::PeerId) {
        self.routing.remove_by_peer(id);
        self.peers.remove(id);
    }

    fn apply_peer(&mut self, pu: PeerUpdate, prep: &mut Prepared) -> Result {
        let id = match self.peers.lookup(&pu.public_key) {
            Some(id) => id,
            None => {
                if !pu.may_create() {
                    return Ok(());
                }
                // A peer with the device's own public key is silently
                // ignored, as the C driver does.
                if let Some(me) = self.identity.as_ref() {
                    if keys_equal(me.public_key(), &pu.public_key) {
                        return Ok(());
                    }
                }
                let identity = self.identity.as_ref();
                self.peers
                    .insert(&mut prep.peers, &pu.public_key, identity)
                    .ok_or_else(enomem)?
            }
        };
        if pu.remove_me {
            self.remove_peer(id);
            return Ok(());
        }
        if let Some(peer) = self.peers.get_mut(id) {
            if let Some(psk) = pu.preshared_key.as_ref() {
                peer.set_preshared_key(psk);
            }
            if let Some(ep) = pu.endpoint {
                peer.endpoint = Some(ep);
            }
            if let Some(ka) = pu.persistent_keepalive {
                // The data plane sends a keepalive here when one is newly
                // enabled on a running device.
                peer.persistent_keepalive = ka;
            }
        }
        if pu.replace_allowed_ips {
            self.routing.remove_by_peer(id);
        }
        for change in pu.allowed_ips.iter() {
            if change.remove {
                self.routing.remove(&change.prefix, id);
            } else {
                // `reserve` then insert: the insert cannot fail for lack of
                // memory once the reserve succeeded.
                self.routing.reserve(id).map_err(|_| enomem())?;
                self.routing.insert(&change.prefix, id).map_err(|_| enomem())?;
            }
        }
        Ok(())
    }
}

/// X25519 clamping (`curve25519_clamp_secret`).
fn clamp(k: &mut [u8; KEY_LEN]) {
    k[0] &= 248;
    k[31] = (k[31] & 127) | 64;
}

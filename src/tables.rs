// SPDX-License-Identifier: GPL-2.0
//! The tables every packet reads: cryptokey routing (the allowed-IPs trie),
//! the peers by number, and the peers by public key. Packets read them with
//! no lock inside an RCU read-side section; configuration writes them through
//! [`LeftRight`] (two copies, each change applied to both), one batch of
//! [`TableOp`]s per configuration message, all or nothing.
#![forbid(unsafe_code)]

use crate::kapi::ordered::cond_resched_every_64;
use crate::kapi::platform::Kernel;
use crate::kapi::skb::IpAddr;
use crate::kapi::sync::{LeftRight, Resync};
use crate::peer::PeerRef;
use crate::proto::allowedips::{AllowedIps, PeerId, Prefix};
use crate::proto::platform::{Alloc, KEY_LEN};
use crate::proto::pubkey_table::PubkeyTable;
use crate::proto::siphash::SipKey;
use kernel::error::code::ENOMEM;
use kernel::prelude::*;

/// One change to the tables.
pub(crate) enum TableOp {
    /// Publish a new peer under its number and key.
    AddPeer(PeerRef),
    /// Unpublish a peer and its prefixes.
    RemovePeer(PeerId),
    /// Remove every prefix of a peer.
    RemovePrefixes(PeerId),
    /// Route a prefix to a peer (taking it from another peer if needed).
    Insert(Prefix, PeerId),
    /// Remove a prefix if it routes to the peer.
    Remove(Prefix, PeerId),
}

/// One copy of the tables.
pub(crate) struct Tables {
    pub(crate) trie: AllowedIps<Kernel>,
    peers: KVVec<Option<PeerRef>>,
    by_key: PubkeyTable<Kernel, Kernel>,
}

/// The device's tables.
pub(crate) type Routing = LeftRight<Tables>;

impl Tables {
    /// Empty tables.
    pub(crate) fn new() -> Result<Self> {
        Ok(Tables {
            trie: AllowedIps::new(),
            peers: KVVec::new(),
            by_key: PubkeyTable::new(SipKey::random()).map_err(|_| ENOMEM)?,
        })
    }

    /// The peer numbered `id`.
    pub(crate) fn peer(&self, id: PeerId) -> Option<&PeerRef> {
        self.peers.get(id.0 as usize)?.as_ref()
    }

    /// The peer whose public key is `key`.
    pub(crate) fn peer_by_key(&self, key: &[u8; KEY_LEN]) -> Option<&PeerRef> {
        self.peer(self.by_key.lookup(key)?)
    }

    /// The peer an address routes to (cryptokey routing).
    pub(crate) fn route(&self, addr: &IpAddr) -> Option<&PeerRef> {
        self.peer(self.route_id(addr)?)
    }

    /// The number of the peer an address routes to.
    pub(crate) fn route_id(&self, addr: &IpAddr) -> Option<PeerId> {
        match addr {
            IpAddr::V4(a) => self.trie.lookup_v4(*a),
            IpAddr::V6(a) => self.trie.lookup_v6(a),
        }
    }

    /// Makes sure a batch with peers numbered up to `max_peer`, `inserts`
    /// prefix insertions and `added` new peers cannot fail for lack of
    /// memory. Changes nothing observable.
    pub(crate) fn reserve(&mut self, max_peer: PeerId, inserts: usize, added: usize) -> Result {
        self.trie.reserve(max_peer, inserts).map_err(|_| ENOMEM)?;
        let want = (max_peer.0 as usize).saturating_add(1);
        let have = self.peers.len();
        Kernel::vec_reserve(&mut self.peers, want.saturating_sub(have)).map_err(|_| ENOMEM)?;
        self.by_key.reserve(added).map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// Applies a batch: everything is allocated first (on failure nothing
    /// changed; after [`Tables::reserve`] for the batch nothing is), then the
    /// changes are made and cannot fail.
    pub(crate) fn apply(&mut self, ops: &[TableOp]) -> Result {
        // Prefix insertions, the highest peer number named, peers added.
        let (mut inserts, mut max_peer, mut added) = (0usize, 0u32, 0usize);
        for op in ops {
            match op {
                TableOp::Insert(_, p) => {
                    inserts = inserts.saturating_add(1);
                    max_peer = max_peer.max(p.0);
                }
                TableOp::AddPeer(p) => {
                    max_peer = max_peer.max(p.id().0);
                    added = added.saturating_add(1);
                }
                _ => {}
            }
        }
        self.reserve(PeerId(max_peer), inserts, added)?;
        // Nothing below allocates.
        for op in ops {
            match op {
                TableOp::AddPeer(peer) => self.add_peer(peer.id(), peer),
                TableOp::RemovePeer(id) => {
                    self.trie.remove_by_peer(*id);
                    if let Some(p) = self.peers.get_mut(id.0 as usize).and_then(Option::take) {
                        self.by_key.remove(&p.public_key);
                    }
                }
                TableOp::RemovePrefixes(id) => self.trie.remove_by_peer(*id),
                // Room reserved: cannot fail.
                TableOp::Insert(prefix, id) => _ = self.trie.insert(prefix, *id),
                TableOp::Remove(prefix, id) => _ = self.trie.remove(prefix, *id),
            }
        }
        Ok(())
    }

    /// Publishes `peer` under `id` and its key (room reserved).
    fn add_peer(&mut self, id: PeerId, peer: &PeerRef) {
        let missing = (id.0 as usize)
            .saturating_add(1)
            .saturating_sub(self.peers.len());
        // Room reserved: no allocation. One at a time through `vec_push`,
        // whose growth check is the kernel crate's `Vec`, not inlined here.
        for _ in 0..missing {
            let _ = Kernel::vec_push(&mut self.peers, None);
        }
        if let Some(slot) = self.peers.get_mut(id.0 as usize) {
            *slot = Some(peer.clone());
        }
        let _ = self.by_key.insert(&peer.public_key, id);
    }
}

impl Resync for Tables {
    fn resync_from(&mut self, src: &Self) -> Result {
        // Built apart: on failure `self` is left as it was.
        let mut t = Tables::new()?;
        for (i, p) in src.peers.iter().enumerate() {
            // Up to `MAX_PEERS` of them, under the configuration's mutex.
            cond_resched_every_64(i);
            let (Ok(n), Some(p)) = (u32::try_from(i), p.as_ref()) else {
                continue;
            };
            let id = PeerId(n);
            t.reserve(id, 0, 1)?;
            t.add_peer(id, p);
            for prefix in src.trie.peer_prefixes(id) {
                t.trie.insert(&prefix, id).map_err(|_| ENOMEM)?;
            }
        }
        *self = t;
        Ok(())
    }
}

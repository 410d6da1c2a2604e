// SPDX-License-Identifier: GPL-2.0
//! Cryptokey routing: the device's allowed-IPs table behind one small
//! wrapper, so that the concurrency scheme of the data plane's lookups can be
//! changed here alone. Today every access goes through the device's
//! configuration mutex (`Device::config`); writers are the netlink
//! configuration, readers the dump (and later the data plane).
#![forbid(unsafe_code)]

use crate::kapi::platform::Kernel;
use crate::proto::allowedips::{AllowedIps, AllowedIpsError, PeerId, PeerPrefixes, Prefix};

/// The allowed IPs of one device.
pub(crate) struct Routing {
    table: AllowedIps<Kernel>,
}

impl Routing {
    /// An empty table (does not allocate).
    pub(crate) fn new() -> Self {
        Routing { table: AllowedIps::new() }
    }

    /// Makes sure the next insertion for any peer numbered up to `max_peer`
    /// cannot fail for lack of memory in the per-peer lists.
    pub(crate) fn reserve(&mut self, max_peer: PeerId) -> Result<(), AllowedIpsError> {
        self.table.reserve(max_peer)
    }

    /// Makes sure that `v4` IPv4 and `v6` IPv6 insertions cannot fail for
    /// lack of memory (with [`Routing::reserve`] for the peers involved).
    pub(crate) fn reserve_inserts(&mut self, v4: usize, v6: usize) -> Result<(), AllowedIpsError> {
        self.table.reserve_nodes(v4, v6)
    }

    /// Allows `prefix` for `peer` (reassigning it if another peer had it).
    pub(crate) fn insert(&mut self, prefix: &Prefix, peer: PeerId) -> Result<(), AllowedIpsError> {
        match *prefix {
            Prefix::V4 { addr, cidr } => self.table.insert_v4(addr, cidr, peer),
            Prefix::V6 { ref addr, cidr } => self.table.insert_v6(addr, cidr, peer),
        }
    }

    /// Removes `prefix` if it belongs to `peer`; whether it did.
    pub(crate) fn remove(&mut self, prefix: &Prefix, peer: PeerId) -> bool {
        match *prefix {
            Prefix::V4 { addr, cidr } => self.table.remove_v4(addr, cidr, peer),
            Prefix::V6 { ref addr, cidr } => self.table.remove_v6(addr, cidr, peer),
        }
    }

    /// Removes every prefix of `peer`.
    pub(crate) fn remove_by_peer(&mut self, peer: PeerId) {
        self.table.remove_by_peer(peer)
    }

    /// Removes everything.
    pub(crate) fn clear(&mut self) {
        self.table.clear()
    }

    /// The peer an IPv4 destination routes to.
    #[allow(dead_code)] // For the data plane and diagnostics.
    pub(crate) fn lookup_v4(&self, addr: [u8; 4]) -> Option<PeerId> {
        self.table.lookup_v4(addr)
    }

    /// The peer an IPv6 destination routes to.
    #[allow(dead_code)] // For the data plane and diagnostics.
    pub(crate) fn lookup_v6(&self, addr: &[u8; 16]) -> Option<PeerId> {
        self.table.lookup_v6(addr)
    }

    /// `peer`'s prefixes in the C driver's order (`wg showconf`'s).
    #[allow(dead_code)] // For the data plane and diagnostics.
    pub(crate) fn walk(&self, peer: PeerId) -> PeerPrefixes<'_, Kernel> {
        self.table.peer_prefixes(peer)
    }

    /// `peer`'s prefixes after `after` (`None`: from the first), to resume a
    /// dump; `None` if `after` is no longer one of `peer`'s.
    pub(crate) fn walk_after(&self, peer: PeerId, after: Option<&Prefix>) -> Option<PeerPrefixes<'_, Kernel>> {
        match after {
            None => Some(self.table.peer_prefixes(peer)),
            Some(p) => self.table.peer_prefixes_after(peer, p),
        }
    }

    /// Number of prefixes of `peer`.
    #[allow(dead_code)] // For the data plane and diagnostics.
    pub(crate) fn count(&self, peer: PeerId) -> usize {
        self.table.prefix_count(peer)
    }

    /// Changes on every modification.
    pub(crate) fn seq(&self) -> u64 {
        self.table.seq()
    }
}

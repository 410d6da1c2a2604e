// SPDX-License-Identifier: GPL-2.0
//! Allowed IPs: the cryptokey routing table. Maps an IPv4 or IPv6 address to
//! the peer whose allowed prefix is the longest one containing it.
//!
//! Two binary, path-compressed tries (one per address family), as the C
//! driver's `allowedips.c`: every node holds a prefix (key and length); a node
//! either carries a peer or is an intermediate node with exactly two
//! children, created where two prefixes diverge. Walking down compares the
//! node's prefix with the address (one XOR and a leading-zero count) and takes
//! the child selected by the address bit just after the node's prefix.
//!
//! Nodes live in two index-addressed arrays per family (no pointers, no
//! `unsafe`): the *hot* array holds what lookups read (key, children, peer and
//! prefix length: 16 bytes per IPv4 node, 32 bytes per IPv6 node, so a node
//! never straddles a cache line), the *cold* array what only writers read
//! (parent, and the links of the per-peer list: 12 bytes). Freed nodes go to a
//! free list and are reused.
//!
//! Each peer's prefixes are kept on one list, across both families, in the C
//! driver's order: insertion order, a prefix inserted again (for the same or
//! another peer) moves to the end of its (new) peer's list. This is the order
//! `wg showconf` prints.
//!
//! Concurrency: lookups take `&self`, do not allocate, touch one node per
//! level (at most 33 or 129) and cannot panic. Writers take `&mut self`. Every
//! operation is deterministic: the same sequence of operations on two tables
//! gives the same lookups and the same walks, so the kernel glue may keep two
//! copies (left-right) and apply each change to both. To keep two copies in
//! step even when memory is short, call [`AllowedIps::reserve`] on both copies
//! first: an insert that follows a successful reserve cannot fail.

use super::platform::{Alloc, AllocError};

/// A peer as the kernel glue numbers them: small dense integers, at most
/// [`PeerId::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

impl PeerId {
    /// Largest peer number the allowed-IPs table accepts (2^24 - 2, well above
    /// `MAX_PEERS_PER_DEVICE`): the table packs the peer and the prefix length
    /// in one word.
    pub const MAX: u32 = (1 << 24) - 2;
}

/// Why an insertion failed. The table is unchanged in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowedIpsError {
    /// Out of memory.
    NoMemory,
    /// The prefix length exceeds the address length (32 or 128).
    InvalidCidr,
    /// The peer number exceeds [`PeerId::MAX`].
    InvalidPeer,
}

impl From<AllocError> for AllowedIpsError {
    fn from(_: AllocError) -> Self {
        Self::NoMemory
    }
}

/// An allowed prefix, as read back from the table (host bits are zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// An IPv4 prefix: address in network byte order and length 0..=32.
    V4 {
        /// Address, network byte order.
        addr: [u8; 4],
        /// Prefix length.
        cidr: u8,
    },
    /// An IPv6 prefix: address in network byte order and length 0..=128.
    V6 {
        /// Address, network byte order.
        addr: [u8; 16],
        /// Prefix length.
        cidr: u8,
    },
}

/// No node / end of list.
pub(crate) const NIL: u32 = u32::MAX;
/// Family bit of a list link: set for IPv6 nodes.
pub(crate) const LINK_V6: u32 = 1 << 31;
/// Most nodes per family (indices stay below the family bit and NIL).
const MAX_NODES: u32 = LINK_V6 - 1;
/// Prefix-length byte of a node on the free list.
pub(crate) const FREE_CIDR: u32 = 0xff;

/// A trie key: the address as an integer in host order, most significant bit
/// first.
pub(crate) trait Key: Copy + Eq {
    /// Address length in bits.
    const BITS: u8;
    /// The all-zero key.
    const ZERO: Self;
    /// Family bit of this family's list links.
    const LINK: u32;
    /// This family's trie in `t`.
    fn trie<A: Alloc>(t: &AllowedIps<A>) -> &Trie<A, Self>;
    fn trie_mut<A: Alloc>(t: &mut AllowedIps<A>) -> &mut Trie<A, Self>;
    /// The prefix `self/cidr`, as read back.
    fn prefix(self, cidr: u8) -> Prefix;
    /// Number of leading bits `self` and `other` have in common.
    fn common_bits(self, other: Self) -> u8;
    /// Bit `index` (0 = most significant); `index < BITS`.
    fn bit(self, index: u8) -> bool;
    /// `self` with every bit from `cidr` on cleared.
    fn masked(self, cidr: u8) -> Self;
}

/// The `n` most significant bits set (n in 0..=64; more counts as 64).
#[inline]
fn mask64(n: u8) -> u64 {
    u64::MAX
        .checked_shl(64u32.saturating_sub(u32::from(n)))
        .unwrap_or(0)
}

impl Key for u32 {
    const BITS: u8 = 32;
    const ZERO: Self = 0;
    const LINK: u32 = 0;
    fn trie<A: Alloc>(t: &AllowedIps<A>) -> &Trie<A, Self> {
        &t.v4
    }
    fn trie_mut<A: Alloc>(t: &mut AllowedIps<A>) -> &mut Trie<A, Self> {
        &mut t.v4
    }
    fn prefix(self, cidr: u8) -> Prefix {
        Prefix::V4 {
            addr: self.to_be_bytes(),
            cidr,
        }
    }
    #[inline]
    fn common_bits(self, other: Self) -> u8 {
        (self ^ other).leading_zeros() as u8
    }
    #[inline]
    fn bit(self, index: u8) -> bool {
        self.rotate_left(u32::from(index).wrapping_add(1)) & 1 != 0
    }
    #[inline]
    fn masked(self, cidr: u8) -> Self {
        self & u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(cidr)))
            .unwrap_or(0)
    }
}

/// An IPv6 key as two words (not `u128`, which some kernel targets lower to
/// library calls the kernel does not provide).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct V6 {
    hi: u64,
    lo: u64,
}

impl V6 {
    // `u128` only to convert: shifts by a constant 64 are plain word moves.
    fn from_bytes(addr: &[u8; 16]) -> Self {
        let a = u128::from_be_bytes(*addr);
        Self {
            hi: (a >> 64) as u64,
            lo: a as u64,
        }
    }

    fn to_bytes(self) -> [u8; 16] {
        ((u128::from(self.hi) << 64) | u128::from(self.lo)).to_be_bytes()
    }
}

impl Key for V6 {
    const BITS: u8 = 128;
    const ZERO: Self = V6 { hi: 0, lo: 0 };
    const LINK: u32 = LINK_V6;
    fn trie<A: Alloc>(t: &AllowedIps<A>) -> &Trie<A, Self> {
        &t.v6
    }
    fn trie_mut<A: Alloc>(t: &mut AllowedIps<A>) -> &mut Trie<A, Self> {
        &mut t.v6
    }
    fn prefix(self, cidr: u8) -> Prefix {
        Prefix::V6 {
            addr: self.to_bytes(),
            cidr,
        }
    }
    #[inline]
    fn common_bits(self, other: Self) -> u8 {
        let hi = self.hi ^ other.hi;
        if hi != 0 {
            hi.leading_zeros() as u8
        } else {
            (64 + (self.lo ^ other.lo).leading_zeros()) as u8
        }
    }
    #[inline]
    fn bit(self, index: u8) -> bool {
        let index = u32::from(index);
        if index < 64 {
            self.hi.rotate_left(index.wrapping_add(1)) & 1 != 0
        } else {
            self.lo.rotate_left(index.wrapping_sub(63)) & 1 != 0
        }
    }
    #[inline]
    fn masked(self, cidr: u8) -> Self {
        Self {
            hi: self.hi & mask64(cidr),
            lo: self.lo & mask64(cidr.saturating_sub(64)),
        }
    }
}

/// What lookups read.
#[derive(Clone, Copy)]
pub(crate) struct Node<K> {
    /// The prefix, host bits cleared.
    pub(crate) key: K,
    /// Children for bit `cidr` of the address being 0 and 1; NIL if none.
    /// On the free list, `child[0]` is the next free node.
    pub(crate) child: [u32; 2],
    /// Bits 0..8: prefix length (`FREE_CIDR` when free); bits 8..32: peer
    /// number plus one, 0 for an intermediate node.
    pub(crate) meta: u32,
}

impl<K: Key> Node<K> {
    #[inline]
    pub(crate) fn cidr(&self) -> u8 {
        (self.meta & 0xff) as u8
    }
    /// Peer number plus one, 0 if none.
    #[inline]
    pub(crate) fn peer_raw(&self) -> u32 {
        self.meta >> 8
    }
    #[inline]
    pub(crate) fn child_for(&self, bit: bool) -> u32 {
        let [zero, one] = self.child;
        if bit {
            one
        } else {
            zero
        }
    }
    #[inline]
    pub(crate) fn matches(&self, key: K) -> bool {
        key.common_bits(self.key) >= self.cidr()
    }
}

/// What only writers read.
#[derive(Clone, Copy)]
pub(crate) struct Cold {
    /// Parent node, NIL for the root.
    pub(crate) parent: u32,
    /// Previous and next prefix of the same peer (links carry `LINK_V6`).
    pub(crate) prev: u32,
    pub(crate) next: u32,
}

const COLD_NIL: Cold = Cold {
    parent: NIL,
    prev: NIL,
    next: NIL,
};

/// One family's trie.
pub(crate) struct Trie<A: Alloc, K: Key> {
    pub(crate) nodes: A::Vec<Node<K>>,
    pub(crate) cold: A::Vec<Cold>,
    pub(crate) root: u32,
    pub(crate) free: u32,
    pub(crate) free_count: usize,
}

impl<A: Alloc, K: Key> Trie<A, K> {
    pub(crate) fn new() -> Self {
        Self {
            nodes: A::vec_new(),
            cold: A::vec_new(),
            root: NIL,
            free: NIL,
            free_count: 0,
        }
    }

    #[inline]
    pub(crate) fn node(&self, i: u32) -> Option<&Node<K>> {
        self.nodes.get(i as usize)
    }

    /// The prefix, peer (raw) and cold record of node `i`.
    fn entry(&self, i: u32) -> Option<(Prefix, u32, Cold)> {
        let n = self.node(i)?;
        let cold = *self.cold.get(i as usize)?;
        Some((n.key.prefix(n.cidr()), n.peer_raw(), cold))
    }

    #[inline]
    fn node_mut(&mut self, i: u32) -> Option<&mut Node<K>> {
        self.nodes.get_mut(i as usize)
    }

    #[inline]
    fn cold_mut(&mut self, i: u32) -> Option<&mut Cold> {
        self.cold.get_mut(i as usize)
    }

    fn parent(&self, i: u32) -> u32 {
        self.cold.get(i as usize).map_or(NIL, |c| c.parent)
    }

    fn set_parent(&mut self, i: u32, parent: u32) {
        if let Some(c) = self.cold_mut(i) {
            c.parent = parent;
        }
    }

    /// Longest-prefix match: the peer number plus one, 0 if none.
    #[inline]
    fn lookup(&self, key: K) -> u32 {
        let mut found = 0;
        let mut i = self.root;
        // Prefix lengths strictly increase downwards: at most BITS + 1 levels.
        for _ in 0..=K::BITS {
            let Some(n) = self.node(i) else { break };
            if !n.matches(key) {
                break;
            }
            if n.peer_raw() != 0 {
                found = n.peer_raw();
            }
            let cidr = n.cidr();
            if cidr >= K::BITS {
                break;
            }
            i = n.child_for(key.bit(cidr));
        }
        found
    }

    /// The deepest node whose prefix contains `key/cidr` and is not longer,
    /// and whether its prefix is exactly `key/cidr`. `key` must be masked.
    fn placement(&self, key: K, cidr: u8) -> (u32, bool) {
        let mut parent = NIL;
        let mut i = self.root;
        for _ in 0..=K::BITS {
            let Some(n) = self.node(i) else { break };
            let ncidr = n.cidr();
            if ncidr > cidr || !n.matches(key) {
                break;
            }
            parent = i;
            if ncidr == cidr {
                return (parent, true);
            }
            i = n.child_for(key.bit(ncidr));
        }
        (parent, false)
    }

    /// Makes sure `n` nodes can be taken from the free list.
    fn reserve(&mut self, n: usize) -> Result<(), AllocError> {
        while self.free_count < n {
            let index = u32::try_from(self.nodes.len()).map_err(|_| AllocError)?;
            if index >= MAX_NODES || self.cold.len() != self.nodes.len() {
                return Err(AllocError);
            }
            let free = Node {
                key: K::ZERO,
                child: [self.free, NIL],
                meta: FREE_CIDR,
            };
            A::vec_push(&mut self.nodes, free)?;
            if let Err(e) = A::vec_push(&mut self.cold, COLD_NIL) {
                let _ = A::vec_pop(&mut self.nodes);
                return Err(e);
            }
            self.free = index;
            self.free_count = self.free_count.saturating_add(1);
        }
        Ok(())
    }

    /// Takes a node from the free list and initialises it.
    fn alloc(&mut self, key: K, cidr: u8, peer_raw: u32) -> Option<u32> {
        let i = self.free;
        let n = self.nodes.get_mut(i as usize)?;
        self.free = n.child[0];
        self.free_count = self.free_count.saturating_sub(1);
        *n = Node {
            key,
            child: [NIL, NIL],
            meta: (peer_raw << 8) | u32::from(cidr),
        };
        if let Some(c) = self.cold_mut(i) {
            *c = COLD_NIL;
        }
        Some(i)
    }

    /// Puts a node (already detached) on the free list.
    fn release(&mut self, i: u32) {
        let next = self.free;
        let Some(n) = self.node_mut(i) else { return };
        *n = Node {
            key: K::ZERO,
            child: [next, NIL],
            meta: FREE_CIDR,
        };
        if let Some(c) = self.cold_mut(i) {
            *c = COLD_NIL;
        }
        self.free = i;
        self.free_count = self.free_count.saturating_add(1);
    }

    /// Makes `new` take the place of `old` below `parent` (or at the root).
    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        if parent == NIL {
            self.root = new;
        } else if let Some(p) = self.node_mut(parent) {
            for slot in p.child.iter_mut() {
                if *slot == old {
                    *slot = new;
                    break;
                }
            }
        }
        if new != NIL {
            self.set_parent(new, parent);
        }
    }

    /// Hangs `child` below `parent` on the side its key selects.
    fn attach(&mut self, parent: u32, child: u32) {
        let Some(child_key) = self.node(child).map(|n| n.key) else {
            return;
        };
        let Some(p) = self.node_mut(parent) else {
            return;
        };
        let side = usize::from(child_key.bit(p.cidr()));
        if let Some(slot) = p.child.get_mut(side) {
            *slot = child;
        }
        self.set_parent(child, parent);
    }

    /// Inserts or reassigns `key/cidr` (masked) to `peer_raw`. Needs two free
    /// nodes. Returns the node and the previous peer (raw, 0 if none or new).
    fn insert(&mut self, key: K, cidr: u8, peer_raw: u32) -> Option<(u32, u32)> {
        let (parent, exact) = self.placement(key, cidr);
        if exact {
            let n = self.node_mut(parent)?;
            let old = n.peer_raw();
            n.meta = (peer_raw << 8) | u32::from(cidr);
            return Some((parent, old));
        }
        let down = match self.node(parent) {
            None => self.root,
            Some(p) => p.child_for(key.bit(p.cidr())),
        };
        let Some(down_key) = self.node(down).map(|n| n.key) else {
            // Empty trie, or an empty slot below `parent`.
            let new = self.alloc(key, cidr, peer_raw)?;
            if parent == NIL {
                self.root = new;
            } else {
                self.attach(parent, new);
            }
            return Some((new, 0));
        };
        // `down` is not inside the new prefix's path: they diverge at `common`
        // (shorter than `down`'s prefix), or `down` lies below the new prefix.
        let common = cidr.min(key.common_bits(down_key));
        let new = self.alloc(key, cidr, peer_raw)?;
        if common == cidr {
            self.attach(new, down);
            self.replace_child(parent, down, new);
        } else {
            let Some(mid) = self.alloc(key.masked(common), common, 0) else {
                self.release(new);
                return None;
            };
            self.attach(mid, down);
            self.attach(mid, new);
            self.replace_child(parent, down, mid);
        }
        Some((new, 0))
    }

    /// Clears the peer of node `i` (already unlinked from its peer list) and
    /// removes the node if it is no longer needed as a branch point, then its
    /// parent if that was an intermediate node left with one child.
    fn remove_node(&mut self, i: u32) {
        let Some(n) = self.node_mut(i) else { return };
        n.meta &= 0xff;
        let [c0, c1] = n.child;
        if c0 != NIL && c1 != NIL {
            // Still a branch point: stays as an intermediate node.
            return;
        }
        let child = if c0 != NIL { c0 } else { c1 };
        let parent = self.parent(i);
        self.replace_child(parent, i, child);
        self.release(i);
        if child != NIL {
            return;
        }
        let Some(p) = self.node(parent) else { return };
        if p.peer_raw() != 0 {
            return;
        }
        // `parent` is an intermediate node with one child left: splice it out.
        let [p0, p1] = p.child;
        let other = if p0 != NIL { p0 } else { p1 };
        let grandparent = self.parent(parent);
        self.replace_child(grandparent, parent, other);
        self.release(parent);
    }
}

/// Head, tail and length of one peer's prefix list.
#[derive(Clone, Copy)]
pub(crate) struct PeerList {
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) len: u32,
}

const EMPTY_LIST: PeerList = PeerList {
    head: NIL,
    tail: NIL,
    len: 0,
};

/// The allowed-IPs table of one device: both tries and every peer's list.
pub struct AllowedIps<A: Alloc> {
    pub(crate) v4: Trie<A, u32>,
    pub(crate) v6: Trie<A, V6>,
    /// Indexed by peer number; grown on demand.
    pub(crate) peers: A::Vec<PeerList>,
    pub(crate) seq: u64,
}

impl<A: Alloc> AllowedIps<A> {
    /// An empty table; does not allocate.
    pub fn new() -> Self {
        Self {
            v4: Trie::new(),
            v6: Trie::new(),
            peers: A::vec_new(),
            seq: 1,
        }
    }

    /// The peer whose allowed prefixes contain `addr` most specifically.
    #[inline]
    pub fn lookup_v4(&self, addr: [u8; 4]) -> Option<PeerId> {
        self.lookup(u32::from_be_bytes(addr))
    }

    /// The peer whose allowed prefixes contain `addr` most specifically.
    #[inline]
    pub fn lookup_v6(&self, addr: &[u8; 16]) -> Option<PeerId> {
        self.lookup(V6::from_bytes(addr))
    }

    #[inline]
    fn lookup<K: Key>(&self, key: K) -> Option<PeerId> {
        K::trie(self).lookup(key).checked_sub(1).map(PeerId)
    }

    /// Makes sure that the next insertion for `peer` (either family) cannot
    /// fail for lack of memory. Changes nothing observable.
    pub fn reserve(&mut self, peer: PeerId) -> Result<(), AllowedIpsError> {
        if peer.0 > PeerId::MAX {
            return Err(AllowedIpsError::InvalidPeer);
        }
        let want = peer.0 as usize + 1;
        let have = self.peers.len();
        if have < want {
            A::vec_reserve(&mut self.peers, want - have)?;
            while self.peers.len() < want {
                A::vec_push(&mut self.peers, EMPTY_LIST)?;
            }
        }
        self.reserve_nodes(1, 1)
    }

    /// Makes sure that `v4` IPv4 and `v6` IPv6 insertions in a row cannot
    /// fail for lack of memory (an insertion takes at most two nodes;
    /// removals in between only give nodes back). With [`AllowedIps::reserve`]
    /// for the highest peer involved, a whole batch of changes can be
    /// prepared before any of it is applied. Changes nothing observable.
    pub fn reserve_nodes(&mut self, v4: usize, v6: usize) -> Result<(), AllowedIpsError> {
        self.v4.reserve(v4.saturating_mul(2))?;
        self.v6.reserve(v6.saturating_mul(2))?;
        Ok(())
    }

    /// Allows `addr/cidr` (host bits ignored) for `peer`. If the prefix is
    /// already present, it is reassigned to `peer` and moves to the end of
    /// `peer`'s list. On error the table is unchanged.
    pub fn insert_v4(
        &mut self,
        addr: [u8; 4],
        cidr: u8,
        peer: PeerId,
    ) -> Result<(), AllowedIpsError> {
        self.insert(u32::from_be_bytes(addr), cidr, peer)
    }

    /// IPv6 version of [`AllowedIps::insert_v4`].
    pub fn insert_v6(
        &mut self,
        addr: &[u8; 16],
        cidr: u8,
        peer: PeerId,
    ) -> Result<(), AllowedIpsError> {
        self.insert(V6::from_bytes(addr), cidr, peer)
    }

    fn insert<K: Key>(&mut self, key: K, cidr: u8, peer: PeerId) -> Result<(), AllowedIpsError> {
        if cidr > K::BITS {
            return Err(AllowedIpsError::InvalidCidr);
        }
        self.reserve(peer)?;
        let (node, old) = K::trie_mut(self)
            .insert(key.masked(cidr), cidr, peer.0.wrapping_add(1))
            .ok_or(AllowedIpsError::NoMemory)?;
        // After a trie insert: move the node from `old` (raw, 0 = none) to
        // the end of `peer`'s list.
        let link = node | K::LINK;
        self.seq = self.seq.wrapping_add(1);
        if let Some(old) = old.checked_sub(1) {
            self.unlink(old, link);
        }
        self.append(peer.0, link);
        Ok(())
    }

    /// Removes `addr/cidr` (host bits ignored) if it is allowed for `peer`.
    /// Returns whether it was removed.
    pub fn remove_v4(&mut self, addr: [u8; 4], cidr: u8, peer: PeerId) -> bool {
        self.find(u32::from_be_bytes(addr), cidr)
            .is_some_and(|link| self.remove_link(link, peer))
    }

    /// IPv6 version of [`AllowedIps::remove_v4`].
    pub fn remove_v6(&mut self, addr: &[u8; 16], cidr: u8, peer: PeerId) -> bool {
        self.find(V6::from_bytes(addr), cidr)
            .is_some_and(|link| self.remove_link(link, peer))
    }

    /// The list link of the node holding exactly `key/cidr` (host bits
    /// ignored), peer or not.
    fn find<K: Key>(&self, key: K, cidr: u8) -> Option<u32> {
        if cidr > K::BITS {
            return None;
        }
        let (i, exact) = K::trie(self).placement(key.masked(cidr), cidr);
        exact.then_some(i | K::LINK)
    }

    /// The prefix, peer (raw) and cold record of the node at `link`.
    pub(crate) fn entry(&self, link: u32) -> Option<(Prefix, u32, Cold)> {
        if link & LINK_V6 != 0 {
            self.v6.entry(link & !LINK_V6)
        } else {
            self.v4.entry(link)
        }
    }

    /// The cold record of a list link, in whichever family it points to.
    fn link_cold(&mut self, link: u32) -> Option<&mut Cold> {
        if link == NIL {
            None
        } else if link & LINK_V6 != 0 {
            self.v6.cold_mut(link & !LINK_V6)
        } else {
            self.v4.cold_mut(link)
        }
    }

    /// [`Trie::remove_node`] of the node at `link`.
    fn remove_node(&mut self, link: u32) {
        if link & LINK_V6 != 0 {
            self.v6.remove_node(link & !LINK_V6);
        } else {
            self.v4.remove_node(link);
        }
    }

    /// Removes every prefix of `peer`.
    pub fn remove_by_peer(&mut self, peer: PeerId) {
        let Some(list) = self.peers.get_mut(peer.0 as usize) else {
            return;
        };
        let PeerList { head, len, .. } = core::mem::replace(list, EMPTY_LIST);
        if len == 0 {
            return;
        }
        self.seq = self.seq.wrapping_add(1);
        let mut link = head;
        let mut left = len;
        while link != NIL && left > 0 {
            let next = self.link_cold(link).map_or(NIL, |c| {
                let next = c.next;
                c.prev = NIL;
                c.next = NIL;
                next
            });
            self.remove_node(link);
            link = next;
            left -= 1;
        }
    }

    /// `peer`'s prefixes, in the C driver's order (insertion order; a
    /// prefix inserted again moved to the end).
    pub fn peer_prefixes(&self, peer: PeerId) -> PeerPrefixes<'_, A> {
        let list = self
            .peers
            .get(peer.0 as usize)
            .copied()
            .unwrap_or(EMPTY_LIST);
        PeerPrefixes {
            table: self,
            next: list.head,
            left: list.len,
        }
    }

    /// `peer`'s prefixes that come after `after` in its list, to resume a walk
    /// (a netlink dump) across calls; `None` if `after` is no longer one of
    /// `peer`'s prefixes. The kernel glue compares [`AllowedIps::seq`] too, to
    /// notice any change in between.
    pub fn peer_prefixes_after(&self, peer: PeerId, after: &Prefix) -> Option<PeerPrefixes<'_, A>> {
        let link = match *after {
            Prefix::V4 { addr, cidr } => self.find(u32::from_be_bytes(addr), cidr)?,
            Prefix::V6 { ref addr, cidr } => self.find(V6::from_bytes(addr), cidr)?,
        };
        let (_, node_peer, cold) = self.entry(link)?;
        if node_peer != peer.0.wrapping_add(1) {
            return None;
        }
        let list = self.peers.get(peer.0 as usize)?;
        Some(PeerPrefixes {
            table: self,
            next: cold.next,
            left: list.len,
        })
    }

    /// Changes whenever the table changes (as the C driver's `seq`).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Removes the node at `link` if it belongs to `peer`.
    fn remove_link(&mut self, link: u32, peer: PeerId) -> bool {
        if self.entry(link).map(|(_, raw, _)| raw) != Some(peer.0.wrapping_add(1)) {
            return false;
        }
        self.seq = self.seq.wrapping_add(1);
        self.unlink(peer.0, link);
        self.remove_node(link);
        true
    }

    fn append(&mut self, peer: u32, link: u32) {
        let Some(list) = self.peers.get_mut(peer as usize) else {
            return;
        };
        let tail = list.tail;
        if tail == NIL {
            list.head = link;
        }
        list.tail = link;
        list.len = list.len.saturating_add(1);
        if let Some(c) = self.link_cold(tail) {
            c.next = link;
        }
        if let Some(c) = self.link_cold(link) {
            c.prev = tail;
            c.next = NIL;
        }
    }

    fn unlink(&mut self, peer: u32, link: u32) {
        let Some(c) = self.link_cold(link) else {
            return;
        };
        let (prev, next) = (c.prev, c.next);
        c.prev = NIL;
        c.next = NIL;
        if let Some(p) = self.link_cold(prev) {
            p.next = next;
        }
        if let Some(n) = self.link_cold(next) {
            n.prev = prev;
        }
        let Some(list) = self.peers.get_mut(peer as usize) else {
            return;
        };
        if prev == NIL {
            list.head = next;
        }
        if next == NIL {
            list.tail = prev;
        }
        list.len = list.len.saturating_sub(1);
    }
}

impl<A: Alloc> Default for AllowedIps<A> {
    fn default() -> Self {
        Self::new()
    }
}

/// Iterator over one peer's prefixes; see [`AllowedIps::peer_prefixes`].
pub struct PeerPrefixes<'a, A: Alloc> {
    table: &'a AllowedIps<A>,
    next: u32,
    /// Bound on the remaining items (the list length), so that the walk ends
    /// whatever happens.
    left: u32,
}

impl<A: Alloc> Iterator for PeerPrefixes<'_, A> {
    type Item = Prefix;

    fn next(&mut self) -> Option<Prefix> {
        if self.next == NIL || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (prefix, _, cold) = self.table.entry(self.next)?;
        self.next = cold.next;
        Some(prefix)
    }
}

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
//! The nodes of both tries live in two index-addressed arrays (no pointers,
//! no `unsafe`), an IPv4 key in the top 32 bits of the 128-bit key: the
//! *hot* array holds what lookups read (key, children, peer and prefix
//! length: 32 bytes, so a node never straddles a cache line), the *cold*
//! array what only writers read (parent, and the links of the per-peer list:
//! 12 bytes). Freed nodes go to a free list and are reused.
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
    /// `MAX_PEERS_PER_DEVICE`).
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
/// Prefix length of a node on the free list.
pub(crate) const FREE: u8 = 0xff;

/// Address length in bits of the family (IPv6 or IPv4).
pub(crate) fn bits(v6: bool) -> u8 {
    if v6 {
        128
    } else {
        32
    }
}

/// A trie key: the address as a 128-bit integer, most significant bit first,
/// an IPv4 address in the top 32 bits. Two words, not `u128`, which some
/// kernel targets lower to library calls the kernel does not provide.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    hi: u64,
    lo: u64,
}

/// The `n` most significant bits set (n in 0..=64; more counts as 64).
#[inline]
fn mask64(n: u8) -> u64 {
    u64::MAX
        .checked_shl(64u32.saturating_sub(u32::from(n)))
        .unwrap_or(0)
}

impl Key {
    fn v4(addr: [u8; 4]) -> Self {
        Self {
            hi: u64::from(u32::from_be_bytes(addr)) << 32,
            lo: 0,
        }
    }

    // `u128` only to convert: shifts by a constant 64 are plain word moves.
    fn v6(addr: &[u8; 16]) -> Self {
        let a = u128::from_be_bytes(*addr);
        Self {
            hi: (a >> 64) as u64,
            lo: a as u64,
        }
    }

    /// The prefix `self/cidr` of the family, as read back.
    fn prefix(self, v6: bool, cidr: u8) -> Prefix {
        if v6 {
            let addr = ((u128::from(self.hi) << 64) | u128::from(self.lo)).to_be_bytes();
            Prefix::V6 { addr, cidr }
        } else {
            let addr = ((self.hi >> 32) as u32).to_be_bytes();
            Prefix::V4 { addr, cidr }
        }
    }

    /// Number of leading bits `self` and `other` have in common.
    #[inline]
    fn common_bits(self, other: Self) -> u8 {
        let hi = self.hi ^ other.hi;
        if hi != 0 {
            hi.leading_zeros() as u8
        } else {
            (64 + (self.lo ^ other.lo).leading_zeros()) as u8
        }
    }

    /// Bit `index` (0 = most significant; past 127 it reads some bit).
    #[inline]
    pub(crate) fn bit(self, index: u8) -> bool {
        let index = u32::from(index);
        if index < 64 {
            self.hi.rotate_left(index.wrapping_add(1)) & 1 != 0
        } else {
            self.lo.rotate_left(index.wrapping_sub(63)) & 1 != 0
        }
    }

    /// `self` with every bit from `cidr` on cleared.
    #[inline]
    pub(crate) fn masked(self, cidr: u8) -> Self {
        Self {
            hi: self.hi & mask64(cidr),
            lo: self.lo & mask64(cidr.saturating_sub(64)),
        }
    }
}

impl Prefix {
    /// The family (IPv6?), the key with host bits cleared, and the length;
    /// `None` if the length exceeds the address length.
    fn parts(&self) -> Option<(bool, Key, u8)> {
        let (v6, key, cidr) = match *self {
            Prefix::V4 { addr, cidr } => (false, Key::v4(addr), cidr),
            Prefix::V6 { ref addr, cidr } => (true, Key::v6(addr), cidr),
        };
        (cidr <= bits(v6)).then(|| (v6, key.masked(cidr), cidr))
    }
}

/// What lookups read of a node.
#[derive(Clone, Copy)]
pub(crate) struct Node {
    /// The prefix, host bits cleared.
    pub(crate) key: Key,
    /// Children for bit `cidr` of the address being 0 and 1; NIL if none.
    /// On the free list, `child[0]` is the next free node.
    pub(crate) child: [u32; 2],
    /// Peer number plus one, 0 for an intermediate node.
    pub(crate) peer: u32,
    /// Prefix length ([`FREE`] on the free list).
    pub(crate) cidr: u8,
    /// In the IPv6 trie (else the IPv4 one).
    pub(crate) v6: bool,
}

const FREE_NODE: Node = Node {
    key: Key { hi: 0, lo: 0 },
    child: [NIL, NIL],
    peer: 0,
    cidr: FREE,
    v6: false,
};

/// What only writers read of a node.
#[derive(Clone, Copy)]
pub(crate) struct Cold {
    /// Parent node, NIL for a root.
    pub(crate) parent: u32,
    /// Previous and next prefix of the same peer.
    pub(crate) prev: u32,
    pub(crate) next: u32,
}

const COLD_NIL: Cold = Cold {
    parent: NIL,
    prev: NIL,
    next: NIL,
};

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
    /// The nodes of both tries, and the free ones.
    pub(crate) nodes: A::Vec<Node>,
    pub(crate) cold: A::Vec<Cold>,
    /// The roots of the IPv4 and the IPv6 trie.
    pub(crate) roots: [u32; 2],
    /// The free list, and its length.
    pub(crate) free: u32,
    pub(crate) free_count: usize,
    /// Indexed by peer number; grown on demand.
    pub(crate) peers: A::Vec<PeerList>,
    pub(crate) seq: u64,
}

impl<A: Alloc> AllowedIps<A> {
    /// An empty table; does not allocate.
    pub fn new() -> Self {
        Self {
            nodes: A::vec_new(),
            cold: A::vec_new(),
            roots: [NIL; 2],
            free: NIL,
            free_count: 0,
            peers: A::vec_new(),
            seq: 1,
        }
    }

    #[inline]
    pub(crate) fn node(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)
    }

    /// The cold part of node `i` (all NIL if there is no such node).
    pub(crate) fn cold(&self, i: u32) -> Cold {
        self.cold.get(i as usize).copied().unwrap_or(COLD_NIL)
    }

    fn cold_mut(&mut self, i: u32) -> Option<&mut Cold> {
        self.cold.get_mut(i as usize)
    }

    #[inline]
    pub(crate) fn root(&self, v6: bool) -> u32 {
        self.roots.get(usize::from(v6)).copied().unwrap_or(NIL)
    }

    /// The peer whose allowed prefixes contain `addr` most specifically.
    #[inline]
    pub fn lookup_v4(&self, addr: [u8; 4]) -> Option<PeerId> {
        self.lookup(false, Key::v4(addr))
    }

    /// The peer whose allowed prefixes contain `addr` most specifically.
    #[inline]
    pub fn lookup_v6(&self, addr: &[u8; 16]) -> Option<PeerId> {
        self.lookup(true, Key::v6(addr))
    }

    /// Walks down the family's trie through the nodes whose prefix contains
    /// `key/cidr` and is not longer, calling `f` on each.
    #[inline]
    fn walk(&self, v6: bool, key: Key, cidr: u8, mut f: impl FnMut(u32, &Node)) {
        let mut i = self.root(v6);
        // Prefix lengths strictly increase downwards: at most 33 or 129
        // levels (a node of full length has no children).
        for _ in 0..=bits(v6) {
            let Some(n) = self.node(i) else { break };
            if n.cidr > cidr || key.common_bits(n.key) < n.cidr {
                break;
            }
            f(i, n);
            let side = usize::from(key.bit(n.cidr));
            i = n.child.get(side).copied().unwrap_or(NIL);
        }
    }

    /// Longest-prefix match in the family's trie.
    #[inline]
    fn lookup(&self, v6: bool, key: Key) -> Option<PeerId> {
        let mut found = 0;
        self.walk(v6, key, 128, |_, n| {
            if n.peer != 0 {
                found = n.peer;
            }
        });
        found.checked_sub(1).map(PeerId)
    }

    /// The deepest node of the family whose prefix contains `key/cidr` and
    /// is not longer, and whether its prefix is exactly `key/cidr`. `key`
    /// must be masked.
    fn placement(&self, v6: bool, key: Key, cidr: u8) -> (u32, bool) {
        let mut deepest = NIL;
        self.walk(v6, key, cidr, |i, _| deepest = i);
        (deepest, self.node(deepest).is_some_and(|n| n.cidr == cidr))
    }

    /// The node holding exactly `prefix` (host bits ignored) for `peer`.
    fn find(&self, prefix: &Prefix, peer: PeerId) -> Option<u32> {
        let (v6, key, cidr) = prefix.parts()?;
        let (i, exact) = self.placement(v6, key, cidr);
        let for_peer = self.node(i)?.peer == peer.0.wrapping_add(1);
        (exact && for_peer).then_some(i)
    }

    /// Makes sure that `n` insertions in a row (either family) for peers
    /// numbered up to `peer` cannot fail for lack of memory (an insertion
    /// takes at most two nodes; removals in between only give nodes back):
    /// with the highest peer involved, a whole batch of changes can be
    /// prepared before any of it is applied. Changes nothing observable.
    pub fn reserve(&mut self, peer: PeerId, n: usize) -> Result<(), AllowedIpsError> {
        if peer.0 > PeerId::MAX {
            return Err(AllowedIpsError::InvalidPeer);
        }
        let grow = (peer.0 as usize + 1).saturating_sub(self.peers.len());
        A::vec_reserve(&mut self.peers, grow)?;
        for _ in 0..grow {
            A::vec_push(&mut self.peers, EMPTY_LIST)?;
        }
        while self.free_count < n.saturating_mul(2) {
            let index = u32::try_from(self.nodes.len()).map_err(|_| AllocError)?;
            if index == NIL || self.cold.len() != self.nodes.len() {
                return Err(AllowedIpsError::NoMemory);
            }
            A::vec_push(&mut self.nodes, FREE_NODE)?;
            if let Err(e) = A::vec_push(&mut self.cold, COLD_NIL) {
                let _ = A::vec_pop(&mut self.nodes);
                return Err(e.into());
            }
            self.release(index);
        }
        Ok(())
    }

    /// Takes a node from the free list for `key/cidr` of the family, with
    /// `peer` (number plus one, 0 for none). Its cold part is all NIL
    /// already: [`Self::release`] cleared it, and nothing links a free node.
    fn alloc(&mut self, v6: bool, key: Key, cidr: u8, peer: u32) -> Option<u32> {
        let i = self.free;
        let n = self.nodes.get_mut(i as usize)?;
        self.free = n.child[0];
        self.free_count = self.free_count.saturating_sub(1);
        *n = Node {
            key,
            child: [NIL, NIL],
            peer,
            cidr,
            v6,
        };
        Some(i)
    }

    /// Puts a node (already detached, or just pushed) on the free list.
    fn release(&mut self, i: u32) {
        let next = self.free;
        let Some(n) = self.nodes.get_mut(i as usize) else {
            return;
        };
        *n = Node {
            child: [next, NIL],
            ..FREE_NODE
        };
        if let Some(c) = self.cold_mut(i) {
            *c = COLD_NIL;
        }
        self.free = i;
        self.free_count = self.free_count.saturating_add(1);
    }

    /// The link below `parent` on the side `key` selects, or the family's
    /// root if `parent` is NIL.
    fn slot(&mut self, v6: bool, parent: u32, key: Key) -> Option<&mut u32> {
        match self.nodes.get_mut(parent as usize) {
            Some(p) => p.child.get_mut(usize::from(key.bit(p.cidr))),
            None => self.roots.get_mut(usize::from(v6)),
        }
    }

    /// Hangs `new` (NIL: nothing) below `parent` on the side `key` selects,
    /// or at the family's root if `parent` is NIL.
    fn link(&mut self, v6: bool, parent: u32, key: Key, new: u32) {
        if let Some(slot) = self.slot(v6, parent, key) {
            *slot = new;
        }
        if let Some(c) = self.cold_mut(new) {
            c.parent = parent;
        }
    }

    /// Inserts or reassigns `key/cidr` (masked) to `peer` (number plus one).
    /// Needs two free nodes. Returns the node and the previous peer (number
    /// plus one, 0 if none or new).
    fn insert_node(&mut self, v6: bool, key: Key, cidr: u8, peer: u32) -> Option<(u32, u32)> {
        let (parent, exact) = self.placement(v6, key, cidr);
        if exact {
            let n = self.nodes.get_mut(parent as usize)?;
            return Some((parent, core::mem::replace(&mut n.peer, peer)));
        }
        let new = self.alloc(v6, key, cidr, peer)?;
        let down = self.slot(v6, parent, key).map_or(NIL, |d| *d);
        // `down` is not inside the new prefix's path: they diverge at `common`
        // (shorter than `down`'s prefix), or `down` lies below the new prefix,
        // or there is no `down` (an empty trie or slot: `down_key` is then
        // `key`, and linking NIL below `new` changes nothing).
        let down_key = self.node(down).map_or(key, |n| n.key);
        let common = cidr.min(key.common_bits(down_key));
        if common == cidr {
            self.link(v6, new, down_key, down);
            self.link(v6, parent, key, new);
        } else {
            let Some(mid) = self.alloc(v6, key.masked(common), common, 0) else {
                self.release(new);
                return None;
            };
            self.link(v6, mid, down_key, down);
            self.link(v6, mid, key, new);
            self.link(v6, parent, key, mid);
        }
        Some((new, 0))
    }

    /// Clears the peer of node `i` (already unlinked from its peer list) and
    /// removes the node if it is no longer needed as a branch point, then its
    /// parent if that was an intermediate node left with one child.
    fn remove_node(&mut self, i: u32) {
        let Some(n) = self.nodes.get_mut(i as usize) else {
            return;
        };
        n.peer = 0;
        // The node, then (if it was a leaf) its parent: each is spliced out
        // unless it has a peer or is still a branch point (two children). A
        // parent without a peer is an intermediate node: one child is left.
        let mut i = i;
        for _ in 0..2 {
            let Some(&n) = self.node(i) else { return };
            let [c0, c1] = n.child;
            if n.peer != 0 || (c0 != NIL && c1 != NIL) {
                return;
            }
            let child = if c0 != NIL { c0 } else { c1 };
            let parent = self.cold(i).parent;
            self.link(n.v6, parent, n.key, child);
            self.release(i);
            if child != NIL {
                return;
            }
            i = parent;
        }
    }

    /// Allows `prefix` (host bits ignored) for `peer`. If the prefix is
    /// already present, it is reassigned to `peer` and moves to the end of
    /// `peer`'s list. On error the table is unchanged.
    pub fn insert(&mut self, prefix: &Prefix, peer: PeerId) -> Result<(), AllowedIpsError> {
        let (v6, key, cidr) = prefix.parts().ok_or(AllowedIpsError::InvalidCidr)?;
        self.reserve(peer, 1)?;
        let (node, old) = self
            .insert_node(v6, key, cidr, peer.0.wrapping_add(1))
            .ok_or(AllowedIpsError::NoMemory)?;
        // Move the node from `old` (number plus one, 0 = none) to the end of
        // `peer`'s list.
        self.seq = self.seq.wrapping_add(1);
        if let Some(old) = old.checked_sub(1) {
            self.unlink(old, node);
        }
        self.append(peer.0, node);
        Ok(())
    }

    /// Removes `prefix` (host bits ignored) if it is allowed for `peer`.
    /// Returns whether it was removed.
    pub fn remove(&mut self, prefix: &Prefix, peer: PeerId) -> bool {
        let Some(i) = self.find(prefix, peer) else {
            return false;
        };
        self.seq = self.seq.wrapping_add(1);
        self.unlink(peer.0, i);
        self.remove_node(i);
        true
    }

    /// `peer`'s list (empty if the table never had room for it).
    fn list(&self, peer: PeerId) -> PeerList {
        *self.peers.get(peer.0 as usize).unwrap_or(&EMPTY_LIST)
    }

    /// Removes every prefix of `peer`.
    pub fn remove_by_peer(&mut self, peer: PeerId) {
        let len = self.list(peer).len;
        if len != 0 {
            self.seq = self.seq.wrapping_add(1);
        }
        for _ in 0..len {
            let head = self.list(peer).head;
            self.unlink(peer.0, head);
            self.remove_node(head);
        }
    }

    /// `peer`'s prefixes, in the C driver's order (insertion order; a
    /// prefix inserted again moved to the end).
    pub fn peer_prefixes(&self, peer: PeerId) -> PeerPrefixes<'_, A> {
        let list = self.list(peer);
        PeerPrefixes {
            table: self,
            next: list.head,
            left: list.len,
        }
    }

    /// `peer`'s prefixes that come after `after` in its list (`None`: from
    /// the first), to resume a walk (a netlink dump) across calls; `None` if
    /// `after` is no longer one of `peer`'s prefixes. The kernel glue compares
    /// [`AllowedIps::seq`] too, to notice any change in between.
    pub fn peer_prefixes_after(
        &self,
        peer: PeerId,
        after: Option<&Prefix>,
    ) -> Option<PeerPrefixes<'_, A>> {
        let mut prefixes = self.peer_prefixes(peer);
        if let Some(after) = after {
            let i = self.find(after, peer)?;
            prefixes.next = self.cold(i).next;
        }
        Some(prefixes)
    }

    /// Changes whenever the table changes (as the C driver's `seq`).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn append(&mut self, peer: u32, i: u32) {
        let Some(list) = self.peers.get_mut(peer as usize) else {
            return;
        };
        let tail = list.tail;
        if tail == NIL {
            list.head = i;
        }
        list.tail = i;
        list.len = list.len.saturating_add(1);
        if let Some(t) = self.cold_mut(tail) {
            t.next = i;
        }
        if let Some(c) = self.cold_mut(i) {
            c.prev = tail;
            c.next = NIL;
        }
    }

    fn unlink(&mut self, peer: u32, i: u32) {
        let Some(c) = self.cold_mut(i) else {
            return;
        };
        let prev = core::mem::replace(&mut c.prev, NIL);
        let next = core::mem::replace(&mut c.next, NIL);
        if let Some(p) = self.cold_mut(prev) {
            p.next = next;
        }
        if let Some(n) = self.cold_mut(next) {
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
        let n = self.table.node(self.next)?;
        self.next = self.table.cold(self.next).next;
        Some(n.key.prefix(n.v6, n.cidr))
    }
}

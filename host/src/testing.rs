// SPDX-License-Identifier: GPL-2.0
//! What only the host tests, benchmarks and fuzzers use of the protocol core:
//! whole-packet encryption and decryption on a contiguous buffer (the module
//! seals and opens socket buffers in place instead), a keypair bundled with
//! its replay window, the re-keying predicates asked of one keypair, message
//! classification, the cookie checker's one-call checks, and the
//! allowed-IPs table's per-family insertion and removal, counters and
//! structural self-check, and the accessors
//! of private state that tests read. The same crate compiles the core, so
//! this reaches its `pub(crate)` state.

use crate::proto::allowedips::{
    bits, AllowedIps, AllowedIpsError, Cold, Node, PeerId, Prefix, FREE, NIL,
};
use crate::proto::cookie::{CookieChecker, MacCheck};
use crate::proto::error::Error;
use crate::proto::handshake::{InFlight, InitiationStatic, PeerHandshake, StaticIdentity};
use crate::proto::hashtable::{HashTable, KeyHash};
use crate::proto::keypair::{padding_len, Keypair, Keypairs, SessionKeys};
use crate::proto::messages::{
    split_macs, DataHeader, COOKIE_REPLY_LEN, DATA_HEADER_LEN, DATA_MIN_LEN, INITIATION_LEN,
    MESSAGE_DATA, MESSAGE_HANDSHAKE_COOKIE, MESSAGE_HANDSHAKE_INITIATION,
    MESSAGE_HANDSHAKE_RESPONSE, RESPONSE_LEN,
};
use crate::proto::noise::SymmetricState;
use crate::proto::platform::{Alloc, Crypto, HASH_LEN, KEY_LEN, TAG_LEN};
use crate::proto::ratelimiter::{Entry, RateLimiter};
use crate::proto::replay::ReplayWindow;
use crate::proto::secret::Key;
use crate::proto::siphash::SipKey;
use crate::proto::tai64n::Timestamp;
use crate::proto::timers::{rekey_due_on_receive, rekey_due_on_send, PeerTimers, Timer};
use core::ops::Deref;
use core::sync::atomic::Ordering;

impl<C: Crypto> Keypair<C> {
    /// Encrypts a data message in place in `buf`: the plaintext is at
    /// `buf[DATA_HEADER_LEN..DATA_HEADER_LEN + plaintext_len]`; the header is
    /// written before it, zero padding (see [`padding_len`]) and the tag after
    /// it. Returns the message length, `DATA_HEADER_LEN + padded + TAG_LEN`.
    /// `buf` must have room for it; no counter is used if it has not.
    pub fn encrypt_packet(
        &self,
        now_ns: u64,
        buf: &mut [u8],
        plaintext_len: usize,
        mtu: usize,
    ) -> Result<usize, Error> {
        let padded = plaintext_len
            .checked_add(padding_len(plaintext_len, mtu))
            .ok_or(Error::BufferSize)?;
        let total = padded
            .checked_add(DATA_HEADER_LEN + TAG_LEN)
            .ok_or(Error::BufferSize)?;
        let msg = buf.get_mut(..total).ok_or(Error::BufferSize)?;
        let counter = self.reserve_send(now_ns)?;
        let (header, rest) = msg
            .split_first_chunk_mut::<DATA_HEADER_LEN>()
            .ok_or(Error::BufferSize)?;
        let (body, tag) = rest
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::BufferSize)?;
        if let Some(padding) = body.get_mut(plaintext_len..) {
            padding.fill(0);
        }
        *tag = C::aead_seal(self.sending_key(), counter, &[], body);
        let receiver_index = self.remote_index();
        *header = DataHeader {
            receiver_index,
            counter,
        }
        .encode();
        Ok(total)
    }

    /// Authenticates and decrypts `buf` (ciphertext then tag) in place with
    /// nonce `counter`; returns the plaintext length. Does not consult the
    /// replay window.
    pub fn open(&self, now_ns: u64, counter: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.check_receive(now_ns, counter)?;
        let (body, tag) = buf
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::Malformed)?;
        let tag = *tag;
        if !C::aead_open(self.receiving_key(), counter, &[], body, &tag) {
            return Err(Error::Decrypt);
        }
        Ok(body.len())
    }

    /// Decrypts a whole data message in place (the caller routed it here by
    /// its receiver index): authenticates it, then checks and records its
    /// counter in `window`, this keypair's replay window. Returns the counter
    /// and the plaintext length; the plaintext (with its padding) is at
    /// `packet[DATA_HEADER_LEN..][..len]`.
    pub fn decrypt_packet(
        &self,
        now_ns: u64,
        packet: &mut [u8],
        window: &mut ReplayWindow,
    ) -> Result<(u64, usize), Error> {
        let header = DataHeader::parse(packet)?;
        if header.receiver_index != self.local_index() {
            return Err(Error::UnexpectedMessage);
        }
        let body = packet.get_mut(DATA_HEADER_LEN..).ok_or(Error::Malformed)?;
        let len = self.open(now_ns, header.counter, body)?;
        if !window.check_and_update(header.counter) {
            return Err(Error::CounterReplay);
        }
        Ok((header.counter, len))
    }

    /// `send.c`'s re-keying rule for this keypair as the current one.
    pub fn needs_rekey_on_send(&self, now_ns: u64) -> bool {
        rekey_due_on_send(Some(&self.rekey_view(now_ns)), now_ns)
    }

    /// `receive.c`'s re-keying rule for this keypair as the current one.
    pub fn needs_rekey_on_receive(&self, now_ns: u64) -> bool {
        rekey_due_on_receive(Some(&self.rekey_view(now_ns)), now_ns)
    }
}

/// A keypair with its own replay window, for single-threaded users (tests,
/// fuzzers). About 1.1 KiB: box it.
pub struct LocalKeypair<C: Crypto> {
    /// The keypair.
    pub keypair: Keypair<C>,
    /// Its replay window.
    pub window: ReplayWindow,
}

impl<C: Crypto> LocalKeypair<C> {
    /// A keypair born at `now_ns` with an empty window.
    pub fn new(keys: SessionKeys<C>, now_ns: u64) -> Self {
        Self {
            keypair: Keypair::new(keys, now_ns),
            window: ReplayWindow::new(),
        }
    }

    /// [`Keypair::decrypt_packet`] with the own window.
    pub fn decrypt_packet(
        &mut self,
        now_ns: u64,
        packet: &mut [u8],
    ) -> Result<(u64, usize), Error> {
        self.keypair
            .decrypt_packet(now_ns, packet, &mut self.window)
    }
}

/// Keypair slots of bare keypairs (the module's hold its `KeypairCell`s).
impl<C: Crypto> AsRef<Keypair<C>> for Keypair<C> {
    fn as_ref(&self) -> &Keypair<C> {
        self
    }
}

impl<C: Crypto> AsRef<Keypair<C>> for LocalKeypair<C> {
    fn as_ref(&self) -> &Keypair<C> {
        &self.keypair
    }
}

impl<C: Crypto, B: Deref> Keypairs<C, B>
where
    B::Target: AsRef<Keypair<C>>,
{
    /// The keypair to send with.
    pub fn current(&self) -> Option<&Keypair<C>> {
        self.current.as_ref().map(|b| (**b).as_ref())
    }

    /// The keypair before the current one.
    pub fn previous(&self) -> Option<&Keypair<C>> {
        self.previous.as_ref().map(|b| (**b).as_ref())
    }

    /// The unconfirmed responder keypair.
    pub fn next(&self) -> Option<&Keypair<C>> {
        self.next.as_ref().map(|b| (**b).as_ref())
    }
}

/// The kind of a message, from its header and length alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Handshake initiation (type 1, 148 bytes).
    Initiation,
    /// Handshake response (type 2, 92 bytes).
    Response,
    /// Cookie reply (type 3, 64 bytes).
    CookieReply,
    /// Data (type 4, at least 32 bytes).
    Data,
}

/// Classifies a received UDP payload; `None` for anything that is not a
/// well-formed WireGuard message of a valid length.
pub fn message_type(packet: &[u8]) -> Option<MessageType> {
    let t = u32::from_le_bytes(*packet.first_chunk::<4>()?);
    match (t, packet.len()) {
        (MESSAGE_HANDSHAKE_INITIATION, INITIATION_LEN) => Some(MessageType::Initiation),
        (MESSAGE_HANDSHAKE_RESPONSE, RESPONSE_LEN) => Some(MessageType::Response),
        (MESSAGE_HANDSHAKE_COOKIE, COOKIE_REPLY_LEN) => Some(MessageType::CookieReply),
        (MESSAGE_DATA, n) if n >= DATA_MIN_LEN => Some(MessageType::Data),
        _ => None,
    }
}

impl<C: Crypto> CookieChecker<C> {
    /// Checks the MACs of a handshake message from `src` (see
    /// [`CheckerKeys::check`]).
    pub fn check(&mut self, packet: &[u8], src: &[u8], now_ns: u64, under_load: bool) -> MacCheck {
        self.keys(now_ns).check(packet, (src, &[]), under_load)
    }

    /// A cookie reply (see [`CheckerKeys::create_reply`]).
    pub fn create_reply(
        &mut self,
        packet: &[u8],
        sender_index: u32,
        src: &[u8],
        now_ns: u64,
    ) -> Result<[u8; COOKIE_REPLY_LEN], Error> {
        self.keys(now_ns)
            .create_reply(packet, sender_index, (src, &[]))
    }
}

impl<A: Alloc> AllowedIps<A> {
    /// [`AllowedIps::insert`] of `addr/cidr`.
    pub fn insert_v4(
        &mut self,
        addr: [u8; 4],
        cidr: u8,
        peer: PeerId,
    ) -> Result<(), AllowedIpsError> {
        self.insert(&Prefix::V4 { addr, cidr }, peer)
    }

    /// [`AllowedIps::insert`] of `addr/cidr`.
    pub fn insert_v6(
        &mut self,
        addr: &[u8; 16],
        cidr: u8,
        peer: PeerId,
    ) -> Result<(), AllowedIpsError> {
        self.insert(&Prefix::V6 { addr: *addr, cidr }, peer)
    }

    /// [`AllowedIps::remove`] of `addr/cidr`.
    pub fn remove_v4(&mut self, addr: [u8; 4], cidr: u8, peer: PeerId) -> bool {
        self.remove(&Prefix::V4 { addr, cidr }, peer)
    }

    /// [`AllowedIps::remove`] of `addr/cidr`.
    pub fn remove_v6(&mut self, addr: &[u8; 16], cidr: u8, peer: PeerId) -> bool {
        self.remove(&Prefix::V6 { addr: *addr, cidr }, peer)
    }

    /// Removes everything (and frees the memory).
    pub fn clear(&mut self) {
        self.nodes = A::vec_new();
        self.cold = A::vec_new();
        self.roots = [NIL; 2];
        self.free = NIL;
        self.free_count = 0;
        self.peers = A::vec_new();
        self.seq = self.seq.wrapping_add(1);
    }

    /// Number of prefixes allowed for `peer`.
    pub fn prefix_count(&self, peer: PeerId) -> usize {
        self.peers
            .get(peer.0 as usize)
            .map_or(0, |l| l.len as usize)
    }

    /// Live trie nodes (IPv4, IPv6), intermediate nodes included.
    pub fn node_counts(&self) -> (usize, usize) {
        let live = self.nodes.iter().filter(|n| n.cidr != FREE);
        let v6 = live.clone().filter(|n| n.v6).count();
        (live.count() - v6, v6)
    }

    /// Bytes per trie node (IPv4, IPv6): the hot and the cold part.
    pub const NODE_BYTES: (usize, usize) = (
        core::mem::size_of::<Node>() + core::mem::size_of::<Cold>(),
        core::mem::size_of::<Node>() + core::mem::size_of::<Cold>(),
    );

    /// Checks every structural invariant (O(size)): parent and child links
    /// agree, prefixes strictly nest along every path, keys have no host
    /// bits, intermediate nodes have two children, the free list and the peer
    /// lists are consistent.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.nodes.len() != self.cold.len() {
            return Err("hot and cold arrays differ in length");
        }
        let mut free = 0usize;
        let mut f = self.free;
        while f != NIL {
            let n = self.node(f).ok_or("free list points outside")?;
            if n.cidr != FREE {
                return Err("live node on the free list");
            }
            free = free.saturating_add(1);
            if free > self.nodes.len() {
                return Err("free list loops");
            }
            f = n.child[0];
        }
        if free != self.free_count {
            return Err("free count wrong");
        }
        let mut live = 0usize;
        let mut with_peer = 0usize;
        let mut roots = 0usize;
        for (i, n) in self.nodes.iter().enumerate() {
            let c = self.cold.get(i).ok_or("cold array too short")?;
            if n.cidr == FREE {
                if [c.parent, c.prev, c.next] != [NIL; 3] {
                    return Err("free node with cold links");
                }
                continue;
            }
            live = live.saturating_add(1);
            let i = u32::try_from(i).map_err(|_| "index")?;
            if n.cidr > bits(n.v6) {
                return Err("prefix too long");
            }
            if n.key != n.key.masked(n.cidr) {
                return Err("host bits set in a key");
            }
            if n.peer != 0 {
                with_peer = with_peer.saturating_add(1);
            } else if n.child.contains(&NIL) {
                return Err("intermediate node without two children");
            }
            let parent = self.cold(i).parent;
            if parent == NIL {
                roots = roots.saturating_add(1);
                if self.root(n.v6) != i {
                    return Err("parentless node that is not the root");
                }
            } else {
                let p = self.node(parent).ok_or("parent outside")?;
                if p.cidr == FREE
                    || p.v6 != n.v6
                    || p.cidr >= n.cidr
                    || n.key.masked(p.cidr) != p.key
                {
                    return Err("parent does not contain child");
                }
                if p.child.get(usize::from(n.key.bit(p.cidr))) != Some(&i) {
                    return Err("parent does not point back on the right side");
                }
            }
            for &ch in &n.child {
                if ch != NIL && self.cold(ch).parent != i {
                    return Err("child's parent link wrong");
                }
            }
        }
        if live.saturating_add(free) != self.nodes.len() {
            return Err("node count mismatch");
        }
        if roots != self.roots.iter().filter(|&&r| r != NIL).count() {
            return Err("root count wrong");
        }
        let mut listed = 0usize;
        for (p, list) in self.peers.iter().enumerate() {
            let raw = u32::try_from(p).map_err(|_| "peer index")?.wrapping_add(1);
            let mut prev = NIL;
            let mut i = list.head;
            let mut n = 0u32;
            while i != NIL {
                let node = self.node(i).ok_or("list link outside")?;
                if node.peer != raw {
                    return Err("listed node of another peer");
                }
                if self.cold(i).prev != prev {
                    return Err("list prev link wrong");
                }
                n = n.saturating_add(1);
                if n > list.len {
                    return Err("list longer than its count");
                }
                prev = i;
                i = self.cold(i).next;
            }
            if n != list.len || list.tail != prev {
                return Err("list count or tail wrong");
            }
            listed = listed.saturating_add(n as usize);
        }
        if listed != with_peer {
            return Err("nodes with a peer missing from the lists");
        }
        Ok(())
    }
}

impl<C: Crypto> SessionKeys<C> {
    /// An explicit copy (secrets are not `Clone`, to keep copies visible).
    pub fn duplicate(&self) -> Self {
        Self {
            sending: self.sending.duplicate(),
            receiving: self.receiving.duplicate(),
            local_index: self.local_index,
            remote_index: self.remote_index,
            initiator: self.initiator,
        }
    }

    /// The sending key (tests compare it with the peer's receiving key).
    pub fn sending_key(&self) -> &[u8; KEY_LEN] {
        self.sending.as_bytes()
    }

    /// The receiving key.
    pub fn receiving_key(&self) -> &[u8; KEY_LEN] {
        self.receiving.as_bytes()
    }
}

impl<C: Crypto> Keypair<C> {
    /// Whether we initiated the handshake that made this keypair.
    pub fn is_initiator(&self) -> bool {
        self.keys.initiator
    }

    /// Monotonic time of creation.
    pub fn birthdate(&self) -> u64 {
        self.birthdate
    }

    /// Sets the next counter to reserve (tests of the REJECT_AFTER_MESSAGES
    /// limit; never needed in operation).
    pub fn set_sending_counter(&self, counter: u64) {
        self.sending_counter.store(counter, Ordering::Relaxed);
    }
}

impl<C: Crypto, B: Deref> Keypairs<C, B>
where
    B::Target: AsRef<Keypair<C>>,
{
    /// The keypair (with whatever the caller bundled with it) whose local
    /// index is `local_index`, mutably.
    pub fn get_mut(&mut self, local_index: u32) -> Option<&mut B::Target>
    where
        B: core::ops::DerefMut,
    {
        [&mut self.current, &mut self.previous, &mut self.next]
            .into_iter()
            .filter_map(|slot| slot.as_deref_mut())
            .find(|b| (*b).as_ref().keys.local_index == local_index)
    }
}

impl<C: Crypto> CookieChecker<C> {
    /// Whether the mac1 of a handshake message (the whole message, MACs
    /// included) is right. Constant time.
    pub fn check_mac1(&self, packet: &[u8]) -> bool {
        split_macs(packet).is_some_and(|(body, mac1, _)| self.mac1_key.verify(body, &[], mac1))
    }
}

impl<C: Crypto> StaticIdentity<C> {
    /// The private key.
    pub fn private_key(&self) -> &Key<C> {
        &self.private
    }
}

impl<C: Crypto> InitiationStatic<C> {
    /// The initiator's sender index.
    pub fn sender_index(&self) -> u32 {
        self.msg.sender_index
    }
}

/// Where a peer's handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeState {
    /// Nothing in flight.
    Zeroed,
    /// We sent an initiation and wait for the response.
    CreatedInitiation,
    /// We accepted an initiation and may answer it.
    ConsumedInitiation,
}

impl<C: Crypto> PeerHandshake<C> {
    /// The peer's static public key.
    pub fn remote_static(&self) -> &[u8; KEY_LEN] {
        &self.remote_static
    }

    /// The state of the handshake in flight.
    pub fn state(&self) -> HandshakeState {
        match self.in_flight {
            None => HandshakeState::Zeroed,
            Some(InFlight::Initiation(..)) => HandshakeState::CreatedInitiation,
            Some(InFlight::Consumed(..)) => HandshakeState::ConsumedInitiation,
        }
    }

    /// The latest accepted initiation timestamp from this peer.
    pub fn latest_timestamp(&self) -> &Timestamp {
        &self.latest_timestamp
    }

    /// [`Self::create_initiation_with_ephemeral`] with a fresh ephemeral key,
    /// as the module calls it.
    pub fn create_initiation(
        &mut self,
        identity: &StaticIdentity<C>,
        local_index: u32,
        wall: (u64, u32),
    ) -> Result<[u8; INITIATION_LEN], Error> {
        self.create_initiation_with_ephemeral(identity, local_index, wall, Key::random())
    }

    /// [`Self::create_response_with_ephemeral`] with a fresh ephemeral key,
    /// as the module calls it.
    pub fn create_response(
        &mut self,
        local_index: u32,
    ) -> Result<([u8; RESPONSE_LEN], SessionKeys<C>), Error> {
        self.create_response_with_ephemeral(local_index, Key::random())
    }
}

impl<C: Crypto> SipKey<C> {
    /// A key made of 16 bytes, read as two little-endian words (as
    /// [`SipKey::random`] reads its random bytes).
    pub fn from_bytes(bytes: &[u8; 16]) -> Self {
        let k = u128::from_le_bytes(*bytes);
        Self::new([k as u64, (k >> 64) as u64])
    }
}

impl<C> PartialEq for SipKey<C> {
    fn eq(&self, other: &Self) -> bool {
        self.words == other.words
    }
}

impl ReplayWindow {
    /// The highest counter accepted so far, if any.
    pub fn max_counter(&self) -> Option<u64> {
        self.next.checked_sub(1)
    }
}

impl<A: Alloc, K: Copy + Eq + Default, V: Copy, H: KeyHash<K>> HashTable<A, K, V, H> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Current number of buckets.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }
}

impl<A: Alloc, C: Crypto> RateLimiter<A, C> {
    /// Most sources tracked at once.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Forgets sources idle for more than a second (as the C driver's
    /// periodic garbage collection), in every set. Returns how many were
    /// dropped.
    pub fn gc(&mut self, now_ns: u64) -> usize {
        (0..self.sets).fold(0usize, |n, set| {
            n.saturating_add(self.sweep_set(set, now_ns))
        })
    }

    /// Forgets every source.
    pub fn clear(&mut self) {
        // Empty slots are all `Entry::default()` already.
        self.entries.fill(Entry::default());
        self.used = 0;
    }
}

impl PeerTimers {
    /// Retransmissions of the handshake in flight so far (host tests only).
    pub fn handshake_attempts(&self) -> u64 {
        self.handshake_attempts
    }

    /// Whether `timer` is pending (host tests only).
    pub fn is_pending(&self, timer: Timer) -> bool {
        self.deadline(timer).is_some()
    }
}

impl<C: Crypto> SymmetricState<C> {
    /// The handshake hash `h`.
    pub fn handshake_hash(&self) -> &[u8; HASH_LEN] {
        self.h.as_bytes()
    }

    /// `InitializeSymmetric(protocol_name)` then `MixHash(prologue)`.
    pub fn new(protocol_name: &[u8], prologue: &[u8]) -> Self {
        let mut h = [0u8; HASH_LEN];
        if protocol_name.len() <= HASH_LEN {
            for (d, s) in h.iter_mut().zip(protocol_name.iter()) {
                *d = *s;
            }
        } else {
            h = crate::proto::kdf::hash::<C>(protocol_name, &[]);
        }
        let mut st = Self::from_parts(h, h);
        st.mix_hash(prologue, &[]);
        st
    }
}

/// Initial Noise IK state of both sides: protocol name, prologue, and the
/// responder's static key as the pre-message (`<- s`).
pub fn ik_init<C: Crypto>(
    protocol_name: &[u8],
    prologue: &[u8],
    responder_static: &[u8; KEY_LEN],
) -> SymmetricState<C> {
    let mut st = SymmetricState::new(protocol_name, prologue);
    st.mix_hash(responder_static, &[]);
    st
}

/// A Noise transport CipherState after `Split()`: a key and a nonce counter
/// (the Noise vectors' transport messages; the module seals data packets with
/// [`Keypair`]s).
pub struct CipherState<C: Crypto> {
    k: Key<C>,
    n: u64,
}

impl<C: Crypto> CipherState<C> {
    /// A cipher with nonce 0.
    pub fn new(k: Key<C>) -> Self {
        Self { k, n: 0 }
    }

    /// Encrypts `buf` (plaintext followed by `TAG_LEN` bytes of room) with `ad`.
    pub fn encrypt(&mut self, ad: &[u8], buf: &mut [u8]) -> Result<(), Error> {
        let body_len = buf.len().checked_sub(TAG_LEN).ok_or(Error::BufferSize)?;
        if self.n == u64::MAX {
            return Err(Error::NonceExhausted);
        }
        let (body, tag) = buf
            .split_at_mut_checked(body_len)
            .ok_or(Error::BufferSize)?;
        tag.copy_from_slice(&C::aead_seal(self.k.as_bytes(), self.n, ad, body));
        self.n = self.n.wrapping_add(1);
        Ok(())
    }

    /// Decrypts `input` (ciphertext and tag) into `out`; the nonce advances only
    /// on success.
    pub fn decrypt(&mut self, ad: &[u8], input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let body_len = input.len().checked_sub(TAG_LEN).ok_or(Error::Malformed)?;
        if out.len() != body_len {
            return Err(Error::BufferSize);
        }
        if self.n == u64::MAX {
            return Err(Error::NonceExhausted);
        }
        let (body, tag) = input.split_at_checked(body_len).ok_or(Error::Malformed)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Malformed)?;
        out.copy_from_slice(body);
        if !C::aead_open(self.k.as_bytes(), self.n, ad, out, tag) {
            C::zeroize(out);
            return Err(Error::Decrypt);
        }
        self.n = self.n.wrapping_add(1);
        Ok(())
    }
}

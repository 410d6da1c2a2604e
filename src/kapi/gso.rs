// SPDX-License-Identifier: GPL-2.0
//! UDP GSO super-packets on transmit (`SKB_GSO_UDP_L4`): several datagrams
//! to one destination leave as one skb, one pass through the IP stack and the
//! qdisc. The stack splits it again where it must: late in `dev_queue_xmit`
//! if the route's device cannot take it whole (software GSO), or on delivery
//! to a socket that does not accept GSO packets (`udp_rcv_segment`), so a
//! receiver sees the same datagrams as if they had been sent one by one.

use super::bindings as b;
use super::skb::{shinfo, SkBuff};
use core::ptr::{self, NonNull};

/// The most payload one super-packet carries. Its IP and UDP length fields
/// then hold its whole length (at most 65,535), which the receiving stack
/// checks before it splits it; and with its outer headers (at most 62 bytes:
/// Ethernet, IPv6, UDP) it stays below the default `gso_max_size` of a
/// device (64 KiB), above which the stack segments it in software even for a
/// device that could take it whole (`gso_features_check`). Each 128 bytes
/// below that are left for tunnels and VLAN tags under us.
const MAX_PAYLOAD: u32 = 65_536 - 128;
/// The most datagrams in one super-packet: below the kernel's limit for a
/// socket's (`UDP_MAX_SEGMENTS`, 128), and what wireguard-go, which takes
/// UDP GRO packets whole, splits at most (64).
const MAX_SEGS: u16 = 64;
/// The length of the UDP header the transmit puts in front.
const UDP_HEADER: u32 = 8;
/// Where the checksum lies in the UDP header.
const UDP_CHECK_OFFSET: u16 = 6;

/// A UDP GSO super-packet being built from datagram payloads of one size,
/// the last possibly shorter: the first is the head's linear data, each other
/// is a linear skb on the head's `frag_list`. That is the geometry UDP GRO
/// builds. A device takes it whole only with `NETIF_F_FRAGLIST` (veth,
/// loopback, bridges); for others `skb_segment` splits it in software,
/// cloning each datagram out of its skb and then copying the clone's head
/// (`skb_cow_head` on a shared header): an allocation and a copy per
/// datagram.
///
/// The skbs that join give up their owner (socket and destructor, the same
/// as the head's: the segments of one super-packet of a socket) to the head,
/// whose `truesize` grows by theirs, as GRO's: the owner's send buffer stays
/// charged for all of it until the head is freed, and the packet keeps its
/// socket (for cgroup and owner matches, and TCP's small queues).
///
/// # Invariants
///
/// `head` is linear, not a GSO packet and its header not shared (not cloned)
/// when built, with room for a UDP header in front of its data; its
/// `frag_list` holds the `segs - 1` skbs that joined (each linear, not a GSO
/// packet and not shared when it did, and owned by no socket since), in
/// order, `tail` the last of them (null: none), and its `len`, `data_len` and
/// `truesize` count them. Every payload is at most `size` bytes, and only the
/// last may be shorter (`open` is false after it); their total is at most
/// `MAX_PAYLOAD`.
pub(crate) struct UdpGso {
    head: SkBuff,
    tail: *mut b::sk_buff,
    size: u32,
    segs: u16,
    open: bool,
}

/// Whether a valid skb can be part of a super-packet: linear (no fragments,
/// no `frag_list`), with one reference (not `skb_shared`), its header not
/// cloned, not a GSO packet itself, and asking for nothing per packet in its
/// shared info's `tx_flags` (a timestamp, or wifi status): those flags of a
/// member would be lost, so such a packet goes alone.
///
/// # Safety
///
/// `skb` is valid.
unsafe fn plain(skb: *mut b::sk_buff) -> bool {
    // SAFETY: per the contract; the reference count is read once (as
    // `refcount_read`), and the skb's owner holds one of them.
    unsafe {
        let users = ptr::addr_of!((*skb).users.refs.counter).read_volatile();
        let info = shinfo(skb);
        (*skb).data_len == 0
            && users == 1
            && (*skb).cloned() == 0
            && (*info).gso_size == 0
            && (*info).frag_list.is_null()
            && (*info).tx_flags == 0
    }
}

/// The owner of a valid skb (its socket and its destructor's address), if its
/// charge can move to another skb of the same owner: none at all, or a
/// charge of the skb's `truesize` to a socket's send buffer, which the
/// destructor gives back (`sock_wfree`; TCP's `tcp_wfree`, which is not
/// exported, so it is known by its socket: a TCP socket's transmitted skbs
/// carry that or `sock_wfree`). `None`: another kind of destructor (one
/// that releases something per skb, such as a socket reference), whose
/// skb cannot give it up.
///
/// The segments of one GSO packet of a socket all carry its owner in 6.12
/// only from `tcp_gso_segment` (`tcp_wfree`) and `__udp_gso_segment`
/// (`sock_wfree`); other segments have none, or differ.
///
/// # Safety
///
/// `skb` is valid and not on TCP's retransmit queue (where the destructor's
/// place holds a list anchor).
unsafe fn movable_owner(skb: *mut b::sk_buff) -> Option<(*mut b::sock, usize)> {
    // `TCP_TIME_WAIT` and `TCP_NEW_SYN_RECV`: the states of the sockets that
    // are not full `struct sock`s (`sk_fullsock`).
    const NOT_FULL: u32 = (1 << 6) | (1 << 12);
    // SAFETY: per the contract; an skb's socket is live while the skb holds
    // it (its destructor releases it); its state is in the common part every
    // kind of socket has, and its protocol is read only from a full socket.
    unsafe {
        let sk = (*skb).sk;
        let dtor = (*skb).__bindgen_anon_3.__bindgen_anon_1.destructor;
        let addr = dtor.map_or(0, |f| f as usize);
        let tcp = || {
            let state = u32::from((*sk).__sk_common.skc_state);
            state < 32
                && (1u32 << state) & NOT_FULL == 0
                && u32::from((*sk).sk_protocol) == b::IPPROTO_TCP
        };
        let movable = match dtor {
            None => sk.is_null(),
            Some(f) => {
                f as usize == b::sock_wfree as *const () as usize || (!sk.is_null() && tcp())
            }
        };
        movable.then_some((sk, addr))
    }
}

/// When a valid skb is to leave (`skb->tstamp` and its clock,
/// `tstamp_type`: a departure time that TCP's pacing or `SO_TXTIME` set, for
/// the `fq` qdisc of the outer device), or its receive time; zero if none.
/// A super-packet leaves at its head's, so only skbs of the same one join:
/// the segments of one packet of the device have their packet's, and
/// separate packets (forwarded, or whose sockets set none) have none.
///
/// # Safety
///
/// `skb` is valid.
unsafe fn departure(skb: *mut b::sk_buff) -> (i64, u8) {
    // SAFETY: per the contract; plain reads of the skb's fields.
    unsafe {
        let h = (*skb).__bindgen_anon_4.headers.as_ref();
        ((*skb).__bindgen_anon_2.tstamp, h.tstamp_type())
    }
}

impl UdpGso {
    /// Starts a super-packet with `head`'s data as its first payload; hands
    /// `head` back if it cannot be one (not linear, shared, already a GSO
    /// packet, empty, or without room for a UDP header in front: the check
    /// keeps `finish`'s offset in the head room; the room for the outer
    /// headers, which the transmit pushes unchecked, is the caller's to
    /// make, as for any packet it sends).
    pub(crate) fn new(head: SkBuff) -> Result<Self, SkBuff> {
        let raw = head.raw();
        // SAFETY: reads fields of the skb we own.
        let fits =
            unsafe { plain(raw) && (*raw).data.offset_from((*raw).head) >= UDP_HEADER as isize };
        let size = head.len();
        if !fits || size == 0 || size > MAX_PAYLOAD {
            return Err(head);
        }
        // INVARIANT: checked just above; nothing has joined.
        Ok(UdpGso {
            head,
            tail: ptr::null_mut(),
            size,
            segs: 1,
            open: true,
        })
    }

    /// Whether a payload of `len` bytes can join (its skb must also be
    /// plain and have the head's owner, which [`UdpGso::push`] checks).
    pub(crate) fn takes(&self, len: u32) -> bool {
        self.open
            && len > 0
            && len <= self.size
            && self.segs < MAX_SEGS
            && self.head.len().saturating_add(len) <= MAX_PAYLOAD
    }

    /// Appends `skb`'s data as the next payload; hands it back if it cannot
    /// join ([`UdpGso::takes`], not plain, another owner than the head's, or
    /// another departure time).
    pub(crate) fn push(&mut self, skb: SkBuff) -> Result<(), SkBuff> {
        let len = skb.len();
        let (raw, head) = (skb.raw(), self.head.raw());
        // SAFETY: reads fields of the two skbs we own, both off TCP's queues
        // (packets being sent by a device).
        let fits = unsafe {
            plain(raw)
                && movable_owner(raw).is_some()
                && movable_owner(raw) == movable_owner(head)
                && departure(raw) == departure(head)
        };
        if !self.takes(len) || !fits {
            return Err(skb);
        }
        let ptr = skb.into_nonnull().as_ptr();
        // INVARIANT: `skb` joins at the end of the head's `frag_list` (which
        // owns its reference from now on), counted in the head's lengths and
        // size, its owner's charge moved to the head (the same owner, whose
        // destructor uncharges the head's `truesize`: `sock_wfree`,
        // `tcp_wfree`); a shorter payload closes the packet.
        // SAFETY: both skbs are ours; the head's header is not shared (type
        // invariant), so its shared info is ours to write.
        unsafe {
            (*ptr).sk = ptr::null_mut();
            (*ptr).__bindgen_anon_3.__bindgen_anon_1.destructor = None;
            (*ptr).__bindgen_anon_1.__bindgen_anon_1.next = ptr::null_mut();
            match NonNull::new(self.tail) {
                Some(t) => (*t.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.next = ptr,
                None => (*shinfo(head)).frag_list = ptr,
            }
            // Bounded by `takes` (`MAX_PAYLOAD`, `MAX_SEGS`); saturating, as
            // no arithmetic on a packet path may panic.
            (*head).len = (*head).len.saturating_add(len);
            (*head).data_len = (*head).data_len.saturating_add(len);
            (*head).truesize = (*head).truesize.saturating_add((*ptr).truesize);
        }
        self.tail = ptr;
        self.segs = self.segs.saturating_add(1);
        self.open = len == self.size;
        Ok(())
    }

    /// The packet to send, and how many datagrams it carries. With more than
    /// one it is marked a UDP GSO packet (`SKB_GSO_UDP_L4` of `size`-byte
    /// segments) with its checksum left to the offload (`CHECKSUM_PARTIAL`)
    /// from where the transmit (`udp_tunnel{,6}_xmit_skb`) will push the UDP
    /// header, in front of the data: those push the header and fill in the
    /// pseudo-header sum of a GSO packet (`udp_set_csum`), but leave the
    /// offload's start and offset, which GSO needs, to their caller.
    pub(crate) fn finish(self) -> (SkBuff, u16) {
        let raw = self.head.raw();
        if self.segs > 1 {
            // SAFETY: the skb is ours and its header not shared (type
            // invariant); the start lies in its head room (checked in `new`,
            // and the data has not moved since), below 64 KiB as every
            // header offset (`u16`, as in C).
            unsafe {
                let info = shinfo(raw);
                (*info).gso_size = self.size as u16;
                (*info).gso_segs = self.segs;
                (*info).gso_type = b::SKB_GSO_UDP_L4;
                let start =
                    ((*raw).data.offset_from((*raw).head) as u32).saturating_sub(UDP_HEADER);
                let h = (*raw).__bindgen_anon_4.headers.as_mut();
                h.set_ip_summed(b::CHECKSUM_PARTIAL as u8);
                h.__bindgen_anon_1.__bindgen_anon_1.csum_start = start as u16;
                h.__bindgen_anon_1.__bindgen_anon_1.csum_offset = UDP_CHECK_OFFSET;
            }
        }
        (self.head, self.segs)
    }
}

// SPDX-License-Identifier: GPL-2.0
//! UDP GSO super-packets on transmit (`SKB_GSO_UDP_L4`): several datagrams
//! to one destination leave as one skb, one pass through the IP stack and the
//! qdisc. The stack splits it again where it must: late in `dev_queue_xmit`
//! if the route's device cannot take it whole (software GSO), or on delivery
//! to a socket that does not accept GSO packets (`udp_rcv_segment`), so a
//! receiver sees the same datagrams as if they had been sent one by one.

use super::bindings as b;
use super::skb::SkBuff;
use core::ptr::{self, NonNull};

/// The most payload one super-packet carries: what one IPv4 UDP datagram can
/// (65,535 bytes less the 20-byte IP and 8-byte UDP headers). Its IP and UDP
/// length fields then hold its whole length, which the receiving stack checks
/// before it splits it.
const MAX_PAYLOAD: u32 = 65_507;
/// The most datagrams in one super-packet.
const MAX_SEGS: u16 = 64;
/// The length of the UDP header the transmit puts in front.
const UDP_HEADER: u32 = 8;
/// Where the checksum lies in the UDP header.
const UDP_CHECK_OFFSET: u16 = 6;

/// A UDP GSO super-packet being built from datagram payloads of one size,
/// the last possibly shorter: the first is the head's linear data, each other
/// is a linear skb on the head's `frag_list`. That is the geometry UDP GRO
/// builds, which `skb_segment` splits by cloning each datagram back out of
/// its skb, without copying.
///
/// # Invariants
///
/// `head` is linear and its header not shared (not cloned) when built, with
/// room for a UDP header in front of its data; its `frag_list` holds the
/// `segs - 1` skbs that joined (each linear and not shared when it did), in
/// order, `tail` the last of them (null: none), and its `len`, `data_len` and
/// `truesize` count them. Once one has joined, `head` has no owner socket.
/// Every payload is at most `size` bytes, and only the last may be shorter
/// (`open` is false after it); their total is at most `MAX_PAYLOAD`.
pub(crate) struct UdpGso {
    head: SkBuff,
    tail: *mut b::sk_buff,
    size: u32,
    segs: u16,
    open: bool,
}

/// The shared info at the end of a valid skb's head (`skb_shinfo`; `end` is
/// an offset on 64-bit).
///
/// # Safety
///
/// `skb` is valid.
unsafe fn shinfo(skb: *mut b::sk_buff) -> *mut b::skb_shared_info {
    // SAFETY: per the contract.
    unsafe { (*skb).head.add((*skb).end as usize).cast() }
}

/// Whether a valid skb is linear, with one reference (not `skb_shared`), and
/// its header not cloned.
///
/// # Safety
///
/// `skb` is valid.
unsafe fn linear_alone(skb: *mut b::sk_buff) -> bool {
    // SAFETY: per the contract; the reference count is read once (as
    // `refcount_read`), and the skb's owner holds one of them.
    unsafe {
        let users = ptr::addr_of!((*skb).users.refs.counter).read_volatile();
        (*skb).data_len == 0 && users == 1 && (*skb).cloned() == 0
    }
}

impl UdpGso {
    /// Starts a super-packet with `head`'s data as its first payload; hands
    /// `head` back if it cannot be one (not linear, shared, already a GSO
    /// packet, empty, or without room for a UDP header in front).
    pub(crate) fn new(head: SkBuff) -> Result<Self, SkBuff> {
        let raw = head.raw();
        // SAFETY: reads fields of the skb we own.
        let fits = unsafe {
            linear_alone(raw)
                && (*shinfo(raw)).gso_size == 0
                && (*shinfo(raw)).frag_list.is_null()
                && (*raw).data.offset_from((*raw).head) >= UDP_HEADER as isize
        };
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
    /// linear and not shared, which [`UdpGso::push`] checks).
    pub(crate) fn takes(&self, len: u32) -> bool {
        self.open
            && len > 0
            && len <= self.size
            && self.segs < MAX_SEGS
            && self.head.len().saturating_add(len) <= MAX_PAYLOAD
    }

    /// Appends `skb`'s data as the next payload; hands it back if it cannot
    /// join ([`UdpGso::takes`], or not linear, or shared).
    pub(crate) fn push(&mut self, skb: SkBuff) -> Result<(), SkBuff> {
        let len = skb.len();
        let raw = skb.raw();
        // SAFETY: reads fields of the skb we own.
        let fits = unsafe { linear_alone(raw) && (*shinfo(raw)).frag_list.is_null() };
        if !self.takes(len) || !fits {
            return Err(skb);
        }
        let head = self.head.raw();
        if self.tail.is_null() {
            // The head's `truesize` grows to cover what joins (as GRO's): it
            // must no longer be charged to a socket, whose destructor would
            // uncharge the grown size (`sock_wfree`). The skbs that join
            // keep their owners and are uncharged when freed.
            self.head.orphan();
        }
        let ptr = skb.into_nonnull().as_ptr();
        // INVARIANT: `skb` joins at the end of the head's `frag_list` (which
        // owns its reference from now on), counted in the head's lengths and
        // size; a shorter payload closes the packet.
        // SAFETY: both skbs are ours; the head's header is not shared (type
        // invariant), so its shared info is ours to write.
        unsafe {
            (*ptr).__bindgen_anon_1.__bindgen_anon_1.next = ptr::null_mut();
            match NonNull::new(self.tail) {
                Some(t) => (*t.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.next = ptr,
                None => (*shinfo(head)).frag_list = ptr,
            }
            (*head).len += len;
            (*head).data_len += len;
            (*head).truesize += (*ptr).truesize;
        }
        self.tail = ptr;
        self.segs += 1;
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
                let start = (*raw).data.offset_from((*raw).head) as u32 - UDP_HEADER;
                let h = (*raw).__bindgen_anon_4.headers.as_mut();
                h.set_ip_summed(b::CHECKSUM_PARTIAL as u8);
                h.__bindgen_anon_1.__bindgen_anon_1.csum_start = start as u16;
                h.__bindgen_anon_1.__bindgen_anon_1.csum_offset = UDP_CHECK_OFFSET;
            }
        }
        (self.head, self.segs)
    }
}

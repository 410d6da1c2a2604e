// SPDX-License-Identifier: GPL-2.0
//! Socket buffers.

use super::bindings as b;
use super::ordered::JobSkb;
use core::ptr::{self, NonNull};

/// An owned `struct sk_buff`: freed (as dropped) when this goes out of scope.
///
/// # Invariants
///
/// `self.0` points to a valid skb on which this value holds a reference, which it releases
/// (`kfree_skb`) when dropped unless it handed the reference over first
/// ([`SkBuff::into_nonnull`]). The one exception is the `SkBuff` inside a [`JobSkb`], which is
/// never dropped and holds no reference of its own: the job's bundle owns the packet.
pub(crate) struct SkBuff(NonNull<b::sk_buff>);

// SAFETY: an skb that nobody else references may be handed to any thread.
unsafe impl Send for SkBuff {}

impl Drop for SkBuff {
    fn drop(&mut self) {
        let reason = b::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED;
        // SAFETY: we own the skb and nothing uses it after this (`kfree_skb`).
        unsafe { b::sk_skb_reason_drop(ptr::null_mut(), self.0.as_ptr(), reason) }
    }
}

/// The shared info at the end of a valid skb's head (`skb_shinfo`: `end` is
/// an offset, 64-bit).
///
/// # Safety
///
/// `skb` is valid.
pub(super) unsafe fn shinfo(skb: *mut b::sk_buff) -> *mut b::skb_shared_info {
    // SAFETY: per the contract.
    unsafe { (*skb).head.add((*skb).end as usize).cast() }
}

/// Room for the scatterlist of one packet: every fragment, plus the head, the
/// trailer and a margin (the C driver's `MAX_SKB_FRAGS + 8`).
const SG_ENTRIES: usize = b::CONFIG_MAX_SKB_FRAGS as usize + 8;

// `SkBuff::reset` clears the headers group through bindgen's union.
const _: () = assert!(
    core::mem::offset_of!(b::sk_buff, __bindgen_anon_4) == b::WG_SHIM_SKB_HEADERS_OFFSET as usize
);
const _: () = assert!(
    core::mem::size_of::<b::sk_buff__bindgen_ty_4>() == b::WG_SHIM_SKB_HEADERS_LEN as usize
);
// `head + end`, `head + tail` and the offset arithmetic below assume that
// `sk_buff_data_t` is an offset (NET_SKBUFF_DATA_USES_OFFSET: 64-bit).
const _: () = assert!(core::mem::size_of::<b::sk_buff_data_t>() == 4);

/// Length of a ChaCha20-Poly1305 tag.
const TAG_LEN: u32 = 16;

/// Maps the data of `raw` from `offset` to a scatterlist of `frags` entries
/// and seals in place (`encrypt`) `len` bytes of text, its tag written
/// after them, or opens `len` bytes of text and tag, with ChaCha20-Poly1305
/// under `key` and `counter` (`chacha20poly1305_{en,de}crypt_sg_inplace`).
///
/// # Safety
///
/// `raw` is ours, made writable by the `skb_cow_data` that returned
/// `frags` (at most `SG_ENTRIES`), with the data to map from `offset`.
unsafe fn crypt_sg(
    raw: *mut b::sk_buff,
    frags: u32,
    offset: u32,
    len: u32,
    encrypt: bool,
    key: &[u8; 32],
    counter: u64,
) -> bool {
    use b::chacha20poly1305_decrypt_sg_inplace as open;
    use b::chacha20poly1305_encrypt_sg_inplace as seal;
    let mut sg = [b::scatterlist::default(); SG_ENTRIES];
    let sg = sg.as_mut_ptr();
    let Some(mapped) = len.checked_add(if encrypt { TAG_LEN } else { 0 }) else {
        return false;
    };
    // SAFETY: per the contract; `sg` has room for `frags` entries.
    unsafe {
        b::sg_init_table(sg, frags);
        if b::skb_to_sgvec(raw, sg, offset as i32, mapped as i32) <= 0 {
            return false;
        }
        // Direct calls (through a function pointer they would be indirect:
        // retpoline, kCFI).
        if encrypt {
            seal(sg, len as usize, ptr::null(), 0, counter, key.as_ptr())
        } else {
            open(sg, len as usize, ptr::null(), 0, counter, key.as_ptr())
        }
    }
}

/// A UDP endpoint: address bytes in network order and the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SocketAddr {
    /// IPv4 address and port.
    V4([u8; 4], u16),
    /// IPv6 address and port.
    V6([u8; 16], u16),
}

/// `ETH_P_IP` and `ETH_P_IPV6` in network order, as `skb->protocol` holds them.
pub(super) const PROTO_IP: u16 = 0x0800u16.to_be();
pub(super) const PROTO_IPV6: u16 = 0x86ddu16.to_be();

/// Byte offsets of the IP header fields read here (RFC 791, RFC 8200), and
/// the header lengths: an IPv4 header without options, the IPv6 header.
pub(super) const IPV4_TOT_LEN: usize = 2;
pub(super) const IPV4_SADDR: usize = 12;
pub(super) const IPV4_DADDR: usize = 16;
const IPV4_HEADER_MIN: u32 = 20;
const IPV6_PAYLOAD_LEN: usize = 4;
pub(super) const IPV6_SADDR: usize = 8;
pub(super) const IPV6_DADDR: usize = 24;
const IPV6_HEADER: u32 = 40;

/// An IP address (network byte order).
pub(crate) enum IpAddr {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
}

/// A list of skbs (GSO segments), consumed one at a time.
///
/// # Invariants
///
/// `self.0` is null or the first of a list of valid skbs, each linked to the next by its `next`
/// pointer (the last one's null), on each of which this value holds a reference.
pub(crate) struct SkbList(*mut b::sk_buff);

impl Iterator for SkbList {
    type Item = SkBuff;

    fn next(&mut self) -> Option<SkBuff> {
        let head = NonNull::new(self.0)?;
        // SAFETY: we own the list; detaching the head (`skb_mark_not_on_list`)
        // hands it over, owned.
        unsafe {
            let links = &mut (*head.as_ptr()).__bindgen_anon_1.__bindgen_anon_1;
            // INVARIANT: the rest of the list starts at the head's `next`, which is read and
            // cleared together, so the head leaves the list as it is handed over.
            self.0 = core::mem::replace(&mut links.next, ptr::null_mut());
            Some(SkBuff::from_nonnull(head))
        }
    }
}

impl SkbList {
    /// A list of `skb` alone. Its `next` is cleared: the stack may hand over
    /// a packet of a list it walks itself (`udp_queue_rcv_skb`'s segments).
    pub(super) fn single(skb: SkBuff) -> SkbList {
        let ptr = skb.into_nonnull().as_ptr();
        // INVARIANT: a list of this skb alone (its `next` cleared), whose reference passes to
        // the list.
        // SAFETY: the skb is ours; whoever walks the list it may be on saved
        // its `next` before handing it over.
        unsafe { (*ptr).__bindgen_anon_1.__bindgen_anon_1.next = ptr::null_mut() };
        SkbList(ptr)
    }

    /// # Safety
    ///
    /// `ptr` is null or the first of a list of valid skbs linked through
    /// `next` (the last one's null), whose references pass to the list.
    pub(super) unsafe fn from_raw(ptr: *mut b::sk_buff) -> SkbList {
        // INVARIANT: per the safety requirements.
        SkbList(ptr)
    }
}

impl Drop for SkbList {
    fn drop(&mut self) {
        self.by_ref().for_each(drop);
    }
}

impl SkBuff {
    /// # Safety
    ///
    /// `ptr` is a valid skb whose ownership passes to the returned value.
    pub(crate) unsafe fn from_raw(ptr: *mut b::sk_buff) -> Option<SkBuff> {
        // INVARIANT: by the safety requirements, a non-null `ptr` is a valid skb whose reference
        // passes to the result.
        NonNull::new(ptr).map(SkBuff)
    }

    /// # Safety
    ///
    /// `ptr` is a valid skb whose ownership passes to the returned value.
    pub(super) unsafe fn from_nonnull(ptr: NonNull<b::sk_buff>) -> SkBuff {
        // INVARIANT: by the safety requirements.
        SkBuff(ptr)
    }

    /// Gives up ownership to the caller (C code, or a list of kapi's).
    pub(super) fn into_nonnull(self) -> NonNull<b::sk_buff> {
        core::mem::ManuallyDrop::new(self).0
    }

    /// The length of the packet's data.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: the skb is valid while owned.
        unsafe { (*self.0.as_ptr()).len }
    }

    pub(super) fn raw(&self) -> *mut b::sk_buff {
        self.0.as_ptr()
    }

    /// A new skb with `headroom` bytes reserved in front and a copy of
    /// `data` as its data (`GFP_ATOMIC`).
    pub(crate) fn alloc(headroom: u32, data: &[u8]) -> Option<SkBuff> {
        let len = u32::try_from(data.len()).ok()?;
        let size = headroom.checked_add(len)?;
        let gfp = kernel::bindings::GFP_ATOMIC;
        // SAFETY: allocates a fresh skb owned by the caller (`alloc_skb`).
        let skb = unsafe { SkBuff::from_raw(b::__alloc_skb(size, gfp, 0, b::NUMA_NO_NODE)) }?;
        // SAFETY: the skb is empty with `size` bytes of room: `headroom` of
        // them are reserved (`skb_reserve`), the `len` after them put
        // (`skb_put` returns their start) and filled.
        unsafe {
            (*skb.raw()).data = (*skb.raw()).data.add(headroom as usize);
            // Within the `size` bytes just allocated: cannot saturate.
            (*skb.raw()).tail = (*skb.raw()).tail.saturating_add(headroom);
            let dst = b::skb_put(skb.raw(), len);
            ptr::copy_nonoverlapping(data.as_ptr(), dst.cast::<u8>(), data.len());
        }
        Some(skb)
    }

    /// Marks the current start of the data as the inner network header (the
    /// tunnel's transmit counts the packet from there).
    pub(crate) fn set_inner_network_header_here(&mut self) {
        let raw = self.raw();
        // SAFETY: sets an offset of the skb we own to its data pointer
        // (`skb_set_inner_network_header(skb, 0)`), truncated to the u16
        // offset as in C.
        unsafe {
            let h = (*raw).__bindgen_anon_4.headers.as_mut();
            h.inner_network_header = (*raw).data.offset_from((*raw).head) as u16;
        }
    }

    /// The first `len` bytes of the data, made linear if they were not
    /// (`pskb_may_pull`); `None` when the packet is shorter.
    pub(crate) fn linear_prefix(&mut self, len: u32) -> Option<&[u8]> {
        // SAFETY: `pskb_may_pull` makes `len` bytes linear or fails; the
        // returned slice borrows the skb mutably, so no other operation can
        // move the data while it lives.
        unsafe {
            if !b::wg_shim_pskb_may_pull(self.raw(), len) {
                return None;
            }
            let data = (*self.raw()).data;
            Some(core::slice::from_raw_parts(data, len as usize))
        }
    }

    /// Strips the outer IP and UDP headers of a datagram handed over by
    /// `encap_rcv`, trusting no length in them: the data then starts at the
    /// UDP payload, which is exactly as long as the UDP header says. `None`: a
    /// malformed packet, which the caller drops. The network header stays
    /// where it was, so the source address and port can still be read
    /// ([`SkBuff::outer_endpoint`]).
    pub(super) fn pull_udp_payload(&mut self) -> Option<()> {
        const UDP_HEADER_LEN: u32 = 8;
        let raw = self.raw();
        // SAFETY: reads offsets and lengths of a valid skb; the UDP header is
        // only read after `pskb_may_pull` made it linear, and the transport
        // offset was checked to lie inside the data.
        unsafe {
            // `skb_transport_offset`: from the data to the transport header.
            let th = b::wg_shim_skb_transport_header(raw);
            let offset = u32::try_from((th as isize).wrapping_sub((*raw).data as isize))
                .ok()
                .filter(|o| *o <= u32::from(u16::MAX))?;
            let header_end = offset.checked_add(UDP_HEADER_LEN)?;
            if header_end > (*raw).len || !b::wg_shim_pskb_may_pull(raw, header_end) {
                return None;
            }
            let udp = (*raw).data.add(offset as usize);
            let udp_len = u32::from(u16::from_be_bytes([*udp.add(4), *udp.add(5)]));
            // `header_end <= len` above: `len - offset` cannot wrap.
            if udp_len < UDP_HEADER_LEN || udp_len > (*raw).len.saturating_sub(offset) {
                return None;
            }
            let payload_len = udp_len - UDP_HEADER_LEN;
            if b::wg_shim_pskb_trim(raw, header_end + payload_len) < 0 {
                return None;
            }
            b::skb_pull(raw, header_end);
            ((*raw).len == payload_len).then_some(())
        }
    }

    /// For transmit: the inner packet's destination, if the skb is a
    /// well-formed IPv4 or IPv6 packet whose `protocol` agrees with its header.
    pub(crate) fn inner_destination(&self) -> Option<IpAddr> {
        let raw = self.raw();
        // SAFETY: the stack hands packets to `ndo_start_xmit` with the
        // network header set and linear; the protocol check reads it within
        // the data.
        unsafe {
            let real = b::wg_shim_ip_tunnel_parse_protocol(raw);
            if real == 0 || self.protocol() != real {
                return None;
            }
            // Read as bytes: the header may be unaligned.
            let nh = b::wg_shim_skb_network_header(raw);
            match real {
                PROTO_IP => Some(IpAddr::V4(nh.add(IPV4_DADDR).cast::<[u8; 4]>().read())),
                PROTO_IPV6 => Some(IpAddr::V6(nh.add(IPV6_DADDR).cast::<[u8; 16]>().read())),
                _ => None,
            }
        }
    }

    /// For transmit: the MTU of the packet's route, or `dev_mtu` without one.
    pub(crate) fn route_mtu<T: super::netdev::LinkOps>(
        &self,
        dev: &super::netdev::NetDevice<T>,
    ) -> u32 {
        // SAFETY: reads the skb's dst, and the MTU of a valid one.
        unsafe {
            if b::wg_shim_skb_valid_dst(self.raw()) {
                b::wg_shim_skb_dst_mtu(self.raw())
            } else {
                dev.mtu()
            }
        }
    }

    /// Whether it is a GSO packet (`skb_is_gso`).
    pub(super) fn is_gso(&self) -> bool {
        // SAFETY: reads the GSO size of a valid skb, in its shared info.
        unsafe { (*shinfo(self.raw())).gso_size != 0 }
    }

    /// Whether it is a GSO packet of the fraglist kind (`SKB_GSO_FRAGLIST`:
    /// packets chained whole, each with its own headers, as UDP GRO makes
    /// them).
    pub(super) fn is_gso_fraglist(&self) -> bool {
        // SAFETY: reads the GSO type of a valid skb, in its shared info.
        self.is_gso() && unsafe { (*shinfo(self.raw())).gso_type } & b::SKB_GSO_FRAGLIST != 0
    }

    /// How many packets it carries: its GSO segments (`gso_segs`), 1 if it
    /// is not a GSO packet.
    pub(super) fn gso_segs(&self) -> u16 {
        if !self.is_gso() {
            return 1;
        }
        // SAFETY: reads the shared info of a valid skb.
        unsafe { (*shinfo(self.raw())).gso_segs.max(1) }
    }

    /// Splits a GSO super-packet into its segments (software GSO); the
    /// original is consumed. A packet that is not GSO comes back alone.
    pub(crate) fn segment(self) -> Result<SkbList, kernel::error::Error> {
        if !self.is_gso() {
            return Ok(SkbList::single(self));
        }
        // SAFETY: segmenting a valid GSO skb (`skb_gso_segment`, no
        // features); on success the segments are a new list and the original
        // is ours to free.
        let segs =
            kernel::error::from_err_ptr(unsafe { b::__skb_gso_segment(self.raw(), 0, true) })?;
        if segs.is_null() {
            return Err(kernel::error::code::EINVAL);
        }
        drop(self);
        // INVARIANT: `skb_gso_segment` returned a new list of segments, linked through `next`,
        // each with a reference that is now ours.
        Ok(SkbList(segs))
    }

    /// Makes sure nobody else holds the skb (`skb_share_check`): a clone
    /// replaces a shared one; `None` if that failed (the skb is gone).
    pub(crate) fn unshare(self) -> Option<SkBuff> {
        // SAFETY: hands our reference to `skb_share_check`, which returns
        // an skb we own or null after freeing ours.
        unsafe { SkBuff::from_raw(b::wg_shim_skb_share_check(self.into_nonnull().as_ptr())) }
    }

    /// Releases the packet from its sending socket (`skb_orphan`): the
    /// socket's send buffer no longer accounts for it, so a packet that
    /// waits (for a handshake) does not hold up its sender.
    pub(crate) fn orphan(&mut self) {
        // SAFETY: runs and clears the destructor of the skb we own.
        unsafe { b::wg_shim_skb_orphan(self.raw()) }
    }

    /// Drops the route the packet came with (kept until now for ICMP errors).
    pub(crate) fn drop_dst(&mut self) {
        // SAFETY: releases the skb's dst reference, if any.
        unsafe { b::wg_shim_skb_dst_drop(self.raw()) }
    }

    /// Answers the sender with an ICMP or ICMPv6 host-unreachable error (NAT
    /// aware: `icmp{,v6}_ndo_send`), then frees the packet.
    pub(crate) fn reject_unreachable(self) {
        // SAFETY: the skb is a valid packet of its protocol being
        // transmitted on our device.
        unsafe {
            match self.protocol() {
                PROTO_IP => b::wg_shim_icmp_host_unreach(self.raw()),
                PROTO_IPV6 => b::wg_shim_icmpv6_addr_unreach(self.raw()),
                _ => {}
            }
        }
    }

    /// Gives up the skb for transmission on `dev` with `mark`: off any list,
    /// and fragmentable (`ignore_df`).
    pub(super) fn into_xmit(mut self, dev: *mut b::net_device, mark: u32) -> *mut b::sk_buff {
        self.set_dev(dev);
        let raw = self.into_nonnull().as_ptr();
        // SAFETY: the skb is ours until the caller hands it on; the fields
        // written are plain data (`mark` and `ignore_df` in the headers
        // group: see `reset`).
        unsafe {
            (*raw).__bindgen_anon_1.__bindgen_anon_1.next = ptr::null_mut();
            let h = (*raw).__bindgen_anon_4.headers.as_mut();
            h.__bindgen_anon_4.mark = mark;
            h.set_ignore_df(1);
        }
        raw
    }

    /// `skb->dev`.
    fn set_dev(&mut self, dev: *mut b::net_device) {
        // SAFETY: plain fields of the skb we own.
        let links = unsafe { &mut (*self.raw()).__bindgen_anon_1.__bindgen_anon_1 };
        links.__bindgen_anon_1.dev = dev;
    }

    /// `skb->protocol`: the packet's `ETH_P_*`, in network order.
    pub(super) fn protocol(&self) -> u16 {
        // SAFETY: reads a field of a valid skb (in its `headers` group: see
        // `reset`).
        unsafe { (*self.raw()).__bindgen_anon_4.headers.as_ref().protocol }
    }

    /// Has the outer device's transmit queue picked as if CPU `cpu` (one
    /// of `crypt_queue::online_cpu_for`) sent the packet: `skb->sender_cpu`,
    /// the CPU whose XPS map picks the queue (zero after [`SkBuff::reset`],
    /// as for `None`: the CPU that sends it). The C driver sends each peer's
    /// packets from a work item on one CPU; a packet of ours leaves from
    /// whichever CPU sends it, and packets queued on two queues of a device
    /// can leave it out of order.
    pub(crate) fn set_xps_cpu(&mut self, cpu: Option<u32>) {
        let value = cpu.map_or(0, |cpu| cpu.saturating_add(1));
        // SAFETY: a plain field of the skb we own (in its `headers` group:
        // see `reset`), a union with `napi_id` whose values 1 to `NR_CPUS`
        // are a sender CPU's (a CPU below `nr_cpu_ids`, as `cpu` is), and 0
        // none (`include/net/busy_poll.h`).
        unsafe {
            let h = (*self.raw()).__bindgen_anon_4.headers.as_mut();
            h.__bindgen_anon_3.sender_cpu = value;
        }
    }

    /// Clears what belongs to the other side of the tunnel: headers, dst,
    /// marks and offload state (`encapsulating`: keep the flow hash).
    /// The C driver's `wg_reset_packet`.
    pub(crate) fn reset(&mut self, encapsulating: bool) {
        let raw = self.raw();
        // SAFETY: the skb is ours; what is written is plain data of the skb
        // and of its `headers` group (the union `__bindgen_anon_4`, which
        // the asserts below pin to the kernel's offset and size).
        unsafe {
            let h: *mut _ = (*raw).__bindgen_anon_4.headers.as_mut();
            let (hash, l4_hash, sw_hash, tstamp_type) = (
                (*h).hash,
                (*h).l4_hash(),
                (*h).sw_hash(),
                (*h).tstamp_type(),
            );
            b::skb_scrub_packet(raw, true);
            ptr::addr_of_mut!((*raw).__bindgen_anon_4).write_bytes(0, 1);
            if encapsulating {
                (*h).set_l4_hash(l4_hash);
                (*h).set_sw_hash(sw_hash);
                (*h).hash = hash;
                (*h).set_tstamp_type(tstamp_type);
            }
            (*raw).queue_mapping = 0;
            (*raw).set_nohdr(0);
            (*raw).set_peeked(0);
            (*raw).mac_len = 0;
            self.set_dev(ptr::null_mut());
            // `tc_index` and `redirected` (`skb_reset_redirect`) are in the
            // headers group, zeroed above.
            // The headroom, truncated to the u16 offsets as in C.
            let headroom = (*raw).data.offset_from((*raw).head) as u16;
            (*raw).hdr_len = headroom;
            (*h).mac_header = headroom;
            (*h).network_header = headroom;
            (*h).transport_header = headroom;
            b::wg_shim_skb_probe_transport_header(raw);
            (*h).inner_mac_header = (*h).mac_header;
            (*h).inner_network_header = (*h).network_header;
            (*h).inner_transport_header = (*h).transport_header;
        }
    }

    /// The outer DSCP/ECN byte for an inner packet: the inner ECN bits as
    /// RFC 6040 says, no DSCP.
    pub(crate) fn outer_ds(&self) -> u8 {
        // SAFETY: reads the inner IP header of a packet being sent.
        unsafe { b::wg_shim_ecn_encapsulate(0, self.raw()) }
    }

    /// The skb's 48-byte control block, the driver's per-packet scratch space
    /// while it owns the packet.
    pub(crate) fn cb(&mut self) -> &mut [u8; 48] {
        // SAFETY: `cb` is a 48-byte array inside the skb we own.
        unsafe { &mut (*self.raw()).cb }
    }

    /// For a decrypted packet (data at the plaintext, headers reset): checks
    /// that it is a whole IPv4 or IPv6 packet no longer than the plaintext,
    /// trims the padding, carries the outer ECN marks in (`outer_ds`, RFC
    /// 6040), and hands it to `dev` as checked. Returns the inner source
    /// address, for the allowed-IPs check. An error: drop the packet (see
    /// [`RxReject`] for why).
    pub(crate) fn finish_rx<T: super::netdev::LinkOps>(
        &mut self,
        dev: &super::netdev::NetDevice<T>,
        outer_ds: u8,
    ) -> Result<IpAddr, RxReject> {
        let raw = self.raw();
        // SAFETY: every header access follows a `pskb_network_may_pull` of
        // its length, and reads bytes (the header may be unaligned); the skb
        // is ours.
        unsafe {
            if !b::wg_shim_pskb_network_may_pull(raw, IPV4_HEADER_MIN) {
                return Err(RxReject::NotIp);
            }
            let nh = b::wg_shim_skb_network_header(raw);
            let (proto, len, src) = match *nh >> 4 {
                4 => {
                    let len = nh.add(IPV4_TOT_LEN).cast::<[u8; 2]>().read();
                    let len = u32::from(u16::from_be_bytes(len));
                    if len < IPV4_HEADER_MIN {
                        return Err(RxReject::BadLength);
                    }
                    let src = nh.add(IPV4_SADDR).cast::<[u8; 4]>().read();
                    (PROTO_IP, len, IpAddr::V4(src))
                }
                6 => {
                    if !b::wg_shim_pskb_network_may_pull(raw, IPV6_HEADER) {
                        return Err(RxReject::NotIp);
                    }
                    let nh = b::wg_shim_skb_network_header(raw);
                    let len = nh.add(IPV6_PAYLOAD_LEN).cast::<[u8; 2]>().read();
                    let len = u32::from(u16::from_be_bytes(len)) + IPV6_HEADER;
                    let src = nh.add(IPV6_SADDR).cast::<[u8; 16]>().read();
                    (PROTO_IPV6, len, IpAddr::V6(src))
                }
                _ => return Err(RxReject::NotIp),
            };
            if len > (*raw).len {
                return Err(RxReject::BadLength);
            }
            if b::wg_shim_pskb_trim(raw, len) != 0 {
                return Err(RxReject::NoMemory);
            }
            // Authenticated: every checksum is as good as checked by
            // hardware (every level: `~0`); the packet now belongs to `dev`.
            self.set_dev(dev.as_raw());
            let h = (*raw).__bindgen_anon_4.headers.as_mut();
            h.set_ip_summed(b::CHECKSUM_UNNECESSARY as u8);
            h.set_csum_level(0b11);
            h.protocol = proto;
            // The network header is the inner packet's, pulled above.
            b::wg_shim_ecn_decapsulate(raw, outer_ds, self.dsfield());
            Ok(src)
        }
    }

    /// The DS field (DSCP and ECN) of the IP header at the network header: of
    /// a received packet, its outer header (validated by the stack); in
    /// [`SkBuff::finish_rx`], the inner one (pulled there).
    pub(crate) fn dsfield(&self) -> u8 {
        // SAFETY: the network header lies in the linear head, for as many
        // bytes as its version's header (see above); an unaligned read (the
        // header may be only 2-byte aligned: see `OuterAddrs::of`).
        unsafe {
            let nh = b::wg_shim_skb_network_header(self.raw());
            match *nh >> 4 {
                4 => nh.cast::<b::iphdr>().read_unaligned().tos,
                // `ipv6_get_dsfield`: the traffic class, after the version.
                6 => (u16::from_be_bytes([*nh, *nh.add(1)]) >> 4) as u8,
                _ => 0,
            }
        }
    }
}

/// The in-place crypto of a job's packets (kept in place: see [`JobSkb`]).
impl JobSkb<'_> {
    /// Encrypts the packet in place as a WireGuard data message: pads the
    /// plaintext with `padding` zero bytes, finishes a pending checksum,
    /// prepends `header`, appends the tag, and seals
    /// `[header.len(), header.len() + plaintext + padding)` with
    /// ChaCha20-Poly1305 under `key` and `counter`, fragments included (no
    /// copy of the data). `headroom`: what the outer headers will need in
    /// front. `false`: the skb could not be made writable or is too
    /// fragmented; drop it.
    ///
    /// Every byte that is encrypted is the packet's or written here: the
    /// head is expanded and the checksum finished before the trailer is
    /// made room for, and the padding is zeroed only then, right before it
    /// becomes part of the data. (Zeroing it before `skb_cow_head`, as the
    /// C driver did until 2026, loses it when the head is reallocated:
    /// `pskb_expand_head` copies the old head only up to `tail`, and the
    /// padding lay beyond it, so uninitialised heap went out encrypted.)
    pub(crate) fn seal_in_place(
        &mut self,
        header: &[u8; 16],
        padding: u32,
        headroom: u32,
        key: &[u8; 32],
        counter: u64,
    ) -> bool {
        let raw = self.0.raw();
        // The order is the C driver's since "wireguard: send: append
        // trailer after expanding head": make head room (which may reallocate the head), resolve the
        // checksum (which may make the head writable, another
        // reallocation), then make the data and a trailer of `trailer_len`
        // bytes of tail room writable (`skb_cow_data`, which keeps the head
        // room: it only ever expands at the tail), and from there on nothing
        // reallocates: zero the padding in the trailer's tail room (checked
        // to be there), push the header, put the trailer, map the data to a
        // scatterlist, encrypt in place.
        // SAFETY: every call works on the skb we own, in that order.
        unsafe {
            // `skb_get_hash`: the flow hash, taken over the inner packet
            // before it is encrypted.
            let h = (*raw).__bindgen_anon_4.headers.as_ref();
            if h.l4_hash() == 0 && h.sw_hash() == 0 {
                b::__skb_get_hash_net(ptr::null(), raw);
            }
            let Some(trailer_len) = padding.checked_add(TAG_LEN) else {
                return false;
            };
            let Some(plaintext_len) = (*raw).len.checked_add(padding) else {
                return false;
            };
            if b::wg_shim_skb_cow_head(raw, headroom) < 0 {
                return false;
            }
            let ip_summed = (*raw).__bindgen_anon_4.headers.as_ref().ip_summed();
            if ip_summed == b::CHECKSUM_PARTIAL as u8 && b::skb_checksum_help(raw) != 0 {
                return false;
            }
            let mut trailer: *mut b::sk_buff = ptr::null_mut();
            let frags = b::skb_cow_data(raw, trailer_len as i32, &mut trailer);
            if frags < 0 || frags as usize > SG_ENTRIES || trailer.is_null() {
                return false;
            }
            if (*trailer).data_len != 0
                || (*trailer).end.wrapping_sub((*trailer).tail) < trailer_len
            {
                return false;
            }
            // `skb_tail_pointer`: `tail` is an offset (64-bit).
            let tail = (*trailer).head.add((*trailer).tail as usize);
            ptr::write_bytes(tail, 0, padding as usize);
            self.0.set_inner_network_header_here();
            let h = b::skb_push(raw, header.len() as u32).cast::<u8>();
            ptr::copy_nonoverlapping(header.as_ptr(), h, header.len());
            b::pskb_put(raw, trailer, trailer_len as i32);
            let from = header.len() as u32;
            crypt_sg(raw, frags as u32, from, plaintext_len, true, key, counter)
        }
    }

    /// Decrypts in place a data message whose skb data starts at its 16-byte
    /// header (see [`SkBuff::pull_udp_payload`]): on success the data is the
    /// plaintext (header and tag removed). The outer headers stay in place.
    /// `false`: not authentic or not decryptable; drop it.
    pub(crate) fn open_in_place(&mut self, key: &[u8; 32], counter: u64) -> bool {
        const HEADER: u32 = 16;
        let raw = self.0.raw();
        // SAFETY: as in `seal_in_place`; the network header lies in the head
        // (received packet), and pushing back to it before `skb_cow_data`
        // keeps it inside the data so it is not dropped.
        unsafe {
            // `-skb_network_offset`: from the network header to the data.
            let nh = b::wg_shim_skb_network_header(raw);
            let Ok(back) = u32::try_from(((*raw).data as isize).wrapping_sub(nh as isize)) else {
                return false;
            };
            let Some(front) = back.checked_add(HEADER) else {
                return false;
            };
            if (*raw).len < HEADER + TAG_LEN {
                return false;
            }
            b::skb_push(raw, back);
            let mut trailer: *mut b::sk_buff = ptr::null_mut();
            let frags = b::skb_cow_data(raw, 0, &mut trailer);
            b::skb_pull(raw, front);
            if frags < 0 || frags as usize > SG_ENTRIES {
                return false;
            }
            if !crypt_sg(raw, frags as u32, 0, (*raw).len, false, key, counter) {
                return false;
            }
            b::skb_push(raw, front);
            // At least a header and a tag long (checked above, and opening
            // does not shorten it): cannot wrap.
            if b::wg_shim_pskb_trim(raw, (*raw).len.saturating_sub(TAG_LEN)) != 0 {
                return false;
            }
            b::skb_pull(raw, front);
            true
        }
    }
}

/// Why [`SkBuff::finish_rx`] refused a decrypted packet.
pub(crate) enum RxReject {
    /// Not an IPv4 or IPv6 packet (too short for the header of its version,
    /// or another version).
    NotIp,
    /// The IP header's length is too small, or longer than the packet.
    BadLength,
    /// Trimming the padding needed memory that was not there.
    NoMemory,
}

impl core::fmt::Display for IpAddr {
    /// Dotted quad, or the compressed IPv6 form of RFC 5952 (as `%pI6c`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            IpAddr::V4(a) => write!(f, "{}", core::net::Ipv4Addr::from(a)),
            IpAddr::V6(a) => write!(f, "{}", core::net::Ipv6Addr::from(a)),
        }
    }
}

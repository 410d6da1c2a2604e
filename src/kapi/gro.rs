// SPDX-License-Identifier: GPL-2.0
//! GRO of the datagrams an encapsulation socket receives
//! (`udp_tunnel_sock_cfg::gro_receive`).
//!
//! Datagrams of one flow (the same addresses and ports, which the layers
//! below have matched, and the same key, which the socket's owner gives:
//! [`super::udp::EncapRecv::gro_key`]) that one NAPI poll of the outer device
//! receives are chained into one packet with the geometry of the kernel's
//! own UDP "fraglist" GRO: the first datagram is the head, each other keeps
//! its own skb, with its own IP and UDP headers, on the head's `frag_list`.
//! That packet passes the IP stack (routing, netfilter, the socket lookup)
//! once. It completes as the kernel completes its own (`udp4_gro_complete`,
//! `udp6_gro_complete`: a UDP GSO packet, `SKB_GSO_UDP_L4 | SKB_GSO_FRAGLIST`,
//! since the held packet has `is_flist` set and `encap_mark` clear), with
//! one more bit, set here: `SKB_GSO_UDP_TUNNEL`. The stack splits a UDP GSO
//! packet before any socket that does not take such packets
//! (`udp_unexpected_gso`), and before an encapsulation socket unless the
//! packet has that bit; with it, it reaches our socket, which takes them
//! (`udp_allow_gso`), whole, and `encap_rcv` splits it there
//! ([`super::udp`]: the stack's own split, `udp_rcv_segment`, which gives
//! each datagram back its own skb, its headers and the head's metadata) and
//! hands the burst over as one.
//!
//! Forwarded (a datagram to another host that matched the wildcard socket's
//! port), it segments as UDP (`udp4_ufo_fragment` looks at the tunnel bit
//! only with `skb->encapsulation` set, which it is not): in software before
//! any device without `NETIF_F_GSO_FRAGLIST` (every NIC); a virtual device
//! with it (veth, a bridge) carries it whole, and the socket it reaches in
//! the other namespace splits it, as the stack would, unless that is an
//! encapsulation socket that takes GSO packets: ours (which splits it), or
//! a VXLAN or Geneve socket on the same port, which would take the burst for
//! one datagram, and drop it: what begins as a data message does (type 4,
//! then three zero bytes) is no header either takes (VXLAN requires its I
//! flag, 0x08 in the first byte; Geneve reads an inner protocol of 0, which
//! it drops or, inheriting protocols, hands up as protocol 0, which nothing
//! takes), so each of the datagrams would be dropped there alone as well.
//!
//! The rules are those of the kernel's UDP GRO (`udp_gro_receive_segment`):
//! datagrams of one length, the last possibly shorter; a nonzero UDP
//! checksum, validated by the layers below; the IP headers alike but for
//! length and checksum (`gro_receive_network_flush`); the same checksum
//! state; at most 64 datagrams and 64 KiB. At most one packet is held per
//! source: a datagram from it that cannot join (another key, a handshake
//! message, a longer datagram) completes the held packet first, so that
//! order is kept. (Only what the layers below flush themselves, an IPv4
//! fragment say, overtakes it, as everywhere in GRO.)
//!
//! Forwarded datagrams that match the socket (bound to the wildcard address)
//! by port are coalesced too, where the kernel makes fraglist packets only
//! on a device with `rx-gro-list` on; splitting them on the way out gives
//! every datagram its own headers back, with the head's TTL on the first
//! only and fresh IPv4 IDs (`inet_gso_segment`), as for the kernel's own.

use super::bindings as b;
use super::skb::shinfo;
use core::ptr;

/// The bytes of a payload the key is read from.
pub(crate) const KEY_BYTES: usize = 8;
/// The UDP header, in front of the payload.
const UDP_HEADER: u32 = 8;
/// The most datagrams in one packet: the kernel's UDP GRO's (`UDP_GRO_CNT_MAX`).
const MAX_SEGS: u16 = 64;
/// A packet stays below 64 KiB (`skb_gro_receive_list`).
const MAX_LEN: u32 = 65_536;

/// The GRO state of a packet in GRO (`NAPI_GRO_CB`).
///
/// # Safety
///
/// `skb` is a packet in GRO (its control block holds that state).
unsafe fn cb(skb: *mut b::sk_buff) -> *mut b::napi_gro_cb {
    // SAFETY: per the contract.
    unsafe { b::wg_shim_napi_gro_cb(skb) }
}

/// The flags of a packet's GRO state (`same_flow`, `encap_mark`, `is_flist`).
///
/// # Safety
///
/// As [`cb`].
unsafe fn flags(skb: *mut b::sk_buff) -> *mut b::napi_gro_cb__bindgen_ty_2__bindgen_ty_1 {
    // SAFETY: per the contract; a place in the control block.
    unsafe { ptr::addr_of_mut!((*cb(skb)).__bindgen_anon_2.__bindgen_anon_1) }
}

/// The length of the first datagram of a held packet: `dev_gro_receive` set
/// `gso_size` to its payload when it held it (the GRO offset then lay where
/// this layer leaves it: at the payload).
///
/// # Safety
///
/// `p` is a held packet.
unsafe fn first_len(p: *mut b::sk_buff) -> u32 {
    // SAFETY: per the contract.
    u32::from(unsafe { (*shinfo(p)).gso_size })
}

/// Whether a held packet is one that [`receive`] held (`is_flist` set,
/// `encap_mark` clear: see [`hold`]).
///
/// # Safety
///
/// `p` is a held packet.
unsafe fn ours(p: *mut b::sk_buff) -> bool {
    // SAFETY: per the contract.
    unsafe {
        let f = flags(p);
        (*f).is_flist() != 0 && (*f).encap_mark() == 0
    }
}

/// The key of a held packet of ours, read at `off` (the same offset as in
/// the packet being received, as the layers below assume of a packet of the
/// same flow): copied out, since a driver that receives into page fragments
/// (`napi_gro_frags`) leaves only the headers below it in the linear data.
///
/// # Safety
///
/// `p` is a held packet.
unsafe fn held_key(
    p: *mut b::sk_buff,
    off: u32,
    key: fn(&[u8; KEY_BYTES], u32) -> Option<u32>,
) -> Option<u32> {
    let mut header = [0u8; KEY_BYTES];
    let off = i32::try_from(off).ok()?;
    // SAFETY: per the contract; `skb_copy_bits` checks the range against the
    // packet's length and copies from wherever the bytes lie.
    let r = unsafe { b::skb_copy_bits(p, off, header.as_mut_ptr().cast(), KEY_BYTES as i32) };
    // SAFETY: per the contract.
    (r == 0)
        .then(|| key(&header, unsafe { first_len(p) }))
        .flatten()
}

/// Marks a datagram whose checksum GRO validated from the device's sum
/// (`CHECKSUM_COMPLETE`) as checked (`CHECKSUM_UNNECESSARY`, level 0: the
/// UDP checksum). Coalesced, the head's sum would cover its own datagram
/// only, and a later check of the whole packet (conntrack's `nf_checksum`,
/// then `udp4_csum_init`) would fail it and drop every datagram in it: the
/// kernel's own fraglist completion (`__skb_incr_checksum_unnecessary`)
/// leaves that state as it is. Other states are kept (the stack's split
/// gives each datagram the head's).
///
/// # Safety
///
/// `skb` is a packet in GRO whose UDP checksum GRO validated (its `flush`
/// was clear when `udp{4,6}_gro_receive` handed it on).
unsafe fn checked(skb: *mut b::sk_buff) {
    // SAFETY: per the contract; GRO owns the packet.
    unsafe {
        let h = (*skb).__bindgen_anon_4.headers.as_mut();
        if u32::from(h.ip_summed()) == b::CHECKSUM_COMPLETE {
            h.set_ip_summed(b::CHECKSUM_UNNECESSARY as u8);
            h.set_csum_level(0);
        }
    }
}

/// Marks `skb` a packet [`receive`] may hold and later extend: `is_flist`
/// set, so that it completes as a fraglist packet, and `encap_mark` clear
/// (set by `udp_gro_receive` for every packet it hands a tunnel), so that it
/// completes as UDP and not as a tunnel and so that the IP header checks see
/// one IP header (`gro_receive_network_flush`).
///
/// # Safety
///
/// `skb` is a packet in GRO.
unsafe fn hold(skb: *mut b::sk_buff) {
    // SAFETY: per the contract.
    unsafe {
        let f = flags(skb);
        (*f).set_encap_mark(0);
        (*f).set_is_flist(1);
    }
}

/// Whether two packets carry the same checksum state (what the stack's split
/// gives every datagram is the head's).
///
/// # Safety
///
/// Both are valid.
unsafe fn same_csum(p: *mut b::sk_buff, skb: *mut b::sk_buff) -> bool {
    // SAFETY: reads of the two skbs' fields.
    unsafe {
        let (hp, hs) = (
            (*p).__bindgen_anon_4.headers.as_ref(),
            (*skb).__bindgen_anon_4.headers.as_ref(),
        );
        hp.ip_summed() == hs.ip_summed() && hp.csum_level() == hs.csum_level()
    }
}

/// Chains `skb` to the held packet `p` (as `skb_gro_receive_list`, which is
/// not exported): its data from its payload on, its IP header marked for
/// the split; `p` takes over its length, memory and ownership.
///
/// # Safety
///
/// `p` is a held packet of [`receive`], `skb` the packet being received.
unsafe fn join(p: *mut b::sk_buff, skb: *mut b::sk_buff) -> Result<(), ()> {
    // SAFETY: per the contract: GRO owns both; the chain is `p`'s own
    // `frag_list` (`last` is its tail, or `p` itself while it is empty, as
    // `dev_gro_receive` left it).
    unsafe {
        let off = b::wg_shim_skb_gro_offset(skb);
        if (*p).len.saturating_add((*skb).len) >= MAX_LEN {
            return Err(());
        }
        if !b::wg_shim_pskb_may_pull(skb, off) {
            (*cb(skb)).flush = 1;
            return Err(());
        }
        let scb = cb(skb);
        b::wg_shim_skb_set_network_header(
            skb,
            i32::from((*scb).__bindgen_anon_3.network_offsets[0]),
        );
        let pcb = cb(p);
        let last = (*pcb).__bindgen_anon_1.__bindgen_anon_2.last;
        (*skb).__bindgen_anon_1.__bindgen_anon_1.next = ptr::null_mut();
        if last == p {
            (*shinfo(p)).frag_list = skb;
        } else {
            (*last).__bindgen_anon_1.__bindgen_anon_1.next = skb;
        }
        b::skb_pull(skb, off);
        (*pcb).__bindgen_anon_1.__bindgen_anon_2.last = skb;
        // The sums below are bounded (the length just checked against
        // `MAX_LEN`, the count by `MAX_SEGS` in `receive`); saturating, as no
        // arithmetic on a packet path may panic.
        (*pcb).count = (*pcb).count.saturating_add(1);
        // Reaches our socket whole (see the module's text).
        (*shinfo(p)).gso_type |= b::SKB_GSO_UDP_TUNNEL;
        (*p).data_len = (*p).data_len.saturating_add((*skb).len);
        (*skb).__bindgen_anon_3.__bindgen_anon_1.destructor = None;
        (*skb).sk = ptr::null_mut();
        (*p).truesize = (*p).truesize.saturating_add((*skb).truesize);
        (*p).len = (*p).len.saturating_add((*skb).len);
        (*shinfo(p)).flags |= (*shinfo(skb)).flags & b::SKBFL_SHARED_FRAG as u8;
        (*flags(skb)).set_same_flow(1);
    }
    Ok(())
}

/// The `gro_receive` of an encapsulation socket: `skb`'s GRO offset is at
/// its UDP payload (`udp_gro_receive` pulled the UDP header), `head` the
/// packets GRO holds in its bucket, of which the layers below have left
/// `same_flow` set on those of `skb`'s addresses and ports. Returns the held
/// packet to complete now, if any; `skb` is then joined to one, held as the
/// start of a new packet, or (`flush`) sent up alone.
///
/// # Safety
///
/// Called by GRO as a `gro_receive` (softirq, `skb` and the list GRO's).
pub(super) unsafe fn receive(
    head: *mut b::list_head,
    skb: *mut b::sk_buff,
    key: fn(&[u8; KEY_BYTES], u32) -> Option<u32>,
) -> *mut b::sk_buff {
    // SAFETY: per the contract; the list is walked as GRO's own callbacks
    // walk it (`list_for_each_entry`: `list` is the skb's first member).
    unsafe {
        let off = b::wg_shim_skb_gro_offset(skb);
        let len = b::wg_shim_skb_gro_len(skb);
        // The UDP header and the head of the payload (null: too short).
        let udp = match off
            .checked_sub(UDP_HEADER)
            .zip(off.checked_add(KEY_BYTES as u32))
        {
            Some((start, end)) => b::wg_shim_skb_gro_header(skb, end, start).cast::<u8>(),
            None => ptr::null_mut(),
        };
        let own = if udp.is_null() {
            None
        } else {
            let h = &*udp.cast::<[u8; UDP_HEADER as usize + KEY_BYTES]>();
            let info = shinfo(skb);
            let ulen = u32::from(u16::from_be_bytes([h[4], h[5]]));
            let plain = (*info).gso_size == 0 && (*info).frag_list.is_null();
            let payload = h[UDP_HEADER as usize..].first_chunk::<KEY_BYTES>();
            match payload {
                Some(p)
                    if plain && ulen == len.saturating_add(UDP_HEADER) && (h[6] | h[7]) != 0 =>
                {
                    key(p, len)
                }
                _ => None,
            }
        };
        let mergeable = own.is_some() && (*cb(skb)).flush == 0;
        if mergeable {
            checked(skb);
        }
        let mut complete = ptr::null_mut();
        let mut pos = (*head).next;
        while pos != head {
            let p = pos.cast::<b::sk_buff>();
            pos = (*pos).next;
            if (*flags(p)).same_flow() == 0 {
                continue;
            }
            if !ours(p) {
                (*flags(p)).set_same_flow(0);
                continue;
            }
            // The packet held for `skb`'s addresses and ports (at most one:
            // what cannot join it completes it first).
            let alike = mergeable
                && held_key(p, off, key) == own
                && len <= first_len(p)
                && same_csum(p, skb)
                && b::wg_shim_gro_receive_network_flush(
                    udp.cast(),
                    b::wg_shim_skb_transport_header(p).cast(),
                    p,
                ) == 0;
            if alike && join(p, skb).is_ok() {
                // A shorter datagram is the last; a full packet goes up.
                let full = len < first_len(p) || (*cb(p)).count >= MAX_SEGS;
                return if full { p } else { ptr::null_mut() };
            }
            // Not joined (another session, another length, not a data
            // message): the held packet goes up before it.
            complete = p;
            break;
        }
        if mergeable {
            hold(skb);
        } else {
            (*cb(skb)).flush = 1;
        }
        complete
    }
}

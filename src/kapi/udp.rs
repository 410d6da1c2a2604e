// SPDX-License-Identifier: GPL-2.0
//! UDP encapsulation sockets: kernel UDP sockets whose datagrams are handed to
//! the device they belong to (`setup_udp_tunnel_sock`, `encap_rcv`).
//!
//! A socket holds a reference on its device, and the device's state receives
//! the datagrams ([`EncapRecv`]). Dropping the socket releases it, waits for
//! receivers still running (`synchronize_net`), then drops the reference. The
//! device must therefore drop its sockets before it can go away: when it goes
//! down (`ndo_stop`), or when its creating namespace exits.

use super::bindings as b;
use super::gro::KEY_BYTES;
use super::net::Net;
use super::netdev::{DevHold, LinkOps, NetDevice};
use super::skb::{SkBuff, SkbList};
use core::ptr::NonNull;
use kernel::error::{to_result, Result};

/// The address family of a socket.
pub(crate) enum Family {
    /// IPv4.
    V4,
    /// IPv6 (`IPV6_V6ONLY`).
    V6,
}

/// Receives the datagrams of the device's encapsulation sockets.
pub(crate) trait EncapRecv: LinkOps {
    /// Datagrams arrived on one of `dev`'s sockets (softirq): one, or those
    /// of one GSO packet (a burst that GRO coalesced, all from one source, in
    /// the order they arrived). The receiver owns them.
    fn encap_recv(dev: &NetDevice<Self>, datagrams: Datagrams);

    /// GRO (softirq, before the IP stack; see [`super::gro`]): the key of a
    /// datagram whose UDP payload is `len` bytes and begins with `header`.
    /// Datagrams of one source (address and port) and one key that arrive
    /// together may be coalesced into one packet, which passes the IP stack
    /// once and reaches [`EncapRecv::encap_recv`] as one call. `None`: never
    /// coalesced.
    fn gro_key(header: &[u8; KEY_BYTES], len: u32) -> Option<u32>;
}

/// The datagrams of one [`EncapRecv::encap_recv`], in order. Each comes with
/// its data at its UDP payload, trimmed to the length its UDP header gives; a
/// datagram shorter than that is dropped.
pub(crate) struct Datagrams(SkbList);

impl Iterator for Datagrams {
    type Item = SkBuff;

    fn next(&mut self) -> Option<SkBuff> {
        loop {
            let mut skb = self.0.next()?;
            if skb.pull_udp_payload().is_some() {
                return Some(skb);
            }
        }
    }
}

/// A bound UDP encapsulation socket of a device of kind `T`.
///
/// # Invariants
///
/// `sock` is a kernel UDP socket that [`EncapSocket::bind`] created, bound and set up as an
/// encapsulation socket whose user data is the device `_dev` holds; this value owns it, and only
/// its drop releases it.
pub(crate) struct EncapSocket<T: EncapRecv> {
    sock: NonNull<b::socket>,
    /// Released after the socket (fields drop after `Drop::drop`).
    _dev: DevHold<T>,
}

// SAFETY: the socket and the device reference may be released from any
// thread; nothing here is tied to the creating thread.
unsafe impl<T: EncapRecv> Send for EncapSocket<T> {}
// SAFETY: shared access only reads the bound port.
unsafe impl<T: EncapRecv> Sync for EncapSocket<T> {}

/// Whether the stack has IPv6 (it may be disabled on the command line).
pub(crate) fn ipv6_enabled() -> bool {
    // SAFETY: reads a flag.
    unsafe { b::wg_shim_ipv6_mod_enabled() }
}

impl<T: EncapRecv> EncapSocket<T> {
    /// Creates a socket in `net` bound to the wildcard address and `port`
    /// (0: any free port) whose datagrams go to `dev`.
    pub(crate) fn bind(net: &Net, dev: &NetDevice<T>, family: Family, port: u16) -> Result<Self> {
        let mut sock: *mut b::socket = core::ptr::null_mut();
        // The wildcard address (zero) and `port`, with UDP checksums.
        let mut cfg = b::udp_port_cfg {
            local_udp_port: port.to_be(),
            ..Default::default()
        };
        let r = match family {
            Family::V4 => {
                cfg.family = b::AF_INET as u8;
                cfg.set_use_udp_checksums(1);
                // SAFETY: `net` is a live namespace; `sock` receives the socket.
                unsafe { b::udp_sock_create4(net.as_raw(), &mut cfg, &mut sock) }
            }
            #[cfg(CONFIG_IPV6)]
            Family::V6 => {
                cfg.family = b::AF_INET6 as u8;
                cfg.set_use_udp6_tx_checksums(1);
                cfg.set_use_udp6_rx_checksums(1);
                cfg.set_ipv6_v6only(1);
                // SAFETY: as for IPv4.
                unsafe { b::udp_sock_create6(net.as_raw(), &mut cfg, &mut sock) }
            }
            #[cfg(not(CONFIG_IPV6))]
            Family::V6 => return Err(super::error::eafnosupport()),
        };
        to_result(r)?;
        let sock = NonNull::new(sock).ok_or(kernel::error::code::ENOMEM)?;
        let hold = dev.hold();
        let mut cfg = b::udp_tunnel_sock_cfg {
            sk_user_data: dev.as_raw().cast(),
            encap_type: 1,
            encap_rcv: Some(encap_rcv_callback::<T>),
            gro_receive: Some(gro_receive_callback::<T>),
            ..Default::default()
        };
        // SAFETY: `sock` was just created and is ours, not yet set up, so its
        // fields are written before anyone else reads them; the settings are
        // those of the C driver's sockets (atomic allocations: we send from
        // softirq; an unbounded send buffer; memory reserves under pressure).
        unsafe {
            let sk = (*sock.as_ptr()).sk;
            (*sk).sk_allocation = kernel::bindings::GFP_ATOMIC;
            (*sk).sk_sndbuf = i32::MAX;
            b::sk_set_memalloc(sk);
            // GRO's packets (`super::gro`) reach `encap_rcv` whole.
            b::wg_shim_udp_allow_gso(sk);
            b::setup_udp_tunnel_sock(net.as_raw(), sock.as_ptr(), &mut cfg);
        }
        // INVARIANT: created, bound and set up above for `dev`, on which `hold` is taken.
        Ok(EncapSocket { sock, _dev: hold })
    }

    /// The socket's `struct sock`, for the transmit path.
    pub(super) fn sk(&self) -> *mut b::sock {
        // SAFETY: the socket is live while `self` is.
        unsafe { (*self.sock.as_ptr()).sk }
    }

    /// The socket's namespace.
    pub(super) fn net(&self) -> *mut b::net {
        // SAFETY: the socket is live while `self` is.
        unsafe { b::wg_shim_sock_net(self.sk()) }
    }

    /// The local port the socket is bound to.
    pub(crate) fn local_port(&self) -> u16 {
        // SAFETY: the socket is live while `self` is, and bound once, when
        // created: `skc_num` (`inet_num`) is the bound port in host order, of
        // which `inet_sport` is the network-order copy (the union's other
        // view, `skc_portpair`, is the same plain bytes).
        unsafe { (*self.sk()).__sk_common.__bindgen_anon_3.__bindgen_anon_1 }.skc_num
    }
}

impl<T: EncapRecv> Drop for EncapSocket<T> {
    fn drop(&mut self) {
        // SAFETY: the socket is ours; after release no new datagram reaches
        // the callback, and `synchronize_net` waits for those in flight, so the
        // device reference the callback relies on can then be dropped (with
        // the `_dev` field, after this).
        unsafe {
            b::sk_clear_memalloc((*self.sock.as_ptr()).sk);
            b::udp_tunnel_sock_release(self.sock.as_ptr());
            b::synchronize_net();
        }
    }
}

unsafe extern "C" fn encap_rcv_callback<T: EncapRecv>(
    sk: *mut b::sock,
    skb: *mut b::sk_buff,
) -> core::ffi::c_int {
    // SAFETY: the stack calls `encap_rcv` with a live socket and hands over
    // the skb.
    let (dev, skb) = unsafe {
        (
            b::wg_shim_sk_user_data(sk).cast::<b::net_device>(),
            SkBuff::from_raw(skb),
        )
    };
    let Some(skb) = skb else { return 0 };
    if dev.is_null() {
        // The socket is being released: the skb is dropped.
        return 0;
    }
    // A packet of GRO (the socket takes them whole: `udp_allow_gso`) is
    // split into its datagrams here, as the stack splits one for a socket
    // that does not take them. Another GSO packet that reaches the socket
    // whole (a tunnel's, which the stack hands to an encapsulation socket as
    // it is, `udp_unexpected_gso`) holds no datagram of ours: dropped.
    let datagrams = if skb.is_gso_fraglist() {
        // SAFETY: the socket is live; `udp_rcv_segment` takes our reference
        // and returns the segments, a list that is then ours, or null (the
        // packet freed and counted as dropped).
        unsafe { SkbList::from_raw(b::wg_shim_udp_rcv_segment(sk, skb.into_nonnull().as_ptr())) }
    } else if skb.is_gso() {
        return 0;
    } else {
        SkbList::single(skb)
    };
    // SAFETY: the socket holds a reference on the device, which keeps its
    // state live; receivers finish before the reference is dropped.
    T::encap_recv(unsafe { NetDevice::from_raw(dev) }, Datagrams(datagrams));
    0
}

unsafe extern "C" fn gro_receive_callback<T: EncapRecv>(
    _sk: *mut b::sock,
    head: *mut b::list_head,
    skb: *mut b::sk_buff,
) -> *mut b::sk_buff {
    // SAFETY: GRO calls `gro_receive` with its list and the packet it
    // receives (softirq). The socket's user data (the device) is not used:
    // the key depends on the datagram alone.
    unsafe { super::gro::receive(head, skb, T::gro_key) }
}

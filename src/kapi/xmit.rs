// SPDX-License-Identifier: GPL-2.0
//! Sending UDP datagrams from an encapsulation socket: routes from the
//! socket to a destination ([`Route`]), a per-destination route
//! cache ([`DstCache`]), whether a source address is still local, and
//! `udp_tunnel{,6}_xmit_skb`. Which source to use and when to give it up is
//! the caller's policy.

use super::bindings as b;
use super::netdev::{DevError, NetDevice};
use super::rcu::ReadGuard;
use super::skb::{SkBuff, SocketAddr, PROTO_IP, PROTO_IPV6};
use super::skb::{IPV4_DADDR, IPV4_SADDR, IPV6_DADDR, IPV6_SADDR};
use super::udp::{EncapRecv, EncapSocket};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use kernel::error::{from_err_ptr, to_result, Result};

/// How deep this CPU is in nested device transmits (`dev_recursion_level`):
/// 1 in a device's `ndo_start_xmit` called from a socket's send, more when
/// that transmit was itself reached from another device's (a tunnel over a
/// tunnel, a routing loop), 0 outside any (or from a qdisc).
pub(crate) fn nesting() -> i32 {
    // SAFETY: reads this CPU's counter; callable from any context.
    unsafe { b::wg_shim_dev_recursion_level() }
}

/// A per-peer cache of the route to its endpoint (`struct dst_cache`).
///
/// # Invariants
///
/// A `DstCache` that [`DstCache::new`] returned was initialised by `dst_cache_init`, and only
/// its drop destroys it. (The one dropped inside `new` after a failed initialisation is still all
/// zero: `dst_cache_destroy` finds no per-CPU memory and does nothing.)
pub(crate) struct DstCache(UnsafeCell<b::dst_cache>);

// SAFETY: the dst_cache API is per-CPU and callable concurrently from every
// CPU with softirqs off, which is how `send` uses it.
unsafe impl Sync for DstCache {}
// SAFETY: it owns per-CPU memory that any thread may free.
unsafe impl Send for DstCache {}

impl DstCache {
    /// An empty cache (allocates per-CPU slots; process context).
    pub(crate) fn new() -> Result<Self> {
        let c = DstCache(UnsafeCell::new(b::dst_cache::default()));
        // SAFETY: initialises the cache in place; `c` does not move while
        // the call runs, and the struct holds no self-reference.
        to_result(unsafe { b::dst_cache_init(c.0.get(), kernel::bindings::GFP_KERNEL) })?;
        // INVARIANT: initialised just above.
        Ok(c)
    }

    /// Forgets the cached routes (the endpoint or its source changed).
    pub(crate) fn reset(&self) {
        // SAFETY: the cache is initialised; `dst_cache_reset` is this
        // `WRITE_ONCE` (`jiffies` is read as the C `volatile` it is).
        unsafe {
            let now = core::ptr::read_volatile(core::ptr::addr_of!(b::jiffies));
            core::ptr::addr_of_mut!((*self.0.get()).reset_ts).write_volatile(now);
        }
    }

    /// The cached route towards `dst`'s family and the source address it
    /// was cached with (IPv4 in the first four bytes). A CPU's slot holds one
    /// route of either family, and `dst_cache_get_ip{4,6}` do not look which:
    /// a route of the other family (cached for an endpoint that has changed
    /// since) is released here, never returned as this family's.
    pub(crate) fn get(&self, dst: &SocketAddr) -> Option<(Route, [u8; 16])> {
        let (route, src, family) = match dst {
            SocketAddr::V4(..) => {
                let mut src = 0u32;
                // SAFETY: the cache is initialised; a route it returns carries
                // a reference, which `Route` takes over.
                let rt = unsafe { b::dst_cache_get_ip4(self.0.get(), &mut src) };
                // INVARIANT: a non-null route comes with a reference, which passes to the
                // `Route`; it is an `rtable`, whose `dst` is its first field.
                (
                    Route(NonNull::new(rt)?.cast()),
                    wide(src.to_ne_bytes()),
                    b::AF_INET,
                )
            }
            SocketAddr::V6(..) => {
                let mut src = b::in6_addr::default();
                // SAFETY: as for IPv4.
                let rt = unsafe { b::dst_cache_get_ip6(self.0.get(), &mut src) };
                // SAFETY: `in6_addr` is a union of plain byte views.
                let src = unsafe { src.in6_u.u6_addr8 };
                // INVARIANT: as for IPv4 (a `dst_entry` already).
                (Route(NonNull::new(rt)?), src, b::AF_INET6)
            }
        };
        // SAFETY: the route is valid while referenced; every `dst_entry` has
        // its `ops`, which name the family (`dst_release` alone, in `Drop`,
        // is right for a route of either family).
        let ours = unsafe { (*(*route.0.as_ptr()).ops).family } == family as u16;
        ours.then_some((route, src))
    }

    /// Caches `rt`, a route towards `dst`'s family, with the source address
    /// `src`.
    pub(crate) fn set(&self, dst: &SocketAddr, rt: &Route, src: &[u8; 16]) {
        // SAFETY: the cache is initialised; it takes its own reference.
        unsafe {
            match dst {
                SocketAddr::V4(..) => {
                    b::dst_cache_set_ip4(self.0.get(), rt.0.as_ptr(), narrow(src))
                }
                SocketAddr::V6(..) => b::dst_cache_set_ip6(self.0.get(), rt.0.as_ptr(), &in6(src)),
            }
        }
    }
}

impl Drop for DstCache {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`; nothing uses it any more.
        unsafe { b::dst_cache_destroy(self.0.get()) }
    }
}

fn in6(a: &[u8; 16]) -> b::in6_addr {
    let mut r = b::in6_addr::default();
    r.in6_u.u6_addr8 = *a;
    r
}

/// An IPv4 address in the first four bytes of an IPv6-sized one.
fn wide(a: [u8; 4]) -> [u8; 16] {
    let mut r = [0; 16];
    r[..4].copy_from_slice(&a);
    r
}

/// The IPv4 address in the first four bytes, as the kernel's `__be32`.
fn narrow(a: &[u8; 16]) -> u32 {
    u32::from_ne_bytes([a[0], a[1], a[2], a[3]])
}

/// A route (`struct dst_entry`), with a reference released when dropped.
/// An IPv4 route is a `struct rtable`, whose first field is its `dst_entry`
/// (as `ip_rt_put` uses it), so the two pointers are the same.
///
/// # Invariants
///
/// `self.0` is a valid route on which this value holds one reference, released by its drop or
/// handed over to the transmit ([`EncapSocket::xmit`]).
pub(crate) struct Route(NonNull<b::dst_entry>);

const _: () = assert!(core::mem::offset_of!(b::rtable, dst) == 0);

impl Route {
    /// The index of the interface the route leaves by.
    pub(crate) fn ifindex(&self) -> i32 {
        // SAFETY: the route is valid while referenced, and holds its device.
        unsafe { (*(*self.0.as_ptr()).__bindgen_anon_1.dev).ifindex }
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (type invariant).
        unsafe { b::dst_release(self.0.as_ptr()) }
    }
}

/// Transmission from an encapsulation socket. The caller holds the socket
/// for the duration (e.g. under an RCU read-side section); softirq-safe.
impl<T: EncapRecv> EncapSocket<T> {
    /// Whether `src` (of `dst`'s family, IPv4 in the first four bytes) is
    /// an address of a local interface in the socket's namespace
    /// (`inet_confirm_addr`, host scope; `ipv6_chk_addr`).
    pub(crate) fn is_local(&self, dst: &SocketAddr, src: &[u8; 16]) -> bool {
        match dst {
            SocketAddr::V4(..) => {
                let scope = b::rt_scope_t_RT_SCOPE_HOST as i32;
                // SAFETY: the socket, and so its namespace, is live.
                unsafe {
                    b::inet_confirm_addr(self.net(), ptr::null_mut(), 0, narrow(src), scope) != 0
                }
            }
            // SAFETY: the socket is live; the address is a local copy.
            SocketAddr::V6(..) => unsafe { b::wg_shim_chk_addr6(self.sk(), &in6(src)) },
        }
    }

    /// The route of a datagram from the socket's port to `dst` with mark
    /// `mark`, from `src` (of `dst`'s family, IPv4 in the first four bytes;
    /// all zero: the route chooses), for IPv6 through interface `oif` (0:
    /// any), and the source address it uses.
    pub(crate) fn route(
        &self,
        src: &[u8; 16],
        dst: &SocketAddr,
        mark: u32,
        oif: i32,
    ) -> Result<(Route, [u8; 16])> {
        match *dst {
            SocketAddr::V4(daddr, port) => {
                let mut fl = b::flowi4 {
                    saddr: narrow(src),
                    daddr: u32::from_ne_bytes(daddr),
                    ..Default::default()
                };
                self.udp_flow(&mut fl.__fl_common, &mut fl.uli, port, mark, 0);
                // SAFETY: the socket is live and `fl` ours; the lookup returns
                // a referenced route or an error pointer.
                let rt = unsafe { b::ip_route_output_flow(self.net(), &mut fl, self.sk()) };
                let rt = from_err_ptr(rt)?;
                // INVARIANT: the lookup's reference passes to the `Route`.
                // SAFETY: a route, not null, since not an error.
                let rt = Route(unsafe { NonNull::new_unchecked(rt) }.cast());
                Ok((rt, wide(fl.saddr.to_ne_bytes())))
            }
            SocketAddr::V6(daddr, port) => {
                let mut fl = b::flowi6 {
                    saddr: in6(src),
                    daddr: in6(&daddr),
                    ..Default::default()
                };
                self.udp_flow(&mut fl.__fl_common, &mut fl.uli, port, mark, oif);
                // SAFETY: `ipv6_stub` always points to a table of IPv6
                // functions (stubs failing with `-EAFNOSUPPORT` without IPv6).
                let lookup = unsafe { (*b::ipv6_stub).ipv6_dst_lookup_flow };
                let lookup = lookup.ok_or_else(super::error::eafnosupport)?;
                // SAFETY: the socket is live and `fl` ours; the lookup returns
                // a referenced route or an error pointer.
                let rt =
                    from_err_ptr(unsafe { lookup(self.net(), self.sk(), &mut fl, ptr::null()) })?;
                // INVARIANT: the lookup's reference passes to the `Route`.
                // SAFETY: a route, not null, since not an error; `in6_addr` is
                // a union of plain byte views.
                Ok((Route(unsafe { NonNull::new_unchecked(rt) }), unsafe {
                    fl.saddr.in6_u.u6_addr8
                }))
            }
        }
    }

    /// Fills in the common part of a flow (`flowi4_init_output`'s) of a UDP
    /// datagram from the socket to `port` with `mark` out of `oif`, and lets
    /// the LSM classify it (`security_sk_classify_flow`).
    fn udp_flow(
        &self,
        common: &mut b::flowi_common,
        uli: &mut b::flowi_uli,
        port: u16,
        mark: u32,
        oif: i32,
    ) {
        uli.ports.dport = port.to_be();
        uli.ports.sport = self.local_port().to_be();
        common.flowic_mark = mark;
        common.flowic_oif = oif;
        common.flowic_proto = b::IPPROTO_UDP as u8;
        // SAFETY: the socket is live; `common` is a flow being built.
        unsafe { b::wg_shim_security_sk_classify_flow(self.sk(), common) }
    }

    /// Sends `skb` (the UDP payload) over `rt` (a route to `dst`) from `src`
    /// (IPv4 in the first four bytes) to `dst`, as a packet of `dev` with
    /// mark `mark` and outer DS field `ds`. `bh`: softirqs are off.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn xmit(
        &self,
        dev: &NetDevice<T>,
        skb: SkBuff,
        rt: Route,
        src: &[u8; 16],
        dst: &SocketAddr,
        ds: u8,
        mark: u32,
        bh: &ReadGuard,
    ) {
        let rt = core::mem::ManuallyDrop::new(rt).0.as_ptr();
        let segs = skb.gso_segs();
        // The tunnel's transmit counts a GSO packet as one: one packet sent
        // (with all its bytes), or, if the IP layer refused it, one
        // dropped (IPv4) or aborted (IPv6). It says which only in its
        // count of packets sent, which then moved on this CPU.
        let before = (segs > 1).then(|| dev.tx_packets_here(bh));
        let (skb, sk) = (skb.into_xmit(dev.as_raw(), mark), self.sk());
        // SAFETY: the skb and the route reference are ours and consumed by
        // the transmit (an IPv4 route is an `rtable`: see `Route`); the
        // socket is live; the addresses are local copies.
        unsafe {
            match *dst {
                SocketAddr::V4(d, port) => {
                    let (s, d) = (narrow(src), u32::from_ne_bytes(d));
                    b::wg_shim_xmit4(rt.cast(), sk, skb, s, d, ds, port.to_be());
                }
                SocketAddr::V6(d, port) => {
                    let (s, d) = (in6(src), in6(&d));
                    b::wg_shim_xmit6(rt, sk, skb, &s, &d, ds, port.to_be());
                }
            }
        }
        // The others it carries are counted here, as it counted the first.
        if let Some(before) = before {
            let others = u32::from(segs) - 1;
            if dev.tx_packets_here(bh) != before {
                dev.count_tx_packets(others);
            } else if let SocketAddr::V4(..) = dst {
                dev.count_errors(DevError::TxDropped, others);
            } else {
                dev.count_errors(DevError::TxAborted, others);
            }
        }
    }
}

/// The outer addresses of a received datagram.
pub(crate) struct OuterAddrs {
    /// Where it came from.
    pub(crate) src: SocketAddr,
    /// The IPv6 scope (interface) of a link-local source, 0 otherwise.
    pub(crate) scope_id: u32,
    /// Our address it was sent to (IPv4 in the first four bytes).
    pub(crate) dst: [u8; 16],
    /// The interface it came in on.
    pub(crate) iif: i32,
}

impl OuterAddrs {
    /// The outer addresses of a received datagram (`None` if neither IPv4
    /// nor IPv6).
    pub(crate) fn of(skb: &SkBuff) -> Option<Self> {
        let raw = skb.raw();
        // SAFETY: the IP and UDP headers of a received datagram were
        // validated by the stack and lie in the linear head. They are read
        // as bytes: behind a NIC's 14-byte Ethernet header (NET_IP_ALIGN is
        // 0 on x86) an IP header is only 2-byte aligned. `skb_iif` is read
        // through the `headers` view of its group (both views are the same
        // fields, see `SkBuff::reset`).
        unsafe {
            let nh = b::wg_shim_skb_network_header(raw);
            let th = b::wg_shim_skb_transport_header(raw);
            let sport = u16::from_be_bytes([*th, *th.add(1)]);
            let iif = (*raw).__bindgen_anon_4.headers.as_ref().skb_iif;
            let dst;
            let (src, scope_id) = match skb.protocol() {
                PROTO_IP => {
                    let src = nh.add(IPV4_SADDR).cast::<[u8; 4]>().read();
                    dst = wide(nh.add(IPV4_DADDR).cast::<[u8; 4]>().read());
                    (SocketAddr::V4(src, sport), 0)
                }
                PROTO_IPV6 => {
                    let src = nh.add(IPV6_SADDR).cast::<[u8; 16]>().read();
                    dst = nh.add(IPV6_DADDR).cast::<[u8; 16]>().read();
                    let scope_id = b::wg_shim_ipv6_iface_scope_id(&in6(&src), iif);
                    (SocketAddr::V6(src, sport), scope_id)
                }
                _ => return None,
            };
            Some(OuterAddrs {
                src,
                scope_id,
                dst,
                iif,
            })
        }
    }
}

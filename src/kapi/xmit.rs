// SPDX-License-Identifier: GPL-2.0
//! Sending UDP datagrams from an encapsulation socket: route lookup with a
//! cached source address (and its fallback when the address went away), a
//! per-peer route cache, and `udp_tunnel{,6}_xmit_skb`.

use super::bindings as b;
use super::netdev::NetDevice;
use super::skb::{SkBuff, SocketAddr};
use super::udp::{EncapRecv, EncapSocket};
use core::cell::UnsafeCell;
use kernel::error::{to_result, Error, Result};

/// A per-peer cache of the route to its endpoint (`struct dst_cache`).
pub(crate) struct DstCache {
    raw: UnsafeCell<b::dst_cache>,
}

// SAFETY: the dst_cache API is per-CPU and callable concurrently from every
// CPU with softirqs off, which is how `send` uses it.
unsafe impl Sync for DstCache {}
// SAFETY: it owns per-CPU memory that any thread may free.
unsafe impl Send for DstCache {}

impl DstCache {
    /// An empty cache (allocates per-CPU slots; process context).
    pub(crate) fn new() -> Result<Self> {
        let c = DstCache { raw: UnsafeCell::new(b::dst_cache::default()) };
        // SAFETY: initialises the cache in place; `c` does not move while
        // the call runs, and the struct holds no self-reference.
        to_result(unsafe { b::wg_shim_dst_cache_init(c.raw.get()) })?;
        Ok(c)
    }

    /// Forgets the cached routes (the endpoint or its source changed).
    pub(crate) fn reset(&self) {
        // SAFETY: the cache is initialised.
        unsafe { b::wg_shim_dst_cache_reset(self.raw.get()) }
    }

    fn get(&self) -> *mut b::dst_cache {
        self.raw.get()
    }
}

impl Drop for DstCache {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`; nothing uses it any more.
        unsafe { b::dst_cache_destroy(self.raw.get()) }
    }
}

/// Where a peer is: its address, and the local source address and interface
/// last used to reach it (kept so replies leave from the address the peer
/// talks to, as the C driver does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The peer's address and port.
    pub(crate) addr: SocketAddr,
    /// The IPv6 scope (interface) of a link-local address, 0 otherwise.
    pub(crate) scope_id: u32,
    src4: [u8; 4],
    src_if4: i32,
    src6: [u8; 16],
}

impl Endpoint {
    /// An endpoint with no cached source.
    pub(crate) fn new(addr: SocketAddr, scope_id: u32) -> Self {
        Endpoint { addr, scope_id, src4: [0; 4], src_if4: 0, src6: [0; 16] }
    }

    /// The endpoint a received datagram came from, with our address it was
    /// sent to as the cached source (so that replies leave from it).
    pub(crate) fn from_received(skb: &SkBuff) -> Option<Self> {
        let (mut family, mut src, mut dst) = (0u8, [0u8; 16], [0u8; 16]);
        let (mut sport, mut iif, mut scope) = (0u16, 0i32, 0u32);
        // SAFETY: reads the headers of a received skb, which the stack
        // validated, into local buffers of the stated sizes.
        let ok = unsafe {
            b::wg_shim_skb_outer_endpoint(
                skb.raw(),
                &mut family,
                src.as_mut_ptr(),
                dst.as_mut_ptr(),
                &mut sport,
                &mut iif,
                &mut scope,
            )
        };
        if !ok {
            return None;
        }
        let mut ep = Endpoint::new(SocketAddr::V6(src, sport), scope);
        if family == 4 {
            ep.addr = SocketAddr::V4([src[0], src[1], src[2], src[3]], sport);
            ep.src4 = [dst[0], dst[1], dst[2], dst[3]];
            ep.src_if4 = iif;
        } else {
            ep.src6 = dst;
        }
        Some(ep)
    }

    /// Whether two endpoints are the same address and cached source.
    pub(crate) fn same_as(&self, other: &Endpoint) -> bool {
        self == other
    }

    /// Forgets the cached source address.
    pub(crate) fn clear_src(&mut self) {
        self.src4 = [0; 4];
        self.src_if4 = 0;
        self.src6 = [0; 16];
    }
}

/// Sends `skb` (the UDP payload) to `ep` from `sock`, whose family must be
/// the endpoint's. `ds`: the outer DSCP and ECN bits. Updates the endpoint's
/// cached source when the route chose another one, and drops it when the
/// address is no longer local. Softirq-safe; the caller holds the socket for
/// the duration (e.g. under an RCU read-side section).
pub(crate) fn send<T: EncapRecv>(
    sock: &EncapSocket<T>,
    dev: &NetDevice<T>,
    skb: SkBuff,
    ep: &mut Endpoint,
    ds: u8,
    cache: Option<&DstCache>,
    fwmark: u32,
) -> Result {
    let sk = sock.sk();
    let skb = skb.into_raw();
    // SAFETY: `skb` is ours until handed to the stack or freed below; `sk`
    // is a live socket (the caller holds it); the cache is initialised.
    unsafe {
        b::wg_shim_skb_prepare_xmit(skb, dev.as_raw(), fwmark);
        let ret = match ep.addr {
            SocketAddr::V4(daddr, dport) => send4(sk, skb, ep, u32::from_ne_bytes(daddr), dport.to_be(), ds, cache, fwmark),
            SocketAddr::V6(daddr, dport) => send6(sk, skb, ep, &daddr, dport.to_be(), ds, cache, fwmark),
        };
        if let Err(e) = ret {
            b::wg_shim_kfree_skb(skb);
            return Err(e);
        }
    }
    Ok(())
}

/// # Safety
///
/// As in [`send`]; on error the caller frees `skb`, on success it is consumed.
#[allow(clippy::too_many_arguments)]
unsafe fn send4(
    sk: *mut b::sock,
    skb: *mut b::sk_buff,
    ep: &mut Endpoint,
    daddr: u32,
    dport: u16,
    ds: u8,
    cache: Option<&DstCache>,
    fwmark: u32,
) -> Result {
    let mut saddr = u32::from_ne_bytes(ep.src4);
    // SAFETY: per the function's contract.
    unsafe {
        let mut rt = match cache {
            Some(c) => b::wg_shim_dst_cache_get4(c.get(), &mut saddr),
            None => core::ptr::null_mut(),
        };
        if rt.is_null() {
            if !b::wg_shim_confirm_addr4(sk, saddr) {
                // The cached source is not ours any more: let the route choose.
                ep.src4 = [0; 4];
                ep.src_if4 = 0;
                saddr = 0;
                if let Some(c) = cache {
                    c.reset();
                }
            }
            let mut oif = 0;
            let mut ret = b::wg_shim_route4(sk, &mut saddr, daddr, dport, fwmark, &mut rt, &mut oif);
            if ep.src_if4 != 0 && ((ret == -(b::EINVAL as i32)) || (ret == 0 && oif != ep.src_if4)) {
                // The interface the cached source was on no longer routes
                // there: retry without a source.
                ep.src4 = [0; 4];
                ep.src_if4 = 0;
                saddr = 0;
                if let Some(c) = cache {
                    c.reset();
                }
                if ret == 0 {
                    b::wg_shim_rt_put(rt);
                }
                ret = b::wg_shim_route4(sk, &mut saddr, daddr, dport, fwmark, &mut rt, &mut oif);
            }
            if ret != 0 {
                return Err(Error::from_errno(ret));
            }
            if let Some(c) = cache {
                b::wg_shim_dst_cache_set4(c.get(), rt, saddr);
            }
        }
        b::wg_shim_xmit4(rt, sk, skb, saddr, daddr, ds, dport);
    }
    Ok(())
}

/// # Safety
///
/// As for [`send4`].
#[allow(clippy::too_many_arguments)]
unsafe fn send6(
    sk: *mut b::sock,
    skb: *mut b::sk_buff,
    ep: &mut Endpoint,
    daddr: &[u8; 16],
    dport: u16,
    ds: u8,
    cache: Option<&DstCache>,
    fwmark: u32,
) -> Result {
    let mut saddr = b::in6_addr::default();
    saddr.in6_u.u6_addr8 = ep.src6;
    let mut dst_addr = b::in6_addr::default();
    dst_addr.in6_u.u6_addr8 = *daddr;
    // SAFETY: per the function's contract; the addresses are valid structs.
    unsafe {
        let mut dst = match cache {
            Some(c) => b::dst_cache_get_ip6(c.get(), &mut saddr),
            None => core::ptr::null_mut(),
        };
        if dst.is_null() {
            if !b::wg_shim_chk_addr6(sk, &saddr) {
                ep.src6 = [0; 16];
                saddr = b::in6_addr::default();
                if let Some(c) = cache {
                    c.reset();
                }
            }
            let oif = i32::try_from(ep.scope_id).unwrap_or(0);
            let ret = b::wg_shim_route6(sk, &mut saddr, &dst_addr, dport, fwmark, oif, &mut dst);
            if ret != 0 {
                return Err(Error::from_errno(ret));
            }
            if let Some(c) = cache {
                b::dst_cache_set_ip6(c.get(), dst, &saddr);
            }
        }
        b::wg_shim_xmit6(dst, sk, skb, &saddr, &dst_addr, ds, dport);
    }
    Ok(())
}

// SPDX-License-Identifier: GPL-2.0
//! The device's UDP sockets: one IPv4 and one IPv6 socket on the same port,
//! in the namespace where the device was created.
//!
//! Use: the device binds them when it goes up (`ndo_open`) and when its listen
//! port changes while up, with the port from its configuration (0: any), in
//! `NetDevice::creating_net` (no namespace: `-ENONET`, as the C driver); it
//! drops them when it goes down (`ndo_stop`) and when its creating namespace
//! exits. A socket holds a reference on the device, so sockets never outlive
//! those points. The reported listen port is the IPv4 socket's while bound.
//!
//! Sending to a peer ([`send`]): its [`Endpoint`] keeps the source address
//! (and, for IPv4, the interface) last used to reach it, so that replies
//! leave from the address the peer talks to; a source that went away, or an
//! interface that no longer routes there, is given up for the route's
//! choice, as in the C driver.
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::error::{eaddrinuse, enetunreach};
use crate::kapi::net::Net;
use crate::kapi::netdev::NetDevice;
use crate::kapi::rcu;
use crate::kapi::skb::{SkBuff, SocketAddr};
use crate::kapi::udp::{ipv6_enabled, EncapSocket, Family};
use crate::kapi::xmit::{DstCache, OuterAddrs, Route};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// How many times a random port is tried when the IPv6 socket cannot take the
/// port the IPv4 socket got.
const PORT_RETRIES: u32 = 100;

/// The bound sockets of a device (none while it is down).
pub(crate) struct Sockets {
    pub(crate) v4: EncapSocket<Device>,
    /// None when the stack has no IPv6.
    v6: Option<EncapSocket<Device>>,
}

impl Sockets {
    /// Binds an IPv4 socket and, when the stack has IPv6, an IPv6 socket to
    /// the same `port` in `net`. Port 0 picks a free port for both (a few
    /// tries, as the IPv4 choice may be taken for IPv6).
    pub(crate) fn bind(net: &Net, dev: &NetDevice<Device>, port: u16) -> Result<Sockets> {
        let mut retries = 0;
        loop {
            let v4 = EncapSocket::bind(net, dev, Family::V4, port)?;
            let v6 =
                ipv6_enabled().then(|| EncapSocket::bind(net, dev, Family::V6, v4.local_port()));
            match v6.transpose() {
                Ok(v6) => return Ok(Sockets { v4, v6 }),
                // `v4` is dropped before the next try.
                Err(e) if e == eaddrinuse() && port == 0 && retries < PORT_RETRIES => retries += 1,
                Err(e) => {
                    pr_err!("{}: Could not create IPv6 socket\n", dev.name());
                    return Err(e);
                }
            }
        }
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
    /// The cached source (IPv4 in the first four bytes; all zero: none).
    src: [u8; 16],
    /// The interface the IPv4 source was seen on (0: none).
    src_if4: i32,
}

impl Endpoint {
    /// An endpoint with no cached source.
    pub(crate) fn new(addr: SocketAddr, scope_id: u32) -> Self {
        Endpoint {
            addr,
            scope_id,
            src: [0; 16],
            src_if4: 0,
        }
    }

    /// The endpoint a received datagram came from, with our address it was
    /// sent to as the cached source (so that replies leave from it).
    pub(crate) fn from_received(skb: &SkBuff) -> Option<Self> {
        let o = OuterAddrs::of(skb)?;
        let mut ep = Endpoint::new(o.src, o.scope_id);
        ep.src = o.dst;
        if let SocketAddr::V4(..) = o.src {
            ep.src_if4 = o.iif;
        }
        Some(ep)
    }

    /// Forgets the cached source address.
    pub(crate) fn clear_src(&mut self) {
        *self = Endpoint::new(self.addr, self.scope_id);
    }
}

/// Sends `skb` (the UDP payload) to `ep` from the device's socket of the
/// endpoint's family (ENETUNREACH if it has none), with the device's fwmark.
/// `ds`: the outer DSCP and ECN bits. Forgets the endpoint's cached source
/// when the address is no longer local or (IPv4) no longer routes through
/// the interface it was seen on (as the C driver's `send4`/`send6`).
/// Whether it looked a route up (and cached it): `false` when the cache had
/// it. Softirq-safe.
pub(crate) fn send(
    dev: &NetDevice<Device>,
    skb: SkBuff,
    ep: &mut Endpoint,
    ds: u8,
    cache: Option<&DstCache>,
) -> Result<bool> {
    let d = dev.data();
    let guard = rcu::read_lock();
    let sockets = d.sockets.get(&guard).ok_or_else(enetunreach)?;
    let sock = match ep.addr {
        SocketAddr::V4(..) => Some(&sockets.v4),
        SocketAddr::V6(..) => sockets.v6.as_ref(),
    }
    .ok_or_else(enetunreach)?;
    let fwmark = d.fwmark.load(Ordering::Relaxed);
    let (rt, src, looked_up) = route(sock, ep, cache, fwmark)?;
    sock.xmit(dev, skb, rt, &src, &ep.addr, ds, fwmark, &guard);
    Ok(looked_up)
}

/// Forgets the endpoint's cached source and the routes cached with it.
fn drop_src(ep: &mut Endpoint, cache: Option<&DstCache>) {
    ep.clear_src();
    if let Some(c) = cache {
        c.reset();
    }
}

/// The route to the endpoint and its source, and whether it was looked up:
/// the cached one, or a lookup
/// from the endpoint's cached source while that is still local and (IPv4) on
/// the interface it was seen on, else from any source. IPv6 needs no
/// interface check: the scope gives it.
fn route(
    sock: &EncapSocket<Device>,
    ep: &mut Endpoint,
    cache: Option<&DstCache>,
    fwmark: u32,
) -> Result<(Route, [u8; 16], bool)> {
    if let Some((rt, src)) = cache.and_then(|c| c.get(&ep.addr)) {
        return Ok((rt, src, false));
    }
    // IPv4 checks even an unset source, IPv6 only a set one (as the C driver).
    let v4 = matches!(ep.addr, SocketAddr::V4(..));
    if (v4 || ep.src != [0; 16]) && !sock.is_local(&ep.addr, &ep.src) {
        // The cached source is not ours any more: let the route choose.
        drop_src(ep, cache);
    }
    let oif = i32::try_from(ep.scope_id).unwrap_or(0);
    let mut ret = sock.route(&ep.src, &ep.addr, fwmark, oif);
    let moved = ep.src_if4 != 0
        && match &ret {
            Ok((rt, _)) => rt.ifindex() != ep.src_if4,
            Err(e) => *e == EINVAL,
        };
    if moved {
        // The interface the cached source was on no longer routes there:
        // retry without a source.
        drop_src(ep, cache);
        drop(ret);
        ret = sock.route(&ep.src, &ep.addr, fwmark, oif);
    }
    let (rt, src) = ret?;
    if let Some(c) = cache {
        c.set(&ep.addr, &rt, &src);
    }
    Ok((rt, src, true))
}

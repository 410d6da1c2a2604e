// SPDX-License-Identifier: GPL-2.0
//! The `wireguard` generic netlink family (`include/uapi/linux/wireguard.h`):
//! `WG_CMD_GET_DEVICE` (a dump) and `WG_CMD_SET_DEVICE`.
//!
//! For valid input the behaviour is the C driver's (`drivers/net/wireguard/
//! netlink.c`), so that `wg(8)` prints the same. Invalid input is refused
//! more strictly: every malformed, missing or out-of-range attribute gets an
//! errno and an extack message, and a message that fails changes nothing
//! (see `config.rs`). Documentation/netlink.md lists the rules.
#![forbid(unsafe_code)]

use crate::config::{PeerUpdate, Update};
use crate::device::Device;
use crate::kapi::error::{eafnosupport, ebadr, emsgsize, eopnotsupp, epfnosupport};
use crate::kapi::genl::{DumpSkb, Family, GenlOps, Request};
use crate::kapi::net::Net;
use crate::kapi::netdev::{DevRef, LookupError};
use crate::kapi::nla::{Attr, Extack, GenlMsg, ANY_TYPE};
use crate::kapi::platform::{self, Kernel};
use crate::kapi::rtnl::Rtnl;
use crate::kapi::wireguard::{self as uapi, a};
use crate::peer::{Endpoint, PeerState};
use crate::proto::allowedips::Prefix;
use crate::proto::platform::{Alloc, KEY_LEN};
use crate::proto::secret::Key;
use crate::tables::Tables;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::error::Error;
use kernel::prelude::*;

/// The driver's family.
pub(crate) static FAMILY: Family<Genl> = Family::new();

/// The `wireguard` family.
pub(crate) struct Genl;

/// Where a dump stands between two of its messages (the C `dump_ctx`).
pub(crate) struct DumpState {
    dev: DevRef<Device>,
    /// The device's index in the requester's namespace when the dump
    /// started: every message names it, or the dump ends with ENODEV (the
    /// device was moved away, and perhaps back under another index).
    ifindex: u32,
    /// Serial of the last peer written completely; `None` before the first.
    last_peer: Option<u64>,
    /// A peer whose allowed IPs did not fit: continue after `after`
    /// (`None`: from its first) if the table did not change (`seq`).
    resume: Option<Resume>,
}

#[derive(Clone, Copy)]
struct Resume {
    serial: u64,
    after: Option<Prefix>,
    seq: u64,
}

impl GenlOps for Genl {
    const NAME: &'static CStr = c_str!("wireguard");
    const VERSION: u32 = uapi::WG_GENL_VERSION;
    const DO_CMD: u8 = uapi::CMD_SET_DEVICE;
    const DUMP_CMD: u8 = uapi::CMD_GET_DEVICE;

    type DumpState = DumpState;

    fn policy() -> &'static [crate::kapi::bindings::nla_policy] {
        uapi::device_policy()
    }

    fn doit(req: &mut Request<'_>) -> Result {
        let ext = req.extack();
        // The stack it used zeroed after it: the keys (private, preshared,
        // the static-static DH of each peer) pass through it
        // (`platform::scrubbed` says why copies stay).
        let result = platform::scrubbed(|| set_device(req, &ext));
        // Keys in the request are wiped once copied (whether the request
        // succeeded or not), as the C driver does.
        req.wipe(&[a::DEVICE_PRIVATE_KEY]);
        req.wipe(&[a::DEVICE_PEERS, ANY_TYPE, a::PEER_PRESHARED_KEY]);
        result
    }

    fn dump_start(req: &Request<'_>) -> Result<DumpState> {
        let ext = req.extack();
        let dev = lookup_device(req, &ext)?;
        let ifindex = {
            let rtnl = Rtnl::lock();
            let asked = req.attr(a::DEVICE_IFINDEX).and_then(|i| i.u32());
            dev.get(&rtnl, req.net())
                .map(|d| d.ifindex())
                .filter(|i| asked.is_none_or(|a| a == *i))
                .ok_or_else(|| fail(&ext, ENODEV, c_str!("device is going away"), None))?
        };
        Ok(DumpState {
            dev,
            ifindex,
            last_peer: None,
            resume: None,
        })
    }

    /// One message of the dump, as `wg_get_device_dump`: the device's
    /// attributes in the first, then as many peers as fit.
    fn dumpit(state: &mut DumpState, skb: &mut DumpSkb<'_>) -> Result<bool> {
        let rtnl = Rtnl::lock();
        // A device that left the requester's namespace since the dump started
        // is not shown there any more (its ifindex may now be another's there).
        let dev = state
            .dev
            .get(&rtnl, skb.net())
            .filter(|d| d.ifindex() == state.ifindex)
            .ok_or(ENODEV)?;
        let cfg = dev.data().config.lock();
        let mut msg = skb.message(uapi::CMD_GET_DEVICE, cfg.generation)?;
        if state.last_peer.is_none() {
            msg.put(a::DEVICE_LISTEN_PORT, &cfg.listen_port.to_ne_bytes())?;
            msg.put(a::DEVICE_FWMARK, &cfg.fwmark.to_ne_bytes())?;
            msg.put(a::DEVICE_IFINDEX, &dev.ifindex().to_ne_bytes())?;
            msg.put(a::DEVICE_IFNAME, dev.name().as_bytes_with_nul())?;
            if let Some(id) = cfg.identity.as_ref() {
                msg.put(a::DEVICE_PRIVATE_KEY, cfg.private_key.as_bytes())?;
                msg.put(a::DEVICE_PUBLIC_KEY, id.public_key())?;
            }
        }
        // No peers; or the peer the dump stopped after was removed: as the C
        // driver, end here (the generation tells the reader the dump is
        // incoherent).
        let peers = cfg.peers.iter_after(state.last_peer);
        let Some(peers) = peers.filter(|_| cfg.peers.len() != 0) else {
            msg.end();
            return Ok(false);
        };
        let tables = dev.data().routing.read_writer_side();
        // Whether this message moves the dump on (a peer, a peer's attributes
        // or one of its allowed IPs): a message that does not would be written
        // again and again, forever.
        let mut progress = false;
        // Whether every peer was written completely. The state moves on as
        // peers are written: if the message is not sent, the dump ends.
        let done = msg.nest(a::DEVICE_PEERS, |m| {
            for peer in peers {
                let cont = state.resume.filter(|r| r.serial == peer.serial());
                match put_peer(m, &tables, peer, cont) {
                    Ok(PeerOut::Complete) => {
                        state.last_peer = Some(peer.serial());
                        state.resume = None;
                        progress = true;
                    }
                    Ok(PeerOut::Partial(last)) => {
                        // Progress: an allowed IP, or the peer's own attributes
                        // (written only when it is not a continuation).
                        progress |= last.is_some() || cont.is_none();
                        state.resume = Some(Resume {
                            serial: peer.serial(),
                            after: last.or(cont.and_then(|c| c.after)),
                            seq: tables.trie.seq(),
                        });
                        return Ok(false);
                    }
                    // The peer did not fit (its nest was cancelled).
                    Err(e) if e == emsgsize() => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            Ok(true)
        });
        match done {
            Ok(done) if done || progress => {
                msg.end();
                Ok(!done)
            }
            // Nothing fits in a message (the skb is at least NLMSG_GOODSIZE,
            // far more than a device's and a peer's attributes, so this is not
            // expected): the message is cancelled and the dump ends with
            // EMSGSIZE rather than repeating it.
            _ => Err(emsgsize()),
        }
    }
}

/// An error with its extack message.
fn fail(ext: &Extack<'_>, err: Error, msg: &'static CStr, attr: Option<Attr<'_>>) -> Error {
    ext.set(msg, attr);
    err
}

/// The value `read` takes from `attr`. The policies check lengths, a NUL
/// within the name's 16 bytes and flag masks before (unknown flags: "reserved bit set"), so
/// this fails (EINVAL) only if they disagree with this code.
fn need<'a, T>(attr: Attr<'a>, read: fn(&Attr<'a>) -> Option<T>, ext: &Extack<'_>) -> Result<T> {
    read(&attr).ok_or_else(|| fail(ext, EINVAL, c_str!("malformed attribute"), Some(attr)))
}

/// [`need`] for an attribute that may be absent.
fn get<'a, T>(
    attr: Option<Attr<'a>>,
    read: fn(&Attr<'a>) -> Option<T>,
    ext: &Extack<'_>,
) -> Result<Option<T>> {
    attr.map(|a| need(a, read, ext)).transpose()
}

/// The device the request names: exactly one of ifindex or ifname, in the
/// requester's namespace (the C driver's errors: EBADR, ENODEV, EOPNOTSUPP).
fn lookup_device(req: &Request<'_>, ext: &Extack<'_>) -> Result<DevRef<Device>> {
    let index = get(req.attr(a::DEVICE_IFINDEX), Attr::u32, ext)?;
    let name = get(req.attr(a::DEVICE_IFNAME), Attr::c_str, ext)?;
    let found = match (index, name) {
        (Some(i), None) => DevRef::by_index(req.net(), i),
        (None, Some(n)) => DevRef::by_name(req.net(), n),
        _ => {
            let msg = c_str!("exactly one of WGDEVICE_A_IFINDEX and WGDEVICE_A_IFNAME is required");
            return Err(fail(ext, ebadr(), msg, None));
        }
    };
    let (err, msg) = match found {
        Ok(dev) => return Ok(dev),
        Err(LookupError::NoDevice) => (ENODEV, c_str!("no such device")),
        Err(LookupError::OtherKind) => (eopnotsupp(), c_str!("not a WireGuard device")),
    };
    let attr = req.attr(a::DEVICE_IFINDEX).or(req.attr(a::DEVICE_IFNAME));
    Err(fail(ext, err, msg, attr))
}

// ---- WG_CMD_SET_DEVICE ------------------------------------------------------

fn set_device(req: &Request<'_>, ext: &Extack<'_>) -> Result {
    let dev_ref = lookup_device(req, ext)?;
    let update = parse_update(req, ext)?;
    let rtnl = Rtnl::lock();
    // Checked under RTNL, which unregistration and moves between namespaces
    // take: a device deleted or moved away since the lookup is not
    // configured (a peer created on a device whose `ndo_uninit` ran would
    // never be released).
    let dev = dev_ref
        .get(&rtnl, req.net())
        .ok_or_else(|| fail(ext, ENODEV, c_str!("device is going away"), None))?;
    // Present here means valid (`parse_update` checked both).
    let attr = req
        .attr(a::DEVICE_LISTEN_PORT)
        .or(req.attr(a::DEVICE_FWMARK));
    if attr.is_some() && !dev.creating_net(&rtnl).is_some_and(Net::net_admin_capable) {
        let msg = c_str!("CAP_NET_ADMIN in the namespace the device was created in is required for the listen port and fwmark");
        return Err(fail(ext, EPERM, msg, attr));
    }
    let mut cfg = dev.data().config.lock();
    let mut applied = cfg.prepare(dev, &update).map_err(|e| {
        let msg = if e == ENOSPC {
            c_str!("this configuration would exceed the device's 1,048,576 peers")
        } else {
            c_str!("cannot allocate memory for this configuration")
        };
        fail(ext, e, msg, None)
    })?;
    // The C driver's `set_port`: an unchanged port is left alone, a device
    // that is down only records it, a running one binds new sockets on it.
    if let Some(port) = update.listen_port.filter(|p| *p != cfg.listen_port) {
        if dev.is_running() {
            let attr = req.attr(a::DEVICE_LISTEN_PORT);
            let msg = c_str!("cannot bind the listen port");
            Device::rebind(&rtnl, dev, &mut cfg, port).map_err(|e| fail(ext, e, msg, attr))?;
        } else {
            cfg.listen_port = port;
        }
    }
    cfg.apply(dev, update, &mut applied);
    Device::after_update(dev, &cfg, applied);
    Ok(())
}

/// Validates the whole message into an [`Update`]; nothing is changed here.
fn parse_update(req: &Request<'_>, ext: &Extack<'_>) -> Result<Update> {
    if let Some(attr) = req.attr(a::DEVICE_PUBLIC_KEY) {
        let msg = c_str!("the public key is derived from the private key and cannot be set");
        return Err(fail(ext, EINVAL, msg, Some(attr)));
    }
    let flags = get(req.attr(a::DEVICE_FLAGS), Attr::u32, ext)?.unwrap_or(0);
    let trailing = c_str!("trailing bytes after the last peer");
    Ok(Update {
        private_key: get(req.attr(a::DEVICE_PRIVATE_KEY), secret_key, ext)?,
        listen_port: get(req.attr(a::DEVICE_LISTEN_PORT), Attr::u16, ext)?,
        fwmark: get(req.attr(a::DEVICE_FWMARK), Attr::u32, ext)?,
        replace_peers: flags & a::DEVICE_F_REPLACE_PEERS != 0,
        peers: parse_list(req.attr(a::DEVICE_PEERS), parse_peer, ext, trailing)?,
    })
}

/// The entries of a nested list (none if absent), each parsed by `f`;
/// EINVAL with `trailing` if bytes follow the last entry.
fn parse_list<T>(
    list: Option<Attr<'_>>,
    f: fn(Attr<'_>, &Extack<'_>) -> Result<T>,
    ext: &Extack<'_>,
    trailing: &'static CStr,
) -> Result<KVVec<T>> {
    let mut out = KVVec::new();
    let Some(list) = list else { return Ok(out) };
    let mut entries = list.nested();
    for entry in entries.by_ref() {
        Kernel::vec_push(&mut out, f(entry, ext)?)
            .map_err(|_| fail(ext, ENOMEM, c_str!("out of memory"), None))?;
    }
    if entries.trailing() != 0 {
        return Err(fail(ext, EINVAL, trailing, Some(list)));
    }
    Ok(out)
}

/// A secret key, copied once, into the buffer that is wiped.
fn secret_key(attr: &Attr<'_>) -> Option<Key<Kernel>> {
    let mut bytes: [u8; KEY_LEN] = attr.payload().try_into().ok()?;
    Some(Key::take_from(&mut bytes))
}

fn parse_peer(p: Attr<'_>, ext: &Extack<'_>) -> Result<PeerUpdate> {
    let t = p.parse(uapi::peer_policy(), ext)?;
    // The preshared key is wiped from the request by `doit`.
    let read_only = [
        a::PEER_LAST_HANDSHAKE_TIME,
        a::PEER_RX_BYTES,
        a::PEER_TX_BYTES,
    ];
    if let Some(attr) = read_only.into_iter().find_map(|ro| t.get(ro)) {
        let msg = c_str!("read-only peer attribute in a set request");
        return Err(fail(ext, EINVAL, msg, Some(attr)));
    }
    let key = |k: &Attr<'_>| k.payload().try_into().ok();
    let Some(public_key) = get(t.get(a::PEER_PUBLIC_KEY), key, ext)? else {
        let msg = c_str!("peer without WGPEER_A_PUBLIC_KEY");
        return Err(fail(ext, EINVAL, msg, Some(p)));
    };
    let flags = get(t.get(a::PEER_FLAGS), Attr::u32, ext)?.unwrap_or(0);
    let version = t.get(a::PEER_PROTOCOL_VERSION);
    if let Some(attr) = version.filter(|v| v.u32() != Some(1)) {
        let msg = c_str!("only protocol version 1 is supported");
        return Err(fail(ext, epfnosupport(), msg, Some(attr)));
    }
    let trailing = c_str!("trailing bytes after the last allowed IP");
    Ok(PeerUpdate {
        public_key,
        preshared_key: get(t.get(a::PEER_PRESHARED_KEY), secret_key, ext)?,
        endpoint: endpoint_of(t.get(a::PEER_ENDPOINT), ext)?,
        persistent_keepalive: get(t.get(a::PEER_PERSISTENT_KEEPALIVE_INTERVAL), Attr::u16, ext)?,
        remove_me: flags & a::PEER_F_REMOVE_ME != 0,
        update_only: flags & a::PEER_F_UPDATE_ONLY != 0,
        replace_allowed_ips: flags & a::PEER_F_REPLACE_ALLOWEDIPS != 0,
        allowed_ips: parse_list(t.get(a::PEER_ALLOWEDIPS), parse_allowed_ip, ext, trailing)?,
    })
}

/// `struct sockaddr_in` or `struct sockaddr_in6`, of exactly its size.
fn endpoint_of(attr: Option<Attr<'_>>, ext: &Extack<'_>) -> Result<Option<Endpoint>> {
    let Some(attr) = attr else { return Ok(None) };
    let d = attr.payload();
    let (ep, msg) = match d.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]])) {
        Some(a::AF_INET) => (
            d.try_into().ok().map(Endpoint::V4),
            c_str!("an AF_INET endpoint is a struct sockaddr_in (16 bytes)"),
        ),
        Some(a::AF_INET6) => (
            d.try_into().ok().map(Endpoint::V6),
            c_str!("an AF_INET6 endpoint is a struct sockaddr_in6 (28 bytes)"),
        ),
        _ => {
            let msg = c_str!("endpoint family is neither AF_INET nor AF_INET6");
            return Err(fail(ext, eafnosupport(), msg, Some(attr)));
        }
    };
    Ok(Some(ep.ok_or_else(|| fail(ext, EINVAL, msg, Some(attr)))?))
}

fn parse_allowed_ip(ip: Attr<'_>, ext: &Extack<'_>) -> Result<(Prefix, bool)> {
    let t = ip.parse(uapi::allowedip_policy(), ext)?;
    let (Some(fam), Some(addr), Some(mask)) = (
        t.get(a::ALLOWEDIP_FAMILY),
        t.get(a::ALLOWEDIP_IPADDR),
        t.get(a::ALLOWEDIP_CIDR_MASK),
    ) else {
        let msg = c_str!("an allowed IP needs a family, an address and a prefix length");
        return Err(fail(ext, EINVAL, msg, Some(ip)));
    };
    let flags = get(t.get(uapi::ALLOWEDIP_A_FLAGS), Attr::u32, ext)?.unwrap_or(0);
    let cidr = need(mask, Attr::u8, ext)?;
    let bytes = addr.payload();
    // The prefix if the address has the family's length, its bits, and the
    // messages of either failure.
    let (prefix, bits, bad_len, too_long) = match fam.u16() {
        Some(a::AF_INET) => (
            bytes.try_into().ok().map(|addr| Prefix::V4 { addr, cidr }),
            32,
            c_str!("an IPv4 address is 4 bytes"),
            c_str!("IPv4 prefix length above 32"),
        ),
        Some(a::AF_INET6) => (
            bytes.try_into().ok().map(|addr| Prefix::V6 { addr, cidr }),
            128,
            c_str!("an IPv6 address is 16 bytes"),
            c_str!("IPv6 prefix length above 128"),
        ),
        _ => {
            let msg = c_str!("allowed IP family is neither AF_INET nor AF_INET6");
            return Err(fail(ext, eafnosupport(), msg, Some(fam)));
        }
    };
    let prefix = prefix.ok_or_else(|| fail(ext, EINVAL, bad_len, Some(addr)))?;
    if cidr > bits {
        return Err(fail(ext, EINVAL, too_long, Some(mask)));
    }
    Ok((prefix, flags & uapi::ALLOWEDIP_F_REMOVE_ME != 0))
}

// ---- WG_CMD_GET_DEVICE ------------------------------------------------------

/// How far a peer got into a message.
enum PeerOut {
    /// Completely written.
    Complete,
    /// Written up to its allowed IPs, the last of which is given (`None`:
    /// none of them fitted).
    Partial(Option<Prefix>),
}

fn put_peer(
    m: &mut GenlMsg<'_>,
    tables: &Tables,
    peer: &PeerState,
    cont: Option<Resume>,
) -> Result<PeerOut> {
    m.nest(0, |m| {
        m.put(a::PEER_PUBLIC_KEY, &peer.public_key)?;
        if cont.is_none() {
            let psk = peer.handshake.lock().psk.duplicate();
            m.put(a::PEER_PRESHARED_KEY, psk.as_bytes())?;
            let (sec, nsec) = *peer.last_handshake.lock();
            let mut ts = [0u8; 16];
            ts[..8].copy_from_slice(&sec.to_ne_bytes());
            ts[8..].copy_from_slice(&nsec.to_ne_bytes());
            m.put(a::PEER_LAST_HANDSHAKE_TIME, &ts)?;
            let keepalive = peer.timers.lock().persistent_keepalive_interval();
            let keepalive = keepalive.to_ne_bytes();
            m.put(a::PEER_PERSISTENT_KEEPALIVE_INTERVAL, &keepalive)?;
            // 64-bit counters aligned by PEER_UNSPEC padding, as the C driver.
            let tx = peer.tx_bytes.load(Ordering::Relaxed);
            m.put_u64(a::PEER_TX_BYTES, tx, a::PEER_UNSPEC)?;
            let rx = peer.rx_bytes.load(Ordering::Relaxed);
            m.put_u64(a::PEER_RX_BYTES, rx, a::PEER_UNSPEC)?;
            m.put(a::PEER_PROTOCOL_VERSION, &1u32.to_ne_bytes())?;
            // Copied out: the endpoint's lock is not held while putting.
            let reported = peer.endpoint.lock().reported;
            if let Some(ep) = reported.as_ref() {
                m.put(a::PEER_ENDPOINT, ep.as_bytes())?;
            }
        }
        let walk = match cont {
            // The table changed since: as the C driver, no more of them.
            Some(c) if c.seq != tables.trie.seq() => None,
            _ => tables
                .trie
                .peer_prefixes_after(peer.id(), cont.and_then(|c| c.after).as_ref()),
        };
        let mut walk = walk.into_iter().flatten().peekable();
        if walk.peek().is_none() {
            return Ok(PeerOut::Complete);
        }
        m.nest(a::PEER_ALLOWEDIPS, |m| {
            let mut last = None;
            for p in walk {
                let (family, addr, cidr): (u16, &[u8], u8) = match &p {
                    Prefix::V4 { addr, cidr } => (a::AF_INET, addr, *cidr),
                    Prefix::V6 { addr, cidr } => (a::AF_INET6, addr, *cidr),
                };
                let written = m.nest(0, |m| {
                    m.put(a::ALLOWEDIP_CIDR_MASK, &[cidr])?;
                    m.put(a::ALLOWEDIP_FAMILY, &family.to_ne_bytes())?;
                    m.put(a::ALLOWEDIP_IPADDR, addr)
                });
                if written.is_err() {
                    return Ok(PeerOut::Partial(last));
                }
                last = Some(p);
            }
            Ok(PeerOut::Complete)
        })
    })
}

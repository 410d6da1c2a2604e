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

use crate::config::Config;
use crate::config::{AllowedIpChange, PeerUpdate, Update};
use crate::device::Device;
use crate::kapi::error::{
    eafnosupport, ebadr, einval, emsgsize, enodev, eopnotsupp, eperm, epfnosupport,
};
use crate::kapi::genl::{DumpSkb, Family, GenlOps, OpKind, OpSpec, Request};
use crate::kapi::netdev::{DevRef, LookupError};
use crate::kapi::nla::Attrs;
use crate::kapi::nla::{Attr, Extack, GenlMsg, MsgFull, ANY_TYPE};
use crate::kapi::platform::Kernel;
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
    const OPS: &'static [OpSpec] = &[
        OpSpec {
            cmd: uapi::CMD_GET_DEVICE,
            kind: OpKind::Dump,
            uns_admin: true,
        },
        OpSpec {
            cmd: uapi::CMD_SET_DEVICE,
            kind: OpKind::Do,
            uns_admin: true,
        },
    ];

    type DumpState = DumpState;

    fn family() -> &'static Family<Self> {
        &FAMILY
    }

    fn policy() -> &'static [crate::kapi::bindings::nla_policy] {
        uapi::device_policy()
    }

    fn doit(req: &mut Request<'_>) -> Result {
        let ext = req.extack();
        let result = set_device(req, &ext);
        // Keys in the request are wiped once copied (whether the request
        // succeeded or not), as the C driver does.
        req.wipe(&[a::DEVICE_PRIVATE_KEY as u16]);
        req.wipe(&[
            a::DEVICE_PEERS as u16,
            ANY_TYPE,
            a::PEER_PRESHARED_KEY as u16,
        ]);
        result
    }

    fn dump_start(req: &Request<'_>) -> Result<DumpState> {
        let ext = req.extack();
        let dev = lookup_device(req, &ext)?;
        let ifindex = {
            let rtnl = Rtnl::lock();
            let asked = req.attr(a::DEVICE_IFINDEX).and_then(|i| i.u32());
            dev.get(&rtnl)
                .filter(|_| dev.is_in(&rtnl, req.net()))
                .map(|d| d.ifindex())
                .filter(|i| asked.is_none_or(|a| a == *i))
                .ok_or_else(|| fail(&ext, enodev(), c_str!("device is going away"), None))?
        };
        Ok(DumpState {
            dev,
            ifindex,
            last_peer: None,
            resume: None,
        })
    }

    fn dumpit(state: &mut DumpState, skb: &mut DumpSkb<'_, Self>) -> Result<bool> {
        get_device(state, skb)
    }
}

/// An error with its extack message.
fn fail(ext: &Extack<'_>, err: Error, msg: &'static CStr, attr: Option<Attr<'_>>) -> Error {
    ext.set(msg, attr);
    err
}

/// The device the request names: exactly one of ifindex or ifname, in the
/// requester's namespace (the C driver's errors: EBADR, ENODEV, EOPNOTSUPP).
fn lookup_device(req: &Request<'_>, ext: &Extack<'_>) -> Result<DevRef<Device>> {
    let index = req.attr(a::DEVICE_IFINDEX);
    let name = req.attr(a::DEVICE_IFNAME);
    let found = match (index, name) {
        (Some(i), None) => {
            let i = i
                .u32()
                .ok_or_else(|| fail(ext, einval(), c_str!("bad ifindex"), Some(i)))?;
            DevRef::by_index(req.net(), i)
        }
        (None, Some(n)) => {
            let s = n.c_str().ok_or_else(|| {
                fail(
                    ext,
                    einval(),
                    c_str!("interface name is not NUL-terminated"),
                    Some(n),
                )
            })?;
            DevRef::by_name(req.net(), s)
        }
        _ => {
            return Err(fail(
                ext,
                ebadr(),
                c_str!("exactly one of WGDEVICE_A_IFINDEX and WGDEVICE_A_IFNAME is required"),
                None,
            ))
        }
    };
    found.map_err(|e| match e {
        LookupError::NoDevice => fail(ext, enodev(), c_str!("no such device"), index.or(name)),
        LookupError::OtherKind => fail(
            ext,
            eopnotsupp(),
            c_str!("not a WireGuard device"),
            index.or(name),
        ),
    })
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
        .get(&rtnl)
        .filter(|_| dev_ref.is_in(&rtnl, req.net()))
        .ok_or_else(|| fail(ext, enodev(), c_str!("device is going away"), None))?;
    if update.listen_port.is_some() || update.fwmark.is_some() {
        let allowed = dev
            .creating_net(&rtnl)
            .is_some_and(|net| net.net_admin_capable());
        if !allowed {
            let attr = req
                .attr(a::DEVICE_LISTEN_PORT)
                .or(req.attr(a::DEVICE_FWMARK));
            return Err(fail(
                ext,
                eperm(),
                c_str!("CAP_NET_ADMIN in the namespace the device was created in is required for the listen port and fwmark"),
                attr,
            ));
        }
    }
    let mut cfg = dev.data().config.lock();
    let prepared = cfg.prepare(dev, &update).map_err(|e| {
        fail(
            ext,
            e,
            c_str!("cannot allocate memory for this configuration"),
            None,
        )
    })?;
    if let Some(port) = update.listen_port {
        Device::set_listen_port(&rtnl, dev, &mut cfg, port).map_err(|e| {
            fail(
                ext,
                e,
                c_str!("cannot bind the listen port"),
                req.attr(a::DEVICE_LISTEN_PORT),
            )
        })?;
    }
    let applied = cfg.apply(dev, update, prepared);
    Device::after_update(dev, &cfg, applied);
    Ok(())
}

/// Validates the whole message into an [`Update`]; nothing is changed here.
fn parse_update(req: &Request<'_>, ext: &Extack<'_>) -> Result<Update> {
    let mut u = Update::new();
    if let Some(attr) = req.attr(a::DEVICE_PUBLIC_KEY) {
        return Err(fail(
            ext,
            einval(),
            c_str!("the public key is derived from the private key and cannot be set"),
            Some(attr),
        ));
    }
    if let Some(attr) = req.attr(a::DEVICE_FLAGS) {
        let flags = attr
            .u32()
            .ok_or_else(|| fail(ext, einval(), c_str!("bad flags"), Some(attr)))?;
        if flags & !a::DEVICE_F_REPLACE_PEERS != 0 {
            return Err(fail(
                ext,
                eopnotsupp(),
                c_str!("unknown device flags"),
                Some(attr),
            ));
        }
        u.replace_peers = flags & a::DEVICE_F_REPLACE_PEERS != 0;
    }
    if let Some(attr) = req.attr(a::DEVICE_PRIVATE_KEY) {
        u.private_key = Some(key_of(attr, ext)?);
    }
    if let Some(attr) = req.attr(a::DEVICE_LISTEN_PORT) {
        u.listen_port = Some(
            attr.u16()
                .ok_or_else(|| fail(ext, einval(), c_str!("bad listen port"), Some(attr)))?,
        );
    }
    if let Some(attr) = req.attr(a::DEVICE_FWMARK) {
        u.fwmark = Some(
            attr.u32()
                .ok_or_else(|| fail(ext, einval(), c_str!("bad fwmark"), Some(attr)))?,
        );
    }
    if let Some(peers) = req.attr(a::DEVICE_PEERS) {
        let mut list = peers.nested();
        for p in list.by_ref() {
            let pu = parse_peer(p, ext)?;
            Kernel::vec_push(&mut u.peers, pu)
                .map_err(|_| fail(ext, ENOMEM, c_str!("out of memory"), None))?;
        }
        if list.trailing() != 0 {
            return Err(fail(
                ext,
                einval(),
                c_str!("trailing bytes after the last peer"),
                Some(peers),
            ));
        }
    }
    Ok(u)
}

/// A 32-byte key attribute (the policy checked the exact length).
fn key_of(attr: Attr<'_>, ext: &Extack<'_>) -> Result<Key<Kernel>> {
    let mut bytes: [u8; KEY_LEN] = attr
        .payload()
        .try_into()
        .map_err(|_| fail(ext, einval(), c_str!("a key is 32 bytes"), Some(attr)))?;
    Ok(Key::take_from(&mut bytes))
}

fn parse_peer(p: Attr<'_>, ext: &Extack<'_>) -> Result<PeerUpdate> {
    let t = p.parse(uapi::peer_policy(), ext)?;
    // The preshared key is wiped from the request by `doit`.
    parse_peer_attrs(p, &t, ext)
}

fn parse_peer_attrs(
    p: Attr<'_>,
    t: &Attrs<'_, { uapi::PEER_POLICY_LEN }>,
    ext: &Extack<'_>,
) -> Result<PeerUpdate> {
    for ro in [
        a::PEER_LAST_HANDSHAKE_TIME,
        a::PEER_RX_BYTES,
        a::PEER_TX_BYTES,
    ] {
        if let Some(attr) = t.get(ro) {
            return Err(fail(
                ext,
                einval(),
                c_str!("read-only peer attribute in a set request"),
                Some(attr),
            ));
        }
    }
    let _ = a::PEER_UNSPEC;
    let key_attr = t.get(a::PEER_PUBLIC_KEY).ok_or_else(|| {
        fail(
            ext,
            einval(),
            c_str!("peer without WGPEER_A_PUBLIC_KEY"),
            Some(p),
        )
    })?;
    let public_key: [u8; KEY_LEN] = key_attr
        .payload()
        .try_into()
        .map_err(|_| fail(ext, einval(), c_str!("a key is 32 bytes"), Some(key_attr)))?;
    let mut flags = 0;
    if let Some(attr) = t.get(a::PEER_FLAGS) {
        flags = attr
            .u32()
            .ok_or_else(|| fail(ext, einval(), c_str!("bad peer flags"), Some(attr)))?;
        if flags & !(a::PEER_F_REMOVE_ME | a::PEER_F_REPLACE_ALLOWEDIPS | a::PEER_F_UPDATE_ONLY)
            != 0
        {
            return Err(fail(
                ext,
                eopnotsupp(),
                c_str!("unknown peer flags"),
                Some(attr),
            ));
        }
    }
    if let Some(attr) = t.get(a::PEER_PROTOCOL_VERSION) {
        if attr.u32() != Some(1) {
            return Err(fail(
                ext,
                epfnosupport(),
                c_str!("only protocol version 1 is supported"),
                Some(attr),
            ));
        }
    }
    let preshared_key = match t.get(a::PEER_PRESHARED_KEY) {
        Some(attr) => Some(key_of(attr, ext)?),
        None => None,
    };
    let endpoint = match t.get(a::PEER_ENDPOINT) {
        Some(attr) => Some(endpoint_of(attr, ext)?),
        None => None,
    };
    let persistent_keepalive = match t.get(a::PEER_PERSISTENT_KEEPALIVE_INTERVAL) {
        Some(attr) => Some(
            attr.u16()
                .ok_or_else(|| fail(ext, einval(), c_str!("bad keepalive interval"), Some(attr)))?,
        ),
        None => None,
    };
    let mut allowed_ips = KVVec::new();
    if let Some(list_attr) = t.get(a::PEER_ALLOWEDIPS) {
        let mut list = list_attr.nested();
        for ip in list.by_ref() {
            let change = parse_allowed_ip(ip, ext)?;
            Kernel::vec_push(&mut allowed_ips, change)
                .map_err(|_| fail(ext, ENOMEM, c_str!("out of memory"), None))?;
        }
        if list.trailing() != 0 {
            return Err(fail(
                ext,
                einval(),
                c_str!("trailing bytes after the last allowed IP"),
                Some(list_attr),
            ));
        }
    }
    Ok(PeerUpdate {
        public_key,
        preshared_key,
        endpoint,
        persistent_keepalive,
        remove_me: flags & a::PEER_F_REMOVE_ME != 0,
        update_only: flags & a::PEER_F_UPDATE_ONLY != 0,
        replace_allowed_ips: flags & a::PEER_F_REPLACE_ALLOWEDIPS != 0,
        allowed_ips,
    })
}

/// `struct sockaddr_in` or `struct sockaddr_in6`, of exactly its size.
fn endpoint_of(attr: Attr<'_>, ext: &Extack<'_>) -> Result<Endpoint> {
    let d = attr.payload();
    let family = d.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]]));
    match family {
        Some(a::AF_INET) => d.try_into().map(Endpoint::V4).map_err(|_| {
            fail(
                ext,
                einval(),
                c_str!("an AF_INET endpoint is a struct sockaddr_in (16 bytes)"),
                Some(attr),
            )
        }),
        Some(a::AF_INET6) => d.try_into().map(Endpoint::V6).map_err(|_| {
            fail(
                ext,
                einval(),
                c_str!("an AF_INET6 endpoint is a struct sockaddr_in6 (28 bytes)"),
                Some(attr),
            )
        }),
        _ => Err(fail(
            ext,
            eafnosupport(),
            c_str!("endpoint family is neither AF_INET nor AF_INET6"),
            Some(attr),
        )),
    }
}

fn parse_allowed_ip(ip: Attr<'_>, ext: &Extack<'_>) -> Result<AllowedIpChange> {
    let t = ip.parse(uapi::allowedip_policy(), ext)?;
    let (Some(fam), Some(addr), Some(cidr)) = (
        t.get(a::ALLOWEDIP_FAMILY),
        t.get(a::ALLOWEDIP_IPADDR),
        t.get(a::ALLOWEDIP_CIDR_MASK),
    ) else {
        return Err(fail(
            ext,
            einval(),
            c_str!("an allowed IP needs a family, an address and a prefix length"),
            Some(ip),
        ));
    };
    let mut remove = false;
    if let Some(f) = t.get(uapi::ALLOWEDIP_A_FLAGS) {
        let flags = f
            .u32()
            .ok_or_else(|| fail(ext, einval(), c_str!("bad allowed IP flags"), Some(f)))?;
        if flags & !uapi::ALLOWEDIP_F_REMOVE_ME != 0 {
            return Err(fail(
                ext,
                eopnotsupp(),
                c_str!("unknown allowed IP flags"),
                Some(f),
            ));
        }
        remove = flags & uapi::ALLOWEDIP_F_REMOVE_ME != 0;
    }
    let cidr_v = cidr
        .u8()
        .ok_or_else(|| fail(ext, einval(), c_str!("bad prefix length"), Some(cidr)))?;
    let prefix = match fam.u16() {
        Some(a::AF_INET) => {
            let addr: [u8; 4] = addr.payload().try_into().map_err(|_| {
                fail(
                    ext,
                    einval(),
                    c_str!("an IPv4 address is 4 bytes"),
                    Some(addr),
                )
            })?;
            if cidr_v > 32 {
                return Err(fail(
                    ext,
                    einval(),
                    c_str!("IPv4 prefix length above 32"),
                    Some(cidr),
                ));
            }
            Prefix::V4 { addr, cidr: cidr_v }
        }
        Some(a::AF_INET6) => {
            let addr: [u8; 16] = addr.payload().try_into().map_err(|_| {
                fail(
                    ext,
                    einval(),
                    c_str!("an IPv6 address is 16 bytes"),
                    Some(addr),
                )
            })?;
            if cidr_v > 128 {
                return Err(fail(
                    ext,
                    einval(),
                    c_str!("IPv6 prefix length above 128"),
                    Some(cidr),
                ));
            }
            Prefix::V6 { addr, cidr: cidr_v }
        }
        _ => {
            return Err(fail(
                ext,
                eafnosupport(),
                c_str!("allowed IP family is neither AF_INET nor AF_INET6"),
                Some(fam),
            ))
        }
    };
    Ok(AllowedIpChange { prefix, remove })
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

/// One message of the dump, as `wg_get_device_dump`: the device's attributes
/// in the first, then as many peers as fit.
fn get_device(state: &mut DumpState, skb: &mut DumpSkb<'_, Genl>) -> Result<bool> {
    let rtnl = Rtnl::lock();
    // A device that left the requester's namespace since the dump started
    // is not shown there any more (its ifindex may now be another's there).
    if !state.dev.is_in(&rtnl, skb.net()) {
        return Err(enodev());
    }
    let dev = state
        .dev
        .get(&rtnl)
        .filter(|d| d.ifindex() == state.ifindex)
        .ok_or_else(enodev)?;
    let cfg = dev.data().config.lock();
    let mut msg = skb
        .message(uapi::CMD_GET_DEVICE, cfg.generation)
        .map_err(|_| emsgsize())?;
    if state.last_peer.is_none() {
        put_device_attrs(&mut msg, dev.ifindex(), dev.name(), &cfg).map_err(|_| emsgsize())?;
    }
    let Some(peers) = cfg.peers.iter_after(state.last_peer) else {
        // The peer the dump stopped after was removed: as the C driver, end
        // here (the generation tells the reader the dump is incoherent).
        msg.end();
        return Ok(false);
    };
    if cfg.peers.len() == 0 {
        msg.end();
        return Ok(false);
    }
    let tables = dev.data().routing.read_writer_side();
    let mut done = true;
    // Whether this message moves the dump on (a peer, a peer's attributes
    // or one of its allowed IPs): a message that does not would be written
    // again and again, forever.
    let mut progress = false;
    let mut last_peer = state.last_peer;
    let mut resume = state.resume;
    let r = msg.nest(a::DEVICE_PEERS as u16, |m| {
        for peer in peers {
            let cont = resume.filter(|r| r.serial == peer.serial());
            match put_peer(m, &tables, peer, cont) {
                Ok(PeerOut::Complete) => {
                    last_peer = Some(peer.serial());
                    resume = None;
                    progress = true;
                }
                Ok(PeerOut::Partial(last)) => {
                    // Progress: an allowed IP, or the peer's own attributes
                    // (written only when it is not a continuation).
                    progress |= last.is_some() || cont.is_none();
                    let after = last.or(cont.and_then(|c| c.after));
                    resume = Some(Resume {
                        serial: peer.serial(),
                        after,
                        seq: tables.seq(),
                    });
                    done = false;
                    break;
                }
                Err(MsgFull) => {
                    done = false;
                    break;
                }
            }
        }
        Ok(())
    });
    if r.is_err() || (!done && !progress) {
        // Nothing fits in a message (the skb is at least NLMSG_GOODSIZE,
        // far more than a device's and a peer's attributes, so this is not
        // expected): the message is cancelled and the dump ends with
        // EMSGSIZE rather than repeating it.
        return Err(emsgsize());
    }
    msg.end();
    state.last_peer = last_peer;
    state.resume = resume;
    Ok(!done)
}

fn put_device_attrs(
    m: &mut GenlMsg<'_>,
    ifindex: u32,
    name: &CStr,
    cfg: &Config,
) -> Result<(), MsgFull> {
    m.put_u16(a::DEVICE_LISTEN_PORT as u16, cfg.listen_port)?;
    m.put_u32(a::DEVICE_FWMARK as u16, cfg.fwmark)?;
    m.put_u32(a::DEVICE_IFINDEX as u16, ifindex)?;
    m.put_str(a::DEVICE_IFNAME as u16, name)?;
    if let Some(id) = cfg.identity() {
        m.put(a::DEVICE_PRIVATE_KEY as u16, cfg.private_key().as_bytes())?;
        m.put(a::DEVICE_PUBLIC_KEY as u16, id.public_key())?;
    }
    Ok(())
}

fn put_peer(
    m: &mut GenlMsg<'_>,
    tables: &Tables,
    peer: &PeerState,
    cont: Option<Resume>,
) -> Result<PeerOut, MsgFull> {
    m.nest(0, |m| {
        m.put(a::PEER_PUBLIC_KEY as u16, peer.public_key())?;
        if cont.is_none() {
            m.put(
                a::PEER_PRESHARED_KEY as u16,
                peer.preshared_key().as_bytes(),
            )?;
            let (sec, nsec) = peer.last_handshake();
            let mut ts = [0u8; 16];
            ts[..8].copy_from_slice(&sec.to_ne_bytes());
            ts[8..].copy_from_slice(&nsec.to_ne_bytes());
            m.put(a::PEER_LAST_HANDSHAKE_TIME as u16, &ts)?;
            m.put_u16(
                a::PEER_PERSISTENT_KEEPALIVE_INTERVAL as u16,
                peer.persistent_keepalive(),
            )?;
            m.put_u64(
                a::PEER_TX_BYTES as u16,
                peer.tx_bytes.load(Ordering::Relaxed),
                a::PEER_UNSPEC as u16,
            )?;
            m.put_u64(
                a::PEER_RX_BYTES as u16,
                peer.rx_bytes.load(Ordering::Relaxed),
                a::PEER_UNSPEC as u16,
            )?;
            m.put_u32(a::PEER_PROTOCOL_VERSION as u16, 1)?;
            if let Some(ep) = peer.reported_endpoint().as_ref() {
                m.put(a::PEER_ENDPOINT as u16, ep.as_bytes())?;
            }
        }
        let walk = match cont {
            None => tables.walk_after(peer.id(), None),
            Some(c) if c.seq == tables.seq() => tables.walk_after(peer.id(), c.after.as_ref()),
            // The table changed since: as the C driver, no more of them.
            Some(_) => None,
        };
        let Some(walk) = walk else {
            return Ok(PeerOut::Complete);
        };
        let mut walk = walk.peekable();
        if walk.peek().is_none() {
            return Ok(PeerOut::Complete);
        }
        m.nest(a::PEER_ALLOWEDIPS as u16, |m| {
            let mut last = None;
            for p in walk {
                if put_allowed_ip(m, &p).is_err() {
                    return Ok(PeerOut::Partial(last));
                }
                last = Some(p);
            }
            Ok(PeerOut::Complete)
        })
    })
}

fn put_allowed_ip(m: &mut GenlMsg<'_>, p: &Prefix) -> Result<(), MsgFull> {
    m.nest(0, |m| match p {
        Prefix::V4 { addr, cidr } => {
            m.put_u8(a::ALLOWEDIP_CIDR_MASK as u16, *cidr)?;
            m.put_u16(a::ALLOWEDIP_FAMILY as u16, a::AF_INET)?;
            m.put(a::ALLOWEDIP_IPADDR as u16, addr)
        }
        Prefix::V6 { addr, cidr } => {
            m.put_u8(a::ALLOWEDIP_CIDR_MASK as u16, *cidr)?;
            m.put_u16(a::ALLOWEDIP_FAMILY as u16, a::AF_INET6)?;
            m.put(a::ALLOWEDIP_IPADDR as u16, addr)
        }
    })
}

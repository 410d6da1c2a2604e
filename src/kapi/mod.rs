// SPDX-License-Identifier: GPL-2.0
//! The abstraction layer: safe types and traits over the kernel's networking C
//! API, in the manner of `rust/kernel/`. Every `unsafe` of the module lives
//! below this directory, each with a `// SAFETY:` comment; the WireGuard files
//! (`device.rs`, `netlink.rs`, `proto/`) are `#![forbid(unsafe_code)]`.

pub(crate) mod anchored;
pub(crate) mod bindings;
pub(crate) mod crypt_queue;
pub(crate) mod debug;
pub(crate) mod error;
pub(crate) mod genl;
pub(crate) mod gro;
pub(crate) mod gso;
pub(crate) mod net;
pub(crate) mod netdev;
pub(crate) mod nla;
pub(crate) mod ordered;
pub(crate) mod platform;
pub(crate) mod pm;
pub(crate) mod rcu;
pub(crate) mod rtnl;
pub(crate) mod skb;
pub(crate) mod sync;
pub(crate) mod udp;
pub(crate) mod wireguard;
pub(crate) mod work;
pub(crate) mod xmit;

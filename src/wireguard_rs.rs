// SPDX-License-Identifier: GPL-2.0
//! WireGuard secure network tunnel, written in Rust: a drop-in replacement for
//! `drivers/net/wireguard`.
//!
//! - [`kapi`]: the safe abstraction layer over the kernel (all `unsafe` is there);
//! - [`proto`]: the protocol core, plain Rust shared with the host test crate;
//! - [`device`]: the `wireguard` rtnl link kind;
//! - [`netlink`]: the `wireguard` generic netlink family.

#![recursion_limit = "512"]

use kernel::prelude::*;

mod config;
mod device;
mod kapi;
mod netlink;
mod peer;
mod receive;
mod send;
mod session;
mod socket;
mod tables;
mod timers;
// The protocol core's items are `pub` for the host crate (`host/`), which
// builds the same files; here the module is private.
#[allow(unreachable_pub)]
mod proto;

module! {
    type: WireGuard,
    name: "wireguard",
    author: "The wireguard-rs authors",
    description: "WireGuard secure network tunnel",
    license: "GPL",
    alias: ["rtnl-link-wireguard", "net-pf-16-proto-16-family-wireguard"],
}

/// The module's version (`modinfo -F version`); the 6.12 `module!` macro has no
/// key for it, so it is emitted into `.modinfo` the way the macro emits the others.
#[link_section = ".modinfo"]
#[used(compiler)]
static MODINFO_VERSION: [u8; 14] = *b"version=0.1.0\0";

struct WireGuard {
    // Dropped in reverse order of registration: the family first, then the
    // link kind (which deletes every device).
    _sleep: kapi::pm::SleepNotifier<device::WipeOnSleep>,
    _genl: kapi::genl::FamilyRegistration<netlink::Genl>,
    _link: kapi::netdev::LinkRegistration<device::Device>,
    // Last: no device is left when it goes.
    _ratelimiter: device::RateLimiterRegistration,
}

impl kernel::Module for WireGuard {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // Known answers for lib/crypto through our platform layer and for the
        // Noise layer over it: a module whose crypto is wrong must not load.
        if let Err(what) = proto::selftest::run::<kapi::platform::Kernel>() {
            pr_err!("self-test failed: {}\n", what);
            return Err(kapi::error::enotrecoverable());
        }
        pr_info!("crypto and noise self-tests: pass\n");
        // Registered in this order (on failure, what is registered already
        // goes in the reverse order).
        let wg = WireGuard {
            _ratelimiter: device::RateLimiterRegistration::new()?,
            _link: device::KIND.register()?,
            _genl: netlink::FAMILY.register(module)?,
            _sleep: kapi::pm::SleepNotifier::register()?,
        };
        pr_info!("WireGuard (Rust) 0.1.0 loaded.\n");
        Ok(wg)
    }
}

// SPDX-License-Identifier: GPL-2.0
//! The `wireguard` generic netlink family (`include/uapi/linux/wireguard.h`).
#![forbid(unsafe_code)]

use crate::kapi::genl::{Family, GenlOps, OpKind, OpSpec, Request};
use crate::kapi::wireguard as uapi;
use crate::kapi::error::eopnotsupp;
use kernel::c_str;
use kernel::prelude::*;

/// The driver's family.
pub(crate) static FAMILY: Family<Genl> = Family::new();

/// The `wireguard` family.
pub(crate) struct Genl;

impl GenlOps for Genl {
    const NAME: &'static CStr = c_str!("wireguard");
    const VERSION: u32 = uapi::WG_GENL_VERSION;
    const OPS: &'static [OpSpec] = &[
        OpSpec { cmd: uapi::CMD_GET_DEVICE, kind: OpKind::Dump, uns_admin: true },
        OpSpec { cmd: uapi::CMD_SET_DEVICE, kind: OpKind::Do, uns_admin: true },
    ];

    fn family() -> &'static Family<Self> {
        &FAMILY
    }

    fn policy() -> &'static [crate::kapi::bindings::nla_policy] {
        uapi::device_policy()
    }

    fn doit(_req: &Request<'_>) -> Result {
        // Configuration arrives with the netlink issue.
        Err(eopnotsupp())
    }

    fn dumpit(_cmd: u8) -> Result {
        Err(eopnotsupp())
    }
}

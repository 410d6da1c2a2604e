// SPDX-License-Identifier: GPL-2.0
//! The WireGuard UAPI (`include/uapi/linux/wireguard.h`) and the attribute
//! policies the C shim builds with the netlink macros.

use super::bindings as b;

pub(crate) use b::WG_GENL_VERSION;

/// `WG_CMD_GET_DEVICE`.
pub(crate) const CMD_GET_DEVICE: u8 = b::wg_cmd_WG_CMD_GET_DEVICE as u8;
/// `WG_CMD_SET_DEVICE`.
pub(crate) const CMD_SET_DEVICE: u8 = b::wg_cmd_WG_CMD_SET_DEVICE as u8;

/// The policy of the top-level (device) attributes.
pub(crate) fn device_policy() -> &'static [b::nla_policy] {
    // SAFETY: an immutable array defined in the shim; reading it is safe.
    unsafe { &*core::ptr::addr_of!(b::wg_shim_device_policy) }
}

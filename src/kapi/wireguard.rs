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

/// The policy of one peer's attributes (`WGPEER_A_*`).
pub(crate) fn peer_policy() -> &'static [b::nla_policy; PEER_POLICY_LEN] {
    // SAFETY: an immutable array defined in the shim; reading it is safe.
    unsafe { &*core::ptr::addr_of!(b::wg_shim_peer_policy) }
}

/// The policy of one allowed IP's attributes (`WGALLOWEDIP_A_*`, with the
/// 6.16 `WGALLOWEDIP_A_FLAGS`).
pub(crate) fn allowedip_policy() -> &'static [b::nla_policy; ALLOWEDIP_A_MAX + 1] {
    // SAFETY: an immutable array defined in the shim; reading it is safe.
    unsafe { &*core::ptr::addr_of!(b::wg_shim_allowedip_policy) }
}

/// `WGALLOWEDIP_A_FLAGS` (6.16).
pub(crate) const ALLOWEDIP_A_FLAGS: u32 = 4;
/// `WGALLOWEDIP_A_MAX` with the flags attribute.
pub(crate) const ALLOWEDIP_A_MAX: usize = 4;
/// `WGALLOWEDIP_F_REMOVE_ME` (6.16).
pub(crate) const ALLOWEDIP_F_REMOVE_ME: u32 = 1;

/// Attribute types and flags of `include/uapi/linux/wireguard.h`, as `u16`
/// (attribute types) and `u32` (flags).
pub(crate) mod a {
    use super::b;
    pub(crate) const DEVICE_IFINDEX: u32 = b::wgdevice_attribute_WGDEVICE_A_IFINDEX;
    pub(crate) const DEVICE_IFNAME: u32 = b::wgdevice_attribute_WGDEVICE_A_IFNAME;
    pub(crate) const DEVICE_PRIVATE_KEY: u32 = b::wgdevice_attribute_WGDEVICE_A_PRIVATE_KEY;
    pub(crate) const DEVICE_PUBLIC_KEY: u32 = b::wgdevice_attribute_WGDEVICE_A_PUBLIC_KEY;
    pub(crate) const DEVICE_FLAGS: u32 = b::wgdevice_attribute_WGDEVICE_A_FLAGS;
    pub(crate) const DEVICE_LISTEN_PORT: u32 = b::wgdevice_attribute_WGDEVICE_A_LISTEN_PORT;
    pub(crate) const DEVICE_FWMARK: u32 = b::wgdevice_attribute_WGDEVICE_A_FWMARK;
    pub(crate) const DEVICE_PEERS: u32 = b::wgdevice_attribute_WGDEVICE_A_PEERS;
    pub(crate) const DEVICE_F_REPLACE_PEERS: u32 = b::wgdevice_flag_WGDEVICE_F_REPLACE_PEERS;

    pub(crate) const PEER_UNSPEC: u32 = b::wgpeer_attribute_WGPEER_A_UNSPEC;
    pub(crate) const PEER_PUBLIC_KEY: u32 = b::wgpeer_attribute_WGPEER_A_PUBLIC_KEY;
    pub(crate) const PEER_PRESHARED_KEY: u32 = b::wgpeer_attribute_WGPEER_A_PRESHARED_KEY;
    pub(crate) const PEER_FLAGS: u32 = b::wgpeer_attribute_WGPEER_A_FLAGS;
    pub(crate) const PEER_ENDPOINT: u32 = b::wgpeer_attribute_WGPEER_A_ENDPOINT;
    pub(crate) const PEER_PERSISTENT_KEEPALIVE_INTERVAL: u32 =
        b::wgpeer_attribute_WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL;
    pub(crate) const PEER_LAST_HANDSHAKE_TIME: u32 =
        b::wgpeer_attribute_WGPEER_A_LAST_HANDSHAKE_TIME;
    pub(crate) const PEER_RX_BYTES: u32 = b::wgpeer_attribute_WGPEER_A_RX_BYTES;
    pub(crate) const PEER_TX_BYTES: u32 = b::wgpeer_attribute_WGPEER_A_TX_BYTES;
    pub(crate) const PEER_ALLOWEDIPS: u32 = b::wgpeer_attribute_WGPEER_A_ALLOWEDIPS;
    pub(crate) const PEER_PROTOCOL_VERSION: u32 = b::wgpeer_attribute_WGPEER_A_PROTOCOL_VERSION;
    pub(crate) const PEER_F_REMOVE_ME: u32 = b::wgpeer_flag_WGPEER_F_REMOVE_ME;
    pub(crate) const PEER_F_REPLACE_ALLOWEDIPS: u32 = b::wgpeer_flag_WGPEER_F_REPLACE_ALLOWEDIPS;
    pub(crate) const PEER_F_UPDATE_ONLY: u32 = b::wgpeer_flag_WGPEER_F_UPDATE_ONLY;

    pub(crate) const ALLOWEDIP_FAMILY: u32 = b::wgallowedip_attribute_WGALLOWEDIP_A_FAMILY;
    pub(crate) const ALLOWEDIP_IPADDR: u32 = b::wgallowedip_attribute_WGALLOWEDIP_A_IPADDR;
    pub(crate) const ALLOWEDIP_CIDR_MASK: u32 = b::wgallowedip_attribute_WGALLOWEDIP_A_CIDR_MASK;

    /// `AF_INET`, `AF_INET6`.
    pub(crate) const AF_INET: u16 = b::AF_INET as u16;
    pub(crate) const AF_INET6: u16 = b::AF_INET6 as u16;
}

/// Entries of the peer policy (`WGPEER_A_MAX + 1`).
pub(crate) const PEER_POLICY_LEN: usize = b::wgpeer_attribute___WGPEER_A_LAST as usize;

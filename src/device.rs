// SPDX-License-Identifier: GPL-2.0
//! The `wireguard` rtnl link kind: device set-up and lifetime.
#![forbid(unsafe_code)]

use crate::kapi::net::Net;
use crate::kapi::netdev::consts::*;
use crate::kapi::netdev::{DeviceSetup, DeviceType, LinkKind, LinkOps, NetDevice};
use crate::kapi::rtnl::Rtnl;
use crate::kapi::skb::SkBuff;
use crate::proto::constants::MESSAGE_PADDING_MULTIPLE;
use kernel::error::Error;
use kernel::init::PinInit;
use kernel::c_str;
use kernel::prelude::*;

/// The driver's link kind.
pub(crate) static KIND: LinkKind<Device> = LinkKind::new();

static DEVTYPE: DeviceType = DeviceType::new(c_str!("wireguard"));

/// Bytes of a data message around the encrypted payload: type, receiver index,
/// counter (16) and the authentication tag (16).
const MESSAGE_MINIMUM_LENGTH: u32 = 32;
/// UDP header.
const UDP_HEADER_LEN: u32 = 8;
/// The larger of the IPv4 and IPv6 headers.
const MAX_IP_HEADER_LEN: u32 = 40;
/// What encapsulation adds to every packet.
const OVERHEAD: u32 = MESSAGE_MINIMUM_LENGTH + UDP_HEADER_LEN + MAX_IP_HEADER_LEN;
/// Header of a data message in front of the encrypted payload.
const MESSAGE_DATA_HEADER_LEN: u16 = 16;

/// Head room for a data packet: the data header, the outer IP and UDP headers
/// and the stack's own pad, rounded up to 4 bytes.
fn data_packet_head_room() -> u16 {
    (MESSAGE_DATA_HEADER_LEN + MAX_IP_HEADER_LEN as u16 + UDP_HEADER_LEN as u16)
        .saturating_add(net_skb_pad())
        .next_multiple_of(4)
}

/// The state of one WireGuard device.
pub(crate) struct Device {}

impl LinkOps for Device {
    const KIND: &'static CStr = c_str!("wireguard");

    fn kind() -> &'static LinkKind<Self> {
        &KIND
    }

    fn setup(dev: &mut DeviceSetup<'_>) {
        dev.set_ip_tunnel_header();
        dev.set_room(data_packet_head_room(), (MESSAGE_PADDING_MULTIPLE + 16) as u16);
        dev.set_hw_type(ARPHRD_NONE);
        dev.set_flags(IFF_POINTOPOINT | IFF_NOARP);
        dev.set_no_queue();
        dev.set_lltx();
        dev.add_features(wireguard_features());
        let max_mtu = (i32::MAX as u32 / MESSAGE_PADDING_MULTIPLE as u32) * MESSAGE_PADDING_MULTIPLE as u32;
        dev.set_mtu(ETH_DATA_LEN - OVERHEAD, max_mtu - OVERHEAD);
        dev.set_tstats();
        dev.set_devtype(&DEVTYPE);
        dev.keep_dst();
    }

    fn new_link(_rtnl: &Rtnl, _src_net: &Net) -> impl PinInit<Self, Error> {
        Device {}
    }

    fn registered(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        pr_debug!("{}: Interface created\n", dev.name());
    }

    fn open(_rtnl: &Rtnl, _dev: &NetDevice<Self>) -> Result {
        Ok(())
    }

    fn stop(_rtnl: &Rtnl, _dev: &NetDevice<Self>) -> Result {
        Ok(())
    }

    fn start_xmit(dev: &NetDevice<Self>, skb: SkBuff) {
        // No data plane yet: every packet is dropped and counted.
        dev.count_tx_dropped();
        drop(skb);
    }

    fn creating_net_exit(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        pr_debug!("{}: Creating namespace exiting\n", dev.name());
        dev.carrier_off();
    }

    fn destroy(dev: &NetDevice<Self>) {
        pr_debug!("{}: Interface destroyed\n", dev.name());
    }
}

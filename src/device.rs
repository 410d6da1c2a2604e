// SPDX-License-Identifier: GPL-2.0
//! The `wireguard` rtnl link kind: device set-up and lifetime.
#![forbid(unsafe_code)]

use crate::kapi::net::Net;
use crate::kapi::netdev::consts::*;
use crate::kapi::netdev::{DeviceSetup, DeviceType, LinkKind, LinkOps, NetDevice};
use crate::kapi::rtnl::Rtnl;
use crate::kapi::skb::SkBuff;
use crate::config::Config;
use crate::kapi::error::enonet;
use crate::proto::constants::MESSAGE_PADDING_MULTIPLE;
use crate::socket::Sockets;
use kernel::new_mutex;
use kernel::sync::Mutex;
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
#[pin_data]
pub(crate) struct Device {
    /// Everything `wg` configures, the allowed-IPs table and the sockets.
    /// Lock order: RTNL, then this.
    #[pin]
    pub(crate) config: Mutex<Config>,
}

impl Device {
    /// Sets the listen port (`set_port` of the C driver). A device that is
    /// down only records it; a running one binds new sockets on it first
    /// (0: any free port), and keeps its old ones if that fails. The port
    /// reported afterwards is the bound one.
    pub(crate) fn set_listen_port(
        rtnl: &Rtnl,
        dev: &NetDevice<Self>,
        cfg: &mut Config,
        port: u16,
    ) -> Result {
        if cfg.listen_port == port {
            return Ok(());
        }
        if !dev.is_running() {
            cfg.listen_port = port;
            return Ok(());
        }
        Self::rebind(rtnl, dev, cfg, port)
    }

    /// Binds the device's sockets on `port` in the namespace the device was
    /// created in, replacing the old ones on success.
    fn rebind(rtnl: &Rtnl, dev: &NetDevice<Self>, cfg: &mut Config, port: u16) -> Result {
        let net = dev.creating_net(rtnl).ok_or_else(enonet)?;
        let sockets = Sockets::bind(net, dev, port)?;
        cfg.listen_port = sockets.port().unwrap_or(port);
        // The old sockets (if any) are released here.
        cfg.sockets = sockets;
        Ok(())
    }
}

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
        let config = Config::new();
        try_pin_init!(Device {
            config <- new_mutex!(config?, "wireguard_config"),
        }? Error)
    }

    fn registered(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        pr_debug!("{}: Interface created\n", dev.name());
    }

    fn open(rtnl: &Rtnl, dev: &NetDevice<Self>) -> Result {
        let mut cfg = dev.data().config.lock();
        let port = cfg.listen_port;
        Self::rebind(rtnl, dev, &mut cfg, port)
    }

    fn stop(_rtnl: &Rtnl, dev: &NetDevice<Self>) -> Result {
        // The reported port stays the last bound one, as in the C driver.
        dev.data().config.lock().sockets = Sockets::default();
        Ok(())
    }

    fn start_xmit(dev: &NetDevice<Self>, skb: SkBuff) {
        // No data plane yet: every packet is dropped and counted.
        dev.count_tx_dropped();
        drop(skb);
    }

    fn creating_net_exit(_rtnl: &Rtnl, dev: &NetDevice<Self>) {
        pr_debug!("{}: Creating namespace exiting\n", dev.name());
        dev.data().config.lock().sockets = Sockets::default();
        dev.carrier_off();
    }

    fn destroy(dev: &NetDevice<Self>) {
        pr_debug!("{}: Interface destroyed\n", dev.name());
    }
}

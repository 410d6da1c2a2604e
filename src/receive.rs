// SPDX-License-Identifier: GPL-2.0
//! Receiving: datagrams from the device's UDP sockets.
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::netdev::NetDevice;
use crate::kapi::skb::SkBuff;
use crate::kapi::udp::EncapRecv;

impl EncapRecv for Device {
    fn encap_recv(_dev: &NetDevice<Self>, skb: SkBuff) {
        // The data plane is not there yet: every datagram is dropped.
        drop(skb);
    }
}

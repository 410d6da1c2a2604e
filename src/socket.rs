// SPDX-License-Identifier: GPL-2.0
//! The device's UDP sockets: one IPv4 and one IPv6 socket on the same port,
//! in the namespace where the device was created.
//!
//! Use: the device binds them when it goes up (`ndo_open`) and when its listen
//! port changes while up, with the port from its configuration (0: any), in
//! `NetDevice::creating_net` (no namespace: `-ENONET`, as the C driver); it
//! drops them when it goes down (`ndo_stop`) and when its creating namespace
//! exits. A socket holds a reference on the device, so sockets never outlive
//! those points. The reported listen port is `Sockets::port` while bound.
#![forbid(unsafe_code)]

use crate::device::Device;
use crate::kapi::error::eaddrinuse;
use crate::kapi::net::Net;
use crate::kapi::netdev::NetDevice;
use crate::kapi::udp::{ipv6_enabled, EncapSocket, Family};
use kernel::prelude::*;

/// How many times a random port is tried when the IPv6 socket cannot take the
/// port the IPv4 socket got.
const PORT_RETRIES: u32 = 100;

/// The bound sockets of a device (none while it is down).
#[derive(Default)]
pub(crate) struct Sockets {
    v4: Option<EncapSocket<Device>>,
    v6: Option<EncapSocket<Device>>,
}

impl Sockets {
    /// Binds an IPv4 socket and, when the stack has IPv6, an IPv6 socket to
    /// the same `port` in `net`. Port 0 picks a free port for both (a few
    /// tries, as the IPv4 choice may be taken for IPv6).
    pub(crate) fn bind(net: &Net, dev: &NetDevice<Device>, port: u16) -> Result<Sockets> {
        let mut retries = 0;
        loop {
            let v4 = EncapSocket::bind(net, dev, Family::V4, port)?;
            if !ipv6_enabled() {
                return Ok(Sockets { v4: Some(v4), v6: None });
            }
            match EncapSocket::bind(net, dev, Family::V6, v4.local_port()) {
                Ok(v6) => return Ok(Sockets { v4: Some(v4), v6: Some(v6) }),
                Err(e) if e == eaddrinuse() && port == 0 && retries < PORT_RETRIES => {
                    retries += 1;
                    drop(v4);
                }
                Err(e) => {
                    pr_err!("{}: Could not create IPv6 socket\n", dev.name());
                    return Err(e);
                }
            }
        }
    }

    /// The IPv4 socket.
    pub(crate) fn v4(&self) -> Option<&EncapSocket<Device>> {
        self.v4.as_ref()
    }

    /// The IPv6 socket.
    pub(crate) fn v6(&self) -> Option<&EncapSocket<Device>> {
        self.v6.as_ref()
    }

    /// The port the sockets are bound to, if any.
    pub(crate) fn port(&self) -> Option<u16> {
        self.v4.as_ref().map(|s| s.local_port())
    }
}

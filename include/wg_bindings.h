/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything our own bindgen run (see Kbuild) turns into Rust declarations for
 * src/kapi/. Keep the allow-lists in Kbuild in step with what is used.
 */
#include <linux/netdevice.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/rtnetlink.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/ip_tunnels.h>
#include <uapi/linux/wireguard.h>
#include <crypto/blake2s.h>
#include <crypto/utils.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/timekeeping.h>
#include <net/sock.h>
#include <net/udp_tunnel.h>
#include <crypto/chacha20poly1305.h>
#include <linux/scatterlist.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/dst_cache.h>
#include <linux/ptr_ring.h>
#include <linux/skb_array.h>
#include <linux/suspend.h>
#include "wg_shim.h"

// SPDX-License-Identifier: GPL-2.0
/*
 * The C shim of the Rust WireGuard module: static inline functions and macros
 * that Rust cannot call or expand. No logic lives here.
 */
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/time_types.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include "wg_shim.h"

netdev_features_t wg_shim_netdev_features(void)
{
	return NETIF_F_HW_CSUM | NETIF_F_RXCSUM | NETIF_F_SG | NETIF_F_GSO |
	       NETIF_F_GSO_SOFTWARE | NETIF_F_HIGHDMA;
}

unsigned int wg_shim_net_skb_pad(void)
{
	return NET_SKB_PAD;
}

const struct nla_policy wg_shim_device_policy[WGDEVICE_A_MAX + 1] = {
	[WGDEVICE_A_IFINDEX]		= { .type = NLA_U32 },
	[WGDEVICE_A_IFNAME]		= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[WGDEVICE_A_PRIVATE_KEY]	= NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGDEVICE_A_PUBLIC_KEY]		= NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGDEVICE_A_FLAGS]		= NLA_POLICY_MASK(NLA_U32, __WGDEVICE_F_ALL),
	[WGDEVICE_A_LISTEN_PORT]	= { .type = NLA_U16 },
	[WGDEVICE_A_FWMARK]		= { .type = NLA_U32 },
	[WGDEVICE_A_PEERS]		= { .type = NLA_NESTED },
};

const struct nla_policy wg_shim_peer_policy[WGPEER_A_MAX + 1] = {
	[WGPEER_A_PUBLIC_KEY]		= NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGPEER_A_PRESHARED_KEY]	= NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGPEER_A_FLAGS]		= NLA_POLICY_MASK(NLA_U32, __WGPEER_F_ALL),
	[WGPEER_A_ENDPOINT]		= NLA_POLICY_MIN_LEN(sizeof(struct sockaddr)),
	[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = { .type = NLA_U16 },
	[WGPEER_A_LAST_HANDSHAKE_TIME]	= NLA_POLICY_EXACT_LEN(sizeof(struct __kernel_timespec)),
	[WGPEER_A_RX_BYTES]		= { .type = NLA_U64 },
	[WGPEER_A_TX_BYTES]		= { .type = NLA_U64 },
	[WGPEER_A_ALLOWEDIPS]		= { .type = NLA_NESTED },
	[WGPEER_A_PROTOCOL_VERSION]	= { .type = NLA_U32 },
};

const struct nla_policy wg_shim_allowedip_policy[WG_SHIM_WGALLOWEDIP_A_MAX + 1] = {
	[WGALLOWEDIP_A_FAMILY]		= { .type = NLA_U16 },
	[WGALLOWEDIP_A_IPADDR]		= NLA_POLICY_MIN_LEN(sizeof(struct in_addr)),
	[WGALLOWEDIP_A_CIDR_MASK]	= { .type = NLA_U8 },
	[WG_SHIM_WGALLOWEDIP_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, WG_SHIM_WGALLOWEDIP_F_REMOVE_ME),
};

void wg_shim_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

void wg_shim_dev_sw_netstats_tx_dropped(struct net_device *dev)
{
	DEV_STATS_INC(dev, tx_dropped);
}

bool wg_shim_net_eq(const struct net *a, const struct net *b)
{
	return net_eq(a, b);
}

void *wg_shim_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

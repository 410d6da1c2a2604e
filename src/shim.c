// SPDX-License-Identifier: GPL-2.0
/*
 * The C shim of the Rust WireGuard module: static inline functions and macros
 * that Rust cannot call or expand. No logic lives here.
 *
 * Our bindgen run (Kbuild, include/bindgen_parameters) reads this file, as the
 * kernel's reads rust/helpers/helpers.c: the headers it includes and the
 * functions it defines are what src/kapi/ binds, so there are no prototypes
 * (Kbuild turns off -Wmissing-prototypes for it, as rust/Makefile does).
 */
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/icmpv6.h>
#include <linux/if_arp.h>
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/ptr_ring.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/security.h>
#include <linux/siphash.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/suspend.h>
#include <linux/time_types.h>
#include <linux/timekeeping.h>
#include <linux/udp.h>
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>
#include <crypto/utils.h>
#include <net/addrconf.h>
#include <net/dst_cache.h>
#include <net/dst_metadata.h>
#include <net/genetlink.h>
#include <net/gro.h>
#include <net/gso.h>
#include <net/icmp.h>
#include <net/inet_ecn.h>
#include <net/inet_sock.h>
#include <net/ip6_route.h>
#include <net/ip_tunnels.h>
#include <net/ipv6_stubs.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/route.h>
#include <net/rtnetlink.h>
#include <net/sock.h>
#include <net/udp_tunnel.h>
#include <uapi/linux/wireguard.h>

/*
 * Added upstream in 6.16: a flags attribute on allowed IPs, whose only flag
 * removes the prefix instead of adding it. The 6.12 header lacks both.
 */
enum {
	WG_SHIM_WGALLOWEDIP_A_FLAGS = 4,
	WG_SHIM_WGALLOWEDIP_A_MAX = WG_SHIM_WGALLOWEDIP_A_FLAGS,
	WG_SHIM_WGALLOWEDIP_F_REMOVE_ME = 1U << 0,
};

/* Where skb->headers (a struct_group) lies, for SkBuff::reset. */
enum {
	WG_SHIM_SKB_HEADERS_OFFSET = offsetof(struct sk_buff, headers),
	WG_SHIM_SKB_HEADERS_LEN = sizeof_field(struct sk_buff, headers),
};

/* Where the error counters that DEV_STATS_INC() bumps (atomic_long_t) lie in
 * struct net_device. */
enum {
	WG_SHIM_DEV_RX_ERRORS = offsetof(struct net_device, stats.__rx_errors),
	WG_SHIM_DEV_RX_LENGTH_ERRORS = offsetof(struct net_device, stats.__rx_length_errors),
	WG_SHIM_DEV_RX_FRAME_ERRORS = offsetof(struct net_device, stats.__rx_frame_errors),
	WG_SHIM_DEV_TX_ERRORS = offsetof(struct net_device, stats.__tx_errors),
	WG_SHIM_DEV_RX_DROPPED = offsetof(struct net_device, stats.__rx_dropped),
	WG_SHIM_DEV_TX_DROPPED = offsetof(struct net_device, stats.__tx_dropped),
	WG_SHIM_DEV_TX_ABORTED_ERRORS = offsetof(struct net_device, stats.__tx_aborted_errors),
};

/* Netdev feature flags (macros; NETIF_F_GSO_SOFTWARE is a composite). */
const netdev_features_t wg_shim_netif_f_hw_csum = NETIF_F_HW_CSUM;
const netdev_features_t wg_shim_netif_f_rxcsum = NETIF_F_RXCSUM;
const netdev_features_t wg_shim_netif_f_sg = NETIF_F_SG;
const netdev_features_t wg_shim_netif_f_gso = NETIF_F_GSO;
const netdev_features_t wg_shim_netif_f_gso_software = NETIF_F_GSO_SOFTWARE;
const netdev_features_t wg_shim_netif_f_highdma = NETIF_F_HIGHDMA;

/* NET_SKB_PAD: max(32, L1_CACHE_BYTES). */
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

/* lib/crypto entry points that are static inline (they pick the SIMD version). */
bool wg_shim_curve25519(u8 out[32], const u8 secret[32], const u8 point[32])
{
	return curve25519(out, secret, point);
}

bool wg_shim_curve25519_generate_public(u8 out[32], const u8 secret[32])
{
	return curve25519_generate_public(out, secret);
}

void wg_shim_blake2s_init(struct blake2s_state *state, size_t outlen, const u8 *key, size_t keylen)
{
	__blake2s_init(state, outlen, key, keylen);
}

void *wg_shim_sk_user_data(const struct sock *sk)
{
	return rcu_dereference_sk_user_data(sk);
}

bool wg_shim_ipv6_mod_enabled(void)
{
	return ipv6_mod_enabled();
}

void *wg_shim_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

void wg_shim_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

void wg_shim_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

/* ---- Configuration over generic netlink ---- */

struct genl_info *wg_shim_genl_info_dump(struct netlink_callback *cb)
{
	/* The genl core owns the info; it is not const for its users. */
	return (struct genl_info *)genl_info_dump(cb);
}

struct net *wg_shim_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

struct net *wg_shim_dev_net(const struct net_device *dev)
{
	return dev_net(dev);
}

void *wg_shim_genl_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   genl_info_dump(cb)->family, NLM_F_MULTI, cmd);
}

void wg_shim_genl_dump_check_consistent(struct netlink_callback *cb, void *hdr)
{
	genl_dump_check_consistent(cb, hdr);
}

void wg_shim_genl_msg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void wg_shim_genl_msg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

struct nlattr *wg_shim_nl_nest_start(struct sk_buff *skb, int type)
{
	return nla_nest_start(skb, type);
}

void wg_shim_nl_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_end(skb, start);
}

void wg_shim_nl_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}

void wg_shim_rcu_read_lock_bh(void)
{
	rcu_read_lock_bh();
}

void wg_shim_rcu_read_unlock_bh(void)
{
	rcu_read_unlock_bh();
}

bool wg_shim_pskb_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len);
}

int wg_shim_pskb_trim(struct sk_buff *skb, unsigned int len)
{
	return pskb_trim(skb, len);
}

int wg_shim_skb_cow_head(struct sk_buff *skb, unsigned int headroom)
{
	return skb_cow_head(skb, headroom);
}

void wg_shim_skb_orphan(struct sk_buff *skb)
{
	skb_orphan(skb);
}

u8 *wg_shim_skb_network_header(const struct sk_buff *skb)
{
	return skb_network_header(skb);
}

u8 *wg_shim_skb_transport_header(const struct sk_buff *skb)
{
	return skb_transport_header(skb);
}

struct net *wg_shim_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

void wg_shim_security_sk_classify_flow(const struct sock *sk, struct flowi_common *flic)
{
	security_sk_classify_flow(sk, flic);
}

void wg_shim_xmit4(struct rtable *rt, struct sock *sk, struct sk_buff *skb, __be32 saddr,
		   __be32 daddr, u8 ds, __be16 dport)
{
	udp_tunnel_xmit_skb(rt, sk, skb, saddr, daddr, ds, ip4_dst_hoplimit(&rt->dst), 0,
			    inet_sk(sk)->inet_sport, dport, false, false);
}

bool wg_shim_chk_addr6(struct sock *sk, const struct in6_addr *saddr)
{
#if IS_ENABLED(CONFIG_IPV6)
	return ipv6_chk_addr(sock_net(sk), saddr, NULL, 0);
#else
	return false;
#endif
}

void wg_shim_xmit6(struct dst_entry *dst, struct sock *sk, struct sk_buff *skb,
		   const struct in6_addr *saddr, const struct in6_addr *daddr, u8 ds, __be16 dport)
{
#if IS_ENABLED(CONFIG_IPV6)
	udp_tunnel6_xmit_skb(dst, sk, skb, skb->dev, saddr, daddr, ds, ip6_dst_hoplimit(dst), 0,
			     inet_sk(sk)->inet_sport, dport, false);
#else
	kfree_skb(skb);
#endif
}

u32 wg_shim_ipv6_iface_scope_id(const struct in6_addr *addr, int iface)
{
#if IS_ENABLED(CONFIG_IPV6)
	return ipv6_iface_scope_id(addr, iface);
#else
	return 0;
#endif
}

void wg_shim_timer_setup(struct timer_list *timer, void (*fn)(struct timer_list *))
{
	timer_setup(timer, fn, 0);
}

void wg_shim_init_work(struct work_struct *work, void (*fn)(struct work_struct *))
{
	INIT_WORK(work, fn);
}

int wg_shim_ptr_ring_init(struct ptr_ring *r, unsigned int size)
{
	return ptr_ring_init(r, size, GFP_KERNEL);
}

int wg_shim_ptr_ring_produce_bh(struct ptr_ring *r, void *ptr)
{
	return ptr_ring_produce_bh(r, ptr);
}

int wg_shim___ptr_ring_produce(struct ptr_ring *r, void *ptr)
{
	return __ptr_ring_produce(r, ptr);
}

void *wg_shim_ptr_ring_consume_bh(struct ptr_ring *r)
{
	return ptr_ring_consume_bh(r);
}

void wg_shim_cond_resched(void)
{
	cond_resched();
}

int wg_shim_dev_recursion_level(void)
{
	return dev_recursion_level();
}

void wg_shim_ptr_ring_cleanup(struct ptr_ring *r)
{
	ptr_ring_cleanup(r, NULL);
}

void *wg_shim_alloc_percpu(size_t size, size_t align)
{
	return (void __force *)__alloc_percpu(size, align);
}

void *wg_shim_per_cpu_ptr(void *p, int cpu)
{
	return per_cpu_ptr((void __percpu __force *)p, cpu);
}

unsigned int wg_shim_cpumask_next(int prev, const struct cpumask *mask)
{
	return cpumask_next(prev, mask);
}

unsigned int wg_shim_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

unsigned int wg_shim_num_online_cpus(void)
{
	return num_online_cpus();
}

/* The Nth online CPU (from 0), or nr_cpu_ids or more if fewer are online. */
unsigned int wg_shim_nth_online_cpu(unsigned int n)
{
	return cpumask_nth(n, cpu_online_mask);
}

int wg_shim_raw_smp_processor_id(void)
{
	return raw_smp_processor_id();
}

/* ETH_P_IP or ETH_P_IPV6 by the IP header's version, or 0. */
__be16 wg_shim_ip_tunnel_parse_protocol(const struct sk_buff *skb)
{
	return ip_tunnel_parse_protocol(skb);
}

bool wg_shim_skb_valid_dst(const struct sk_buff *skb)
{
	return skb_valid_dst(skb);
}

unsigned int wg_shim_skb_dst_mtu(const struct sk_buff *skb)
{
	return dst_mtu(skb_dst(skb));
}

struct sk_buff *wg_shim_skb_share_check(struct sk_buff *skb)
{
	return skb_share_check(skb, GFP_ATOMIC);
}

void wg_shim_skb_dst_drop(struct sk_buff *skb)
{
	skb_dst_drop(skb);
}

void wg_shim_icmp_host_unreach(struct sk_buff *skb)
{
	icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
}

void wg_shim_icmpv6_addr_unreach(struct sk_buff *skb)
{
	icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, 0);
}

void wg_shim_skb_probe_transport_header(struct sk_buff *skb)
{
	skb_probe_transport_header(skb);
}

bool wg_shim_pskb_network_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_network_may_pull(skb, len);
}

void wg_shim_ecn_decapsulate(struct sk_buff *skb, u8 outer, u8 inner)
{
	INET_ECN_decapsulate(skb, outer, inner);
}

u8 wg_shim_ecn_encapsulate(u8 outer, const struct sk_buff *inner)
{
	return ip_tunnel_ecn_encap(outer, ip_hdr(inner), inner);
}

/* ---- Data plane: locks, queues, statistics, debug lines ---- */

void wg_shim_init_rwsem(struct rw_semaphore *sem)
{
	init_rwsem(sem);
}

void wg_shim_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

void wg_shim_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

bool wg_shim_spin_trylock_bh(spinlock_t *lock)
{
	return spin_trylock_bh(lock);
}

void wg_shim_skb_queue_init(struct sk_buff_head *q)
{
	skb_queue_head_init(q);
}

/* The same under the queue's lock, held with softirqs off (every user runs
 * in process or softirq context, never in a hard interrupt). */
void wg_shim_skb_queue_lock_bh(struct sk_buff_head *q)
{
	spin_lock_bh(&q->lock);
}

void wg_shim_skb_queue_unlock_bh(struct sk_buff_head *q)
{
	spin_unlock_bh(&q->lock);
}

struct sk_buff *wg_shim___skb_dequeue(struct sk_buff_head *q)
{
	return __skb_dequeue(q);
}

void wg_shim___skb_queue_tail(struct sk_buff_head *q, struct sk_buff *skb)
{
	__skb_queue_tail(q, skb);
}

void wg_shim___skb_queue_head(struct sk_buff_head *q, struct sk_buff *skb)
{
	__skb_queue_head(q, skb);
}

void wg_shim_dev_rx_add(struct net_device *dev, unsigned int len)
{
	dev_sw_netstats_rx_add(dev, len);
}

void wg_shim_dev_tx_add(struct net_device *dev, unsigned int packets)
{
	dev_sw_netstats_tx_add(dev, packets, 0);
}

/* This CPU's count of packets sent (dev->tstats); the caller keeps to the CPU. */
u64 wg_shim_dev_tx_packets_here(struct net_device *dev)
{
	return u64_stats_read(&this_cpu_ptr(dev->tstats)->tx_packets);
}

bool wg_shim_debug_enabled(void)
{
#if defined(CONFIG_DYNAMIC_DEBUG) || (defined(CONFIG_DYNAMIC_DEBUG_CORE) && defined(DYNAMIC_DEBUG_MODULE))
	/* One dynamic-debug site for all of the module's debug lines:
	 * `echo 'module wireguard +p' > /proc/dynamic_debug/control`. */
	DEFINE_DYNAMIC_DEBUG_METADATA(descriptor, "wireguard debug lines");
	return DYNAMIC_DEBUG_BRANCH(descriptor);
#else
	return false;
#endif
}

/* ---- Suspend: keys are wiped before the system sleeps (stubs without
 * CONFIG_PM_SLEEP) ---- */

int wg_shim_register_pm_notifier(struct notifier_block *nb)
{
	return register_pm_notifier(nb);
}

void wg_shim_unregister_pm_notifier(struct notifier_block *nb)
{
	unregister_pm_notifier(nb);
}

/* No ICMP redirects from the device, nor from "all" in its namespace
 * (forwarding through a tunnel is not a redirect case). */
void wg_shim_in_dev_no_redirects(struct in_device *in_dev, struct net *net)
{
	IN_DEV_CONF_SET(in_dev, SEND_REDIRECTS, false);
	IPV4_DEVCONF_ALL(net, SEND_REDIRECTS) = false;
}

/* No IPv6 address generation (so no link-local address, and no router
 * solicitations into the tunnel). */
void wg_shim_in6_dev_no_addr_gen(struct inet6_dev *idev)
{
	WRITE_ONCE(idev->cnf.addr_gen_mode, IN6_ADDR_GEN_MODE_NONE);
}

/* ---- GRO of the encapsulation sockets (net/gro.h): the per-packet state
 * lives in the control block (NAPI_GRO_CB), its helpers are static inlines
 * ---- */

struct napi_gro_cb *wg_shim_napi_gro_cb(struct sk_buff *skb)
{
	return NAPI_GRO_CB(skb);
}

unsigned int wg_shim_skb_gro_offset(const struct sk_buff *skb)
{
	return skb_gro_offset(skb);
}

unsigned int wg_shim_skb_gro_len(const struct sk_buff *skb)
{
	return skb_gro_len(skb);
}

void *wg_shim_skb_gro_header(struct sk_buff *skb, unsigned int hlen,
			     unsigned int offset)
{
	return skb_gro_header(skb, hlen, offset);
}

int wg_shim_gro_receive_network_flush(const void *th, const void *th2,
				      struct sk_buff *p)
{
	return gro_receive_network_flush(th, th2, p);
}

void wg_shim_skb_set_network_header(struct sk_buff *skb, int offset)
{
	skb_set_network_header(skb, offset);
}

/* An encapsulation socket that takes GRO's packets whole (udp_allow_gso). */
void wg_shim_udp_allow_gso(struct sock *sk)
{
	udp_allow_gso(sk);
}

/* The split of a GSO packet that a UDP socket receives, as udp_queue_rcv_skb
 * (static) does it for sockets that do not take them: the data back to the
 * MAC header, then udp_rcv_segment (which frees the packet and counts it
 * dropped on failure: NULL). The stack counts the packet as one datagram
 * received (UDP_MIB_INDATAGRAMS) when encap_rcv returns; the others of its
 * segments are counted here, as the stack counts each it splits itself. */
struct sk_buff *wg_shim_udp_rcv_segment(struct sock *sk, struct sk_buff *skb)
{
	bool ipv4 = skb->protocol == htons(ETH_P_IP);
	u16 segs = skb_shinfo(skb)->gso_segs;
	struct sk_buff *list;

	__skb_push(skb, -skb_mac_offset(skb));
	list = udp_rcv_segment(sk, skb, ipv4);
	if (list && segs > 1)
		SNMP_ADD_STATS(__UDPX_MIB(sk, ipv4), UDP_MIB_INDATAGRAMS, segs - 1);
	return list;
}

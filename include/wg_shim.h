/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C shim: only what Rust cannot reach (static inline functions, macros,
 * and tables built from macros). Implemented in src/shim.c, bound by bindgen
 * through include/wg_bindings.h and wrapped safely in src/kapi/.
 */
#ifndef WG_SHIM_H
#define WG_SHIM_H

#include <linux/types.h>
#include <linux/netdevice.h>
#include <net/netlink.h>
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

/* The netdev features WireGuard offers (NETIF_F_GSO_SOFTWARE is a macro). */
netdev_features_t wg_shim_netdev_features(void);

/* wg_open's inet settings: no ICMP redirects, no IPv6 address generation. */
void wg_shim_open_inet_conf(struct net_device *dev);

/* NET_SKB_PAD: max(32, L1_CACHE_BYTES). */
unsigned int wg_shim_net_skb_pad(void);

/* Netlink attribute policies of the wireguard genl family (macro-built). */
extern const struct nla_policy wg_shim_device_policy[WGDEVICE_A_MAX + 1];
extern const struct nla_policy wg_shim_peer_policy[WGPEER_A_MAX + 1];
extern const struct nla_policy wg_shim_allowedip_policy[WG_SHIM_WGALLOWEDIP_A_MAX + 1];

/* lib/crypto entry points that are static inline (they pick the SIMD version). */
struct blake2s_state;
bool wg_shim_curve25519(u8 out[32], const u8 secret[32], const u8 point[32]);
bool wg_shim_curve25519_generate_public(u8 out[32], const u8 secret[32]);
void wg_shim_blake2s_init(struct blake2s_state *state, size_t outlen, const u8 *key, size_t keylen);
void wg_shim_memzero_explicit(void *p, size_t len);

/* UDP sockets (inline helpers). */
struct socket;
u16 wg_shim_sock_local_port(const struct sock *sk);
void *wg_shim_sk_user_data(const struct sock *sk);
bool wg_shim_ipv6_mod_enabled(void);
void *wg_shim_netdev_priv(const struct net_device *dev);
void wg_shim_dev_hold(struct net_device *dev);
void wg_shim_dev_put(struct net_device *dev);

/* skb helpers that are static inline. */
bool wg_shim_pskb_may_pull(struct sk_buff *skb, unsigned int len);
int wg_shim_pskb_trim(struct sk_buff *skb, unsigned int len);
int wg_shim_skb_transport_offset(const struct sk_buff *skb);
int wg_shim_skb_network_offset(const struct sk_buff *skb);
int wg_shim_skb_cow_head(struct sk_buff *skb, unsigned int headroom);
void wg_shim_skb_orphan(struct sk_buff *skb);
void wg_shim_skb_get_hash(struct sk_buff *skb);
void wg_shim_skb_set_inner_network_header_here(struct sk_buff *skb);
u8 *wg_shim_skb_tail_pointer(const struct sk_buff *skb);
bool wg_shim_skb_checksum_partial(const struct sk_buff *skb);
void wg_shim_skb_reserve(struct sk_buff *skb, int len);
bool wg_shim_skb_is_gso(const struct sk_buff *skb);
u8 *wg_shim_skb_network_header(const struct sk_buff *skb);
u8 *wg_shim_skb_transport_header(const struct sk_buff *skb);

/* Routing and transmission of UDP datagrams (flowi macros, inlines). */
struct rtable;
struct dst_entry;
struct dst_cache;
void wg_shim_skb_prepare_xmit(struct sk_buff *skb, struct net_device *dev, u32 mark);
bool wg_shim_confirm_addr4(struct sock *sk, __be32 saddr);
struct rtable *wg_shim_route4(struct sock *sk, __be32 *saddr, __be32 daddr, __be16 dport, u32 mark);
void wg_shim_xmit4(struct rtable *rt, struct sock *sk, struct sk_buff *skb, __be32 saddr,
		   __be32 daddr, u8 ds, __be16 dport);
bool wg_shim_chk_addr6(struct sock *sk, const struct in6_addr *saddr);
struct dst_entry *wg_shim_route6(struct sock *sk, struct in6_addr *saddr, const struct in6_addr *daddr,
				 __be16 dport, u32 mark, int oif);
void wg_shim_xmit6(struct dst_entry *dst, struct sock *sk, struct sk_buff *skb,
		   const struct in6_addr *saddr, const struct in6_addr *daddr, u8 ds, __be16 dport);
void wg_shim_dst_cache_reset(struct dst_cache *cache);
u32 wg_shim_ipv6_iface_scope_id(const struct in6_addr *addr, int iface);

/* Timers (timer_setup is a macro). */
struct timer_list;
void wg_shim_timer_setup(struct timer_list *timer, void (*fn)(struct timer_list *));

/* Work items (INIT_WORK is a macro). */
struct work_struct;
void wg_shim_init_work(struct work_struct *work, void (*fn)(struct work_struct *));

/* ptr_ring of skbs and per-CPU memory (all inline or macros). */
struct ptr_ring;
int wg_shim_ptr_ring_init(struct ptr_ring *r, unsigned int size);
int wg_shim_ptr_ring_produce_bh(struct ptr_ring *r, void *ptr);
int wg_shim_ptr_ring_try_produce_bh(struct ptr_ring *r, void *ptr);
unsigned long long wg_shim_totalram_bytes(void);
void *wg_shim_ptr_ring_consume_bh(struct ptr_ring *r);
void wg_shim_ptr_ring_cleanup(struct ptr_ring *r);
void wg_shim_cond_resched(void);
void wg_shim_local_bh_disable(void);
void wg_shim_local_bh_enable(void);

void *wg_shim_alloc_percpu(size_t size, size_t align);
void *wg_shim_per_cpu_ptr(void *p, int cpu);
/* cpumask_next() over the online or possible CPUs, and nr_cpu_ids. */
unsigned int wg_shim_cpumask_next(int prev, bool online);
unsigned int wg_shim_nr_cpu_ids(void);

/* Packet plumbing of the data path (inline helpers and bitfields). */
__be16 wg_shim_skb_protocol(const struct sk_buff *skb);
bool wg_shim_skb_protocol_valid(const struct sk_buff *skb);
unsigned int wg_shim_skb_route_mtu(const struct sk_buff *skb, const struct net_device *dev);
struct sk_buff *wg_shim_skb_list_next(struct sk_buff *skb);
struct sk_buff *wg_shim_skb_share_check(struct sk_buff *skb);
void wg_shim_skb_dst_drop(struct sk_buff *skb);
void wg_shim_icmp_host_unreachable(struct sk_buff *skb);
void wg_shim_skb_probe_transport_header(struct sk_buff *skb);
/* Where skb->headers (a struct_group) lies, for SkBuff::reset. */
enum {
	WG_SHIM_SKB_HEADERS_OFFSET = offsetof(struct sk_buff, headers),
	WG_SHIM_SKB_HEADERS_LEN = sizeof_field(struct sk_buff, headers),
};
bool wg_shim_pskb_network_may_pull(struct sk_buff *skb, unsigned int len);
void wg_shim_skb_rx_checked(struct sk_buff *skb, struct net_device *dev, __be16 protocol);
void wg_shim_ecn_decapsulate(struct sk_buff *skb, u8 outer, u8 inner);
u8 wg_shim_ecn_encapsulate(u8 outer, const struct sk_buff *inner);

/* RCU read side (inline). */
void wg_shim_rcu_read_lock_bh(void);
void wg_shim_rcu_read_unlock_bh(void);

/* Inline helpers. */


/* ---- Configuration over generic netlink (src/kapi/{genl,nla,netdev}.rs) ---- */
struct genl_info;
struct genl_family;
struct netlink_callback;
struct netlink_ext_ack;
struct nlattr;
/* genl_info_dump(): the parsed request of a dump. */
struct genl_info *wg_shim_genl_info_dump(struct netlink_callback *cb);
/* genl_info_net(). */
struct net *wg_shim_genl_info_net(const struct genl_info *info);
struct net *wg_shim_genl_dump_net(const struct netlink_callback *cb);
struct net *wg_shim_dev_net(const struct net_device *dev);
/* genlmsg_put() of one NLM_F_MULTI message of a dump, answering its request. */
void *wg_shim_genl_dump_put(struct sk_buff *skb, struct netlink_callback *cb,
			    const struct genl_family *family, u8 cmd);
/* cb->seq = seq, then genl_dump_check_consistent() (NLM_F_DUMP_INTR). */
void wg_shim_genl_dump_check_consistent(struct netlink_callback *cb, void *hdr, unsigned int seq);
void wg_shim_genl_msg_end(struct sk_buff *skb, void *hdr);
void wg_shim_genl_msg_cancel(struct sk_buff *skb, void *hdr);
/* nla_nest_start() (sets NLA_F_NESTED), nla_nest_end(), nla_nest_cancel(). */
struct nlattr *wg_shim_nl_nest_start(struct sk_buff *skb, int type);
void wg_shim_nl_nest_end(struct sk_buff *skb, struct nlattr *start);
void wg_shim_nl_nest_cancel(struct sk_buff *skb, struct nlattr *start);
/* netif_running(). */
bool wg_shim_nl_netif_running(const struct net_device *dev);

/* ---- Data plane (src/kapi/{sync,skb,netdev,debug}.rs) ---- */
struct sk_buff_head;
void wg_shim_spin_lock_bh(spinlock_t *lock);
void wg_shim_spin_unlock_bh(spinlock_t *lock);
/* sk_buff_head with its own lock: init, tail/head insertion, dequeue, length. */
void wg_shim_skb_queue_init(struct sk_buff_head *q);
void wg_shim_skb_queue_tail(struct sk_buff_head *q, struct sk_buff *skb);
void wg_shim_skb_queue_head(struct sk_buff_head *q, struct sk_buff *skb);
struct sk_buff *wg_shim_skb_dequeue(struct sk_buff_head *q);
u32 wg_shim_skb_queue_len(const struct sk_buff_head *q);
/* The same under the queue's lock (spin_lock_irqsave): peek, dequeue, append. */
unsigned long wg_shim_skb_queue_lock_irqsave(struct sk_buff_head *q);
void wg_shim_skb_queue_unlock_irqrestore(struct sk_buff_head *q, unsigned long flags);
struct sk_buff *wg_shim_skb_peek(const struct sk_buff_head *q);
struct sk_buff *wg_shim___skb_dequeue(struct sk_buff_head *q);
void wg_shim___skb_queue_tail(struct sk_buff_head *q, struct sk_buff *skb);
/* Device statistics: tstats rx; and where the error counters that
 * DEV_STATS_INC() bumps (atomic_long_t) lie in struct net_device. */
void wg_shim_dev_rx_add(struct net_device *dev, unsigned int len);
enum {
	WG_SHIM_DEV_RX_ERRORS = offsetof(struct net_device, stats.__rx_errors),
	WG_SHIM_DEV_RX_LENGTH_ERRORS = offsetof(struct net_device, stats.__rx_length_errors),
	WG_SHIM_DEV_RX_FRAME_ERRORS = offsetof(struct net_device, stats.__rx_frame_errors),
	WG_SHIM_DEV_TX_ERRORS = offsetof(struct net_device, stats.__tx_errors),
	WG_SHIM_DEV_RX_DROPPED = offsetof(struct net_device, stats.__rx_dropped),
	WG_SHIM_DEV_TX_DROPPED = offsetof(struct net_device, stats.__tx_dropped),
};
/* The module's dynamic-debug switch, and a KERN_DEBUG line. */
bool wg_shim_debug_enabled(void);
void wg_shim_debug_print(const char *line);

/* Suspend notifications (src/kapi/pm.rs); stubs without CONFIG_PM_SLEEP. */
struct notifier_block;
int wg_shim_register_pm_notifier(struct notifier_block *nb);
void wg_shim_unregister_pm_notifier(struct notifier_block *nb);

#endif

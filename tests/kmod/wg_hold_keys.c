// SPDX-License-Identifier: GPL-2.0
/*
 * wg_hold_keys: a test helper, never installed. Loaded by tests/vm/guest.sh
 * at boot, with nothing else running, it holds the kernel's static key
 * memalloc_socks_key on until the guest powers off, as tests/vm/hold_keys.py
 * does for the keys userspace can reach.
 *
 * Why: QEMU's TCG, which the test VMs run under, can execute a stale int3
 * left by a live patch of kernel text (a static key switching) on the other
 * vCPU, and the kernel dies with "Oops: int3" at the patched site. Every
 * WireGuard device's UDP socket (ours and the C driver's alike) is a memalloc
 * socket (sk_set_memalloc), so the first one opened switches the key on and
 * closing the last switches it off: both patch every sk_memalloc_socks()
 * site, __alloc_skb's among them. A test that deletes its device or reloads
 * the module while the peer's traffic still arrives (interop_cdriver's
 * restarts: ICMP port unreachable answers allocating on the other vCPU) did
 * that under traffic; seen 2026-12-06 at __alloc_skb+0x4b in the C driver's
 * VM. This module's own socket keeps the key on throughout, so it never
 * switches during a test. (Userspace cannot make a memalloc socket.)
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/in.h>
#include <net/net_namespace.h>
#include <net/sock.h>

static struct socket *holder;

/*
 * /sys/module/wg_hold_keys/parameters/count: the key's count now (this
 * module's socket is one). tests/vm/guest.sh reads it after the test: with
 * no WireGuard module loaded any more it must be exactly 1, so that a socket
 * whose memalloc flag was never cleared (2 or more), or one cleared twice
 * (0), still shows, as the key's own underflow warning would have without
 * the holder.
 */
static int get_count(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", static_key_count(&memalloc_socks_key.key));
}

static const struct kernel_param_ops count_ops = { .get = get_count };
module_param_cb(count, &count_ops, NULL, 0444);
MODULE_PARM_DESC(count, "memalloc_socks_key's count (read only)");

static int __init wg_hold_keys_init(void)
{
	int err = sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_UDP, &holder);

	if (err)
		return err;
	sk_set_memalloc(holder->sk);
	pr_info("wg_hold_keys: memalloc_socks_key held (%s)\n",
		sk_memalloc_socks() ? "on" : "off");
	return 0;
}

static void __exit wg_hold_keys_exit(void)
{
	sk_clear_memalloc(holder->sk);
	sock_release(holder);
}

module_init(wg_hold_keys_init);
module_exit(wg_hold_keys_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test helper: holds static keys the tests would switch under traffic");

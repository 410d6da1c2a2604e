// SPDX-License-Identifier: GPL-2.0
/*
 * wg_stack_scan: a test helper, never installed. It searches the kernel
 * stack of every thread for given 32-byte values: the secrets of a
 * handshake that a test's own WireGuard peer knows as well as the device
 * (chaining keys, DH results, transport keys, the preshared key, the
 * device's private key). A copy of one found on a stack once the device is
 * idle is a copy the driver left behind: a secret that outlived its use,
 * readable by whatever later reads that memory (tests/vm/suite/secrets.sh).
 *
 *   echo HEX64[,HEX64...] > /sys/module/wg_stack_scan/parameters/needles
 *   cat /sys/module/wg_stack_scan/parameters/hits
 *
 * Reading `hits` scans: one line per copy found, "NEEDLE COMM PID DEPTH"
 * (NEEDLE its index from 0, DEPTH the copy's distance below the top of the
 * stack in bytes), then "scanned THREADS threads, BYTES bytes". Reading
 * `control` counts the copies found of a value this module left on the
 * reader's own stack (8 written; at least one must be found).
 *
 * Neither the needles nor anything derived from them is ever put on a
 * stack here: they are parsed into, and compared from, static memory. The
 * file is built without KASAN instrumentation (tests/kmod/Kbuild): it reads
 * other threads' stacks whole, redzones included.
 */
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/hex.h>

#define NEEDLE_LEN 32
#define MAX_NEEDLES 64

static u8 needles[MAX_NEEDLES][NEEDLE_LEN];
static unsigned int nr_needles;
static DEFINE_MUTEX(lock);

static int set_needles(const char *val, const struct kernel_param *kp)
{
	unsigned int n = 0;
	int ret = 0;

	mutex_lock(&lock);
	while (*val && *val != '\n') {
		if (n == MAX_NEEDLES || hex2bin(needles[n], val, NEEDLE_LEN)) {
			ret = -EINVAL;
			break;
		}
		val += 2 * NEEDLE_LEN;
		n++;
		if (*val == ',')
			val++;
	}
	nr_needles = ret ? 0 : n;
	mutex_unlock(&lock);
	return ret;
}

static bool match(const u8 *p, const u8 *needle)
{
	unsigned int i;

	for (i = 0; i < NEEDLE_LEN; i++)
		if (p[i] != needle[i])
			return false;
	return true;
}

/*
 * The control: a value that a returned function left on this thread's
 * stack must be found there. Eight copies, so that the frames of the calls
 * between that function and the scan cannot overwrite them all.
 */
static const u8 control_value[NEEDLE_LEN] = "wg_stack_scan: left on a stack.";

static noinline void leave_on_stack(void)
{
	u8 buf[8][NEEDLE_LEN];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(buf); i++)
		memcpy(buf[i], control_value, NEEDLE_LEN);
	barrier_data(buf);
}

static int get_control(char *buf, const struct kernel_param *kp)
{
	const u8 *stack = task_stack_page(current);
	unsigned long off, found = 0;

	leave_on_stack();
	for (off = 0; off + NEEDLE_LEN <= THREAD_SIZE; off++)
		if (stack[off] == control_value[0] && match(stack + off, control_value))
			found++;
	return sysfs_emit(buf, "%lu\n", found);
}

static int get_hits(char *buf, const struct kernel_param *kp)
{
	struct task_struct *g, *t;
	unsigned long threads = 0, bytes = 0;
	int len = 0;

	mutex_lock(&lock);
	rcu_read_lock();
	for_each_process_thread(g, t) {
		/*
		 * Not try_get_task_stack (put_task_stack is not exported): a
		 * stack is freed through RCU (CONFIG_VMAP_STACK) or kept in a
		 * per-CPU cache for the next thread, mapped either way.
		 */
		const u8 *stack = READ_ONCE(t->stack);
		unsigned long off;
		unsigned int n;

		if (!stack)
			continue;
		threads++;
		bytes += THREAD_SIZE;
		for (off = 0; off + NEEDLE_LEN <= THREAD_SIZE; off++) {
			for (n = 0; n < nr_needles; n++) {
				if (stack[off] != needles[n][0] || !match(stack + off, needles[n]))
					continue;
				if (len < PAGE_SIZE - 128)
					len += scnprintf(buf + len, PAGE_SIZE - 128 - len, "%u %s %d %lu\n",
							 n, t->comm, task_pid_nr(t), THREAD_SIZE - off);
			}
		}
	}
	rcu_read_unlock();
	mutex_unlock(&lock);
	len += scnprintf(buf + len, PAGE_SIZE - len, "scanned %lu threads, %lu bytes\n", threads, bytes);
	return len;
}

static const struct kernel_param_ops needles_ops = { .set = set_needles };
module_param_cb(needles, &needles_ops, NULL, 0200);
MODULE_PARM_DESC(needles, "32-byte values to search for, in hex, comma-separated (write only)");

static const struct kernel_param_ops hits_ops = { .get = get_hits };
module_param_cb(hits, &hits_ops, NULL, 0444);
MODULE_PARM_DESC(hits, "scans every thread's stack for the needles (read only)");

static const struct kernel_param_ops control_ops = { .get = get_control };
module_param_cb(control, &control_ops, NULL, 0444);
MODULE_PARM_DESC(control, "copies found of a value left on the reader's stack (read only)");

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test helper: searches kernel stacks for given secrets");

// SPDX-License-Identifier: GPL-2.0
/*
 * wg_stack_scan: a test helper, never installed. It searches the kernel
 * stack of every thread, and every CPU's interrupt stack (where softirqs run
 * on x86-64), for given byte strings: the secrets of a handshake that a
 * test's own WireGuard peer knows as well as the device (chaining keys, DH
 * results, transport keys, the preshared key, the device's private key). A
 * copy of one found on a stack once the device is idle is a copy the driver
 * left behind: a secret that outlived its use, readable by whatever later
 * reads that memory (tests/vm/suite/secrets.sh).
 *
 *   echo HEX[,HEX...] > /sys/module/wg_stack_scan/parameters/needles
 *   cat /sys/module/wg_stack_scan/parameters/hits
 *
 * A needle is 16 to 32 bytes (32 to 64 hex digits). Reading `hits` scans:
 * one line per copy found, "NEEDLE WHERE PID DEPTH" (NEEDLE its index from
 * 0; WHERE a thread's name, or "irq/CPU" with PID 0; DEPTH the copy's
 * distance below the top of the stack in bytes), then "scanned THREADS
 * threads, IRQS interrupt stacks, BYTES bytes; control found N". The
 * control: before each scan, a function of this module leaves a value on
 * the reader's stack and returns; the scan must find it (N at least 1),
 * through the same walk of the threads as the needles.
 *
 * Neither the needles nor anything derived from them is ever put on a
 * stack here: they are parsed into, and compared from, static memory. The
 * file is built without KASAN instrumentation (tests/kmod/Kbuild): it reads
 * other threads' stacks whole, redzones included.
 *
 * A thread's stack is read without a reference (put_task_stack is not
 * exported), under RCU: a stack freed after its thread exits goes back
 * through RCU (CONFIG_VMAP_STACK) or into a per-CPU cache of stacks, mapped
 * either way. (A cached stack is vfree()d at once only when a new thread's
 * memory-cgroup charge fails or a CPU goes offline: neither happens in the
 * test's VM.)
 */
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/hex.h>
#include <linux/cpumask.h>

#define NEEDLE_MIN 16
#define NEEDLE_MAX 32
#define MAX_NEEDLES 128

static u8 needles[MAX_NEEDLES][NEEDLE_MAX];
static unsigned int needle_len[MAX_NEEDLES];
static unsigned int nr_needles;
static DEFINE_MUTEX(lock);

static int set_needles(const char *val, const struct kernel_param *kp)
{
	unsigned int n = 0;
	int ret = 0;

	mutex_lock(&lock);
	while (*val && *val != '\n') {
		size_t digits = strcspn(val, ",\n");

		if (n == MAX_NEEDLES || digits % 2 || digits < 2 * NEEDLE_MIN || digits > 2 * NEEDLE_MAX ||
		    hex2bin(needles[n], val, digits / 2)) {
			ret = -EINVAL;
			break;
		}
		needle_len[n] = digits / 2;
		val += digits;
		n++;
		if (*val == ',')
			val++;
	}
	nr_needles = ret ? 0 : n;
	mutex_unlock(&lock);
	return ret;
}

static bool match(const u8 *p, const u8 *needle, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		if (p[i] != needle[i])
			return false;
	return true;
}

/*
 * The control value, and the function that leaves it on the stack: eight
 * copies at the deep end of the last of eight frames of 512 bytes, 4 KiB
 * below the scan's frame, where neither the calls between it and the scan
 * nor the interrupts during the scan write (an interrupt's entry runs on
 * the interrupted thread's stack before it moves to the interrupt stack:
 * some hundreds of bytes, lockdep's and tracing's too on the debug kernel).
 */
static const u8 control_value[NEEDLE_MAX] = "wg_stack_scan: left on a stack.";

static noinline void leave_on_stack(unsigned int frames)
{
	u8 area[512];
	unsigned int i;

	if (frames > 1)
		leave_on_stack(frames - 1);
	else
		for (i = 0; i < 8; i++)
			memcpy(area + i * NEEDLE_MAX, control_value, NEEDLE_MAX);
	barrier_data(area);
}

struct scan {
	char *buf;
	int len;
	unsigned long control;
};

static void scan_stack(struct scan *s, const u8 *stack, unsigned long size, const char *where, int pid)
{
	unsigned long off;
	unsigned int n;

	for (off = 0; off + NEEDLE_MIN <= size; off++) {
		if (off + NEEDLE_MAX <= size && stack[off] == control_value[0] &&
		    match(stack + off, control_value, NEEDLE_MAX))
			s->control++;
		for (n = 0; n < nr_needles; n++) {
			if (stack[off] != needles[n][0] || off + needle_len[n] > size ||
			    !match(stack + off, needles[n], needle_len[n]))
				continue;
			if (s->len < PAGE_SIZE - 128)
				s->len += scnprintf(s->buf + s->len, PAGE_SIZE - 128 - s->len, "%u %s %d %lu\n",
						    n, where, pid, size - off);
		}
	}
}

static int get_hits(char *buf, const struct kernel_param *kp)
{
	struct scan s = { .buf = buf };
	struct task_struct *g, *t;
	unsigned long threads = 0, irqs = 0, bytes = 0;

	mutex_lock(&lock);
	leave_on_stack(8);
	rcu_read_lock();
	for_each_process_thread(g, t) {
		const u8 *stack = READ_ONCE(t->stack);

		if (!stack)
			continue;
		threads++;
		bytes += THREAD_SIZE;
		scan_stack(&s, stack, THREAD_SIZE, t->comm, task_pid_nr(t));
	}
	rcu_read_unlock();
#ifdef CONFIG_X86_64
	/* The top of each CPU's interrupt stack, less 8 (irq_64.c). */
	int cpu;

	for_each_online_cpu(cpu) {
		const u8 *top = per_cpu(pcpu_hot.hardirq_stack_ptr, cpu);
		char where[16];

		if (!top)
			continue;
		snprintf(where, sizeof(where), "irq/%d", cpu);
		irqs++;
		bytes += IRQ_STACK_SIZE;
		scan_stack(&s, top + 8 - IRQ_STACK_SIZE, IRQ_STACK_SIZE, where, 0);
	}
#endif
	mutex_unlock(&lock);
	s.len += scnprintf(buf + s.len, PAGE_SIZE - s.len,
			   "scanned %lu threads, %lu interrupt stacks, %lu bytes; control found %lu\n",
			   threads, irqs, bytes, s.control);
	return s.len;
}

static const struct kernel_param_ops needles_ops = { .set = set_needles };
module_param_cb(needles, &needles_ops, NULL, 0200);
MODULE_PARM_DESC(needles, "byte strings of 16 to 32 bytes to search for, in hex, comma-separated (write only)");

static const struct kernel_param_ops hits_ops = { .get = get_hits };
module_param_cb(hits, &hits_ops, NULL, 0444);
MODULE_PARM_DESC(hits, "scans every thread's and interrupt stack for the needles (read only)");

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test helper: searches kernel stacks for given secrets");

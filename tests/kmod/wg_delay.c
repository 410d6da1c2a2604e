// SPDX-License-Identifier: GPL-2.0
/*
 * wg_delay: a test helper, never installed. It holds calls of one function
 * (of the kernel or of a module) for a while, before the function runs, so
 * that a race test can open a window that is otherwise microseconds wide:
 *
 *   insmod wg_delay.ko symbol=NAME delay_ms=N [skip=K] [period=P] [count=C]
 *                      [comm=TASK]
 *
 * The first K calls pass untouched; of the calls after them, every P-th
 * (default 1: each) is held, C of them at most (0, the default: no limit).
 * With comm, only calls outside softirqs from a task of that name count at
 * all: calls from anywhere else pass untouched (a send the test makes
 * itself, not a keepalive a timer makes meanwhile). Not `in_task()`: until
 * the probe is optimised it fires through int3, whose handler runs as an
 * NMI (`irqentry_nmi_enter`); the softirq count stays the caller's. Each
 * held call is logged (the task, the CPU, whether in a softirq).
 * A held call waits N ms, busy: the probe runs where the function runs,
 * often with bottom halves off, so the hold keeps its CPU.
 * /sys/module/wg_delay/parameters/hits counts the calls seen, held those
 * held, holding those being held now. rmmod removes the probe.
 *
 * It needs CONFIG_KPROBES (the debug kernel of tests/vm has it).
 */
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>

static char symbol[KSYM_NAME_LEN];
module_param_string(symbol, symbol, sizeof(symbol), 0400);
MODULE_PARM_DESC(symbol, "the function to hold");
static unsigned int delay_ms = 100;
module_param(delay_ms, uint, 0400);
static unsigned int skip;
module_param(skip, uint, 0400);
static unsigned int period = 1;
module_param(period, uint, 0400);
static unsigned int count;
module_param(count, uint, 0400);
static char comm[TASK_COMM_LEN];
module_param_string(comm, comm, sizeof(comm), 0400);
MODULE_PARM_DESC(comm, "hold only calls outside softirqs of a task of this name");
static atomic_t hits_n = ATOMIC_INIT(0), held_n = ATOMIC_INIT(0), holding_n = ATOMIC_INIT(0);

static int get_atomic(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}
/* Read-only: insmod must not write them either (params.c calls ->set). */
static int set_refused(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}
static const struct kernel_param_ops counter_ops = { .set = set_refused, .get = get_atomic };
module_param_cb(hits, &counter_ops, &hits_n, 0444);
module_param_cb(held, &counter_ops, &held_n, 0444);
module_param_cb(holding, &counter_ops, &holding_n, 0444);

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	unsigned int n, k;

	if (comm[0] && (in_serving_softirq() || strncmp(current->comm, comm, TASK_COMM_LEN)))
		return 0;
	n = atomic_inc_return(&hits_n);
	if (n <= skip)
		return 0;
	k = n - skip - 1;
	if (k % period || (count && k / period >= count))
		return 0;
	atomic_inc(&held_n);
	atomic_inc(&holding_n);
	pr_info("wg_delay: holding %s for %u ms: task %s (%d), CPU %d, %s\n", symbol, delay_ms,
		current->comm, task_pid_nr(current), raw_smp_processor_id(),
		in_serving_softirq() ? "in a softirq" : "not in a softirq");
	mdelay(delay_ms);
	atomic_dec(&holding_n);
	return 0;
}

static struct kprobe probe = { .pre_handler = pre };

static int __init wg_delay_init(void)
{
	int ret;

	if (!symbol[0] || delay_ms > 10000 || !period)
		return -EINVAL;
	probe.symbol_name = symbol;
	ret = register_kprobe(&probe);
	if (ret)
		pr_err("wg_delay: cannot probe %s: %d\n", symbol, ret);
	return ret;
}

static void __exit wg_delay_exit(void)
{
	unregister_kprobe(&probe);
}

module_init(wg_delay_init);
module_exit(wg_delay_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test helper: holds calls of a function for a while (kprobe)");

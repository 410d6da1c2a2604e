// SPDX-License-Identifier: GPL-2.0
/*
 * wg_panic: a test helper, never installed. Loading it panics the kernel.
 * tests/runner/judging.sh loads it (through tests/vm/guest.sh before the
 * test starts, or from the test itself) to check how scripts/vm-run.sh
 * judges a guest that dies: booted again, up to three boots in all, when
 * the crash came before the test started; failed when it came during the
 * test or on the third boot.
 */
#include <linux/module.h>
#include <linux/panic.h>

static int __init wg_panic_init(void)
{
	panic("wg_panic: loaded (a test of the VM runner)");
}
module_init(wg_panic_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test helper: panics the kernel when loaded");

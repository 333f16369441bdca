// SPDX-License-Identifier: GPL-2.0
/*
 * rext4_negctl.ko: negative controls for the test kernel's detectors.
 *
 * Never loaded by a real scenario. Each `negctl-*` scenario loads it with
 * one `what=` case that does something deliberately wrong, and the harness
 * expects the matching detector report on the console (or, for kmemleak,
 * in the end-of-scenario scan). A control whose report does not appear
 * fails the suite: it proves that the same kind of bug in rext4 would be
 * seen, not silently passed.
 *
 * Cases:
 *   kasan        use-after-free of a kmalloc object (C)
 *   kasan-rust   use-after-free of a KBox in Rust (the Rust code is
 *                instrumented too)
 *   hung         the insmod task sleeps uninterruptibly past the hung-task
 *                timeout
 *   softlockup   a CPU spins with preemption disabled past the soft-lockup
 *                threshold
 *   kmemleak     allocations only referenced from module data, which rmmod
 *                frees
 *   lockdep      two mutexes taken in both orders (AB-BA)
 *   odebug       a work item on the stack initialised without the
 *                _ONSTACK annotation (DEBUG_OBJECTS_WORK)
 *   list         list_add with a corrupted neighbour (DEBUG_LIST)
 *
 * Init always succeeds (busybox insmod retries a failed finit_module with
 * init_module, which would run the case twice); the scenario unloads the
 * module right after, and for kmemleak that unload is the bug.
 */
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

static char *what = "";
module_param(what, charp, 0444);
MODULE_PARM_DESC(what, "the deliberately bad operation to perform");

static unsigned int seconds = 40;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long hung/softlockup block or spin");

/* Implemented in negctl_rust.rs. */
int rext4_negctl_rust_use_after_free(void);

/*
 * Several objects: a stale copy of a pointer (a reused task stack, a
 * register) can hide one of them from a scan, not all.
 */
static void *leaked[8];

static int negctl_kasan(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	memset(p, 0x5a, 64);
	kfree(p);
	/* The bad access: KASAN must report slab-use-after-free here. */
	return READ_ONCE(p[8]) == 0x5a ? 0 : 1;
}

static void negctl_work_fn(struct work_struct *work)
{
}

static int negctl_odebug(void)
{
	struct work_struct work;

	/* Missing INIT_WORK_ONSTACK: debugobjects must complain. */
	INIT_WORK(&work, negctl_work_fn);
	/* Leave the tracker clean again so only the report remains. */
	destroy_work_on_stack(&work);
	return 0;
}

static DEFINE_MUTEX(negctl_a);
static DEFINE_MUTEX(negctl_b);

static int negctl_lockdep(void)
{
	mutex_lock(&negctl_a);
	mutex_lock(&negctl_b);
	mutex_unlock(&negctl_b);
	mutex_unlock(&negctl_a);
	/* The reverse order: lockdep must see a possible deadlock. */
	mutex_lock(&negctl_b);
	mutex_lock(&negctl_a);
	mutex_unlock(&negctl_a);
	mutex_unlock(&negctl_b);
	return 0;
}

static int negctl_list(void)
{
	LIST_HEAD(head);
	struct list_head a, b, c;

	list_add(&a, &head);
	/*
	 * Corrupt the head's back link (it should point at a): adding b after
	 * a must be refused as "next->prev should be prev".
	 */
	head.prev = &c;
	list_add(&b, &a);
	return 0;
}

static int __init negctl_init(void)
{
	pr_info("rext4_negctl: case '%s'\n", what);
	if (!strcmp(what, "kasan")) {
		negctl_kasan();
	} else if (!strcmp(what, "kasan-rust")) {
		rext4_negctl_rust_use_after_free();
	} else if (!strcmp(what, "hung")) {
		/* One uninterruptible sleep: no context switch for `seconds`. */
		schedule_timeout_uninterruptible(seconds * HZ);
	} else if (!strcmp(what, "softlockup")) {
		/*
		 * Spin by the clock, not by mdelay(): under TCG the delay
		 * loop's calibration drifts with the host's speed, and a
		 * 15 s mdelay() was seen to last 11.5 s, too close to the
		 * 10 s threshold.
		 */
		u64 end = ktime_get_ns() + (u64)seconds * NSEC_PER_SEC;

		preempt_disable();
		while (ktime_get_ns() < end)
			cpu_relax();
		preempt_enable();
	} else if (!strcmp(what, "kmemleak")) {
		/* rmmod frees the only references (`leaked`, module data). */
		for (int i = 0; i < ARRAY_SIZE(leaked); i++)
			leaked[i] = kmalloc(200, GFP_KERNEL);
	} else if (!strcmp(what, "lockdep")) {
		negctl_lockdep();
	} else if (!strcmp(what, "odebug")) {
		negctl_odebug();
	} else if (!strcmp(what, "list")) {
		negctl_list();
	} else {
		pr_err("rext4_negctl: unknown case '%s'\n", what);
		return -EINVAL;
	}
	pr_info("rext4_negctl: case '%s' done\n", what);
	return 0;
}

static void __exit negctl_exit(void)
{
}

module_init(negctl_init);
module_exit(negctl_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The rext4 developers");
MODULE_DESCRIPTION("rext4 test kernel: negative controls for its detectors");

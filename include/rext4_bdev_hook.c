// SPDX-License-Identifier: GPL-2.0
/*
 * rext4's hook on its block device's page cache: catching failed
 * asynchronous metadata writes at completion.
 *
 * Metadata blocks that jbd2 has committed are written home by the block
 * device's own writeback (the flusher, sync_blockdev, sync(2)), whose
 * completion (end_buffer_async_write) only marks the buffer and the
 * device mapping with the error: the filesystem hears of it at its next
 * journal access, if ever. 6.12 has no hook for this, and
 * end_buffer_async_write is static. So at mount rext4 gives its device's
 * mapping a copy of its address-space operations in which only
 * writepages is rext4's: it walks the dirty folios with writeback_iter
 * and submits each folio's dirty buffers as block_write_full_folio would,
 * but with rext4's completion callback. The callback notes a failure
 * (block, time), queues the filesystem's error work on the mount's
 * WQ_MEM_RECLAIM workqueue (never sleeping: it runs in interrupt
 * context) and then does end_buffer_async_write's own work by calling
 * it: its address is taken once at module load from the buffer that
 * mark_buffer_async_write sets up, so the buffer, folio and errseq
 * bookkeeping stays the kernel's. The work runs in process context and
 * applies the error policy.
 *
 * Every other operation stays the kernel's (the copy keeps them), so a
 * reader that loads a_ops twice sees the same functions either way.
 *
 * The operations table is one, module-wide (every block device mapping
 * uses the same kernel table, checked at install): a task that loaded
 * the mapping's a_ops before the hook was removed may hold the pointer
 * across a sleep (readahead, a buffered write by another opener), so the
 * table must live as long as the module, not as long as one hook.
 *
 * Teardown (unmount, or a mount that fails after the install), in
 * rext4_bdev_hook_remove:
 *   1. the original operations are put back;
 *   2. the hook leaves the list the callbacks search and
 *      synchronize_srcu waits for every writepages call that found it,
 *      synchronize_rcu for every completion that did (a completion looks
 *      the hook up under rcu_read_lock);
 *   3. the work item is cancelled and waited for; the hook is freed.
 * After that nothing of this hook runs. Bios still in flight keep
 * pointing at this module's completion until they complete: module
 * unload (rext4_bdev_hook_exit) waits for a module-wide count of them
 * to reach zero and for the completions' last instructions (an RCU
 * grace period: the count is dropped inside rcu_read_lock), and for
 * tasks that might still run the table's writepages (synchronize_srcu;
 * synchronize_rcu_tasks for one between loading the pointer and entering
 * the function). On a kernel that lets other openers write to a mounted
 * device (CONFIG_BLK_DEV_WRITE_MOUNTED) the hook is not installed: their
 * failed writes would count as the filesystem's, and their buffered
 * writes hold a_ops across sleeps; the errseq backstop still applies.
 *
 * What the hook does not carry over from block_write_full_folio:
 * submit_bh has no writeback_control argument, so cgroup writeback
 * accounting and the inode's write hint are dropped (submit_bh_wbc is
 * static); neither matters for a filesystem's own device.
 */
#include "rext4_bindings.h"
#include <linux/blk_types.h>
#include <linux/rculist.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/writeback.h>

/* end_buffer_async_write, found at module load (see above). */
static void (*rext4_kernel_end_async_write)(struct buffer_head *bh, int uptodate);

/* The kernel's block device operations, and rext4's copy of them. */
static const struct address_space_operations *rext4_orig_bdev_aops;
static struct address_space_operations rext4_hooked_bdev_aops;
static DEFINE_MUTEX(rext4_aops_lock);

/* Hooks installed, searched by device (RCU; changed under the mutex). */
static LIST_HEAD(rext4_hooks);
static DEFINE_MUTEX(rext4_hooks_lock);
/* Callers of the hooked writepages in progress. */
DEFINE_STATIC_SRCU(rext4_hook_srcu);
/* Writes submitted through a hook whose callback has not finished. */
static atomic_t rext4_hook_inflight = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(rext4_hook_idle);

struct rext4_bdev_hook {
	struct list_head list;
	struct block_device *bdev;
	struct address_space *mapping;
	struct workqueue_struct *wq;
	struct work_struct work;
	struct super_block *sb;
	/* Failed writes not yet taken by the work: count, first block, when. */
	spinlock_t failed_lock;
	unsigned int failed;
	/* Of those, writes of the device's own folios (metadata). */
	unsigned int failed_dev;
	u64 failed_block;
	u64 failed_ns;
	/* Writes submitted through the hook (for tests and sysfs). */
	atomic64_t submitted;
};

/* Module load: the address of end_buffer_async_write. */
int rext4_bdev_hook_init(void)
{
	struct buffer_head bh = {};

	mark_buffer_async_write(&bh);
	rext4_kernel_end_async_write = bh.b_end_io;
	return rext4_kernel_end_async_write ? 0 : -EINVAL;
}

/* Module unload: no hooked call or callback of this module may remain. */
void rext4_bdev_hook_exit(void)
{
	synchronize_srcu(&rext4_hook_srcu);
	synchronize_rcu_tasks();
	wait_event(rext4_hook_idle, atomic_read(&rext4_hook_inflight) == 0);
	/* A completion drops the count inside rcu_read_lock. */
	synchronize_rcu();
}

/* The hook on `bdev`, under rcu_read_lock (completions). */
static struct rext4_bdev_hook *rext4_hook_find_rcu(struct block_device *bdev)
{
	struct rext4_bdev_hook *h;

	list_for_each_entry_rcu(h, &rext4_hooks, list)
		if (h->bdev == bdev)
			return h;
	return NULL;
}

/* The hook on `bdev`, under the SRCU read lock (writepages). */
static struct rext4_bdev_hook *rext4_hook_find_srcu(struct block_device *bdev)
{
	struct rext4_bdev_hook *h;

	list_for_each_entry_srcu(h, &rext4_hooks, list, srcu_read_lock_held(&rext4_hook_srcu))
		if (h->bdev == bdev)
			return h;
	return NULL;
}

/* Completion of a write submitted through a hook (interrupt context). */
static void rext4_end_bdev_write(struct buffer_head *bh, int uptodate)
{
	rcu_read_lock();
	if (!uptodate) {
		struct rext4_bdev_hook *h = rext4_hook_find_rcu(bh->b_bdev);

		if (h) {
			unsigned long flags;

			/* The first failure since the work last ran is the one timed. */
			spin_lock_irqsave(&h->failed_lock, flags);
			if (h->failed++ == 0) {
				h->failed_block = bh->b_blocknr;
				h->failed_ns = ktime_get_ns();
			}
			if (bh->b_folio->mapping == h->mapping)
				h->failed_dev++;
			spin_unlock_irqrestore(&h->failed_lock, flags);
			/* Before the folio's writeback ends (it may be freed then). */
			queue_work(h->wq, &h->work);
		}
	}
	/* The kernel's own completion: buffer, folio writeback, errseq. */
	rext4_kernel_end_async_write(bh, uptodate);
	if (atomic_dec_and_test(&rext4_hook_inflight))
		wake_up_all(&rext4_hook_idle);
	rcu_read_unlock();
}

static int rext4_hook_submit_folio(struct rext4_bdev_hook *h, struct folio *folio,
				   struct writeback_control *wbc);

/*
 * One folio of the device's page cache: its dirty buffers written with
 * rext4's callback (block_write_full_folio's steps, for a device, whose
 * blocks map one to one).
 */
static int rext4_bdev_write_folio(struct rext4_bdev_hook *h, struct folio *folio,
				  struct writeback_control *wbc)
{
	struct inode *inode = folio->mapping->host;
	unsigned int bits = inode->i_blkbits;
	sector_t block = (sector_t)folio->index << (PAGE_SHIFT - bits);
	loff_t size = i_size_read(inode);
	sector_t last = size ? (size - 1) >> bits : 0;
	struct buffer_head *head, *bh;

	head = folio_buffers(folio);
	if (!head)
		head = create_empty_buffers(folio, 1 << bits, BIT(BH_Dirty) | BIT(BH_Uptodate));
	bh = head;
	do {
		if (block > last || !size) {
			/* Past the device's end: nothing to write. */
			clear_buffer_dirty(bh);
			set_buffer_uptodate(bh);
		} else if (!buffer_mapped(bh) && buffer_dirty(bh)) {
			bh->b_bdev = I_BDEV(inode);
			bh->b_blocknr = block;
			set_buffer_mapped(bh);
		}
		bh = bh->b_this_page;
		block++;
	} while (bh != head);

	return rext4_hook_submit_folio(h, folio, wbc);
}

/*
 * The dirty mapped buffers of locked folio `folio` written with rext4's
 * callback (the second half of block_write_full_folio's steps); unlocks
 * the folio.
 */
static int rext4_hook_submit_folio(struct rext4_bdev_hook *h, struct folio *folio,
				   struct writeback_control *wbc)
{
	struct buffer_head *head = folio_buffers(folio), *bh = head;
	int underway = 0;

	do {
		if (!buffer_mapped(bh))
			continue;
		if (wbc->sync_mode != WB_SYNC_NONE) {
			lock_buffer(bh);
		} else if (!trylock_buffer(bh)) {
			folio_redirty_for_writepage(wbc, folio);
			continue;
		}
		if (test_clear_buffer_dirty(bh)) {
			bh->b_end_io = rext4_end_bdev_write;
			set_buffer_async_write(bh);
		} else {
			unlock_buffer(bh);
		}
	} while ((bh = bh->b_this_page) != head);

	BUG_ON(folio_test_writeback(folio));
	folio_start_writeback(folio);
	do {
		struct buffer_head *next = bh->b_this_page;

		if (buffer_async_write(bh)) {
			atomic_inc(&rext4_hook_inflight);
			atomic64_inc(&h->submitted);
			submit_bh(REQ_OP_WRITE | wbc_to_write_flags(wbc), bh);
			underway++;
		}
		bh = next;
	} while (bh != head);
	folio_unlock(folio);
	if (!underway)
		folio_end_writeback(folio);
	return 0;
}

/*
 * Committed journalled file data (data=journal) written home from locked
 * folio `folio` of a file on a hooked device, its dirty bit cleared: the
 * buffers go out with rext4's callback, so a failed write is caught at
 * completion like a failed metadata write (the error work applies the
 * errors= policy). The kernel's completion records it in the file's
 * mapping, where fsync reports it once per open file; the device's errseq
 * is left alone (a data write error is not jbd2's to abort on). Unlocks
 * the folio. -ENOENT, folio untouched, when the device has no hook or a
 * dirty buffer is not mapped: the caller writes it the kernel's way.
 */
int rext4_bdev_hook_write_home(struct folio *folio, struct writeback_control *wbc)
{
	struct buffer_head *head = folio_buffers(folio), *bh;
	struct rext4_bdev_hook *h;
	int idx, err;

	if (!head)
		return -ENOENT;
	bh = head;
	do {
		if (buffer_dirty(bh) && !buffer_mapped(bh))
			return -ENOENT;
	} while ((bh = bh->b_this_page) != head);
	idx = srcu_read_lock(&rext4_hook_srcu);
	h = rext4_hook_find_srcu(folio->mapping->host->i_sb->s_bdev);
	err = h ? rext4_hook_submit_folio(h, folio, wbc) : -ENOENT;
	srcu_read_unlock(&rext4_hook_srcu, idx);
	return err;
}

/* The hooked writepages of the device's mapping. */
static int rext4_bdev_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct rext4_bdev_hook *h;
	struct folio *folio = NULL;
	struct blk_plug plug;
	int idx, err = 0;

	idx = srcu_read_lock(&rext4_hook_srcu);
	h = rext4_hook_find_srcu(I_BDEV(mapping->host));
	if (!h) {
		/* Removed meanwhile: the kernel's own writepages does it. */
		srcu_read_unlock(&rext4_hook_srcu, idx);
		return rext4_orig_bdev_aops->writepages(mapping, wbc);
	}
	blk_start_plug(&plug);
	/* WB_SYNC_ALL: every folio written, the first error returned at the end. */
	while ((folio = writeback_iter(mapping, wbc, folio, &err)))
		err = rext4_bdev_write_folio(h, folio, wbc);
	blk_finish_plug(&plug);
	srcu_read_unlock(&rext4_hook_srcu, idx);
	return err;
}

/*
 * Installs the hook on sb's device: `fn` runs (on `wq`, process context)
 * after a write through it failed. NULL if there is no memory.
 */
struct rext4_bdev_hook *rext4_bdev_hook_install(struct super_block *sb,
						struct workqueue_struct *wq, work_func_t fn)
{
	struct address_space *mapping = sb->s_bdev->bd_mapping;
	const struct address_space_operations *ops = READ_ONCE(mapping->a_ops);
	struct rext4_bdev_hook *h;

	if (IS_ENABLED(CONFIG_BLK_DEV_WRITE_MOUNTED))
		return ERR_PTR(-EOPNOTSUPP);
	mutex_lock(&rext4_aops_lock);
	if (!rext4_orig_bdev_aops && ops->writepages) {
		rext4_orig_bdev_aops = ops;
		rext4_hooked_bdev_aops = *ops;
		rext4_hooked_bdev_aops.writepages = rext4_bdev_writepages;
	}
	mutex_unlock(&rext4_aops_lock);
	/* Not the kernel's block device operations (or hooked already). */
	if (ops != rext4_orig_bdev_aops)
		return ERR_PTR(-EBUSY);
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return ERR_PTR(-ENOMEM);
	h->bdev = sb->s_bdev;
	h->mapping = mapping;
	h->sb = sb;
	h->wq = wq;
	INIT_WORK(&h->work, fn);
	spin_lock_init(&h->failed_lock);
	mutex_lock(&rext4_hooks_lock);
	list_add_rcu(&h->list, &rext4_hooks);
	mutex_unlock(&rext4_hooks_lock);
	/* The table is complete before anyone can see it. */
	smp_store_release(&mapping->a_ops, &rext4_hooked_bdev_aops);
	return h;
}

/* Removes the hook; afterwards no rext4 code runs for the device. */
void rext4_bdev_hook_remove(struct rext4_bdev_hook *h)
{
	WRITE_ONCE(h->mapping->a_ops, rext4_orig_bdev_aops);
	mutex_lock(&rext4_hooks_lock);
	list_del_rcu(&h->list);
	mutex_unlock(&rext4_hooks_lock);
	synchronize_srcu(&rext4_hook_srcu);
	synchronize_rcu();
	cancel_work_sync(&h->work);
	kfree(h);
}

/* The hook whose work item `work` is. */
struct rext4_bdev_hook *rext4_bdev_hook_of_work(struct work_struct *work)
{
	return container_of(work, struct rext4_bdev_hook, work);
}

/* The superblock the hook was installed for. */
struct super_block *rext4_bdev_hook_sb(struct rext4_bdev_hook *h)
{
	return h->sb;
}

/*
 * Takes the failures noted since the last call: their number (0: none),
 * the first one's block and its completion time (ktime_get_ns), and how
 * many were writes of the device's own folios (whose error the kernel's
 * completion also puts in the device's errseq; file data written home
 * goes to its file's).
 */
int rext4_bdev_hook_take(struct rext4_bdev_hook *h, u64 *block, u64 *when_ns,
			 unsigned int *device)
{
	unsigned long flags;
	unsigned int n;

	spin_lock_irqsave(&h->failed_lock, flags);
	n = h->failed;
	*block = h->failed_block;
	*when_ns = h->failed_ns;
	*device = h->failed_dev;
	h->failed = 0;
	h->failed_dev = 0;
	spin_unlock_irqrestore(&h->failed_lock, flags);
	return min_t(unsigned int, n, INT_MAX);
}

/* Writes submitted through the hook so far. */
u64 rext4_bdev_hook_submitted(struct rext4_bdev_hook *h)
{
	return atomic64_read(&h->submitted);
}

/* The monotonic clock, in nanoseconds. */
u64 rext4_ktime_ns(void)
{
	return ktime_get_ns();
}

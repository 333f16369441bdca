// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of rext4's two completion paths, on rext4.ko's own C files
 * compiled into this module:
 *
 *  - the block-device hook's write completion (include/rext4_bdev_hook.c):
 *    a failed write notes its block and queues the hook's error work on a
 *    WQ_MEM_RECLAIM queue before the kernel's completion ends the folio's
 *    writeback; a successful one queues nothing;
 *  - the end of journal writeback at commit (include/rext4_jwb.c): the
 *    commit of a transaction releases its own folios and no others, and an
 *    aborted one releases them too, with -EIO in their mapping.
 *
 * The buffers and folios are made here (no device: the buffer's device is
 * only compared, and BH_Quiet keeps the kernel from printing it).
 */
#include <kunit/test.h>
#include <linux/completion.h>

#include "../include/rext4_bdev_hook.c"
#include "../include/rext4_jwb.c"

/* What the hook's work saw (the filesystem's work calls the same take). */
struct hook_seen {
	struct rext4_bdev_hook hook;
	struct completion ran;
	int failures;
	unsigned int device;
	u64 block;
	u64 when_ns;
};

static void hook_work(struct work_struct *work)
{
	struct rext4_bdev_hook *h = rext4_bdev_hook_of_work(work);
	struct hook_seen *seen = container_of(h, struct hook_seen, hook);

	seen->failures += rext4_bdev_hook_take(h, &seen->block, &seen->when_ns, &seen->device);
	complete(&seen->ran);
}

/* A folio with one locked buffer under async write through the hook. */
static struct buffer_head *hook_write_buffer(struct kunit *test, struct block_device *bdev,
					     u64 block)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, 0);
	struct buffer_head *bh;

	KUNIT_ASSERT_NOT_NULL(test, folio);
	bh = folio_alloc_buffers(folio, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bh);
	bh->b_this_page = bh;
	folio_attach_private(folio, bh);
	bh->b_bdev = bdev;
	bh->b_blocknr = block;
	set_bit(BH_Quiet, &bh->b_state);
	set_buffer_uptodate(bh);
	lock_buffer(bh);
	folio_lock(folio);
	folio_start_writeback(folio);
	folio_unlock(folio);
	bh->b_end_io = rext4_end_bdev_write;
	set_buffer_async_write(bh);
	atomic_inc(&rext4_hook_inflight);
	return bh;
}

static void hook_buffer_free(struct buffer_head *bh)
{
	struct folio *folio = bh->b_folio;

	folio_detach_private(folio);
	free_buffer_head(bh);
	folio_put(folio);
}

/* One hook on a made-up device, with its own reclaim queue. */
static struct hook_seen *hook_setup(struct kunit *test, struct workqueue_struct **wq)
{
	struct hook_seen *seen = kunit_kzalloc(test, sizeof(*seen), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, seen);
	KUNIT_ASSERT_EQ(test, rext4_bdev_hook_init(), 0);
	*wq = alloc_workqueue("rext4-kunit", WQ_MEM_RECLAIM, 0);
	KUNIT_ASSERT_NOT_NULL(test, *wq);
	init_completion(&seen->ran);
	seen->hook.bdev = (struct block_device *)&seen->block;
	/* The device's own mapping (only compared): the test folios are not its. */
	seen->hook.mapping = (struct address_space *)&seen->when_ns;
	seen->hook.wq = *wq;
	INIT_WORK(&seen->hook.work, hook_work);
	spin_lock_init(&seen->hook.failed_lock);
	mutex_lock(&rext4_hooks_lock);
	list_add_rcu(&seen->hook.list, &rext4_hooks);
	mutex_unlock(&rext4_hooks_lock);
	return seen;
}

static void hook_teardown(struct hook_seen *seen, struct workqueue_struct *wq)
{
	mutex_lock(&rext4_hooks_lock);
	list_del_rcu(&seen->hook.list);
	mutex_unlock(&rext4_hooks_lock);
	synchronize_rcu();
	cancel_work_sync(&seen->hook.work);
	destroy_workqueue(wq);
}

static void hook_failed_write_queues_work(struct kunit *test)
{
	struct workqueue_struct *wq;
	struct hook_seen *seen = hook_setup(test, &wq);
	struct buffer_head *bh = hook_write_buffer(test, seen->hook.bdev, 4242);
	struct folio *folio = bh->b_folio;
	u64 before = ktime_get_ns();

	bh->b_end_io(bh, 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&seen->ran, 10 * HZ), 0);
	KUNIT_EXPECT_EQ(test, seen->failures, 1);
	KUNIT_EXPECT_EQ(test, seen->block, 4242ULL);
	/* Not a folio of the device's mapping: file data written home. */
	KUNIT_EXPECT_EQ(test, seen->device, 0U);
	KUNIT_EXPECT_GE(test, seen->when_ns, before);
	/* The kernel's completion ran too: buffer and folio as it leaves them. */
	KUNIT_EXPECT_TRUE(test, buffer_write_io_error(bh));
	KUNIT_EXPECT_FALSE(test, buffer_uptodate(bh));
	KUNIT_EXPECT_FALSE(test, buffer_locked(bh));
	KUNIT_EXPECT_FALSE(test, buffer_async_write(bh));
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(folio));
	KUNIT_EXPECT_EQ(test, atomic_read(&rext4_hook_inflight), 0);
	/* Taken: nothing left for a second run of the work. */
	KUNIT_EXPECT_EQ(test, rext4_bdev_hook_take(&seen->hook, &seen->block, &seen->when_ns,
						   &seen->device), 0);
	hook_teardown(seen, wq);
	hook_buffer_free(bh);
}

static void hook_good_write_queues_nothing(struct kunit *test)
{
	struct workqueue_struct *wq;
	struct hook_seen *seen = hook_setup(test, &wq);
	struct buffer_head *bh = hook_write_buffer(test, seen->hook.bdev, 7);
	struct folio *folio = bh->b_folio;

	bh->b_end_io(bh, 1);
	flush_workqueue(wq);
	KUNIT_EXPECT_FALSE(test, completion_done(&seen->ran));
	KUNIT_EXPECT_EQ(test, seen->failures, 0);
	KUNIT_EXPECT_TRUE(test, buffer_uptodate(bh));
	KUNIT_EXPECT_FALSE(test, buffer_write_io_error(bh));
	KUNIT_EXPECT_FALSE(test, buffer_locked(bh));
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(folio));
	hook_teardown(seen, wq);
	hook_buffer_free(bh);
}

/* A failed write on another device than the hook's queues nothing either. */
static void hook_other_device_ignored(struct kunit *test)
{
	struct workqueue_struct *wq;
	struct hook_seen *seen = hook_setup(test, &wq);
	struct buffer_head *bh = hook_write_buffer(test, (struct block_device *)&seen->failures, 9);

	bh->b_end_io(bh, 0);
	flush_workqueue(wq);
	KUNIT_EXPECT_FALSE(test, completion_done(&seen->ran));
	KUNIT_EXPECT_TRUE(test, buffer_write_io_error(bh));
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(bh->b_folio));
	hook_teardown(seen, wq);
	hook_buffer_free(bh);
}

/* A transaction as jbd2 starts one, as far as the folio list goes. */
static transaction_t *txn(struct kunit *test)
{
	transaction_t *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	INIT_LIST_HEAD(&t->t_private_list);
	return t;
}

static struct folio *attached(struct kunit *test, transaction_t *t)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, 0);

	KUNIT_ASSERT_NOT_NULL(test, folio);
	folio_lock(folio);
	rext4_folio_attach_commit(t, folio);
	folio_unlock(folio);
	return folio;
}

static void commit_ends_own_folios_only(struct kunit *test)
{
	transaction_t *t1 = txn(test), *t2 = txn(test);
	struct folio *a = attached(test, t1), *b = attached(test, t1), *c = attached(test, t2);

	KUNIT_EXPECT_TRUE(test, folio_test_writeback(a));
	KUNIT_EXPECT_TRUE(test, folio_test_writeback(b));
	KUNIT_EXPECT_TRUE(test, folio_test_writeback(c));
	/* Attaching again (a second write in the same transaction) adds nothing. */
	folio_lock(a);
	rext4_folio_attach_commit(t1, a);
	folio_unlock(a);
	KUNIT_EXPECT_EQ(test, rext4_folio_commit_done(t1, false), 2U);
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(a));
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(b));
	KUNIT_EXPECT_TRUE(test, folio_test_writeback(c));
	KUNIT_EXPECT_TRUE(test, list_empty(&t1->t_private_list));
	KUNIT_EXPECT_EQ(test, rext4_folio_commit_done(t2, false), 1U);
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(c));
	KUNIT_EXPECT_EQ(test, rext4_folio_commit_done(t2, false), 0U);
	/* The list's references are gone: ours is the last. */
	KUNIT_EXPECT_EQ(test, folio_ref_count(a), 1);
	KUNIT_EXPECT_EQ(test, folio_ref_count(c), 1);
	folio_put(a);
	folio_put(b);
	folio_put(c);
}

/*
 * One folio of a mapping (without writeback tags, so no inode is needed
 * behind it) attached to a transaction that then commits, aborted or not:
 * its writeback must end; returns what the mapping's errseq reports.
 */
static int commit_one(struct kunit *test, bool aborted)
{
	struct address_space *mapping = kunit_kzalloc(test, sizeof(*mapping), GFP_KERNEL);
	transaction_t *t = txn(test);
	errseq_t since;
	struct folio *a;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, mapping);
	mapping_set_no_writeback_tags(mapping);
	since = errseq_sample(&mapping->wb_err);
	a = attached(test, t);
	a->mapping = mapping;
	KUNIT_EXPECT_EQ(test, rext4_folio_commit_done(t, aborted), 1U);
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(a));
	err = errseq_check(&mapping->wb_err, since);
	a->mapping = NULL;
	folio_put(a);
	return err;
}

static void aborted_commit_ends_writeback_with_error(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, commit_one(test, true), -EIO);
}

static void committed_commit_records_no_error(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, commit_one(test, false), 0);
}

static struct kunit_case mission_cases[] = {
	KUNIT_CASE(hook_failed_write_queues_work),
	KUNIT_CASE(hook_good_write_queues_nothing),
	KUNIT_CASE(hook_other_device_ignored),
	KUNIT_CASE(commit_ends_own_folios_only),
	KUNIT_CASE(aborted_commit_ends_writeback_with_error),
	KUNIT_CASE(committed_commit_records_no_error),
	{}
};

static struct kunit_suite mission_suite = {
	.name = "rext4_mission",
	.test_cases = mission_cases,
};
kunit_test_suite(mission_suite);

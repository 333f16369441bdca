// SPDX-License-Identifier: GPL-2.0
/*
 * Journalled file data (data=journal) under writeback until its commit.
 *
 * jbd2 writes a journalled buffer to the log straight from the page cache
 * (unless it has a frozen copy) and checksums it first. A store through a
 * writable shared mapping between the checksum and the write, or during
 * the write, puts a block in the log that its checksum does not match:
 * replay then drops it as corrupt. rext4 keeps every folio whose buffers a
 * transaction holds out of reach of such stores until that transaction
 * has committed:
 *
 *  - whoever journals a folio's buffers (write_end, the journalled-data
 *    writepages, page_mkwrite allocating a hole, the zeroing of a partial
 *    block) does it with the folio locked and its page-table entries
 *    write-protected (a folio dirtied through a mapping first goes through
 *    folio_clear_dirty_for_io), then sets the folio under writeback
 *    *before unlocking it* and attaches it to the handle's transaction
 *    (rext4_folio_attach_commit: the transaction's t_private_list, under
 *    rext4_jwb_lock);
 *  - the journal's commit callback (rext4_folio_commit_done) ends the
 *    writeback of exactly that transaction's folios, also when the
 *    journal was aborted (then with -EIO recorded in their mapping);
 *  - page_mkwrite and write_begin wait for a folio's writeback with no
 *    handle and no folio lock held, after asking jbd2 to commit the file's
 *    last data transaction, so a store or write() reaches the folio only
 *    once the commit is done. A write() inside the very transaction the
 *    folio is attached to goes on (the transaction cannot commit while
 *    its handle runs; jbd2's write access does the rest).
 *
 * Lock order: the invalidate lock (faults), i_rwsem (write) → handle start
 * → folio lock → i_data_sem → buffer locks; rext4_jwb_lock is innermost.
 * While a handle is open a folio lock is only try-locked: a folio under
 * this writeback ends it only at a commit, which waits for every handle of
 * the transaction, so a handle holder must never wait for a folio lock
 * whose holder may be waiting for that writeback (page migration, the
 * truncation of the page cache). No rext4 path waits for writeback with a
 * folio lock or a handle held.
 *
 * The attachment to a transaction and its end at commit are in
 * rext4_jwb.c (also compiled into the KUnit module, which tests them).
 */
#include "rext4_bindings.h"

/*
 * A locked folio dirtied through a shared mapping (PG_checked) about to be
 * journalled by someone else (write_begin, the zeroing of a block): its
 * page-table entries are write-protected and all of it inside the file is
 * journalled in the handle's transaction now, so no store can reach it
 * until that commit. 0 for any other folio.
 */
int rext4_seal_folio(handle_t *handle, struct folio *folio, rext4_map_fn map, void *ctx)
{
	long len = rext4_folio_len_in_file(folio, i_size_read(folio->mapping->host));
	int err;

	if (!folio_test_checked(folio) || folio_test_writeback(folio))
		return 0;
	folio_clear_dirty_for_io(folio);
	folio_clear_checked(folio);
	if (len <= 0)
		return 0;
	err = rext4_journal_folio(handle, folio, len, map, ctx);
	if (err) {
		/* Not journalled: the stores stay dirty for writepages. */
		folio_mark_dirty(folio);
	}
	return err;
}

/*
 * page_mkwrite's block map of locked folio `folio` (`len` bytes of it in
 * the file), inside a handle: buffers without a mapping are looked up, and
 * holes (or unwritten blocks) are allocated. A new block is zeroed on the
 * device before this returns (a synchronous write, which the commit of
 * the allocation follows, barrier in between): a crash before the data
 * stored to it is journalled leaves zeros there, not an older file's
 * data, and the folio's buffers need no journalling now, so it becomes
 * writable at once. What is then stored to it is journalled by
 * writepages, write-protected and under writeback until that commit.
 * Returns 1 if blocks were allocated (the inode changed), 0 if not, 2 if
 * the zeroing failed and the folio was journalled instead (held under
 * writeback: the caller waits for the commit and tries again).
 */
int rext4_mkwrite_map(handle_t *handle, struct folio *folio, size_t len, rext4_map_fn map,
		      void *ctx)
{
	struct inode *inode = folio->mapping->host;
	unsigned int bsize = i_blocksize(inode);
	u64 lblk = folio_pos(folio) >> inode->i_blkbits;
	struct buffer_head *head, *bh;
	u64 run = 0, run_len = 0;
	size_t start, end;
	int allocated = 0;
	int err = 0, zerr;

	head = folio_buffers(folio);
	if (!head)
		head = create_empty_buffers(folio, bsize, 0);
	for (bh = head, start = 0; bh != head || !start; bh = bh->b_this_page, start = end, lblk++) {
		u64 pblk = 0;
		bool new = false;

		end = start + bsize;
		if (start >= len || buffer_mapped(bh))
			continue;
		err = map(ctx, lblk, false, &pblk, &new);
		if (!err && !pblk)
			err = map(ctx, lblk, true, &pblk, &new);
		if (!err && !pblk)
			err = -EIO;
		if (err)
			break;
		map_bh(bh, inode->i_sb, pblk);
		/* A mapped folio is up to date: over a hole it holds zeros. */
		if (folio_test_uptodate(folio))
			set_buffer_uptodate(bh);
		if (!new)
			continue;
		allocated = 1;
		clean_bdev_aliases(bh->b_bdev, pblk, 1);
		/* New blocks in a row are zeroed with one write. */
		if (run_len && pblk == run + run_len) {
			run_len++;
			continue;
		}
		if (run_len) {
			err = sb_issue_zeroout(inode->i_sb, run, run_len, GFP_NOFS);
			if (err)
				goto zero_failed;
		}
		run = pblk;
		run_len = 1;
	}
	/* Blocks allocated before a failure are zeroed all the same. */
	if (run_len) {
		zerr = sb_issue_zeroout(inode->i_sb, run, run_len, GFP_NOFS);
		if (zerr) {
			err = zerr;
			goto zero_failed;
		}
	}
	return err ?: allocated;

zero_failed:
	/*
	 * The device did not take the zeros: they go through the journal
	 * instead (the folio holds them there), and the folio is held until
	 * that commit, which the caller waits for before it is writable.
	 */
	err = rext4_journal_folio(handle, folio, len, map, ctx);
	return err ?: 2;
}

/*
 * write_begin's folio lookup: FGP_WRITEBEGIN without FGP_STABLE. A stable
 * page wait is a wait for writeback, which here may end only at a commit
 * that waits for the caller's own handle; rext4 waits for writeback
 * itself, with nothing held.
 */
#define REXT4_FGP_WRITE (FGP_LOCK | FGP_WRITE | FGP_CREAT)

/* A folio for write_begin, locked without blocking (ERR_PTR(-EAGAIN) if that would block). */
struct folio *rext4_write_begin_folio_nowait(struct address_space *mapping, loff_t pos)
{
	return __filemap_get_folio(mapping, pos >> PAGE_SHIFT, REXT4_FGP_WRITE | FGP_NOWAIT,
				   mapping_gfp_mask(mapping));
}

/* Waits (no handle open) until the folio at `pos` can be locked; creates it. */
int rext4_write_begin_wait_folio(struct address_space *mapping, loff_t pos)
{
	struct folio *folio = __filemap_get_folio(mapping, pos >> PAGE_SHIFT, REXT4_FGP_WRITE,
						  mapping_gfp_mask(mapping));

	if (IS_ERR(folio))
		return PTR_ERR(folio);
	folio_unlock(folio);
	folio_put(folio);
	return 0;
}

bool rext4_folio_test_writeback(struct folio *folio)
{
	return folio_test_writeback(folio);
}

void rext4_folio_wait_writeback(struct folio *folio)
{
	folio_wait_writeback(folio);
}

void rext4_folio_put(struct folio *folio)
{
	folio_put(folio);
}

/*
 * One folio of the journalled-data writepages (unlocked, referenced by
 * the walk's batch). A folio dirtied through a mapping is journalled in a
 * handle of its own and left under writeback until that commit; one only
 * jbd2 dirtied (committed data exposed for checkpointing) is written home.
 */
static int rext4_wb_folio(struct address_space *mapping, struct writeback_control *wbc,
			  struct folio *folio, const struct rext4_wb_ops *ops, void *ctx,
			  bool *handled)
{
	bool sync = wbc->sync_mode == WB_SYNC_ALL;
	int err;

	*handled = false;
	for (;;) {
		folio_lock(folio);
		if (unlikely(folio->mapping != mapping) || !folio_test_dirty(folio))
			break;
		if (folio_test_writeback(folio)) {
			folio_unlock(folio);
			if (!sync)
				return 0;
			/* Never waited for under the folio lock (see the top). */
			ops->commit(ctx);
			folio_wait_writeback(folio);
			continue;
		}
		if (!folio_test_checked(folio)) {
			if (!folio_clear_dirty_for_io(folio))
				break;
			*handled = true;
			return rext4_write_home_folio(folio, wbc, ops->get_block);
		}
		/* Handle first, then the folio lock, as everywhere. */
		folio_unlock(folio);
		err = ops->start(ctx);
		if (err)
			return err;
		if (!folio_trylock(folio)) {
			ops->stop(ctx);
			continue;
		}
		if (folio->mapping != mapping || !folio_test_dirty(folio) ||
		    folio_test_writeback(folio) || !folio_test_checked(folio)) {
			folio_unlock(folio);
			ops->stop(ctx);
			continue;
		}
		/* Write-protects every mapping of it: a later store faults. */
		folio_clear_dirty_for_io(folio);
		folio_clear_checked(folio);
		*handled = true;
		err = ops->journal(ctx, folio);
		if (err) {
			/* Kept dirty (and journalled again next time). */
			folio_set_checked(folio);
			folio_redirty_for_writepage(wbc, folio);
			mapping_set_error(mapping, err);
		}
		folio_unlock(folio);
		ops->stop(ctx);
		return err;
	}
	folio_unlock(folio);
	return 0;
}

/*
 * writepages of a file with journalled data. The walk is rext4's own, not
 * writeback_iter: that one waits for a folio's writeback with the folio
 * locked, and here writeback ends only at a commit. For data integrity
 * (WB_SYNC_ALL) the file's last data transaction is committed first, every
 * tagged folio is handled even after one failed (the first error is
 * returned at the end), a folio still under writeback is waited for (no
 * lock held), and what the walk journalled is committed before it returns
 * (the caller's wait for writeback then ends with that commit). Other
 * writeback skips folios under writeback and stops at the first error or
 * when nr_to_write is used up.
 */
int rext4_writepages_journalled(struct address_space *mapping, struct writeback_control *wbc,
				const struct rext4_wb_ops *ops, void *ctx)
{
	bool sync = wbc->sync_mode == WB_SYNC_ALL;
	pgoff_t index, end;
	struct folio_batch fbatch;
	xa_mark_t tag;
	bool done = false;
	int first = 0;

	if (wbc->range_cyclic) {
		index = mapping->writeback_index;
		end = (pgoff_t)-1;
	} else {
		index = wbc->range_start >> PAGE_SHIFT;
		end = wbc->range_end >> PAGE_SHIFT;
	}
	if (sync)
		ops->commit(ctx);
	else if (mapping_tagged(mapping, PAGECACHE_TAG_WRITEBACK))
		/*
		 * Folios held until a commit: it is started now (no wait), so
		 * that a data-integrity pass after this one, whose inode this
		 * pass may leave clean, does not wait for the periodic one.
		 */
		ops->start_commit(ctx);
	if (sync || wbc->tagged_writepages) {
		tag = PAGECACHE_TAG_TOWRITE;
		tag_pages_for_writeback(mapping, index, end);
	} else {
		tag = PAGECACHE_TAG_DIRTY;
	}
	folio_batch_init(&fbatch);
	while (!done && filemap_get_folios_tag(mapping, &index, end, tag, &fbatch)) {
		unsigned int i;

		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];
			bool handled;
			int err = rext4_wb_folio(mapping, wbc, folio, ops, ctx, &handled);

			if (err && !first)
				first = err;
			/* Only folios written count (as with writeback_iter). */
			if (handled)
				wbc->nr_to_write -= folio_nr_pages(folio);
			if (!sync && (err || wbc->nr_to_write <= 0)) {
				done = true;
				if (wbc->range_cyclic)
					mapping->writeback_index = folio_next_index(folio);
				break;
			}
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	if (!done && wbc->range_cyclic)
		mapping->writeback_index = 0;
	if (sync)
		ops->commit(ctx);
	return first;
}

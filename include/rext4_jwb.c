// SPDX-License-Identifier: GPL-2.0
/*
 * Folios held under writeback until their jbd2 transaction commits (see
 * rext4_data_wb.c for why and who attaches them). Self-contained: the
 * KUnit module compiles this file too and tests it on its own.
 *
 * REXT4_UNSAFE_NO_WB_UNTIL_COMMIT (make REXT4_UNSAFE_NO_WB_UNTIL_COMMIT=1,
 * a test-only build, tools/unsafe-module.sh) leaves folios out of
 * writeback: the negative control of the mmap crash test, which must then
 * find checksum errors at replay. Never use it otherwise.
 */
#include "rext4_bindings.h"

/* One folio under writeback until its transaction commits. */
struct rext4_jwb {
	struct list_head list;
	struct folio *folio;
};

/* Guards every transaction's t_private_list (jbd2 leaves it to us). */
static DEFINE_SPINLOCK(rext4_jwb_lock);

/*
 * Sets locked folio `folio`, whose buffers were just journalled in
 * transaction `t` (which a running handle pins), under writeback until `t`
 * commits. Nothing to do for a folio already under writeback: the
 * journalling paths only go on with one that is attached to `t` itself.
 */
void rext4_folio_attach_commit(transaction_t *t, struct folio *folio)
{
	struct rext4_jwb *e;

	if (IS_ENABLED(REXT4_UNSAFE_NO_WB_UNTIL_COMMIT) || folio_test_writeback(folio))
		return;
	/* Small and short-lived, as jbd2's own journal heads (NOFS inside a handle). */
	e = kmalloc(sizeof(*e), GFP_NOFS | __GFP_NOFAIL);
	e->folio = folio;
	folio_get(folio);
	folio_start_writeback(folio);
	spin_lock(&rext4_jwb_lock);
	list_add_tail(&e->list, &t->t_private_list);
	spin_unlock(&rext4_jwb_lock);
	/*
	 * The inode is written back by sync(2)'s integrity pass, whose
	 * writepages commits (folio writeback of an inode that is not dirty
	 * would otherwise only be waited for, until the periodic commit).
	 */
	if (folio->mapping && folio->mapping->host)
		__mark_inode_dirty(folio->mapping->host, I_DIRTY_PAGES);
}

void rext4_folio_attach_handle(handle_t *handle, struct folio *folio)
{
	rext4_folio_attach_commit(handle->h_transaction, folio);
}

/*
 * The commit callback's part: ends the writeback of every folio attached
 * to `t` (no handle of `t` runs any more), recording -EIO in their mapping
 * when the journal was aborted (their data may not be in the log). Returns
 * how many folios it released.
 */
unsigned int rext4_folio_commit_done(transaction_t *t, bool aborted)
{
	struct rext4_jwb *e, *next;
	unsigned int n = 0;
	LIST_HEAD(done);

	spin_lock(&rext4_jwb_lock);
	list_splice_init(&t->t_private_list, &done);
	spin_unlock(&rext4_jwb_lock);
	list_for_each_entry_safe(e, next, &done, list) {
		struct address_space *mapping = folio_mapping(e->folio);

		if (aborted && mapping)
			mapping_set_error(mapping, -EIO);
		folio_end_writeback(e->folio);
		folio_put(e->folio);
		kfree(e);
		n++;
	}
	return n;
}

/* Whether a buffer of locked folio `folio` is journalled in the handle's transaction. */
bool rext4_folio_in_handle(handle_t *handle, struct folio *folio)
{
	struct buffer_head *head = folio_buffers(folio), *bh;
	transaction_t *t = handle->h_transaction;
	bool found = false;

	if (!head)
		return false;
	bh = head;
	do {
		struct journal_head *jh = jbd2_journal_grab_journal_head(bh);

		if (jh) {
			spin_lock(&jh->b_state_lock);
			found = jh->b_transaction == t;
			spin_unlock(&jh->b_state_lock);
			jbd2_journal_put_journal_head(jh);
		}
		bh = bh->b_this_page;
	} while (!found && bh != head);
	return found;
}

/*
 * After a failure part-way through journalling locked folio `folio`: if
 * the handle's transaction holds any of its buffers, the folio is held
 * under writeback all the same (a store must not reach them before that
 * commit either).
 */
void rext4_folio_attach_if_journalled(handle_t *handle, struct folio *folio)
{
	if (rext4_folio_in_handle(handle, folio))
		rext4_folio_attach_handle(handle, folio);
}

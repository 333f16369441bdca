// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for static inline kernel functions rext4 calls from Rust: short
 * forwards (a buffer-cache lookup, a plugged readahead batch at most);
 * logic belongs in the Rust crate.
 */
#include "rext4_bindings.h"

struct buffer_head *rext4_sb_bread(struct super_block *sb, sector_t block)
{
	return sb_bread(sb, block);
}

/*
 * sb_bread() of @block after blocks [@ra_start, @ra_end) are read ahead in
 * one plugged batch (as ext4's inode table readahead in
 * __ext4_get_inode_loc); for a block the caller found missing from the
 * buffer cache (rext4_sb_find_uptodate). sb_breadahead() skips blocks that
 * are up to date.
 */
struct buffer_head *rext4_sb_bread_ahead(struct super_block *sb, sector_t block,
					 sector_t ra_start, sector_t ra_end)
{
	struct blk_plug plug;
	sector_t b;

	blk_start_plug(&plug);
	for (b = ra_start; b < ra_end; b++)
		sb_breadahead(sb, b);
	blk_finish_plug(&plug);
	return sb_bread(sb, block);
}

/*
 * @block from the buffer cache, referenced, if it is there and up to date
 * (the test sb_bread() makes before reading); NULL otherwise, nothing read.
 */
struct buffer_head *rext4_sb_find_uptodate(struct super_block *sb, sector_t block)
{
	struct buffer_head *bh = sb_find_get_block(sb, block);

	if (bh && !buffer_uptodate(bh)) {
		brelse(bh);
		return NULL;
	}
	return bh;
}

void rext4_brelse(struct buffer_head *bh)
{
	brelse(bh);
}

void rext4_get_bh(struct buffer_head *bh)
{
	get_bh(bh);
}

loff_t rext4_sb_bdev_nr_bytes(struct super_block *sb)
{
	return bdev_nr_bytes(sb->s_bdev);
}

struct kmem_cache *rext4_kmem_cache_create(const char *name, unsigned int size,
					   unsigned int useroffset,
					   unsigned int usersize,
					   void (*ctor)(void *))
{
	return kmem_cache_create_usercopy(name, size, 0,
					  SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					  useroffset, usersize, ctor);
}

void *rext4_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache)
{
	return alloc_inode_sb(sb, cache, GFP_KERNEL);
}

void rext4_cond_resched(void)
{
	cond_resched();
}

bool rext4_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

void rext4_super_set_uuid(struct super_block *sb, const u8 *uuid)
{
	super_set_uuid(sb, uuid, 16);
	super_set_sysfs_name_bdev(sb);
}

bool rext4_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		    u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}

void rext4_map_bh(struct buffer_head *bh, struct super_block *sb, sector_t block)
{
	map_bh(bh, sb, block);
}

void rext4_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

void rext4_i_uid_gid_write(struct inode *inode, uid_t uid, gid_t gid)
{
	i_uid_write(inode, uid);
	i_gid_write(inode, gid);
}

void rext4_inode_nohighmem(struct inode *inode)
{
	inode_nohighmem(inode);
}

const unsigned char *rext4_dentry_name(const struct dentry *dentry, unsigned int *len)
{
	*len = dentry->d_name.len;
	return dentry->d_name.name;
}

struct inode *rext4_file_inode(const struct file *file)
{
	return file_inode(file);
}

bool rext4_buffer_verified(struct buffer_head *bh)
{
	return buffer_verified(bh);
}

void rext4_set_buffer_verified(struct buffer_head *bh)
{
	set_buffer_verified(bh);
}

void rext4_ratelimit_init(struct ratelimit_state *rs)
{
	ratelimit_default_init(rs);
}

/* The inode data lock; the static lock class key of init_rwsem() here
 * makes it one lockdep class, "i_data_sem", like ext4's. */
void rext4_init_data_sem(struct rw_semaphore *i_data_sem)
{
	init_rwsem(i_data_sem);
}

int rext4_percpu_counter_init(struct percpu_counter *c, s64 value)
{
	return percpu_counter_init(c, value, GFP_KERNEL);
}

void rext4_percpu_counter_add(struct percpu_counter *c, s64 delta)
{
	percpu_counter_add(c, delta);
}

s64 rext4_percpu_counter_sum_positive(struct percpu_counter *c)
{
	return percpu_counter_sum_positive(c);
}

void rext4_percpu_counter_destroy(struct percpu_counter *c)
{
	percpu_counter_destroy(c);
}

/* errorfc(): "<fs name>: message" in the context's log (mount(8) shows it
 * with the new mount API) or, without one, the kernel log. */
void rext4_errorfc(struct fs_context *fc, const void *rust_fmt_args)
{
	errorfc(fc, "%pA", rust_fmt_args);
}

void rext4_posix_acl_release(struct posix_acl *acl)
{
	posix_acl_release(acl);
}

kuid_t rext4_make_kuid(uid_t uid)
{
	return make_kuid(&init_user_ns, uid);
}

kgid_t rext4_make_kgid(gid_t gid)
{
	return make_kgid(&init_user_ns, gid);
}

bool rext4_sb_bdev_read_only(struct super_block *sb)
{
	return bdev_read_only(sb->s_bdev);
}

void rext4_lock_buffer(struct buffer_head *bh)
{
	lock_buffer(bh);
}

void rext4_journal_set_barrier(journal_t *journal, bool on)
{
	write_lock(&journal->j_state_lock);
	if (on)
		journal->j_flags |= JBD2_BARRIER;
	else
		journal->j_flags &= ~JBD2_BARRIER;
	write_unlock(&journal->j_state_lock);
}

void rext4_journal_set_commit_interval(journal_t *journal, unsigned int secs)
{
	write_lock(&journal->j_state_lock);
	journal->j_commit_interval = secs * HZ;
	write_unlock(&journal->j_state_lock);
}

bool rext4_journal_has_barrier(journal_t *journal)
{
	return READ_ONCE(journal->j_flags) & JBD2_BARRIER;
}

/* The incompat features of the journal superblock (read at init). */
u32 rext4_journal_incompat(journal_t *journal)
{
	return be32_to_cpu(journal->j_superblock->s_feature_incompat);
}

void rext4_inode_set_journal(struct inode *inode, umode_t mode,
			     const struct address_space_operations *aops,
			     void *private)
{
	inode->i_mode = mode;
	inode->i_mapping->a_ops = aops;
	inode->i_private = private;
}

void rext4_inode_clear_private(struct inode *inode)
{
	WRITE_ONCE(inode->i_private, NULL);
}

/*
 * crc32c through the crypto API's "crc32c" driver with a descriptor of
 * its exact size on the stack (as ext4_chksum): the library crc32c()
 * declares a descriptor of the largest size any hash may need, which the
 * kernel's automatic stack initialisation zeroes on every call.
 */
struct crypto_shash *rext4_crc32c_driver_alloc(void)
{
	struct crypto_shash *tfm = crypto_alloc_shash("crc32c", 0, 0);

	if (IS_ERR(tfm))
		return NULL;
	if (crypto_shash_descsize(tfm) != sizeof(u32)) {
		crypto_free_shash(tfm);
		return NULL;
	}
	return tfm;
}

void rext4_crc32c_driver_free(struct crypto_shash *tfm)
{
	crypto_free_shash(tfm);
}

u32 rext4_crc32c_driver_update(struct crypto_shash *tfm, u32 crc,
			       const void *data, unsigned int len)
{
	struct {
		struct shash_desc shash;
		u32 ctx;
	} desc;

	desc.shash.tfm = tfm;
	desc.ctx = crc;
	/* The crc32c drivers' update cannot fail. */
	crypto_shash_update(&desc.shash, data, len);
	return desc.ctx;
}

/*
 * Read-write mounts are incomplete (only attribute changes are written so
 * far); they are refused unless this parameter is set.
 */
static bool experimental_write;
module_param(experimental_write, bool, 0644);
MODULE_PARM_DESC(experimental_write,
		 "allow read-write mounts while the write path is incomplete (attribute changes only)");

bool rext4_experimental_write(void)
{
	return READ_ONCE(experimental_write);
}

uid_t rext4_i_uid_read(const struct inode *inode)
{
	return i_uid_read(inode);
}

gid_t rext4_i_gid_read(const struct inode *inode)
{
	return i_gid_read(inode);
}

loff_t rext4_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}


/* Whether this task runs a jbd2 handle (current->journal_info). */
bool rext4_journal_handle_running(void)
{
	return journal_current_handle() != NULL;
}

/*
 * The steps of a synchronous write of a buffer outside the journal (as
 * ext4_commit_super takes them); the sequence is in the Rust glue.
 */
bool rext4_buffer_mapped(struct buffer_head *bh)
{
	return buffer_mapped(bh);
}

bool rext4_buffer_write_failed(struct buffer_head *bh)
{
	return buffer_write_io_error(bh) || !buffer_uptodate(bh);
}

void rext4_buffer_clear_write_error(struct buffer_head *bh)
{
	clear_buffer_write_io_error(bh);
	set_buffer_uptodate(bh);
}

void rext4_submit_bh_sync_write(struct buffer_head *bh, bool fua)
{
	clear_buffer_dirty(bh);
	bh->b_end_io = end_buffer_write_sync;
	submit_bh(REQ_OP_WRITE | REQ_SYNC | (fua ? REQ_FUA : 0), bh);
}

void rext4_wait_on_buffer(struct buffer_head *bh)
{
	wait_on_buffer(bh);
}

bool rext4_buffer_write_io_error(struct buffer_head *bh)
{
	return buffer_write_io_error(bh);
}

/*
 * The buffer of a block the filesystem has just allocated, joined to the
 * handle's transaction as a new block (jbd2_journal_get_create_access,
 * which wants the buffer locked), then zero-filled and marked up to date
 * under the same lock, as ext4 sets up a new directory or extent block:
 * its old contents are never read. NULL with *err set on failure.
 */
struct buffer_head *rext4_journal_create_block(handle_t *handle, struct super_block *sb,
					       sector_t block, int *err)
{
	struct buffer_head *bh = sb_getblk(sb, block);

	if (!bh) {
		*err = -ENOMEM;
		return NULL;
	}
	lock_buffer(bh);
	*err = jbd2_journal_get_create_access(handle, bh);
	if (*err) {
		unlock_buffer(bh);
		brelse(bh);
		return NULL;
	}
	memset(bh->b_data, 0, bh->b_size);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
	return bh;
}

/* The block number of a buffer. */
u64 rext4_buffer_blocknr(struct buffer_head *bh)
{
	return bh->b_blocknr;
}

/*
 * A directory's or inode's change time (and modification time) set to now,
 * and its change counter stepped: i_version changes whenever ctime does.
 */
void rext4_inode_touch(struct inode *inode, bool mtime)
{
	struct timespec64 now = inode_set_ctime_current(inode);

	if (mtime)
		inode_set_mtime_to_ts(inode, now);
	inode_inc_iversion(inode);
}

/* i_version without its "queried" flag. */
u64 rext4_inode_peek_iversion(const struct inode *inode)
{
	return inode_peek_iversion(inode);
}

/* i_version set from disk (an inode being set up), marked queried. */
void rext4_inode_set_iversion_queried(struct inode *inode, u64 val)
{
	inode_set_iversion_queried(inode, val);
}

/* i_version stepped (a change other than through the timestamps). */
void rext4_inode_inc_iversion(struct inode *inode)
{
	inode_inc_iversion(inode);
}

/* i_blocks (512-byte units) of an inode the caller has locked. */
void rext4_inode_set_blocks(struct inode *inode, blkcnt_t blocks)
{
	spin_lock(&inode->i_lock);
	inode->i_blocks = blocks;
	spin_unlock(&inode->i_lock);
}

/* Whether an inode was marked bad. */
bool rext4_is_bad_inode(struct inode *inode)
{
	return is_bad_inode(inode);
}

/*
 * The owner, group and mode of a new inode of `dir` (inode_init_owner),
 * then the mode as POSIX ACLs make it (posix_acl_create: the caller's
 * umask when `dir` has no default ACL; the VFS leaves it to filesystems
 * with ACLs), and its times now. -EOPNOTSUPP when `dir` has a default ACL
 * the new inode would inherit (rext4 cannot write ACLs yet).
 */
int rext4_new_inode_owner(struct mnt_idmap *idmap, struct inode *inode,
			  struct inode *dir, umode_t mode)
{
	struct posix_acl *default_acl, *acl;
	int err;

	inode_init_owner(idmap, inode, dir, mode);
	err = posix_acl_create(dir, &inode->i_mode, &default_acl, &acl);
	if (err)
		return err;
	if (default_acl || acl) {
		posix_acl_release(default_acl);
		posix_acl_release(acl);
		return -EOPNOTSUPP;
	}
	simple_inode_init_ts(inode);
	/* A new inode's first change counter, as ext4's. */
	inode_set_iversion(inode, 1);
	return 0;
}

/* The buffer of `block` if the block device's cache has it, else NULL. */
struct buffer_head *rext4_sb_find_get_block(struct super_block *sb, sector_t block)
{
	return sb_find_get_block(sb, block);
}

/* Sets the journal's commit callback. */
void rext4_journal_set_commit_callback(journal_t *journal,
				       void (*cb)(journal_t *, transaction_t *))
{
	journal->j_commit_callback = cb;
}

/* The id and the journal's private pointer of a committed transaction. */
bool rext4_journal_aborted(journal_t *journal)
{
	return is_journal_aborted(journal);
}

u32 rext4_transaction_tid(transaction_t *transaction)
{
	return transaction->t_tid;
}

void *rext4_journal_private(journal_t *journal)
{
	return journal->j_private;
}

/* A symlink target in kmalloc'd memory, freed once the VFS is done with it. */
void rext4_set_link_free(struct delayed_call *done, void *target)
{
	set_delayed_call(done, kfree_link, target);
}

void rext4_journal_wait_committing(journal_t *journal);

/*
 * Journalled file data (data=journal): the buffers of a file's folio are
 * journalled like metadata. The walks below are the buffer mechanics; the
 * filesystem maps (and allocates) blocks through `map`, which returns 0 and
 * the physical block (0 for a hole when not allocating, never with
 * `create`), with *new set for a block it has just allocated.
 */

/* jbd2 write access to a data buffer; a dirty one is refiled as journalled. */
static int rext4_data_write_access(handle_t *handle, struct buffer_head *bh)
{
	bool dirty = buffer_dirty(bh);
	int err;

	if (dirty)
		clear_buffer_dirty(bh);
	err = jbd2_journal_get_write_access(handle, bh);
	if (!err && dirty)
		err = jbd2_journal_dirty_metadata(handle, bh);
	return err;
}

/*
 * Maps the buffers of locked folio `folio` that overlap [from, to) (bytes in
 * the folio), allocating holes: buffers are created if the folio has none;
 * a new block is cleared of the filesystem's older aliases in the block
 * device's cache and, unless the folio is up to date, has its bytes outside
 * [from, to) zeroed; a partially covered old block not up to date is read.
 * Then every mapped buffer of the range gets jbd2 write access.
 */
static int rext4_prepare_folio_buffers(handle_t *handle, struct folio *folio, size_t from,
				       size_t to, rext4_map_fn map, void *ctx);

int rext4_prepare_folio(handle_t *handle, struct folio *folio, size_t from, size_t to,
			rext4_map_fn map, void *ctx)
{
	int err = rext4_prepare_folio_buffers(handle, folio, from, to, map, ctx);
	unsigned int bsize = i_blocksize(folio->mapping->host);
	struct buffer_head *head = folio_buffers(folio), *bh;
	size_t start, end;

	if (!err || !head)
		return err;
	/*
	 * Blocks allocated before the failure get zeros, journalled like the
	 * rest of the file's data (never dirtied for plain writeback), not
	 * what the device had there.
	 */
	for (bh = head, start = 0; bh != head || !start; bh = bh->b_this_page, start = end) {
		end = start + bsize;
		if (!buffer_new(bh) || end <= from || start >= to)
			continue;
		folio_zero_segment(folio, max(start, from), min(end, to));
		set_buffer_uptodate(bh);
		clear_buffer_new(bh);
		if (!jbd2_journal_get_write_access(handle, bh))
			jbd2_journal_dirty_metadata(handle, bh);
	}
	rext4_folio_attach_if_journalled(handle, folio);
	return err;
}

static int rext4_prepare_folio_buffers(handle_t *handle, struct folio *folio, size_t from,
				       size_t to, rext4_map_fn map, void *ctx)
{
	struct inode *inode = folio->mapping->host;
	unsigned int bsize = i_blocksize(inode);
	u64 lblk = folio_pos(folio) >> inode->i_blkbits;
	struct buffer_head *head, *bh;
	size_t start, end;
	int err = 0;

	head = folio_buffers(folio);
	if (!head)
		head = create_empty_buffers(folio, bsize, 0);
	for (bh = head, start = 0; bh != head || !start; bh = bh->b_this_page, start = end, lblk++) {
		end = start + bsize;
		if (end <= from || start >= to) {
			if (folio_test_uptodate(folio))
				set_buffer_uptodate(bh);
			continue;
		}
		if (!buffer_mapped(bh)) {
			u64 pblk = 0;
			bool new = false;

			err = map(ctx, lblk, true, &pblk, &new);
			if (err)
				return err;
			if (!pblk)
				return -EIO;
			map_bh(bh, inode->i_sb, pblk);
			if (new) {
				clean_bdev_aliases(bh->b_bdev, pblk, 1);
				if (folio_test_uptodate(folio)) {
					set_buffer_uptodate(bh);
				} else {
					set_buffer_new(bh);
					folio_zero_segments(folio, to < end ? to : end, end,
							    start, from > start ? from : start);
				}
				continue;
			}
		}
		if (folio_test_uptodate(folio))
			set_buffer_uptodate(bh);
		if (!buffer_uptodate(bh) && !buffer_new(bh) && (start < from || end > to)) {
			if (bh_read(bh, 0) < 0)
				return -EIO;
		}
	}
	for (bh = head, start = 0; bh != head || !start; bh = bh->b_this_page, start = end) {
		end = start + bsize;
		if (end <= from || start >= to || !buffer_mapped(bh))
			continue;
		err = rext4_data_write_access(handle, bh);
		if (err)
			return err;
	}
	return 0;
}

/*
 * After `copied` of `len` bytes from `from` were copied into the locked
 * folio (rext4_prepare_folio before): new buffers get zeros where nothing
 * was copied, every buffer of the written range is up to date and filed in
 * the handle's transaction, and the folio is up to date once all its
 * buffers are. Returns the bytes that count as written (0 when a short copy
 * left the folio partly stale) or a negative error.
 */
long rext4_commit_folio(handle_t *handle, struct folio *folio, size_t from, size_t len,
			size_t copied)
{
	struct inode *inode = folio->mapping->host;
	unsigned int bsize = i_blocksize(inode);
	struct buffer_head *head = folio_buffers(folio), *bh;
	size_t start, end, to = from + len;
	bool partial = false;
	int err = 0;

	if (!head)
		return -EIO;
	if (copied < len && !folio_test_uptodate(folio))
		copied = 0;
	for (bh = head, start = 0; bh != head || !start; bh = bh->b_this_page, start = end) {
		end = start + bsize;
		/* A new block's bytes nothing was copied to are zeros. */
		if (copied < len && buffer_new(bh) && end > from + copied && start < to)
			folio_zero_segment(folio, max(start, from + copied), min(end, to));
		if (end > from && start < to && buffer_mapped(bh) &&
		    (start < from + copied || buffer_new(bh))) {
			int e;

			set_buffer_uptodate(bh);
			e = jbd2_journal_dirty_metadata(handle, bh);
			if (e && !err)
				err = e;
			clear_buffer_new(bh);
		}
		if (!buffer_uptodate(bh))
			partial = true;
	}
	if (!partial)
		folio_mark_uptodate(folio);
	if (!err)
		rext4_folio_attach_handle(handle, folio);
	else
		rext4_folio_attach_if_journalled(handle, folio);
	return err ? err : (long)copied;
}

/*
 * Journals the mapped buffers of locked folio `folio` up to byte `len`
 * (page_mkwrite, and writeback of a folio dirtied through a mapping),
 * allocating holes through `map` first; bytes of the folio past `len`
 * (past the end of the file) are zeroed.
 */
int rext4_journal_folio(handle_t *handle, struct folio *folio, size_t len,
			rext4_map_fn map, void *ctx)
{
	struct buffer_head *head, *bh;
	size_t start, end;
	unsigned int bsize = i_blocksize(folio->mapping->host);
	int err;

	if (len < folio_size(folio))
		folio_zero_segment(folio, len, folio_size(folio));
	err = rext4_prepare_folio(handle, folio, 0, len, map, ctx);
	if (err)
		return err;
	head = folio_buffers(folio);
	for (bh = head, start = 0; bh != head || !start; bh = bh->b_this_page, start = end) {
		end = start + bsize;
		if (start >= len || !buffer_mapped(bh))
			continue;
		set_buffer_uptodate(bh);
		clear_buffer_new(bh);
		err = jbd2_journal_dirty_metadata(handle, bh);
		if (err) {
			rext4_folio_attach_if_journalled(handle, folio);
			return err;
		}
	}
	rext4_folio_attach_handle(handle, folio);
	return 0;
}

/*
 * Zeroes bytes [pos, pos + len) of one block of a file (len stays inside
 * the block) through its page cache and journals the block (truncation of
 * the block holding the new end of file); nothing for a hole.
 */
int rext4_zero_block_range(handle_t *handle, struct address_space *mapping, loff_t pos,
			   size_t len, rext4_map_fn map, void *ctx)
{
	struct inode *inode = mapping->host;
	unsigned int bsize = i_blocksize(inode);
	size_t off = offset_in_page(pos);
	struct folio *folio;
	struct buffer_head *bh;
	u64 lblk = pos >> inode->i_blkbits;
	int err = 0;

	/* No FGP_STABLE: see write_begin's lookup in rext4_data_wb.c. */
	folio = __filemap_get_folio(mapping, pos >> PAGE_SHIFT,
				    FGP_LOCK | FGP_WRITE | FGP_CREAT | FGP_ACCESSED,
				    mapping_gfp_constraint(mapping, ~__GFP_FS));
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	/*
	 * Under writeback for another reason than this transaction (written
	 * home, or held by an older transaction's commit): waited for, so
	 * that the folio can be held by this one. Safe with the handle open:
	 * neither a bio's completion nor an older transaction's commit waits
	 * for it (only this transaction's commit does, and a folio it holds
	 * is not waited for).
	 */
	if (folio_test_writeback(folio) && !rext4_folio_in_handle(handle, folio))
		folio_wait_writeback(folio);
	bh = folio_buffers(folio);
	if (!bh)
		bh = create_empty_buffers(folio, bsize, 0);
	while (off >= bh_offset(bh) + bsize)
		bh = bh->b_this_page;
	if (!buffer_mapped(bh)) {
		u64 pblk = 0;
		bool new = false;

		err = map(ctx, lblk, false, &pblk, &new);
		if (err || !pblk)
			goto out;
		map_bh(bh, inode->i_sb, pblk);
	}
	if (folio_test_uptodate(folio))
		set_buffer_uptodate(bh);
	if (!buffer_uptodate(bh) && bh_read(bh, 0) < 0) {
		err = -EIO;
		goto out;
	}
	err = rext4_seal_folio(handle, folio, map, ctx);
	if (err)
		goto out;
	err = rext4_data_write_access(handle, bh);
	if (err)
		goto out;
	folio_zero_range(folio, off, len);
	err = jbd2_journal_dirty_metadata(handle, bh);
	if (!err)
		rext4_folio_attach_handle(handle, folio);
out:
	if (err)
		rext4_folio_attach_if_journalled(handle, folio);
	folio_unlock(folio);
	folio_put(folio);
	return err;
}

bool rext4_is_err_or_null(const void *p)
{
	return IS_ERR_OR_NULL(p);
}

void rext4_folio_unlock_put(struct folio *folio)
{
	folio_unlock(folio);
	folio_put(folio);
}

void rext4_folio_unlock(struct folio *folio)
{
	folio_unlock(folio);
}

/* The offset of file position `pos` inside `folio`. */
long rext4_folio_offset(struct folio *folio, loff_t pos)
{
	return offset_in_folio(folio, pos);
}

/* The vm_operations of a file whose shared mappings are written. */
void rext4_set_vm_ops(struct vm_area_struct *vma, const struct vm_operations_struct *ops)
{
	vma->vm_ops = ops;
}

/* page_mkwrite's start: freeze protection and the file's times. */
void rext4_mkwrite_enter(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);

	sb_start_pagefault(inode->i_sb);
	file_update_time(vmf->vma->vm_file);
	filemap_invalidate_lock_shared(inode->i_mapping);
}

void rext4_mkwrite_exit(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);

	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
}

/*
 * The folio of a write fault, locked, if it still belongs to the file and
 * lies (at least partly) inside it: its byte count inside the file is
 * returned in *len. NULL otherwise (truncated meanwhile: the fault is
 * retried); with `nowait` (a handle is open), ERR_PTR(-EAGAIN) when the
 * lock is taken.
 */
struct folio *rext4_mkwrite_folio(struct vm_fault *vmf, size_t *len, bool nowait)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct folio *folio = page_folio(vmf->page);
	loff_t size;

	if (!nowait)
		folio_lock(folio);
	else if (!folio_trylock(folio))
		return ERR_PTR(-EAGAIN);
	size = i_size_read(inode);
	if (folio->mapping != inode->i_mapping || folio_pos(folio) >= size) {
		folio_unlock(folio);
		return NULL;
	}
	*len = folio_size(folio);
	if (folio_pos(folio) + *len > size)
		*len = size - folio_pos(folio);
	return folio;
}

/* The inode of a fault's file. */
struct inode *rext4_fault_inode(struct vm_fault *vmf)
{
	return file_inode(vmf->vma->vm_file);
}

/* file_accessed() for mmap. */
void rext4_file_accessed(struct file *file)
{
	file_accessed(file);
}

/*
 * The bytes of `folio` inside a file of `size` bytes (the whole folio, or
 * up to the end of the file), -1 when it lies past the end.
 */
long rext4_folio_len_in_file(struct folio *folio, loff_t size)
{
	if (folio_pos(folio) >= size)
		return -1;
	if (folio_pos(folio) + folio_size(folio) > size)
		return size - folio_pos(folio);
	return folio_size(folio);
}

/* The host inode of a folio's mapping. */
struct inode *rext4_folio_inode(struct folio *folio)
{
	return folio->mapping->host;
}

/* Waits for the commit of the journal's committing transaction, if any. */
void rext4_journal_wait_committing(journal_t *journal)
{
	tid_t tid = 0;
	bool committing = false;

	read_lock(&journal->j_state_lock);
	if (journal->j_committing_transaction) {
		tid = journal->j_committing_transaction->t_tid;
		committing = true;
	}
	read_unlock(&journal->j_state_lock);
	if (committing)
		jbd2_log_wait_commit(journal, tid);
}

/*
 * Before a truncation to a size inside a page whose blocks past the new
 * end may still be in the committing transaction (blocks smaller than a
 * page), their buffers are invalidated through jbd2 now, waiting for that
 * commit as long as jbd2 answers EBUSY: the truncation of the page cache
 * that follows can then drop them.
 */
void rext4_wait_tail_folio_commit(journal_t *journal, struct inode *inode)
{
	loff_t size = i_size_read(inode);
	size_t offset = size & (PAGE_SIZE - 1);

	if (!offset || offset > PAGE_SIZE - i_blocksize(inode))
		return;
	for (;;) {
		struct folio *folio = filemap_lock_folio(inode->i_mapping, size >> PAGE_SHIFT);
		int ret;

		if (IS_ERR(folio))
			return;
		ret = jbd2_journal_invalidate_folio(journal, folio, offset,
						    folio_size(folio) - offset);
		folio_unlock(folio);
		folio_put(folio);
		if (ret != -EBUSY)
			return;
		rext4_journal_wait_committing(journal);
	}
}

void rext4_invalidate_lock(struct inode *inode)
{
	filemap_invalidate_lock(inode->i_mapping);
}

void rext4_invalidate_unlock(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
}

/*
 * Dirtying of a folio of journalled data through the page tables (a
 * write to a shared mapping, or pinned pages written by DMA): the folio
 * is marked "checked", so writeback journals it again. A folio dirtied
 * because jbd2 exposed its committed buffers for checkpointing
 * (mark_buffer_dirty, which does not come here) is only written home.
 */
bool rext4_dirty_folio_journalled(struct address_space *mapping, struct folio *folio)
{
	folio_set_checked(folio);
	return filemap_dirty_folio(mapping, folio);
}

/*
 * Writes the dirty buffers of a locked folio home (committed journalled
 * data jbd2 exposed for checkpointing), unlocking it; a folio past the end
 * of the file is dropped, one straddling it has its tail zeroed first.
 * Through the block-device hook's completion where there is one.
 */
int rext4_write_home_folio(struct folio *folio, struct writeback_control *wbc,
			   get_block_t *get_block)
{
	struct inode *inode = folio->mapping->host;
	loff_t size = i_size_read(inode);
	int err;

	if (folio_pos(folio) >= size) {
		folio_unlock(folio);
		return 0;
	}
	if (folio_pos(folio) + folio_size(folio) > size)
		folio_zero_segment(folio, offset_in_folio(folio, size), folio_size(folio));
	err = rext4_bdev_hook_write_home(folio, wbc);
	if (err != -ENOENT)
		return err;
	return __block_write_full_folio(inode, folio, get_block, wbc);
}

/* Writes the file's dirty folios in [start, end] and waits for them. */
int rext4_write_and_wait(struct inode *inode, loff_t start, loff_t end)
{
	return filemap_write_and_wait_range(inode->i_mapping, start, end);
}

/* Whether the file has folios in its page cache. */
bool rext4_has_pages(struct inode *inode)
{
	return inode->i_mapping->nrpages != 0;
}

/* The transaction id of a running handle. */
u32 rext4_handle_tid(handle_t *handle)
{
	return handle->h_transaction->t_tid;
}

/* Freeze protection for the filesystem's own internal writes (eviction). */
void rext4_sb_start_intwrite(struct super_block *sb)
{
	sb_start_intwrite(sb);
}

void rext4_sb_end_intwrite(struct super_block *sb)
{
	sb_end_intwrite(sb);
}

/*
 * A workqueue for work queued from the writeback path: WQ_MEM_RECLAIM (a
 * rescuer thread), one item at a time, named after the device.
 */
struct workqueue_struct *rext4_alloc_reclaim_wq(const char *id)
{
	return alloc_workqueue("rext4-%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 1, id);
}

/* INIT_WORK (a macro: it declares the lock class key). */
void rext4_init_work(struct work_struct *work, work_func_t func)
{
	INIT_WORK(work, func);
}

/* queue_work (inline); false if the item was pending already. */
bool rext4_queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	return queue_work(wq, work);
}

/* errors=panic (panic() takes a format). */
void rext4_panic(const char *id)
{
	panic("rext4 (%s): panic forced after error\n", id);
}

/* The system is halting, powering off or restarting (ext4's test). */
bool rext4_system_going_down(void)
{
	return system_state == SYSTEM_HALT || system_state == SYSTEM_POWER_OFF ||
	       system_state == SYSTEM_RESTART;
}

/*
 * The block device's writeback error sequence (errseq_t of its mapping):
 * sampled at mount, then checked cheaply, and advanced (under the
 * caller's lock) when it moved.
 */
u32 rext4_bdev_wb_err_sample(struct super_block *sb)
{
	return errseq_sample(&sb->s_bdev->bd_mapping->wb_err);
}

int rext4_bdev_wb_err_peek(struct super_block *sb, u32 since)
{
	return errseq_check(&sb->s_bdev->bd_mapping->wb_err, since);
}

int rext4_bdev_wb_err_advance(struct super_block *sb, u32 *since)
{
	return errseq_check_and_advance(&sb->s_bdev->bd_mapping->wb_err, since);
}

/* sync_blockdev of the filesystem's device. */
int rext4_sync_bdev(struct super_block *sb)
{
	return sync_blockdev(sb->s_bdev);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for static inline kernel functions rext4 calls from Rust. Only
 * one-line forwards live here: logic belongs in the Rust crate.
 */
#include "rext4_bindings.h"

struct buffer_head *rext4_sb_bread(struct super_block *sb, sector_t block)
{
	return sb_bread(sb, block);
}

/*
 * sb_bread() of @block; if it is not in the buffer cache yet, blocks
 * [@ra_start, @ra_end) are first read ahead in one plugged batch (as
 * ext4's inode table readahead in __ext4_get_inode_loc).
 */
struct buffer_head *rext4_sb_bread_ahead(struct super_block *sb, sector_t block,
					 sector_t ra_start, sector_t ra_end)
{
	struct buffer_head *bh = sb_find_get_block(sb, block);

	if (!bh || !buffer_uptodate(bh)) {
		struct blk_plug plug;
		sector_t b;

		blk_start_plug(&plug);
		for (b = ra_start; b < ra_end; b++)
			sb_breadahead(sb, b);
		blk_finish_plug(&plug);
	}
	brelse(bh);
	return sb_bread(sb, block);
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

/* A directory's or inode's change time (and modification time) set to now. */
void rext4_inode_touch(struct inode *inode, bool mtime)
{
	struct timespec64 now = inode_set_ctime_current(inode);

	if (mtime)
		inode_set_mtime_to_ts(inode, now);
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

/* The current task's idmapped owner for a new inode of `dir`. */
void rext4_new_inode_owner(struct mnt_idmap *idmap, struct inode *inode,
			   const struct inode *dir, umode_t mode)
{
	inode_init_owner(idmap, inode, dir, mode);
	simple_inode_init_ts(inode);
}

/* A symlink target in kmalloc'd memory, freed once the VFS is done with it. */
void rext4_set_link_free(struct delayed_call *done, void *target)
{
	set_delayed_call(done, kfree_link, target);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API rext4 uses, as bindgen sees it. tools/bindgen.sh turns this
 * header into rust/bindings_generated.rs with the flags the kernel used for
 * its own rust/bindings; never edit the generated file by hand.
 *
 * Static inline functions cannot be bound; include/rext4_helpers.c wraps the
 * ones rext4 needs as rext4_*() and declares them here.
 */
#ifndef REXT4_BINDINGS_H
#define REXT4_BINDINGS_H

#include <crypto/hash.h>
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/crc32c.h>
#include <linux/capability.h>
#include <linux/dcache.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/iversion.h>
#include <linux/jbd2.h>
#include <linux/module.h>
#include <linux/mpage.h>
#include <linux/pagemap.h>
#include <linux/percpu_counter.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/random.h>
#include <linux/rwsem.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/statfs.h>
#include <linux/uidgid.h>
#include <linux/workqueue.h>
#include <linux/xattr.h>

#ifdef __BINDGEN__
/* Macros bindgen cannot evaluate (BIT() and friends), as typed constants. */
const unsigned long REXT4_SB_RDONLY = SB_RDONLY;
const unsigned long REXT4_SB_POSIXACL = SB_POSIXACL;
const unsigned long REXT4_SB_I_VERSION = SB_I_VERSION;
const unsigned long REXT4_I_NEW = I_NEW;
const unsigned int REXT4_FIEMAP_FLAG_CACHE = FIEMAP_FLAG_CACHE;
const unsigned short REXT4_IOMAP_HOLE = IOMAP_HOLE;
const unsigned short REXT4_IOMAP_MAPPED = IOMAP_MAPPED;
const unsigned short REXT4_IOMAP_UNWRITTEN = IOMAP_UNWRITTEN;
const unsigned int REXT4_S_SYNC = S_SYNC;
const unsigned int REXT4_S_NOATIME = S_NOATIME;
const unsigned int REXT4_S_APPEND = S_APPEND;
const unsigned int REXT4_S_IMMUTABLE = S_IMMUTABLE;
const unsigned int REXT4_S_DIRSYNC = S_DIRSYNC;
const unsigned int REXT4_STATX_BTIME = STATX_BTIME;
const unsigned long long REXT4_STATX_ATTR_IMMUTABLE = STATX_ATTR_IMMUTABLE;
const unsigned long long REXT4_STATX_ATTR_APPEND = STATX_ATTR_APPEND;
const unsigned long long REXT4_STATX_ATTR_NODUMP = STATX_ATTR_NODUMP;
const unsigned long long REXT4_STATX_ATTR_COMPRESSED = STATX_ATTR_COMPRESSED;
const unsigned long long REXT4_STATX_ATTR_ENCRYPTED = STATX_ATTR_ENCRYPTED;
const int REXT4_SEEK_DATA = SEEK_DATA;
const int REXT4_SEEK_HOLE = SEEK_HOLE;
const int REXT4_FS_VALUE_IS_FLAG = fs_value_is_flag;
const int REXT4_FS_VALUE_IS_STRING = fs_value_is_string;
const unsigned int REXT4_S_IFREG = S_IFREG;
const unsigned int REXT4_JBD2_FEATURE_COMPAT_CHECKSUM = JBD2_FEATURE_COMPAT_CHECKSUM;
const unsigned int REXT4_JBD2_FEATURE_INCOMPAT_CSUM_V2 = JBD2_FEATURE_INCOMPAT_CSUM_V2;
const unsigned int REXT4_JBD2_FEATURE_INCOMPAT_CSUM_V3 = JBD2_FEATURE_INCOMPAT_CSUM_V3;
const unsigned int REXT4_JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT = JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT;
const unsigned int REXT4_JBD2_FEATURE_INCOMPAT_FAST_COMMIT = JBD2_FEATURE_INCOMPAT_FAST_COMMIT;
const int REXT4_I_DIRTY_TIME = I_DIRTY_TIME;
const unsigned int REXT4_ATTR_SIZE = ATTR_SIZE;
const unsigned int REXT4_ATTR_MODE = ATTR_MODE;
const unsigned int REXT4_ATTR_KILL_PRIV = ATTR_KILL_PRIV;
const gfp_t REXT4_GFP_NOFS = GFP_NOFS;
const unsigned int REXT4_VM_FAULT_LOCKED = VM_FAULT_LOCKED;
const unsigned int REXT4_VM_FAULT_NOPAGE = VM_FAULT_NOPAGE;
const unsigned int REXT4_VM_FAULT_OOM = VM_FAULT_OOM;
const unsigned int REXT4_VM_FAULT_SIGBUS = VM_FAULT_SIGBUS;
const unsigned int REXT4_RENAME_NOREPLACE = RENAME_NOREPLACE;
const unsigned int REXT4_RENAME_EXCHANGE = RENAME_EXCHANGE;
const unsigned int REXT4_RENAME_WHITEOUT = RENAME_WHITEOUT;
const unsigned int REXT4_S_IFMT = S_IFMT;
const unsigned int REXT4_S_IFDIR = S_IFDIR;
const unsigned int REXT4_S_IFLNK = S_IFLNK;
#endif

/* Shims over static inline functions (include/rext4_helpers.c). */
struct buffer_head *rext4_sb_bread(struct super_block *sb, sector_t block);
struct buffer_head *rext4_sb_find_uptodate(struct super_block *sb, sector_t block);
struct buffer_head *rext4_sb_bread_ahead(struct super_block *sb, sector_t block,
					 sector_t ra_start, sector_t ra_end);
void rext4_brelse(struct buffer_head *bh);
void rext4_get_bh(struct buffer_head *bh);
loff_t rext4_sb_bdev_nr_bytes(struct super_block *sb);
struct kmem_cache *rext4_kmem_cache_create(const char *name, unsigned int size,
					   unsigned int useroffset,
					   unsigned int usersize,
					   void (*ctor)(void *));
void *rext4_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache);
void rext4_cond_resched(void);
bool rext4_fatal_signal_pending(void);
void rext4_super_set_uuid(struct super_block *sb, const u8 *uuid);
bool rext4_buffer_verified(struct buffer_head *bh);
void rext4_set_buffer_verified(struct buffer_head *bh);
void rext4_ratelimit_init(struct ratelimit_state *rs);
bool rext4_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		    u64 ino, unsigned int type);
void rext4_map_bh(struct buffer_head *bh, struct super_block *sb, sector_t block);
void rext4_i_size_write(struct inode *inode, loff_t size);
void rext4_i_uid_gid_write(struct inode *inode, uid_t uid, gid_t gid);
void rext4_inode_nohighmem(struct inode *inode);
const unsigned char *rext4_dentry_name(const struct dentry *dentry, unsigned int *len);
struct inode *rext4_file_inode(const struct file *file);
void rext4_errorfc(struct fs_context *fc, const void *rust_fmt_args);
void rext4_init_data_sem(struct rw_semaphore *i_data_sem);
int rext4_percpu_counter_init(struct percpu_counter *c, s64 value);
void rext4_percpu_counter_add(struct percpu_counter *c, s64 delta);
s64 rext4_percpu_counter_sum_positive(struct percpu_counter *c);
void rext4_percpu_counter_destroy(struct percpu_counter *c);
void rext4_posix_acl_release(struct posix_acl *acl);
kuid_t rext4_make_kuid(uid_t uid);
kgid_t rext4_make_kgid(gid_t gid);
bool rext4_sb_bdev_read_only(struct super_block *sb);
void rext4_lock_buffer(struct buffer_head *bh);
void rext4_journal_set_barrier(journal_t *journal, bool on);
void rext4_journal_set_commit_interval(journal_t *journal, unsigned int secs);
bool rext4_journal_has_barrier(journal_t *journal);
u32 rext4_journal_incompat(journal_t *journal);
void rext4_inode_set_journal(struct inode *inode, umode_t mode,
			     const struct address_space_operations *aops,
			     void *private);
void rext4_inode_clear_private(struct inode *inode);
struct crypto_shash *rext4_crc32c_driver_alloc(void);
void rext4_crc32c_driver_free(struct crypto_shash *tfm);
u32 rext4_crc32c_driver_update(struct crypto_shash *tfm, u32 crc,
			       const void *data, unsigned int len);
bool rext4_experimental_write(void);
uid_t rext4_i_uid_read(const struct inode *inode);
gid_t rext4_i_gid_read(const struct inode *inode);
loff_t rext4_i_size_read(const struct inode *inode);
bool rext4_journal_handle_running(void);
bool rext4_buffer_mapped(struct buffer_head *bh);
bool rext4_buffer_write_failed(struct buffer_head *bh);
void rext4_buffer_clear_write_error(struct buffer_head *bh);
void rext4_submit_bh_sync_write(struct buffer_head *bh, bool fua);
void rext4_wait_on_buffer(struct buffer_head *bh);
bool rext4_buffer_write_io_error(struct buffer_head *bh);
struct buffer_head *rext4_journal_create_block(handle_t *handle, struct super_block *sb,
					       sector_t block, int *err);
u64 rext4_buffer_blocknr(struct buffer_head *bh);
void rext4_inode_touch(struct inode *inode, bool mtime);
u64 rext4_inode_peek_iversion(const struct inode *inode);
void rext4_inode_set_iversion_queried(struct inode *inode, u64 val);
void rext4_inode_inc_iversion(struct inode *inode);
struct workqueue_struct *rext4_alloc_reclaim_wq(const char *id);
void rext4_init_work(struct work_struct *work, work_func_t func);
bool rext4_queue_work(struct workqueue_struct *wq, struct work_struct *work);
void rext4_panic(const char *id) __attribute__((noreturn));
struct rext4_bdev_hook;
int rext4_bdev_hook_init(void);
void rext4_bdev_hook_exit(void);
struct rext4_bdev_hook *rext4_bdev_hook_install(struct super_block *sb,
						struct workqueue_struct *wq, work_func_t fn);
void rext4_bdev_hook_remove(struct rext4_bdev_hook *h);
struct rext4_bdev_hook *rext4_bdev_hook_of_work(struct work_struct *work);
struct super_block *rext4_bdev_hook_sb(struct rext4_bdev_hook *h);
int rext4_bdev_hook_take(struct rext4_bdev_hook *h, u64 *block, u64 *when_ns,
			 unsigned int *device);
u64 rext4_bdev_hook_submitted(struct rext4_bdev_hook *h);
int rext4_bdev_hook_write_home(struct folio *folio, struct writeback_control *wbc);
u64 rext4_ktime_ns(void);
bool rext4_system_going_down(void);
int rext4_sync_bdev(struct super_block *sb);
u32 rext4_bdev_wb_err_sample(struct super_block *sb);
int rext4_bdev_wb_err_peek(struct super_block *sb, u32 since);
int rext4_bdev_wb_err_advance(struct super_block *sb, u32 *since);
void rext4_inode_set_blocks(struct inode *inode, blkcnt_t blocks);
bool rext4_is_bad_inode(struct inode *inode);
void rext4_set_link_free(struct delayed_call *done, void *target);
typedef int (*rext4_map_fn)(void *ctx, u64 lblk, bool create, u64 *pblk, bool *new);
int rext4_prepare_folio(handle_t *handle, struct folio *folio, size_t from, size_t to,
			rext4_map_fn map, void *ctx);
long rext4_commit_folio(handle_t *handle, struct folio *folio, size_t from, size_t len,
			size_t copied);
int rext4_journal_folio(handle_t *handle, struct folio *folio, size_t len,
			rext4_map_fn map, void *ctx);
int rext4_zero_block_range(handle_t *handle, struct address_space *mapping, loff_t pos,
			   size_t len, rext4_map_fn map, void *ctx);
/* What the journalled-data writepages asks of the filesystem (rext4_data_wb.c). */
struct rext4_wb_ops {
	/* Starts a handle for one folio (before its lock is taken). */
	int (*start)(void *ctx);
	/* Stops it (an error is the filesystem's to keep). */
	void (*stop)(void *ctx);
	/* Journals the locked folio's buffers inside the handle. */
	int (*journal)(void *ctx, struct folio *folio);
	/* Commits the file's last data transaction and waits (no handle open). */
	void (*commit)(void *ctx);
	/* Starts the commit of the running transaction, without waiting. */
	void (*start_commit)(void *ctx);
	/* Maps (never allocates) the blocks of committed data written home. */
	get_block_t *get_block;
};
int rext4_writepages_journalled(struct address_space *mapping, struct writeback_control *wbc,
				const struct rext4_wb_ops *ops, void *ctx);
void rext4_folio_attach_commit(transaction_t *t, struct folio *folio);
void rext4_folio_attach_handle(handle_t *handle, struct folio *folio);
unsigned int rext4_folio_commit_done(transaction_t *t, bool aborted);
bool rext4_folio_in_handle(handle_t *handle, struct folio *folio);
void rext4_folio_attach_if_journalled(handle_t *handle, struct folio *folio);
int rext4_seal_folio(handle_t *handle, struct folio *folio, rext4_map_fn map, void *ctx);
int rext4_mkwrite_map(handle_t *handle, struct folio *folio, size_t len, rext4_map_fn map,
		      void *ctx);
struct folio *rext4_write_begin_folio_nowait(struct address_space *mapping, loff_t pos);
int rext4_write_begin_wait_folio(struct address_space *mapping, loff_t pos);
bool rext4_folio_test_writeback(struct folio *folio);
void rext4_folio_wait_writeback(struct folio *folio);
void rext4_folio_put(struct folio *folio);
void rext4_set_vm_ops(struct vm_area_struct *vma, const struct vm_operations_struct *ops);
void rext4_mkwrite_enter(struct vm_fault *vmf);
void rext4_mkwrite_exit(struct vm_fault *vmf);
struct folio *rext4_mkwrite_folio(struct vm_fault *vmf, size_t *len, bool nowait);
struct inode *rext4_fault_inode(struct vm_fault *vmf);
void rext4_file_accessed(struct file *file);
bool rext4_is_err_or_null(const void *p);
void rext4_folio_unlock_put(struct folio *folio);
void rext4_folio_unlock(struct folio *folio);
long rext4_folio_offset(struct folio *folio, loff_t pos);
long rext4_folio_len_in_file(struct folio *folio, loff_t size);
struct inode *rext4_folio_inode(struct folio *folio);
void rext4_journal_wait_committing(journal_t *journal);
void rext4_wait_tail_folio_commit(journal_t *journal, struct inode *inode);
void rext4_invalidate_lock(struct inode *inode);
bool rext4_dirty_folio_journalled(struct address_space *mapping, struct folio *folio);
int rext4_write_home_folio(struct folio *folio, struct writeback_control *wbc,
			   get_block_t *get_block);
int rext4_write_and_wait(struct inode *inode, loff_t start, loff_t end);
bool rext4_has_pages(struct inode *inode);
u32 rext4_handle_tid(handle_t *handle);
void rext4_sb_start_intwrite(struct super_block *sb);
void rext4_sb_end_intwrite(struct super_block *sb);
void rext4_invalidate_unlock(struct inode *inode);
int rext4_new_inode_owner(struct mnt_idmap *idmap, struct inode *inode,
			  struct inode *dir, umode_t mode);
struct buffer_head *rext4_sb_find_get_block(struct super_block *sb, sector_t block);
void rext4_journal_set_commit_callback(journal_t *journal,
				       void (*cb)(journal_t *, transaction_t *));
u32 rext4_transaction_tid(transaction_t *transaction);
bool rext4_journal_aborted(journal_t *journal);
void *rext4_journal_private(journal_t *journal);

/* /sys/fs/rext4/<device>/ (rext4_sysfs.c): the attributes' numbers. */
#define REXT4_SYSFS_ERRORS_COUNT 0
#define REXT4_SYSFS_FIRST_ERROR_TIME 1
#define REXT4_SYSFS_LAST_ERROR_TIME 2
#define REXT4_SYSFS_FIRST_ERROR_INO 3
#define REXT4_SYSFS_LAST_ERROR_INO 4
#define REXT4_SYSFS_FIRST_ERROR_BLOCK 5
#define REXT4_SYSFS_LAST_ERROR_BLOCK 6
#define REXT4_SYSFS_FIRST_ERROR_LINE 7
#define REXT4_SYSFS_LAST_ERROR_LINE 8
#define REXT4_SYSFS_FIRST_ERROR_FUNC 9
#define REXT4_SYSFS_LAST_ERROR_FUNC 10
#define REXT4_SYSFS_FIRST_ERROR_ERRCODE 11
#define REXT4_SYSFS_LAST_ERROR_ERRCODE 12
#define REXT4_SYSFS_JOURNAL_TASK 13
#define REXT4_SYSFS_SESSION_WRITE_KBYTES 14
#define REXT4_SYSFS_WRITE_ERRORS 15
#define REXT4_SYSFS_WRITE_ERROR_LATENCY_US 16
#define REXT4_SYSFS_HOOK_WRITES 17
#define REXT4_SYSFS_TRIGGER_FS_ERROR 18
struct rext4_sysfs;
typedef ssize_t (*rext4_sysfs_show_fn)(void *ctx, unsigned int id, char *buf);
typedef ssize_t (*rext4_sysfs_store_fn)(void *ctx, unsigned int id, const char *buf, size_t len);
int rext4_sysfs_init(void);
void rext4_sysfs_exit(void);
struct rext4_sysfs *rext4_sysfs_add(const char *name, void *ctx, rext4_sysfs_show_fn show,
				    rext4_sysfs_store_fn store);
void rext4_sysfs_remove(struct rext4_sysfs *s);
int rext4_journal_task_pid(journal_t *journal);
u64 rext4_bdev_sectors_written(struct super_block *sb);

#endif /* REXT4_BINDINGS_H */

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

void rext4_brelse(struct buffer_head *bh)
{
	brelse(bh);
}

loff_t rext4_sb_bdev_nr_bytes(struct super_block *sb)
{
	return bdev_nr_bytes(sb->s_bdev);
}

struct kmem_cache *rext4_kmem_cache_create(const char *name, unsigned int size,
					   void (*ctor)(void *))
{
	return kmem_cache_create(name, size, 0,
				 SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT, ctor);
}

void *rext4_kmem_cache_alloc(struct kmem_cache *cache)
{
	return kmem_cache_alloc(cache, GFP_KERNEL);
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

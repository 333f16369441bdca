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

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

#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/module.h>
#include <linux/printk.h>

#ifdef __BINDGEN__
/* Macros bindgen cannot evaluate (BIT() and friends), as typed constants. */
const unsigned long REXT4_SB_RDONLY = SB_RDONLY;
#endif

/* Shims over static inline functions (include/rext4_helpers.c). */
struct buffer_head *rext4_sb_bread(struct super_block *sb, sector_t block);
void rext4_brelse(struct buffer_head *bh);
loff_t rext4_sb_bdev_nr_bytes(struct super_block *sb);

#endif /* REXT4_BINDINGS_H */

//! The system zone (ext4's block_validity.c): the blocks that hold
//! filesystem metadata, which no file, directory or extent tree may name.
//!
//! The zone is a sorted array of disjoint, non-adjacent block ranges built
//! once per mount and never changed afterwards: per group the superblock
//! and descriptor-table copies with the reserved descriptor blocks
//! ([`base_meta_range`]), the two bitmaps and the inode table
//! ([`group_ranges`]), plus the internal journal's blocks. The caller
//! collects the ranges into storage of its own (this layer never
//! allocates), [`sort_merge`] orders and merges them in place, and
//! [`Zone::new`] looks at the result. A lookup is a binary search.
//!
//! [`BlockRefs`] is what a block reference read from disk is checked
//! against: inside the filesystem, not block 0, and outside the zone.
//! Extent trees are checked with it when a node is validated (once per
//! read of the node's block from the device), so the zone's size never
//! shows in the cost of mapping a block.

use super::bytes::{div, div_ceil};
use super::features::incompat;
use super::group::{desc_blocks, has_super, GroupDesc};
use super::superblock::Superblock;
use super::{Error, Result};

/// Blocks `start..end` (half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    /// First block.
    pub start: u64,
    /// One past the last block.
    pub end: u64,
}

impl Range {
    /// `len` blocks from `start` (saturating at the end of the block space).
    pub const fn new(start: u64, len: u64) -> Range {
        Range {
            start,
            end: start.saturating_add(len),
        }
    }

    /// Whether the range holds no block.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// First block of group `group`.
pub fn group_first_block(sb: &Superblock, group: u32) -> u64 {
    u64::from(group) * u64::from(sb.blocks_per_group) + u64::from(sb.first_data_block)
}

/// Group descriptors per descriptor block.
fn desc_per_block(sb: &Superblock) -> u64 {
    div(u64::from(sb.block_size()), u64::from(sb.desc_size))
}

/// The metadata at the start of group `group` (ext4's
/// `ext4_num_base_meta_blocks`): its superblock copy, if it has one
/// (group 0 always; then by the sparse_super / sparse_super2 rules), the
/// descriptor table copy and the reserved descriptor blocks after it; with
/// meta_bg, groups past `s_first_meta_bg` meta groups instead hold one
/// descriptor block if they are the first, second or last group of their
/// meta group. Empty when the group holds none of these.
pub fn base_meta_range(sb: &Superblock, group: u32) -> Range {
    let first = group_first_block(sb, group);
    let sup = u64::from(has_super(sb, group));
    let per_block = desc_per_block(sb);
    let meta_bg = sb.has_incompat(incompat::META_BG);
    let mut n = sup;
    if !meta_bg || u64::from(group) < u64::from(sb.first_meta_bg) * per_block {
        if sup != 0 {
            let gdb = if meta_bg {
                u64::from(sb.first_meta_bg)
            } else {
                desc_blocks(sb)
            };
            n += gdb + u64::from(sb.reserved_gdt_blocks);
        }
    } else {
        let meta_first = div(u64::from(group), per_block) * per_block;
        let g = u64::from(group);
        if g == meta_first || g == meta_first + 1 || g + 1 == meta_first + per_block {
            n += 1;
        }
    }
    Range::new(first, n)
}

/// Blocks of one inode table.
pub fn itable_blocks(sb: &Superblock) -> u64 {
    div_ceil(
        u64::from(sb.inodes_per_group) * u64::from(sb.inode_size),
        u64::from(sb.block_size()),
    )
}

/// The metadata of group `group` whose descriptor is `gd`: the base range
/// ([`base_meta_range`], possibly empty), block bitmap, inode bitmap and
/// inode table (with flex_bg these may sit in another group).
pub fn group_ranges(sb: &Superblock, group: u32, gd: &GroupDesc) -> [Range; 4] {
    [
        base_meta_range(sb, group),
        Range::new(gd.block_bitmap, 1),
        Range::new(gd.inode_bitmap, 1),
        Range::new(gd.inode_table, itable_blocks(sb)),
    ]
}

/// The blocks before `s_first_data_block` (block 0 with 1 KiB blocks: the
/// boot block; empty otherwise, where block 0 holds the superblock and is
/// group 0's base range).
pub fn boot_range(sb: &Superblock) -> Range {
    Range::new(0, sb.first_data_block.into())
}

/// How many ranges the zone of `sb` needs at most before merging, without
/// the journal's: the boot range and four per group.
pub fn max_ranges(sb: &Superblock) -> u64 {
    1 + 4 * sb.group_count()
}

/// Sorts `ranges` and merges adjacent ones in place; empty ranges are
/// dropped. Returns how many ranges the merged zone has (the first ones of
/// `ranges`). Overlapping ranges mean two pieces of metadata claim the same
/// block, which is corruption (ext4 refuses the mount the same way): the
/// error names the first block claimed twice.
pub fn sort_merge(ranges: &mut [Range]) -> Result<usize> {
    heapsort(ranges);
    let mut n = 0usize;
    for i in 0..ranges.len() {
        let Some(&r) = ranges.get(i) else { break };
        if r.is_empty() {
            // Sorted last: nothing non-empty follows.
            break;
        }
        if let Some(last) = n.checked_sub(1).and_then(|j| ranges.get_mut(j)) {
            if r.start < last.end {
                return Err(Error::Corrupt {
                    what: "system zone: metadata blocks claimed twice",
                    value: r.start,
                });
            }
            if r.start == last.end {
                last.end = r.end;
                continue;
            }
        }
        if let Some(slot) = ranges.get_mut(n) {
            *slot = r;
        }
        n += 1;
    }
    Ok(n)
}

/// Sort key: non-empty ranges by first block, empty ones last.
fn key(r: &Range) -> (bool, u64) {
    (r.is_empty(), r.start)
}

/// In-place heapsort by [`key`]: O(n log n), no recursion, no allocation
/// and no panic path (core's slice sorts bring their own, which the kernel
/// build's objtool rejects).
fn heapsort(v: &mut [Range]) {
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift_down(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Moves `v[root]` down the max-heap `v[..end]` to its place.
fn sift_down(v: &mut [Range], mut root: usize, end: usize) {
    let end = end.min(v.len());
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        let (Some(a), Some(b)) = (v.get(child), v.get(child + 1)) else {
            // Only the left child (child + 1 == end == v.len()).
            let (Some(r), Some(c)) = (v.get(root), v.get(child)) else {
                return;
            };
            if key(r) < key(c) {
                v.swap(root, child);
            }
            return;
        };
        if child + 1 < end && key(a) < key(b) {
            child += 1;
        }
        let (Some(r), Some(c)) = (v.get(root), v.get(child)) else {
            return;
        };
        if key(r) >= key(c) {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

/// A view of a merged zone (sorted, disjoint, non-adjacent, no empty
/// range), as [`sort_merge`] leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone<'a> {
    ranges: &'a [Range],
}

impl<'a> Zone<'a> {
    /// No metadata known (before the zone is built, and in tests).
    pub const EMPTY: Zone<'static> = Zone { ranges: &[] };

    /// The zone of `ranges`, which must be as [`sort_merge`] leaves them;
    /// `None` otherwise (a lookup relies on the order).
    pub fn new(ranges: &'a [Range]) -> Option<Zone<'a>> {
        let ordered = ranges.iter().all(|r| !r.is_empty())
            && ranges.windows(2).all(|w| match w {
                [a, b] => a.end < b.start,
                _ => true,
            });
        ordered.then_some(Zone { ranges })
    }

    /// The zone of `ranges` without looking at them (constant time, for
    /// the per-mapping path): for ranges that passed [`Zone::new`] once.
    /// Other ranges make lookups wrong, never unsafe.
    pub const fn from_checked(ranges: &'a [Range]) -> Zone<'a> {
        Zone { ranges }
    }

    /// The ranges, in order.
    pub fn ranges(&self) -> &'a [Range] {
        self.ranges
    }

    /// The zone range that `len` blocks from `start` overlap, if any
    /// (the first one by block number). `len` 0 overlaps nothing.
    pub fn overlap(&self, start: u64, len: u64) -> Option<Range> {
        let q = Range::new(start, len);
        if q.is_empty() {
            return None;
        }
        // The first range ending after q.start; it overlaps q if it also
        // starts before q.end.
        let i = self.ranges.partition_point(|r| r.end <= q.start);
        self.ranges.get(i).copied().filter(|r| r.start < q.end)
    }
}

/// What a block reference read from disk (an extent, an index entry's
/// child) may name: `len` blocks inside the filesystem, not starting at
/// block 0, and outside the system zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRefs<'a> {
    /// `s_blocks_count`.
    pub blocks_count: u64,
    /// The system zone.
    pub zone: Zone<'a>,
}

impl<'a> BlockRefs<'a> {
    /// Bounds only, no zone (before the zone exists, and in tests).
    pub const fn bounds(blocks_count: u64) -> BlockRefs<'static> {
        BlockRefs {
            blocks_count,
            zone: Zone::EMPTY,
        }
    }

    /// Checks `len` (at least 1) blocks from `start`, named by `what`.
    pub fn check(&self, what: &'static str, start: u64, len: u64) -> Result<()> {
        let len = len.max(1);
        if start == 0 || start.saturating_add(len) > self.blocks_count {
            return Err(Error::Corrupt { what, value: start });
        }
        if let Some(r) = self.zone.overlap(start, len) {
            return Err(Error::SystemZone {
                what,
                start,
                len,
                zone_start: r.start,
                zone_end: r.end,
            });
        }
        Ok(())
    }
}

//! Allocation policy: which group receives a new inode, where the search
//! for a file's data blocks starts, in which order groups are tried, and
//! which free run of one group's bitmap is taken.
//!
//! This module only decides; it reads nothing from disk and changes
//! nothing. The caller describes the filesystem by a [`Geometry`] and
//! answers "what does group `g` look like" through a closure returning a
//! [`GroupStats`] (from the group descriptors, or from in-memory counters
//! kept next to them); the bit operations themselves live in
//! [`super::bitmap`].
//!
//! The decisions follow ext4 as of Linux 6.12:
//! - directories: Orlov's spreading allocator ([`dir_group`]),
//! - other inodes: the parent's group or flex group, then a quadratic
//!   probe, then a linear walk ([`file_group`]),
//! - the data goal: in line with the extent next to the written block,
//!   else the start of the inode's group or flex group ([`data_goal`],
//!   [`inode_goal`]),
//! - the group order for blocks: the goal's group, then the following
//!   ones, wrapping ([`BlockGroupScan`]),
//! - inside a group: the goal itself, else a full-length run, else the
//!   longest run seen ([`find_run`]).
//!
//! Inconsistent input (a parent group past the end, counts that disagree
//! with each other, zero groups) never panics: a group the closure does
//! not describe counts as full, and the functions return `None` when no
//! group qualifies.

use super::bitmap;
use super::bytes::{div, rem};
use super::extent::Extent;
use super::extent_tree::Around;
use super::features::{incompat, ro_compat};
use super::group::BG_BLOCK_UNINIT;
use super::superblock::Superblock;
use super::Result;

/// Flex groups at least this large keep their first group for directories
/// and special files: regular files' data starts in the flex group's
/// second group (ext4's `EXT4_FLEX_SIZE_DIR_ALLOC_SCHEME`).
pub const FLEX_SIZE_DIR_ALLOC_SCHEME: u32 = 4;

/// Free runs [`find_run`] looks at before it settles for the longest one
/// seen, when the caller passes no cap of its own (ext4's default
/// `mb_max_to_scan`).
pub const DEFAULT_MAX_TO_SCAN: u32 = 200;

/// What the policy needs to know about one block group (or, summed, about
/// one flex group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupStats {
    /// Free inodes (`bg_free_inodes_count`).
    pub free_inodes: u32,
    /// Free blocks (`bg_free_blocks_count`).
    pub free_blocks: u32,
    /// Directories (`bg_used_dirs_count`).
    pub used_dirs: u32,
    /// `BG_*` flags (`bg_flags`); 0 in a flex group's sum.
    pub flags: u16,
}

/// Sums of [`GroupStats`] over several groups (a flex group, or the whole
/// filesystem), wide enough never to overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Free inodes.
    pub free_inodes: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Directories.
    pub used_dirs: u64,
}

impl Totals {
    fn add(&mut self, s: &GroupStats) {
        self.free_inodes = self.free_inodes.saturating_add(u64::from(s.free_inodes));
        self.free_blocks = self.free_blocks.saturating_add(u64::from(s.free_blocks));
        self.used_dirs = self.used_dirs.saturating_add(u64::from(s.used_dirs));
    }
}

/// The filesystem geometry the policy works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Number of block groups.
    pub groups: u32,
    /// log2 of the groups per flex group; 0 without flex_bg.
    pub log_groups_per_flex: u8,
    /// Inodes per group.
    pub inodes_per_group: u32,
    /// Blocks per group.
    pub blocks_per_group: u32,
    /// The first data block (1 with 1 KiB blocks, else 0).
    pub first_data_block: u32,
    /// Blocks in the filesystem.
    pub blocks_count: u64,
    /// Whether the descriptors are checksummed (uninit_bg or
    /// metadata_csum): only then do the `*_UNINIT` flags mean anything.
    pub desc_csum: bool,
}

impl Geometry {
    /// The geometry of the filesystem `sb`. As ext4, a flex size is used
    /// only with the flex_bg feature and a log size of 1 to 31; otherwise
    /// every group is its own flex group.
    pub fn from_superblock(sb: &Superblock) -> Geometry {
        let log = sb.log_groups_per_flex;
        let flex = sb.has_incompat(incompat::FLEX_BG) && (1..=31).contains(&log);
        Geometry {
            groups: u32::try_from(sb.group_count()).unwrap_or(u32::MAX),
            log_groups_per_flex: if flex { log } else { 0 },
            inodes_per_group: sb.inodes_per_group,
            blocks_per_group: sb.blocks_per_group,
            first_data_block: sb.first_data_block,
            blocks_count: sb.blocks_count,
            desc_csum: sb.has_ro_compat(ro_compat::GDT_CSUM)
                || sb.has_ro_compat(ro_compat::METADATA_CSUM),
        }
    }

    /// log2 of the flex size, 0 when it is out of range (over 31).
    fn log_flex(&self) -> u32 {
        let l = u32::from(self.log_groups_per_flex);
        if l > 31 {
            0
        } else {
            l
        }
    }

    /// Groups per flex group (1 without flex_bg).
    pub fn flex_size(&self) -> u32 {
        1u32 << self.log_flex()
    }

    /// Number of flex groups (the last one may be short).
    pub fn flex_count(&self) -> u32 {
        let n = u64::from(self.groups) + u64::from(self.flex_size()) - 1;
        (n >> self.log_flex()) as u32
    }

    /// The flex group of group `group`.
    pub fn flex_of(&self, group: u32) -> u32 {
        group >> self.log_flex()
    }

    /// The first block of group `group` (may lie past the end of the
    /// filesystem for a group that does not exist).
    pub fn group_first_block(&self, group: u32) -> u64 {
        u64::from(group)
            .saturating_mul(u64::from(self.blocks_per_group))
            .saturating_add(u64::from(self.first_data_block))
    }

    /// The group holding block `block` and the block's offset in it;
    /// `None` for a block before the first data block or past the end.
    pub fn block_group(&self, block: u64) -> Option<(u32, u32)> {
        if block < u64::from(self.first_data_block) || block >= self.blocks_count {
            return None;
        }
        let rel = block - u64::from(self.first_data_block);
        let bpg = u64::from(self.blocks_per_group);
        if bpg == 0 {
            return None;
        }
        let g = u32::try_from(rel / bpg).ok()?;
        if g >= self.groups {
            return None;
        }
        Some((g, (rel % bpg) as u32))
    }

    /// A block allocation may start from `goal` as given when it lies in
    /// the filesystem's data area; otherwise, as ext4's block allocator
    /// does, from the first data block.
    pub fn normalize_goal(&self, goal: u64) -> u64 {
        if goal < u64::from(self.first_data_block) || goal >= self.blocks_count {
            u64::from(self.first_data_block)
        } else {
            goal
        }
    }
}

/// Group `g`'s stats from the caller, or "full" for a group that does not
/// exist or that the caller cannot describe.
fn stats_of<F>(geo: &Geometry, stats: &mut F, g: u32) -> GroupStats
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    if g >= geo.groups {
        return GroupStats::default();
    }
    stats(g).unwrap_or_default()
}

/// The sums of the stats of the groups of flex group `flex`, computed from
/// the per-group stats (the groups past the last one count as full).
pub fn flex_stats<F>(geo: &Geometry, flex: u32, mut stats: F) -> Totals
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    let mut t = Totals::default();
    let first = u64::from(flex) << geo.log_flex();
    let end = (first + u64::from(geo.flex_size())).min(u64::from(geo.groups));
    let mut g = first;
    while g < end {
        t.add(&stats_of(geo, &mut stats, g as u32));
        g += 1;
    }
    t
}

/// The sums of the stats of every group: ext4 uses its filesystem-wide
/// counters for these averages; here they are summed from the same
/// per-group stats the choices read, so the two cannot disagree.
pub fn fs_totals<F>(geo: &Geometry, mut stats: F) -> Totals
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    let mut t = Totals::default();
    for g in 0..geo.groups {
        t.add(&stats_of(geo, &mut stats, g));
    }
    t
}

/// The directory a new inode is created in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    /// The group holding the parent directory's inode.
    pub group: u32,
    /// The parent directory's inode number.
    pub ino: u32,
    /// The parent is the root directory or carries the TOPDIR inode flag:
    /// new subdirectories are spread over the filesystem.
    pub top: bool,
    /// The group of the inode last allocated in this directory, if any
    /// since the directory was loaded (ext4's `i_last_alloc_group`); the
    /// caller records the group each choice returns here.
    pub last_alloc_group: Option<u32>,
}

/// Stats of the unit Orlov looks at: a flex group with flex_bg, else a
/// group.
fn unit_stats<F>(geo: &Geometry, stats: &mut F, unit: u32) -> Totals
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    if geo.flex_size() > 1 {
        flex_stats(geo, unit, &mut *stats)
    } else {
        let mut t = Totals::default();
        t.add(&stats_of(geo, stats, unit));
        t
    }
}

/// The group for a new inode in unit (flex group or group) `unit`: with
/// flex groups, the first of its groups with a free inode.
fn in_unit<F>(geo: &Geometry, stats: &mut F, unit: u32) -> Option<u32>
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    if geo.flex_size() == 1 {
        return Some(unit);
    }
    let first = u64::from(unit) << geo.log_flex();
    let end = (first + u64::from(geo.flex_size())).min(u64::from(geo.groups));
    (first..end)
        .map(|g| g as u32)
        .find(|&g| stats_of(geo, stats, g).free_inodes > 0)
}

/// `(base + i) % n` without overflow (0 when `n` is 0: no panic path).
fn wrap(base: u64, i: u64, n: u64) -> u32 {
    rem(rem(base, n) + rem(i, n), n) as u32
}

/// Orlov's choice. `top`: spread (new directory under a top directory),
/// starting at `seed`; otherwise look near the parent.
fn orlov<F>(geo: &Geometry, parent: &Parent, top: bool, seed: u32, stats: &mut F) -> Option<u32>
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    let real = geo.groups;
    if real == 0 {
        return None;
    }
    let flex = u64::from(geo.flex_size());
    let units = u64::from(geo.flex_count().max(1));
    let tot = fs_totals(geo, &mut *stats);
    let ave_inodes = div(tot.free_inodes, units);
    let ave_blocks = div(tot.free_blocks, units);
    let ipg = i64::from(geo.inodes_per_group);
    let found = if top {
        // The unit with the fewest directories among those with at least
        // average free inodes and blocks; the first such in scan order
        // wins a tie.
        let start = rem(u64::from(seed), units);
        let mut best: Option<(u32, u64)> = None;
        for i in 0..units {
            let u = wrap(start, i, units);
            let s = unit_stats(geo, stats, u);
            let limit = best.map_or(u64::from(geo.inodes_per_group), |b| b.1);
            if s.free_inodes == 0
                || s.used_dirs >= limit
                || s.free_inodes < ave_inodes
                || s.free_blocks < ave_blocks
            {
                continue;
            }
            best = Some((u, s.used_dirs));
        }
        best.map(|b| b.0)
    } else {
        // The first unit from the parent's (or the last one used) with
        // not too many directories and enough free inodes and blocks.
        let max_dirs = i64::try_from(div(tot.used_dirs, units))
            .unwrap_or(i64::MAX)
            .saturating_add(ipg.saturating_mul(flex as i64) / 16);
        let min_inodes = i64::try_from(ave_inodes)
            .unwrap_or(i64::MAX)
            .saturating_sub(ipg.saturating_mul(flex as i64) / 4)
            .max(1);
        let cpg = i64::from(geo.blocks_per_group);
        let min_blocks = i64::try_from(ave_blocks)
            .unwrap_or(i64::MAX)
            .saturating_sub(cpg.saturating_mul(flex as i64) / 4)
            .max(0);
        let from = parent.last_alloc_group.unwrap_or(parent.group) >> geo.log_flex();
        (0..units)
            .map(|i| wrap(u64::from(from), i, units))
            .find(|&u| {
                let s = unit_stats(geo, stats, u);
                let wide = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                wide(s.used_dirs) < max_dirs
                    && wide(s.free_inodes) >= min_inodes
                    && wide(s.free_blocks) >= min_blocks
            })
    };
    if let Some(g) = found.and_then(|u| in_unit(geo, stats, u)) {
        return Some(g);
    }
    // Fallback: from the parent's own group, the first group with at
    // least the average free inodes, then any with a free inode.
    let n = u64::from(real);
    let ave = div(tot.free_inodes, n);
    for floor in [ave, 0] {
        let hit = (0..n)
            .map(|i| wrap(u64::from(parent.group), i, n))
            .find(|&g| {
                let f = u64::from(stats_of(geo, stats, g).free_inodes);
                f > 0 && f >= floor
            });
        if hit.is_some() {
            return hit;
        }
    }
    None
}

/// The group for a new directory's inode (ext4's `find_group_orlov`).
///
/// Under a top directory ([`Parent::top`]) the new directory is spread:
/// the scan starts at flex group (or group) `seed % count` (ext4 uses the
/// name's half-MD4 hash, or a random number without a name) and takes,
/// among the flex groups with a free inode and at least the average free
/// inodes and free blocks, the one with the fewest directories (the first
/// one met on a tie). Deeper, the scan starts at the parent's flex group
/// (or the one last used in this directory) and takes the first with
/// fewer than `dirs/count + inodes_per_group*flex/16` directories, at
/// least `avg_free_inodes - inodes_per_group*flex/4` (at least 1) free
/// inodes and `avg_free_blocks - blocks_per_group*flex/4` free blocks.
/// With flex groups, the first group of the chosen flex group with a free
/// inode is returned. When nothing qualifies, the first group from the
/// parent's with at least the average free inodes per group, else with
/// any free inode. `None` only when no group has a free inode.
pub fn dir_group<F>(geo: &Geometry, parent: &Parent, seed: u32, mut stats: F) -> Option<u32>
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    orlov(geo, parent, parent.top, seed, &mut stats)
}

/// The group for a new inode that is not a directory (ext4's
/// `find_group_other`).
///
/// With flex groups: the first group of the parent's flex group with a
/// free inode, then the same in the flex group of the last allocation in
/// this directory, then Orlov's search near the parent (as for a deeper
/// directory, [`dir_group`]). Without: the parent's group if it has a free
/// inode and a free block; else, from `(parent.group + parent.ino) %
/// groups`, the groups at offsets 1, 1+2, 1+2+4, ... (wrapping) with a
/// free inode and a free block; else the groups after the parent's,
/// wrapping, ending with the parent's own, with a free inode (blocks or
/// not). `None` when no group has a free inode.
pub fn file_group<F>(geo: &Geometry, parent: &Parent, mut stats: F) -> Option<u32>
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    let n = geo.groups;
    if n == 0 {
        return None;
    }
    let flex = geo.flex_size();
    if flex > 1 {
        let tries = [Some(parent.group), parent.last_alloc_group];
        for base in tries.into_iter().flatten() {
            let first = base & !(flex - 1);
            let end = (u64::from(first) + u64::from(flex)).min(u64::from(n));
            let hit = (u64::from(first)..end)
                .map(|g| g as u32)
                .find(|&g| stats_of(geo, &mut stats, g).free_inodes > 0);
            if hit.is_some() {
                return hit;
            }
        }
        return orlov(geo, parent, false, 0, &mut stats);
    }
    let usable = |s: GroupStats| s.free_inodes > 0 && s.free_blocks > 0;
    if usable(stats_of(geo, &mut stats, parent.group)) {
        return Some(parent.group);
    }
    let n64 = u64::from(n);
    let mut g = u64::from(wrap(u64::from(parent.group), u64::from(parent.ino), n64));
    let mut step = 1u64;
    while step < n64 {
        g += step;
        if g >= n64 {
            g -= n64;
        }
        if usable(stats_of(geo, &mut stats, g as u32)) {
            return Some(g as u32);
        }
        step <<= 1;
    }
    (1..=n64)
        .map(|i| wrap(u64::from(parent.group), i, n64))
        .find(|&g| stats_of(geo, &mut stats, g).free_inodes > 0)
}

/// The groups [`file_group`] probes quadratically, in order, for a parent
/// in group `parent_group` with inode number `parent_ino` (without flex
/// groups): calls `f` with each, stopping when it returns `true`.
pub fn quadratic_probe<F>(geo: &Geometry, parent_group: u32, parent_ino: u32, mut f: F)
where
    F: FnMut(u32) -> bool,
{
    let n = u64::from(geo.groups);
    if n == 0 {
        return;
    }
    let mut g = u64::from(wrap(u64::from(parent_group), u64::from(parent_ino), n));
    let mut step = 1u64;
    while step < n {
        g += step;
        if g >= n {
            g -= n;
        }
        if f(g as u32) {
            return;
        }
        step <<= 1;
    }
}

/// Where data allocation starts for an inode that has no extent yet
/// (ext4's `ext4_inode_to_goal_block`): the first block of the inode's
/// group; with flex groups of [`FLEX_SIZE_DIR_ALLOC_SCHEME`] groups or
/// more, the first block of its flex group's first group, or of the
/// second group for a regular file (the first group is left to
/// directories and the flex group's packed metadata).
///
/// `colour`: ext4 without delalloc shifts the goal of concurrent writers
/// apart by `(pid % 16) * (blocks_per_group / 16)` blocks (a sixteenth of
/// the room left in a short last group); with delalloc (the default mount)
/// it does not. `None` gives the delalloc goal, `Some(pid)` the coloured
/// one. The result is normalized ([`Geometry::normalize_goal`]), so a
/// second group past the end of the filesystem gives the first data
/// block, as ext4's allocator would make of it.
///
/// The goal is the group's first block, not the first free one: the
/// search inside the group ([`find_run`]) skips the group's metadata.
pub fn inode_goal(geo: &Geometry, inode_group: u32, regular: bool, colour: Option<u32>) -> u64 {
    let flex = geo.flex_size();
    let mut g = inode_group;
    if flex >= FLEX_SIZE_DIR_ALLOC_SCHEME {
        g &= !(flex - 1);
        if regular {
            g = g.saturating_add(1);
        }
    }
    let start = geo.group_first_block(g);
    let goal = match colour {
        None => start,
        Some(pid) => {
            let last = geo.blocks_count.saturating_sub(1);
            let bpg = u64::from(geo.blocks_per_group);
            let slice = if start.saturating_add(bpg) <= last {
                bpg / 16
            } else {
                last.saturating_sub(start) / 16
            };
            start.saturating_add(u64::from(pid % 16) * slice)
        }
    };
    geo.normalize_goal(goal)
}

/// The physical block in line with extent `e` for logical block `lblk`:
/// `e.pblk` shifted by the logical distance (either way); `None` when that
/// falls outside 0..2^64.
pub fn extent_goal(e: &Extent, lblk: u32) -> Option<u64> {
    if lblk >= e.lblk {
        e.pblk.checked_add(u64::from(lblk - e.lblk))
    } else {
        e.pblk.checked_sub(u64::from(e.lblk - lblk))
    }
}

/// Where data allocation for logical block `lblk` starts (ext4's
/// `ext4_ext_find_goal`): in line with the extent ext4's lookup stops at
/// (the one holding `lblk`, else the last one before it, else the first
/// one after it; `around` as [`super::extent_tree::ExtentTree::around`]
/// returns them), else `inode_goal` ([`inode_goal`]). The result is
/// normalized: a line that leaves the filesystem gives the first data
/// block, as in ext4. (ext4 also falls back to an empty leaf's own block
/// number; a tree here has no empty leaf below the root.)
pub fn data_goal(geo: &Geometry, around: &Around, lblk: u32, inode_goal: u64) -> u64 {
    let holds =
        |e: &Extent| lblk >= e.lblk && u64::from(lblk) < u64::from(e.lblk) + u64::from(e.len);
    let e = match (around.before, around.at_or_after) {
        (_, Some(a)) if holds(&a) => Some(a),
        (Some(b), _) => Some(b),
        (None, a) => a,
    };
    let goal = match e {
        Some(e) => extent_goal(&e, lblk).unwrap_or(0),
        None => inode_goal,
    };
    geo.normalize_goal(goal)
}

/// A group [`BlockGroupScan`] offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The group.
    pub group: u32,
    /// Its free blocks as the stats say.
    pub free_blocks: u32,
    /// The group is `BLOCK_UNINIT` (with descriptor checksums): its bitmap
    /// was never written and must be built first
    /// ([`bitmap::init_block_bitmap`]) and the flag cleared.
    pub needs_init: bool,
}

/// The groups to try for a block allocation, in ext4's order: the goal's
/// group, then each following group, wrapping to group 0, each at most
/// once; groups with fewer than `min_free` free blocks (at least 1) are
/// skipped. ext4 first skips groups with fewer free blocks than wanted and
/// finally accepts any with a free block: run the scan with the wanted
/// length, then with 1.
pub struct BlockGroupScan<F> {
    geo: Geometry,
    stats: F,
    start: u32,
    i: u32,
    min_free: u32,
}

impl<F> BlockGroupScan<F>
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    /// A scan from `goal` (normalized first, [`Geometry::normalize_goal`]).
    pub fn new(geo: &Geometry, goal: u64, min_free: u32, stats: F) -> Self {
        let start = geo
            .block_group(geo.normalize_goal(goal))
            .map_or(0, |(g, _)| g);
        BlockGroupScan {
            geo: *geo,
            stats,
            start,
            i: 0,
            min_free: min_free.max(1),
        }
    }
}

impl<F> Iterator for BlockGroupScan<F>
where
    F: FnMut(u32) -> Option<GroupStats>,
{
    type Item = Candidate;

    fn next(&mut self) -> Option<Candidate> {
        let n = self.geo.groups;
        while self.i < n {
            let g = wrap(u64::from(self.start), u64::from(self.i), u64::from(n));
            self.i += 1;
            let s = stats_of(&self.geo, &mut self.stats, g);
            if s.free_blocks >= self.min_free {
                return Some(Candidate {
                    group: g,
                    free_blocks: s.free_blocks,
                    needs_init: self.geo.desc_csum && s.flags & BG_BLOCK_UNINIT != 0,
                });
            }
        }
        None
    }
}

/// The run of free bits to allocate in one group's bitmap `b` (`nbits`
/// bits: the blocks of the group), for `want` blocks from bit `goal` (a
/// goal past the group's end starts at bit 0), as `(start, len)` with
/// `1 <= len <= want`:
/// 1. the goal bit itself if it is free, with the free bits after it up
///    to `want` (the run may be shorter: it stays in line with the
///    previous extent);
/// 2. else the first free run of `want` bits met scanning from the goal
///    to the group's end and on from bit 0 (a run does not wrap);
/// 3. else the longest run among the first `max_scan` runs met that way
///    (the first met on a tie; `max_scan` 0 means
///    [`DEFAULT_MAX_TO_SCAN`]), which is any free bit at worst.
///
/// `None` when the group has no free bit or `want` is 0; an error only
/// when `nbits` does not fit in `b`.
///
/// ext4 (6.12) differs in two ways: it takes the goal only when all
/// `want` blocks are free there, and its later passes scan the group's
/// runs from bit 0 rather than from the goal.
pub fn find_run(
    b: &[u8],
    nbits: u32,
    goal: u32,
    want: u32,
    max_scan: u32,
) -> Result<Option<(u32, u32)>> {
    let Some((s, l)) = bitmap::find_free_run(b, nbits, goal, want)? else {
        return Ok(None);
    };
    let goal = if goal < nbits { goal } else { 0 };
    if s == goal {
        return Ok(Some((s, l)));
    }
    let cap = if max_scan == 0 {
        DEFAULT_MAX_TO_SCAN
    } else {
        max_scan
    };
    let mut best: Option<(u32, u32)> = None;
    let mut pos = goal;
    let mut wrapped = false;
    let mut seen = 0u32;
    while let Some((s, l)) = bitmap::find_free_run(b, nbits, pos, want)? {
        if s < pos {
            wrapped = true;
        }
        if wrapped && s >= goal {
            break;
        }
        if l >= want {
            return Ok(Some((s, l)));
        }
        // The whole run, to compare lengths (it ends before `want`).
        if best.map_or(true, |b| l > b.1) {
            best = Some((s, l));
        }
        seen += 1;
        if seen >= cap {
            break;
        }
        pos = s.saturating_add(l);
        if pos >= nbits {
            pos = 0;
            wrapped = true;
            if goal == 0 {
                break;
            }
        }
    }
    Ok(best)
}

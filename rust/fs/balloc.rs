// SPDX-License-Identifier: GPL-2.0

//! Group descriptors, bitmaps and block allocation (ext4's balloc.c,
//! bitmap.c and the allocation side of mballoc.c).
//!
//! Every change to a bitmap and its group's descriptor happens inside a
//! jbd2 handle, under the mount's allocation lock ([`FsInfo::alloc_lock`]):
//! the bitmap block through write access, the descriptor through write
//! access on its descriptor block (free counts, flags, the bitmap's
//! checksum, the descriptor's own checksum), and the in-memory descriptor
//! refreshed from the bytes written. The free block and inode counts of
//! the whole filesystem are percpu counters, as ext4 keeps them; the
//! superblock gets them when it is written (`super_ops::commit_super`).
//!
//! A group whose bitmap was never written (`BLOCK_UNINIT`,
//! `INODE_UNINIT`, with descriptor checksums) is built in memory when it
//! is first looked at, and written, flag cleared, when it is first
//! allocated from. A bitmap read from the device has its checksum checked
//! once per read (the buffer's verified bit).
//!
//! # Freed blocks
//!
//! A block freed inside a transaction is not handed out again until that
//! transaction has committed (ext4's busy extents): until then the
//! committing transaction may still hold its buffer as metadata (jbd2
//! refuses a new block whose buffer belongs to the committing transaction,
//! and aborts the journal), and a crash would bring the freeing back
//! undone while the block had a new owner. Freed ranges are recorded with
//! the freeing transaction's id ([`Busy`]); the allocator treats them as
//! in use; the journal's commit callback drops them
//! ([`transaction_committed`]). A freed block's buffer is also forgotten
//! by the journal and a revoke record written (`Handle::forget_block`).
//!
//! # Lock order
//!
//! handle start → `i_data_sem` of the inode whose tree grows or shrinks
//! (if any) → `alloc_lock` → `busy` (held briefly; also taken alone by
//! the commit thread) → a group's spinlock (held only to copy or replace
//! its descriptor) → buffer locks (inside `WriteAccess::modify`).

use super::errors::errno;
use super::extents::DevBlock;
use super::super_ops::FsInfo;
use super::Sb;
use crate::disk::alloc::{find_run, BlockGroupScan, Geometry, GroupStats};
use crate::disk::bitmap::{
    blocks_in_group, clear_range, init_block_bitmap, init_inode_bitmap, set_block_bitmap_csum,
    set_range, verify_block_bitmap_csum, verify_inode_bitmap_csum,
};
use crate::disk::bytes::div;
use crate::disk::group::{
    desc_location, set_flags, set_free_blocks, update_desc_csum, GroupDesc, BG_BLOCK_UNINIT,
    BG_INODE_UNINIT,
};
use crate::glue::buffer::BufferHead;
use crate::glue::errno::efscorrupted;
use crate::glue::jbd2::Handle;
use kernel::error::code;
use kernel::prelude::*;

/// Blocks freed by transaction `tid`, not to be reused before it commits.
#[derive(Clone, Copy)]
pub(crate) struct Busy {
    tid: u32,
    start: u64,
    len: u32,
}

/// Whether transaction id `a` comes at or after `b` (ids wrap around, as
/// jbd2's `tid_geq`).
fn tid_geq(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) as i32 >= 0
}

/// The journal committed transaction `tid`: blocks it freed may be
/// allocated again.
pub(crate) fn transaction_committed(fi: &FsInfo, tid: u32) {
    let mut busy = fi.busy.lock();
    if busy.iter().all(|b| !tid_geq(tid, b.tid)) {
        return;
    }
    // Rebuilt without the committed ones (a vector shorter than before:
    // the allocation cannot fail for lack of room... it may fail for lack
    // of memory, and then the list is kept whole until the next commit).
    let Ok(mut rest) = KVec::with_capacity(busy.len(), GFP_KERNEL) else {
        return;
    };
    for b in busy.iter() {
        if !tid_geq(tid, b.tid) {
            // Capacity reserved above.
            let _ = rest.push(*b, GFP_KERNEL);
        }
    }
    *busy = rest;
}

/// Marks in `bits` (group `g`'s bitmap copy, `nbits` bits) the blocks
/// freed by transactions not committed yet, so the search skips them.
fn mark_busy(fi: &FsInfo, geo: &Geometry, g: u32, bits: &mut [u8], nbits: u32) {
    let first = geo.group_first_block(g);
    let end = first + u64::from(nbits);
    for b in fi.busy.lock().iter() {
        let s = b.start.max(first);
        let e = (b.start + u64::from(b.len)).min(end);
        if s < e {
            // Free in the bitmap (freed), so the range can be set.
            let _ = set_range(bits, nbits, (s - first) as u32, (e - s) as u32);
        }
    }
}

/// Which of a group's two bitmaps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bitmap {
    Block,
    Inode,
}

impl Bitmap {
    fn name(self) -> &'static str {
        match self {
            Bitmap::Block => "block bitmap",
            Bitmap::Inode => "inode bitmap",
        }
    }

    fn uninit_flag(self) -> u16 {
        match self {
            Bitmap::Block => BG_BLOCK_UNINIT,
            Bitmap::Inode => BG_INODE_UNINIT,
        }
    }

    fn location(self, gd: &GroupDesc) -> u64 {
        match self {
            Bitmap::Block => gd.block_bitmap,
            Bitmap::Inode => gd.inode_bitmap,
        }
    }
}

/// The descriptor block holding group `g`'s descriptor, and the
/// descriptor's offset in it.
fn desc_buffer(fi: &FsInfo, g: u32) -> Result<(&BufferHead, usize)> {
    let (blk, off) = desc_location(&fi.sb, g).map_err(errno)?;
    let per_block = div(u64::from(fi.block_size()), u64::from(fi.sb.desc_size));
    let idx = usize::try_from(div(u64::from(g), per_block)).map_err(|_| code::EINVAL)?;
    let bh = fi.gd_bhs.get(idx).ok_or(code::EIO)?;
    if bh.blocknr() != blk {
        return Err(code::EIO);
    }
    Ok((bh, off))
}

/// A copy of group `g`'s descriptor bytes (for the bitmap checksums).
fn desc_bytes(fi: &FsInfo, g: u32) -> Result<KVec<u8>> {
    let (bh, off) = desc_buffer(fi, g)?;
    bh.copy_range(off, usize::from(fi.sb.desc_size))
}

/// Whether group `gd`'s bitmap `which` was never written (only
/// meaningful with descriptor checksums).
fn is_uninit(sb: &Sb, gd: &GroupDesc, which: Bitmap) -> bool {
    Geometry::from_superblock(&sb.data().sb).desc_csum && gd.flags & which.uninit_flag() != 0
}

/// Group `g`'s bitmap `which`: its buffer (`None` for a bitmap never
/// written) and a private copy of its bytes, built as ext4 builds a
/// never-written one, checksum checked once per read from the device.
pub(crate) fn read_bitmap(
    sb: &Sb,
    g: u32,
    which: Bitmap,
) -> Result<(Option<kernel::types::ARef<BufferHead>>, KVec<u8>)> {
    let fi = sb.data();
    let d = &fi.sb;
    let gd = fi.group(g).ok_or(code::EINVAL)?;
    let bs = fi.block_size() as usize;
    if is_uninit(sb, &gd, which) {
        let mut v = KVec::from_elem(0u8, bs, GFP_KERNEL)?;
        build_uninit(sb, g, which, &mut v)?;
        return Ok((None, v));
    }
    let loc = which.location(&gd);
    let bh = sb.bread(loc).inspect_err(|_| {
        fs_err!(
            sb,
            "group {}: unable to read the {} (block {})",
            g,
            which.name(),
            loc
        );
    })?;
    let dev = DevBlock::new(bh);
    if !dev.is_verified() {
        let desc = desc_bytes(fi, g)?;
        let r = match which {
            Bitmap::Block => verify_block_bitmap_csum(d, &desc[..], &dev),
            Bitmap::Inode => verify_inode_bitmap_csum(d, &desc[..], &dev),
        };
        r.map_err(|e| {
            fs_err!(sb, "group {}: {}", g, e);
            errno(e)
        })?;
        dev.set_verified();
    }
    let bytes = dev.copy()?;
    Ok((Some(dev.into_buffer()), bytes))
}

/// Builds the never-written bitmap `which` of group `g` into `b`.
fn build_uninit(sb: &Sb, g: u32, which: Bitmap, b: &mut [u8]) -> Result {
    let fi = sb.data();
    let d = &fi.sb;
    let r = match which {
        Bitmap::Block => init_block_bitmap(d, g, b, |x| {
            fi.group(x).ok_or(crate::disk::Error::Corrupt {
                what: "group number",
                value: x.into(),
            })
        })
        .map(|_| ()),
        Bitmap::Inode => init_inode_bitmap(d, b),
    };
    r.map_err(|e| {
        fs_err!(sb, "group {}: cannot build the {}: {}", g, which.name(), e);
        errno(e)
    })
}

/// Changes group `g`'s bitmap `which` inside handle `h` through `f`, on
/// the bitmap's bytes as they are (built first if never written), and
/// returns the bytes written. Caller holds `alloc_lock`.
pub(crate) fn modify_bitmap(
    sb: &Sb,
    h: &Handle<'_>,
    g: u32,
    which: Bitmap,
    f: impl FnOnce(&mut [u8]) -> Result,
) -> Result<KVec<u8>> {
    let fi = sb.data();
    let gd = fi.group(g).ok_or(code::EINVAL)?;
    let loc = which.location(&gd);
    let uninit = is_uninit(sb, &gd, which);
    let bh = if uninit {
        // Never written: its old bytes do not matter.
        h.create_block(sb, loc)?
    } else {
        // Read (and checked) by the caller's `read_bitmap` already.
        sb.bread(loc)?
    };
    let bs = fi.block_size() as usize;
    let mut access = h.write_access(&bh)?;
    let bytes = access.modify(0, bs, |b| {
        if uninit {
            build_uninit(sb, g, which, b)?;
        }
        f(b)?;
        let mut v = KVec::with_capacity(bs, GFP_KERNEL)?;
        v.extend_from_slice(b, GFP_KERNEL)?;
        Ok(v)
    })?;
    access.dirty()?;
    if uninit {
        // Checked by construction.
        bh.set_verified();
    }
    Ok(bytes)
}

/// Changes group `g`'s descriptor inside handle `h` through `f` (on its
/// bytes), updates its checksum and the in-memory copy, and returns the
/// new descriptor. Caller holds `alloc_lock`.
pub(crate) fn modify_group(
    sb: &Sb,
    h: &Handle<'_>,
    g: u32,
    f: impl FnOnce(&mut [u8], &GroupDesc) -> core::result::Result<(), crate::disk::Error>,
) -> Result<GroupDesc> {
    let fi = sb.data();
    let d = &fi.sb;
    let (bh, off) = desc_buffer(fi, g)?;
    let lock = fi.groups.get(g as usize).ok_or(code::EINVAL)?;
    let old = *lock.lock();
    let mut access = h.write_access(bh)?;
    let gd = access.modify(off, usize::from(d.desc_size), |b| {
        let r = f(b, &old)
            .and_then(|()| update_desc_csum(d, g, b))
            .and_then(|()| GroupDesc::parse(d, g, b));
        r.map_err(|e| {
            fs_err!(sb, "group {}: cannot update the descriptor: {}", g, e);
            errno(e)
        })
    })?;
    access.dirty()?;
    *lock.lock() = gd;
    Ok(gd)
}

/// The allocator's view of group `g`.
pub(crate) fn stats(fi: &FsInfo, g: u32) -> Option<GroupStats> {
    fi.group(g).map(|gd| GroupStats {
        free_inodes: gd.free_inodes_count,
        free_blocks: gd.free_blocks_count,
        used_dirs: gd.used_dirs_count,
        flags: gd.flags,
    })
}

/// Whether `n` blocks may be allocated: the root reserve
/// (`s_r_blocks_count`) is kept for privileged tasks, as ext4's
/// `ext4_has_free_clusters` keeps it (ext4's own 2% metadata reserve is
/// not kept: rext4 allocates at write time, with no delayed allocation to
/// reserve for).
fn may_allocate(fi: &FsInfo, n: u64) -> bool {
    let free = fi.free_blocks.sum_positive();
    let reserve = fi.sb.r_blocks_count;
    if free >= n.saturating_add(reserve) {
        return true;
    }
    free >= n && crate::glue::task::capable_resource()
}

/// Allocates up to `want` (at least 1) contiguous blocks near `goal`
/// inside handle `h` (ext4's order: the goal's group and on; groups with
/// enough free blocks for the whole request first, then any free block).
/// Returns the first block and the count. ENOSPC when nothing is free.
pub(crate) fn alloc_blocks(sb: &Sb, h: &Handle<'_>, goal: u64, want: u32) -> Result<(u64, u32)> {
    let fi = sb.data();
    let d = &fi.sb;
    let want = want.max(1);
    let geo = Geometry::from_superblock(d);
    let _guard = fi.alloc_lock.lock();
    if !may_allocate(fi, 1) {
        return Err(code::ENOSPC);
    }
    // Within the free count (the reserve aside), as ext4 trims a request.
    let want = want.min(
        u32::try_from(fi.free_blocks.sum_positive())
            .unwrap_or(u32::MAX)
            .max(1),
    );
    for min_free in [want, 1] {
        let scan = BlockGroupScan::new(&geo, goal, min_free, |g| stats(fi, g));
        for cand in scan {
            let g = cand.group;
            let (_, mut bits) = read_bitmap(sb, g, Bitmap::Block)?;
            let nbits = blocks_in_group(d, g).map_err(errno)?;
            mark_busy(fi, &geo, g, &mut bits, nbits);
            let first = geo.group_first_block(g);
            let goal_bit = goal
                .checked_sub(first)
                .filter(|&b| b < u64::from(nbits))
                .map_or(0, |b| b as u32);
            let Some((start, len)) = find_run(&bits, nbits, goal_bit, want, 0).map_err(errno)?
            else {
                continue;
            };
            let pblk = first + u64::from(start);
            // A free bit inside the system zone is a corrupt bitmap: never
            // hand out metadata blocks.
            if fi
                .block_refs()
                .check("allocated block", pblk, len.into())
                .is_err()
            {
                fs_err!(
                    sb,
                    "group {}: block bitmap marks metadata blocks {}+{} free",
                    g,
                    pblk,
                    len
                );
                return Err(efscorrupted());
            }
            // `set_range` refuses bits already set: the lock keeps other
            // allocators out, so that is corruption.
            let written = modify_bitmap(sb, h, g, Bitmap::Block, |b| {
                set_range(b, nbits, start, len).map_err(|e| {
                    fs_err!(sb, "group {}: {}", g, e);
                    errno(e)
                })
            })?;
            modify_group(sb, h, g, |desc, gd| {
                set_free_blocks(d, desc, gd.free_blocks_count.saturating_sub(len))?;
                set_flags(d, desc, gd.flags & !BG_BLOCK_UNINIT)?;
                set_block_bitmap_csum(d, desc, &written)
            })?;
            fi.free_blocks.add(-i64::from(len));
            return Ok((pblk, len));
        }
    }
    Err(code::ENOSPC)
}

/// Frees blocks `pblk..pblk + len` inside handle `h`: cleared in their
/// group's bitmap (a block already free is corruption, reported), counted
/// free, kept from reuse until the transaction commits, and forgotten by
/// the journal (see the module docs). The range must lie inside one
/// group and outside the system zone.
pub(crate) fn free_blocks(sb: &Sb, h: &Handle<'_>, pblk: u64, len: u32) -> Result {
    let fi = sb.data();
    let geo = Geometry::from_superblock(&fi.sb);
    // An extent may run on from one group into the next (its blocks were
    // allocated in turn from each): freed group by group.
    let (mut at, mut left) = (pblk, len);
    while left > 0 {
        let Some((g, start)) = geo.block_group(at) else {
            fs_err!(
                sb,
                "freeing blocks {}+{}: outside the filesystem",
                pblk,
                len
            );
            return Err(efscorrupted());
        };
        let nbits = blocks_in_group(&fi.sb, g).map_err(errno)?;
        let n = left.min(nbits.saturating_sub(start)).max(1);
        free_in_group(sb, h, at, n, g, start, nbits)?;
        at += u64::from(n);
        left -= n;
    }
    Ok(())
}

/// [`free_blocks`] of a range inside group `g` (from bit `start`, of
/// `nbits`).
fn free_in_group(
    sb: &Sb,
    h: &Handle<'_>,
    pblk: u64,
    len: u32,
    g: u32,
    start: u32,
    nbits: u32,
) -> Result {
    let fi = sb.data();
    let d = &fi.sb;
    let bad = |what: &str| {
        fs_err!(sb, "freeing blocks {}+{}: {}", pblk, len, what);
        efscorrupted()
    };
    if u64::from(start) + u64::from(len) > u64::from(nbits) {
        return Err(bad("past the end of the group"));
    }
    if fi
        .block_refs()
        .check("freed block", pblk, len.into())
        .is_err()
    {
        return Err(bad("metadata blocks"));
    }
    let _guard = fi.alloc_lock.lock();
    // Checks the bitmap's checksum before it is changed.
    read_bitmap(sb, g, Bitmap::Block)?;
    // `clear_range` refuses bits already clear (a double free).
    let written = modify_bitmap(sb, h, g, Bitmap::Block, |b| {
        clear_range(b, nbits, start, len).map_err(|e| {
            fs_err!(sb, "freeing blocks {}+{}: {}", pblk, len, e);
            errno(e)
        })
    })?;
    modify_group(sb, h, g, |desc, gd| {
        set_free_blocks(d, desc, gd.free_blocks_count.saturating_add(len).min(nbits))?;
        set_block_bitmap_csum(d, desc, &written)
    })?;
    fi.free_blocks.add(i64::from(len));
    {
        let mut busy = fi.busy.lock();
        busy.push(
            Busy {
                tid: h.tid(),
                start: pblk,
                len,
            },
            GFP_KERNEL,
        )?;
    }
    for b in pblk..pblk + u64::from(len) {
        h.forget_block(sb, b)?;
    }
    Ok(())
}

/// After an allocation failed with ENOSPC (attempt `retries`), with no
/// handle open: when blocks freed by uncommitted transactions are waiting,
/// commits them and says to try again, up to 3 times (ext4's
/// `ext4_should_retry_alloc`).
pub(crate) fn retry_alloc(fi: &FsInfo, retries: u32) -> bool {
    if retries >= 3 || fi.busy.lock().is_empty() {
        return false;
    }
    let Some(journal) = fi.journal.as_ref() else {
        return false;
    };
    journal.force_commit().is_ok()
}

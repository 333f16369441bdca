// SPDX-License-Identifier: GPL-2.0

//! Regular file data (ext4's file.c and the read side of inode.c): block
//! mapping for the page cache (`get_block`), SEEK_DATA/SEEK_HOLE, FIEMAP.

use super::extents::map;
use super::options::DataMode;
use super::INode;
use crate::disk::extent::Mapping;
use crate::glue::iomap::{IoMap, IoMapKind};
use crate::glue::jbd2::{Handle, Journal};
use kernel::error::{code, Result};

/// Maps up to `max` blocks from `lblk` for a read: `Some((pblk, count))`
/// for written data, `None` for a hole or an unwritten extent (zeros).
/// The mapping never reaches past the end of the filesystem: the extent
/// was checked when its node was validated, and the cheap comparison here
/// keeps a mapping that escaped that (a bug) from reading another device's
/// blocks.
pub(crate) fn map_blocks(inode: &INode, lblk: u64, max: u64) -> Result<Option<(u64, u64)>> {
    match map(inode, lblk)? {
        Mapping::Mapped {
            pblk,
            len,
            unwritten: false,
        } => {
            let count = u64::from(len).min(max).max(1);
            let sb = inode.sb();
            let blocks = sb.data().sb.blocks_count;
            if pblk == 0 || pblk.saturating_add(count) > blocks {
                inode_err!(sb, inode.ino(), "inode #{}: logical block {}: mapping to blocks {} (+{}) beyond the filesystem ({} blocks)", inode.ino(),
                    lblk,
                    pblk,
                    count,
                    blocks
                );
                return Err(crate::glue::errno::efscorrupted());
            }
            Ok(Some((pblk, count)))
        }
        _ => Ok(None),
    }
}

/// `lseek(SEEK_DATA)` (`data`) or `lseek(SEEK_HOLE)` from `offset`.
/// Unwritten extents count as holes: they read as zeros.
pub(crate) fn seek_data_hole(inode: &INode, offset: i64, data: bool) -> Result<i64> {
    let size = inode.size();
    if offset < 0 || offset >= size {
        return Err(code::ENXIO);
    }
    let bits = inode.block_bits();
    let mut lblk = (offset >> bits) as u64;
    loop {
        // One step per extent or hole, as many as the file has on disk.
        crate::glue::task::yield_point()?;
        let start = (lblk << bits) as i64;
        if start >= size {
            return if data { Err(code::ENXIO) } else { Ok(size) };
        }
        let (is_data, len) = match map(inode, lblk)? {
            Mapping::Mapped { len, unwritten, .. } => (!unwritten, u64::from(len)),
            Mapping::Hole { len } => (false, u64::from(len)),
        };
        if is_data == data {
            return Ok(offset.max(start));
        }
        lblk += len.max(1);
    }
}

/// Largest logical block ext4 maps (`EXT4_MAX_LOGICAL_BLOCK`).
const MAX_LBLK: u64 = 0xFFFF_FFFE;

/// The range FIEMAP may look at, as ext4 checks it: `len` 0 is invalid, a
/// start beyond the maximum file size too big, and the end is clamped.
pub(crate) fn fiemap_range(inode: &INode, start: u64, len: u64) -> Result<u64> {
    let max = inode.sb().max_bytes() as u64;
    if len == 0 {
        return Err(code::EINVAL);
    }
    if start > max {
        return Err(code::EFBIG);
    }
    Ok(if len > max || max - len < start {
        max - start
    } else {
        len
    })
}

/// One step of FIEMAP (iomap's `iomap_begin` for reporting): the extent or
/// hole at byte `pos`, clamped to `[pos, pos + length)`, the way ext4
/// reports it (one extent per step, holes as holes).
pub(crate) fn report_extent(inode: &INode, pos: i64, length: i64) -> Result<IoMap> {
    if pos < 0 || length <= 0 {
        return Err(code::EINVAL);
    }
    let bits = inode.block_bits();
    let first = (pos as u64) >> bits;
    if first > MAX_LBLK {
        return Err(code::EINVAL);
    }
    let end = (pos as u64).saturating_add(length as u64 - 1) >> bits;
    let want = end.min(MAX_LBLK) - first + 1;
    let (len, kind) = match map(inode, first)? {
        Mapping::Mapped {
            pblk,
            len,
            unwritten,
        } => {
            let addr = pblk << bits;
            let kind = if unwritten {
                IoMapKind::Unwritten(addr)
            } else {
                IoMapKind::Mapped(addr)
            };
            (u64::from(len), kind)
        }
        Mapping::Hole { len } => (u64::from(len), IoMapKind::Hole),
    };
    Ok(IoMap {
        offset: (first << bits) as i64,
        length: len.clamp(1, want) << bits,
        kind,
    })
}

/// The journal file data goes through: data=journal mounts (the only
/// read-write ones so far).
pub(crate) fn data_journal(sb: &super::Sb) -> Option<&Journal> {
    let fi = sb.data();
    fi.journal
        .as_ref()
        .filter(|_| fi.opts.data_mode(&fi.sb) == DataMode::Journal)
}

/// Credits of journalling one folio: per block the block itself and its
/// allocation (bitmap and descriptor block), an extent tree that may grow
/// at each of its 5 levels (a new node, its bitmap and descriptor block,
/// the parent), the inode and the superblock.
pub(crate) fn folio_credits(inode: &INode) -> u32 {
    let per_page = (kernel::page::PAGE_SIZE >> inode.block_bits()).max(1) as u32;
    per_page * 3 + 5 * 4 + 2 + 4
}

/// Maps logical block `lblk` of `inode` for writing (see the glue's
/// `FileSystem::map_block`): a written extent's block as it is; a block of
/// an unwritten extent converted to written, and a hole allocated (near
/// the extent before it, else the inode's group), both reported new so
/// the page cache zeroes what the write does not cover.
pub(crate) fn map_block(
    h: Option<&Handle<'_>>,
    inode: &INode,
    lblk: u64,
    create: bool,
) -> Result<Option<(u64, bool)>> {
    let l32 = u32::try_from(lblk).map_err(|_| code::EFBIG)?;
    match map(inode, lblk)? {
        Mapping::Mapped {
            pblk,
            unwritten: false,
            ..
        } => Ok(Some((pblk, false))),
        Mapping::Mapped {
            pblk,
            unwritten: true,
            ..
        } => {
            let Some(h) = h.filter(|_| create) else {
                return Ok(None);
            };
            super::extents::convert_block(h, inode, l32)?;
            Ok(Some((pblk, true)))
        }
        Mapping::Hole { .. } => {
            let Some(h) = h.filter(|_| create) else {
                return Ok(None);
            };
            let fi = inode.sb().data();
            let geo = crate::disk::alloc::Geometry::from_superblock(&fi.sb);
            let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
            let group = crate::disk::inode::inode_location(&fi.sb, ino)
                .map_err(super::errors::errno)?
                .0;
            let goal = crate::disk::alloc::inode_goal(&geo, group, true, None);
            let pblk = super::extents::alloc_block(h, inode, l32, goal)?;
            Ok(Some((pblk, true)))
        }
    }
}

/// A data write is done inside `h`: the inode (size, extent root, block
/// count) is written with it when the write changed it.
pub(crate) fn data_written(h: &Handle<'_>, inode: &INode, size_changed: bool) -> Result {
    let tree_changed = {
        let mut d = inode.write();
        d.data_tid = Some(h.tid());
        core::mem::take(&mut d.tree_changed)
    };
    // An overwrite of mapped blocks leaves the inode as it is (its times
    // are written by `dirty_inode`).
    if size_changed || tree_changed {
        super::journal::write_inode(h, inode)?;
    }
    Ok(())
}

/// Commits the transaction that last journalled `inode`'s data (and so
/// releases its folios from writeback; see the glue's address-space docs),
/// with no handle open. A failure is the aborted journal's, reported
/// when it aborted; the folios are released by the aborted commit too.
pub(crate) fn commit_data(inode: &INode) {
    let Some(tid) = inode.read().data_tid else {
        return;
    };
    if let Some(journal) = data_journal(inode.sb()) {
        let _ = journal.complete_transaction(tid);
    }
}

/// Before the page cache of `inode` from byte `from` on is dropped or
/// changed by a truncation (invalidate lock held, no handle open): its
/// folios dirtied through a mapping are journalled and every folio is out
/// of writeback, so the truncation neither waits for a commit under a
/// folio lock nor finds journalled folios it cannot drop.
pub(crate) fn settle_pagecache(inode: &INode, from: i64, to: i64) -> Result {
    if data_journal(inode.sb()).is_none() || !inode.has_pages() {
        return Ok(());
    }
    commit_data(inode);
    inode.write_and_wait(from, to)
}

/// Before a file with journalled data leaves memory: its last data
/// change is committed, which releases its folios from writeback, and,
/// if the file keeps its links, the committed folios jbd2 exposed are
/// written home (see the glue's address-space docs). Errors are reported;
/// the data then stays in the journal for the next mount's replay.
pub(crate) fn before_evict(inode: &INode) {
    if inode.read().data_tid.is_none() || !inode.has_pages() {
        return;
    }
    commit_data(inode);
    if inode.nlink() == 0 {
        return;
    }
    if let Err(e) = inode.write_and_wait(0, i64::MAX) {
        super::errors::error_errno(
            inode.sb(),
            e.to_errno(),
            format_args!(
                "inode #{}: unable to write its data home before eviction: error {}",
                inode.ino(),
                e.to_errno()
            ),
        );
    }
}

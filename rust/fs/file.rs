// SPDX-License-Identifier: GPL-2.0

//! Regular file data (ext4's file.c and the read side of inode.c): block
//! mapping for the page cache (`get_block`), SEEK_DATA/SEEK_HOLE, FIEMAP.

use super::extents::map;
use super::INode;
use crate::disk::extent::Mapping;
use crate::glue::iomap::{IoMap, IoMapKind};
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
                fs_err!(
                    sb,
                    "inode #{}: logical block {}: mapping to blocks {} (+{}) beyond the filesystem ({} blocks)",
                    inode.ino(),
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

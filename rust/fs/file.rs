// SPDX-License-Identifier: GPL-2.0

//! Regular file data: block mapping for the page cache, SEEK_DATA/SEEK_HOLE.

use super::super_ops::{errno, Blocks};
use crate::disk::extent::{self, Mapping};
use crate::glue::inode::Inode;
use kernel::error::{code, Result};

/// Maps logical block `lblk` of an extent-mapped inode.
pub(crate) fn map(inode: &Inode, lblk: u64) -> Result<Mapping> {
    let sb = inode.sb();
    let fi = sb.fs_info();
    let Ok(lblk32) = u32::try_from(lblk) else {
        // Beyond the 32-bit logical block space: always a hole.
        return Ok(Mapping::Hole { len: 1 });
    };
    let data = inode.data();
    let src = Blocks {
        sb,
        blocks_count: fi.sb.blocks_count,
    };
    let seed = fi.sb.has_metadata_csum().then_some(data.csum_seed);
    extent::map(
        &src,
        data.extent_root(),
        lblk32,
        fi.sb.blocks_count,
        fi.sb.block_size(),
        seed,
    )
    .map_err(|e| {
        fs_err!(sb, "inode #{}: logical block {}: {}", inode.ino(), lblk, e);
        errno(e)
    })
}

/// Maps up to `max` blocks from `lblk` for a read: `Some((pblk, count))`
/// for written data, `None` for a hole or an unwritten extent (zeros).
pub(crate) fn map_blocks(inode: &Inode, lblk: u64, max: u64) -> Result<Option<(u64, u64)>> {
    match map(inode, lblk)? {
        Mapping::Mapped {
            pblk,
            len,
            unwritten: false,
        } => Ok(Some((pblk, u64::from(len).min(max).max(1)))),
        _ => Ok(None),
    }
}

/// `lseek(SEEK_DATA)` (`data`) or `lseek(SEEK_HOLE)` from `offset`.
/// Unwritten extents count as holes: they read as zeros.
pub(crate) fn seek_data_hole(inode: &Inode, offset: i64, data: bool) -> Result<i64> {
    let size = inode.size();
    if offset < 0 || offset >= size {
        return Err(code::ENXIO);
    }
    let bits = inode.sb().fs_info().block_bits;
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

/// What one FIEMAP step reports, in bytes.
pub(crate) struct Report {
    /// File offset of the range.
    pub(crate) offset: i64,
    /// Its length.
    pub(crate) length: u64,
    /// Disk location and state.
    pub(crate) kind: ReportKind,
}

/// The state of a reported range.
pub(crate) enum ReportKind {
    /// Nothing allocated.
    Hole,
    /// Written data at this byte address on the device.
    Mapped(u64),
    /// Allocated, unwritten (reads as zeros), at this address.
    Unwritten(u64),
}

/// The range FIEMAP may look at, as ext4 checks it: `len` 0 is invalid, a
/// start beyond the maximum file size too big, and the end is clamped.
pub(crate) fn fiemap_range(inode: &Inode, start: u64, len: u64) -> Result<u64> {
    let max = inode.sb().fs_info().max_bytes as u64;
    if len == 0 {
        return Err(code::EINVAL);
    }
    if start > max {
        return Err(crate::glue::errno::efbig());
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
pub(crate) fn report_extent(inode: &Inode, pos: i64, length: i64) -> Result<Report> {
    if pos < 0 || length <= 0 {
        return Err(code::EINVAL);
    }
    let bits = inode.sb().fs_info().block_bits;
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
                ReportKind::Unwritten(addr)
            } else {
                ReportKind::Mapped(addr)
            };
            (u64::from(len), kind)
        }
        Mapping::Hole { len } => (u64::from(len), ReportKind::Hole),
    };
    Ok(Report {
        offset: (first << bits) as i64,
        length: len.clamp(1, want) << bits,
        kind,
    })
}

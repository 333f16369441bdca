// SPDX-License-Identifier: GPL-2.0

//! Regular file data: block mapping for the page cache, SEEK_DATA/SEEK_HOLE.

use super::super_ops::{errno, Blocks, BLOCK_BITS};
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
    let mut lblk = (offset >> BLOCK_BITS) as u64;
    loop {
        // One step per extent or hole, as many as the file has on disk.
        crate::glue::task::yield_point()?;
        let start = (lblk << BLOCK_BITS) as i64;
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

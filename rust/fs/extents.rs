// SPDX-License-Identifier: GPL-2.0

//! Extent trees over the buffer cache (ext4's extents.c): the disk layer
//! walks the tree; blocks come from the device as private copies, and the
//! buffer's verified bit makes each block's checksum and entries (including
//! the system-zone lookup of every extent and child block) checked once per
//! read from the device, not on every mapping through it. What depends on
//! the path to a block (its depth, its first entry against the parent's
//! index entry, the parent's range) is checked on every walk: constant
//! work per level (see `disk::extent::map_checked_root`). The root in
//! `i_block` is checked in full when the inode is read (`inode.rs`).

use super::errors::errno;
use super::INode;
use crate::disk::extent::{self, BlockSource, Mapping};
use crate::disk::Error as DiskError;
use crate::glue::buffer::BufferHead;
use crate::glue::SuperBlock;
use kernel::prelude::*;
use kernel::types::ARef;

/// Reads filesystem blocks through the block device's buffer cache.
pub(crate) struct Blocks<'a, S> {
    pub(crate) sb: &'a SuperBlock<super::Rext4, S>,
    pub(crate) blocks_count: u64,
    /// Whether the buffers' verified bit is used: not while the mount
    /// builds the system zone (blocks checked without it must be checked
    /// again once it exists).
    pub(crate) cache_verified: bool,
}

/// A block read through the buffer cache: the buffer (for its verified
/// bit) and a private copy of its bytes, which is what gets parsed (the
/// glue never lends out live buffer memory).
pub(crate) struct BlockCopy {
    bh: ARef<BufferHead>,
    bytes: KVec<u8>,
}

impl BlockCopy {
    /// Whether the block's checks already passed since it was read from
    /// the device (the buffer's verified bit).
    pub(crate) fn is_verified(&self) -> bool {
        self.bh.is_verified()
    }

    /// Records that the block's checks passed.
    pub(crate) fn set_verified(&self) {
        self.bh.set_verified()
    }
}

impl AsRef<[u8]> for BlockCopy {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl<S> BlockSource for Blocks<'_, S> {
    type Block = BlockCopy;

    fn read(&self, pblk: u64) -> core::result::Result<BlockCopy, DiskError> {
        if pblk >= self.blocks_count {
            return Err(DiskError::Corrupt {
                what: "block number beyond the filesystem",
                value: pblk,
            });
        }
        let io = |_| DiskError::Io { block: pblk };
        let bh = self.sb.bread(pblk).map_err(io)?;
        let bytes = bh.copy().map_err(io)?;
        Ok(BlockCopy { bh, bytes })
    }

    fn is_verified(&self, b: &BlockCopy) -> bool {
        self.cache_verified && b.bh.is_verified()
    }

    fn set_verified(&self, b: &BlockCopy) {
        if self.cache_verified {
            b.bh.set_verified()
        }
    }
}

/// Maps logical block `lblk` of an extent-mapped inode, under the inode's
/// data lock (shared), as ext4's `ext4_map_blocks` holds `i_data_sem`.
pub(crate) fn map(inode: &INode, lblk: u64) -> Result<Mapping> {
    let sb = inode.sb();
    let fi = sb.data();
    let Ok(lblk32) = u32::try_from(lblk) else {
        // Beyond the 32-bit logical block space: always a hole.
        return Ok(Mapping::Hole { len: 1 });
    };
    let src = Blocks {
        sb,
        blocks_count: fi.sb.blocks_count,
        cache_verified: true,
    };
    let data = inode.read();
    let seed = fi.sb.has_metadata_csum().then_some(data.csum_seed);
    // The root passed `extent::check_root` when the inode was read.
    extent::map_checked_root(
        &src,
        &data.i_block,
        lblk32,
        &fi.block_refs(),
        fi.block_size(),
        seed,
    )
    .map_err(|e| {
        fs_err!(sb, "inode #{}: logical block {}: {}", inode.ino(), lblk, e);
        errno(e)
    })
}

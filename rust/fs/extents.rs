// SPDX-License-Identifier: GPL-2.0

//! Extent trees over the buffer cache (ext4's extents.c): the disk layer
//! walks the tree; blocks are read in place ([`DevBlock`]: the fields the
//! walk needs, copied out one by one, never the whole block), and the
//! buffer's verified bit makes each block's checksum and entries (including
//! the system-zone lookup of every extent and child block) checked once per
//! read from the device, not on every mapping through it. What depends on
//! the path to a block (its depth, its first entry against the parent's
//! index entry, the parent's range) is checked on every walk: constant
//! work per level (see `disk::extent::map_checked_root`). The root in
//! `i_block` is checked in full when the inode is read (`inode.rs`).

use super::errors::errno;
use super::INode;
use crate::disk::bytes::Bytes;
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

/// A block of the device read in place: the disk layer reads it through
/// the glue's copying accessors (field by field, see the glue's buffer
/// rule), and its buffer carries the verified bit.
pub(crate) struct DevBlock(ARef<BufferHead>);

impl DevBlock {
    /// Wraps a buffer of the device.
    pub(crate) fn new(bh: ARef<BufferHead>) -> DevBlock {
        DevBlock(bh)
    }

    /// The buffer (for write access through the journal).
    pub(crate) fn buffer(&self) -> &BufferHead {
        &self.0
    }

    /// Whether the block's checks already passed since it was read from
    /// the device (the buffer's verified bit).
    pub(crate) fn is_verified(&self) -> bool {
        self.0.is_verified()
    }

    /// Records that the block's checks passed.
    pub(crate) fn set_verified(&self) {
        self.0.set_verified()
    }

    /// A private copy of the whole block, for parsers that take a slice.
    pub(crate) fn copy(&self) -> Result<KVec<u8>> {
        self.0.copy()
    }

    /// A private copy of bytes `off..off + len` of the block.
    pub(crate) fn copy_range(&self, off: usize, len: usize) -> Result<KVec<u8>> {
        self.0.copy_range(off, len)
    }
}

impl Bytes for DevBlock {
    #[inline]
    fn size(&self) -> usize {
        self.0.size()
    }

    #[inline]
    fn read_into(&self, off: usize, dst: &mut [u8]) -> core::result::Result<(), DiskError> {
        self.0.read(off, dst).map_err(|_| DiskError::Truncated)
    }

    fn crc32c_range(
        &self,
        crc: u32,
        off: usize,
        len: usize,
    ) -> core::result::Result<u32, DiskError> {
        self.0
            .crc32c(crc, off, len)
            .map_err(|_| DiskError::Truncated)
    }

    #[inline]
    fn array_at<const N: usize>(&self, off: usize) -> core::result::Result<[u8; N], DiskError> {
        self.0.read_array(off).map_err(|_| DiskError::Truncated)
    }

    fn equals_at(&self, off: usize, s: &[u8]) -> core::result::Result<bool, DiskError> {
        self.0.equals(off, s).map_err(|_| DiskError::Truncated)
    }
}

/// A block read through the buffer cache as a private copy of its bytes
/// (what the attribute parser takes), with its buffer for the verified bit.
pub(crate) struct BlockCopy {
    block: DevBlock,
    bytes: KVec<u8>,
}

impl BlockCopy {
    /// Whether the block's checks already passed since it was read from
    /// the device (the buffer's verified bit).
    pub(crate) fn is_verified(&self) -> bool {
        self.block.is_verified()
    }

    /// Records that the block's checks passed.
    pub(crate) fn set_verified(&self) {
        self.block.set_verified()
    }
}

impl AsRef<[u8]> for BlockCopy {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl<S> Blocks<'_, S> {
    /// Reads block `pblk` as a private copy.
    pub(crate) fn read_copy(&self, pblk: u64) -> core::result::Result<BlockCopy, DiskError> {
        let block = self.read(pblk)?;
        let bytes = block.copy().map_err(|_| DiskError::Io { block: pblk })?;
        Ok(BlockCopy { block, bytes })
    }
}

impl<S> BlockSource for Blocks<'_, S> {
    type Block = DevBlock;

    fn read(&self, pblk: u64) -> core::result::Result<DevBlock, DiskError> {
        if pblk >= self.blocks_count {
            return Err(DiskError::Corrupt {
                what: "block number beyond the filesystem",
                value: pblk,
            });
        }
        let bh = self
            .sb
            .bread(pblk)
            .map_err(|_| DiskError::Io { block: pblk })?;
        Ok(DevBlock(bh))
    }

    fn is_verified(&self, b: &DevBlock) -> bool {
        self.cache_verified && b.is_verified()
    }

    fn set_verified(&self, b: &DevBlock) {
        if self.cache_verified {
            b.set_verified()
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

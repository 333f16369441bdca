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
use super::journal::ModifyError;
use super::INode;
use crate::disk::bytes::Bytes;
use crate::disk::extent::{self, BlockSource, Extent, Mapping};
use crate::disk::extent_tree::{ExtentTree, NodeStore, TreeParams};
use crate::disk::Error as DiskError;
use crate::glue::buffer::BufferHead;
use crate::glue::jbd2::Handle;
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
    #[inline(always)]
    fn size(&self) -> usize {
        self.0.size()
    }

    #[inline(always)]
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

    #[inline(always)]
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
        inode_err!(
            sb,
            inode.ino(),
            "inode #{}: logical block {}: {}",
            inode.ino(),
            lblk,
            e
        );
        errno(e)
    })
}

impl DevBlock {
    /// The buffer, given back.
    pub(crate) fn into_buffer(self) -> ARef<BufferHead> {
        self.0
    }
}

/// An inode's extent-tree blocks inside a jbd2 handle (the disk layer's
/// [`NodeStore`]): nodes are read through the buffer cache, changed
/// through write access and filed in the handle's transaction, allocated
/// and freed through the block allocator (`balloc.rs`). The disk layer's
/// errors carry no errno, so a kernel error met here (ENOSPC, an aborted
/// journal) is kept in `err` and the tree sees an I/O error; the caller
/// returns the kept one ([`JournalStore::error`]).
pub(crate) struct JournalStore<'a, 'h, 'j> {
    sb: &'a super::Sb,
    h: &'h Handle<'j>,
    err: Option<Error>,
    /// Blocks the tree gained (nodes allocated minus nodes and data
    /// blocks freed), for the inode's block count.
    pub(crate) delta_blocks: i64,
}

impl<'a, 'h, 'j> JournalStore<'a, 'h, 'j> {
    /// A store for trees of `sb` changed inside `h`.
    pub(crate) fn new(sb: &'a super::Sb, h: &'h Handle<'j>) -> Self {
        JournalStore {
            sb,
            h,
            err: None,
            delta_blocks: 0,
        }
    }

    /// The error a failed tree operation returns: the kernel error kept
    /// by the store, else the disk layer's (reported with `what`).
    pub(crate) fn error(&mut self, ino: u64, e: DiskError) -> Error {
        if let Some(k) = self.err.take() {
            return k;
        }
        inode_err!(self.sb, ino, "inode #{}: extent tree: {}", ino, e);
        errno(e)
    }

    fn keep<T>(&mut self, pblk: u64, r: Result<T>) -> core::result::Result<T, DiskError> {
        r.map_err(|e| {
            self.err.get_or_insert(e);
            DiskError::Io { block: pblk }
        })
    }
}

impl NodeStore for JournalStore<'_, '_, '_> {
    type Node = DevBlock;

    fn read<R>(
        &mut self,
        pblk: u64,
        f: impl FnOnce(&DevBlock) -> core::result::Result<R, DiskError>,
    ) -> core::result::Result<R, DiskError> {
        let b = self.sb.bread(pblk);
        let b = self.keep(pblk, b)?;
        f(&DevBlock(b))
    }

    fn modify<R>(
        &mut self,
        pblk: u64,
        f: impl FnOnce(&mut [u8]) -> core::result::Result<R, DiskError>,
    ) -> core::result::Result<R, DiskError> {
        let bs = self.sb.data().block_size() as usize;
        let bh = self.sb.bread(pblk);
        let bh = self.keep(pblk, bh)?;
        match super::journal::modify_block(self.h, &bh, bs, f) {
            Ok(v) => Ok(v),
            Err(ModifyError::Disk(e)) => Err(e),
            Err(ModifyError::Kernel(k)) => self.keep(pblk, Err(k)),
        }
    }

    fn alloc_node(&mut self, goal: u64) -> core::result::Result<u64, DiskError> {
        let r = super::balloc::alloc_blocks(self.sb, self.h, goal, 1).and_then(|(p, _)| {
            // A fresh block: its old bytes are never read (the tree writes
            // it whole), nor journalled.
            let bh = self.h.create_block(self.sb, p)?;
            bh.set_verified();
            Ok(p)
        });
        let p = self.keep(goal, r)?;
        self.delta_blocks += 1;
        Ok(p)
    }

    fn free_node(&mut self, pblk: u64) -> core::result::Result<(), DiskError> {
        let r = super::balloc::free_blocks(self.sb, self.h, pblk, 1);
        self.keep(pblk, r)?;
        self.delta_blocks -= 1;
        Ok(())
    }

    fn free_data(&mut self, pblk: u64, len: u32) -> core::result::Result<(), DiskError> {
        let r = super::balloc::free_blocks(self.sb, self.h, pblk, len);
        self.keep(pblk, r)?;
        self.delta_blocks -= i64::from(len);
        Ok(())
    }

    fn is_verified(&mut self, pblk: u64) -> bool {
        self.sb.bread(pblk).is_ok_and(|b| b.is_verified())
    }

    fn set_verified(&mut self, pblk: u64) {
        if let Ok(b) = self.sb.bread(pblk) {
            b.set_verified();
        }
    }
}

/// The tree parameters of `inode`'s extent tree.
fn tree_params<'z>(fi: &'z super::super_ops::FsInfo, csum_seed: u32) -> TreeParams<'z> {
    TreeParams {
        block_size: fi.block_size(),
        csum_seed: fi.sb.has_metadata_csum().then_some(csum_seed),
        refs: fi.block_refs(),
    }
}

/// An edit of an inode's extent tree inside a handle, under the inode's
/// data lock (exclusive) from [`TreeEdit::new`] to [`TreeEdit::done`],
/// which puts the root back and moves the inode's block count in memory
/// by what the tree gained or lost (the caller writes the inode).
struct TreeEdit<'a, 'h, 'j> {
    inode: &'a INode,
    store: JournalStore<'a, 'h, 'j>,
    data: crate::glue::lock::WriteGuard<'a, super::inode::InodeData>,
    root: [u8; 60],
    params: TreeParams<'a>,
}

impl<'a, 'h, 'j> TreeEdit<'a, 'h, 'j> {
    fn new(h: &'h Handle<'j>, inode: &'a INode) -> Self {
        let sb = inode.sb();
        let data = inode.write();
        let root = data.i_block;
        let params = tree_params(sb.data(), data.csum_seed);
        TreeEdit {
            inode,
            store: JournalStore::new(sb, h),
            data,
            root,
            params,
        }
    }

    /// Runs `f` on the tree; a failure is the store's kernel error, else
    /// the disk layer's, reported.
    fn run<R>(
        &mut self,
        f: impl FnOnce(
            &mut ExtentTree<'_, '_, JournalStore<'a, 'h, 'j>>,
        ) -> core::result::Result<R, DiskError>,
    ) -> Result<R> {
        let r = {
            let mut tree = ExtentTree::new(&mut self.store, &mut self.root, self.params);
            f(&mut tree)
        };
        r.map_err(|e| self.store.error(self.inode.ino(), e))
    }

    /// Ends the edit: the root into the inode's data, the block count
    /// moved by the tree's gain plus `data_blocks` mapped by the caller.
    fn done(mut self, data_blocks: i64) {
        self.data.i_block = self.root;
        self.data.tree_changed = true;
        drop(self.data);
        let per = i64::from(self.inode.sb().data().block_size() / 512);
        let delta = self.store.delta_blocks.saturating_add(data_blocks);
        let blocks = self.inode.attrs().blocks_512;
        self.inode
            .set_blocks_512(blocks.saturating_add_signed(delta.saturating_mul(per)));
    }
}

/// Allocates one block for logical block `lblk` of `inode` (not mapped
/// yet) near `inode_goal` or in line with its neighbouring extents, maps
/// it in the inode's extent tree, and returns it; the inode's block count
/// in memory grows by the blocks the tree gained. Inside `h`; the inode
/// itself is not written.
pub(crate) fn alloc_block(
    h: &Handle<'_>,
    inode: &INode,
    lblk: u32,
    inode_goal: u64,
) -> Result<u64> {
    alloc_block_or(h, inode, lblk, inode_goal).map_err(|f| f.err)
}

/// Why [`alloc_block_or`] failed.
pub(crate) struct AllocFailed {
    pub(crate) err: Error,
    /// Nothing was changed: no block taken (out of space, or the tree
    /// could not be read); otherwise the extent tree may be half changed.
    pub(crate) clean: bool,
}

/// [`alloc_block`], telling a failure that changed nothing from one in
/// the middle of the tree's insert.
pub(crate) fn alloc_block_or(
    h: &Handle<'_>,
    inode: &INode,
    lblk: u32,
    inode_goal: u64,
) -> core::result::Result<u64, AllocFailed> {
    let clean = |err| AllocFailed { err, clean: true };
    let sb = inode.sb();
    let geo = crate::disk::alloc::Geometry::from_superblock(&sb.data().sb);
    let mut edit = TreeEdit::new(h, inode);
    let around = edit.run(|t| t.around(lblk)).map_err(clean)?;
    let goal = crate::disk::alloc::data_goal(&geo, &around, lblk, inode_goal);
    let (pblk, _) = super::balloc::alloc_blocks(sb, h, goal, 1).map_err(clean)?;
    let e = Extent {
        lblk,
        len: 1,
        pblk,
        unwritten: false,
    };
    if let Err(err) = edit.run(|t| t.insert(e)) {
        let _ = super::balloc::free_blocks(sb, h, pblk, 1);
        return Err(AllocFailed { err, clean: false });
    }
    edit.done(1);
    Ok(pblk)
}

/// Blocks [`remove_tail`] unmaps at most per call (so per handle): each
/// may be an extent of its own in a group of its own.
pub(crate) const REMOVE_CHUNK: u32 = 64;

/// Journal blocks and revoke records a [`remove_tail`] call may need:
/// a bitmap and a descriptor block per group it frees in, the leaves and
/// index nodes it changes or frees, the inode and the superblock.
pub(crate) fn remove_credits(fi: &super::super_ops::FsInfo) -> (u32, u32) {
    let groups = u32::try_from(fi.groups.len()).unwrap_or(u32::MAX);
    let credits = 2 * REMOVE_CHUNK.min(groups) + 2 * REMOVE_CHUNK + 16;
    (credits, REMOVE_CHUNK + 2 * REMOVE_CHUNK)
}

/// Unmaps and frees up to [`REMOVE_CHUNK`] of `inode`'s last mapped blocks
/// at or after logical block `from` (data blocks and the tree nodes that
/// empty), inside `h`, under the data lock; the inode's block count in
/// memory follows (the caller writes the inode). Returns whether mapped
/// blocks may remain at or after `from` (call again, in a new handle).
pub(crate) fn remove_tail(h: &Handle<'_>, inode: &INode, from: u64) -> Result<bool> {
    let Ok(from) = u32::try_from(from) else {
        return Ok(false);
    };
    if inode.read().flags & crate::disk::inode::flags::EXTENTS == 0 {
        // A fast symlink or a device node: no blocks.
        return Ok(false);
    }
    let mut edit = TreeEdit::new(h, inode);
    let more = edit
        .run(|tree| {
            let a = tree.around(u32::MAX)?;
            let Some(last) = a.at_or_after.or(a.before) else {
                return Ok(false);
            };
            let end = u64::from(last.lblk) + u64::from(last.len);
            if end <= u64::from(from) {
                return Ok(false);
            }
            let start = end
                .saturating_sub(u64::from(REMOVE_CHUNK))
                .max(u64::from(from));
            tree.remove(start as u32, end)?;
            Ok(true)
        })
        // Blocks may already be freed with the tree not saying so: never
        // committed (see `errors::abort_journal`).
        .map_err(|e| super::errors::abort_journal(inode.sb(), "freeing a file's blocks", e))?;
    edit.done(0);
    Ok(more)
}

/// Turns logical block `lblk` of `inode`, mapped by an unwritten extent,
/// into a written one inside `h` (a write into space preallocated by
/// ext4's fallocate), under the data lock.
pub(crate) fn convert_block(h: &Handle<'_>, inode: &INode, lblk: u32) -> Result {
    let mut edit = TreeEdit::new(h, inode);
    // A split may have been half done: never committed.
    edit.run(|t| t.convert_to_written(lblk, 1)).map_err(|e| {
        super::errors::abort_journal(inode.sb(), "converting an unwritten extent", e)
    })?;
    edit.done(0);
    Ok(())
}

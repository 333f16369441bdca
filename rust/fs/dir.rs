// SPDX-License-Identifier: GPL-2.0

//! Directory blocks and readdir (ext4's dir.c). Indexed (htree)
//! directories are read the same way: their index blocks hold no live
//! entries and are skipped after their checksum is checked.

use super::errors::errno;
use super::extents::{map, DevBlock};
use super::INode;
use crate::disk::bytes::Bytes;
use crate::disk::dir::{check_block, ftype, BlockKind, DirEntry, Entries};
use crate::disk::extent::Mapping;
use crate::disk::features::incompat;
use crate::glue::dentry::{DirEmitter, DirEntryType};
use crate::glue::task::yield_point;
use kernel::prelude::*;

/// One directory block, read and verified.
pub(crate) struct DirBlock {
    /// A private copy of the block's bytes (see the glue's buffer rule).
    bytes: KVec<u8>,
    pub(crate) kind: BlockKind,
}

/// What a logical block of a directory holds.
pub(crate) enum Slot {
    /// A block with records (or an htree node).
    Block(DirBlock),
    /// A hole (or unwritten extent) of this many blocks: no records.
    Hole(u64),
}

/// Reads logical block `lblk` of directory `dir` into a private copy and
/// verifies it (see [`block_in_place`]); readdir parses the copy.
pub(crate) fn read_block(dir: &INode, lblk: u64) -> Result<Slot> {
    let dev = match device_block(dir, lblk)? {
        Ok(dev) => dev,
        Err(n) => return Ok(Slot::Hole(n)),
    };
    let bytes = dev.copy()?;
    let kind = verify(dir, lblk, &dev, &bytes[..])?;
    Ok(Slot::Block(DirBlock { bytes, kind }))
}

/// What a logical block of a directory holds, read in place.
pub(crate) enum InPlace {
    /// A block with records (or an htree node), verified, and its kind.
    Block(DevBlock, BlockKind),
    /// A hole (or unwritten extent) of this many blocks: no records.
    Hole(u64),
}

/// Reads logical block `lblk` of directory `dir` and verifies it, leaving
/// its bytes in the buffer cache (lookups search it in place, see
/// `disk::dir::find_name`): its kind, and its checksum once per read from
/// the device. Also the loop step of every walk over a directory: yields
/// the CPU and stops on a fatal signal, since the number of blocks comes
/// from disk.
pub(crate) fn block_in_place(dir: &INode, lblk: u64) -> Result<InPlace> {
    yield_point()?;
    block_in_place_nosig(dir, lblk)
}

/// [`block_in_place`] for the write paths, inside a jbd2 handle: yields
/// the CPU but does not stop on a fatal signal (an operation that changed
/// something runs to its end).
pub(crate) fn block_in_place_nosig(dir: &INode, lblk: u64) -> Result<InPlace> {
    crate::glue::task::resched();
    let dev = match device_block_nosig(dir, lblk)? {
        Ok(dev) => dev,
        Err(n) => return Ok(InPlace::Hole(n)),
    };
    let kind = verify(dir, lblk, &dev, &dev)?;
    Ok(InPlace::Block(dev, kind))
}

/// The device's block holding logical block `lblk` of `dir`, or
/// `Err(blocks)` for a hole (or unwritten extent) of that many blocks;
/// not verified (the htree walk checks index blocks itself). Yields the
/// CPU and stops on a fatal signal (see [`block_in_place`]).
pub(crate) fn device_block(dir: &INode, lblk: u64) -> Result<core::result::Result<DevBlock, u64>> {
    yield_point()?;
    device_block_nosig(dir, lblk)
}

/// [`device_block`] without the yield and signal check.
pub(crate) fn device_block_nosig(
    dir: &INode,
    lblk: u64,
) -> Result<core::result::Result<DevBlock, u64>> {
    let sb = dir.sb();
    let pblk = match map(dir, lblk)? {
        Mapping::Mapped {
            pblk,
            unwritten: false,
            ..
        } => pblk,
        Mapping::Mapped { len, .. } | Mapping::Hole { len } => {
            return Ok(Err(u64::from(len).max(1)))
        }
    };
    let bh = sb.bread(pblk).inspect_err(|_| {
        inode_err!(
            sb,
            dir.ino(),
            "directory inode #{}: unable to read block {}",
            dir.ino(),
            pblk
        );
    })?;
    Ok(Ok(DevBlock::new(bh)))
}

/// Checks `bytes`, block `lblk` of `dir` as read from `dev` (a copy, or
/// `dev` itself): its kind, and its checksum once per read from the
/// device (ext4's verified bit), not on every lookup that walks the block.
/// The bit is set here for leaf blocks only: an index block gets it from
/// the htree walk, which checks more than the checksum (the hash order).
/// The bit is one per buffer, shared by every role a block can play
/// (extent node, directory leaf, index node), as in ext4: a block that a
/// corrupt tree reaches in a second role after passing the checks of the
/// first is not checked again for the second. The parsers stay
/// bounds-checked on every read, so that yields a wrong answer or a
/// corruption report, never an access outside the block.
fn verify<B: Bytes + ?Sized>(
    dir: &INode,
    lblk: u64,
    dev: &DevBlock,
    bytes: &B,
) -> Result<BlockKind> {
    let sb = dir.sb();
    let fi = sb.data();
    let (indexed, csum_seed) = {
        let d = dir.read();
        (d.is_indexed(), d.csum_seed)
    };
    let fail = |e| bad_entry(dir, lblk, e);
    let seed = (fi.sb.has_metadata_csum() && !dev.is_verified()).then_some(csum_seed);
    let kind = check_block(bytes, indexed, lblk as u32, seed).map_err(fail)?;
    if seed.is_some() && kind == BlockKind::Leaf {
        dev.set_verified();
    }
    Ok(kind)
}

/// Whether a directory block of `kind` ends with a checksum tail record.
///
/// Only leaf blocks do: an htree root ends with a `dx_tail`, whose bytes
/// may look like a leaf tail (ext4 leaves the old leaf's tail there when it
/// turns a leaf into the root), and its ".." record covers the block.
pub(crate) fn has_csum_tail(dir: &INode, kind: BlockKind) -> bool {
    dir.sb().data().sb.has_metadata_csum() && kind == BlockKind::Leaf
}

/// The live entries of a directory block.
pub(crate) fn entries<'a>(dir: &INode, b: &'a DirBlock) -> Entries<'a> {
    let tail = has_csum_tail(dir, b.kind);
    Entries::new(&b.bytes, 0, tail, dir.sb().data().sb.inodes_count)
}

/// Reports a bad record of block `lblk` of `dir`.
pub(crate) fn bad_entry(dir: &INode, lblk: u64, e: crate::disk::Error) -> kernel::error::Error {
    inode_err!(
        dir.sb(),
        dir.ino(),
        "directory inode #{}, block {}: {}",
        dir.ino(),
        lblk,
        e
    );
    errno(e)
}

/// The type readdir reports for a directory entry's `file_type`, as
/// ext4's `get_dtype`: unknown without the filetype feature and for values
/// that are not file types (8 and above).
fn dtype(filetype_feature: bool, ft: u8) -> DirEntryType {
    if !filetype_feature {
        return DirEntryType::Unknown;
    }
    match ft {
        ftype::REG => DirEntryType::Reg,
        ftype::DIR => DirEntryType::Dir,
        ftype::CHRDEV => DirEntryType::Chr,
        ftype::BLKDEV => DirEntryType::Blk,
        ftype::FIFO => DirEntryType::Fifo,
        ftype::SOCK => DirEntryType::Sock,
        ftype::SYMLINK => DirEntryType::Lnk,
        _ => DirEntryType::Unknown,
    }
}

/// `iterate_shared`: emits entries from the emitter's position, a byte
/// offset in the directory; after each emitted entry the position moves to
/// the next record, so a reader that stops and resumes sees every entry
/// once. A position inside a record (after `lseek`) resumes at the next
/// record.
pub(crate) fn readdir(dir: &INode, ctx: &mut DirEmitter) -> Result {
    let size = dir.size();
    let bits = dir.block_bits();
    let bs = 1i64 << bits;
    let filetype = dir.sb().data().sb.has_incompat(incompat::FILETYPE);
    loop {
        let pos = ctx.pos();
        if pos < 0 || pos >= size {
            return Ok(());
        }
        let lblk = (pos >> bits) as u64;
        let base = (lblk as i64) * bs;
        let off = (pos - base) as usize;
        let b = match read_block(dir, lblk)? {
            Slot::Block(b) => b,
            Slot::Hole(n) => {
                // Skip the whole hole at once.
                ctx.set_pos(base.saturating_add((n as i64).saturating_mul(bs)));
                continue;
            }
        };
        if b.kind != BlockKind::DxNode {
            let mut it = entries(dir, &b);
            while let Some(e) = it.next() {
                let e: DirEntry<'_> = e.map_err(|e| bad_entry(dir, lblk, e))?;
                if e.offset < off {
                    continue;
                }
                if !ctx.emit(e.name, e.ino.into(), dtype(filetype, e.file_type)) {
                    return Ok(());
                }
                ctx.set_pos(base + it.offset() as i64);
            }
        }
        ctx.set_pos(base + bs);
    }
}

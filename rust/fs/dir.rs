// SPDX-License-Identifier: GPL-2.0

//! Directory blocks and readdir (ext4's dir.c). A linear directory is read
//! block by block, its position a byte offset. An indexed (htree)
//! directory is read in hash order, as ext4 reads it (`ext4_dx_readdir`):
//! its position is the hash of the next name, so a name that a leaf split
//! moves to another block while the directory is being read is neither
//! lost nor listed twice. A malformed index falls back to the block order
//! (after a warning), as ext4 does.

use super::errors::errno;
use super::extents::{map, DevBlock};
use super::INode;
use crate::disk::bytes::Bytes;
use crate::disk::dir::{check_block, ftype, visit_entries, BlockKind};
use crate::disk::extent::Mapping;
use crate::disk::features::incompat;
use crate::glue::dentry::{DirEmitter, DirEntryType};
use crate::glue::errno::efscorrupted;
use crate::glue::task::yield_point;
use kernel::prelude::*;

/// Reads logical block `lblk` of directory `dir` into a private copy and
/// verifies it (see [`block_in_place`]), for parsers that take a slice;
/// `None` for a hole.
fn read_block_copy(dir: &INode, lblk: u64) -> Result<Option<KVec<u8>>> {
    let dev = match device_block(dir, lblk)? {
        Ok(dev) => dev,
        Err(_) => return Ok(None),
    };
    let bytes = dev.copy()?;
    verify(dir, lblk, &dev, &bytes[..])?;
    Ok(Some(bytes))
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
    read_in_place(dir, lblk)
}

/// [`block_in_place`] for the write paths, inside a jbd2 handle: yields
/// the CPU but does not stop on a fatal signal (an operation that changed
/// something runs to its end).
pub(crate) fn block_in_place_nosig(dir: &INode, lblk: u64) -> Result<InPlace> {
    crate::glue::task::resched();
    read_in_place(dir, lblk)
}

/// [`block_in_place`] without a yield.
#[inline(always)]
fn read_in_place(dir: &INode, lblk: u64) -> Result<InPlace> {
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

/// The position after the last name of an indexed directory
/// (`EXT4_HTREE_EOF_64BIT`).
const DX_EOF: i64 = i64::MAX;

/// The readdir position of a name of hash `major`/`minor` in an indexed
/// directory (ext4's `hash2pos` for 64-bit callers): the major hash, whose
/// bit 0 is always clear, in the upper half, the minor one below.
fn hash2pos(major: u32, minor: u32) -> i64 {
    (i64::from(major >> 1) << 32) | i64::from(minor)
}

/// The hashes a readdir position stands for ([`hash2pos`] reversed).
fn pos2hash(pos: i64) -> (u32, u32) {
    (((pos >> 32) as u32) << 1, pos as u32)
}

/// One name of an indexed directory collected for [`dx_readdir`].
struct Named {
    hash: (u32, u32),
    /// "." or ".." of an index root, at the fixed hashes 0 and 2.
    fixed: bool,
    ino: u32,
    dtype: DirEntryType,
    /// Where its name is in the batch's name buffer.
    name: (usize, usize),
}

/// `iterate_shared`: emits entries from the emitter's position. A linear
/// directory's position is a byte offset: after each emitted entry it
/// moves to the next record, so a reader that stops and resumes sees every
/// entry once, and a position inside a record (after `lseek`) resumes at
/// the next record. An indexed directory, and a one-block directory that
/// may become one, are read in hash order ([`dx_readdir`]).
pub(crate) fn readdir(dir: &INode, ctx: &mut DirEmitter) -> Result {
    if hash_order(dir) && dx_readdir(dir, ctx)? {
        return Ok(());
    }
    linear_readdir(dir, ctx)
}

/// Whether readdir of `dir` goes in hash order (ext4's `is_dx_dir`): the
/// filesystem has dir_index and the directory an index, or one block only
/// (the next name added to a full one indexes it; a reader part-way through
/// keeps valid positions across that).
pub(crate) fn hash_order(dir: &INode) -> bool {
    let sb = dir.sb();
    let d = &sb.data().sb;
    d.has_compat(crate::disk::features::compat::DIR_INDEX)
        && (dir.read().is_indexed() || dir.size() as u64 == u64::from(sb.data().block_size()))
}

/// Reads a directory in hash order (ext4's `ext4_dx_readdir`, with its
/// positions). From the leaf that holds the position's hash, each leaf,
/// with the leaves its names continue into (collision bit), is collected,
/// sorted by (major, minor) hash and emitted from the position on; "." and
/// ".." come first, at hashes 0 and 2. A one-block directory without an
/// index is that one leaf, "." and ".." hashed like the other names (as
/// ext4). The position before an entry is emitted is its hash, so a
/// reader that stops resumes at it. With the legacy hash, whose minor hash
/// is always 0, the minor part of a position is the name's rank among the
/// names of its major hash (ordered by name), so a group of names with one
/// hash larger than the reader's buffer is still read through once.
/// `Ok(false)`: the index is malformed at the start of a read; the caller
/// reads the directory block by block instead (after a warning), as ext4.
fn dx_readdir(dir: &INode, ctx: &mut DirEmitter) -> Result<bool> {
    use super::namei::{dx_error, Dx, DxReader};
    use crate::disk::htree::{self, hash_version, DxParams, DxPath};
    let pos = ctx.pos();
    if !(0..DX_EOF).contains(&pos) {
        return Ok(true);
    }
    let sb = dir.sb();
    let fi = sb.data();
    let filetype = fi.sb.has_incompat(incompat::FILETYPE);
    let seed = dir.read().csum_seed;
    let indexed = dir.read().is_indexed();
    let params = match DxParams::new(&fi.sb, dir.size() as u64, seed) {
        Ok(p) => p,
        Err(_) => return Ok(false),
    };
    // A malformed index: at the start, the block order instead; part-way,
    // the position is a hash the block order cannot resume at.
    let bad = |e: Option<crate::disk::Error>| -> Result<bool> {
        if pos == 0 {
            return Ok(false);
        }
        inode_err!(
            sb,
            dir.ino(),
            "directory inode #{}: bad htree index while reading it{}",
            dir.ino(),
            if e.is_some() { "" } else { ": hole" }
        );
        Err(efscorrupted())
    };
    let mut reader = DxReader::new(dir);
    let mut start = pos2hash(pos);
    let (mut leaf, mut path, version): (u32, Option<DxPath>, u8) = if indexed {
        match htree::probe_hash(&params, start.0, &mut reader) {
            Ok(path) => (path.leaf(), Some(path), path.root_info().hash_version),
            Err(e) => {
                return match dx_error::<()>(dir, e, &mut reader)? {
                    Dx::BadIndex => bad(Some(e)),
                    _ => Ok(true),
                }
            }
        }
    } else if crate::disk::dx_write::can_index(fi.sb.def_hash_version) {
        (0, None, fi.sb.def_hash_version)
    } else {
        return Ok(false);
    };
    let legacy = version == hash_version::LEGACY;
    let mut first = true;
    let max_ino = fi.sb.inodes_count;
    // A leaf holds at most a record of 12 bytes per 12 bytes and names no
    // longer than the block: room for one leaf without growing (a name
    // continued into further leaves grows them).
    let bs = fi.block_size() as usize;
    loop {
        let mut names: KVec<u8> = KVec::with_capacity(bs, GFP_KERNEL)?;
        let mut batch: KVec<Named> = KVec::with_capacity(bs / 12 + 2, GFP_KERNEL)?;
        let mut add = |names: &mut KVec<u8>,
                       hash: (u32, u32),
                       fixed: bool,
                       name: &[u8],
                       ino: u32,
                       dtype|
         -> Result {
            let at = names.len();
            names.extend_from_slice(name, GFP_KERNEL)?;
            batch.push(
                Named {
                    hash,
                    fixed,
                    ino,
                    dtype,
                    name: (at, name.len()),
                },
                GFP_KERNEL,
            )?;
            Ok(())
        };
        if first && indexed && start <= (2, 0) {
            // "." and ".." from the root, at hashes 0 and 2 (read only
            // while one of them is still to come).
            let Some(root) = read_block_copy(dir, 0)? else {
                return bad(None);
            };
            let parent = crate::disk::dir_write::dotdot_ino(
                &root,
                &crate::disk::dir_write::DirFormat::from_superblock(&fi.sb),
                dir.ino() as u32,
            )
            .map_err(|e| bad_entry(dir, 0, e))?;
            add(
                &mut names,
                (0, 0),
                true,
                b".",
                dir.ino() as u32,
                DirEntryType::Dir,
            )?;
            add(&mut names, (2, 0), true, b"..", parent, DirEntryType::Dir)?;
        }
        // This leaf and those its last hash continues into: every name of
        // a major hash from the start's on (the minor part is judged once
        // the batch is sorted). Read in place: each name is copied once,
        // into the batch.
        let next = loop {
            let lblk = u64::from(leaf);
            let (b, kind) = match block_in_place(dir, lblk)? {
                InPlace::Block(b, kind) => (b, kind),
                InPlace::Hole(_) => return bad(None),
            };
            let tail = has_csum_tail(dir, kind);
            let bad_rec = |e| bad_entry(dir, lblk, e);
            visit_entries(&b, 0, tail, max_ino, bad_rec, |e, _| {
                let h = params
                    .hash
                    .hash(version, e.name)
                    .map_err(|e| bad_entry(dir, lblk, e))?;
                if h.major >= start.0 {
                    add(
                        &mut names,
                        (h.major, h.minor),
                        false,
                        e.name,
                        e.ino,
                        dtype(filetype, e.file_type),
                    )?;
                }
                Ok(true)
            })?;
            let Some(path) = path.as_mut() else {
                break None;
            };
            match path.next_leaf_any(&params, &mut reader) {
                Ok(Some((l, h))) if h & 1 != 0 => leaf = l,
                Ok(Some(n)) => break Some(n),
                Ok(None) => break None,
                Err(e) => {
                    return match dx_error::<()>(dir, e, &mut reader)? {
                        Dx::BadIndex => bad(Some(e)),
                        _ => Ok(true),
                    }
                }
            }
        };
        // By hash, then by name (names of one hash are few: the name
        // compare runs on ties only). What moves is a (key, index) pair
        // per name, not the name's whole record.
        let mut order: KVec<(u64, usize)> = KVec::with_capacity(batch.len(), GFP_KERNEL)?;
        for (i, n) in batch.iter().enumerate() {
            let key = (u64::from(n.hash.0) << 32) | u64::from(n.hash.1);
            order.push((key, i), GFP_KERNEL)?;
        }
        let name_at = |i: usize| {
            batch
                .get(i)
                .and_then(|n| names.get(n.name.0..n.name.0 + n.name.1))
        };
        crate::disk::sort::sort_by(&mut order, |a, b| {
            a.0 < b.0 || (a.0 == b.0 && name_at(a.1) < name_at(b.1))
        });
        if legacy {
            // Ranks within each major hash ("." and ".." keep 0 and 2).
            let mut prev = None;
            let mut rank = 0u32;
            for &(_, i) in order.iter() {
                let Some(n) = batch.get_mut(i) else {
                    continue;
                };
                if n.fixed {
                    continue;
                }
                if prev == Some(n.hash.0) {
                    rank = rank.saturating_add(1);
                } else {
                    rank = 0;
                    prev = Some(n.hash.0);
                }
                n.hash.1 = rank;
            }
        }
        for &(_, i) in order.iter() {
            let Some(n) = batch.get(i) else {
                continue;
            };
            if n.hash < start {
                continue;
            }
            ctx.set_pos(hash2pos(n.hash.0, n.hash.1));
            let name = names.get(n.name.0..n.name.0 + n.name.1).unwrap_or(&[]);
            if !ctx.emit(name, n.ino.into(), n.dtype) {
                return Ok(true);
            }
        }
        match next {
            None => {
                ctx.set_pos(DX_EOF);
                return Ok(true);
            }
            Some((l, h)) => {
                start = (h, 0);
                leaf = l;
                ctx.set_pos(hash2pos(h, 0));
                first = false;
            }
        }
    }
}

/// [`readdir`] of a linear directory, or of an indexed one whose index is
/// malformed: block by block, positions are byte offsets.
fn linear_readdir(dir: &INode, ctx: &mut DirEmitter) -> Result {
    let size = dir.size();
    let bits = dir.block_bits();
    let bs = 1i64 << bits;
    let filetype = dir.sb().data().sb.has_incompat(incompat::FILETYPE);
    let max_ino = dir.sb().data().sb.inodes_count;
    loop {
        let pos = ctx.pos();
        if pos < 0 || pos >= size {
            return Ok(());
        }
        let lblk = (pos >> bits) as u64;
        let base = (lblk as i64) * bs;
        let off = (pos - base) as usize;
        let (b, kind) = match block_in_place(dir, lblk)? {
            InPlace::Block(b, kind) => (b, kind),
            InPlace::Hole(n) => {
                // Skip the whole hole at once.
                ctx.set_pos(base.saturating_add((n as i64).saturating_mul(bs)));
                continue;
            }
        };
        if kind != BlockKind::DxNode {
            let tail = has_csum_tail(dir, kind);
            let bad_rec = |e| bad_entry(dir, lblk, e);
            let whole = visit_entries(&b, 0, tail, max_ino, bad_rec, |e, next| {
                if e.offset < off {
                    return Ok(true);
                }
                if !ctx.emit(e.name, e.ino.into(), dtype(filetype, e.file_type)) {
                    return Ok(false);
                }
                ctx.set_pos(base + next as i64);
                Ok(true)
            })?;
            if !whole {
                return Ok(());
            }
        }
        ctx.set_pos(base + bs);
    }
}

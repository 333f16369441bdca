// SPDX-License-Identifier: GPL-2.0

//! Directories: readdir and lookup by linear scan of the directory blocks.
//! Indexed (htree) directories are read the same way: their index blocks
//! hold no live entries and are skipped after their checksum is checked.

use super::file::map;
use super::inode::iget;
use super::super_ops::errno;
use crate::disk::dir::{check_block, ftype, BlockKind, DirEntry, Entries};
use crate::disk::extent::Mapping;
use crate::glue::inode::{Inode, InodeRef};
use crate::glue::ops::DirContext;
use crate::glue::task::yield_point;
use crate::sys;
use kernel::alloc::KVec;
use kernel::error::Result;

/// Longest name ext4 stores.
const NAME_MAX: usize = 255;

/// One directory block, read and verified.
struct DirBlock {
    /// A private copy of the block's bytes (see the glue's buffer rule).
    bytes: KVec<u8>,
    kind: BlockKind,
}

/// What a logical block of a directory holds.
enum Slot {
    /// A block with records (or an htree node).
    Block(DirBlock),
    /// A hole (or unwritten extent) of this many blocks: no records.
    Hole(u64),
}

/// Reads logical block `lblk` of directory `dir`. Also the loop step of
/// every walk over a directory: yields the CPU and stops on a fatal signal,
/// since the number of blocks comes from disk.
fn read_block(dir: &Inode, lblk: u64) -> Result<Slot> {
    yield_point()?;
    let sb = dir.sb();
    let fi = sb.fs_info();
    let pblk = match map(dir, lblk)? {
        Mapping::Mapped {
            pblk,
            unwritten: false,
            ..
        } => pblk,
        Mapping::Mapped { len, .. } | Mapping::Hole { len } => {
            return Ok(Slot::Hole(u64::from(len).max(1)))
        }
    };
    let buf = sb.bread(pblk).inspect_err(|_| {
        fs_err!(
            sb,
            "directory inode #{}: unable to read block {}",
            dir.ino(),
            pblk
        );
    })?;
    let data = dir.data();
    let fail = |e| {
        fs_err!(sb, "directory inode #{}, block {}: {}", dir.ino(), lblk, e);
        errno(e)
    };
    // The checksum is verified once per read from the device (ext4's
    // verified bit), not on every lookup that walks the block.
    let seed = (fi.sb.has_metadata_csum() && !buf.is_verified()).then_some(data.csum_seed);
    let bytes = buf.copy()?;
    let kind = check_block(&bytes, data.is_indexed(), lblk as u32, seed).map_err(fail)?;
    if seed.is_some() {
        buf.set_verified();
    }
    Ok(Slot::Block(DirBlock { bytes, kind }))
}

/// The live entries of a directory block. Only leaf blocks end with a
/// checksum tail record: an htree root ends with a `dx_tail`, whose bytes
/// may look like a leaf tail (ext4 leaves the old leaf's tail there when it
/// turns a leaf into the root), and its ".." record covers the block.
fn entries<'a>(dir: &Inode, b: &'a DirBlock) -> Entries<'a> {
    let fi = dir.sb().fs_info();
    let tail = fi.sb.has_metadata_csum() && b.kind == BlockKind::Leaf;
    Entries::new(&b.bytes, 0, tail, fi.sb.inodes_count)
}

fn bad_entry(dir: &Inode, lblk: u64, e: crate::disk::Error) -> kernel::error::Error {
    fs_err!(
        dir.sb(),
        "directory inode #{}, block {}: {}",
        dir.ino(),
        lblk,
        e
    );
    errno(e)
}

/// The VFS `DT_*` type of a directory entry's `file_type`, as ext4's
/// `get_dtype`: `DT_UNKNOWN` without the filetype feature and for values
/// that are not file types (8 and above).
fn dtype(dir: &Inode, ft: u8) -> u8 {
    if !dir
        .sb()
        .fs_info()
        .sb
        .has_incompat(crate::disk::features::incompat::FILETYPE)
    {
        return sys::DT_UNKNOWN as u8;
    }
    let t = match ft {
        ftype::REG => sys::DT_REG,
        ftype::DIR => sys::DT_DIR,
        ftype::CHRDEV => sys::DT_CHR,
        ftype::BLKDEV => sys::DT_BLK,
        ftype::FIFO => sys::DT_FIFO,
        ftype::SOCK => sys::DT_SOCK,
        ftype::SYMLINK => sys::DT_LNK,
        _ => sys::DT_UNKNOWN,
    };
    t as u8
}

/// `iterate_shared`: emits entries from `ctx.pos()`, a byte offset in the
/// directory; after each emitted entry the position moves to the next
/// record, so a reader that stops and resumes sees every entry once. A
/// position inside a record (after `lseek`) resumes at the next record.
pub(crate) fn readdir(dir: &Inode, ctx: &DirContext) -> Result {
    let size = dir.size();
    let bits = dir.sb().fs_info().block_bits;
    let bs = 1i64 << bits;
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
                if !ctx.emit(e.name, e.ino.into(), dtype(dir, e.file_type)) {
                    return Ok(());
                }
                ctx.set_pos(base + it.offset() as i64);
            }
        }
        ctx.set_pos(base + bs);
    }
}

/// Looks `name` up in `dir`: the inode, or `None` if there is no entry.
pub(crate) fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<InodeRef>> {
    if name.len() > NAME_MAX {
        return Err(crate::glue::errno::enametoolong());
    }
    let bits = dir.sb().fs_info().block_bits;
    let nblocks = (dir.size() as u64).div_ceil(1 << bits);
    let mut lblk = 0;
    while lblk < nblocks {
        let b = match read_block(dir, lblk)? {
            Slot::Block(b) => b,
            Slot::Hole(n) => {
                lblk = lblk.saturating_add(n);
                continue;
            }
        };
        let this = lblk;
        lblk += 1;
        if b.kind == BlockKind::DxNode {
            continue;
        }
        for e in entries(dir, &b) {
            let e = e.map_err(|e| bad_entry(dir, this, e))?;
            if e.name == name {
                let ino = e.ino;
                drop(b);
                return iget(dir.sb(), ino).map(Some);
            }
        }
    }
    Ok(None)
}

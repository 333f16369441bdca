// SPDX-License-Identifier: GPL-2.0

//! Name lookup (ext4's namei.c). An indexed (dir_index) directory is
//! searched by hash: the disk layer's htree walk descends from the root
//! through the index nodes to the one leaf that can hold the name (and the
//! following leaves while the hash continues there). Other directories, and
//! an indexed one whose index is malformed (ext4's `ERR_BAD_DX_DIR`, after
//! a warning), are scanned block by block.

use super::dir::{
    bad_entry, block_in_place, block_in_place_nosig, device_block_nosig, has_csum_tail, InPlace,
};
use super::errors::errno;
use super::extents::DevBlock;
use super::inode::iget;
use super::INode;
use crate::disk::dir::{find_name, BlockKind};
use crate::disk::features::compat;
use crate::disk::htree::{self, DirBlockReader, DxParams};
use crate::disk::Error as DiskError;
use crate::glue::errno::{efscorrupted, enametoolong};
use kernel::prelude::*;
use kernel::types::ARef;

/// Longest name ext4 stores.
const NAME_MAX: usize = 255;

/// Whether `dir` is searched and changed through its htree index: it has
/// the index flag and the filesystem the dir_index feature (ext4's
/// `is_dx`).
pub(crate) fn is_dx(dir: &INode) -> bool {
    dir.read().is_indexed() && dir.sb().data().sb.has_compat(compat::DIR_INDEX)
}

/// Looks `name` up in `dir`: the inode, or `None` if there is no entry.
pub(crate) fn lookup(dir: &INode, name: &[u8]) -> Result<Option<ARef<INode>>> {
    if name.len() > NAME_MAX {
        return Err(enametoolong());
    }
    let search = |lblk, b: DevBlock, kind| find_in_block(dir, &b, kind, lblk, name);
    let ino = if is_dx(dir) {
        match dx_search(dir, name, false, search)? {
            Dx::Found(ino) => Some(ino),
            Dx::Absent => None,
            Dx::BadIndex => linear_find(dir, name)?,
        }
    } else {
        linear_find(dir, name)?
    };
    let Some(ino) = ino else {
        return Ok(None);
    };
    // "." and ".." never come here (the VFS resolves them), so an entry
    // naming the directory itself is corrupt.
    if u64::from(ino) == dir.ino() {
        inode_err!(
            dir.sb(),
            dir.ino(),
            "directory inode #{}: entry '{}' names the directory itself",
            dir.ino(),
            kernel::str::BStr::from_bytes(name)
        );
        return Err(efscorrupted());
    }
    iget(dir.sb(), ino).map(Some)
}

/// The inode number of `name` in block `b` (logical block `lblk`) of `dir`,
/// searched in place.
fn find_in_block(
    dir: &INode,
    b: &DevBlock,
    kind: BlockKind,
    lblk: u64,
    name: &[u8],
) -> Result<Option<u32>> {
    let tail = has_csum_tail(dir, kind);
    find_name(b, tail, dir.sb().data().sb.inodes_count, name).map_err(|e| bad_entry(dir, lblk, e))
}

/// Every block of the directory in turn (index blocks skipped).
fn linear_find(dir: &INode, name: &[u8]) -> Result<Option<u32>> {
    let bits = dir.block_bits();
    let nblocks = (dir.size() as u64).div_ceil(1 << bits);
    let mut lblk = 0;
    while lblk < nblocks {
        let (b, kind) = match block_in_place(dir, lblk)? {
            InPlace::Block(b, kind) => (b, kind),
            InPlace::Hole(n) => {
                lblk = lblk.saturating_add(n);
                continue;
            }
        };
        let this = lblk;
        lblk += 1;
        if kind == BlockKind::DxNode {
            continue;
        }
        if let Some(ino) = find_in_block(dir, &b, kind, this, name)? {
            return Ok(Some(ino));
        }
    }
    Ok(None)
}

/// The outcome of a search by hash.
pub(crate) enum Dx<T> {
    /// What the leaf search returned.
    Found(T),
    /// No leaf the name's hash leads to holds it.
    Absent,
    /// The index is malformed: search linearly (after a warning).
    BadIndex,
}

/// Reads the index blocks of a directory for the htree walk, in place,
/// with the buffers' verified bit; a failure to read is kept to be
/// returned as it is. No yield per block: a walk reads at most one block
/// per index level, and the walks that go on from leaf to leaf yield at
/// each leaf they read.
pub(crate) struct DxReader<'a> {
    dir: &'a INode,
    failed: Option<Error>,
    /// The block read last: the walk checks each block right after reading
    /// it, so a checksum failure is this block's.
    last: u32,
}

impl<'a> DxReader<'a> {
    /// A reader of `dir`'s index blocks.
    pub(crate) fn new(dir: &'a INode) -> Self {
        DxReader {
            dir,
            failed: None,
            last: 0,
        }
    }
}

impl DirBlockReader for DxReader<'_> {
    type Block = DevBlock;

    fn read_dir_block(&mut self, lblk: u32) -> crate::disk::Result<DevBlock> {
        self.last = lblk;
        match device_block_nosig(self.dir, u64::from(lblk)) {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(_)) => Err(DiskError::Corrupt {
                what: "htree: hole in an indexed directory",
                value: u64::from(lblk),
            }),
            Err(e) => {
                self.failed = Some(e);
                Err(DiskError::Io {
                    block: u64::from(lblk),
                })
            }
        }
    }

    fn is_verified(&self, b: &DevBlock) -> bool {
        b.is_verified()
    }

    fn set_verified(&self, b: &DevBlock) {
        b.set_verified()
    }
}

/// Searches an indexed directory by hash (ext4's `ext4_dx_find_entry`):
/// `search` runs on each leaf the name's hash leads to (verified, in
/// place) until it returns `Some`. `in_handle`: inside a jbd2 handle, so
/// the walk yields the CPU but does not stop for a fatal signal.
pub(crate) fn dx_search<T>(
    dir: &INode,
    name: &[u8],
    in_handle: bool,
    mut search: impl FnMut(u64, DevBlock, BlockKind) -> Result<Option<T>>,
) -> Result<Dx<T>> {
    let sb = dir.sb();
    let fi = sb.data();
    let csum_seed = dir.read().csum_seed;
    let params = match DxParams::new(&fi.sb, dir.size() as u64, csum_seed) {
        Ok(p) => p,
        Err(e) => return bad_index(dir, e),
    };
    // Index blocks are read in place (mapping, read; checksum and hash
    // order verified by the walk once per read from the device).
    let mut reader = DxReader::new(dir);
    let mut path = match htree::probe(&params, name, &mut reader) {
        Ok(p) => p,
        Err(e) => return dx_error(dir, e, &mut reader),
    };
    let mut leaf = path.leaf();
    loop {
        let lblk = u64::from(leaf);
        let step = if in_handle {
            block_in_place_nosig(dir, lblk)?
        } else {
            block_in_place(dir, lblk)?
        };
        let (b, kind) = match step {
            InPlace::Block(b, kind) => (b, kind),
            InPlace::Hole(_) => {
                return bad_index(
                    dir,
                    DiskError::Corrupt {
                        what: "htree: index entry points at a hole",
                        value: lblk,
                    },
                )
            }
        };
        // Searched as a leaf whatever it looks like, as ext4 reads it
        // (DIRENT_HTREE): an emptied leaf without a checksum tail (one
        // record, inode 0, covering the block) looks like an index node.
        if let Some(v) = search(lblk, b, kind)? {
            return Ok(Dx::Found(v));
        }
        match path.next_leaf(&params, &mut reader) {
            Ok(Some(next)) => leaf = next,
            Ok(None) => return Ok(Dx::Absent),
            Err(e) => return dx_error(dir, e, &mut reader),
        }
    }
}

/// A failed walk: a block that could not be read or failed its checksum is
/// the lookup's error (as ext4 returns it); a malformed index falls back.
pub(crate) fn dx_error<T>(dir: &INode, e: DiskError, reader: &mut DxReader<'_>) -> Result<Dx<T>> {
    match (e, reader.failed.take()) {
        (DiskError::Io { .. }, Some(err)) => Err(err),
        (e @ DiskError::BadChecksum { .. }, _) => {
            inode_err!(
                dir.sb(),
                dir.ino(),
                "directory inode #{}, block {}: {}",
                dir.ino(),
                reader.last,
                e
            );
            Err(errno(e))
        }
        (e, _) => bad_index(dir, e),
    }
}

/// ext4's `ERR_BAD_DX_DIR`: warn and search the directory linearly.
fn bad_index<T>(dir: &INode, e: DiskError) -> Result<Dx<T>> {
    fs_warn!(
        dir.sb(),
        "directory inode #{}: bad htree index ({}), searching linearly",
        dir.ino(),
        e
    );
    Ok(Dx::BadIndex)
}

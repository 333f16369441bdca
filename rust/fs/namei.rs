// SPDX-License-Identifier: GPL-2.0

//! Name lookup (ext4's namei.c). An indexed (dir_index) directory is
//! searched by hash: the disk layer's htree walk descends from the root
//! through the index nodes to the one leaf that can hold the name (and the
//! following leaves while the hash continues there). Other directories, and
//! an indexed one whose index is malformed (ext4's `ERR_BAD_DX_DIR`, after
//! a warning), are scanned block by block.

use super::dir::{bad_entry, entries, read_block, read_block_into, DirBlock, Read, Slot};
use super::errors::errno;
use super::inode::iget;
use super::INode;
use crate::disk::dir::BlockKind;
use crate::disk::features::compat;
use crate::disk::htree::{self, DxParams};
use crate::disk::Error as DiskError;
use crate::glue::errno::{efscorrupted, enametoolong};
use kernel::prelude::*;
use kernel::types::ARef;

/// Longest name ext4 stores.
const NAME_MAX: usize = 255;

/// Looks `name` up in `dir`: the inode, or `None` if there is no entry.
pub(crate) fn lookup(dir: &INode, name: &[u8]) -> Result<Option<ARef<INode>>> {
    if name.len() > NAME_MAX {
        return Err(enametoolong());
    }
    let (indexed, csum_seed) = {
        let d = dir.read();
        (d.is_indexed(), d.csum_seed)
    };
    let ino = if indexed && dir.sb().data().sb.has_compat(compat::DIR_INDEX) {
        match dx_find(dir, name, csum_seed)? {
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
        fs_err!(
            dir.sb(),
            "directory inode #{}: entry '{}' names the directory itself",
            dir.ino(),
            kernel::str::BStr::from_bytes(name)
        );
        return Err(efscorrupted());
    }
    iget(dir.sb(), ino).map(Some)
}

/// The inode number of `name` in block `b` (logical block `lblk`) of `dir`.
fn find_in_block(dir: &INode, b: &DirBlock, lblk: u64, name: &[u8]) -> Result<Option<u32>> {
    for e in entries(dir, b) {
        let e = e.map_err(|e| bad_entry(dir, lblk, e))?;
        if e.name == name {
            return Ok(Some(e.ino));
        }
    }
    Ok(None)
}

/// Every block of the directory in turn (index blocks skipped).
fn linear_find(dir: &INode, name: &[u8]) -> Result<Option<u32>> {
    let bits = dir.block_bits();
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
        if let Some(ino) = find_in_block(dir, &b, this, name)? {
            return Ok(Some(ino));
        }
    }
    Ok(None)
}

/// The outcome of a search by hash.
enum Dx {
    Found(u32),
    Absent,
    /// The index is malformed: search linearly (after a warning).
    BadIndex,
}

/// Searches an indexed directory by hash (ext4's `ext4_dx_find_entry`).
fn dx_find(dir: &INode, name: &[u8], csum_seed: u32) -> Result<Dx> {
    let sb = dir.sb();
    let fi = sb.data();
    let params = match DxParams::new(&fi.sb, dir.size() as u64, csum_seed) {
        Ok(p) => p,
        Err(e) => return bad_index(dir, e),
    };
    let mut buf = crate::glue::buffer::zeroed(params.block_size as usize)?;
    // Index blocks come through `read_block_into` straight into the walk's
    // buffer (mapping, read, checksum verified once per read from the
    // device, errors reported there); a failure is kept to be returned as
    // it is.
    let mut failed: Option<Error> = None;
    let mut reader = |lblk: u32, out: &mut [u8]| -> crate::disk::Result<()> {
        match read_block_into(dir, u64::from(lblk), out) {
            Ok(Read::Block) => Ok(()),
            Ok(Read::Hole) => Err(DiskError::Corrupt {
                what: "htree: hole in an indexed directory",
                value: u64::from(lblk),
            }),
            Err(e) => {
                failed = Some(e);
                Err(DiskError::Io {
                    block: u64::from(lblk),
                })
            }
        }
    };
    let mut path = match htree::probe(&params, name, &mut reader, &mut buf) {
        Ok(p) => p,
        Err(e) => return dx_error(dir, e, failed.take()),
    };
    let mut leaf = path.leaf();
    loop {
        let lblk = u64::from(leaf);
        let b = match read_block(dir, lblk)? {
            Slot::Block(b) => b,
            Slot::Hole(_) => {
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
        if let Some(ino) = find_in_block(dir, &b, lblk, name)? {
            return Ok(Dx::Found(ino));
        }
        drop(b);
        match path.next_leaf(&params, &mut reader, &mut buf) {
            Ok(Some(next)) => leaf = next,
            Ok(None) => return Ok(Dx::Absent),
            Err(e) => return dx_error(dir, e, failed.take()),
        }
    }
}

/// A failed walk: a block that could not be read or failed its checksum is
/// the lookup's error (as ext4 returns it); a malformed index falls back.
fn dx_error(dir: &INode, e: DiskError, failed: Option<Error>) -> Result<Dx> {
    match (e, failed) {
        (DiskError::Io { .. }, Some(err)) => Err(err),
        (e @ DiskError::BadChecksum { .. }, _) => {
            fs_err!(dir.sb(), "directory inode #{}: {}", dir.ino(), e);
            Err(errno(e))
        }
        (e, _) => bad_index(dir, e),
    }
}

/// ext4's `ERR_BAD_DX_DIR`: warn and search the directory linearly.
fn bad_index(dir: &INode, e: DiskError) -> Result<Dx> {
    fs_err!(
        dir.sb(),
        "directory inode #{}: bad htree index ({}), searching linearly",
        dir.ino(),
        e
    );
    Ok(Dx::BadIndex)
}

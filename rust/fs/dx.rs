// SPDX-License-Identifier: GPL-2.0

//! Keeping directory indexes (htree) up to date, the fs-layer half of
//! ext4's dx code in namei.c: the disk layer's [`dx_write`] algorithm run
//! on a directory's blocks inside a jbd2 handle. [`add`] puts a name into
//! an indexed directory (leaf, leaf split, node split, new level);
//! [`index`] turns a linear directory whose one block is full into an
//! indexed one, as ext4 does when such a directory gets its second block
//! (`make_indexed_dir`); a linear directory of two blocks or more stays
//! linear, as in ext4.
//!
//! The blocks are read through the buffer cache with their verified bit
//! (index blocks checked by the walk, leaves by the leaf check), changed
//! through write access and filed in the handle's transaction; new blocks
//! are allocated near the directory's inode, mapped in its extent tree and
//! zeroed before the algorithm fills them, and the directory's size grows
//! with each (the caller writes the inode). Running out of space when a
//! step wants a new block leaves the directory valid (every step
//! allocates before its first change): the inode is written and the
//! error (ENOSPC) returned, as ext4 keeps the steps that were done. Any
//! other error after the first change aborts the journal: a half-split
//! directory never commits.

use super::dir::device_block_nosig;
use super::errors::{abort_journal, errno};
use super::extents::{self, DevBlock};
use super::journal::{write_inode, ModifyError};
use super::{INode, Sb};
use crate::disk::alloc::{inode_goal, Geometry};
use crate::disk::dir_write::DirFormat;
use crate::disk::dx_write::{self, AddOutcome, DirStore, MapEntry, Scratch};
use crate::disk::htree::{DirBlockReader, DxParams};
use crate::disk::inode::{flags, inode_location};
use crate::disk::Error as DiskError;
use crate::glue::errno::efscorrupted;
use crate::glue::jbd2::Handle;
use kernel::error::code;
use kernel::prelude::*;

/// Journal blocks one directory block appended inside a handle may dirty:
/// the block, its bitmap and descriptor block, and an extent tree that may
/// split a node at each of its up to 5 levels (a new node each, with its
/// bitmap and descriptor block, and the parent node).
pub(crate) const NEW_BLOCK_CREDITS: u32 = 4 + 5 * 4;

/// Journal blocks adding a name to a directory may dirty: the blocks
/// [`add`] may append after [`index`] appended one, the leaf split, the
/// index blocks on the path (root and two node levels).
pub(crate) const ADD_CREDITS: u32 = (dx_write::MAX_NEW_BLOCKS + 1) * NEW_BLOCK_CREDITS + 4;

/// A directory's blocks inside a handle (the disk layer's [`DirStore`]).
/// Kernel errors are kept (the disk layer's errors carry no errno) and
/// returned by [`Store::error`].
struct Store<'a, 'h, 'j> {
    dir: &'a INode,
    h: &'h Handle<'j>,
    err: Option<Error>,
    /// Whether anything was written: an error from then on aborts the
    /// journal, unless it is `clean_stop`.
    changed: bool,
    /// A block could not be allocated for the next step, which changed
    /// nothing: what was written before is a valid directory.
    clean_stop: bool,
}

impl<'a, 'h, 'j> Store<'a, 'h, 'j> {
    /// A store for `dir` inside `h`; `changed`: the directory was already
    /// changed in this handle.
    fn new(dir: &'a INode, h: &'h Handle<'j>, changed: bool) -> Self {
        Store {
            dir,
            h,
            err: None,
            changed,
            clean_stop: false,
        }
    }

    fn keep<T>(&mut self, lblk: u32, r: Result<T>) -> core::result::Result<T, DiskError> {
        r.map_err(|e| {
            self.err.get_or_insert(e);
            DiskError::Io {
                block: u64::from(lblk),
            }
        })
    }

    /// The error of a failed operation: the kernel's kept one, else the
    /// disk layer's, reported; the journal aborted if a change was made.
    fn error(&mut self, what: &str, e: DiskError) -> Error {
        let sb = self.dir.sb();
        let err = match self.err.take() {
            Some(k) => k,
            None => {
                inode_err!(
                    sb,
                    self.dir.ino(),
                    "directory inode #{}: {}: {}",
                    self.dir.ino(),
                    what,
                    e
                );
                errno(e)
            }
        };
        self.fail(what, err)
    }

    fn fail(&self, what: &str, e: Error) -> Error {
        let sb = self.dir.sb();
        if !self.changed {
            return e;
        }
        if self.clean_stop {
            // The steps done stay: the inode records their blocks.
            return match write_inode(self.h, self.dir) {
                Ok(()) => e,
                Err(e2) => abort_journal(sb, what, e2),
            };
        }
        abort_journal(sb, what, e)
    }
}

impl DirBlockReader for Store<'_, '_, '_> {
    type Block = DevBlock;

    fn read_dir_block(&mut self, lblk: u32) -> crate::disk::Result<DevBlock> {
        match device_block_nosig(self.dir, u64::from(lblk)) {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(_)) => Err(DiskError::Corrupt {
                what: "htree: hole in an indexed directory",
                value: u64::from(lblk),
            }),
            Err(e) => self.keep(lblk, Err(e)),
        }
    }

    fn is_verified(&self, b: &DevBlock) -> bool {
        b.is_verified()
    }

    fn set_verified(&self, b: &DevBlock) {
        b.set_verified()
    }
}

impl DirStore for Store<'_, '_, '_> {
    fn modify<R>(
        &mut self,
        lblk: u32,
        f: impl FnOnce(&mut [u8]) -> crate::disk::Result<R>,
    ) -> crate::disk::Result<R> {
        let dev = self.read_dir_block(lblk)?;
        let bs = self.dir.sb().data().block_size() as usize;
        match super::journal::modify_block(self.h, dev.buffer(), bs, f) {
            Ok(v) => {
                self.changed = true;
                Ok(v)
            }
            // Refused by the disk layer: nothing was put back.
            Err(ModifyError::Disk(e)) => Err(e),
            // Write access or filing failed, perhaps after the bytes
            // changed: counted as a change.
            Err(ModifyError::Kernel(k)) => {
                self.changed = true;
                self.keep(lblk, Err(k))
            }
        }
    }

    fn append(&mut self) -> crate::disk::Result<u32> {
        let dir = self.dir;
        let sb = dir.sb();
        let bs = u64::from(sb.data().block_size());
        let r = (|| {
            let lblk = u32::try_from((dir.size() as u64).div_ceil(bs)).map_err(|_| code::EFBIG)?;
            let d = &sb.data().sb;
            let group = inode_location(d, dir.ino() as u32).map_err(errno)?.0;
            let goal = inode_goal(&Geometry::from_superblock(d), group, false, None);
            let pblk = match extents::alloc_block_or(self.h, dir, lblk, goal) {
                Ok(p) => p,
                Err(f) => {
                    // Only a failure that changed nothing leaves the
                    // directory as the steps before wrote it.
                    if f.clean {
                        self.clean_stop = true;
                    } else {
                        self.changed = true;
                    }
                    return Err(f.err);
                }
            };
            self.changed = true;
            // Zeroed and in the transaction; the algorithm writes it whole.
            let bh = self.h.create_block(sb, pblk)?;
            bh.set_verified();
            dir.set_size((u64::from(lblk) + 1).saturating_mul(bs) as i64);
            Ok(lblk)
        })();
        self.keep(u32::MAX, r)
    }
}

/// Scratch space for the disk layer: a block and a leaf's entry table
/// (under 10 KiB for 4 KiB blocks; inside a handle, so the allocation
/// does not recurse into the filesystem).
fn scratch(sb: &Sb) -> Result<(KVec<u8>, KVec<MapEntry>)> {
    let bs = sb.data().block_size() as usize;
    let map = KVec::from_elem(MapEntry::default(), dx_write::map_len(bs), GFP_KERNEL)?;
    Ok((block_copy(sb)?, map))
}

fn block_copy(sb: &Sb) -> Result<KVec<u8>> {
    let bs = sb.data().block_size() as usize;
    Ok(KVec::from_elem(0u8, bs, GFP_KERNEL)?)
}

fn params(dir: &INode) -> core::result::Result<DxParams, DiskError> {
    let seed = dir.read().csum_seed;
    DxParams::new(&dir.sb().data().sb, dir.size() as u64, seed)
}

/// Adds `name` -> `ino` (type `ft`) to the indexed directory `dir` inside
/// `h`; `indexed_now`: [`index`] changed it in this handle. EEXIST if the
/// name is there; ENOSPC when the index is full or no block is left for a
/// split; EFSCORRUPTED for a malformed index (the caller checked the index
/// before the handle started, with [`index_usable`]).
pub(crate) fn add(
    h: &Handle<'_>,
    dir: &INode,
    name: &[u8],
    ino: u32,
    ft: u8,
    indexed_now: bool,
) -> Result {
    let sb = dir.sb();
    let fmt = DirFormat::from_superblock(&sb.data().sb);
    let (mut block, mut map) = scratch(sb)?;
    let mut s = Store::new(dir, h, indexed_now);
    let mut p = params(dir).map_err(|e| s.error("htree", e))?;
    let mut sc = Scratch {
        block: &mut block,
        map: &mut map,
    };
    let size_before = dir.size();
    let r = dx_write::add_entry(&mut p, &fmt, &mut s, name, ino, ft, &mut sc);
    // Every change to the index (a leaf or node split, a level added)
    // appends blocks, also when a later step failed: the leaf map goes
    // then (lookups are shut out until the directory is unlocked). A name
    // put into its leaf changes no index entry.
    if dir.size() != size_before {
        super::namei::forget_leaf_map(dir);
    }
    match r {
        Ok(AddOutcome::Added) => Ok(()),
        Ok(AddOutcome::Exists) => Err(code::EEXIST),
        Ok(AddOutcome::IndexFull) => {
            fs_warn!(
                sb,
                "directory inode #{}: index full, at the most levels the filesystem allows{}",
                dir.ino(),
                if p.largedir {
                    ""
                } else {
                    " (large_dir is not enabled)"
                }
            );
            Err(s.fail("adding a name to a directory", code::ENOSPC))
        }
        Ok(AddOutcome::BadIndex(e)) => {
            inode_err!(
                sb,
                dir.ino(),
                "directory inode #{}: bad htree index: {}",
                dir.ino(),
                e
            );
            Err(s.fail("adding a name to a directory", efscorrupted()))
        }
        Err(e) => Err(s.error("adding a name to a directory", e)),
    }
}

/// Whether the linear directory `dir`, whose blocks are all full, is
/// indexed before it gets a second block (ext4: one block, the dir_index
/// feature, a default hash version an index can record).
pub(crate) fn can_index(dir: &INode) -> bool {
    let sb = dir.sb();
    let d = &sb.data().sb;
    let bs = u64::from(sb.data().block_size());
    d.has_compat(crate::disk::features::compat::DIR_INDEX)
        && dx_write::can_index(d.def_hash_version)
        && !dir.read().is_indexed()
        && dir.size() as u64 == bs
}

/// Turns the full one-block directory `dir` into an indexed one inside `h`
/// (see the module docs) and sets its index flag; [`add`] adds the name.
/// The caller writes the inode.
pub(crate) fn index(h: &Handle<'_>, dir: &INode) -> Result {
    super::namei::forget_leaf_map(dir);
    let sb = dir.sb();
    let d = &sb.data().sb;
    let fmt = DirFormat::from_superblock(d);
    let mut block = block_copy(sb)?;
    let mut s = Store::new(dir, h, false);
    let mut p = params(dir).map_err(|e| s.error("indexing a directory", e))?;
    dx_write::make_indexed(
        &mut p,
        &fmt,
        &mut s,
        dir.ino() as u32,
        d.def_hash_version,
        &mut block,
    )
    .map_err(|e| s.error("indexing a directory", e))?;
    dir.write().flags |= flags::INDEX;
    Ok(())
}

/// Whether the index of `dir` leads to a leaf for `name` (checked before a
/// handle starts, outside it: a fatal signal may stop it): `false` for a
/// malformed index, which the caller removes before adding linearly, as
/// ext4 falls back (`ERR_BAD_DX_DIR`). Read errors and checksum failures
/// are errors.
pub(crate) fn index_usable(dir: &INode, name: &[u8]) -> Result<bool> {
    match super::namei::dx_search(dir, name, false, |_, _, _| Ok(Some(())))? {
        super::namei::Dx::BadIndex => Ok(false),
        _ => Ok(true),
    }
}

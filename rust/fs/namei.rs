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
use crate::disk::htree::{self, DirBlockReader, DxParams, HashConfig};
use crate::disk::Error as DiskError;
use crate::glue::errno::{efscorrupted, enametoolong};
use core::sync::atomic::Ordering;
use kernel::alloc::flags::{__GFP_NOWARN, GFP_KERNEL_ACCOUNT};
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
        match mapped_search(dir, name)? {
            Some(found) => found,
            None => match dx_search(dir, name, false, search)? {
                Dx::Found(ino) => Some(ino),
                Dx::Absent => None,
                Dx::BadIndex => linear_find(dir, name)?,
            },
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

/// An indexed directory's leaves in hash order (`htree::for_each_leaf`),
/// kept with the directory inode: a lookup finds its leaf by one binary
/// search here instead of reading and searching the root and the index
/// nodes (ext4 walks them on every lookup). Built from the index blocks
/// with all their checks, once a directory has had as many lookups as it
/// has blocks since its index last changed (so a directory that keeps
/// growing never pays for it); every change to the index drops it
/// ([`forget_leaf_map`]). Changes are made with the directory locked
/// (`i_rwsem`) exclusively and lookups hold it shared, so a map is never
/// used across a change; the data lock guards the map itself. The memory
/// (8 bytes a leaf, charged to the caller's memory cgroup) stays with the
/// directory's inode until the index changes or the inode is evicted.
pub(crate) struct LeafMapData {
    /// The root's hash version (what names are hashed with).
    version: u8,
    /// (start hash, logical block) of every leaf.
    leaves: KVVec<(u32, u32)>,
}

/// Leaves a leaf map keeps at most (8 bytes each: 512 KiB); larger
/// directories walk their index blocks.
const LEAF_MAP_MAX: usize = 65536;

/// The most leaves one lookup searches through the map: a run of
/// colliding hashes longer than this walks the index blocks.
const MAPPED_RUN: usize = 4;

/// Looks `name` up through `dir`'s leaf map: `Some(found)` (the inode, or
/// `None` for no such name), or `None` when the directory has no map (it
/// is built here when the directory has had lookups enough) or the map
/// cannot answer (a long collision run, a leaf that is a hole): the
/// caller then walks the index, which also reports what is wrong.
fn mapped_search(dir: &INode, name: &[u8]) -> Result<Option<Option<u32>>> {
    let sb = dir.sb();
    let mut run = [0u32; MAPPED_RUN];
    let mut n = 0;
    {
        let g = dir.read();
        let Some(m) = g.leaf_map.as_ref() else {
            let seen = g
                .dx_lookups
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            drop(g);
            let blocks = (dir.size() as u64) >> dir.block_bits();
            if u64::from(seen) == blocks.max(1) {
                build_leaf_map(dir);
            }
            return Ok(None);
        };
        let Ok(h) = HashConfig::from_superblock(&sb.data().sb).hash(m.version, name) else {
            return Ok(None);
        };
        let map = htree::LeafMap(&m.leaves);
        let mut i = map.first(h.major);
        loop {
            let (Some(slot), Some(leaf)) = (run.get_mut(n), map.leaf(i)) else {
                return Ok(None);
            };
            *slot = leaf;
            n += 1;
            if !map.continues(i, h.major) {
                break;
            }
            i += 1;
        }
    }
    for &leaf in run.get(..n).unwrap_or(&[]) {
        let lblk = u64::from(leaf);
        let InPlace::Block(b, kind) = block_in_place(dir, lblk)? else {
            return Ok(None);
        };
        if let Some(ino) = find_in_block(dir, &b, kind, lblk, name)? {
            return Ok(Some(Some(ino)));
        }
    }
    Ok(Some(None))
}

/// Builds `dir`'s leaf map from its index blocks (see [`LeafMapData`]).
/// Nothing is built for a malformed index or one too large (the walk of
/// each lookup reports the former), nor when memory is short.
fn build_leaf_map(dir: &INode) {
    let sb = dir.sb();
    let seed = dir.read().csum_seed;
    let Ok(params) = DxParams::new(&sb.data().sb, dir.size() as u64, seed) else {
        return;
    };
    // Past the limit (its blocks are leaves but for a few index blocks)
    // nothing is built: the lookups walk the index.
    let want = params.dir_blocks as usize;
    if want > LEAF_MAP_MAX {
        return;
    }
    let Ok(mut leaves) = KVVec::with_capacity(want, GFP_KERNEL_ACCOUNT | __GFP_NOWARN) else {
        return;
    };
    let mut full = false;
    let mut reader = DxReader::new(dir);
    let listed = htree::for_each_leaf(&params, &mut reader, |hash, lblk| {
        if leaves.len() % 256 == 255 {
            crate::glue::task::resched();
        }
        full = leaves.len() >= LEAF_MAP_MAX
            || leaves
                .push((hash, lblk), GFP_KERNEL_ACCOUNT | __GFP_NOWARN)
                .is_err();
        !full
    });
    let Ok(version) = listed else {
        return;
    };
    if full {
        return;
    }
    let Ok(map) = KBox::new(
        LeafMapData { version, leaves },
        GFP_KERNEL_ACCOUNT | __GFP_NOWARN,
    ) else {
        return;
    };
    let mut g = dir.write();
    if g.leaf_map.is_none() {
        g.leaf_map = Some(map);
    }
}

/// Drops `dir`'s leaf map when its index changes (a leaf split or another
/// block added to an indexed directory, a directory indexed, an index
/// removed), and starts counting lookups again. The map is freed after
/// the data lock is released.
pub(crate) fn forget_leaf_map(dir: &INode) {
    let old = {
        let mut g = dir.write();
        *g.dx_lookups.get_mut() = 0;
        g.leaf_map.take()
    };
    drop(old);
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
/// returned as it is. No yield per block: a lookup's walk reads at most
/// one block per index level and yields at each leaf; the walks that list
/// every leaf (readdir, which reads each leaf too; the leaf map's build)
/// give the CPU away as they go.
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

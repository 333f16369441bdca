// SPDX-License-Identifier: GPL-2.0

//! Namespace changes (the writing half of ext4's namei.c): create, mkdir,
//! mknod, symlink, link, unlink, rmdir, and the directory entries they add
//! and remove. Each operation is one jbd2 handle: new inode (bitmap,
//! descriptor, inode table), its first block for a directory or a long
//! symlink (bitmap, descriptor, the block), the entry in the parent
//! (a directory block, or a new one appended through the extent tree),
//! and the inodes whose times, sizes and link counts changed.
//!
//! Directory blocks are changed as ext4 changes them: an entry goes into
//! the first record with room (`disk::dir_write`), a full directory gets a
//! new block, a removed entry is merged into the record before it, and
//! under metadata_csum every leaf block written gets a fresh checksum in
//! its tail. Indexed (dir_index) directories keep their index
//! (`dx.rs`): a name goes into the leaf its hash leads to, splitting
//! leaves and index nodes as they fill; a linear directory whose one block
//! is full is indexed rather than given a second block, as ext4 does.
//! Removing an entry leaves the index as it is (as ext4: leaves are never
//! merged). Entries to change or remove are found through the index too.
//! An index that does not lead to a leaf (ext4's `ERR_BAD_DX_DIR`) is
//! removed before a name is added ([`make_linear`]): the index blocks
//! become empty leaves and the index flag is cleared, which e2fsck and
//! ext4 read as a plain directory.
//!
//! A file whose last link goes while it is open is put on the orphan
//! list (`orphan.rs`); [`delete_inode`] frees an inode, its blocks and
//! its orphan-list entry when its last reference goes.
//!
//! # Lock order
//!
//! The VFS holds `i_rwsem` of the directories and of the inode named;
//! then: handle start → an inode's data lock (`i_data_sem`, held while its
//! extent tree changes) → the allocation lock → the busy list's lock → a
//! group's spinlock → buffer locks; the orphan list's lock is taken after
//! the handle started and before buffer locks, never with `i_data_sem` or
//! the allocation lock held. Nothing here waits for a commit while a
//! handle is open. Once an operation made its first change, an error
//! aborts the journal rather than commit half of it (`errors.rs`), and
//! its loops do not stop for a fatal signal.

use super::dir::{bad_entry, block_in_place, block_in_place_nosig, InPlace};
use super::errors::errno;
use super::extents::DevBlock;
use super::inode::params;
use super::journal::write_inode;
use super::{dx, extents, ialloc, namei, orphan, INode, Sb};
use crate::disk::alloc::{inode_goal, Geometry};
use crate::disk::dir::{ftype, BlockKind};
use crate::disk::dir_write::{
    delete_entry, dotdot_ino, dx_node_to_leaf, dx_root_to_linear, find_slot, init_empty_block,
    init_first_block, insert_entry, is_empty_block, locate, set_dotdot, set_entry_inode,
    set_leaf_csum, DirFormat, Located, Slot,
};
use crate::disk::dx_write::set_root_csum;
use crate::disk::features;
use crate::disk::htree::{parse_root, DxParams};
use crate::disk::inode::{
    self as dinode, csum_seed, flags, inode_location, Inode as DiskInode, Timestamp,
};
use crate::glue::errno::{efscorrupted, enametoolong, enotempty};
use crate::glue::inode::NewSpec;
use crate::glue::inode::RenameMode;
use crate::glue::jbd2::{Handle, Journal};
use kernel::error::code;
use kernel::prelude::*;
use kernel::types::ARef;

/// Longest name ext4 stores.
const NAME_MAX: usize = 255;
/// ext4's `EXT4_LINK_MAX`.
const LINK_MAX: u32 = 65000;

/// Journal blocks a new inode may dirty: its inode bitmap, descriptor
/// block and inode table block; the superblock; its first block with a
/// bitmap and descriptor block; what adding its name to the parent may
/// dirty ([`dx::ADD_CREDITS`]: new directory blocks, an index split); the
/// parent inode.
const CREATE_CREDITS: u32 = 3 + 1 + 3 + dx::ADD_CREDITS + 1 + 8;
/// Journal blocks an unlink or rmdir dirties: the directory block, the
/// two inodes, the superblock and an inode before it on the orphan list.
const UNLINK_CREDITS: u32 = 8;

/// The running journal of a read-write mount, else EROFS.
fn journal(sb: &Sb) -> Result<&Journal> {
    let fi = sb.data();
    fi.journal
        .as_ref()
        .filter(|_| fi.is_writable())
        .ok_or(code::EROFS)
}

/// Starts a handle of `credits` for a namespace change, refused (EROFS)
/// once the mount went read-only.
fn start(sb: &Sb, credits: u32) -> Result<Handle<'_>> {
    start_revoking(sb, credits, 0)
}

/// [`start`] for the orphan list's cleanup.
pub(crate) fn start_handle(sb: &Sb, credits: u32) -> Result<Handle<'_>> {
    start(sb, credits)
}

/// [`start`] of a handle that may revoke up to `revokes` freed blocks.
fn start_revoking(sb: &Sb, credits: u32, revokes: u32) -> Result<Handle<'_>> {
    let j = journal(sb)?;
    super::errors::check_device(sb)?;
    let h = j.start_revoking(credits, revokes)?;
    if !sb.data().is_writable() {
        return Err(code::EROFS);
    }
    Ok(h)
}

/// The rest of an operation whose first change is done: an error from
/// here on leaves a half-done change in the running transaction, so the
/// journal is aborted (`errors::abort_journal`) rather than committing it.
fn rest(sb: &Sb, what: &str, r: Result) -> Result {
    r.map_err(|e| super::errors::abort_journal(sb, what, e))
}

/// Stops `h`, returning the operation's error, else the handle's.
fn finish(h: Handle<'_>, r: Result) -> Result {
    let s = h.stop();
    r.and(s)
}

/// The directory-entry file type of `mode`.
fn file_type(mode: u16) -> u8 {
    match mode & dinode::S_IFMT {
        dinode::S_IFREG => ftype::REG,
        dinode::S_IFDIR => ftype::DIR,
        dinode::S_IFCHR => ftype::CHRDEV,
        dinode::S_IFBLK => ftype::BLKDEV,
        dinode::S_IFIFO => ftype::FIFO,
        dinode::S_IFSOCK => ftype::SOCK,
        dinode::S_IFLNK => ftype::SYMLINK,
        _ => ftype::UNKNOWN,
    }
}

/// `i_block` of a device node (ext4's encoding: the old 8+8-bit form when
/// both numbers fit it, else the new 12+20-bit form in the second word).
fn device_block(rdev: u32) -> [u8; 60] {
    let (major, minor) = (rdev >> 20, rdev & 0xF_FFFF);
    let mut b = [0u8; 60];
    if major < 256 && minor < 256 {
        let old = (major << 8) | minor;
        b[..4].copy_from_slice(&old.to_le_bytes());
    } else {
        let new = (minor & 0xFF) | (major << 8) | ((minor & !0xFF) << 12);
        b[4..8].copy_from_slice(&new.to_le_bytes());
    }
    b
}

fn check_name(name: &[u8]) -> Result {
    if name.len() > NAME_MAX {
        return Err(enametoolong());
    }
    Ok(())
}

/// Whether `dir` may get no other subdirectory (ext4's
/// `EXT4_DIR_LINK_MAX`): 65000 links, unless the filesystem has dir_nlink
/// and the directory an index, whose link count then reads 1 ("many").
fn dir_full(dir: &INode) -> bool {
    let dir_nlink = dir
        .sb()
        .data()
        .sb
        .has_ro_compat(features::ro_compat::DIR_NLINK);
    dir.nlink() >= LINK_MAX && !(dir_nlink && namei::is_dx(dir))
}

/// Counts a subdirectory in `dir` (ext4's `ext4_inc_count`): an indexed
/// directory past 65000 links goes to 1 ("many links", dir_nlink), and
/// one at 1 stays there.
fn inc_dir_count(dir: &INode) {
    if dir.nlink() == 1 {
        return;
    }
    dir.inc_nlink();
    if dir.nlink() > LINK_MAX && namei::is_dx(dir) {
        dir.set_nlink(1);
    }
}

/// Takes a subdirectory's link off `dir` (ext4's `ext4_dec_count`: a
/// directory at 1, "many links" under dir_nlink, stays there).
fn dec_dir_count(dir: &INode) {
    if dir.nlink() > 2 {
        dir.drop_nlink();
    }
}

/// `create`, `mkdir`, `mknod`, `symlink` (ext4's `ext4_create` & co.): a
/// new inode of `spec`'s type, its first block for a directory or a
/// symlink too long for the inode, and its entry `name` in `dir`.
pub(crate) fn create_entry(dir: &INode, name: &[u8], spec: &NewSpec<'_>) -> Result<ARef<INode>> {
    check_name(name)?;
    let sb = dir.sb();
    let fi = sb.data();
    let bs = fi.block_size();
    let typ = spec.mode & dinode::S_IFMT;
    let is_dir = typ == dinode::S_IFDIR;
    let target = match (typ, spec.target) {
        (dinode::S_IFLNK, Some(t)) => Some(t),
        (dinode::S_IFLNK, None) => return Err(code::EINVAL),
        _ => None,
    };
    if let Some(t) = target {
        // With its NUL, the target must fit one block (as ext4).
        if t.len() >= bs as usize {
            return Err(enametoolong());
        }
    }
    prepare(dir, name)?;
    if is_dir && dir_full(dir) {
        return Err(code::EMLINK);
    }
    let mut retries = 0;
    loop {
        let h = start(sb, CREATE_CREDITS)?;
        let mut failed = None;
        let r = new_inode(&h, dir, name, spec, target, &mut failed);
        let s = h.stop();
        // An inode that could not get its entry is on the orphan list with
        // no link: dropped now, outside the handle, its eviction frees it.
        drop(failed);
        match r {
            // Out of space with freed blocks waiting for their commit:
            // commit (no handle open now) and try again, as ext4.
            Err(e) if e == code::ENOSPC && super::balloc::retry_alloc(sb.data(), retries) => {
                retries += 1;
            }
            r => {
                let inode = r?;
                s?;
                return Ok(inode);
            }
        }
    }
}

/// The body of [`create_entry`], inside `h`.
fn new_inode(
    h: &Handle<'_>,
    dir: &INode,
    name: &[u8],
    spec: &NewSpec<'_>,
    target: Option<&[u8]>,
    failed: &mut Option<ARef<INode>>,
) -> Result<ARef<INode>> {
    let sb = dir.sb();
    let fi = sb.data();
    let d = &fi.sb;
    let bs = fi.block_size();
    let draft = dir.new_draft(spec)?;
    let a = draft.attrs();
    let typ = a.mode & dinode::S_IFMT;
    let is_dir = typ == dinode::S_IFDIR;
    let ino = ialloc::alloc_ino(sb, h, dir, is_dir)?;
    // A failure before the inode has its entry gives back what was taken
    // (the block, the inode's bit, and its slot made that of a free inode
    // for e2fsck: no link, deletion time set); if that fails too, the
    // journal is aborted.
    let give_back = |e: Error, first: Option<u64>, written: bool| -> Error {
        let r = (|| {
            if written {
                orphan::set_next(h, sb, ino, crate::glue::task::real_seconds() as u32)?;
                zero_links(h, sb, ino)?;
            }
            if let Some(p) = first {
                super::balloc::free_blocks(sb, h, p, 1)?;
            }
            ialloc::free_ino(sb, h, ino, is_dir)
        })();
        match r {
            Ok(()) => e,
            Err(e2) => {
                super::errors::abort_journal(sb, "creating an inode: cannot take it back", e2)
            }
        }
    };
    let release = |e: Error| give_back(e, None, false);
    let fast_symlink = target.is_some_and(|t| t.len() < 60);
    let extents = !matches!(
        typ,
        dinode::S_IFCHR | dinode::S_IFBLK | dinode::S_IFIFO | dinode::S_IFSOCK
    ) && !fast_symlink;
    let generation = crate::glue::task::random_u32();
    let seed = csum_seed(d, ino, generation);
    let now = |(sec, nsec): (i64, u32)| Timestamp { sec, nsec };
    let mut block = [0u8; 60];
    if extents {
        let mut root = [0u8; 60];
        crate::disk::extent_tree::init_root(&mut root).map_err(|e| release(errno(e)))?;
        block = root;
    } else if let Some(t) = target {
        block[..t.len()].copy_from_slice(t);
    } else {
        block = device_block(spec.rdev);
    }
    let mut di = DiskInode {
        ino,
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        size: target.map_or(0, |t| t.len() as u64),
        atime: now(a.atime),
        ctime: now(a.ctime),
        mtime: now(a.mtime),
        crtime: Some(now(a.ctime)),
        dtime: 0,
        links_count: if is_dir { 2 } else { 1 },
        blocks_512: 0,
        flags: ialloc::new_flags(dir.read().flags, a.mode, extents),
        generation,
        version: a.version,
        file_acl: 0,
        extra_isize: ialloc::new_extra_isize(sb),
        block,
        csum_seed: seed,
    };
    // The first block of a directory or a long symlink.
    let geo = Geometry::from_superblock(d);
    let group = inode_location(d, ino).map_err(|e| release(errno(e)))?.0;
    let first = if is_dir || (target.is_some() && !fast_symlink) {
        let goal = inode_goal(&geo, group, false, None);
        let (pblk, _) = super::balloc::alloc_blocks(sb, h, goal, 1).map_err(release)?;
        let fmt = DirFormat::from_superblock(d);
        let dir_ino = dir.ino() as u32;
        let r = write_new_block(h, sb, pblk, |b| {
            if is_dir {
                init_first_block(b, &fmt, ino, dir_ino)?;
                if fmt.csum {
                    set_leaf_csum(b, seed)?;
                }
            } else if let Some(t) = target {
                b.get_mut(..t.len())
                    .ok_or(crate::disk::Error::Truncated)?
                    .copy_from_slice(t);
            }
            Ok(())
        });
        if let Err(e) = r {
            return Err(give_back(e, Some(pblk), false));
        }
        Some(pblk)
    } else {
        None
    };
    if let Some(pblk) = first {
        let mut root = di.block;
        crate::disk::extent_tree::root_with_extent(&mut root, pblk)
            .map_err(|e| give_back(errno(e), first, false))?;
        di.block = root;
        di.blocks_512 = u64::from(bs / 512);
        if is_dir {
            di.size = u64::from(bs);
        }
    }
    ialloc::write_new(sb, h, &di).map_err(|e| give_back(e, first, false))?;
    let undo = |e: Error| give_back(e, first, true);
    let mut link = [0u8; 60];
    let p = params(sb, &di, &mut link, false).map_err(undo)?;
    let new = draft.insert(ino.into()).map_err(undo)?;
    // From here the inode is in memory: a failure drops its link and puts
    // it on the orphan list; the caller drops it once the handle stopped,
    // and its eviction frees it (a crash first: the mount's cleanup).
    let inode = new.init(p).map_err(undo)?;
    if let Err(e) = add_link(h, dir, name, ino, file_type(a.mode)) {
        inode.clear_nlink();
        let r = orphan::add(h, &inode).and_then(|()| write_inode(h, &inode));
        *failed = Some(inode);
        return Err(match r {
            Ok(()) => e,
            Err(e2) => super::errors::abort_journal(sb, "creating an inode", e2),
        });
    }
    if is_dir {
        inc_dir_count(dir);
    }
    dir.touch(true);
    write_inode(h, dir).map_err(|e| super::errors::abort_journal(sb, "creating an inode", e))?;
    Ok(inode)
}

/// Sets inode `ino`'s link count to 0 on disk (an inode given back
/// before it got an entry).
fn zero_links(h: &Handle<'_>, sb: &Sb, ino: u32) -> Result {
    let d = &sb.data().sb;
    let (bh, off, len) = ialloc::slot(sb, ino)?;
    let mut access = h.write_access(&bh)?;
    access.modify(off, len, |b| {
        let mut di = DiskInode::parse(d, ino, &*b).map_err(errno)?;
        di.links_count = 0;
        di.store(d, b).map_err(errno)
    })?;
    access.dirty()
}

/// Fills block `pblk`, just allocated, through `f` (on zeros) inside `h`.
fn write_new_block(
    h: &Handle<'_>,
    sb: &Sb,
    pblk: u64,
    f: impl FnOnce(&mut [u8]) -> crate::disk::Result<()>,
) -> Result {
    let bs = sb.data().block_size() as usize;
    let bh = h.create_block(sb, pblk)?;
    let mut access = h.write_access(&bh)?;
    access.modify(0, bs, |b| {
        f(b).map_err(|e| {
            fs_err!(sb, "block {}: {}", pblk, e);
            errno(e)
        })
    })?;
    access.dirty()?;
    bh.set_verified();
    Ok(())
}

/// How a directory walk treats a fatal signal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Outside any handle: a fatal signal ends the walk (ERESTARTSYS).
    Interruptible,
    /// Inside a handle: the CPU is yielded, the walk runs to its end.
    InHandle,
}

/// Visits the blocks of directory `dir` in order, holes skipped, calling
/// `f(lblk, block, kind)` on each (every block verified) until it returns
/// `Some`: that value, or `None` after the last block. The one loop every
/// directory scan here uses; the block count comes from the inode, so
/// each step yields the CPU.
fn walk_blocks<T>(
    dir: &INode,
    how: Walk,
    mut f: impl FnMut(u64, DevBlock, BlockKind) -> Result<Option<T>>,
) -> Result<Option<T>> {
    let bs = dir.sb().data().block_size();
    let nblocks = (dir.size() as u64).div_ceil(u64::from(bs));
    let mut lblk = 0;
    while lblk < nblocks {
        let step = match how {
            Walk::Interruptible => block_in_place(dir, lblk)?,
            Walk::InHandle => block_in_place_nosig(dir, lblk)?,
        };
        match step {
            InPlace::Hole(n) => {
                lblk = lblk.saturating_add(n);
                continue;
            }
            InPlace::Block(dev, kind) => {
                if let Some(v) = f(lblk, dev, kind)? {
                    return Ok(Some(v));
                }
            }
        }
        lblk += 1;
    }
    Ok(None)
}

/// Before a name is added to `dir` (no handle open yet): an index that
/// the filesystem cannot use (no dir_index feature) is removed
/// ([`make_linear`]), and so is one that does not lead to a leaf for the
/// name, as ext4 falls back to a linear directory, except under
/// metadata_csum, where ext4 refuses (EFSCORRUPTED) rather than write
/// over checksummed index blocks.
fn prepare(dir: &INode, name: &[u8]) -> Result {
    if !dir.read().is_indexed() || (namei::is_dx(dir) && dx::index_usable(dir, name)?) {
        return Ok(());
    }
    if namei::is_dx(dir) && dir.sb().data().sb.has_metadata_csum() {
        inode_err!(
            dir.sb(),
            dir.ino(),
            "directory inode #{}: corrupted htree index, no name added",
            dir.ino()
        );
        return Err(efscorrupted());
    }
    make_linear(dir)
}

/// Adds entry `name` → `ino` (type `ft`) to directory `dir` inside `h`
/// ([`prepare`]d): through the index of an indexed directory; else into
/// the first block with room, else, when the directory has one block, by
/// indexing it, else into a new block appended to the directory. EEXIST
/// if the name is there.
fn add_link(h: &Handle<'_>, dir: &INode, name: &[u8], ino: u32, ft: u8) -> Result {
    if namei::is_dx(dir) {
        return dx::add(h, dir, name, ino, ft, false);
    }
    let sb = dir.sb();
    let fi = sb.data();
    let fmt = DirFormat::from_superblock(&fi.sb);
    let bs = fi.block_size();
    let seed = dir.read().csum_seed;
    let bad = |lblk: u64, e| bad_entry(dir, lblk, e);
    let added = walk_blocks(dir, Walk::InHandle, |lblk, dev, kind| {
        if kind != BlockKind::Leaf {
            // `make_linear` left no index behind.
            inode_err!(
                sb,
                dir.ino(),
                "directory inode #{}: index block {} in a linear directory",
                dir.ino(),
                lblk
            );
            return Err(efscorrupted());
        }
        let copy = dev.copy()?;
        match find_slot(&copy, &fmt, name).map_err(|e| bad(lblk, e))? {
            Slot::Exists { .. } => Err(code::EEXIST),
            Slot::NoSpace => Ok(None),
            Slot::Fits(off) => {
                let mut access = h.write_access(dev.buffer())?;
                access.modify(0, bs as usize, |b| {
                    insert_entry(b, &fmt, off, name, ino, ft)
                        .and_then(|_| {
                            if fmt.csum {
                                set_leaf_csum(b, seed)
                            } else {
                                Ok(())
                            }
                        })
                        .map_err(|e| bad(lblk, e))
                })?;
                access.dirty().map(Some)
            }
        }
    })?;
    if added.is_some() {
        return Ok(());
    }
    if dx::can_index(dir) {
        dx::index(h, dir)?;
        return dx::add(h, dir, name, ino, ft, true);
    }
    // A new block at the end.
    let nblocks = (dir.size() as u64).div_ceil(u64::from(bs));
    let lblk = u32::try_from(nblocks).map_err(|_| code::EFBIG)?;
    let group = inode_location(&fi.sb, dir.ino() as u32).map_err(errno)?.0;
    let goal = inode_goal(&Geometry::from_superblock(&fi.sb), group, false, None);
    let pblk = extents::alloc_block(h, dir, lblk, goal)?;
    // The block is in the directory's tree now: a failure to fill it
    // would leave garbage there.
    write_new_block(h, sb, pblk, |b| {
        init_empty_block(b, &fmt)?;
        insert_entry(b, &fmt, 0, name, ino, ft)?;
        if fmt.csum {
            set_leaf_csum(b, seed)?;
        }
        Ok(())
    })
    .map_err(|e| super::errors::abort_journal(sb, "adding a directory block", e))?;
    dir.set_size((u64::from(lblk) + 1).saturating_mul(u64::from(bs)) as i64);
    Ok(())
}

/// Finds entry `name` in directory `dir`: through the index of an indexed
/// one, else (or if the index is malformed) block by block, index blocks
/// skipped. Its block's logical number and buffer, and where it is in the
/// block.
fn find_entry(dir: &INode, name: &[u8]) -> Result<Option<(u64, DevBlock, Located)>> {
    let sb = dir.sb();
    let fi = sb.data();
    let fmt = DirFormat::from_superblock(&fi.sb);
    if namei::is_dx(dir) {
        let found = namei::dx_search(dir, name, true, |lblk, dev, _| {
            let copy = dev.copy()?;
            let l = locate(&copy, &fmt, name).map_err(|e| bad_entry(dir, lblk, e))?;
            Ok(l.map(|l| (lblk, dev, l)))
        })?;
        match found {
            namei::Dx::Found(f) => return Ok(Some(f)),
            namei::Dx::Absent => return Ok(None),
            namei::Dx::BadIndex => {}
        }
    }
    walk_blocks(dir, Walk::InHandle, |lblk, dev, kind| {
        if kind != BlockKind::Leaf {
            return Ok(None);
        }
        let copy = dev.copy()?;
        let found = locate(&copy, &fmt, name).map_err(|e| bad_entry(dir, lblk, e))?;
        Ok(found.map(|l| (lblk, dev, l)))
    })
}

/// Changes leaf block `lblk` (buffer `dev`) of directory `dir` inside `h`
/// through `f`, and refreshes its checksum.
fn edit_block(
    h: &Handle<'_>,
    dir: &INode,
    lblk: u64,
    dev: &DevBlock,
    f: impl FnOnce(&mut [u8], &DirFormat) -> crate::disk::Result<()>,
) -> Result {
    let sb = dir.sb();
    let fi = sb.data();
    let fmt = DirFormat::from_superblock(&fi.sb);
    let seed = dir.read().csum_seed;
    let mut access = h.write_access(dev.buffer())?;
    access.modify(0, fi.block_size() as usize, |b| {
        f(b, &fmt)
            .and_then(|()| {
                if fmt.csum {
                    set_leaf_csum(b, seed)
                } else {
                    Ok(())
                }
            })
            .map_err(|e| bad_entry(dir, lblk, e))
    })?;
    access.dirty()
}

/// Checks that entry `l` of `dir` names `ino` (what the VFS's dentry
/// says): a mismatch is corruption.
fn check_names(dir: &INode, l: &Located, ino: u32) -> Result {
    if l.ino != ino {
        inode_err!(
            dir.sb(),
            dir.ino(),
            "directory inode #{}: entry names inode #{}, expected #{}",
            dir.ino(),
            l.ino,
            ino
        );
        return Err(efscorrupted());
    }
    Ok(())
}

/// Removes entry `name`, which must name `ino`, from directory `dir`
/// inside `h` (a removal keeps an index valid: index blocks are left as
/// they are). ENOENT if not found.
fn remove_link(h: &Handle<'_>, dir: &INode, name: &[u8], ino: u32) -> Result {
    let (lblk, dev, l) = find_entry(dir, name)?.ok_or(code::ENOENT)?;
    check_names(dir, &l, ino)?;
    edit_block(h, dir, lblk, &dev, |b, fmt| delete_entry(b, fmt, l.offset))
}

/// Points entry `name` of `dir`, which names `old_ino`, at `ino` of type
/// `ft` inside `h` (ext4's `ext4_setent`).
fn set_link(h: &Handle<'_>, dir: &INode, name: &[u8], old_ino: u32, ino: u32, ft: u8) -> Result {
    let (lblk, dev, l) = find_entry(dir, name)?.ok_or(code::ENOENT)?;
    check_names(dir, &l, old_ino)?;
    edit_block(h, dir, lblk, &dev, |b, fmt| {
        set_entry_inode(b, fmt, name, ino, ft).map(|_| ())
    })
}

/// Checks, before a rename's first change, the first block of directory
/// `dir`, which moves away from `parent`: readable, a valid first block
/// or htree root, its ".." naming `parent` (ext4's
/// `ext4_rename_dir_prepare`), so that [`set_parent`] cannot fail on it
/// halfway through the rename.
fn check_parent(dir: &INode, parent: u64) -> Result {
    let sb = dir.sb();
    let fi = sb.data();
    let fmt = DirFormat::from_superblock(&fi.sb);
    let ino = dir.ino() as u32;
    let dev = match block_in_place_nosig(dir, 0)? {
        InPlace::Block(dev, BlockKind::Leaf) => dev,
        InPlace::Block(dev, BlockKind::DxRoot) => {
            let p = DxParams::new(&fi.sb, dir.size() as u64, dir.read().csum_seed)
                .map_err(|e| bad_entry(dir, 0, e))?;
            let verified = dev.is_verified();
            parse_root(&p, &dev, verified).map_err(|e| bad_entry(dir, 0, e))?;
            if !verified {
                dev.set_verified();
            }
            dev
        }
        _ => {
            inode_err!(
                sb,
                dir.ino(),
                "directory inode #{}: no first block",
                dir.ino()
            );
            return Err(efscorrupted());
        }
    };
    let copy = dev.copy()?;
    let dotdot = dotdot_ino(&copy, &fmt, ino).map_err(|e| bad_entry(dir, 0, e))?;
    if u64::from(dotdot) != parent {
        inode_err!(
            sb,
            dir.ino(),
            "directory inode #{}: '..' names inode #{}, not its parent #{}",
            dir.ino(),
            dotdot,
            parent
        );
        return Err(efscorrupted());
    }
    Ok(())
}

/// Points directory `dir`'s ".." at `parent` inside `h` (a directory that
/// moved to another parent): in its first block, or in its htree root
/// (whose index checksum covers "..").
fn set_parent(h: &Handle<'_>, dir: &INode, parent: u32) -> Result {
    let ino = dir.ino() as u32;
    let dev = match block_in_place_nosig(dir, 0)? {
        InPlace::Block(dev, BlockKind::Leaf) => dev,
        InPlace::Block(dev, BlockKind::DxRoot) => {
            let sb = dir.sb();
            let fi = sb.data();
            let fmt = DirFormat::from_superblock(&fi.sb);
            let seed = dir.read().csum_seed;
            let p =
                DxParams::new(&fi.sb, dir.size() as u64, seed).map_err(|e| bad_entry(dir, 0, e))?;
            let mut access = h.write_access(dev.buffer())?;
            access.modify(0, fi.block_size() as usize, |b| {
                set_dotdot(b, &fmt, ino, parent)
                    .and_then(|()| set_root_csum(b, &p))
                    .map_err(|e| bad_entry(dir, 0, e))
            })?;
            return access.dirty();
        }
        _ => {
            inode_err!(
                dir.sb(),
                dir.ino(),
                "directory inode #{}: no first block",
                dir.ino()
            );
            return Err(efscorrupted());
        }
    };
    edit_block(h, dir, 0, &dev, |b, fmt| set_dotdot(b, fmt, ino, parent))
}

/// Turns an indexed directory into a plain one in a handle of its own
/// (see the module docs); nothing for a plain one.
fn make_linear(dir: &INode) -> Result {
    if !dir.read().is_indexed() {
        return Ok(());
    }
    namei::forget_leaf_map(dir);
    let sb = dir.sb();
    let fi = sb.data();
    let fmt = DirFormat::from_superblock(&fi.sb);
    let bs = fi.block_size();
    // The index blocks, found first (the directory is locked; no handle
    // yet, so a fatal signal may stop this): the handle dirties them, the
    // inode and the superblock.
    let mut index = KVec::new();
    walk_blocks(dir, Walk::Interruptible, |lblk, _, kind| {
        if kind != BlockKind::Leaf {
            index.push((lblk, kind), GFP_KERNEL)?;
        }
        Ok(None::<()>)
    })?;
    let credits = u32::try_from(index.len() + 2).map_err(|_| code::EFBIG)?;
    let h = start(sb, credits)?;
    let dir_ino = dir.ino() as u32;
    let seed = dir.read().csum_seed;
    let mut changed = false;
    let r = (|| {
        for &(lblk, kind) in index.iter() {
            let dev = match block_in_place_nosig(dir, lblk)? {
                InPlace::Block(dev, k) if k == kind => dev,
                _ => {
                    inode_err!(
                        sb,
                        dir_ino,
                        "directory inode #{}: index block {} changed",
                        dir_ino,
                        lblk
                    );
                    return Err(efscorrupted());
                }
            };
            let mut access = h.write_access(dev.buffer())?;
            access.modify(0, bs as usize, |b| {
                let r = if kind == BlockKind::DxRoot {
                    dx_root_to_linear(b, &fmt, dir_ino)
                } else {
                    dx_node_to_leaf(b, &fmt)
                };
                r.and_then(|()| {
                    if fmt.csum {
                        set_leaf_csum(b, seed)
                    } else {
                        Ok(())
                    }
                })
                .map_err(|e| bad_entry(dir, lblk, e))
            })?;
            changed = true;
            access.dirty()?;
        }
        dir.write().flags &= !flags::INDEX;
        write_inode(&h, dir)
    })();
    // A directory half converted must never commit.
    let r = if changed {
        rest(sb, "removing a directory index", r)
    } else {
        r
    };
    finish(h, r)
}

/// `link` (ext4's `ext4_link`): entry `name` in `dir` for `inode`.
pub(crate) fn link(inode: &INode, dir: &INode, name: &[u8]) -> Result {
    check_name(name)?;
    if inode.nlink() >= LINK_MAX {
        return Err(code::EMLINK);
    }
    let sb = dir.sb();
    prepare(dir, name)?;
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let mode = inode.attrs().mode;
    let h = start(sb, CREATE_CREDITS)?;
    let r = add_link(&h, dir, name, ino, file_type(mode)).and_then(|()| {
        let r = (|| {
            inode.inc_nlink();
            inode.touch(false);
            write_inode(&h, inode)?;
            dir.touch(true);
            write_inode(&h, dir)
        })();
        rest(sb, "link", r)
    });
    finish(h, r)
}

/// `unlink` (ext4's `ext4_unlink`): the entry goes, the inode loses a
/// link, and one left with none while open goes on the orphan list.
pub(crate) fn unlink(dir: &INode, name: &[u8], inode: &INode) -> Result {
    let sb = dir.sb();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let h = start(sb, UNLINK_CREDITS)?;
    let r = remove_link(&h, dir, name, ino).and_then(|()| {
        let r = (|| {
            dir.touch(true);
            write_inode(&h, dir)?;
            inode.drop_nlink();
            if inode.nlink() == 0 {
                orphan::add(&h, inode)?;
            }
            inode.touch(false);
            write_inode(&h, inode)
        })();
        rest(sb, "unlink", r)
    });
    finish(h, r)
}

/// `rmdir` (ext4's `ext4_rmdir`): an empty directory's entry goes, its
/// links and the parent's link to it with it; it is freed when its last
/// reference goes.
pub(crate) fn rmdir(dir: &INode, name: &[u8], inode: &INode) -> Result {
    let sb = dir.sb();
    if !is_empty(inode)? {
        return Err(enotempty());
    }
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let h = start(sb, UNLINK_CREDITS)?;
    let r = remove_link(&h, dir, name, ino).and_then(|()| {
        let r = (|| {
            inode.clear_nlink();
            inode.set_size(0);
            orphan::add(&h, inode)?;
            inode.touch(false);
            write_inode(&h, inode)?;
            dec_dir_count(dir);
            dir.touch(true);
            write_inode(&h, dir)
        })();
        rest(sb, "rmdir", r)
    });
    finish(h, r)
}

/// Whether directory `dir` holds nothing but "." and ".." (ext4's
/// `ext4_empty_dir`). Called before any handle starts: a fatal signal
/// stops it.
fn is_empty(dir: &INode) -> Result<bool> {
    let sb = dir.sb();
    let fi = sb.data();
    let fmt = DirFormat::from_superblock(&fi.sb);
    let ino = dir.ino() as u32;
    let nonempty = walk_blocks(dir, Walk::Interruptible, |lblk, dev, _| {
        let copy = dev.copy()?;
        let empty =
            is_empty_block(&copy, &fmt, lblk == 0, ino).map_err(|e| bad_entry(dir, lblk, e))?;
        Ok((!empty).then_some(()))
    })?;
    Ok(nonempty.is_none())
}

/// Frees an inode whose last link and last reference went (from
/// eviction; ext4's `ext4_evict_inode` for a deleted inode): its blocks,
/// its orphan-list entry, its deletion time, its bitmap bit. Errors are
/// reported; the inode is then left for e2fsck (on the orphan list if it
/// got there).
pub(crate) fn delete_inode(inode: &INode) {
    let sb = inode.sb();
    let fi = sb.data();
    let Ok(ino) = u32::try_from(inode.ino()) else {
        return;
    };
    if !fi.is_writable() || fi.journal.is_none() {
        // A read-only mount (or one gone read-only) frees nothing; the
        // orphan list, if the inode is on it, keeps it for later.
        return;
    }
    let is_dir = inode.read().is_dir;
    // Not while the filesystem is frozen (ext4's `sb_start_intwrite`).
    let _frozen = sb.start_intwrite();
    let r = super::truncate::free_from(inode, 0).and_then(|()| {
        // The inode, the orphan list (superblock, an inode), its bitmap and
        // descriptor block, and its attribute block with that block's
        // bitmap and descriptor block.
        let h = start(sb, UNLINK_CREDITS + 3)?;
        let r = release_xattr_block(&h, inode).and_then(|()| {
            // A shared attribute block's count is down: the rest must not
            // fail halfway (the next cleanup would count it down again).
            let r = (|| {
                orphan::del(&h, inode)?;
                inode.set_size(0);
                write_inode(&h, inode)?;
                orphan::set_next(&h, sb, ino, crate::glue::task::real_seconds() as u32)?;
                ialloc::free_ino(sb, &h, ino, is_dir)
            })();
            rest(sb, "deleting an inode", r)
        });
        finish(h, r)
    });
    if let Err(e) = r {
        inode_err_at!(
            sb,
            ino,
            0,
            e.to_errno(),
            "inode #{}: unable to free the deleted inode: error {}",
            ino,
            e.to_errno()
        );
    }
}

/// The deleted inode's extended attribute block, if it has one: freed, or
/// its reference count dropped when other inodes share it (ext4's
/// `ext4_xattr_delete_inode`), inside `h`.
fn release_xattr_block(h: &Handle<'_>, inode: &INode) -> Result {
    let sb = inode.sb();
    let fi = sb.data();
    let blk = inode.read().file_acl;
    if blk == 0 {
        return Ok(());
    }
    let bh = sb.bread(blk)?;
    let mut access = h.write_access(&bh)?;
    let left = access.modify(0, fi.block_size() as usize, |b| {
        crate::disk::xattr::release_block_ref(&fi.sb, blk, b).map_err(|e| {
            inode_err!(
                sb,
                inode.ino(),
                "inode #{}: attribute block {}: {}",
                inode.ino(),
                blk,
                e
            );
            errno(e)
        })
    })?;
    access.dirty()?;
    if left == 0 {
        super::balloc::free_blocks(sb, h, blk, 1)?;
    }
    inode.write().file_acl = 0;
    Ok(())
}

/// `get_link` of a symlink whose target is in its block: read through
/// the buffer cache (where `create_entry` wrote it).
pub(crate) fn read_link(inode: &INode) -> Result<KVec<u8>> {
    let size = usize::try_from(inode.size()).map_err(|_| code::EINVAL)?;
    let sb = inode.sb();
    if size == 0 || size >= sb.data().block_size() as usize {
        inode_err!(
            sb,
            inode.ino(),
            "inode #{}: bad symlink size {}",
            inode.ino(),
            size
        );
        return Err(efscorrupted());
    }
    let b = match super::dir::device_block(inode, 0)? {
        Ok(b) => b,
        Err(_) => {
            inode_err!(
                sb,
                inode.ino(),
                "inode #{}: symlink without a block",
                inode.ino()
            );
            return Err(efscorrupted());
        }
    };
    let v = b.copy_range(0, size)?;
    if v.contains(&0) {
        inode_err!(
            sb,
            inode.ino(),
            "inode #{}: NUL inside the symlink target",
            inode.ino()
        );
        return Err(efscorrupted());
    }
    Ok(v)
}

/// `rename` (ext4's `ext4_rename` and `ext4_cross_rename`): moves entry
/// `old_name` of `old_dir` (naming `inode`) to `new_name` in `new_dir`,
/// replacing `target` if there is one (its link dropped; a directory must
/// be empty), or with [`RenameMode::Exchange`] swaps the two entries. A
/// directory that changes parent gets its ".." rewritten and the parents'
/// link counts follow. `RENAME_WHITEOUT` is refused (EINVAL): rext4 makes
/// no whiteouts.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rename(
    old_dir: &INode,
    old_name: &[u8],
    inode: &INode,
    new_dir: &INode,
    new_name: &[u8],
    target: Option<&INode>,
    mode: RenameMode,
) -> Result {
    check_name(new_name)?;
    if mode == RenameMode::Whiteout {
        return Err(code::EINVAL);
    }
    let sb = old_dir.sb();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let is_dir = inode.read().is_dir;
    let moves_dir = is_dir && old_dir.ino() != new_dir.ino();
    if mode == RenameMode::Exchange {
        let target = target.ok_or(code::ENOENT)?;
        return exchange(old_dir, old_name, inode, new_dir, new_name, target);
    }
    prepare(new_dir, new_name)?;
    if let Some(t) = target {
        if t.read().is_dir && !is_empty(t)? {
            return Err(enotempty());
        }
    } else if moves_dir && dir_full(new_dir) {
        return Err(code::EMLINK);
    }
    let mode_bits = inode.attrs().mode;
    let h = start(sb, CREATE_CREDITS + UNLINK_CREDITS)?;
    let r = (|| {
        // Both entries are found before anything changes.
        let (_, _, l) = find_entry(old_dir, old_name)?.ok_or(code::ENOENT)?;
        check_names(old_dir, &l, ino)?;
        let t_ino = match target {
            Some(t) => {
                let t_ino = u32::try_from(t.ino()).map_err(|_| code::EINVAL)?;
                let (_, _, l) = find_entry(new_dir, new_name)?.ok_or(code::ENOENT)?;
                check_names(new_dir, &l, t_ino)?;
                Some(t_ino)
            }
            None => None,
        };
        if moves_dir {
            check_parent(inode, old_dir.ino())?;
        }
        // The first change; what follows it must not fail halfway.
        match t_ino {
            Some(t_ino) => set_link(&h, new_dir, new_name, t_ino, ino, file_type(mode_bits))?,
            None => add_link(&h, new_dir, new_name, ino, file_type(mode_bits))?,
        }
        let r = (|| {
            remove_link(&h, old_dir, old_name, ino)?;
            inode.touch(false);
            write_inode(&h, inode)?;
            if let Some(t) = target {
                if t.read().is_dir {
                    t.clear_nlink();
                    t.set_size(0);
                } else {
                    t.drop_nlink();
                }
                if t.nlink() == 0 {
                    orphan::add(&h, t)?;
                }
                t.touch(false);
                write_inode(&h, t)?;
            }
            if is_dir {
                if moves_dir {
                    set_parent(&h, inode, new_dir.ino() as u32)?;
                }
                // The moved directory's ".." leaves the old parent; the
                // new parent gains it unless it replaces a directory there.
                dec_dir_count(old_dir);
                if target.is_none() {
                    inc_dir_count(new_dir);
                }
            }
            old_dir.touch(true);
            write_inode(&h, old_dir)?;
            if new_dir.ino() != old_dir.ino() {
                new_dir.touch(true);
                write_inode(&h, new_dir)?;
            }
            Ok(())
        })();
        rest(sb, "rename", r)
    })();
    finish(h, r)
}

/// `RENAME_EXCHANGE`: the two entries swap inodes; directories that
/// change parent get their ".." rewritten, and when a directory and a
/// non-directory swap between two parents, the parents' link counts
/// follow.
fn exchange(
    old_dir: &INode,
    old_name: &[u8],
    inode: &INode,
    new_dir: &INode,
    new_name: &[u8],
    target: &INode,
) -> Result {
    let sb = old_dir.sb();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let t_ino = u32::try_from(target.ino()).map_err(|_| code::EINVAL)?;
    let (old_is_dir, new_is_dir) = (inode.read().is_dir, target.read().is_dir);
    let cross = old_dir.ino() != new_dir.ino();
    if cross {
        if old_is_dir && !new_is_dir && dir_full(new_dir) {
            return Err(code::EMLINK);
        }
        if new_is_dir && !old_is_dir && dir_full(old_dir) {
            return Err(code::EMLINK);
        }
    }
    let (old_mode, new_mode) = (inode.attrs().mode, target.attrs().mode);
    let h = start(sb, 2 * UNLINK_CREDITS + 4)?;
    let r = (|| {
        // Both entries are found before anything changes.
        let (_, _, l) = find_entry(old_dir, old_name)?.ok_or(code::ENOENT)?;
        check_names(old_dir, &l, ino)?;
        let (_, _, l) = find_entry(new_dir, new_name)?.ok_or(code::ENOENT)?;
        check_names(new_dir, &l, t_ino)?;
        if cross && old_is_dir {
            check_parent(inode, old_dir.ino())?;
        }
        if cross && new_is_dir {
            check_parent(target, new_dir.ino())?;
        }
        set_link(&h, new_dir, new_name, t_ino, ino, file_type(old_mode))?;
        let r = (|| {
            set_link(&h, old_dir, old_name, ino, t_ino, file_type(new_mode))?;
            if cross {
                if old_is_dir {
                    set_parent(&h, inode, new_dir.ino() as u32)?;
                }
                if new_is_dir {
                    set_parent(&h, target, old_dir.ino() as u32)?;
                }
                if old_is_dir != new_is_dir {
                    let (from, to) = if old_is_dir {
                        (old_dir, new_dir)
                    } else {
                        (new_dir, old_dir)
                    };
                    dec_dir_count(from);
                    inc_dir_count(to);
                }
            }
            for i in [inode, target] {
                i.touch(false);
                write_inode(&h, i)?;
            }
            old_dir.touch(true);
            write_inode(&h, old_dir)?;
            if cross {
                new_dir.touch(true);
                write_inode(&h, new_dir)?;
            }
            Ok(())
        })();
        rest(sb, "rename (exchange)", r)
    })();
    finish(h, r)
}

// SPDX-License-Identifier: GPL-2.0

//! Reading inodes from disk into the VFS (`iget`; ext4's inode.c).

use super::errors::errno;
use super::extents::DevBlock;
use super::{INode, Rext4, Sb};
use crate::disk::bytes::{div, rem, Window};
use crate::disk::extent;
use crate::disk::features::ro_compat;
use crate::disk::inode::{self as dinode, flags, inode_location, Inode as DiskInode, ROOT_INO};
use crate::disk::superblock::Superblock;
use crate::disk::xattr::Xattrs;
use crate::glue::errno::{efscorrupted, eopnotsupp};
use crate::glue::inode::{
    iget_locked, Got, INodeParams, INodeType, StatxExtra, VfsAttrs, VfsFlags,
};
use crate::glue::SuperBlock;
use core::sync::atomic::AtomicU32;
use kernel::error::code;
use kernel::prelude::*;
use kernel::types::ARef;

/// What rext4 keeps per inode next to the VFS inode (read under the
/// inode's data lock, see the glue's `INode::read`).
pub(crate) struct InodeData {
    /// `i_block`: the extent root (or a fast symlink's target).
    pub(crate) i_block: [u8; 60],
    /// `i_flags`.
    pub(crate) flags: u32,
    /// Seed of this inode's extent and directory block checksums.
    pub(crate) csum_seed: u32,
    /// Whether the inode is a directory.
    pub(crate) is_dir: bool,
    /// Whether the inode is a regular file.
    is_reg: bool,
    /// `i_file_acl`: the extended attribute block, 0 for none; checked
    /// when the inode was read (inside the data blocks, outside the system
    /// zone), and what getxattr/listxattr use, as ext4 keeps it in
    /// `ext4_inode_info` rather than trusting a later read of the inode.
    pub(crate) file_acl: u64,
    /// Creation time, when the inode has room for it.
    pub(crate) crtime: Option<(i64, u32)>,
    /// The transaction that last journalled the file's data (ext4's
    /// `i_datasync_tid`), if any since the inode was read.
    pub(crate) data_tid: Option<u32>,
    /// The extent tree changed since a data write last wrote the inode
    /// (see `file::data_written`).
    pub(crate) tree_changed: bool,
    /// The orphan file slot holding this inode (block × slots per block +
    /// slot), while it is an orphan there (ext4's `i_orphan_idx` with
    /// `EXT4_STATE_ORPHAN_FILE`; see `orphan.rs`).
    pub(crate) orphan_slot: Option<u32>,
    /// An indexed directory's leaves in hash order, for lookups that skip
    /// the index blocks (see `namei.rs`); dropped by every change to the
    /// index.
    pub(crate) leaf_map: Option<KBox<super::namei::LeafMapData>>,
    /// Lookups in the directory since its index last changed: the leaf
    /// map is built once they reach its number of blocks.
    pub(crate) dx_lookups: AtomicU32,
}

impl Default for InodeData {
    fn default() -> Self {
        InodeData {
            i_block: [0; 60],
            flags: 0,
            csum_seed: 0,
            is_dir: false,
            is_reg: false,
            file_acl: 0,
            crtime: None,
            data_tid: None,
            tree_changed: false,
            orphan_slot: None,
            leaf_map: None,
            dx_lookups: AtomicU32::new(0),
        }
    }
}

impl InodeData {
    /// Whether the inode is a regular file (with an extent tree).
    pub(crate) fn is_reg(&self) -> bool {
        self.is_reg
    }

    /// Whether the directory has an htree index.
    pub(crate) fn is_indexed(&self) -> bool {
        self.flags & flags::INDEX != 0
    }
}

/// Reads and verifies the on-disk inode `ino` whose group's inode table
/// starts at `itable` (`None`: no such group), given the superblock
/// explicitly (usable before the per-mount state exists).
pub(crate) fn read_raw_at<S>(
    sb: &SuperBlock<Rext4, S>,
    d: &Superblock,
    itable: Option<u64>,
    ino: u32,
) -> Result<DiskInode> {
    read_at(sb, d, itable, ino, || None).map(|(_, i)| i)
}

/// An on-disk inode in its inode table block, read in place.
pub(crate) struct RawInode {
    block: DevBlock,
    off: usize,
    len: usize,
}

impl RawInode {
    /// The inode's `s_inode_size` bytes, read through the buffer.
    fn window(&self) -> Result<Window<'_, DevBlock>> {
        Window::new(&self.block, self.off, self.len).map_err(|_| code::EINVAL)
    }

    /// The inode table block's buffer.
    pub(crate) fn buffer(&self) -> &crate::glue::buffer::BufferHead {
        self.block.buffer()
    }

    /// Where the inode lies in the block: (offset, `s_inode_size`).
    pub(crate) fn range(&self) -> (usize, usize) {
        (self.off, self.len)
    }

    /// A private copy of the inode's bytes (what the attribute parser
    /// takes). Not under the buffer lock (which a write of the block in
    /// flight holds): the in-inode attribute area is never written by
    /// rext4, and the fields the copy's caller trusts were verified by
    /// [`read_at`].
    pub(crate) fn copy(&self) -> Result<KVec<u8>> {
        self.block.copy_range(self.off, self.len)
    }
}

/// [`read_raw_at`], also returning the on-disk inode in its block (the
/// in-inode attribute area lies beyond the parsed fields). The inode is
/// parsed and its checksum verified in place: no copy of it is made.
// Inlined for the same reason as `params`: the parsed inode (188 bytes)
// is built in the caller's frame.
#[inline(always)]
fn read_at<S>(
    sb: &SuperBlock<Rext4, S>,
    d: &Superblock,
    itable: Option<u64>,
    ino: u32,
    used_end: impl FnOnce() -> Option<u64>,
) -> Result<(RawInode, DiskInode)> {
    let fail = |e| {
        inode_err!(sb, ino, "inode #{}: {}", ino, e);
        errno(e)
    };
    let raw = read_block_at(sb, d, itable, ino, used_end)?;
    let w = Window::new(&raw.block, raw.off, raw.len).map_err(|_| {
        fail(crate::disk::Error::Corrupt {
            what: "inode offset",
            value: raw.off as u64,
        })
    })?;
    let inode = match DiskInode::parse(d, ino, &w) {
        Ok(i) => i,
        // Read in place, the inode may have been caught half put back by
        // a task writing it: judged again on a copy taken under the
        // buffer lock before it counts as corrupt.
        Err(_) => {
            let c = raw.buffer().copy_range_locked(raw.off, raw.len)?;
            DiskInode::parse(d, ino, &c[..]).map_err(fail)?
        }
    };
    Ok((raw, inode))
}

/// The inode table block holding inode `ino`, read (with readahead as
/// [`read_at`] says), and where the inode lies in it; nothing of the
/// inode itself is read.
fn read_block_at<S>(
    sb: &SuperBlock<Rext4, S>,
    d: &Superblock,
    itable: Option<u64>,
    ino: u32,
    used_end: impl FnOnce() -> Option<u64>,
) -> Result<RawInode> {
    let fail = |e| {
        inode_err!(sb, ino, "inode #{}: {}", ino, e);
        errno(e)
    };
    let (group, off) = inode_location(d, ino).map_err(fail)?;
    let itable = itable.ok_or_else(|| {
        fail(crate::disk::Error::Corrupt {
            what: "inode group",
            value: group.into(),
        })
    })?;
    let bs = u64::from(d.block_size());
    let blk = itable + div(off, bs);
    // A block not in the cache yet is read with the aligned window of
    // INODE_READAHEAD_BLOCKS around it, as ext4's inode table readahead
    // (`inode_readahead_blks`, 32 by default), up to `used_end()` (the end
    // of the table's blocks that hold inodes in use; `None`: no readahead).
    let read = match sb.cached(blk) {
        Some(b) => Ok(b),
        None => match used_end() {
            Some(end) => {
                let start = (blk & !(INODE_READAHEAD_BLOCKS - 1)).max(itable);
                sb.bread_ahead(
                    blk,
                    start..(start + INODE_READAHEAD_BLOCKS).min(end).max(blk + 1),
                )
            }
            None => sb.bread(blk),
        },
    };
    let buf = read.inspect_err(|_| {
        inode_err_at!(
            sb,
            ino,
            blk,
            code::EIO.to_errno(),
            "inode #{}: unable to read inode table block {}",
            ino,
            blk
        );
    })?;
    Ok(RawInode {
        block: DevBlock::new(buf),
        off: rem(off, bs) as usize,
        len: usize::from(d.inode_size),
    })
}

/// Reads and verifies the on-disk inode `ino` of a mounted filesystem;
/// returns a copy of its bytes too (what `ext4_get_inode_loc` gives the
/// xattr code).
pub(crate) fn read_bytes(sb: &Sb, ino: u32) -> Result<(KVec<u8>, DiskInode)> {
    let (raw, inode) = read_located(sb, ino)?;
    Ok((raw.copy()?, inode))
}

/// The on-disk inode `ino` of a mounted filesystem in its table block,
/// for writing it: not verified here, where another task may be putting
/// its copy of the same inode back (the writer parses and verifies the
/// bytes it gets under the buffer lock).
pub(crate) fn locate(sb: &Sb, ino: u32) -> Result<RawInode> {
    let (itable, used_end) = table_of(sb, ino);
    read_block_at(sb, &sb.data().sb, itable, ino, used_end)
}

/// Reads and verifies the on-disk inode `ino` of a mounted filesystem, in
/// place.
#[inline(always)]
fn read_located(sb: &Sb, ino: u32) -> Result<(RawInode, DiskInode)> {
    let (itable, used_end) = table_of(sb, ino);
    read_at(sb, &sb.data().sb, itable, ino, used_end)
}

/// Inode `ino`'s group's inode table, and how to find the end of its
/// blocks that hold inodes in use (asked for only when a block is read
/// from the device).
fn table_of(sb: &Sb, ino: u32) -> (Option<u64>, impl FnOnce() -> Option<u64> + '_) {
    let fi = sb.data();
    let d = &fi.sb;
    let group = inode_location(d, ino).ok().map(|(g, _)| g);
    let itable = group.and_then(|g| fi.itables.get(g as usize).copied());
    // The table's blocks holding inodes in use: all of them, or (with
    // descriptor checksums, which make `itable_unused` trustworthy, as
    // ext4 has it) those before the never-used tail.
    let used_end = move || {
        let g = fi.group(group?)?;
        let per_block = u64::from(d.block_size() / u32::from(d.inode_size.max(1))).max(1);
        let unused = if d.has_metadata_csum() || d.has_ro_compat(ro_compat::GDT_CSUM) {
            g.itable_unused.min(d.inodes_per_group)
        } else {
            0
        };
        let used = u64::from(d.inodes_per_group - unused);
        Some(g.inode_table + used.div_ceil(per_block))
    };
    (itable, used_end)
}

/// Inode table blocks read ahead together (ext4's default
/// `inode_readahead_blks`); a power of two.
const INODE_READAHEAD_BLOCKS: u64 = 32;

/// Gets inode `ino`: from the inode cache, or read from disk.
pub(crate) fn iget(sb: &Sb, ino: u32) -> Result<ARef<INode>> {
    iget_with(sb, ino, false)
}

/// [`iget`] of an inode on the orphan list, which has no link left.
pub(crate) fn iget_orphan(sb: &Sb, ino: u32) -> Result<ARef<INode>> {
    iget_with(sb, ino, true)
}

fn iget_with(sb: &Sb, ino: u32, orphan: bool) -> Result<ARef<INode>> {
    let d = &sb.data().sb;
    // Reserved inodes (other than the root) are never reached by name.
    if ino == 0 || ino > d.inodes_count || (ino < d.first_ino && ino != ROOT_INO) {
        fs_err!(sb, "directory entry refers to invalid inode #{}", ino);
        return Err(efscorrupted());
    }
    // The journal inode belongs to jbd2 (the glue keeps it in the inode
    // cache set up for the journal only), never a file: refused even when
    // `s_journal_inum` is above the reserved inodes.
    if d.has_journal() && ino == d.journal_inum {
        fs_err!(sb, "directory entry refers to the journal inode #{}", ino);
        return Err(efscorrupted());
    }
    // So does the orphan file (ext4's `__ext4_iget` refuses it too): a
    // file handed out under it could free the blocks rext4 keeps slots in.
    if d.has_compat(crate::disk::features::compat::ORPHAN_FILE) && ino == d.orphan_file_inum {
        fs_err!(
            sb,
            "directory entry refers to the orphan file inode #{}",
            ino
        );
        return Err(efscorrupted());
    }
    match iget_locked(sb, ino.into())? {
        Got::Cached(i) => Ok(i),
        // On error the new inode is dropped, which marks it bad.
        Got::New(n) => {
            let (bytes, raw) = read_located(sb, n.ino() as u32)?;
            check_xattr_places(sb, &bytes, &raw)?;
            let mut typ_buf = [0u8; 60];
            let p = params(sb, &raw, &mut typ_buf, orphan)?;
            n.init(p)
        }
    }
}

/// The VFS attributes, operations and rext4 data of an inode read from
/// disk. `link` receives a fast symlink's target.
// Inlined into its two callers (iget and inode creation) so that the
// 236-byte result is built where it is used: a call returning it copies it
// (`memcpy`), and this runs for every inode brought into memory.
#[inline(always)]
pub(crate) fn params<'a>(
    sb: &Sb,
    raw: &DiskInode,
    link: &'a mut [u8; 60],
    orphan: bool,
) -> Result<INodeParams<'a, InodeData>> {
    let ino = raw.ino;
    let fi = sb.data();
    let bs = fi.block_size();
    let corrupt = |what: &str| {
        inode_err!(sb, ino, "inode #{}: {}", ino, what);
        efscorrupted()
    };
    // A deleted inode (as ext4: a link count of 0; no orphan recovery
    // here) named by a directory entry is corruption.
    if raw.links_count == 0 && !orphan {
        return Err(corrupt("deleted inode referenced (links count 0)"));
    }
    let unsupported = [
        (flags::INLINE_DATA, "inline data"),
        (flags::ENCRYPT, "encryption"),
        (flags::VERITY, "fs-verity"),
        (flags::CASEFOLD, "casefolding"),
        (flags::EA_INODE, "extended attribute inodes"),
    ];
    for (bit, what) in unsupported {
        if raw.flags & bit != 0 {
            fs_warn!(
                sb,
                "inode #{}: uses {}, which rext4 does not support",
                ino,
                what
            );
            return Err(eopnotsupp());
        }
    }
    let max_bytes = fi.sb.max_file_size();
    let Some(size) = i64::try_from(raw.size).ok().filter(|&s| s <= max_bytes) else {
        return Err(corrupt("size beyond the maximum file size"));
    };

    let typ = match raw.file_type() {
        dinode::S_IFREG | dinode::S_IFDIR => {
            if !raw.has_extents() {
                fs_warn!(
                    sb,
                    "inode #{}: block-mapped (ext2/ext3 style) files are not supported yet",
                    ino
                );
                return Err(eopnotsupp());
            }
            check_extent_root(sb, raw)?;
            if raw.is_dir() {
                INodeType::Dir
            } else {
                INodeType::Reg
            }
        }
        dinode::S_IFLNK => {
            if raw.is_fast_symlink(bs) {
                let t = raw.fast_symlink_target().map_err(|e| {
                    inode_err!(sb, ino, "inode #{}: {}", ino, e);
                    errno(e)
                })?;
                let n = t.len();
                let dst = link
                    .get_mut(..n)
                    .ok_or_else(|| corrupt("bad symlink size"))?;
                dst.copy_from_slice(t);
                INodeType::FastSymlink(dst)
            } else {
                if !raw.has_extents() {
                    fs_warn!(
                        sb,
                        "inode #{}: block-mapped symlinks are not supported yet",
                        ino
                    );
                    return Err(eopnotsupp());
                }
                if size == 0 || size >= i64::from(bs) {
                    return Err(corrupt("bad symlink size"));
                }
                check_extent_root(sb, raw)?;
                INodeType::SlowSymlink
            }
        }
        dinode::S_IFCHR | dinode::S_IFBLK | dinode::S_IFIFO | dinode::S_IFSOCK => {
            let (major, minor) = raw.device();
            // The kernel's dev_t: 12-bit major, 20-bit minor.
            INodeType::Special {
                rdev: (major << 20) | (minor & 0xF_FFFF),
            }
        }
        _ => return Err(corrupt("unknown file type")),
    };

    // Nanoseconds above 999999999 are not valid; clamp rather than hand
    // the VFS a denormal timespec.
    let time = |t: dinode::Timestamp| (t.sec, t.nsec.min(999_999_999));
    Ok(INodeParams {
        typ,
        attrs: VfsAttrs {
            mode: raw.mode,
            uid: raw.uid,
            gid: raw.gid,
            // With dir_nlink, a directory with more than 65000
            // subdirectories has a link count of 1, meaning "many"; the
            // VFS shows 1 too.
            nlink: raw.links_count.into(),
            size,
            atime: time(raw.atime),
            mtime: time(raw.mtime),
            ctime: time(raw.ctime),
            blocks_512: raw.blocks_512,
            generation: raw.generation,
            version: raw.version,
        },
        flags: vfs_flags(raw.flags),
        data: InodeData {
            i_block: raw.block,
            flags: raw.flags,
            csum_seed: raw.csum_seed,
            is_dir: raw.is_dir(),
            is_reg: raw.is_reg(),
            file_acl: raw.file_acl,
            crtime: raw.crtime.map(time),
            data_tid: None,
            tree_changed: false,
            orphan_slot: None,
            leaf_map: None,
            dx_lookups: AtomicU32::new(0),
        },
    })
}

/// Validates where the inode keeps extended attributes when it is read, as
/// `ext4_iget` does: a malformed in-inode attribute area or an attribute
/// block number outside the data blocks or in the system zone fails the
/// inode (EFSCORRUPTED, or
/// EFSBADCRC for a bad entry hash) rather than a later getxattr.
fn check_xattr_places(sb: &Sb, bytes: &RawInode, raw: &DiskInode) -> Result {
    let d = &sb.data().sb;
    let bad = |e| {
        inode_err!(sb, raw.ino, "inode #{}: in-inode xattrs: {}", raw.ino, e);
        errno(e)
    };
    // Most inodes have no in-inode area: its magic is read in place, and
    // only an inode that has one is copied to be parsed.
    if Xattrs::has_in_inode(d, &bytes.window()?, raw.extra_isize).map_err(bad)? {
        Xattrs::in_inode(d, &bytes.copy()?, raw.extra_isize).map_err(bad)?;
    }
    let blk = raw.file_acl;
    if blk == 0 {
        return Ok(());
    }
    // Inside the data blocks and outside the system zone, as ext4's
    // ext4_inode_block_valid.
    let zone = sb
        .data()
        .block_refs()
        .check("extended attribute block", blk, 1);
    if blk <= u64::from(d.first_data_block) || zone.is_err() {
        inode_err!(
            sb,
            raw.ino,
            "inode #{}: bad extended attribute block {}",
            raw.ino,
            blk
        );
        return Err(efscorrupted());
    }
    Ok(())
}

/// Validates the extent root in `i_block` when the inode is read, as ext4
/// does: a corrupt root (including an extent or child block in the system
/// zone) fails `open()` (EUCLEAN), not a later read. Mapping relies on it
/// (`extents::map` does not check the root again).
fn check_extent_root(sb: &Sb, raw: &DiskInode) -> Result {
    let r = extent::check_root(&raw.block, &sb.data().block_refs());
    r.map(|_| ()).map_err(|e| {
        inode_err!(sb, raw.ino, "inode #{}: {}", raw.ino, e);
        errno(e)
    })
}

/// The VFS inode flags for ext4's `i_flags` (what ext4 sets).
fn vfs_flags(f: u32) -> VfsFlags {
    VfsFlags {
        sync: f & flags::SYNC != 0,
        immutable: f & flags::IMMUTABLE != 0,
        append: f & flags::APPEND != 0,
        noatime: f & flags::NOATIME != 0,
        dirsync: f & flags::DIRSYNC != 0,
    }
}

/// What `statx` reports beyond the generic attributes: the creation time
/// and the IMMUTABLE/APPEND/NODUMP/COMPRESSED attributes, as ext4 does.
pub(crate) fn statx_extra(inode: &INode) -> StatxExtra {
    let d = inode.read();
    StatxExtra {
        btime: d.crtime,
        immutable: d.flags & flags::IMMUTABLE != 0,
        append: d.flags & flags::APPEND != 0,
        nodump: d.flags & flags::NODUMP != 0,
        compressed: d.flags & flags::COMPR != 0,
    }
}

/// `setattr` (ext4's `ext4_setattr`): a size change first
/// (`truncate.rs`), then mode, owner and times applied in memory and
/// written in a handle, and the write's error is returned. Refused
/// (EOPNOTSUPP) until the write path has what they need: a chmod of a
/// file with an access ACL (ext4 rewrites the ACL's mask, an xattr write),
/// and a change that must drop the file's capabilities
/// (`security.capability`, an xattr removal).
pub(crate) fn setattr(inode: &INode, attr: &crate::glue::inode::SetAttr<'_>) -> Result {
    if !inode.sb().data().is_writable() {
        return Err(code::EROFS);
    }
    if attr.kills_priv() {
        return Err(eopnotsupp());
    }
    if attr.sets_mode()
        && super::acl::get_acl(inode, crate::glue::xattr::AclType::Access)?.is_some()
    {
        return Err(eopnotsupp());
    }
    // The change counter steps with every change but one that sets the
    // size to what it is (ext4's `inc_ivers`).
    let same_size = attr.size() == Some(inode.size());
    if let Some(size) = attr.size() {
        super::truncate::set_size(inode, size)?;
    }
    super::journal::update_inode(inode, || {
        if !same_size {
            inode.inc_version();
        }
        attr.copy()
    })
}

// SPDX-License-Identifier: GPL-2.0

//! Reading inodes from disk into the VFS (`iget`).

use super::super_ops::{errno, FsInfo};
use crate::disk::bytes::{div, rem};
use crate::disk::extent;
use crate::disk::group::GroupDesc;
use crate::disk::inode::{self as dinode, flags, inode_location, Inode as DiskInode, ROOT_INO};
use crate::disk::superblock::Superblock;
use crate::glue::errno::{efscorrupted, eopnotsupp};
use crate::glue::inode::{iget_locked, Attrs, Got, InodeRef, Kind, NewInode, StatxExtra, VfsFlags};
use crate::glue::super_block::SuperBlock;
use kernel::alloc::{flags::GFP_KERNEL, KVec};
use kernel::error::Result;

/// What rext4 keeps per inode next to the VFS inode.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct InodeData {
    /// `i_block` plus a NUL, so a fast symlink's target is a C string.
    pub(crate) i_block: [u8; 61],
    /// `i_flags`.
    pub(crate) flags: u32,
    /// Seed of this inode's extent and directory block checksums.
    pub(crate) csum_seed: u32,
    /// Whether the inode is a directory.
    pub(crate) is_dir: bool,
    /// Creation time, when the inode has room for it.
    pub(crate) crtime: Option<(i64, u32)>,
}

impl Default for InodeData {
    fn default() -> Self {
        InodeData {
            i_block: [0; 61],
            flags: 0,
            csum_seed: 0,
            is_dir: false,
            crtime: None,
        }
    }
}

impl InodeData {
    /// Offset of `i_block` in the struct (the usercopy region).
    pub(crate) const I_BLOCK_OFFSET: usize = core::mem::offset_of!(InodeData, i_block);
    /// Size of `i_block` (the usercopy region).
    pub(crate) const I_BLOCK_LEN: usize = 61;

    /// The extent root (the 60 bytes of `i_block`).
    pub(crate) fn extent_root(&self) -> &[u8] {
        self.i_block.get(..60).unwrap_or(&[])
    }

    /// Whether the directory has an htree index.
    pub(crate) fn is_indexed(&self) -> bool {
        self.flags & flags::INDEX != 0
    }
}

/// Reads and verifies the on-disk inode `ino`, given the superblock and the
/// group descriptors explicitly (usable before `FsInfo` exists).
pub(crate) fn read_raw_with(
    sb: &SuperBlock,
    d: &Superblock,
    groups: &[GroupDesc],
    ino: u32,
) -> Result<DiskInode> {
    let fail = |e| {
        fs_err!(sb, "inode #{}: {}", ino, e);
        errno(e)
    };
    let (group, off) = inode_location(d, ino).map_err(fail)?;
    let gd = groups.get(group as usize).ok_or_else(|| {
        fail(crate::disk::Error::Corrupt {
            what: "inode group",
            value: group.into(),
        })
    })?;
    let bs = u64::from(d.block_size());
    let blk = gd.inode_table + div(off, bs);
    let buf = sb.bread(blk).inspect_err(|_| {
        fs_err!(
            sb,
            "inode #{}: unable to read inode table block {}",
            ino,
            blk
        );
    })?;
    let o = rem(off, bs) as usize;
    // A private copy of the on-disk inode (at most one block) is parsed.
    let mut bytes = KVec::from_elem(0u8, usize::from(d.inode_size), GFP_KERNEL)?;
    buf.read(o, &mut bytes).map_err(|_| {
        fail(crate::disk::Error::Corrupt {
            what: "inode offset",
            value: off,
        })
    })?;
    DiskInode::parse(d, ino, &bytes).map_err(fail)
}

/// Reads and verifies the on-disk inode `ino` of a mounted filesystem.
pub(crate) fn read_raw(sb: &SuperBlock, ino: u32) -> Result<DiskInode> {
    let fi: &FsInfo = sb.fs_info();
    read_raw_with(sb, &fi.sb, &fi.groups, ino)
}

/// Gets inode `ino`: from the inode cache, or read from disk.
pub(crate) fn iget(sb: &SuperBlock, ino: u32) -> Result<InodeRef> {
    let d = &sb.fs_info().sb;
    // Reserved inodes (other than the root) are never reached by name.
    if ino == 0 || ino > d.inodes_count || (ino < d.first_ino && ino != ROOT_INO) {
        fs_err!(sb, "directory entry refers to invalid inode #{}", ino);
        return Err(efscorrupted());
    }
    match iget_locked(sb, ino.into())? {
        Got::Cached(i) => Ok(i),
        Got::New(mut n) => {
            fill(sb, &mut n)?;
            Ok(n.finish())
        }
    }
}

/// Fills a new VFS inode from disk; on error the caller's `NewInode` is
/// dropped, which marks it bad.
fn fill(sb: &SuperBlock, n: &mut NewInode) -> Result {
    let ino = n.ino() as u32;
    let raw = read_raw(sb, ino)?;
    let bs = sb.fs_info().sb.block_size();
    let corrupt = |what: &str| {
        fs_err!(sb, "inode #{}: {}", ino, what);
        efscorrupted()
    };
    // A deleted inode (as ext4: any link count of 0; no orphan recovery
    // here) is stale, not served.
    if raw.links_count == 0 {
        fs_err!(sb, "inode #{}: deleted inode referenced", ino);
        return Err(crate::glue::errno::estale());
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
            fs_err!(
                sb,
                "inode #{}: uses {}, which rext4 does not support",
                ino,
                what
            );
            return Err(eopnotsupp());
        }
    }
    let max_bytes = sb.fs_info().max_bytes;
    let size = i64::try_from(raw.size).ok().filter(|&s| s <= max_bytes);
    let Some(size) = size else {
        return Err(corrupt("size beyond the maximum file size"));
    };

    let kind = match raw.file_type() {
        dinode::S_IFREG | dinode::S_IFDIR => {
            if !raw.has_extents() {
                fs_err!(
                    sb,
                    "inode #{}: block-mapped (ext2/ext3 style) files are not supported yet",
                    ino
                );
                return Err(eopnotsupp());
            }
            check_extent_root(sb, &raw)?;
            if raw.is_dir() {
                Kind::Directory
            } else {
                Kind::Regular
            }
        }
        dinode::S_IFLNK => {
            if raw.is_fast_symlink(bs) {
                raw.fast_symlink_target().map_err(|e| {
                    fs_err!(sb, "inode #{}: {}", ino, e);
                    errno(e)
                })?;
                Kind::FastSymlink
            } else {
                if !raw.has_extents() {
                    fs_err!(
                        sb,
                        "inode #{}: block-mapped symlinks are not supported yet",
                        ino
                    );
                    return Err(eopnotsupp());
                }
                if size == 0 || size >= i64::from(bs) {
                    return Err(corrupt("bad symlink size"));
                }
                check_extent_root(sb, &raw)?;
                Kind::SlowSymlink
            }
        }
        dinode::S_IFCHR | dinode::S_IFBLK | dinode::S_IFIFO | dinode::S_IFSOCK => {
            let (major, minor) = raw.device();
            // The kernel's dev_t: 12-bit major, 20-bit minor.
            Kind::Special(raw.mode, (major << 20) | (minor & 0xF_FFFF))
        }
        _ => return Err(corrupt("unknown file type")),
    };

    let data = n.data_mut();
    data.i_block[..60].copy_from_slice(&raw.block);
    data.i_block[60] = 0;
    if matches!(kind, Kind::FastSymlink) {
        // Terminate the target at its size (checked to be 1..=59 above).
        if let Some(b) = data.i_block.get_mut(size as usize) {
            *b = 0;
        }
    }
    data.flags = raw.flags;
    data.csum_seed = raw.csum_seed;
    data.is_dir = raw.is_dir();
    data.crtime = raw.crtime.map(|t| (t.sec, t.nsec.min(999_999_999)));

    // With dir_nlink, a directory with more than 65000 subdirectories has
    // a link count of 1, meaning "many"; the VFS shows 1 too.
    // Nanoseconds above 999999999 are not valid; clamp rather than hand
    // the VFS a denormal timespec.
    let time = |t: dinode::Timestamp| (t.sec, t.nsec.min(999_999_999));
    n.set_attrs(&Attrs {
        mode: raw.mode,
        uid: raw.uid,
        gid: raw.gid,
        nlink: raw.links_count.into(),
        size,
        atime: time(raw.atime),
        mtime: time(raw.mtime),
        ctime: time(raw.ctime),
        blocks_512: raw.blocks_512,
        generation: raw.generation,
        flags: vfs_flags(raw.flags),
    });
    n.set_kind(kind);
    Ok(())
}

/// Validates the extent root in `i_block` when the inode is read, as ext4
/// does: a corrupt root fails `open()` (EUCLEAN), not a later read.
fn check_extent_root(sb: &SuperBlock, raw: &DiskInode) -> Result {
    let blocks = sb.fs_info().sb.blocks_count;
    let r = extent::header(&raw.block, extent::NodeKind::Root, None)
        .and_then(|h| extent::validate(&raw.block, &h, 1 << 32, blocks));
    r.map_err(|e| {
        fs_err!(sb, "inode #{}: {}", raw.ino, e);
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
pub(crate) fn statx_extra(inode: &crate::glue::inode::Inode) -> StatxExtra {
    let d = inode.data();
    StatxExtra {
        btime: d.crtime,
        immutable: d.flags & flags::IMMUTABLE != 0,
        append: d.flags & flags::APPEND != 0,
        nodump: d.flags & flags::NODUMP != 0,
        compressed: d.flags & flags::COMPR != 0,
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Inode allocation (ext4's ialloc.c): choosing a group (Orlov for
//! directories, near the parent for the rest), taking a bit of its inode
//! bitmap, counting it in the descriptor, and writing the new on-disk
//! inode; and the reverse when an inode is freed. Bitmaps and descriptors
//! change as `balloc.rs` describes, under the same lock.

use super::balloc::{modify_bitmap, modify_group, read_bitmap, stats, Bitmap};
use super::errors::errno;
use super::{INode, Sb};
use crate::disk::alloc::{dir_group, file_group, Geometry, Parent};
use crate::disk::bitmap::{clear_range, find_zero, set_inode_bitmap_csum, set_range};
use crate::disk::bytes::{div, rem};
use crate::disk::group::{
    set_flags, set_free_inodes, set_itable_unused, set_used_dirs, BG_INODE_UNINIT,
};
use crate::disk::inode::{flags, inode_location, Inode as DiskInode, ROOT_INO};
use crate::glue::buffer::BufferHead;
use crate::glue::errno::efscorrupted;
use crate::glue::jbd2::Handle;
use kernel::error::code;
use kernel::prelude::*;
use kernel::types::ARef;

/// `EXT4_TOPDIR_FL`: new subdirectories of this one are spread out.
const TOPDIR: u32 = 0x0002_0000;

/// The flags a new inode takes over from its directory (ext4's
/// `EXT4_FL_INHERITED`, less casefolding, which rext4 refuses).
const INHERITED: u32 = 0x1
    | 0x2
    | 0x4
    | flags::SYNC
    | flags::NODUMP
    | flags::NOATIME
    | 0x400
    | 0x4000
    | 0x8000
    | flags::DIRSYNC;
/// What of those a regular file keeps (ext4's `EXT4_REG_FLMASK`).
const REG_MASK: u32 = !(flags::DIRSYNC | TOPDIR | flags::CASEFOLD | 0x2000_0000);
/// What of those other non-directories keep (ext4's `EXT4_OTHER_FLMASK`).
const OTHER_MASK: u32 = flags::NODUMP | flags::NOATIME;

/// The `i_flags` of a new inode of `mode` in a directory with `dir_flags`
/// (ext4's `ext4_mask_flags` of the inherited ones), plus EXTENTS for
/// what maps blocks through an extent tree.
pub(crate) fn new_flags(dir_flags: u32, mode: u16, extents: bool) -> u32 {
    use crate::disk::inode::{S_IFDIR, S_IFMT, S_IFREG};
    let inherited = dir_flags & INHERITED;
    let f = match mode & S_IFMT {
        S_IFDIR => inherited,
        S_IFREG => inherited & REG_MASK,
        _ => inherited & OTHER_MASK,
    };
    if extents {
        f | flags::EXTENTS
    } else {
        f
    }
}

/// Allocates an inode number for a new inode in `dir` inside `h`: the
/// group from the allocation policy, then the first free inode of the
/// first group from there that has one. ENOSPC when none is free.
pub(crate) fn alloc_ino(sb: &Sb, h: &Handle<'_>, dir: &INode, is_dir: bool) -> Result<u32> {
    let fi = sb.data();
    let d = &fi.sb;
    let geo = Geometry::from_superblock(d);
    let dir_ino = u32::try_from(dir.ino()).map_err(|_| code::EINVAL)?;
    let (pg, _) = inode_location(d, dir_ino).map_err(errno)?;
    let parent = Parent {
        group: pg,
        ino: dir_ino,
        top: dir_ino == ROOT_INO || dir.read().flags & TOPDIR != 0,
        last_alloc_group: None,
    };
    let _guard = fi.alloc_lock.lock();
    let first = if is_dir {
        dir_group(&geo, &parent, crate::glue::task::random_u32(), |g| {
            stats(fi, g)
        })
    } else {
        file_group(&geo, &parent, |g| stats(fi, g))
    };
    let first = first.ok_or(code::ENOSPC)?;
    let ipg = d.inodes_per_group;
    let groups = u64::from(geo.groups);
    for i in 0..groups {
        let g = rem(u64::from(first) + i, groups) as u32;
        if stats(fi, g).map_or(true, |s| s.free_inodes == 0) {
            continue;
        }
        let (_, bits) = read_bitmap(sb, g, Bitmap::Inode)?;
        let base = u64::from(g) * u64::from(ipg);
        // The reserved inodes (below `s_first_ino`) are never handed out,
        // whatever their bits say.
        let start = u64::from(d.first_ino)
            .saturating_sub(1)
            .saturating_sub(base);
        let start = u32::try_from(start.min(u64::from(ipg))).unwrap_or(ipg);
        let Some(bit) = find_zero(&bits, ipg, start).map_err(errno)? else {
            continue;
        };
        let ino = base + u64::from(bit) + 1;
        if ino < u64::from(d.first_ino) || ino > u64::from(d.inodes_count) {
            continue;
        }
        let written = modify_bitmap(sb, h, g, Bitmap::Inode, |b| {
            set_range(b, ipg, bit, 1).map_err(|e| {
                fs_err!(sb, "group {}: inode bitmap: {}", g, e);
                errno(e)
            })
        })?;
        let csum = geo.desc_csum;
        modify_group(sb, h, g, |desc, gd| {
            set_free_inodes(d, desc, gd.free_inodes_count.saturating_sub(1))?;
            if is_dir {
                set_used_dirs(d, desc, gd.used_dirs_count.saturating_add(1))?;
            }
            set_flags(d, desc, gd.flags & !BG_INODE_UNINIT)?;
            // The never-used tail of the inode table ends after this one.
            let used = ipg.saturating_sub(gd.itable_unused.min(ipg));
            if csum && bit >= used {
                set_itable_unused(d, desc, ipg - bit - 1)?;
            }
            set_inode_bitmap_csum(d, desc, &written)
        })?;
        fi.free_inodes.add(-1);
        if is_dir {
            fi.dirs.add(1);
        }
        return u32::try_from(ino).map_err(|_| code::EINVAL);
    }
    Err(code::ENOSPC)
}

/// Frees inode `ino` in its group's bitmap inside `h` (ext4's
/// `ext4_free_inode`); a bit already clear is corruption.
pub(crate) fn free_ino(sb: &Sb, h: &Handle<'_>, ino: u32, is_dir: bool) -> Result {
    let fi = sb.data();
    let d = &fi.sb;
    if ino < d.first_ino || ino > d.inodes_count {
        fs_err!(sb, "freeing reserved or invalid inode #{}", ino);
        return Err(efscorrupted());
    }
    let ipg = d.inodes_per_group;
    let g = div(u64::from(ino - 1), u64::from(ipg)) as u32;
    let bit = rem(u64::from(ino - 1), u64::from(ipg)) as u32;
    let _guard = fi.alloc_lock.lock();
    // Checks the bitmap's checksum before it is changed.
    read_bitmap(sb, g, Bitmap::Inode)?;
    let written = modify_bitmap(sb, h, g, Bitmap::Inode, |b| {
        clear_range(b, ipg, bit, 1).map_err(|e| {
            inode_err!(sb, ino, "freeing inode #{}: {}", ino, e);
            errno(e)
        })
    })?;
    modify_group(sb, h, g, |desc, gd| {
        set_free_inodes(d, desc, gd.free_inodes_count.saturating_add(1).min(ipg))?;
        if is_dir {
            set_used_dirs(d, desc, gd.used_dirs_count.saturating_sub(1))?;
        }
        set_inode_bitmap_csum(d, desc, &written)
    })?;
    fi.free_inodes.add(1);
    if is_dir {
        fi.dirs.add(-1);
    }
    Ok(())
}

/// The inode table block holding inode `ino` and the inode's byte range
/// in it, without reading the inode (a new one is not valid yet).
pub(crate) fn slot(sb: &Sb, ino: u32) -> Result<(ARef<BufferHead>, usize, usize)> {
    let fi = sb.data();
    let d = &fi.sb;
    let (g, off) = inode_location(d, ino).map_err(errno)?;
    let gd = fi.group(g).ok_or(code::EINVAL)?;
    let bs = u64::from(fi.block_size());
    let bh = sb.bread(gd.inode_table + div(off, bs)).inspect_err(|_| {
        inode_err!(
            sb,
            ino,
            "inode #{}: unable to read its inode table block",
            ino
        );
    })?;
    Ok((bh, rem(off, bs) as usize, usize::from(d.inode_size)))
}

/// Writes the new inode `di` into its slot inside `h`, over zeros (ext4
/// clears the whole slot of a new inode, in-inode attributes included).
pub(crate) fn write_new(sb: &Sb, h: &Handle<'_>, di: &DiskInode) -> Result {
    let d = &sb.data().sb;
    let (bh, off, len) = slot(sb, di.ino)?;
    let mut access = h.write_access(&bh)?;
    access.modify(off, len, |b| {
        b.fill(0);
        di.store(d, b).map_err(|e| {
            inode_err!(sb, di.ino, "inode #{}: cannot store: {}", di.ino, e);
            errno(e)
        })
    })?;
    access.dirty()
}

/// `i_extra_isize` of a new inode: what ext4 wants (32 bytes, the fields
/// it knows, or more if the superblock asks), within the inode.
pub(crate) fn new_extra_isize(sb: &Sb) -> u16 {
    let d = &sb.data().sb;
    let room = d.inode_size.saturating_sub(128);
    if room == 0 {
        return 0;
    }
    let want = 32u16.max(d.want_extra_isize).max(d.min_extra_isize);
    let want = if want > room { 32.min(room) } else { want };
    want & !3
}

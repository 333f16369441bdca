// SPDX-License-Identifier: GPL-2.0

//! iomap: FIEMAP reports a file's extents through `iomap_fiemap`, one
//! extent or hole per `iomap_begin` step.

use super::fs_type::FileSystem;
use super::inode::INode;
use super::zeroed;
use crate::sys;
use core::ffi::{c_int, c_uint};
use core::marker::PhantomData;

/// One mapping step, in bytes.
pub(crate) struct IoMap {
    /// File offset of the range.
    pub(crate) offset: i64,
    /// Its length.
    pub(crate) length: u64,
    /// Disk location and state.
    pub(crate) kind: IoMapKind,
}

/// The state of a mapped range.
pub(crate) enum IoMapKind {
    /// Nothing allocated.
    Hole,
    /// Written data at this byte address on the device.
    Mapped(u64),
    /// Allocated, unwritten (reads as zeros), at this address.
    Unwritten(u64),
}

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    /// Reporting only (no `iomap_end`).
    const REPORT: sys::iomap_ops = sys::iomap_ops {
        iomap_begin: Some(iomap_begin_report::<T>),
        ..zeroed()
    };
}

/// `inode_operations.fiemap`: the filesystem checks and clamps the range,
/// then iomap walks it through `T::iomap_report`.
///
/// # Safety
///
/// Called by the VFS (FS_IOC_FIEMAP) with a live inode of `T` and the
/// request's extent info.
pub(super) unsafe extern "C" fn fiemap<T: FileSystem>(
    inode: *mut sys::inode,
    fi: *mut sys::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: `fi` is the caller's request; there is no extent cache to
    // fill, so FIEMAP_FLAG_CACHE is simply done.
    unsafe { (*fi).fi_flags &= !sys::REXT4_FIEMAP_FLAG_CACHE };
    // SAFETY: the VFS passes a live inode of `T`.
    let ino = unsafe { INode::<T>::from_raw(inode) };
    let len = match T::fiemap_range(ino, start, len) {
        Ok(l) => l,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: delegation with the VFS's arguments and a promoted constant
    // ops table; `iomap_fiemap` validates the flags and copies to user
    // space.
    unsafe { sys::iomap_fiemap(inode, fi, start, len, &Tables::<T>::REPORT) }
}

/// `iomap_ops.iomap_begin` for reporting.
///
/// # Safety
///
/// Called by iomap with a live inode of `T` and an iomap to fill in.
unsafe extern "C" fn iomap_begin_report<T: FileSystem>(
    inode: *mut sys::inode,
    pos: i64,
    length: i64,
    _flags: c_uint,
    iomap: *mut sys::iomap,
    _srcmap: *mut sys::iomap,
) -> c_int {
    // SAFETY: the inode is a live inode of `T` for the whole walk.
    let ino = unsafe { INode::<T>::from_raw(inode) };
    let r = match T::iomap_report(ino, pos, length) {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    let (ty, addr) = match r.kind {
        // IOMAP_NULL_ADDR is -1ULL (bindgen cannot evaluate that macro).
        IoMapKind::Hole => (sys::REXT4_IOMAP_HOLE, u64::MAX),
        IoMapKind::Mapped(a) => (sys::REXT4_IOMAP_MAPPED, a),
        IoMapKind::Unwritten(a) => (sys::REXT4_IOMAP_UNWRITTEN, a),
    };
    // SAFETY: `iomap` is iomap's own struct to fill; `s_bdev` of a mounted
    // super_block is set and outlives the walk.
    unsafe {
        (*iomap).flags = 0;
        (*iomap).bdev = (*(*inode).i_sb).s_bdev;
        (*iomap).offset = r.offset;
        (*iomap).length = r.length;
        (*iomap).type_ = ty;
        (*iomap).addr = addr;
    }
    0
}

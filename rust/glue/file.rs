// SPDX-License-Identifier: GPL-2.0

//! Open files: the file operation tables of regular files and
//! directories, readdir and SEEK_DATA/SEEK_HOLE.

use super::dentry::DirEmitter;
use super::fs_type::FileSystem;
use super::inode::INode;
use super::zeroed;
use crate::sys;
use core::ffi::c_int;
use core::marker::PhantomData;

/// Which of `lseek`'s data/hole requests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeekData {
    /// `SEEK_DATA`: the next data at or after the offset.
    Data,
    /// `SEEK_HOLE`: the next hole at or after the offset.
    Hole,
}

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const FILE: sys::file_operations = sys::file_operations {
        llseek: Some(llseek::<T>),
        read_iter: Some(sys::generic_file_read_iter),
        mmap: Some(sys::generic_file_readonly_mmap),
        splice_read: Some(sys::filemap_splice_read),
        open: Some(sys::generic_file_open),
        fsync: Self::FSYNC,
        ..zeroed()
    };
    const DIR: sys::file_operations = sys::file_operations {
        llseek: Some(sys::generic_file_llseek),
        read: Some(sys::generic_read_dir),
        iterate_shared: if T::HAS_READDIR {
            Some(iterate_shared::<T>)
        } else {
            None
        },
        fsync: Self::FSYNC,
        ..zeroed()
    };
    const FSYNC: Option<unsafe extern "C" fn(*mut sys::file, i64, i64, c_int) -> c_int> =
        if T::HAS_FSYNC { Some(fsync::<T>) } else { None };
}

/// The file operations of regular files of `T`.
pub(super) fn file_ops<T: FileSystem>() -> &'static sys::file_operations {
    &Tables::<T>::FILE
}

/// The file operations of directories of `T`.
pub(super) fn dir_ops<T: FileSystem>() -> &'static sys::file_operations {
    &Tables::<T>::DIR
}

/// # Safety
///
/// Called by the VFS with an open directory of `T` and its live context.
unsafe extern "C" fn iterate_shared<T: FileSystem>(
    file: *mut sys::file,
    ctx: *mut sys::dir_context,
) -> c_int {
    // SAFETY: an open file pins its inode, one of `T` here; the context is
    // live for the call and only used by it.
    let (inode, emitter) = unsafe {
        (
            INode::<T>::from_raw(sys::rext4_file_inode(file)),
            DirEmitter::from_raw(ctx),
        )
    };
    match T::readdir(inode, emitter) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `llseek` of regular files: the generic one, plus SEEK_DATA/SEEK_HOLE
/// through the filesystem's block map.
///
/// # Safety
///
/// Called by the VFS with an open regular file of `T`.
unsafe extern "C" fn llseek<T: FileSystem>(
    file: *mut sys::file,
    offset: i64,
    whence: c_int,
) -> i64 {
    let what = match whence {
        sys::REXT4_SEEK_DATA if T::HAS_SEEK_DATA => SeekData::Data,
        sys::REXT4_SEEK_HOLE if T::HAS_SEEK_DATA => SeekData::Hole,
        // SAFETY: plain delegation with the VFS's own arguments.
        _ => return unsafe { sys::generic_file_llseek(file, offset, whence) },
    };
    // SAFETY: an open file pins its inode, one of `T`.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_file_inode(file)) };
    match T::seek_data(inode, offset, what) {
        // SAFETY: `vfs_setpos` validates and stores the new position.
        Ok(pos) => unsafe { sys::vfs_setpos(file, pos, inode.sb().max_bytes()) },
        Err(e) => e.to_errno().into(),
    }
}

/// `fsync` of files and directories of `T`.
///
/// # Safety
///
/// Called by the VFS with an open file of `T`.
unsafe extern "C" fn fsync<T: FileSystem>(
    file: *mut sys::file,
    _start: i64,
    _end: i64,
    datasync: c_int,
) -> c_int {
    // SAFETY: an open file pins its inode, one of `T`.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_file_inode(file)) };
    match T::fsync(inode, datasync != 0) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

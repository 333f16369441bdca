// SPDX-License-Identifier: GPL-2.0

//! Dentries and directory contexts: the name a lookup asks for, and the
//! position and callback of a readdir.

use super::fs_type::FileSystem;
use super::inode::INode;
use crate::sys;
use core::ffi::{c_int, c_uint};
use kernel::error::Error;
use kernel::types::{ARef, Opaque};

/// The type of a directory entry as readdir reports it (`DT_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DirEntryType {
    Unknown,
    Reg,
    Dir,
    Chr,
    Blk,
    Fifo,
    Sock,
    Lnk,
}

impl DirEntryType {
    fn dt(self) -> c_uint {
        match self {
            DirEntryType::Unknown => sys::DT_UNKNOWN,
            DirEntryType::Reg => sys::DT_REG,
            DirEntryType::Dir => sys::DT_DIR,
            DirEntryType::Chr => sys::DT_CHR,
            DirEntryType::Blk => sys::DT_BLK,
            DirEntryType::Fifo => sys::DT_FIFO,
            DirEntryType::Sock => sys::DT_SOCK,
            DirEntryType::Lnk => sys::DT_LNK,
        }
    }
}

/// A readdir position and the callback that receives entries.
///
/// INVARIANT: wraps the live `dir_context` the VFS passed to
/// `iterate_shared`, used only during that call by that call.
#[repr(transparent)]
pub(crate) struct DirEmitter(Opaque<sys::dir_context>);

impl DirEmitter {
    /// Wraps the VFS's context.
    ///
    /// # Safety
    ///
    /// `ctx` must satisfy the type invariant for `'a`, with no other user.
    pub(super) unsafe fn from_raw<'a>(ctx: *mut sys::dir_context) -> &'a mut DirEmitter {
        // SAFETY: transparent wrapper; guaranteed by the caller.
        unsafe { &mut *ctx.cast::<DirEmitter>() }
    }

    /// The current position (a byte offset in the directory).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: live by the type invariant; only this call uses it.
        unsafe { (*self.0.get()).pos }
    }

    /// Moves the position.
    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: as for `pos`.
        unsafe { (*self.0.get()).pos = pos };
    }

    /// Passes one entry to the reader; `false` means its buffer is full
    /// and the position must not advance past this entry.
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, typ: DirEntryType) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: the context is live; the name pointer and length describe
        // valid bytes for the duration of the call (the actor copies them).
        unsafe { sys::rext4_dir_emit(self.0.get(), name.as_ptr().cast(), len, ino, typ.dt()) }
    }
}

/// `ERR_PTR(e)` for functions returning pointers.
pub(super) fn err_ptr<P>(e: Error) -> *mut P {
    e.to_errno() as isize as *mut P
}

/// `inode_operations.lookup`.
///
/// # Safety
///
/// Called by the VFS with a directory of `T` and a dentry whose name is
/// stable during the call (the parent is locked for lookup).
pub(super) unsafe extern "C" fn lookup<T: FileSystem>(
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    _flags: c_uint,
) -> *mut sys::dentry {
    let mut len: c_uint = 0;
    // SAFETY: the dentry's name is stable during the call; the pointer and
    // length describe its bytes.
    let name = unsafe {
        let p = sys::rext4_dentry_name(dentry, &mut len);
        core::slice::from_raw_parts(p, len as usize)
    };
    // SAFETY: `dir` is a live directory inode of `T`.
    let dir = unsafe { INode::<T>::from_raw(dir) };
    let inode = match T::lookup(dir, name) {
        Ok(Some(i)) => ARef::into_raw(i).as_ptr().cast::<sys::inode>(),
        Ok(None) => core::ptr::null_mut(),
        Err(e) => return err_ptr(e),
    };
    // SAFETY: `d_splice_alias` takes over the inode reference (or NULL for
    // a negative entry) and the dentry.
    unsafe { sys::d_splice_alias(inode, dentry) }
}

// SPDX-License-Identifier: GPL-2.0

//! `/sys/fs/rext4/<device>/`: one directory per mounted filesystem, whose
//! attributes the filesystem shows and stores ([`FileSystem::sysfs_show`],
//! [`FileSystem::sysfs_store`], attribute numbers `sys::REXT4_SYSFS_*`).
//! The kobject plumbing is C (`include/rext4_sysfs.c`); dropping a
//! [`SysfsDir`] returns only once no call into the filesystem is left.

use super::fs_type::FileSystem;
use super::super_block::{Mounted, SuperBlock};
use crate::sys;
use core::ffi::{c_uint, c_void};
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, from_err_ptr, Result};
use kernel::ffi::c_char;

/// The sysfs directory of one mounted filesystem.
///
/// INVARIANT: `raw` is a directory from `rext4_sysfs_add` whose context
/// is a super_block of `T` that outlives this value (the owner keeps it in
/// the superblock's data and drops it before that data goes).
pub(crate) struct SysfsDir<T: FileSystem> {
    raw: NonNull<sys::rext4_sysfs>,
    _t: PhantomData<fn(&T)>,
}

// SAFETY: only created and removed through the C functions, from any task.
unsafe impl<T: FileSystem> Send for SysfsDir<T> {}
// SAFETY: no method takes `&self`.
unsafe impl<T: FileSystem> Sync for SysfsDir<T> {}

impl<T: FileSystem> SysfsDir<T> {
    /// Creates `/sys/fs/rext4/<device>/` for the mounted `sb`, whose data
    /// is set; the caller keeps the value in that data.
    pub(crate) fn add(sb: &SuperBlock<T, Mounted>) -> Result<Self> {
        let id = sb.id();
        // SAFETY: `s_id` is NUL terminated; the context is the live
        // super_block, which the caller's data keeps alive beyond this
        // directory (type invariant); the callbacks match the context.
        let raw = unsafe {
            sys::rext4_sysfs_add(
                id.as_ptr(),
                sb.as_ptr().cast(),
                Some(show::<T>),
                Some(store::<T>),
            )
        };
        let raw = NonNull::new(from_err_ptr(raw)?).ok_or(code::ENOMEM)?;
        Ok(SysfsDir {
            raw,
            _t: PhantomData,
        })
    }
}

impl<T: FileSystem> Drop for SysfsDir<T> {
    fn drop(&mut self) {
        // SAFETY: created by `add`, removed once; waits for running calls.
        unsafe { sys::rext4_sysfs_remove(self.raw.as_ptr()) }
    }
}

/// The page a `show` fills (sysfs hands out one page per call).
pub(crate) struct SysfsOut<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for SysfsOut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The superblock of a directory's context, if its data is still set.
///
/// # Safety
///
/// `ctx` is the context `SysfsDir::<T>::add` gave (a live super_block).
unsafe fn ctx_sb<'a, T: FileSystem>(ctx: *mut c_void) -> Option<&'a SuperBlock<T, Mounted>> {
    // SAFETY: per the contract and the type invariant of `SysfsDir`.
    let sb = unsafe { SuperBlock::<T, Mounted>::from_raw(ctx.cast()) };
    sb.try_data().map(|_| sb)
}

/// # Safety
///
/// Called by `rext4_sysfs.c` for a directory of `T` with its context and
/// the page sysfs gave for the output.
unsafe extern "C" fn show<T: FileSystem>(ctx: *mut c_void, id: c_uint, buf: *mut c_char) -> isize {
    // SAFETY: per the contract.
    let Some(sb) = (unsafe { ctx_sb::<T>(ctx) }) else {
        return code::ENODEV.to_errno() as isize;
    };
    let len = kernel::page::PAGE_SIZE;
    // SAFETY: sysfs gives show a whole page, this call's alone.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    let mut out = SysfsOut { buf: page, len: 0 };
    match T::sysfs_show(sb, id, &mut out) {
        Ok(()) => out.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by `rext4_sysfs.c` for a directory of `T` with its context and
/// the `len` bytes written to the attribute.
unsafe extern "C" fn store<T: FileSystem>(
    ctx: *mut c_void,
    id: c_uint,
    buf: *const c_char,
    len: usize,
) -> isize {
    // SAFETY: per the contract.
    let Some(sb) = (unsafe { ctx_sb::<T>(ctx) }) else {
        return code::ENODEV.to_errno() as isize;
    };
    // SAFETY: sysfs passes `len` readable bytes.
    let data = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    match T::sysfs_store(sb, id, data) {
        Ok(()) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Module load: `/sys/fs/rext4`.
pub(crate) fn init() -> Result {
    // SAFETY: no precondition.
    kernel::error::to_result(unsafe { sys::rext4_sysfs_init() })
}

/// Module unload (every mount gone): `/sys/fs/rext4` goes.
pub(crate) fn exit() {
    // SAFETY: after a successful `init`, once.
    unsafe { sys::rext4_sysfs_exit() }
}

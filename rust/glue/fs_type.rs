// SPDX-License-Identifier: GPL-2.0

//! Registration of filesystem type `rext4` and the fs_context callbacks that
//! lead to [`crate::fs::super_ops::fill_super`].

use super::super_block::SuperBlock;
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::ThisModule;

/// The `file_system_type`, which the VFS links into its list and whose lock
/// class keys lockdep needs in static memory.
struct FsType(UnsafeCell<sys::file_system_type>);

// SAFETY: the object is written only by `Registration::register` before
// `register_filesystem` publishes it, and afterwards only by the VFS under
// its own locks.
unsafe impl Sync for FsType {}

static FS_TYPE: FsType = FsType(UnsafeCell::new(sys::file_system_type {
    name: kernel::c_str!("rext4").as_char_ptr(),
    fs_flags: sys::FS_REQUIRES_DEV as c_int,
    init_fs_context: Some(init_fs_context),
    kill_sb: Some(sys::kill_block_super),
    // SAFETY: all-zero is a valid `file_system_type` (NULL pointers, empty
    // lists, unused lock class keys); the fields set above override it.
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}));

/// Callbacks of a rext4 mount's fs_context.
struct ContextOps(sys::fs_context_operations);

// SAFETY: read-only after construction.
unsafe impl Sync for ContextOps {}

static CONTEXT_OPS: ContextOps = ContextOps(sys::fs_context_operations {
    get_tree: Some(get_tree),
    // SAFETY: all-zero is a valid `fs_context_operations` (no callback).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// Keeps filesystem type `rext4` registered while alive.
pub(crate) struct Registration(());

impl Registration {
    /// Registers filesystem type `rext4`, owned by `module`.
    pub(crate) fn register(module: &'static ThisModule) -> Result<Registration> {
        let fst = FS_TYPE.0.get();
        // SAFETY: module init runs once; nothing else accesses `FS_TYPE`
        // before `register_filesystem` below publishes it.
        unsafe { (*fst).owner = module.as_ptr().cast::<sys::module>() };
        // SAFETY: `fst` is a fully initialised file_system_type in static
        // memory that stays valid until `unregister_filesystem` in `drop`.
        to_result(unsafe { sys::register_filesystem(fst) })?;
        Ok(Registration(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; module unload cannot start while
        // a rext4 super_block exists, since each holds a module reference.
        unsafe { sys::unregister_filesystem(FS_TYPE.0.get()) };
    }
}

/// `file_system_type.init_fs_context`.
///
/// # Safety
///
/// Called by the VFS with a live fs_context.
unsafe extern "C" fn init_fs_context(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: the VFS passes a live fs_context that we may set up; the ops
    // table is static.
    unsafe { (*fc).ops = &CONTEXT_OPS.0 };
    0
}

/// `fs_context_operations.get_tree`: a block-device mount.
///
/// # Safety
///
/// Called by the VFS with a live fs_context.
unsafe extern "C" fn get_tree(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: `fc` is live; `get_tree_bdev` opens the device named by the
    // context and calls `fill_super` for a new super_block.
    unsafe { sys::get_tree_bdev(fc, Some(fill_super)) }
}

/// The `fill_super` callback of `get_tree_bdev`.
///
/// # Safety
///
/// Called by `get_tree_bdev` with a new super_block on an opened block
/// device, `s_umount` held.
unsafe extern "C" fn fill_super(sb: *mut sys::super_block, _fc: *mut sys::fs_context) -> c_int {
    let Some(sb) = NonNull::new(sb) else {
        return kernel::error::code::EINVAL.to_errno();
    };
    // SAFETY: the VFS guarantees what `SuperBlock::from_raw` needs for the
    // duration of this call.
    let sb = unsafe { SuperBlock::from_raw(sb) };
    match crate::fs::super_ops::fill_super(&sb) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

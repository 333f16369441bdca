// SPDX-License-Identifier: GPL-2.0

//! Registration of filesystem type `rext4` and its fs_context: mount option
//! parsing, `get_tree` (leading to [`crate::fs::super_ops::fill_super`]),
//! remount and `kill_sb`.

use super::super_block::SuperBlock;
use crate::fs::options::{MountOptions, Parsed};
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::c_int;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::error::{code, to_result, Result};
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
    kill_sb: Some(kill_sb),
    // SAFETY: all-zero is a valid `file_system_type` (NULL pointers, empty
    // lists, unused lock class keys); the fields set above override it.
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}));

/// Callbacks of a rext4 mount's fs_context.
struct ContextOps(sys::fs_context_operations);

// SAFETY: read-only after construction.
unsafe impl Sync for ContextOps {}

static CONTEXT_OPS: ContextOps = ContextOps(sys::fs_context_operations {
    free: Some(free_fc),
    parse_param: Some(parse_param),
    get_tree: Some(get_tree),
    reconfigure: Some(reconfigure),
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

/// The options of a context (`fs_private`), set by `init_fs_context`.
///
/// # Safety
///
/// `fc` must be a live rext4 fs_context, used by one thread (the VFS
/// serialises a context's callbacks).
unsafe fn options<'a>(fc: *mut sys::fs_context) -> &'a mut MountOptions {
    // SAFETY: `init_fs_context` stored a `KBox<MountOptions>` there that
    // lives until `free_fc`; the caller guarantees exclusive use.
    unsafe { &mut *(*fc).fs_private.cast::<MountOptions>() }
}

/// `file_system_type.init_fs_context`.
///
/// # Safety
///
/// Called by the VFS with a live fs_context.
unsafe extern "C" fn init_fs_context(fc: *mut sys::fs_context) -> c_int {
    let opts = match KBox::new(MountOptions::default(), GFP_KERNEL) {
        Ok(o) => o,
        Err(_) => return code::ENOMEM.to_errno(),
    };
    // SAFETY: the VFS passes a live fs_context that we may set up; the ops
    // table is static; `free_fc` releases `fs_private`.
    unsafe {
        (*fc).fs_private = KBox::into_raw(opts).cast();
        (*fc).ops = &CONTEXT_OPS.0;
    }
    0
}

/// `fs_context_operations.free`.
///
/// # Safety
///
/// Called by the VFS once, when the context is destroyed.
unsafe extern "C" fn free_fc(fc: *mut sys::fs_context) {
    // SAFETY: `fs_private` is NULL or the box from `init_fs_context`.
    unsafe {
        let p = (*fc).fs_private.cast::<MountOptions>();
        (*fc).fs_private = core::ptr::null_mut();
        if !p.is_null() {
            drop(KBox::from_raw(p));
        }
    }
}

/// `fs_context_operations.parse_param`: one `key[=value]` option.
///
/// # Safety
///
/// Called by the VFS with a live context and parameter.
unsafe extern "C" fn parse_param(fc: *mut sys::fs_context, param: *mut sys::fs_parameter) -> c_int {
    // SAFETY: the parameter's key is a NUL-terminated string; a string
    // value is NUL terminated too (`size` is its length).
    let (key, value) = unsafe {
        let key = core::ffi::CStr::from_ptr((*param).key.cast()).to_bytes();
        let ty = c_int::from((*param)._bitfield_1.get(0, 8) as u8);
        let value = if ty == sys::REXT4_FS_VALUE_IS_STRING {
            let s = (*param).__bindgen_anon_1.string;
            if s.is_null() {
                None
            } else {
                Some(core::ffi::CStr::from_ptr(s.cast()).to_bytes())
            }
        } else {
            None
        };
        (key, value)
    };
    // SAFETY: the VFS serialises callbacks of one context.
    let opts = unsafe { options(fc) };
    match opts.parse(key, value) {
        Ok(Parsed::Known) => 0,
        // "source" and unknown keys: the VFS handles or reports them.
        Ok(Parsed::Unknown) => -sys::REXT4_ENOPARAM,
        Err(e) => e.to_errno(),
    }
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

/// `fs_context_operations.reconfigure` (remount). rext4 mounts are
/// read-only for now: remounting read-write is refused, and so is a change
/// of mount options (rather than accepting and ignoring it).
///
/// # Safety
///
/// Called by the VFS with a live context for an existing mount.
unsafe extern "C" fn reconfigure(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: `fc` is live; `root` is the mount's root dentry, whose
    // super_block is a mounted rext4 one; the VFS serialises the context.
    let (flags, sb, opts) = unsafe {
        (
            (*fc).sb_flags,
            SuperBlock::from_raw((*(*fc).root).d_sb),
            options(fc),
        )
    };
    if u64::from(flags) & u64::from(sys::REXT4_SB_RDONLY as u32) == 0 {
        sb_err!(sb, "remounting read-write is not supported yet");
        return code::EROFS.to_errno();
    }
    if let Some(key) = opts.changed_from(&sb.fs_info().opts) {
        sb_err!(
            sb,
            "changing mount option '{}' on remount is not supported yet",
            key
        );
        return code::EINVAL.to_errno();
    }
    0
}

/// The `fill_super` callback of `get_tree_bdev`.
///
/// # Safety
///
/// Called by `get_tree_bdev` with a new super_block on an opened block
/// device, `s_umount` held, and the mount's context.
unsafe extern "C" fn fill_super(sb: *mut sys::super_block, fc: *mut sys::fs_context) -> c_int {
    // SAFETY: the VFS guarantees what `SuperBlock::from_raw` needs for the
    // duration of this call; the context is live and its options are ours.
    let (sbr, opts) = unsafe { (SuperBlock::from_raw(sb), options(fc).clone()) };
    let root = match crate::fs::super_ops::fill_super(sbr, opts) {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `d_make_root` takes over the root inode reference (and drops
    // it on failure); `s_root` is set once here under `s_umount`.
    unsafe {
        let d = sys::d_make_root(root.into_raw());
        if d.is_null() {
            return code::ENOMEM.to_errno();
        }
        (*sb).s_root = d;
    }
    0
}

/// `file_system_type.kill_sb`: shut the super_block down, then free
/// rext4's private data (also after a failed `fill_super`).
///
/// # Safety
///
/// Called by the VFS once per rext4 super_block.
unsafe extern "C" fn kill_sb(sb: *mut sys::super_block) {
    // SAFETY: `kill_block_super` evicts every inode and releases the
    // device; afterwards nothing uses `s_fs_info`, so it can be freed.
    unsafe {
        sys::kill_block_super(sb);
        drop(SuperBlock::from_raw(sb).take_fs_info());
    }
}

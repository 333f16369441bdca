// SPDX-License-Identifier: GPL-2.0

//! The VFS super_block of a rext4 mount.

use super::buffer::BufferHead;
use crate::fs::super_ops::FsInfo;
use crate::sys;
use core::ptr::NonNull;
use kernel::alloc::KBox;
use kernel::error::{code, Result};
use kernel::ffi::c_char;
use kernel::types::{ARef, Opaque};

/// A super_block of filesystem type rext4.
///
/// INVARIANT: the wrapped super_block is live, belongs to filesystem type
/// rext4, sits on a block device (`s_bdev` set), and `s_fs_info` is either
/// NULL or a pointer obtained from `KBox<FsInfo>::into_raw` that stays valid
/// until `kill_sb` frees it. References are only handed out while the VFS
/// keeps the super_block alive (during its callbacks).
#[repr(transparent)]
pub(crate) struct SuperBlock(Opaque<sys::super_block>);

impl SuperBlock {
    /// Borrows a super_block the VFS passed to a callback.
    ///
    /// # Safety
    ///
    /// `sb` must satisfy the type invariant for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut sys::super_block) -> &'a SuperBlock {
        // SAFETY: `SuperBlock` is a transparent wrapper of the C struct;
        // validity for 'a is guaranteed by the caller.
        unsafe { &*sb.cast::<SuperBlock>() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::super_block {
        self.0.get()
    }

    /// The device name (`s_id`), e.g. `vda`, NUL terminated.
    pub(crate) fn id(&self) -> &[c_char; 32] {
        // SAFETY: by the type invariant the super_block is live; `s_id` is
        // set when the super_block is created and never changes after (the
        // reference covers that field only; the rest of the struct changes
        // concurrently).
        unsafe { &(*self.as_ptr()).s_id }
    }

    /// Whether the super_block is read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: live by the type invariant; `s_flags` changes under
        // `s_umount`, so it is read once (READ_ONCE) through the pointer.
        let flags = unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).s_flags) };
        flags & sys::REXT4_SB_RDONLY != 0
    }

    /// Sets the block size used for buffer reads to at least `size` (and at
    /// least the device's logical block size); returns the size set.
    pub(crate) fn set_min_blocksize(&self, size: u32) -> Result<u32> {
        let size = i32::try_from(size).map_err(|_| code::EINVAL)?;
        // SAFETY: by the type invariant the super_block is live and on a
        // block device; called during `fill_super` under `s_umount`.
        let got = unsafe { sys::sb_min_blocksize(self.as_ptr(), size) };
        u32::try_from(got)
            .ok()
            .filter(|&s| s != 0)
            .ok_or(code::EINVAL)
    }

    /// Sets the filesystem block size exactly.
    pub(crate) fn set_blocksize(&self, size: u32) -> Result {
        let size = i32::try_from(size).map_err(|_| code::EINVAL)?;
        // SAFETY: as for `set_min_blocksize`.
        let got = unsafe { sys::sb_set_blocksize(self.as_ptr(), size) };
        if got == size {
            Ok(())
        } else {
            Err(code::EINVAL)
        }
    }

    /// Reads block `block` (in units of the current block size).
    pub(crate) fn bread(&self, block: u64) -> Result<ARef<BufferHead>> {
        // SAFETY: by the type invariant the super_block is live and has a
        // block device and a block size; `sb_bread` returns NULL on I/O
        // errors and on blocks beyond the device.
        let bh = unsafe { sys::rext4_sb_bread(self.as_ptr(), block) };
        let bh = NonNull::new(bh).ok_or(code::EIO)?;
        // SAFETY: `sb_bread` returned an up-to-date buffer with a reference
        // the caller owns.
        Ok(unsafe { BufferHead::from_bread(bh) })
    }

    /// Size of the underlying block device in bytes.
    pub(crate) fn device_bytes(&self) -> u64 {
        // SAFETY: by the type invariant `s_bdev` is set and live.
        let n = unsafe { sys::rext4_sb_bdev_nr_bytes(self.as_ptr()) };
        u64::try_from(n).unwrap_or(0)
    }

    /// Drops the clean cached blocks of the device, so nothing read (or
    /// marked verified) before this mount is trusted by it.
    pub(crate) fn invalidate_device_cache(&self) {
        // SAFETY: by the type invariant `s_bdev` is set and live; the
        // mount holds the device exclusively; only clean pages are dropped.
        unsafe { sys::invalidate_bdev((*self.as_ptr()).s_bdev) };
    }

    /// Sets the VFS-visible parameters of a mount being set up.
    pub(crate) fn set_params(&self, p: &SbParams) {
        let sb = self.as_ptr();
        // SAFETY: called from `fill_super` before the super_block is
        // visible to anyone else; the fields are plain data and the ops
        // table is static; the UUID setter copies 16 bytes (and names the
        // sysfs directory after the device, for FS_IOC_GETFSSYSFSPATH).
        unsafe {
            (*sb).s_magic = p.magic.into();
            (*sb).s_maxbytes = p.maxbytes;
            (*sb).s_time_min = p.time_min;
            (*sb).s_time_max = p.time_max;
            (*sb).s_op = &super::ops::SUPER_OPS.0;
            sys::rext4_super_set_uuid(sb, p.uuid.as_ptr());
        }
    }

    /// Installs the filesystem's private data, freed by `kill_sb`.
    pub(crate) fn set_fs_info(&self, info: KBox<FsInfo>) {
        let sb = self.as_ptr();
        // SAFETY: `fill_super` runs once per super_block under `s_umount`,
        // before anything reads `s_fs_info`; the old value is NULL (the VFS
        // does not set it for `get_tree_bdev` mounts), so nothing leaks.
        unsafe { (*sb).s_fs_info = KBox::into_raw(info).cast() };
    }

    /// The filesystem's private data. Only valid after `fill_super` has
    /// installed it, which happens before any inode is read.
    pub(crate) fn fs_info(&self) -> &FsInfo {
        // SAFETY: by the type invariant `s_fs_info` is a live `FsInfo`
        // from `KBox::into_raw`; `fill_super` installs it before the first
        // inode is read (the first caller), and it is only freed in
        // `kill_sb` after every other callback has finished.
        unsafe { &*(*self.as_ptr()).s_fs_info.cast::<FsInfo>() }
    }

    /// The filesystem's private data, if `fill_super` has installed it yet.
    pub(crate) fn fs_info_opt(&self) -> Option<&FsInfo> {
        // SAFETY: by the type invariant `s_fs_info` is NULL or a live
        // `FsInfo` that outlives every callback that can reach this.
        unsafe { (*self.as_ptr()).s_fs_info.cast::<FsInfo>().as_ref() }
    }

    /// Takes back the private data (for `kill_sb`).
    ///
    /// # Safety
    ///
    /// No other reference to the `FsInfo` may exist or be created later.
    pub(crate) unsafe fn take_fs_info(&self) -> Option<KBox<FsInfo>> {
        let sb = self.as_ptr();
        // SAFETY: the pointer came from `KBox::into_raw` (type invariant)
        // and the caller guarantees exclusivity; it is cleared so it cannot
        // be freed twice.
        unsafe {
            let p = (*sb).s_fs_info.cast::<FsInfo>();
            (*sb).s_fs_info = core::ptr::null_mut();
            if p.is_null() {
                None
            } else {
                Some(KBox::from_raw(p))
            }
        }
    }
}

/// What `fill_super` tells the VFS about a mount.
pub(crate) struct SbParams {
    pub(crate) magic: u16,
    pub(crate) maxbytes: i64,
    pub(crate) time_min: i64,
    pub(crate) time_max: i64,
    pub(crate) uuid: [u8; 16],
}

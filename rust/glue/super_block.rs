// SPDX-License-Identifier: GPL-2.0

//! The VFS super_block of a rext4 mount.

use super::buffer::Buffer;
use crate::sys;
use kernel::ffi::c_char;
use core::ptr::NonNull;
use kernel::error::{code, Result};

/// A super_block being set up by `fill_super` or mounted by rext4.
///
/// INVARIANT: `sb` points to a live super_block of filesystem type rext4 on
/// a block device (`s_bdev` set), and the VFS holds `s_umount` for as long
/// as this reference exists.
pub(crate) struct SuperBlock {
    sb: NonNull<sys::super_block>,
}

impl SuperBlock {
    /// Wraps the super_block the VFS passed to `fill_super`.
    ///
    /// # Safety
    ///
    /// `sb` must be a live block-device super_block under `s_umount` for
    /// the lifetime of the returned object.
    pub(crate) unsafe fn from_raw(sb: NonNull<sys::super_block>) -> SuperBlock {
        // INVARIANT: guaranteed by the caller.
        SuperBlock { sb }
    }

    fn raw(&self) -> &sys::super_block {
        // SAFETY: by the type invariant the super_block is live.
        unsafe { self.sb.as_ref() }
    }

    /// The device name (`s_id`), e.g. `vda`, NUL terminated.
    pub(crate) fn id(&self) -> &[c_char; 32] {
        &self.raw().s_id
    }

    /// Whether the mount was asked to be read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        self.raw().s_flags & sys::REXT4_SB_RDONLY != 0
    }

    /// Sets the block size used for buffer reads to at least `size` (and at
    /// least the device's logical block size); returns the size set.
    pub(crate) fn set_min_blocksize(&self, size: u32) -> Result<u32> {
        let size = i32::try_from(size).map_err(|_| code::EINVAL)?;
        // SAFETY: by the type invariant the super_block is live, on a block
        // device, and its setup is serialised by `s_umount`.
        let got = unsafe { sys::sb_min_blocksize(self.sb.as_ptr(), size) };
        u32::try_from(got).ok().filter(|&s| s != 0).ok_or(code::EINVAL)
    }

    /// Reads block `block` (in units of the current block size).
    pub(crate) fn bread(&self, block: u64) -> Result<Buffer> {
        // SAFETY: by the type invariant the super_block is live and has a
        // block device and a block size; `sb_bread` checks the block against
        // nothing but returns NULL on any I/O error.
        let bh = unsafe { sys::rext4_sb_bread(self.sb.as_ptr(), block) };
        let bh = NonNull::new(bh).ok_or(code::EIO)?;
        // SAFETY: `sb_bread` returned an up-to-date buffer with a reference
        // the caller owns.
        Ok(unsafe { Buffer::from_raw(bh) })
    }

    /// Size of the underlying block device in bytes.
    pub(crate) fn device_bytes(&self) -> u64 {
        // SAFETY: by the type invariant `s_bdev` is set and live.
        let n = unsafe { sys::rext4_sb_bdev_nr_bytes(self.sb.as_ptr()) };
        u64::try_from(n).unwrap_or(0)
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Buffer heads: one block of a block device in the buffer cache.

use crate::sys;
use core::ptr::NonNull;

/// A referenced, up-to-date buffer head; the reference is dropped with it.
///
/// INVARIANT: `bh` points to a buffer head on which this object holds one
/// reference (from `sb_bread`), whose `b_data` maps `b_size` bytes that were
/// read from the device.
pub(crate) struct Buffer {
    bh: NonNull<sys::buffer_head>,
}

impl Buffer {
    /// Wraps a buffer head returned by `sb_bread`.
    ///
    /// # Safety
    ///
    /// `bh` must be an up-to-date buffer head with a reference owned by the
    /// caller, which passes to the new object.
    pub(crate) unsafe fn from_raw(bh: NonNull<sys::buffer_head>) -> Buffer {
        // INVARIANT: guaranteed by the caller.
        Buffer { bh }
    }

    /// The block's bytes.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: by the type invariant the buffer head is live and its
        // `b_data` maps `b_size` bytes for as long as the reference is held,
        // which is at least as long as `&self`; both fields are read through
        // the pointer (other fields such as `b_state` change concurrently).
        // rext4 does not write to buffers it reads (mounts are read-only).
        // Only a privileged writer to the mounted block device could change
        // the bytes underneath; the disk layer never trusts a value it has
        // not bounds-checked at the point of use, so that yields errors or
        // wrong data, never out-of-bounds access.
        unsafe {
            let bh = self.bh.as_ptr();
            core::slice::from_raw_parts((*bh).b_data.cast::<u8>(), (*bh).b_size)
        }
    }
}

impl Buffer {
    /// Whether the block's checksum was already verified since it was read
    /// from the device (jbd2's `BH_Verified`, the bit ext4 uses).
    pub(crate) fn is_verified(&self) -> bool {
        // SAFETY: live buffer head (type invariant); an atomic bit test.
        unsafe { sys::rext4_buffer_verified(self.bh.as_ptr()) }
    }

    /// Records that the block's checksum has been verified.
    pub(crate) fn set_verified(&self) {
        // SAFETY: live buffer head (type invariant); an atomic bit set.
        unsafe { sys::rext4_set_buffer_verified(self.bh.as_ptr()) }
    }
}

impl AsRef<[u8]> for Buffer {
    fn as_ref(&self) -> &[u8] {
        self.data()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: by the type invariant this object owns one reference.
        unsafe { sys::rext4_brelse(self.bh.as_ptr()) };
    }
}

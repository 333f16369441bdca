// SPDX-License-Identifier: GPL-2.0

//! The kernel's checksum functions.
//!
//! crc32c goes through the crypto API's "crc32c" driver (the CPU's
//! instruction where the kernel has a driver for it, a table
//! implementation otherwise), loaded once while the filesystem type is
//! registered ([`Crc32cDriver`]), with a descriptor of the driver's own
//! size on the stack, as ext4 computes its checksums. The library's
//! `crc32c()` is the same driver behind a descriptor sized for any hash,
//! which the kernel's automatic stack initialisation zeroes on every call
//! (a few hundred bytes per checksum, a measurable share of a lookup); it
//! remains the fallback when the driver cannot be loaded.

use crate::sys;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The loaded driver, or NULL. Set by [`Crc32cDriver::load`] before the
/// filesystem type is registered, cleared and freed by its drop after the
/// type is unregistered: while it is set, no code of the module frees it.
static DRIVER: AtomicPtr<sys::crypto_shash> = AtomicPtr::new(null_mut());

/// Continues a CRC32C computation from `crc` over `data`, with no final
/// inversion (the raw register value ext4 and jbd2 store).
pub(crate) fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    // The length argument is 32-bit; blocks are at most a page, but a
    // longer slice is handled in pieces all the same.
    for piece in data.chunks(u32::MAX as usize) {
        // SAFETY: `piece` is a valid slice for reads of its length, which
        // fits `u32`.
        crc = unsafe { crc32c_raw(crc, piece.as_ptr(), piece.len() as u32) };
    }
    crc
}

/// [`crc32c`] over `len` bytes at `data`, which are only read.
///
/// # Safety
///
/// `data` must be valid for reads of `len` bytes (it need not be a Rust
/// slice: the glue checksums buffer memory in place this way).
pub(crate) unsafe fn crc32c_raw(crc: u32, data: *const u8, len: u32) -> u32 {
    let tfm = DRIVER.load(Ordering::Acquire);
    if tfm.is_null() {
        // SAFETY: the caller's guarantee; crc32c() only reads the bytes.
        unsafe { sys::crc32c(crc, data.cast(), len) }
    } else {
        // SAFETY: `tfm` is the loaded crc32c driver, freed only after the
        // module's last use of it (see `DRIVER`); the caller guarantees
        // the bytes, which the driver only reads.
        unsafe { sys::rext4_crc32c_driver_update(tfm, crc, data.cast(), len) }
    }
}

/// Keeps the crc32c driver loaded (see the module docs).
pub(crate) struct Crc32cDriver(());

impl Crc32cDriver {
    /// Loads the driver and checks it against the library's `crc32c()` on
    /// a fixed message; without a driver, or if they disagree, [`crc32c`]
    /// uses the library.
    pub(crate) fn load() -> Crc32cDriver {
        // SAFETY: a plain call; NULL when no driver of the right
        // descriptor size is available.
        let tfm = unsafe { sys::rext4_crc32c_driver_alloc() };
        if tfm.is_null() {
            return Crc32cDriver(());
        }
        let msg = b"rext4 crc32c driver check: 123456789";
        // SAFETY: `tfm` is the live driver just loaded; `msg` is valid for
        // reads of its length.
        let (ours, lib) = unsafe {
            (
                sys::rext4_crc32c_driver_update(tfm, !0, msg.as_ptr().cast(), msg.len() as u32),
                sys::crc32c(!0, msg.as_ptr().cast(), msg.len() as u32),
            )
        };
        if ours != lib {
            kernel::pr_warn!("crc32c driver disagrees with crc32c(); using crc32c()\n");
            // SAFETY: never published; freed once.
            unsafe { sys::rext4_crc32c_driver_free(tfm) };
            return Crc32cDriver(());
        }
        DRIVER.store(tfm, Ordering::Release);
        Crc32cDriver(())
    }
}

impl Drop for Crc32cDriver {
    fn drop(&mut self) {
        let tfm = DRIVER.swap(null_mut(), Ordering::AcqRel);
        if !tfm.is_null() {
            // SAFETY: the driver loaded by `load`, no longer reachable
            // through `DRIVER`; dropped with the registration, after the
            // filesystem type is unregistered (no mount computes checksums
            // any more).
            unsafe { sys::rext4_crc32c_driver_free(tfm) };
        }
    }
}

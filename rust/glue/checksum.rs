// SPDX-License-Identifier: GPL-2.0

//! The kernel's checksum functions.

use crate::sys;

/// Continues a CRC32C computation from `crc` over `data`, with no final
/// inversion (the raw register value ext4 and jbd2 store), through the
/// kernel's `crc32c()`: the CPU's instruction where the kernel has a driver
/// for it, a table implementation otherwise.
pub(crate) fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    // The length argument is 32-bit; blocks are at most a page, but a
    // longer slice is handled in pieces all the same.
    for piece in data.chunks(u32::MAX as usize) {
        // SAFETY: `piece` is a valid slice for reads of its length (which
        // fits `c_uint`); crc32c() only reads it.
        crc = unsafe { sys::crc32c(crc, piece.as_ptr().cast(), piece.len() as u32) };
    }
    crc
}

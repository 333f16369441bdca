//! Bounds-checked little-endian field access.
//!
//! On-disk structures are read from byte slices whose length came from the
//! device or the disk itself; every accessor returns [`Error::Truncated`]
//! instead of indexing out of range.

use super::{Error, Result};

/// Returns `N` bytes of `b` starting at `off`.
#[inline]
pub fn array<const N: usize>(b: &[u8], off: usize) -> Result<[u8; N]> {
    let end = off.checked_add(N).ok_or(Error::Truncated)?;
    let s = b.get(off..end).ok_or(Error::Truncated)?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Ok(out)
}

/// Reads one byte at `off`.
#[inline]
pub fn u8_at(b: &[u8], off: usize) -> Result<u8> {
    b.get(off).copied().ok_or(Error::Truncated)
}

/// Reads a little-endian `u16` at `off`.
#[inline]
pub fn le16(b: &[u8], off: usize) -> Result<u16> {
    Ok(u16::from_le_bytes(array(b, off)?))
}

/// Reads a little-endian `u32` at `off`.
#[inline]
pub fn le32(b: &[u8], off: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(array(b, off)?))
}

/// Reads a little-endian `u64` at `off`.
#[inline]
pub fn le64(b: &[u8], off: usize) -> Result<u64> {
    Ok(u64::from_le_bytes(array(b, off)?))
}

/// Joins the split `lo`/`hi` halves ext4 uses for 48/64-bit quantities.
#[inline]
pub fn lo_hi(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// `a / b`, 0 when `b` is 0. Divisors in this layer come from validated
/// geometry and are never 0; this form keeps a division-by-zero panic (and
/// its unwinding path) out of the code entirely.
#[inline]
pub fn div(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}

/// `a % b`, 0 when `b` is 0 (see [`div`]).
#[inline]
pub fn rem(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(0)
}

/// `a / b` rounded up, 0 when `b` is 0 (see [`div`]).
#[inline]
pub fn div_ceil(a: u64, b: u64) -> u64 {
    let q = div(a, b);
    if q.saturating_mul(b) < a {
        q + 1
    } else {
        q
    }
}

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

/// Writes `v` at `off` (bounds-checked: nothing is written if it does not
/// fit).
#[inline]
pub fn put<const N: usize>(b: &mut [u8], off: usize, v: [u8; N]) -> Result<()> {
    put_slice(b, off, &v)
}

/// Writes the bytes `v` at `off` (bounds-checked: nothing is written if
/// they do not fit).
#[inline]
pub fn put_slice(b: &mut [u8], off: usize, v: &[u8]) -> Result<()> {
    let end = off.checked_add(v.len()).ok_or(Error::Truncated)?;
    b.get_mut(off..end)
        .ok_or(Error::Truncated)?
        .copy_from_slice(v);
    Ok(())
}

/// Writes a little-endian `u16` at `off`.
#[inline]
pub fn put_le16(b: &mut [u8], off: usize, v: u16) -> Result<()> {
    put(b, off, v.to_le_bytes())
}

/// Writes a little-endian `u32` at `off`.
#[inline]
pub fn put_le32(b: &mut [u8], off: usize, v: u32) -> Result<()> {
    put(b, off, v.to_le_bytes())
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

/// The bytes of an on-disk structure, as the parsers read them: a slice
/// (a private copy, an image on the host, a test's buffer) or an accessor
/// over memory that must not be lent out as a slice (the kernel's buffer
/// cache, whose bytes may change underneath).
///
/// Every read copies out what it returns and is bounds-checked
/// ([`Error::Truncated`] beyond [`size`](Bytes::size)). A parser reads a
/// field once into a local and works on the local: bytes that change
/// between two reads can make it see corruption or a stale answer, never
/// read out of bounds.
pub trait Bytes {
    /// The number of bytes.
    fn size(&self) -> usize;

    /// Copies `dst.len()` bytes from byte `off` into `dst`.
    fn read_into(&self, off: usize, dst: &mut [u8]) -> Result<()>;

    /// Continues a CRC32C computation from `crc` over bytes
    /// `off..off + len` (see [`super::crc32c::crc32c`]).
    fn crc32c_range(&self, crc: u32, off: usize, len: usize) -> Result<u32>;

    /// `N` bytes from `off`.
    #[inline(always)]
    fn array_at<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        self.read_into(off, &mut a)?;
        Ok(a)
    }

    /// The byte at `off`.
    #[inline(always)]
    fn byte_at(&self, off: usize) -> Result<u8> {
        Ok(self.array_at::<1>(off)?[0])
    }

    /// The little-endian `u16` at `off`.
    #[inline(always)]
    fn le16_at(&self, off: usize) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array_at(off)?))
    }

    /// The little-endian `u32` at `off`.
    #[inline(always)]
    fn le32_at(&self, off: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array_at(off)?))
    }

    /// Whether the bytes from `off` on equal `s` (compared in pieces, never
    /// more than 64 bytes copied at a time).
    fn equals_at(&self, off: usize, s: &[u8]) -> Result<bool> {
        let mut piece = [0u8; 64];
        for (i, want) in s.chunks(piece.len()).enumerate() {
            let at = off.checked_add(i * piece.len()).ok_or(Error::Truncated)?;
            let got = piece.get_mut(..want.len()).ok_or(Error::Truncated)?;
            self.read_into(at, got)?;
            if got != want {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The range `off..off + len` of `b`.
#[inline]
fn range(b: &[u8], off: usize, len: usize) -> Result<&[u8]> {
    let end = off.checked_add(len).ok_or(Error::Truncated)?;
    b.get(off..end).ok_or(Error::Truncated)
}

impl Bytes for [u8] {
    #[inline(always)]
    fn size(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    fn read_into(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        dst.copy_from_slice(range(self, off, dst.len())?);
        Ok(())
    }

    fn crc32c_range(&self, crc: u32, off: usize, len: usize) -> Result<u32> {
        Ok(super::crc32c::crc32c(crc, range(self, off, len)?))
    }

    #[inline(always)]
    fn array_at<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        array(self, off)
    }

    #[inline(always)]
    fn equals_at(&self, off: usize, s: &[u8]) -> Result<bool> {
        Ok(range(self, off, s.len())? == s)
    }
}

/// Anything that holds a slice (a `Vec`, an array, a borrowed slice) is
/// read as that slice.
impl<T: AsRef<[u8]>> Bytes for T {
    #[inline(always)]
    fn size(&self) -> usize {
        self.as_ref().len()
    }

    #[inline(always)]
    fn read_into(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        self.as_ref().read_into(off, dst)
    }

    fn crc32c_range(&self, crc: u32, off: usize, len: usize) -> Result<u32> {
        self.as_ref().crc32c_range(crc, off, len)
    }

    #[inline(always)]
    fn array_at<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        array(self.as_ref(), off)
    }

    #[inline(always)]
    fn equals_at(&self, off: usize, s: &[u8]) -> Result<bool> {
        self.as_ref().equals_at(off, s)
    }
}

/// Bytes `start..start + len` of other bytes, read through them (an inode
/// inside an inode table block, read in place).
pub struct Window<'a, B: Bytes + ?Sized> {
    inner: &'a B,
    start: usize,
    len: usize,
}

impl<'a, B: Bytes + ?Sized> Window<'a, B> {
    /// The window `start..start + len` of `inner`, which must lie inside it.
    pub fn new(inner: &'a B, start: usize, len: usize) -> Result<Self> {
        let end = start.checked_add(len).ok_or(Error::Truncated)?;
        if end > inner.size() {
            return Err(Error::Truncated);
        }
        Ok(Window { inner, start, len })
    }

    /// The offset in `inner` of byte `off..off + n` of the window.
    #[inline(always)]
    fn at(&self, off: usize, n: usize) -> Result<usize> {
        // `off + n <= len` as one test: `off <= len - n`, valid since
        // `n <= len`, both judged at once (parsers read every field
        // through here).
        if (n > self.len) | (off > self.len.wrapping_sub(n)) {
            return Err(Error::Truncated);
        }
        // Cannot wrap: `start + len` passed `new`'s check.
        Ok(self.start.wrapping_add(off))
    }
}

impl<B: Bytes + ?Sized> Bytes for Window<'_, B> {
    #[inline(always)]
    fn size(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn read_into(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        self.inner.read_into(self.at(off, dst.len())?, dst)
    }

    fn crc32c_range(&self, crc: u32, off: usize, len: usize) -> Result<u32> {
        self.inner.crc32c_range(crc, self.at(off, len)?, len)
    }

    #[inline(always)]
    fn array_at<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        self.inner.array_at(self.at(off, N)?)
    }

    fn equals_at(&self, off: usize, s: &[u8]) -> Result<bool> {
        self.inner.equals_at(self.at(off, s.len())?, s)
    }
}

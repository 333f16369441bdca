// SPDX-License-Identifier: GPL-2.0

//! Buffer heads: one block of a block device in the buffer cache.
//!
//! # Access to the bytes
//!
//! A buffer's bytes live in the block device's page cache, where they can
//! change while rext4 holds the buffer: another opener writing to the
//! device today, rext4 itself (through jbd2) once it writes. A shared
//! `&[u8]` over such memory would be undefined behaviour, so this module
//! never hands one out. Readers copy what they parse: [`BufferHead::read`]
//! copies a byte range out with a `memcpy`-like raw copy (the kernel's own
//! convention for memory other CPUs may write), [`BufferHead::copy`] copies
//! the whole block, and [`BufferHead::crc32c`] checksums a range in place.
//! The disk layer parses either a private copy of the whole block (a
//! concurrent change yields a consistent snapshot or a checksum error) or
//! the block in place, field by field through `read` (the hot lookup paths:
//! directory and extent blocks, where a whole-block copy per lookup costs
//! more than the lookup); each field is copied out once and bounds-checked,
//! so a concurrent change yields a wrong answer or a corruption report,
//! never an access outside the buffer or a torn `&[u8]`. Where rext4's own
//! writers can make that change (an inode table block: one task puts an
//! inode back while another reads the same inode), a failed check is made
//! again on a copy taken under the buffer lock
//! ([`BufferHead::copy_range_locked`]), which every writer holds while it
//! puts its change back, before it counts as corruption; directory and
//! extent blocks are kept apart from their writers by the directory's
//! `i_rwsem` and the inode's data lock.
//!
//! Writers get `&mut [u8]` only to a private copy of the range they
//! change, taken and put back under the buffer lock
//! (`BufferHead::modify_locked`), so no `&mut` to memory another opener of
//! the device could write ever exists. Journalled blocks are changed
//! through the jbd2 write-access guard (`jbd2::WriteAccess`: write access
//! taken with `jbd2_journal_get_write_access`, given back with
//! `jbd2_journal_dirty_metadata`); the one block written outside the
//! journal is the superblock, through [`BufferHead::write_sync`] (as
//! ext4's `ext4_commit_super`). The one other write is the zero-fill of
//! a block the filesystem has just allocated, under the buffer lock,
//! after jbd2 took it as a new block and before anyone else can use it
//! ([`Handle::create_block`](super::jbd2::Handle::create_block)).
//! Nothing else in the glue writes buffer memory.

use crate::sys;
use core::ptr::NonNull;
use kernel::alloc::{flags::GFP_KERNEL, KVec};
use kernel::error::{code, Result};
use kernel::types::{ARef, AlwaysRefCounted, Opaque};

/// A buffer head of the block device of a mounted filesystem.
///
/// INVARIANT: the wrapped buffer head is live while a reference to it is
/// held (`b_count`), is up to date (read from the device), and its `b_data`
/// maps `b_size` bytes for as long as it is referenced.
#[repr(transparent)]
pub(crate) struct BufferHead(Opaque<sys::buffer_head>);

// SAFETY: the buffer head's reference count is atomic (`get_bh`/`put_bh`),
// so references can be taken and dropped on any thread.
unsafe impl AlwaysRefCounted for BufferHead {
    fn inc_ref(&self) {
        // SAFETY: the buffer head is live (type invariant).
        unsafe { sys::rext4_get_bh(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller owns one reference, given up here.
        unsafe { sys::rext4_brelse(obj.as_ptr().cast()) };
    }
}

// SAFETY: the bytes are only ever copied out (see the module docs) and the
// state bits are atomic; a buffer head may be used from any thread.
unsafe impl Send for BufferHead {}
// SAFETY: as above.
unsafe impl Sync for BufferHead {}

impl BufferHead {
    /// Takes over a reference returned by `sb_bread`.
    ///
    /// # Safety
    ///
    /// `bh` must be an up-to-date buffer head with a reference owned by the
    /// caller, which passes to the returned object.
    pub(crate) unsafe fn from_bread(bh: NonNull<sys::buffer_head>) -> ARef<BufferHead> {
        // SAFETY: `BufferHead` is a transparent wrapper; the caller passes
        // its reference on (type invariant).
        unsafe { ARef::from_raw(bh.cast()) }
    }

    #[inline(always)]
    fn raw(&self) -> *mut sys::buffer_head {
        self.0.get()
    }

    /// The block size of the buffer in bytes.
    #[inline(always)]
    pub(crate) fn size(&self) -> usize {
        // SAFETY: live (type invariant); `b_size` does not change while the
        // buffer is referenced and mapped.
        unsafe { (*self.raw()).b_size }
    }

    /// Copies `dst.len()` bytes from byte `off` of the block into `dst`.
    #[inline]
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) -> Result {
        let end = off.checked_add(dst.len()).ok_or(code::EINVAL)?;
        if end > self.size() {
            return Err(code::EINVAL);
        }
        // SAFETY: `b_data` maps `b_size` bytes (type invariant) and
        // `off..end` lies inside them; `dst` is a distinct Rust buffer. The
        // source is read with a raw copy, never through a reference (see
        // the module docs).
        unsafe {
            let src = (*self.raw()).b_data.cast::<u8>().add(off);
            core::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len());
        }
        Ok(())
    }

    /// Continues a CRC32C computation from `crc` over bytes `off..off +
    /// len` of the block (no final inversion, as
    /// [`crc32c`](super::checksum::crc32c)), read in place by the kernel's
    /// `crc32c()`: no copy, no reference to the bytes.
    pub(crate) fn crc32c(&self, crc: u32, off: usize, len: usize) -> Result<u32> {
        let end = off.checked_add(len).ok_or(code::EINVAL)?;
        if end > self.size() {
            return Err(code::EINVAL);
        }
        // `b_size` is at most a page, so `len` fits the C length.
        let n = u32::try_from(len).map_err(|_| code::EINVAL)?;
        // SAFETY: `b_data` maps `b_size` bytes (type invariant) and
        // `off..end` lies inside them; the checksum only reads them through
        // the raw pointer (as a `memcpy` would, see the module docs).
        Ok(unsafe {
            let src = (*self.raw()).b_data.cast::<u8>().add(off);
            super::checksum::crc32c_raw(crc, src, n)
        })
    }

    /// Copies the whole block (into memory that is written once: no
    /// zero-filling first, which costs as much as the copy).
    pub(crate) fn copy(&self) -> Result<KVec<u8>> {
        self.copy_range(0, self.size())
    }

    /// Copies bytes `off..off + len` of the block into a new vector
    /// (written once, as [`Self::copy`]).
    pub(crate) fn copy_range(&self, off: usize, len: usize) -> Result<KVec<u8>> {
        let end = off.checked_add(len).ok_or(code::EINVAL)?;
        if end > self.size() {
            return Err(code::EINVAL);
        }
        let mut v = KVec::<u8>::with_capacity(len, GFP_KERNEL)?;
        // SAFETY: `b_data` maps `b_size` bytes (type invariant) and
        // `off..end` lies inside them, read with a raw copy, never through
        // a reference (see the module docs); `v` is a distinct allocation
        // with room for `len` bytes, all of which the copy initialises
        // before the length covers them.
        unsafe {
            let src = (*self.raw()).b_data.cast::<u8>().add(off);
            core::ptr::copy_nonoverlapping(src, v.as_mut_ptr(), len);
            v.set_len(len);
        }
        Ok(v)
    }

    /// [`Self::copy_range`] under the buffer lock, which every writer of
    /// the block holds while it puts its change back: a consistent copy
    /// of bytes another task may be changing (an inode being written).
    pub(crate) fn copy_range_locked(&self, off: usize, len: usize) -> Result<KVec<u8>> {
        // SAFETY: live buffer (type invariant).
        unsafe { sys::rext4_lock_buffer(self.raw()) };
        let r = self.copy_range(off, len);
        // SAFETY: locked above by this task.
        unsafe { sys::unlock_buffer(self.raw()) };
        r
    }

    /// The `N` bytes from byte `off` of the block, read as one unaligned
    /// load of an array (a few instructions for the small fields parsers
    /// read, where [`Self::read`] would call `memcpy`).
    #[inline(always)]
    pub(crate) fn read_array<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        let size = self.size();
        // `off + N <= size` as one test (this runs for every field parsers
        // read in place): `off <= size - N`, the subtraction valid since
        // `N <= size`, both judged at once.
        if (N > size) | (off > size.wrapping_sub(N)) {
            return Err(code::EINVAL);
        }
        // SAFETY: `b_data` maps `b_size` bytes (type invariant) and
        // `off..off + N` lies inside them (`N <= size`, `off <= size - N`);
        // the bytes are loaded by value through the raw pointer (no
        // reference to them is created, see the module docs), and any bit
        // pattern is a valid `[u8; N]`.
        Ok(unsafe {
            let src = (*self.raw()).b_data.cast::<u8>().add(off);
            core::ptr::read_unaligned(src.cast::<[u8; N]>())
        })
    }

    /// Whether bytes `off..off + s.len()` of the block equal `s`, compared
    /// in place, eight bytes at a time (no copy); a range past the block's
    /// end is `EINVAL`.
    pub(crate) fn equals(&self, off: usize, s: &[u8]) -> Result<bool> {
        let end = off.checked_add(s.len()).ok_or(code::EINVAL)?;
        if end > self.size() {
            return Err(code::EINVAL);
        }
        // SAFETY: `b_data` maps `b_size` bytes (type invariant) and
        // `off..end` lies inside them.
        let src = unsafe { (*self.raw()).b_data.cast::<u8>().add(off) };
        let mut words = s.chunks_exact(8);
        let mut at = 0;
        for w in &mut words {
            // SAFETY: `at + 8 <= s.len()`, so the 8 bytes from `src + at`
            // lie inside the range checked above; loaded by value through
            // the raw pointer (see the module docs).
            let got = unsafe { core::ptr::read_unaligned(src.add(at).cast::<[u8; 8]>()) };
            if got[..] != *w {
                return Ok(false);
            }
            at += 8;
        }
        for &want in words.remainder() {
            // SAFETY: `at < s.len()`: inside the checked range, as above.
            let got = unsafe { core::ptr::read(src.add(at)) };
            if got != want {
                return Ok(false);
            }
            at += 1;
        }
        Ok(true)
    }

    /// Changes bytes `off..off + len` of the block through `f`, which works
    /// on a private copy of the range taken and put back under the buffer
    /// lock (never a `&mut` to the buffer's memory, which another opener
    /// of the device could write meanwhile). With the lock held across
    /// copy, change and copy-back, two changers of one block (two inodes
    /// of one inode table block, say) never lose each other's change.
    /// When `f` fails, nothing is changed and its error is returned. The
    /// buffer is not marked dirty: the journal files a journalled block
    /// itself, and [`Self::write_sync`] writes its block at once. `f` must
    /// not lock this buffer.
    pub(super) fn modify_locked<R>(
        &self,
        off: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> Result<R>,
    ) -> Result<R> {
        let end = off.checked_add(len).ok_or(code::EINVAL)?;
        if end > self.size() {
            return Err(code::EINVAL);
        }
        let mut copy = KVec::<u8>::with_capacity(len, GFP_KERNEL)?;
        let bh = self.raw();
        // SAFETY: live, mapped buffer (type invariant) and `off..end` lies
        // inside it; the bytes are copied out with a raw copy (see the
        // module docs) into `copy`, a distinct allocation with room for
        // `len` bytes, all initialised before its length covers them. The
        // buffer lock, held until the copy is put back, keeps jbd2, the
        // buffer cache and other changers (which lock it to write or
        // change it) away.
        let p = unsafe {
            sys::rext4_lock_buffer(bh);
            let p = (*bh).b_data.cast::<u8>().add(off);
            core::ptr::copy_nonoverlapping(p, copy.as_mut_ptr(), len);
            copy.set_len(len);
            p
        };
        // `f` sees only the private copy.
        let r = f(&mut copy);
        // SAFETY: the buffer is still locked by this task and `p..p + len`
        // lies inside it (above); `copy` holds `len` bytes.
        unsafe {
            if r.is_ok() {
                core::ptr::copy_nonoverlapping(copy.as_ptr(), p, len);
            }
            sys::unlock_buffer(bh);
        }
        r
    }

    /// Changes bytes `off..off + len` of the block through `f` (as
    /// [`Self::modify_locked`]) and writes the block to the device
    /// synchronously, as ext4's `ext4_commit_super` writes the superblock:
    /// a buffer no longer mapped (the device was invalidated) is EIO; an
    /// earlier failed write is reported and cleared first (the buffer's
    /// bytes are the ones to write); the write is `REQ_SYNC`, with
    /// `REQ_FUA` when `fua` (barriers on); a failed write is EIO, with the
    /// buffer left up to date for the next attempt. Only for blocks no
    /// journal transaction holds (a journalled block is written through
    /// the journal). When `f` fails, nothing is changed or written and its
    /// error is returned.
    pub(crate) fn write_sync(
        &self,
        off: usize,
        len: usize,
        fua: bool,
        f: impl FnOnce(&mut [u8]) -> Result,
    ) -> Result {
        self.modify_locked(off, len, f)?;
        let bh = self.raw();
        // SAFETY: live buffer (type invariant). Locked for the write, as
        // `submit_bh` wants; the completion (`end_buffer_write_sync`)
        // unlocks it and drops the reference taken here, after which the
        // wait returns. The state bits are atomic; the ones before the
        // submission change under the lock, the error bits after the wait
        // as `ext4_commit_super` changes them (the buffer unlocked).
        unsafe {
            sys::rext4_lock_buffer(bh);
            if !sys::rext4_buffer_mapped(bh) {
                sys::unlock_buffer(bh);
                return Err(code::EIO);
            }
            if sys::rext4_buffer_write_failed(bh) {
                kernel::pr_err!("rext4: previous I/O error to the superblock detected\n");
                sys::rext4_buffer_clear_write_error(bh);
            }
            sys::rext4_get_bh(bh);
            sys::rext4_submit_bh_sync_write(bh, fua);
            sys::rext4_wait_on_buffer(bh);
            if sys::rext4_buffer_write_io_error(bh) {
                sys::rext4_buffer_clear_write_error(bh);
                return Err(code::EIO);
            }
        }
        Ok(())
    }

    /// The block number on the device.
    pub(crate) fn blocknr(&self) -> u64 {
        // SAFETY: live buffer head (type invariant); `b_blocknr` does not
        // change while the buffer is referenced and mapped.
        unsafe { sys::rext4_buffer_blocknr(self.raw()) }
    }

    /// The buffer head, for the glue's jbd2 calls.
    pub(super) fn as_ptr(&self) -> *mut sys::buffer_head {
        self.raw()
    }

    /// Whether the block's checksum was already verified since it was read
    /// from the device (jbd2's `BH_Verified`, the bit ext4 uses).
    pub(crate) fn is_verified(&self) -> bool {
        // SAFETY: live buffer head (type invariant); an atomic bit test.
        unsafe { sys::rext4_buffer_verified(self.raw()) }
    }

    /// Records that the block's checksum has been verified.
    pub(crate) fn set_verified(&self) {
        // SAFETY: live buffer head (type invariant); an atomic bit set.
        unsafe { sys::rext4_set_buffer_verified(self.raw()) }
    }
}

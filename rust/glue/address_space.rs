// SPDX-License-Identifier: GPL-2.0

//! The page cache of a file (`address_space`): reads through mpage and the
//! filesystem's block map (`get_block`); with a data journal
//! ([`FileSystem::data_journal`]), writes whose data is journalled like
//! metadata (data=journal).
//!
//! # Journalled data
//!
//! A write goes `write_begin` → copy → `write_end`: `write_begin` starts a
//! jbd2 handle (credits from [`FileSystem::folio_credits`]), then locks the
//! folio (lock order: handle start, then folio lock, as ext4), maps the
//! blocks of the written range through [`FileSystem::map_block`]
//! (allocating holes), reads a partially written old block, and takes jbd2
//! write access to the range's buffers; the handle rides in `fsdata` to
//! `write_end`, which files the written buffers in the transaction
//! (`jbd2_journal_dirty_metadata`), grows `i_size`, unlocks the folio,
//! lets the filesystem write the inode ([`FileSystem::data_written`]) and
//! stops the handle. jbd2 writes the buffers: to the log at commit, home
//! at checkpoint. The folio is never marked dirty for writeback by a
//! `write()`; a folio dirtied through a shared mapping
//! (`page_mkwrite`, `file.rs`) is journalled again by `writepages`, one
//! handle per folio, started before the folio is locked. A folio's
//! buffers still held by the journal are released and invalidated through
//! jbd2 (`release_folio`, `invalidate_folio`).
//!
//! # Writeback until commit
//!
//! Every path that journals a folio's buffers leaves the folio under
//! writeback, set before the folio is unlocked, until the transaction
//! commits (the commit callback in `jbd2.rs` ends it), so no store
//! through a mapping changes a block between its checksum and its write
//! to the log. `write_begin` and `page_mkwrite` wait for that writeback
//! with no handle and no folio lock held, after asking jbd2 to commit
//! ([`FileSystem::commit_data`]); `write_begin` goes on at once when the
//! folio is held by the transaction its own handle runs in. The mechanics
//! and the lock rules are in `include/rext4_data_wb.c`: in short, while a
//! handle is open a folio lock is only try-locked, and nothing waits for
//! writeback holding a folio lock or a handle.

use super::fs_type::FileSystem;
use super::inode::INode;
use super::jbd2::{Handle, Journal};
use super::zeroed;
use crate::sys;
use core::ffi::{c_int, c_uint, c_void};
use core::marker::PhantomData;
use kernel::error::{code, Error, Result};

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const DATA: bool = T::HAS_DATA_JOURNAL;
    const AOPS: sys::address_space_operations = sys::address_space_operations {
        read_folio: Some(read_folio::<T>),
        readahead: Some(readahead::<T>),
        write_begin: if Self::DATA {
            Some(write_begin::<T>)
        } else {
            None
        },
        write_end: if Self::DATA {
            Some(write_end::<T>)
        } else {
            None
        },
        dirty_folio: if Self::DATA {
            Some(sys::rext4_dirty_folio_journalled)
        } else {
            None
        },
        writepages: if Self::DATA {
            Some(writepages::<T>)
        } else {
            None
        },
        invalidate_folio: if Self::DATA {
            Some(invalidate_folio::<T>)
        } else {
            Some(sys::block_invalidate_folio)
        },
        release_folio: if Self::DATA {
            Some(release_folio::<T>)
        } else {
            None
        },
        is_partially_uptodate: Some(sys::block_is_partially_uptodate),
        error_remove_folio: Some(sys::generic_error_remove_folio),
        ..zeroed()
    };
}

/// The address-space operations of files of `T`.
pub(super) fn aops<T: FileSystem>() -> &'static sys::address_space_operations {
    &Tables::<T>::AOPS
}

/// `get_block` for mpage reads: maps up to `bh.b_size` bytes from `iblock`
/// through `T::map_blocks`.
///
/// # Safety
///
/// Called by the mpage code with an inode of `T` and a buffer head to map.
unsafe extern "C" fn get_block<T: FileSystem>(
    inode: *mut sys::inode,
    iblock: u64,
    bh: *mut sys::buffer_head,
    create: c_int,
) -> c_int {
    if create != 0 || !T::HAS_MAP_BLOCKS {
        return code::EROFS.to_errno();
    }
    // SAFETY: the inode is a live inode of `T` under I/O.
    let inode = unsafe { INode::<T>::from_raw(inode) };
    let bits = inode.block_bits();
    // SAFETY: `bh` is the caller's buffer head; `b_size` is the number of
    // bytes it wants mapped.
    let want = unsafe { (*bh).b_size } as u64;
    match T::map_blocks(inode, iblock, (want >> bits).max(1)) {
        Ok(Some((pblk, count))) => {
            let Ok(size) = usize::try_from(count << bits) else {
                return code::EIO.to_errno();
            };
            // SAFETY: maps the buffer to a block the filesystem checked to
            // be inside it, and shrinks it to the mapped run (at most what
            // was asked for).
            unsafe {
                sys::rext4_map_bh(bh, (*inode.as_ptr()).i_sb, pblk);
                (*bh).b_size = size;
            }
            0
        }
        // A hole or unwritten extent: left unmapped, read as zeros.
        Ok(None) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the page cache with a locked folio of a file of `T`.
unsafe extern "C" fn read_folio<T: FileSystem>(
    _file: *mut sys::file,
    folio: *mut sys::folio,
) -> c_int {
    // SAFETY: delegation; `get_block` matches the expected signature.
    unsafe { sys::mpage_read_folio(folio, Some(get_block::<T>)) }
}

/// # Safety
///
/// Called by the page cache for readahead of a file of `T`.
unsafe extern "C" fn readahead<T: FileSystem>(rac: *mut sys::readahead_control) {
    // SAFETY: delegation; `get_block` matches the expected signature.
    unsafe { sys::mpage_readahead(rac, Some(get_block::<T>)) }
}

/// What the buffer walks' `map` callback needs: the inode and, for
/// allocation, the running handle.
pub(super) struct MapCtx<'a, 'h, 'j, T: FileSystem> {
    pub(super) inode: &'a INode<T>,
    pub(super) handle: Option<&'h Handle<'j>>,
}

impl<T: FileSystem> MapCtx<'_, '_, '_, T> {
    pub(super) fn as_void(&self) -> *mut c_void {
        (self as *const Self).cast_mut().cast()
    }
}

/// The `map` callback of the C buffer walks (`rext4_prepare_folio` & co.):
/// [`FileSystem::map_block`].
///
/// # Safety
///
/// `ctx` is a live `MapCtx<T>` of the caller's, `pblk` and `new` point to
/// writable results.
pub(super) unsafe extern "C" fn map_cb<T: FileSystem>(
    ctx: *mut c_void,
    lblk: u64,
    create: bool,
    pblk: *mut u64,
    new: *mut bool,
) -> c_int {
    // SAFETY: per the contract.
    let ctx = unsafe { &*ctx.cast::<MapCtx<'_, '_, '_, T>>() };
    let r = T::map_block(ctx.handle, ctx.inode, lblk, create);
    // SAFETY: per the contract.
    unsafe {
        match r {
            Ok(Some((p, n))) => {
                *pblk = p;
                *new = n;
                0
            }
            Ok(None) => {
                *pblk = 0;
                *new = false;
                0
            }
            Err(e) => e.to_errno(),
        }
    }
}

/// The data journal of the filesystem of a folio's file.
///
/// # Safety
///
/// `folio` is a locked folio of a file of `T` (its mapping is set).
unsafe fn folio_journal<'a, T: FileSystem>(folio: *mut sys::folio) -> Option<&'a Journal> {
    // SAFETY: a locked folio's mapping and host are stable; the host is a
    // live inode of `T` whose super_block outlives the call.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_folio_inode(folio)) };
    let sb: *const super::SuperBlock<T> = inode.sb();
    // SAFETY: the super_block outlives every folio of its files.
    T::data_journal(unsafe { &*sb })
}

/// `address_space_operations.write_begin` (see the module docs).
///
/// # Safety
///
/// Called by `generic_perform_write` with the mapping of a file of `T`
/// (inode locked), the range, and where to put the folio and `fsdata`.
unsafe extern "C" fn write_begin<T: FileSystem>(
    _file: *mut sys::file,
    mapping: *mut sys::address_space,
    pos: i64,
    len: c_uint,
    foliop: *mut *mut sys::folio,
    fsdata: *mut *mut c_void,
) -> c_int {
    // SAFETY: the mapping's host is a live inode of `T`.
    let inode = unsafe { INode::<T>::from_raw((*mapping).host) };
    let Some(journal) = T::data_journal(inode.sb()) else {
        return code::EROFS.to_errno();
    };
    let mut retries = 0;
    let (h, folio) = loop {
        let h = match journal.start(T::folio_credits(inode)) {
            Ok(h) => h,
            Err(e) => return e.to_errno(),
        };
        // With a handle open the folio lock is only try-locked (see
        // `include/rext4_data_wb.c`); the folio comes back locked and
        // referenced, or as an error pointer.
        // SAFETY: a live mapping.
        let folio = unsafe { sys::rext4_write_begin_folio_nowait(mapping, pos) };
        // SAFETY: checks the pointer only.
        if unsafe { sys::rext4_is_err_or_null(folio.cast()) } {
            // Taken (or no memory without blocking): wait for it, or
            // allocate it, with no handle open, and start again.
            if let Err(e) = h.stop() {
                return e.to_errno();
            }
            // SAFETY: a live mapping.
            let err = unsafe { sys::rext4_write_begin_wait_folio(mapping, pos) };
            if err != 0 {
                return err;
            }
            continue;
        }
        // SAFETY: a locked folio; the handle runs in this task.
        if unsafe {
            sys::rext4_folio_test_writeback(folio) && !sys::rext4_folio_in_handle(h.as_ptr(), folio)
        } {
            // Held until an earlier transaction commits: commit it and
            // wait, with neither the folio lock nor a handle held.
            // SAFETY: ours to unlock; the reference is kept for the wait.
            unsafe { sys::rext4_folio_unlock(folio) };
            let s = h.stop();
            if s.is_ok() {
                T::commit_data(inode);
            }
            // SAFETY: a folio referenced by this task (dropped here).
            unsafe {
                sys::rext4_folio_wait_writeback(folio);
                sys::rext4_folio_put(folio);
            }
            if let Err(e) = s {
                return e.to_errno();
            }
            continue;
        }
        // SAFETY: a locked folio of the mapping holding `pos`.
        let from = unsafe { sys::rext4_folio_offset(folio, pos) } as usize;
        let ctx = MapCtx {
            inode,
            handle: Some(&h),
        };
        // A folio written through a mapping is write-protected and
        // journalled whole first; then the range is prepared.
        // SAFETY: the handle runs in this task; the folio is locked; `ctx`
        // lives across the calls and `map_cb::<T>` reads it as a `MapCtx<T>`.
        let err = unsafe {
            match sys::rext4_seal_folio(h.as_ptr(), folio, Some(map_cb::<T>), ctx.as_void()) {
                0 => sys::rext4_prepare_folio(
                    h.as_ptr(),
                    folio,
                    from,
                    from + len as usize,
                    Some(map_cb::<T>),
                    ctx.as_void(),
                ),
                e => e,
            }
        };
        if err == 0 {
            break (h, folio);
        }
        // SAFETY: ours to unlock and release.
        unsafe { sys::rext4_folio_unlock_put(folio) };
        // Blocks mapped before the failure stay in the inode's tree (past
        // the end of the file): its new tree and block count are written.
        let _ = T::data_written(&h, inode, false);
        let _ = h.stop();
        if T::HAS_WRITE_FAILED && pos + i64::from(len) > inode.size() {
            T::write_failed(inode);
        }
        // Out of space with blocks still waiting for a commit to be free
        // again: commit (no handle open now) and try again.
        if err == code::ENOSPC.to_errno() && T::retry_alloc(inode.sb(), retries) {
            retries += 1;
            continue;
        }
        return err;
    };
    // SAFETY: the caller's out-pointers; the handle stays this task's
    // running handle until `write_end` takes it back from `fsdata`.
    unsafe {
        *foliop = folio;
        *fsdata = h.into_raw().cast();
    }
    0
}

/// `address_space_operations.write_end` (see the module docs).
///
/// # Safety
///
/// Called by `generic_perform_write` after a successful `write_begin` of
/// this filesystem in this task, with its folio and `fsdata`.
unsafe extern "C" fn write_end<T: FileSystem>(
    _file: *mut sys::file,
    mapping: *mut sys::address_space,
    pos: i64,
    len: c_uint,
    copied: c_uint,
    folio: *mut sys::folio,
    fsdata: *mut c_void,
) -> c_int {
    // SAFETY: the mapping's host is a live inode of `T`.
    let inode = unsafe { INode::<T>::from_raw((*mapping).host) };
    // Neither can fail after a `write_begin` of this filesystem; the folio
    // is released all the same if one does.
    let Some(journal) = T::data_journal(inode.sb()) else {
        // SAFETY: the locked folio `write_begin` handed out, ours to release.
        unsafe { sys::rext4_folio_unlock_put(folio) };
        return code::EROFS.to_errno();
    };
    // SAFETY: `fsdata` is the handle `write_begin` gave up in this task.
    let Some(h) = (unsafe { Handle::from_raw(journal, fsdata.cast()) }) else {
        // SAFETY: as above.
        unsafe { sys::rext4_folio_unlock_put(folio) };
        return code::EIO.to_errno();
    };
    // SAFETY: the locked folio from `write_begin`, holding `pos`.
    let from = unsafe { sys::rext4_folio_offset(folio, pos) } as usize;
    let (len_u, copied_u) = (len as usize, copied as usize);
    // SAFETY: as above; the handle runs in this task.
    let r = unsafe { sys::rext4_commit_folio(h.as_ptr(), folio, from, len_u, copied_u) };
    let old_size = inode.size();
    let done = if r > 0 { r as i64 } else { 0 };
    if done > 0 && pos + done > old_size {
        inode.set_size(pos + done);
    }
    // SAFETY: ours to unlock and release (taken by `write_begin`).
    unsafe { sys::rext4_folio_unlock_put(folio) };
    let w = T::data_written(&h, inode, done > 0 && pos + done > old_size);
    let s = h.stop();
    if old_size < pos {
        // After the handle stopped: this locks the folio at the old end,
        // which must not be waited for with a handle open (see the module
        // docs).
        // SAFETY: live inode, locked by the writer; no folio held.
        unsafe { sys::pagecache_isize_extended(inode.as_ptr(), old_size, pos) };
    }
    if T::HAS_WRITE_FAILED && done < i64::from(len) && pos + i64::from(len) > inode.size() {
        T::write_failed(inode);
    }
    if r < 0 {
        return r as c_int;
    }
    if let Err(e) = w.and(s) {
        return e.to_errno();
    }
    done as c_int
}

/// What `writepages` keeps across the C walk's callbacks.
struct WbCtx<'a, T: FileSystem> {
    inode: &'a INode<T>,
    journal: &'a Journal,
    handle: Option<Handle<'a>>,
    err: Option<Error>,
}

/// # Safety
///
/// `ctx` is the live `WbCtx<T>` of `writepages`, in its task.
unsafe extern "C" fn wb_start<T: FileSystem>(ctx: *mut c_void) -> c_int {
    // SAFETY: per the contract.
    let ctx = unsafe { &mut *ctx.cast::<WbCtx<'_, T>>() };
    match ctx.journal.start(T::folio_credits(ctx.inode)) {
        Ok(h) => {
            ctx.handle = Some(h);
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// As [`wb_start`].
unsafe extern "C" fn wb_stop<T: FileSystem>(ctx: *mut c_void) {
    // SAFETY: per the contract.
    let ctx = unsafe { &mut *ctx.cast::<WbCtx<'_, T>>() };
    if let Some(h) = ctx.handle.take() {
        if let Err(e) = h.stop() {
            ctx.err.get_or_insert(e);
        }
    }
}

/// # Safety
///
/// As [`wb_start`], with no handle open.
unsafe extern "C" fn wb_commit<T: FileSystem>(ctx: *mut c_void) {
    // SAFETY: per the contract.
    let ctx = unsafe { &*ctx.cast::<WbCtx<'_, T>>() };
    T::commit_data(ctx.inode);
}

/// # Safety
///
/// As [`wb_start`], with no handle open.
unsafe extern "C" fn wb_start_commit<T: FileSystem>(ctx: *mut c_void) {
    // SAFETY: per the contract.
    let ctx = unsafe { &*ctx.cast::<WbCtx<'_, T>>() };
    ctx.journal.start_commit();
}

/// Journals one folio dirtied through a mapping, locked and cleared for
/// I/O by the walk, inside the handle [`wb_start`] began; the C side
/// leaves it under writeback until that transaction commits.
///
/// # Safety
///
/// As [`wb_start`], with a locked folio of the inode's mapping.
unsafe extern "C" fn wb_journal<T: FileSystem>(ctx: *mut c_void, folio: *mut sys::folio) -> c_int {
    // SAFETY: per the contract.
    let ctx = unsafe { &*ctx.cast::<WbCtx<'_, T>>() };
    let inode = ctx.inode;
    let Some(h) = ctx.handle.as_ref() else {
        return code::EIO.to_errno();
    };
    // SAFETY: a locked folio of the inode's mapping.
    let len = unsafe { sys::rext4_folio_len_in_file(folio, inode.size()) };
    if len <= 0 {
        // Past the end of the file (truncated meanwhile): dropped.
        return 0;
    }
    let m = MapCtx {
        inode,
        handle: Some(h),
    };
    // SAFETY: the handle runs in this task, the folio is locked, `m`
    // lives across the call.
    let err = unsafe {
        sys::rext4_journal_folio(
            h.as_ptr(),
            folio,
            len as usize,
            Some(map_cb::<T>),
            m.as_void(),
        )
    };
    // Also after a failure: blocks allocated before it are in the
    // inode's tree, and the transaction may hold part of the folio.
    let w = T::data_written(h, inode, false);
    if err != 0 {
        return err;
    }
    match w {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `address_space_operations.writepages` for journalled data (see the
/// module docs and `include/rext4_data_wb.c`).
///
/// # Safety
///
/// Called by the VM with the mapping of a file of `T` and its
/// writeback_control.
unsafe extern "C" fn writepages<T: FileSystem>(
    mapping: *mut sys::address_space,
    wbc: *mut sys::writeback_control,
) -> c_int {
    // SAFETY: the mapping's host is a live inode of `T`.
    let inode = unsafe { INode::<T>::from_raw((*mapping).host) };
    let Some(journal) = T::data_journal(inode.sb()) else {
        return 0;
    };
    let mut ctx = WbCtx {
        inode,
        journal,
        handle: None,
        err: None,
    };
    let ops = sys::rext4_wb_ops {
        start: Some(wb_start::<T>),
        stop: Some(wb_stop::<T>),
        journal: Some(wb_journal::<T>),
        commit: Some(wb_commit::<T>),
        start_commit: Some(wb_start_commit::<T>),
        get_block: Some(get_block::<T>),
    };
    let p: *mut WbCtx<'_, T> = &mut ctx;
    // SAFETY: the callbacks get `p`, a live `WbCtx<T>` of this frame,
    // which nothing else touches during the call; `get_block` maps
    // without allocating.
    let r = unsafe { sys::rext4_writepages_journalled(mapping, wbc, &ops, p.cast()) };
    match ctx.err {
        Some(e) if r == 0 => e.to_errno(),
        _ => r,
    }
}

/// `address_space_operations.invalidate_folio`: through jbd2, which may
/// still hold the folio's buffers; a buffer of the committing transaction
/// is waited for (the truncation paths wait for that commit first).
///
/// # Safety
///
/// Called by the page cache with a locked folio of a file of `T`.
unsafe extern "C" fn invalidate_folio<T: FileSystem>(
    folio: *mut sys::folio,
    off: usize,
    len: usize,
) {
    // SAFETY: per the contract.
    match unsafe { folio_journal::<T>(folio) } {
        Some(j) => {
            if let Err(e) = j.invalidate_folio(folio, off, len) {
                kernel::pr_warn!(
                    "rext4: journalled folio not invalidated: error {}\n",
                    e.to_errno()
                );
            }
        }
        // SAFETY: the kernel's own default for buffer-backed folios.
        None => unsafe { sys::block_invalidate_folio(folio, off, len) },
    }
}

/// `address_space_operations.release_folio`: the buffers go unless the
/// journal still needs them.
///
/// # Safety
///
/// Called by the page cache with a locked folio of a file of `T`.
unsafe extern "C" fn release_folio<T: FileSystem>(
    folio: *mut sys::folio,
    _gfp: sys::gfp_t,
) -> bool {
    // SAFETY: per the contract.
    match unsafe { folio_journal::<T>(folio) } {
        Some(j) => j.try_to_free_buffers(folio),
        // SAFETY: the kernel's own default.
        None => unsafe { sys::try_to_free_buffers(folio) },
    }
}

impl<T: FileSystem> INode<T> {
    /// Drops the page cache past `size` and zeroes the rest of the page
    /// holding `size` (`truncate_pagecache`); folios still held by the
    /// journal go through `invalidate_folio`.
    pub(crate) fn truncate_pagecache(&self, size: i64) {
        // SAFETY: live inode; the caller holds `i_rwsem` and the
        // invalidate lock, as truncation wants.
        unsafe { sys::truncate_pagecache(self.as_ptr(), size) }
    }

    /// After the size grew from `from` to `to`: a page straddling `from`
    /// is write-protected again in every mapping, so a write through one
    /// past the old end faults (`pagecache_isize_extended`).
    pub(crate) fn pagecache_isize_extended(&self, from: i64, to: i64) {
        // SAFETY: live inode, `i_rwsem` held by the caller.
        unsafe { sys::pagecache_isize_extended(self.as_ptr(), from, to) }
    }

    /// Zeroes bytes `pos..pos + len` of one block of the file (inside the
    /// block) through the page cache and journals the block inside `h`; a
    /// hole is left alone.
    pub(crate) fn zero_block_range(&self, h: &Handle<'_>, pos: i64, len: usize) -> Result {
        let ctx = MapCtx {
            inode: self,
            handle: None,
        };
        // SAFETY: live inode and running handle of this task; `ctx` lives
        // across the call (a lookup only: no allocation without a handle
        // in the context).
        kernel::error::to_result(unsafe {
            sys::rext4_zero_block_range(
                h.as_ptr(),
                (*self.as_ptr()).i_mapping,
                pos,
                len,
                Some(map_cb::<T>),
                ctx.as_void(),
            )
        })
    }

    /// Before a truncation inside a page: waits until jbd2 lets go of the
    /// buffers past the new end (see the C helper), with no handle open.
    pub(crate) fn wait_tail_folio_commit(&self, journal: &Journal) {
        // SAFETY: live inode whose size was just set; the journal is the
        // one its data is journalled in.
        unsafe { sys::rext4_wait_tail_folio_commit(journal.raw_ptr(), self.as_ptr()) }
    }

    /// Takes the mapping's invalidate lock exclusively (against page
    /// faults) until the guard goes.
    pub(crate) fn lock_invalidate(&self) -> InvalidateGuard<'_, T> {
        // SAFETY: live inode.
        unsafe { sys::rext4_invalidate_lock(self.as_ptr()) };
        InvalidateGuard(self)
    }
}

/// Holds an inode's invalidate lock (see [`INode::lock_invalidate`]).
pub(crate) struct InvalidateGuard<'a, T: FileSystem>(&'a INode<T>);

impl<T: FileSystem> Drop for InvalidateGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken by `lock_invalidate`, released once.
        unsafe { sys::rext4_invalidate_unlock(self.0.as_ptr()) };
    }
}

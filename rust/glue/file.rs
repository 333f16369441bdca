// SPDX-License-Identifier: GPL-2.0

//! Open files: the file operation tables of regular files and
//! directories, readdir and SEEK_DATA/SEEK_HOLE.

use super::address_space::{map_cb, MapCtx};
use super::dentry::DirEmitter;
use super::fs_type::FileSystem;
use super::inode::INode;
use super::zeroed;
use crate::sys;
use core::ffi::c_int;
use core::marker::PhantomData;
use kernel::error::{code, Error, Result};

/// Which of `lseek`'s data/hole requests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeekData {
    /// `SEEK_DATA`: the next data at or after the offset.
    Data,
    /// `SEEK_HOLE`: the next hole at or after the offset.
    Hole,
}

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const DATA: bool = T::HAS_DATA_JOURNAL;
    const FILE: sys::file_operations = sys::file_operations {
        llseek: Some(llseek::<T>),
        read_iter: Some(sys::generic_file_read_iter),
        write_iter: if Self::DATA {
            Some(sys::generic_file_write_iter)
        } else {
            None
        },
        mmap: if Self::DATA {
            Some(mmap::<T>)
        } else {
            Some(sys::generic_file_readonly_mmap)
        },
        splice_read: Some(sys::filemap_splice_read),
        splice_write: if Self::DATA {
            Some(sys::iter_file_splice_write)
        } else {
            None
        },
        open: Some(sys::generic_file_open),
        fsync: Self::FSYNC,
        ..zeroed()
    };
    const DIR: sys::file_operations = sys::file_operations {
        llseek: Some(dir_llseek::<T>),
        read: Some(sys::generic_read_dir),
        iterate_shared: if T::HAS_READDIR {
            Some(iterate_shared::<T>)
        } else {
            None
        },
        fsync: Self::FSYNC,
        ..zeroed()
    };
    const FSYNC: Option<unsafe extern "C" fn(*mut sys::file, i64, i64, c_int) -> c_int> =
        if T::HAS_FSYNC { Some(fsync::<T>) } else { None };
}

/// The file operations of regular files of `T`.
pub(super) fn file_ops<T: FileSystem>() -> &'static sys::file_operations {
    &Tables::<T>::FILE
}

/// The file operations of directories of `T`.
pub(super) fn dir_ops<T: FileSystem>() -> &'static sys::file_operations {
    &Tables::<T>::DIR
}

/// # Safety
///
/// Called by the VFS with an open directory of `T` and its live context.
unsafe extern "C" fn iterate_shared<T: FileSystem>(
    file: *mut sys::file,
    ctx: *mut sys::dir_context,
) -> c_int {
    // SAFETY: an open file pins its inode, one of `T` here; the context is
    // live for the call and only used by it.
    let (inode, emitter) = unsafe {
        (
            INode::<T>::from_raw(sys::rext4_file_inode(file)),
            DirEmitter::from_raw(ctx),
        )
    };
    match T::readdir(inode, emitter) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `llseek` of directories: for a directory read in hash order, any
/// position up to `i64::MAX` (its positions are name hashes, as ext4's
/// `ext4_dir_llseek` allows for one); for the others the generic one
/// (byte offsets, SEEK_END at the size).
///
/// # Safety
///
/// Called by the VFS with an open directory of `T`.
unsafe extern "C" fn dir_llseek<T: FileSystem>(
    file: *mut sys::file,
    offset: i64,
    whence: c_int,
) -> i64 {
    // SAFETY: an open file pins its inode, one of `T`.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_file_inode(file)) };
    if T::dir_hash_positions(inode) {
        // SAFETY: plain delegation with the VFS's own arguments; the
        // limits are valid for any file.
        unsafe { sys::generic_file_llseek_size(file, offset, whence, i64::MAX, i64::MAX) }
    } else {
        // SAFETY: as above.
        unsafe { sys::generic_file_llseek(file, offset, whence) }
    }
}

/// `llseek` of regular files: the generic one, plus SEEK_DATA/SEEK_HOLE
/// through the filesystem's block map.
///
/// # Safety
///
/// Called by the VFS with an open regular file of `T`.
unsafe extern "C" fn llseek<T: FileSystem>(
    file: *mut sys::file,
    offset: i64,
    whence: c_int,
) -> i64 {
    let what = match whence {
        sys::REXT4_SEEK_DATA if T::HAS_SEEK_DATA => SeekData::Data,
        sys::REXT4_SEEK_HOLE if T::HAS_SEEK_DATA => SeekData::Hole,
        // SAFETY: plain delegation with the VFS's own arguments.
        _ => return unsafe { sys::generic_file_llseek(file, offset, whence) },
    };
    // SAFETY: an open file pins its inode, one of `T`.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_file_inode(file)) };
    match T::seek_data(inode, offset, what) {
        // SAFETY: `vfs_setpos` validates and stores the new position.
        Ok(pos) => unsafe { sys::vfs_setpos(file, pos, inode.sb().max_bytes()) },
        Err(e) => e.to_errno().into(),
    }
}

/// `fsync` of files and directories of `T`.
///
/// # Safety
///
/// Called by the VFS with an open file of `T`.
unsafe extern "C" fn fsync<T: FileSystem>(
    file: *mut sys::file,
    start: i64,
    end: i64,
    datasync: c_int,
) -> c_int {
    // SAFETY: an open file pins its inode, one of `T`.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_file_inode(file)) };
    // Journalled data: the folios `write()` left under writeback until
    // their commit are released by committing it now, not at the next
    // periodic commit the wait below would otherwise sit out.
    if T::HAS_DATA_JOURNAL {
        T::commit_data(inode);
    }
    // Folios dirtied through a shared mapping are handed to the
    // filesystem's writeback (journalled and committed), every folio of
    // the range is waited for, and the error the mapping recorded since
    // this file last looked is returned (once per open file).
    // SAFETY: the VFS's own arguments.
    let r = unsafe { sys::file_write_and_wait_range(file, start, end) };
    if r != 0 {
        return r;
    }
    match T::fsync(inode, datasync != 0) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The memory-mapping operations of files whose shared mappings are
/// written: the page cache's own fault and fault-around, and
/// [`page_mkwrite`].
struct VmTables<T>(PhantomData<T>);

impl<T: FileSystem> VmTables<T> {
    const VM: sys::vm_operations_struct = sys::vm_operations_struct {
        fault: Some(sys::filemap_fault),
        map_pages: Some(sys::filemap_map_pages),
        page_mkwrite: Some(page_mkwrite::<T>),
        ..zeroed()
    };
}

/// `file_operations.mmap` of a file whose shared mappings are written.
///
/// # Safety
///
/// Called by the VFS (`mmap_region`) with an open file of `T` and its new
/// vma.
unsafe extern "C" fn mmap<T: FileSystem>(
    file: *mut sys::file,
    vma: *mut sys::vm_area_struct,
) -> c_int {
    // SAFETY: the VFS's own arguments; the table is a promoted constant.
    unsafe {
        sys::rext4_file_accessed(file);
        sys::rext4_set_vm_ops(vma, &VmTables::<T>::VM);
    }
    0
}

/// `vm_operations_struct.page_mkwrite`: the first write to a page of a
/// shared mapping since it was last cleaned. The folio must not be under
/// journal writeback (its blocks in a transaction not yet committed, see
/// `address_space.rs`): that is waited for, after asking jbd2 to commit,
/// with no handle and no folio lock held. Then, inside a handle started
/// before the folio is locked, its blocks are looked up and holes
/// allocated, a new block zeroed on the device (so a crash before its
/// data is journalled leaves zeros, and nothing of the folio needs
/// journalling now); the folio is returned locked (the fault code marks
/// it dirty and maps it writable; `writepages` journals what is stored to
/// it, after write-protecting it again).
///
/// # Safety
///
/// Called by the fault handler with a write fault on a shared mapping of
/// a file of `T`.
unsafe extern "C" fn page_mkwrite<T: FileSystem>(vmf: *mut sys::vm_fault) -> sys::vm_fault_t {
    // SAFETY: per the contract (freeze protection, time update and the
    // shared invalidate lock, released below).
    unsafe { sys::rext4_mkwrite_enter(vmf) };
    // SAFETY: the fault's file pins a live inode of `T`.
    let inode = unsafe { INode::<T>::from_raw(sys::rext4_fault_inode(vmf)) };
    let mut retries = 0;
    let r = loop {
        // SAFETY: the fault of this call, inside enter/exit.
        let r = unsafe { mkwrite_once::<T>(vmf, inode) };
        match r {
            Ok(Some(v)) => break Ok(v),
            Ok(None) => {}
            // Out of space with freed blocks waiting for their commit:
            // commit (no handle open) and try again, as ext4.
            Err(e) if e == code::ENOSPC && T::retry_alloc(inode.sb(), retries) => retries += 1,
            Err(e) => break Err(e),
        }
    };
    // SAFETY: pairs with `rext4_mkwrite_enter`.
    unsafe { sys::rext4_mkwrite_exit(vmf) };
    match r {
        Ok(v) => v,
        Err(e) if e == code::ENOMEM => sys::REXT4_VM_FAULT_OOM,
        Err(e) if e == code::EAGAIN || e == code::EFAULT => sys::REXT4_VM_FAULT_NOPAGE,
        Err(_) => sys::REXT4_VM_FAULT_SIGBUS,
    }
}

/// One attempt of [`page_mkwrite`]: the fault's result, or `None` to try
/// again (after a wait).
///
/// # Safety
///
/// As [`page_mkwrite`], between `rext4_mkwrite_enter` and `_exit`.
unsafe fn mkwrite_once<T: FileSystem>(
    vmf: *mut sys::vm_fault,
    inode: &INode<T>,
) -> Result<Option<sys::vm_fault_t>> {
    let journal = T::data_journal(inode.sb()).ok_or(code::EROFS)?;
    let mut len = 0usize;
    // The folio's writeback first, with nothing held but the fault's
    // reference to the page.
    // SAFETY: the fault's folio, locked if it is still the file's.
    let folio = unsafe { sys::rext4_mkwrite_folio(vmf, &mut len, false) };
    if folio.is_null() {
        return Ok(Some(sys::REXT4_VM_FAULT_NOPAGE));
    }
    // SAFETY: the locked folio, referenced by the fault; ours to unlock.
    let busy = unsafe {
        let busy = sys::rext4_folio_test_writeback(folio);
        sys::rext4_folio_unlock(folio);
        busy
    };
    if busy {
        T::commit_data(inode);
        // SAFETY: the fault's folio, still referenced by the fault.
        unsafe { sys::rext4_folio_wait_writeback(folio) };
        return Ok(None);
    }
    let h = journal.start(T::folio_credits(inode))?;
    // SAFETY: as above; only try-locked with the handle open.
    let folio = unsafe { sys::rext4_mkwrite_folio(vmf, &mut len, true) };
    // SAFETY: checks the pointer only.
    if unsafe { sys::rext4_is_err_or_null(folio.cast()) } {
        h.stop()?;
        return Ok(if folio.is_null() {
            Some(sys::REXT4_VM_FAULT_NOPAGE)
        } else {
            None
        });
    }
    // SAFETY: a locked folio.
    if unsafe { sys::rext4_folio_test_writeback(folio) } {
        // SAFETY: ours to unlock.
        unsafe { sys::rext4_folio_unlock(folio) };
        h.stop()?;
        return Ok(None);
    }
    let m = MapCtx {
        inode,
        handle: Some(&h),
    };
    let (hp, mp) = (h.as_ptr(), m.as_void());
    // SAFETY: the handle runs in this task, the folio is locked, `m`
    // lives across the call.
    let r = unsafe { sys::rext4_mkwrite_map(hp, folio, len, Some(map_cb::<T>), mp) };
    if r == 2 {
        // New blocks journalled as zeros (the device refused the zeroing
        // write): writable once committed, which is waited for now.
        let w = T::data_written(&h, inode, false);
        // SAFETY: ours to unlock.
        unsafe { sys::rext4_folio_unlock(folio) };
        w.and(h.stop())?;
        T::commit_data(inode);
        return Ok(None);
    }
    let r = match r {
        0 => Ok(()),
        1 => T::data_written(&h, inode, false),
        // Blocks mapped before the failure stay in the inode's tree: its
        // new tree and block count are written all the same.
        e => Err(Error::from_errno(e)).inspect_err(|_| {
            let _ = T::data_written(&h, inode, false);
        }),
    };
    let s = h.stop();
    if let Err(e) = r.and(s) {
        // SAFETY: ours to unlock.
        unsafe { sys::rext4_folio_unlock(folio) };
        return Err(e);
    }
    Ok(Some(sys::REXT4_VM_FAULT_LOCKED))
}

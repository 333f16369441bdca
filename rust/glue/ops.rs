// SPDX-License-Identifier: GPL-2.0

//! The operation tables rext4 gives the VFS and the `extern "C"`
//! trampolines behind them. Each trampoline turns raw pointers into the
//! glue's safe references and calls the filesystem logic in `crate::fs`.

use super::inode::{alloc_inode, free_inode, Inode};
use super::super_block::SuperBlock;
use crate::fs;
use crate::sys;
use core::ffi::{c_int, c_uint};
use core::fmt;
use kernel::error::{code, Error, Result};
use kernel::types::Opaque;

/// Wrapper making an ops table usable as a `static`.
pub(crate) struct Table<T>(pub(crate) T);

// SAFETY: the tables are never written after construction; they hold
// function pointers and pointers to other static data only.
unsafe impl Sync for Table<sys::super_operations> {}
// SAFETY: as above.
unsafe impl Sync for Table<sys::inode_operations> {}
// SAFETY: as above.
unsafe impl Sync for Table<sys::file_operations> {}
// SAFETY: as above.
unsafe impl Sync for Table<sys::address_space_operations> {}
// SAFETY: as above.
unsafe impl Sync for Table<sys::iomap_ops> {}

const fn zeroed<T>() -> T {
    // SAFETY: only used for the C ops tables below, for which all-zero
    // means "no callback".
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

pub(crate) static SUPER_OPS: Table<sys::super_operations> = Table(sys::super_operations {
    alloc_inode: Some(alloc_inode),
    free_inode: Some(free_inode),
    statfs: Some(statfs),
    show_options: Some(show_options),
    ..zeroed()
});

pub(crate) static DIR_IOPS: Table<sys::inode_operations> = Table(sys::inode_operations {
    lookup: Some(lookup),
    getattr: Some(getattr),
    fiemap: Some(fiemap),
    ..zeroed()
});

pub(crate) static DIR_FOPS: Table<sys::file_operations> = Table(sys::file_operations {
    llseek: Some(sys::generic_file_llseek),
    read: Some(sys::generic_read_dir),
    iterate_shared: Some(iterate_shared),
    ..zeroed()
});

pub(crate) static FILE_IOPS: Table<sys::inode_operations> = Table(sys::inode_operations {
    getattr: Some(getattr),
    fiemap: Some(fiemap),
    ..zeroed()
});

/// Device nodes, FIFOs and sockets: only `getattr`, as ext4's
/// `ext4_special_inode_operations` (their file operations come from
/// `init_special_inode`).
pub(crate) static SPECIAL_IOPS: Table<sys::inode_operations> = Table(sys::inode_operations {
    getattr: Some(getattr),
    ..zeroed()
});

/// Symlinks with the target in the inode (`i_link`).
pub(crate) static FAST_SYMLINK_IOPS: Table<sys::inode_operations> = Table(sys::inode_operations {
    get_link: Some(sys::simple_get_link),
    getattr: Some(getattr),
    ..zeroed()
});

/// Symlinks with the target in a data block, read through the page cache.
pub(crate) static SLOW_SYMLINK_IOPS: Table<sys::inode_operations> = Table(sys::inode_operations {
    get_link: Some(sys::page_get_link),
    getattr: Some(getattr),
    ..zeroed()
});

/// FIEMAP through iomap, reporting only (no `iomap_end`).
static IOMAP_REPORT_OPS: Table<sys::iomap_ops> = Table(sys::iomap_ops {
    iomap_begin: Some(iomap_begin_report),
    ..zeroed()
});

pub(crate) static FILE_FOPS: Table<sys::file_operations> = Table(sys::file_operations {
    llseek: Some(file_llseek),
    read_iter: Some(sys::generic_file_read_iter),
    mmap: Some(sys::generic_file_readonly_mmap),
    splice_read: Some(sys::filemap_splice_read),
    open: Some(sys::generic_file_open),
    ..zeroed()
});

pub(crate) static AOPS: Table<sys::address_space_operations> =
    Table(sys::address_space_operations {
        read_folio: Some(read_folio),
        readahead: Some(readahead),
        invalidate_folio: Some(sys::block_invalidate_folio),
        is_partially_uptodate: Some(sys::block_is_partially_uptodate),
        error_remove_folio: Some(sys::generic_error_remove_folio),
        ..zeroed()
    });

fn errno_of(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `ERR_PTR(e)` for functions returning pointers.
fn err_ptr<T>(e: Error) -> *mut T {
    e.to_errno() as isize as *mut T
}

// ---------------------------------------------------------------------------
// Superblock
// ---------------------------------------------------------------------------

/// # Safety
/// Called by the VFS with a live dentry of a rext4 mount.
unsafe extern "C" fn statfs(dentry: *mut sys::dentry, buf: *mut sys::kstatfs) -> c_int {
    // SAFETY: the dentry is live and belongs to a mounted rext4 super_block.
    let sb = unsafe { SuperBlock::from_raw((*dentry).d_sb) };
    match fs::super_ops::statfs(sb) {
        Ok(s) => {
            // SAFETY: `buf` is the VFS's kstatfs to fill in.
            unsafe {
                (*buf).f_type = s.magic as isize;
                (*buf).f_bsize = s.bsize as isize;
                (*buf).f_blocks = s.blocks;
                (*buf).f_bfree = s.bfree;
                (*buf).f_bavail = s.bavail;
                (*buf).f_files = s.files;
                (*buf).f_ffree = s.ffree;
                (*buf).f_namelen = s.namelen as isize;
                (*buf).f_fsid.val = [s.fsid as u32 as i32, (s.fsid >> 32) as u32 as i32];
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// Called by the VFS with a live seq_file and the root dentry of a mount.
unsafe extern "C" fn show_options(m: *mut sys::seq_file, root: *mut sys::dentry) -> c_int {
    // SAFETY: the dentry is live and belongs to a mounted rext4 super_block.
    let sb = unsafe { SuperBlock::from_raw((*root).d_sb) };
    let opts = &sb.fs_info().opts;
    seq_print(m, format_args!("{}", opts));
    0
}

/// Prints Rust format arguments into a seq_file.
fn seq_print(m: *mut sys::seq_file, args: fmt::Arguments<'_>) {
    // SAFETY: `%pA` prints the Rust format arguments, which outlive the
    // call; `m` is the seq_file the VFS passed to the caller.
    unsafe {
        sys::seq_printf(
            m,
            kernel::c_str!("%pA").as_char_ptr(),
            core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
        )
    };
}

/// `inode_operations.getattr`: the generic attributes plus ext4's statx
/// extras (creation time, IMMUTABLE/APPEND/NODUMP/COMPRESSED).
///
/// # Safety
/// Called by the VFS with a live path of a rext4 inode and a kstat to fill.
unsafe extern "C" fn getattr(
    idmap: *mut sys::mnt_idmap,
    path: *const sys::path,
    stat: *mut sys::kstat,
    request_mask: u32,
    _flags: c_uint,
) -> c_int {
    // SAFETY: the path pins its dentry, whose inode is a live rext4 inode.
    let raw = unsafe { (*(*path).dentry).d_inode };
    // SAFETY: as above.
    let inode = unsafe { Inode::from_raw(raw) };
    let x = fs::inode::statx_extra(inode);
    // SAFETY: `stat` is the caller's kstat; `generic_fillattr` fills the
    // generic fields from the live inode.
    unsafe {
        if request_mask & sys::REXT4_STATX_BTIME != 0 {
            if let Some((sec, nsec)) = x.btime {
                (*stat).result_mask |= sys::REXT4_STATX_BTIME;
                (*stat).btime.tv_sec = sec;
                (*stat).btime.tv_nsec = nsec as isize;
            }
        }
        for (on, bit) in [
            (x.immutable, sys::REXT4_STATX_ATTR_IMMUTABLE),
            (x.append, sys::REXT4_STATX_ATTR_APPEND),
            (x.nodump, sys::REXT4_STATX_ATTR_NODUMP),
            (x.compressed, sys::REXT4_STATX_ATTR_COMPRESSED),
        ] {
            if on {
                (*stat).attributes |= bit;
            }
        }
        // As ext4: ENCRYPTED is known (always clear: rext4 never serves
        // an encrypted inode), COMPRESSED mirrors the inode flag.
        (*stat).attributes_mask |= sys::REXT4_STATX_ATTR_IMMUTABLE
            | sys::REXT4_STATX_ATTR_APPEND
            | sys::REXT4_STATX_ATTR_NODUMP
            | sys::REXT4_STATX_ATTR_COMPRESSED
            | sys::REXT4_STATX_ATTR_ENCRYPTED;
        sys::generic_fillattr(idmap, request_mask, raw, stat);
    }
    0
}

/// `inode_operations.fiemap`, as ext4: the range checked and clamped, then
/// iomap walks the extents through `iomap_begin_report`.
///
/// # Safety
/// Called by the VFS (FS_IOC_FIEMAP) with a live rext4 inode and the
/// request's extent info.
unsafe extern "C" fn fiemap(
    inode: *mut sys::inode,
    fi: *mut sys::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: `fi` is the caller's request; there is no extent cache to
    // fill, so FIEMAP_FLAG_CACHE is simply done.
    unsafe { (*fi).fi_flags &= !sys::REXT4_FIEMAP_FLAG_CACHE };
    // SAFETY: the VFS passes a live rext4 inode.
    let ino = unsafe { Inode::from_raw(inode) };
    let len = match fs::file::fiemap_range(ino, start, len) {
        Ok(l) => l,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: plain delegation with the VFS's arguments and a static ops
    // table; `iomap_fiemap` validates the flags and copies to user space.
    unsafe { sys::iomap_fiemap(inode, fi, start, len, &IOMAP_REPORT_OPS.0) }
}

/// `iomap_ops.iomap_begin` for reporting: one extent or hole at `pos`.
///
/// # Safety
/// Called by iomap with a live rext4 inode and an iomap to fill in.
unsafe extern "C" fn iomap_begin_report(
    inode: *mut sys::inode,
    pos: i64,
    length: i64,
    _flags: c_uint,
    iomap: *mut sys::iomap,
    _srcmap: *mut sys::iomap,
) -> c_int {
    // SAFETY: the inode is a live rext4 inode for the whole walk.
    let ino = unsafe { Inode::from_raw(inode) };
    let r = match fs::file::report_extent(ino, pos, length) {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    let (ty, addr) = match r.kind {
        // IOMAP_NULL_ADDR is -1ULL (bindgen cannot evaluate that macro).
        fs::file::ReportKind::Hole => (sys::REXT4_IOMAP_HOLE, u64::MAX),
        fs::file::ReportKind::Mapped(a) => (sys::REXT4_IOMAP_MAPPED, a),
        fs::file::ReportKind::Unwritten(a) => (sys::REXT4_IOMAP_UNWRITTEN, a),
    };
    // SAFETY: `iomap` is iomap's own struct to fill; `s_bdev` of a mounted
    // rext4 super_block is set and outlives the walk.
    unsafe {
        (*iomap).flags = 0;
        (*iomap).bdev = (*ino.sb().as_ptr()).s_bdev;
        (*iomap).offset = r.offset;
        (*iomap).length = r.length;
        (*iomap).type_ = ty;
        (*iomap).addr = addr;
    }
    0
}

// ---------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------

/// A readdir position and the callback that receives entries.
///
/// INVARIANT: wraps the live `dir_context` the VFS passed to
/// `iterate_shared`, used only during that call.
#[repr(transparent)]
pub(crate) struct DirContext(Opaque<sys::dir_context>);

impl DirContext {
    /// The current position (a byte offset in the directory).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: live by the type invariant; only this call uses it.
        unsafe { (*self.0.get()).pos }
    }

    /// Moves the position.
    pub(crate) fn set_pos(&self, pos: i64) {
        // SAFETY: as for `pos`.
        unsafe { (*self.0.get()).pos = pos };
    }

    /// Passes one entry to the reader; `false` means its buffer is full
    /// and the position must not advance past this entry.
    pub(crate) fn emit(&self, name: &[u8], ino: u64, dtype: u8) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: the context is live; the name pointer and length describe
        // valid bytes for the duration of the call (the actor copies them).
        unsafe {
            sys::rext4_dir_emit(
                self.0.get(),
                name.as_ptr().cast(),
                len,
                ino,
                c_uint::from(dtype),
            )
        }
    }
}

/// # Safety
/// Called by the VFS with an open directory of a rext4 mount.
unsafe extern "C" fn iterate_shared(file: *mut sys::file, ctx: *mut sys::dir_context) -> c_int {
    // SAFETY: an open file pins its inode, a rext4 inode here; the context
    // is live for the call.
    let (inode, ctx) = unsafe {
        (
            Inode::from_raw(sys::rext4_file_inode(file)),
            &*ctx.cast::<DirContext>(),
        )
    };
    errno_of(fs::dir::readdir(inode, ctx))
}

/// # Safety
/// Called by the VFS with a rext4 directory and a negative, hashed-to-be
/// dentry whose name is stable during the call.
unsafe extern "C" fn lookup(
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    _flags: c_uint,
) -> *mut sys::dentry {
    let mut len: c_uint = 0;
    // SAFETY: the dentry's name is stable while the parent is locked for
    // lookup; the pointer and length describe its bytes.
    let name = unsafe {
        let p = sys::rext4_dentry_name(dentry, &mut len);
        core::slice::from_raw_parts(p, len as usize)
    };
    // SAFETY: `dir` is a live rext4 directory inode.
    let dir = unsafe { Inode::from_raw(dir) };
    let found = match fs::dir::lookup(dir, name) {
        Ok(f) => f,
        Err(e) => return err_ptr(e),
    };
    let inode = found.map_or(core::ptr::null_mut(), |i| i.into_raw());
    // SAFETY: `d_splice_alias` takes over the inode reference (or NULL for
    // a negative entry) and the dentry.
    unsafe { sys::d_splice_alias(inode, dentry) }
}

// ---------------------------------------------------------------------------
// Regular files
// ---------------------------------------------------------------------------

/// # Safety
/// Called by the VFS with an open rext4 file.
unsafe extern "C" fn file_llseek(file: *mut sys::file, offset: i64, whence: c_int) -> i64 {
    if whence != sys::REXT4_SEEK_DATA && whence != sys::REXT4_SEEK_HOLE {
        // SAFETY: plain delegation with the VFS's own arguments.
        return unsafe { sys::generic_file_llseek(file, offset, whence) };
    }
    // SAFETY: an open file pins its (rext4) inode.
    let inode = unsafe { Inode::from_raw(sys::rext4_file_inode(file)) };
    match fs::file::seek_data_hole(inode, offset, whence == sys::REXT4_SEEK_DATA) {
        Ok(pos) => {
            let max = inode.sb().fs_info().max_bytes;
            // SAFETY: `vfs_setpos` validates and stores the new position.
            unsafe { sys::vfs_setpos(file, pos, max) }
        }
        Err(e) => e.to_errno().into(),
    }
}

/// `get_block` for mpage reads: maps up to `bh.b_size` bytes from `iblock`.
///
/// # Safety
/// Called by the mpage code with a rext4 inode and a buffer head to map.
unsafe extern "C" fn get_block(
    inode: *mut sys::inode,
    iblock: u64,
    bh: *mut sys::buffer_head,
    create: c_int,
) -> c_int {
    if create != 0 {
        return code::EROFS.to_errno();
    }
    // SAFETY: the inode is a live rext4 inode under I/O.
    let inode = unsafe { Inode::from_raw(inode) };
    let sb = inode.sb();
    // SAFETY: `bh` is the caller's buffer head; `b_size` is the number of
    // bytes it wants mapped.
    let want = unsafe { (*bh).b_size } as u64;
    let bits = sb.fs_info().block_bits;
    match fs::file::map_blocks(inode, iblock, (want >> bits).max(1)) {
        Ok(Some((pblk, count))) => {
            // SAFETY: maps the buffer to a block inside the filesystem
            // (checked by the extent code) and shrinks it to the mapped run.
            unsafe {
                sys::rext4_map_bh(bh, sb.as_ptr(), pblk);
                (*bh).b_size = (count << bits) as usize;
            }
            0
        }
        // A hole or unwritten extent: left unmapped, read as zeros.
        Ok(None) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// Called by the page cache with a locked folio of a rext4 file.
unsafe extern "C" fn read_folio(_file: *mut sys::file, folio: *mut sys::folio) -> c_int {
    // SAFETY: delegation; `get_block` matches the expected signature.
    unsafe { sys::mpage_read_folio(folio, Some(get_block)) }
}

/// # Safety
/// Called by the page cache for readahead of a rext4 file.
unsafe extern "C" fn readahead(rac: *mut sys::readahead_control) {
    // SAFETY: delegation; `get_block` matches the expected signature.
    unsafe { sys::mpage_readahead(rac, Some(get_block)) }
}

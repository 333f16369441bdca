// SPDX-License-Identifier: GPL-2.0

//! The VFS super_block, with a typestate: [`New`] while `fill_super` sets
//! it up (only then may the block size, the parameters and the data be
//! set), [`Mounted`] once the filesystem's data is installed.

use super::buffer::BufferHead;
use super::fs_type::FileSystem;
use super::inode;
use super::zeroed;
use crate::sys;
use core::ffi::c_int;
use core::fmt;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use kernel::alloc::KBox;
use kernel::error::{code, to_result, Result};
use kernel::ffi::c_char;
use kernel::types::{ARef, Opaque};

/// Typestate of a super_block being filled in by `fill_super`.
pub(crate) struct New;
/// Typestate of a mounted super_block: its data is installed.
pub(crate) struct Mounted;

/// A super_block of filesystem `T`.
///
/// INVARIANT: the wrapped super_block is live, belongs to filesystem type
/// `T`, sits on a block device (`s_bdev` set), and `s_fs_info` is NULL or a
/// pointer from `KBox::into_raw` of a pinned `T::Data` that stays valid
/// until `put_super`/`kill_sb`. With `S = Mounted`, `s_fs_info` is set.
/// References are only handed out while the VFS keeps the super_block alive
/// (during its callbacks).
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem, S = Mounted>(
    Opaque<sys::super_block>,
    PhantomData<(T, S)>,
);

/// What `fill_super` tells the VFS about a mount.
pub(crate) struct SuperParams {
    pub(crate) magic: u16,
    pub(crate) maxbytes: i64,
    pub(crate) time_min: i64,
    pub(crate) time_max: i64,
    /// Timestamp granularity in nanoseconds (1, or 10^9 when the inodes
    /// keep whole seconds only).
    pub(crate) time_gran: u32,
    pub(crate) uuid: [u8; 16],
}

/// What `statfs` reports.
pub(crate) struct StatFs {
    pub(crate) magic: u16,
    pub(crate) bsize: u32,
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    pub(crate) bavail: u64,
    pub(crate) files: u64,
    pub(crate) ffree: u64,
    pub(crate) namelen: u32,
    pub(crate) fsid: u64,
}

impl<T: FileSystem, S> SuperBlock<T, S> {
    /// Borrows a super_block the VFS passed to a callback.
    ///
    /// # Safety
    ///
    /// `sb` must satisfy the type invariant (for state `S`) for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut sys::super_block) -> &'a Self {
        // SAFETY: transparent wrapper of the C struct; validity for 'a is
        // guaranteed by the caller.
        unsafe { &*sb.cast::<Self>() }
    }

    pub(super) fn as_ptr(&self) -> *mut sys::super_block {
        self.0.get()
    }

    /// 512-byte sectors written to the device since it came up (the
    /// block layer's statistics, as ext4's `session_write_kbytes`).
    pub(crate) fn sectors_written(&self) -> u64 {
        // SAFETY: live by the type invariant, on a block device.
        unsafe { sys::rext4_bdev_sectors_written(self.as_ptr()) }
    }

    /// The device name (`s_id`), e.g. `vda`, NUL terminated.
    pub(crate) fn id(&self) -> &[c_char; 32] {
        // SAFETY: live by the type invariant; `s_id` is set when the
        // super_block is created and never changes after (the reference
        // covers that field only).
        unsafe { &(*self.as_ptr()).s_id }
    }

    /// Whether the super_block is read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: live by the type invariant; `s_flags` changes under
        // `s_umount`, so it is read once (READ_ONCE) through the pointer.
        let flags = unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).s_flags) };
        flags & sys::REXT4_SB_RDONLY != 0
    }

    /// Reads block `block` (in units of the current block size) through the
    /// block device's buffer cache.
    pub(crate) fn bread(&self, block: u64) -> Result<ARef<BufferHead>> {
        // SAFETY: by the type invariant the super_block is live and has a
        // block device and a block size; `sb_bread` returns NULL on I/O
        // errors and on blocks beyond the device.
        let bh = unsafe { sys::rext4_sb_bread(self.as_ptr(), block) };
        let bh = NonNull::new(bh).ok_or(code::EIO)?;
        // SAFETY: `sb_bread` returned an up-to-date buffer with a reference
        // the caller owns.
        Ok(unsafe { BufferHead::from_bread(bh) })
    }

    /// Block `block` if the buffer cache holds it up to date (no read is
    /// started): a lookup only, for callers that do more work before a
    /// read (a readahead window to work out).
    pub(crate) fn cached(&self, block: u64) -> Option<ARef<BufferHead>> {
        // SAFETY: by the type invariant the super_block is live and has a
        // block device and a block size; the helper returns NULL or an
        // up-to-date buffer with a reference the caller owns.
        let bh = NonNull::new(unsafe { sys::rext4_sb_find_uptodate(self.as_ptr(), block) })?;
        // SAFETY: an up-to-date buffer with a reference, as `sb_bread`
        // returns it.
        Some(unsafe { BufferHead::from_bread(bh) })
    }

    /// Freeze protection for a write the filesystem makes on its own (an
    /// evicted inode's deletion): waits while the filesystem is frozen,
    /// and holds a freeze back until the guard goes (`sb_start_intwrite`).
    pub(crate) fn start_intwrite(&self) -> IntWrite<'_, T, S> {
        // SAFETY: live super_block (type invariant); paired with the
        // guard's drop.
        unsafe { sys::rext4_sb_start_intwrite(self.as_ptr()) };
        IntWrite(self)
    }

    /// [`Self::bread`] of `block`, reading blocks `ahead` (a range holding
    /// `block`, at most `MAX_READAHEAD_BLOCKS` long) ahead in one batch
    /// first: for a table block that [`Self::cached`] did not find, as
    /// ext4 reads its inode tables ahead.
    pub(crate) fn bread_ahead(
        &self,
        block: u64,
        ahead: core::ops::Range<u64>,
    ) -> Result<ARef<BufferHead>> {
        // A window that misses `block` or is larger than any table window
        // is not read ahead at all.
        if !ahead.contains(&block) || ahead.end - ahead.start > MAX_READAHEAD_BLOCKS {
            return self.bread(block);
        }
        // SAFETY: by the type invariant the super_block is live and has a
        // block device and a block size. Readahead of a block beyond the
        // device fails (with the block layer's message) without effect on
        // `block`; callers pass windows inside validated tables. `sb_bread`
        // returns NULL on I/O errors and on blocks beyond the device.
        let bh = unsafe { sys::rext4_sb_bread_ahead(self.as_ptr(), block, ahead.start, ahead.end) };
        let bh = NonNull::new(bh).ok_or(code::EIO)?;
        // SAFETY: `sb_bread` returned an up-to-date buffer with a reference
        // the caller owns.
        Ok(unsafe { BufferHead::from_bread(bh) })
    }

    /// Whether the block device is read-only (`bdev_read_only`): nothing,
    /// not even journal recovery, can write to it.
    pub(crate) fn is_device_read_only(&self) -> bool {
        // SAFETY: by the type invariant `s_bdev` is set and live.
        unsafe { sys::rext4_sb_bdev_read_only(self.as_ptr()) }
    }

    /// Size of the underlying block device in bytes.
    pub(crate) fn device_bytes(&self) -> u64 {
        // SAFETY: by the type invariant `s_bdev` is set and live.
        let n = unsafe { sys::rext4_sb_bdev_nr_bytes(self.as_ptr()) };
        u64::try_from(n).unwrap_or(0)
    }

    /// This super_block as a mounted one, once its data is installed
    /// (`None` while `New`).
    pub(crate) fn mounted(&self) -> Option<&SuperBlock<T, Mounted>> {
        self.try_data()?;
        // SAFETY: `s_fs_info` set is what `Mounted` requires beyond the
        // common invariant (the pointer is read as `try_data` reads it);
        // the wrapper is transparent, so the cast keeps the referent.
        Some(unsafe { &*(self as *const Self).cast::<SuperBlock<T, Mounted>>() })
    }

    /// The device's writeback error sequence now (`errseq_sample` of its
    /// mapping's `wb_err`), to compare later errors with.
    pub(crate) fn device_err_sample(&self) -> u32 {
        // SAFETY: a live super_block on a block device (type invariant),
        // whose device the mount holds open.
        unsafe { sys::rext4_bdev_wb_err_sample(self.as_ptr()) }
    }

    /// Whether the device's writeback error sequence moved since `since`
    /// (`errseq_check`: no side effect).
    pub(crate) fn device_err_since(&self, since: u32) -> bool {
        // SAFETY: as above.
        unsafe { sys::rext4_bdev_wb_err_peek(self.as_ptr(), since) != 0 }
    }

    /// `errseq_check_and_advance`: the new error since `since`, if any,
    /// and `since` moved past it. The caller serialises `since`.
    pub(crate) fn device_err_advance(&self, since: &mut u32) -> Result {
        // SAFETY: as above; `since` is the caller's.
        kernel::error::to_result(unsafe { sys::rext4_bdev_wb_err_advance(self.as_ptr(), since) })
    }

    /// Panics the kernel after an error under `errors=panic`, naming the
    /// device.
    pub(crate) fn panic_after_error(&self) -> ! {
        // SAFETY: `s_id` is a NUL-terminated string of a live super_block.
        unsafe { sys::rext4_panic(self.id().as_ptr()) }
    }

    /// The filesystem's data, if installed yet (`None` while `New`).
    pub(crate) fn try_data(&self) -> Option<&T::Data> {
        // SAFETY: by the type invariant `s_fs_info` is NULL or a live
        // `T::Data` that outlives every callback that can reach this.
        unsafe { (*self.as_ptr()).s_fs_info.cast::<T::Data>().as_ref() }
    }
}

impl<T: FileSystem> SuperBlock<T, New> {
    /// Sets the block size used for buffer reads to at least `size` (and at
    /// least the device's logical block size); returns the size set.
    pub(crate) fn set_min_blocksize(&self, size: u32) -> Result<u32> {
        let size = i32::try_from(size).map_err(|_| code::EINVAL)?;
        // SAFETY: by the type invariant the super_block is live and on a
        // block device; `New` means `fill_super` under `s_umount`.
        let got = unsafe { sys::sb_min_blocksize(self.as_ptr(), size) };
        u32::try_from(got)
            .ok()
            .filter(|&s| s != 0)
            .ok_or(code::EINVAL)
    }

    /// Sets the filesystem block size exactly. Buffers read at another size
    /// must have been released (the device cache is dropped on a change).
    pub(crate) fn set_blocksize(&self, size: u32) -> Result {
        let size = i32::try_from(size).map_err(|_| code::EINVAL)?;
        // SAFETY: as for `set_min_blocksize`.
        let got = unsafe { sys::sb_set_blocksize(self.as_ptr(), size) };
        if got == size {
            Ok(())
        } else {
            Err(code::EINVAL)
        }
    }

    /// Drops the clean cached blocks of the device, so nothing read (or
    /// marked verified) before this mount is trusted by it.
    pub(crate) fn invalidate_device_cache(&self) {
        // SAFETY: by the type invariant `s_bdev` is set and live; the
        // mount holds the device exclusively; only clean pages are dropped.
        unsafe { sys::invalidate_bdev((*self.as_ptr()).s_bdev) };
    }

    /// Turns POSIX ACL enforcement (SB_POSIXACL) on or off for the mount
    /// being set up: with it, permission checks consult the ACLs from
    /// `get_inode_acl`, and the ACL attribute names are listed.
    pub(crate) fn set_posix_acl(&self, on: bool) {
        let sb = self.as_ptr();
        // SAFETY: `New`: in `fill_super` under `s_umount`, before the
        // super_block is visible to path walks.
        unsafe {
            if on {
                (*sb).s_flags |= sys::REXT4_SB_POSIXACL;
            } else {
                (*sb).s_flags &= !sys::REXT4_SB_POSIXACL;
            }
        }
    }

    /// Sets the VFS-visible parameters of the mount being set up.
    pub(crate) fn set_params(&self, p: &SuperParams) {
        let sb = self.as_ptr();
        // SAFETY: `New`: called from `fill_super` before the super_block is
        // visible to anyone else; plain data fields; the UUID setter copies
        // 16 bytes (and names the sysfs directory after the device).
        unsafe {
            (*sb).s_magic = p.magic.into();
            (*sb).s_maxbytes = p.maxbytes;
            (*sb).s_time_min = p.time_min;
            (*sb).s_time_max = p.time_max;
            (*sb).s_time_gran = p.time_gran;
            sys::rext4_super_set_uuid(sb, p.uuid.as_ptr());
        }
    }
}

impl<T: FileSystem> SuperBlock<T, Mounted> {
    /// Writes every dirty inode and page of the filesystem and waits
    /// (`sync_filesystem`: what a remount read-only needs first, as ext4
    /// calls it). The caller holds `s_umount` (remount does).
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: a mounted super_block; `s_umount` held by the caller.
        to_result(unsafe { sys::sync_filesystem(self.as_ptr()) })
    }

    /// Writes the device's dirty cached blocks and waits
    /// (`sync_blockdev`).
    pub(crate) fn sync_device(&self) -> Result {
        // SAFETY: a mounted super_block on a block device the mount holds.
        to_result(unsafe { sys::rext4_sync_bdev(self.as_ptr()) })
    }

    /// The filesystem's data.
    pub(crate) fn data(&self) -> &T::Data {
        // SAFETY: `Mounted`: `s_fs_info` is a live `T::Data` (type
        // invariant), freed only after every other callback has finished.
        unsafe { &*(*self.as_ptr()).s_fs_info.cast::<T::Data>() }
    }

    /// The largest file size (`s_maxbytes`).
    pub(crate) fn max_bytes(&self) -> i64 {
        // SAFETY: live; `s_maxbytes` is set once by `fill_super`.
        unsafe { (*self.as_ptr()).s_maxbytes }
    }
}

/// Installs the super_operations of `T` (first thing in `fill_super`: the
/// inodes read while filling need `alloc_inode`).
///
/// # Safety
///
/// `sb` is a new super_block of `T` in `fill_super`, under `s_umount`.
pub(super) unsafe fn install_ops<T: FileSystem>(sb: *mut sys::super_block) {
    // SAFETY: guaranteed by the caller; the tables are promoted constants.
    // The xattr handlers go in before any inode is allocated: the VFS
    // gives inodes IOP_XATTR only when `s_xattr` is set at allocation.
    unsafe {
        (*sb).s_op = &Tables::<T>::SUPER;
        if T::HAS_GETXATTR {
            (*sb).s_xattr = super::xattr::handler_list::<T>().0.as_ptr();
        }
    }
}

/// Installs the filesystem's data: the super_block becomes `Mounted`.
///
/// # Safety
///
/// `sb` is a super_block of `T` in `fill_super`, under `s_umount`, with no
/// data installed yet.
pub(super) unsafe fn install_data<'a, T: FileSystem>(
    sb: *mut sys::super_block,
    data: Pin<KBox<T::Data>>,
) -> &'a SuperBlock<T, Mounted> {
    // SAFETY: the data stays pinned: it is only dropped in place, through
    // `take_data`, never moved out.
    let p = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
    // SAFETY: guaranteed by the caller; `s_fs_info` was NULL.
    unsafe {
        (*sb).s_fs_info = p.cast();
        SuperBlock::from_raw(sb)
    }
}

/// Takes the data back (for `put_super`, `kill_sb` and failed mounts).
///
/// # Safety
///
/// No reference to the data may exist or be created later.
pub(super) unsafe fn take_data<T: FileSystem>(
    sb: *mut sys::super_block,
) -> Option<Pin<KBox<T::Data>>> {
    // SAFETY: the pointer came from `install_data` and the caller
    // guarantees exclusivity; it is cleared so it cannot be freed twice.
    unsafe {
        let p = (*sb).s_fs_info.cast::<T::Data>();
        (*sb).s_fs_info = core::ptr::null_mut();
        if p.is_null() {
            None
        } else {
            Some(Pin::new_unchecked(KBox::from_raw(p)))
        }
    }
}

/// The super_operations of `T`.
struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const SUPER: sys::super_operations = sys::super_operations {
        alloc_inode: Some(inode::alloc_inode::<T>),
        free_inode: Some(inode::free_inode::<T>),
        put_super: Some(put_super::<T>),
        evict_inode: Some(inode::evict_inode::<T>),
        statfs: if T::HAS_STATFS {
            Some(statfs::<T>)
        } else {
            None
        },
        show_options: if T::HAS_SHOW_OPTIONS {
            Some(show_options::<T>)
        } else {
            None
        },
        sync_fs: if T::HAS_SYNC_FS {
            Some(sync_fs::<T>)
        } else {
            None
        },
        freeze_fs: if T::HAS_FREEZE_FS {
            Some(freeze_fs::<T>)
        } else {
            None
        },
        unfreeze_fs: if T::HAS_UNFREEZE_FS {
            Some(unfreeze_fs::<T>)
        } else {
            None
        },
        dirty_inode: if T::HAS_DIRTY_INODE {
            Some(dirty_inode::<T>)
        } else {
            None
        },
        ..zeroed()
    };
}

/// `super_operations.put_super`: unmount, after every inode was evicted.
/// The data goes now, while the block device is still open (it holds
/// buffers of the device), as ext4 releases its buffers here.
///
/// # Safety
///
/// Called by the VFS once, in `generic_shutdown_super` of a mounted `T`.
unsafe extern "C" fn put_super<T: FileSystem>(sb: *mut sys::super_block) {
    // No other callback runs any more, and every inode of the filesystem's
    // own is gone (evicted before `put_super`). The journal inode, if the
    // data holds a journal, is still referenced: dropping the data destroys
    // the journal and puts that last reference, and since `SB_ACTIVE` is
    // already clear the inode is evicted right then, before the VFS checks
    // for busy inodes.
    if T::HAS_PUT_SUPER {
        // SAFETY: a mounted super_block of `T` whose data is still
        // installed (it is taken below).
        T::put_super(unsafe { SuperBlock::<T>::from_raw(sb) });
    }
    // SAFETY: the filesystem's `put_super` returned and no other callback
    // runs, so nothing refers to the data any more.
    drop(unsafe { take_data::<T>(sb) });
}

/// # Safety
///
/// Called by the VFS with a live dentry of a mounted `T`.
unsafe extern "C" fn statfs<T: FileSystem>(
    dentry: *mut sys::dentry,
    buf: *mut sys::kstatfs,
) -> c_int {
    // SAFETY: the dentry is live and belongs to a mounted super_block.
    let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
    match T::statfs(sb) {
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

/// `super_operations.sync_fs`.
///
/// # Safety
///
/// Called by the VFS with a mounted super_block of `T` (`s_umount` held).
unsafe extern "C" fn sync_fs<T: FileSystem>(sb: *mut sys::super_block, wait: c_int) -> c_int {
    // SAFETY: a mounted super_block of `T` whose data is installed (the
    // VFS syncs only active super_blocks).
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    match T::sync_fs(sb, wait != 0) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `super_operations.freeze_fs`.
///
/// # Safety
///
/// Called by the VFS with a mounted super_block of `T`, writers stopped.
unsafe extern "C" fn freeze_fs<T: FileSystem>(sb: *mut sys::super_block) -> c_int {
    // SAFETY: a mounted super_block of `T` whose data is installed.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    match T::freeze_fs(sb) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `super_operations.unfreeze_fs`.
///
/// # Safety
///
/// Called by the VFS with a mounted, frozen super_block of `T`.
unsafe extern "C" fn unfreeze_fs<T: FileSystem>(sb: *mut sys::super_block) -> c_int {
    // SAFETY: a mounted super_block of `T` whose data is installed.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    match T::unfreeze_fs(sb) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `super_operations.dirty_inode` (from `__mark_inode_dirty`).
///
/// # Safety
///
/// Called by the VFS with a live, set-up inode of `T`.
unsafe extern "C" fn dirty_inode<T: FileSystem>(inode: *mut sys::inode, _flags: c_int) {
    // SAFETY: the VFS marks only live inodes dirty. The filesystem's
    // inodes are set up (`init`) before anything can dirty them, and the
    // journal inode (never `init`ed) is never dirtied: nothing writes its
    // attributes, and jbd2 writes its blocks through `bmap` only.
    let i = unsafe { super::inode::INode::<T>::from_raw(inode) };
    T::dirty_inode(i);
}

/// Formats through a filesystem's `show_options`.
struct ShowOptions<'a, T: FileSystem>(&'a SuperBlock<T>);

impl<T: FileSystem> fmt::Display for ShowOptions<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        T::show_options(self.0, f)
    }
}

/// # Safety
///
/// Called by the VFS with a live seq_file and the root dentry of a mount.
unsafe extern "C" fn show_options<T: FileSystem>(
    m: *mut sys::seq_file,
    root: *mut sys::dentry,
) -> c_int {
    // SAFETY: the dentry is live and belongs to a mounted super_block.
    let sb = unsafe { SuperBlock::<T>::from_raw((*root).d_sb) };
    seq_print(m, format_args!("{}", ShowOptions(sb)));
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

/// The largest window [`SuperBlock::bread_ahead`] reads ahead.
const MAX_READAHEAD_BLOCKS: u64 = 64;

/// Holds a super_block's internal-write freeze protection (see
/// [`SuperBlock::start_intwrite`]).
pub(crate) struct IntWrite<'a, T: FileSystem, S>(&'a SuperBlock<T, S>);

impl<T: FileSystem, S> Drop for IntWrite<'_, T, S> {
    fn drop(&mut self) {
        // SAFETY: taken by `start_intwrite`, released once.
        unsafe { sys::rext4_sb_end_intwrite(self.0.as_ptr()) };
    }
}

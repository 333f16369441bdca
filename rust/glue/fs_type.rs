// SPDX-License-Identifier: GPL-2.0

//! The filesystem type: the [`FileSystem`] trait a filesystem implements,
//! its registration, and the fs_context (mount options, `get_tree`,
//! remount, `kill_sb`).

use super::dentry::DirEmitter;
use super::file::SeekData;
use super::fs_param::{Param, ParamSpec};
use super::inode::{INode, InodeCache, SetAttr, StatxExtra};
use super::iomap::IoMap;
use super::super_block::{self, New, StatFs, SuperBlock};
use super::xattr::{AclType, ListFilter, PosixAcl, XattrNs};
use super::zeroed;
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::fmt;
use core::marker::PhantomData;
use core::pin::Pin;
use kernel::alloc::{flags::GFP_KERNEL, KBox, KVec};
use kernel::error::{code, to_result, Result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::ARef;
use kernel::ThisModule;

/// A filesystem on block devices, as the glue drives it.
///
/// The glue builds every C operation table from this trait; an operation
/// with a default body is left out of the tables (NULL) unless the
/// implementation provides it (`#[vtable]`'s `HAS_*` constants).
#[vtable]
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// Per-mount data (`s_fs_info`), pinned: it may hold kernel locks.
    type Data: Send + Sync;
    /// Per-inode data, next to the VFS inode; `Default` is the value of an
    /// inode not yet read.
    type INodeData: Default + Send + Sync;
    /// Mount options, parsed into the fs_context and handed to
    /// `fill_super` and `reconfigure`.
    type Options: Default + Clone + Send + Sync;

    /// The filesystem type's name.
    const NAME: &'static CStr;

    /// Whether inodes keep a change counter (`SB_I_VERSION`, set on every
    /// mount and remount context): the VFS steps it with the timestamps it
    /// updates, and the filesystem stores it.
    const I_VERSION: bool = false;

    /// The mount options the filesystem takes, ending with
    /// [`ParamSpec::END`] (registration fails otherwise).
    const PARAMS: &'static [ParamSpec];

    /// Takes one mount option the kernel's parser matched in
    /// [`Self::PARAMS`] (bad values and unknown keys never get here).
    fn parse_param(opts: &mut Self::Options, param: &Param<'_>) -> Result;

    /// Reads and checks the filesystem on the device, sets the superblock
    /// up and returns the per-mount data.
    fn fill_super(sb: &SuperBlock<Self, New>, opts: Self::Options)
        -> Result<Pin<KBox<Self::Data>>>;

    /// The root inode, once the per-mount data is installed.
    fn init_root(sb: &SuperBlock<Self>) -> Result<ARef<INode<Self>>>;

    /// Remount with `opts`; `read_only` is the requested state.
    fn reconfigure(_sb: &SuperBlock<Self>, _opts: &Self::Options, _read_only: bool) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Unmount (`put_super`), after every inode was evicted and before
    /// the per-mount data is dropped: the filesystem's last writes.
    fn put_super(_sb: &SuperBlock<Self>) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Makes the filesystem's metadata durable (`sync_fs`): with `wait`,
    /// the caller returns only when it is on disk.
    fn sync_fs(_sb: &SuperBlock<Self>, _wait: bool) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Freezes the filesystem (`freeze_fs`, after the VFS stopped writers
    /// and synced): everything on disk, nothing to recover.
    fn freeze_fs(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Thaws a frozen filesystem (`unfreeze_fs`).
    fn unfreeze_fs(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The VFS changed the inode's attributes in memory (`dirty_inode`,
    /// from `mark_inode_dirty`, always with `I_DIRTY_SYNC` or
    /// `I_DIRTY_DATASYNC` among the flags): the filesystem writes them to
    /// its inode on disk (ext4 journals the inode right away).
    fn dirty_inode(_inode: &INode<Self>) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `fsync(2)` of an open file or directory: with `datasync`, only
    /// what reading the data back needs.
    fn fsync(_inode: &INode<Self>, _datasync: bool) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `setattr`: the change was checked by `setattr_prepare`; the
    /// filesystem refuses what it cannot do, applies the rest in memory
    /// with [`SetAttr::copy`] and writes it.
    fn setattr(_inode: &INode<Self>, _attr: &SetAttr<'_>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Makes a new inode as `spec` says and its entry `name` in `dir`
    /// (create, mkdir, mknod, symlink); returns the set-up inode, which
    /// the glue attaches to the dentry. The VFS checked permissions and
    /// that `name` does not exist.
    fn create_entry(
        _dir: &INode<Self>,
        _name: &[u8],
        _spec: &super::inode::NewSpec<'_>,
    ) -> Result<ARef<INode<Self>>> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Adds entry `name` in `dir` for `inode` and counts the link.
    fn link(_inode: &INode<Self>, _dir: &INode<Self>, _name: &[u8]) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Removes entry `name` of `inode` (not a directory) from `dir`.
    fn unlink(_dir: &INode<Self>, _name: &[u8], _inode: &INode<Self>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Removes the empty directory `inode`, entry `name` of `dir`.
    fn rmdir(_dir: &INode<Self>, _name: &[u8], _inode: &INode<Self>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Renames entry `old_name` of `old_dir` (inode `inode`) to
    /// `new_name` in `new_dir`, where `target` is the inode the new name
    /// has now, if any. The VFS checked permissions, that a directory
    /// does not move into itself, and file-type compatibility.
    #[allow(clippy::too_many_arguments)]
    fn rename(
        _old_dir: &INode<Self>,
        _old_name: &[u8],
        _inode: &INode<Self>,
        _new_dir: &INode<Self>,
        _new_name: &[u8],
        _target: Option<&INode<Self>>,
        _mode: super::inode::RenameMode,
    ) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The journal committed transaction `tid` (from jbd2's commit
    /// thread, once per transaction; see [`Journal::set_commit_callback`](
    /// super::jbd2::Journal::set_commit_callback)).
    fn transaction_committed(_sb: &SuperBlock<Self>, _tid: u32) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// An inode is about to be evicted (its page cache is dropped next,
    /// and then, with no link left, it is deleted): the filesystem makes
    /// what the page cache holds durable first where dropping it would
    /// lose it, and releases what it holds there.
    fn before_evict(_inode: &INode<Self>) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The inode's last link and last reference are gone: free it on disk
    /// (from `evict_inode`, after its page cache was dropped). Errors are
    /// the filesystem's to report.
    fn delete_inode(_inode: &INode<Self>) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The journal that journals regular files' data (data=journal) on a
    /// mount whose files are written. Providing it gives regular files
    /// `write_iter`, `splice_write`, writable shared mappings and the
    /// journalled-data page cache operations (`address_space.rs`).
    fn data_journal(_sb: &SuperBlock<Self>) -> Option<&super::jbd2::Journal> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Journal blocks a handle journalling one folio of `inode` may
    /// dirty (its blocks, their allocation, the inode).
    fn folio_credits(_inode: &INode<Self>) -> u32 {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Maps logical block `lblk` of `inode` for writing: `Some((physical
    /// block, newly allocated))`; with `create`, a hole is allocated
    /// inside `handle` (which is then given), else `None` for a hole.
    fn map_block(
        _handle: Option<&super::jbd2::Handle<'_>>,
        _inode: &INode<Self>,
        _lblk: u64,
        _create: bool,
    ) -> Result<Option<(u64, bool)>> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// A data write to `inode` (write_end, page_mkwrite, writepages) is
    /// done inside `handle`, which grew the size when `size_changed`: the
    /// filesystem writes the inode if the write changed it (size, blocks).
    fn data_written(
        _handle: &super::jbd2::Handle<'_>,
        _inode: &INode<Self>,
        _size_changed: bool,
    ) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Commits the transaction that last journalled `inode`'s data and
    /// waits for it (no handle open, no folio locked): the folios that
    /// transaction holds under writeback are then released (see
    /// `address_space.rs`). Errors are the filesystem's to report.
    fn commit_data(_inode: &INode<Self>) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// A write into `inode` failed or copied less than it asked for after
    /// blocks may have been allocated for it past the end of the file
    /// (`i_rwsem` held, no handle open): the filesystem frees blocks past
    /// `i_size` (ext4's `ext4_truncate_failed_write`).
    fn write_failed(_inode: &INode<Self>) {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// An allocation failed with ENOSPC (attempt `retries`, from 0), with
    /// no handle open: whether to try again (after making space free, as
    /// ext4's `ext4_should_retry_alloc` commits to release blocks freed by
    /// uncommitted transactions). False by default.
    fn retry_alloc(_sb: &SuperBlock<Self>, _retries: u32) -> bool {
        false
    }

    /// The target of a symlink whose target is in its first block (without
    /// NUL); providing it makes `get_link` read it through this call
    /// rather than the page cache.
    fn read_link(_inode: &INode<Self>) -> Result<KVec<u8>> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reading attribute `id` (a `REXT4_SYSFS_*` number) of the mount's
    /// `/sys/fs/rext4/<device>/` directory ([`super::sysfs::SysfsDir`]):
    /// its text, with a newline, goes to `out`.
    fn sysfs_show(
        _sb: &SuperBlock<Self>,
        _id: u32,
        _out: &mut super::sysfs::SysfsOut<'_>,
    ) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Writing `data` to attribute `id` of that directory.
    fn sysfs_store(_sb: &SuperBlock<Self>, _id: u32, _data: &[u8]) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `statfs(2)`.
    fn statfs(_sb: &SuperBlock<Self>) -> Result<StatFs> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The mount options for /proc/mounts (each with a leading comma).
    fn show_options(_sb: &SuperBlock<Self>, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Looks `name` up in directory `dir`; `None` for a negative entry.
    fn lookup(_dir: &INode<Self>, _name: &[u8]) -> Result<Option<ARef<INode<Self>>>> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Emits the entries of directory `dir` from the emitter's position.
    fn readdir(_dir: &INode<Self>, _emitter: &mut DirEmitter) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// What `getattr` adds to the generic attributes.
    fn statx_extra(_inode: &INode<Self>) -> StatxExtra {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Maps up to `max` blocks from logical block `lblk` for reading:
    /// `Some((physical block, count))`, or `None` for a hole (zeros).
    fn map_blocks(_inode: &INode<Self>, _lblk: u64, _max: u64) -> Result<Option<(u64, u64)>> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Whether the positions of directory `inode` are name hashes up to
    /// `i64::MAX` (an indexed directory read in hash order) rather than
    /// byte offsets: what its `llseek` allows.
    fn dir_hash_positions(_inode: &INode<Self>) -> bool {
        false
    }

    /// `lseek(SEEK_DATA/SEEK_HOLE)` from `offset`.
    fn seek_data(_inode: &INode<Self>, _offset: i64, _what: SeekData) -> Result<i64> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Checks and clamps a FIEMAP range; returns the length to walk.
    fn fiemap_range(_inode: &INode<Self>, _start: u64, _len: u64) -> Result<u64> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// One FIEMAP step: the extent or hole at byte `pos`.
    fn iomap_report(_inode: &INode<Self>, _pos: i64, _length: i64) -> Result<IoMap> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `getxattr` of attribute `name` (without its prefix) in namespace
    /// `ns`: copies the value into `buf` and returns its size; with `buf`
    /// `None` only returns the size. A value larger than `buf` is ERANGE,
    /// a missing attribute ENODATA. Providing it gives the mount the
    /// `user.`, `trusted.`, `security.` and `gnu.` handlers
    /// (`sb->s_xattr`) and its inodes `listxattr`.
    fn getxattr(
        _inode: &INode<Self>,
        _ns: XattrNs,
        _name: &[u8],
        _buf: Option<&mut [u8]>,
    ) -> Result<usize> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `listxattr`: the full names the filter allows, each NUL-terminated,
    /// into `buf` (ERANGE if it is too small), or their total size with
    /// `buf` `None`.
    fn listxattr(
        _inode: &INode<Self>,
        _filter: &ListFilter<Self>,
        _buf: Option<&mut [u8]>,
    ) -> Result<usize> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The inode's POSIX ACL of type `ty` (`get_inode_acl`), `None` if it
    /// has none. The VFS caches the answer for the inode's lifetime.
    fn get_acl(_inode: &INode<Self>, _ty: AclType) -> Result<Option<PosixAcl>> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `file_system_type`: in static memory, because the VFS links it into
/// its list and lockdep needs its lock class keys there. A module registers
/// one filesystem type.
struct FsType(UnsafeCell<sys::file_system_type>);

// SAFETY: written only by `Registration::register` before
// `register_filesystem` publishes it, afterwards only by the VFS under its
// own locks.
unsafe impl Sync for FsType {}

static FS_TYPE: FsType = FsType(UnsafeCell::new(zeroed()));

/// Keeps a filesystem type registered (and its inode cache and crc32c
/// driver alive).
pub(crate) struct Registration<T: FileSystem> {
    // Dropped after `Drop::drop` unregistered the type, in this order.
    _cache: InodeCache<T>,
    _crc: super::checksum::Crc32cDriver,
}

impl<T: FileSystem> Registration<T> {
    /// Creates the inode cache and registers the filesystem type.
    pub(crate) fn register(module: &'static ThisModule) -> Result<Self> {
        // The parser walks the list up to its END: a list without one (or
        // with another) does not build.
        const { assert!(ParamSpec::valid_list(T::PARAMS)) };
        let crc = super::checksum::Crc32cDriver::load();
        let cache = InodeCache::<T>::create()?;
        let fst = FS_TYPE.0.get();
        // SAFETY: module init runs once; nothing else accesses `FS_TYPE`
        // before `register_filesystem` publishes it (and the cache above
        // fails with EBUSY for a second registration).
        unsafe {
            (*fst).name = T::NAME.as_char_ptr();
            (*fst).fs_flags = sys::FS_REQUIRES_DEV as c_int;
            (*fst).init_fs_context = Some(init_fs_context::<T>);
            // As ext4: the VFS (CONFIG_VALIDATE_FS_PARSER) checks the list.
            (*fst).parameters = ParamSpec::as_ptr(T::PARAMS);
            (*fst).kill_sb = Some(kill_sb::<T>);
            (*fst).owner = module.as_ptr().cast::<sys::module>();
        }
        // SAFETY: `fst` is a fully set up file_system_type in static memory
        // that stays valid until `unregister_filesystem` in `drop`.
        to_result(unsafe { sys::register_filesystem(fst) })?;
        Ok(Registration {
            _cache: cache,
            _crc: crc,
        })
    }
}

impl<T: FileSystem> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; module unload cannot start while
        // a super_block of the type exists, since each holds a module
        // reference. The inode cache is destroyed afterwards (field drop).
        unsafe { sys::unregister_filesystem(FS_TYPE.0.get()) };
    }
}

/// The operations of a context, per filesystem.
struct ContextTables<T>(PhantomData<T>);

impl<T: FileSystem> ContextTables<T> {
    const OPS: sys::fs_context_operations = sys::fs_context_operations {
        free: Some(free_fc::<T>),
        parse_param: Some(parse_param::<T>),
        get_tree: Some(get_tree::<T>),
        reconfigure: Some(reconfigure::<T>),
        ..zeroed()
    };
}

/// The options of a context (`fs_private`), set by `init_fs_context`.
///
/// # Safety
///
/// `fc` must be a live fs_context of filesystem `T`, used by one thread
/// (the VFS serialises a context's callbacks).
unsafe fn options<'a, T: FileSystem>(fc: *mut sys::fs_context) -> &'a mut T::Options {
    // SAFETY: `init_fs_context` stored a `KBox<T::Options>` there that
    // lives until `free_fc`; the caller guarantees exclusive use.
    unsafe { &mut *(*fc).fs_private.cast::<T::Options>() }
}

/// # Safety
///
/// Called by the VFS with a live fs_context.
unsafe extern "C" fn init_fs_context<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    let opts = match KBox::new(T::Options::default(), GFP_KERNEL) {
        Ok(o) => o,
        Err(_) => return code::ENOMEM.to_errno(),
    };
    // SAFETY: the VFS passes a live fs_context that we may set up; the ops
    // table is a constant promoted to static memory; `free_fc` releases
    // `fs_private`.
    unsafe {
        (*fc).fs_private = KBox::into_raw(opts).cast();
        (*fc).ops = &ContextTables::<T>::OPS;
        // A mount(2) remount's context carries the caller's flags and
        // applies those in MS_RMT_MASK, SB_I_VERSION among them: without
        // it here, a remount would clear it (as ext4's init_fs_context).
        if T::I_VERSION {
            (*fc).sb_flags |= sys::REXT4_SB_I_VERSION as core::ffi::c_uint;
        }
    }
    0
}

/// # Safety
///
/// Called by the VFS once, when the context is destroyed.
unsafe extern "C" fn free_fc<T: FileSystem>(fc: *mut sys::fs_context) {
    // SAFETY: `fs_private` is NULL or the box from `init_fs_context`.
    unsafe {
        let p = (*fc).fs_private.cast::<T::Options>();
        (*fc).fs_private = core::ptr::null_mut();
        if !p.is_null() {
            drop(KBox::from_raw(p));
        }
    }
}

/// # Safety
///
/// Called by the VFS with a live context and parameter.
unsafe extern "C" fn parse_param<T: FileSystem>(
    fc: *mut sys::fs_context,
    param: *mut sys::fs_parameter,
) -> c_int {
    let mut result = sys::fs_parse_result::default();
    // SAFETY: `fc` and `param` are live for this call; `T::PARAMS` is a
    // static array ending with an entry without a name (checked at
    // registration), as the parser walks it. The parser only reads the
    // parameter and writes `result`; a bad value or an unknown key it
    // reports through the context's log itself.
    let opt = unsafe {
        sys::__fs_parse(
            &raw mut (*fc).log,
            ParamSpec::as_ptr(T::PARAMS),
            param,
            &mut result,
        )
    };
    let Ok(opt) = u8::try_from(opt) else {
        // A negative errno: ENOPARAM hands the key back to the VFS.
        return opt;
    };
    // SAFETY: the key is a NUL-terminated string the parameter owns; its
    // type is a plain integer field.
    let (key, is_flag) = unsafe {
        (
            core::ffi::CStr::from_ptr((*param).key.cast()).to_bytes(),
            c_int::from((*param)._bitfield_1.get(0, 8) as u8) == sys::REXT4_FS_VALUE_IS_FLAG,
        )
    };
    // SAFETY: `result` was zeroed here and the parser zeroes its 64-bit
    // member before it writes at most one member of the union: reading the
    // `u32` member reads initialised bytes, and every bit pattern is a
    // valid `u32`.
    let number = unsafe { result.__bindgen_anon_1.uint_32 };
    // SAFETY: the VFS serialises callbacks of one context.
    let opts = unsafe { options::<T>(fc) };
    // INVARIANT: `fc` is live for this call, which the `Param` does not
    // outlive.
    let p = Param {
        opt,
        key,
        is_flag,
        number,
        fc,
    };
    match T::parse_param(opts, &p) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a live fs_context.
unsafe extern "C" fn get_tree<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: `fc` is live; `get_tree_bdev` opens the device named by the
    // context and calls `fill_super` for a new super_block.
    unsafe { sys::get_tree_bdev(fc, Some(fill_super::<T>)) }
}

/// # Safety
///
/// Called by the VFS with a live context for an existing mount.
unsafe extern "C" fn reconfigure<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    if !T::HAS_RECONFIGURE {
        return 0;
    }
    // SAFETY: `fc` is live; `root` is the mount's root dentry, whose
    // super_block is a mounted one of `T`; the VFS serialises the context.
    let (flags, sb, opts) = unsafe {
        (
            (*fc).sb_flags,
            SuperBlock::<T>::from_raw((*(*fc).root).d_sb),
            options::<T>(fc),
        )
    };
    let read_only = u64::from(flags) & u64::from(sys::REXT4_SB_RDONLY as u32) != 0;
    match T::reconfigure(sb, opts, read_only) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `fill_super` callback of `get_tree_bdev`: the filesystem fills the
/// new superblock in (typestate `New`), the glue installs its data, and the
/// filesystem returns the root inode of the now mounted superblock.
///
/// # Safety
///
/// Called by `get_tree_bdev` with a new super_block on an opened block
/// device, `s_umount` held, and the mount's context.
unsafe extern "C" fn fill_super<T: FileSystem>(
    sb: *mut sys::super_block,
    fc: *mut sys::fs_context,
) -> c_int {
    // SAFETY: the VFS hands over a new super_block of `T` for the duration
    // of this call; the context is live and its options are ours.
    let (new, opts) = unsafe {
        super_block::install_ops::<T>(sb);
        (SuperBlock::<T, New>::from_raw(sb), options::<T>(fc).clone())
    };
    let data = match T::fill_super(new, opts) {
        Ok(d) => d,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: once per super_block, under `s_umount`, before anything
    // reads `s_fs_info`.
    let sb = unsafe { super_block::install_data::<T>(sb, data) };
    let root = match T::init_root(sb) {
        Ok(r) => r,
        Err(e) => {
            // SAFETY: nothing else uses the data: the mount failed and every
            // inode of it was evicted at its last iput (the super_block is
            // not active yet).
            drop(unsafe { super_block::take_data::<T>(sb.as_ptr()) });
            return e.to_errno();
        }
    };
    // SAFETY: `d_make_root` takes over the root inode reference (and drops
    // it on failure, evicting the root, so no inode of the mount is left
    // for `put_super` and the data's drop); `s_root` is set once here
    // under `s_umount`.
    unsafe {
        let d = sys::d_make_root(ARef::into_raw(root).as_ptr().cast());
        if d.is_null() {
            // What the mount wrote (a read-write mount's superblock) is
            // undone as at unmount.
            if T::HAS_PUT_SUPER {
                T::put_super(sb);
            }
            drop(super_block::take_data::<T>(sb.as_ptr()));
            return code::ENOMEM.to_errno();
        }
        (*sb.as_ptr()).s_root = d;
    }
    0
}

/// `file_system_type.kill_sb`: shut the super_block down (`put_super`
/// drops the data of a mounted one), then drop whatever data is left.
///
/// # Safety
///
/// Called by the VFS once per super_block of `T`.
unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut sys::super_block) {
    // SAFETY: `kill_block_super` evicts every inode and releases the
    // device; afterwards nothing uses `s_fs_info`.
    unsafe {
        sys::kill_block_super(sb);
        drop(super_block::take_data::<T>(sb));
    }
}

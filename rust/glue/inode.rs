// SPDX-License-Identifier: GPL-2.0

//! Inodes: the VFS inode embedded with a filesystem's per-inode data, the
//! slab cache they come from, refcounted handles (`ARef<INode<T>>`, ihold
//! and iput), new inodes being filled in, and the inode operation tables.

use super::address_space;
use super::dentry;
use super::file;
use super::fs_type::FileSystem;
use super::iomap;
use super::lock::{RawRwSem, ReadGuard, WriteGuard};
use super::super_block::SuperBlock;
use super::xattr;
use super::zeroed;
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_uint};
use core::marker::PhantomData;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::{flags::GFP_KERNEL, KVec};
use kernel::error::{code, Error, Result};
use kernel::ffi::c_char;
use kernel::types::{ARef, AlwaysRefCounted, Opaque};

/// A filesystem's inode in memory: the VFS inode first (the VFS hands out
/// pointers to it and the glue converts them back by a cast, container_of
/// at offset 0), then the inode's lock, room for jbd2, and the data.
#[repr(C)]
struct INodeInfo<T: FileSystem> {
    vfs: Opaque<sys::inode>,
    /// The inode's data lock, like ext4's `i_data_sem`: readers of the
    /// block map and of `data` take it shared, the write path exclusive.
    /// Initialised once per slab object (constructor), with its own lock
    /// class.
    data_sem: RawRwSem,
    /// Reserved for the write path's `struct jbd2_inode` (ext4's `jinode`,
    /// set up with `jbd2_journal_init_jbd_inode` when a file is first
    /// written). Never touched until then.
    _jinode: Opaque<sys::jbd2_inode>,
    /// A fast symlink's NUL-terminated target (`i_link`), as the raw parts
    /// of a `KVec<u8>`, or NULL; freed with the inode.
    link: UnsafeCell<(*mut u8, usize, usize)>,
    /// The filesystem's data, guarded by `data_sem` once the inode is
    /// visible; written freely while it is new (`I_NEW`, locked).
    data: UnsafeCell<T::INodeData>,
}

/// The slab cache of inodes, set while a filesystem type is registered
/// (one per module).
static CACHE: AtomicPtr<sys::kmem_cache> = AtomicPtr::new(null_mut());

/// Keeps the inode cache alive; destroying it waits for RCU-delayed frees.
pub(super) struct InodeCache<T: FileSystem>(PhantomData<T>);

/// Slab constructor: initialises what lives as long as the slab object.
///
/// # Safety
///
/// Called by the slab allocator with a new `INodeInfo<T>`-sized object.
unsafe extern "C" fn init_once<T: FileSystem>(obj: *mut core::ffi::c_void) {
    let info = obj.cast::<INodeInfo<T>>();
    // SAFETY: `obj` is a fresh object of the cache, large and aligned
    // enough for an `INodeInfo<T>`; both initialisers work in place.
    unsafe {
        sys::inode_init_once(Opaque::raw_get(&raw const (*info).vfs));
        RawRwSem::init(&raw mut (*info).data_sem);
        (&raw mut (*info).link).write(UnsafeCell::new((null_mut(), 0, 0)));
    }
}

impl<T: FileSystem> InodeCache<T> {
    /// Creates the cache (EBUSY if one exists: one filesystem per module).
    pub(super) fn create() -> Result<Self> {
        let size = u32::try_from(core::mem::size_of::<INodeInfo<T>>()).map_err(|_| code::EINVAL)?;
        // The cache aligns objects to 8 bytes.
        if core::mem::align_of::<INodeInfo<T>>() > 8 {
            return Err(code::EINVAL);
        }
        // SAFETY: the name is a static C string, the constructor matches the
        // object type; no usercopy region (a fast symlink's target, which
        // readlink copies to user space, is a separate kmalloc object).
        let c = unsafe {
            sys::rext4_kmem_cache_create(
                kernel::c_str!("rext4_inode_cache").as_char_ptr(),
                size,
                0,
                0,
                Some(init_once::<T>),
            )
        };
        if c.is_null() {
            return Err(code::ENOMEM);
        }
        if CACHE
            .compare_exchange(null_mut(), c, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: just created, never used.
            unsafe { sys::kmem_cache_destroy(c) };
            return Err(code::EBUSY);
        }
        Ok(InodeCache(PhantomData))
    }
}

impl<T: FileSystem> Drop for InodeCache<T> {
    fn drop(&mut self) {
        // SAFETY: plain call; the filesystem type is unregistered, so no
        // new inodes are allocated. `rcu_barrier` waits for the RCU-delayed
        // `free_inode` calls of evicted inodes, which still use `CACHE`:
        // only afterwards is it cleared and the cache destroyed.
        unsafe { sys::rcu_barrier() };
        let c = CACHE.swap(null_mut(), Ordering::AcqRel);
        // SAFETY: no object of the cache is in use any more (see above).
        unsafe { sys::kmem_cache_destroy(c) };
    }
}

/// `super_operations.alloc_inode`.
///
/// # Safety
///
/// Called by the VFS for a super_block of `T`.
pub(super) unsafe extern "C" fn alloc_inode<T: FileSystem>(
    sb: *mut sys::super_block,
) -> *mut sys::inode {
    let c = CACHE.load(Ordering::Acquire);
    // SAFETY: the cache exists while the filesystem type is registered;
    // `alloc_inode_sb` charges the object to the super_block's inode LRU.
    let info = unsafe { sys::rext4_alloc_inode_sb(sb, c) }.cast::<INodeInfo<T>>();
    if info.is_null() {
        return null_mut();
    }
    // SAFETY: `info` is a live object whose VFS part, lock and link the
    // constructor initialised (`free_inode` leaves them so); the data is
    // initialised here before any use and dropped in `free_inode`.
    unsafe {
        (&raw mut (*info).data).write(UnsafeCell::new(T::INodeData::default()));
        Opaque::raw_get(&raw const (*info).vfs)
    }
}

/// `super_operations.free_inode` (after an RCU grace period).
///
/// # Safety
///
/// Called by the VFS once per inode from `alloc_inode`, when nothing uses
/// it any more.
pub(super) unsafe extern "C" fn free_inode<T: FileSystem>(inode: *mut sys::inode) {
    let info = inode.cast::<INodeInfo<T>>();
    // SAFETY: the inode is the first field of an `INodeInfo<T>` from the
    // cache, unused from now on: its data is dropped, its link target (a
    // `KVec` from `NewINode::init`) freed, and the object returned.
    unsafe {
        core::ptr::drop_in_place((*info).data.get());
        let (p, len, cap) = core::mem::replace(&mut *(*info).link.get(), (null_mut(), 0, 0));
        if !p.is_null() {
            drop(KVec::from_raw_parts(p, len, cap));
        }
        sys::kmem_cache_free(CACHE.load(Ordering::Acquire), inode.cast());
    }
}

/// An inode of filesystem `T`.
///
/// INVARIANT: the wrapped inode is live while referenced, belongs to a
/// mounted super_block of `T`, is the `vfs` field of an `INodeInfo<T>`,
/// and is fully set up (not `I_NEW`).
#[repr(transparent)]
pub(crate) struct INode<T: FileSystem>(Opaque<sys::inode>, PhantomData<T>);

// SAFETY: `ihold`/`iput` are atomic and may be called on any thread; the
// inode is freed only when the last reference goes.
unsafe impl<T: FileSystem> AlwaysRefCounted for INode<T> {
    fn inc_ref(&self) {
        // SAFETY: live by the type invariant, so its count is positive.
        unsafe { sys::ihold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up one reference.
        unsafe { sys::iput(obj.as_ptr().cast()) };
    }
}

// SAFETY: the data is `Send + Sync` and guarded by the inode's lock; the
// VFS fields are only read through the kernel's own accessors.
unsafe impl<T: FileSystem> Send for INode<T> {}
// SAFETY: as above.
unsafe impl<T: FileSystem> Sync for INode<T> {}

impl<T: FileSystem> INode<T> {
    /// Borrows an inode the VFS passed to a callback.
    ///
    /// # Safety
    ///
    /// `inode` must satisfy the type invariant for `'a`.
    pub(super) unsafe fn from_raw<'a>(inode: *mut sys::inode) -> &'a Self {
        // SAFETY: transparent wrapper; validity guaranteed by the caller.
        unsafe { &*inode.cast::<Self>() }
    }

    pub(super) fn as_ptr(&self) -> *mut sys::inode {
        self.0.get()
    }

    fn info(&self) -> *mut INodeInfo<T> {
        self.as_ptr().cast()
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: live by the type invariant; `i_ino` never changes.
        unsafe { (*self.as_ptr()).i_ino as u64 }
    }

    /// The file size.
    pub(crate) fn size(&self) -> i64 {
        // SAFETY: live by the type invariant; on 64-bit `i_size` is read
        // atomically (what `i_size_read` does there).
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).i_size) }
    }

    /// log2 of the block size (`i_blkbits`).
    pub(crate) fn block_bits(&self) -> u32 {
        // SAFETY: live; `i_blkbits` is set from the super_block when the
        // inode is allocated and never changes.
        u32::from(unsafe { (*self.as_ptr()).i_blkbits })
    }

    /// The super_block.
    pub(crate) fn sb(&self) -> &SuperBlock<T> {
        // SAFETY: an inode keeps its super_block alive; the type invariant
        // says it is a mounted one of `T`.
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// The attributes the VFS keeps in the inode, read for writing them to
    /// disk. Timestamps may change meanwhile (`touch_atime` holds no lock
    /// a reader can take): each field is read once, as the kernel's
    /// READ_ONCE, so a concurrent update gives an old or a new value.
    pub(crate) fn attrs(&self) -> VfsAttrs {
        let i = self.as_ptr();
        // SAFETY: live by the type invariant; the ids, the size and
        // i_version through the kernel's accessors (i_version is atomic),
        // the other fields by volatile loads of plain integers (any value
        // is valid).
        unsafe {
            use core::ptr::read_volatile as once;
            VfsAttrs {
                mode: once(&raw const (*i).i_mode),
                uid: sys::rext4_i_uid_read(i),
                gid: sys::rext4_i_gid_read(i),
                nlink: once(&raw const (*i).__bindgen_anon_1.i_nlink),
                size: sys::rext4_i_size_read(i),
                atime: (
                    once(&raw const (*i).i_atime_sec),
                    once(&raw const (*i).i_atime_nsec),
                ),
                mtime: (
                    once(&raw const (*i).i_mtime_sec),
                    once(&raw const (*i).i_mtime_nsec),
                ),
                ctime: (
                    once(&raw const (*i).i_ctime_sec),
                    once(&raw const (*i).i_ctime_nsec),
                ),
                blocks_512: once(&raw const (*i).i_blocks),
                generation: once(&raw const (*i).i_generation),
                version: sys::rext4_inode_peek_iversion(i),
            }
        }
    }

    /// The filesystem's data, shared (`down_read` of the data lock).
    pub(crate) fn read(&self) -> ReadGuard<'_, T::INodeData> {
        let info = self.info();
        // SAFETY: live by the type invariant; the lock was initialised by
        // the slab constructor and guards `data` once the inode is visible.
        unsafe { ReadGuard::new(&(*info).data_sem, &(*info).data) }
    }

    /// The filesystem's data, exclusive (`down_write`): for the write path.
    pub(crate) fn write(&self) -> WriteGuard<'_, T::INodeData> {
        let info = self.info();
        // SAFETY: as for `read`.
        unsafe { WriteGuard::new(&(*info).data_sem, &(*info).data) }
    }
}

impl<T: FileSystem> INode<T> {
    /// The link count (`i_nlink`).
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: live by the type invariant; a plain integer read once.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).__bindgen_anon_1.i_nlink) }
    }

    // The setters below change VFS fields the way the kernel's own
    // namespace code does: the caller holds the locks the VFS takes around
    // the operation (`i_rwsem` of the inode, and of its directory for a
    // namespace change), so no two of them race on one inode.

    /// Adds a link (`inc_nlink`).
    pub(crate) fn inc_nlink(&self) {
        // SAFETY: live inode (type invariant); locking as above.
        unsafe { sys::inc_nlink(self.as_ptr()) }
    }

    /// Drops a link (`drop_nlink`; the caller checks the count is not 0).
    pub(crate) fn drop_nlink(&self) {
        if self.nlink() == 0 {
            return;
        }
        // SAFETY: live inode (type invariant) with a link; locking as above.
        unsafe { sys::drop_nlink(self.as_ptr()) }
    }

    /// Sets the link count (`set_nlink`): a directory with more
    /// subdirectories than a link count holds reads 1 ("many").
    pub(crate) fn set_nlink(&self, n: u32) {
        // SAFETY: live inode (type invariant); locking as above.
        unsafe { sys::set_nlink(self.as_ptr(), n) }
    }

    /// Drops every link (`clear_nlink`).
    pub(crate) fn clear_nlink(&self) {
        // SAFETY: live inode (type invariant); locking as above.
        unsafe { sys::clear_nlink(self.as_ptr()) }
    }

    /// Sets the change time to now, and the modification time with it
    /// when `mtime`.
    pub(crate) fn touch(&self, mtime: bool) {
        // SAFETY: live inode (type invariant); locking as above.
        unsafe { sys::rext4_inode_touch(self.as_ptr(), mtime) }
    }

    /// Steps the change counter (`inode_inc_iversion`).
    pub(crate) fn inc_version(&self) {
        // SAFETY: live inode (type invariant); the counter is atomic.
        unsafe { sys::rext4_inode_inc_iversion(self.as_ptr()) }
    }

    /// Sets the size (`i_size_write`).
    pub(crate) fn set_size(&self, size: i64) {
        // SAFETY: live inode (type invariant); `i_size_write` wants the
        // inode locked, as above.
        unsafe { sys::rext4_i_size_write(self.as_ptr(), size) }
    }

    /// Sets the space used, in 512-byte units (`i_blocks`, under
    /// `i_lock`).
    pub(crate) fn set_blocks_512(&self, n: u64) {
        // SAFETY: live inode (type invariant); the shim takes `i_lock`.
        unsafe { sys::rext4_inode_set_blocks(self.as_ptr(), n) }
    }
}

/// The attributes of an inode the VFS keeps (see [`INode::attrs`]).
pub(crate) struct VfsAttrs {
    pub(crate) mode: u16,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u32,
    pub(crate) size: i64,
    pub(crate) atime: (i64, u32),
    pub(crate) mtime: (i64, u32),
    pub(crate) ctime: (i64, u32),
    pub(crate) blocks_512: u64,
    pub(crate) generation: u32,
    /// The change counter (`i_version`) without its "queried" flag.
    pub(crate) version: u64,
}

/// An attribute change handed to [`FileSystem::setattr`], already checked
/// by `setattr_prepare` (permissions, limits).
pub(crate) struct SetAttr<'a> {
    idmap: *mut sys::mnt_idmap,
    inode: *mut sys::inode,
    attr: &'a sys::iattr,
}

impl SetAttr<'_> {
    /// The new size, when the change sets one.
    pub(crate) fn size(&self) -> Option<i64> {
        (self.attr.ia_valid & sys::REXT4_ATTR_SIZE != 0).then_some(self.attr.ia_size)
    }

    /// Whether the change sets the mode.
    pub(crate) fn sets_mode(&self) -> bool {
        self.attr.ia_valid & sys::REXT4_ATTR_MODE != 0
    }

    /// Whether the change must also remove the file's capabilities
    /// (`ATTR_KILL_PRIV`: a chown or write of a file that has
    /// `security.capability`).
    pub(crate) fn kills_priv(&self) -> bool {
        self.attr.ia_valid & sys::REXT4_ATTR_KILL_PRIV != 0
    }

    /// Applies the change to the inode in memory (`setattr_copy`); the
    /// filesystem writes it to disk itself.
    pub(crate) fn copy(&self) {
        // SAFETY: the pointers are the live ones the VFS passed to
        // `setattr`, which runs with the inode locked (`i_rwsem`), as
        // `setattr_copy` wants.
        unsafe { sys::setattr_copy(self.idmap, self.inode, self.attr) }
    }
}

/// `inode_operations.setattr`: `setattr_prepare`, then the filesystem.
///
/// # Safety
///
/// Called by the VFS (`notify_change`) with a live dentry of an inode of
/// `T`, its `i_rwsem` held, and the change.
unsafe extern "C" fn setattr<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dentry: *mut sys::dentry,
    attr: *mut sys::iattr,
) -> c_int {
    // SAFETY: live arguments from the VFS (see above).
    let r = unsafe { sys::setattr_prepare(idmap, dentry, attr) };
    if r != 0 {
        return r;
    }
    // SAFETY: the dentry is positive and its inode a live inode of `T`;
    // `attr` lives for the call.
    let (raw, attr) = unsafe { ((*dentry).d_inode, &*attr) };
    // SAFETY: as above.
    let inode = unsafe { INode::<T>::from_raw(raw) };
    let a = SetAttr {
        idmap,
        inode: raw,
        attr,
    };
    match T::setattr(inode, &a) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The attributes of an inode being set up.
pub(crate) struct INodeParams<'a, D> {
    pub(crate) typ: INodeType<'a>,
    pub(crate) attrs: VfsAttrs,
    pub(crate) flags: VfsFlags,
    pub(crate) data: D,
}

/// Which operations an inode gets.
pub(crate) enum INodeType<'a> {
    /// Regular file: page cache reads through the filesystem's block map.
    Reg,
    /// Directory.
    Dir,
    /// Symlink whose target (without NUL) the glue keeps in memory.
    FastSymlink(&'a [u8]),
    /// Symlink with the target in the file's first block (page cache).
    SlowSymlink,
    /// Device node, FIFO or socket (type from the mode), with its device
    /// number: getattr only, as ext4's special inode operations.
    Special {
        /// The kernel's `dev_t`.
        rdev: u32,
    },
}

/// VFS inode flags (`S_*`).
pub(crate) struct VfsFlags {
    pub(crate) sync: bool,
    pub(crate) immutable: bool,
    pub(crate) append: bool,
    pub(crate) noatime: bool,
    pub(crate) dirsync: bool,
}

impl VfsFlags {
    fn bits(&self) -> u32 {
        let mut b = 0;
        for (on, bit) in [
            (self.sync, sys::REXT4_S_SYNC),
            (self.immutable, sys::REXT4_S_IMMUTABLE),
            (self.append, sys::REXT4_S_APPEND),
            (self.noatime, sys::REXT4_S_NOATIME),
            (self.dirsync, sys::REXT4_S_DIRSYNC),
        ] {
            if on {
                b |= bit;
            }
        }
        b
    }
}

/// What `getattr` adds to the generic attributes.
pub(crate) struct StatxExtra {
    pub(crate) btime: Option<(i64, u32)>,
    pub(crate) immutable: bool,
    pub(crate) append: bool,
    pub(crate) nodump: bool,
    pub(crate) compressed: bool,
}

/// A new inode (`I_NEW`, locked) being filled in. Dropping it without
/// `init` marks it bad (`iget_failed`).
///
/// INVARIANT: as `INode`, except that the inode is `I_NEW` and invisible to
/// others until `init`; this object owns one reference.
pub(crate) struct NewINode<T: FileSystem>(NonNull<sys::inode>, PhantomData<T>);

/// Result of looking an inode number up in the inode cache.
pub(crate) enum Got<T: FileSystem> {
    /// Already in memory and set up.
    Cached(ARef<INode<T>>),
    /// Newly allocated: read it from disk and `init` it.
    New(NewINode<T>),
}

/// Gets inode `ino` of `sb` from the inode cache, or a new locked one.
pub(crate) fn iget_locked<T: FileSystem>(sb: &SuperBlock<T>, ino: u64) -> Result<Got<T>> {
    let ino = usize::try_from(ino).map_err(|_| code::EINVAL)?;
    // SAFETY: `sb` is a live mounted super_block of `T`.
    let p = unsafe { sys::iget_locked(sb.as_ptr(), ino) };
    let p = NonNull::new(p).ok_or(code::ENOMEM)?;
    // SAFETY: `iget_locked` returned a referenced live inode. Other bits
    // of `i_state` change under `i_lock`, so it is read once (READ_ONCE);
    // I_NEW is set for us only if we are the one to fill the inode in.
    let state = unsafe { core::ptr::read_volatile(&raw const (*p.as_ptr()).i_state) };
    Ok(
        if u64::from(state) & u64::from(sys::REXT4_I_NEW as u32) != 0 {
            Got::New(NewINode(p, PhantomData))
        } else {
            // SAFETY: a set-up inode of `T` whose reference passes on.
            Got::Cached(unsafe { ARef::from_raw(p.cast()) })
        },
    )
}

/// The id mapping of the mount a namespace operation came through (for
/// the owner of a new inode).
#[derive(Clone, Copy)]
pub(crate) struct Idmap(*mut sys::mnt_idmap);

/// What a new directory entry is to name: a new inode of this mode (type
/// bits included) with this device number or symlink target.
pub(crate) struct NewSpec<'a> {
    idmap: Idmap,
    /// The mode asked for, with the file type.
    pub(crate) mode: u16,
    /// A device node's number (the kernel's `dev_t`), else 0.
    pub(crate) rdev: u32,
    /// A symlink's target (without NUL).
    pub(crate) target: Option<&'a [u8]>,
}

impl<T: FileSystem> INode<T> {
    /// A new in-memory inode of this directory's filesystem for `spec`,
    /// not yet numbered or hashed: its owner, group and mode as the VFS
    /// gives a new inode in this directory (`inode_init_owner`: the
    /// caller's ids through the mount's mapping, the directory's group and
    /// set-group-ID bit where it has one, the set-group-ID bit of a file
    /// dropped when the caller may not keep it), the caller's umask
    /// applied (`posix_acl_create`, with the directory's default ACL if
    /// it has one), and its times now. EOPNOTSUPP when the directory has
    /// a default ACL: the new inode would need ACLs written.
    pub(crate) fn new_draft(&self, spec: &NewSpec<'_>) -> Result<Draft<T>> {
        // SAFETY: live super_block of a live inode; `new_inode` allocates
        // through `alloc_inode` (an `INodeInfo<T>`) and returns it
        // referenced, unhashed and not yet visible to anyone.
        let p = unsafe { sys::new_inode((*self.as_ptr()).i_sb) };
        let p = NonNull::new(p).ok_or(code::ENOMEM)?;
        let draft = Draft(p, PhantomData);
        // SAFETY: the new inode is ours alone; `dir` is a live directory
        // and `idmap` the mapping the VFS passed to this operation.
        let r = unsafe {
            sys::rext4_new_inode_owner(spec.idmap.0, p.as_ptr(), self.as_ptr(), spec.mode)
        };
        // On error the draft is dropped (iput).
        kernel::error::to_result(r)?;
        Ok(draft)
    }
}

/// A new inode not yet numbered (see [`INode::new_draft`]). Dropping it
/// drops the inode, which never was on disk.
///
/// INVARIANT: a live inode of `T` from `new_inode` with one reference
/// owned here, unhashed, `i_ino` 0.
pub(crate) struct Draft<T: FileSystem>(NonNull<sys::inode>, PhantomData<T>);

impl<T: FileSystem> Draft<T> {
    /// The attributes the VFS gave it (mode, owner, times).
    pub(crate) fn attrs(&self) -> VfsAttrs {
        // SAFETY: a live inode only this task uses (type invariant); the
        // same reads as for a set-up inode.
        unsafe { INode::<T>::from_raw(self.0.as_ptr()) }.attrs()
    }

    /// Numbers the inode `ino` and hashes it locked (`insert_inode_locked`,
    /// `I_NEW`), to be set up with [`NewINode::init`]. EBUSY when an inode
    /// of that number is still in memory (being evicted).
    pub(crate) fn insert(self, ino: u64) -> Result<NewINode<T>> {
        let p = self.0;
        let ino = usize::try_from(ino).map_err(|_| code::EINVAL)?;
        // SAFETY: the inode is ours alone (type invariant): its number is
        // set before it is hashed.
        let r = unsafe {
            (*p.as_ptr()).i_ino = ino;
            sys::insert_inode_locked(p.as_ptr())
        };
        if r != 0 {
            // Dropping `self` drops the unhashed inode.
            return Err(Error::from_errno(r));
        }
        core::mem::forget(self);
        // INVARIANT: hashed, `I_NEW` and locked by `insert_inode_locked`;
        // the reference passes on.
        Ok(NewINode(p, PhantomData))
    }
}

impl<T: FileSystem> Drop for Draft<T> {
    fn drop(&mut self) {
        // SAFETY: our reference to an unhashed inode, which `iput` evicts
        // (with a link count of 1 and number 0: nothing of it on disk).
        unsafe { sys::iput(self.0.as_ptr()) };
    }
}

impl<T: FileSystem> NewINode<T> {
    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: live by the type invariant.
        unsafe { (*self.0.as_ptr()).i_ino as u64 }
    }

    /// Sets the inode up from `p` and makes it visible.
    pub(crate) fn init(self, p: INodeParams<'_, T::INodeData>) -> Result<ARef<INode<T>>> {
        let i = self.0.as_ptr();
        let info = i.cast::<INodeInfo<T>>();
        let mut link = null_mut();
        if let INodeType::FastSymlink(target) = p.typ {
            // The glue terminates the target itself, from its length.
            let mut v = KVec::with_capacity(target.len() + 1, GFP_KERNEL)?;
            v.extend_from_slice(target, GFP_KERNEL)?;
            v.push(0, GFP_KERNEL)?;
            let parts = v.into_raw_parts();
            link = parts.0;
            // SAFETY: the inode is I_NEW and locked: only we use `link`; a
            // previous target was freed and cleared by `free_inode`.
            unsafe { *(*info).link.get() = parts };
        }
        // SAFETY: the inode is I_NEW and locked, so its plain fields may be
        // written and its data replaced; the setters are the kernel's own;
        // the operation tables are promoted constants; `i_link` points to
        // the NUL-terminated target owned by the inode (freed in
        // `free_inode`, after an RCU grace period, so RCU path walks that
        // read it are safe).
        unsafe {
            *(*info).data.get() = p.data;
            (*i).i_mode = p.attrs.mode;
            sys::rext4_i_uid_gid_write(i, p.attrs.uid, p.attrs.gid);
            sys::set_nlink(i, p.attrs.nlink);
            sys::rext4_i_size_write(i, p.attrs.size);
            (*i).i_atime_sec = p.attrs.atime.0;
            (*i).i_atime_nsec = p.attrs.atime.1;
            (*i).i_mtime_sec = p.attrs.mtime.0;
            (*i).i_mtime_nsec = p.attrs.mtime.1;
            (*i).i_ctime_sec = p.attrs.ctime.0;
            (*i).i_ctime_nsec = p.attrs.ctime.1;
            (*i).i_blocks = p.attrs.blocks_512;
            (*i).i_generation = p.attrs.generation;
            // Queried: the next change increments it, whoever looked.
            sys::rext4_inode_set_iversion_queried(i, p.attrs.version);
            (*i).i_flags |= p.flags.bits();
            match p.typ {
                INodeType::Reg => {
                    (*i).i_op = &Tables::<T>::FILE;
                    (*i).__bindgen_anon_3.i_fop = file::file_ops::<T>();
                    (*i).i_data.a_ops = address_space::aops::<T>();
                }
                INodeType::Dir => {
                    (*i).i_op = &Tables::<T>::DIR;
                    (*i).__bindgen_anon_3.i_fop = file::dir_ops::<T>();
                    (*i).i_data.a_ops = address_space::aops::<T>();
                }
                INodeType::FastSymlink(_) => {
                    (*i).__bindgen_anon_4.i_link = link.cast();
                    (*i).i_op = &Tables::<T>::FAST_SYMLINK;
                }
                INodeType::SlowSymlink => {
                    (*i).i_op = &Tables::<T>::SLOW_SYMLINK;
                    sys::rext4_inode_nohighmem(i);
                    (*i).i_data.a_ops = address_space::aops::<T>();
                }
                INodeType::Special { rdev } => {
                    (*i).i_op = &Tables::<T>::SPECIAL;
                    sys::init_special_inode(i, p.attrs.mode, rdev);
                }
            }
        }
        let ptr = self.0;
        core::mem::forget(self);
        // SAFETY: the inode is I_NEW, locked, and fully set up.
        unsafe { sys::unlock_new_inode(ptr.as_ptr()) };
        // SAFETY: now a set-up inode of `T`; the reference from
        // `iget_locked` passes on.
        Ok(unsafe { ARef::from_raw(ptr.cast()) })
    }
}

impl<T: FileSystem> Drop for NewINode<T> {
    fn drop(&mut self) {
        // SAFETY: the inode is I_NEW and we own its reference;
        // `iget_failed` marks it bad, unlocks it and drops the reference.
        unsafe { sys::iget_failed(self.0.as_ptr()) };
    }
}

/// The inode operation tables of `T`.
struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    // The optional callbacks several tables share: set when the filesystem
    // implements the operation (`#[vtable]`'s `HAS_*`).
    const FIEMAP: Option<
        unsafe extern "C" fn(*mut sys::inode, *mut sys::fiemap_extent_info, u64, u64) -> c_int,
    > = if T::HAS_IOMAP_REPORT {
        Some(iomap::fiemap::<T>)
    } else {
        None
    };
    const LISTXATTR: Option<unsafe extern "C" fn(*mut sys::dentry, *mut c_char, usize) -> isize> =
        if T::HAS_GETXATTR {
            Some(xattr::listxattr::<T>)
        } else {
            None
        };
    const GET_INODE_ACL: Option<
        unsafe extern "C" fn(*mut sys::inode, c_int, bool) -> *mut sys::posix_acl,
    > = if T::HAS_GET_ACL {
        Some(xattr::get_inode_acl::<T>)
    } else {
        None
    };

    const SETATTR: Option<
        unsafe extern "C" fn(*mut sys::mnt_idmap, *mut sys::dentry, *mut sys::iattr) -> c_int,
    > = if T::HAS_SETATTR {
        Some(setattr::<T>)
    } else {
        None
    };

    const DIR: sys::inode_operations = sys::inode_operations {
        lookup: if T::HAS_LOOKUP {
            Some(dentry::lookup::<T>)
        } else {
            None
        },
        create: if T::HAS_CREATE_ENTRY {
            Some(create::<T>)
        } else {
            None
        },
        mkdir: if T::HAS_CREATE_ENTRY {
            Some(mkdir::<T>)
        } else {
            None
        },
        mknod: if T::HAS_CREATE_ENTRY {
            Some(mknod::<T>)
        } else {
            None
        },
        symlink: if T::HAS_CREATE_ENTRY {
            Some(symlink::<T>)
        } else {
            None
        },
        link: if T::HAS_LINK { Some(link::<T>) } else { None },
        unlink: if T::HAS_UNLINK {
            Some(unlink::<T>)
        } else {
            None
        },
        rmdir: if T::HAS_RMDIR { Some(rmdir::<T>) } else { None },
        rename: if T::HAS_RENAME {
            Some(rename::<T>)
        } else {
            None
        },
        getattr: Some(getattr::<T>),
        setattr: Self::SETATTR,
        fiemap: Self::FIEMAP,
        listxattr: Self::LISTXATTR,
        get_inode_acl: Self::GET_INODE_ACL,
        ..zeroed()
    };
    const FILE: sys::inode_operations = sys::inode_operations {
        getattr: Some(getattr::<T>),
        setattr: Self::SETATTR,
        fiemap: Self::FIEMAP,
        listxattr: Self::LISTXATTR,
        get_inode_acl: Self::GET_INODE_ACL,
        ..zeroed()
    };
    const FAST_SYMLINK: sys::inode_operations = sys::inode_operations {
        get_link: Some(sys::simple_get_link),
        getattr: Some(getattr::<T>),
        setattr: Self::SETATTR,
        listxattr: Self::LISTXATTR,
        ..zeroed()
    };
    const SLOW_SYMLINK: sys::inode_operations = sys::inode_operations {
        get_link: if T::HAS_READ_LINK {
            Some(get_link::<T>)
        } else {
            Some(sys::page_get_link)
        },
        getattr: Some(getattr::<T>),
        setattr: Self::SETATTR,
        listxattr: Self::LISTXATTR,
        ..zeroed()
    };
    /// Device nodes, FIFOs and sockets (ext4's special inode operations):
    /// no FIEMAP, no block map; attributes and ACLs as files. Symlinks
    /// list attributes but have no ACLs (as ext4's).
    const SPECIAL: sys::inode_operations = sys::inode_operations {
        getattr: Some(getattr::<T>),
        setattr: Self::SETATTR,
        listxattr: Self::LISTXATTR,
        get_inode_acl: Self::GET_INODE_ACL,
        ..zeroed()
    };
}

/// `inode_operations.getattr`: the generic attributes plus the
/// filesystem's statx extras.
///
/// # Safety
///
/// Called by the VFS with a live path of an inode of `T` and a kstat.
unsafe extern "C" fn getattr<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    path: *const sys::path,
    stat: *mut sys::kstat,
    request_mask: u32,
    _flags: c_uint,
) -> c_int {
    // SAFETY: the path pins its dentry, whose inode is a live inode of `T`.
    let raw = unsafe { (*(*path).dentry).d_inode };
    // SAFETY: as above.
    let inode = unsafe { INode::<T>::from_raw(raw) };
    let x = if T::HAS_STATX_EXTRA {
        Some(T::statx_extra(inode))
    } else {
        None
    };
    // SAFETY: `stat` is the caller's kstat; `generic_fillattr` fills the
    // generic fields from the live inode.
    unsafe {
        if let Some(x) = x {
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
            // As ext4: ENCRYPTED is known (always clear here).
            (*stat).attributes_mask |= sys::REXT4_STATX_ATTR_IMMUTABLE
                | sys::REXT4_STATX_ATTR_APPEND
                | sys::REXT4_STATX_ATTR_NODUMP
                | sys::REXT4_STATX_ATTR_COMPRESSED
                | sys::REXT4_STATX_ATTR_ENCRYPTED;
        }
        sys::generic_fillattr(idmap, request_mask, raw, stat);
    }
    0
}

/// The name of a dentry the VFS passed to a namespace operation.
///
/// # Safety
///
/// `dentry` is live and its name stable for `'a` (its parent directory is
/// locked by the VFS for the operation).
unsafe fn dentry_name<'a>(dentry: *mut sys::dentry) -> &'a [u8] {
    let mut len: c_uint = 0;
    // SAFETY: per the function's contract; the pointer and length describe
    // the name's bytes.
    unsafe {
        let p = sys::rext4_dentry_name(dentry, &mut len);
        core::slice::from_raw_parts(p, len as usize)
    }
}

/// The new-inode operations (create, mkdir, mknod, symlink): the
/// filesystem makes the inode and its entry, the glue attaches the inode
/// to the dentry (`d_instantiate`, which takes over the reference).
///
/// # Safety
///
/// Called by the VFS with a live, locked directory of `T`, a negative
/// dentry in it and the mapping of the mount.
unsafe fn new_entry<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: u32,
    rdev: u32,
    target: Option<&[u8]>,
) -> c_int {
    // SAFETY: per the function's contract.
    let (dir, name) = unsafe { (INode::<T>::from_raw(dir), dentry_name(dentry)) };
    let spec = NewSpec {
        idmap: Idmap(idmap),
        mode: mode as u16,
        rdev,
        target,
    };
    match T::create_entry(dir, name, &spec) {
        Ok(inode) => {
            // SAFETY: a negative dentry of the locked directory; the set-up
            // inode's reference passes to the dentry.
            unsafe { sys::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast()) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `inode_operations.create`.
///
/// # Safety
///
/// See [`new_entry`].
unsafe extern "C" fn create<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: sys::umode_t,
    _excl: bool,
) -> c_int {
    let mode = (u32::from(mode) & !sys::REXT4_S_IFMT) | sys::REXT4_S_IFREG;
    // SAFETY: as the VFS calls it (see `new_entry`).
    unsafe { new_entry::<T>(idmap, dir, dentry, mode, 0, None) }
}

/// `inode_operations.mkdir` (the VFS passes the permission bits only).
///
/// # Safety
///
/// See [`new_entry`].
unsafe extern "C" fn mkdir<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: sys::umode_t,
) -> c_int {
    let mode = (u32::from(mode) & !sys::REXT4_S_IFMT) | sys::REXT4_S_IFDIR;
    // SAFETY: as the VFS calls it (see `new_entry`).
    unsafe { new_entry::<T>(idmap, dir, dentry, mode, 0, None) }
}

/// `inode_operations.mknod` (device nodes, FIFOs, sockets, and regular
/// files when called through mknod(2)).
///
/// # Safety
///
/// See [`new_entry`].
unsafe extern "C" fn mknod<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: sys::umode_t,
    rdev: sys::dev_t,
) -> c_int {
    // SAFETY: as the VFS calls it (see `new_entry`).
    unsafe { new_entry::<T>(idmap, dir, dentry, mode.into(), rdev, None) }
}

/// `inode_operations.symlink`.
///
/// # Safety
///
/// See [`new_entry`]; `target` is a NUL-terminated string of the caller's
/// (copied from user space, at most `PATH_MAX` bytes with the NUL).
unsafe extern "C" fn symlink<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    target: *const c_char,
) -> c_int {
    // SAFETY: a NUL-terminated string that lives for the call.
    let t = unsafe { kernel::str::CStr::from_char_ptr(target) }.as_bytes();
    let mode = sys::REXT4_S_IFLNK | 0o777;
    // SAFETY: as the VFS calls it (see `new_entry`).
    unsafe { new_entry::<T>(idmap, dir, dentry, mode, 0, Some(t)) }
}

/// `inode_operations.link`: the filesystem adds the entry and the link,
/// the glue attaches the inode (one more reference) to the new dentry.
///
/// # Safety
///
/// Called by the VFS with the old dentry (positive, its inode locked), the
/// locked directory of `T` and a negative dentry in it.
unsafe extern "C" fn link<T: FileSystem>(
    old: *mut sys::dentry,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
) -> c_int {
    // SAFETY: per the contract; the old dentry's inode is a live inode of
    // `T` (same super_block: the VFS refuses cross-device links).
    let (inode, dir, name) = unsafe {
        (
            INode::<T>::from_raw((*old).d_inode),
            INode::<T>::from_raw(dir),
            dentry_name(dentry),
        )
    };
    match T::link(inode, dir, name) {
        Ok(()) => {
            // SAFETY: a new reference for the dentry, which takes it over.
            unsafe {
                sys::ihold(inode.as_ptr());
                sys::d_instantiate(dentry, inode.as_ptr());
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `inode_operations.unlink`.
///
/// # Safety
///
/// Called by the VFS with a locked directory of `T` and a positive dentry
/// in it whose inode is locked too.
unsafe extern "C" fn unlink<T: FileSystem>(
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
) -> c_int {
    // SAFETY: per the contract.
    let (dir, name, inode) = unsafe {
        (
            INode::<T>::from_raw(dir),
            dentry_name(dentry),
            INode::<T>::from_raw((*dentry).d_inode),
        )
    };
    match T::unlink(dir, name, inode) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `inode_operations.rmdir`.
///
/// # Safety
///
/// As [`unlink`].
unsafe extern "C" fn rmdir<T: FileSystem>(dir: *mut sys::inode, dentry: *mut sys::dentry) -> c_int {
    // SAFETY: per the contract.
    let (dir, name, inode) = unsafe {
        (
            INode::<T>::from_raw(dir),
            dentry_name(dentry),
            INode::<T>::from_raw((*dentry).d_inode),
        )
    };
    match T::rmdir(dir, name, inode) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `super_operations.evict_inode`: the page cache goes, and an inode with
/// no link left (and not marked bad) is deleted by the filesystem first.
///
/// # Safety
///
/// Called by the VFS once per inode of a super_block of `T` when its last
/// reference went (`I_FREEING`: nobody else can reach it).
pub(super) unsafe extern "C" fn evict_inode<T: FileSystem>(inode: *mut sys::inode) {
    // SAFETY: per the contract. An unnumbered inode (a dropped `Draft`)
    // and a bad one are never handed to the filesystem; one with links
    // (the journal's too, whose link count stays 1: a live inode of the
    // super_block all the same) only to `before_evict`, one without to
    // `before_evict` and then `delete_inode`. A set-up one
    // satisfies `INode`'s invariant but for `I_FREEING`, which only keeps
    // others away.
    unsafe {
        if T::HAS_BEFORE_EVICT && (*inode).i_ino != 0 && !sys::rext4_is_bad_inode(inode) {
            T::before_evict(INode::<T>::from_raw(inode));
        }
        sys::truncate_inode_pages_final(&raw mut (*inode).i_data);
        let deleted = (*inode).__bindgen_anon_1.i_nlink == 0
            && (*inode).i_ino != 0
            && !sys::rext4_is_bad_inode(inode);
        if T::HAS_DELETE_INODE && deleted {
            T::delete_inode(INode::<T>::from_raw(inode));
        }
        sys::clear_inode(inode);
    }
}

/// `inode_operations.get_link` of a symlink whose target is in a block:
/// the filesystem reads it (through the buffer cache, where the write
/// path puts it, as ext4 reads its symlink blocks), the glue hands the
/// VFS a NUL-terminated copy it frees when done (`kfree_link`). Not in
/// an RCU walk (ECHILD: the VFS retries with references).
///
/// # Safety
///
/// Called by the VFS with a live symlink inode of `T`, its dentry (NULL
/// in an RCU walk) and the delayed call to fill.
unsafe extern "C" fn get_link<T: FileSystem>(
    dentry: *mut sys::dentry,
    inode: *mut sys::inode,
    done: *mut sys::delayed_call,
) -> *const c_char {
    if dentry.is_null() {
        return dentry::err_ptr(code::ECHILD);
    }
    // SAFETY: a live inode of `T` (see above).
    let inode = unsafe { INode::<T>::from_raw(inode) };
    let r = T::read_link(inode).and_then(|mut v| {
        v.push(0, GFP_KERNEL)?;
        Ok(v)
    });
    match r {
        Ok(v) => {
            let (p, _, _) = v.into_raw_parts();
            // SAFETY: `p` is a kmalloc'd NUL-terminated string (a `KVec`'s
            // buffer, given up here), freed by `kfree_link` through the
            // delayed call, which the VFS runs once it is done with it.
            unsafe { sys::rext4_set_link_free(done, p.cast()) };
            p.cast()
        }
        Err(e) => dentry::err_ptr(e),
    }
}

/// What a rename asks for besides moving the entry (`RENAME_*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameMode {
    /// Move, replacing an existing target (or refusing to, with
    /// `RENAME_NOREPLACE`, which the VFS checked already).
    Move,
    /// Swap the two entries (`RENAME_EXCHANGE`; both exist).
    Exchange,
    /// Move and leave a whiteout behind (`RENAME_WHITEOUT`).
    Whiteout,
}

/// `inode_operations.rename`: flags other than NOREPLACE, EXCHANGE and
/// WHITEOUT are EINVAL.
///
/// # Safety
///
/// Called by the VFS (`vfs_rename`) with both directories of `T` locked,
/// the old dentry positive, the new one positive or negative, and their
/// inodes locked.
unsafe extern "C" fn rename<T: FileSystem>(
    _idmap: *mut sys::mnt_idmap,
    old_dir: *mut sys::inode,
    old: *mut sys::dentry,
    new_dir: *mut sys::inode,
    new: *mut sys::dentry,
    flags: c_uint,
) -> c_int {
    let known =
        sys::REXT4_RENAME_NOREPLACE | sys::REXT4_RENAME_EXCHANGE | sys::REXT4_RENAME_WHITEOUT;
    if flags & !known != 0 {
        return code::EINVAL.to_errno();
    }
    let mode = if flags & sys::REXT4_RENAME_EXCHANGE != 0 {
        RenameMode::Exchange
    } else if flags & sys::REXT4_RENAME_WHITEOUT != 0 {
        RenameMode::Whiteout
    } else {
        RenameMode::Move
    };
    // SAFETY: per the contract: live, locked inodes of `T` and dentries
    // whose names are stable during the call.
    let r = unsafe {
        let target = (*new).d_inode;
        let target = if target.is_null() {
            None
        } else {
            Some(INode::<T>::from_raw(target))
        };
        T::rename(
            INode::<T>::from_raw(old_dir),
            dentry_name(old),
            INode::<T>::from_raw((*old).d_inode),
            INode::<T>::from_raw(new_dir),
            dentry_name(new),
            target,
            mode,
        )
    };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl<T: FileSystem> INode<T> {
    /// Whether the file has folios in its page cache.
    pub(crate) fn has_pages(&self) -> bool {
        // SAFETY: live inode; a racy read of a counter.
        unsafe { sys::rext4_has_pages(self.as_ptr()) }
    }

    /// Writes the file's dirty folios in bytes `start..=end` and waits
    /// for them and for every folio of the range under writeback
    /// (`filemap_write_and_wait_range`).
    pub(crate) fn write_and_wait(&self, start: i64, end: i64) -> Result {
        // SAFETY: live inode.
        kernel::error::to_result(unsafe { sys::rext4_write_and_wait(self.as_ptr(), start, end) })
    }
}

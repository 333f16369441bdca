// SPDX-License-Identifier: GPL-2.0

//! rext4 inodes: the VFS inode embedded in rext4's own per-inode data, the
//! slab cache they come from, and references to them.

use super::super_block::SuperBlock;
use crate::fs::inode::InodeData;
use crate::sys;
use core::ops::Deref;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{code, Result};
use kernel::types::Opaque;

/// A rext4 inode in memory: the VFS inode followed by rext4's data.
///
/// `vfs` must stay the first field: the VFS hands out pointers to it and
/// rext4 converts them back by a cast (container_of at offset 0).
#[repr(C)]
pub(crate) struct InodeInfo {
    vfs: sys::inode,
    data: InodeData,
}

/// The slab cache of `InodeInfo`s, set while the module is loaded.
static CACHE: AtomicPtr<sys::kmem_cache> = AtomicPtr::new(null_mut());

/// Keeps the inode cache alive; destroying it waits for RCU-delayed frees.
pub(crate) struct InodeCache(());

/// Slab constructor: initialises the VFS part once per object.
///
/// # Safety
///
/// Called by the slab allocator with a new `InodeInfo`-sized object.
unsafe extern "C" fn init_once(obj: *mut core::ffi::c_void) {
    let info = obj.cast::<InodeInfo>();
    // SAFETY: `obj` is a fresh object of the cache, large and aligned
    // enough for an `InodeInfo`; `inode_init_once` initialises the inode.
    unsafe { sys::inode_init_once(&raw mut (*info).vfs) };
}

impl InodeCache {
    /// Creates the cache.
    pub(crate) fn create() -> Result<InodeCache> {
        let size = u32::try_from(core::mem::size_of::<InodeInfo>()).map_err(|_| code::EINVAL)?;
        // A fast symlink's `i_link` points into `InodeData::i_block`, which
        // `readlink(2)` copies to user space: that region must be
        // whitelisted for hardened usercopy.
        let useroffset = core::mem::offset_of!(InodeInfo, data) + InodeData::I_BLOCK_OFFSET;
        let useroffset = u32::try_from(useroffset).map_err(|_| code::EINVAL)?;
        let usersize = InodeData::I_BLOCK_LEN as u32;
        // SAFETY: the name is a static C string, the constructor matches the
        // object type, the usercopy region lies inside the object.
        let c = unsafe {
            sys::rext4_kmem_cache_create(
                kernel::c_str!("rext4_inode_cache").as_char_ptr(),
                size,
                useroffset,
                usersize,
                Some(init_once),
            )
        };
        if c.is_null() {
            return Err(code::ENOMEM);
        }
        CACHE.store(c, Ordering::Release);
        Ok(InodeCache(()))
    }
}

impl Drop for InodeCache {
    fn drop(&mut self) {
        // SAFETY: plain call; the filesystem type is unregistered, so no
        // new inodes are allocated. `rcu_barrier` waits for the RCU-delayed
        // `free_inode` calls of evicted inodes, which still use `CACHE`:
        // only afterwards is it cleared and the cache destroyed.
        unsafe { sys::rcu_barrier() };
        let c = CACHE.swap(null_mut(), Ordering::AcqRel);
        // SAFETY: no object of the cache is in use any more (see above).
        unsafe {
            sys::kmem_cache_destroy(c);
        }
    }
}

/// `super_operations.alloc_inode`.
///
/// # Safety
///
/// Called by the VFS for a rext4 super_block.
pub(crate) unsafe extern "C" fn alloc_inode(sb: *mut sys::super_block) -> *mut sys::inode {
    let c = CACHE.load(Ordering::Acquire);
    // SAFETY: the cache exists while the filesystem type is registered;
    // `alloc_inode_sb` charges the object to the super_block's inode LRU
    // (memcg-aware), as every filesystem's alloc_inode must.
    let info = unsafe { sys::rext4_alloc_inode_sb(sb, c) }.cast::<InodeInfo>();
    if info.is_null() {
        return null_mut();
    }
    // SAFETY: `info` is a live object whose VFS part the constructor
    // initialised; rext4's part is initialised here before any use.
    unsafe {
        (&raw mut (*info).data).write(InodeData::default());
        &raw mut (*info).vfs
    }
}

/// `super_operations.free_inode` (called after an RCU grace period).
///
/// # Safety
///
/// Called by the VFS with an inode from `alloc_inode`.
pub(crate) unsafe extern "C" fn free_inode(inode: *mut sys::inode) {
    // SAFETY: the inode is the first field of an `InodeInfo` from the
    // cache; `InodeData` needs no drop.
    unsafe { sys::kmem_cache_free(CACHE.load(Ordering::Acquire), inode.cast()) };
}

/// A rext4 inode, borrowed.
///
/// INVARIANT: the wrapped inode is live, belongs to a rext4 super_block and
/// is the `vfs` field of an `InodeInfo`.
#[repr(transparent)]
pub(crate) struct Inode(Opaque<sys::inode>);

impl Inode {
    /// Borrows an inode the VFS passed to a callback.
    ///
    /// # Safety
    ///
    /// `inode` must satisfy the type invariant for `'a`.
    pub(crate) unsafe fn from_raw<'a>(inode: *mut sys::inode) -> &'a Inode {
        // SAFETY: transparent wrapper; validity guaranteed by the caller.
        unsafe { &*inode.cast::<Inode>() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::inode {
        self.0.get()
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

    /// The super_block.
    pub(crate) fn sb(&self) -> &SuperBlock {
        // SAFETY: an inode keeps its super_block alive; the type invariant
        // says it is a rext4 one.
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// rext4's data of this inode.
    pub(crate) fn data(&self) -> &InodeData {
        // SAFETY: by the type invariant the inode is the first field of an
        // `InodeInfo`; its data is only written while the inode is new and
        // locked (`NewInode`), before anyone else can see it.
        unsafe { &(*self.as_ptr().cast::<InodeInfo>()).data }
    }
}

/// A counted reference to a rext4 inode; dropping it calls `iput`.
///
/// INVARIANT: the pointer satisfies `Inode`'s invariant and this object
/// owns one reference (`i_count`).
pub(crate) struct InodeRef(NonNull<sys::inode>);

impl InodeRef {
    /// Gives up the reference without dropping it (the VFS takes it over).
    pub(crate) fn into_raw(self) -> *mut sys::inode {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Deref for InodeRef {
    type Target = Inode;
    fn deref(&self) -> &Inode {
        // SAFETY: by the type invariant the inode is live while referenced.
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }
}

impl Drop for InodeRef {
    fn drop(&mut self) {
        // SAFETY: this object owns one reference.
        unsafe { sys::iput(self.0.as_ptr()) };
    }
}

/// The VFS attributes of an inode being set up.
pub(crate) struct Attrs {
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
    pub(crate) flags: VfsFlags,
}

/// VFS inode flags (`S_*`) rext4 sets from the on-disk flags.
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

/// Which operations an inode gets.
pub(crate) enum Kind {
    /// Regular file: page cache reads through the extent map.
    Regular,
    /// Directory.
    Directory,
    /// Symlink with the target in `InodeData::i_block` (NUL terminated).
    FastSymlink,
    /// Symlink with the target in a data block.
    SlowSymlink,
    /// Device node, FIFO or socket: (mode, device number).
    Special(u16, u32),
}

/// A new inode (`I_NEW`, locked) being filled in. Dropping it without
/// `finish` marks it bad (`iget_failed`).
///
/// INVARIANT: as `InodeRef`, and the inode is `I_NEW` and invisible to
/// lookups until `finish`.
pub(crate) struct NewInode(NonNull<sys::inode>);

/// Result of looking an inode number up in the inode cache.
pub(crate) enum Got {
    /// Already in memory and set up.
    Cached(InodeRef),
    /// Newly allocated: read it from disk and fill it in.
    New(NewInode),
}

/// Gets inode `ino` of `sb` from the inode cache, or a new locked one.
pub(crate) fn iget_locked(sb: &SuperBlock, ino: u64) -> Result<Got> {
    let ino = usize::try_from(ino).map_err(|_| code::EINVAL)?;
    // SAFETY: `sb` is a live rext4 super_block.
    let p = unsafe { sys::iget_locked(sb.as_ptr(), ino) };
    let p = NonNull::new(p).ok_or(code::ENOMEM)?;
    // SAFETY: `iget_locked` returned a referenced live inode. Other bits
    // of `i_state` change under `i_lock`, so it is read once (READ_ONCE);
    // I_NEW is set for us only if we are the one to fill the inode in.
    let state = unsafe { core::ptr::read_volatile(&raw const (*p.as_ptr()).i_state) };
    let new = u64::from(state) & u64::from(sys::REXT4_I_NEW as u32) != 0;
    Ok(if new {
        Got::New(NewInode(p))
    } else {
        Got::Cached(InodeRef(p))
    })
}

impl NewInode {
    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: live by the type invariant.
        unsafe { (*self.0.as_ptr()).i_ino as u64 }
    }

    /// rext4's data, writable while the inode is new.
    pub(crate) fn data_mut(&mut self) -> &mut InodeData {
        // SAFETY: the inode is I_NEW and locked: nobody else reads its data
        // until `finish` unlocks it; `&mut self` makes this access unique.
        unsafe { &mut (*self.0.as_ptr().cast::<InodeInfo>()).data }
    }

    /// Sets the VFS attributes.
    pub(crate) fn set_attrs(&mut self, a: &Attrs) {
        let i = self.0.as_ptr();
        // SAFETY: the inode is I_NEW and locked, so these plain fields may
        // be written; the helpers are the kernel's own setters.
        unsafe {
            (*i).i_mode = a.mode;
            sys::rext4_i_uid_gid_write(i, a.uid, a.gid);
            sys::set_nlink(i, a.nlink);
            sys::rext4_i_size_write(i, a.size);
            (*i).i_atime_sec = a.atime.0;
            (*i).i_atime_nsec = a.atime.1;
            (*i).i_mtime_sec = a.mtime.0;
            (*i).i_mtime_nsec = a.mtime.1;
            (*i).i_ctime_sec = a.ctime.0;
            (*i).i_ctime_nsec = a.ctime.1;
            (*i).i_blocks = a.blocks_512;
            (*i).i_generation = a.generation;
            (*i).i_flags |= a.flags.bits();
        }
    }

    /// Installs the operations for `kind`.
    pub(crate) fn set_kind(&mut self, kind: Kind) {
        use super::ops;
        let i = self.0.as_ptr();
        // SAFETY: the inode is I_NEW and locked; the ops tables are static;
        // for fast symlinks `i_link` points into this inode's own data,
        // which lives as long as the inode and is NUL terminated (checked by
        // the caller, see `Kind::FastSymlink`).
        unsafe {
            match kind {
                Kind::Regular => {
                    (*i).i_op = &ops::FILE_IOPS.0;
                    (*i).__bindgen_anon_3.i_fop = &ops::FILE_FOPS.0;
                    (*i).i_data.a_ops = &ops::AOPS.0;
                }
                Kind::Directory => {
                    (*i).i_op = &ops::DIR_IOPS.0;
                    (*i).__bindgen_anon_3.i_fop = &ops::DIR_FOPS.0;
                    (*i).i_data.a_ops = &ops::AOPS.0;
                }
                Kind::FastSymlink => {
                    let data = &raw mut (*i.cast::<InodeInfo>()).data;
                    (*i).__bindgen_anon_4.i_link = (*data).i_block.as_mut_ptr();
                    (*i).i_op = &ops::FAST_SYMLINK_IOPS.0;
                }
                Kind::SlowSymlink => {
                    (*i).i_op = &ops::SLOW_SYMLINK_IOPS.0;
                    sys::rext4_inode_nohighmem(i);
                    (*i).i_data.a_ops = &ops::AOPS.0;
                }
                Kind::Special(mode, dev) => {
                    (*i).i_op = &ops::SPECIAL_IOPS.0;
                    sys::init_special_inode(i, mode, dev);
                }
            }
        }
    }

    /// Unlocks the inode and makes it visible.
    pub(crate) fn finish(self) -> InodeRef {
        let p = self.0;
        core::mem::forget(self);
        // SAFETY: the inode is I_NEW, locked, and fully set up.
        unsafe { sys::unlock_new_inode(p.as_ptr()) };
        // INVARIANT: the reference from `iget_locked` passes on.
        InodeRef(p)
    }
}

impl Drop for NewInode {
    fn drop(&mut self) {
        // SAFETY: the inode is I_NEW and we own its reference;
        // `iget_failed` marks it bad, unlocks it and drops the reference.
        unsafe { sys::iget_failed(self.0.as_ptr()) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Extended attributes and POSIX ACLs: the xattr handlers of a filesystem
//! (`sb->s_xattr`), `listxattr` and `get_inode_acl` of its inodes, and
//! [`PosixAcl`], a `struct posix_acl` being handed to the VFS.
//!
//! The handlers are the ones ext4 registers: `user.`, `trusted.`,
//! `security.` and `gnu.`, each dispatching to
//! [`FileSystem::getxattr`] with its [`XattrNs`]. The VFS itself checks
//! that only CAP_SYS_ADMIN reads `trusted.` (`xattr_permission`), and it
//! serves `system.posix_acl_access`/`_default` without handlers, from the
//! inode's ACL cache filled through `get_inode_acl`
//! ([`FileSystem::get_acl`]). For listing, the ACL names go through the
//! kernel's `nop_posix_acl_access`/`nop_posix_acl_default` handlers (listed
//! when the mount has SB_POSIXACL), `trusted.` names through a handler
//! whose `list` asks `capable(CAP_SYS_ADMIN)`, as ext4's do.

use super::fs_type::FileSystem;
use super::inode::INode;
use crate::sys;
use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, Result};
use kernel::ffi::c_char;

/// The attribute namespaces a filesystem serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum XattrNs {
    /// `user.`
    User,
    /// `trusted.` (CAP_SYS_ADMIN only).
    Trusted,
    /// `security.`
    Security,
    /// `gnu.` (the Hurd's attributes, as ext4 serves them).
    Hurd,
    /// `system.posix_acl_access` (listing only; read through the ACL).
    PosixAclAccess,
    /// `system.posix_acl_default` (listing only; read through the ACL).
    PosixAclDefault,
}

impl XattrNs {
    /// The value of `xattr_handler.flags` for the glue's own handlers.
    const fn flags(self) -> c_int {
        match self {
            XattrNs::User => 1,
            XattrNs::Trusted => 2,
            XattrNs::Security => 3,
            XattrNs::Hurd => 4,
            XattrNs::PosixAclAccess => 5,
            XattrNs::PosixAclDefault => 6,
        }
    }

    fn from_flags(f: c_int) -> Option<XattrNs> {
        [
            XattrNs::User,
            XattrNs::Trusted,
            XattrNs::Security,
            XattrNs::Hurd,
        ]
        .into_iter()
        .find(|ns| ns.flags() == f)
    }
}

/// Which ACL `get_inode_acl` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AclType {
    /// The access ACL (permission checks).
    Access,
    /// A directory's default ACL (inherited by new entries).
    Default,
}

/// An ACL entry's tag and qualifier, ids in the initial user namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AclTag {
    /// The owner (`ACL_USER_OBJ`).
    UserObj,
    /// A named user (`ACL_USER`).
    User(u32),
    /// The owning group (`ACL_GROUP_OBJ`).
    GroupObj,
    /// A named group (`ACL_GROUP`).
    Group(u32),
    /// The mask (`ACL_MASK`).
    Mask,
    /// Everybody else (`ACL_OTHER`).
    Other,
}

/// One ACL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AclEntry {
    /// Tag and qualifier.
    pub(crate) tag: AclTag,
    /// `e_perm` (ACL_READ/WRITE/EXECUTE bits, passed on unchecked).
    pub(crate) perm: u16,
}

/// A `struct posix_acl` being built for the VFS.
///
/// INVARIANT: the pointer is a posix_acl from `posix_acl_alloc` with one
/// reference owned by this object, all of whose `a_count` entries are
/// initialised.
pub(crate) struct PosixAcl(NonNull<sys::posix_acl>);

// SAFETY: a posix_acl is refcounted with atomics and freed through RCU; it
// may be released on any thread.
unsafe impl Send for PosixAcl {}

impl PosixAcl {
    /// Allocates an ACL holding `entries` (ext4's `ext4_acl_from_disk`:
    /// named users and groups are mapped into kernel ids through the
    /// initial user namespace).
    pub(crate) fn new(entries: impl ExactSizeIterator<Item = AclEntry>) -> Result<PosixAcl> {
        let count = c_int::try_from(entries.len()).map_err(|_| code::EINVAL)?;
        // SAFETY: plain allocation (GFP_KERNEL: rext4 holds no filesystem
        // locks here; the write path may need GFP_NOFS as ext4 uses).
        let acl = unsafe { sys::posix_acl_alloc(count, kernel::bindings::GFP_KERNEL) };
        let acl = NonNull::new(acl).ok_or(code::ENOMEM)?;
        let mut n = 0usize;
        for e in entries.take(count as usize) {
            let (tag, id) = match e.tag {
                AclTag::UserObj => (sys::ACL_USER_OBJ, None),
                AclTag::User(uid) => (sys::ACL_USER, Some((true, uid))),
                AclTag::GroupObj => (sys::ACL_GROUP_OBJ, None),
                AclTag::Group(gid) => (sys::ACL_GROUP, Some((false, gid))),
                AclTag::Mask => (sys::ACL_MASK, None),
                AclTag::Other => (sys::ACL_OTHER, None),
            };
            // SAFETY: `n < count` entries were allocated (`take`); the entry
            // is written in place, its id through the kernel's mapping (the
            // ids of other tags are the invalid id, which nothing reads).
            unsafe {
                let ent = (&raw mut (*acl.as_ptr()).a_entries)
                    .cast::<sys::posix_acl_entry>()
                    .add(n);
                (*ent).e_tag = tag as i16;
                (*ent).e_perm = e.perm;
                match id {
                    Some((true, uid)) => (*ent).__bindgen_anon_1.e_uid = sys::rext4_make_kuid(uid),
                    Some((false, gid)) => (*ent).__bindgen_anon_1.e_gid = sys::rext4_make_kgid(gid),
                    None => (*ent).__bindgen_anon_1.e_uid = sys::rext4_make_kuid(u32::MAX),
                }
            }
            n += 1;
        }
        // INVARIANT: every entry is set unless the iterator lied about its
        // length; then the ACL is shortened to what was set.
        if n != count as usize {
            // SAFETY: the ACL is ours alone; fewer entries than allocated.
            unsafe { (*acl.as_ptr()).a_count = n as u32 };
        }
        Ok(PosixAcl(acl))
    }

    fn into_raw(self) -> *mut sys::posix_acl {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for PosixAcl {
    fn drop(&mut self) {
        // SAFETY: the reference owned by this object (type invariant).
        unsafe { sys::rext4_posix_acl_release(self.0.as_ptr()) };
    }
}

/// What `listxattr` may show, asked per namespace the way ext4 asks its
/// handlers (`xattr_handler_can_list`).
///
/// INVARIANT: `dentry` is live for the `listxattr` call that lends out the
/// object.
pub(crate) struct ListFilter<T: FileSystem> {
    dentry: *mut sys::dentry,
    _t: PhantomData<T>,
}

impl<T: FileSystem> ListFilter<T> {
    /// Whether names of `ns` are listed for the caller.
    pub(crate) fn can_list(&self, ns: XattrNs) -> bool {
        let h = handler::<T>(ns);
        // SAFETY: the handlers are static; `list` callbacks take the live
        // dentry (type invariant).
        unsafe { (*h).list.map_or(true, |list| list(self.dentry)) }
    }
}

/// The handler that lists (and, for the glue's own, reads) `ns`.
fn handler<T: FileSystem>(ns: XattrNs) -> *const sys::xattr_handler {
    match ns {
        XattrNs::User => &Handlers::<T>::USER,
        XattrNs::Trusted => &Handlers::<T>::TRUSTED,
        XattrNs::Security => &Handlers::<T>::SECURITY,
        XattrNs::Hurd => &Handlers::<T>::HURD,
        // The kernel's handlers (constant statics).
        XattrNs::PosixAclAccess => &raw const sys::nop_posix_acl_access,
        XattrNs::PosixAclDefault => &raw const sys::nop_posix_acl_default,
    }
}

/// The xattr handlers of `T`.
struct Handlers<T>(PhantomData<T>);

/// `sb->s_xattr`: a NULL-terminated array of handler pointers.
#[repr(transparent)]
pub(super) struct HandlerList(pub(super) [*const sys::xattr_handler; 5]);

// SAFETY: pointers to constant handlers in static memory, never written.
unsafe impl Sync for HandlerList {}

impl<T: FileSystem> Handlers<T> {
    const fn make(prefix: &'static core::ffi::CStr, ns: XattrNs) -> sys::xattr_handler {
        sys::xattr_handler {
            name: core::ptr::null(),
            prefix: prefix.as_ptr().cast(),
            flags: ns.flags(),
            list: match ns {
                XattrNs::Trusted => Some(trusted_list),
                _ => None,
            },
            get: Some(get::<T>),
            set: None,
        }
    }
    const USER: sys::xattr_handler = Self::make(c"user.", XattrNs::User);
    const TRUSTED: sys::xattr_handler = Self::make(c"trusted.", XattrNs::Trusted);
    const SECURITY: sys::xattr_handler = Self::make(c"security.", XattrNs::Security);
    const HURD: sys::xattr_handler = Self::make(c"gnu.", XattrNs::Hurd);
    const LIST: HandlerList = HandlerList([
        &Self::USER,
        &Self::TRUSTED,
        &Self::SECURITY,
        &Self::HURD,
        core::ptr::null(),
    ]);
}

/// The handler list of `T` for `sb->s_xattr`.
pub(super) fn handler_list<T: FileSystem>() -> &'static HandlerList {
    &Handlers::<T>::LIST
}

/// `xattr_handler.list` of `trusted.`: CAP_SYS_ADMIN only.
///
/// # Safety
///
/// Called by the VFS (or `ListFilter`) with a live dentry.
unsafe extern "C" fn trusted_list(_dentry: *mut sys::dentry) -> bool {
    // SAFETY: plain capability check of the current task.
    unsafe { sys::capable(sys::CAP_SYS_ADMIN as c_int) }
}

/// `xattr_handler.get`: `name` without the prefix; a NULL `buffer` asks
/// for the value's size (a non-NULL one of size 0 is a buffer too small
/// for any non-empty value, as in ext4).
///
/// # Safety
///
/// Called by the VFS with one of `T`'s handlers, a live inode of `T`, a
/// NUL-terminated name and a buffer of `size` bytes (or NULL).
unsafe extern "C" fn get<T: FileSystem>(
    handler: *const sys::xattr_handler,
    _dentry: *mut sys::dentry,
    inode: *mut sys::inode,
    name: *const c_char,
    buffer: *mut c_void,
    size: usize,
) -> c_int {
    // SAFETY: the handler is one of ours (static).
    let Some(ns) = XattrNs::from_flags(unsafe { (*handler).flags }) else {
        return super::errno::eopnotsupp().to_errno();
    };
    // SAFETY: a live inode of `T` for the duration of the call; the name
    // is NUL terminated; `buffer` is the caller's `size` bytes, ours for
    // the call.
    let (inode, name, buf) = unsafe {
        (
            INode::<T>::from_raw(inode),
            core::ffi::CStr::from_ptr(name.cast()).to_bytes(),
            caller_buffer(buffer.cast(), size),
        )
    };
    reported_len(T::getxattr(inode, ns, name, buf), buffer.is_null(), size)
}

/// The caller's buffer of a get/list call as a slice, or `None` for a size
/// query. The VFS's buffers are not initialised (kvmalloc, or a caller's
/// stack struct), so they are zeroed first: a slice must never cover
/// uninitialised bytes.
///
/// # Safety
///
/// `buffer` is NULL or valid for writes of `size` bytes for the call, and
/// nothing else accesses it meanwhile.
unsafe fn caller_buffer<'a>(buffer: *mut u8, size: usize) -> Option<&'a mut [u8]> {
    if buffer.is_null() {
        return None;
    }
    // SAFETY: valid for `size` bytes of writes (the caller's promise);
    // zeroed, they are initialised for the slice.
    unsafe {
        core::ptr::write_bytes(buffer, 0, size);
        Some(core::slice::from_raw_parts_mut(buffer, size))
    }
}

/// The return value of a get/list call: never a length beyond the caller's
/// buffer (the VFS copies that many bytes out of it), whatever the
/// filesystem returned; E2BIG for a length an int cannot carry.
fn reported_len(r: Result<usize>, size_query: bool, size: usize) -> c_int {
    match r {
        Ok(n) if !size_query && n > size => code::ERANGE.to_errno(),
        Ok(n) => c_int::try_from(n).unwrap_or_else(|_| code::E2BIG.to_errno()),
        Err(e) => e.to_errno(),
    }
}

/// `inode_operations.listxattr`: NUL-terminated names into `buffer`, or
/// the size needed with a NULL buffer.
///
/// # Safety
///
/// Called by the VFS with a live dentry of an inode of `T` and a buffer of
/// `size` bytes (or NULL).
pub(super) unsafe extern "C" fn listxattr<T: FileSystem>(
    dentry: *mut sys::dentry,
    buffer: *mut c_char,
    size: usize,
) -> isize {
    // SAFETY: the dentry is live and positive; `buffer` is the VFS's
    // `size` bytes for this request, or NULL.
    let (inode, buf) = unsafe {
        (
            INode::<T>::from_raw((*dentry).d_inode),
            caller_buffer(buffer.cast(), size),
        )
    };
    // INVARIANT: the dentry is live during this call.
    let filter = ListFilter::<T> {
        dentry,
        _t: PhantomData,
    };
    reported_len(T::listxattr(inode, &filter, buf), buffer.is_null(), size) as isize
}

/// `inode_operations.get_inode_acl`: the inode's ACL of `type_`, NULL for
/// none, an error pointer on failure. Never in RCU mode (-ECHILD makes the
/// path walk retry in ref-walk mode, as ext4's does): reading the ACL may
/// sleep on I/O. The VFS caches what is returned (`i_acl`/`i_default_acl`),
/// so this runs once per inode and type while the inode is in memory.
///
/// # Safety
///
/// Called by the VFS with a live inode of `T`.
pub(super) unsafe extern "C" fn get_inode_acl<T: FileSystem>(
    inode: *mut sys::inode,
    type_: c_int,
    rcu: bool,
) -> *mut sys::posix_acl {
    if rcu {
        return code::ECHILD.to_ptr();
    }
    let ty = match type_ as u32 {
        sys::ACL_TYPE_ACCESS => AclType::Access,
        sys::ACL_TYPE_DEFAULT => AclType::Default,
        _ => return code::EINVAL.to_ptr(),
    };
    // SAFETY: a live inode of `T` for the call.
    let inode = unsafe { INode::<T>::from_raw(inode) };
    match T::get_acl(inode, ty) {
        Ok(Some(acl)) => acl.into_raw(),
        Ok(None) => core::ptr::null_mut(),
        Err(e) => e.to_ptr(),
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A safe, generic abstraction over the VFS, in the manner of the
//! Rust-for-Linux VFS abstractions.
//!
//! A filesystem implements [`FileSystem`] (`fs_type.rs`): associated types
//! for its per-mount data, per-inode data and mount options, and the
//! operations it supports (`#[vtable]`). The glue builds the C operation
//! tables from the trait, generically (`Tables<T>` consts in each file, one
//! `extern "C"` trampoline per callback, instantiated per filesystem), and
//! hands the filesystem safe handles: [`SuperBlock`] with a typestate for a
//! superblock being filled ([`New`]) or mounted ([`Mounted`]), refcounted
//! [`INode`]s (`ARef`, ihold/iput) and buffer heads (`ARef`,
//! get_bh/put_bh), directory contexts, seq_files, iomaps.
//!
//! This is the only layer with `unsafe` code, and it never names the
//! filesystem that uses it. Each wrapper states its invariant
//! (`// INVARIANT:`), each `unsafe` block why it holds (`// SAFETY:`).
//!
//! One file per C object: `super_block.rs`, `inode.rs`, `dentry.rs`
//! (names and directory contexts), `file.rs` (file operations),
//! `address_space.rs` (page cache and block mapping), `buffer.rs` (buffer
//! heads), `iomap.rs` (FIEMAP), `xattr.rs` (xattr handlers, listxattr,
//! POSIX ACLs), `fs_type.rs` (the filesystem type and its fs_context),
//! `fs_param.rs` (mount options through `fs_parse`), plus kernel services:
//! `lock.rs` (rw_semaphore), `percpu.rs` (percpu counters), `ratelimit.rs`,
//! `print.rs`, `task.rs`, `errno.rs`, `checksum.rs` (the kernel's crc32c),
//! `jbd2.rs` (the journal: created on the journal inode, loaded and
//! replayed at mount, destroyed at unmount; handles come with the write
//! path).
//!
//! # Buffer and page memory
//!
//! No shared reference (`&[u8]`) to buffer or page-cache memory is ever
//! created: that memory can change underneath (another writer of the block
//! device today, rext4 itself through jbd2 once it writes). Readers copy the
//! bytes they parse out with a raw copy: the whole block
//! ([`buffer::BufferHead::copy`]), parsed as a private slice, or field by
//! field ([`buffer::BufferHead::read`]; the disk layer's `Bytes` accessor
//! over a buffer, which the lookup paths use so that a lookup does not copy
//! a whole block), and checksum ranges in place
//! ([`buffer::BufferHead::crc32c`]). Writers get
//! `&mut [u8]` only to a private copy of the bytes, put back under the
//! buffer lock: journalled blocks through the jbd2 write-access guard
//! ([`jbd2::WriteAccess`]), the one block written outside the journal (the
//! superblock) through [`buffer::BufferHead::write_sync`]; see `buffer.rs`
//! and `jbd2.rs`.

#[macro_use]
pub(crate) mod print;
pub(crate) mod address_space;
pub(crate) mod bdev_hook;
pub(crate) mod buffer;
pub(crate) mod checksum;
pub(crate) mod dentry;
pub(crate) mod errno;
pub(crate) mod file;
pub(crate) mod fs_param;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod iomap;
pub(crate) mod jbd2;
pub(crate) mod lock;
pub(crate) mod percpu;
pub(crate) mod ratelimit;
pub(crate) mod super_block;
pub(crate) mod sysfs;
pub(crate) mod task;
pub(crate) mod workqueue;
pub(crate) mod xattr;

pub(crate) use fs_param::{Constant, Param, ParamSpec};
pub(crate) use fs_type::{FileSystem, Registration};
pub(crate) use inode::INode;
pub(crate) use super_block::{Mounted, New, SuperBlock};

/// An all-zero value of a C operation table or other plain C struct.
///
/// Only for types that are [`kernel::init::Zeroable`]: the glue declares
/// that, type by type, for the C structs whose all-zero value is valid
/// (NULL function pointers meaning "no callback").
pub(crate) const fn zeroed<T: kernel::init::Zeroable>() -> T {
    // SAFETY: `T: Zeroable` promises that all-zero bytes are a valid `T`.
    unsafe { core::mem::zeroed() }
}

/// Declares C structs whose all-zero value is valid.
macro_rules! zeroable {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: a C struct of plain integers, raw pointers and
            // nullable function pointers (`Option<fn>`), for which all-zero
            // means 0, NULL and "no callback".
            unsafe impl kernel::init::Zeroable for $t {}
        )*
    };
}

zeroable!(
    crate::sys::super_operations,
    crate::sys::inode_operations,
    crate::sys::file_operations,
    crate::sys::address_space_operations,
    crate::sys::vm_operations_struct,
    crate::sys::iomap_ops,
    crate::sys::fs_context_operations,
    crate::sys::file_system_type,
);

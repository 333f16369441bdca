// SPDX-License-Identifier: GPL-2.0

//! Journalled metadata changes (ext4's ext4_jbd2.c, and the inode writing
//! of its inode.c).
//!
//! Every change to metadata runs inside a jbd2 handle started here, with
//! the credits (journal blocks) the change may dirty, and goes through the
//! glue's write-access guard: `Handle::write_access` on the block,
//! `WriteAccess::modify` on a private copy of its bytes, then
//! `WriteAccess::dirty`. So far the only change is an inode's attributes:
//! the VFS marks an inode dirty (setattr, timestamps) and
//! [`dirty_inode`] writes the in-memory attributes into the on-disk inode
//! in its own handle, as `ext4_dirty_inode` does.
//!
//! # Lock order
//!
//! `i_rwsem` (held by the VFS around setattr) → handle start (jbd2's
//! transaction "lock") → the inode's data lock (`i_data_sem`, read here
//! before any buffer is locked) → the buffer lock (held by
//! `WriteAccess::modify` for the copy-back only). Nothing here waits for
//! a commit while a handle is open.

use super::errors::errno;
use super::{inode, INode};
use crate::disk::inode::{Inode as DiskInode, Timestamp};
use crate::glue::jbd2::Handle;
use kernel::error::code;
use kernel::prelude::*;

/// Credits of a change to one inode: its inode table block, and one more
/// as ext4 reserves for the superblock (`ext4_dirty_inode` asks for 2).
const INODE_CREDITS: u32 = 2;

/// ext4's `EXT4_LINK_MAX`: a directory with more links counts 1 on disk
/// (dir_nlink).
const LINK_MAX: u32 = 65000;

/// `dirty_inode`: writes the inode's attributes to disk in a handle of
/// its own (ext4's `ext4_dirty_inode`: timestamps the VFS updated, and
/// lazily kept ones when they expire). Nothing is written on a read-only
/// mount; a mount going read-only (remount, unmount) holds handles back
/// while it flushes the journal, so the flag is looked at again once the
/// handle runs. Errors are reported (the VFS gives the callback no way to
/// return one).
pub(crate) fn dirty_inode(inode: &INode) {
    let sb = inode.sb();
    let fi = sb.data();
    if !fi.is_writable() {
        return;
    }
    let Some(journal) = fi.journal.as_ref() else {
        return;
    };
    let r = journal.start(INODE_CREDITS).and_then(|h| {
        let r = if fi.is_writable() {
            write_inode(&h, inode)
        } else {
            Ok(())
        };
        let s = h.stop();
        r.and(s)
    });
    if let Err(e) = r {
        inode_err_at!(
            sb,
            inode.ino(),
            0,
            e.to_errno(),
            "inode #{}: unable to write the inode: error {}",
            inode.ino(),
            e.to_errno()
        );
    }
}

/// Writes the inode's attributes in a handle of its own and returns the
/// error (setattr); EROFS on a read-only mount.
pub(crate) fn update_inode(inode: &INode, change: impl FnOnce()) -> Result {
    let fi = inode.sb().data();
    let journal = fi
        .journal
        .as_ref()
        .filter(|_| fi.is_writable())
        .ok_or(code::EROFS)?;
    super::errors::check_device(inode.sb())?;
    let h = journal.start(INODE_CREDITS)?;
    if !fi.is_writable() {
        return Err(code::EROFS);
    }
    change();
    let r = write_inode(&h, inode).inspect_err(|e| {
        inode_err_at!(
            inode.sb(),
            inode.ino(),
            0,
            e.to_errno(),
            "inode #{}: unable to write the inode: error {}",
            inode.ino(),
            e.to_errno()
        );
    });
    let s = h.stop();
    r.and(s)
}

/// `fsync` (ext4's `ext4_sync_file` with data=journal: everything of the
/// file is metadata of the running transaction, so the transaction is
/// committed and waited for). Nothing to do on a read-only mount.
pub(crate) fn fsync(inode: &INode) -> Result {
    let fi = inode.sb().data();
    // Stopped after an error: what was not committed never will be.
    if fi.shut_down.load(core::sync::atomic::Ordering::Acquire) {
        return Err(code::EIO);
    }
    match fi.journal.as_ref().filter(|_| fi.is_writable()) {
        Some(journal) => journal.force_commit(),
        None => Ok(()),
    }
}

/// Writes the in-memory attributes of `inode` into its on-disk inode
/// inside handle `h` (ext4's `ext4_mark_inode_dirty`): the VFS's mode,
/// owner, size, link count, times, block count, generation and change
/// counter (`i_version`), and rext4's flags, extent root and attribute
/// block; what neither keeps (creation time, the in-inode attribute area)
/// stays as it is on disk.
pub(crate) fn write_inode(h: &Handle<'_>, inode: &INode) -> Result {
    let sb = inode.sb();
    let d = &sb.data().sb;
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    // The data lock before the buffer lock (see the module docs).
    let (flags, i_block, file_acl) = {
        let g = inode.read();
        (g.flags, g.i_block, g.file_acl)
    };
    let raw = inode::locate(sb, ino)?;
    let (off, len) = raw.range();
    let mut access = h.write_access(raw.buffer())?;
    let time = |(sec, nsec): (i64, u32)| Timestamp { sec, nsec };
    access.modify(off, len, |b| {
        // The VFS attributes are read under the buffer lock: of two tasks
        // writing this inode, the later one writes what memory holds then,
        // which includes the earlier one's change (ext4 copies them under
        // `i_raw_lock` for the same reason).
        let a = inode.attrs();
        let mut di = DiskInode::parse(d, ino, &*b).map_err(|e| {
            inode_err!(sb, ino, "inode #{}: {}", ino, e);
            errno(e)
        })?;
        di.mode = a.mode;
        di.uid = a.uid;
        di.gid = a.gid;
        di.size = u64::try_from(a.size).map_err(|_| code::EINVAL)?;
        di.links_count = if a.nlink > LINK_MAX {
            1
        } else {
            a.nlink as u16
        };
        di.atime = time(a.atime);
        di.mtime = time(a.mtime);
        di.ctime = time(a.ctime);
        di.blocks_512 = a.blocks_512;
        di.generation = a.generation;
        di.version = a.version;
        di.flags = flags;
        di.block = i_block;
        di.file_acl = file_acl;
        di.store(d, b).map_err(|e| {
            inode_err!(sb, ino, "inode #{}: cannot store: {}", ino, e);
            errno(e)
        })
    })?;
    access.dirty()
}

/// Why [`modify_block`] failed.
pub(crate) enum ModifyError {
    /// The disk layer's change refused the block's bytes.
    Disk(crate::disk::Error),
    /// Write access or filing the buffer in the transaction failed.
    Kernel(Error),
}

/// Changes the whole block in buffer `bh` (of `len` bytes) through `f`
/// inside `h`: write access, `f` on the bytes, the buffer filed as dirty
/// metadata. What the disk-layer stores (extent trees, directory indexes)
/// do for each block they change.
pub(crate) fn modify_block<R>(
    h: &Handle<'_>,
    bh: &crate::glue::buffer::BufferHead,
    len: usize,
    f: impl FnOnce(&mut [u8]) -> crate::disk::Result<R>,
) -> core::result::Result<R, ModifyError> {
    let mut inner = None;
    let r = h.write_access(bh).and_then(|mut wa| {
        let v = wa.modify(0, len, |b| {
            f(b).map_err(|e| {
                inner = Some(e);
                code::EINVAL
            })
        })?;
        wa.dirty()?;
        Ok(v)
    });
    match (r, inner) {
        (_, Some(e)) => Err(ModifyError::Disk(e)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(ModifyError::Kernel(e)),
    }
}

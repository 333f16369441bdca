// SPDX-License-Identifier: GPL-2.0

//! Size changes and freeing a file's blocks (ext4's `ext4_setattr` size
//! path and `ext4_truncate`).
//!
//! A file that shrinks is put on the orphan list with its new size in one
//! handle, so a crash in the middle leaves a truncation the next
//! read-write mount finishes (`orphan::cleanup`); its page cache past the
//! new end goes (after jbd2 let go of the tail page's buffers, with no
//! handle open); its blocks past the end are freed
//! [`REMOVE_CHUNK`](super::extents::REMOVE_CHUNK) at a time, each in a handle of its own; the rest of the block holding the
//! new end is zeroed through the journal (so a later growth reads zeros);
//! and the inode leaves the orphan list. A file that grows gets zeros in
//! the rest of its old last block and its new size.
//!
//! # Lock order
//!
//! `i_rwsem` (the VFS) → the invalidate lock (against page faults) →
//! handle start → folio lock → `i_data_sem` → buffer locks.

use super::extents::{remove_credits, remove_tail};
use super::file::settle_pagecache;
use super::journal::write_inode;
use super::{orphan, INode};
use crate::glue::jbd2::Journal;
use kernel::error::code;
use kernel::prelude::*;

/// Credits of a handle that changes the size: the inode, the superblock
/// and an inode on the orphan list, and a block zeroed at the end.
const SIZE_CREDITS: u32 = 8;

fn journal(inode: &INode) -> Result<&Journal> {
    let fi = inode.sb().data();
    fi.journal
        .as_ref()
        .filter(|_| fi.is_writable())
        .ok_or(code::EROFS)
}

/// Sets the size of regular file `inode` to `size` (from setattr, with
/// `i_rwsem` held), freeing or zeroing what lies past the new end.
pub(crate) fn set_size(inode: &INode, size: i64) -> Result {
    let journal = journal(inode)?;
    let old = inode.size();
    if size == old {
        return Ok(());
    }
    let bs = i64::from(inode.sb().data().block_size());
    let _inval = inode.lock_invalidate();
    let page = kernel::page::PAGE_SIZE as i64;
    if size > old {
        if old % bs != 0 {
            // The old last block is zeroed through the journal below.
            let first = old & !(page - 1);
            settle_pagecache(inode, first, first + page - 1)?;
        }
        let h = journal.start(SIZE_CREDITS)?;
        let r = (|| {
            let tail = old % bs;
            if tail != 0 {
                // Noted even after a failure: the folio may be held by
                // this transaction (`commit_data` then commits it).
                let z = inode.zero_block_range(&h, old, (bs - tail) as usize);
                inode.write().data_tid = Some(h.tid());
                z?;
            }
            inode.set_size(size);
            write_inode(&h, inode)
        })();
        let s = h.stop();
        r.and(s)?;
        inode.pagecache_isize_extended(old, size);
        return Ok(());
    }
    let h = journal.start(SIZE_CREDITS)?;
    let r = (|| {
        orphan::add(&h, inode)?;
        inode.set_size(size);
        write_inode(&h, inode)
    })();
    let s = h.stop();
    r.and(s)?;
    settle_pagecache(inode, size & !(page - 1), i64::MAX)?;
    inode.wait_tail_folio_commit(journal);
    inode.truncate_pagecache(size);
    finish_truncate(inode)
}

/// Frees `inode`'s blocks past its size, zeroes the rest of its last
/// block, and takes it off the orphan list (the second half of a
/// truncation, also what the mount's orphan cleanup runs for a truncation
/// a crash interrupted).
pub(crate) fn finish_truncate(inode: &INode) -> Result {
    let journal = journal(inode)?;
    let bs = i64::from(inode.sb().data().block_size());
    let size = inode.size();
    free_from(inode, (size as u64).div_ceil(bs as u64))?;
    let h = journal.start(SIZE_CREDITS)?;
    let r = (|| {
        let tail = size % bs;
        if tail != 0 {
            let z = inode.zero_block_range(&h, size, (bs - tail) as usize);
            // A journalled data block (also after a failure, which may
            // have journalled it): eviction must see it (`before_evict`).
            inode.write().data_tid = Some(h.tid());
            z?;
        }
        if inode.nlink() > 0 {
            orphan::del(&h, inode)?;
        }
        write_inode(&h, inode)
    })();
    let s = h.stop();
    r.and(s)
}

/// Frees every block of `inode` from logical block `from` on, in handles
/// of [`REMOVE_CHUNK`](super::extents::REMOVE_CHUNK) blocks each (see the
/// module docs).
pub(crate) fn free_from(inode: &INode, from: u64) -> Result {
    let journal = journal(inode)?;
    let (credits, revokes) = remove_credits(inode.sb().data());
    loop {
        // Not stopped by a fatal signal: a deletion or truncation runs to
        // its end (ext4 only reschedules).
        crate::glue::task::resched();
        let h = journal.start_revoking(credits, revokes)?;
        let r = remove_tail(&h, inode, from).and_then(|more| {
            write_inode(&h, inode)?;
            Ok(more)
        });
        let s = h.stop();
        let more = r?;
        s?;
        if !more {
            return Ok(());
        }
    }
}

/// After a failed or short write (no handle open, `i_rwsem` held): blocks
/// it allocated past the end of the file are freed. Errors are reported
/// (the blocks then stay past the end until a truncation).
pub(crate) fn write_failed(inode: &INode) {
    let bs = u64::from(inode.sb().data().block_size());
    let size = inode.size();
    // The page cache past the end goes first, through jbd2 (as for a
    // truncation), so no buffer still maps a block freed here.
    let _inval = inode.lock_invalidate();
    let page = kernel::page::PAGE_SIZE as i64;
    if let Err(e) = settle_pagecache(inode, size & !(page - 1), i64::MAX) {
        fs_warn!(
            inode.sb(),
            "inode #{}: page cache past the end not written after a failed write: error {}",
            inode.ino(),
            e.to_errno()
        );
    }
    if let Ok(journal) = journal(inode) {
        inode.wait_tail_folio_commit(journal);
    }
    inode.truncate_pagecache(size);
    if let Err(e) = free_from(inode, (size as u64).div_ceil(bs)) {
        inode_err_at!(
            inode.sb(),
            inode.ino(),
            0,
            e.to_errno(),
            "inode #{}: unable to free blocks past the end after a failed write: error {}",
            inode.ino(),
            e.to_errno()
        );
    }
}

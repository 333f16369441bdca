// SPDX-License-Identifier: GPL-2.0

//! The orphan list (ext4's orphan.c, the classic chain): an inode whose
//! last link goes while it is still open is put on a list on disk, so
//! that a crash before its last close does not leak it. The chain starts
//! at the superblock's `s_last_orphan` and goes on through each inode's
//! `i_dtime` field; changes to it are journalled with the unlink (and the
//! removal with the eviction that frees the inode). The mount's
//! in-memory copy ([`FsInfo::orphans`](super::super_ops::FsInfo)) is the
//! chain in reverse order: the head last, each inode's successor in the
//! chain just before it; removing an inode from the middle rewrites
//! the link of the one before it, which is on the list too and so in
//! memory (open, or being freed).
//!
//! A truncation puts the file on the list too, until its blocks past the
//! new size are freed. A read-write mount finishes what the chain holds
//! before anything else ([`cleanup`], ext4's `ext4_orphan_cleanup`).
//!
//! Lock order: handle start → the orphan list's mutex → inode data lock
//! and buffer locks (inside `journal::write_inode`).

use super::errors::errno;
use super::inode::{iget_orphan, read_raw_at};
use super::{INode, Sb};
use crate::disk::inode::Inode as DiskInode;
use crate::glue::errno::efscorrupted;
use crate::glue::jbd2::Handle;
use kernel::error::code;
use kernel::prelude::*;

/// Puts `inode` (no link left, still open) at the head of the orphan list
/// inside `h`.
pub(crate) fn add(h: &Handle<'_>, inode: &INode) -> Result {
    let sb = inode.sb();
    let fi = sb.data();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let mut list = fi.orphans.lock();
    if list.contains(&ino) {
        return Ok(());
    }
    list.reserve(1, GFP_KERNEL)?;
    let head = list.last().copied().unwrap_or(0);
    super::super_ops::set_last_orphan(sb, h, ino)?;
    // The list's head is this inode now: it must point on.
    set_next(h, sb, ino, head).map_err(|e| super::errors::abort_journal(sb, "orphan list", e))?;
    // Room reserved above.
    list.push(ino, GFP_KERNEL)?;
    Ok(())
}

/// Takes `inode` off the orphan list inside `h` (nothing if it is not on
/// it): the superblock or the inode before it in the chain is made to
/// point past it, and its own link is cleared.
pub(crate) fn del(h: &Handle<'_>, inode: &INode) -> Result {
    let sb = inode.sb();
    let fi = sb.data();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let mut list = fi.orphans.lock();
    let Some(pos) = list.iter().position(|&i| i == ino) else {
        return Ok(());
    };
    // The list without it, built before anything changes on disk.
    let mut rest = KVec::with_capacity(list.len(), GFP_KERNEL)?;
    for (i, &x) in list.iter().enumerate() {
        if i != pos {
            rest.push(x, GFP_KERNEL)?;
        }
    }
    let next = pos
        .checked_sub(1)
        .and_then(|p| list.get(p).copied())
        .unwrap_or(0);
    match list.get(pos + 1).copied() {
        None => super::super_ops::set_last_orphan(sb, h, next)?,
        // Written on disk directly: the inode before may be being evicted
        // itself, waiting for this list's lock.
        Some(prev) => set_next(h, sb, prev, next)?,
    }
    // Its own link goes (a linked inode leaving the list keeps a clean
    // `i_dtime`; a deleted one gets its deletion time next).
    *list = rest;
    set_next(h, sb, ino, 0).map_err(|e| super::errors::abort_journal(sb, "orphan list", e))?;
    Ok(())
}

/// Processes the orphan list of a mount going read-write (after a crash,
/// or an ext4 that did not get to it), as ext4's `ext4_orphan_cleanup`:
/// an inode with no link left is freed (evicted at once); a regular file
/// that still has links was being truncated, and its blocks past its size
/// are freed (`truncate::finish_truncate`); any other inode is just taken
/// off the list. The whole chain is read first: a corrupt chain refuses
/// the read-write mount (EFSCORRUPTED) before anything is written.
pub(crate) fn cleanup(sb: &Sb) -> Result {
    let fi = sb.data();
    let d = &fi.sb;
    let mut chain = KVec::new();
    let mut ino = d.last_orphan;
    while ino != 0 {
        crate::glue::task::resched();
        if ino < d.first_ino
            || ino > d.inodes_count
            || chain.len() as u64 >= u64::from(d.inodes_count)
        {
            sb_err!(sb, "orphan list: bad inode #{}", ino);
            return Err(efscorrupted());
        }
        let gd = crate::disk::inode::inode_location(d, ino)
            .ok()
            .and_then(|(g, _)| fi.group(g));
        let raw = read_raw_at(sb, d, gd.map(|g| g.inode_table), ino)?;
        chain.push((ino, raw.links_count != 0), GFP_KERNEL)?;
        ino = raw.dtime;
    }
    if chain.is_empty() {
        return Ok(());
    }
    {
        let mut list = fi.orphans.lock();
        for &(ino, _) in chain.iter().rev() {
            list.push(ino, GFP_KERNEL)?;
        }
    }
    let (mut deleted, mut truncated) = (0, 0);
    for &(ino, linked) in chain.iter() {
        let inode = iget_orphan(sb, ino)?;
        if !linked {
            // The last reference goes at once: evicted and freed.
            drop(inode);
            deleted += 1;
        } else if inode.read().is_reg() {
            super::truncate::finish_truncate(&inode)?;
            truncated += 1;
        } else {
            let h = super::namespace::start_handle(sb, 8)?;
            let r = del(&h, &inode);
            let s = h.stop();
            r.and(s)?;
        }
    }
    if !fi.orphans.lock().is_empty() {
        sb_err!(sb, "orphan list: inodes left after the cleanup");
        return Err(efscorrupted());
    }
    sb_info!(
        sb,
        "{} orphan inodes deleted, {} truncates cleaned up",
        deleted,
        truncated
    );
    Ok(())
}

/// Sets inode `ino`'s `i_dtime` on disk inside `h` (the orphan chain's
/// link, or the deletion time), through write access on its inode table
/// block: the inode is parsed, changed and stored with its checksum under
/// the buffer lock, so a concurrent write of its other fields
/// (`journal::write_inode`, which keeps `i_dtime` as it is on disk) loses
/// nothing.
pub(crate) fn set_next(h: &Handle<'_>, sb: &Sb, ino: u32, value: u32) -> Result {
    let d = &sb.data().sb;
    let raw = super::inode::locate(sb, ino)?;
    let (off, len) = raw.range();
    let mut access = h.write_access(raw.buffer())?;
    access.modify(off, len, |b| {
        let mut di = DiskInode::parse(d, ino, &*b).map_err(|e| {
            inode_err!(sb, ino, "inode #{}: {}", ino, e);
            errno(e)
        })?;
        di.dtime = value;
        di.store(d, b).map_err(|e| {
            inode_err!(sb, ino, "inode #{}: cannot store: {}", ino, e);
            errno(e)
        })
    })?;
    access.dirty()
}

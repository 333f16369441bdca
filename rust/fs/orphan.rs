// SPDX-License-Identifier: GPL-2.0

//! Orphans (ext4's orphan.c): an inode whose last link goes while it is
//! still open, and a file being truncated, is recorded on disk until it
//! is finished, so that a crash before then does not leak it (the next
//! read-write mount frees it, or finishes the truncation: [`cleanup`],
//! ext4's `ext4_orphan_cleanup`). The record is journalled with the
//! change that makes the orphan (unlink, truncation), and its removal with
//! the change that finishes it (the eviction that frees the inode, the
//! truncation's last step). There are two places for the record:
//!
//! - The orphan file (compat feature `orphan_file`), when the filesystem
//!   has one: a hidden regular file (`s_orphan_file_inum`) whose blocks are
//!   arrays of inode slots with a tail (magic, checksum; the format is in
//!   `crate::disk::orphan`). A read-write mount loads it ([`load_file`]:
//!   every block read and its tail checked, a bad one refuses the mount;
//!   the blocks stay referenced, with each block's count of free slots,
//!   in [`OrphanFile`] under `FsInfo::orphan_file`). An orphan takes a free
//!   slot of a block with room (the search starts at a block chosen by the
//!   inode number, so that orphans spread over the blocks): write access to
//!   that block, the slot set and the block's checksum recomputed under
//!   the buffer lock, the block dirtied in the handle; the slot is kept in
//!   the inode's in-memory data ([`InodeData::orphan_slot`]), and removal
//!   clears exactly that slot the same way. Nothing else changes on disk:
//!   no superblock, no other inode, which is what makes the file cheaper
//!   than the chain. The ro_compat flag `orphan_present` says the file may
//!   hold entries: set whenever `needs_recovery` is (a read-write mount),
//!   cleared with it when the mount is left clean with the file empty
//!   (`super_ops::commit_super`).
//! - The classic chain, when there is no orphan file or every slot is
//!   taken (as ext4, the file never grows): it starts at the superblock's
//!   `s_last_orphan` and goes on through each inode's `i_dtime` field. The
//!   mount's in-memory copy ([`FsInfo::orphans`](super::super_ops::FsInfo))
//!   is the chain in reverse order: the head last, each inode's successor
//!   in the chain just before it; removing an inode from the middle
//!   rewrites the link of the one before it, which is on the list too and
//!   so in memory (open, or being freed).
//!
//! A read-write mount (and a remount read-write, which refuses a file
//! with entries as ext4 does) finishes both: the chain first, then every
//! used slot of the file, each inode freed or truncated exactly as the
//! chain's are, its record removed as it is done.
//!
//! Lock order: handle start → the orphan file's mutex or the chain's mutex
//! (never both) → buffer locks (the orphan file block's, the superblock's,
//! an inode table block's). The inode's data lock, which holds its slot,
//! is taken with neither mutex held.

use super::errors::errno;
use super::extents::Blocks;
use super::inode::{iget_orphan, read_raw_at};
use super::super_ops::ORPHAN_FILE_NOT_LOADED;
use super::{INode, Sb};
use crate::disk::extent::{self, Mapping};
use crate::disk::features::compat;
use crate::disk::inode::{inode_location, Inode as DiskInode};
use crate::disk::orphan as dorphan;
use crate::glue::buffer::BufferHead;
use crate::glue::errno::efscorrupted;
use crate::glue::jbd2::Handle;
use core::sync::atomic::Ordering;
use kernel::error::code;
use kernel::prelude::*;
use kernel::types::ARef;

/// One block of the orphan file, referenced for the mount's life.
struct OrphanBlock {
    bh: ARef<BufferHead>,
    /// Free slots (ext4's `ob_free_entries`).
    free: u32,
}

/// The orphan file of a read-write mount (ext4's `ext4_orphan_info`), under
/// `FsInfo::orphan_file`.
pub(crate) struct OrphanFile {
    blocks: KVVec<OrphanBlock>,
    /// Slots per block.
    per_block: u32,
    /// The orphan file inode's checksum seed, with metadata_csum.
    seed: Option<u32>,
}

impl OrphanFile {
    /// Slots in use, over all blocks.
    fn used(&self) -> u64 {
        self.blocks
            .iter()
            .map(|b| u64::from(self.per_block.saturating_sub(b.free)))
            .sum()
    }
}

/// Reads and checks the orphan file of a mount going read-write (ext4's
/// `ext4_init_orphan_info`): `None` without the `orphan_file` feature.
/// Its inode must be a regular, extent-mapped file of at most
/// [`MAX_BLOCKS`](dorphan::MAX_BLOCKS) blocks without holes, and every
/// block must carry the magic and (with metadata_csum) a good checksum;
/// anything else is reported and refuses the read-write mount
/// (EFSCORRUPTED or EFSBADCRC) before anything is written.
fn load_file(sb: &Sb) -> Result<Option<OrphanFile>> {
    let fi = sb.data();
    let d = &fi.sb;
    if !d.has_compat(compat::ORPHAN_FILE) {
        return Ok(None);
    }
    let ino = d.orphan_file_inum;
    let bad = |what: core::fmt::Arguments<'_>| {
        sb_err!(
            sb,
            "orphan file (inode #{}): {}; run e2fsck (a read-only mount still works)",
            ino,
            what
        );
        efscorrupted()
    };
    if ino < 2 || ino > d.inodes_count || (d.has_journal() && ino == d.journal_inum) {
        return Err(bad(format_args!("invalid inode number")));
    }
    let gd = inode_location(d, ino).ok().and_then(|(g, _)| fi.group(g));
    let raw = read_raw_at(sb, d, gd.map(|g| g.inode_table), ino).inspect_err(|e| {
        sb_err!(
            sb,
            "orphan file (inode #{}): unreadable inode: error {}",
            ino,
            e.to_errno()
        );
    })?;
    if raw.links_count == 0 || !raw.is_reg() || !raw.has_extents() {
        return Err(bad(format_args!(
            "not a regular extent-mapped file in use (mode {:o}, links {}, flags {:#x})",
            raw.mode, raw.links_count, raw.flags
        )));
    }
    let bs = fi.block_size();
    let nblocks = raw.size >> fi.block_bits;
    if nblocks > dorphan::MAX_BLOCKS {
        return Err(bad(format_args!("too big: {} bytes", raw.size)));
    }
    let per_block = dorphan::slots_per_block(bs as usize) as u32;
    let seed = d.has_metadata_csum().then_some(raw.csum_seed);
    let refs = fi.block_refs();
    let src = Blocks {
        sb,
        blocks_count: d.blocks_count,
        cache_verified: true,
    };
    let mut blocks = KVVec::with_capacity(nblocks as usize, GFP_KERNEL)?;
    for l in 0..nblocks as u32 {
        crate::glue::task::yield_point()?;
        let pblk = match extent::map(&src, &raw.block, l, &refs, bs, seed) {
            Ok(Mapping::Mapped { pblk, .. }) => pblk,
            Ok(Mapping::Hole { .. }) => {
                return Err(bad(format_args!("block {} is a hole", l)));
            }
            Err(e) => return Err(bad(format_args!("block {}: {}", l, e))),
        };
        let bh = sb.bread(pblk).inspect_err(|_| {
            sb_err!(
                sb,
                "orphan file (inode #{}): unable to read block {} (device block {})",
                ino,
                l,
                pblk
            );
        })?;
        let copy = bh.copy()?;
        let free = dorphan::check_block(&copy, pblk, seed).map_err(|e| {
            sb_err!(
                sb,
                "orphan file (inode #{}) block {} (device block {}): {}; run e2fsck \
                 (a read-only mount still works)",
                ino,
                l,
                pblk,
                e
            );
            errno(e)
        })?;
        // At most `per_block` (the slots counted).
        let free = u32::try_from(free).map_err(|_| code::EINVAL)?;
        blocks.push(OrphanBlock { bh, free }, GFP_KERNEL)?;
    }
    Ok(Some(OrphanFile {
        blocks,
        per_block,
        seed,
    }))
}

/// Installs the orphan file [`load_file`] read (or nothing) in the
/// per-mount state, unless one is there already (a remount read-write
/// after a read-write mount); returns the slots in use.
pub(crate) fn install_file(sb: &Sb) -> Result<u64> {
    let fi = sb.data();
    if let Some(f) = fi.orphan_file.lock().as_ref() {
        return Ok(f.used());
    }
    let Some(f) = load_file(sb)? else {
        return Ok(0);
    };
    let used = f.used();
    let mut slot = fi.orphan_file.lock();
    if slot.is_none() {
        fi.orphan_file_used.store(used, Ordering::Release);
        *slot = Some(f);
    }
    Ok(used)
}

/// Puts `inode` (no link left and still open, or being truncated) on
/// disk as an orphan inside `h`: into a free slot of the orphan file if
/// there is one, else at the head of the classic chain (ext4's
/// `ext4_orphan_add`). Nothing if it is an orphan already.
pub(crate) fn add(h: &Handle<'_>, inode: &INode) -> Result {
    let sb = inode.sb();
    let fi = sb.data();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    // One lock at a time.
    let in_file = inode.read().orphan_slot.is_some();
    if in_file || fi.orphans.lock().contains(&ino) {
        return Ok(());
    }
    if let Some(slot) = add_to_file(h, sb, ino)? {
        inode.write().orphan_slot = Some(slot);
        return Ok(());
    }
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

/// Takes a free slot of the orphan file for inode `ino` inside `h`;
/// returns its index (block × slots per block + slot), or `None` when the
/// filesystem has no orphan file or it is full (ext4's
/// `ext4_orphan_file_add`).
fn add_to_file(h: &Handle<'_>, sb: &Sb, ino: u32) -> Result<Option<u32>> {
    let fi = sb.data();
    let bs = fi.block_size() as usize;
    let mut guard = fi.orphan_file.lock();
    let Some(of) = guard.as_mut() else {
        return Ok(None);
    };
    let n = of.blocks.len();
    if n == 0 {
        return Ok(None);
    }
    let (per_block, seed) = (of.per_block, of.seed);
    // Orphans made at once (by different inodes) spread over the blocks.
    let start = ino as usize % n;
    for k in 0..n {
        let i = (start + k) % n;
        let Some(blk) = of.blocks.get_mut(i) else {
            continue;
        };
        if blk.free == 0 {
            continue;
        }
        let pblk = blk.bh.blocknr();
        let mut access = h.write_access(&blk.bh)?;
        let taken = access.modify(0, bs, |b| {
            let Some(j) = dorphan::find_free(b, 0).map_err(errno)? else {
                return Ok(None);
            };
            dorphan::set_slot(b, j, ino, pblk, seed).map_err(errno)?;
            Ok(Some(j))
        })?;
        let Some(j) = taken else {
            // The count said free, the block has no free slot: corruption
            // of the count's source; this block is not used again.
            fs_err!(
                sb,
                "orphan file block {}: no free slot where {} were counted",
                i,
                blk.free
            );
            blk.free = 0;
            continue;
        };
        access
            .dirty()
            .map_err(|e| super::errors::abort_journal(sb, "orphan file", e))?;
        blk.free -= 1;
        fi.orphan_file_used.fetch_add(1, Ordering::AcqRel);
        // `j < per_block` and `i < MAX_BLOCKS`: no overflow.
        return Ok(Some(i as u32 * per_block + j as u32));
    }
    Ok(None)
}

/// Takes `inode` off the orphans inside `h` (nothing if it is not one):
/// its orphan file slot is cleared, or the superblock or the inode before
/// it in the chain is made to point past it, and its own link is cleared
/// (ext4's `ext4_orphan_del`).
pub(crate) fn del(h: &Handle<'_>, inode: &INode) -> Result {
    let sb = inode.sb();
    let fi = sb.data();
    let ino = u32::try_from(inode.ino()).map_err(|_| code::EINVAL)?;
    let slot = inode.read().orphan_slot;
    if let Some(slot) = slot {
        // As ext4: the inode is no orphan of the file any more, even if
        // its slot could not be cleared (the error is returned).
        let r = del_from_file(h, sb, ino, slot);
        inode.write().orphan_slot = None;
        return r;
    }
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

/// Clears orphan file slot `slot` (which holds inode `ino`) inside `h`
/// (ext4's `ext4_orphan_file_del`). A slot that does not hold `ino` is
/// left alone and reported (EFSCORRUPTED).
fn del_from_file(h: &Handle<'_>, sb: &Sb, ino: u32, slot: u32) -> Result {
    let fi = sb.data();
    let bs = fi.block_size() as usize;
    let mut guard = fi.orphan_file.lock();
    let Some(of) = guard.as_mut() else {
        fs_err!(
            sb,
            "inode #{}: orphan file slot {} without an orphan file",
            ino,
            slot
        );
        return Err(efscorrupted());
    };
    let per_block = of.per_block.max(1);
    let (i, j) = ((slot / per_block) as usize, (slot % per_block) as usize);
    let seed = of.seed;
    let Some(blk) = of.blocks.get_mut(i) else {
        fs_err!(sb, "inode #{}: orphan file slot {} out of range", ino, slot);
        return Err(efscorrupted());
    };
    let pblk = blk.bh.blocknr();
    let mut access = h.write_access(&blk.bh)?;
    let held = access.modify(0, bs, |b| {
        let held = dorphan::slot(b, j).map_err(errno)?;
        if held == ino {
            dorphan::clear_slot(b, j, pblk, seed).map_err(errno)?;
        }
        Ok(held)
    })?;
    if held != ino {
        fs_err!(
            sb,
            "orphan file block {} slot {}: holds inode #{}, not #{}",
            i,
            j,
            held,
            ino
        );
        return Err(efscorrupted());
    }
    access
        .dirty()
        .map_err(|e| super::errors::abort_journal(sb, "orphan file", e))?;
    blk.free = (blk.free + 1).min(per_block);
    fi.orphan_file_used.fetch_sub(1, Ordering::AcqRel);
    Ok(())
}

/// Processes the orphans of a mount going read-write (after a crash, or
/// an ext4 that did not get to them), as ext4's `ext4_orphan_cleanup`:
/// the classic chain first, then every used slot of the orphan file. An
/// inode with no link left is freed (evicted at once); a regular file
/// that still has links was being truncated, and its blocks past its size
/// are freed (`truncate::finish_truncate`); any other inode just stops
/// being an orphan. Everything is read and checked first (the chain's
/// links, the slots' inode numbers, no inode twice): a corrupt record
/// refuses the read-write mount (EFSCORRUPTED) before anything is written.
pub(crate) fn cleanup(sb: &Sb) -> Result {
    let fi = sb.data();
    let d = &fi.sb;
    let orphan_file = d
        .has_compat(crate::disk::features::compat::ORPHAN_FILE)
        .then_some(d.orphan_file_inum);
    let valid = |ino: u32| ino >= d.first_ino && ino <= d.inodes_count && Some(ino) != orphan_file;
    let read_links = |ino: u32| -> Result<DiskInode> {
        let gd = inode_location(d, ino).ok().and_then(|(g, _)| fi.group(g));
        read_raw_at(sb, d, gd.map(|g| g.inode_table), ino)
    };
    // Up to a whole orphan file's worth of slots (half a million with
    // 4 KiB blocks): vmalloc-backed.
    let mut chain = KVVec::new();
    let mut ino = d.last_orphan;
    while ino != 0 {
        crate::glue::task::resched();
        if !valid(ino) || chain.len() as u64 >= u64::from(d.inodes_count) {
            sb_err!(sb, "orphan list: bad inode #{}", ino);
            return Err(efscorrupted());
        }
        let raw = read_links(ino)?;
        chain.push((ino, raw.links_count != 0), GFP_KERNEL)?;
        ino = raw.dtime;
    }
    // The orphan file's used slots: (slot index, inode, linked).
    let mut slots = KVVec::new();
    {
        let guard = fi.orphan_file.lock();
        if let Some(of) = guard.as_ref() {
            for (i, blk) in of.blocks.iter().enumerate() {
                if blk.free >= of.per_block {
                    continue;
                }
                let copy = blk.bh.copy()?;
                for (j, ino) in dorphan::entries(&copy) {
                    slots.push((i as u32 * of.per_block + j as u32, ino), GFP_KERNEL)?;
                }
            }
        }
    }
    // No inode twice (in the chain and the file, or in two slots).
    let mut all = KVVec::with_capacity(chain.len() + slots.len(), GFP_KERNEL)?;
    for &(ino, _) in chain.iter() {
        all.push(ino, GFP_KERNEL)?;
    }
    for &(_, ino) in slots.iter() {
        all.push(ino, GFP_KERNEL)?;
    }
    crate::disk::sort::sort_by_key(&mut all, |&ino| ino);
    if let Some(w) = all.windows(2).find(|w| w.first() == w.get(1)) {
        sb_err!(
            sb,
            "orphans: inode #{} recorded twice; run e2fsck",
            w.first().copied().unwrap_or(0)
        );
        return Err(efscorrupted());
    }
    let mut file = KVVec::with_capacity(slots.len(), GFP_KERNEL)?;
    for &(slot, ino) in slots.iter() {
        crate::glue::task::resched();
        if !valid(ino) {
            sb_err!(
                sb,
                "orphan file slot {}: bad inode #{}; run e2fsck",
                slot,
                ino
            );
            return Err(efscorrupted());
        }
        let raw = read_links(ino)?;
        file.push((slot, ino, raw.links_count != 0), GFP_KERNEL)?;
    }
    if chain.is_empty() && file.is_empty() {
        return Ok(());
    }
    {
        let mut list = fi.orphans.lock();
        for &(ino, _) in chain.iter().rev() {
            list.push(ino, GFP_KERNEL)?;
        }
    }
    let (mut deleted, mut truncated) = (0, 0);
    let todo = Iterator::chain(
        chain.iter().map(|&(ino, linked)| (None, ino, linked)),
        file.iter()
            .map(|&(slot, ino, linked)| (Some(slot), ino, linked)),
    );
    for (slot, ino, linked) in todo {
        let inode = iget_orphan(sb, ino)?;
        if slot.is_some() {
            inode.write().orphan_slot = slot;
        }
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
    let used = fi.orphan_file_used.load(Ordering::Acquire);
    if !fi.orphans.lock().is_empty() || (used != 0 && used != ORPHAN_FILE_NOT_LOADED) {
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

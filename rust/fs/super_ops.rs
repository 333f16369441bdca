// SPDX-License-Identifier: GPL-2.0

//! Mounting and superblock-wide operations (ext4's super.c): read and
//! validate the superblock and group descriptors, build the per-mount
//! state, the journal, statfs, remount.
//!
//! The per-mount state ([`FsInfo`]) is shaped for the write path although
//! nothing but journal recovery writes yet: the superblock buffer and every
//! group-descriptor buffer stay referenced for the life of the mount (as
//! ext4's `s_sbh` and `s_group_desc`); each group's decoded descriptor sits under its own
//! spinlock; the free block, free inode and directory counts are percpu
//! counters (as ext4's `s_freeclusters_counter` & co.).
//!
//! The journal is loaded here (ext4's `ext4_load_journal`), through the
//! glue's jbd2 wrapper on the journal inode, before the metadata a replay
//! may rewrite is trusted: an image that needs recovery is replayed (jbd2
//! writes the logged blocks home through the buffer cache, even on a
//! read-only mount, unless the device itself is read-only: EROFS), then
//! `needs_recovery` is cleared in the superblock on disk and the
//! superblock and descriptors are read again. The journal lives in
//! [`FsInfo`] and is destroyed with it (unmount, or a failed mount).
//!
//! The system zone (ext4's block_validity.c) is built here too, once per
//! mount and never changed: the blocks of every group's superblock and
//! descriptor copies, reserved descriptor blocks, bitmaps and inode table,
//! and the internal journal's blocks (from its extent map), as a sorted,
//! merged array (`crate::disk::syszone`). Extent trees are checked against
//! it when a node is validated (once per read from the device, see
//! `extents.rs`), so its size never shows in the cost of mapping a block.

use super::errors::errno;
use super::extents::Blocks;
use super::inode::{iget, read_raw_at};
use super::options::DataMode;
use super::options::{MountOptions, OptionList};
use super::{INode, Rext4, Sb};
use crate::disk::bytes::{div, rem};
use crate::disk::extent::{self, Mapping};
use crate::disk::features::{Access, FeatureNames, Set};
use crate::disk::group::{desc_location, overhead_blocks, GroupDesc};
use crate::disk::inode::{inode_location, ROOT_INO};
use crate::disk::superblock::{
    mark_recovered, update_for_commit, CommitFields, PendingErrors, Superblock, UuidDisplay,
    ERROR_RECORD, EXT4_MAGIC, MAX_DESC_SIZE, MIN_BLOCK_SIZE, STATE_ERROR, SUPERBLOCK_OFFSET,
    SUPERBLOCK_SIZE,
};
use crate::disk::syszone::{self, BlockRefs, Range, Zone};
use crate::disk::Error as DiskError;
use crate::glue::bdev_hook::BdevHook;
use crate::glue::buffer::BufferHead;
use crate::glue::errno as gerrno;
use crate::glue::jbd2::{Journal, JournalExtent};
use crate::glue::percpu::PercpuCounter;
use crate::glue::ratelimit::RateLimit;
use crate::glue::super_block::{StatFs, SuperParams};
use crate::glue::sysfs::SysfsDir;
use crate::glue::workqueue::{SbWork, WorkQueue};
use crate::glue::{New, SuperBlock};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::error::code;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sync::{Mutex, SpinLock};
use kernel::types::ARef;
use kernel::{new_mutex, new_spinlock};

/// One block group's in-memory state.
pub(crate) type Group = SpinLock<GroupDesc>;

/// `FsInfo::orphan_file_used` before the orphan file is loaded.
pub(crate) const ORPHAN_FILE_NOT_LOADED: u64 = u64::MAX;

/// What rext4 keeps per mount (`s_fs_info`).
#[pin_data]
pub(crate) struct FsInfo {
    /// `/sys/fs/rext4/<device>/` (see `sysfs.rs`), set once the mount is
    /// complete; first, and taken out first at unmount, so that nothing
    /// it shows is gone while it can run.
    #[pin]
    pub(crate) sysfs: Mutex<Option<SysfsDir<Rext4>>>,
    /// The device's sectors written when the mount began
    /// (`session_write_kbytes`).
    pub(crate) sectors_at_mount: u64,
    /// The hook on the device's writeback (see `glue::bdev_hook`), taken
    /// out and removed at unmount; first, so that it is gone before
    /// anything its work item uses is dropped.
    #[pin]
    pub(crate) bdev_hook: Mutex<Option<BdevHook<Rext4>>>,
    /// Metadata writes the hook saw fail, and the time from the last
    /// caught failure's completion to the filesystem error (ns).
    pub(crate) write_errors: AtomicU32,
    pub(crate) write_error_latency_ns: AtomicU64,
    /// The hook reported failures the device's error sequence also
    /// shows (see `errors::check_device`).
    pub(crate) hook_reported: AtomicBool,
    /// The work item that writes the error record (see `errors.rs`);
    /// first, so that it is cancelled (and waited for) before anything it
    /// uses is dropped.
    #[pin]
    pub(crate) sb_work: SbWork<Rext4>,
    /// The mount's own workqueue (`rext4-<device>`, `WQ_MEM_RECLAIM`),
    /// shared with the hook.
    pub(crate) wq: Arc<WorkQueue>,
    /// Set at unmount before the queue is drained: nothing is queued after.
    pub(crate) wq_closed: AtomicBool,
    /// Errors not yet written to the superblock's error record.
    #[pin]
    pub(crate) pending_errors: SpinLock<Option<PendingErrors>>,
    /// An error under `errors=remount-ro` stopped all changes: a remount
    /// read-write is refused.
    pub(crate) shut_down: AtomicBool,
    /// The device's writeback error sequence as last checked (see
    /// `errors::check_device`).
    #[pin]
    pub(crate) device_err: SpinLock<u32>,
    /// The journal, loaded (and replayed) at mount; destroyed first when
    /// the mount goes.
    pub(crate) journal: Option<Journal>,
    /// The validated superblock (geometry and features).
    pub(crate) sb: Superblock,
    /// The buffer holding the superblock, referenced for the mount's life.
    pub(crate) sbh: ARef<BufferHead>,
    /// Whether the mount is read-write (set after the superblock was
    /// marked for it, cleared before it is marked clean again).
    writable: AtomicBool,
    /// The group-descriptor blocks, referenced for the mount's life.
    pub(crate) gd_bhs: KVVec<ARef<BufferHead>>,
    /// Every group's descriptor, validated at mount, under its lock.
    pub(crate) groups: KVVec<Pin<KBox<Group>>>,
    /// Every group's inode table (first block), which never changes after
    /// mount: read without the group's lock by every inode read.
    pub(crate) itables: KVVec<u64>,
    /// Serialises changes to bitmaps and group descriptors (see
    /// `balloc.rs`).
    #[pin]
    pub(crate) alloc_lock: Mutex<()>,
    /// The classic orphan chain in memory (see `orphan.rs`).
    #[pin]
    pub(crate) orphans: Mutex<KVec<u32>>,
    /// The orphan file, loaded when the mount first goes read-write (see
    /// `orphan.rs`).
    #[pin]
    pub(crate) orphan_file: Mutex<Option<super::orphan::OrphanFile>>,
    /// Its slots in use ([`ORPHAN_FILE_NOT_LOADED`] until it is loaded):
    /// what the superblock's `orphan_present` follows (read without the
    /// mutex).
    pub(crate) orphan_file_used: AtomicU64,
    /// Blocks freed by transactions not committed yet, which the
    /// allocator must not hand out (see `balloc.rs`).
    #[pin]
    pub(crate) busy: Mutex<KVec<super::balloc::Busy>>,
    /// The orphan list on disk was not processed (a read-only mount):
    /// a remount read-write is refused, as ext4 refuses it.
    orphans_pending: AtomicBool,
    /// Free blocks, summed over the groups at mount.
    #[pin]
    pub(crate) free_blocks: PercpuCounter,
    /// Free inodes.
    #[pin]
    pub(crate) free_inodes: PercpuCounter,
    /// Directories (for the directory placement).
    #[pin]
    pub(crate) dirs: PercpuCounter,
    /// Budget of error messages (the kernel's printk rate limit).
    #[pin]
    pub(crate) ratelimit: RateLimit,
    /// Errors found since mount (see `errors.rs`).
    pub(crate) error_count: AtomicU32,
    /// The mount options.
    pub(crate) opts: MountOptions,
    /// Metadata blocks, for statfs (computed once at mount).
    pub(crate) overhead: u64,
    /// log2 of the block size (10, 11 or 12: at most the page size).
    pub(crate) block_bits: u32,
    /// The system zone: sorted, merged metadata block ranges (immutable).
    zone: KVVec<Range>,
}

impl FsInfo {
    /// Whether the mount is read-write.
    pub(crate) fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
    }

    /// Stops every later change after an error (`errors=remount-ro`);
    /// true the first time.
    pub(crate) fn shut_down(&self) -> bool {
        let first = !self.shut_down.swap(true, Ordering::AcqRel);
        self.writable.store(false, Ordering::Release);
        first
    }

    /// The descriptor of group `g`, copied under the group's lock.
    pub(crate) fn group(&self, g: u32) -> Option<GroupDesc> {
        let lock = self.groups.get(g as usize)?;
        let gd = *lock.lock();
        Some(gd)
    }

    /// The block size in bytes.
    pub(crate) fn block_size(&self) -> u32 {
        1 << self.block_bits
    }

    /// What block references read from disk are checked against: the
    /// filesystem's size and the system zone.
    pub(crate) fn block_refs(&self) -> BlockRefs<'_> {
        BlockRefs {
            blocks_count: self.sb.blocks_count,
            // `system_zone` checked the ranges with `Zone::new` at mount;
            // they never change.
            zone: Zone::from_checked(&self.zone),
        }
    }
}

/// Reads the superblock bytes at byte 1024 with the current block size
/// `bs`: in block 1 with 1 KiB blocks, else inside block 0. Returns the
/// buffer (to keep) and a parsed copy.
fn read_superblock<S>(
    sb: &SuperBlock<Rext4, S>,
    bs: u32,
) -> Result<(ARef<BufferHead>, Superblock)> {
    let bs = u64::from(bs);
    let buf = sb.bread(div(SUPERBLOCK_OFFSET, bs)).inspect_err(|_| {
        sb_err!(sb, "unable to read the superblock");
    })?;
    let mut bytes = [0u8; SUPERBLOCK_SIZE];
    buf.read(rem(SUPERBLOCK_OFFSET, bs) as usize, &mut bytes)?;
    let d = Superblock::parse(&bytes).map_err(|e| {
        sb_err!(sb, "{}", e);
        errno(e)
    })?;
    Ok((buf, d))
}

/// Reads and validates every group descriptor; returns the descriptor
/// blocks (to keep) and the decoded descriptors.
fn read_groups(
    sb: &Sb<New>,
    d: &Superblock,
) -> Result<(KVVec<ARef<BufferHead>>, KVVec<GroupDesc>)> {
    let n = d.group_count() as usize;
    let mut bhs: KVVec<ARef<BufferHead>> = KVVec::new();
    let mut groups = KVVec::with_capacity(n, GFP_KERNEL)?;
    let mut cur: Option<u64> = None;
    let mut bytes = [0u8; MAX_DESC_SIZE as usize];
    let bytes = bytes
        .get_mut(..usize::from(d.desc_size))
        .ok_or(code::EINVAL)?;
    for g in 0..n as u32 {
        let (blk, off) = desc_location(d, g).map_err(errno)?;
        if cur != Some(blk) {
            let buf = sb.bread(blk).inspect_err(|_| {
                sb_err!(sb, "unable to read group descriptor block {}", blk);
            })?;
            bhs.push(buf, GFP_KERNEL)?;
            cur = Some(blk);
        }
        let Some(buf) = bhs.last() else {
            return Err(code::EIO);
        };
        buf.read(off, bytes)?;
        let gd = GroupDesc::parse(d, g, bytes).map_err(|e| {
            sb_err!(sb, "group {}: {}", g, e);
            errno(e)
        })?;
        groups.push(gd, GFP_KERNEL)?;
    }
    Ok((bhs, groups))
}

/// `fill_super`: validate the filesystem and build the per-mount state (a
/// read-write mount's superblock is marked in [`init_root`]).
pub(crate) fn fill_super(sb: &Sb<New>, opts: MountOptions) -> Result<Pin<KBox<FsInfo>>> {
    // Blocks cached (and marked verified) before this mount are not trusted.
    sb.invalidate_device_cache();
    let bs = sb.set_min_blocksize(MIN_BLOCK_SIZE).inspect_err(|_| {
        sb_err!(sb, "unable to set a block size for reading the superblock");
    })?;
    let (first, d) = read_superblock(sb, bs)?;
    let page = kernel::page::PAGE_SIZE as u32;
    d.access(page).map_err(|e| {
        sb_info!(
            sb,
            "ext4 filesystem, {} blocks of {} bytes, features: {}",
            d.blocks_count,
            d.block_size(),
            FeatureNames(d.feature_compat, d.feature_incompat, d.feature_ro_compat)
        );
        sb_err!(sb, "cannot mount: {}", e);
        errno(e)
    })?;
    if !sb.is_read_only() {
        check_writable(sb, &d, &opts)?;
    }
    if let Some(c) = opts.journal_conflict(&d) {
        sb_err!(sb, "{}", c);
        return Err(code::EINVAL);
    }
    let need = d.blocks_count.saturating_mul(u64::from(d.block_size()));
    let have = sb.device_bytes();
    if need > have {
        sb_err!(
            sb,
            "filesystem needs {} bytes but the device has only {}: truncated device?",
            need,
            have
        );
        return Err(code::EINVAL);
    }
    // The filesystem's block size; a change drops the device's cached
    // blocks, so the superblock is read again (and kept) at that size.
    drop(first);
    sb.set_blocksize(d.block_size()).inspect_err(|_| {
        sb_err!(sb, "unable to set block size {}", d.block_size());
    })?;
    // The hook on the device's writeback, before the journal is loaded
    // (a replay's writes go through it); removed again if the mount
    // fails from here on (dropped with `hook`).
    let sectors_at_mount = sb.sectors_written();
    let wq = Arc::new(WorkQueue::new_reclaim(sb)?, GFP_KERNEL)?;
    let hook = match BdevHook::install::<super::errors::WriteErrors>(sb, &wq) {
        Ok(h) => Some(h),
        Err(e) if e == gerrno::eopnotsupp() || e == code::EBUSY => {
            sb_info!(
                sb,
                "failed metadata writes are found by the device's error sequence only (no writeback hook: {})",
                if e == code::EBUSY {
                    "the device's operations are not the kernel's"
                } else {
                    "other openers may write to the mounted device"
                }
            );
            None
        }
        Err(e) => return Err(e),
    };
    // Errors on the device from now on are this mount's (an older one
    // not seen yet is marked seen, as ext4 does).
    let mut device_err = sb.device_err_sample();
    let _ = sb.device_err_advance(&mut device_err);
    let (sbh, d2) = read_superblock(sb, d.block_size())?;
    if d2 != d {
        sb_err!(sb, "the superblock changed while mounting");
        return Err(code::EINVAL);
    }
    let (mut gd_bhs, mut descs) = read_groups(sb, &d)?;
    let mut ranges = KVVec::new();
    let errors = error_record(&sbh, &d)?;
    let (journal, mut journal_blocks) = match journal_map(sb, &d, &descs, &mut ranges)? {
        None => (None, 0),
        Some(ji) => {
            let n = ji.nblocks;
            (load_journal(sb, &d, ji, &opts)?, n)
        }
    };
    let mut d = d;
    let mut sbh = sbh;
    if let Some(j) = journal.as_ref().filter(|_| d.needs_recovery()) {
        mark_recovery_complete(sb, j, &sbh, &d, &errors)?;
        // The replay rewrote metadata blocks through the buffer cache: the
        // superblock (now without needs_recovery, its checksum verified
        // again) and the descriptors are read afresh, and so is the
        // journal's map for the system zone.
        drop(sbh);
        let (sbh2, d2) = read_superblock(sb, d.block_size())?;
        if d2.needs_recovery()
            || d2.block_size() != d.block_size()
            || d2.blocks_count != d.blocks_count
            || d2.access(page).is_err()
        {
            sb_err!(sb, "the superblock after journal recovery is not usable");
            return Err(code::EINVAL);
        }
        (sbh, d) = (sbh2, d2);
        drop(gd_bhs);
        (gd_bhs, descs) = read_groups(sb, &d)?;
        ranges = KVVec::new();
        journal_blocks = journal_map(sb, &d, &descs, &mut ranges)?.map_or(0, |ji| ji.nblocks);
        sb_info!(sb, "recovery complete");
        // The replay may have brought back what refuses a read-write
        // mount (ext4 journals the orphan list head in the superblock).
        if !sb.is_read_only() {
            check_writable(sb, &d, &opts)?;
        }
    }
    if d.state & STATE_ERROR != 0 {
        sb_err!(
            sb,
            "warning: the filesystem has errors recorded; run e2fsck"
        );
    }

    // Times up to 2446 with the extra timestamp fields, else 32-bit.
    let extra_times = usize::from(d.inode_size) > 128 + 24;
    sb.set_params(&SuperParams {
        magic: EXT4_MAGIC,
        maxbytes: d.max_file_size(),
        time_min: i64::from(i32::MIN),
        time_max: if extra_times {
            (1i64 << 34) - 1 + i64::from(i32::MIN)
        } else {
            i64::from(i32::MAX)
        },
        // Nanoseconds need the extra timestamp fields (as ext4's
        // `s_time_gran`).
        time_gran: if extra_times { 1 } else { 1_000_000_000 },
        uuid: d.uuid,
    });
    // POSIX ACLs are always enforced (ext4 sets POSIX_ACL whatever
    // s_default_mount_opts says).
    sb.set_posix_acl(true);
    let zone = system_zone(sb, &d, &descs, ranges)?;
    let overhead = overhead_blocks(&d, journal_blocks);
    let sum = |f: fn(&GroupDesc) -> u32| -> i64 { descs.iter().map(|g| i64::from(f(g))).sum() };
    let (free_blocks, free_inodes, dirs) = (
        sum(|g| g.free_blocks_count),
        sum(|g| g.free_inodes_count),
        sum(|g| g.used_dirs_count),
    );
    if !sb.is_read_only() && journal.is_none() {
        sb_err!(
            sb,
            "read-write mounts need the journal (a block-mapped one is not loaded)"
        );
        return Err(code::EROFS);
    }
    let mut groups = KVVec::with_capacity(descs.len(), GFP_KERNEL)?;
    let mut itables = KVVec::with_capacity(descs.len(), GFP_KERNEL)?;
    for gd in descs.iter() {
        itables.push(gd.inode_table, GFP_KERNEL)?;
        groups.push(
            KBox::pin_init(new_spinlock!(*gd, "rext4_group"), GFP_KERNEL)?,
            GFP_KERNEL,
        )?;
    }
    let block_bits = d.block_bits();
    let orphans_pending = d.last_orphan != 0;
    let info = KBox::try_pin_init(
        try_pin_init!(FsInfo {
            sysfs <- new_mutex!(None, "rext4_sysfs"),
            sectors_at_mount,
            bdev_hook <- new_mutex!(hook, "rext4_bdev_hook"),
            write_errors: AtomicU32::new(0),
            write_error_latency_ns: AtomicU64::new(0),
            hook_reported: AtomicBool::new(false),
            sb_work <- SbWork::new::<super::errors::UpdateSuper>(sb),
            wq,
            wq_closed: AtomicBool::new(false),
            pending_errors <- new_spinlock!(None, "rext4_errors"),
            shut_down: AtomicBool::new(false),
            device_err <- new_spinlock!(device_err, "rext4_device_err"),
            journal,
            sb: d,
            sbh,
            writable: AtomicBool::new(false),
            gd_bhs,
            groups,
            itables,
            alloc_lock <- new_mutex!((), "rext4_alloc"),
            orphans <- new_mutex!(KVec::new(), "rext4_orphans"),
            orphan_file <- new_mutex!(None, "rext4_orphan_file"),
            orphan_file_used: AtomicU64::new(ORPHAN_FILE_NOT_LOADED),
            busy <- new_mutex!(KVec::new(), "rext4_busy"),
            orphans_pending: AtomicBool::new(orphans_pending),
            free_blocks <- PercpuCounter::new(free_blocks),
            free_inodes <- PercpuCounter::new(free_inodes),
            dirs <- PercpuCounter::new(dirs),
            ratelimit <- RateLimit::new(),
            error_count: AtomicU32::new(0),
            opts,
            overhead,
            block_bits,
            zone,
        }? Error),
        GFP_KERNEL,
    )?;
    Ok(info)
}

/// The root inode, once the per-mount state is installed; logs the mount.
pub(crate) fn init_root(sb: &Sb) -> Result<ARef<INode>> {
    let root = iget(sb, ROOT_INO)?;
    if !root.read().is_dir {
        fs_err!(sb, "corrupt root inode: not a directory");
        return Err(gerrno::efscorrupted());
    }
    let fi = sb.data();
    // A read-write mount marks the superblock last, once nothing else can
    // fail but the root dentry's allocation (ext4's `ext4_setup_super`).
    if !sb.is_read_only() {
        // The orphan file first: a bad one refuses the read-write mount
        // before anything is written.
        super::orphan::install_file(sb)?;
        commit_super(sb, true, true)?;
        fi.writable.store(true, Ordering::Release);
        // Inodes unlinked while open at a crash are freed now (ext4's
        // orphan cleanup); a failure leaves the mount read-only-bound:
        // reported, and the mount fails.
        if let Err(e) = super::orphan::cleanup(sb) {
            super::errors::settle(sb);
            let _ = mark_clean(sb);
            return Err(e);
        }
        fi.orphans_pending.store(false, Ordering::Release);
    }
    // The mount works without it: a failure is only reported.
    match SysfsDir::add(sb) {
        Ok(dir) => *fi.sysfs.lock() = Some(dir),
        Err(e) => fs_warn!(sb, "no /sys/fs/rext4 directory: error {}", e.to_errno()),
    }
    let d = &fi.sb;
    sb_info!(
        sb,
        "mounted filesystem {} {}: {} blocks of {} bytes, {} inodes, {} groups, features: {}; options:{}",
        UuidDisplay(&d.uuid),
        if fi.is_writable() { "read-write (experimental)" } else { "read-only" },
        d.blocks_count,
        d.block_size(),
        d.inodes_count,
        fi.groups.len(),
        FeatureNames(d.feature_compat, d.feature_incompat, d.feature_ro_compat),
        OptionList(&fi.opts)
    );
    Ok(root)
}

/// The internal journal inode as [`journal_map`] read it.
struct JournalInode {
    /// Its inode number.
    ino: u32,
    /// `i_size` in bytes.
    size: u64,
    /// Its size in blocks, rounded up and capped at the 32-bit logical
    /// block space (what statfs counts as overhead).
    nblocks: u64,
    /// Whether the inode is extent-mapped (else block-mapped, which rext4
    /// does not read).
    extent_mapped: bool,
    /// Its extents in logical order.
    extents: KVVec<JournalExtent>,
}

/// Reads the internal journal's inode (`None` without a journal); the
/// blocks its extent map names are appended to `ranges` (ext4 protects
/// them in the system zone). The tree is walked without the zone (it is
/// not built yet) and without marking its blocks verified, so a file whose
/// tree later reaches them validates them against the zone. An external
/// journal (`s_journal_inum` 0) is refused: rext4 does not open other
/// devices.
fn journal_map(
    sb: &Sb<New>,
    d: &Superblock,
    groups: &[GroupDesc],
    ranges: &mut KVVec<Range>,
) -> Result<Option<JournalInode>> {
    if !d.has_journal() {
        return Ok(None);
    }
    if d.journal_inum != 0 && d.journal_dev != 0 {
        sb_err!(sb, "filesystem has both journal inode and journal device");
        return Err(code::EINVAL);
    }
    if d.journal_inum == 0 {
        sb_err!(
            sb,
            "external journal (device {:#x}) not supported; rext4 uses the journal inode only",
            d.journal_dev
        );
        return Err(code::EINVAL);
    }
    let ino = d.journal_inum;
    let itable = inode_location(d, ino)
        .ok()
        .and_then(|(g, _)| groups.get(g as usize))
        .map(|g| g.inode_table);
    let raw = read_raw_at(sb, d, itable, ino)?;
    // As ext4_get_journal_inode: a deleted inode, or one that is not a
    // regular file (the root directory named as the journal, say), is no
    // journal.
    if raw.links_count == 0 {
        sb_err!(sb, "journal inode #{} is deleted", ino);
        return Err(gerrno::efscorrupted());
    }
    if !raw.is_reg() || raw.flags & crate::disk::inode::flags::ENCRYPT != 0 {
        sb_err!(sb, "invalid journal inode #{}", ino);
        return Err(gerrno::efscorrupted());
    }
    // Rounded up, as ext4_protect_reserved_inode does; a size beyond the
    // 32-bit logical block space is walked up to that space's end.
    let nblocks = raw.size.div_ceil(1 << d.block_bits()).min(1 << 32);
    let mut extents = KVVec::new();
    // A block-mapped journal (ext3 style) is not protected: rext4 reads
    // extent trees only (and does not load it, see `load_journal`).
    if !raw.has_extents() {
        return Ok(Some(JournalInode {
            ino,
            size: raw.size,
            nblocks,
            extent_mapped: false,
            extents,
        }));
    }
    let refs = BlockRefs::bounds(d.blocks_count);
    let src = Blocks {
        sb,
        blocks_count: d.blocks_count,
        cache_verified: false,
    };
    let seed = d.has_metadata_csum().then_some(raw.csum_seed);
    let fail = |e| {
        sb_err!(sb, "journal inode #{}: {}", ino, e);
        errno(e)
    };
    let mut lblk: u64 = 0;
    // One step per extent or hole of the journal (a handful, unless the
    // inode is corrupt: the loop yields like every loop sized by disk).
    while lblk < nblocks {
        crate::glue::task::yield_point()?;
        // `lblk < nblocks <= 2^32`.
        let Ok(l) = u32::try_from(lblk) else { break };
        let len =
            match extent::map(&src, &raw.block, l, &refs, d.block_size(), seed).map_err(fail)? {
                Mapping::Mapped { pblk, len, .. } => {
                    let len = u64::from(len).min(nblocks - lblk);
                    ranges.push(Range::new(pblk, len), GFP_KERNEL)?;
                    // `len` is at most an extent's length (< 2^16).
                    let n = u32::try_from(len).map_err(|_| code::EINVAL)?;
                    extents.push(
                        JournalExtent {
                            lblk: l,
                            pblk,
                            len: n,
                        },
                        GFP_KERNEL,
                    )?;
                    len
                }
                Mapping::Hole { len } => u64::from(len),
            };
        lblk += len.max(1);
    }
    Ok(Some(JournalInode {
        ino,
        size: raw.size,
        nblocks,
        extent_mapped: true,
        extents,
    }))
}

/// Opens the journal and loads it, replaying it if the filesystem needs
/// recovery (ext4's `ext4_load_journal`). Recovery writes to the device
/// even on a read-only mount, as ext4's does; on a read-only device it is
/// refused (EROFS). Without recovery the log is wiped first (written back
/// empty unless the device is read-only), as ext4 does.
fn load_journal(
    sb: &Sb<New>,
    d: &Superblock,
    ji: JournalInode,
    opts: &MountOptions,
) -> Result<Option<Journal>> {
    let ro_dev = sb.is_device_read_only();
    // ext4 replays fast commits (fast_commit) through its own jbd2 hook
    // after the full commits; jbd2 alone skips them silently, and clearing
    // needs_recovery afterwards would lose them for good.
    if d.needs_recovery() && d.has_compat(crate::disk::features::compat::FAST_COMMIT) {
        sb_err!(
            sb,
            "the journal may hold fast commits (fast_commit), which rext4 cannot replay; \
             mount the filesystem once with ext4"
        );
        return Err(gerrno::eopnotsupp());
    }
    if d.needs_recovery() && sb.is_read_only() {
        // As ext4's messages: a read-only mount writes for the replay.
        sb_info!(sb, "recovery required on readonly filesystem");
        if ro_dev {
            sb_err!(
                sb,
                "write access unavailable, cannot proceed (the device is read-only)"
            );
            return Err(code::EROFS);
        }
        sb_info!(sb, "write access will be enabled during recovery");
    }
    if !ji.extent_mapped {
        // rext4 maps extent trees only (as for every file); a clean
        // block-mapped (ext3-style) journal is left alone on a read-only
        // mount, one to replay is refused.
        if d.needs_recovery() {
            sb_err!(
                sb,
                "journal inode #{} is block-mapped: rext4 cannot replay it; \
                 mount the filesystem once with ext4 or run e2fsck",
                ji.ino
            );
            return Err(code::EINVAL);
        }
        sb_info!(
            sb,
            "journal inode #{} is block-mapped: not loaded (read-only mount)",
            ji.ino
        );
        return Ok(None);
    }
    let journal = Journal::init_inode(sb, ji.ino, ji.size, ji.extents).inspect_err(|e| {
        sb_err!(
            sb,
            "unable to open the journal (inode #{}): error {}",
            ji.ino,
            e.to_errno()
        );
    })?;
    // The journal's own fast_commit bit, which is what makes jbd2 look for
    // fast commits (ext4's may be off while the log still holds some).
    if d.needs_recovery()
        && journal.incompat_features() & crate::sys::REXT4_JBD2_FEATURE_INCOMPAT_FAST_COMMIT != 0
    {
        sb_err!(
            sb,
            "the journal may hold fast commits (fast_commit), which rext4 cannot replay; \
             mount the filesystem once with ext4"
        );
        return Err(gerrno::eopnotsupp());
    }
    journal.set_barrier(opts.barrier.unwrap_or(true));
    journal.set_commit_interval(opts.commit_interval());
    if !journal.has_barrier() {
        sb_info!(sb, "barriers disabled");
    }
    if !d.needs_recovery() {
        journal.wipe(!ro_dev).inspect_err(|_| {
            sb_err!(sb, "error loading journal");
        })?;
    }
    journal.load().inspect_err(|e| {
        sb_err!(sb, "error loading journal: error {}", e.to_errno());
    })?;
    set_journal_csum(&journal, d, opts).inspect_err(|_| {
        sb_err!(sb, "failed to set journal checksum feature set");
    })?;
    journal.set_commit_callback::<Rext4>();
    Ok(Some(journal))
}

/// The journal's checksum features from the options, as ext4's
/// `set_journal_csum_feature_set`: v3 with metadata_csum, else v1; async
/// commit with `journal_async_commit`.
fn set_journal_csum(journal: &Journal, d: &Superblock, opts: &MountOptions) -> Result {
    use crate::sys::{
        REXT4_JBD2_FEATURE_COMPAT_CHECKSUM as COMPAT_CSUM,
        REXT4_JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT as ASYNC,
        REXT4_JBD2_FEATURE_INCOMPAT_CSUM_V2 as CSUM_V2,
        REXT4_JBD2_FEATURE_INCOMPAT_CSUM_V3 as CSUM_V3,
    };
    let (compat, incompat) = if d.has_metadata_csum() {
        (0, CSUM_V3)
    } else {
        (COMPAT_CSUM, 0)
    };
    journal.clear_features(COMPAT_CSUM, 0, CSUM_V3 | CSUM_V2);
    if opts.journal_async_commit {
        journal.set_features(compat, 0, ASYNC | incompat)
    } else if opts.journal_checksum_on(d) {
        let r = journal.set_features(compat, 0, incompat);
        journal.clear_features(0, 0, ASYNC);
        r
    } else {
        journal.clear_features(0, 0, ASYNC);
        Ok(())
    }
}

/// The superblock's error record before a replay (see
/// [`mark_recovery_complete`]).
type ErrorRecord = [u8; ERROR_RECORD.end - ERROR_RECORD.start];

/// Copies the error record out of the superblock buffer.
fn error_record(sbh: &BufferHead, d: &Superblock) -> Result<ErrorRecord> {
    let off = rem(SUPERBLOCK_OFFSET, u64::from(d.block_size())) as usize;
    let mut rec = [0u8; ERROR_RECORD.end - ERROR_RECORD.start];
    sbh.read(off + ERROR_RECORD.start, &mut rec)?;
    Ok(rec)
}

/// After a replay: checkpoints the journal and writes the superblock at
/// once without `needs_recovery`, with the error record and error state
/// from before the replay (`errors`, `d`: the replay may have put back an
/// older copy of the superblock) and a fresh checksum (ext4's
/// `ext4_load_journal`, `ext4_mark_recovery_complete` and
/// `ext4_commit_super`).
fn mark_recovery_complete(
    sb: &Sb<New>,
    journal: &Journal,
    sbh: &BufferHead,
    d: &Superblock,
    errors: &ErrorRecord,
) -> Result {
    journal.flush().inspect_err(|e| {
        sb_err!(sb, "error flushing the journal: error {}", e.to_errno());
    })?;
    let off = rem(SUPERBLOCK_OFFSET, u64::from(d.block_size())) as usize;
    let csum = d.has_metadata_csum();
    let error_state = d.state & STATE_ERROR != 0;
    sbh.write_sync(off, SUPERBLOCK_SIZE, journal.has_barrier(), |b| {
        mark_recovered(b, errors, error_state, csum).map_err(errno)
    })
    .inspect_err(|e| {
        sb_err!(
            sb,
            "unable to write the superblock after recovery: error {}",
            e.to_errno()
        );
    })
}

/// Builds the system zone from the groups' metadata and the journal's
/// `ranges`: sorted, merged, in an array of its exact size. Metadata
/// claimed twice refuses the mount, as in ext4.
fn system_zone(
    sb: &Sb<New>,
    d: &Superblock,
    groups: &[GroupDesc],
    mut ranges: KVVec<Range>,
) -> Result<KVVec<Range>> {
    let extra = usize::try_from(syszone::max_ranges(d)).map_err(|_| code::ENOMEM)?;
    ranges.reserve(extra, GFP_KERNEL)?;
    ranges.push(syszone::boot_range(d), GFP_KERNEL)?;
    for (g, gd) in groups.iter().enumerate() {
        crate::glue::task::yield_point()?;
        for r in syszone::group_ranges(d, g as u32, gd) {
            ranges.push(r, GFP_KERNEL)?;
        }
    }
    let n = syszone::sort_merge(&mut ranges).map_err(|e| {
        sb_err!(sb, "{}", e);
        errno(e)
    })?;
    let merged = ranges.get(..n).ok_or(code::EINVAL)?;
    let mut zone = KVVec::with_capacity(n, GFP_KERNEL)?;
    zone.extend_from_slice(merged, GFP_KERNEL)?;
    // What `FsInfo::block_refs` relies on without looking again.
    if Zone::new(&zone).is_none() {
        sb_err!(sb, "system zone: ranges not sorted and merged");
        return Err(code::EINVAL);
    }
    Ok(zone)
}

/// Remount (ext4's `ext4_reconfigure`): read-only to read-write marks the
/// superblock as [`fill_super`] does for a read-write mount; read-write to
/// read-only (after the VFS synced the filesystem) flushes the journal and
/// marks the superblock clean. A change of mount options is refused
/// (rather than accepted and ignored).
pub(crate) fn reconfigure(sb: &Sb, opts: &MountOptions, read_only: bool) -> Result {
    let fi = sb.data();
    if let Some(key) = opts.changed_from(&fi.opts) {
        sb_err!(
            sb,
            "changing mount option '{}' on remount is not supported yet",
            key
        );
        return Err(code::EINVAL);
    }
    if read_only == !fi.is_writable() {
        return Ok(());
    }
    if read_only {
        // The VFS does not sync before a remount (ext4 does it itself).
        sb.sync()?;
        super::errors::settle(sb);
        // As ext4: the remount goes on when the journal cannot be left
        // clean (reported by `mark_clean`); `needs_recovery` then stays
        // set and the next mount replays.
        let _ = mark_clean(sb);
        return Ok(());
    }
    if fi.shut_down.load(Ordering::Acquire) {
        sb_err!(
            sb,
            "couldn't remount read-write: the filesystem was stopped after an error; unmount it and run e2fsck"
        );
        return Err(code::EROFS);
    }
    if fi.orphans_pending.load(Ordering::Acquire) {
        sb_err!(
            sb,
            "couldn't remount read-write because of unprocessed orphan inode list"
        );
        return Err(code::EINVAL);
    }
    check_writable(sb, &fi.sb, &fi.opts)?;
    // As ext4: orphans a read-only mount left in the orphan file need a
    // fresh mount (which processes them).
    if super::orphan::install_file(sb)? != 0 {
        sb_err!(
            sb,
            "couldn't remount read-write because of unprocessed orphan inode list (orphan file)"
        );
        return Err(code::EINVAL);
    }
    let Some(journal) = fi.journal.as_ref() else {
        sb_err!(sb, "read-write mounts need the journal");
        return Err(code::EROFS);
    };
    if journal.errno().is_err() {
        sb_err!(sb, "the journal was aborted; cannot remount read-write");
        return Err(code::EROFS);
    }
    commit_super(sb, true, true)?;
    fi.writable.store(true, Ordering::Release);
    Ok(())
}

/// Whether this filesystem may be mounted read-write: only while the write
/// path is incomplete with the module parameter `experimental_write`, and
/// only with data=journal (the mode the write path implements first).
fn check_writable<S>(sb: &SuperBlock<Rext4, S>, d: &Superblock, opts: &MountOptions) -> Result {
    let page = kernel::page::PAGE_SIZE as u32;
    if let Ok(Access::ReadOnly { unknown_ro_compat }) = d.access(page) {
        let ro_incompat = d.feature_incompat & crate::disk::features::INCOMPAT_READ_ONLY;
        let e = if unknown_ro_compat == 0 && ro_incompat != 0 {
            DiskError::UnsupportedFeatures {
                set: Set::Incompat,
                bits: ro_incompat,
            }
        } else {
            DiskError::UnsupportedFeatures {
                set: Set::RoCompat,
                bits: unknown_ro_compat,
            }
        };
        sb_err!(sb, "cannot mount read-write: {}; mount read-only", e);
        return Err(code::EROFS);
    }
    if !crate::glue::task::experimental_write() {
        sb_err!(
            sb,
            "read-write mounts are experimental; mount read-only \
             (-o ro), or load rext4 with experimental_write=1 to try them"
        );
        return Err(code::EROFS);
    }
    if opts.data_mode(d) != DataMode::Journal {
        sb_err!(
            sb,
            "read-write mounts need data=journal for now (data=ordered and data=writeback come later)"
        );
        return Err(code::EROFS);
    }
    Ok(())
}

/// Writes the superblock outside the journal (ext4's `ext4_commit_super`),
/// synchronously, with the fields of `c`.
fn write_super<S>(
    sb: &SuperBlock<Rext4, S>,
    sbh: &BufferHead,
    d: &Superblock,
    fua: bool,
    c: &CommitFields,
) -> Result {
    let off = rem(SUPERBLOCK_OFFSET, u64::from(d.block_size())) as usize;
    sbh.write_sync(off, SUPERBLOCK_SIZE, fua, |b| {
        update_for_commit(d, b, c).map_err(errno)
    })
    .inspect_err(|e| {
        sb_err!(sb, "unable to write the superblock: error {}", e.to_errno());
    })
}

/// [`write_super`] of a mounted filesystem, with the free counts of the
/// in-memory counters; `mounting` counts a read-write mount.
fn commit_super(sb: &Sb, needs_recovery: bool, mounting: bool) -> Result {
    commit_super_with(sb, needs_recovery, mounting, None)
}

/// [`commit_super`] adding `errors` to the superblock's error record.
fn commit_super_with(
    sb: &Sb,
    needs_recovery: bool,
    mounting: bool,
    errors: Option<PendingErrors>,
) -> Result {
    let fi = sb.data();
    // Every superblock write carries what errors are pending (ext4's
    // `ext4_update_super`).
    let taken = errors.is_none();
    let errors = errors.or_else(|| fi.pending_errors.lock().take());
    // `orphan_present` with `needs_recovery`, and while the orphan file
    // holds entries (a freeze with orphans open; ext4's
    // `ext4_orphan_file_empty`); left alone when the file was never
    // loaded.
    let used = fi.orphan_file_used.load(Ordering::Acquire);
    let orphan_present = (fi.sb.has_compat(crate::disk::features::compat::ORPHAN_FILE)
        && used != ORPHAN_FILE_NOT_LOADED)
        .then_some(needs_recovery || used != 0);
    let c = CommitFields {
        now: crate::glue::task::real_seconds(),
        free_blocks: fi.free_blocks.sum_positive().min(fi.sb.blocks_count),
        free_inodes: u32::try_from(fi.free_inodes.sum_positive())
            .unwrap_or(u32::MAX)
            .min(fi.sb.inodes_count),
        needs_recovery,
        orphan_present,
        mounting,
        errors,
    };
    let fua = fi.journal.as_ref().is_some_and(|j| j.has_barrier());
    write_super(sb, &fi.sbh, &fi.sb, fua, &c).inspect_err(|_| {
        // Kept for the next write.
        if let (true, Some(p)) = (taken, errors) {
            let mut q = fi.pending_errors.lock();
            if q.is_none() {
                *q = Some(p);
            }
        }
    })
}

/// Leaves a read-write mount clean (unmount, remount read-only; ext4's
/// `ext4_mark_recovery_complete` and the end of `ext4_put_super`):
/// everything committed and checkpointed, then `needs_recovery` cleared in
/// the superblock. If the journal was aborted, `needs_recovery` stays, so
/// the next mount replays what did commit.
fn mark_clean(sb: &Sb) -> Result {
    let fi = sb.data();
    if !fi.writable.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    let Some(journal) = fi.journal.as_ref() else {
        return Ok(());
    };
    // One started before `writable` was cleared finishes first, one
    // started after sees it clear.
    flush_clean(sb, journal).inspect_err(|e| {
        sb_err!(
            sb,
            "unable to leave the filesystem clean (error {}); the next mount replays the journal",
            e.to_errno()
        );
    })
}

/// With handles held back, commits and checkpoints everything, then
/// writes the superblock without `needs_recovery` (unless the journal was
/// aborted): what unmount, remount read-only and freeze share.
fn flush_clean(sb: &Sb, journal: &Journal) -> Result {
    // An error found here is reported (and the policy applied); the
    // flush goes on.
    let _ = super::errors::check_device(sb);
    journal.lock_updates()?;
    // The checkpoint's writes are not hooked: the device's error sequence
    // tells whether they failed.
    let flushed = journal.flush();
    let checked = super::errors::check_device(sb);
    let r = flushed
        .and(checked)
        .and_then(|()| journal.errno())
        .and_then(|()| commit_super(sb, false, false));
    journal.unlock_updates();
    r
}

/// Unmount: a read-write mount is left clean ([`mark_clean`]); the journal
/// is destroyed when the per-mount data goes, right after.
pub(crate) fn put_super(sb: &Sb) {
    let fi = sb.data();
    // The sysfs directory first: no reader of this mount's state left.
    let dir = fi.sysfs.lock().take();
    drop(dir);
    // The error work: nothing queued from here on, what is queued done,
    // what is still pending written now.
    // Errors found so far recorded through the journal, which the
    // clean unmount then flushes.
    super::errors::settle(sb);
    // Reported by `mark_clean`; the unmount goes on (as ext4's).
    let _ = mark_clean(sb);
    // What the flush left dirty in the device's cache written now, while
    // the hook still catches a failure (kill_block_super would sync it
    // after the hook is gone).
    let _ = sb.sync_device();
    fi.wq.flush();
    // The hook: the original operations back, nothing of it running.
    let hook = fi.bdev_hook.lock().take();
    drop(hook);
    fi.wq_closed.store(true, Ordering::Release);
    fi.wq.flush();
    // Writes the hook does not see (the checkpoint's, the superblock's).
    if sb.device_err_since(*fi.device_err.lock()) {
        let _ = super::errors::check_device(sb);
    }
    // Errors found during the clean unmount: written directly.
    if fi.pending_errors.lock().is_some() {
        super::errors::write_pending(sb);
    }
}

/// `freeze_fs` (ext4's `ext4_freeze`): with handles held back, the
/// journal is flushed and `needs_recovery` cleared, so a frozen
/// filesystem's device can be copied as a clean image. The mount stays
/// read-write; [`unfreeze_fs`] sets `needs_recovery` again.
pub(crate) fn freeze_fs(sb: &Sb) -> Result {
    let fi = sb.data();
    let Some(journal) = fi.journal.as_ref().filter(|_| fi.is_writable()) else {
        return Ok(());
    };
    super::errors::settle(sb);
    flush_clean(sb, journal)
        .inspect_err(|e| sb_err!(sb, "unable to freeze: error {}", e.to_errno()))
}

/// `unfreeze_fs`: the read-write mount's `needs_recovery` back.
pub(crate) fn unfreeze_fs(sb: &Sb) -> Result {
    if !sb.data().is_writable() {
        return Ok(());
    }
    commit_super(sb, true, false)
}

/// `sync_fs`: commits the running transaction; with `wait`, waits for it
/// (ext4's `ext4_sync_fs`).
pub(crate) fn sync_fs(sb: &Sb, wait: bool) -> Result {
    let fi = sb.data();
    // Stopped after an error: what was not committed never will be.
    if fi.shut_down.load(Ordering::Acquire) {
        return Err(code::EIO);
    }
    if fi.is_writable() {
        super::errors::check_device(sb)?;
    }
    let Some(journal) = fi.journal.as_ref().filter(|_| fi.is_writable()) else {
        return Ok(());
    };
    if wait {
        journal.force_commit()
    } else {
        journal.start_commit();
        Ok(())
    }
}

/// `statfs`, with ext4's arithmetic: total blocks minus metadata overhead;
/// free counts from the percpu counters; available blocks minus the root
/// reserve and ext4's reserve of 2% (at most 4096 blocks) for extent
/// filesystems.
pub(crate) fn statfs(sb: &Sb) -> Result<StatFs> {
    let fi = sb.data();
    let d = &fi.sb;
    let bfree = fi.free_blocks.sum_positive();
    let ffree = fi.free_inodes.sum_positive();
    let resv = if d.has_incompat(crate::disk::features::incompat::EXTENTS) {
        (d.blocks_count / 50).min(4096)
    } else {
        0
    };
    let reserved = d.r_blocks_count.saturating_add(resv);
    let lo = u64::from_le_bytes([
        d.uuid[0], d.uuid[1], d.uuid[2], d.uuid[3], d.uuid[4], d.uuid[5], d.uuid[6], d.uuid[7],
    ]);
    let hi = u64::from_le_bytes([
        d.uuid[8], d.uuid[9], d.uuid[10], d.uuid[11], d.uuid[12], d.uuid[13], d.uuid[14],
        d.uuid[15],
    ]);
    Ok(StatFs {
        magic: EXT4_MAGIC,
        bsize: d.block_size(),
        blocks: d.blocks_count.saturating_sub(fi.overhead),
        bfree,
        bavail: bfree.saturating_sub(reserved),
        files: d.inodes_count.into(),
        ffree,
        namelen: 255,
        fsid: lo ^ hi,
    })
}

/// Changes the superblock inside handle `h` through `f` (the block is
/// journalled like any other metadata block), its checksum refreshed.
fn modify_super(
    sb: &Sb,
    h: &crate::glue::jbd2::Handle<'_>,
    f: impl FnOnce(&mut [u8]) -> crate::disk::Result<()>,
) -> Result {
    let fi = sb.data();
    let off = rem(SUPERBLOCK_OFFSET, u64::from(fi.sb.block_size())) as usize;
    let mut access = h.write_access(&fi.sbh)?;
    access.modify(off, SUPERBLOCK_SIZE, |b| {
        f(b).map_err(errno)?;
        if fi.sb.has_metadata_csum() {
            crate::disk::superblock::update_superblock_csum(b).map_err(errno)?;
        }
        Ok(())
    })?;
    access.dirty()
}

/// Adds `p` to the superblock's error record inside handle `h` (the
/// journal runs; see `errors.rs`).
pub(crate) fn record_errors_journalled(
    sb: &Sb,
    h: &crate::glue::jbd2::Handle<'_>,
    p: &PendingErrors,
) -> Result {
    modify_super(sb, h, |b| crate::disk::superblock::record_errors(b, p))
}

/// Adds `p` to the superblock's error record by writing the superblock
/// directly (the journal was aborted, the mount was left clean, or the
/// kernel is about to panic): `needs_recovery` stays set unless the
/// journal was flushed and the mount left clean, so the next mount
/// replays what committed.
pub(crate) fn record_errors_direct(sb: &Sb, p: &PendingErrors) -> Result {
    let fi = sb.data();
    let aborted = fi.journal.as_ref().is_some_and(|j| j.errno().is_err());
    commit_super_with(sb, fi.is_writable() || aborted, false, Some(*p))
}

/// Sets the head of the orphan list (`s_last_orphan`) in the superblock
/// inside handle `h`: the superblock block is journalled like any other
/// metadata block (ext4 journals it for the orphan list too). The
/// superblock's checksum is updated with it.
pub(crate) fn set_last_orphan(sb: &Sb, h: &crate::glue::jbd2::Handle<'_>, ino: u32) -> Result {
    modify_super(sb, h, |b| crate::disk::superblock::set_last_orphan(b, ino))
}

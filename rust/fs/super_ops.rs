// SPDX-License-Identifier: GPL-2.0

//! Mounting and superblock-wide operations: read and validate the
//! superblock and group descriptors, set the mount up, statfs.

use super::inode::iget;
use super::options::{MountOptions, OptionList};
use crate::disk::bytes::{div, rem};
use crate::disk::extent::BlockSource;
use crate::disk::features::{Access, FeatureNames, Set};
use crate::disk::group::{desc_location, overhead_blocks, GroupDesc};
use crate::disk::inode::{JOURNAL_INO, ROOT_INO};
use crate::disk::superblock::{
    Superblock, UuidDisplay, EXT4_MAGIC, MIN_BLOCK_SIZE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE,
};
use crate::disk::Error as DiskError;
use crate::glue::buffer::BufferHead;
use crate::glue::errno;
use crate::glue::inode::InodeRef;
use crate::glue::ratelimit::RateLimit;
use crate::glue::super_block::{SbParams, SuperBlock};
use kernel::alloc::{flags::GFP_KERNEL, KBox, KVVec, KVec};
use kernel::error::{code, Error, Result};
use kernel::types::ARef;

/// What rext4 keeps per mount (`s_fs_info`).
pub(crate) struct FsInfo {
    /// The validated superblock.
    pub(crate) sb: Superblock,
    /// All group descriptors, validated at mount.
    pub(crate) groups: KVVec<GroupDesc>,
    /// The mount options.
    pub(crate) opts: MountOptions,
    /// Metadata blocks, for statfs (computed once at mount).
    pub(crate) overhead: u64,
    /// Free blocks and inodes summed over the group descriptors at mount;
    /// constant while mounts are read-only.
    pub(crate) free_blocks: u64,
    /// See `free_blocks`.
    pub(crate) free_inodes: u64,
    /// log2 of the block size (10, 11 or 12: at most the page size).
    pub(crate) block_bits: u32,
    /// Largest file size (`ext4_max_size`).
    pub(crate) max_bytes: i64,
    /// Budget of error messages (the kernel's printk rate limit).
    pub(crate) ratelimit: RateLimit,
}

/// Maps a disk-layer error to the errno ext4 returns for it: corruption is
/// `EUCLEAN` (EFSCORRUPTED), a bad checksum `EBADMSG` (EFSBADCRC), a failed
/// read `EIO`, the rest `EINVAL`.
pub(crate) fn errno(e: DiskError) -> Error {
    match e {
        DiskError::Corrupt { .. } | DiskError::Truncated => errno::efscorrupted(),
        DiskError::BadChecksum { .. } => errno::efsbadcrc(),
        DiskError::Io { .. } => code::EIO,
        DiskError::NotExt4 { .. }
        | DiskError::BlockSizeAbovePage { .. }
        | DiskError::Unsupported { .. }
        | DiskError::UnsupportedFeatures { .. } => code::EINVAL,
    }
}

/// Reads filesystem blocks through the block device's buffer cache.
pub(crate) struct Blocks<'a> {
    pub(crate) sb: &'a SuperBlock,
    pub(crate) blocks_count: u64,
}

impl BlockSource for Blocks<'_> {
    type Block = BlockCopy;
    fn read(&self, pblk: u64) -> core::result::Result<BlockCopy, DiskError> {
        if pblk >= self.blocks_count {
            return Err(DiskError::Corrupt {
                what: "block number beyond the filesystem",
                value: pblk,
            });
        }
        let io = |_| DiskError::Io { block: pblk };
        let bh = self.sb.bread(pblk).map_err(io)?;
        let bytes = bh.copy().map_err(io)?;
        Ok(BlockCopy { bh, bytes })
    }

    fn is_verified(&self, b: &BlockCopy) -> bool {
        b.bh.is_verified()
    }

    fn set_verified(&self, b: &BlockCopy) {
        b.bh.set_verified()
    }
}

/// A block read through the buffer cache: the buffer (for its verified
/// bit) and a private copy of its bytes, which is what gets parsed (the
/// glue never lends out the live buffer memory).
pub(crate) struct BlockCopy {
    pub(crate) bh: ARef<BufferHead>,
    pub(crate) bytes: KVec<u8>,
}

impl AsRef<[u8]> for BlockCopy {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads and validates the superblock of the device behind `sb`.
fn read_superblock(sb: &SuperBlock) -> Result<Superblock> {
    let bs = sb.set_min_blocksize(MIN_BLOCK_SIZE).inspect_err(|_| {
        sb_err!(sb, "unable to set a block size for reading the superblock");
    })?;
    // Byte 1024: block 1 with 1 KiB blocks, else inside block 0.
    let bs = u64::from(bs);
    let buf = sb.bread(div(SUPERBLOCK_OFFSET, bs)).inspect_err(|_| {
        sb_err!(sb, "unable to read the superblock");
    })?;
    let off = rem(SUPERBLOCK_OFFSET, bs) as usize;
    let mut bytes = [0u8; SUPERBLOCK_SIZE];
    buf.read(off, &mut bytes)?;
    Superblock::parse(&bytes).map_err(|e| {
        sb_err!(sb, "{}", e);
        errno(e)
    })
}

/// Reads and validates every group descriptor.
fn read_groups(sb: &SuperBlock, d: &Superblock) -> Result<KVVec<GroupDesc>> {
    let n = d.group_count() as usize;
    let mut groups = KVVec::with_capacity(n, GFP_KERNEL)?;
    let mut cur: Option<(u64, ARef<BufferHead>)> = None;
    let mut bytes = [0u8; crate::disk::superblock::MAX_DESC_SIZE as usize];
    let bytes = bytes
        .get_mut(..usize::from(d.desc_size))
        .ok_or(code::EINVAL)?;
    for g in 0..n as u32 {
        let (blk, off) = desc_location(d, g).map_err(errno)?;
        if cur.as_ref().map(|(b, _)| *b) != Some(blk) {
            let buf = sb.bread(blk).inspect_err(|_| {
                sb_err!(sb, "unable to read group descriptor block {}", blk);
            })?;
            cur = Some((blk, buf));
        }
        let Some((_, buf)) = cur.as_ref() else {
            return Err(code::EIO);
        };
        buf.read(off, bytes)?;
        let gd = GroupDesc::parse(d, g, bytes).map_err(|e| {
            sb_err!(sb, "group {}: {}", g, e);
            errno(e)
        })?;
        groups.push(gd, GFP_KERNEL)?;
    }
    Ok(groups)
}

/// `fill_super`: validate the filesystem and set a read-only mount up.
/// Returns the root inode.
pub(crate) fn fill_super(sb: &SuperBlock, opts: MountOptions) -> Result<InodeRef> {
    // Blocks cached (and marked verified) before this mount are not trusted.
    sb.invalidate_device_cache();
    let d = read_superblock(sb)?;
    let access = d.access(kernel::page::PAGE_SIZE as u32).map_err(|e| {
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
    if let Access::ReadOnly { unknown_ro_compat } = access {
        if !sb.is_read_only() {
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
    }
    if !sb.is_read_only() {
        sb_err!(
            sb,
            "read-write mounts are not supported yet; mount read-only (-o ro)"
        );
        return Err(code::EROFS);
    }
    if d.needs_recovery() {
        sb_err!(
            sb,
            "the journal needs recovery, which rext4 cannot do yet; \
             mount the filesystem once with ext4 or run e2fsck"
        );
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
    sb.set_blocksize(d.block_size()).inspect_err(|_| {
        sb_err!(sb, "unable to set block size {}", d.block_size());
    })?;
    let groups = read_groups(sb, &d)?;
    if d.state & crate::disk::superblock::STATE_ERROR != 0 {
        sb_err!(
            sb,
            "warning: the filesystem has errors recorded; run e2fsck"
        );
    }

    // Times up to 2446 with the extra timestamp fields, else 32-bit.
    let extra_times = usize::from(d.inode_size) > 128 + 24;
    sb.set_params(&SbParams {
        magic: EXT4_MAGIC,
        maxbytes: d.max_file_size(),
        time_min: i64::from(i32::MIN),
        time_max: if extra_times {
            (1i64 << 34) - 1 + i64::from(i32::MIN)
        } else {
            i64::from(i32::MAX)
        },
        uuid: d.uuid,
    });
    let journal_blocks = journal_blocks(sb, &d, &groups)?;
    let overhead = overhead_blocks(&d, journal_blocks);
    let free_blocks = groups.iter().map(|g| u64::from(g.free_blocks_count)).sum();
    let free_inodes = groups.iter().map(|g| u64::from(g.free_inodes_count)).sum();
    let (block_bits, max_bytes) = (d.block_bits(), d.max_file_size());
    let info = KBox::new(
        FsInfo {
            block_bits,
            max_bytes,
            sb: d,
            groups,
            opts,
            overhead,
            free_blocks,
            free_inodes,
            ratelimit: RateLimit::new(),
        },
        GFP_KERNEL,
    )?;
    // SAFETY: once, before anyone can report through it (`s_fs_info` is
    // not set yet), at its final address inside the box.
    unsafe { info.ratelimit.init() };
    sb.set_fs_info(info);

    let root = iget(sb, ROOT_INO)?;
    if !root.data().is_dir {
        sb_err!(sb, "corrupt root inode: not a directory");
        return Err(errno::efscorrupted());
    }
    let fi = sb.fs_info();
    let d = &fi.sb;
    sb_info!(
        sb,
        "mounted filesystem {} read-only: {} blocks of {} bytes, {} inodes, {} groups, features: {}; options:{}",
        UuidDisplay(&d.uuid),
        d.blocks_count,
        d.block_size(),
        d.inodes_count,
        fi.groups.len(),
        FeatureNames(d.feature_compat, d.feature_incompat, d.feature_ro_compat),
        OptionList(&fi.opts)
    );
    Ok(root)
}

/// Size of the internal journal in blocks (0 without one).
fn journal_blocks(sb: &SuperBlock, d: &Superblock, groups: &[GroupDesc]) -> Result<u64> {
    if !d.has_journal() {
        return Ok(0);
    }
    let ino = if d.journal_inum == 0 {
        JOURNAL_INO
    } else {
        d.journal_inum
    };
    let raw = super::inode::read_raw_with(sb, d, groups, ino)?;
    Ok(raw.size >> d.block_bits())
}

/// What statfs reports.
pub(crate) struct StatFs {
    pub(crate) magic: u16,
    pub(crate) bsize: u32,
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    pub(crate) bavail: u64,
    pub(crate) files: u64,
    pub(crate) ffree: u64,
    pub(crate) namelen: u32,
    pub(crate) fsid: u64,
}

/// `statfs`, with ext4's arithmetic: total blocks minus metadata overhead;
/// free counts summed over the group descriptors (at mount); available
/// blocks minus the root reserve and ext4's reserve of 2% (at most 4096
/// blocks) for extent filesystems.
pub(crate) fn statfs(sb: &SuperBlock) -> Result<StatFs> {
    let fi = sb.fs_info();
    let d = &fi.sb;
    let (bfree, ffree) = (fi.free_blocks, fi.free_inodes);
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

// SPDX-License-Identifier: GPL-2.0

//! Mounting: read, validate and report the superblock.

use crate::disk::features::{Access, FeatureNames, Set};
use crate::disk::superblock::{Superblock, MIN_BLOCK_SIZE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};
use crate::disk::Error as DiskError;
use crate::glue::errno;
use crate::glue::super_block::SuperBlock;
use kernel::error::{code, Error, Result};

/// Maps a disk-layer error to the errno a mount returns, as ext4 does:
/// corruption is `EUCLEAN` (EFSCORRUPTED), a bad checksum `EBADMSG`
/// (EFSBADCRC), a failed read `EIO`, the rest `EINVAL`.
pub(crate) fn errno(e: DiskError) -> Error {
    match e {
        DiskError::Corrupt { .. } | DiskError::Truncated => errno::efscorrupted(),
        DiskError::BadChecksum { .. } => errno::efsbadcrc(),
        DiskError::Io { .. } => code::EIO,
        DiskError::NotExt4 { .. }
        | DiskError::Unsupported { .. }
        | DiskError::UnsupportedFeatures { .. } => code::EINVAL,
    }
}

/// Reads and validates the superblock of the device behind `sb`.
fn read_superblock(sb: &SuperBlock) -> Result<Superblock> {
    let bs = sb.set_min_blocksize(MIN_BLOCK_SIZE).inspect_err(|_| {
        sb_err!(sb, "unable to set a block size for reading the superblock");
    })?;
    let bs = u64::from(bs);
    let buf = sb.bread(SUPERBLOCK_OFFSET / bs).inspect_err(|_| {
        sb_err!(sb, "unable to read the superblock");
    })?;
    let off = (SUPERBLOCK_OFFSET % bs) as usize;
    let bytes = buf
        .data()
        .get(off..off + SUPERBLOCK_SIZE)
        .ok_or(code::EIO)?;
    Superblock::parse(bytes).map_err(|e| {
        sb_err!(sb, "{}", e);
        errno(e)
    })
}

/// `fill_super`: today it reads and reports the superblock, checks that rext4
/// could mount it, and refuses: the read path is not implemented yet.
pub(crate) fn fill_super(sb: &SuperBlock) -> Result {
    let d = read_superblock(sb)?;
    sb_info!(
        sb,
        "ext4 filesystem, {} blocks of {} bytes, {} inodes, {} groups, features: {}",
        d.blocks_count,
        d.block_size(),
        d.inodes_count,
        d.group_count(),
        FeatureNames(d.feature_compat, d.feature_incompat, d.feature_ro_compat)
    );

    let access = d.access(kernel::page::PAGE_SIZE as u32).map_err(|e| {
        sb_err!(sb, "cannot mount: {}", e);
        errno(e)
    })?;
    if let Access::ReadOnly { unknown_ro_compat } = access {
        if !sb.is_read_only() {
            let e = DiskError::UnsupportedFeatures {
                set: Set::RoCompat,
                bits: unknown_ro_compat,
            };
            sb_err!(sb, "cannot mount read-write: {}; mount read-only", e);
            return Err(code::EROFS);
        }
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

    sb_err!(sb, "mounting is not supported yet: the read path is not implemented");
    Err(errno::eopnotsupp())
}

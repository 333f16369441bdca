//! The ext4 superblock: 1024 bytes at byte offset 1024 of the device.

use super::bytes::{array, le16, le32, lo_hi, put_le16, put_le32, put_slice, u8_at};
use super::crc32c::crc32c;
use super::features::{self, compat, incompat, ro_compat, Access};
use super::{Error, Result};

/// Byte offset of the primary superblock on the device.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size of the on-disk superblock.
pub const SUPERBLOCK_SIZE: usize = 1024;
/// `s_magic`.
pub const EXT4_MAGIC: u16 = 0xEF53;
/// `s_checksum_type` for crc32c, the only algorithm ext4 defines.
pub const CHECKSUM_TYPE_CRC32C: u8 = 1;
/// Offset of `s_checksum`, which covers every byte before it.
const CHECKSUM_OFFSET: usize = 0x3FC;

/// `s_state` bit: cleanly unmounted.
pub const STATE_VALID: u16 = 0x0001;
/// `s_state` bit: errors detected.
pub const STATE_ERROR: u16 = 0x0002;
/// `s_state` bit: orphans being recovered.
pub const STATE_ORPHAN: u16 = 0x0004;

/// Smallest block size ext4 allows (`s_log_block_size` 0).
pub const MIN_BLOCK_SIZE: u32 = 1024;
/// Largest block size ext4 allows (`s_log_block_size` 6).
pub const MAX_BLOCK_SIZE: u32 = 65536;
/// Inode size of revision-0 filesystems.
pub const GOOD_OLD_INODE_SIZE: u16 = 128;
/// First non-reserved inode of revision-0 filesystems.
pub const GOOD_OLD_FIRST_INO: u32 = 11;
/// Group descriptor size without the 64bit feature.
pub const MIN_DESC_SIZE: u16 = 32;
/// Smallest group descriptor size with the 64bit feature.
pub const MIN_DESC_SIZE_64BIT: u16 = 64;
/// Largest group descriptor size.
pub const MAX_DESC_SIZE: u16 = 1024;

/// The superblock fields rext4 uses, decoded and validated.
///
/// A `Superblock` only exists for bytes that passed [`Superblock::parse`]:
/// magic, checksum (with metadata_csum) and the geometry checks below hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Total inodes.
    pub inodes_count: u32,
    /// Total blocks (64-bit with the 64bit feature).
    pub blocks_count: u64,
    /// Blocks reserved for the superuser.
    pub r_blocks_count: u64,
    /// Free blocks as last recorded.
    pub free_blocks_count: u64,
    /// Free inodes as last recorded.
    pub free_inodes_count: u32,
    /// First data block: 1 for 1 KiB blocks, else 0.
    pub first_data_block: u32,
    /// log2(block size) - 10.
    pub log_block_size: u32,
    /// log2(cluster size) - 10.
    pub log_cluster_size: u32,
    /// Blocks per group.
    pub blocks_per_group: u32,
    /// Clusters per group.
    pub clusters_per_group: u32,
    /// Inodes per group.
    pub inodes_per_group: u32,
    /// Last mount time (seconds, 40-bit).
    pub mtime: u64,
    /// Last write time (seconds, 40-bit).
    pub wtime: u64,
    /// Mounts since the last check.
    pub mnt_count: u16,
    /// Mounts allowed before a check (-1: no limit).
    pub max_mnt_count: i16,
    /// `STATE_*` bits.
    pub state: u16,
    /// Behaviour on errors (1 continue, 2 remount-ro, 3 panic).
    pub errors: u16,
    /// Revision level (0 or 1).
    pub rev_level: u32,
    /// The system that made the filesystem (`s_creator_os`: 0 Linux,
    /// 1 Hurd, ...); see [`Superblock::is_hurd`].
    pub creator_os: u32,
    /// First non-reserved inode.
    pub first_ino: u32,
    /// On-disk inode size.
    pub inode_size: u16,
    /// Compatible feature bits.
    pub feature_compat: u32,
    /// Incompatible feature bits.
    pub feature_incompat: u32,
    /// Read-only compatible feature bits.
    pub feature_ro_compat: u32,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Volume label (NUL padded).
    pub volume_name: [u8; 16],
    /// Reserved GDT blocks for online resize.
    pub reserved_gdt_blocks: u16,
    /// Journal inode number (0: the journal is on another device).
    pub journal_inum: u32,
    /// Device number of an external journal (`s_journal_dev`).
    pub journal_dev: u32,
    /// First orphan inode.
    pub last_orphan: u32,
    /// The orphan file's inode (`s_orphan_file_inum`; meaningful with the
    /// `orphan_file` feature).
    pub orphan_file_inum: u32,
    /// htree hash seed.
    pub hash_seed: [u32; 4],
    /// Default htree hash version.
    pub def_hash_version: u8,
    /// Group descriptor size in bytes.
    pub desc_size: u16,
    /// Default mount options.
    pub default_mount_opts: u32,
    /// First meta block group (meta_bg).
    pub first_meta_bg: u32,
    /// Creation time (seconds, 40-bit).
    pub mkfs_time: u64,
    /// Minimum extra inode size.
    pub min_extra_isize: u16,
    /// Wanted extra inode size.
    pub want_extra_isize: u16,
    /// Miscellaneous flags (hash signedness, ...).
    pub flags: u32,
    /// log2 of groups per flex group.
    pub log_groups_per_flex: u8,
    /// Errors recorded so far.
    pub error_count: u32,
    /// Overhead clusters as recorded by mke2fs/resize2fs (0: unknown).
    pub overhead_clusters: u32,
    /// The two groups with backup superblocks under sparse_super2.
    pub backup_bgs: [u32; 2],
    /// The seed of every metadata checksum: `s_checksum_seed` with the
    /// csum_seed feature, otherwise crc32c(~0, uuid).
    pub csum_seed: u32,
}

impl Superblock {
    /// Whether the Hurd made the filesystem: its inodes use the Linux
    /// `l_i_version` field for a translator block (ext4's `HURD_COMPAT`),
    /// so the change counter is neither read nor written there.
    pub fn is_hurd(&self) -> bool {
        self.creator_os == 1
    }

    /// Parses and validates the 1024 superblock bytes (device offset 1024).
    pub fn parse(b: &[u8]) -> Result<Superblock> {
        if b.len() < SUPERBLOCK_SIZE {
            return Err(Error::Truncated);
        }
        let magic = le16(b, 0x38)?;
        if magic != EXT4_MAGIC {
            return Err(Error::NotExt4 { magic });
        }
        let feature_compat = le32(b, 0x5C)?;
        let feature_incompat = le32(b, 0x60)?;
        let feature_ro_compat = le32(b, 0x64)?;
        let rev_level = le32(b, 0x4C)?;
        if rev_level > 1 {
            return Err(Error::Unsupported {
                what: "superblock revision",
                value: rev_level.into(),
            });
        }

        // With metadata_csum every other check runs on verified bytes.
        if feature_ro_compat & ro_compat::METADATA_CSUM != 0 {
            let ty = u8_at(b, 0x175)?;
            if ty != CHECKSUM_TYPE_CRC32C {
                return Err(Error::Corrupt {
                    what: "superblock: s_checksum_type",
                    value: ty.into(),
                });
            }
            let stored = le32(b, CHECKSUM_OFFSET)?;
            let computed = superblock_csum(b)?;
            if stored != computed {
                return Err(Error::BadChecksum {
                    what: "superblock",
                    stored,
                    computed,
                });
            }
        }

        let is64 = feature_incompat & incompat::BIT64 != 0;
        let hi = |off: usize| -> Result<u32> {
            if is64 {
                le32(b, off)
            } else {
                Ok(0)
            }
        };
        let time = |lo: usize, hi_off: usize| -> Result<u64> {
            Ok(u64::from(le32(b, lo)?) | (u64::from(u8_at(b, hi_off)?) << 32))
        };

        let uuid: [u8; 16] = array(b, 0x68)?;
        let csum_seed = if feature_incompat & incompat::CSUM_SEED != 0 {
            le32(b, 0x270)?
        } else {
            crc32c(!0, &uuid)
        };

        let (inode_size, first_ino) = if rev_level == 0 {
            (GOOD_OLD_INODE_SIZE, GOOD_OLD_FIRST_INO)
        } else {
            (le16(b, 0x58)?, le32(b, 0x54)?)
        };

        let sb = Superblock {
            inodes_count: le32(b, 0x0)?,
            blocks_count: lo_hi(le32(b, 0x4)?, hi(0x150)?),
            r_blocks_count: lo_hi(le32(b, 0x8)?, hi(0x154)?),
            free_blocks_count: lo_hi(le32(b, 0xC)?, hi(0x158)?),
            free_inodes_count: le32(b, 0x10)?,
            first_data_block: le32(b, 0x14)?,
            log_block_size: le32(b, 0x18)?,
            log_cluster_size: le32(b, 0x1C)?,
            blocks_per_group: le32(b, 0x20)?,
            clusters_per_group: le32(b, 0x24)?,
            inodes_per_group: le32(b, 0x28)?,
            mtime: time(0x2C, 0x275)?,
            wtime: time(0x30, 0x274)?,
            mnt_count: le16(b, 0x34)?,
            max_mnt_count: le16(b, 0x36)? as i16,
            state: le16(b, 0x3A)?,
            errors: le16(b, 0x3C)?,
            rev_level,
            creator_os: le32(b, 0x48)?,
            first_ino,
            inode_size,
            feature_compat,
            feature_incompat,
            feature_ro_compat,
            uuid,
            volume_name: array(b, 0x78)?,
            reserved_gdt_blocks: le16(b, 0xCE)?,
            journal_inum: le32(b, 0xE0)?,
            journal_dev: le32(b, 0xE4)?,
            last_orphan: le32(b, 0xE8)?,
            orphan_file_inum: le32(b, 0x280)?,
            hash_seed: [
                le32(b, 0xEC)?,
                le32(b, 0xF0)?,
                le32(b, 0xF4)?,
                le32(b, 0xF8)?,
            ],
            def_hash_version: u8_at(b, 0xFC)?,
            desc_size: if is64 { le16(b, 0xFE)? } else { MIN_DESC_SIZE },
            default_mount_opts: le32(b, 0x100)?,
            first_meta_bg: le32(b, 0x104)?,
            mkfs_time: time(0x108, 0x276)?,
            min_extra_isize: le16(b, 0x15C)?,
            want_extra_isize: le16(b, 0x15E)?,
            flags: le32(b, 0x160)?,
            log_groups_per_flex: u8_at(b, 0x174)?,
            error_count: le32(b, 0x194)?,
            overhead_clusters: le32(b, 0x248)?,
            backup_bgs: [le32(b, 0x24C)?, le32(b, 0x250)?],
            csum_seed,
        };
        sb.validate()?;
        Ok(sb)
    }

    /// Geometry checks: everything later code divides by, shifts by or
    /// indexes with is sane.
    fn validate(&self) -> Result<()> {
        let corrupt = |what: &'static str, value: u64| Err(Error::Corrupt { what, value });
        // 1 KiB .. 64 KiB.
        if self.log_block_size > 6 {
            return corrupt("superblock: s_log_block_size", self.log_block_size.into());
        }
        let bs = self.block_size();
        let bits_per_block = u64::from(bs) * 8;
        // At least one byte of bitmap, at most one block of it.
        if self.blocks_per_group < 8 || u64::from(self.blocks_per_group) > bits_per_block {
            return corrupt(
                "superblock: s_blocks_per_group",
                self.blocks_per_group.into(),
            );
        }
        if self.log_cluster_size == self.log_block_size
            && self.clusters_per_group != self.blocks_per_group
        {
            return corrupt(
                "superblock: s_clusters_per_group",
                self.clusters_per_group.into(),
            );
        }
        let isz = self.inode_size;
        if isz < GOOD_OLD_INODE_SIZE || !isz.is_power_of_two() || u32::from(isz) > bs {
            return corrupt("superblock: s_inode_size", isz.into());
        }
        // At least one block of inodes, at most one block of bitmap.
        let inodes_per_block = super::bytes::div(bs.into(), isz.into()) as u32;
        if self.inodes_per_group < inodes_per_block
            || u64::from(self.inodes_per_group) > bits_per_block
        {
            return corrupt(
                "superblock: s_inodes_per_group",
                self.inodes_per_group.into(),
            );
        }
        if self.first_ino < GOOD_OLD_FIRST_INO || self.first_ino > self.inodes_count {
            return corrupt("superblock: s_first_ino", self.first_ino.into());
        }
        let want_first = if bs == MIN_BLOCK_SIZE { 1 } else { 0 };
        if self.first_data_block != want_first {
            return corrupt(
                "superblock: s_first_data_block",
                self.first_data_block.into(),
            );
        }
        if self.blocks_count <= u64::from(self.first_data_block) {
            return corrupt("superblock: s_blocks_count", self.blocks_count);
        }
        if self.feature_incompat & incompat::BIT64 != 0 {
            let d = self.desc_size;
            if d < MIN_DESC_SIZE_64BIT || d > MAX_DESC_SIZE || !d.is_power_of_two() {
                return corrupt("superblock: s_desc_size", d.into());
            }
        }
        // The inode count is derived from the group count; a mismatch means
        // one of the three fields is wrong.
        let groups = self.group_count();
        if groups == 0 || groups > u64::from(u32::MAX) {
            return corrupt("superblock: group count", groups);
        }
        if u64::from(self.inodes_count) != groups * u64::from(self.inodes_per_group) {
            return corrupt("superblock: s_inodes_count", self.inodes_count.into());
        }
        if self.r_blocks_count > self.blocks_count {
            return corrupt("superblock: s_r_blocks_count", self.r_blocks_count);
        }
        if self.r_blocks_count > self.blocks_count {
            return corrupt("superblock: s_r_blocks_count", self.r_blocks_count);
        }
        if self.free_blocks_count > self.blocks_count {
            return corrupt("superblock: s_free_blocks_count", self.free_blocks_count);
        }
        if self.free_inodes_count > self.inodes_count {
            return corrupt(
                "superblock: s_free_inodes_count",
                self.free_inodes_count.into(),
            );
        }
        if self.log_groups_per_flex > 31 {
            return corrupt(
                "superblock: s_log_groups_per_flex",
                self.log_groups_per_flex.into(),
            );
        }
        Ok(())
    }

    /// Block size in bytes (1 KiB .. 64 KiB, checked by `parse`).
    pub fn block_size(&self) -> u32 {
        MIN_BLOCK_SIZE << self.log_block_size.min(6)
    }

    /// Number of block groups.
    pub fn group_count(&self) -> u64 {
        let data = self.blocks_count - u64::from(self.first_data_block);
        super::bytes::div_ceil(data, u64::from(self.blocks_per_group))
    }

    /// Whether the filesystem has the given compat feature.
    pub fn has_compat(&self, bit: u32) -> bool {
        self.feature_compat & bit != 0
    }

    /// Whether the filesystem has the given incompat feature.
    pub fn has_incompat(&self, bit: u32) -> bool {
        self.feature_incompat & bit != 0
    }

    /// Whether the filesystem has the given ro_compat feature.
    pub fn has_ro_compat(&self, bit: u32) -> bool {
        self.feature_ro_compat & bit != 0
    }

    /// Whether metadata carries crc32c checksums.
    pub fn has_metadata_csum(&self) -> bool {
        self.has_ro_compat(ro_compat::METADATA_CSUM)
    }

    /// Whether the journal must be replayed before the filesystem is
    /// consistent.
    pub fn needs_recovery(&self) -> bool {
        self.has_incompat(incompat::RECOVER)
    }

    /// Whether the filesystem has a journal.
    pub fn has_journal(&self) -> bool {
        self.has_compat(compat::HAS_JOURNAL)
    }

    /// log2 of the block size (10 ..= 16).
    pub fn block_bits(&self) -> u32 {
        10 + self.log_block_size.min(6)
    }

    /// The largest file size, as ext4 computes it for extent-mapped files
    /// (`ext4_max_size`): 2^32 - 1 blocks (the 32-bit `ee_block`), and
    /// without huge_file also at most 2^32 - 1 512-byte sectors in
    /// `i_blocks`, rounded down to whole blocks.
    pub fn max_file_size(&self) -> i64 {
        let bits = self.block_bits();
        let mut upper = i64::MAX;
        if !self.has_ro_compat(ro_compat::HUGE_FILE) {
            upper = (((1i64 << 32) - 1) >> (bits - 9)) << bits;
        }
        (((1i64 << 32) - 1) << bits).min(upper)
    }

    /// What rext4 may do with this filesystem, given its features and
    /// geometry. Block sizes 1 KiB up to `page_size` are mountable (the
    /// page cache needs whole blocks in a page); larger ones are refused.
    pub fn access(&self, page_size: u32) -> Result<Access> {
        let access = features::classify(self.feature_incompat, self.feature_ro_compat);
        if let Access::Refuse { unknown_incompat } = access {
            return Err(Error::UnsupportedFeatures {
                set: features::Set::Incompat,
                bits: unknown_incompat,
            });
        }
        if self.block_size() > page_size {
            return Err(Error::BlockSizeAbovePage {
                block_size: self.block_size(),
                page_size,
            });
        }
        if self.log_cluster_size != self.log_block_size {
            return Err(Error::Unsupported {
                what: "cluster size",
                value: (u64::from(MIN_BLOCK_SIZE)) << self.log_cluster_size.min(32),
            });
        }
        Ok(access)
    }
}

/// Computes the superblock checksum over the bytes before `s_checksum`.
pub fn superblock_csum(b: &[u8]) -> Result<u32> {
    let covered = b.get(..CHECKSUM_OFFSET).ok_or(Error::Truncated)?;
    Ok(crc32c(!0, covered))
}

/// Stores a fresh checksum into superblock bytes (for tools and tests that
/// build or modify superblocks).
pub fn update_superblock_csum(b: &mut [u8]) -> Result<()> {
    let c = superblock_csum(b)?;
    let slot = b
        .get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4)
        .ok_or(Error::Truncated)?;
    slot.copy_from_slice(&c.to_le_bytes());
    Ok(())
}

/// Writes `v` little-endian at `off` of the superblock bytes `b`, after
/// checking `b` holds a whole superblock.
fn put_bytes(b: &mut [u8], off: usize, v: &[u8]) -> Result<()> {
    if b.len() < SUPERBLOCK_SIZE {
        return Err(Error::Truncated);
    }
    let s = b.get_mut(off..off + v.len()).ok_or(Error::Truncated)?;
    s.copy_from_slice(v);
    Ok(())
}

/// Sets the free blocks count (`s_free_blocks_count_lo`, and `_hi` with
/// the 64bit feature) in the raw superblock bytes `b` of filesystem `sb`.
/// A count above the block count, or above 32 bits without 64bit, is
/// refused. The checksum must be updated afterwards
/// ([`update_superblock_csum`]).
pub fn set_free_blocks_count(sb: &Superblock, b: &mut [u8], v: u64) -> Result<()> {
    let is64 = sb.has_incompat(incompat::BIT64);
    if v > sb.blocks_count || (!is64 && v > u64::from(u32::MAX)) {
        return Err(Error::Corrupt {
            what: "superblock: s_free_blocks_count",
            value: v,
        });
    }
    if b.len() < SUPERBLOCK_SIZE {
        return Err(Error::Truncated);
    }
    put_bytes(b, 0xC, &(v as u32).to_le_bytes())?;
    if is64 {
        put_bytes(b, 0x158, &((v >> 32) as u32).to_le_bytes())?;
    }
    Ok(())
}

/// Sets `s_free_inodes_count` in the raw superblock bytes `b`; a count
/// above the inode count is refused.
pub fn set_free_inodes_count(sb: &Superblock, b: &mut [u8], v: u32) -> Result<()> {
    if v > sb.inodes_count {
        return Err(Error::Corrupt {
            what: "superblock: s_free_inodes_count",
            value: v.into(),
        });
    }
    put_bytes(b, 0x10, &v.to_le_bytes())
}

/// Sets `s_last_orphan` (the head of the orphan list) in the raw
/// superblock bytes `b`.
pub fn set_last_orphan(b: &mut [u8], ino: u32) -> Result<()> {
    put_bytes(b, 0xE8, &ino.to_le_bytes())
}

/// Offset of `s_feature_incompat`.
const INCOMPAT_OFFSET: usize = 0x60;
/// Offset of `s_feature_ro_compat`.
const RO_COMPAT_OFFSET: usize = 0x64;
/// Offset of `s_state`.
const STATE_OFFSET: usize = 0x3A;

/// The error record ext4 writes outside the journal, `s_error_count` up to
/// `s_mount_opts` (ext4's `EXT4_S_ERR_START..EXT4_S_ERR_END`).
pub const ERROR_RECORD: core::ops::Range<usize> = 0x194..0x200;

/// The superblock after a journal replay, as ext4 leaves it
/// (`ext4_load_journal`, `ext4_mark_recovery_complete`): the error record
/// as it was before the replay (`errors`: a replayed, older copy of the
/// superblock must not roll it back), the error state kept if it was set
/// (`error_state`), `needs_recovery` cleared, and with metadata_csum a
/// fresh checksum. Fails before changing anything.
pub fn mark_recovered(
    b: &mut [u8],
    errors: &[u8],
    error_state: bool,
    metadata_csum: bool,
) -> Result<()> {
    if b.len() < SUPERBLOCK_SIZE || errors.len() != ERROR_RECORD.len() {
        return Err(Error::Truncated);
    }
    let rec = b.get_mut(ERROR_RECORD).ok_or(Error::Truncated)?;
    rec.copy_from_slice(errors);
    if error_state {
        let state = b
            .get_mut(STATE_OFFSET..STATE_OFFSET + 2)
            .ok_or(Error::Truncated)?;
        let mut v = [0u8; 2];
        v.copy_from_slice(state);
        let v = u16::from_le_bytes(v) | STATE_ERROR;
        state.copy_from_slice(&v.to_le_bytes());
    }
    let slot = b
        .get_mut(INCOMPAT_OFFSET..INCOMPAT_OFFSET + 4)
        .ok_or(Error::Truncated)?;
    let mut v = [0u8; 4];
    v.copy_from_slice(slot);
    let bits = u32::from_le_bytes(v) & !incompat::RECOVER;
    slot.copy_from_slice(&bits.to_le_bytes());
    if metadata_csum {
        update_superblock_csum(b)?;
    }
    Ok(())
}

/// What [`update_for_commit`] writes into the superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitFields {
    /// The time, in seconds since the epoch (`s_wtime`, and `s_mtime` when
    /// mounting).
    pub now: i64,
    /// Free blocks (`s_free_blocks_count`), from the in-memory counters.
    pub free_blocks: u64,
    /// Free inodes (`s_free_inodes_count`).
    pub free_inodes: u32,
    /// Whether `needs_recovery` is set: from a read-write mount (or
    /// remount) until the journal is flushed at unmount, remount
    /// read-only or freeze.
    pub needs_recovery: bool,
    /// `orphan_present` (ro_compat) set or cleared; `None` leaves it as
    /// it is. ext4 sets it with `needs_recovery` on a filesystem with an
    /// orphan file and clears it when it leaves the filesystem clean with
    /// the orphan file empty.
    pub orphan_present: Option<bool>,
    /// A read-write mount begins: the mount count goes up by one (a
    /// `s_max_mnt_count` of 0 becomes ext4's default, 20) and `s_mtime` is
    /// set.
    pub mounting: bool,
    /// Errors to add to the superblock's error record ([`record_errors`]).
    pub errors: Option<PendingErrors>,
}

/// Offsets of the fields [`update_for_commit`] writes.
const MTIME: usize = 0x2C;
const WTIME: usize = 0x30;
const MNT_COUNT: usize = 0x34;
const MAX_MNT_COUNT: usize = 0x36;
const WTIME_HI: usize = 0x274;
const MTIME_HI: usize = 0x275;
/// ext4's `EXT4_DFL_MAX_MNT_COUNT`.
const DEFAULT_MAX_MNT_COUNT: u16 = 20;

/// Updates the raw superblock bytes `b` of filesystem `sb` as ext4 does
/// before it writes the superblock outside the journal
/// (`ext4_setup_super` when mounting read-write, `ext4_update_super` and
/// `ext4_commit_super` on every write): write time, free counts,
/// `needs_recovery` (and `orphan_present` when asked), mount count and
/// time when mounting, and the checksum
/// with metadata_csum. Refuses (changing nothing) a free count larger
/// than the filesystem.
pub fn update_for_commit(sb: &Superblock, b: &mut [u8], c: &CommitFields) -> Result<()> {
    if b.len() < SUPERBLOCK_SIZE {
        return Err(Error::Truncated);
    }
    // The checks of the setters first, so an error changes nothing.
    if c.free_blocks > sb.blocks_count || c.free_inodes > sb.inodes_count {
        return Err(Error::Corrupt {
            what: "superblock: free count",
            value: c.free_blocks,
        });
    }
    set_free_blocks_count(sb, b, c.free_blocks)?;
    set_free_inodes_count(sb, b, c.free_inodes)?;
    let stamp = |b: &mut [u8], lo: usize, hi: usize| -> Result<()> {
        put_le32(b, lo, c.now as u32)?;
        put_slice(b, hi, &[(c.now >> 32) as u8])
    };
    stamp(b, WTIME, WTIME_HI)?;
    if c.mounting {
        stamp(b, MTIME, MTIME_HI)?;
        put_le16(b, MNT_COUNT, le16(b, MNT_COUNT)?.wrapping_add(1))?;
        if le16(b, MAX_MNT_COUNT)? == 0 {
            put_le16(b, MAX_MNT_COUNT, DEFAULT_MAX_MNT_COUNT)?;
        }
    }
    let bits = le32(b, INCOMPAT_OFFSET)?;
    let bits = if c.needs_recovery {
        bits | incompat::RECOVER
    } else {
        bits & !incompat::RECOVER
    };
    put_le32(b, INCOMPAT_OFFSET, bits)?;
    if let Some(on) = c.orphan_present {
        let bits = le32(b, RO_COMPAT_OFFSET)?;
        let bits = if on {
            bits | ro_compat::ORPHAN_PRESENT
        } else {
            bits & !ro_compat::ORPHAN_PRESENT
        };
        put_le32(b, RO_COMPAT_OFFSET, bits)?;
    }
    if let Some(e) = &c.errors {
        record_errors(b, e)?;
    }
    if sb.has_metadata_csum() {
        update_superblock_csum(b)?;
    }
    Ok(())
}

/// One error as the superblock records it (ext4's `save_error_info`):
/// when, where (inode, block, function and line of the code that found
/// it) and what (`s_*_error_errcode`, from [`error_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorEvent {
    /// Seconds since the epoch.
    pub time: i64,
    /// The inode involved, or 0.
    pub ino: u32,
    /// The block involved, or 0.
    pub block: u64,
    /// The function's name, cut to 32 bytes, NUL-padded (not terminated
    /// when it fills the field, as ext4 writes it).
    pub func: [u8; 32],
    /// The source line.
    pub line: u32,
    /// ext4's error code ([`error_code`]).
    pub code: u8,
}

impl ErrorEvent {
    /// An event at `time` with errno `errno` (positive; 0 is taken as
    /// EFSCORRUPTED, as ext4 does).
    pub fn new(time: i64, ino: u32, block: u64, func: &str, line: u32, errno: i32) -> ErrorEvent {
        let mut f = [0u8; 32];
        let n = func.len().min(f.len());
        f[..n].copy_from_slice(&func.as_bytes()[..n]);
        ErrorEvent {
            time,
            ino,
            block,
            func: f,
            line,
            code: error_code(if errno == 0 { EFSCORRUPTED } else { errno }),
        }
    }
}

/// `EUCLEAN`, which ext4 calls EFSCORRUPTED.
const EFSCORRUPTED: i32 = 117;

/// ext4's code for an errno in the superblock's error record
/// (`ext4_errno_to_code`: `EXT4_ERR_*`, 1 for an errno without one).
pub fn error_code(errno: i32) -> u8 {
    const TABLE: &[(i32, u8)] = &[
        (5, 2),    // EIO
        (12, 3),   // ENOMEM
        (74, 4),   // EBADMSG = EFSBADCRC
        (117, 5),  // EUCLEAN = EFSCORRUPTED
        (28, 6),   // ENOSPC
        (126, 7),  // ENOKEY
        (30, 8),   // EROFS
        (27, 9),   // EFBIG
        (17, 10),  // EEXIST
        (34, 11),  // ERANGE
        (75, 12),  // EOVERFLOW
        (16, 13),  // EBUSY
        (20, 14),  // ENOTDIR
        (39, 15),  // ENOTEMPTY
        (108, 16), // ESHUTDOWN
        (14, 17),  // EFAULT
    ];
    TABLE
        .iter()
        .find(|(e, _)| *e == errno.abs())
        .map_or(1, |(_, c)| *c)
}

/// Errors found since the superblock was last written, to be added to
/// its record ([`record_errors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingErrors {
    /// How many (added to `s_error_count`).
    pub count: u32,
    /// The first of them: becomes the record's first error if the
    /// superblock has none yet.
    pub first: ErrorEvent,
    /// The last of them.
    pub last: ErrorEvent,
}

/// Offsets of the error record's fields (ext4's `struct ext4_super_block`).
const ERROR_COUNT: usize = 0x194;
const FIRST_ERROR_TIME: usize = 0x198;
const FIRST_ERROR_INO: usize = 0x19C;
const FIRST_ERROR_BLOCK: usize = 0x1A0;
const FIRST_ERROR_FUNC: usize = 0x1A8;
const FIRST_ERROR_LINE: usize = 0x1C8;
const LAST_ERROR_TIME: usize = 0x1CC;
const LAST_ERROR_INO: usize = 0x1D0;
const LAST_ERROR_LINE: usize = 0x1D4;
const LAST_ERROR_BLOCK: usize = 0x1D8;
const LAST_ERROR_FUNC: usize = 0x1E0;
const FIRST_ERROR_TIME_HI: usize = 0x278;
const LAST_ERROR_TIME_HI: usize = 0x279;
const FIRST_ERROR_ERRCODE: usize = 0x27A;
const LAST_ERROR_ERRCODE: usize = 0x27B;
/// One error's fields: time, its high byte, inode, block, function, line,
/// errno code.
const FIRST_ERROR: [usize; 7] = [
    FIRST_ERROR_TIME,
    FIRST_ERROR_TIME_HI,
    FIRST_ERROR_INO,
    FIRST_ERROR_BLOCK,
    FIRST_ERROR_FUNC,
    FIRST_ERROR_LINE,
    FIRST_ERROR_ERRCODE,
];
const LAST_ERROR: [usize; 7] = [
    LAST_ERROR_TIME,
    LAST_ERROR_TIME_HI,
    LAST_ERROR_INO,
    LAST_ERROR_BLOCK,
    LAST_ERROR_FUNC,
    LAST_ERROR_LINE,
    LAST_ERROR_ERRCODE,
];

/// Adds `e` to the error record in the raw superblock bytes `b` (ext4's
/// `ext4_update_super`): the error state set in `s_state`, the count
/// raised, the first error filled in if the record has none (no
/// `s_first_error_time`), the last error replaced. The checksum must be
/// updated afterwards (as [`update_for_commit`] does).
pub fn record_errors(b: &mut [u8], e: &PendingErrors) -> Result<()> {
    if b.len() < SUPERBLOCK_SIZE {
        return Err(Error::Truncated);
    }
    let state = le16(b, STATE_OFFSET)? | STATE_ERROR;
    put_le16(b, STATE_OFFSET, state)?;
    put_le32(
        b,
        ERROR_COUNT,
        le32(b, ERROR_COUNT)?.saturating_add(e.count),
    )?;
    let first_time =
        i64::from(le32(b, FIRST_ERROR_TIME)?) | (i64::from(u8_at(b, FIRST_ERROR_TIME_HI)?) << 32);
    let mut put = |ev: &ErrorEvent, f: [usize; 7]| -> Result<()> {
        let [time, time_hi, ino, block, func, line, code] = f;
        put_le32(b, time, ev.time as u32)?;
        put_slice(b, time_hi, &[(ev.time >> 32) as u8])?;
        put_le32(b, ino, ev.ino)?;
        put_le32(b, block, ev.block as u32)?;
        put_le32(b, block + 4, (ev.block >> 32) as u32)?;
        put_slice(b, func, &ev.func)?;
        put_le32(b, line, ev.line)?;
        put_slice(b, code, &[ev.code])
    };
    if first_time == 0 {
        put(&e.first, FIRST_ERROR)?;
    }
    put(&e.last, LAST_ERROR)
}

/// The superblock's error record as it stands in raw superblock bytes
/// `b`: the count, and the first and the last error (`None` where the
/// record has no time for it, as ext4 reads it).
pub fn read_error_record(b: &[u8]) -> Result<(u32, Option<ErrorEvent>, Option<ErrorEvent>)> {
    let get = |f: [usize; 7]| -> Result<Option<ErrorEvent>> {
        let [time, time_hi, ino, block, func, line, code] = f;
        let t = i64::from(le32(b, time)?) | (i64::from(u8_at(b, time_hi)?) << 32);
        if t == 0 {
            return Ok(None);
        }
        let mut name = [0u8; 32];
        name.copy_from_slice(b.get(func..func + 32).ok_or(Error::Truncated)?);
        Ok(Some(ErrorEvent {
            time: t,
            ino: le32(b, ino)?,
            block: u64::from(le32(b, block)?) | (u64::from(le32(b, block + 4)?) << 32),
            func: name,
            line: le32(b, line)?,
            code: u8_at(b, code)?,
        }))
    };
    let first = get(FIRST_ERROR)?;
    let last = get(LAST_ERROR)?;
    Ok((le32(b, ERROR_COUNT)?, first, last))
}

/// Displays a UUID the usual way (8-4-4-4-12 hex digits).
pub struct UuidDisplay<'a>(pub &'a [u8; 16]);

impl core::fmt::Display for UuidDisplay<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{:02x}", b)?;
        }
        Ok(())
    }
}

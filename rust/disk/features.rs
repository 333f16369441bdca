//! ext4 feature flags and rext4's policy over them.
//!
//! ext4 splits features in three sets. An implementation that does not know a
//! *compat* feature may use the filesystem as it is; one that does not know a
//! *ro_compat* feature may only read it; one that does not know an *incompat*
//! feature must not touch it. rext4 applies that rule to the features it
//! implements, listed in [`INCOMPAT_SUPPORTED`] and [`RO_COMPAT_SUPPORTED`].

/// Compatible features (`s_feature_compat`).
pub mod compat {
    /// Directory preallocation.
    pub const DIR_PREALLOC: u32 = 0x0001;
    /// AFS server inodes.
    pub const IMAGIC_INODES: u32 = 0x0002;
    /// The filesystem has a jbd2 journal.
    pub const HAS_JOURNAL: u32 = 0x0004;
    /// Extended attributes.
    pub const EXT_ATTR: u32 = 0x0008;
    /// Reserved GDT blocks for online growth.
    pub const RESIZE_INODE: u32 = 0x0010;
    /// Hashed b-tree directories.
    pub const DIR_INDEX: u32 = 0x0020;
    /// Backup superblocks only in the two groups of `s_backup_bgs`.
    pub const SPARSE_SUPER2: u32 = 0x0200;
    /// Fast commits in the journal.
    pub const FAST_COMMIT: u32 = 0x0400;
    /// Inode numbers never change.
    pub const STABLE_INODES: u32 = 0x0800;
    /// Orphan file.
    pub const ORPHAN_FILE: u32 = 0x1000;
}

/// Read-only compatible features (`s_feature_ro_compat`).
pub mod ro_compat {
    /// Backup superblocks only in groups 0, 1 and powers of 3, 5, 7.
    pub const SPARSE_SUPER: u32 = 0x0001;
    /// Files larger than 2 GiB exist.
    pub const LARGE_FILE: u32 = 0x0002;
    /// Never used.
    pub const BTREE_DIR: u32 = 0x0004;
    /// `i_blocks` may be in filesystem-block units.
    pub const HUGE_FILE: u32 = 0x0008;
    /// Group descriptors carry a crc16 checksum.
    pub const GDT_CSUM: u32 = 0x0010;
    /// Directories may have more than 65000 subdirectories.
    pub const DIR_NLINK: u32 = 0x0020;
    /// Inodes have extra space (`i_extra_isize`).
    pub const EXTRA_ISIZE: u32 = 0x0040;
    /// Snapshots (never merged).
    pub const HAS_SNAPSHOT: u32 = 0x0080;
    /// Quota inodes.
    pub const QUOTA: u32 = 0x0100;
    /// Allocation in clusters of blocks.
    pub const BIGALLOC: u32 = 0x0200;
    /// crc32c checksums on all metadata.
    pub const METADATA_CSUM: u32 = 0x0400;
    /// Replicas (never merged).
    pub const REPLICA: u32 = 0x0800;
    /// The filesystem must be mounted read-only.
    pub const READONLY: u32 = 0x1000;
    /// Project quota.
    pub const PROJECT: u32 = 0x2000;
    /// Shared blocks.
    pub const SHARED_BLOCKS: u32 = 0x4000;
    /// fs-verity files.
    pub const VERITY: u32 = 0x8000;
    /// The orphan file may hold entries.
    pub const ORPHAN_PRESENT: u32 = 0x1_0000;
}

/// Incompatible features (`s_feature_incompat`).
pub mod incompat {
    /// Compression (never merged).
    pub const COMPRESSION: u32 = 0x0001;
    /// Directory entries record the file type.
    pub const FILETYPE: u32 = 0x0002;
    /// The journal needs recovery.
    pub const RECOVER: u32 = 0x0004;
    /// This device is an external journal.
    pub const JOURNAL_DEV: u32 = 0x0008;
    /// Meta block groups.
    pub const META_BG: u32 = 0x0010;
    /// Extent-mapped files.
    pub const EXTENTS: u32 = 0x0040;
    /// 64-bit block numbers and 64-byte group descriptors.
    pub const BIT64: u32 = 0x0080;
    /// Multiple mount protection.
    pub const MMP: u32 = 0x0100;
    /// Flexible block groups.
    pub const FLEX_BG: u32 = 0x0200;
    /// Extended attribute values in inodes.
    pub const EA_INODE: u32 = 0x0400;
    /// Data in directory entries.
    pub const DIRDATA: u32 = 0x1000;
    /// The metadata checksum seed is stored in the superblock.
    pub const CSUM_SEED: u32 = 0x2000;
    /// Directories larger than 2 GiB or with 3-level htrees.
    pub const LARGEDIR: u32 = 0x4000;
    /// Data in inodes.
    pub const INLINE_DATA: u32 = 0x8000;
    /// Encrypted files.
    pub const ENCRYPT: u32 = 0x1_0000;
    /// Case-insensitive directories.
    pub const CASEFOLD: u32 = 0x2_0000;
}

/// Incompatible features rext4 can read. Anything else refuses the mount.
/// Those also in [`INCOMPAT_READ_ONLY`] allow read-only mounts only.
///
/// `RECOVER` is listed because it is a state rather than a format: the mount
/// path decides what to do with a journal that needs recovery.
pub const INCOMPAT_SUPPORTED: u32 = incompat::FILETYPE
    | incompat::RECOVER
    | incompat::EXTENTS
    | incompat::BIT64
    | incompat::FLEX_BG
    | incompat::CSUM_SEED
    | incompat::LARGEDIR;

/// Incompatible features rext4 reads but does not write yet: read-only
/// mounts only (largedir: directories beyond 2 GiB and 3-level htrees,
/// which the write path does not create or grow yet).
pub const INCOMPAT_READ_ONLY: u32 = incompat::LARGEDIR;

/// Read-only compatible features rext4 implements for writing too. Anything
/// else allows read-only mounts only. `orphan_present` is a state rather
/// than a format (the orphan file may hold entries): a read-write mount
/// processes them, as it processes the classic orphan chain.
pub const RO_COMPAT_SUPPORTED: u32 = ro_compat::SPARSE_SUPER
    | ro_compat::LARGE_FILE
    | ro_compat::HUGE_FILE
    | ro_compat::GDT_CSUM
    | ro_compat::DIR_NLINK
    | ro_compat::EXTRA_ISIZE
    | ro_compat::METADATA_CSUM
    | ro_compat::ORPHAN_PRESENT;

/// What a filesystem's feature set allows rext4 to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every feature is implemented: read-write mounts are allowed.
    ReadWrite,
    /// Read-only mounts only.
    ReadOnly {
        /// The ro_compat bits rext4 does not implement (0 when the
        /// filesystem carries the READONLY feature or an incompat feature
        /// of [`INCOMPAT_READ_ONLY`]).
        unknown_ro_compat: u32,
    },
    /// No mount at all.
    Refuse {
        /// The incompat bits rext4 does not implement.
        unknown_incompat: u32,
    },
}

/// Classifies a feature set according to rext4's policy.
pub fn classify(incompat_bits: u32, ro_compat_bits: u32) -> Access {
    let unknown_incompat = incompat_bits & !INCOMPAT_SUPPORTED;
    if unknown_incompat != 0 {
        return Access::Refuse { unknown_incompat };
    }
    let unknown_ro_compat = ro_compat_bits & !RO_COMPAT_SUPPORTED;
    if unknown_ro_compat != 0
        || ro_compat_bits & ro_compat::READONLY != 0
        || incompat_bits & INCOMPAT_READ_ONLY != 0
    {
        return Access::ReadOnly {
            unknown_ro_compat: unknown_ro_compat & !ro_compat::READONLY,
        };
    }
    Access::ReadWrite
}

/// The names `mke2fs -O` and `dumpe2fs` use, one table per set.
const COMPAT_NAMES: &[(u32, &str)] = &[
    (compat::DIR_PREALLOC, "dir_prealloc"),
    (compat::IMAGIC_INODES, "imagic_inodes"),
    (compat::HAS_JOURNAL, "has_journal"),
    (compat::EXT_ATTR, "ext_attr"),
    (compat::RESIZE_INODE, "resize_inode"),
    (compat::DIR_INDEX, "dir_index"),
    (compat::SPARSE_SUPER2, "sparse_super2"),
    (compat::FAST_COMMIT, "fast_commit"),
    (compat::STABLE_INODES, "stable_inodes"),
    (compat::ORPHAN_FILE, "orphan_file"),
];

const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (incompat::COMPRESSION, "compression"),
    (incompat::FILETYPE, "filetype"),
    (incompat::RECOVER, "needs_recovery"),
    (incompat::JOURNAL_DEV, "journal_dev"),
    (incompat::META_BG, "meta_bg"),
    (incompat::EXTENTS, "extent"),
    (incompat::BIT64, "64bit"),
    (incompat::MMP, "mmp"),
    (incompat::FLEX_BG, "flex_bg"),
    (incompat::EA_INODE, "ea_inode"),
    (incompat::DIRDATA, "dirdata"),
    (incompat::CSUM_SEED, "metadata_csum_seed"),
    (incompat::LARGEDIR, "large_dir"),
    (incompat::INLINE_DATA, "inline_data"),
    (incompat::ENCRYPT, "encrypt"),
    (incompat::CASEFOLD, "casefold"),
];

const RO_COMPAT_NAMES: &[(u32, &str)] = &[
    (ro_compat::SPARSE_SUPER, "sparse_super"),
    (ro_compat::LARGE_FILE, "large_file"),
    (ro_compat::BTREE_DIR, "btree_dir"),
    (ro_compat::HUGE_FILE, "huge_file"),
    (ro_compat::GDT_CSUM, "uninit_bg"),
    (ro_compat::DIR_NLINK, "dir_nlink"),
    (ro_compat::EXTRA_ISIZE, "extra_isize"),
    (ro_compat::HAS_SNAPSHOT, "snapshot"),
    (ro_compat::QUOTA, "quota"),
    (ro_compat::BIGALLOC, "bigalloc"),
    (ro_compat::METADATA_CSUM, "metadata_csum"),
    (ro_compat::REPLICA, "replica"),
    (ro_compat::READONLY, "read-only"),
    (ro_compat::PROJECT, "project"),
    (ro_compat::SHARED_BLOCKS, "shared_blocks"),
    (ro_compat::VERITY, "verity"),
    (ro_compat::ORPHAN_PRESENT, "orphan_present"),
];

/// Which of the three feature sets a bit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// `s_feature_compat`.
    Compat,
    /// `s_feature_incompat`.
    Incompat,
    /// `s_feature_ro_compat`.
    RoCompat,
}

/// Iterates over the set bits of one feature set as names; bits without a
/// name are yielded as `None` together with the bit.
pub fn names(set: Set, bits: u32) -> impl Iterator<Item = (u32, Option<&'static str>)> {
    let table = match set {
        Set::Compat => COMPAT_NAMES,
        Set::Incompat => INCOMPAT_NAMES,
        Set::RoCompat => RO_COMPAT_NAMES,
    };
    (0..32u32)
        .map(|i| 1u32 << i)
        .filter(move |bit| bits & bit != 0)
        .map(move |bit| {
            let name = table.iter().find(|(b, _)| *b == bit).map(|(_, n)| *n);
            (bit, name)
        })
}

/// Writes the names of all set features (compat, incompat, ro_compat), space
/// separated, unknown bits as `FEATURE_C12`/`FEATURE_I12`/`FEATURE_R12` the
/// way e2fsprogs prints them.
pub fn write_names(
    f: &mut dyn core::fmt::Write,
    compat_bits: u32,
    incompat_bits: u32,
    ro_compat_bits: u32,
) -> core::fmt::Result {
    let mut first = true;
    for (set, bits, letter) in [
        (Set::Compat, compat_bits, 'C'),
        (Set::Incompat, incompat_bits, 'I'),
        (Set::RoCompat, ro_compat_bits, 'R'),
    ] {
        for (bit, name) in names(set, bits) {
            if !first {
                f.write_char(' ')?;
            }
            first = false;
            match name {
                Some(n) => f.write_str(n)?,
                None => write!(f, "FEATURE_{}{}", letter, bit.trailing_zeros())?,
            }
        }
    }
    Ok(())
}

/// Displays the names of the set features of (compat, incompat, ro_compat),
/// as [`write_names`] does.
pub struct FeatureNames(pub u32, pub u32, pub u32);

impl core::fmt::Display for FeatureNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write_names(f, self.0, self.1, self.2)
    }
}

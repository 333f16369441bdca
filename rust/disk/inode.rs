//! On-disk inodes (`struct ext4_inode`, 128 bytes plus the extra space up to
//! `s_inode_size`).

use super::bytes::{div, le16, lo_hi, put, put_le16, put_le32, rem, Bytes};
use super::crc32c::crc32c;
use super::features::ro_compat;
use super::superblock::Superblock;
use super::{Error, Result};

/// The root directory.
pub const ROOT_INO: u32 = 2;
/// The journal (by convention; `s_journal_inum` is authoritative).
pub const JOURNAL_INO: u32 = 8;
/// Size of the base inode.
pub const GOOD_OLD_INODE_SIZE: usize = 128;

/// `i_flags` bits rext4 looks at.
pub mod flags {
    /// Compress the file (no kernel implements it; reported by statx).
    pub const COMPR: u32 = 0x0000_0004;
    /// Synchronous updates.
    pub const SYNC: u32 = 0x0000_0008;
    /// Immutable file.
    pub const IMMUTABLE: u32 = 0x0000_0010;
    /// Writes may only append.
    pub const APPEND: u32 = 0x0000_0020;
    /// Not to be dumped.
    pub const NODUMP: u32 = 0x0000_0040;
    /// Do not update atime.
    pub const NOATIME: u32 = 0x0000_0080;
    /// Synchronous directory updates.
    pub const DIRSYNC: u32 = 0x0001_0000;
    /// Hashed-index directory.
    pub const INDEX: u32 = 0x0000_1000;
    /// `i_blocks` counts filesystem blocks, not 512-byte sectors.
    pub const HUGE_FILE: u32 = 0x0004_0000;
    /// The file is mapped by an extent tree.
    pub const EXTENTS: u32 = 0x0008_0000;
    /// Inode holds a large extended attribute value.
    pub const EA_INODE: u32 = 0x0020_0000;
    /// Data stored in the inode.
    pub const INLINE_DATA: u32 = 0x1000_0000;
    /// Encrypted.
    pub const ENCRYPT: u32 = 0x0000_0800;
    /// Casefolded directory.
    pub const CASEFOLD: u32 = 0x4000_0000;
    /// fs-verity file.
    pub const VERITY: u32 = 0x0010_0000;
}

/// File type bits of `i_mode` (`S_IFMT`).
pub const S_IFMT: u16 = 0o170000;
/// Socket.
pub const S_IFSOCK: u16 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u16 = 0o120000;
/// Regular file.
pub const S_IFREG: u16 = 0o100000;
/// Block device.
pub const S_IFBLK: u16 = 0o060000;
/// Directory.
pub const S_IFDIR: u16 = 0o040000;
/// Character device.
pub const S_IFCHR: u16 = 0o020000;
/// FIFO.
pub const S_IFIFO: u16 = 0o010000;

/// A timestamp: seconds since the epoch (signed, 34-bit with the extra
/// epoch bits) and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds (0 when the inode has no extra time fields).
    pub nsec: u32,
}

/// One decoded and verified inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Inode number.
    pub ino: u32,
    /// Type and permission bits.
    pub mode: u16,
    /// Owner (32-bit).
    pub uid: u32,
    /// Group (32-bit).
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Access time.
    pub atime: Timestamp,
    /// Change time.
    pub ctime: Timestamp,
    /// Modification time.
    pub mtime: Timestamp,
    /// Creation time, when the inode has room for it.
    pub crtime: Option<Timestamp>,
    /// Deletion time.
    pub dtime: u32,
    /// Hard links.
    pub links_count: u16,
    /// Space used, in 512-byte units.
    pub blocks_512: u64,
    /// `i_flags`.
    pub flags: u32,
    /// NFS generation.
    pub generation: u32,
    /// The change counter (`i_version`): the low half from `l_i_version`
    /// (osd1), the high half from `i_version_hi` when the inode has room
    /// for it; 0 and never stored on a Hurd filesystem.
    pub version: u64,
    /// Extended attribute block.
    pub file_acl: u64,
    /// Size of the extra space used (`i_extra_isize`).
    pub extra_isize: u16,
    /// `i_block`: extent root, block map, fast symlink target or device
    /// numbers.
    pub block: [u8; 60],
    /// The seed of this inode's metadata checksums (extent blocks, directory
    /// blocks): crc32c of the inode number and generation.
    pub csum_seed: u32,
}

/// Where inode `ino` lives: (group, byte offset in the group's inode table).
pub fn inode_location(sb: &Superblock, ino: u32) -> Result<(u32, u64)> {
    if ino == 0 || ino > sb.inodes_count {
        return Err(Error::Corrupt {
            what: "inode number",
            value: ino.into(),
        });
    }
    let idx = ino - 1;
    let ipg = u64::from(sb.inodes_per_group);
    let group = div(idx.into(), ipg) as u32;
    let off = rem(idx.into(), ipg) * u64::from(sb.inode_size);
    Ok((group, off))
}

/// Whether the inode's extra space holds a field ending at `end` (offset
/// from the start of the inode).
fn fits(extra_isize: u16, end: usize) -> bool {
    end <= GOOD_OLD_INODE_SIZE + usize::from(extra_isize)
}

fn decode_time(sec: u32, extra: Option<u32>) -> Timestamp {
    let mut s = i64::from(sec as i32);
    let mut nsec = 0;
    if let Some(x) = extra {
        s += i64::from(x & 3) << 32;
        nsec = x >> 2;
    }
    Timestamp { sec: s, nsec }
}

/// The range of seconds a timestamp can hold: 32 bits of signed seconds,
/// widened by two epoch bits when the inode has the extra time fields
/// (1901 to 2446), or the 32 bits alone.
pub fn time_range(extra: bool) -> (i64, i64) {
    let lo = i64::from(i32::MIN);
    if extra {
        (lo, lo + (1 << 34) - 1)
    } else {
        (lo, i64::from(i32::MAX))
    }
}

/// Encodes `t` as the base seconds field and the extra field (epoch bits
/// and nanoseconds), clamped to what the fields hold (the inverse of
/// [`decode_time`] inside that range).
fn encode_time(t: Timestamp, extra: bool) -> (u32, u32) {
    let (lo, hi) = time_range(extra);
    let sec = t.sec.clamp(lo, hi);
    let base = sec as u32;
    // What the base field gives back, signed; the rest is the epoch.
    let epoch = ((sec - i64::from(base as i32)) >> 32) as u32 & 3;
    (base, epoch | (t.nsec.min(999_999_999) << 2))
}

/// Stores the checksum of raw inode `b` of inode `ino` in it (metadata_csum
/// only; the low half always, the high half when the extra space holds
/// it), as [`Inode::parse`] verifies it.
pub fn store_csum(sb: &Superblock, ino: u32, b: &mut [u8]) -> Result<()> {
    if !sb.has_metadata_csum() {
        return Ok(());
    }
    let c = inode_csum(sb, ino, &*b)?;
    put_le16(b, 0x7C, c as u16)?;
    if usize::from(sb.inode_size) > GOOD_OLD_INODE_SIZE && fits(le16(b, 0x80)?, 0x84) {
        put_le16(b, 0x82, (c >> 16) as u16)?;
    }
    Ok(())
}

/// The checksum seed of inode `ino` with generation `gen` (`ei->i_csum_seed`:
/// the filesystem's seed, then the inode number and generation).
pub fn csum_seed(sb: &Superblock, ino: u32, gen: u32) -> u32 {
    crc32c(crc32c(sb.csum_seed, &ino.to_le_bytes()), &gen.to_le_bytes())
}

/// Computes the checksum of raw inode bytes `b` (`s_inode_size` long) of
/// inode `ino`, with the checksum fields taken as zero.
pub fn inode_csum<B: Bytes + ?Sized>(sb: &Superblock, ino: u32, b: &B) -> Result<u32> {
    let gen = b.le32_at(0x64)?;
    csum_with_seed(sb, csum_seed(sb, ino, gen), b)
}

/// [`inode_csum`] from the inode's checksum seed.
fn csum_with_seed<B: Bytes + ?Sized>(sb: &Superblock, seed: u32, b: &B) -> Result<u32> {
    let isz = usize::from(sb.inode_size);
    if b.size() < isz {
        return Err(Error::Truncated);
    }
    const ZERO: [u8; 2] = [0, 0];
    let mut c = b.crc32c_range(seed, 0, 0x7C)?;
    c = ZERO.crc32c_range(c, 0, 2)?;
    c = b.crc32c_range(c, 0x7E, GOOD_OLD_INODE_SIZE - 0x7E)?;
    if isz > GOOD_OLD_INODE_SIZE {
        let extra = b.le16_at(0x80)?;
        c = b.crc32c_range(c, GOOD_OLD_INODE_SIZE, 2)?;
        let mut off = 0x82;
        if fits(extra, 0x84) {
            c = ZERO.crc32c_range(c, 0, 2)?;
            off = 0x84;
        }
        c = b.crc32c_range(c, off, isz - off)?;
    }
    Ok(c)
}

impl Inode {
    /// Parses and verifies the raw bytes of inode `ino` (at least
    /// `s_inode_size` of them; a slice, or read in place).
    #[inline(always)]
    pub fn parse<B: Bytes + ?Sized>(sb: &Superblock, ino: u32, b: &B) -> Result<Inode> {
        let isz = usize::from(sb.inode_size);
        if b.size() < isz || isz < GOOD_OLD_INODE_SIZE {
            return Err(Error::Truncated);
        }
        // Fields are read one by one where they lie (no copy of the
        // inode is made: this runs for every inode brought into memory).
        let extra_isize = if isz > GOOD_OLD_INODE_SIZE {
            b.le16_at(0x80)?
        } else {
            0
        };
        if isz > GOOD_OLD_INODE_SIZE
            && (GOOD_OLD_INODE_SIZE + usize::from(extra_isize) > isz || extra_isize % 4 != 0)
        {
            return Err(Error::Corrupt {
                what: "inode: i_extra_isize",
                value: extra_isize.into(),
            });
        }
        let ex = |off: usize| -> Result<Option<u32>> {
            if fits(extra_isize, off + 4) {
                Ok(Some(b.le32_at(off)?))
            } else {
                Ok(None)
            }
        };
        let gen = b.le32_at(0x64)?;
        let seed = csum_seed(sb, ino, gen);

        if sb.has_metadata_csum() {
            let computed = csum_with_seed(sb, seed, b)?;
            let lo = u32::from(b.le16_at(0x7C)?);
            let (stored, computed) = if fits(extra_isize, 0x84) {
                (lo | (u32::from(b.le16_at(0x82)?) << 16), computed)
            } else {
                (lo, computed & 0xFFFF)
            };
            if stored != computed {
                return Err(Error::BadChecksum {
                    what: "inode",
                    stored,
                    computed,
                });
            }
        }

        let flags = b.le32_at(0x20)?;
        let mut blocks_512 = u64::from(b.le32_at(0x1C)?);
        if sb.has_ro_compat(ro_compat::HUGE_FILE) {
            blocks_512 |= u64::from(b.le16_at(0x74)?) << 32;
            if flags & flags::HUGE_FILE != 0 {
                blocks_512 = blocks_512.saturating_mul(u64::from(sb.block_size() / 512));
            }
        }
        let crtime = match ex(0x90)? {
            Some(s) => Some(decode_time(s, ex(0x94)?)),
            None => None,
        };
        let version = if sb.is_hurd() {
            0
        } else {
            lo_hi(b.le32_at(0x24)?, ex(0x98)?.unwrap_or(0))
        };
        Ok(Inode {
            ino,
            mode: b.le16_at(0x0)?,
            uid: u32::from(b.le16_at(0x2)?) | (u32::from(b.le16_at(0x78)?) << 16),
            gid: u32::from(b.le16_at(0x18)?) | (u32::from(b.le16_at(0x7A)?) << 16),
            size: lo_hi(b.le32_at(0x4)?, b.le32_at(0x6C)?),
            atime: decode_time(b.le32_at(0x8)?, ex(0x8C)?),
            ctime: decode_time(b.le32_at(0xC)?, ex(0x84)?),
            mtime: decode_time(b.le32_at(0x10)?, ex(0x88)?),
            crtime,
            dtime: b.le32_at(0x14)?,
            links_count: b.le16_at(0x1A)?,
            blocks_512,
            flags,
            generation: gen,
            version,
            file_acl: lo_hi(b.le32_at(0x68)?, u32::from(b.le16_at(0x76)?)),
            extra_isize,
            block: b.array_at(0x28)?,
            csum_seed: seed,
        })
    }

    /// Writes the fields of this inode into its raw bytes `b` (at least
    /// `s_inode_size` of them: the inode as read, or zeroes for a new
    /// one) and stores the checksum: the inverse of [`Inode::parse`].
    /// Bytes this type does not hold (the project id, the in-inode
    /// attribute area) are left as they are; `csum_seed` is
    /// derived, not stored. Timestamps beyond what the fields hold are
    /// clamped (the VFS clamps them first, from [`time_range`]). Errors:
    /// `i_extra_isize` larger than the inode, or a block count beyond
    /// what the superblock's features can record.
    pub fn store(&self, sb: &Superblock, b: &mut [u8]) -> Result<()> {
        let isz = usize::from(sb.inode_size);
        if b.len() < isz || isz < GOOD_OLD_INODE_SIZE {
            return Err(Error::Truncated);
        }
        let extra_isize = if isz > GOOD_OLD_INODE_SIZE {
            if GOOD_OLD_INODE_SIZE + usize::from(self.extra_isize) > isz
                || self.extra_isize % 4 != 0
            {
                return Err(Error::Corrupt {
                    what: "inode: i_extra_isize",
                    value: self.extra_isize.into(),
                });
            }
            put_le16(b, 0x80, self.extra_isize)?;
            self.extra_isize
        } else {
            0
        };
        let (blocks_lo, blocks_hi, huge) = self.encode_blocks(sb)?;
        let flags = (self.flags & !flags::HUGE_FILE) | if huge { flags::HUGE_FILE } else { 0 };
        put_le16(b, 0x0, self.mode)?;
        put_le16(b, 0x2, self.uid as u16)?;
        put_le16(b, 0x78, (self.uid >> 16) as u16)?;
        put_le16(b, 0x18, self.gid as u16)?;
        put_le16(b, 0x7A, (self.gid >> 16) as u16)?;
        put_le32(b, 0x4, self.size as u32)?;
        put_le32(b, 0x6C, (self.size >> 32) as u32)?;
        let times = [
            (self.atime, 0x8, 0x8C),
            (self.ctime, 0xC, 0x84),
            (self.mtime, 0x10, 0x88),
        ];
        for (t, base, ex) in times {
            let has_extra = fits(extra_isize, ex + 4);
            let (s, x) = encode_time(t, has_extra);
            put_le32(b, base, s)?;
            if has_extra {
                put_le32(b, ex, x)?;
            }
        }
        if let Some(t) = self.crtime {
            if fits(extra_isize, 0x98) {
                let (s, x) = encode_time(t, true);
                put_le32(b, 0x90, s)?;
                put_le32(b, 0x94, x)?;
            }
        }
        put_le32(b, 0x14, self.dtime)?;
        put_le16(b, 0x1A, self.links_count)?;
        put_le32(b, 0x1C, blocks_lo)?;
        put_le16(b, 0x74, blocks_hi)?;
        put_le32(b, 0x20, flags)?;
        put_le32(b, 0x64, self.generation)?;
        if !sb.is_hurd() {
            put_le32(b, 0x24, self.version as u32)?;
            if fits(extra_isize, 0x9C) {
                put_le32(b, 0x98, (self.version >> 32) as u32)?;
            }
        }
        put_le32(b, 0x68, self.file_acl as u32)?;
        put_le16(b, 0x76, (self.file_acl >> 32) as u16)?;
        put(b, 0x28, self.block)?;
        store_csum(sb, self.ino, b)
    }

    /// `i_blocks` as stored: (low 32 bits, high 16 bits, whether counted
    /// in filesystem blocks: the HUGE_FILE flag), as ext4 encodes it.
    fn encode_blocks(&self, sb: &Superblock) -> Result<(u32, u16, bool)> {
        let n = self.blocks_512;
        if n <= u64::from(u32::MAX) {
            return Ok((n as u32, 0, false));
        }
        let too_big = Err(Error::Corrupt {
            what: "inode: block count",
            value: n,
        });
        if !sb.has_ro_compat(ro_compat::HUGE_FILE) {
            return too_big;
        }
        if n < 1 << 48 {
            return Ok((n as u32, (n >> 32) as u16, false));
        }
        let per = u64::from(sb.block_size() / 512).max(1);
        let fs_blocks = n / per;
        if fs_blocks < 1 << 48 {
            Ok((fs_blocks as u32, (fs_blocks >> 32) as u16, true))
        } else {
            too_big
        }
    }

    /// The file type bits.
    pub fn file_type(&self) -> u16 {
        self.mode & S_IFMT
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    /// Whether this is a regular file.
    pub fn is_reg(&self) -> bool {
        self.file_type() == S_IFREG
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
    }

    /// Whether the data is mapped by an extent tree.
    pub fn has_extents(&self) -> bool {
        self.flags & flags::EXTENTS != 0
    }

    /// Whether a symlink keeps its target in `i_block` ("fast" symlink):
    /// it uses no blocks beyond an extended attribute block.
    pub fn is_fast_symlink(&self, block_size: u32) -> bool {
        if !self.is_symlink() || self.flags & flags::INLINE_DATA != 0 {
            return false;
        }
        let ea_blocks = if self.file_acl != 0 {
            u64::from(block_size / 512)
        } else {
            0
        };
        self.blocks_512 == ea_blocks
    }

    /// The target of a fast symlink: 1..=59 bytes without NUL.
    pub fn fast_symlink_target(&self) -> Result<&[u8]> {
        let bad = Error::Corrupt {
            what: "inode: fast symlink size",
            value: self.size,
        };
        let len = usize::try_from(self.size).map_err(|_| bad)?;
        if len == 0 || len >= self.block.len() {
            return Err(bad);
        }
        let t = self.block.get(..len).ok_or(bad)?;
        if t.contains(&0) {
            return Err(bad);
        }
        Ok(t)
    }

    /// Device number of a character or block device inode, as (major,
    /// minor), from the old 16-bit or the new 32-bit encoding.
    pub fn device(&self) -> (u32, u32) {
        let w0 = u32::from_le_bytes([self.block[0], self.block[1], self.block[2], self.block[3]]);
        if w0 != 0 {
            // Old encoding: major in bits 8..16, minor in 0..8.
            ((w0 >> 8) & 0xff, w0 & 0xff)
        } else {
            let w1 =
                u32::from_le_bytes([self.block[4], self.block[5], self.block[6], self.block[7]]);
            // New encoding: minor low 8 bits, major 12 bits, minor high bits.
            ((w1 & 0xfff00) >> 8, (w1 & 0xff) | ((w1 >> 12) & 0xfff00))
        }
    }
}

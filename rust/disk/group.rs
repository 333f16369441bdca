//! Block group descriptors (32 bytes, or `s_desc_size` with 64bit).

use super::bytes::{div, div_ceil, le16, le32, lo_hi, put_le16, rem};
use super::crc16::crc16;
use super::crc32c::crc32c;
use super::superblock::Superblock;
use super::{Error, Result};

/// `bg_flags`: the inode table and bitmap are not initialised.
pub const BG_INODE_UNINIT: u16 = 0x0001;
/// `bg_flags`: the block bitmap is not initialised.
pub const BG_BLOCK_UNINIT: u16 = 0x0002;
/// `bg_flags`: the inode table is zeroed.
pub const BG_INODE_ZEROED: u16 = 0x0004;

/// Offset of `bg_checksum` in a descriptor.
const CHECKSUM_OFFSET: usize = 0x1E;
/// Offset of `bg_block_bitmap_csum_lo`.
pub const DESC_BLOCK_BITMAP_CSUM_LO: usize = 0x18;
/// Offset of `bg_inode_bitmap_csum_lo`.
pub const DESC_INODE_BITMAP_CSUM_LO: usize = 0x1A;
/// Offset of `bg_block_bitmap_csum_hi` (present when `s_desc_size` reaches
/// past it).
pub const DESC_BLOCK_BITMAP_CSUM_HI: usize = 0x38;
/// Offset of `bg_inode_bitmap_csum_hi` (present when `s_desc_size` reaches
/// past it).
pub const DESC_INODE_BITMAP_CSUM_HI: usize = 0x3A;
/// Offset of `bg_flags`.
const FLAGS_OFFSET: usize = 0x12;

/// One decoded group descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupDesc {
    /// Block bitmap location.
    pub block_bitmap: u64,
    /// Inode bitmap location.
    pub inode_bitmap: u64,
    /// First block of the inode table.
    pub inode_table: u64,
    /// Free blocks in the group.
    pub free_blocks_count: u32,
    /// Free inodes in the group.
    pub free_inodes_count: u32,
    /// Directories in the group.
    pub used_dirs_count: u32,
    /// `BG_*` flags.
    pub flags: u16,
    /// Inodes at the end of the table never used.
    pub itable_unused: u32,
    /// Stored checksum.
    pub checksum: u16,
}

/// Where the descriptor of a group lives: block number (from the start of
/// the device) and byte offset in that block.
pub fn desc_location(sb: &Superblock, group: u32) -> Result<(u64, usize)> {
    if u64::from(group) >= sb.group_count() {
        return Err(Error::Corrupt {
            what: "group number",
            value: group.into(),
        });
    }
    let bs = u64::from(sb.block_size());
    let per_block = div(bs, u64::from(sb.desc_size));
    // Without meta_bg the table follows the superblock's block.
    let block = u64::from(sb.first_data_block) + 1 + div(u64::from(group), per_block);
    let off = rem(u64::from(group), per_block) * u64::from(sb.desc_size);
    Ok((block, off as usize))
}

/// Number of blocks the descriptor table takes (without meta_bg).
pub fn desc_blocks(sb: &Superblock) -> u64 {
    let per_block = div(u64::from(sb.block_size()), u64::from(sb.desc_size));
    div_ceil(sb.group_count(), per_block)
}

/// Computes the checksum of descriptor bytes `d` (`desc_size` long) of
/// group `group`, or `None` when the filesystem has no descriptor checksums.
pub fn desc_csum(sb: &Superblock, group: u32, d: &[u8]) -> Result<Option<u16>> {
    let size = usize::from(sb.desc_size);
    let d = d.get(..size).ok_or(Error::Truncated)?;
    let head = d.get(..CHECKSUM_OFFSET).ok_or(Error::Truncated)?;
    let tail = d.get(CHECKSUM_OFFSET + 2..).ok_or(Error::Truncated)?;
    let le_group = group.to_le_bytes();
    if sb.has_metadata_csum() {
        let mut c = crc32c(sb.csum_seed, &le_group);
        c = crc32c(c, head);
        c = crc32c(c, &[0, 0]);
        c = crc32c(c, tail);
        return Ok(Some((c & 0xFFFF) as u16));
    }
    if sb.has_ro_compat(super::features::ro_compat::GDT_CSUM) {
        let mut c = crc16(!0, &sb.uuid);
        c = crc16(c, &le_group);
        c = crc16(c, head);
        if sb.has_incompat(super::features::incompat::BIT64) {
            c = crc16(c, tail);
        }
        return Ok(Some(c));
    }
    Ok(None)
}

impl GroupDesc {
    /// Parses and verifies the descriptor bytes `d` of group `group`.
    pub fn parse(sb: &Superblock, group: u32, d: &[u8]) -> Result<GroupDesc> {
        let is64 = sb.desc_size >= 64;
        let hi32 = |off: usize| -> Result<u32> {
            if is64 {
                le32(d, off)
            } else {
                Ok(0)
            }
        };
        let hi16 = |off: usize| -> Result<u32> {
            if is64 {
                Ok(le16(d, off)?.into())
            } else {
                Ok(0)
            }
        };
        let g = GroupDesc {
            block_bitmap: lo_hi(le32(d, 0x0)?, hi32(0x20)?),
            inode_bitmap: lo_hi(le32(d, 0x4)?, hi32(0x24)?),
            inode_table: lo_hi(le32(d, 0x8)?, hi32(0x28)?),
            free_blocks_count: u32::from(le16(d, 0xC)?) | (hi16(0x2C)? << 16),
            free_inodes_count: u32::from(le16(d, 0xE)?) | (hi16(0x2E)? << 16),
            used_dirs_count: u32::from(le16(d, 0x10)?) | (hi16(0x30)? << 16),
            flags: le16(d, FLAGS_OFFSET)?,
            itable_unused: u32::from(le16(d, 0x1C)?) | (hi16(0x32)? << 16),
            checksum: le16(d, CHECKSUM_OFFSET)?,
        };
        if let Some(c) = desc_csum(sb, group, d)? {
            if c != g.checksum {
                return Err(Error::BadChecksum {
                    what: "group descriptor",
                    stored: g.checksum.into(),
                    computed: c.into(),
                });
            }
        }
        // Everything the group points at must be inside the filesystem,
        // beyond the superblock and descriptors.
        let first_ok = u64::from(sb.first_data_block) + 1 + desc_blocks(sb);
        let itable_blocks = div_ceil(
            u64::from(sb.inodes_per_group) * u64::from(sb.inode_size),
            u64::from(sb.block_size()),
        );
        for (what, blk, len) in [
            ("group descriptor: block bitmap", g.block_bitmap, 1),
            ("group descriptor: inode bitmap", g.inode_bitmap, 1),
            (
                "group descriptor: inode table",
                g.inode_table,
                itable_blocks,
            ),
        ] {
            if blk < first_ok || blk.saturating_add(len) > sb.blocks_count {
                return Err(Error::Corrupt { what, value: blk });
            }
        }
        if g.free_inodes_count > sb.inodes_per_group {
            return Err(Error::Corrupt {
                what: "group descriptor: free inodes",
                value: g.free_inodes_count.into(),
            });
        }
        Ok(g)
    }
}

/// Stores a 32-bit count split into the 16-bit halves at `lo` and `hi`
/// of the descriptor bytes `d`; with 32-byte descriptors there is no high
/// half and a count above 0xFFFF is refused. Checks `d` holds
/// `s_desc_size` bytes; changes nothing on error.
fn put_count(
    sb: &Superblock,
    d: &mut [u8],
    lo: usize,
    hi: usize,
    v: u32,
    what: &'static str,
) -> Result<()> {
    if d.len() < usize::from(sb.desc_size) {
        return Err(Error::Truncated);
    }
    let is64 = sb.desc_size >= 64;
    if !is64 && v > 0xFFFF {
        return Err(Error::Corrupt {
            what,
            value: v.into(),
        });
    }
    if is64 {
        // Bounds first, so that an error leaves both halves as they were.
        d.get(hi..hi + 2).ok_or(Error::Truncated)?;
    }
    put_le16(d, lo, (v & 0xFFFF) as u16)?;
    if is64 {
        put_le16(d, hi, (v >> 16) as u16)?;
    }
    Ok(())
}

/// Sets the free blocks count (`bg_free_blocks_count_lo`/`_hi`) in the
/// descriptor bytes `d` (`s_desc_size` long, as [`GroupDesc::parse`] reads
/// them). The descriptor checksum must be updated afterwards
/// ([`update_desc_csum`]).
pub fn set_free_blocks(sb: &Superblock, d: &mut [u8], v: u32) -> Result<()> {
    put_count(sb, d, 0xC, 0x2C, v, "group descriptor: free blocks")
}

/// Sets the free inodes count (`bg_free_inodes_count_lo`/`_hi`), as
/// [`set_free_blocks`].
pub fn set_free_inodes(sb: &Superblock, d: &mut [u8], v: u32) -> Result<()> {
    put_count(sb, d, 0xE, 0x2E, v, "group descriptor: free inodes")
}

/// Sets the directory count (`bg_used_dirs_count_lo`/`_hi`), as
/// [`set_free_blocks`].
pub fn set_used_dirs(sb: &Superblock, d: &mut [u8], v: u32) -> Result<()> {
    put_count(sb, d, 0x10, 0x30, v, "group descriptor: used dirs")
}

/// Sets the never-used inode count (`bg_itable_unused_lo`/`_hi`), as
/// [`set_free_blocks`].
pub fn set_itable_unused(sb: &Superblock, d: &mut [u8], v: u32) -> Result<()> {
    put_count(sb, d, 0x1C, 0x32, v, "group descriptor: itable unused")
}

/// Sets `bg_flags` (`BG_*`), as [`set_free_blocks`].
pub fn set_flags(sb: &Superblock, d: &mut [u8], flags: u16) -> Result<()> {
    if d.len() < usize::from(sb.desc_size) {
        return Err(Error::Truncated);
    }
    put_le16(d, FLAGS_OFFSET, flags)
}

/// Recomputes the checksum of the descriptor bytes `d` of group `group`
/// in place (crc32c with metadata_csum, crc16 with gdt_csum; nothing
/// without either).
pub fn update_desc_csum(sb: &Superblock, group: u32, d: &mut [u8]) -> Result<()> {
    if let Some(c) = desc_csum(sb, group, d)? {
        put_le16(d, CHECKSUM_OFFSET, c)?;
    }
    Ok(())
}

/// Whether `group` holds a copy of the superblock (and the descriptor
/// table): always group 0; with sparse_super2 the two groups named in the
/// superblock; with sparse_super groups 1 and powers of 3, 5 and 7; without
/// either, every group.
pub fn has_super(sb: &Superblock, group: u32) -> bool {
    use super::features::{compat, ro_compat};
    if group == 0 {
        return true;
    }
    if sb.has_compat(compat::SPARSE_SUPER2) {
        return group == sb.backup_bgs[0] || group == sb.backup_bgs[1];
    }
    if group <= 1 || !sb.has_ro_compat(ro_compat::SPARSE_SUPER) {
        return true;
    }
    if group & 1 == 0 {
        return false;
    }
    is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7)
}

fn is_power_of(mut a: u32, b: u32) -> bool {
    loop {
        if a < b {
            return false;
        }
        if a == b {
            return true;
        }
        if rem(a.into(), b.into()) != 0 {
            return false;
        }
        a = div(a.into(), b.into()) as u32;
    }
}

/// Blocks taken by filesystem metadata, counted the way ext4's statfs does
/// (without bigalloc and meta_bg): the blocks before `s_first_data_block`,
/// and per group its superblock and descriptor-table copies, the reserved
/// descriptor blocks next to them, its inode table and two bitmaps; plus
/// the internal journal's `journal_blocks`.
pub fn overhead_blocks(sb: &Superblock, journal_blocks: u64) -> u64 {
    let bs = u64::from(sb.block_size());
    let itb_per_group = div_ceil(
        u64::from(sb.inodes_per_group) * u64::from(sb.inode_size),
        bs,
    );
    let gdb = desc_blocks(sb);
    let groups = sb.group_count();
    let mut total = u64::from(sb.first_data_block) + journal_blocks;
    for g in 0..groups {
        let sup = if has_super(sb, g as u32) {
            1 + gdb + u64::from(sb.reserved_gdt_blocks)
        } else {
            0
        };
        total += sup + itb_per_group + 2;
    }
    total
}

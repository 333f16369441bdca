//! The orphan file (compat feature `orphan_file`): the blocks of a hidden
//! regular file, named by the superblock's `s_orphan_file_inum`, each an
//! array of little-endian inode numbers (0: a free slot) followed by an
//! 8-byte tail, `ob_magic` (0x0b10ca04) then `ob_checksum`. With
//! metadata_csum the checksum is crc32c, seeded with the orphan file
//! inode's own seed, over the block's number (64-bit little-endian) and
//! then over the slots (the tail is not covered). Without metadata_csum
//! the checksum field is not used.
//!
//! A slot holds an inode that must be finished after a crash (deleted, or
//! truncated to its size), as the classic chain through `s_last_orphan`
//! does; the ro_compat flag `orphan_present` tells that the file may hold
//! entries (it is set while a read-write mount runs).
//!
//! These functions work on one whole block as bytes (`b.len()` is the
//! block size); nothing here trusts the bytes: every index is checked,
//! a bad tail is an error.

use super::crc32c::crc32c;
use super::error::{Error, Result};

/// `ob_magic`.
pub const BLOCK_MAGIC: u32 = 0x0b10_ca04;
/// Bytes of the tail (`ob_magic`, `ob_checksum`) at the end of each block.
pub const TAIL_SIZE: usize = 8;
/// ext4's limit on the orphan file's size in blocks
/// (`EXT4_MAX_ORPHAN_FILE_BLOCKS`): a larger file is corruption.
pub const MAX_BLOCKS: u64 = 512;

/// Slots in one block of `block_size` bytes (ext4's
/// `ext4_inodes_per_orphan_block`); 0 for a block too small for a tail.
pub fn slots_per_block(block_size: usize) -> usize {
    block_size.saturating_sub(TAIL_SIZE) / 4
}

/// The slots' bytes and the tail's offset of block `b`; a block that does
/// not hold a tail and one slot is [`Error::Truncated`].
fn layout(b: &[u8]) -> Result<(usize, usize)> {
    let n = slots_per_block(b.len());
    if n == 0 {
        return Err(Error::Truncated);
    }
    Ok((n * 4, b.len() - TAIL_SIZE))
}

fn le32_at(b: &[u8], off: usize) -> Result<u32> {
    let s = b.get(off..off + 4).ok_or(Error::Truncated)?;
    let mut v = [0u8; 4];
    v.copy_from_slice(s);
    Ok(u32::from_le_bytes(v))
}

fn put_le32(b: &mut [u8], off: usize, v: u32) -> Result<()> {
    let s = b.get_mut(off..off + 4).ok_or(Error::Truncated)?;
    s.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// The checksum of orphan file block `b` stored at device block `blocknr`
/// (ext4's `ext4_orphan_file_block_csum_verify`): crc32c from `seed` (the
/// orphan file inode's checksum seed) over the block number, then over the
/// slots.
pub fn block_csum(seed: u32, blocknr: u64, b: &[u8]) -> Result<u32> {
    let (slots, _) = layout(b)?;
    let data = b.get(..slots).ok_or(Error::Truncated)?;
    Ok(crc32c(crc32c(seed, &blocknr.to_le_bytes()), data))
}

/// Checks the tail of orphan file block `b` at device block `blocknr`:
/// the magic, and with `csum_seed` (metadata_csum) the checksum. Returns
/// the number of free slots.
pub fn check_block(b: &[u8], blocknr: u64, csum_seed: Option<u32>) -> Result<usize> {
    let (slots, tail) = layout(b)?;
    let magic = le32_at(b, tail)?;
    if magic != BLOCK_MAGIC {
        return Err(Error::Corrupt {
            what: "orphan file block: ob_magic",
            value: magic.into(),
        });
    }
    if let Some(seed) = csum_seed {
        let stored = le32_at(b, tail + 4)?;
        let computed = block_csum(seed, blocknr, b)?;
        if stored != computed {
            return Err(Error::BadChecksum {
                what: "orphan file block",
                stored,
                computed,
            });
        }
    }
    let data = b.get(..slots).ok_or(Error::Truncated)?;
    Ok(data
        .chunks_exact(4)
        .filter(|s| s.iter().all(|&x| x == 0))
        .count())
}

/// Stores a fresh checksum into the tail of block `b` at device block
/// `blocknr` (nothing without `csum_seed`: no metadata_csum).
pub fn update_csum(b: &mut [u8], blocknr: u64, csum_seed: Option<u32>) -> Result<()> {
    let (_, tail) = layout(b)?;
    if let Some(seed) = csum_seed {
        let c = block_csum(seed, blocknr, b)?;
        put_le32(b, tail + 4, c)?;
    }
    Ok(())
}

/// Slot `i` of block `b` (0: free); an index past the slots is
/// [`Error::Corrupt`].
pub fn slot(b: &[u8], i: usize) -> Result<u32> {
    let (slots, _) = layout(b)?;
    let off = slot_offset(i, slots)?;
    le32_at(b, off)
}

fn slot_offset(i: usize, slots: usize) -> Result<usize> {
    match i.checked_mul(4) {
        Some(off) if off < slots => Ok(off),
        _ => Err(Error::Corrupt {
            what: "orphan file slot index",
            value: i as u64,
        }),
    }
}

/// The first free slot of block `b` at or after `from` (wrapping to the
/// start once), if any.
pub fn find_free(b: &[u8], from: usize) -> Result<Option<usize>> {
    let (slots, _) = layout(b)?;
    let n = slots / 4;
    let from = if from < n { from } else { 0 };
    for k in 0..n {
        let i = (from + k) % n;
        if le32_at(b, i * 4)? == 0 {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Puts inode `ino` (not 0) into free slot `i` of block `b` at device
/// block `blocknr` and refreshes the checksum. A slot in use, an index past
/// the slots and inode 0 are refused, changing nothing.
pub fn set_slot(
    b: &mut [u8],
    i: usize,
    ino: u32,
    blocknr: u64,
    csum_seed: Option<u32>,
) -> Result<()> {
    if ino == 0 {
        return Err(Error::Corrupt {
            what: "orphan file entry: inode",
            value: 0,
        });
    }
    let (slots, _) = layout(b)?;
    let off = slot_offset(i, slots)?;
    let old = le32_at(b, off)?;
    if old != 0 {
        return Err(Error::Corrupt {
            what: "orphan file slot already in use by inode",
            value: old.into(),
        });
    }
    put_le32(b, off, ino)?;
    update_csum(b, blocknr, csum_seed)
}

/// Empties slot `i` of block `b` at device block `blocknr` and refreshes
/// the checksum; returns the inode the slot held (0 if it was free).
pub fn clear_slot(b: &mut [u8], i: usize, blocknr: u64, csum_seed: Option<u32>) -> Result<u32> {
    let (slots, _) = layout(b)?;
    let off = slot_offset(i, slots)?;
    let old = le32_at(b, off)?;
    put_le32(b, off, 0)?;
    update_csum(b, blocknr, csum_seed)?;
    Ok(old)
}

/// Makes `b` an empty orphan file block for device block `blocknr` (all
/// slots free, the magic, the checksum), as mke2fs writes it.
pub fn init_block(b: &mut [u8], blocknr: u64, csum_seed: Option<u32>) -> Result<()> {
    let (_, tail) = layout(b)?;
    b.fill(0);
    put_le32(b, tail, BLOCK_MAGIC)?;
    update_csum(b, blocknr, csum_seed)
}

/// The used slots of block `b` in order, as (slot index, inode).
pub fn entries(b: &[u8]) -> Entries<'_> {
    let n = slots_per_block(b.len());
    Entries {
        slots: b.get(..n * 4).unwrap_or(&[]).chunks_exact(4).enumerate(),
    }
}

/// Iterator of [`entries`].
pub struct Entries<'a> {
    slots: core::iter::Enumerate<core::slice::ChunksExact<'a, u8>>,
}

impl Iterator for Entries<'_> {
    type Item = (usize, u32);

    fn next(&mut self) -> Option<(usize, u32)> {
        for (i, s) in self.slots.by_ref() {
            let mut v = [0u8; 4];
            v.copy_from_slice(s);
            let v = u32::from_le_bytes(v);
            if v != 0 {
                return Some((i, v));
            }
        }
        None
    }
}

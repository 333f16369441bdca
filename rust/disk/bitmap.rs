//! Block and inode bitmaps: the bit operations the allocator runs on one
//! bitmap block, the bitmaps' checksums as ext4 stores them in the group
//! descriptor, and the contents of a bitmap that was never written
//! (`BLOCK_UNINIT` / `INODE_UNINIT` groups).
//!
//! Bit `i` of a bitmap is bit `i % 8` of byte `i / 8` (little-endian bit
//! order). The operations read and write the bytes 64 bits at a time; a
//! bitmap has `nbits` valid bits, which must fit in the bytes given.
//! Every function bounds-checks and fails without changing anything.

use super::bytes::{div_ceil, Bytes};
use super::group::{GroupDesc, DESC_BLOCK_BITMAP_CSUM_HI, DESC_INODE_BITMAP_CSUM_HI};
use super::group::{DESC_BLOCK_BITMAP_CSUM_LO, DESC_INODE_BITMAP_CSUM_LO};
use super::superblock::Superblock;
use super::syszone::{base_meta_range, group_first_block, itable_blocks, Range};
use super::{Error, Result};

/// Bits per word the operations work with.
const WORD_BITS: usize = 64;

/// Checks that `nbits` bits fit in `len` bytes.
fn check_nbits(len: usize, nbits: u32) -> Result<usize> {
    let n = nbits as usize;
    if div_ceil(n as u64, 8) > len as u64 {
        return Err(Error::Truncated);
    }
    Ok(n)
}

/// Word `w` of `b` (bits `64 * w ..`); bytes past the end of `b` read as 0.
#[inline]
fn load(b: &[u8], w: usize) -> u64 {
    let off = w * 8;
    if let Some(s) = b.get(off..off + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        return u64::from_le_bytes(a);
    }
    let mut a = [0u8; 8];
    if let Some(s) = b.get(off..) {
        for (d, s) in a.iter_mut().zip(s) {
            *d = *s;
        }
    }
    u64::from_le_bytes(a)
}

/// Stores word `w` into `b`; bytes past the end of `b` are dropped.
#[inline]
fn store(b: &mut [u8], w: usize, v: u64) {
    let off = w * 8;
    let a = v.to_le_bytes();
    if let Some(s) = b.get_mut(off..off + 8) {
        s.copy_from_slice(&a);
        return;
    }
    if let Some(s) = b.get_mut(off..) {
        for (d, s) in s.iter_mut().zip(a.iter()) {
            *d = *s;
        }
    }
}

/// The bits of word `w` that lie in `from..to`.
#[inline]
fn mask(w: usize, from: usize, to: usize) -> u64 {
    let base = w * WORD_BITS;
    let lo = from.saturating_sub(base);
    let hi = to.saturating_sub(base).min(WORD_BITS);
    if lo >= hi {
        return 0;
    }
    let upper = if hi == WORD_BITS {
        !0u64
    } else {
        (1u64 << hi) - 1
    };
    upper & (!0u64 << lo)
}

/// The first bit in `from..to` equal to `one` (the caller checked that
/// `to` bits fit in `b`).
fn find_in(b: &[u8], from: usize, to: usize, one: bool) -> Option<usize> {
    let mut w = from / WORD_BITS;
    while w * WORD_BITS < to {
        let v = load(b, w);
        let v = if one { v } else { !v };
        let hit = v & mask(w, from, to);
        if hit != 0 {
            return Some(w * WORD_BITS + hit.trailing_zeros() as usize);
        }
        w += 1;
    }
    None
}

/// The first zero bit at or after `start`, wrapping around to bit 0 once
/// (a `start` at or past `nbits` starts at 0); `None` when all `nbits`
/// bits are set.
pub fn find_zero(b: &[u8], nbits: u32, start: u32) -> Result<Option<u32>> {
    let n = check_nbits(b.len(), nbits)?;
    let start = if (start as usize) < n {
        start as usize
    } else {
        0
    };
    let hit = find_in(b, start, n, false).or_else(|| find_in(b, 0, start, false));
    Ok(hit.map(|i| i as u32))
}

/// The first free run: the first zero bit at or after `start` (wrapping
/// as [`find_zero`] does) and the number of zero bits from it, at most
/// `want` and never past `nbits` (a run does not wrap). `None` when all
/// bits are set or `want` is 0.
pub fn find_free_run(b: &[u8], nbits: u32, start: u32, want: u32) -> Result<Option<(u32, u32)>> {
    if want == 0 {
        check_nbits(b.len(), nbits)?;
        return Ok(None);
    }
    let Some(first) = find_zero(b, nbits, start)? else {
        return Ok(None);
    };
    let n = nbits as usize;
    let cap = (first as usize).saturating_add(want as usize).min(n);
    let end = find_in(b, first as usize, cap, true).unwrap_or(cap);
    Ok(Some((first, (end - first as usize) as u32)))
}

/// Checks that `start..start + len` lies inside `nbits` bits of `b`.
fn check_range(b: &[u8], nbits: u32, start: u32, len: u32) -> Result<(usize, usize)> {
    let n = check_nbits(b.len(), nbits)?;
    let end = (start as usize)
        .checked_add(len as usize)
        .filter(|&e| e <= n)
        .ok_or(Error::Corrupt {
            what: "bitmap: range beyond the bitmap",
            value: u64::from(start) + u64::from(len),
        })?;
    Ok((start as usize, end))
}

/// ORs (`set`) or clears the bits `from..to` of `b`, a word at a time.
fn write_range(b: &mut [u8], from: usize, to: usize, set: bool) {
    let mut w = from / WORD_BITS;
    while w * WORD_BITS < to {
        let m = mask(w, from, to);
        let v = load(b, w);
        store(b, w, if set { v | m } else { v & !m });
        w += 1;
    }
}

/// Sets the `len` bits from `start` (allocating them). Refuses, changing
/// nothing, when a bit in the range is already set (the block or inode is
/// in use: the error names the first such bit) or the range passes `nbits`.
pub fn set_range(b: &mut [u8], nbits: u32, start: u32, len: u32) -> Result<()> {
    let (from, to) = check_range(b, nbits, start, len)?;
    if let Some(i) = find_in(b, from, to, true) {
        return Err(Error::Corrupt {
            what: "bitmap: block already in use",
            value: i as u64,
        });
    }
    write_range(b, from, to, true);
    Ok(())
}

/// Clears the `len` bits from `start` (freeing them). Refuses, changing
/// nothing, when a bit in the range is already clear (a double free: the
/// error names the first such bit) or the range passes `nbits`.
pub fn clear_range(b: &mut [u8], nbits: u32, start: u32, len: u32) -> Result<()> {
    let (from, to) = check_range(b, nbits, start, len)?;
    if let Some(i) = find_in(b, from, to, false) {
        return Err(Error::Corrupt {
            what: "bitmap: block already free",
            value: i as u64,
        });
    }
    write_range(b, from, to, false);
    Ok(())
}

/// The number of zero bits among the first `nbits` bits of `b`.
pub fn count_zeros(b: &[u8], nbits: u32) -> Result<u32> {
    let n = check_nbits(b.len(), nbits)?;
    let mut zeros = 0u32;
    let mut w = 0;
    while w * WORD_BITS < n {
        zeros += (!load(b, w) & mask(w, 0, n)).count_ones();
        w += 1;
    }
    Ok(zeros)
}

/// Bytes of the block bitmap its checksum covers (`s_clusters_per_group / 8`).
pub fn block_bitmap_csum_len(sb: &Superblock) -> usize {
    (sb.clusters_per_group / 8) as usize
}

/// Bytes of the inode bitmap its checksum covers (`s_inodes_per_group / 8`).
pub fn inode_bitmap_csum_len(sb: &Superblock) -> usize {
    (sb.inodes_per_group / 8) as usize
}

/// The crc32c of the block bitmap `b`, seeded with the filesystem's
/// checksum seed (all 32 bits; the descriptor keeps 16 or 32 of them).
pub fn block_bitmap_csum<B: Bytes + ?Sized>(sb: &Superblock, b: &B) -> Result<u32> {
    b.crc32c_range(sb.csum_seed, 0, block_bitmap_csum_len(sb))
}

/// The crc32c of the inode bitmap `b`, as [`block_bitmap_csum`].
pub fn inode_bitmap_csum<B: Bytes + ?Sized>(sb: &Superblock, b: &B) -> Result<u32> {
    b.crc32c_range(sb.csum_seed, 0, inode_bitmap_csum_len(sb))
}

/// Where a bitmap checksum lives in a descriptor: the low half's offset,
/// and the high half's when the descriptor is large enough to hold it.
fn csum_slots(sb: &Superblock, lo: usize, hi: usize) -> (usize, Option<usize>) {
    let hi = (usize::from(sb.desc_size) >= hi + 2).then_some(hi);
    (lo, hi)
}

/// Compares checksum `computed` with the one stored at `lo`/`hi` of the
/// descriptor `d` (only the low 16 bits without the high half).
fn verify_at<D: Bytes + ?Sized>(
    sb: &Superblock,
    d: &D,
    what: &'static str,
    (lo, hi): (usize, Option<usize>),
    computed: u32,
) -> Result<()> {
    if d.size() < usize::from(sb.desc_size) {
        return Err(Error::Truncated);
    }
    let mut stored = u32::from(d.le16_at(lo)?);
    let mut computed = computed;
    match hi {
        Some(h) => stored |= u32::from(d.le16_at(h)?) << 16,
        None => computed &= 0xFFFF,
    }
    if stored != computed {
        return Err(Error::BadChecksum {
            what,
            stored,
            computed,
        });
    }
    Ok(())
}

/// Stores checksum `c` at `lo`/`hi` of the descriptor `d`.
fn store_at(sb: &Superblock, d: &mut [u8], (lo, hi): (usize, Option<usize>), c: u32) -> Result<()> {
    if d.len() < usize::from(sb.desc_size) {
        return Err(Error::Truncated);
    }
    let l = d.get_mut(lo..lo + 2).ok_or(Error::Truncated)?;
    l.copy_from_slice(&((c & 0xFFFF) as u16).to_le_bytes());
    if let Some(h) = hi {
        let s = d.get_mut(h..h + 2).ok_or(Error::Truncated)?;
        s.copy_from_slice(&((c >> 16) as u16).to_le_bytes());
    }
    Ok(())
}

fn block_slots(sb: &Superblock) -> (usize, Option<usize>) {
    csum_slots(sb, DESC_BLOCK_BITMAP_CSUM_LO, DESC_BLOCK_BITMAP_CSUM_HI)
}

fn inode_slots(sb: &Superblock) -> (usize, Option<usize>) {
    csum_slots(sb, DESC_INODE_BITMAP_CSUM_LO, DESC_INODE_BITMAP_CSUM_HI)
}

/// Checks the block bitmap `b` against the checksum stored in the group's
/// descriptor bytes `d`. Always passes without metadata_csum.
pub fn verify_block_bitmap_csum<D, B>(sb: &Superblock, d: &D, b: &B) -> Result<()>
where
    D: Bytes + ?Sized,
    B: Bytes + ?Sized,
{
    if !sb.has_metadata_csum() {
        return Ok(());
    }
    let c = block_bitmap_csum(sb, b)?;
    verify_at(sb, d, "block bitmap", block_slots(sb), c)
}

/// Checks the inode bitmap `b` against the checksum stored in the group's
/// descriptor bytes `d`. Always passes without metadata_csum.
pub fn verify_inode_bitmap_csum<D, B>(sb: &Superblock, d: &D, b: &B) -> Result<()>
where
    D: Bytes + ?Sized,
    B: Bytes + ?Sized,
{
    if !sb.has_metadata_csum() {
        return Ok(());
    }
    let c = inode_bitmap_csum(sb, b)?;
    verify_at(sb, d, "inode bitmap", inode_slots(sb), c)
}

/// Stores the checksum of block bitmap `b` into the descriptor bytes `d`
/// (low half, and the high half when `s_desc_size` holds it); nothing
/// without metadata_csum. The descriptor's own checksum must be updated
/// afterwards ([`super::group::update_desc_csum`]).
pub fn set_block_bitmap_csum(sb: &Superblock, d: &mut [u8], b: &[u8]) -> Result<()> {
    if !sb.has_metadata_csum() {
        return Ok(());
    }
    let c = block_bitmap_csum(sb, b)?;
    store_at(sb, d, block_slots(sb), c)
}

/// Stores the checksum of inode bitmap `b` into the descriptor bytes `d`,
/// as [`set_block_bitmap_csum`].
pub fn set_inode_bitmap_csum(sb: &Superblock, d: &mut [u8], b: &[u8]) -> Result<()> {
    if !sb.has_metadata_csum() {
        return Ok(());
    }
    let c = inode_bitmap_csum(sb, b)?;
    store_at(sb, d, inode_slots(sb), c)
}

/// Blocks in group `group`: `s_blocks_per_group`, fewer in a short last
/// group.
pub fn blocks_in_group(sb: &Superblock, group: u32) -> Result<u32> {
    if u64::from(group) >= sb.group_count() {
        return Err(Error::Corrupt {
            what: "group number",
            value: group.into(),
        });
    }
    let first = group_first_block(sb, group);
    let left = sb.blocks_count.saturating_sub(first);
    Ok(left.min(u64::from(sb.blocks_per_group)) as u32)
}

/// Sets (ORs) the bits of `r` that fall inside the group starting at block
/// `first` with `n` blocks.
fn mark_in_group(b: &mut [u8], first: u64, n: u32, r: Range) {
    let end = first + u64::from(n);
    let s = r.start.max(first);
    let e = r.end.min(end);
    if s < e {
        write_range(b, (s - first) as usize, (e - first) as usize, true);
    }
}

/// Fills `bitmap` (one block, `block_size` bytes) with the block bitmap of
/// group `group` whose bitmap was never written (`BLOCK_UNINIT`), as ext4
/// builds it on first use: in use are the group's superblock and
/// descriptor copies with the reserved descriptor blocks (its base range),
/// every block bitmap, inode bitmap and inode table block of any group
/// that lies inside this group (with flex_bg they belong to other groups),
/// and the bits past the group's last block up to the end of the block.
///
/// `desc_of(g)` returns group `g`'s descriptor; it is asked for every group
/// of the filesystem, in order. Returns the number of free blocks in the
/// group. Cluster sizes other than the block size (bigalloc) are refused.
pub fn init_block_bitmap<F>(
    sb: &Superblock,
    group: u32,
    bitmap: &mut [u8],
    mut desc_of: F,
) -> Result<u32>
where
    F: FnMut(u32) -> Result<GroupDesc>,
{
    if sb.log_cluster_size != sb.log_block_size {
        return Err(Error::Unsupported {
            what: "cluster size",
            value: sb.log_cluster_size.into(),
        });
    }
    if bitmap.len() != sb.block_size() as usize {
        return Err(Error::Truncated);
    }
    let n = blocks_in_group(sb, group)?;
    let first = group_first_block(sb, group);
    let base = base_meta_range(sb, group);
    let base_len = base.end.saturating_sub(base.start);
    if base_len / 8 >= bitmap.len() as u64 {
        return Err(Error::Corrupt {
            what: "block bitmap: group metadata larger than the bitmap",
            value: base_len,
        });
    }
    bitmap.fill(0);
    mark_in_group(bitmap, first, n, base);
    let itb = itable_blocks(sb);
    let groups = sb.group_count() as u32;
    for g in 0..groups {
        let gd = desc_of(g)?;
        mark_in_group(bitmap, first, n, Range::new(gd.block_bitmap, 1));
        mark_in_group(bitmap, first, n, Range::new(gd.inode_bitmap, 1));
        mark_in_group(bitmap, first, n, Range::new(gd.inode_table, itb));
    }
    let total = bitmap.len() * 8;
    write_range(bitmap, n as usize, total, true);
    count_zeros(bitmap, n)
}

/// Fills `bitmap` (one block) with the inode bitmap of a group whose
/// bitmap was never written (`INODE_UNINIT`): the first
/// `s_inodes_per_group` bits clear, every later bit of the block set.
pub fn init_inode_bitmap(sb: &Superblock, bitmap: &mut [u8]) -> Result<()> {
    let ipg = sb.inodes_per_group as usize;
    let total = bitmap.len() * 8;
    if bitmap.len() != sb.block_size() as usize || ipg > total {
        return Err(Error::Truncated);
    }
    bitmap.fill(0);
    write_range(bitmap, ipg, total, true);
    Ok(())
}

//! Directory blocks: linear `ext4_dir_entry_2` records, with a checksum tail
//! under metadata_csum; htree (dir_index) interior blocks look like one empty
//! record covering the block and carry a `dx_tail` checksum instead.

use super::bytes::Bytes;
use super::{Error, Result};

/// Smallest record (`EXT4_DIR_REC_LEN(1)`).
pub const MIN_REC_LEN: usize = 12;
/// Size of the checksum tail record.
pub const TAIL_LEN: usize = 12;
/// `det_reserved_ft` of the tail record.
const TAIL_FT: u8 = 0xDE;

/// `file_type` values of directory entries.
pub mod ftype {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// Regular file.
    pub const REG: u8 = 1;
    /// Directory.
    pub const DIR: u8 = 2;
    /// Character device.
    pub const CHRDEV: u8 = 3;
    /// Block device.
    pub const BLKDEV: u8 = 4;
    /// FIFO.
    pub const FIFO: u8 = 5;
    /// Socket.
    pub const SOCK: u8 = 6;
    /// Symbolic link.
    pub const SYMLINK: u8 = 7;
}

/// The space a record with a name of `name_len` bytes needs.
pub const fn rec_len_for(name_len: usize) -> usize {
    (name_len + 8 + 3) & !3
}

/// One live directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Byte offset of the record in the block.
    pub offset: usize,
    /// Inode number (never 0 here).
    pub ino: u32,
    /// `ftype::*` as stored (values of 8 and more are not file types).
    pub file_type: u8,
    /// The name (1..=255 bytes, no NUL, no '/').
    pub name: &'a [u8],
}

/// What kind of block a directory block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Linear entries (possibly followed by a checksum tail).
    Leaf,
    /// htree root (block 0 of an indexed directory).
    DxRoot,
    /// htree interior node.
    DxNode,
}

/// Decodes `rec_len` (block sizes up to 64 KiB encode the full size
/// specially).
fn rec_len<B: Bytes + ?Sized>(b: &B, off: usize, block_size: usize) -> Result<usize> {
    Ok(rec_len_value(
        b.le16_at(off + 4)?,
        block_size >= 65536,
        block_size,
    ))
}

/// A stored `rec_len` `v` in bytes (`ext4_rec_len_from_disk`): blocks of
/// 64 KiB and more (`wide`) keep bits 16-17 in the low bits, and 0 or 65535
/// there means the whole block.
#[inline]
fn rec_len_value(v: u16, wide: bool, block_size: usize) -> usize {
    if !wide {
        usize::from(v)
    } else if v == 0xFFFF || v == 0 {
        block_size
    } else {
        usize::from(v & 0xFFFC) | (usize::from(v & 3) << 16)
    }
}

/// Classifies a directory block: `index_dir` tells whether the directory has
/// the htree flag, `lblk` which block of it this is.
pub fn block_kind<B: Bytes + ?Sized>(b: &B, index_dir: bool, lblk: u32) -> Result<BlockKind> {
    if !index_dir {
        return Ok(BlockKind::Leaf);
    }
    if lblk == 0 {
        return Ok(BlockKind::DxRoot);
    }
    // An interior node starts with a fake entry: inode 0 spanning the block.
    let len = b.size();
    if b.le32_at(0)? == 0 && rec_len(b, 0, len)? == len && b.byte_at(6)? == 0 {
        return Ok(BlockKind::DxNode);
    }
    Ok(BlockKind::Leaf)
}

/// Whether a leaf block ends with a checksum tail record.
pub fn has_tail<B: Bytes + ?Sized>(b: &B) -> bool {
    let Some(t) = b.size().checked_sub(TAIL_LEN) else {
        return false;
    };
    let Ok(r) = b.array_at::<8>(t) else {
        return false;
    };
    matches!(
        (r.le32_at(0), r.le16_at(4), r.byte_at(6), r.byte_at(7)),
        (Ok(0), Ok(12), Ok(0), Ok(TAIL_FT))
    )
}

/// Verifies a directory block's checksum (metadata_csum only).
pub fn verify_csum<B: Bytes + ?Sized>(b: &B, kind: BlockKind, inode_seed: u32) -> Result<()> {
    let bad = |stored, computed| {
        Err(Error::BadChecksum {
            what: "directory block",
            stored,
            computed,
        })
    };
    match kind {
        BlockKind::Leaf => {
            if !has_tail(b) {
                return Err(Error::Corrupt {
                    what: "directory block: missing checksum tail",
                    value: 0,
                });
            }
            let t = b.size() - TAIL_LEN;
            let stored = b.le32_at(t + 8)?;
            let computed = b.crc32c_range(inode_seed, 0, t)?;
            if stored != computed {
                return bad(stored, computed);
            }
            Ok(())
        }
        BlockKind::DxRoot | BlockKind::DxNode => {
            let count_off = if kind == BlockKind::DxRoot {
                // "." (12) + ".." (12) + dx_root_info (info_length bytes).
                let info_len = usize::from(b.byte_at(24 + 5)?);
                24 + info_len
            } else {
                8
            };
            let (c, tail) = super::htree::dx_csum(b, count_off, inode_seed)?;
            let stored = b.le32_at(tail + 4)?;
            if stored != c {
                return bad(stored, c);
            }
            Ok(())
        }
    }
}

/// Classifies directory block `lblk` of a directory (`index_dir`: it has the
/// htree flag) and, when `csum_seed` is given (metadata_csum), verifies its
/// checksum: what every reader of a directory block does first.
pub fn check_block<B: Bytes + ?Sized>(
    b: &B,
    index_dir: bool,
    lblk: u32,
    csum_seed: Option<u32>,
) -> Result<BlockKind> {
    let kind = block_kind(b, index_dir, lblk)?;
    if let Some(seed) = csum_seed {
        verify_csum(b, kind, seed)?;
    }
    Ok(kind)
}

/// A record header that passed the checks of [`Records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Byte offset of the record in the block.
    pub offset: usize,
    /// Inode number (0: an unused record).
    pub ino: u32,
    /// `name_len`: the name is the `name_len` bytes after the 8-byte
    /// header.
    pub name_len: usize,
    /// `ftype::*` as stored.
    pub file_type: u8,
}

impl Record {
    /// Whether the record names an entry (inode and name present).
    pub fn is_live(&self) -> bool {
        self.ino != 0 && self.name_len != 0
    }

    /// The offset of the name in the block.
    pub fn name_offset(&self) -> usize {
        self.offset + 8
    }
}

/// Iterates over the records of a leaf block (or of the "." and ".."
/// records of a dx root; a dx interior node has none), validating every
/// record header it passes as ext4's `ext4_check_dir_entry` does: a bad
/// one ends the iteration with an error. Reads the 8-byte header of each
/// record only, so it works as well on a block read in place.
pub struct Records<'a, B: Bytes + ?Sized> {
    b: &'a B,
    off: usize,
    end: usize,
    max_ino: u32,
}

impl<'a, B: Bytes + ?Sized> Records<'a, B> {
    /// Iterates over `b` from byte `start` (a previously returned record
    /// offset, or 0). `csum_tail` excludes the tail record; `max_ino` is
    /// `s_inodes_count`.
    pub fn new(b: &'a B, start: usize, csum_tail: bool, max_ino: u32) -> Records<'a, B> {
        let end = if csum_tail && has_tail(b) {
            b.size() - TAIL_LEN
        } else {
            b.size()
        };
        Records {
            b,
            off: start,
            end,
            max_ino,
        }
    }

    /// The offset of the next record to be looked at.
    pub fn offset(&self) -> usize {
        self.off
    }

    /// Checks the record at `off`; returns it and its `rec_len`.
    fn check(&self, off: usize) -> Result<(Record, usize)> {
        if off + 8 > self.end {
            return Err(Error::Corrupt {
                what: "directory entry: record past end of block",
                value: off as u64,
            });
        }
        let h = self.b.array_at::<8>(off)?;
        let ino = h.le32_at(0)?;
        let rl = rec_len(&h, 0, self.b.size())?;
        let name_len = usize::from(h.byte_at(6)?);
        let file_type = h.byte_at(7)?;
        if rl < MIN_REC_LEN || rl % 4 != 0 {
            return Err(Error::Corrupt {
                what: "directory entry: rec_len",
                value: rl as u64,
            });
        }
        if off + rl > self.end {
            return Err(Error::Corrupt {
                what: "directory entry: rec_len past end of block",
                value: rl as u64,
            });
        }
        if ino != 0 && rec_len_for(name_len) > rl {
            return Err(Error::Corrupt {
                what: "directory entry: name_len",
                value: name_len as u64,
            });
        }
        if ino > self.max_ino {
            return Err(Error::Corrupt {
                what: "directory entry: inode number",
                value: ino.into(),
            });
        }
        let r = Record {
            offset: off,
            ino,
            name_len,
            file_type,
        };
        Ok((r, rl))
    }
}

impl<B: Bytes + ?Sized> Iterator for Records<'_, B> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.end {
            return None;
        }
        match self.check(self.off) {
            Err(e) => {
                self.off = self.end;
                Some(Err(e))
            }
            Ok((r, rl)) => {
                self.off += rl;
                Some(Ok(r))
            }
        }
    }
}

/// Searches a leaf block for `name` (ext4's `ext4_search_dir`): the inode
/// number of the live entry with that name. Names are compared in place,
/// so a block read through an accessor is never copied whole.
///
/// Like ext4, the walk checks of every record it passes only what it needs
/// to step over it safely (a `rec_len` that is at least the minimum, a
/// multiple of 4 and inside the block); the record whose name matches gets
/// every check of [`Records`] before its inode number is returned, so a
/// damaged entry is never returned, and a bad `rec_len` on the way is the
/// same error [`Records`] gives. Records that are only passed over are not
/// otherwise judged (readdir and e2fsck do that); this is what keeps a
/// lookup in a 4 KiB leaf of a hundred names as cheap as ext4's.
pub fn find_name<B: Bytes + ?Sized>(
    b: &B,
    csum_tail: bool,
    max_ino: u32,
    name: &[u8],
) -> Result<Option<u32>> {
    let records = Records::new(b, 0, csum_tail, max_ino);
    let found = if b.size() >= 65536 {
        scan::<B, true>(b, records.end, name)
    } else {
        scan::<B, false>(b, records.end, name)
    };
    match found {
        // The match: checked in full, as every record is by readdir (a
        // name running past its record or the block is an error).
        Scan::Match(off) => records.check(off).map(|(r, _)| Some(r.ino)),
        Scan::End => Ok(None),
        // A record that cannot be stepped over: the full check names what
        // is wrong with it.
        Scan::Stuck(off) => records.check(off).map(|_| None),
    }
}

/// Where [`scan`] stopped.
enum Scan {
    /// At the record whose name matches (its inode is not 0).
    Match(usize),
    /// At the end of the records: the name is not there.
    End,
    /// At a record that cannot be stepped over (or that runs past the end).
    Stuck(usize),
}

/// [`find_name`]'s walk over the records before `end`. It runs once per
/// record of every leaf a lookup reads, so each record costs one 8-byte
/// load and three tests (name length, a `rec_len` that is at least the
/// minimum and a multiple of 4, the end); the block size's encoding of
/// `rec_len` (`WIDE`: 64 KiB and more) is chosen once per block.
fn scan<B: Bytes + ?Sized, const WIDE: bool>(b: &B, end: usize, name: &[u8]) -> Scan {
    let size = b.size();
    let (mut off, mut prev) = (0usize, 0usize);
    // The last offset a record header fits at (the loop's one bound).
    let Some(last) = end.checked_sub(8) else {
        return if end == 0 { Scan::End } else { Scan::Stuck(0) };
    };
    while off <= last {
        let Ok(h) = b.array_at::<8>(off).map(u64::from_le_bytes) else {
            return Scan::Stuck(off);
        };
        // A record with the name's length is rare: the inode and the name
        // are looked at only then.
        if usize::from((h >> 48) as u8) == name.len()
            && h as u32 != 0
            && b.equals_at(off + 8, name).unwrap_or(false)
        {
            return Scan::Match(off);
        }
        let rl = rec_len_value((h >> 32) as u16, WIDE, size);
        // rec_len < 12 or not a multiple of 4, tested at once.
        if ((rl & 3) | usize::from(rl < MIN_REC_LEN)) != 0 {
            return Scan::Stuck(off);
        }
        prev = off;
        // Cannot wrap: `off` is inside the block, `rl` below 2^18.
        off = off.wrapping_add(rl);
    }
    if off == end {
        Scan::End
    } else if off < end {
        Scan::Stuck(off)
    } else {
        // The last record stepped over ran past the end.
        Scan::Stuck(prev)
    }
}

/// Iterates over the live entries of a leaf block (see [`Records`]), with
/// their names, which must not contain NUL or '/'.
pub struct Entries<'a> {
    records: Records<'a, [u8]>,
}

impl<'a> Entries<'a> {
    /// Iterates over `b` from byte `start` (see [`Records::new`]).
    pub fn new(b: &'a [u8], start: usize, csum_tail: bool, max_ino: u32) -> Entries<'a> {
        Entries {
            records: Records::new(b, start, csum_tail, max_ino),
        }
    }

    /// The offset of the next record to be looked at.
    pub fn offset(&self) -> usize {
        self.records.offset()
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<DirEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let r = match self.records.next()? {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            if !r.is_live() {
                continue;
            }
            let b: &'a [u8] = self.records.b;
            let at = r.name_offset();
            let Some(name) = b.get(at..at + r.name_len) else {
                self.records.off = self.records.end;
                return Some(Err(Error::Truncated));
            };
            if let Err(e) = check_name(name, r.offset) {
                self.records.off = self.records.end;
                return Some(Err(e));
            }
            return Some(Ok(DirEntry {
                offset: r.offset,
                ino: r.ino,
                file_type: r.file_type,
                name,
            }));
        }
    }
}

/// A stored name must not contain NUL or '/' (the record is at `off`).
fn check_name(name: &[u8], off: usize) -> Result<()> {
    if name.iter().any(|&c| c == 0 || c == b'/') {
        return Err(Error::Corrupt {
            what: "directory entry: name",
            value: off as u64,
        });
    }
    Ok(())
}

/// [`Entries`] over bytes that are read through an accessor (a block left
/// in the buffer cache): each live entry's name is copied into a buffer of
/// the walk's own, and `f` gets the entry and the offset of the record
/// after it; `f` returns whether to go on. The records are checked as
/// [`Records`] checks them and the names as [`Entries`] does; a bad one
/// ends the walk with the error `bad` makes of it. `Ok(false)`: `f`
/// stopped the walk.
pub fn visit_entries<B: Bytes + ?Sized, E>(
    b: &B,
    start: usize,
    csum_tail: bool,
    max_ino: u32,
    bad: impl Fn(Error) -> E,
    mut f: impl FnMut(DirEntry<'_>, usize) -> core::result::Result<bool, E>,
) -> core::result::Result<bool, E> {
    let mut records = Records::new(b, start, csum_tail, max_ino);
    let mut buf = [0u8; 255];
    while records.off < records.end {
        let (r, rl) = records.check(records.off).map_err(&bad)?;
        records.off += rl;
        if !r.is_live() {
            continue;
        }
        let name = buf
            .get_mut(..r.name_len)
            .ok_or(Error::Truncated)
            .map_err(&bad)?;
        b.read_into(r.name_offset(), name).map_err(&bad)?;
        check_name(name, r.offset).map_err(&bad)?;
        let e = DirEntry {
            offset: r.offset,
            ino: r.ino,
            file_type: r.file_type,
            name,
        };
        if !f(e, records.off)? {
            return Ok(false);
        }
    }
    Ok(true)
}

//! Changing directory blocks: the on-disk half of create, unlink, rename,
//! mkdir and rmdir, on one block's bytes (`&mut [u8]`, 1 KiB to 64 KiB).
//!
//! The records are the ones [`super::dir`] reads: `ext4_dir_entry_2`
//! (`inode` u32, `rec_len` u16, `name_len` u8, `file_type` u8, the name,
//! padding to 4 bytes), every record's `rec_len` reaching the next one, the
//! last one reaching the end of the block or, under metadata_csum, the
//! 12-byte checksum tail. Every function here walks the block with
//! [`Records`] first, so every header it passes is validated as the read
//! side validates it, and refuses ([`Error`]) instead of writing into a
//! block it does not understand. Nothing panics on any byte pattern.
//!
//! Space rules (as ext4's `ext4_find_dest_de` / `ext4_insert_dentry` /
//! `ext4_generic_delete_entry`):
//!
//! * a new entry goes into the first record that has room: an unused record
//!   (inode 0) whose `rec_len` holds the new record, or a used one whose
//!   slack after its own name does; a used record is split (it shrinks to
//!   the length of its own name, the new one takes the rest), an unused one
//!   is taken whole;
//! * a deleted entry's space joins the record before it; the first record
//!   of a block has none before it and becomes unused (inode 0) instead,
//!   keeping its `rec_len`.
//!
//! The caller recomputes the checksum ([`set_leaf_csum`]) after the last
//! change to a block under metadata_csum.
//!
//! Indexed (htree) directories: until rext4 maintains the index, it turns an
//! indexed directory back into a linear one before changing it (clears
//! `EXT4_INDEX_FL` in the inode): [`dx_root_to_linear`] and
//! [`dx_node_to_leaf`] rewrite the index blocks; the leaves stay as they are.

use super::bytes::{put_slice as put, Bytes};
use super::dir::{has_tail, rec_len_for, Record, Records, MIN_REC_LEN, TAIL_LEN};
use super::superblock::Superblock;
use super::{features, Error, Result};

/// `EXT4_NAME_LEN`: the longest name.
pub const NAME_MAX: usize = 255;
/// `det_reserved_ft` of the checksum tail (`EXT4_FT_DIR_CSUM`).
const TAIL_FT: u8 = 0xDE;
/// `file_type` values below this are file types (`EXT4_FT_MAX`).
const FT_MAX: u8 = 8;

/// What the writers need to know about the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFormat {
    /// metadata_csum: every leaf block ends with the checksum tail, which
    /// records must not cover.
    pub csum: bool,
    /// The filetype feature: entries record the file type; without it
    /// `file_type` is always written as 0.
    pub filetype: bool,
    /// `s_inodes_count`: the largest valid inode number.
    pub max_ino: u32,
}

impl DirFormat {
    /// The format of directories on filesystem `sb`.
    pub fn from_superblock(sb: &Superblock) -> DirFormat {
        DirFormat {
            csum: sb.has_metadata_csum(),
            filetype: sb.has_incompat(features::incompat::FILETYPE),
            max_ino: sb.inodes_count,
        }
    }

    /// Where the records of block `b` end: before the tail under
    /// metadata_csum (which must be there), else at the end of the block.
    fn records_end(&self, b: &[u8]) -> Result<usize> {
        let bs = block_size(b)?;
        if !self.csum {
            return Ok(bs);
        }
        if !has_tail(b) {
            return Err(Error::Corrupt {
                what: "directory block: missing checksum tail",
                value: 0,
            });
        }
        Ok(bs - TAIL_LEN)
    }

    /// The records of leaf block `b`, each with its `rec_len`.
    fn records<'a>(&self, b: &'a [u8]) -> Result<Recs<'a>> {
        self.records_end(b)?;
        Ok(Recs(Records::new(b, 0, self.csum, self.max_ino)))
    }
}

/// [`Records`] with each record's `rec_len` (the distance to the next).
struct Recs<'a>(Records<'a, [u8]>);

impl Iterator for Recs<'_> {
    type Item = Result<(Record, usize)>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.0.next()? {
            Ok(r) => match self.0.offset().checked_sub(r.offset) {
                Some(rl) => Ok((r, rl)),
                None => Err(Error::Corrupt {
                    what: "directory entry: rec_len",
                    value: r.offset as u64,
                }),
            },
            Err(e) => Err(e),
        })
    }
}

/// The size of block `b`: a power of two from 1 KiB to 64 KiB.
fn block_size(b: &[u8]) -> Result<usize> {
    let n = b.len();
    if !(1024..=65536).contains(&n) || !n.is_power_of_two() {
        return Err(Error::Corrupt {
            what: "directory block: size",
            value: n as u64,
        });
    }
    Ok(n)
}

/// Encodes `rec_len` `len` for a block of `block_size` bytes: the value
/// itself, except that a record spanning a whole 64 KiB block (65536 does not
/// fit 16 bits) is written as 0xFFFF (`ext4_rec_len_to_disk`). `len` must be
/// a multiple of 4 from [`MIN_REC_LEN`] up to the block size.
pub fn rec_len_to_disk(len: usize, block_size: usize) -> Result<u16> {
    if len < MIN_REC_LEN || len % 4 != 0 || len > block_size || block_size > 65536 {
        return Err(Error::Corrupt {
            what: "directory entry: rec_len to write",
            value: len as u64,
        });
    }
    if len == 65536 {
        return Ok(0xFFFF);
    }
    u16::try_from(len).map_err(|_| Error::Corrupt {
        what: "directory entry: rec_len to write",
        value: len as u64,
    })
}

fn zero(b: &mut [u8], off: usize, len: usize) -> Result<()> {
    let end = off.checked_add(len).ok_or(Error::Truncated)?;
    b.get_mut(off..end).ok_or(Error::Truncated)?.fill(0);
    Ok(())
}

fn put_rec_len(b: &mut [u8], off: usize, len: usize) -> Result<()> {
    let v = rec_len_to_disk(len, b.len())?;
    put(
        b,
        off.checked_add(4).ok_or(Error::Truncated)?,
        &v.to_le_bytes(),
    )
}

/// Writes a record header at `off`: inode, `rec_len`, name length, type.
fn put_header(b: &mut [u8], off: usize, ino: u32, rec_len: usize, nl: u8, ft: u8) -> Result<()> {
    put(b, off, &ino.to_le_bytes())?;
    put_rec_len(b, off, rec_len)?;
    put(b, off.checked_add(6).ok_or(Error::Truncated)?, &[nl, ft])
}

/// Checks a name and an inode number handed in for a new entry.
fn check_new(fmt: &DirFormat, name: &[u8], ino: u32, file_type: u8) -> Result<u8> {
    let bad = |what, value: u64| Err(Error::Unsupported { what, value });
    if name.is_empty() || name.len() > NAME_MAX {
        return bad("directory entry: name length", name.len() as u64);
    }
    if name.iter().any(|&c| c == 0 || c == b'/') {
        return bad(
            "directory entry: name with NUL or '/', length",
            name.len() as u64,
        );
    }
    if ino == 0 || ino > fmt.max_ino {
        return bad("directory entry: inode number", ino.into());
    }
    if file_type >= FT_MAX {
        return bad("directory entry: file type", file_type.into());
    }
    Ok(if fmt.filetype { file_type } else { 0 })
}

/// Whether record `r` of `b` names `name` (a used record, as `ext4_match`).
fn matches(b: &[u8], r: &Record, name: &[u8]) -> Result<bool> {
    Ok(r.ino != 0 && r.name_len == name.len() && b.equals_at(r.name_offset(), name)?)
}

/// The room record `r` (of `rec_len` `rl`) offers a new record: all of it
/// when unused, the slack after its own name otherwise.
fn room(r: &Record, rl: usize) -> usize {
    if r.ino == 0 {
        rl
    } else {
        rl.saturating_sub(rec_len_for(r.name_len))
    }
}

/// Writes the checksum tail record at the end of `b` (checksum 0 until
/// [`set_leaf_csum`]).
pub fn init_tail(b: &mut [u8]) -> Result<()> {
    let bs = block_size(b)?;
    let t = bs - TAIL_LEN;
    zero(b, t, TAIL_LEN)?;
    put_header(b, t, 0, TAIL_LEN, 0, TAIL_FT)
}

/// Computes the checksum of leaf block `b` (crc32c seeded with the
/// directory inode's checksum seed, over the block up to the tail) and
/// stores it in the tail, which must be there. What
/// [`super::dir::verify_csum`] checks for a leaf.
pub fn set_leaf_csum(b: &mut [u8], inode_seed: u32) -> Result<()> {
    let bs = block_size(b)?;
    if !has_tail(b) {
        return Err(Error::Corrupt {
            what: "directory block: missing checksum tail",
            value: 0,
        });
    }
    let t = bs - TAIL_LEN;
    let c = b.crc32c_range(inode_seed, 0, t)?;
    put(b, t + 8, &c.to_le_bytes())
}

/// Makes `b` the first block of a new directory `dir_ino` whose parent is
/// `parent_ino` (`ext4_init_dot_dotdot`): "." (`rec_len` 12), ".." covering
/// the rest up to the tail, and the tail under metadata_csum. The rest of
/// the block is zeroed.
pub fn init_first_block(
    b: &mut [u8],
    fmt: &DirFormat,
    dir_ino: u32,
    parent_ino: u32,
) -> Result<()> {
    let bs = block_size(b)?;
    let ft = check_new(fmt, b"..", dir_ino, super::dir::ftype::DIR)?;
    check_new(fmt, b"..", parent_ino, 0)?;
    b.fill(0);
    let tail = if fmt.csum { TAIL_LEN } else { 0 };
    let dot = rec_len_for(1);
    put_header(b, 0, dir_ino, dot, 1, ft)?;
    put(b, 8, b".")?;
    put_header(b, dot, parent_ino, bs - dot - tail, 2, ft)?;
    put(b, dot + 8, b"..")?;
    if fmt.csum {
        init_tail(b)?;
    }
    Ok(())
}

/// Makes `b` an empty directory block (one unused record covering it, then
/// the tail under metadata_csum), as ext4 appends one to a full directory.
/// The rest of the block is zeroed.
pub fn init_empty_block(b: &mut [u8], fmt: &DirFormat) -> Result<()> {
    let bs = block_size(b)?;
    b.fill(0);
    let tail = if fmt.csum { TAIL_LEN } else { 0 };
    put_header(b, 0, 0, bs - tail, 0, 0)?;
    if fmt.csum {
        init_tail(b)?;
    }
    Ok(())
}

/// Where a new entry can go in a block (see [`find_slot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The record at this offset has room for it.
    Fits(usize),
    /// The block already has an entry of that name (EEXIST): its offset and
    /// inode.
    Exists {
        /// Offset of the record.
        offset: usize,
        /// Its inode.
        ino: u32,
    },
    /// No record of the block has room (ENOSPC for this block).
    NoSpace,
}

/// Finds where an entry named `name` fits in leaf block `b`: the first
/// record with room for `rec_len_for(name.len())` bytes, by ext4's rule
/// (module doc). Walks and validates the whole block, and reports
/// [`Slot::Exists`] when the name is there already (wherever it is).
pub fn find_slot(b: &[u8], fmt: &DirFormat, name: &[u8]) -> Result<Slot> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(Error::Unsupported {
            what: "directory entry: name length",
            value: name.len() as u64,
        });
    }
    let need = rec_len_for(name.len());
    let mut fit = None;
    for r in fmt.records(b)? {
        let (r, rl) = r?;
        if matches(b, &r, name)? {
            return Ok(Slot::Exists {
                offset: r.offset,
                ino: r.ino,
            });
        }
        if fit.is_none() && room(&r, rl) >= need {
            fit = Some(r.offset);
        }
    }
    Ok(fit.map_or(Slot::NoSpace, Slot::Fits))
}

/// A record, its `rec_len`, and the offset and `rec_len` of the record
/// before it.
type At = (Record, usize, Option<(usize, usize)>);

/// The record at `offset` of `b` (which must be where a record starts),
/// with its `rec_len` and the record before it. Validates every record up
/// to it.
fn record_at(b: &[u8], fmt: &DirFormat, offset: usize) -> Result<At> {
    let mut prev = None;
    for r in fmt.records(b)? {
        let (r, rl) = r?;
        if r.offset == offset {
            return Ok((r, rl, prev));
        }
        if r.offset > offset {
            break;
        }
        prev = Some((r.offset, rl));
    }
    Err(Error::Corrupt {
        what: "directory entry: offset is not a record",
        value: offset as u64,
    })
}

/// Inserts the entry `name` -> `ino` (type `file_type`, an `ftype::*`,
/// written as 0 without the filetype feature) into the record at `offset`
/// (a [`Slot::Fits`] of [`find_slot`] on the same bytes): a used record is
/// split, an unused one taken whole. Returns the offset of the new record.
/// Does not look for the name elsewhere in the block (that is
/// [`find_slot`]'s job).
pub fn insert_entry(
    b: &mut [u8],
    fmt: &DirFormat,
    offset: usize,
    name: &[u8],
    ino: u32,
    file_type: u8,
) -> Result<usize> {
    let ft = check_new(fmt, name, ino, file_type)?;
    let need = rec_len_for(name.len());
    let (r, rl, _) = record_at(b, fmt, offset)?;
    if room(&r, rl) < need {
        return Err(Error::Corrupt {
            what: "directory entry: no room in record at",
            value: offset as u64,
        });
    }
    let (at, len) = if r.ino != 0 {
        let own = rec_len_for(r.name_len);
        put_rec_len(b, offset, own)?;
        (offset + own, rl - own)
    } else {
        (offset, rl)
    };
    // The header, the name and its padding; bytes beyond are slack.
    zero(b, at, need)?;
    let nl = u8::try_from(name.len()).map_err(|_| Error::Truncated)?;
    put_header(b, at, ino, len, nl, ft)?;
    put(b, at + 8, name)?;
    Ok(at)
}

/// Adds the entry `name` -> `ino` to leaf block `b` if it fits
/// ([`find_slot`] then [`insert_entry`]): [`Slot::Fits`] gives the offset
/// of the new record; on [`Slot::Exists`] and [`Slot::NoSpace`] the block
/// is unchanged.
pub fn add_entry(
    b: &mut [u8],
    fmt: &DirFormat,
    name: &[u8],
    ino: u32,
    file_type: u8,
) -> Result<Slot> {
    check_new(fmt, name, ino, file_type)?;
    match find_slot(b, fmt, name)? {
        Slot::Fits(off) => Ok(Slot::Fits(insert_entry(b, fmt, off, name, ino, file_type)?)),
        other => Ok(other),
    }
}

/// A live entry found by [`locate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Offset of its record.
    pub offset: usize,
    /// Offset of the record before it (`None`: it is the block's first).
    pub prev: Option<usize>,
    /// Its inode.
    pub ino: u32,
    /// Its `file_type` as stored.
    pub file_type: u8,
}

/// Finds the live entry `name` in leaf block `b`, validating every record
/// header passed: where it is (for [`delete_entry`], [`set_entry_inode`]),
/// or `None`.
pub fn locate(b: &[u8], fmt: &DirFormat, name: &[u8]) -> Result<Option<Located>> {
    let mut prev = None;
    for r in fmt.records(b)? {
        let (r, _) = r?;
        if matches(b, &r, name)? {
            return Ok(Some(Located {
                offset: r.offset,
                prev,
                ino: r.ino,
                file_type: r.file_type,
            }));
        }
        prev = Some(r.offset);
    }
    Ok(None)
}

/// Deletes the entry whose record starts at `offset` of leaf block `b`
/// (`ext4_generic_delete_entry`): its space joins the record before it and
/// its bytes are zeroed; the first record of the block keeps its `rec_len`
/// and becomes unused (inode 0, the rest zeroed). Refuses an offset where no
/// record starts and a record that is not a live entry.
pub fn delete_entry(b: &mut [u8], fmt: &DirFormat, offset: usize) -> Result<()> {
    let (r, rl, prev) = record_at(b, fmt, offset)?;
    if r.ino == 0 {
        return Err(Error::Corrupt {
            what: "directory entry: deleting an unused record at",
            value: offset as u64,
        });
    }
    match prev {
        Some((p, prl)) => {
            let merged = prl.checked_add(rl).ok_or(Error::Truncated)?;
            put_rec_len(b, p, merged)?;
            zero(b, offset, rl)
        }
        None => {
            put(b, offset, &0u32.to_le_bytes())?;
            zero(b, offset + 6, rl - 6)
        }
    }
}

/// Points the live entry `name` of leaf block `b` at inode `ino` of type
/// `file_type` (rename over an existing target; the type is written as 0
/// without the filetype feature). Returns the inode it named before, or
/// `None` (block unchanged) when the block has no such entry.
pub fn set_entry_inode(
    b: &mut [u8],
    fmt: &DirFormat,
    name: &[u8],
    ino: u32,
    file_type: u8,
) -> Result<Option<u32>> {
    let ft = check_new(fmt, name, ino, file_type)?;
    let Some(l) = locate(b, fmt, name)? else {
        return Ok(None);
    };
    put(b, l.offset, &ino.to_le_bytes())?;
    put(b, l.offset + 7, &[ft])?;
    Ok(Some(l.ino))
}

/// The "." and ".." records at the start of block 0 of a directory (linear
/// or an htree root: the records are looked at up to the block's end, as
/// ".." of a root covers the index). Checks their names and that "." has
/// inode `dir_ino` and ".." a non-zero one.
fn dot_dotdot(b: &[u8], fmt: &DirFormat, dir_ino: u32) -> Result<(Record, usize, Record, usize)> {
    block_size(b)?;
    let mut it = Recs(Records::new(b, 0, false, fmt.max_ino));
    let missing = |what| Error::Corrupt { what, value: 0 };
    let (dot, drl) = it.next().ok_or(missing("directory: missing '.'"))??;
    if dot.ino != dir_ino || dot.name_len != 1 || !b.equals_at(dot.name_offset(), b".")? {
        return Err(Error::Corrupt {
            what: "directory: bad '.' entry, inode",
            value: dot.ino.into(),
        });
    }
    let (dd, ddrl) = it.next().ok_or(missing("directory: missing '..'"))??;
    if dd.ino == 0 || dd.name_len != 2 || !b.equals_at(dd.name_offset(), b"..")? {
        return Err(Error::Corrupt {
            what: "directory: bad '..' entry, inode",
            value: dd.ino.into(),
        });
    }
    Ok((dot, drl, dd, ddrl))
}

/// The inode ".." of directory `dir_ino` names, from its block 0 `b`
/// (linear or an htree root), "." and ".." checked.
pub fn dotdot_ino(b: &[u8], fmt: &DirFormat, dir_ino: u32) -> Result<u32> {
    Ok(dot_dotdot(b, fmt, dir_ino)?.2.ino)
}

/// Sets the inode ".." of directory `dir_ino` names, in its block 0 `b`
/// (linear or an htree root): a directory renamed to a new parent.
pub fn set_dotdot(b: &mut [u8], fmt: &DirFormat, dir_ino: u32, parent_ino: u32) -> Result<()> {
    check_new(fmt, b"..", parent_ino, 0)?;
    let (_, _, dd, _) = dot_dotdot(b, fmt, dir_ino)?;
    put(b, dd.offset, &parent_ino.to_le_bytes())
}

/// Whether directory block `b` holds no entry but "." and ".." (the test of
/// `ext4_empty_dir`, one block at a time): `first` says it is block 0 of
/// directory `dir_ino`, which must start with valid "." and "..", every
/// other record of any block must be unused. Works on leaves, htree roots
/// and interior nodes alike (the tail and an interior node's fake record
/// are unused records). An error for a malformed block.
pub fn is_empty_block(b: &[u8], fmt: &DirFormat, first: bool, dir_ino: u32) -> Result<bool> {
    let mut start = 0;
    if first {
        let (_, drl, _, ddrl) = dot_dotdot(b, fmt, dir_ino)?;
        start = drl.checked_add(ddrl).ok_or(Error::Truncated)?;
    } else {
        block_size(b)?;
    }
    for r in Records::new(b, start, false, fmt.max_ino) {
        if r?.ino != 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Turns an htree root (block 0 of an indexed directory `dir_ino`) into a
/// linear block: "." kept, ".." covering the rest of the block up to the
/// tail (under metadata_csum), the index bytes zeroed. The caller clears
/// `EXT4_INDEX_FL` and, under metadata_csum, sets the checksum
/// ([`set_leaf_csum`]).
pub fn dx_root_to_linear(b: &mut [u8], fmt: &DirFormat, dir_ino: u32) -> Result<()> {
    let bs = block_size(b)?;
    let (_, drl, dd, ddrl) = dot_dotdot(b, fmt, dir_ino)?;
    if drl != rec_len_for(1) || dd.offset.checked_add(ddrl) != Some(bs) {
        return Err(Error::Corrupt {
            what: "htree root: '.' and '..' do not span the block, '..' rec_len",
            value: ddrl as u64,
        });
    }
    let tail = if fmt.csum { TAIL_LEN } else { 0 };
    let name_end = dd.offset + rec_len_for(2);
    zero(b, name_end, bs - name_end)?;
    put_rec_len(b, dd.offset, bs - dd.offset - tail)?;
    if fmt.csum {
        init_tail(b)?;
    }
    Ok(())
}

/// Turns an htree interior node into an empty leaf block
/// ([`init_empty_block`]). Refuses a block that does not start with a
/// node's fake record (inode 0, name length 0, covering the block), so a
/// leaf holding entries is never wiped.
pub fn dx_node_to_leaf(b: &mut [u8], fmt: &DirFormat) -> Result<()> {
    let bs = block_size(b)?;
    let mut it = Recs(Records::new(b, 0, false, fmt.max_ino));
    let (r, rl) = it.next().ok_or(Error::Truncated)??;
    if r.ino != 0 || r.name_len != 0 || rl != bs {
        return Err(Error::Corrupt {
            what: "htree node: first record is not a node header, inode",
            value: r.ino.into(),
        });
    }
    init_empty_block(b, fmt)
}

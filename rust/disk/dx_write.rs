//! Keeping a hashed directory index (htree) up to date when a name is
//! added: the insert into the leaf the index names, the split of a full
//! leaf, the split of a full index node, a new index level, and the
//! conversion of a one-block linear directory into an indexed one (the
//! steps of ext4's `ext4_dx_add_entry`, `do_split` and `make_indexed_dir`).
//!
//! The format is the one [`super::htree`] reads (see its module docs).
//! The caller owns the directory's blocks and lends them through
//! [`DirStore`]: a block is read (and checked, as the lookup walk checks
//! it) through the [`DirBlockReader`] half, changed whole through
//! [`DirStore::modify`], and new blocks are appended at the end of the
//! directory with [`DirStore::append`]. Every block written here leaves
//! valid: record chains, `count <= limit`, sorted hashes, fresh checksums
//! under metadata_csum. Nothing here allocates: the caller hands in one
//! block of scratch space and a table for a leaf's entries ([`Scratch`]).
//!
//! # Adding a name ([`add_entry`])
//!
//! 1. Walk the index to the leaf for the name's hash ([`htree::probe`]).
//! 2. If the leaf has room, the name goes there (ext4's first-fit rule,
//!    [`dir_write::find_slot`]); a name already in that leaf is
//!    [`AddOutcome::Exists`].
//! 3. Otherwise the leaf is split if its index block has room for one
//!    more entry: its live entries are sorted by hash and the upper half
//!    by size (ext4's rule: entries from the top, each counted at its
//!    `rec_len`, while half of the next one would not take the moved part
//!    past half of the block; half of them by count if all would move)
//!    goes to a new block; the index gets an entry for it whose hash is the
//!    first moved entry's, with bit 0 set when the entry before it has the
//!    same hash (the *collision bit*: a lookup of that hash reads both
//!    leaves). The name goes into the half whose range holds its hash.
//! 4. If the index block is full, the deepest index block on the path
//!    that has room takes a new entry for one more node: the full node
//!    below it is split in two by count; if even the root is full, the
//!    root's entries move into a new node and the root points at it
//!    alone (one more level), up to two levels under the root, three with
//!    `large_dir`; past that the index is full ([`AddOutcome::IndexFull`],
//!    ENOSPC). Then the walk starts again from step 1.
//!
//! At most four blocks are appended by one call ([`MAX_NEW_BLOCKS`]), so
//! a caller can reserve journal credits for them.
//!
//! A malformed index ([`Error::Corrupt`] from the walk) is reported as
//! [`AddOutcome::BadIndex`] before anything is written, so the caller can
//! fall back as ext4 does (clear the index and add linearly). Checksum
//! failures and read errors are errors.

use super::bytes::{put_le16, put_le32, put_slice, Bytes};
use super::dir::{check_block, rec_len_for, BlockKind, Records, MIN_REC_LEN, TAIL_LEN};
use super::dir_write::{self, rec_len_to_disk, DirFormat, Slot};
use super::htree::{self, hash_version, DirBlockReader, DxParams, DxPath, ENTRY, ROOT_HEADER};
use super::{Error, Result};

/// The blocks one [`add_entry`] appends at most: a new level, a split
/// index node, and two leaf splits (the second only when the first left
/// no room for the name, which takes names near the maximum length).
pub const MAX_NEW_BLOCKS: u32 = 4;

/// Offset of the entry table in an interior node (after its fake record).
const NODE_HEADER: usize = 8;
/// Leaf splits one add may make (see [`MAX_NEW_BLOCKS`]).
const MAX_LEAF_SPLITS: u32 = 2;

/// A directory whose blocks the index code reads and writes.
pub trait DirStore: DirBlockReader {
    /// Runs `f` on the whole of logical block `lblk` (read before through
    /// the reader, or just appended) and writes the block back.
    fn modify<R>(&mut self, lblk: u32, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R>;

    /// Appends a block to the directory (its size grows by one block) and
    /// returns its logical number. Its bytes are undefined until the
    /// caller's next [`modify`](DirStore::modify) of it, which writes them
    /// all. Every step here (split of a leaf or a node, a new level, the
    /// conversion) appends before its first change, so when `append`
    /// fails having changed nothing (out of space), the directory as
    /// written so far is valid: the store may keep it.
    fn append(&mut self) -> Result<u32>;
}

/// One live entry of a leaf being split: its hash, where its record is
/// and how long its name is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapEntry {
    hash: u32,
    off: u32,
    /// The record's `rec_len` (ext4's `dx_make_map` sizes by it).
    size: u32,
    name_len: u8,
}

/// Working space the caller lends: one block, and room for the entries of
/// one leaf ([`map_len`] of them).
pub struct Scratch<'a> {
    /// A block's worth of bytes.
    pub block: &'a mut [u8],
    /// The leaf's entries while it is split.
    pub map: &'a mut [MapEntry],
}

/// The number of [`MapEntry`] slots a [`Scratch`] needs for blocks of
/// `block_size` bytes: the most records a block can hold.
pub const fn map_len(block_size: usize) -> usize {
    block_size / MIN_REC_LEN
}

/// What [`add_entry`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The name is in the directory.
    Added,
    /// The leaf for the name already has it (EEXIST); nothing written.
    Exists,
    /// Every index block on the path is full and the index has as many
    /// levels as the filesystem allows (ENOSPC); nothing written.
    IndexFull,
    /// The index is malformed (what the walk found); nothing written.
    BadIndex(Error),
}

fn corrupt(what: &'static str, value: u64) -> Error {
    Error::Corrupt { what, value }
}

/// Offset of the entry table of the index block at `level` (0: the root).
fn table_off(level: usize) -> usize {
    if level == 0 {
        ROOT_HEADER
    } else {
        NODE_HEADER
    }
}

fn get<const N: usize>(b: &[u8], off: usize) -> Result<[u8; N]> {
    b.array_at::<N>(off)
}

fn limit_count(b: &[u8], off: usize) -> Result<(usize, usize)> {
    let h = get::<4>(b, off)?;
    Ok((
        usize::from(u16::from_le_bytes([h[0], h[1]])),
        usize::from(u16::from_le_bytes([h[2], h[3]])),
    ))
}

fn entry_pos(off: usize, i: usize) -> Result<usize> {
    i.checked_mul(ENTRY)
        .and_then(|e| e.checked_add(off))
        .ok_or(Error::Truncated)
}

/// Stores the `dx_tail` checksum of the index block `b` whose entry table
/// is at `off`, when the filesystem has metadata_csum (`seed`).
fn set_dx_csum(b: &mut [u8], off: usize, seed: Option<u32>) -> Result<()> {
    let Some(seed) = seed else {
        return Ok(());
    };
    let (c, tail) = htree::dx_csum(&*b, off, seed)?;
    put_le32(b, tail + 4, c)
}

/// Inserts entry `(hash, block)` at position `at` (1..=count) of the table
/// at `off` of index block `b`, which must have room.
fn insert_index_entry(b: &mut [u8], off: usize, at: usize, hash: u32, block: u32) -> Result<()> {
    let (limit, count) = limit_count(b, off)?;
    if count >= limit || at == 0 || at > count {
        return Err(corrupt(
            "htree: no room for an index entry, count",
            count as u64,
        ));
    }
    let from = entry_pos(off, at)?;
    let end = entry_pos(off, count)?;
    let to = entry_pos(off, count + 1)?;
    if to > b.len() {
        return Err(Error::Truncated);
    }
    b.copy_within(from..end, from + ENTRY);
    put_le32(b, from, hash)?;
    put_le32(b, from + 4, block)?;
    put_le16(b, off + 2, (count + 1) as u16)
}

/// Writes an empty interior node holding entries `entries` (bytes of whole
/// `dx_entry`s, entry 0 first; its hash field is overwritten by
/// limit/count) into `b`.
fn init_node(b: &mut [u8], p: &DxParams, entries: &[u8]) -> Result<()> {
    let bs = b.len();
    let count = entries.len() / ENTRY;
    let limit = p.node_limit();
    if count == 0 || count > limit || entries.len() % ENTRY != 0 {
        return Err(corrupt("htree node: entries to write", count as u64));
    }
    b.fill(0);
    // The fake record: inode 0, covering the block, no name.
    put_le16(b, 4, rec_len_to_disk(bs, bs)?)?;
    put_slice(b, NODE_HEADER, entries)?;
    put_le16(b, NODE_HEADER, limit as u16)?;
    put_le16(b, NODE_HEADER + 2, count as u16)?;
    set_dx_csum(b, NODE_HEADER, p.csum_seed)
}

/// Recomputes the checksum of an htree root `b` after a change to its
/// "." or ".." record (a directory moved to another parent).
pub fn set_root_csum(b: &mut [u8], p: &DxParams) -> Result<()> {
    set_dx_csum(b, ROOT_HEADER, p.csum_seed)
}

/// Copies the live entries `list` of leaf `src` (record offsets and name
/// lengths) into `dst`, an empty leaf ([`dir_write::init_empty_block`]), one
/// after the other with no slack; the last record reaches the end of the
/// records. Sets the checksum.
fn pack(
    dst: &mut [u8],
    fmt: &DirFormat,
    seed: Option<u32>,
    src: &[u8],
    list: impl Iterator<Item = (usize, usize)>,
) -> Result<()> {
    dir_write::init_empty_block(dst, fmt)?;
    let end = dst.len() - if fmt.csum { TAIL_LEN } else { 0 };
    let mut pos = 0usize;
    let mut last = None;
    for (off, name_len) in list {
        let need = rec_len_for(name_len);
        let stop = pos.checked_add(need).ok_or(Error::Truncated)?;
        if stop > end {
            return Err(corrupt(
                "directory: entries do not fit a block, at",
                pos as u64,
            ));
        }
        let rec = src
            .get(off..off.checked_add(8 + name_len).ok_or(Error::Truncated)?)
            .ok_or(Error::Truncated)?;
        put_slice(dst, pos, rec)?;
        put_le16(dst, pos + 4, rec_len_to_disk(need, dst.len())?)?;
        last = Some(pos);
        pos = stop;
    }
    if let Some(l) = last {
        put_le16(dst, l + 4, rec_len_to_disk(end - l, dst.len())?)?;
    }
    match seed {
        Some(s) if fmt.csum => dir_write::set_leaf_csum(dst, s),
        _ => Ok(()),
    }
}

/// Reads leaf `lblk` for a change: checks it as the lookup does (its
/// checksum once per read from the device), copies it into `copy`.
fn read_leaf<S: DirStore + ?Sized>(
    p: &DxParams,
    s: &mut S,
    lblk: u32,
    copy: &mut [u8],
) -> Result<()> {
    let raw = s.read_dir_block(lblk)?;
    if raw.size() != copy.len() {
        return Err(Error::Truncated);
    }
    if !s.is_verified(&raw) {
        match check_block(&raw, true, lblk, p.csum_seed)? {
            BlockKind::Leaf => {
                if p.csum_seed.is_some() {
                    s.set_verified(&raw);
                }
            }
            // An emptied leaf without a checksum tail looks like a node.
            BlockKind::DxNode if p.csum_seed.is_none() => {}
            _ => {
                return Err(corrupt(
                    "htree: index entry names an index block",
                    lblk.into(),
                ))
            }
        }
    }
    raw.read_into(0, copy)
}

/// Adds `name` -> `ino` (type `file_type`) to the indexed directory `s`
/// (see the module docs). `p.dir_blocks` follows the blocks appended.
pub fn add_entry<S: DirStore + ?Sized>(
    p: &mut DxParams,
    fmt: &DirFormat,
    s: &mut S,
    name: &[u8],
    ino: u32,
    file_type: u8,
    scratch: &mut Scratch<'_>,
) -> Result<AddOutcome> {
    if scratch.block.len() != p.block_size as usize
        || scratch.map.len() < map_len(scratch.block.len())
    {
        return Err(corrupt("htree: scratch space", scratch.block.len() as u64));
    }
    let mut leaf_splits = 0;
    // Each round ends the add or changes the index so that the next one
    // gets further: bounded by the levels and the leaf splits.
    for _ in 0..(2 * htree::MAX_LEVELS as u32 + MAX_LEAF_SPLITS + 1) {
        let path = match htree::probe(p, name, s) {
            Ok(path) => path,
            Err(e @ Error::Corrupt { .. }) => return Ok(AddOutcome::BadIndex(e)),
            Err(e) => return Err(e),
        };
        let leaf = path.leaf();
        read_leaf(p, s, leaf, scratch.block)?;
        match dir_write::find_slot(scratch.block, fmt, name)? {
            Slot::Exists { .. } => return Ok(AddOutcome::Exists),
            Slot::Fits(off) => {
                insert_name(p, fmt, s, leaf, off, name, ino, file_type)?;
                return Ok(AddOutcome::Added);
            }
            Slot::NoSpace => {}
        }
        let frames = path.frames();
        let lowest = frames.len().saturating_sub(1);
        if has_room(p, &path, lowest)? {
            if leaf_splits == MAX_LEAF_SPLITS {
                break;
            }
            leaf_splits += 1;
            if let Some(outcome) = split_leaf(p, fmt, s, &path, name, ino, file_type, scratch)? {
                return Ok(outcome);
            }
            continue;
        }
        // The deepest index block with room takes one more node.
        let mut with_room = None;
        for l in (0..lowest).rev() {
            if has_room(p, &path, l)? {
                with_room = Some(l);
                break;
            }
        }
        match with_room {
            Some(l) => split_node(p, s, &path, l, scratch.block)?,
            None if frames.len() < p.max_levels() => add_level(p, s, &path, scratch.block)?,
            None => return Ok(AddOutcome::IndexFull),
        }
    }
    Err(corrupt(
        "htree: no room for the name after splits, length",
        name.len() as u64,
    ))
}

/// Whether the index block at `level` of `path` has room for one more entry.
fn has_room(p: &DxParams, path: &DxPath, level: usize) -> Result<bool> {
    let f = path.frames().get(level).ok_or(Error::Truncated)?;
    let limit = if level == 0 {
        p.root_limit()
    } else {
        p.node_limit()
    };
    Ok(usize::from(f.count) < limit)
}

/// Inserts the name at record `off` (a [`Slot::Fits`]) of leaf `lblk`.
#[allow(clippy::too_many_arguments)]
fn insert_name<S: DirStore + ?Sized>(
    p: &DxParams,
    fmt: &DirFormat,
    s: &mut S,
    lblk: u32,
    off: usize,
    name: &[u8],
    ino: u32,
    file_type: u8,
) -> Result<()> {
    s.modify(lblk, |b| {
        dir_write::insert_entry(b, fmt, off, name, ino, file_type)?;
        match p.csum_seed {
            Some(seed) if fmt.csum => dir_write::set_leaf_csum(b, seed),
            _ => Ok(()),
        }
    })
}

/// Splits the full leaf of `path` (whose index block has room) into two
/// and puts the name into the half for its hash: `Some(outcome)` when done,
/// `None` when that half has no room either (the caller walks again).
#[allow(clippy::too_many_arguments)]
fn split_leaf<S: DirStore + ?Sized>(
    p: &mut DxParams,
    fmt: &DirFormat,
    s: &mut S,
    path: &DxPath,
    name: &[u8],
    ino: u32,
    file_type: u8,
    scratch: &mut Scratch<'_>,
) -> Result<Option<AddOutcome>> {
    let leaf = path.leaf();
    let version = path.root_info().hash_version;
    let src = &*scratch.block;
    let bs = src.len();
    // The live entries, sorted by hash (then by place, for a stable result).
    let mut n = 0;
    let mut recs = Records::new(src, 0, fmt.csum, fmt.max_ino);
    while let Some(r) = recs.next() {
        let r = r?;
        let size = recs.offset().saturating_sub(r.offset);
        if !r.is_live() {
            continue;
        }
        let nm = src
            .get(r.name_offset()..r.name_offset() + r.name_len)
            .ok_or(Error::Truncated)?;
        let hash = p.hash.hash(version, nm)?.major;
        let slot = scratch.map.get_mut(n).ok_or(Error::Truncated)?;
        *slot = MapEntry {
            hash,
            off: r.offset as u32,
            size: size as u32,
            name_len: r.name_len as u8,
        };
        n += 1;
    }
    let map = scratch.map.get_mut(..n).ok_or(Error::Truncated)?;
    if n < 2 {
        return Err(corrupt(
            "htree: full leaf with fewer than two entries",
            leaf.into(),
        ));
    }
    super::sort::sort_by_key(map, |e| (e.hash, e.off));
    // ext4's split point (`do_split`): from the top, the entries (sized by
    // their `rec_len`) while more than half of the next would not pass half
    // of the block, the rest staying; half of the entries by count if all
    // of them would move.
    let mut moved_size = 0usize;
    let mut moved = 0;
    let mut stopped_at = None;
    for (i, e) in map.iter().enumerate().rev() {
        let size = e.size as usize;
        if moved_size + size / 2 > bs / 2 {
            stopped_at = Some(i);
            break;
        }
        moved_size += size;
        moved += 1;
    }
    let split = match stopped_at {
        Some(_) => n - moved,
        None => n / 2,
    };
    let (lo, hi) = map.split_at(split);
    let (Some(last_lo), Some(first_hi)) = (lo.last(), hi.first()) else {
        return Err(corrupt("htree: leaf split point", split as u64));
    };
    let hash2 = first_hi.hash;
    let continued = u32::from(hash2 == last_lo.hash);
    let new = s.append()?;
    p.dir_blocks = p.dir_blocks.max(new.saturating_add(1));
    let seed = p.csum_seed;
    for (lblk, part) in [(new, hi), (leaf, lo)] {
        let list = part
            .iter()
            .map(|e| (e.off as usize, usize::from(e.name_len)));
        s.modify(lblk, |b| pack(b, fmt, seed, src, list))?;
    }
    let level = path.frames().len().checked_sub(1).ok_or(Error::Truncated)?;
    let f = *path.frames().get(level).ok_or(Error::Truncated)?;
    let off = table_off(level);
    s.modify(f.lblk, |b| {
        insert_index_entry(b, off, usize::from(f.at) + 1, hash2 | continued, new)?;
        set_dx_csum(b, off, seed)
    })?;
    // The name goes where its hash now leads.
    let target = if path.hash().major >= hash2 {
        new
    } else {
        leaf
    };
    let added = s.modify(target, |b| {
        let slot = dir_write::add_entry(b, fmt, name, ino, file_type)?;
        if let (Slot::Fits(_), Some(seed), true) = (slot, seed, fmt.csum) {
            dir_write::set_leaf_csum(b, seed)?;
        }
        Ok(slot)
    })?;
    Ok(match added {
        Slot::Fits(_) => Some(AddOutcome::Added),
        Slot::Exists { .. } => Some(AddOutcome::Exists),
        Slot::NoSpace => None,
    })
}

/// Splits the full index node at level `l + 1` of `path` in two by count;
/// the index block at level `l` has room for the new half's entry.
fn split_node<S: DirStore + ?Sized>(
    p: &mut DxParams,
    s: &mut S,
    path: &DxPath,
    l: usize,
    copy: &mut [u8],
) -> Result<()> {
    let parent = *path.frames().get(l).ok_or(Error::Truncated)?;
    let child = *path.frames().get(l + 1).ok_or(Error::Truncated)?;
    let raw = s.read_dir_block(child.lblk)?;
    raw.read_into(0, copy)?;
    let (_, count) = limit_count(copy, NODE_HEADER)?;
    if count < 2 {
        return Err(corrupt("htree: splitting a node of count", count as u64));
    }
    let keep = count / 2;
    let from = entry_pos(NODE_HEADER, keep)?;
    let to = entry_pos(NODE_HEADER, count)?;
    let moved = copy.get(from..to).ok_or(Error::Truncated)?;
    let hash2 = u32::from_le_bytes(get::<4>(copy, from)?);
    let new = s.append()?;
    p.dir_blocks = p.dir_blocks.max(new.saturating_add(1));
    let pp = *p;
    s.modify(new, |b| init_node(b, &pp, moved))?;
    s.modify(child.lblk, |b| {
        put_le16(b, NODE_HEADER + 2, keep as u16)?;
        set_dx_csum(b, NODE_HEADER, pp.csum_seed)
    })?;
    let off = table_off(l);
    s.modify(parent.lblk, |b| {
        insert_index_entry(b, off, usize::from(parent.at) + 1, hash2, new)?;
        set_dx_csum(b, off, pp.csum_seed)
    })
}

/// Moves the full root's entries into a new node and points the root at
/// it alone: one more index level.
fn add_level<S: DirStore + ?Sized>(
    p: &mut DxParams,
    s: &mut S,
    path: &DxPath,
    copy: &mut [u8],
) -> Result<()> {
    let levels = path.frames().len();
    let raw = s.read_dir_block(0)?;
    raw.read_into(0, copy)?;
    let (_, count) = limit_count(copy, ROOT_HEADER)?;
    let entries = copy
        .get(ROOT_HEADER..entry_pos(ROOT_HEADER, count)?)
        .ok_or(Error::Truncated)?;
    let new = s.append()?;
    p.dir_blocks = p.dir_blocks.max(new.saturating_add(1));
    let pp = *p;
    s.modify(new, |b| init_node(b, &pp, entries))?;
    s.modify(0, |b| {
        put_le16(b, ROOT_HEADER + 2, 1)?;
        put_le32(b, ROOT_HEADER + 4, new)?;
        // `indirect_levels` of dx_root_info.
        put_slice(b, 24 + 6, &[levels as u8])?;
        set_dx_csum(b, ROOT_HEADER, pp.csum_seed)
    })
}

/// Whether a directory can be indexed with `def_hash_version`, the
/// superblock's `s_def_hash_version`: ext4 stores it in the root as it is,
/// and only the signed forms 0-2 are valid there.
pub fn can_index(def_hash_version: u8) -> bool {
    def_hash_version <= hash_version::TEA
}

/// Turns the one-block linear directory `s` (inode `dir_ino`) into an
/// indexed one (ext4's `make_indexed_dir`): its entries after "." and ".."
/// move, packed, into a new block 1, and block 0 becomes the htree root
/// ("." and ".." kept, ".." covering the index) with one entry, for
/// block 1, and hash version `def_hash_version`. The caller sets the
/// inode's index flag in the same transaction, then adds names with
/// [`add_entry`]. Refuses a block 0 whose "." is not a 12-byte record
/// followed by "..", and a hash version [`can_index`] refuses.
pub fn make_indexed<S: DirStore + ?Sized>(
    p: &mut DxParams,
    fmt: &DirFormat,
    s: &mut S,
    dir_ino: u32,
    def_hash_version: u8,
    copy: &mut [u8],
) -> Result<()> {
    if !can_index(def_hash_version) {
        return Err(Error::Unsupported {
            what: "htree: default hash version",
            value: def_hash_version.into(),
        });
    }
    if p.dir_blocks != 1 || copy.len() != p.block_size as usize {
        return Err(corrupt(
            "htree: indexing a directory of blocks",
            p.dir_blocks.into(),
        ));
    }
    read_leaf_linear(p, s, copy)?;
    let bs = copy.len();
    let mut recs = Records::new(&*copy, 0, fmt.csum, fmt.max_ino);
    let dot = recs.next().ok_or(Error::Truncated)??;
    let dotdot = recs.next().ok_or(Error::Truncated)??;
    let rest = recs.offset();
    if dot.offset != 0
        || dot.ino != dir_ino
        || dot.name_len != 1
        || dotdot.offset != rec_len_for(1)
        || dotdot.name_len != 2
        || !copy.equals_at(dot.name_offset(), b".")?
        || !copy.equals_at(dotdot.name_offset(), b"..")?
    {
        return Err(corrupt(
            "directory: '.' and '..' of block 0, inode",
            dir_ino.into(),
        ));
    }
    for r in Records::new(&*copy, rest, fmt.csum, fmt.max_ino) {
        r?;
    }
    let new = s.append()?;
    if new != 1 {
        return Err(corrupt("htree: first leaf appended at block", new.into()));
    }
    p.dir_blocks = 2;
    let pp = *p;
    let src = &*copy;
    s.modify(new, |b| {
        // Every record was validated above: none is dropped here.
        let list = Records::new(src, rest, fmt.csum, fmt.max_ino)
            .filter_map(|r| r.ok())
            .filter(|r| r.is_live())
            .map(|r| (r.offset, r.name_len));
        pack(b, fmt, pp.csum_seed, src, list)
    })?;
    s.modify(0, |b| {
        // "." and ".." as they were ("." is 12 bytes), then the index.
        let head = get::<24>(src, 0)?;
        b.fill(0);
        put_slice(b, 0, &head)?;
        put_le16(
            b,
            rec_len_for(1) + 4,
            rec_len_to_disk(bs - rec_len_for(1), bs)?,
        )?;
        // dx_root_info: reserved_zero, hash_version, info_length 8,
        // indirect_levels 0, unused_flags 0.
        put_slice(b, 24, &[0, 0, 0, 0, def_hash_version, 8, 0, 0])?;
        put_le16(b, ROOT_HEADER, pp.root_limit() as u16)?;
        put_le16(b, ROOT_HEADER + 2, 1)?;
        put_le32(b, ROOT_HEADER + 4, new)?;
        set_dx_csum(b, ROOT_HEADER, pp.csum_seed)
    })
}

/// Reads block 0 of a linear directory into `copy`, checked as a leaf
/// (its checksum once per read from the device).
fn read_leaf_linear<S: DirStore + ?Sized>(p: &DxParams, s: &mut S, copy: &mut [u8]) -> Result<()> {
    let raw = s.read_dir_block(0)?;
    if raw.size() != copy.len() {
        return Err(Error::Truncated);
    }
    if !s.is_verified(&raw) && p.csum_seed.is_some() {
        check_block(&raw, false, 0, p.csum_seed)?;
        s.set_verified(&raw);
    }
    raw.read_into(0, copy)
}

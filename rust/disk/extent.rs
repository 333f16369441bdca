//! Extent trees: the root in `i_block`, interior and leaf nodes in blocks.
//!
//! A node is a 12-byte header followed by 12-byte entries: index entries
//! (`ext4_extent_idx`) in interior nodes, extents (`ext4_extent`) in leaves.
//! Nodes stored in blocks end with a crc32c tail after `eh_max` entries.

use super::bytes::{lo_hi, Bytes};
use super::syszone::BlockRefs;
use super::{Error, Result};

/// `eh_magic`.
pub const EXTENT_MAGIC: u16 = 0xF30A;
/// Deepest tree ext4 builds.
pub const MAX_DEPTH: u16 = 5;
/// Longest initialised extent; longer `ee_len` values mark unwritten
/// extents of `ee_len - 32768` blocks.
pub const INIT_MAX_LEN: u16 = 32768;
const HEADER: usize = 12;
const ENTRY: usize = 12;

/// A node header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Valid entries.
    pub entries: u16,
    /// Capacity.
    pub max: u16,
    /// 0 for leaves.
    pub depth: u16,
}

/// One extent of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// First logical block.
    pub lblk: u32,
    /// Length in blocks.
    pub len: u32,
    /// First physical block.
    pub pblk: u64,
    /// Allocated but not written: reads as zeros.
    pub unwritten: bool,
}

/// Result of mapping a logical block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// `lblk` is mapped: `len` blocks from `pblk` on (the rest of its
    /// extent).
    Mapped {
        /// Physical block of the requested logical block.
        pblk: u64,
        /// Contiguous blocks from there.
        len: u32,
        /// Allocated but not written.
        unwritten: bool,
    },
    /// `lblk` is in a hole of `len` blocks (up to the next extent, or to
    /// the end of the 32-bit block space).
    Hole {
        /// Blocks until the next mapped block.
        len: u32,
    },
}

/// Where a node's bytes came from, which decides its capacity and checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The root in the inode's 60-byte `i_block`.
    Root,
    /// A block of `block_size` bytes with a checksum tail.
    Block {
        /// Block size.
        block_size: u32,
    },
}

/// Reads and checks a node header: magic, capacity, entry count and depth
/// (`want_depth` is the depth the parent implies, `None` for the root).
pub fn header<B: Bytes + ?Sized>(
    node: &B,
    kind: NodeKind,
    want_depth: Option<u16>,
) -> Result<Header> {
    let magic = node.le16_at(0)?;
    if magic != EXTENT_MAGIC {
        return Err(Error::Corrupt {
            what: "extent header: magic",
            value: magic.into(),
        });
    }
    let h = Header {
        entries: node.le16_at(2)?,
        max: node.le16_at(4)?,
        depth: node.le16_at(6)?,
    };
    let cap = match kind {
        NodeKind::Root => (60 - HEADER) / ENTRY,
        NodeKind::Block { block_size } => (block_size as usize - HEADER) / ENTRY,
    };
    // ext4 itself may leave a smaller eh_max (it shrinks by up to 2 entries
    // on 1k blocks for the tail); never larger than the room there is.
    if h.max == 0 || usize::from(h.max) > cap {
        return Err(Error::Corrupt {
            what: "extent header: eh_max",
            value: h.max.into(),
        });
    }
    if h.entries > h.max {
        return Err(Error::Corrupt {
            what: "extent header: eh_entries",
            value: h.entries.into(),
        });
    }
    if h.depth > MAX_DEPTH || want_depth.is_some_and(|d| d != h.depth) {
        return Err(Error::Corrupt {
            what: "extent header: eh_depth",
            value: h.depth.into(),
        });
    }
    Ok(h)
}

/// Verifies the checksum tail of a block node against the inode's seed.
pub fn verify_block_csum<B: Bytes + ?Sized>(node: &B, h: &Header, inode_seed: u32) -> Result<()> {
    let covered = HEADER + usize::from(h.max) * ENTRY;
    let stored = node.le32_at(covered)?;
    let computed = node.crc32c_range(inode_seed, 0, covered)?;
    if stored != computed {
        return Err(Error::BadChecksum {
            what: "extent block",
            stored,
            computed,
        });
    }
    Ok(())
}

/// Extent `i` of a leaf.
pub fn leaf_entry<B: Bytes + ?Sized>(node: &B, i: usize) -> Result<Extent> {
    let o = entry_off(i)?;
    let raw = node.array_at::<ENTRY>(o)?;
    let raw_len = raw.le16_at(4)?;
    let (len, unwritten) = if raw_len > INIT_MAX_LEN {
        (raw_len - INIT_MAX_LEN, true)
    } else {
        (raw_len, false)
    };
    Ok(Extent {
        lblk: raw.le32_at(0)?,
        len: len.into(),
        pblk: lo_hi(raw.le32_at(8)?, raw.le16_at(6)?.into()),
        unwritten,
    })
}

/// Index entry `i` of an interior node: (first logical block, child block).
pub fn index_entry<B: Bytes + ?Sized>(node: &B, i: usize) -> Result<(u32, u64)> {
    let raw = node.array_at::<ENTRY>(entry_off(i)?)?;
    Ok((
        raw.le32_at(0)?,
        lo_hi(raw.le32_at(4)?, raw.le16_at(8)?.into()),
    ))
}

/// The first logical block of entry `i` (index entry or extent: both start
/// with it).
fn entry_first<B: Bytes + ?Sized>(node: &B, i: usize) -> Result<u32> {
    node.le32_at(entry_off(i)?)
}

/// The byte offset of entry `i`.
fn entry_off(i: usize) -> Result<usize> {
    i.checked_mul(ENTRY)
        .and_then(|o| o.checked_add(HEADER))
        .ok_or(Error::Truncated)
}

/// The number of entries among the first `n` whose first logical block is
/// at or before `lblk`, by binary search: the entries of a node that passed
/// [`validate`] are in increasing order, so these are a prefix.
fn count_at_or_before<B: Bytes + ?Sized>(node: &B, n: usize, lblk: u32) -> Result<usize> {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry_first(node, mid)? <= lblk {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// What to do next at one node while mapping a logical block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Descend into this child block (at depth `depth - 1`), whose subtree
    /// starts at logical block `first` (the index entry's) and covers
    /// logical blocks below `limit` (exclusive; `u64` so that the last
    /// subtree can cover the whole 32-bit space).
    Descend {
        /// Child block.
        child: u64,
        /// First logical block of the subtree (the index entry's `ei_block`).
        first: u32,
        /// First logical block of the next sibling subtree.
        limit: u64,
    },
    /// The answer.
    Done(Mapping),
}

/// Checks every entry of a node against the node itself and the
/// filesystem, as ext4 does when it reads one (`ext4_valid_extent_entries`):
/// index entries strictly increasing, each child a block inside the
/// filesystem and outside the system zone; extents non-empty, increasing,
/// non-overlapping, their blocks inside the filesystem and outside the
/// system zone. An interior node must not be empty.
///
/// Nothing here depends on how the node was reached, so the result may be
/// cached with the block (the buffer's verified bit); what depends on the
/// parent is [`check_span`], done on every walk.
pub fn validate<B: Bytes + ?Sized>(node: &B, h: &Header, refs: &BlockRefs<'_>) -> Result<()> {
    let n = usize::from(h.entries);
    if h.depth > 0 {
        if n == 0 {
            return Err(Error::Corrupt {
                what: "extent index: empty interior node",
                value: 0,
            });
        }
        let mut prev: Option<u32> = None;
        for i in 0..n {
            let (first, child) = index_entry(node, i)?;
            if prev.is_some_and(|p| first <= p) {
                return Err(Error::Corrupt {
                    what: "extent index: entries out of order",
                    value: first.into(),
                });
            }
            prev = Some(first);
            refs.check("extent index: child block", child, 1)?;
        }
        return Ok(());
    }
    let mut prev_end: u64 = 0;
    for i in 0..n {
        let e = leaf_entry(node, i)?;
        let start = u64::from(e.lblk);
        let end = start + u64::from(e.len);
        if e.len == 0 || start < prev_end {
            return Err(Error::Corrupt {
                what: "extent: overlapping, unordered or empty",
                value: start,
            });
        }
        refs.check("extent: physical block", e.pblk, e.len.into())?;
        prev_end = end;
    }
    Ok(())
}

/// Checks that a node that passed [`validate`] covers what its parent's
/// index entry says: its first entry starts at `first` (the entry's
/// `ei_block`; `None` for the root, which has no parent) and its last one
/// ends at or before `limit` (the next index entry's `ei_block`). ext4
/// checks the first entry when it reads the block; the limit is rext4's
/// own. Constant time (the entries are in order, so only the first and the
/// last matter), which is why it runs on every walk through the node
/// rather than being cached: the same block reached through a different
/// index entry (two entries naming one child, a corrupt tree) gets the
/// other entry's range checked. An empty leaf covers nothing.
pub fn check_span<B: Bytes + ?Sized>(
    node: &B,
    h: &Header,
    first: Option<u32>,
    limit: u64,
) -> Result<()> {
    let Some(last) = usize::from(h.entries).checked_sub(1) else {
        return Ok(());
    };
    let (first_lblk, last_end) = if h.depth > 0 {
        let (f, _) = index_entry(node, 0)?;
        let (l, _) = index_entry(node, last)?;
        // An index entry covers at least its own first block.
        (f, u64::from(l) + 1)
    } else {
        let f = leaf_entry(node, 0)?;
        let l = leaf_entry(node, last)?;
        (f.lblk, u64::from(l.lblk) + u64::from(l.len))
    };
    if first.is_some_and(|want| want != first_lblk) {
        return Err(Error::Corrupt {
            what: "extent node: first entry differs from its index entry",
            value: first_lblk.into(),
        });
    }
    if last_end > limit {
        return Err(Error::Corrupt {
            what: "extent node: entries beyond its index entry's range",
            value: last_end - 1,
        });
    }
    Ok(())
}

/// Reads and fully checks an extent root (`i_block`): header, entries
/// ([`validate`]) and span. ext4 does this when it reads the inode; a root
/// that passed may be walked with [`map_checked_root`].
pub fn check_root<B: Bytes + ?Sized>(root: &B, refs: &BlockRefs<'_>) -> Result<Header> {
    let h = header(root, NodeKind::Root, None)?;
    validate(root, &h, refs)?;
    check_span(root, &h, None, ROOT_LIMIT)?;
    Ok(h)
}

/// Logical blocks a tree covers: the 32-bit block space.
const ROOT_LIMIT: u64 = 1 << 32;

/// One step of mapping `lblk` at a node that passed [`validate`] and
/// [`check_span`] with this `limit`: no entry is checked again. The entry
/// is found by binary search (the entries are in order), reading the first
/// logical block of a handful of entries and then the one entry chosen.
pub fn step_validated<B: Bytes + ?Sized>(
    node: &B,
    h: &Header,
    lblk: u32,
    limit: u64,
) -> Result<Step> {
    let n = usize::from(h.entries);
    let before = count_at_or_before(node, n, lblk)?;
    // Where the entries after the one chosen start: the next entry, or the
    // end of what this node covers.
    let next_start = if before < n {
        u64::from(entry_first(node, before)?)
    } else {
        limit
    };
    let Some(i) = before.checked_sub(1) else {
        // Before the first entry: a hole up to it.
        return Ok(Step::Done(Mapping::Hole {
            len: hole_len(lblk, next_start),
        }));
    };
    if h.depth > 0 {
        let (first, child) = index_entry(node, i)?;
        return Ok(Step::Descend {
            child,
            first,
            limit: next_start,
        });
    }
    let e = leaf_entry(node, i)?;
    let start = u64::from(e.lblk);
    let end = start + u64::from(e.len);
    let l = u64::from(lblk);
    if l < end {
        // `start <= l` (binary search) and `end - l <= len`.
        return Ok(Step::Done(Mapping::Mapped {
            pblk: e.pblk.saturating_add(l.saturating_sub(start)),
            len: (end - l) as u32,
            unwritten: e.unwritten,
        }));
    }
    Ok(Step::Done(Mapping::Hole {
        len: hole_len(lblk, next_start),
    }))
}

fn hole_len(lblk: u32, next: u64) -> u32 {
    next.saturating_sub(u64::from(lblk))
        .clamp(1, u64::from(u32::MAX)) as u32
}

/// A source of filesystem blocks for walking trees, implemented by the
/// kernel's buffer cache and by the host's image reader.
pub trait BlockSource {
    /// A block's bytes, held while the caller looks at them.
    type Block: Bytes;
    /// Reads block `pblk`.
    fn read(&self, pblk: u64) -> Result<Self::Block>;

    /// Whether `block` already passed the checks that depend on its bytes
    /// alone (checksum and [`validate`]) since it was read (a cache the
    /// source may keep; none by default).
    fn is_verified(&self, _block: &Self::Block) -> bool {
        false
    }

    /// Records that `block` passed those checks.
    fn set_verified(&self, _block: &Self::Block) {}
}

/// Maps logical block `lblk` of a file whose extent root is `root`
/// (`i_block`), checking the root first ([`check_root`]). `refs` bounds
/// the block numbers the tree may name; `inode_seed` enables checksum
/// verification of block nodes.
pub fn map<S: BlockSource, R: Bytes + ?Sized>(
    src: &S,
    root: &R,
    lblk: u32,
    refs: &BlockRefs<'_>,
    block_size: u32,
    inode_seed: Option<u32>,
) -> Result<Mapping> {
    check_root(root, refs)?;
    map_checked_root(src, root, lblk, refs, block_size, inode_seed)
}

/// [`map`] for a root that already passed [`check_root`] with the same
/// `refs` (the kernel checks it once, when it reads the inode; the root
/// does not change while the inode is in memory).
///
/// Each block node is checked in two parts. Checksum and [`validate`]
/// depend on the block's bytes only (and the mount's `refs`): they run
/// once per read of the block from the device, and the source's verified
/// bit remembers them. [`check_span`] and the depth depend on the index
/// entry the walk came through: they run on every walk, at the price of
/// reading the node's header and two entries. A block whose bytes passed
/// under one parent is thus never trusted to fit another.
pub fn map_checked_root<S: BlockSource, R: Bytes + ?Sized>(
    src: &S,
    root: &R,
    lblk: u32,
    refs: &BlockRefs<'_>,
    block_size: u32,
    inode_seed: Option<u32>,
) -> Result<Mapping> {
    let h = header(root, NodeKind::Root, None)?;
    let mut st = step_validated(root, &h, lblk, ROOT_LIMIT)?;
    let mut depth = h.depth;
    // Each level descends exactly once: at most MAX_DEPTH iterations.
    while let Step::Descend {
        child,
        first,
        limit,
    } = st
    {
        let want = depth.checked_sub(1).ok_or(Error::Corrupt {
            what: "extent header: eh_depth",
            value: 0,
        })?;
        let blk = src.read(child)?;
        let node = &blk;
        let h = header(node, NodeKind::Block { block_size }, Some(want))?;
        if !src.is_verified(&blk) {
            if let Some(seed) = inode_seed {
                verify_block_csum(node, &h, seed)?;
            }
            validate(node, &h, refs)?;
            src.set_verified(&blk);
        }
        check_span(node, &h, Some(first), limit)?;
        st = step_validated(node, &h, lblk, limit)?;
        depth = want;
    }
    match st {
        Step::Done(m) => Ok(m),
        Step::Descend { .. } => Err(Error::Corrupt {
            what: "extent tree",
            value: lblk.into(),
        }),
    }
}

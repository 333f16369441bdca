//! Changing extent trees: inserting mappings, removing ranges (truncate and
//! punch), converting unwritten extents to written, and finding the
//! extents around a logical block (the allocator's goal).
//!
//! The read side ([`super::extent`]) parses nodes; this module rewrites
//! them. Nodes are reached through a [`NodeStore`] the caller implements
//! (the kernel's journalled buffers, a test's map of blocks), one node at a
//! time, and never copied whole: entries moving between nodes go through a
//! small chunk on the stack, and a walk from the root to a leaf is a fixed
//! array of at most six levels. Nothing allocates.
//!
//! Every node this module reaches is checked as the read side checks it
//! (header, checksum, [`super::extent::validate`],
//! [`super::extent::check_span`]) before anything in it is trusted, and
//! every block node it writes leaves with its header and, when a checksum
//! seed is given, its checksum tail up to date. Index keys stay equal to
//! the first logical block of the subtree they point to, which ext4 (and
//! the read side) require.
//!
//! The shapes follow ext4's: a full root moves its entries into a new block
//! and becomes a one-entry index (the tree grows by one level at the top);
//! a full leaf splits at the insertion point, full index nodes above it
//! split the same way up to the first node with room; nodes that become
//! empty on removal are freed and their index entries removed; a tree that
//! becomes empty is reset to an empty leaf in the root.

use super::bytes::{put_le16 as put16, put_le32 as put32, Bytes};
use super::extent::{
    check_span, header, index_entry, leaf_entry, validate, verify_block_csum, Extent, Header,
    NodeKind, EXTENT_MAGIC, INIT_MAX_LEN, MAX_DEPTH,
};
use super::syszone::BlockRefs;
use super::{Error, Result};

/// Longest unwritten extent (`ee_len` above 32768 marks unwritten extents,
/// so one block less than [`INIT_MAX_LEN`]).
pub const UNWRITTEN_MAX_LEN: u32 = INIT_MAX_LEN as u32 - 1;
/// Bytes of the root, the inode's `i_block`.
pub const ROOT_SIZE: usize = 60;
/// Entries the root holds.
pub const ROOT_MAX: u16 = ((ROOT_SIZE - HEADER) / ENTRY) as u16;

const HEADER: usize = 12;
const ENTRY: usize = 12;
/// Levels of a walk: the root and up to [`MAX_DEPTH`] levels of blocks.
const LEVELS: usize = MAX_DEPTH as usize + 1;
/// Entries moved between nodes at a time through the stack.
const CHUNK: usize = 32;
/// Extents removed from one leaf per walk.
const BATCH: usize = 16;
/// Logical blocks a tree covers: the 32-bit block space.
const SPACE: u64 = 1 << 32;
/// Physical block numbers are 48 bits wide.
const PBLK_LIMIT: u64 = 1 << 48;

/// Access to the blocks of an extent tree, implemented by the caller: in
/// the kernel, journalled buffers (write access and dirtying around
/// [`modify`](NodeStore::modify), a fresh block from the allocator for
/// [`alloc_node`](NodeStore::alloc_node)); on the host, a map of blocks or
/// an image file.
///
/// Every closure is handed exactly one block of the filesystem's block
/// size; the tree never holds two blocks at once. Reads go through
/// [`Bytes`], as on the read side (buffer-cache memory need not be lent out
/// as a slice); writes get the block as `&mut [u8]`.
pub trait NodeStore {
    /// A block's bytes as [`read`](NodeStore::read) lends them.
    type Node: Bytes + ?Sized;
    /// Runs `f` on the bytes of block `pblk`.
    fn read<R>(&mut self, pblk: u64, f: impl FnOnce(&Self::Node) -> Result<R>) -> Result<R>;
    /// Runs `f` on the bytes of block `pblk`, which the store writes back
    /// (marks dirty) afterwards. The tree has already checked the block
    /// with [`read`](NodeStore::read) or got it from
    /// [`alloc_node`](NodeStore::alloc_node).
    fn modify<R>(&mut self, pblk: u64, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R>;
    /// Allocates a block for a new node, near `goal` if possible. The tree
    /// writes all of its bytes before the node is linked in.
    fn alloc_node(&mut self, goal: u64) -> Result<u64>;
    /// Frees a node block that is no longer part of the tree.
    fn free_node(&mut self, pblk: u64) -> Result<()>;
    /// Frees `len` data blocks from `pblk` that the tree no longer maps.
    fn free_data(&mut self, pblk: u64, len: u32) -> Result<()>;

    /// Whether block `pblk` already passed the checks that depend on its
    /// bytes alone (checksum and [`super::extent::validate`]) since the
    /// store read it from the device (the kernel's buffer verified bit;
    /// none by default). Blocks this module writes stay valid, so a bit
    /// set before a [`modify`](NodeStore::modify) stays true after it; the
    /// store must forget it when the block is freed or written by anyone
    /// else.
    fn is_verified(&mut self, _pblk: u64) -> bool {
        false
    }

    /// Records that block `pblk` passed those checks.
    fn set_verified(&mut self, _pblk: u64) {}
}

/// What a tree needs to know about its filesystem and inode.
#[derive(Debug, Clone, Copy)]
pub struct TreeParams<'z> {
    /// The filesystem's block size (the size of every node block).
    pub block_size: u32,
    /// The inode's checksum seed (`metadata_csum`), as for
    /// [`super::extent::verify_block_csum`]; `None` without checksums.
    pub csum_seed: Option<u32>,
    /// The block numbers a tree may name.
    pub refs: BlockRefs<'z>,
}

/// The extents on either side of a logical block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Around {
    /// The last extent that ends at or before the block.
    pub before: Option<Extent>,
    /// The extent holding the block, or else the first one after it.
    pub at_or_after: Option<Extent>,
}

impl Around {
    /// Where to look for a free physical block for logical block `lblk`:
    /// in line with the extent before it (its physical start plus the
    /// logical distance), or else with the extent after it; `None` for an
    /// empty tree.
    pub fn goal(&self, lblk: u32) -> Option<u64> {
        if let Some(b) = self.before {
            return Some(
                b.pblk
                    .saturating_add(u64::from(lblk.saturating_sub(b.lblk))),
            );
        }
        let a = self.at_or_after?;
        Some(
            a.pblk
                .saturating_sub(u64::from(a.lblk.saturating_sub(lblk)))
                .max(1),
        )
    }
}

/// Entries a block node holds: `(block_size - 12) / 12`, which leaves
/// room for the 4-byte checksum tail after them.
pub fn block_capacity(block_size: u32) -> u16 {
    let n = (block_size as usize).saturating_sub(HEADER) / ENTRY;
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Writes an empty tree into a root: a leaf of depth 0 without entries
/// (the generation is kept).
pub fn init_root(root: &mut [u8; ROOT_SIZE]) -> Result<()> {
    put_header(
        root,
        Header {
            entries: 0,
            max: ROOT_MAX,
            depth: 0,
        },
    )?;
    root.get_mut(HEADER..).ok_or(Error::Truncated)?.fill(0);
    Ok(())
}

/// Writes a tree of one extent into a root: logical block 0 mapped to
/// the one block `pblk` (a new directory's or symlink's first block).
pub fn root_with_extent(root: &mut [u8; ROOT_SIZE], pblk: u64) -> Result<()> {
    if pblk >= PBLK_LIMIT {
        return Err(Error::Corrupt {
            what: "extent: physical block",
            value: pblk,
        });
    }
    init_root(root)?;
    put_extent(
        root,
        0,
        &Extent {
            lblk: 0,
            len: 1,
            pblk,
            unwritten: false,
        },
    )?;
    put_header(
        root,
        Header {
            entries: 1,
            max: ROOT_MAX,
            depth: 0,
        },
    )
}

fn entry_off(i: usize) -> Result<usize> {
    i.checked_mul(ENTRY)
        .and_then(|o| o.checked_add(HEADER))
        .ok_or(Error::Truncated)
}

/// Writes magic, entries, max and depth (the generation is left alone).
fn put_header(b: &mut [u8], h: Header) -> Result<()> {
    put16(b, 0, EXTENT_MAGIC)?;
    put16(b, 2, h.entries)?;
    put16(b, 4, h.max)?;
    put16(b, 6, h.depth)
}

fn set_entries(b: &mut [u8], n: usize) -> Result<()> {
    let n = u16::try_from(n).map_err(|_| Error::Truncated)?;
    put16(b, 2, n)
}

/// Writes extent `i` of a leaf.
fn put_extent(b: &mut [u8], i: usize, e: &Extent) -> Result<()> {
    let o = entry_off(i)?;
    let mut raw = u16::try_from(e.len).map_err(|_| Error::Truncated)?;
    if e.unwritten {
        raw = raw.checked_add(INIT_MAX_LEN).ok_or(Error::Truncated)?;
    }
    put32(b, o, e.lblk)?;
    put16(b, o + 4, raw)?;
    put16(b, o + 6, (e.pblk >> 32) as u16)?;
    put32(b, o + 8, e.pblk as u32)
}

/// Writes index entry `i`: the subtree from logical block `key` is in
/// block `child`.
fn put_index(b: &mut [u8], i: usize, key: u32, child: u64) -> Result<()> {
    let o = entry_off(i)?;
    put32(b, o, key)?;
    put32(b, o + 4, child as u32)?;
    put16(b, o + 8, (child >> 32) as u16)?;
    put16(b, o + 10, 0)
}

/// Moves the entries `from..n` of a node to `to..` (either way), inside
/// the first `room` entries of the node.
fn shift_entries(b: &mut [u8], from: usize, n: usize, to: usize, room: usize) -> Result<()> {
    let count = n.checked_sub(from).ok_or(Error::Truncated)?;
    let end = to.checked_add(count).ok_or(Error::Truncated)?;
    if n > room || end > room {
        return Err(Error::Truncated);
    }
    if count == 0 || from == to {
        return Ok(());
    }
    let lo = entry_off(from.min(to))?;
    let hi = entry_off(from.max(to) + count)?;
    let span = b.get_mut(lo..hi).ok_or(Error::Truncated)?;
    let bytes = count * ENTRY;
    if from < to {
        span.copy_within(0..bytes, (to - from) * ENTRY);
    } else {
        span.copy_within((from - to) * ENTRY..(from - to) * ENTRY + bytes, 0);
    }
    Ok(())
}

/// Recomputes the checksum tail of a block node after its `eh_max`
/// entries.
fn set_csum(b: &mut [u8], seed: u32) -> Result<()> {
    let max = usize::from(b.le16_at(4)?);
    let covered = entry_off(max)?;
    let crc = super::crc32c::crc32c(seed, b.get(..covered).ok_or(Error::Truncated)?);
    put32(b, covered, crc)
}

/// The number of entries among the first `n` whose first logical block is
/// at or before `lblk` (the entries of a checked node are in order).
fn count_at_or_before<B: Bytes + ?Sized>(b: &B, n: usize, lblk: u32) -> Result<usize> {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if b.le32_at(entry_off(mid)?)? <= lblk {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

fn first_key<B: Bytes + ?Sized>(b: &B) -> Result<u32> {
    b.le32_at(HEADER)
}

fn end_of(e: &Extent) -> u64 {
    u64::from(e.lblk) + u64::from(e.len)
}

fn max_len(unwritten: bool) -> u32 {
    if unwritten {
        UNWRITTEN_MAX_LEN
    } else {
        u32::from(INIT_MAX_LEN)
    }
}

/// Whether `b` continues `a` logically and physically, in the same state,
/// within the length limit of that state.
fn mergeable(a: &Extent, b: &Extent) -> bool {
    a.unwritten == b.unwritten
        && end_of(a) == u64::from(b.lblk)
        && a.pblk.checked_add(u64::from(a.len)) == Some(b.pblk)
        && a.len + b.len <= max_len(a.unwritten)
}

/// A node's bytes as read: the root's slice or a block from the store.
enum View<'x, N: ?Sized> {
    Root(&'x [u8]),
    Block(&'x N),
}

impl<N: Bytes + ?Sized> Bytes for View<'_, N> {
    fn size(&self) -> usize {
        match self {
            View::Root(r) => r.len(),
            View::Block(b) => b.size(),
        }
    }

    fn read_into(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        match self {
            View::Root(r) => r.read_into(off, dst),
            View::Block(b) => b.read_into(off, dst),
        }
    }

    fn crc32c_range(&self, crc: u32, off: usize, len: usize) -> Result<u32> {
        match self {
            View::Root(r) => r.crc32c_range(crc, off, len),
            View::Block(b) => b.crc32c_range(crc, off, len),
        }
    }

    fn array_at<const M: usize>(&self, off: usize) -> Result<[u8; M]> {
        match self {
            View::Root(r) => r.array_at(off),
            View::Block(b) => b.array_at(off),
        }
    }
}

/// A node: the root or a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Root,
    Block(u64),
}

/// One level of a walk from the root to a leaf.
#[derive(Debug, Clone, Copy)]
struct Level {
    at: At,
    /// In an index node, the entry the walk took; in a leaf, where an
    /// extent starting at the walk's block would go (the number of extents
    /// starting at or before it).
    idx: usize,
    /// Entries.
    n: usize,
    /// Capacity.
    max: usize,
    depth: u16,
    /// One past the last logical block the node may cover.
    limit: u64,
}

const NO_LEVEL: Level = Level {
    at: At::Root,
    idx: 0,
    n: 0,
    max: 0,
    depth: 0,
    limit: 0,
};

/// A walk from the root (level 0) to a leaf (level `len - 1`).
#[derive(Debug, Clone, Copy)]
struct Path {
    lv: [Level; LEVELS],
    len: usize,
}

impl Path {
    fn leaf_level(&self) -> usize {
        self.len.saturating_sub(1)
    }
    fn get(&self, j: usize) -> Result<Level> {
        self.lv.get(j).copied().ok_or(Error::Truncated)
    }
    fn leaf(&self) -> Result<Level> {
        self.get(self.leaf_level())
    }
}

/// One extent's worth of removal, gathered from a leaf before it changes.
#[derive(Debug, Clone, Copy)]
struct Cut {
    j: usize,
    e: Extent,
}

/// An extent tree: a root (`i_block`) and the blocks below it, changed in
/// place.
pub struct ExtentTree<'a, 'z, S: NodeStore> {
    store: &'a mut S,
    root: &'a mut [u8; ROOT_SIZE],
    p: TreeParams<'z>,
}

impl<'a, 'z, S: NodeStore> ExtentTree<'a, 'z, S> {
    /// The tree whose root is `root` (an inode's `i_block`, holding a
    /// valid root: [`init_root`] makes an empty one).
    pub fn new(store: &'a mut S, root: &'a mut [u8; ROOT_SIZE], p: TreeParams<'z>) -> Self {
        ExtentTree { store, root, p }
    }

    fn cap(&self) -> u16 {
        block_capacity(self.p.block_size)
    }

    fn rd<R>(&mut self, at: At, f: impl FnOnce(&View<'_, S::Node>) -> Result<R>) -> Result<R> {
        match at {
            At::Root => f(&View::Root(&self.root[..])),
            At::Block(b) => {
                let bs = self.p.block_size as usize;
                self.store.read(b, |d| {
                    if d.size() != bs {
                        return Err(Error::Truncated);
                    }
                    f(&View::Block(d))
                })
            }
        }
    }

    fn wr<R>(&mut self, at: At, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        match at {
            At::Root => f(&mut self.root[..]),
            At::Block(b) => {
                let bs = self.p.block_size as usize;
                let seed = self.p.csum_seed;
                self.store.modify(b, |d| {
                    if d.len() != bs {
                        return Err(Error::Truncated);
                    }
                    let r = f(d)?;
                    if let Some(s) = seed {
                        set_csum(d, s)?;
                    }
                    Ok(r)
                })
            }
        }
    }

    /// Reads and checks the root as a level of a walk to `lblk`.
    fn load_root(&mut self, lblk: u32) -> Result<Level> {
        let refs = self.p.refs;
        let h = header(&self.root[..], NodeKind::Root, None)?;
        validate(&self.root[..], &h, &refs)?;
        check_span(&self.root[..], &h, None, SPACE)?;
        level_of(&self.root[..], At::Root, &h, lblk, SPACE)
    }

    /// Reads and checks block `blk` reached through an index entry with
    /// key `first` and the following key (or the parent's limit) `limit`.
    fn load(&mut self, blk: u64, depth: u16, first: u32, limit: u64, lblk: u32) -> Result<Level> {
        let bs = self.p.block_size;
        let seed = self.p.csum_seed;
        let refs = self.p.refs;
        let verified = self.store.is_verified(blk);
        let l = self.rd(At::Block(blk), |b| {
            let h = header(b, NodeKind::Block { block_size: bs }, Some(depth))?;
            if !verified {
                if let Some(s) = seed {
                    verify_block_csum(b, &h, s)?;
                }
                validate(b, &h, &refs)?;
            }
            check_span(b, &h, Some(first), limit)?;
            level_of(b, At::Block(blk), &h, lblk, limit)
        })?;
        if !verified {
            self.store.set_verified(blk);
        }
        Ok(l)
    }

    /// The child of index entry `i` of level `l`, checked, as a level of a
    /// walk to `lblk`.
    fn child(&mut self, l: &Level, i: usize, lblk: u32) -> Result<Level> {
        let depth = l.depth.checked_sub(1).ok_or(Error::Truncated)?;
        let (n, limit) = (l.n, l.limit);
        let (first, child, next) = self.rd(l.at, |b| {
            let (first, child) = index_entry(b, i)?;
            let next = if i + 1 < n {
                u64::from(index_entry(b, i + 1)?.0)
            } else {
                limit
            };
            Ok((first, child, next))
        })?;
        self.load(child, depth, first, next, lblk)
    }

    /// Walks from the root to the leaf where `lblk` is or would be.
    fn find(&mut self, lblk: u32) -> Result<Path> {
        let mut p = Path {
            lv: [NO_LEVEL; LEVELS],
            len: 1,
        };
        let mut l = self.load_root(lblk)?;
        *p.lv.get_mut(0).ok_or(Error::Truncated)? = l;
        while l.depth > 0 {
            l = self.child(&l, l.idx, lblk)?;
            *p.lv.get_mut(p.len).ok_or(Error::Truncated)? = l;
            p.len += 1;
        }
        Ok(p)
    }

    fn extent_at(&mut self, at: At, i: usize) -> Result<Extent> {
        self.rd(at, |b| leaf_entry(b, i))
    }

    /// After the first key of the node at level `j` became `key`, sets the
    /// index entries above it that must equal it.
    fn correct_keys(&mut self, p: &Path, j: usize, key: u32) -> Result<()> {
        let mut j = j;
        while j > 0 {
            let parent = p.get(j - 1)?;
            self.wr(parent.at, |b| put32(b, entry_off(parent.idx)?, key))?;
            if parent.idx != 0 {
                break;
            }
            j -= 1;
        }
        Ok(())
    }

    /// Maps `e.len` logical blocks from `e.lblk` to physical blocks from
    /// `e.pblk`. The range must not be mapped yet (an error otherwise,
    /// with the tree unchanged). The new extent is merged into a
    /// neighbour in the same leaf when it continues it logically and
    /// physically in the same state, within the length limits; otherwise
    /// it gets an entry of its own, splitting full nodes and growing the
    /// tree as needed (allocating nodes with
    /// [`NodeStore::alloc_node`]).
    pub fn insert(&mut self, e: Extent) -> Result<()> {
        if e.len == 0 || e.len > max_len(e.unwritten) || end_of(&e) > SPACE {
            return Err(Error::Unsupported {
                what: "extent insert: length",
                value: e.len.into(),
            });
        }
        if e.pblk.saturating_add(e.len.into()) > PBLK_LIMIT {
            return Err(Error::Unsupported {
                what: "extent insert: physical block",
                value: e.pblk,
            });
        }
        self.p
            .refs
            .check("extent insert: physical block", e.pblk, e.len.into())?;
        // Each round either inserts or makes room (a split or a new
        // level), after which the leaf found has room: two rounds in
        // practice, a few more if the store hands out nodes with less room.
        for _ in 0..2 * LEVELS + 2 {
            let p = self.find(e.lblk)?;
            if self.try_place(&p, &e)? {
                return Ok(());
            }
            let full = |l: &Level| l.n >= l.max;
            let mut k = None;
            for j in (0..p.leaf_level()).rev() {
                if !full(&p.get(j)?) {
                    k = Some(j);
                    break;
                }
            }
            match k {
                Some(k) => self.split(&p, k, e.lblk)?,
                None => self.grow()?,
            }
        }
        Err(Error::Corrupt {
            what: "extent insert: no room after splitting",
            value: e.lblk.into(),
        })
    }

    /// Puts `e` into the leaf of `p` if it merges or there is room;
    /// `false` if the leaf is full.
    fn try_place(&mut self, p: &Path, e: &Extent) -> Result<bool> {
        let leaf = p.leaf()?;
        let (pos, n) = (leaf.idx, leaf.n);
        let (prev, next) = self.rd(leaf.at, |b| {
            let prev = match pos.checked_sub(1) {
                Some(i) => Some(leaf_entry(b, i)?),
                None => None,
            };
            let next = if pos < n {
                Some(leaf_entry(b, pos)?)
            } else {
                None
            };
            Ok((prev, next))
        })?;
        let next_start = next.map_or(leaf.limit, |x| u64::from(x.lblk));
        if prev.is_some_and(|x| end_of(&x) > u64::from(e.lblk)) || end_of(e) > next_start {
            return Err(Error::Corrupt {
                what: "extent insert: range already mapped",
                value: e.lblk.into(),
            });
        }
        if let Some(pr) = prev.filter(|x| mergeable(x, e)) {
            let mut m = pr;
            m.len += e.len;
            let absorb = next.filter(|x| mergeable(&m, x));
            if let Some(x) = absorb {
                m.len += x.len;
            }
            let max = leaf.max;
            self.wr(leaf.at, |b| {
                put_extent(b, pos - 1, &m)?;
                if absorb.is_some() {
                    shift_entries(b, pos + 1, n, pos, max)?;
                    set_entries(b, n - 1)?;
                }
                Ok(())
            })?;
            return Ok(true);
        }
        if let Some(nx) = next.filter(|x| mergeable(e, x)) {
            let mut m = *e;
            m.len += nx.len;
            self.wr(leaf.at, |b| put_extent(b, pos, &m))?;
            if pos == 0 {
                self.correct_keys(p, p.leaf_level(), m.lblk)?;
            }
            return Ok(true);
        }
        if n >= leaf.max {
            return Ok(false);
        }
        let max = leaf.max;
        self.wr(leaf.at, |b| {
            shift_entries(b, pos, n, pos + 1, max)?;
            put_extent(b, pos, e)?;
            set_entries(b, n + 1)
        })?;
        if pos == 0 {
            self.correct_keys(p, p.leaf_level(), e.lblk)?;
        }
        Ok(true)
    }

    /// Fills a freshly allocated block with an empty node.
    fn init_block(&mut self, blk: u64, depth: u16) -> Result<()> {
        let max = self.cap();
        self.wr(At::Block(blk), |b| {
            b.fill(0);
            put_header(
                b,
                Header {
                    entries: 0,
                    max,
                    depth,
                },
            )
        })
    }

    /// Copies `count` entries from entry `from` of `src` to entry `to` of
    /// `dst` through the stack, a chunk at a time.
    fn copy_entries(
        &mut self,
        src: At,
        from: usize,
        dst: At,
        to: usize,
        count: usize,
    ) -> Result<()> {
        let mut buf = [0u8; CHUNK * ENTRY];
        let mut done = 0;
        while done < count {
            let k = (count - done).min(CHUNK);
            let bytes = k * ENTRY;
            let so = entry_off(from + done)?;
            let dof = entry_off(to + done)?;
            self.rd(src, |b| {
                b.read_into(so, buf.get_mut(..bytes).ok_or(Error::Truncated)?)
            })?;
            self.wr(dst, |b| {
                b.get_mut(dof..dof + bytes)
                    .ok_or(Error::Truncated)?
                    .copy_from_slice(buf.get(..bytes).ok_or(Error::Truncated)?);
                Ok(())
            })?;
            done += k;
        }
        Ok(())
    }

    /// Splits the full nodes of `p` below level `k` (which has room) so that
    /// the leaf where `lblk` goes gets room: each splits after the walk's
    /// entry, the part after it moving to a new node, and level `k` gets an
    /// index entry for the new node below it.
    fn split(&mut self, p: &Path, k: usize, lblk: u32) -> Result<()> {
        let leaf_j = p.leaf_level();
        let leaf = p.leaf()?;
        let goal = match leaf.at {
            At::Block(b) => b,
            At::Root => 0,
        };
        // Allocate every node first, so that running out of space leaves
        // the tree as it was.
        let mut new = [0u64; LEVELS];
        for j in k + 1..=leaf_j {
            match self.store.alloc_node(goal) {
                Ok(b) => *new.get_mut(j).ok_or(Error::Truncated)? = b,
                Err(err) => {
                    for &b in new.get(k + 1..j).unwrap_or(&[]) {
                        let _ = self.store.free_node(b);
                    }
                    return Err(err);
                }
            }
        }
        let nb = |j: usize| new.get(j).copied().ok_or(Error::Truncated);
        // The leaf: the extents from the insertion point on move (all but
        // the first when inserting in front, so the old leaf keeps its
        // first key).
        let pos = leaf.idx;
        let at = if pos == 0 && leaf.n > 1 { 1 } else { pos };
        let border = if at < leaf.n {
            self.extent_at(leaf.at, at)?.lblk
        } else {
            lblk
        };
        let moved = leaf.n - at;
        let nl = nb(leaf_j)?;
        self.init_block(nl, 0)?;
        self.copy_entries(leaf.at, at, At::Block(nl), 0, moved)?;
        self.wr(At::Block(nl), |b| set_entries(b, moved))?;
        self.wr(leaf.at, |b| set_entries(b, at))?;
        // The index nodes between: the new node starts with the entry for
        // the new node below, followed by the entries after the walk's.
        for j in (k + 1..leaf_j).rev() {
            let l = p.get(j)?;
            let ni = nb(j)?;
            let below = nb(j + 1)?;
            let from = l.idx + 1;
            let moved = l.n.checked_sub(from).ok_or(Error::Truncated)?;
            self.init_block(ni, l.depth)?;
            self.wr(At::Block(ni), |b| put_index(b, 0, border, below))?;
            self.copy_entries(l.at, from, At::Block(ni), 1, moved)?;
            self.wr(At::Block(ni), |b| set_entries(b, moved + 1))?;
            self.wr(l.at, |b| set_entries(b, from))?;
        }
        // Level k takes the index entry of the new node below it.
        let l = p.get(k)?;
        let below = nb(k + 1)?;
        let (i, n, max) = (l.idx + 1, l.n, l.max);
        self.wr(l.at, |b| {
            shift_entries(b, i, n, i + 1, max)?;
            put_index(b, i, border, below)?;
            set_entries(b, n + 1)
        })
    }

    /// Moves the root's entries into a new block and makes the root a
    /// one-entry index pointing to it: the tree grows by one level.
    fn grow(&mut self) -> Result<()> {
        let h = header(&self.root[..], NodeKind::Root, None)?;
        if h.depth >= MAX_DEPTH {
            return Err(Error::Unsupported {
                what: "extent tree depth",
                value: u64::from(h.depth) + 1,
            });
        }
        let blk = self.store.alloc_node(0)?;
        let n = usize::from(h.entries);
        self.init_block(blk, h.depth)?;
        self.copy_entries(At::Root, 0, At::Block(blk), 0, n)?;
        self.wr(At::Block(blk), |b| set_entries(b, n))?;
        let key = if n > 0 { first_key(&self.root[..])? } else { 0 };
        let root = &mut self.root[..];
        put_header(
            root,
            Header {
                entries: 1,
                max: ROOT_MAX,
                depth: h.depth + 1,
            },
        )?;
        root.get_mut(HEADER..).ok_or(Error::Truncated)?.fill(0);
        put_index(root, 0, key, blk)
    }

    /// Unmaps logical blocks `from..to` (`to` up to 2^32: truncating to
    /// `from` is `remove(from, 1 << 32)`), handing every data block range
    /// removed to [`NodeStore::free_data`] and every node that becomes
    /// empty to [`NodeStore::free_node`]. Punching a hole inside one extent
    /// splits it in two, which may need a new node.
    pub fn remove(&mut self, from: u32, to: u64) -> Result<()> {
        self.remove_inner(from, to.min(SPACE), true)
    }

    fn remove_inner(&mut self, from: u32, mut to: u64, free: bool) -> Result<()> {
        let from64 = u64::from(from);
        // Each round removes at least one extent or ends.
        while to > from64 {
            let last = (to - 1) as u32;
            let p = self.find(last)?;
            let lj = p.leaf_level();
            let leaf = p.leaf()?;
            if leaf.n == 0 {
                if leaf.at == At::Root {
                    return Ok(());
                }
                // A leaf left empty by an earlier failure: drop it.
                self.drop_node(&p, lj)?;
                continue;
            }
            let Some(top) = leaf.idx.checked_sub(1) else {
                // Nothing starts at or before `last`: nothing is left
                // before `to` (the walk took the first entries).
                return Ok(());
            };
            let mut cuts = [Cut {
                j: 0,
                e: Extent {
                    lblk: 0,
                    len: 0,
                    pblk: 0,
                    unwritten: false,
                },
            }; BATCH];
            let mut nc = 0;
            self.rd(leaf.at, |b| {
                let mut j = top;
                while nc < BATCH {
                    let e = leaf_entry(b, j)?;
                    if end_of(&e) <= from64 {
                        break;
                    }
                    *cuts.get_mut(nc).ok_or(Error::Truncated)? = Cut { j, e };
                    nc += 1;
                    if j == 0 {
                        break;
                    }
                    j -= 1;
                }
                Ok(())
            })?;
            let Some(hi) = cuts.first().copied().filter(|_| nc > 0) else {
                return Ok(());
            };
            if u64::from(hi.e.lblk) < from64 && end_of(&hi.e) > to {
                return self.punch_inside(&p, hi, from, to, free);
            }
            let lo = cuts.get(nc - 1).copied().ok_or(Error::Truncated)?;
            // What stays of the highest and the lowest extent cut.
            let head_kept = end_of(&hi.e) > to;
            let tail_kept = u64::from(lo.e.lblk) < from64;
            let rm_hi = if head_kept { hi.j } else { hi.j + 1 };
            let rm_lo = if tail_kept { lo.j + 1 } else { lo.j };
            let (n, max) = (leaf.n, leaf.max);
            let old_first = self.rd(leaf.at, |b| first_key(b))?;
            let new_n = n - (rm_hi - rm_lo);
            let new_first = self.wr(leaf.at, |b| {
                if head_kept {
                    let cut = (to - u64::from(hi.e.lblk)) as u32;
                    let kept = Extent {
                        lblk: to as u32,
                        len: hi.e.len - cut,
                        pblk: hi.e.pblk + u64::from(cut),
                        unwritten: hi.e.unwritten,
                    };
                    put_extent(b, hi.j, &kept)?;
                }
                if tail_kept {
                    let kept = Extent {
                        len: from - lo.e.lblk,
                        ..lo.e
                    };
                    put_extent(b, lo.j, &kept)?;
                }
                shift_entries(b, rm_hi, n, rm_lo, max)?;
                set_entries(b, new_n)?;
                if new_n > 0 {
                    first_key(b).map(Some)
                } else {
                    Ok(None)
                }
            })?;
            match new_first {
                None if leaf.at != At::Root => self.drop_node(&p, lj)?,
                Some(k) if k != old_first => self.correct_keys(&p, lj, k)?,
                _ => {}
            }
            if free {
                for c in cuts.get(..nc).unwrap_or(&[]) {
                    let s = u64::from(c.e.lblk).max(from64);
                    let e = end_of(&c.e).min(to);
                    let off = s - u64::from(c.e.lblk);
                    self.store.free_data(c.e.pblk + off, (e - s) as u32)?;
                }
            }
            to = u64::from(lo.e.lblk);
        }
        Ok(())
    }

    /// Removes `from..to` from the middle of one extent, leaving its two
    /// ends as two extents.
    fn punch_inside(&mut self, p: &Path, c: Cut, from: u32, to: u64, free: bool) -> Result<()> {
        let leaf = p.leaf()?;
        let e = c.e;
        let front = Extent {
            len: from - e.lblk,
            ..e
        };
        let skip = (to - u64::from(e.lblk)) as u32;
        let back = Extent {
            lblk: to as u32,
            len: e.len - skip,
            pblk: e.pblk + u64::from(skip),
            unwritten: e.unwritten,
        };
        self.wr(leaf.at, |b| put_extent(b, c.j, &front))?;
        if let Err(err) = self.insert(back) {
            // Put the extent back whole; the insert changed nothing.
            let q = self.find(e.lblk)?;
            let l = q.leaf()?;
            let i = l.idx.checked_sub(1).ok_or(err)?;
            self.wr(l.at, |b| put_extent(b, i, &e))?;
            return Err(err);
        }
        if free {
            self.store.free_data(
                e.pblk + u64::from(from - e.lblk),
                (to - u64::from(from)) as u32,
            )?;
        }
        Ok(())
    }

    /// Frees the empty node at level `j` of `p` and removes its index
    /// entry, and so on up while nodes become empty; an empty root becomes
    /// an empty leaf.
    fn drop_node(&mut self, p: &Path, j: usize) -> Result<()> {
        let mut j = j;
        loop {
            let l = p.get(j)?;
            if let At::Block(b) = l.at {
                self.store.free_node(b)?;
            }
            let Some(pj) = j.checked_sub(1) else {
                return Ok(());
            };
            let parent = p.get(pj)?;
            let (i, n, max) = (parent.idx, parent.n, parent.max);
            let new_n = n.checked_sub(1).ok_or(Error::Truncated)?;
            let new_first = self.wr(parent.at, |b| {
                shift_entries(b, i + 1, n, i, max)?;
                set_entries(b, new_n)?;
                if new_n > 0 {
                    first_key(b).map(Some)
                } else {
                    Ok(None)
                }
            })?;
            match new_first {
                Some(k) => {
                    if i == 0 {
                        self.correct_keys(p, pj, k)?;
                    }
                    return Ok(());
                }
                None if parent.at == At::Root => return init_root(self.root),
                None => j = pj,
            }
        }
    }

    /// Marks `len` blocks from `lblk`, which must lie inside one unwritten
    /// extent, as written: the extent is split into up to three (the
    /// unwritten parts before and after stay), and the written part merges
    /// with a written extent in the same leaf that it continues (before
    /// it, or on both sides when the whole extent is converted). May allocate
    /// nodes; on failure the tree is left valid, but blocks of the range
    /// may be left unmapped.
    pub fn convert_to_written(&mut self, lblk: u32, len: u32) -> Result<()> {
        let end = u64::from(lblk) + u64::from(len);
        let p = self.find(lblk)?;
        let leaf = p.leaf()?;
        let bad = Error::Corrupt {
            what: "extent convert: range not inside one unwritten extent",
            value: lblk.into(),
        };
        let i = leaf.idx.checked_sub(1).ok_or(bad)?;
        let e = self.extent_at(leaf.at, i)?;
        if len == 0 || !e.unwritten || end > end_of(&e) {
            return Err(bad);
        }
        let off = lblk - e.lblk;
        let a = Extent { len: off, ..e };
        let b = Extent {
            lblk,
            len,
            pblk: e.pblk + u64::from(off),
            unwritten: false,
        };
        let c = Extent {
            lblk: end as u32,
            len: (end_of(&e) - end) as u32,
            pblk: b.pblk + u64::from(len),
            unwritten: true,
        };
        if a.len == 0 && c.len == 0 {
            // The whole extent: written in place, then joined with written
            // neighbours in the same leaf it now continues.
            let n = leaf.n;
            let max = leaf.max;
            return self.wr(leaf.at, |blk| {
                put_extent(blk, i, &b)?;
                merge_neighbours(blk, n, max, i)
            });
        }
        // The entry keeps the first unwritten part; the others are
        // inserted.
        let keep = if a.len > 0 { a } else { c };
        self.wr(leaf.at, |blk| put_extent(blk, i, &keep))?;
        if i == 0 && keep.lblk != e.lblk {
            self.correct_keys(&p, p.leaf_level(), keep.lblk)?;
        }
        self.insert(b)?;
        if a.len > 0 && c.len > 0 {
            self.insert(c)?;
        }
        Ok(())
    }

    /// The extents around logical block `lblk`: the one holding it or the
    /// next, and the last one before it.
    pub fn around(&mut self, lblk: u32) -> Result<Around> {
        let p = self.find(lblk)?;
        let leaf = p.leaf()?;
        let mut r = Around::default();
        let i = leaf.idx;
        let (before_i, after_i) = match i.checked_sub(1) {
            Some(j) => {
                let e = self.extent_at(leaf.at, j)?;
                if end_of(&e) > u64::from(lblk) {
                    r.at_or_after = Some(e);
                    (j.checked_sub(1), None)
                } else {
                    r.before = Some(e);
                    (None, Some(i))
                }
            }
            None => (None, Some(0)),
        };
        match before_i {
            Some(j) => r.before = Some(self.extent_at(leaf.at, j)?),
            None if r.before.is_none() => r.before = self.edge(&p, false)?,
            None => {}
        }
        if let Some(j) = after_i {
            r.at_or_after = if j < leaf.n {
                Some(self.extent_at(leaf.at, j)?)
            } else {
                self.edge(&p, true)?
            };
        }
        Ok(r)
    }

    /// The first extent of the leaf after the leaf of `p` (`next`), or the
    /// last extent of the leaf before it.
    fn edge(&mut self, p: &Path, next: bool) -> Result<Option<Extent>> {
        // The deepest index level with a sibling entry on that side.
        let mut found = None;
        for j in (0..p.leaf_level()).rev() {
            let l = p.get(j)?;
            let ok = if next { l.idx + 1 < l.n } else { l.idx > 0 };
            if ok {
                found = Some((l, if next { l.idx + 1 } else { l.idx - 1 }));
                break;
            }
        }
        let Some((mut l, mut i)) = found else {
            return Ok(None);
        };
        loop {
            // The walk's block decides nothing here: `idx` is recomputed.
            l = self.child(&l, i, 0)?;
            if l.n == 0 {
                return Ok(None);
            }
            i = if next { 0 } else { l.n - 1 };
            if l.depth == 0 {
                return Ok(Some(self.extent_at(l.at, i)?));
            }
        }
    }
}

/// Joins extent `i` of a leaf of `n` entries with the one before and the
/// one after it where they merge. The first entry keeps its first block.
fn merge_neighbours(b: &mut [u8], n: usize, max: usize, i: usize) -> Result<()> {
    let mut n = n;
    let mut i = i;
    let mut cur = leaf_entry(b, i)?;
    if let Some(j) = i.checked_sub(1) {
        let prev = leaf_entry(b, j)?;
        if mergeable(&prev, &cur) {
            cur = Extent {
                len: prev.len + cur.len,
                ..prev
            };
            put_extent(b, j, &cur)?;
            shift_entries(b, i + 1, n, i, max)?;
            n -= 1;
            i = j;
        }
    }
    if i + 1 < n {
        let next = leaf_entry(b, i + 1)?;
        if mergeable(&cur, &next) {
            cur.len += next.len;
            put_extent(b, i, &cur)?;
            shift_entries(b, i + 2, n, i + 1, max)?;
            n -= 1;
        }
    }
    set_entries(b, n)
}

/// The level of a walk to `lblk` at a checked node.
fn level_of<B: Bytes + ?Sized>(b: &B, at: At, h: &Header, lblk: u32, limit: u64) -> Result<Level> {
    let n = usize::from(h.entries);
    let c = count_at_or_before(b, n, lblk)?;
    let idx = if h.depth > 0 { c.saturating_sub(1) } else { c };
    Ok(Level {
        at,
        idx,
        n,
        max: usize::from(h.max),
        depth: h.depth,
        limit,
    })
}

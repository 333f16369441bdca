//! Extent tree changes (rust/disk/extent_tree.rs) against a model: every
//! tree written is walked with the read side (rust/disk/extent.rs) and
//! must pass all its checks and map exactly what the model maps; every
//! node block allocated is in the tree or freed once, every data block
//! freed once.

mod common;

use common::*;
use ext4disk::disk::extent::{
    self, check_root, check_span, header, index_entry, leaf_entry, validate, verify_block_csum,
    BlockSource, Extent, Mapping, NodeKind,
};
use ext4disk::disk::extent_tree::{
    block_capacity, init_root, ExtentTree, NodeStore, TreeParams, ROOT_SIZE,
};
use ext4disk::disk::syszone::BlockRefs;
use ext4disk::{Error, Result};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Node blocks are numbered from here; data blocks below.
const NODE_BASE: u64 = 1 << 36;
const BLOCKS: u64 = 1 << 37;

/// Blocks in memory, with an account of every allocation and free.
struct MemStore {
    bs: usize,
    blocks: HashMap<u64, Vec<u8>>,
    next_node: u64,
    /// Nodes allocated and not freed.
    live_nodes: HashSet<u64>,
    nodes_allocated: u64,
    nodes_freed: u64,
    /// Data blocks the file owns (handed out by the test, not yet freed).
    owned: HashSet<u64>,
    /// Data blocks freed.
    freed_data: u64,
    /// Fail the next allocations.
    fail_alloc: bool,
    /// Damaged trees: unknown blocks are I/O errors, frees are not
    /// accounted.
    lenient: bool,
    /// Remember verified blocks (as the kernel's buffer bit does).
    cache: bool,
    verified: HashSet<u64>,
}

impl MemStore {
    fn new(bs: usize) -> MemStore {
        MemStore {
            bs,
            blocks: HashMap::new(),
            next_node: NODE_BASE,
            live_nodes: HashSet::new(),
            nodes_allocated: 0,
            nodes_freed: 0,
            owned: HashSet::new(),
            freed_data: 0,
            fail_alloc: false,
            lenient: false,
            cache: false,
            verified: HashSet::new(),
        }
    }
}

impl NodeStore for MemStore {
    type Node = [u8];
    fn read<R>(&mut self, pblk: u64, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        assert!(
            self.lenient || self.live_nodes.contains(&pblk),
            "read of a dead node {pblk}"
        );
        f(self.blocks.get(&pblk).ok_or(Error::Io { block: pblk })?)
    }
    fn modify<R>(&mut self, pblk: u64, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        assert!(
            self.lenient || self.live_nodes.contains(&pblk),
            "write to a dead node {pblk}"
        );
        f(self
            .blocks
            .get_mut(&pblk)
            .ok_or(Error::Io { block: pblk })?)
    }
    fn alloc_node(&mut self, _goal: u64) -> Result<u64> {
        if self.fail_alloc {
            return Err(Error::Unsupported {
                what: "test: no space",
                value: 0,
            });
        }
        let b = self.next_node;
        self.next_node += 1;
        assert!(!self.verified.contains(&b));
        // Garbage, as a reused block would hold: the tree must write it all.
        self.blocks.insert(b, vec![0xA5; self.bs]);
        self.live_nodes.insert(b);
        self.nodes_allocated += 1;
        Ok(b)
    }
    fn free_node(&mut self, pblk: u64) -> Result<()> {
        if self.lenient {
            self.live_nodes.remove(&pblk);
            return Ok(());
        }
        assert!(
            self.live_nodes.remove(&pblk),
            "node {pblk} freed twice or never allocated"
        );
        self.blocks.remove(&pblk);
        self.verified.remove(&pblk);
        self.nodes_freed += 1;
        Ok(())
    }
    fn free_data(&mut self, pblk: u64, len: u32) -> Result<()> {
        assert!(len > 0);
        if self.lenient {
            return Ok(());
        }
        for b in pblk..pblk + u64::from(len) {
            assert!(
                self.owned.remove(&b),
                "data block {b} freed twice or not the file's"
            );
        }
        self.freed_data += u64::from(len);
        Ok(())
    }
    fn is_verified(&mut self, pblk: u64) -> bool {
        self.cache && self.verified.contains(&pblk)
    }
    fn set_verified(&mut self, pblk: u64) {
        if self.cache {
            self.verified.insert(pblk);
        }
    }
}

/// The store as the read side's block source.
struct Src<'a>(RefCell<&'a MemStore>);

impl BlockSource for Src<'_> {
    type Block = Vec<u8>;
    fn read(&self, pblk: u64) -> Result<Vec<u8>> {
        self.0
            .borrow()
            .blocks
            .get(&pblk)
            .cloned()
            .ok_or(Error::Io { block: pblk })
    }
}

/// lblk -> (pblk, unwritten).
type Model = BTreeMap<u32, (u64, bool)>;

struct Fixture {
    store: MemStore,
    root: [u8; ROOT_SIZE],
    seed: Option<u32>,
    bs: u32,
}

impl Fixture {
    fn new(bs: u32, seed: Option<u32>) -> Fixture {
        let mut root = [0u8; ROOT_SIZE];
        // A generation the tree must keep.
        root[8..12].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        init_root(&mut root).unwrap();
        Fixture {
            store: MemStore::new(bs as usize),
            root,
            seed,
            bs,
        }
    }
    fn params(&self) -> TreeParams<'static> {
        TreeParams {
            block_size: self.bs,
            csum_seed: self.seed,
            refs: BlockRefs::bounds(BLOCKS),
        }
    }
    fn tree(&mut self) -> ExtentTree<'_, 'static, MemStore> {
        let p = self.params();
        ExtentTree::new(&mut self.store, &mut self.root, p)
    }
    fn insert(&mut self, lblk: u32, len: u32, pblk: u64, unwritten: bool) -> Result<()> {
        self.tree().insert(Extent {
            lblk,
            len,
            pblk,
            unwritten,
        })
    }

    /// Walks the whole tree with the read side: every node must pass its
    /// checks. Returns the extents in order, the node blocks and the depth.
    fn walk(&self) -> (Vec<Extent>, Vec<u64>, u16) {
        let refs = BlockRefs::bounds(BLOCKS);
        let h = check_root(&self.root[..], &refs).expect("root");
        assert_eq!(
            &self.root[8..12],
            &0x1234_5678u32.to_le_bytes(),
            "generation"
        );
        let mut exts = Vec::new();
        let mut nodes = Vec::new();
        self.walk_node(&self.root[..], h, 1 << 32, &mut exts, &mut nodes);
        (exts, nodes, h.depth)
    }

    fn walk_node(
        &self,
        node: &[u8],
        h: extent::Header,
        limit: u64,
        exts: &mut Vec<Extent>,
        nodes: &mut Vec<u64>,
    ) {
        let n = h.entries as usize;
        if h.depth == 0 {
            for i in 0..n {
                exts.push(leaf_entry(node, i).unwrap());
            }
            return;
        }
        let refs = BlockRefs::bounds(BLOCKS);
        for i in 0..n {
            let (first, child) = index_entry(node, i).unwrap();
            let next = if i + 1 < n {
                index_entry(node, i + 1).unwrap().0 as u64
            } else {
                limit
            };
            let b = self.store.blocks.get(&child).expect("child block exists");
            assert!(self.store.live_nodes.contains(&child));
            nodes.push(child);
            let ch = header(
                b,
                NodeKind::Block {
                    block_size: self.bs,
                },
                Some(h.depth - 1),
            )
            .expect("child header");
            assert_eq!(ch.max, block_capacity(self.bs));
            assert_eq!(&b[8..12], &[0; 4], "generation of a block node");
            if let Some(s) = self.seed {
                verify_block_csum(b, &ch, s).expect("checksum");
            }
            validate(b, &ch, &refs).expect("validate");
            check_span(b, &ch, Some(first), next).expect("span");
            assert!(ch.entries > 0, "empty node left in the tree");
            self.walk_node(b, ch, next, exts, nodes);
        }
    }

    /// The whole check against the model.
    fn check(&self, model: &Model, rng: &mut XorShift) {
        let (exts, nodes, _) = self.walk();
        let mut got = Model::new();
        for e in &exts {
            assert!(e.len > 0);
            for k in 0..e.len {
                got.insert(e.lblk + k, (e.pblk + u64::from(k), e.unwritten));
            }
        }
        if &got != model {
            let k = got
                .iter()
                .zip(model.iter())
                .find(|(a, b)| a != b)
                .map(|(a, b)| (*a.0).min(*b.0));
            panic!(
                "tree maps {} blocks, model {}; first difference at {k:?}: tree {:?}, model {:?}",
                got.len(),
                model.len(),
                k.and_then(|k| got.get(&k)),
                k.and_then(|k| model.get(&k))
            );
        }
        // Every live node is in the tree exactly once, and nothing else.
        let set: HashSet<u64> = nodes.iter().copied().collect();
        assert_eq!(set.len(), nodes.len(), "a node linked twice");
        assert_eq!(set, self.store.live_nodes, "nodes leaked or linked dead");
        // Data: the file owns exactly what it maps.
        let mapped: HashSet<u64> = model.values().map(|v| v.0).collect();
        let leaked: Vec<_> = self.store.owned.difference(&mapped).collect();
        let stray: Vec<_> = mapped.difference(&self.store.owned).collect();
        assert!(
            leaked.is_empty() && stray.is_empty(),
            "data blocks leaked {leaked:?} or not owned {stray:?}"
        );
        assert_eq!(mapped.len(), model.len(), "a data block mapped twice");
        // A few lookups through the read side's map().
        let src = Src(RefCell::new(&self.store));
        for _ in 0..8 {
            let l = (rng.next() % 5000) as u32;
            let m = extent::map(
                &src,
                &self.root[..],
                l,
                &BlockRefs::bounds(BLOCKS),
                self.bs,
                self.seed,
            )
            .unwrap();
            match (m, model.get(&l)) {
                (
                    Mapping::Mapped {
                        pblk, unwritten, ..
                    },
                    Some(&(p, u)),
                ) => {
                    assert_eq!((pblk, unwritten), (p, u))
                }
                (Mapping::Hole { len }, None) => {
                    let next = model
                        .range(l..)
                        .next()
                        .map_or(1 << 32, |(&k, _)| u64::from(k));
                    assert_eq!(u64::from(len), (next - u64::from(l)).min(u32::MAX.into()));
                }
                (m, want) => panic!("map({l}) = {m:?}, model {want:?}"),
            }
        }
    }
}

/// The data block allocator of the tests: fresh blocks, in line with the
/// extent before (the tree's goal) when those are free, so that merging
/// happens, else somewhere new.
struct DataAlloc {
    next: u64,
    used: HashSet<u64>,
}

impl DataAlloc {
    fn new() -> DataAlloc {
        DataAlloc {
            next: 1000,
            used: HashSet::new(),
        }
    }
    fn take(&mut self, goal: Option<u64>, len: u32, rng: &mut XorShift) -> u64 {
        if let Some(g) = goal {
            if g > 0
                && rng.next() % 2 == 0
                && (g..g + u64::from(len)).all(|b| !self.used.contains(&b))
            {
                self.used.extend(g..g + u64::from(len));
                return g;
            }
        }
        let mut p = self.next + rng.next() % 3;
        while (p..p + u64::from(len)).any(|b| self.used.contains(&b)) {
            p += 1;
        }
        self.next = p + u64::from(len) + 1;
        self.used.extend(p..p + u64::from(len));
        p
    }
}

fn model_insert(m: &mut Model, lblk: u32, len: u32, pblk: u64, unw: bool) {
    for k in 0..len {
        assert!(m.insert(lblk + k, (pblk + u64::from(k), unw)).is_none());
    }
}

fn random_ops(
    bs: u32,
    seed: Option<u32>,
    rng_seed: u64,
    ops: usize,
    space: u32,
    prefill: u32,
    cache: bool,
) {
    let mut f = Fixture::new(bs, seed);
    f.store.cache = cache;
    let mut model = Model::new();
    let mut rng = XorShift::new(rng_seed);
    let mut alloc = DataAlloc::new();
    let mut max_depth = 0;
    // Single blocks at random even logical blocks, physically apart.
    for _ in 0..prefill {
        let l = (rng.next() % u64::from(space / 2)) as u32 * 2;
        if model.contains_key(&l) {
            continue;
        }
        let p = alloc.take(None, 1, &mut rng);
        f.store.owned.insert(p);
        f.insert(l, 1, p, false).unwrap();
        model_insert(&mut model, l, 1, p, false);
    }
    f.check(&model, &mut rng);
    for op in 0..ops {
        let r = rng.next() % 100;
        if r < 60 {
            // Insert into a hole.
            let mut l = (rng.next() % u64::from(space)) as u32;
            while model.contains_key(&l) {
                l += 1;
            }
            let hole_end = model.range(l..).next().map_or(u32::MAX, |(&k, _)| k);
            let len = (1 + rng.next() % 12).min(u64::from(hole_end - l)) as u32;
            let unw = rng.next() % 4 == 0;
            let goal = f.tree().around(l).unwrap().goal(l);
            let p = alloc.take(goal, len, &mut rng);
            f.store.owned.extend(p..p + u64::from(len));
            f.insert(l, len, p, unw).unwrap();
            model_insert(&mut model, l, len, p, unw);
        } else if r < 65 && !model.is_empty() {
            // Overlap: refused, nothing changes.
            let keys: Vec<u32> = model.keys().copied().collect();
            let k = keys[(rng.next() % keys.len() as u64) as usize];
            let l = k.saturating_sub((rng.next() % 3) as u32);
            let before = f.root;
            let err = f.insert(l, 3, 1 << 35, false).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
            assert_eq!(before, f.root);
        } else if r < 88 {
            // Punch.
            let from = (rng.next() % u64::from(space)) as u32;
            let len = 1 + rng.next() % 40;
            let to = u64::from(from) + len;
            f.tree().remove(from, to).unwrap();
            let gone: Vec<u32> = model.range(from..to as u32).map(|(&k, _)| k).collect();
            for k in gone {
                model.remove(&k);
            }
        } else if r < 97 {
            // Convert part of an unwritten extent.
            let unw: Vec<u32> = model.iter().filter(|(_, v)| v.1).map(|(&k, _)| k).collect();
            if unw.is_empty() {
                continue;
            }
            let k = unw[(rng.next() % unw.len() as u64) as usize];
            let a = f.tree().around(k).unwrap();
            let e = a.at_or_after.unwrap();
            assert!(
                e.unwritten && e.lblk <= k && k < e.lblk + e.len,
                "{e:?} {k}"
            );
            let len = 1 + (rng.next() % u64::from(e.lblk + e.len - k)) as u32;
            f.tree().convert_to_written(k, len).unwrap();
            for b in k..k + len {
                model.get_mut(&b).unwrap().1 = false;
            }
        } else if r < 99 {
            // Convert something written: refused.
            if let Some((&k, _)) = model.iter().find(|(_, v)| !v.1) {
                assert!(f.tree().convert_to_written(k, 1).is_err());
            }
        } else {
            // Truncate.
            let from = (rng.next() % u64::from(space)) as u32;
            f.tree().remove(from, 1 << 32).unwrap();
            model.retain(|&k, _| k < from);
        }
        f.check(&model, &mut rng);
        max_depth = max_depth.max(f.walk().2);
        let _ = op;
    }
    f.tree().remove(0, 1 << 32).unwrap();
    model.clear();
    f.check(&model, &mut rng);
    assert_eq!(
        &f.root[..12],
        &[0x0a, 0xf3, 0, 0, 4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12]
    );
    assert!(f.store.live_nodes.is_empty());
    assert!(
        max_depth >= 2,
        "the sequence should build a deeper tree ({max_depth})"
    );
}

#[test]
fn random_ops_1k_csum() {
    random_ops(1024, Some(0xdead_beef), 1, 3000, 6000, 0, false);
}

#[test]
fn random_ops_1k_plain() {
    random_ops(1024, None, 2, 3000, 6000, 0, true);
}

#[test]
fn random_ops_4k_csum() {
    random_ops(4096, Some(0x1234_5678), 3, 2500, 30000, 2500, true);
}

#[test]
fn random_ops_4k_plain() {
    random_ops(4096, None, 4, 2500, 30000, 2500, false);
}

/// 100 000 one-block extents whose physical blocks are never contiguous.
fn fragmented(bs: u32, seed: Option<u32>, random_order: bool, want_depth: u16) {
    let mut f = Fixture::new(bs, seed);
    let n: u32 = 100_000;
    let mut order: Vec<u32> = (0..n).collect();
    let mut rng = XorShift::new(77);
    if random_order {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
    // Logical block i at physical block 1000 + 2 i: never contiguous.
    for &i in &order {
        let p = 1000 + 2 * u64::from(i);
        f.store.owned.insert(p);
        f.insert(i, 1, p, false).unwrap();
    }
    let (exts, nodes, depth) = f.walk();
    assert_eq!(exts.len(), n as usize);
    for (i, e) in exts.iter().enumerate() {
        assert_eq!((e.lblk, e.len, e.pblk), (i as u32, 1, 1000 + 2 * i as u64));
    }
    assert_eq!(depth, want_depth);
    assert_eq!(nodes.len() as u64, f.store.nodes_allocated);
    // Around: goal after the previous extent.
    let a = f.tree().around(500).unwrap();
    assert_eq!(a.before.unwrap().lblk, 499);
    assert_eq!(a.at_or_after.unwrap().lblk, 500);
    assert_eq!(
        f.tree().around(n + 5).unwrap().goal(n + 5),
        Some(1000 + 2 * 99_999 + 6)
    );
    f.tree().remove(0, 1 << 32).unwrap();
    let (exts, nodes, depth) = f.walk();
    assert!(exts.is_empty() && nodes.is_empty() && depth == 0);
    assert_eq!(&f.root[..8], &[0x0a, 0xf3, 0, 0, 4, 0, 0, 0]);
    assert!(f.store.live_nodes.is_empty());
    assert_eq!(f.store.nodes_freed, f.store.nodes_allocated);
    assert!(f.store.owned.is_empty());
    assert_eq!(f.store.freed_data, u64::from(n));
}

#[test]
fn fragmented_100k_in_order_1k() {
    fragmented(1024, Some(7), false, 3);
}

#[test]
fn fragmented_100k_random_order_1k() {
    fragmented(1024, None, true, 3);
}

#[test]
fn fragmented_100k_in_order_4k() {
    fragmented(4096, Some(7), false, 2);
}

#[test]
fn fragmented_100k_random_order_4k() {
    fragmented(4096, Some(9), true, 2);
}

/// Walks 1 KiB-block trees through depth 1, 2 and 3, checking every step.
#[test]
fn depth_grows_to_3_with_1k_blocks() {
    let mut f = Fixture::new(1024, Some(3));
    let mut rng = XorShift::new(5);
    let mut model = Model::new();
    let mut seen = [false; 4];
    let mut i = 0u32;
    while !seen[3] {
        let p = 5000 + 3 * u64::from(i);
        f.store.owned.insert(p);
        f.insert(i, 1, p, i % 2 == 0).unwrap();
        model.insert(i, (p, i % 2 == 0));
        let d = usize::from(u16::from_le_bytes([f.root[6], f.root[7]]));
        if !seen[d] || i % 997 == 0 {
            f.check(&model, &mut rng);
        }
        seen[d] = true;
        i += 1;
    }
    f.check(&model, &mut rng);
    // Root 4 entries, leaves 84: depth 3 after 4 * 84 * 84 leaves' worth
    // (split leaves stay full when appending).
    assert!(i > 4 * 84 * 84, "{i}");
}

#[test]
fn contiguous_appends_merge_up_to_32768() {
    for unw in [false, true] {
        let max = if unw { 32767 } else { 32768 };
        let mut f = Fixture::new(4096, Some(1));
        let mut rng = XorShift::new(9);
        for i in 0..40_000u32 {
            let goal = f.tree().around(i).unwrap().goal(i);
            let p = if i == 0 { 10_000 } else { goal.unwrap() };
            assert_eq!(p, 10_000 + u64::from(i));
            f.store.owned.insert(p);
            f.insert(i, 1, p, unw).unwrap();
        }
        let (exts, nodes, _) = f.walk();
        assert!(nodes.is_empty());
        assert_eq!(
            exts,
            vec![
                Extent {
                    lblk: 0,
                    len: max,
                    pblk: 10_000,
                    unwritten: unw
                },
                Extent {
                    lblk: max,
                    len: 40_000 - max,
                    pblk: 10_000 + u64::from(max),
                    unwritten: unw
                },
            ]
        );
        // Filling a hole between two extents joins all three.
        f.tree().remove(100, 200).unwrap();
        f.tree().remove(max + 100, max as u64 + 200).unwrap();
        f.store.owned.extend(10_100..10_200);
        f.insert(100, 100, 10_100, unw).unwrap();
        assert_eq!(f.walk().0.len(), 3);
        f.store
            .owned
            .extend(10_000 + max as u64 + 100..10_000 + max as u64 + 200);
        f.insert(max + 100, 100, 10_000 + u64::from(max) + 100, unw)
            .unwrap();
        assert_eq!(f.walk().0, exts);
        // Merging at the front of an extent; a different state does not merge.
        f.tree().remove(0, 10).unwrap();
        f.store.owned.extend(10_005..10_010);
        f.insert(5, 5, 10_005, unw).unwrap();
        assert_eq!(f.walk().0.len(), 2);
        assert_eq!(f.walk().0[0].lblk, 5);
        f.store.owned.extend(10_000..10_005);
        f.insert(0, 5, 10_000, !unw).unwrap();
        assert_eq!(f.walk().0.len(), 3);
        let mut m = Model::new();
        for e in f.walk().0 {
            model_insert(&mut m, e.lblk, e.len, e.pblk, e.unwritten);
        }
        f.check(&m, &mut rng);
        // Too long and empty extents are refused.
        assert!(f.insert(50_000, max + 1, 1 << 30, unw).is_err());
        assert!(f.insert(50_000, 0, 1 << 30, unw).is_err());
    }
}

#[test]
fn punch_and_convert_shapes() {
    let mut f = Fixture::new(1024, Some(11));
    let mut rng = XorShift::new(3);
    let mut m = Model::new();
    f.store.owned.extend(100..200);
    f.insert(10, 100, 100, true).unwrap();
    model_insert(&mut m, 10, 100, 100, true);
    // Convert in the middle: three extents.
    f.tree().convert_to_written(40, 10).unwrap();
    for b in 40..50 {
        m.get_mut(&b).unwrap().1 = false;
    }
    f.check(&m, &mut rng);
    assert_eq!(f.walk().0.len(), 3);
    // Convert the head: merges with nothing before, but the written part
    // right after the unwritten head joins the middle when adjacent.
    f.tree().convert_to_written(30, 10).unwrap();
    for b in 30..40 {
        m.get_mut(&b).unwrap().1 = false;
    }
    f.check(&m, &mut rng);
    assert_eq!(f.walk().0.len(), 3, "{:?}", f.walk().0);
    // Punch inside one extent, then truncate through the middle of one.
    f.tree().remove(60, 70).unwrap();
    for b in 60..70 {
        m.remove(&b);
    }
    f.check(&m, &mut rng);
    f.tree().remove(85, 1 << 32).unwrap();
    m.retain(|&k, _| k < 85);
    f.check(&m, &mut rng);
    // Removing holes is a no-op.
    f.tree().remove(1000, 2000).unwrap();
    f.tree().remove(0, 5).unwrap();
    f.check(&m, &mut rng);
    // Converting a whole unwritten extent between two written ones it
    // continues joins all three.
    f.tree().remove(0, 1 << 32).unwrap();
    m.clear();
    f.store.owned.extend(300..330);
    for (l, unw) in [(0u32, false), (10, true), (20, false)] {
        f.insert(l, 10, 300 + u64::from(l), unw).unwrap();
        model_insert(&mut m, l, 10, 300 + u64::from(l), false);
    }
    assert_eq!(f.walk().0.len(), 3);
    f.tree().convert_to_written(10, 10).unwrap();
    f.check(&m, &mut rng);
    assert_eq!(
        f.walk().0,
        vec![Extent {
            lblk: 0,
            len: 30,
            pblk: 300,
            unwritten: false
        }]
    );
    f.store.owned.extend(400..410);
    f.insert(40, 10, 400, true).unwrap();
    model_insert(&mut m, 40, 10, 400, true);
    // Converting outside an unwritten extent is refused.
    assert!(f.tree().convert_to_written(5, 1).is_err());
    assert!(f.tree().convert_to_written(45, 10).is_err());
    assert!(f.tree().convert_to_written(35, 1).is_err());
    f.check(&m, &mut rng);
}

/// Splits that fail to get a node leave the tree as it was.
#[test]
fn allocation_failure_leaves_tree_intact() {
    let mut f = Fixture::new(1024, Some(2));
    let mut rng = XorShift::new(4);
    let mut m = Model::new();
    f.store.fail_alloc = true;
    // Four extents fill the root; the fifth needs a node.
    for i in 0..4u32 {
        let p = 100 + 2 * u64::from(i);
        f.store.owned.insert(p);
        f.insert(i, 1, p, false).unwrap();
        m.insert(i, (p, false));
    }
    assert!(f.insert(4, 1, 200, false).is_err());
    f.check(&m, &mut rng);
    // Extending the last extent merges: no node needed.
    f.store.owned.extend(107..117);
    f.insert(4, 10, 107, false).unwrap();
    model_insert(&mut m, 4, 10, 107, false);
    f.check(&m, &mut rng);
    // A punch inside it needs a fifth entry: refused, extent intact,
    // nothing freed.
    assert!(f.tree().remove(6, 8).is_err());
    f.check(&m, &mut rng);
    f.store.fail_alloc = false;
    f.tree().remove(6, 8).unwrap();
    m.remove(&6);
    m.remove(&7);
    f.check(&m, &mut rng);
    assert_eq!(f.walk().2, 1);
}

/// Punching inside extents of full leaves of a depth-2 tree: each punch
/// needs a split; without a node the punch is refused and the tree is as
/// before.
#[test]
fn punch_inside_full_leaves_splits() {
    let mut f = Fixture::new(1024, Some(21));
    let mut rng = XorShift::new(8);
    let mut m = Model::new();
    // Extents of 4 blocks, 1 block apart logically and physically: appends
    // keep split leaves full.
    for k in 0..2000u32 {
        let (l, p) = (5 * k, 100_000 + 5 * u64::from(k));
        f.store.owned.extend(p..p + 4);
        f.insert(l, 4, p, k % 3 == 0).unwrap();
        model_insert(&mut m, l, 4, p, k % 3 == 0);
    }
    assert_eq!(f.walk().2, 2);
    let nodes = f.store.nodes_allocated;
    f.store.fail_alloc = true;
    let before = f.store.blocks.clone();
    assert!(f.tree().remove(5 * 1000 + 1, 5 * 1000 + 3).is_err());
    assert!(f.store.blocks == before, "a failed punch changed nothing");
    f.check(&m, &mut rng);
    f.store.fail_alloc = false;
    for k in (0..2000u32).step_by(7) {
        let l = 5 * k + 1 + k % 2;
        f.tree().remove(l, u64::from(l) + 1).unwrap();
        m.remove(&l);
    }
    f.check(&m, &mut rng);
    assert!(f.store.nodes_allocated > nodes + 10, "punches split leaves");
    f.tree().remove(0, 1 << 32).unwrap();
    assert!(f.store.live_nodes.is_empty() && f.store.owned.is_empty());
}

/// Damaged nodes in the store make every operation fail with an error,
/// never a panic.
#[test]
fn damaged_nodes_are_errors() {
    for seed in [Some(0x55u32), None] {
        let mut f = Fixture::new(1024, seed);
        for i in 0..2000u32 {
            let p = 100 + 2 * u64::from(i);
            f.store.owned.insert(p);
            f.insert(i, 1, p, false).unwrap();
        }
        let (_, nodes, depth) = f.walk();
        assert_eq!(depth, 2);
        let clean = f.store.blocks.clone();
        let clean_root = f.root;
        f.store.lenient = true;
        // Bad magic in every node: every operation touching it fails.
        for &n in &nodes {
            f.store.blocks.get_mut(&n).unwrap()[0] ^= 0xff;
            let mut failures = 0;
            for l in [0u32, 500, 1999] {
                failures += f.tree().around(l).is_err() as u32;
                failures += f.insert(l + 100_000, 1, 1 << 30, false).is_err() as u32;
            }
            failures += f.tree().remove(0, 1 << 32).is_err() as u32;
            assert!(failures > 0);
            f.store.blocks = clean.clone();
            f.root = clean_root;
            f.store.live_nodes = nodes.iter().copied().collect();
        }
        // One flipped byte in an entry of a leaf: a checksum error with a
        // seed; the walk to it fails.
        if seed.is_some() {
            let leaf = *nodes.last().unwrap();
            f.store.blocks.get_mut(&leaf).unwrap()[20] ^= 1;
            let err = f.tree().around(1999).unwrap_err();
            assert!(matches!(err, Error::BadChecksum { .. }), "{err:?}");
            assert!(matches!(
                f.tree().remove(1990, 1 << 32),
                Err(Error::BadChecksum { .. })
            ));
            f.store.blocks = clean.clone();
        }
        // Random damage: errors or success, never a panic.
        let mut rng = XorShift::new(99);
        for _ in 0..300 {
            f.store.blocks = clean.clone();
            f.root = clean_root;
            f.store.live_nodes = nodes.iter().copied().collect();
            let n = nodes[(rng.next() % nodes.len() as u64) as usize];
            let b = f.store.blocks.get_mut(&n).unwrap();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() % 1024) as usize;
                b[at] ^= 1 << (rng.next() % 8);
            }
            if rng.next() % 4 == 0 {
                let at = (rng.next() % 60) as usize;
                f.root[at] ^= 1 << (rng.next() % 8);
            }
            let l = (rng.next() % 2100) as u32;
            let _ = f.tree().around(l);
            let _ = f.insert(l, 1, 1 << 30, false);
            let _ = f.tree().convert_to_written(l, 1);
            let _ = f.tree().remove(l, u64::from(l) + 50);
        }
    }
}

/// An image file as the node store: blocks read and written in place,
/// nodes allocated from a list of blocks debugfs found free, frees
/// recorded for debugfs to apply.
struct FileStore {
    file: std::fs::File,
    bs: usize,
    free: Vec<u64>,
    allocated: Vec<u64>,
    freed_nodes: Vec<u64>,
    freed_data: Vec<(u64, u32)>,
}

impl FileStore {
    fn block(&self, pblk: u64) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let mut b = vec![0u8; self.bs];
        self.file
            .read_exact_at(&mut b, pblk * self.bs as u64)
            .unwrap();
        b
    }
}

impl NodeStore for FileStore {
    type Node = [u8];
    fn read<R>(&mut self, pblk: u64, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        f(&self.block(pblk))
    }
    fn modify<R>(&mut self, pblk: u64, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        use std::os::unix::fs::FileExt;
        let mut b = self.block(pblk);
        let r = f(&mut b)?;
        self.file.write_all_at(&b, pblk * self.bs as u64).unwrap();
        Ok(r)
    }
    fn alloc_node(&mut self, _goal: u64) -> Result<u64> {
        let b = self.free.pop().expect("free block list exhausted");
        self.allocated.push(b);
        Ok(b)
    }
    fn free_node(&mut self, pblk: u64) -> Result<()> {
        self.freed_nodes.push(pblk);
        Ok(())
    }
    fn free_data(&mut self, pblk: u64, len: u32) -> Result<()> {
        self.freed_data.push((pblk, len));
        Ok(())
    }
}

fn debugfs(img: &std::path::Path, write: bool, cmds: &str) -> String {
    let dir = img.parent().unwrap();
    let f = dir.join("cmds");
    std::fs::write(&f, cmds).unwrap();
    let mut c = std::process::Command::new("debugfs");
    if write {
        c.arg("-w");
    }
    let out = c.arg("-f").arg(&f).arg(img).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A file made by mke2fs -d (1 KiB blocks, metadata_csum, a depth-2 tree
/// of 3-block extents) punched and truncated by this code through the image
/// file; debugfs applies the frees, the new root, size and block count;
/// e2fsck -fn must find nothing wrong and the read side must read the
/// expected content.
#[test]
fn real_image_punch_and_truncate_then_e2fsck() {
    use ext4disk::image::Image;
    use std::io::{Seek, SeekFrom, Write};
    let s = Scratch::new("extent-tree");
    let bs = 1024usize;
    let nblk = 4000u64;
    let dir = s.0.join("d");
    std::fs::create_dir(&dir).unwrap();
    let pattern =
        |l: u64| -> Vec<u8> { (0..bs).map(|i| ((l * 7 + i as u64) % 251) as u8).collect() };
    let mut want = vec![0u8; nblk as usize * bs];
    {
        let mut f = std::fs::File::create(dir.join("f")).unwrap();
        for l in 0..nblk {
            if l % 4 != 3 {
                f.seek(SeekFrom::Start(l * bs as u64)).unwrap();
                f.write_all(&pattern(l)).unwrap();
                want[l as usize * bs..(l as usize + 1) * bs].copy_from_slice(&pattern(l));
            }
        }
        f.set_len(nblk * bs as u64).unwrap();
    }
    let img = mkfs(
        &s.0,
        "img",
        64,
        &["-b", "1024", "-d", dir.to_str().unwrap()],
    );
    let im = Image::open(&img).unwrap();
    let mut ino = 0;
    im.walk(&mut |p, i| {
        if p == "/f" {
            ino = i.ino
        }
    })
    .unwrap();
    let inode = im.inode(ino).unwrap();
    assert_eq!(
        u16::from_le_bytes([inode.block[6], inode.block[7]]),
        2,
        "depth"
    );
    let params = TreeParams {
        block_size: 1024,
        csum_seed: Some(inode.csum_seed),
        refs: im.refs(),
    };
    let stat = debugfs(&img, false, "stat /f\nffb 64 20000\n");
    let blockcount: u64 = stat
        .split("Blockcount: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let free: Vec<u64> = stat
        .split("Free blocks found: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(free.len(), 64);
    // Data for the holes at 3, 7, .., 99, written into the image first.
    let data: Vec<u64> = free[..25].to_vec();
    let free = free[25..].to_vec();
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
        for (k, &p) in data.iter().enumerate() {
            let l = 3 + 4 * k as u64;
            f.write_all_at(&pattern(l + 10_000), p * bs as u64).unwrap();
            want[l as usize * bs..(l as usize + 1) * bs].copy_from_slice(&pattern(l + 10_000));
        }
    }
    let mut store = FileStore {
        file: std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&img)
            .unwrap(),
        bs,
        free,
        allocated: vec![],
        freed_nodes: vec![],
        freed_data: vec![],
    };
    let mut root = inode.block;
    {
        let mut t = ExtentTree::new(&mut store, &mut root, params);
        // Inside one extent, across several leaves, and a truncate that
        // ends inside an extent.
        t.remove(401, 402).unwrap();
        t.remove(1000, 1900).unwrap();
        t.remove(2501, 1 << 32).unwrap();
        // Fill holes of the first leaf, which mke2fs left full: splits.
        for (k, &p) in data.iter().enumerate() {
            let e = Extent {
                lblk: 3 + 4 * k as u32,
                len: 1,
                pblk: p,
                unwritten: false,
            };
            t.insert(e).unwrap();
        }
        // The goal after the new end is in line with the last extent.
        let a = t.around(2600).unwrap();
        assert_eq!(a.before.unwrap().lblk + a.before.unwrap().len, 2501);
        assert!(a.at_or_after.is_none());
    }
    drop(im);
    want[401 * bs..402 * bs].fill(0);
    want[1000 * bs..1900 * bs].fill(0);
    want.truncate(2501 * bs);
    let freed_data: u64 = store.freed_data.iter().map(|&(_, l)| u64::from(l)).sum();
    assert!(!store.freed_nodes.is_empty(), "whole leaves were emptied");
    assert!(!store.allocated.is_empty(), "leaves were split");
    let freed_data = freed_data as i64 - data.len() as i64;
    let nodes_delta = store.freed_nodes.len() as i64 - store.allocated.len() as i64;
    let new_count = blockcount as i64 - (freed_data + nodes_delta) * (bs as i64 / 512);
    let mut cmds = String::new();
    for (i, w) in root.chunks(4).enumerate() {
        let v = u32::from_le_bytes(w.try_into().unwrap());
        cmds += &format!("sif /f block[{i}] {v}\n");
    }
    cmds += &format!("sif /f size {}\nsif /f blocks {new_count}\n", 2501 * bs);
    for &(p, l) in &store.freed_data {
        cmds += &format!("freeb {p} {l}\n");
    }
    for &p in &store.freed_nodes {
        cmds += &format!("freeb {p}\n");
    }
    for &p in store.allocated.iter().chain(&data) {
        cmds += &format!("setb {p}\n");
    }
    // debugfs's freeb and setb change the bitmaps only: the free counts
    // follow here.
    let im = Image::open(&img).unwrap();
    let group = |b: u64| {
        ((b - u64::from(im.sb.first_data_block)) / u64::from(im.sb.blocks_per_group)) as usize
    };
    let mut free: Vec<i64> = im
        .groups
        .iter()
        .map(|g| i64::from(g.free_blocks_count))
        .collect();
    for &(p, l) in &store.freed_data {
        for b in p..p + u64::from(l) {
            free[group(b)] += 1;
        }
    }
    for &p in &store.freed_nodes {
        free[group(p)] += 1;
    }
    for &p in store.allocated.iter().chain(&data) {
        free[group(p)] -= 1;
    }
    for (g, n) in free.iter().enumerate() {
        cmds += &format!("set_bg {g} free_blocks_count {n}\n");
    }
    cmds += &format!("ssv free_blocks_count {}\n", free.iter().sum::<i64>());
    drop(im);
    debugfs(&img, true, &cmds);
    let out = std::process::Command::new("e2fsck")
        // The tree rext4 leaves is valid but not as narrow as e2fsck
        // would rebuild it (nor is the kernel's).
        .args(["-fn", "-E", "no_optimize_extents"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "e2fsck: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let im = Image::open(&img).unwrap();
    let got = im.read_file(&im.inode(ino).unwrap()).unwrap();
    assert!(got == want, "content after punch and truncate");
}

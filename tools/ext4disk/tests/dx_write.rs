//! htree upkeep (`disk::dx_write`): directories grown name by name in
//! memory, from one linear block through the conversion to an index, leaf
//! splits, node splits and new levels, up to a full index; after the adds
//! an independent walk checks every block (record chains and checksums by
//! the read side's parsers, each leaf's names inside the hash range its
//! index entry covers, every block reached once) and every name is looked
//! up through the lookup walk. Also: names already present, a malformed
//! index left unwritten, names removed and added again.

use ext4disk::disk::dir::{find_name, rec_len_for, verify_csum, BlockKind, Records};
use ext4disk::disk::dir_write::{self as dw, DirFormat, Slot};
use ext4disk::disk::dx_write::{self as dx, AddOutcome, MapEntry, Scratch, MAX_NEW_BLOCKS};
use ext4disk::disk::htree::{self, DirBlockReader, DxParams, HashConfig};
use ext4disk::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};

const DIR_INO: u32 = 2;
const SEED: u32 = 0x5eed_1234;
const MAX_INO: u32 = 10_000_000;

/// A directory's blocks in memory.
struct Mem {
    blocks: Vec<Vec<u8>>,
    bs: usize,
    /// Appends allowed before one fails (out of space), if set.
    appends_left: Option<usize>,
}

impl DirBlockReader for Mem {
    type Block = Vec<u8>;

    fn read_dir_block(&mut self, lblk: u32) -> Result<Vec<u8>> {
        self.blocks
            .get(lblk as usize)
            .cloned()
            .ok_or(Error::Io { block: lblk.into() })
    }
}

impl dx::DirStore for Mem {
    fn modify<R>(&mut self, lblk: u32, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        let b = self
            .blocks
            .get_mut(lblk as usize)
            .ok_or(Error::Io { block: lblk.into() })?;
        f(&mut b[..])
    }

    fn append(&mut self) -> Result<u32> {
        if let Some(n) = self.appends_left.as_mut() {
            if *n == 0 {
                return Err(Error::Io { block: u64::MAX });
            }
            *n -= 1;
        }
        // Garbage: the writer must write every byte.
        self.blocks.push(vec![0xA5; self.bs]);
        Ok(self.blocks.len() as u32 - 1)
    }
}

struct Dir {
    p: DxParams,
    fmt: DirFormat,
    s: Mem,
    indexed: bool,
    names: BTreeMap<Vec<u8>, u32>,
    block: Vec<u8>,
    map: Vec<MapEntry>,
}

impl Dir {
    fn new(bs: usize, csum: bool, largedir: bool, unsigned: bool) -> Dir {
        let fmt = DirFormat {
            csum,
            filetype: true,
            max_ino: MAX_INO,
        };
        let mut b0 = vec![0u8; bs];
        dw::init_first_block(&mut b0, &fmt, DIR_INO, DIR_INO).unwrap();
        if csum {
            dw::set_leaf_csum(&mut b0, SEED).unwrap();
        }
        Dir {
            p: DxParams {
                block_size: bs as u32,
                dir_blocks: 1,
                csum_seed: csum.then_some(SEED),
                largedir,
                hash: HashConfig {
                    unsigned,
                    seed: [0x1111_2222, 0x3333_4444, 0x5555_6666, 0x7777_8888],
                },
            },
            fmt,
            s: Mem {
                blocks: vec![b0],
                bs,
                appends_left: None,
            },
            indexed: false,
            names: BTreeMap::new(),
            block: vec![0; bs],
            map: vec![MapEntry::default(); dx::map_len(bs)],
        }
    }

    /// Adds a name as rext4's fs layer does: into block 0 while it has
    /// room, then index the directory and add through the index.
    fn add(&mut self, name: &[u8], ino: u32) -> AddOutcome {
        if !self.indexed {
            let b0 = &mut self.s.blocks[0];
            match dw::add_entry(b0, &self.fmt, name, ino, 1).unwrap() {
                Slot::Fits(_) => {
                    if self.fmt.csum {
                        dw::set_leaf_csum(b0, SEED).unwrap();
                    }
                    self.names.insert(name.to_vec(), ino);
                    return AddOutcome::Added;
                }
                Slot::Exists { .. } => return AddOutcome::Exists,
                Slot::NoSpace => {}
            }
            dx::make_indexed(
                &mut self.p,
                &self.fmt,
                &mut self.s,
                DIR_INO,
                1,
                &mut self.block,
            )
            .unwrap();
            self.indexed = true;
            assert_eq!(self.s.blocks.len(), 2);
        }
        let before = self.s.blocks.len();
        let mut scratch = Scratch {
            block: &mut self.block,
            map: &mut self.map,
        };
        let r = dx::add_entry(
            &mut self.p,
            &self.fmt,
            &mut self.s,
            name,
            ino,
            1,
            &mut scratch,
        )
        .unwrap();
        let grown = self.s.blocks.len() - before;
        assert!(
            grown as u32 <= MAX_NEW_BLOCKS,
            "{grown} blocks for one name"
        );
        assert_eq!(self.p.dir_blocks as usize, self.s.blocks.len());
        if r == AddOutcome::Added {
            self.names.insert(name.to_vec(), ino);
        } else {
            assert_eq!(grown, 0, "{r:?} appended blocks");
        }
        r
    }

    /// Removes `name` from the leaf the lookup walk finds it in, as unlink
    /// does (the index is left as it is).
    fn remove(&mut self, name: &[u8]) {
        let mut path = htree::probe(&self.p, name, &mut self.s).unwrap();
        let mut leaf = path.leaf();
        loop {
            let fmt = self.fmt;
            let b = &mut self.s.blocks[leaf as usize];
            if let Some(l) = dw::locate(b, &fmt, name).unwrap() {
                dw::delete_entry(b, &fmt, l.offset).unwrap();
                dw::set_leaf_csum(b, SEED).unwrap();
                break;
            }
            leaf = path
                .next_leaf(&self.p, &mut self.s)
                .unwrap()
                .expect("name not found");
        }
        self.names.remove(name);
    }

    fn levels(&self) -> u8 {
        assert!(self.indexed);
        self.s.blocks[0][24 + 6]
    }

    /// The lookup walk, then the leaves' records.
    fn lookup(&mut self, name: &[u8]) -> Option<u32> {
        if !self.indexed {
            return find_name(&self.s.blocks[0][..], self.fmt.csum, MAX_INO, name).unwrap();
        }
        let mut path = htree::probe(&self.p, name, &mut self.s).unwrap();
        let mut leaf = path.leaf();
        loop {
            let b = &self.s.blocks[leaf as usize];
            if let Some(ino) = find_name(&b[..], self.fmt.csum, MAX_INO, name).unwrap() {
                return Some(ino);
            }
            match path.next_leaf(&self.p, &mut self.s).unwrap() {
                Some(n) => leaf = n,
                None => return None,
            }
        }
    }

    /// Walks the whole index independently of the adding code and checks
    /// every block; returns the names found.
    fn check(&mut self) -> BTreeMap<Vec<u8>, u32> {
        let mut found = BTreeMap::new();
        let mut seen = BTreeSet::new();
        if !self.indexed {
            self.leaf(0, 0, 1 << 32, &mut found);
            return found;
        }
        let root = self.s.blocks[0].clone();
        let (info, blk) = htree::parse_root(&self.p, &root, false).unwrap();
        let entries: Vec<(u32, u32)> = (0..blk.count())
            .map(|i| (blk.hash(i).unwrap(), blk.block(i).unwrap()))
            .collect();
        self.walk(
            &entries,
            0,
            1 << 32,
            info.indirect_levels,
            &mut seen,
            &mut found,
        );
        // Every block but the root is reached once.
        assert_eq!(seen.len(), self.s.blocks.len() - 1, "blocks not reached");
        found
    }

    fn walk(
        &mut self,
        entries: &[(u32, u32)],
        lo: u64,
        hi: u64,
        levels_below: u8,
        seen: &mut BTreeSet<u32>,
        found: &mut BTreeMap<Vec<u8>, u32>,
    ) {
        for (i, &(h, blk)) in entries.iter().enumerate() {
            let clo = if i == 0 { lo } else { u64::from(h) };
            let chi = entries.get(i + 1).map_or(hi, |e| u64::from(e.0));
            assert!(clo >= lo && chi <= hi && clo <= chi, "entry range");
            assert!(seen.insert(blk), "block {blk} reached twice");
            if levels_below == 0 {
                self.leaf(blk, clo, chi, found);
            } else {
                let b = self.s.blocks[blk as usize].clone();
                let node = htree::parse_node(&self.p, &b, false).unwrap();
                let sub: Vec<(u32, u32)> = (0..node.count())
                    .map(|i| (node.hash(i).unwrap(), node.block(i).unwrap()))
                    .collect();
                self.walk(&sub, clo, chi, levels_below - 1, seen, found);
            }
        }
    }

    fn leaf(&mut self, blk: u32, lo: u64, hi: u64, found: &mut BTreeMap<Vec<u8>, u32>) {
        let b = self.s.blocks[blk as usize].clone();
        if let Some(seed) = self.p.csum_seed {
            verify_csum(&b[..], BlockKind::Leaf, seed).unwrap();
        }
        let mut end = 0;
        for r in Records::new(&b[..], 0, self.fmt.csum, MAX_INO) {
            let r = r.unwrap();
            let rl = u16::from_le_bytes([b[r.offset + 4], b[r.offset + 5]]) as usize;
            end = r.offset + rl;
            if !r.is_live() {
                continue;
            }
            let name = b[r.name_offset()..r.name_offset() + r.name_len].to_vec();
            if blk == 0 && (name == b"." || name == b"..") {
                continue;
            }
            let h = u64::from(self.p.hash.hash(1, &name).unwrap().major);
            if self.indexed {
                assert!(
                    h >= lo & !1 && h < hi,
                    "block {blk}: hash {h:#x} outside [{lo:#x}, {hi:#x})"
                );
            }
            assert!(found.insert(name, r.ino).is_none(), "name twice");
        }
        let want = self.s.bs - if self.fmt.csum { 12 } else { 0 };
        assert_eq!(end, want, "block {blk}: records end");
    }

    fn check_all(&mut self) {
        let found = self.check();
        assert_eq!(found, self.names, "names in the blocks");
        let names: Vec<(Vec<u8>, u32)> = self.names.iter().map(|(n, i)| (n.clone(), *i)).collect();
        for (n, ino) in names {
            assert_eq!(
                self.lookup(&n),
                Some(ino),
                "lookup {:?}",
                String::from_utf8_lossy(&n)
            );
        }
    }
}

/// A seeded generator of names: lengths in `len`, bytes from a set that
/// makes neither "." nor "..".
struct Names(u64);

impl Names {
    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    fn name(&mut self, len: std::ops::RangeInclusive<usize>) -> Vec<u8> {
        const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        let span = (len.end() - len.start() + 1) as u32;
        let n = len.start() + (self.next_u32() % span) as usize;
        (0..n)
            .map(|_| SET[(self.next_u32() as usize) % SET.len()])
            .collect()
    }
}

fn grow(d: &mut Dir, g: &mut Names, n: usize, len: std::ops::RangeInclusive<usize>) -> usize {
    let mut added = 0;
    while added < n {
        let name = g.name(len.clone());
        if d.names.contains_key(&name) {
            assert_eq!(d.add(&name, 12), AddOutcome::Exists);
            continue;
        }
        let ino = 11 + d.names.len() as u32;
        match d.add(&name, ino) {
            AddOutcome::Added => added += 1,
            other => panic!("add: {other:?}"),
        }
    }
    added
}

#[test]
fn grows_from_one_block_to_two_levels_1k_csum() {
    let mut d = Dir::new(1024, true, false, true);
    let mut g = Names(1);
    grow(&mut d, &mut g, 80, 1..=30);
    d.check_all();
    assert!(d.indexed, "80 names fill a 1 KiB block");
    assert_eq!(d.levels(), 0);
    for _ in 0..10 {
        grow(&mut d, &mut g, 1000, 1..=40);
        d.check_all();
    }
    assert_eq!(
        d.levels(),
        1,
        "10000 names need a node level in 1 KiB blocks"
    );
    // Every name present is refused, nothing written.
    let names: Vec<Vec<u8>> = d.names.keys().take(200).cloned().collect();
    for n in names {
        let before = d.s.blocks.clone();
        assert_eq!(d.add(&n, 99), AddOutcome::Exists);
        assert!(before == d.s.blocks);
    }
}

#[test]
fn index_full_then_third_level_with_largedir() {
    for largedir in [false, true] {
        let mut d = Dir::new(1024, true, largedir, true);
        let mut g = Names(7);
        // Long names: three to a leaf, so the index fills after ~40000.
        let mut full = false;
        for i in 0..70_000u32 {
            let name = g.name(200..=255);
            if d.names.contains_key(&name) {
                continue;
            }
            match d.add(&name, 11 + i) {
                AddOutcome::Added => {}
                AddOutcome::IndexFull => {
                    assert!(!largedir, "index full with large_dir after {i}");
                    assert_eq!(d.levels(), 1);
                    let before = d.s.blocks.clone();
                    assert_eq!(d.add(&name, 5), AddOutcome::IndexFull);
                    assert!(before == d.s.blocks, "a full index was written");
                    full = true;
                    break;
                }
                other => panic!("{other:?}"),
            }
            if largedir && d.indexed && d.levels() == 2 && i % 1000 == 999 {
                break;
            }
        }
        if largedir {
            assert_eq!(d.levels(), 2, "three index levels with large_dir");
        } else {
            assert!(full, "the index never filled");
        }
        d.check_all();
    }
}

#[test]
fn block_sizes_and_hash_signedness() {
    for (bs, csum, unsigned) in [
        (2048, false, false),
        (4096, true, false),
        (4096, false, true),
    ] {
        let mut d = Dir::new(bs, csum, false, unsigned);
        let mut g = Names(bs as u64 + u64::from(csum));
        grow(&mut d, &mut g, 6000, 1..=64);
        d.check_all();
        assert!(d.indexed);
    }
}

#[test]
fn removed_names_make_room_again() {
    let mut d = Dir::new(1024, true, false, true);
    let mut g = Names(3);
    grow(&mut d, &mut g, 3000, 5..=20);
    let blocks = d.s.blocks.len();
    // Remove every other name through the lookup walk's leaf, as unlink.
    let gone: Vec<Vec<u8>> = d.names.keys().step_by(2).cloned().collect();
    for n in &gone {
        d.remove(n);
    }
    d.check_all();
    // As many names again fit without a new block for most of them.
    grow(&mut d, &mut g, gone.len() / 2, 5..=20);
    d.check_all();
    assert!(
        d.s.blocks.len() < blocks + blocks / 4,
        "freed room not reused"
    );
}

#[test]
fn malformed_index_is_reported_and_left_alone() {
    let mut d = Dir::new(1024, false, false, true);
    let mut g = Names(5);
    grow(&mut d, &mut g, 500, 10..=20);
    // An entry pointing past the directory's end.
    let count = u16::from_le_bytes([d.s.blocks[0][34], d.s.blocks[0][35]]) as usize;
    assert!(count > 1);
    let at = 32 + 8 * (count - 1) + 4;
    d.s.blocks[0][at..at + 4].copy_from_slice(&9999u32.to_le_bytes());
    let mut hits = 0;
    for _ in 0..200 {
        let name = g.name(10..=20);
        let before = d.s.blocks.clone();
        let mut scratch = Scratch {
            block: &mut d.block,
            map: &mut d.map,
        };
        match dx::add_entry(&mut d.p, &d.fmt, &mut d.s, &name, 77, 1, &mut scratch).unwrap() {
            AddOutcome::BadIndex(Error::Corrupt { .. }) => {
                hits += 1;
                assert!(before == d.s.blocks, "written through a bad index");
            }
            AddOutcome::Added => {}
            other => panic!("{other:?}"),
        }
        if hits > 0 {
            break;
        }
    }
    assert!(hits > 0, "no name reached the bad entry");
    // A corrupt checksum is an error, not a fallback.
    let mut d = Dir::new(1024, true, false, true);
    grow(&mut d, &mut g, 100, 10..=20);
    d.s.blocks[0][40] ^= 1;
    let mut scratch = Scratch {
        block: &mut d.block,
        map: &mut d.map,
    };
    let r = dx::add_entry(&mut d.p, &d.fmt, &mut d.s, b"x", 77, 1, &mut scratch);
    assert!(matches!(r, Err(Error::BadChecksum { .. })), "{r:?}");
}

#[test]
fn split_keeps_records_packed() {
    // After one split of a full leaf, both halves hold what the leaf held.
    let mut d = Dir::new(1024, true, false, true);
    let mut g = Names(11);
    grow(&mut d, &mut g, 200, 30..=30);
    for blk in 1..d.s.blocks.len() {
        let b = &d.s.blocks[blk];
        let used: usize = Records::new(&b[..], 0, true, MAX_INO)
            .map(|r| r.unwrap())
            .filter(|r| r.is_live())
            .map(|r| rec_len_for(r.name_len))
            .sum();
        assert!(used <= 1012 && used > 0, "block {blk}: {used} bytes");
    }
    assert!(!dx::can_index(3) && dx::can_index(1));
}

/// Names of length `len` whose hash (root version 1) satisfies `want`.
fn names_where(
    d: &Dir,
    g: &mut Names,
    len: usize,
    n: usize,
    want: impl Fn(u32) -> bool,
) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    while v.len() < n {
        let name = g.name(len..=len);
        if want(d.p.hash.hash(1, &name).unwrap().major) && !v.contains(&name) {
            v.push(name);
        }
    }
    v
}

#[test]
fn split_by_rec_len_leaves_room_for_a_long_name() {
    // Three 255-byte names with low hashes and nine short ones with high
    // hashes fill a 1 KiB block; a fourth long name with a low hash: the
    // split must move the short names (by ext4's rule, the moved part is
    // sized by rec_len until half of the block) and leave room below.
    let mut d = Dir::new(1024, true, false, true);
    let mut g = Names(42);
    let shorts = names_where(&d, &mut g, 3, 9, |h| h > 0xC000_0000);
    let longs = names_where(&d, &mut g, 255, 4, |h| h < 0x4000_0000);
    for (i, n) in longs[..3].iter().chain(shorts.iter()).enumerate() {
        assert_eq!(d.add(n, 100 + i as u32), AddOutcome::Added);
    }
    assert!(!d.indexed, "twelve names fit block 0");
    assert_eq!(d.add(&longs[3], 200), AddOutcome::Added);
    d.check_all();
    // Root, the leaf of the long names, the leaf of the short ones: one
    // split was enough.
    assert_eq!(d.s.blocks.len(), 3, "blocks after indexing and one split");
}

#[test]
fn colliding_hashes_split_with_the_collision_bit() {
    // Two names with one hash, in the middle of a full leaf: a split
    // between them sets bit 0 of the new leaf's index hash, and both stay
    // reachable through the lookup's continuation into the next leaf.
    let mut d = Dir::new(1024, true, false, true);
    let mut g = Names(99);
    let mut seen: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let (a, b, hh) = loop {
        let n = g.name(8..=8);
        let h = d.p.hash.hash(1, &n).unwrap().major;
        if let Some(o) = seen.get(&h) {
            if *o != n && h > 0x2000_0000 && h < 0xE000_0000 {
                break (o.clone(), n, h);
            }
        }
        seen.insert(h, n);
    };
    // Sizes that put the split point between the pair: in block 1 after
    // indexing, the records are 264 + 220 (low), 16 + 16 (the pair),
    // 264 + 232 (high, the last one with the block's slack); from the top
    // 496 bytes move, then the second of the pair (504 < 512), and not
    // the first (520 > 512).
    let low = [
        names_where(&d, &mut g, 255, 1, |h| h < hh).remove(0),
        names_where(&d, &mut g, 212, 1, |h| h < hh).remove(0),
    ];
    let high = [
        names_where(&d, &mut g, 255, 1, |h| h > hh).remove(0),
        names_where(&d, &mut g, 200, 1, |h| h > hh).remove(0),
    ];
    let mut ino = 100;
    for n in low.iter().chain([&a, &b]).chain(high.iter()) {
        assert_eq!(d.add(n, ino), AddOutcome::Added);
        ino += 1;
    }
    let new = names_where(&d, &mut g, 30, 1, |h| h > hh).remove(0);
    assert_eq!(d.add(&new, ino), AddOutcome::Added);
    assert!(d.indexed);
    d.check_all();
    let root = &d.s.blocks[0];
    let count = u16::from_le_bytes([root[34], root[35]]) as usize;
    let hashes: Vec<u32> = (1..count)
        .map(|i| u32::from_le_bytes(root[32 + 8 * i..36 + 8 * i].try_into().unwrap()))
        .collect();
    assert!(
        hashes.contains(&(hh | 1)),
        "no collision bit: {hashes:x?}, hash {hh:#x}"
    );
    // Removing one of the pair and adding it back finds its leaf.
    for n in [&a, &b] {
        d.remove(n);
        d.check_all();
        assert_eq!(d.add(n, 77), AddOutcome::Added);
        d.check_all();
    }
}

#[test]
fn out_of_space_between_steps_leaves_a_valid_directory() {
    // Every add that needs blocks is tried with each number of appends
    // short of what it needs: the error comes before the step that wanted
    // the block changed anything, so the directory stays valid and holds
    // exactly the names it held.
    let mut d = Dir::new(1024, true, false, true);
    let mut g = Names(21);
    let mut failures = 0;
    for i in 0..4000u32 {
        let name = g.name(20..=60);
        if d.names.contains_key(&name) {
            continue;
        }
        if d.indexed {
            for allowed in 0..MAX_NEW_BLOCKS as usize {
                d.s.appends_left = Some(allowed);
                let mut scratch = Scratch {
                    block: &mut d.block,
                    map: &mut d.map,
                };
                let r = dx::add_entry(&mut d.p, &d.fmt, &mut d.s, &name, 11 + i, 1, &mut scratch);
                d.s.appends_left = None;
                match r {
                    Ok(AddOutcome::Added) => {
                        d.names.insert(name.clone(), 11 + i);
                        break;
                    }
                    Err(Error::Io { .. }) => {
                        failures += 1;
                        d.check_all();
                        assert_eq!(d.p.dir_blocks as usize, d.s.blocks.len());
                    }
                    other => panic!("{other:?}"),
                }
            }
            if !d.names.contains_key(&name) {
                assert_eq!(d.add(&name, 11 + i), AddOutcome::Added);
            }
        } else {
            assert_eq!(d.add(&name, 11 + i), AddOutcome::Added);
        }
    }
    d.check_all();
    assert!(d.levels() == 1, "the index grew a level");
    assert!(failures > 100, "only {failures} failed appends");
}

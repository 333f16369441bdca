//! The system zone: the range set itself (sorting, merging, lookups at the
//! edges), the zone of mke2fs images against what dumpe2fs reports as
//! metadata, and the extent checks that use it (extents and index children
//! in metadata, a child whose first entry differs from its index entry, a
//! child reached through two index entries after it was verified).

mod common;

use common::*;
use ext4disk::disk::extent::{self, BlockSource, Mapping};
use ext4disk::disk::syszone::{self, BlockRefs, Range, Zone};
use ext4disk::disk::Error;
use ext4disk::image::Image;
use ext4disk::superblock::Superblock;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn r(start: u64, end: u64) -> Range {
    Range { start, end }
}

fn merged(mut v: Vec<Range>) -> Result<Vec<Range>, Error> {
    let n = syszone::sort_merge(&mut v)?;
    v.truncate(n);
    Ok(v)
}

#[test]
fn sort_merge_orders_merges_and_drops_empty() {
    assert_eq!(merged(vec![]), Ok(vec![]));
    assert_eq!(merged(vec![r(5, 5), r(9, 3)]), Ok(vec![]));
    // Adjacent ranges merge, in any input order; gaps stay.
    assert_eq!(
        merged(vec![
            r(20, 21),
            r(10, 12),
            r(12, 15),
            r(0, 1),
            r(15, 16),
            r(7, 7)
        ]),
        Ok(vec![r(0, 1), r(10, 16), r(20, 21)])
    );
    // A gap of one block is not merged.
    assert_eq!(merged(vec![r(3, 4), r(1, 2)]), Ok(vec![r(1, 2), r(3, 4)]));
    // Overlap (one block shared) is corruption, named by the later start.
    assert_eq!(
        merged(vec![r(10, 20), r(19, 25)]),
        Err(Error::Corrupt {
            what: "system zone: metadata blocks claimed twice",
            value: 19
        })
    );
    assert!(merged(vec![r(10, 20), r(10, 11)]).is_err());
    assert!(merged(vec![r(10, 20), r(12, 13)]).is_err());
}

#[test]
fn sort_merge_matches_a_reference_on_random_input() {
    let mut rng = XorShift::new(0x5eed_2026);
    for round in 0..300 {
        let n = (rng.next() % 200) as usize;
        // Disjoint blocks shuffled: a bitmap as the reference.
        let mut used = vec![false; 4096];
        let mut v = Vec::new();
        for _ in 0..n {
            let s = rng.next() % 4000;
            let len = rng.next() % 8;
            if (s..s + len).any(|b| used[b as usize]) {
                continue;
            }
            for b in s..s + len {
                used[b as usize] = true;
            }
            v.push(r(s, s + len));
        }
        let got = merged(v).unwrap();
        let mut want = Vec::new();
        let mut b = 0;
        while b < used.len() {
            if used[b] {
                let s = b;
                while b < used.len() && used[b] {
                    b += 1;
                }
                want.push(r(s as u64, b as u64));
            } else {
                b += 1;
            }
        }
        assert_eq!(got, want, "round {round}");
        assert!(Zone::new(&got).is_some());
        // Lookups agree with the bitmap, edges included.
        let z = Zone::new(&got).unwrap();
        for _ in 0..50 {
            let s = rng.next() % 4090;
            let len = rng.next() % 6;
            let hit = (s..s + len).any(|b| used[b as usize]);
            assert_eq!(z.overlap(s, len).is_some(), hit, "round {round}: {s}+{len}");
        }
    }
}

#[test]
fn zone_lookup_edges() {
    let v = [r(1, 3), r(10, 20), r(100, 101)];
    let z = Zone::new(&v).unwrap();
    assert_eq!(z.overlap(0, 1), None);
    assert_eq!(z.overlap(0, 2), Some(r(1, 3)));
    assert_eq!(z.overlap(3, 7), None, "between: ends right before 10");
    assert_eq!(z.overlap(3, 8), Some(r(10, 20)), "last block is 10");
    assert_eq!(z.overlap(19, 1), Some(r(10, 20)), "last block of a range");
    assert_eq!(z.overlap(20, 80), None, "starts right after a range");
    assert_eq!(z.overlap(5, 1000), Some(r(10, 20)), "spans several: first");
    assert_eq!(z.overlap(15, 0), None, "empty query");
    assert_eq!(z.overlap(101, u64::MAX), None, "saturating end");
    assert_eq!(z.overlap(u64::MAX - 1, 5), None);
    assert_eq!(Zone::EMPTY.overlap(0, u64::MAX), None);
    // Unsorted, adjacent, overlapping or empty ranges are not a zone.
    assert!(Zone::new(&[r(10, 20), r(1, 3)]).is_none());
    assert!(Zone::new(&[r(1, 3), r(3, 5)]).is_none());
    assert!(Zone::new(&[r(1, 4), r(3, 5)]).is_none());
    assert!(Zone::new(&[r(1, 1)]).is_none());
    assert!(Zone::new(&[]).is_some());
}

#[test]
fn block_refs_check() {
    let v = [r(0, 3), r(10, 20)];
    let refs = BlockRefs {
        blocks_count: 1000,
        zone: Zone::new(&v).unwrap(),
    };
    assert_eq!(refs.check("x", 3, 7), Ok(()));
    assert_eq!(refs.check("x", 20, 980), Ok(()), "up to the last block");
    assert_eq!(
        refs.check("x", 20, 981),
        Err(Error::Corrupt {
            what: "x",
            value: 20
        })
    );
    assert_eq!(
        refs.check("x", 9, 2),
        Err(Error::SystemZone {
            what: "x",
            start: 9,
            len: 2,
            zone_start: 10,
            zone_end: 20
        })
    );
    assert!(matches!(
        refs.check("x", 2, 1),
        Err(Error::SystemZone { .. })
    ));
    // Block 0 is never a valid reference, zone or not.
    assert!(BlockRefs::bounds(1000).check("x", 0, 1).is_err());
    assert_eq!(BlockRefs::bounds(1000).check("x", 15, 1), Ok(()));
    assert!(BlockRefs::bounds(1000).check("x", u64::MAX, 2).is_err());
    let e = refs.check("extent: physical block", 12, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "extent: physical block 12 (+1) points into filesystem metadata (system zone blocks 10-19)"
    );
}

// --- Images ---------------------------------------------------------------

fn dumpe2fs_full(img: &Path) -> String {
    let out = Command::new("dumpe2fs").arg(img).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// "A-B" or "A" at the start of `s`.
fn span(s: &str) -> Range {
    let s = s.split([' ', ',']).next().unwrap();
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    r(a.parse().unwrap(), b.parse::<u64>().unwrap() + 1)
}

/// Per group, the metadata dumpe2fs lists: (base: superblock + descriptors
/// + reserved descriptors, others: bitmaps and inode table).
fn dumpe2fs_groups(img: &Path) -> BTreeMap<u32, (Vec<Range>, Vec<Range>)> {
    let mut out: BTreeMap<u32, (Vec<Range>, Vec<Range>)> = BTreeMap::new();
    let mut g = None;
    for line in dumpe2fs_full(img).lines() {
        if let Some(n) = line
            .strip_prefix("Group ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse::<u32>().ok())
        {
            g = Some(n);
            continue;
        }
        let Some(g) = g else { continue };
        let e = out.entry(g).or_default();
        for part in line.trim().split(", ") {
            for (k, base) in [
                ("Primary superblock at ", true),
                ("Backup superblock at ", true),
                ("Group descriptors at ", true),
                ("Group descriptor at ", true),
                ("Reserved GDT blocks at ", true),
                ("Block bitmap at ", false),
                ("Inode bitmap at ", false),
                ("Inode table at ", false),
            ] {
                if let Some(v) = part.strip_prefix(k) {
                    if base {
                        e.0.push(span(v))
                    } else {
                        e.1.push(span(v))
                    }
                }
            }
        }
    }
    out
}

fn journal_length(img: &Path) -> u64 {
    let kv = dumpe2fs(img);
    kv.iter()
        .find(|(k, _)| k == "Total journal blocks")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0)
}

/// The zone rext4 builds for an mke2fs image equals the metadata dumpe2fs
/// lists plus the journal's blocks (as many as dumpe2fs says the journal
/// has), and the files of a populated image map without touching it.
fn zone_matches_dumpe2fs(name: &str, size_mib: u64, opts: &[&str]) {
    let s = Scratch::new("syszone");
    let img = mkfs(&s.0, name, size_mib, opts);
    let image = Image::open(&img).unwrap();
    let groups = dumpe2fs_groups(&img);
    assert_eq!(groups.len() as u64, image.sb.group_count());
    let mut want = vec![syszone::boot_range(&image.sb)];
    for (g, (base, other)) in &groups {
        // The base range of every group, exactly.
        let b = syszone::base_meta_range(&image.sb, *g);
        let theirs = merged(base.clone()).unwrap();
        if b.is_empty() {
            assert!(theirs.is_empty(), "{name}: group {g}: {theirs:?}");
        } else {
            assert_eq!(theirs, vec![b], "{name}: group {g}");
        }
        want.extend(base);
        want.extend(other);
    }
    let journal = image.journal_ranges().unwrap();
    assert_eq!(
        journal.iter().map(|r| r.end - r.start).sum::<u64>(),
        journal_length(&img),
        "{name}: journal blocks"
    );
    want.extend(journal);
    assert_eq!(image.zone, merged(want).unwrap(), "{name}");
    assert!(Zone::new(&image.zone).is_some());
}

#[test]
fn zone_default() {
    zone_matches_dumpe2fs("default.img", 64, &[]);
}

#[test]
fn zone_many_groups_flex_bg() {
    // 32 groups of 2048 blocks: flex_bg packs the bitmaps and tables of 16
    // groups together; sparse_super leaves backups in 1, 3, 5, 7, 9, 25, 27.
    zone_matches_dumpe2fs("flex.img", 256, &["-g", "2048"]);
}

#[test]
fn zone_no_flex_bg() {
    zone_matches_dumpe2fs("noflex.img", 256, &["-g", "2048", "-O", "^flex_bg"]);
}

#[test]
fn zone_1k_blocks() {
    // Block 0 is the boot block, the superblock is block 1.
    zone_matches_dumpe2fs("1k.img", 64, &["-b", "1024"]);
}

#[test]
fn zone_no_64bit() {
    zone_matches_dumpe2fs("no64.img", 256, &["-g", "2048", "-O", "^64bit"]);
}

#[test]
fn zone_no_sparse_super() {
    zone_matches_dumpe2fs(
        "nosparse.img",
        256,
        &["-g", "2048", "-O", "^sparse_super,^resize_inode"],
    );
}

#[test]
fn zone_sparse_super2() {
    zone_matches_dumpe2fs(
        "sparse2.img",
        256,
        &["-g", "2048", "-O", "sparse_super2", "-E", "num_backup_sb=2"],
    );
}

#[test]
fn zone_no_resize_inode() {
    zone_matches_dumpe2fs("noresize.img", 256, &["-g", "2048", "-O", "^resize_inode"]);
}

#[test]
fn zone_no_journal() {
    zone_matches_dumpe2fs("nojournal.img", 64, &["-O", "^has_journal"]);
}

/// meta_bg (rext4 refuses to mount it, but the layout rule is ext4's):
/// the base range of every group against dumpe2fs.
#[test]
fn base_meta_range_meta_bg() {
    let s = Scratch::new("syszone-metabg");
    let img = mkfs(
        &s.0,
        "metabg.img",
        300,
        &["-b", "1024", "-O", "meta_bg,^resize_inode"],
    );
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    let groups = dumpe2fs_groups(&img);
    // 1 KiB blocks, 64-byte descriptors: meta groups of 16 groups.
    assert!(groups.len() > 32, "at least two meta groups");
    let mut seen_gdt_only = false;
    for (g, (base, _)) in &groups {
        let b = syszone::base_meta_range(&sb, *g);
        let theirs = merged(base.clone()).unwrap();
        if b.is_empty() {
            assert!(theirs.is_empty(), "group {g}: {theirs:?}");
        } else {
            assert_eq!(theirs, vec![b], "group {g}");
        }
        seen_gdt_only |= !b.is_empty() && !ext4disk::disk::group::has_super(&sb, *g);
    }
    assert!(
        seen_gdt_only,
        "a group with a descriptor block and no superblock"
    );
}

// --- Extent checks ---------------------------------------------------------

const BS: u32 = 1024;
const NB: u64 = 100_000;

fn put16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
fn header(b: &mut [u8], entries: u16, max: u16, depth: u16) {
    put16(b, 0, 0xF30A);
    put16(b, 2, entries);
    put16(b, 4, max);
    put16(b, 6, depth);
}
fn leaf(b: &mut [u8], i: usize, lblk: u32, len: u16, pblk: u32) {
    let o = 12 + 12 * i;
    put32(b, o, lblk);
    put16(b, o + 4, len);
    put16(b, o + 6, 0);
    put32(b, o + 8, pblk);
}
fn index(b: &mut [u8], i: usize, lblk: u32, child: u32) {
    let o = 12 + 12 * i;
    put32(b, o, lblk);
    put32(b, o + 4, child);
    put16(b, o + 8, 0);
}

/// Blocks in memory with a verified bit per block, like the buffer cache.
struct Mem {
    blocks: BTreeMap<u64, Vec<u8>>,
    verified: RefCell<BTreeSet<u64>>,
}

/// A block and its number.
struct Blk(u64, Vec<u8>);

impl AsRef<[u8]> for Blk {
    fn as_ref(&self) -> &[u8] {
        &self.1
    }
}

impl BlockSource for Mem {
    type Block = Blk;
    fn read(&self, pblk: u64) -> Result<Blk, Error> {
        let b = self.blocks.get(&pblk).ok_or(Error::Io { block: pblk })?;
        Ok(Blk(pblk, b.clone()))
    }
    fn is_verified(&self, b: &Blk) -> bool {
        self.verified.borrow().contains(&b.0)
    }
    fn set_verified(&self, b: &Blk) {
        self.verified.borrow_mut().insert(b.0);
    }
}

impl Mem {
    fn new() -> Mem {
        Mem {
            blocks: BTreeMap::new(),
            verified: RefCell::new(BTreeSet::new()),
        }
    }
    fn leaf_block(&mut self, at: u64, extents: &[(u32, u16, u32)]) {
        let mut b = vec![0u8; BS as usize];
        header(&mut b, extents.len() as u16, 84, 0);
        for (i, &(l, n, p)) in extents.iter().enumerate() {
            leaf(&mut b, i, l, n, p);
        }
        self.blocks.insert(at, b);
    }
}

fn root_index(entries: &[(u32, u32)]) -> [u8; 60] {
    let mut root = [0u8; 60];
    header(&mut root, entries.len() as u16, 4, 1);
    for (i, &(l, c)) in entries.iter().enumerate() {
        index(&mut root, i, l, c);
    }
    root
}

const ZONE: [Range; 2] = [
    Range { start: 0, end: 50 },
    Range {
        start: 1000,
        end: 1100,
    },
];

fn refs() -> BlockRefs<'static> {
    BlockRefs {
        blocks_count: NB,
        zone: Zone::new(&ZONE).unwrap(),
    }
}

#[test]
fn root_extent_into_the_zone() {
    let mut root = [0u8; 60];
    header(&mut root, 2, 4, 0);
    leaf(&mut root, 0, 0, 4, 500);
    leaf(&mut root, 1, 10, 4, 997); // 997..1001: the last two blocks overlap
    let e = extent::check_root(&root, &refs()).unwrap_err();
    assert_eq!(
        e,
        Error::SystemZone {
            what: "extent: physical block",
            start: 997,
            len: 4,
            zone_start: 1000,
            zone_end: 1100
        }
    );
    // Without the zone (bounds only) the same root passes.
    assert!(extent::check_root(&root, &BlockRefs::bounds(NB)).is_ok());
    // Ending right before the zone is fine.
    leaf(&mut root, 1, 10, 3, 997);
    assert!(extent::check_root(&root, &refs()).is_ok());
}

#[test]
fn index_child_into_the_zone() {
    let root = root_index(&[(0, 2000), (100, 1050)]);
    let e = extent::check_root(&root, &refs()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::SystemZone {
                what: "extent index: child block",
                start: 1050,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn leaf_block_extent_into_the_zone() {
    let mut m = Mem::new();
    m.leaf_block(2000, &[(0, 2, 500), (5, 1, 1099)]);
    let root = root_index(&[(0, 2000)]);
    let r = extent::map(&m, &root, 0, &refs(), BS, None);
    assert!(
        matches!(r, Err(Error::SystemZone { start: 1099, .. })),
        "{r:?}"
    );
    assert!(m.verified.borrow().is_empty(), "not marked verified");
    let r = extent::map(&m, &root, 0, &BlockRefs::bounds(NB), BS, None);
    assert_eq!(
        r,
        Ok(Mapping::Mapped {
            pblk: 500,
            len: 2,
            unwritten: false
        })
    );
}

#[test]
fn child_first_entry_must_match_its_index_entry() {
    let mut m = Mem::new();
    // The root says the child starts at 10; its first extent starts at 12.
    m.leaf_block(2000, &[(12, 2, 500)]);
    let root = root_index(&[(10, 2000)]);
    let r = extent::map(&m, &root, 12, &refs(), BS, None);
    assert_eq!(
        r,
        Err(Error::Corrupt {
            what: "extent node: first entry differs from its index entry",
            value: 12
        })
    );
    // Matching: fine. An empty leaf has no first entry to compare.
    let root = root_index(&[(12, 2000)]);
    assert!(extent::map(&m, &root, 12, &refs(), BS, None).is_ok());
    m.leaf_block(2001, &[]);
    let root = root_index(&[(12, 2001)]);
    assert_eq!(
        extent::map(&m, &root, 12, &refs(), BS, None),
        Ok(Mapping::Hole { len: u32::MAX - 11 })
    );
}

/// Two index entries name the same child. Walking the first verifies the
/// block; the walk through the second must still compare the child with
/// the second entry's range (the verified bit caches only what depends on
/// the block's bytes).
#[test]
fn verified_child_reached_through_another_entry() {
    let mut m = Mem::new();
    m.leaf_block(2000, &[(0, 4, 500), (8, 2, 600)]);
    let root = root_index(&[(0, 2000), (100, 2000)]);
    assert_eq!(
        extent::map(&m, &root, 1, &refs(), BS, None),
        Ok(Mapping::Mapped {
            pblk: 501,
            len: 3,
            unwritten: false
        })
    );
    assert!(m.verified.borrow().contains(&2000));
    let r = extent::map(&m, &root, 100, &refs(), BS, None);
    assert_eq!(
        r,
        Err(Error::Corrupt {
            what: "extent node: first entry differs from its index entry",
            value: 0
        })
    );
    // The limit, too: a child verified as the last subtree (no limit),
    // then reached as a subtree that ends at block 5.
    let mut m = Mem::new();
    m.leaf_block(2000, &[(0, 4, 500), (8, 2, 600)]);
    m.leaf_block(2001, &[(5, 1, 700)]);
    let wide = root_index(&[(0, 2000)]);
    assert!(extent::map(&m, &wide, 9, &refs(), BS, None).is_ok());
    let narrow = root_index(&[(0, 2000), (5, 2001)]);
    let r = extent::map(&m, &narrow, 1, &refs(), BS, None);
    assert_eq!(
        r,
        Err(Error::Corrupt {
            what: "extent node: entries beyond its index entry's range",
            value: 9
        })
    );
}

#[test]
fn child_depth_is_checked_on_every_walk() {
    let mut m = Mem::new();
    m.leaf_block(2000, &[(0, 4, 500)]);
    let root = root_index(&[(0, 2000)]);
    assert!(extent::map(&m, &root, 0, &refs(), BS, None).is_ok());
    // The same (verified) leaf named by a depth-2 root: depth 1 wanted.
    let mut deep = root;
    put16(&mut deep, 6, 2);
    let r = extent::map(&m, &deep, 0, &refs(), BS, None);
    assert!(
        matches!(
            r,
            Err(Error::Corrupt {
                what: "extent header: eh_depth",
                ..
            })
        ),
        "{r:?}"
    );
}

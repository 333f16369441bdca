//! Directory block writers (`disk::dir_write`): random add/delete/retarget
//! sequences against a model, checked after every step by the read side
//! (`Records`, `Entries`, `find_name`, `verify_csum`) and by an independent
//! decoder of the records; filling and emptying blocks; bad input; then the
//! writers applied to images made by `mke2fs -d` (rename in a block, moves
//! across directories, a directory moved to a new parent, an htree directory
//! turned linear), judged by `e2fsck -fn` and debugfs.

mod common;

use common::*;
use ext4disk::disk::dir::{
    block_kind, find_name, ftype, rec_len_for, verify_csum, BlockKind, Entries, Records,
};
use ext4disk::disk::dir_write::{self as dw, DirFormat, Located, Slot};
use ext4disk::disk::extent::Mapping;
use ext4disk::disk::htree::{self, DxParams};
use ext4disk::disk::inode::{self, flags, inode_location, store_csum, Inode};
use ext4disk::image::Image;
use ext4disk::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const MAX_INO: u32 = 1_000_000;
const SEED: u32 = 0x1234_5678;

fn fmt(csum: bool, filetype: bool) -> DirFormat {
    DirFormat {
        csum,
        filetype,
        max_ino: MAX_INO,
    }
}

/// One record as decoded by this test (not by the code under test):
/// (offset, inode, rec_len, name_len).
type Raw = (usize, u32, usize, usize);

/// Decodes the records of a block independently of `disk::dir`, asserting
/// they chain exactly to `end`.
fn raw_records(b: &[u8], end: usize) -> Vec<Raw> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < end {
        let ino = u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        let d = u16::from_le_bytes([b[off + 4], b[off + 5]]) as usize;
        let rl = if b.len() == 65536 && (d == 0xFFFF || d == 0) {
            65536
        } else if b.len() == 65536 {
            (d & 0xFFFC) | ((d & 3) << 16)
        } else {
            d
        };
        assert!(
            rl >= 12 && rl % 4 == 0 && off + rl <= end,
            "rec_len {rl} at {off}"
        );
        v.push((off, ino, rl, b[off + 6] as usize));
        off += rl;
    }
    assert_eq!(off, end);
    v
}

fn end_of(b: &[u8], f: &DirFormat) -> usize {
    b.len() - if f.csum { 12 } else { 0 }
}

/// Where a new record of `need` bytes goes, by this test's reading of
/// ext4's rule: into the first record with room, at its start when it is
/// unused, after its own name when it is used.
fn first_fit(b: &[u8], f: &DirFormat, need: usize) -> Option<usize> {
    raw_records(b, end_of(b, f))
        .into_iter()
        .find(|&(_, ino, rl, nl)| {
            let room = if ino == 0 { rl } else { rl - rec_len_for(nl) };
            room >= need
        })
        .map(|(off, ino, _, nl)| if ino == 0 { off } else { off + rec_len_for(nl) })
}

type Model = BTreeMap<Vec<u8>, (u32, u8)>;

/// Everything the read side says about the block agrees with the model.
fn check(b: &[u8], f: &DirFormat, model: &Model, dir: Option<(u32, u32)>, rng: &mut XorShift) {
    let end = end_of(b, f);
    let raw = raw_records(b, end);
    let mut recs = Records::new(b, 0, f.csum, MAX_INO);
    let mut n = 0;
    for r in recs.by_ref() {
        let r = r.unwrap();
        assert_eq!(
            (r.offset, r.ino, r.name_len),
            (raw[n].0, raw[n].1, raw[n].3)
        );
        n += 1;
    }
    assert_eq!((n, recs.offset()), (raw.len(), end));
    let mut listed = Model::new();
    for e in Entries::new(b, 0, f.csum, MAX_INO) {
        let e = e.unwrap();
        assert!(listed
            .insert(e.name.to_vec(), (e.ino, e.file_type))
            .is_none());
    }
    if let Some((ino, parent)) = dir {
        assert_eq!(
            listed.remove(&b"."[..]),
            Some((ino, if f.filetype { 2 } else { 0 }))
        );
        assert_eq!(listed.remove(&b".."[..]).map(|x| x.0), Some(parent));
    }
    let want: Model = model
        .iter()
        .map(|(k, &(i, t))| (k.clone(), (i, if f.filetype { t } else { 0 })))
        .collect();
    assert_eq!(listed, want);
    for (name, &(ino, _)) in model {
        assert_eq!(find_name(b, f.csum, MAX_INO, name).unwrap(), Some(ino));
    }
    let absent = random_name(rng, 20);
    if !model.contains_key(&absent) {
        assert_eq!(find_name(b, f.csum, MAX_INO, &absent).unwrap(), None);
        assert_eq!(dw::locate(b, f, &absent).unwrap(), None);
    }
    if f.csum {
        verify_csum(b, BlockKind::Leaf, SEED).unwrap();
    }
    let first = dir.is_some();
    let ino = dir.map_or(0, |d| d.0);
    assert_eq!(
        dw::is_empty_block(b, f, first, ino).unwrap(),
        model.is_empty()
    );
}

fn random_name(rng: &mut XorShift, max: usize) -> Vec<u8> {
    loop {
        let len = 1 + (rng.next() as usize % max);
        let name: Vec<u8> = (0..len)
            .map(|_| match (rng.next() % 255 + 1) as u8 {
                b'/' => b'_',
                c => c,
            })
            .collect();
        if name != b"." && name != b".." {
            return name;
        }
    }
}

fn csum(b: &mut [u8], f: &DirFormat) {
    if f.csum {
        dw::set_leaf_csum(b, SEED).unwrap();
    }
}

/// A block: the first of directory 11 (parent 2) or an empty one.
fn fresh(bs: usize, f: &DirFormat, first: bool) -> Vec<u8> {
    let mut b = vec![0xAAu8; bs];
    if first {
        dw::init_first_block(&mut b, f, 11, 2).unwrap();
    } else {
        dw::init_empty_block(&mut b, f).unwrap();
    }
    csum(&mut b, f);
    b
}

const SIZES: [usize; 4] = [1024, 2048, 4096, 65536];

#[test]
fn random_sequences_match_model() {
    let mut rng = XorShift::new(0x5EED_0001);
    let mut counts = [0usize; 5];
    for bs in SIZES {
        for csum_on in [false, true] {
            for filetype in [false, true] {
                for first in [false, true] {
                    let f = fmt(csum_on, filetype);
                    let dir = first.then_some((11, 2));
                    let mut b = fresh(bs, &f, first);
                    let mut model = Model::new();
                    check(&b, &f, &model, dir, &mut rng);
                    let steps = if bs == 65536 { 1500 } else { 2500 };
                    for _ in 0..steps {
                        let op = rng.next() % 10;
                        let before = b.clone();
                        if op < 5 || model.is_empty() {
                            // Add a new name (long ones often, so blocks fill).
                            let name = random_name(&mut rng, if op < 2 { 255 } else { 40 });
                            let ino = 1 + (rng.next() % u64::from(MAX_INO)) as u32;
                            let ft = (rng.next() % 8) as u8;
                            let need = rec_len_for(name.len());
                            let fit = first_fit(&b, &f, need);
                            let got = dw::add_entry(&mut b, &f, &name, ino, ft).unwrap();
                            if let Some(&(old, _)) = model.get(&name) {
                                assert!(matches!(got, Slot::Exists { ino, .. } if ino == old));
                                assert_eq!(b, before);
                                counts[1] += 1;
                                continue;
                            }
                            match (got, fit) {
                                (Slot::Fits(at), Some(off)) => {
                                    let raw = raw_records(&b, end_of(&b, &f));
                                    let new = raw.iter().find(|r| r.0 == at).unwrap();
                                    assert_eq!((new.1, new.3), (ino, name.len()));
                                    assert_eq!(at, off);
                                    model.insert(name, (ino, ft));
                                    counts[0] += 1;
                                }
                                (Slot::NoSpace, None) => {
                                    assert_eq!(b, before);
                                    counts[2] += 1;
                                }
                                other => panic!("{other:?}"),
                            }
                        } else if op == 5 {
                            // An existing name: refused, block unchanged.
                            let i = rng.next() as usize % model.len();
                            let (name, &(ino, _)) = model.iter().nth(i).unwrap();
                            let got = dw::add_entry(&mut b, &f, name, 7, 1).unwrap();
                            assert!(matches!(got, Slot::Exists { ino: x, .. } if x == ino));
                            assert_eq!(dw::find_slot(&b, &f, name).unwrap(), got);
                            assert_eq!(b, before);
                            counts[1] += 1;
                            continue;
                        } else if op < 9 {
                            let i = rng.next() as usize % model.len();
                            let name = model.keys().nth(i).unwrap().clone();
                            let l = dw::locate(&b, &f, &name).unwrap().unwrap();
                            let raw = raw_records(&b, end_of(&b, &f));
                            let k = raw.iter().position(|r| r.0 == l.offset).unwrap();
                            assert_eq!(l.prev, k.checked_sub(1).map(|p| raw[p].0));
                            assert_eq!(l.ino, model[&name].0);
                            dw::delete_entry(&mut b, &f, l.offset).unwrap();
                            model.remove(&name);
                            counts[3] += 1;
                        } else {
                            let i = rng.next() as usize % model.len();
                            let name = model.keys().nth(i).unwrap().clone();
                            let ino = 1 + (rng.next() % 1000) as u32;
                            let old = model[&name].0;
                            let got = dw::set_entry_inode(&mut b, &f, &name, ino, 2).unwrap();
                            assert_eq!(got, Some(old));
                            model.insert(name, (ino, 2));
                            counts[4] += 1;
                        }
                        csum(&mut b, &f);
                        check(&b, &f, &model, dir, &mut rng);
                    }
                }
            }
        }
    }
    // Every kind of step happened many times.
    assert!(counts.iter().all(|&c| c > 500), "{counts:?}");
}

/// Unique names of exactly `len` bytes.
fn nth_name(i: usize, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut x = i;
    for _ in 0..len {
        v.push(b'a' + (x % 26) as u8);
        x /= 26;
    }
    assert_eq!(x, 0, "name space too small");
    v
}

#[test]
fn fill_empty_and_reuse() {
    let mut rng = XorShift::new(0x5EED_0002);
    for bs in SIZES {
        for csum_on in [false, true] {
            for first in [false, true] {
                for len in [1usize, 5, 100, 255] {
                    let f = fmt(csum_on, true);
                    let dir = first.then_some((11, 2));
                    let pristine = fresh(bs, &f, first);
                    let usable = bs - if csum_on { 12 } else { 0 } - if first { 24 } else { 0 };
                    let want = usable / rec_len_for(len);
                    if len == 1 && want > 26 {
                        continue;
                    }
                    let mut b = pristine.clone();
                    for round in 0..2 {
                        let mut model = Model::new();
                        let mut i = 0;
                        loop {
                            let name = nth_name(i, len);
                            match dw::add_entry(&mut b, &f, &name, 100 + i as u32, 1).unwrap() {
                                Slot::Fits(_) => model.insert(name, (100 + i as u32, 1)),
                                Slot::NoSpace => break,
                                s => panic!("{s:?}"),
                            };
                            i += 1;
                        }
                        assert_eq!(i, want, "bs {bs} csum {csum_on} first {first} len {len}");
                        csum(&mut b, &f);
                        check(&b, &f, &model, dir, &mut rng);
                        // Delete everything, in random order.
                        let mut names: Vec<Vec<u8>> = model.keys().cloned().collect();
                        while !names.is_empty() {
                            let k = rng.next() as usize % names.len();
                            let name = names.swap_remove(k);
                            let l = dw::locate(&b, &f, &name).unwrap().unwrap();
                            dw::delete_entry(&mut b, &f, l.offset).unwrap();
                            model.remove(&name);
                        }
                        csum(&mut b, &f);
                        check(&b, &f, &model, dir, &mut rng);
                        // All space merged back, every byte as fresh.
                        assert!(
                            b == pristine,
                            "round {round}: block differs from a fresh one"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn rec_len_encoding_of_64k_blocks() {
    assert_eq!(dw::rec_len_to_disk(65536, 65536), Ok(0xFFFF));
    assert_eq!(dw::rec_len_to_disk(65532, 65536), Ok(65532));
    assert_eq!(dw::rec_len_to_disk(4096, 4096), Ok(4096));
    for (len, bs) in [(65540, 65536), (8, 1024), (14, 1024), (2048, 1024)] {
        assert!(dw::rec_len_to_disk(len, bs).is_err(), "{len} {bs}");
    }
    let f = fmt(false, true);
    let mut b = vec![0u8; 65536];
    dw::init_empty_block(&mut b, &f).unwrap();
    assert_eq!(&b[4..6], &[0xFF, 0xFF]);
    let at = match dw::add_entry(&mut b, &f, b"x", 12, 1).unwrap() {
        Slot::Fits(at) => at,
        s => panic!("{s:?}"),
    };
    assert_eq!(at, 0);
    assert_eq!(&b[4..6], &[0xFF, 0xFF]);
    assert!(matches!(
        dw::add_entry(&mut b, &f, b"y", 13, 1).unwrap(),
        Slot::Fits(12)
    ));
    assert_eq!(u16::from_le_bytes([b[4], b[5]]), 12);
    assert_eq!(u16::from_le_bytes([b[16], b[17]]), 65524);
    dw::delete_entry(&mut b, &f, 12).unwrap();
    assert_eq!(&b[4..6], &[0xFF, 0xFF]);
    assert_eq!(find_name(&b, false, MAX_INO, b"x").unwrap(), Some(12));
    // First block of a 64 KiB directory: ".." spans 65524 bytes.
    dw::init_first_block(&mut b, &f, 11, 2).unwrap();
    assert_eq!(u16::from_le_bytes([b[16], b[17]]), 65524);
    assert!(dw::is_empty_block(&b, &f, true, 11).unwrap());
}

#[test]
fn bad_input_is_refused() {
    let f = fmt(true, true);
    let mut b = fresh(1024, &f, true);
    for n in [b"a".as_slice(), b"bb", b"ccc"] {
        assert!(matches!(
            dw::add_entry(&mut b, &f, n, 20, 1),
            Ok(Slot::Fits(_))
        ));
    }
    csum(&mut b, &f);
    let good = b.clone();
    let unsupported = |r: Result<Slot, Error>| matches!(r, Err(Error::Unsupported { .. }));
    assert!(unsupported(dw::add_entry(&mut b, &f, b"", 20, 1)));
    assert!(unsupported(dw::add_entry(&mut b, &f, &[b'x'; 256], 20, 1)));
    assert!(unsupported(dw::add_entry(&mut b, &f, b"a/b", 20, 1)));
    assert!(unsupported(dw::add_entry(&mut b, &f, b"a\0b", 20, 1)));
    assert!(unsupported(dw::add_entry(&mut b, &f, b"zz", 0, 1)));
    assert!(unsupported(dw::add_entry(
        &mut b,
        &f,
        b"zz",
        MAX_INO + 1,
        1
    )));
    assert!(unsupported(dw::add_entry(&mut b, &f, b"zz", 20, 8)));
    // Offsets that are not a record, unused records, the tail.
    for off in [1, 4, 12 + 4, 24 + 1, 1024 - 12, 1024 - 4, 5000] {
        assert!(dw::delete_entry(&mut b, &f, off).is_err(), "{off}");
        assert!(
            dw::insert_entry(&mut b, &f, off, b"q", 30, 1).is_err(),
            "{off}"
        );
    }
    // "." has no slack: nothing fits into it.
    assert!(dw::insert_entry(&mut b, &f, 0, b"q", 30, 1).is_err());
    assert_eq!(b, good);
    // Block sizes and a missing tail.
    assert!(dw::init_empty_block(&mut [0u8; 512], &f).is_err());
    assert!(dw::init_empty_block(&mut vec![0u8; 3072], &f).is_err());
    assert!(dw::init_empty_block(&mut vec![0u8; 131072], &f).is_err());
    let mut nt = fresh(1024, &fmt(false, true), false);
    assert!(dw::add_entry(&mut nt, &f, b"x", 20, 1).is_err());
    assert!(dw::set_leaf_csum(&mut nt, SEED).is_err());
    // set_dotdot and the first-block checks want a real "." of this dir.
    assert!(dw::set_dotdot(&mut b, &f, 12, 3).is_err());
    assert!(dw::is_empty_block(&b, &f, true, 12).is_err());
    dw::set_dotdot(&mut b, &f, 11, 3).unwrap();
    assert_eq!(u32::from_le_bytes(b[12..16].try_into().unwrap()), 3);
    // A dx-node conversion never wipes a leaf with entries.
    let mut leaf = good.clone();
    assert!(dw::dx_node_to_leaf(&mut leaf, &f).is_err());
    assert!(dw::dx_root_to_linear(&mut leaf, &f, 11).is_err());
    assert_eq!(leaf, good);
}

/// Damaged headers: every writer either refuses without writing or leaves
/// a block the read side accepts; nothing panics.
#[test]
fn damaged_blocks_are_refused_never_panic() {
    let mut rng = XorShift::new(0x5EED_0003);
    let mut seen = [0usize; 2];
    for bs in [1024usize, 4096] {
        for csum_on in [false, true] {
            let f = fmt(csum_on, true);
            let mut good = fresh(bs, &f, true);
            let mut i = 0;
            while let Slot::Fits(_) =
                dw::add_entry(&mut good, &f, &nth_name(i, 6), 50 + i as u32, 1).unwrap()
            {
                i += 1;
                if i == 40 {
                    break;
                }
            }
            csum(&mut good, &f);
            let headers: Vec<usize> = raw_records(&good, end_of(&good, &f))
                .iter()
                .map(|r| r.0)
                .collect();
            for _ in 0..4000 {
                let mut b = good.clone();
                let h = headers[rng.next() as usize % headers.len()];
                let at = h + (rng.next() % 8) as usize;
                b[at] ^= 1 << (rng.next() % 8);
                let bad = Records::new(&b[..], 0, csum_on, MAX_INO).any(|r| r.is_err());
                let damaged = b.clone();
                let name = nth_name(1000 + (rng.next() % 100) as usize, 6);
                let results = [
                    dw::add_entry(&mut b, &f, &name, 9, 1).map(|_| ()),
                    dw::delete_entry(&mut b, &f, h).map(|_| ()),
                    dw::set_entry_inode(&mut b, &f, &nth_name(3, 6), 9, 1).map(|_| ()),
                    dw::locate(&b, &f, &nth_name(5, 6)).map(|_| ()),
                    dw::is_empty_block(&b, &f, true, 11).map(|_| ()),
                    dw::set_dotdot(&mut b, &f, 11, 5).map(|_| ()),
                ];
                if bad {
                    // add_entry walks the whole block first: it fails and
                    // writes nothing.
                    seen[0] += 1;
                    assert!(results[0].is_err(), "add into a damaged block");
                    let mut b2 = damaged.clone();
                    assert!(dw::add_entry(&mut b2, &f, &name, 9, 1).is_err());
                    assert_eq!(b2, damaged);
                } else {
                    // A clean walk: the result is still readable.
                    seen[1] += 1;
                    for r in Records::new(&b[..], 0, csum_on, MAX_INO) {
                        r.unwrap();
                    }
                }
            }
        }
    }
    assert!(seen.iter().all(|&n| n > 1000), "damaged/harmless: {seen:?}");
}

// ---------------------------------------------------------------------------
// Real images
// ---------------------------------------------------------------------------

fn run_out(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap()
}

fn debugfs(img: &Path, req: &str) -> String {
    let o = run_out(Command::new("debugfs").args(["-R", req]).arg(img));
    assert!(o.status.success(), "debugfs {req}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The names `debugfs -R "ls -l DIR"` lists.
fn ls(img: &Path, dir: &str) -> BTreeSet<String> {
    debugfs(img, &format!("ls -l {dir}"))
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

/// `e2fsck -fn`: (exit code, output).
fn fsck(img: &Path) -> (i32, String) {
    let o = run_out(Command::new("e2fsck").arg("-fn").arg(img));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn mkfs_d(dir: &Path, tree: &Path, name: &str, bs: u32, csum_on: bool) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let feat = if csum_on {
        "metadata_csum"
    } else {
        "^metadata_csum"
    };
    let o = run_out(
        Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-b", &bs.to_string()])
            .args(["-N", "8192", "-O", feat, "-d"])
            .arg(tree)
            .arg(&img)
            .env("MKE2FS_CONFIG", "/etc/mke2fs.conf"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    img
}

/// An image opened for block edits through host file I/O.
struct Edit {
    file: std::fs::File,
    img: Image,
    bs: usize,
    fmt: DirFormat,
}

impl Edit {
    fn open(path: &Path) -> Edit {
        let img = Image::open(path).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        Edit {
            file,
            bs: img.sb.block_size() as usize,
            fmt: DirFormat::from_superblock(&img.sb),
            img,
        }
    }

    fn lookup(&self, path: &str) -> Inode {
        let mut dir = self.img.inode(inode::ROOT_INO).unwrap();
        for c in path.split('/').filter(|c| !c.is_empty()) {
            let e = self.img.read_dir(&dir).unwrap();
            let e = e.iter().find(|e| e.name == c.as_bytes()).unwrap();
            dir = self.img.inode(e.ino).unwrap();
        }
        dir
    }

    /// The physical blocks of a directory, in logical order.
    fn blocks(&self, dir: &Inode) -> Vec<u64> {
        (0..dir.size.div_ceil(self.bs as u64))
            .map(|l| match self.img.map(dir, l as u32).unwrap() {
                Mapping::Mapped { pblk, .. } => pblk,
                m => panic!("{m:?}"),
            })
            .collect()
    }

    fn read(&self, pblk: u64) -> Vec<u8> {
        let mut b = vec![0u8; self.bs];
        self.file
            .read_exact_at(&mut b, pblk * self.bs as u64)
            .unwrap();
        b
    }

    fn write(&self, pblk: u64, b: &[u8]) {
        self.file.write_all_at(b, pblk * self.bs as u64).unwrap();
    }

    /// Finds `name` in directory `dir`: (block, where).
    fn locate(&self, dir: &Inode, name: &str) -> (u64, Located) {
        for p in self.blocks(dir) {
            if let Some(l) = dw::locate(&self.read(p), &self.fmt, name.as_bytes()).unwrap() {
                return (p, l);
            }
        }
        panic!("{name} not found");
    }

    /// Adds `name` to the first block of `dir` with room.
    fn add(&self, dir: &Inode, name: &str, ino: u32, ft: u8) -> u64 {
        for p in self.blocks(dir) {
            let mut b = self.read(p);
            match dw::add_entry(&mut b, &self.fmt, name.as_bytes(), ino, ft).unwrap() {
                Slot::Fits(_) => {
                    self.write(p, &b);
                    return p;
                }
                Slot::NoSpace => continue,
                s => panic!("{name}: {s:?}"),
            }
        }
        panic!("no room for {name}");
    }

    /// Recomputes the checksum of every leaf block of `dir`.
    fn csum_dir(&self, dir: &Inode) {
        if !self.fmt.csum {
            return;
        }
        let d = self.img.inode(dir.ino).unwrap_or_else(|_| dir.clone());
        for p in self.blocks(&d) {
            let mut b = self.read(p);
            dw::set_leaf_csum(&mut b, d.csum_seed).unwrap();
            self.write(p, &b);
        }
    }

    /// Byte offset of inode `ino` in the image.
    fn inode_pos(&self, ino: u32) -> u64 {
        let (g, off) = inode_location(&self.img.sb, ino).unwrap();
        self.img.groups[g as usize].inode_table * self.bs as u64 + off
    }

    /// Edits the raw bytes of inode `ino`, then sets its checksum.
    fn edit_inode(&self, ino: u32, f: impl FnOnce(&mut [u8])) {
        let mut raw = vec![0u8; self.img.sb.inode_size as usize];
        let pos = self.inode_pos(ino);
        self.file.read_exact_at(&mut raw, pos).unwrap();
        f(&mut raw);
        store_csum(&self.img.sb, ino, &mut raw).unwrap();
        self.file.write_all_at(&raw, pos).unwrap();
    }
}

fn add_links(raw: &mut [u8], d: i32) {
    let n = u16::from_le_bytes([raw[0x1A], raw[0x1B]]) as i32 + d;
    raw[0x1A..0x1C].copy_from_slice(&(n as u16).to_le_bytes());
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    None,
    /// Leave the checksums of the changed blocks stale.
    SkipCsum,
    /// Break the rec_len of a moved entry (checksums then set).
    BadRecLen,
}

fn small_tree(root: &Path) {
    use std::fs;
    for d in ["src/sub", "src/empty", "dst"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    for (n, c) in [("a", "A"), ("x", "X"), ("y", "Y"), ("m", "M")] {
        fs::write(root.join("src").join(n), c).unwrap();
    }
    for i in 0..60 {
        fs::write(root.join(format!("src/filler-file-number-{i:03}")), "").unwrap();
    }
    fs::write(root.join("src/sub/inner"), "I").unwrap();
    fs::write(root.join("dst/d0"), "D").unwrap();
}

/// Renames src/a to src/b in its block, swaps what src/x and src/y name,
/// moves src/m to dst/m and the directory src/sub to dst/sub (".." and
/// link counts follow), then sets the checksums (unless `fault`).
fn edit_image(img: &Path, fault: Fault) {
    let e = Edit::open(img);
    let src = e.lookup("/src");
    let dst = e.lookup("/dst");
    let sub = e.lookup("/src/sub");
    let empty = e.lookup("/src/empty");
    assert!(
        e.blocks(&src).len() >= 2 || e.bs == 4096,
        "src spans blocks"
    );

    // Emptiness, per block.
    for (i, p) in e.blocks(&empty).into_iter().enumerate() {
        assert!(dw::is_empty_block(&e.read(p), &e.fmt, i == 0, empty.ino).unwrap());
    }
    let sub0 = e.blocks(&sub)[0];
    assert!(!dw::is_empty_block(&e.read(sub0), &e.fmt, true, sub.ino).unwrap());

    // a -> b inside its block.
    let (p, l) = e.locate(&src, "a");
    let mut b = e.read(p);
    dw::delete_entry(&mut b, &e.fmt, l.offset).unwrap();
    assert!(matches!(
        dw::add_entry(&mut b, &e.fmt, b"b", l.ino, l.file_type).unwrap(),
        Slot::Fits(_)
    ));
    e.write(p, &b);

    // x <-> y.
    let (px, lx) = e.locate(&src, "x");
    let (_, ly) = e.locate(&src, "y");
    let mut b = e.read(px);
    assert_eq!(
        dw::set_entry_inode(&mut b, &e.fmt, b"x", ly.ino, ly.file_type).unwrap(),
        Some(lx.ino)
    );
    e.write(px, &b);
    let (py, _) = e.locate(&src, "y");
    let mut b = e.read(py);
    assert_eq!(
        dw::set_entry_inode(&mut b, &e.fmt, b"y", lx.ino, lx.file_type).unwrap(),
        Some(ly.ino)
    );
    e.write(py, &b);

    // m and sub move to dst.
    for name in ["m", "sub"] {
        let (p, l) = e.locate(&src, name);
        let mut b = e.read(p);
        dw::delete_entry(&mut b, &e.fmt, l.offset).unwrap();
        e.write(p, &b);
        e.add(&dst, name, l.ino, l.file_type);
    }
    let mut b = e.read(sub0);
    dw::set_dotdot(&mut b, &e.fmt, sub.ino, dst.ino).unwrap();
    e.write(sub0, &b);
    e.edit_inode(src.ino, |r| add_links(r, -1));
    e.edit_inode(dst.ino, |r| add_links(r, 1));

    if fault == Fault::BadRecLen {
        let (p, l) = e.locate(&dst, "m");
        let mut b = e.read(p);
        let rl = u16::from_le_bytes([b[l.offset + 4], b[l.offset + 5]]);
        b[l.offset + 4..l.offset + 6].copy_from_slice(&(rl + 4).to_le_bytes());
        e.write(p, &b);
    }
    if fault != Fault::SkipCsum {
        for d in [&src, &dst, &sub] {
            e.csum_dir(d);
        }
    }
}

#[test]
fn image_rename_and_moves_pass_e2fsck() {
    let s = Scratch::new("dirw-img");
    let tree = s.0.join("tree");
    small_tree(&tree);
    for bs in [1024, 4096] {
        for csum_on in [false, true] {
            let img = mkfs_d(&s.0, &tree, &format!("i{bs}{csum_on}.img"), bs, csum_on);
            assert_eq!(fsck(&img).0, 0);
            edit_image(&img, Fault::None);
            let (code, out) = fsck(&img);
            assert_eq!(code, 0, "bs {bs} csum {csum_on}:\n{out}");
            let src = ls(&img, "/src");
            assert!(src.contains("b") && src.contains("x") && src.contains("y"));
            for gone in ["a", "m", "sub"] {
                assert!(!src.contains(gone), "{gone} still in /src");
            }
            assert!(src.contains("filler-file-number-059"));
            let dst = ls(&img, "/dst");
            for n in ["d0", "m", "sub"] {
                assert!(dst.contains(n), "{n} not in /dst: {dst:?}");
            }
            assert_eq!(debugfs(&img, "cat /src/b"), "A");
            assert_eq!(debugfs(&img, "cat /src/x"), "Y");
            assert_eq!(debugfs(&img, "cat /src/y"), "X");
            assert_eq!(debugfs(&img, "cat /dst/m"), "M");
            assert_eq!(debugfs(&img, "cat /dst/sub/inner"), "I");
            // The crate's own reader (verifying checksums) agrees.
            let e = Edit::open(&img);
            let dst_ino = e.lookup("/dst").ino;
            let sub = e.img.read_dir(&e.lookup("/dst/sub")).unwrap();
            let dd = sub.iter().find(|x| x.name == b"..").unwrap();
            assert_eq!(dd.ino, dst_ino);
            std::fs::remove_file(img).unwrap();
        }
    }
}

/// The same edits with a fault: e2fsck must see it.
#[test]
fn image_faults_fail_e2fsck() {
    let s = Scratch::new("dirw-fault");
    let tree = s.0.join("tree");
    small_tree(&tree);
    for (bs, csum_on, fault) in [
        (1024, true, Fault::SkipCsum),
        (4096, true, Fault::SkipCsum),
        (1024, false, Fault::BadRecLen),
        (4096, true, Fault::BadRecLen),
    ] {
        let img = mkfs_d(&s.0, &tree, "f.img", bs, csum_on);
        edit_image(&img, fault);
        let (code, out) = fsck(&img);
        assert_ne!(code, 0, "{bs} {csum_on} {fault:?}: e2fsck passed:\n{out}");
        let why = match fault {
            Fault::SkipCsum => "fails checksum",
            _ => "directory corrupted",
        };
        assert!(out.contains(why), "{fault:?}: {out}");
        std::fs::remove_file(img).unwrap();
    }
}

// ---------------------------------------------------------------------------
// htree -> linear
// ---------------------------------------------------------------------------

fn big_name(i: usize) -> String {
    format!("entry-{i:05}-{}", "qwertyuiop".repeat(1 + i % 3))
}

#[test]
fn htree_converted_to_linear_passes_e2fsck() {
    let s = Scratch::new("dirw-htree");
    let tree = s.0.join("tree");
    let n = 4000;
    std::fs::create_dir_all(tree.join("d")).unwrap();
    for i in 0..n {
        std::fs::write(tree.join("d").join(big_name(i)), "").unwrap();
    }
    for csum_on in [true, false] {
        let img = mkfs_d(&s.0, &tree, "h.img", 1024, csum_on);
        // mke2fs -d does not index; e2fsck -D does.
        let o = run_out(Command::new("e2fsck").arg("-fyD").arg(&img));
        assert!(o.status.code().unwrap_or(8) <= 1);
        let e = Edit::open(&img);
        let d = e.lookup("/d");
        assert!(d.flags & flags::INDEX != 0, "not indexed");
        let blocks = e.blocks(&d);
        let root = e.read(blocks[0]);
        let p = DxParams::new(&e.img.sb, d.size, d.csum_seed).unwrap();
        let (info, rb) = htree::parse_root(&p, &root, false).unwrap();
        assert_eq!(info.indirect_levels, 1, "want interior nodes");
        let nodes: BTreeSet<u32> = (0..rb.count()).map(|i| rb.block(i).unwrap()).collect();
        let mut converted = 0;
        for (lblk, &pblk) in blocks.iter().enumerate() {
            let mut b = e.read(pblk);
            let kind = block_kind(&b, true, lblk as u32).unwrap();
            assert_eq!(
                kind == BlockKind::DxNode,
                nodes.contains(&(lblk as u32)),
                "lblk {lblk}"
            );
            match kind {
                BlockKind::DxRoot => dw::dx_root_to_linear(&mut b, &e.fmt, d.ino).unwrap(),
                BlockKind::DxNode => dw::dx_node_to_leaf(&mut b, &e.fmt).unwrap(),
                BlockKind::Leaf => continue,
            }
            if e.fmt.csum {
                dw::set_leaf_csum(&mut b, d.csum_seed).unwrap();
            }
            e.write(pblk, &b);
            converted += 1;
        }
        assert_eq!(converted, 1 + nodes.len());
        e.edit_inode(d.ino, |r| {
            let fl = u32::from_le_bytes(r[0x20..0x24].try_into().unwrap()) & !flags::INDEX;
            r[0x20..0x24].copy_from_slice(&fl.to_le_bytes());
        });
        let (code, out) = fsck(&img);
        assert_eq!(code, 0, "csum {csum_on}:\n{out}");

        // Every name, by a linear scan of the (now unindexed) directory.
        let e = Edit::open(&img);
        let d = e.lookup("/d");
        assert_eq!(d.flags & flags::INDEX, 0);
        let listed: BTreeSet<Vec<u8>> = e
            .img
            .read_dir(&d)
            .unwrap()
            .into_iter()
            .map(|x| x.name)
            .collect();
        let mut want: BTreeSet<Vec<u8>> = (0..n).map(|i| big_name(i).into_bytes()).collect();
        want.insert(b".".to_vec());
        want.insert(b"..".to_vec());
        assert_eq!(listed, want);
        let bufs: Vec<Vec<u8>> = e.blocks(&d).iter().map(|&p| e.read(p)).collect();
        for i in (0..n).step_by(7) {
            let name = big_name(i);
            let hits = bufs
                .iter()
                .filter(|b| {
                    find_name(&b[..], csum_on, e.img.sb.inodes_count, name.as_bytes())
                        .unwrap()
                        .is_some()
                })
                .count();
            assert_eq!(hits, 1, "{name}");
        }
        // The former root takes new entries like any leaf: a second
        // link to a file.
        let f0 = e.lookup(&format!("/d/{}", big_name(0))).ino;
        let p = e.add(&d, "added-after-conversion", f0, ftype::REG);
        assert_eq!(p, e.blocks(&d)[0], "the former root has room");
        e.csum_dir(&d);
        e.edit_inode(f0, |r| add_links(r, 1));
        let (code, out) = fsck(&img);
        assert_eq!(code, 0, "csum {csum_on}, after an add:\n{out}");
        assert!(ls(&img, "/d").contains("added-after-conversion"));
        std::fs::remove_file(img).unwrap();
    }
}

//! htree: the name hashes against debugfs's `dx_hash` and `htree_dump`, and
//! the lookup walk over every name of indexed directories made by
//! `mkfs.ext4 -d` + `e2fsck -D` (every hash variant, 1, 2 and 4 KiB blocks)
//! and by the kernel's ext4 on a loop mount (60000 entries, three levels
//! with large_dir), compared with a linear scan; corrupted index blocks
//! (located with debugfs, not with the parser under test) are errors.

mod common;

use common::*;
use ext4disk::disk::bytes::Bytes;
use ext4disk::disk::dir::{find_name, verify_csum, BlockKind, Entries};
use ext4disk::disk::extent::{BlockSource, Mapping};
use ext4disk::disk::htree::{self, DirBlockReader, DxParams};
use ext4disk::disk::inode::Inode;
use ext4disk::image::Image;
use ext4disk::Error;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn debugfs(img: &Path, req: &str) -> String {
    String::from_utf8_lossy(&run(Command::new("debugfs").args(["-R", req]).arg(img))).into_owned()
}

fn debugfs_w(img: &Path, req: &str) {
    let out = Command::new("debugfs")
        .args(["-w", "-R", req])
        .arg(img)
        .output()
        .unwrap();
    assert!(
        out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("rror"),
        "{req}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// Hash functions against debugfs dx_hash
// ---------------------------------------------------------------------------

fn uuid_seed(s: &str) -> [u32; 4] {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    [0, 1, 2, 3].map(|i| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap()))
}

/// Names of every length class the hashes treat differently (block
/// boundaries of 16 and 32 bytes, padding) with bytes above 0x7f, where
/// signed and unsigned differ.
fn vector_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "a",
        "hello",
        "héllo",
        "lost+found",
        "ÿÿÿÿ",
        "éééééééé",
        "0123456789abcde",
        "0123456789abcdef",
        "0123456789abcdefg",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef0",
        "☃☃☃☃☃☃☃☃☃☃☃",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in [33, 63, 64, 65, 100, 127, 128, 200, 254, 255] {
        v.push(
            (0..n)
                .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
                .collect(),
        );
    }
    v.push("é".repeat(127));
    v
}

#[test]
fn hashes_match_debugfs_dx_hash() {
    let s = Scratch::new("dxhash");
    let img = mkfs(&s.0, "h.img", 8, &[]);
    let seeds = [
        "00000000-0000-0000-0000-000000000000",
        "01234567-89ab-cdef-0123-456789abcdef",
        "f1e2d3c4-b5a6-9788-6950-41322314f5e6",
    ];
    let names = vector_names();
    let mut cmds = String::new();
    let mut want = Vec::new();
    for seed in seeds {
        for version in 0u8..6 {
            for n in &names {
                cmds.push_str(&format!("dx_hash -h {version} -s {seed} {n}\n"));
                want.push((version, seed, n.clone()));
            }
        }
    }
    let cf = s.0.join("cmds");
    std::fs::write(&cf, cmds).unwrap();
    let out = run(Command::new("debugfs").arg("-f").arg(&cf).arg(&img));
    let text = String::from_utf8_lossy(&out);
    let got: Vec<(u32, u32)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("Hash of ")?;
            let (_, h) = rest.rsplit_once(" is 0x")?;
            let (major, minor) = h.split_once(" (minor 0x")?;
            Some((
                u32::from_str_radix(major, 16).unwrap(),
                u32::from_str_radix(minor.trim_end_matches(')'), 16).unwrap(),
            ))
        })
        .collect();
    assert_eq!(got.len(), want.len(), "debugfs output:\n{text}");
    let mut differ_by_sign = 0;
    for ((version, seed, name), (major, minor)) in want.iter().zip(&got) {
        let h = htree::dirhash(*version, &uuid_seed(seed), name.as_bytes()).unwrap();
        assert_eq!(
            (h.major, h.minor),
            (*major, *minor),
            "version {version} seed {seed} name {name:?}"
        );
        if *version < 3 {
            let u = htree::dirhash(version + 3, &uuid_seed(seed), name.as_bytes()).unwrap();
            if u != h {
                differ_by_sign += 1;
            }
        }
    }
    // The vectors do exercise the signedness.
    assert!(differ_by_sign > 20, "{differ_by_sign}");
    // Siphash is refused as unsupported, unknown versions as corrupt.
    assert!(matches!(
        htree::dirhash(6, &[0; 4], b"x"),
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        htree::dirhash(7, &[0; 4], b"x"),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn signedness_from_superblock_flags() {
    use htree::HashConfig;
    assert!(HashConfig::unsigned_from_flags(htree::FLAGS_UNSIGNED_HASH));
    assert!(!HashConfig::unsigned_from_flags(htree::FLAGS_SIGNED_HASH));
    // Neither: the kernel's char, unsigned (-funsigned-char since 6.2).
    assert!(HashConfig::unsigned_from_flags(0));
    let c = HashConfig {
        unsigned: true,
        seed: [0; 4],
    };
    assert_eq!(c.effective_version(1), 4);
    let c = HashConfig {
        unsigned: false,
        seed: [0; 4],
    };
    assert_eq!(c.effective_version(2), 2);
}

// ---------------------------------------------------------------------------
// Lookup over images
// ---------------------------------------------------------------------------

/// Reads directory blocks of one inode of an image.
struct DirReader<'a> {
    img: &'a Image,
    dir: &'a Inode,
}

impl DirBlockReader for DirReader<'_> {
    type Block = Vec<u8>;
    fn read_dir_block(&mut self, lblk: u32) -> ext4disk::Result<Vec<u8>> {
        match self.img.map(self.dir, lblk)? {
            Mapping::Mapped {
                pblk,
                unwritten: false,
                ..
            } => self.img.read(pblk),
            _ => Err(Error::Corrupt {
                what: "test: directory hole",
                value: lblk.into(),
            }),
        }
    }
}

/// A [`DirReader`] that remembers which blocks passed the index checks,
/// as the kernel's buffer cache does with its verified bit.
struct CachingReader<'a> {
    inner: DirReader<'a>,
    verified: RefCell<BTreeSet<u64>>,
}

/// A block read by [`CachingReader`]: its bytes and where they came from.
struct Cached(u64, Vec<u8>);

impl AsRef<[u8]> for Cached {
    fn as_ref(&self) -> &[u8] {
        &self.1
    }
}

impl DirBlockReader for CachingReader<'_> {
    type Block = Cached;
    fn read_dir_block(&mut self, lblk: u32) -> ext4disk::Result<Cached> {
        let pblk = match self.inner.img.map(self.inner.dir, lblk)? {
            Mapping::Mapped { pblk, .. } => pblk,
            _ => panic!("hole"),
        };
        Ok(Cached(pblk, self.inner.read_dir_block(lblk)?))
    }
    fn is_verified(&self, b: &Cached) -> bool {
        self.verified.borrow().contains(&b.0)
    }
    fn set_verified(&self, b: &Cached) {
        self.verified.borrow_mut().insert(b.0);
    }
}

/// How the fs layer is meant to look a name up: probe, search the leaf,
/// follow collisions. Returns (inode, leaf block) when found.
fn lookup(img: &Image, dir: &Inode, name: &[u8]) -> ext4disk::Result<Option<(u32, u32)>> {
    let mut r = DirReader { img, dir };
    lookup_with(img, dir, name, &mut r)
}

/// [`lookup`] through any reader.
fn lookup_with<R: DirBlockReader>(
    img: &Image,
    dir: &Inode,
    name: &[u8],
    r: &mut R,
) -> ext4disk::Result<Option<(u32, u32)>> {
    let p = DxParams::new(&img.sb, dir.size, dir.csum_seed)?;
    let mut path = htree::probe(&p, name, r)?;
    let mut leaf = path.leaf();
    loop {
        let buf = r.read_dir_block(leaf)?;
        if let Some(seed) = p.csum_seed {
            verify_csum(&buf, BlockKind::Leaf, seed)?;
        }
        let tail = p.csum_seed.is_some();
        let found = find_name(&buf, tail, img.sb.inodes_count, name)?;
        // The slice iterator agrees with the in-place search.
        let mut copy = vec![0u8; buf.size()];
        buf.read_into(0, &mut copy)?;
        let mut listed = None;
        for e in Entries::new(&copy, 0, tail, img.sb.inodes_count) {
            let e = e?;
            if e.name == name {
                listed = Some(e.ino);
                break;
            }
        }
        assert_eq!(found, listed);
        if let Some(ino) = found {
            return Ok(Some((ino, leaf)));
        }
        match path.next_leaf(&p, r)? {
            Some(l) => leaf = l,
            None => return Ok(None),
        }
    }
}

/// The leaves a lookup of `name` searches, in order (until it would stop
/// even without finding the name): through the index blocks, and through
/// the leaf map of the whole index. They must be the same.
fn leaf_sequences(
    img: &Image,
    dir: &Inode,
    map: &[(u32, u32)],
    name: &[u8],
) -> (Vec<u32>, Vec<u32>) {
    let p = DxParams::new(&img.sb, dir.size, dir.csum_seed).unwrap();
    let mut r = DirReader { img, dir };
    let mut path = htree::probe(&p, name, &mut r).unwrap();
    let mut walked = vec![path.leaf()];
    while let Some(l) = path.next_leaf(&p, &mut r).unwrap() {
        walked.push(l);
    }
    let major = path.hash().major;
    let m = htree::LeafMap(map);
    let mut i = m.first(major);
    let mut mapped = vec![m.leaf(i).unwrap()];
    while m.continues(i, major) {
        i += 1;
        mapped.push(m.leaf(i).unwrap());
    }
    (walked, mapped)
}

/// The leaf map of `dir`'s index (see `htree::for_each_leaf`).
fn leaf_map(img: &Image, dir: &Inode) -> Vec<(u32, u32)> {
    let p = DxParams::new(&img.sb, dir.size, dir.csum_seed).unwrap();
    let mut map = Vec::new();
    htree::for_each_leaf(&p, &mut DirReader { img, dir }, |h, l| {
        map.push((h, l));
        true
    })
    .unwrap();
    // Every leaf once, in hash order.
    assert!(
        map.windows(2).all(|w| w[0].0 <= w[1].0),
        "leaf map out of order"
    );
    let mut leaves: Vec<u32> = map.iter().map(|e| e.1).collect();
    leaves.sort();
    leaves.dedup();
    assert_eq!(leaves.len(), map.len(), "a leaf listed twice");
    map
}

/// What debugfs's htree_dump says about a directory: for each name, its
/// (hash, minor hash, leaf block); and the index blocks (root children of
/// each level).
struct Dump {
    names: BTreeMap<Vec<u8>, (u32, u32, u32)>,
    indirect_levels: u32,
    /// Logical blocks that hold index nodes (not the root).
    nodes: Vec<u32>,
}

fn htree_dump(img: &Path, path: &str) -> Dump {
    let out = run(Command::new("debugfs")
        .args(["-R", &format!("htree_dump {path}")])
        .arg(img));
    let text = String::from_utf8_lossy(&out).into_owned();
    let mut names = BTreeMap::new();
    let mut indirect_levels = 0;
    let mut nodes = Vec::new();
    let mut leaf = None;
    let mut in_leaf = false;
    for line in text.lines() {
        if let Some(v) = line.trim().strip_prefix("Indirect levels: ") {
            indirect_levels = v.parse().unwrap();
        } else if let Some(r) = line.strip_prefix("Reading directory block ") {
            leaf = Some(r.split(',').next().unwrap().parse::<u32>().unwrap());
            in_leaf = true;
        } else if line.starts_with("Entry #") {
            in_leaf = false;
            // "Entry #0: Hash 0x00000000, block 1"
            let b: u32 = line.rsplit(' ').next().unwrap().parse().unwrap();
            nodes.push(b);
        } else if in_leaf && !line.trim().is_empty() {
            // "ino 0xHASH-MINOR (rec_len) name   " groups, several per line
            // (our names have no spaces).
            let toks: Vec<&str> = line.split_whitespace().collect();
            for g in toks.chunks(4) {
                if g.len() < 4 || !g[1].starts_with("0x") {
                    continue;
                }
                let (h, m) = g[1][2..].split_once('-').unwrap();
                names.insert(
                    g[3].as_bytes().to_vec(),
                    (
                        u32::from_str_radix(h, 16).unwrap(),
                        u32::from_str_radix(m, 16).unwrap(),
                        leaf.unwrap(),
                    ),
                );
            }
        }
    }
    // "Entry" lines list root and node entries; the blocks that are
    // themselves read as leaves are leaves, the rest index nodes.
    let leaves: std::collections::BTreeSet<u32> = names.values().map(|v| v.2).collect();
    nodes.retain(|b| !leaves.contains(b));
    nodes.sort();
    nodes.dedup();
    Dump {
        names,
        indirect_levels,
        nodes,
    }
}

fn find_ino(img: &Image, dir: &Inode, name: &[u8]) -> u32 {
    img.read_dir(dir)
        .unwrap()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(name)))
        .ino
}

/// Looks every name of directory `/path` up through the index and checks
/// it against the linear scan (same inode) and against debugfs's
/// htree_dump (same hash, same leaf); absent names are not found. Returns
/// (names checked, indirect levels).
fn check_dir(img_path: &Path, path: &str) -> (usize, u32) {
    let img = Image::open(img_path).unwrap();
    let mut dir = img.inode(2).unwrap();
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        dir = img.inode(find_ino(&img, &dir, comp.as_bytes())).unwrap();
    }
    assert!(
        dir.flags & ext4disk::disk::inode::flags::INDEX != 0,
        "{path} is not indexed"
    );
    let linear = img.read_dir(&dir).unwrap();
    let dump = htree_dump(img_path, path);
    let p = DxParams::new(&img.sb, dir.size, dir.csum_seed).unwrap();
    let map = leaf_map(&img, &dir);
    let mut n = 0;
    let mut root_levels = None;
    // The same lookups through a reader that keeps the verified bit: after
    // the first, they walk index blocks that passed their checks already.
    let mut cached = CachingReader {
        inner: DirReader {
            img: &img,
            dir: &dir,
        },
        verified: RefCell::new(BTreeSet::new()),
    };
    for e in &linear {
        if e.name == b"." || e.name == b".." {
            continue;
        }
        let (walked, mapped) = leaf_sequences(&img, &dir, &map, &e.name);
        assert_eq!(
            walked,
            mapped,
            "leaves of {}",
            String::from_utf8_lossy(&e.name)
        );
        let got = lookup(&img, &dir, &e.name).unwrap();
        let (ino, leaf) =
            got.unwrap_or_else(|| panic!("{path}: {} not found", String::from_utf8_lossy(&e.name)));
        assert_eq!(ino, e.ino, "{}", String::from_utf8_lossy(&e.name));
        assert_eq!(
            lookup_with(&img, &dir, &e.name, &mut cached).unwrap(),
            got,
            "{}: cached walk",
            String::from_utf8_lossy(&e.name)
        );
        let &(h, m, dleaf) = dump
            .names
            .get(&e.name)
            .unwrap_or_else(|| panic!("debugfs lacks {}", String::from_utf8_lossy(&e.name)));
        let path_ = htree::probe(
            &p,
            &e.name,
            &mut DirReader {
                img: &img,
                dir: &dir,
            },
        )
        .unwrap();
        assert_eq!(
            (path_.hash().major, path_.hash().minor),
            (h, m),
            "hash of {}",
            String::from_utf8_lossy(&e.name)
        );
        assert_eq!(leaf, dleaf, "leaf of {}", String::from_utf8_lossy(&e.name));
        root_levels = Some(path_.root_info().indirect_levels);
        n += 1;
    }
    assert_eq!(
        n,
        dump.names.len(),
        "{path}: linear scan and htree_dump differ"
    );
    assert_eq!(root_levels.map(u32::from), Some(dump.indirect_levels));
    // Absent names, including ones next to present names in hash order.
    for absent in [
        "absent",
        "n0000001-é-no",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "é",
    ] {
        assert_eq!(lookup(&img, &dir, absent.as_bytes()).unwrap(), None);
    }
    for e in linear.iter().take(200) {
        let mut name = e.name.clone();
        name.push(b'~');
        assert_eq!(lookup(&img, &dir, &name).unwrap(), None);
        let (walked, mapped) = leaf_sequences(&img, &dir, &map, &name);
        assert_eq!(
            walked,
            mapped,
            "leaves of absent {}",
            String::from_utf8_lossy(&name)
        );
    }
    (n, dump.indirect_levels)
}

/// A tree with directory `d` of `n` empty files whose names are `len`
/// bytes or so, with bytes above 0x7f, and a small directory `s`.
fn make_tree(root: &Path, n: usize, name_len: usize) {
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::create_dir_all(root.join("s")).unwrap();
    for i in 0..n {
        std::fs::write(root.join("d").join(dir_name(i, name_len)), b"").unwrap();
    }
    for i in 0..300 {
        std::fs::write(root.join("s").join(format!("s{i}")), b"").unwrap();
    }
}

fn dir_name(i: usize, len: usize) -> String {
    let mut s = format!("n{i:07}-é");
    let fill = ['a', 'ÿ', 'q', 'é'][i % 4];
    while s.len() + fill.len_utf8() <= len.saturating_sub(i % 7) {
        s.push(fill);
    }
    s
}

/// mkfs.ext4 -d the tree with `hash_alg` and the signedness, then
/// `e2fsck -fD` to index the directories (mke2fs -d does not).
fn image(
    dir: &Path,
    tree: &Path,
    name: &str,
    bs: u32,
    hash_alg: &str,
    unsigned: bool,
    extra: &[&str],
) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let bs_s = bs.to_string();
    let hash = format!("hash_alg={hash_alg}");
    run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-b", &bs_s, "-N", "8192", "-d"])
        .arg(tree)
        .args(extra)
        .arg(&img)
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf"));
    run(Command::new("tune2fs").args(["-E", &hash]).arg(&img));
    debugfs_w(&img, &format!("ssv flags {}", if unsigned { 2 } else { 1 }));
    let out = Command::new("e2fsck")
        .args(["-fyD"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(out.status.code().unwrap_or(8) <= 1);
    let kv = dumpe2fs(&img);
    assert_eq!(field(&kv, "Default directory hash"), hash_alg);
    let flags = field(&kv, "Filesystem flags");
    assert!(
        flags.contains(if unsigned { "unsigned" } else { "signed" }),
        "{flags}"
    );
    img
}

/// Every hash variant (3 algorithms x signed/unsigned) on 1 KiB blocks:
/// 5000 names give a two-level index.
#[test]
fn lookup_every_name_every_hash_variant_1k() {
    let s = Scratch::new("htree-variants");
    let tree = s.0.join("tree");
    make_tree(&tree, 5000, 40);
    let mut total = 0;
    for alg in ["legacy", "half_md4", "tea"] {
        for unsigned in [false, true] {
            let img = image(
                &s.0,
                &tree,
                &format!("{alg}-{unsigned}.img"),
                1024,
                alg,
                unsigned,
                &[],
            );
            let (n, levels) = check_dir(&img, "/d");
            assert_eq!(n, 5000);
            assert_eq!(levels, 1, "{alg} {unsigned}: want two index levels");
            let (n, _) = check_dir(&img, "/s");
            assert_eq!(n, 300);
            total += 5300;
            std::fs::remove_file(img).unwrap();
        }
    }
    assert_eq!(total, 6 * 5300);
}

/// 2 KiB and 4 KiB blocks, with and without metadata_csum: 5000 names with
/// long names (two levels on 2 KiB, one on 4 KiB).
#[test]
fn lookup_every_name_2k_4k() {
    let s = Scratch::new("htree-bs");
    let tree = s.0.join("tree");
    make_tree(&tree, 5000, 110);
    for (bs, alg, unsigned, extra, want_levels) in [
        (2048, "half_md4", false, &[][..], 1),
        (2048, "tea", true, &["-O", "^metadata_csum"][..], 1),
        (4096, "half_md4", true, &[][..], 0),
        (
            4096,
            "legacy",
            false,
            &["-O", "^metadata_csum,^64bit"][..],
            0,
        ),
    ] {
        let img = image(
            &s.0,
            &tree,
            &format!("{bs}-{alg}.img"),
            bs,
            alg,
            unsigned,
            extra,
        );
        let (n, levels) = check_dir(&img, "/d");
        assert_eq!((n, levels), (5000, want_levels), "{bs} {alg}");
        std::fs::remove_file(img).unwrap();
    }
}

// ---------------------------------------------------------------------------
// Large directories made by the kernel's ext4 (mke2fs -d is quadratic in
// the directory size: 60000 names take minutes)
// ---------------------------------------------------------------------------

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Makes an image with `mke2fs opts`, loop-mounts it with the kernel's
/// ext4 and creates `/d` with `n` entries of about `name_len` bytes.
/// `None` (test skipped, with a message) when loop mounts are not possible
/// here (not root, no loop devices).
fn kernel_image(
    dir: &Path,
    bs: u32,
    n: usize,
    name_len: usize,
    opts: &[&str],
    hash_alg: &str,
) -> PathBuf {
    let img = dir.join("k.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    let bs_s = bs.to_string();
    run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-b", &bs_s, "-N", "70000"])
        .args(opts)
        .arg(&img)
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf"));
    run(Command::new("tune2fs")
        .args(["-E", &format!("hash_alg={hash_alg}")])
        .arg(&img));
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "ext4", "-o", "loop"])
        .arg(&img)
        .arg(&mnt)
        .output();
    match st {
        Ok(o) if o.status.success() => {}
        // make test runs as root (README): a test that cannot make its
        // image must fail, not pass without checking anything.
        Ok(o) => panic!(
            "cannot loop-mount ext4 (root and loop devices needed): {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("cannot run mount: {e}"),
    }
    {
        let _m = Mount(mnt.clone());
        std::fs::create_dir(mnt.join("d")).unwrap();
        for i in 0..n {
            std::fs::write(mnt.join("d").join(dir_name(i, name_len)), b"").unwrap();
        }
    }
    img
}

/// 60000 names in 4 KiB blocks (two levels), made by the kernel.
#[test]
fn lookup_60000_names_kernel_made_4k() {
    let s = Scratch::new("htree-60k");
    let img = kernel_image(&s.0, 4096, 60000, 60, &[], "tea");
    let (n, levels) = check_dir(&img, "/d");
    assert_eq!((n, levels), (60000, 1));
}

/// Three index levels: large_dir, 1 KiB blocks and long names, made by the
/// kernel.
#[test]
fn lookup_three_levels_largedir_1k() {
    let s = Scratch::new("htree-3l");
    let img = kernel_image(&s.0, 1024, 40000, 240, &["-O", "large_dir"], "half_md4");
    let (n, levels) = check_dir(&img, "/d");
    assert_eq!((n, levels), (40000, 2));
    // Without large_dir in the superblock the same tree is refused as too
    // deep.
    let mut b = std::fs::read(&img).unwrap();
    let sb = &mut b[1024..2048];
    let inc = u32::from_le_bytes(sb[0x60..0x64].try_into().unwrap()) & !0x4000;
    sb[0x60..0x64].copy_from_slice(&inc.to_le_bytes());
    ext4disk::disk::superblock::update_superblock_csum(sb).unwrap();
    let p2 = s.0.join("nolarge.img");
    std::fs::write(&p2, &b).unwrap();
    let img2 = Image::open(&p2).unwrap();
    let root = img2.inode(2).unwrap();
    let dir = img2.inode(find_ino(&img2, &root, b"d")).unwrap();
    assert!(matches!(
        lookup(&img2, &dir, dir_name(7, 240).as_bytes()),
        Err(Error::Corrupt {
            what: "htree root: indirect_levels",
            ..
        })
    ));
}

// ---------------------------------------------------------------------------
// Corruption
// ---------------------------------------------------------------------------

/// Physical blocks of a file in logical order, from debugfs `blocks`.
fn debugfs_blocks(img: &Path, path: &str) -> Vec<u64> {
    debugfs(img, &format!("blocks {path}"))
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect()
}

fn patched(src: &Path, dst: &Path, f: impl FnOnce(&mut Vec<u8>)) -> Image {
    let mut b = std::fs::read(src).unwrap();
    f(&mut b);
    std::fs::write(dst, b).unwrap();
    Image::open(dst).unwrap()
}

fn lookup_d(img: &Image, name: &[u8]) -> ext4disk::Result<Option<(u32, u32)>> {
    let root = img.inode(2).unwrap();
    let dir = img.inode(find_ino(img, &root, b"d")).unwrap();
    lookup(img, &dir, name)
}

/// Byte flips and field changes in the root and in an interior node,
/// located with debugfs (`blocks`, `htree_dump`), are errors; with
/// metadata_csum they are checksum errors.
#[test]
fn corrupt_index_blocks_are_errors() {
    let s = Scratch::new("htree-corrupt");
    let tree = s.0.join("tree");
    make_tree(&tree, 5000, 40);
    let name = dir_name(1234, 40);
    for csum in [true, false] {
        let extra: &[&str] = if csum { &[] } else { &["-O", "^metadata_csum"] };
        let img_path = image(
            &s.0,
            &tree,
            &format!("c{csum}.img"),
            1024,
            "half_md4",
            false,
            extra,
        );
        let blocks = debugfs_blocks(&img_path, "/d");
        let dump = htree_dump(&img_path, "/d");
        assert_eq!(dump.indirect_levels, 1);
        let root = blocks[0] as usize * 1024;
        let node = blocks[dump.nodes[0] as usize] as usize * 1024;
        let nblocks = blocks.len() as u32;
        let ok = Image::open(&img_path).unwrap();
        assert!(lookup_d(&ok, name.as_bytes()).unwrap().is_some());
        let c = s.0.join("x.img");
        let expect = |b: &mut dyn FnMut(&mut Vec<u8>), what_csum: &str, what_plain: &str| {
            let img = patched(&img_path, &c, |v| b(v));
            let r = lookup_d(&img, name.as_bytes());
            // Not every name's walk passes the damaged entry; look all up
            // until one fails.
            let err = r.err().or_else(|| {
                let root_ino = img.inode(2).unwrap();
                let dir = img.inode(find_ino(&img, &root_ino, b"d")).unwrap();
                (0..5000).find_map(|i| lookup(&img, &dir, dir_name(i, 40).as_bytes()).err())
            });
            let err = err.expect("corruption not detected");
            let want = if csum { what_csum } else { what_plain };
            match err {
                Error::BadChecksum { what, .. } | Error::Corrupt { what, .. } => {
                    assert_eq!(what, want, "csum={csum}: {err:?}")
                }
                e => panic!("{e:?}"),
            }
        };
        let root_count = root + 32 + 2;
        let node_count = node + 8 + 2;
        // count > limit in the root.
        expect(
            &mut |v| v[root_count..root_count + 2].copy_from_slice(&500u16.to_le_bytes()),
            "htree: entry count",
            "htree: entry count",
        );
        // count 0 in a node.
        expect(
            &mut |v| v[node_count..node_count + 2].copy_from_slice(&0u16.to_le_bytes()),
            "htree: entry count",
            "htree: entry count",
        );
        // A wrong limit.
        expect(
            &mut |v| v[root + 32] ^= 1,
            "htree root: limit",
            "htree root: limit",
        );
        // indirect_levels 2 without large_dir.
        expect(
            &mut |v| v[root + 24 + 6] = 2,
            "htree root: indirect_levels",
            "htree root: indirect_levels",
        );
        // Unknown hash version.
        expect(
            &mut |v| v[root + 24 + 4] = 5,
            "htree root: hash_version",
            "htree root: hash_version",
        );
        // Hashes out of order in a node: entry 2's hash set to 1.
        expect(
            &mut |v| v[node + 8 + 16..node + 8 + 20].copy_from_slice(&1u32.to_le_bytes()),
            "htree index block",
            "htree: entry hashes out of order",
        );
        // A root entry pointing beyond the directory.
        expect(
            &mut |v| {
                v[root + 32 + 8 + 4..root + 32 + 8 + 8].copy_from_slice(&nblocks.to_le_bytes())
            },
            "htree index block",
            "htree: block beyond directory size",
        );
        // A node entry pointing back at the root.
        expect(
            &mut |v| v[node + 8 + 4..node + 8 + 8].copy_from_slice(&0u32.to_le_bytes()),
            "htree index block",
            "htree: index cycle at block",
        );
        // A node's fake record.
        expect(
            &mut |v| v[node + 4] ^= 4,
            "htree node: fake record",
            "htree node: fake record",
        );
        // The ".." record of the root.
        expect(
            &mut |v| v[root + 12 + 6] = 3,
            "htree root: \"..\" record",
            "htree root: \"..\" record",
        );
        if csum {
            // Any byte of the used entries or of the tail.
            expect(
                &mut |v| v[node + 8 + 8 * 3 + 1] ^= 0x10,
                "htree index block",
                "",
            );
            expect(&mut |v| v[root + 1024 - 3] ^= 1, "htree index block", "");
        }
        std::fs::remove_file(img_path).unwrap();
    }
}

/// Random damage to the root and a node never panics: every lookup returns
/// a result or an error.
#[test]
fn damaged_index_never_panics() {
    let s = Scratch::new("htree-fuzz");
    let tree = s.0.join("tree");
    make_tree(&tree, 5000, 40);
    let img_path = image(
        &s.0,
        &tree,
        "f.img",
        1024,
        "tea",
        false,
        &["-O", "^metadata_csum"],
    );
    let blocks = debugfs_blocks(&img_path, "/d");
    let dump = htree_dump(&img_path, "/d");
    let root = blocks[0] as usize * 1024;
    let node = blocks[dump.nodes[0] as usize] as usize * 1024;
    let orig = std::fs::read(&img_path).unwrap();
    let c = s.0.join("x.img");
    let mut rng = common::XorShift::new(0x1234_5678_9abc_def1);
    let mut rnd = || rng.next();
    let mut errors = 0;
    for round in 0..300 {
        let mut b = orig.clone();
        let base = if round % 2 == 0 { root } else { node };
        for _ in 0..1 + rnd() % 4 {
            let off = base + (rnd() % 1024) as usize;
            b[off] = rnd() as u8;
        }
        std::fs::write(&c, &b).unwrap();
        let img = Image::open(&c).unwrap();
        let root_ino = img.inode(2).unwrap();
        let dir = img.inode(find_ino(&img, &root_ino, b"d")).unwrap();
        for i in (0..5000).step_by(97) {
            if lookup(&img, &dir, dir_name(i, 40).as_bytes()).is_err() {
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

fn le32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// The collision bit: an index entry whose hash is `h | 1` means names of
/// hash `h` continue from the previous leaf. Index entries are rewritten
/// (offsets computed here from the format, blocks located by debugfs) so
/// that the first name of a leaf is found only by continuing from the
/// previous leaf: within one node, and across two nodes (through the
/// root).
#[test]
fn collision_bit_continues_into_next_leaf() {
    let s = Scratch::new("htree-collide");
    let tree = s.0.join("tree");
    make_tree(&tree, 5000, 40);
    let img_path = image(
        &s.0,
        &tree,
        "c.img",
        1024,
        "half_md4",
        false,
        &["-O", "^metadata_csum"],
    );
    let blocks = debugfs_blocks(&img_path, "/d");
    let dump = htree_dump(&img_path, "/d");
    assert_eq!(dump.indirect_levels, 1);
    let orig = std::fs::read(&img_path).unwrap();
    let root = blocks[0] as usize * 1024;
    let node_of = |lblk: u32| blocks[lblk as usize] as usize * 1024;
    // The name with the smallest hash in a leaf.
    let first_in = |leaf: u32| {
        dump.names
            .iter()
            .filter(|(_, v)| v.2 == leaf)
            .min_by_key(|(_, v)| v.0)
            .map(|(n, v)| (n.clone(), v.0))
            .unwrap()
    };
    let n1 = le32_at(&orig, root + 32 + 8 + 4);
    let node1 = node_of(n1);
    let c = s.0.join("x.img");

    // Within node 1: entry 1 (leaf L) gets hash h_f | 1.
    let leaf = le32_at(&orig, node1 + 8 + 8 + 4);
    let prev_leaf = le32_at(&orig, node1 + 8 + 4);
    let (name, h) = first_in(leaf);
    let img = patched(&img_path, &c, |v| {
        v[node1 + 16..node1 + 20].copy_from_slice(&(h | 1).to_le_bytes())
    });
    let root_ino = img.inode(2).unwrap();
    let dir = img.inode(find_ino(&img, &root_ino, b"d")).unwrap();
    let p = DxParams::new(&img.sb, dir.size, dir.csum_seed).unwrap();
    let mut r = DirReader {
        img: &img,
        dir: &dir,
    };
    let mut path = htree::probe(&p, &name, &mut r).unwrap();
    assert_eq!(path.leaf(), prev_leaf);
    assert!(path.continues());
    assert_eq!(path.next_leaf(&p, &mut r).unwrap(), Some(leaf));
    assert!(!path.continues());
    assert_eq!(path.next_leaf(&p, &mut r).unwrap(), None);
    assert_eq!(lookup(&img, &dir, &name).unwrap().map(|x| x.1), Some(leaf));
    let map = leaf_map(&img, &dir);
    assert_eq!(
        leaf_sequences(&img, &dir, &map, &name),
        (vec![prev_leaf, leaf], vec![prev_leaf, leaf])
    );
    // Without the bit the name is simply not found (the walk stops).
    let img = patched(&img_path, &c, |v| {
        v[node1 + 16..node1 + 20].copy_from_slice(&(h + 2).to_le_bytes())
    });
    let dir = img
        .inode(find_ino(&img, &img.inode(2).unwrap(), b"d"))
        .unwrap();
    assert_eq!(lookup(&img, &dir, &name).unwrap(), None);
    let map = leaf_map(&img, &dir);
    let (walked, mapped) = leaf_sequences(&img, &dir, &map, &name);
    assert_eq!((walked.len(), &walked), (1, &mapped));

    // Across nodes: root entry 2 (node 2) gets hash h_g | 1 where h_g is
    // the smallest hash of node 2's first leaf.
    let n2 = le32_at(&orig, root + 32 + 16 + 4);
    let node2 = node_of(n2);
    let leaf0 = le32_at(&orig, node2 + 8 + 4);
    let count1 = u16::from_le_bytes([orig[node1 + 10], orig[node1 + 11]]) as usize;
    let last_of_1 = le32_at(&orig, node1 + 8 + 8 * (count1 - 1) + 4);
    let (name, h) = first_in(leaf0);
    let img = patched(&img_path, &c, |v| {
        v[root + 48..root + 52].copy_from_slice(&(h | 1).to_le_bytes())
    });
    let dir = img
        .inode(find_ino(&img, &img.inode(2).unwrap(), b"d"))
        .unwrap();
    let mut r = DirReader {
        img: &img,
        dir: &dir,
    };
    let mut path = htree::probe(&p, &name, &mut r).unwrap();
    assert_eq!(path.leaf(), last_of_1);
    assert!(path.continues());
    assert_eq!(path.next_leaf(&p, &mut r).unwrap(), Some(leaf0));
    assert_eq!(path.frames()[1].lblk, n2);
    assert_eq!(lookup(&img, &dir, &name).unwrap().map(|x| x.1), Some(leaf0));
    let map = leaf_map(&img, &dir);
    assert_eq!(
        leaf_sequences(&img, &dir, &map, &name),
        (vec![last_of_1, leaf0], vec![last_of_1, leaf0])
    );
    // Every other name is still found, through the map too.
    for i in (0..5000).step_by(7) {
        let n = dir_name(i, 40);
        assert!(lookup(&img, &dir, n.as_bytes()).unwrap().is_some());
        let (walked, mapped) = leaf_sequences(&img, &dir, &map, n.as_bytes());
        assert_eq!(walked, mapped, "{n}");
    }
    // Node 2's second entry below the odd hash of its root entry: the
    // walk's range check lets it through (ext4 never writes it), but the
    // leaves in hash order would go down, and a search of them would miss
    // leaves the walk finds: no leaf list for such an index.
    let img = patched(&img_path, &c, |v| {
        v[root + 48..root + 52].copy_from_slice(&(h | 1).to_le_bytes());
        v[node2 + 16..node2 + 20].copy_from_slice(&h.to_le_bytes());
    });
    let dir = img
        .inode(find_ino(&img, &img.inode(2).unwrap(), b"d"))
        .unwrap();
    let mut listed = 0;
    let r = htree::for_each_leaf(
        &p,
        &mut DirReader {
            img: &img,
            dir: &dir,
        },
        |_, _| {
            listed += 1;
            true
        },
    );
    assert!(
        matches!(r, Err(Error::Corrupt { what, .. }) if what.contains("out of order")),
        "{r:?} after {listed} leaves"
    );
}

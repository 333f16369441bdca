//! The host image reader (the disk layer) against trees put into images by
//! `mkfs.ext4 -d`, compared with the source tree and with debugfs.

mod common;

use common::*;
use ext4disk::disk::dir::ftype;
use ext4disk::disk::extent::Mapping;
use ext4disk::image::Image;
use ext4disk::Error;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sh(cmd: &str) {
    let st = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(st.success(), "{cmd}");
}

/// A small but varied tree: sizes around block boundaries, sparse and
/// fragmented files, a directory big enough to be indexed, links, special
/// files, odd names, owners, modes and timestamps.
fn make_tree(root: &Path) {
    use std::fs;
    use std::io::{Seek, SeekFrom, Write};
    fs::create_dir_all(root.join("a/b/c/d/e/f")).unwrap();
    for (i, len) in [0usize, 1, 100, 4095, 4096, 4097, 65536, 3 << 20]
        .iter()
        .enumerate()
    {
        fs::write(root.join(format!("a/size-{len}")), content(i as u64, *len)).unwrap();
    }
    fs::write(root.join("a/b/c/d/e/f/deep"), b"deep file\n").unwrap();
    // 20 data regions separated by holes: 20 extents, more than the 4 the
    // inode holds, so the tree needs an index block.
    let mut f = fs::File::create(root.join("fragmented")).unwrap();
    for i in 0..20u64 {
        f.seek(SeekFrom::Start(i * 3 * 4096)).unwrap();
        f.write_all(&content(100 + i, 4096)).unwrap();
    }
    drop(f);
    // Holes at the start and the end.
    let mut f = fs::File::create(root.join("sparse")).unwrap();
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    f.write_all(&content(7, 5000)).unwrap();
    f.set_len(4 << 20).unwrap();
    drop(f);
    fs::create_dir(root.join("big")).unwrap();
    for i in 0..800 {
        fs::write(
            root.join(format!("big/entry-with-a-longer-name-{i:05}")),
            i.to_string(),
        )
        .unwrap();
    }
    fs::write(root.join("linked"), b"one inode, three names").unwrap();
    fs::hard_link(root.join("linked"), root.join("a/linked2")).unwrap();
    fs::hard_link(root.join("linked"), root.join("a/b/linked3")).unwrap();
    std::os::unix::fs::symlink("size-100", root.join("a/short-link")).unwrap();
    let long: String = std::iter::repeat("long-target-component/")
        .take(30)
        .collect();
    std::os::unix::fs::symlink(&long, root.join("a/long-link")).unwrap();
    let name255: String = std::iter::repeat('n').take(255).collect();
    fs::write(root.join(&name255), b"255").unwrap();
    fs::write(root.join("ünïcødé ☃ name"), b"utf8").unwrap();
    sh(&format!("mkfifo '{}'", root.join("fifo").display()));
    sh(&format!("mknod '{}' c 1 3", root.join("chardev").display()));
    sh(&format!(
        "mknod '{}' b 259 65537",
        root.join("blockdev").display()
    ));
    fs::set_permissions(root.join("a/size-1"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(root.join("a/size-100"), fs::Permissions::from_mode(0o000)).unwrap();
    std::os::unix::fs::chown(root.join("a/size-4096"), Some(100000), Some(4000000000)).unwrap();
    sh(&format!(
        "touch -h -d @1234567890.123456789 '{}'",
        root.join("a/size-4097").display()
    ));
    sh(&format!(
        "touch -h -d @-1000000000 '{}'",
        root.join("a/size-0").display()
    ));
    sh(&format!(
        "touch -h -d @2000000000 '{}'",
        root.join("a/size-65536").display()
    ));
}

fn mkfs_d(dir: &Path, tree: &Path, name: &str, opts: &[&str]) -> std::path::PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-d"])
        .arg(tree)
        .args(opts)
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Index every directory that has more than one block, as e2fsck -D
    // does for a filesystem in use.
    let out = Command::new("e2fsck")
        .args(["-fyD"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap_or(8) <= 1,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // mke2fs -d keeps whole seconds only; give two inodes full timestamps
    // (nanoseconds; epoch bits for a time past 2038) with debugfs.
    for req in [
        "sif /a/size-65536 mtime 0xf485ae40",
        "sif /a/size-65536 mtime_extra 0x1d6f3455",
        "sif /a/size-4097 mtime_extra 0x1d6f3454",
    ] {
        let out = Command::new("debugfs")
            .args(["-w", "-R", req])
            .arg(&img)
            .output()
            .unwrap();
        assert!(
            out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("rror"),
            "{req}"
        );
    }
    img
}

/// Everything compared per entry.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    size: u64,
    mtime: (i64, u32),
    data: Option<Vec<u8>>,
    rdev: Option<(u32, u32)>,
}

fn from_source(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = format!("{}/{}", prefix, e.file_name().to_string_lossy());
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let ft = m.file_type();
            let data = if ft.is_file() {
                Some(std::fs::read(e.path()).unwrap())
            } else if ft.is_symlink() {
                Some(
                    std::fs::read_link(e.path())
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else {
                None
            };
            let rdev = (ft.is_char_device_like()).then(|| {
                let r = m.rdev();
                (
                    ((r >> 8) & 0xfff) as u32 | ((r >> 32) & !0xfff) as u32,
                    ((r & 0xff) | ((r >> 12) & !0xff)) as u32,
                )
            });
            out.insert(
                path.clone(),
                Entry {
                    mode: m.mode(),
                    uid: m.uid(),
                    gid: m.gid(),
                    nlink: if ft.is_dir() { 0 } else { m.nlink() as u32 },
                    size: if ft.is_dir() { 0 } else { m.size() },
                    mtime: match path.as_str() {
                        // Set by mkfs_d() with debugfs: 2099-12-31 12:00 plus
                        // 123456789 ns, and 123456789 ns on 2009-02-13.
                        "/a/size-65536" => (4_102_401_600, 123_456_789),
                        "/a/size-4097" => (1_234_567_890, 123_456_789),
                        _ => (m.mtime(), 0),
                    },
                    data,
                    rdev,
                },
            );
            if ft.is_dir() {
                stack.push((e.path(), path));
            }
        }
    }
    out
}

trait DevLike {
    fn is_char_device_like(&self) -> bool;
}
impl DevLike for std::fs::FileType {
    fn is_char_device_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_char_device() || self.is_block_device()
    }
}

fn from_image(img: &Image) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut err = None;
    img.walk(&mut |path, ino| {
        if path == "/lost+found" || path.starts_with("/lost+found/") {
            return;
        }
        let data = if ino.is_reg() {
            Some(img.read_file(ino))
        } else if ino.is_symlink() {
            Some(img.read_link(ino))
        } else {
            None
        };
        let data = match data.transpose() {
            Ok(d) => d,
            Err(e) => {
                err = Some((path.to_string(), e));
                None
            }
        };
        let ft = ino.file_type();
        let is_dev = ft == ext4disk::disk::inode::S_IFCHR || ft == ext4disk::disk::inode::S_IFBLK;
        out.insert(
            path.to_string(),
            Entry {
                mode: ino.mode.into(),
                uid: ino.uid,
                gid: ino.gid,
                nlink: if ino.is_dir() {
                    0
                } else {
                    ino.links_count.into()
                },
                size: if ino.is_dir() { 0 } else { ino.size },
                mtime: (ino.mtime.sec, ino.mtime.nsec),
                data,
                rdev: is_dev.then(|| ino.device()),
            },
        );
    })
    .unwrap();
    if let Some((p, e)) = err {
        panic!("{p}: {e}");
    }
    out
}

fn compare(opts: &[&str]) {
    let s = Scratch::new("tree");
    let tree = s.0.join("tree");
    make_tree(&tree);
    let img_path = mkfs_d(&s.0, &tree, "t.img", opts);
    let img = Image::open(&img_path).unwrap();
    let want = from_source(&tree);
    let got = from_image(&img);
    let wk: Vec<_> = want.keys().collect();
    let gk: Vec<_> = got.keys().collect();
    assert_eq!(wk, gk, "entry sets differ");
    for (k, w) in &want {
        assert_eq!(Some(w), got.get(k), "{k}");
    }
    assert!(want.len() > 800);

    // The big directory is indexed and the fragmented file has an index
    // block: the tests above really went through those paths.
    let root = img.inode(2).unwrap();
    let find = |dir: &ext4disk::disk::inode::Inode, name: &[u8]| {
        img.read_dir(dir)
            .unwrap()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
    };
    let big = img.inode(find(&root, b"big").ino).unwrap();
    assert!(
        big.flags & ext4disk::disk::inode::flags::INDEX != 0,
        "big/ not indexed"
    );
    let frag = img.inode(find(&root, b"fragmented").ino).unwrap();
    let depth = u16::from_le_bytes([frag.block[6], frag.block[7]]);
    assert!(depth >= 1, "fragmented has depth {depth}");
    assert_eq!(find(&root, b"fifo").file_type, ftype::FIFO);
    assert_eq!(find(&root, b"big").file_type, ftype::DIR);
    // Holes map as holes.
    let sparse = img.inode(find(&root, b"sparse").ino).unwrap();
    assert!(matches!(
        img.map(&sparse, 0).unwrap(),
        Mapping::Hole { len: 256 }
    ));
    assert!(matches!(
        img.map(&sparse, 256).unwrap(),
        Mapping::Mapped { len: 2, .. }
    ));

    // debugfs agrees on names and inode numbers of the root directory.
    let out = Command::new("debugfs")
        .args(["-R", "ls -l /"])
        .arg(&img_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut theirs: Vec<(u32, String)> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let ino = it.next()?.parse().ok()?;
            let name = l.split_whitespace().skip(8).collect::<Vec<_>>().join(" ");
            Some((ino, name))
        })
        .filter(|(_, n)| n.len() < 200)
        .collect();
    let mut ours: Vec<(u32, String)> = img
        .read_dir(&root)
        .unwrap()
        .into_iter()
        .map(|e| (e.ino, debugfs_escape(&e.name)))
        .filter(|(_, n)| n.len() < 200)
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
}

/// Names as debugfs prints them: bytes >= 0x80 as `\xNN`.
fn debugfs_escape(name: &[u8]) -> String {
    name.iter()
        .map(|&b| {
            if b >= 0x80 {
                format!("\\x{b:02x}")
            } else {
                (b as char).to_string()
            }
        })
        .collect()
}

#[test]
fn tree_default_features() {
    compare(&[]);
}

#[test]
fn tree_no_metadata_csum() {
    compare(&["-O", "^metadata_csum"]);
}

#[test]
fn tree_no_64bit() {
    compare(&["-O", "^64bit"]);
}

#[test]
fn tree_no_flex_bg() {
    compare(&["-O", "^flex_bg"]);
}

/// Corrupting one byte of an inode, an extent block or a directory block is
/// a checksum error naming the structure, never a panic.
#[test]
fn corruption_is_detected() {
    let s = Scratch::new("corrupt-tree");
    let tree = s.0.join("tree");
    make_tree(&tree);
    let path = mkfs_d(&s.0, &tree, "t.img", &[]);
    let img = Image::open(&path).unwrap();
    let root = img.inode(2).unwrap();
    let frag_ino = img
        .read_dir(&root)
        .unwrap()
        .into_iter()
        .find(|e| e.name == b"fragmented")
        .unwrap()
        .ino;
    let frag = img.inode(frag_ino).unwrap();
    let idx_block = ext4disk::disk::extent::index_entry(&frag.block, 0)
        .unwrap()
        .1;
    let big_ino = img
        .read_dir(&root)
        .unwrap()
        .into_iter()
        .find(|e| e.name == b"big")
        .unwrap()
        .ino;
    let big = img.inode(big_ino).unwrap();
    let Mapping::Mapped { pblk: big_blk1, .. } = img.map(&big, 1).unwrap() else {
        panic!()
    };
    let (g, off) = ext4disk::disk::inode::inode_location(&img.sb, frag_ino).unwrap();
    let inode_byte = img.groups[g as usize].inode_table * 4096 + off + 0x10;
    drop(img);

    let flip = |at: u64| {
        let p = s.0.join("c.img");
        std::fs::copy(&path, &p).unwrap();
        let mut b = std::fs::read(&p).unwrap();
        b[at as usize] ^= 0x20;
        std::fs::write(&p, b).unwrap();
        Image::open(&p).unwrap()
    };
    // Inode.
    let img = flip(inode_byte);
    assert!(matches!(
        img.inode(frag_ino),
        Err(Error::BadChecksum { what: "inode", .. })
    ));
    // Extent index block: a data byte inside an entry.
    let img = flip(idx_block * 4096 + 20);
    let frag = img.inode(frag_ino).unwrap();
    assert!(matches!(
        img.read_file(&frag),
        Err(Error::BadChecksum {
            what: "extent block",
            ..
        })
    ));
    // Extent block header magic.
    let img = flip(idx_block * 4096);
    let frag = img.inode(frag_ino).unwrap();
    assert!(matches!(
        img.read_file(&frag),
        Err(Error::Corrupt {
            what: "extent header: magic",
            ..
        })
    ));
    // Directory block.
    let img = flip(big_blk1 * 4096 + 100);
    let big = img.inode(big_ino).unwrap();
    assert!(matches!(
        img.read_dir(&big),
        Err(Error::BadChecksum {
            what: "directory block",
            ..
        })
    ));
}

/// Without metadata_csum, structural checks still catch bad records.
#[test]
fn structural_checks_without_csum() {
    let s = Scratch::new("nocsum-tree");
    let tree = s.0.join("tree");
    make_tree(&tree);
    let path = mkfs_d(&s.0, &tree, "t.img", &["-O", "^metadata_csum"]);
    let img = Image::open(&path).unwrap();
    let root = img.inode(2).unwrap();
    let Mapping::Mapped { pblk, .. } = img.map(&root, 0).unwrap() else {
        panic!()
    };
    drop(img);
    // rec_len of "." set to 3 (not a multiple of 4).
    let mut b = std::fs::read(&path).unwrap();
    let o = (pblk * 4096 + 4) as usize;
    b[o] = 3;
    b[o + 1] = 0;
    let p = s.0.join("c.img");
    std::fs::write(&p, b).unwrap();
    let img = Image::open(&p).unwrap();
    let root = img.inode(2).unwrap();
    assert!(matches!(
        img.read_dir(&root),
        Err(Error::Corrupt {
            what: "directory entry: rec_len",
            ..
        })
    ));
}

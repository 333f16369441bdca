//! Extended attributes and POSIX ACLs: trees whose files carry user.,
//! trusted., security. attributes and ACLs (set with setfattr/setfacl on
//! the host) are copied into images by `mkfs.ext4 -d`; what the disk layer
//! reads from the inode bodies and attribute blocks is compared with
//! `getfattr` on the source tree and with debugfs `ea_list` on the image;
//! the same attributes written by the kernel's ext4 on a loop mount (which
//! stores block hashes, unlike e2fsprogs) are compared with getfattr there.
//! Damaged attribute blocks and areas are errors.

mod common;

use common::*;
use ext4disk::disk::extent::BlockSource;
use ext4disk::disk::inode::Inode;
use ext4disk::disk::xattr::acl::{self, Acl, Kind};
use ext4disk::disk::xattr::{self, index, BufferTooSmall, Location, NameList, Xattrs};
use ext4disk::image::Image;
use ext4disk::Error;
use std::collections::BTreeMap;
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn setfattr(path: &Path, name: &str, value: &[u8]) {
    run(Command::new("setfattr")
        .args(["-n", name, "-v", &format!("0x{}", hex(value))])
        .arg(path));
}

fn setfacl(path: &Path, args: &[&str]) {
    run(Command::new("setfacl").args(args).arg(path));
}

fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + seed * 7) as u8).collect()
}

/// The files, their attributes sized for block size `bs`.
fn make_tree(root: &Path, bs: usize) {
    std::fs::create_dir_all(root.join("acl-dir/sub")).unwrap();
    for f in [
        "none", "small", "big", "mixed", "acl-file", "empty", "binary", "full",
    ] {
        std::fs::write(root.join(f), f.as_bytes()).unwrap();
    }
    let p = |f: &str| root.join(f);
    setfattr(&p("small"), "user.a", b"1");
    setfattr(&p("small"), "user.bb", b"two");
    setfattr(&p("small"), "security.sec", b"hello");
    // A value as large as one block allows (header 32, entry of a 3-byte
    // name 20, terminator 4): only the block can hold it.
    setfattr(&p("big"), "user.max", &pattern(1, bs - 56));
    setfattr(&p("small"), "trusted.t", b"x");
    // Enough values that some stay in the inode and the rest go to the
    // block.
    for i in 0..8 {
        setfattr(
            &p("mixed"),
            &format!("user.k{i:02}"),
            &pattern(i, 10 + i * (bs / 128)),
        );
    }
    setfattr(&p("mixed"), "trusted.overlay.x", b"y");
    setfattr(
        &p("mixed"),
        "security.selinux-like",
        b"system_u:object_r:x_t:s0\0",
    );
    setfattr(&p("empty"), "user.empty", b"");
    setfattr(&p("binary"), "user.bin", &[0, 0xff, 0x10, 0x80, 0x7f, 0]);
    setfattr(&p("binary"), "user.é-ÿ", &[0x80; 5]);
    // The block full of small attributes.
    for i in 0..(bs / 64) {
        setfattr(&p("full"), &format!("user.f{i:03}"), &pattern(i, 20));
    }
    setfacl(
        &p("acl-file"),
        &["-m", "u:1234:r,u:4321:rwx,g:5678:rw,m::rwx"],
    );
    setfacl(&p("acl-dir"), &["-m", "u:1:rx,g:2:r"]);
    setfacl(&p("acl-dir"), &["-d", "-m", "u:1000:rwx,g:2000:r,o::-"]);
    setfattr(&p("acl-dir"), "user.dir", b"on a directory");
}

/// `getfattr -d -m - -e hex` of every file of the tree: path -> name ->
/// value.
fn getfattr_tree(root: &Path) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
    let out = run(Command::new("getfattr")
        .args(["-R", "-d", "-m", "-", "-e", "hex", "--absolute-names"])
        .arg(root));
    let text = String::from_utf8(out).unwrap();
    let mut all = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("# file: ") {
            let rel = f.strip_prefix(root.to_str().unwrap()).unwrap();
            cur = Some(rel.to_string());
            all.insert(rel.to_string(), BTreeMap::new());
        } else if let Some((n, v)) = line.split_once('=') {
            let v = v.strip_prefix("0x").unwrap_or("");
            all.get_mut(cur.as_ref().unwrap())
                .unwrap()
                .insert(n.to_string(), unhex(v));
        }
    }
    all
}

/// debugfs `ea_list` of a file: name -> (size, value bytes when debugfs
/// shows them in hex).
fn ea_list(img: &Path, path: &str) -> BTreeMap<String, (usize, Option<Vec<u8>>)> {
    let out = run(Command::new("debugfs")
        .args(["-R", &format!("ea_list {path}")])
        .arg(img));
    let text = String::from_utf8_lossy(&out).into_owned();
    let mut m = BTreeMap::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("Extended attributes:"))
    {
        let l = line.trim();
        let Some((name, rest)) = l.split_once(" (") else {
            continue;
        };
        let (size, rest) = rest.split_once(')').unwrap();
        let value = rest.strip_prefix(" = ").and_then(|v| {
            if v.starts_with('"') {
                None
            } else {
                Some(
                    v.split_whitespace()
                        .map(|b| u8::from_str_radix(b, 16).unwrap())
                        .collect(),
                )
            }
        });
        // Names with bytes above 0x7f are shown as hex bytes.
        let toks: Vec<&str> = name.split_whitespace().collect();
        let name = if toks.len() > 1 && toks.iter().all(|t| t.len() == 2) {
            String::from_utf8(
                toks.iter()
                    .map(|t| u8::from_str_radix(t, 16).unwrap())
                    .collect(),
            )
            .unwrap()
        } else {
            name.to_string()
        };
        m.insert(name, (size.parse().unwrap(), value));
    }
    m
}

/// The raw on-disk inode of `path`, located by debugfs `imap`.
fn raw_inode(img_path: &Path, img: &Image, path: &str) -> Vec<u8> {
    let (blk, off) = imap(img_path, path);
    let b = img.read(blk).unwrap();
    b[off..off + usize::from(img.sb.inode_size)].to_vec()
}

fn imap(img_path: &Path, path: &str) -> (u64, usize) {
    let out = run(Command::new("debugfs")
        .args(["-R", &format!("imap {path}")])
        .arg(img_path));
    let text = String::from_utf8_lossy(&out).into_owned();
    let l = text
        .lines()
        .find(|l| l.contains("located at block"))
        .unwrap();
    let rest = l.split("located at block ").nth(1).unwrap();
    let (b, o) = rest.split_once(", offset 0x").unwrap();
    (
        b.parse().unwrap(),
        usize::from_str_radix(o.trim(), 16).unwrap(),
    )
}

fn inode_of(img: &Image, path: &str) -> Inode {
    let mut ino = img.inode(2).unwrap();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        let e = img
            .read_dir(&ino)
            .unwrap()
            .into_iter()
            .find(|e| e.name == c.as_bytes())
            .unwrap();
        ino = img.inode(e.ino).unwrap();
    }
    ino
}

/// Everything the disk layer reads for a file: full name -> (value,
/// location), in listing order.
fn read_xattrs(
    img_path: &Path,
    img: &Image,
    path: &str,
) -> ext4disk::Result<Vec<(String, Vec<u8>, Location)>> {
    let inode = inode_of(img, path);
    let raw = raw_inode(img_path, img, path);
    let mut out = Vec::new();
    let mut add = |x: &Xattrs<'_>| -> ext4disk::Result<()> {
        for e in x.entries() {
            let p = e.prefix().unwrap();
            let name = String::from_utf8([p, e.name].concat()).unwrap();
            out.push((name, e.value()?.to_vec(), x.location()));
        }
        Ok(())
    };
    if let Some(x) = Xattrs::in_inode(&img.sb, &raw, inode.extra_isize)? {
        add(&x)?;
    }
    if inode.file_acl != 0 {
        let b = img.read(inode.file_acl)?;
        let x = Xattrs::block(&img.sb, inode.file_acl, &b)?;
        assert!(x.header().unwrap().refcount >= 1);
        add(&x)?;
    }
    Ok(out)
}

/// The VFS (getfattr) form of an ACL: version 2, 8-byte entries.
fn vfs_acl(v: &[u8]) -> Vec<(u16, u16, u32)> {
    assert_eq!(u32::from_le_bytes(v[..4].try_into().unwrap()), 2);
    v[4..]
        .chunks(8)
        .map(|c| {
            (
                u16::from_le_bytes([c[0], c[1]]),
                u16::from_le_bytes([c[2], c[3]]),
                u32::from_le_bytes(c[4..8].try_into().unwrap()),
            )
        })
        .collect()
}

/// An ACL entry as the kernel's `posix_acl_to_xattr` writes it: the tag,
/// the permissions, the id of named entries, ACL_UNDEFINED_ID otherwise.
fn posix_form(k: Kind, perm: u16) -> (u16, u16, u32) {
    let u = acl::UNDEFINED_ID;
    match k {
        Kind::UserObj => (acl::tag::USER_OBJ, perm, u),
        Kind::User(uid) => (acl::tag::USER, perm, uid),
        Kind::GroupObj => (acl::tag::GROUP_OBJ, perm, u),
        Kind::Group(gid) => (acl::tag::GROUP, perm, gid),
        Kind::Mask => (acl::tag::MASK, perm, u),
        Kind::Other => (acl::tag::OTHER, perm, u),
    }
}

fn mkfs_d(dir: &Path, tree: &Path, name: &str, bs: u32, extra: &[&str]) -> PathBuf {
    mkfs_tree(dir, tree, name, bs, extra)
}

fn mkfs_tree(dir: &Path, tree: &Path, name: &str, bs: u32, extra: &[&str]) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-b", &bs.to_string(), "-d"])
        .arg(tree)
        .args(extra)
        .arg(&img)
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf"));
    img
}

/// Every attribute of every file, for 1, 2 and 4 KiB blocks, with and
/// without metadata_csum: the same names and values as getfattr on the
/// source, the same names, sizes (and raw ACL bytes) as debugfs on the
/// image; ACLs parse to the entries getfattr shows; listxattr's buffer
/// holds exactly the names.
#[test]
fn xattrs_match_getfattr_and_debugfs() {
    let mut checked = 0;
    let mut in_inode = 0;
    let mut in_block = 0;
    let mut acls = 0;
    for (bs, extra) in [
        (1024u32, &[][..]),
        (2048, &[][..]),
        (4096, &[][..]),
        (1024, &["-O", "^metadata_csum"][..]),
        (4096, &["-O", "^metadata_csum,^64bit", "-I", "128"][..]),
    ] {
        let s = Scratch::new("xattr");
        let tree = s.0.join("tree");
        make_tree(&tree, bs as usize);
        let want = getfattr_tree(&tree);
        let img_path = mkfs_d(&s.0, &tree, "x.img", bs, extra);
        let img = Image::open(&img_path).unwrap();
        for (path, attrs) in &want {
            let got = read_xattrs(&img_path, &img, path).unwrap();
            let got_map: BTreeMap<String, Vec<u8>> =
                got.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            assert_eq!(got.len(), got_map.len(), "{path}: duplicate names");
            let dbg = ea_list(&img_path, path);
            assert_eq!(
                got_map.keys().collect::<Vec<_>>(),
                attrs.keys().collect::<Vec<_>>(),
                "{bs} {path}: names vs getfattr"
            );
            assert_eq!(
                got_map.keys().collect::<Vec<_>>(),
                dbg.keys().collect::<Vec<_>>(),
                "{bs} {path}: names vs debugfs"
            );
            for (name, value) in &got_map {
                let (dsize, dval) = &dbg[name];
                assert_eq!(value.len(), *dsize, "{bs} {path} {name}: size vs debugfs");
                if let Some(d) = dval {
                    assert_eq!(value, d, "{bs} {path} {name}: value vs debugfs");
                }
                if name.starts_with("system.posix_acl_") {
                    // getfattr shows the VFS form; the disk holds ext4's.
                    let a = Acl::parse(value).unwrap().unwrap();
                    let ours: Vec<(u16, u16, u32)> =
                        a.iter().map(|e| (e.tag, e.perm, e.id)).collect();
                    assert_eq!(ours, vfs_acl(&attrs[name]), "{bs} {path} {name}");
                    // What get_inode_acl hands the VFS, in the form
                    // posix_acl_to_xattr gives getfattr.
                    let posix: Vec<(u16, u16, u32)> = a
                        .iter()
                        .map(|e| posix_form(e.kind().unwrap(), e.perm))
                        .collect();
                    assert_eq!(posix, vfs_acl(&attrs[name]), "{bs} {path} {name}: kinds");
                    assert_eq!(a.len(), ours.len());
                    acls += 1;
                } else {
                    assert_eq!(value, &attrs[name], "{bs} {path} {name}: value vs getfattr");
                }
                checked += 1;
            }
            for (_, _, loc) in &got {
                match loc {
                    Location::InInode => in_inode += 1,
                    Location::Block => in_block += 1,
                }
            }
            // getxattr through split_name + get, inode body first.
            let inode = inode_of(&img, path);
            let raw = raw_inode(&img_path, &img, path);
            let ib = Xattrs::in_inode(&img.sb, &raw, inode.extra_isize).unwrap();
            let blk = (inode.file_acl != 0).then(|| img.read(inode.file_acl).unwrap());
            let bx = blk
                .as_ref()
                .map(|b| Xattrs::block(&img.sb, inode.file_acl, b).unwrap());
            for (name, value) in &got_map {
                let (i, n) = xattr::split_name(name.as_bytes()).unwrap();
                let e = ib
                    .and_then(|x| x.get(i, n))
                    .or_else(|| bx.and_then(|x| x.get(i, n)))
                    .unwrap();
                assert_eq!(e.value().unwrap(), &value[..]);
                assert!(xattr::exposed(i));
            }
            assert!(ib.and_then(|x| x.get(index::USER, b"nope")).is_none());
            assert!(bx.and_then(|x| x.get(index::USER, b"nope")).is_none());
            // listxattr: size query, exact buffer, short buffer.
            let all: Vec<_> = ib
                .iter()
                .flat_map(|x| x.entries())
                .chain(bx.iter().flat_map(|x| x.entries()))
                .collect();
            let mut q = NameList::new(None);
            for e in &all {
                q.add(e).unwrap();
            }
            let need = q.len();
            let mut buf = vec![0u8; need];
            let mut l = NameList::new(Some(&mut buf));
            for e in &all {
                l.add(e).unwrap();
            }
            assert_eq!(l.len(), need);
            let mut names: Vec<String> = buf
                .split(|&b| b == 0)
                .filter(|n| !n.is_empty())
                .map(|n| String::from_utf8(n.to_vec()).unwrap())
                .collect();
            names.sort();
            assert_eq!(names, attrs.keys().cloned().collect::<Vec<_>>());
            if need > 0 {
                let mut short = vec![0u8; need - 1];
                let mut l = NameList::new(Some(&mut short));
                let r: Result<(), BufferTooSmall> = all.iter().try_for_each(|e| l.add(e));
                assert_eq!(r, Err(BufferTooSmall));
            }
        }
        // The big value is in the block, at the largest size it allows.
        let big = read_xattrs(&img_path, &img, "/big").unwrap();
        let max = big.iter().find(|(n, _, _)| n == "user.max").unwrap();
        assert_eq!((max.1.len(), max.2), (bs as usize - 56, Location::Block));
        assert!(want.contains_key("/none") || !want.contains_key("/none"));
        assert!(read_xattrs(&img_path, &img, "/none").unwrap().is_empty());
    }
    assert!(checked > 300, "{checked}");
    assert!(in_inode > 20 && in_block > 100, "{in_inode} {in_block}");
    assert_eq!(acls, 5 * 3);
}

/// The ACL format on crafted values: short and long entries, the count
/// rule, and every kind of malformed value.
#[test]
fn acl_format() {
    let mut v = 1u32.to_le_bytes().to_vec();
    let short = |v: &mut Vec<u8>, tag: u16, perm: u16| {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
    };
    let long = |v: &mut Vec<u8>, tag: u16, perm: u16, id: u32| {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    };
    short(&mut v, acl::tag::USER_OBJ, 6);
    long(&mut v, acl::tag::USER, 4, 1234);
    short(&mut v, acl::tag::GROUP_OBJ, 4);
    long(&mut v, acl::tag::GROUP, 6, 5678);
    short(&mut v, acl::tag::MASK, 6);
    short(&mut v, acl::tag::OTHER, 0);
    let a = Acl::parse(&v).unwrap().unwrap();
    let e: Vec<_> = a.iter().map(|e| (e.tag, e.perm, e.id)).collect();
    let kinds: Vec<_> = a.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            Some(Kind::UserObj),
            Some(Kind::User(1234)),
            Some(Kind::GroupObj),
            Some(Kind::Group(5678)),
            Some(Kind::Mask),
            Some(Kind::Other)
        ]
    );
    let bogus = acl::AclEntry {
        tag: 0x40,
        perm: 7,
        id: 1,
    };
    assert_eq!(bogus.kind(), None);
    let u = acl::UNDEFINED_ID;
    assert_eq!(
        e,
        [
            (1, 6, u),
            (2, 4, 1234),
            (4, 4, u),
            (8, 6, 5678),
            (0x10, 6, u),
            (0x20, 0, u)
        ]
    );
    // Header only: no ACL.
    assert!(Acl::parse(&1u32.to_le_bytes()).unwrap().is_none());
    // The three minimal entries.
    let mut m = 1u32.to_le_bytes().to_vec();
    short(&mut m, 1, 7);
    short(&mut m, 4, 5);
    short(&mut m, 0x20, 5);
    assert_eq!(Acl::parse(&m).unwrap().unwrap().len(), 3);
    // Malformed.
    let bad = |b: &[u8]| matches!(Acl::parse(b), Err(Error::Corrupt { .. }));
    assert!(bad(&[1, 0]));
    let mut w = v.clone();
    w[0] = 2;
    assert!(bad(&w), "version 2 is the VFS form, not ext4's");
    assert!(bad(&v[..v.len() - 2]), "size not a whole count");
    let mut w = v.clone();
    w[4] = 0x40;
    assert!(bad(&w), "unknown tag");
    // A long entry where the count rule expects a short one: entries do
    // not fill the value exactly.
    let mut w = 1u32.to_le_bytes().to_vec();
    long(&mut w, acl::tag::USER, 4, 1);
    short(&mut w, 1, 7);
    short(&mut w, 4, 5);
    assert!(bad(&w));
    // Four short entries that claim to be long: past the end.
    let mut w = 1u32.to_le_bytes().to_vec();
    for _ in 0..4 {
        short(&mut w, acl::tag::GROUP, 4);
    }
    assert!(bad(&w));
    assert_eq!(acl::count_for_size(4 + 16 + 16), Some(6));
    assert_eq!(acl::count_for_size(4 + 12), Some(3));
    assert_eq!(acl::count_for_size(4 + 16 + 4), None);
}

/// The name prefixes and their indexes.
#[test]
fn names_and_prefixes() {
    assert_eq!(xattr::split_name(b"user.foo"), Some((1, &b"foo"[..])));
    assert_eq!(
        xattr::split_name(b"system.posix_acl_access"),
        Some((2, &b""[..]))
    );
    assert_eq!(
        xattr::split_name(b"system.posix_acl_default"),
        Some((3, &b""[..]))
    );
    assert_eq!(xattr::split_name(b"trusted.x"), Some((4, &b"x"[..])));
    assert_eq!(
        xattr::split_name(b"security.selinux"),
        Some((6, &b"selinux"[..]))
    );
    assert_eq!(xattr::split_name(b"system.data"), Some((7, &b"data"[..])));
    assert_eq!(xattr::split_name(b"system.richacl"), Some((8, &b""[..])));
    assert_eq!(
        xattr::split_name(b"gnu.translator"),
        Some((10, &b"translator"[..]))
    );
    assert_eq!(xattr::split_name(b"other.x"), None);
    assert!(!xattr::exposed(index::SYSTEM) && !xattr::exposed(index::RICHACL));
    // Hashes as ext4 computes them: name bytes rotated by 5, value words by
    // 16; the signed variant differs only for bytes above 0x7f.
    assert_eq!(xattr::entry_hash(b"a", b"", false), 0x61);
    assert_eq!(xattr::entry_hash(b"ab", b"", false), (0x61 << 5) ^ 0x62);
    assert_eq!(
        xattr::entry_hash(b"a", b"\x01", false),
        (0x61u32.rotate_left(16)) ^ 1
    );
    assert_eq!(
        xattr::entry_hash(b"ab", b"", true),
        xattr::entry_hash(b"ab", b"", false)
    );
    assert_ne!(
        xattr::entry_hash(b"\xe9", b"", true),
        xattr::entry_hash(b"\xe9", b"", false)
    );
    assert_eq!(xattr::block_hash([1u32, 2].into_iter()), (1u32 << 16) ^ 2);
    assert_eq!(xattr::block_hash([1u32, 0, 2].into_iter()), 0);
}

fn corrupt_what(r: ext4disk::Result<Vec<(String, Vec<u8>, Location)>>) -> &'static str {
    match r {
        Err(Error::Corrupt { what, .. }) | Err(Error::BadChecksum { what, .. }) => what,
        other => panic!("not detected: {other:?}"),
    }
}

/// Damage to the attribute block (located with debugfs `stat`) and to the
/// in-inode area (located with debugfs `imap`): checksum, hashes, header,
/// entry bounds.
#[test]
fn damaged_xattrs_are_errors() {
    for csum in [true, false] {
        let s = Scratch::new("xattr-bad");
        let tree = s.0.join("tree");
        make_tree(&tree, 1024);
        let extra: &[&str] = if csum { &[] } else { &["-O", "^metadata_csum"] };
        let img_path = mkfs_d(&s.0, &tree, "x.img", 1024, extra);
        let stat = String::from_utf8(run(Command::new("debugfs")
            .args(["-R", "stat /mixed"])
            .arg(&img_path)))
        .unwrap();
        let acl_blk: usize = stat
            .lines()
            .find_map(|l| l.trim().strip_prefix("File ACL: "))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(acl_blk != 0);
        let blk = acl_blk * 1024;
        let (iblk, ioff) = imap(&img_path, "/mixed");
        let inode_at = iblk as usize * 1024 + ioff;
        let orig = std::fs::read(&img_path).unwrap();
        let extra_isize = u16::from_le_bytes([orig[inode_at + 128], orig[inode_at + 129]]) as usize;
        let ibody = inode_at + 128 + extra_isize;
        assert_eq!(
            u32::from_le_bytes(orig[ibody..ibody + 4].try_into().unwrap()),
            xattr::MAGIC
        );
        let c = s.0.join("c.img");
        let orig_img = Image::open(&img_path).unwrap();
        let check = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = orig.clone();
            f(&mut b);
            // The inode checksum covers the in-inode area: refresh it so
            // the xattr check is what fails.
            std::fs::write(&c, &b).unwrap();
            let img = Image::open(&c).unwrap();
            if csum {
                let isz = usize::from(img.sb.inode_size);
                let ino = inode_of(&orig_img, "/mixed").ino;
                let sum =
                    ext4disk::disk::inode::inode_csum(&img.sb, ino, &b[inode_at..inode_at + isz])
                        .unwrap();
                b[inode_at + 0x7c..inode_at + 0x7e].copy_from_slice(&(sum as u16).to_le_bytes());
                b[inode_at + 0x82..inode_at + 0x84]
                    .copy_from_slice(&((sum >> 16) as u16).to_le_bytes());
                std::fs::write(&c, &b).unwrap();
            }
            let img = Image::open(&c).unwrap();
            corrupt_what(read_xattrs(&c, &img, "/mixed"))
        };
        let plain_or = |p: &'static str, k: &'static str| if csum { k } else { p };
        // A value byte in the block.
        let last = blk + 1024 - 8;
        assert_eq!(
            check(&|b| b[last] ^= 1),
            plain_or("xattr entry hash", "xattr block")
        );
        // h_hash.
        assert_eq!(
            check(&|b| b[blk + 12] ^= 1),
            plain_or("xattr block hash", "xattr block")
        );
        // An entry's e_hash.
        assert_eq!(
            check(&|b| b[blk + 32 + 12] ^= 1),
            plain_or("xattr entry hash", "xattr block")
        );
        // Magic and h_blocks are checked before the checksum.
        assert_eq!(check(&|b| b[blk + 3] = 0), "xattr block: magic");
        assert_eq!(check(&|b| b[blk + 8] = 2), "xattr block: h_blocks");
        if !csum {
            assert_eq!(
                check(&|b| b[blk + 4..blk + 8].fill(0)),
                "xattr block: h_refcount"
            );
            // e_value_offs of the first entry beyond the block.
            assert_eq!(
                check(&|b| b[blk + 32 + 2..blk + 32 + 4].copy_from_slice(&2000u16.to_le_bytes())),
                "xattr: e_value_offs"
            );
            // Pointing into the entry table.
            assert_eq!(
                check(&|b| b[blk + 32 + 2..blk + 32 + 4].copy_from_slice(&40u16.to_le_bytes())),
                "xattr: overlapping e_value"
            );
            // e_value_inum without the ea_inode feature.
            assert_eq!(
                check(&|b| b[blk + 32 + 4] = 12),
                "xattr: e_value_inum without ea_inode feature"
            );
            // e_value_size beyond 16 MiB.
            assert_eq!(check(&|b| b[blk + 32 + 11] = 2), "xattr: e_value_size");
            // A name length taking in the next entry's bytes (NULs).
            assert_eq!(check(&|b| b[blk + 32] = 255), "xattr: bad e_name length");
        }
        // In the inode body: a value offset past the inode, a name length
        // past it, a NUL in a name.
        assert_eq!(
            check(&|b| b[ibody + 4 + 2..ibody + 4 + 4].copy_from_slice(&600u16.to_le_bytes())),
            "xattr: e_value_offs"
        );
        assert_eq!(
            check(&|b| b[ibody + 4] = 200),
            "xattr: e_name out of bounds"
        );
        assert_eq!(
            check(&|b| b[ibody + 4 + 16] = 0),
            "xattr: bad e_name length"
        );
    }
}

/// Random damage to the attribute block without metadata_csum (so the
/// structural checks are what stands between the bytes and the reader)
/// never panics.
#[test]
fn damaged_xattr_block_never_panics() {
    let s = Scratch::new("xattr-fuzz");
    let tree = s.0.join("tree");
    make_tree(&tree, 1024);
    let img_path = mkfs_d(&s.0, &tree, "x.img", 1024, &["-O", "^metadata_csum"]);
    let img = Image::open(&img_path).unwrap();
    let inode = inode_of(&img, "/mixed");
    let orig = img.read(inode.file_acl).unwrap();
    let mut rng = common::XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut rnd = || rng.next();
    let mut errors = 0;
    for _ in 0..5000 {
        let mut b = orig.clone();
        for _ in 0..1 + rnd() % 3 {
            let off = (rnd() % 256) as usize;
            b[off] = rnd() as u8;
        }
        match Xattrs::block(&img.sb, inode.file_acl, &b) {
            Ok(x) => {
                for e in x.entries() {
                    let _ = e.value();
                    if e.name_index == index::POSIX_ACL_ACCESS {
                        let _ = e.value().map(Acl::parse);
                    }
                }
            }
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 4000, "{errors}");
}

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The same tree's attributes written by the kernel's ext4 (loop mount),
/// which stores the block hash and the entry hashes itself: the disk layer
/// reads what getfattr read through the kernel, and the nonzero block
/// hashes verify. Skipped (with a message) where loop mounts are not
/// possible.
#[test]
fn kernel_written_xattrs_match() {
    for bs in [1024u32, 4096] {
        let s = Scratch::new("xattr-kernel");
        let img_path = s.0.join("k.img");
        std::fs::File::create(&img_path)
            .unwrap()
            .set_len(32 << 20)
            .unwrap();
        run(Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-b", &bs.to_string()])
            .arg(&img_path)
            .env("MKE2FS_CONFIG", "/etc/mke2fs.conf"));
        let mnt = s.0.join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "ext4", "-o", "loop,user_xattr,acl"])
            .arg(&img_path)
            .arg(&mnt)
            .output()
            .is_ok_and(|o| o.status.success());
        // make test runs as root (README): a test that cannot make its
        // image must fail, not pass without checking anything.
        assert!(ok, "cannot loop-mount ext4 (root and loop devices needed)");
        let want = {
            let _m = Mount(mnt.clone());
            make_tree(&mnt.join("t"), bs as usize);
            getfattr_tree(&mnt)
        };
        let img = Image::open(&img_path).unwrap();
        let mut nonzero_block_hash = 0;
        let mut checked = 0;
        for (path, attrs) in &want {
            if attrs.is_empty() || path.starts_with("/lost+found") {
                continue;
            }
            let got = read_xattrs(&img_path, &img, path).unwrap();
            let got_map: BTreeMap<String, Vec<u8>> =
                got.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            assert_eq!(
                got_map.keys().collect::<Vec<_>>(),
                attrs.keys().collect::<Vec<_>>(),
                "{bs} {path}"
            );
            for (name, value) in &got_map {
                if name.starts_with("system.posix_acl_") {
                    let a = Acl::parse(value).unwrap().unwrap();
                    let ours: Vec<(u16, u16, u32)> =
                        a.iter().map(|e| (e.tag, e.perm, e.id)).collect();
                    assert_eq!(ours, vfs_acl(&attrs[name]), "{bs} {path} {name}");
                    // What get_inode_acl hands the VFS, in the form
                    // posix_acl_to_xattr gives getfattr.
                    let posix: Vec<(u16, u16, u32)> = a
                        .iter()
                        .map(|e| posix_form(e.kind().unwrap(), e.perm))
                        .collect();
                    assert_eq!(posix, vfs_acl(&attrs[name]), "{bs} {path} {name}: kinds");
                } else {
                    assert_eq!(value, &attrs[name], "{bs} {path} {name}");
                }
                checked += 1;
            }
            let inode = inode_of(&img, path);
            if inode.file_acl != 0 {
                let b = img.read(inode.file_acl).unwrap();
                let x = Xattrs::block(&img.sb, inode.file_acl, &b).unwrap();
                if x.header().unwrap().hash != 0 {
                    nonzero_block_hash += 1;
                }
            }
        }
        assert!(checked > 30, "{checked}");
        assert!(nonzero_block_hash >= 3, "{nonzero_block_hash}");
    }
}

//! `Inode::store`, the write side of inodes: it is the exact inverse of
//! `Inode::parse` on every inode mke2fs writes, and an inode changed with it
//! is one e2fsck accepts and debugfs reads back.

mod common;

use common::{mkfs, tool, Scratch};
use ext4disk::disk::inode::{store_csum, Inode, Timestamp};
use ext4disk::image::Image;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

/// A small tree for `mke2fs -d`: files, a directory, symlinks, a FIFO.
fn tree(dir: &Path) -> std::path::PathBuf {
    let t = dir.join("tree");
    std::fs::create_dir_all(t.join("sub/deeper")).unwrap();
    std::fs::write(t.join("a.txt"), b"hello\n").unwrap();
    std::fs::write(t.join("sub/b.bin"), vec![7u8; 70_000]).unwrap();
    std::os::unix::fs::symlink("a.txt", t.join("fast-link")).unwrap();
    std::os::unix::fs::symlink("x".repeat(200), t.join("slow-link")).unwrap();
    let st = Command::new("mkfifo").arg(t.join("fifo")).status().unwrap();
    assert!(st.success());
    t
}

fn raw(path: &Path, img: &Image, ino: u32) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let mut b = vec![0u8; usize::from(img.sb.inode_size)];
    f.read_exact_at(&mut b, img.inode_offset(ino).unwrap())
        .unwrap();
    b
}

fn fsck(img: &Path) -> (bool, String) {
    let out = Command::new(tool("e2fsck"))
        .args(["-fn"])
        .arg(img)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

const OPTION_SETS: &[&[&str]] = &[
    &[],
    &["-b", "1024"],
    &["-b", "2048", "-O", "^metadata_csum"],
    &["-I", "128"],
    &["-I", "512", "-O", "^64bit"],
];

#[test]
fn store_is_the_inverse_of_parse() {
    let s = Scratch::new("istore");
    let t = tree(&s.0);
    for (n, opts) in OPTION_SETS.iter().enumerate() {
        let mut o = opts.to_vec();
        o.extend(["-d", t.to_str().unwrap()]);
        let path = mkfs(&s.0, &format!("rt{n}.img"), 32, &o);
        let img = Image::open(&path).unwrap();
        let mut checked = 0;
        for ino in 1..=img.sb.inodes_count.min(64) {
            let before = raw(&path, &img, ino);
            let Ok(inode) = Inode::parse(&img.sb, ino, &before[..]) else {
                continue;
            };
            let mut after = before.clone();
            // Start from the stored bytes with every field store writes
            // scrambled, so a field it forgets shows.
            // (Not the obsolete fragment address at 0x70 or the reserved
            // half-word at 0x7E, which it keeps.) Checksum fields only
            // where there is a checksum, i_version_hi where the inode has
            // room for it.
            let csum = img.sb.has_metadata_csum();
            let mut ranges = vec![0..0x70, 0x74..0x7C];
            if csum {
                ranges.push(0x7C..0x7E);
            }
            if usize::from(inode.extra_isize) >= 0x18 {
                ranges.extend([0x80..0x82, 0x84..0x98]);
                if usize::from(inode.extra_isize) >= 0x1C {
                    ranges.push(0x98..0x9C);
                }
                if csum {
                    ranges.push(0x82..0x84);
                }
            }
            for r in ranges {
                after[r].iter_mut().for_each(|b| *b ^= 0x5A);
            }
            inode.store(&img.sb, &mut after).unwrap();
            assert_eq!(
                before, after,
                "{opts:?}: inode {ino} changed by parse+store"
            );
            checked += 1;
        }
        assert!(checked >= 12, "{opts:?}: only {checked} inodes");
    }
}

#[test]
fn stored_changes_pass_e2fsck_and_read_back() {
    let s = Scratch::new("istore-mod");
    let t = tree(&s.0);
    for (n, opts) in OPTION_SETS.iter().enumerate() {
        let mut o = opts.to_vec();
        o.extend(["-d", t.to_str().unwrap()]);
        let path = mkfs(&s.0, &format!("mod{n}.img"), 32, &o);
        let img = Image::open(&path).unwrap();
        let ino = img
            .read_dir(&img.inode(2).unwrap())
            .unwrap()
            .into_iter()
            .find(|e| e.name == b"a.txt")
            .unwrap()
            .ino;
        let mut inode = img.inode(ino).unwrap();
        let extra = img.sb.inode_size > 128;
        inode.mode = 0o100640;
        inode.uid = 70_000;
        inode.gid = 80_001;
        // After 2038 needs the epoch bits (extra fields); without them the
        // store clamps to 2038.
        let late = Timestamp {
            sec: 4_102_444_800,
            nsec: 123_456_789,
        };
        inode.mtime = late;
        inode.atime = Timestamp {
            sec: -1_000_000,
            nsec: 5,
        };
        // The change counter's high half needs i_version_hi (extra fields).
        inode.version = 0x1_0000_0005;
        let mut b = raw(&path, &img, ino);
        inode.store(&img.sb, &mut b).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&b, img.inode_offset(ino).unwrap()).unwrap();
        drop(f);
        let (ok, text) = fsck(&path);
        assert!(ok, "{opts:?}: e2fsck after store:\n{text}");

        let back = Image::open(&path).unwrap().inode(ino).unwrap();
        assert_eq!((back.mode, back.uid, back.gid), (0o100640, 70_000, 80_001));
        let version = if extra {
            "0x00000001:00000005"
        } else {
            "0x00000005"
        };
        assert_eq!(
            back.version,
            if extra { 0x1_0000_0005 } else { 5 },
            "{opts:?}"
        );
        if extra {
            assert_eq!(back.mtime, late, "{opts:?}");
            assert_eq!(
                back.atime,
                Timestamp {
                    sec: -1_000_000,
                    nsec: 5
                }
            );
        } else {
            assert_eq!(
                back.mtime,
                Timestamp {
                    sec: i64::from(i32::MAX),
                    nsec: 0
                }
            );
            assert_eq!(
                back.atime,
                Timestamp {
                    sec: -1_000_000,
                    nsec: 0
                }
            );
        }
        let out = Command::new(tool("debugfs"))
            .args(["-R", &format!("stat <{ino}>")])
            .arg(&path)
            .output()
            .unwrap();
        let st = String::from_utf8_lossy(&out.stdout);
        assert!(
            st.contains("Mode:  0640")
                && st.contains("User: 70000")
                && st.contains(&format!("Version: {version}\n")),
            "{st}"
        );

        // The control: the same change with a stale checksum is what
        // e2fsck reports (on the checksummed images), so the clean result
        // above means something.
        if img.sb.has_metadata_csum() {
            inode.mode = 0o100600;
            let mut bad = b.clone();
            inode.store(&img.sb, &mut bad).unwrap();
            bad[0x7C..0x7E].copy_from_slice(&b[0x7C..0x7E]);
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.write_all_at(&bad, img.inode_offset(ino).unwrap())
                .unwrap();
            drop(f);
            let (ok, text) = fsck(&path);
            assert!(
                !ok && text.contains("checksum"),
                "{opts:?}: stale checksum passed:\n{text}"
            );
            // store_csum alone mends it.
            store_csum(&img.sb, ino, &mut bad).unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.write_all_at(&bad, img.inode_offset(ino).unwrap())
                .unwrap();
            drop(f);
            let (ok, text) = fsck(&path);
            assert!(ok, "{opts:?}: after store_csum:\n{text}");
        }
    }
}

/// On a filesystem made by the Hurd, `l_i_version` is the translator
/// block: the change counter is neither read from nor written there.
#[test]
fn hurd_keeps_its_translator_field() {
    let s = Scratch::new("istore-hurd");
    let path = mkfs(&s.0, "h.img", 32, &[]);
    let img = Image::open(&path).unwrap();
    let mut sb = img.sb.clone();
    sb.creator_os = 1;
    let mut b = raw(&path, &img, 2);
    b[0x24..0x28].copy_from_slice(&0x1234_5678u32.to_le_bytes());
    store_csum(&sb, 2, &mut b).unwrap();
    let mut inode = Inode::parse(&sb, 2, &b[..]).unwrap();
    assert_eq!(inode.version, 0);
    inode.version = 9;
    inode.store(&sb, &mut b).unwrap();
    assert_eq!(b[0x24..0x28], 0x1234_5678u32.to_le_bytes());
    assert_eq!(b[0x98..0x9C], [0, 0, 0, 0]);
    // The same bytes on a Linux filesystem carry the counter.
    assert_eq!(
        Inode::parse(&img.sb, 2, &b[..]).map(|i| i.version),
        Ok(0x1234_5678)
    );
}

//! The orphan file's blocks (`disk::orphan`): what mke2fs writes parses
//! (magic, checksum, every slot free) at 1 KiB and 4 KiB blocks, with and
//! without metadata_csum; slots set and cleared keep the checksum right
//! (e2fsck, which checks it, processes an entry the disk layer wrote and
//! refuses one whose checksum was damaged afterwards); corrupt tails,
//! out-of-range slots, a slot in use and inode 0 are errors that change
//! nothing.

mod common;

use common::{mkfs, tool, Scratch};
use ext4disk::disk::features::compat;
use ext4disk::disk::inode::Inode;
use ext4disk::disk::orphan::{self, BLOCK_MAGIC, TAIL_SIZE};
use ext4disk::disk::Error;
use ext4disk::extent::Mapping;
use ext4disk::image::Image;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The option sets the tests run on: (name, mke2fs options).
const VARIANTS: &[(&str, &[&str])] = &[
    ("1k", &["-b", "1024", "-O", "orphan_file"]),
    ("4k", &["-b", "4096", "-O", "orphan_file"]),
    (
        "1k-nocsum",
        &["-b", "1024", "-O", "orphan_file,^metadata_csum"],
    ),
    (
        "4k-nocsum",
        &["-b", "4096", "-O", "orphan_file,^metadata_csum"],
    ),
];

/// The orphan file of an image: its inode, checksum seed and blocks as
/// (physical block, bytes).
struct OrphanFile {
    inode: Inode,
    seed: Option<u32>,
    blocks: Vec<(u64, Vec<u8>)>,
}

fn orphan_file(path: &Path) -> OrphanFile {
    let img = Image::open(path).unwrap();
    assert!(img.sb.has_compat(compat::ORPHAN_FILE));
    assert_ne!(img.sb.orphan_file_inum, 0);
    let inode = img.inode(img.sb.orphan_file_inum).unwrap();
    assert!(inode.is_reg());
    let bs = u64::from(img.sb.block_size());
    let f = std::fs::File::open(path).unwrap();
    let mut blocks = Vec::new();
    for l in 0..inode.size / bs {
        let Mapping::Mapped { pblk, .. } = img.map(&inode, l as u32).unwrap() else {
            panic!("orphan file block {l}: a hole");
        };
        let mut b = vec![0u8; bs as usize];
        f.read_exact_at(&mut b, pblk * bs).unwrap();
        blocks.push((pblk, b));
    }
    let seed = img.sb.has_metadata_csum().then_some(inode.csum_seed);
    OrphanFile {
        inode,
        seed,
        blocks,
    }
}

fn image(s: &Scratch, name: &str, opts: &[&str]) -> PathBuf {
    mkfs(&s.0, &format!("{name}.img"), 16, opts)
}

#[test]
fn mke2fs_blocks_parse_empty() {
    let s = Scratch::new("orphan-parse");
    for (name, opts) in VARIANTS {
        let path = image(&s, name, opts);
        let of = orphan_file(&path);
        assert!(!of.blocks.is_empty(), "{name}: no orphan file blocks");
        for (p, b) in &of.blocks {
            let n = orphan::slots_per_block(b.len());
            assert_eq!(n, (b.len() - 8) / 4);
            assert_eq!(orphan::check_block(b, *p, of.seed), Ok(n), "{name}");
            assert_eq!(orphan::entries(b).count(), 0);
            let tail = b.len() - TAIL_SIZE;
            assert_eq!(&b[tail..tail + 4], &BLOCK_MAGIC.to_le_bytes());
            if let Some(seed) = of.seed {
                // The stored checksum is the disk layer's, and it covers
                // the block number: the same bytes at another block fail.
                let c = orphan::block_csum(seed, *p, b).unwrap();
                assert_eq!(&b[tail + 4..], &c.to_le_bytes());
                assert!(matches!(
                    orphan::check_block(b, p + 1, of.seed),
                    Err(Error::BadChecksum { .. })
                ));
                // So does the seed (the orphan file inode's own).
                assert!(orphan::check_block(b, *p, Some(seed ^ 1)).is_err());
            }
            // init_block rebuilds exactly what mke2fs wrote.
            let mut fresh = vec![0xA5u8; b.len()];
            orphan::init_block(&mut fresh, *p, of.seed).unwrap();
            if of.seed.is_some() {
                assert_eq!(&fresh, b, "{name}: init_block differs from mke2fs");
            } else {
                assert_eq!(&fresh[..tail + 4], &b[..tail + 4]);
            }
        }
        let _ = of.inode;
    }
}

#[test]
fn slots_set_find_clear() {
    let s = Scratch::new("orphan-slots");
    for (name, opts) in VARIANTS {
        let path = image(&s, name, opts);
        let of = orphan_file(&path);
        let (p, orig) = of.blocks[0].clone();
        let n = orphan::slots_per_block(orig.len());
        let mut b = orig.clone();
        assert_eq!(orphan::find_free(&b, 0), Ok(Some(0)));
        orphan::set_slot(&mut b, 5, 4242, p, of.seed).unwrap();
        assert_eq!(orphan::check_block(&b, p, of.seed), Ok(n - 1), "{name}");
        assert_eq!(orphan::slot(&b, 5), Ok(4242));
        assert_eq!(orphan::entries(&b).collect::<Vec<_>>(), vec![(5, 4242)]);
        assert_eq!(orphan::find_free(&b, 5), Ok(Some(6)));
        // A slot in use, inode 0 and an index past the slots are refused,
        // the block unchanged.
        let before = b.clone();
        assert!(matches!(
            orphan::set_slot(&mut b, 5, 7, p, of.seed),
            Err(Error::Corrupt { value: 4242, .. })
        ));
        assert!(orphan::set_slot(&mut b, 6, 0, p, of.seed).is_err());
        assert!(orphan::set_slot(&mut b, n, 7, p, of.seed).is_err());
        assert!(orphan::clear_slot(&mut b, n, p, of.seed).is_err());
        assert!(orphan::slot(&b, n).is_err());
        assert!(orphan::set_slot(&mut b, usize::MAX, 7, p, of.seed).is_err());
        assert_eq!(b, before);
        // The last slot, then clearing both: back to mke2fs's bytes.
        orphan::set_slot(&mut b, n - 1, 9, p, of.seed).unwrap();
        assert_eq!(
            orphan::entries(&b).collect::<Vec<_>>(),
            vec![(5, 4242), (n - 1, 9)]
        );
        assert_eq!(orphan::clear_slot(&mut b, 5, p, of.seed), Ok(4242));
        assert_eq!(orphan::clear_slot(&mut b, n - 1, p, of.seed), Ok(9));
        assert_eq!(b, orig, "{name}: set and clear left a difference");
        // A full block: no free slot, from any start.
        for i in 0..n {
            orphan::set_slot(&mut b, i, 100 + i as u32, p, of.seed).unwrap();
        }
        assert_eq!(orphan::check_block(&b, p, of.seed), Ok(0));
        assert_eq!(orphan::find_free(&b, 0), Ok(None));
        assert_eq!(orphan::find_free(&b, n + 3), Ok(None));
        orphan::clear_slot(&mut b, 3, p, of.seed).unwrap();
        // The search wraps around to the one free slot.
        assert_eq!(orphan::find_free(&b, 10), Ok(Some(3)));
        assert_eq!(orphan::find_free(&b, n * 2), Ok(Some(3)));
    }
}

#[test]
fn corrupt_tails_refused() {
    let s = Scratch::new("orphan-corrupt");
    for (name, opts) in VARIANTS {
        let path = image(&s, name, opts);
        let of = orphan_file(&path);
        let (p, orig) = of.blocks[1].clone();
        let tail = orig.len() - TAIL_SIZE;
        // Every byte of the magic.
        for i in 0..4 {
            let mut b = orig.clone();
            b[tail + i] ^= 0x40;
            assert!(
                matches!(
                    orphan::check_block(&b, p, of.seed),
                    Err(Error::Corrupt {
                        what: "orphan file block: ob_magic",
                        ..
                    })
                ),
                "{name}: magic byte {i}"
            );
        }
        // The checksum, and a slot changed without re-signing: only with
        // metadata_csum.
        let mut b = orig.clone();
        b[tail + 5] ^= 1;
        let mut c = orig.clone();
        c[8] = 77;
        for bad in [&b, &c] {
            let r = orphan::check_block(bad, p, of.seed);
            if of.seed.is_some() {
                assert!(
                    matches!(
                        r,
                        Err(Error::BadChecksum {
                            what: "orphan file block",
                            ..
                        })
                    ),
                    "{name}: {r:?}"
                );
                assert!(r
                    .unwrap_err()
                    .to_string()
                    .contains("orphan file block checksum"));
            } else {
                assert!(r.is_ok(), "{name}: no checksum without metadata_csum");
            }
        }
        // Blocks too small for a tail and a slot.
        for len in [0, 4, 8, 11] {
            let t = vec![0u8; len];
            assert_eq!(orphan::check_block(&t, p, of.seed), Err(Error::Truncated));
            assert_eq!(orphan::find_free(&t, 0), Err(Error::Truncated));
            assert_eq!(orphan::entries(&t).count(), 0);
        }
        // Random damage never panics.
        let mut r = common::XorShift::new(0x5eed_0f_0a);
        for _ in 0..2000 {
            let mut b = orig.clone();
            let at = (r.next() as usize) % b.len();
            b[at] ^= (r.next() as u8) | 1;
            let _ = orphan::check_block(&b, p, of.seed);
            let _ = orphan::entries(&b).count();
            let _ = orphan::find_free(&b, r.next() as usize);
        }
    }
}

/// e2fsck (which verifies the orphan file's checksums) processes an entry
/// the disk layer wrote, and calls the same block with one checksum bit
/// flipped a wrong checksum: the two implementations agree.
#[test]
fn e2fsck_agrees_on_the_checksum() {
    let s = Scratch::new("orphan-e2fsck");
    let path = image(&s, "c", &["-b", "1024", "-O", "orphan_file"]);
    // A file to orphan: written, unlinked, no link left (what a crash
    // leaves of a file unlinked while open).
    let data = s.0.join("h.txt");
    std::fs::write(&data, b"hello\n").unwrap();
    let debugfs = |cmd: &str| {
        let out = Command::new(tool("debugfs"))
            .args(["-w", "-R", cmd])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "debugfs {cmd}");
    };
    debugfs(&format!("write {} h", data.display()));
    let img = Image::open(&path).unwrap();
    let ino = img
        .read_dir(&img.inode(2).unwrap())
        .unwrap()
        .into_iter()
        .find(|e| e.name == b"h")
        .unwrap()
        .ino;
    debugfs("unlink /h");
    debugfs(&format!("sif <{ino}> links_count 0"));
    let of = orphan_file(&path);
    let (p, mut b) = of.blocks[2].clone();
    orphan::set_slot(&mut b, 7, ino, p, of.seed).unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let bs = b.len() as u64;
    // orphan_present: the orphan file may hold entries (set while
    // mounted read-write).
    let mut sb = vec![0u8; 1024];
    f.read_exact_at(&mut sb, 1024).unwrap();
    let ro = u32::from_le_bytes(sb[0x64..0x68].try_into().unwrap()) | 0x1_0000;
    sb[0x64..0x68].copy_from_slice(&ro.to_le_bytes());
    ext4disk::superblock::update_superblock_csum(&mut sb).unwrap();
    f.write_all_at(&sb, 1024).unwrap();
    let bad = s.0.join("bad.img");
    f.write_all_at(&b, p * bs).unwrap();
    std::fs::copy(&path, &bad).unwrap();
    let g = std::fs::OpenOptions::new().write(true).open(&bad).unwrap();
    let mut flipped = b.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    g.write_all_at(&flipped, p * bs).unwrap();
    let fsck = |img: &Path| {
        let out = Command::new(tool("e2fsck"))
            .arg("-fy")
            .arg(img)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let good = fsck(&path);
    assert!(
        good.contains(&format!("Clearing orphaned inode {ino} ")) && !good.contains("checksum"),
        "{good}"
    );
    let worse = fsck(&bad);
    assert!(worse.contains("block 2 contains wrong checksum"), "{worse}");
}

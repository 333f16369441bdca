//! Bitmaps and allocation on disk: the bit operations against a model,
//! bitmap checksums against what mke2fs stored, uninitialised bitmaps
//! against what libext2fs (dumpe2fs) says is free, and the write path's
//! steps (initialise an uninit group, allocate and free blocks) applied to
//! real images, judged by `e2fsck -fn`.

mod common;

use common::*;
use ext4disk::disk::bitmap;
use ext4disk::disk::group::{self, GroupDesc, BG_BLOCK_UNINIT, BG_INODE_UNINIT};
use ext4disk::disk::superblock::{self, Superblock};
use ext4disk::disk::syszone::group_first_block;
use ext4disk::disk::Error;
use std::collections::BTreeSet;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------
// Bit operations.

fn bit(b: &[u8], i: usize) -> bool {
    b[i / 8] >> (i % 8) & 1 != 0
}

fn set_bits(b: &mut [u8], bits: &[usize]) {
    for &i in bits {
        b[i / 8] |= 1 << (i % 8);
    }
}

#[test]
fn find_zero_wraps_once() {
    let mut b = vec![0xFFu8; 16];
    assert_eq!(bitmap::find_zero(&b, 128, 0), Ok(None));
    assert_eq!(bitmap::find_zero(&b, 128, 77), Ok(None));
    b[1] = 0xFF & !(1 << 3); // bit 11 free
    assert_eq!(bitmap::find_zero(&b, 128, 0), Ok(Some(11)));
    assert_eq!(bitmap::find_zero(&b, 128, 11), Ok(Some(11)));
    // Past it: wraps to the start.
    assert_eq!(bitmap::find_zero(&b, 128, 12), Ok(Some(11)));
    assert_eq!(bitmap::find_zero(&b, 128, 127), Ok(Some(11)));
    // A start at or past nbits starts at 0.
    assert_eq!(bitmap::find_zero(&b, 128, 128), Ok(Some(11)));
    assert_eq!(bitmap::find_zero(&b, 128, u32::MAX), Ok(Some(11)));
    b[15] = 0x7F; // bit 127 free
    assert_eq!(bitmap::find_zero(&b, 128, 12), Ok(Some(127)));
    // Bits past nbits are never found, whatever they hold.
    assert_eq!(bitmap::find_zero(&b, 127, 12), Ok(Some(11)));
    let z = vec![0u8; 16];
    assert_eq!(bitmap::find_zero(&z, 0, 0), Ok(None));
    // Bit 64 exactly, from both sides of the word boundary.
    let mut w = vec![0xFFu8; 16];
    w[8] = 0xFE;
    assert_eq!(bitmap::find_zero(&w, 128, 63), Ok(Some(64)));
    assert_eq!(bitmap::find_zero(&w, 128, 65), Ok(Some(64)));
    // nbits not a multiple of 8 or 64, bytes not a multiple of 8.
    let mut o = vec![0xFFu8; 13];
    o[12] = 0b1110_1111; // bit 100 free
    assert_eq!(bitmap::find_zero(&o, 101, 0), Ok(Some(100)));
    assert_eq!(bitmap::find_zero(&o, 100, 0), Ok(None));
    assert_eq!(bitmap::find_zero(&o, 104, 101), Ok(Some(100)));
    // nbits beyond the bytes.
    assert_eq!(bitmap::find_zero(&o, 105, 0), Err(Error::Truncated));
}

#[test]
fn free_runs_cross_word_boundaries() {
    let mut b = vec![0xFFu8; 32];
    // Free 60..70 (crosses bit 64) and 120..256.
    bitmap::clear_range(&mut b, 256, 60, 10).unwrap();
    bitmap::clear_range(&mut b, 256, 120, 136).unwrap();
    assert_eq!(bitmap::find_free_run(&b, 256, 0, 100), Ok(Some((60, 10))));
    assert_eq!(bitmap::find_free_run(&b, 256, 0, 4), Ok(Some((60, 4))));
    assert_eq!(bitmap::find_free_run(&b, 256, 63, 100), Ok(Some((63, 7))));
    assert_eq!(bitmap::find_free_run(&b, 256, 64, 1), Ok(Some((64, 1))));
    assert_eq!(
        bitmap::find_free_run(&b, 256, 70, 1000),
        Ok(Some((120, 136)))
    );
    // Capped at nbits, no wrap inside a run.
    assert_eq!(
        bitmap::find_free_run(&b, 200, 150, 1000),
        Ok(Some((150, 50)))
    );
    // Wrapping to the first run.
    bitmap::set_range(&mut b, 256, 120, 136).unwrap();
    assert_eq!(bitmap::find_free_run(&b, 256, 200, 64), Ok(Some((60, 10))));
    assert_eq!(bitmap::find_free_run(&b, 256, 0, 0), Ok(None));
    bitmap::set_range(&mut b, 256, 60, 10).unwrap();
    assert_eq!(bitmap::find_free_run(&b, 256, 0, 5), Ok(None));
    // A run of exactly one word, and of several.
    let mut c = vec![0xFFu8; 40];
    bitmap::clear_range(&mut c, 320, 64, 64).unwrap();
    assert_eq!(c[8..16], [0u8; 8]);
    assert_eq!(c[7], 0xFF);
    assert_eq!(c[16], 0xFF);
    assert_eq!(bitmap::find_free_run(&c, 320, 0, 500), Ok(Some((64, 64))));
    bitmap::clear_range(&mut c, 320, 128, 192).unwrap();
    assert_eq!(bitmap::find_free_run(&c, 320, 5, 500), Ok(Some((64, 256))));
    assert_eq!(bitmap::count_zeros(&c, 320), Ok(256));
}

#[test]
fn refused_ranges_leave_the_bitmap_unchanged() {
    let mut b = vec![0u8; 24];
    set_bits(&mut b, &[70]);
    let before = b.clone();
    // Setting over a set bit: refused, names the bit, nothing changed.
    assert_eq!(
        bitmap::set_range(&mut b, 192, 60, 20),
        Err(Error::Corrupt {
            what: "bitmap: block already in use",
            value: 70
        })
    );
    assert_eq!(b, before);
    // Clearing over a clear bit (double free).
    assert_eq!(
        bitmap::clear_range(&mut b, 192, 69, 3),
        Err(Error::Corrupt {
            what: "bitmap: block already free",
            value: 69
        })
    );
    assert_eq!(b, before);
    // Out of bounds: refused before anything is written.
    assert!(bitmap::set_range(&mut b, 192, 180, 13).is_err());
    assert!(bitmap::set_range(&mut b, 192, u32::MAX, 2).is_err());
    assert!(bitmap::clear_range(&mut b, 192, 70, 123).is_err());
    assert_eq!(bitmap::set_range(&mut b, 200, 0, 1), Err(Error::Truncated));
    assert_eq!(b, before);
    // Empty ranges are fine anywhere inside.
    assert_eq!(bitmap::set_range(&mut b, 192, 70, 0), Ok(()));
    assert_eq!(bitmap::clear_range(&mut b, 192, 192, 0), Ok(()));
    assert_eq!(b, before);
    // The last bit exactly.
    bitmap::set_range(&mut b, 192, 191, 1).unwrap();
    assert!(bit(&b, 191));
    assert_eq!(bitmap::count_zeros(&b, 192), Ok(190));
    // Bits past nbits are not touched by a range at the end, and not
    // counted.
    let mut c = vec![0u8; 2];
    bitmap::set_range(&mut c, 13, 5, 8).unwrap();
    assert_eq!(c, [0b1110_0000, 0b0001_1111]);
    assert_eq!(bitmap::count_zeros(&c, 13), Ok(5));
    c[1] = 0xFF;
    assert_eq!(bitmap::count_zeros(&c, 13), Ok(5));
}

#[test]
fn random_operations_match_a_model() {
    let mut rng = XorShift::new(0xb17_3a9);
    for round in 0..400 {
        let bytes = 1 + (rng.next() % 80) as usize;
        let nbits = (rng.next() % (bytes as u64 * 8 + 1)) as u32;
        let mut b: Vec<u8> = (0..bytes).map(|_| rng.next() as u8).collect();
        // Bits past nbits hold noise: never read, never written.
        let tail: Vec<bool> = (nbits as usize..bytes * 8).map(|i| bit(&b, i)).collect();
        let mut m: Vec<bool> = (0..nbits as usize).map(|i| bit(&b, i)).collect();
        for _ in 0..60 {
            let n = nbits as u64;
            let start = (rng.next() % (n + 3)) as u32;
            let len = (rng.next() % 140) as u32;
            match rng.next() % 5 {
                0 => {
                    let got = bitmap::find_zero(&b, nbits, start).unwrap();
                    let s = if (start as usize) < m.len() {
                        start as usize
                    } else {
                        0
                    };
                    let want = (s..m.len()).chain(0..s).find(|&i| !m[i]).map(|i| i as u32);
                    assert_eq!(got, want, "round {round} find_zero {start}");
                }
                1 => {
                    let got = bitmap::find_free_run(&b, nbits, start, len).unwrap();
                    let s = if (start as usize) < m.len() {
                        start as usize
                    } else {
                        0
                    };
                    let want = if len == 0 {
                        None
                    } else {
                        (s..m.len()).chain(0..s).find(|&i| !m[i]).map(|f| {
                            let mut e = f;
                            while e < m.len() && !m[e] && e - f < len as usize {
                                e += 1;
                            }
                            (f as u32, (e - f) as u32)
                        })
                    };
                    assert_eq!(got, want, "round {round} run {start} {len}");
                }
                2 | 3 => {
                    let set = rng.next() % 5 < 2;
                    let before = b.clone();
                    let r = if set {
                        bitmap::set_range(&mut b, nbits, start, len)
                    } else {
                        bitmap::clear_range(&mut b, nbits, start, len)
                    };
                    let end = start as usize + len as usize;
                    if end > m.len() {
                        assert!(r.is_err());
                        assert_eq!(b, before);
                    } else if let Some(i) = (start as usize..end).find(|&i| m[i] == set) {
                        assert_eq!(
                            r.map_err(|e| match e {
                                Error::Corrupt { value, .. } => value,
                                _ => u64::MAX,
                            }),
                            Err(i as u64)
                        );
                        assert_eq!(b, before);
                    } else {
                        r.unwrap();
                        m[start as usize..end].fill(set);
                    }
                }
                _ => {
                    let want = m.iter().filter(|&&x| !x).count() as u32;
                    assert_eq!(bitmap::count_zeros(&b, nbits), Ok(want));
                }
            }
            for (i, &x) in m.iter().enumerate() {
                assert_eq!(bit(&b, i), x, "round {round} bit {i}");
            }
            for (k, &x) in tail.iter().enumerate() {
                assert_eq!(bit(&b, nbits as usize + k), x, "round {round} tail");
            }
        }
        // Fill it completely through the runs, then free it all.
        let free = bitmap::count_zeros(&b, nbits).unwrap();
        let mut taken = 0;
        while let Some((s, l)) = bitmap::find_free_run(&b, nbits, 0, 37).unwrap() {
            bitmap::set_range(&mut b, nbits, s, l).unwrap();
            taken += l;
        }
        assert_eq!(taken, free);
        assert_eq!(bitmap::count_zeros(&b, nbits), Ok(0));
        bitmap::clear_range(&mut b, nbits, 0, nbits).unwrap();
        assert_eq!(bitmap::count_zeros(&b, nbits), Ok(nbits));
    }
}

// ---------------------------------------------------------------------
// Images.

/// An image file opened for raw reads and writes.
struct Img {
    file: std::fs::File,
    sbb: Vec<u8>,
    sb: Superblock,
}

impl Img {
    fn open(path: &Path) -> Img {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut sbb = vec![0u8; 1024];
        file.read_exact_at(&mut sbb, 1024).unwrap();
        let sb = Superblock::parse(&sbb).unwrap();
        Img { file, sbb, sb }
    }

    fn bs(&self) -> u64 {
        self.sb.block_size().into()
    }

    fn block(&self, b: u64) -> Vec<u8> {
        let mut v = vec![0u8; self.bs() as usize];
        self.file.read_exact_at(&mut v, b * self.bs()).unwrap();
        v
    }

    fn write_block(&self, b: u64, v: &[u8]) {
        assert_eq!(v.len() as u64, self.bs());
        self.file.write_all_at(v, b * self.bs()).unwrap();
    }

    /// Where group `g`'s primary descriptor lives (meta_bg included).
    fn desc_loc(&self, g: u32) -> (u64, usize) {
        let sb = &self.sb;
        let ds = u64::from(sb.desc_size);
        let per = self.bs() / ds;
        let meta = u64::from(g) / per;
        let off = ((u64::from(g) % per) * ds) as usize;
        if sb.has_incompat(ext4disk::features::incompat::META_BG)
            && meta >= u64::from(sb.first_meta_bg)
        {
            let first = (meta * per) as u32;
            let sup = u64::from(group::has_super(sb, first));
            (group_first_block(sb, first) + sup, off)
        } else {
            (u64::from(sb.first_data_block) + 1 + meta, off)
        }
    }

    fn desc(&self, g: u32) -> Vec<u8> {
        let (b, off) = self.desc_loc(g);
        self.block(b)[off..off + usize::from(self.sb.desc_size)].to_vec()
    }

    fn write_desc(&self, g: u32, d: &[u8]) {
        let (b, off) = self.desc_loc(g);
        self.file
            .write_all_at(d, b * self.bs() + off as u64)
            .unwrap();
    }

    /// Group `g`'s descriptor. With meta_bg, `GroupDesc::parse`'s
    /// placement check (descriptor table contiguous after the superblock)
    /// does not hold, so the fields are decoded here after the checksum
    /// is checked.
    fn gd(&self, g: u32) -> GroupDesc {
        let d = self.desc(g);
        if !self.sb.has_incompat(ext4disk::features::incompat::META_BG) {
            return GroupDesc::parse(&self.sb, g, &d).unwrap();
        }
        let c = group::desc_csum(&self.sb, g, &d).unwrap().unwrap();
        let le16 = |o: usize| u32::from(u16::from_le_bytes([d[o], d[o + 1]]));
        let le32 = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
        let is64 = d.len() >= 64;
        let w = |lo: usize, hi: usize| {
            u64::from(le32(lo)) | if is64 { u64::from(le32(hi)) << 32 } else { 0 }
        };
        let h = |lo: usize, hi: usize| le16(lo) | if is64 { le16(hi) << 16 } else { 0 };
        let gd = GroupDesc {
            block_bitmap: w(0, 0x20),
            inode_bitmap: w(4, 0x24),
            inode_table: w(8, 0x28),
            free_blocks_count: h(0xC, 0x2C),
            free_inodes_count: h(0xE, 0x2E),
            used_dirs_count: h(0x10, 0x30),
            flags: le16(0x12) as u16,
            itable_unused: h(0x1C, 0x32),
            checksum: le16(0x1E) as u16,
        };
        assert_eq!(c, gd.checksum, "group {g}");
        gd
    }

    fn groups(&self) -> u32 {
        self.sb.group_count() as u32
    }

    fn write_sb(&mut self) {
        superblock::update_superblock_csum(&mut self.sbb).unwrap();
        self.file.write_all_at(&self.sbb, 1024).unwrap();
        self.sb = Superblock::parse(&self.sbb).unwrap();
    }

    /// The block bitmap of uninit group `g` as computed by the disk layer,
    /// and the free count it returned.
    fn init_bb(&self, g: u32) -> (Vec<u8>, u32) {
        let mut b = vec![0xA5u8; self.bs() as usize];
        let free = bitmap::init_block_bitmap(&self.sb, g, &mut b, |x| Ok(self.gd(x))).unwrap();
        (b, free)
    }
}

/// `e2fsck -fn`: exit status and output.
fn fsck(img: &Path) -> (i32, String) {
    let out = Command::new("e2fsck").arg("-fn").arg(img).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// e2fsck -fn exits 0 and has nothing to fix: its exit status ignores
/// wrong superblock free counts (the kernel recomputes them), so the
/// output is checked for them too.
fn assert_clean(img: &Path, what: &str) {
    let (rc, text) = fsck(img);
    assert_eq!(rc, 0, "{what}: e2fsck -fn:\n{text}");
    assert!(!text.contains("Fix?"), "{what}: e2fsck -fn:\n{text}");
}

fn assert_caught(img: &Path, what: &str, needle: &str) {
    let (rc, text) = fsck(img);
    assert_ne!(rc, 0, "{what}: e2fsck -fn passed:\n{text}");
    assert!(text.contains(needle), "{what}: want {needle:?} in:\n{text}");
}

fn debugfs_w(img: &Path, cmds: &[String]) {
    // debugfs takes one -R; run them one at a time.
    for cmd in cmds {
        let out = Command::new("debugfs")
            .arg("-w")
            .arg("-R")
            .arg(cmd)
            .arg(img)
            .output()
            .unwrap();
        assert!(out.status.success(), "debugfs {cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.lines().any(|l| !l.starts_with("debugfs ")),
            "debugfs {cmd}: {err}"
        );
    }
}

/// Per group from `dumpe2fs`: its flags line and its free block ranges.
fn dumpe2fs_free(img: &Path) -> Vec<(String, Vec<(u64, u64)>)> {
    let out = Command::new("dumpe2fs").arg(img).output().unwrap();
    assert!(out.status.success());
    let mut v: Vec<(String, Vec<(u64, u64)>)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with("Group ") && line.contains(": (Blocks ") {
            v.push((line.to_string(), Vec::new()));
        } else if v.is_empty() {
            // The header's "Free blocks: N".
        } else if let Some(rest) = line.trim().strip_prefix("Free blocks:") {
            let last = v.last_mut().unwrap();
            for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                last.1.push((a.parse().unwrap(), b.parse().unwrap()));
            }
        }
    }
    v
}

/// Images for the checksum test: data and inodes in many groups (small
/// groups, one big file, files in many directories).
fn populated(dir: &Path, name: &str, opts: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}-src"));
    std::fs::create_dir_all(&src).unwrap();
    let mut rng = XorShift::new(7);
    let big: Vec<u8> = (0..6 << 20).map(|_| rng.next() as u8).collect();
    std::fs::write(src.join("big"), &big).unwrap();
    for d in 0..24 {
        let sub = src.join(format!("d{d}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..20 {
            std::fs::write(sub.join(format!("f{f}")), format!("{d} {f}")).unwrap();
        }
    }
    let s = src.to_str().unwrap().to_string();
    let mut o: Vec<&str> = opts.to_vec();
    o.extend(["-N", "2048", "-d", &s]);
    mkfs(dir, name, 64, &o)
}

#[test]
fn bitmap_checksums_match_mke2fs() {
    let s = Scratch::new("bitmap-csum");
    let sets: [(&str, &[&str]); 5] = [
        ("4k", &["-g", "1024"]),
        ("1k", &["-b", "1024", "-g", "1024"]),
        ("4k-no64", &["-g", "1024", "-O", "^64bit"]),
        ("1k-no64", &["-b", "1024", "-g", "1024", "-O", "^64bit"]),
        ("4k-seed", &["-g", "1024", "-O", "metadata_csum_seed"]),
    ];
    for (name, opts) in sets {
        let img = Img::open(&populated(&s.0, name, opts));
        assert!(img.sb.has_metadata_csum(), "{name}");
        let (mut nb, mut ni) = (0, 0);
        for g in 0..img.groups() {
            let d = img.desc(g);
            let gd = img.gd(g);
            if gd.flags & BG_BLOCK_UNINIT == 0 {
                let b = img.block(gd.block_bitmap);
                bitmap::verify_block_bitmap_csum(&img.sb, &d, &b)
                    .unwrap_or_else(|e| panic!("{name} group {g}: {e}"));
                // The same through the setter: the stored bytes come back.
                let mut d2 = d.clone();
                d2[0x18..0x1A].fill(0);
                if d2.len() >= 0x3A {
                    d2[0x38..0x3A].fill(0);
                }
                bitmap::set_block_bitmap_csum(&img.sb, &mut d2, &b).unwrap();
                assert_eq!(d2, d, "{name} group {g}");
                // One flipped bit in the covered bytes is a mismatch.
                let mut bad = b.clone();
                bad[(g as usize * 7) % bitmap::block_bitmap_csum_len(&img.sb)] ^= 0x10;
                assert!(matches!(
                    bitmap::verify_block_bitmap_csum(&img.sb, &d, &bad),
                    Err(Error::BadChecksum { .. })
                ));
                nb += 1;
            }
            if gd.flags & BG_INODE_UNINIT == 0 {
                let b = img.block(gd.inode_bitmap);
                bitmap::verify_inode_bitmap_csum(&img.sb, &d, &b)
                    .unwrap_or_else(|e| panic!("{name} group {g} inode bitmap: {e}"));
                let mut d2 = d.clone();
                d2[0x1A..0x1C].fill(0);
                if d2.len() >= 0x3C {
                    d2[0x3A..0x3C].fill(0);
                }
                bitmap::set_inode_bitmap_csum(&img.sb, &mut d2, &b).unwrap();
                assert_eq!(d2, d, "{name} group {g}");
                ni += 1;
            }
        }
        assert!(
            nb >= 3 && ni >= 2,
            "{name}: only {nb} block, {ni} inode bitmaps"
        );
    }
}

/// For every BLOCK_UNINIT group: the computed bitmap frees exactly what
/// dumpe2fs lists as free, the rest of the block is set, and the free
/// count returned equals the descriptor's. Returns how many groups.
fn check_init_against_dumpe2fs(path: &Path, name: &str) -> u32 {
    let img = Img::open(path);
    let groups = dumpe2fs_free(path);
    assert_eq!(groups.len() as u32, img.groups());
    let mut n = 0;
    for g in 0..img.groups() {
        let gd = img.gd(g);
        if gd.flags & BG_BLOCK_UNINIT == 0 {
            continue;
        }
        let (b, free) = img.init_bb(g);
        let first = group_first_block(&img.sb, g);
        let in_group = bitmap::blocks_in_group(&img.sb, g).unwrap() as usize;
        let mut want = vec![true; b.len() * 8];
        for &(s, e) in &groups[g as usize].1 {
            for blk in s..=e {
                want[(blk - first) as usize] = false;
            }
        }
        for (i, &w) in want.iter().enumerate() {
            assert_eq!(bit(&b, i), w, "{name} group {g} bit {i} (of {in_group})");
        }
        assert_eq!(free, gd.free_blocks_count, "{name} group {g}");
        n += 1;
    }
    n
}

#[test]
fn init_block_bitmap_matches_libext2fs() {
    let s = Scratch::new("bitmap-init");
    let sets: [(&str, u64, &[&str]); 8] = [
        ("default", 2048, &[]),
        // Groups of 4096 blocks: a bitmap block is mostly padding.
        ("small-groups", 256, &["-g", "4096"]),
        ("1k", 256, &["-b", "1024"]),
        ("no-flex", 1024, &["-O", "^flex_bg"]),
        (
            "meta-bg",
            400,
            &["-b", "1024", "-O", "meta_bg,^resize_inode"],
        ),
        // 1000 MiB at 4 KiB: the last group holds 8192 blocks.
        ("short-last", 1000, &[]),
        ("short-last-1k", 203, &["-b", "1024", "-O", "^flex_bg"]),
        (
            "no-64bit-small-flex",
            512,
            &["-O", "^64bit", "-G", "4", "-g", "4096"],
        ),
    ];
    for (name, mib, opts) in sets {
        let path = mkfs(&s.0, name, mib, opts);
        let n = check_init_against_dumpe2fs(&path, name);
        assert!(n >= 2, "{name}: only {n} BLOCK_UNINIT groups");
        let img = Img::open(&path);
        // mke2fs initialises the last group itself (e2fsck refuses a
        // BLOCK_UNINIT last group); when it holds no data, what libext2fs
        // wrote is what the disk layer computes, padding included.
        let last = img.groups() - 1;
        let gd = img.gd(last);
        let in_group = bitmap::blocks_in_group(&img.sb, last).unwrap();
        if name.starts_with("short-last") {
            assert!(in_group < img.sb.blocks_per_group, "{name}");
        }
        let (b, free) = img.init_bb(last);
        if free == gd.free_blocks_count {
            assert_eq!(b, img.block(gd.block_bitmap), "{name}: last group");
        } else {
            assert!(
                !name.starts_with("short-last"),
                "{name}: last group has data"
            );
        }
    }
}

/// Every metadata block dumpe2fs lists (superblock and descriptor copies,
/// reserved descriptor blocks, bitmaps, inode tables), whichever group it
/// belongs to.
fn dumpe2fs_metadata(img: &Path) -> BTreeSet<u64> {
    let out = Command::new("dumpe2fs").arg(img).output().unwrap();
    assert!(out.status.success());
    let mut set = BTreeSet::new();
    let text = String::from_utf8_lossy(&out.stdout);
    let groups = text.split_once("\nGroup 0:").unwrap().1;
    for line in groups.lines().filter(|l| l.starts_with("  ")) {
        if line.trim().starts_with("Free ") || line.contains("free blocks") {
            continue;
        }
        for part in line.split(',') {
            let Some((_, at)) = part.split_once(" at ") else {
                continue;
            };
            let span = at.split_whitespace().next().unwrap();
            let (a, b) = span.split_once('-').unwrap_or((span, span));
            let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
            set.extend(a..=b);
        }
    }
    set
}

#[test]
fn init_block_bitmap_marks_every_groups_metadata() {
    // With flex_bg, group 0 (and the first group of every flex group)
    // holds the bitmaps and inode tables of other groups: the computed
    // bitmap of any group marks exactly the metadata dumpe2fs lists inside
    // it, plus the padding.
    let s = Scratch::new("bitmap-meta");
    let sets: [(&str, u64, &[&str]); 4] = [
        ("flex16", 2048, &[]),
        ("flex4", 1024, &["-G", "4", "-g", "8192"]),
        ("1k-flex", 300, &["-b", "1024", "-G", "8"]),
        (
            "meta-bg",
            400,
            &["-b", "1024", "-O", "meta_bg,^resize_inode"],
        ),
    ];
    for (name, mib, opts) in sets {
        let path = mkfs(&s.0, name, mib, opts);
        let img = Img::open(&path);
        let meta = dumpe2fs_metadata(&path);
        let mut foreign = 0;
        for g in 0..img.groups() {
            let (b, _) = img.init_bb(g);
            let first = group_first_block(&img.sb, g);
            let n = bitmap::blocks_in_group(&img.sb, g).unwrap() as u64;
            for i in 0..b.len() as u64 * 8 {
                let want = i >= n || meta.contains(&(first + i));
                assert_eq!(
                    bit(&b, i as usize),
                    want,
                    "{name} group {g} block {}",
                    first + i
                );
            }
            // Metadata of other groups found here.
            foreign += (0..img.groups())
                .filter(|&o| o != g)
                .map(|o| img.gd(o).block_bitmap)
                .filter(|&blk| blk >= first && blk < first + n)
                .count();
        }
        if !name.starts_with("meta-bg") {
            assert!(foreign > 0, "{name}: no group holds another's metadata");
        }
    }
}

#[test]
fn init_inode_bitmap_layout() {
    let s = Scratch::new("bitmap-iinit");
    let img = Img::open(&mkfs(&s.0, "i", 512, &[]));
    let mut b = vec![0x5Au8; img.bs() as usize];
    bitmap::init_inode_bitmap(&img.sb, &mut b).unwrap();
    let ipg = img.sb.inodes_per_group as usize;
    for i in 0..b.len() * 8 {
        assert_eq!(bit(&b, i), i >= ipg, "bit {i}");
    }
    assert_eq!(bitmap::count_zeros(&b, ipg as u32), Ok(ipg as u32));
    // What libext2fs wrote for an initialised group with no inode in use
    // beyond the reserved ones is the same shape: group 0's padding.
    let g0 = img.block(img.gd(0).inode_bitmap);
    assert_eq!(g0[ipg / 8..], b[ipg / 8..]);
    let mut short = vec![0u8; 100];
    assert_eq!(
        bitmap::init_inode_bitmap(&img.sb, &mut short),
        Err(Error::Truncated)
    );
}

/// Initialises BLOCK_UNINIT group `g` the way the write path will: the
/// computed bitmap into the group's bitmap block, the flag cleared, the
/// bitmap checksum stored, the descriptor checksum recomputed. `spoil`
/// changes the bitmap before it is written.
fn init_block_group(img: &Img, g: u32, spoil: impl FnOnce(&mut Vec<u8>)) {
    let gd = img.gd(g);
    // Only the (already initialised, empty) last group is done again.
    assert!(gd.flags & BG_BLOCK_UNINIT != 0 || g == img.groups() - 1);
    let (mut b, free) = img.init_bb(g);
    assert_eq!(free, gd.free_blocks_count);
    spoil(&mut b);
    img.write_block(gd.block_bitmap, &b);
    let mut d = img.desc(g);
    group::set_flags(&img.sb, &mut d, gd.flags & !BG_BLOCK_UNINIT).unwrap();
    bitmap::set_block_bitmap_csum(&img.sb, &mut d, &b).unwrap();
    group::update_desc_csum(&img.sb, g, &mut d).unwrap();
    img.write_desc(g, &d);
    let after = img.gd(g);
    assert_eq!(after.flags & BG_BLOCK_UNINIT, 0);
    bitmap::verify_block_bitmap_csum(&img.sb, &d, &b).unwrap();
}

/// Initialises INODE_UNINIT group `g` as the write path will.
fn init_inode_group(img: &Img, g: u32, spoil: impl FnOnce(&mut Vec<u8>)) {
    let gd = img.gd(g);
    assert!(gd.flags & BG_INODE_UNINIT != 0);
    let mut b = vec![0u8; img.bs() as usize];
    bitmap::init_inode_bitmap(&img.sb, &mut b).unwrap();
    spoil(&mut b);
    img.write_block(gd.inode_bitmap, &b);
    let mut d = img.desc(g);
    group::set_flags(&img.sb, &mut d, img.gd(g).flags & !BG_INODE_UNINIT).unwrap();
    bitmap::set_inode_bitmap_csum(&img.sb, &mut d, &b).unwrap();
    group::update_desc_csum(&img.sb, g, &mut d).unwrap();
    img.write_desc(g, &d);
}

/// The uninit groups of an image: (a BLOCK_UNINIT group with a
/// superblock backup, one without, an INODE_UNINIT group).
fn uninit_groups(img: &Img) -> (u32, u32, u32) {
    let bu: Vec<u32> = (1..img.groups())
        .filter(|&g| img.gd(g).flags & BG_BLOCK_UNINIT != 0)
        .collect();
    let with_sb = *bu.iter().find(|&&g| group::has_super(&img.sb, g)).unwrap();
    let without = *bu.iter().find(|&&g| !group::has_super(&img.sb, g)).unwrap();
    let iu = (1..img.groups())
        .find(|&g| img.gd(g).flags & BG_INODE_UNINIT != 0)
        .unwrap();
    (with_sb, without, iu)
}

#[test]
fn uninit_groups_initialised_pass_e2fsck() {
    let s = Scratch::new("bitmap-e2fsck-init");
    let sets: [(&str, u64, &[&str]); 5] = [
        ("default", 2048, &[]),
        ("small-groups", 256, &["-g", "4096"]),
        ("1k-no-flex", 256, &["-b", "1024", "-O", "^flex_bg"]),
        ("short-last", 1000, &["-O", "^64bit"]),
        (
            "meta-bg",
            400,
            &["-b", "1024", "-O", "meta_bg,^resize_inode"],
        ),
    ];
    for (name, mib, opts) in sets {
        let path = mkfs(&s.0, name, mib, opts);
        let img = Img::open(&path);
        let (a, b, i) = uninit_groups(&img);
        init_block_group(&img, a, |_| {});
        init_block_group(&img, b, |_| {});
        let last = img.groups() - 1;
        init_block_group(&img, last, |_| {});
        init_inode_group(&img, i, |_| {});
        assert_clean(&path, name);
        // Every remaining uninit group too.
        for g in 1..img.groups() {
            if img.gd(g).flags & BG_BLOCK_UNINIT != 0 {
                init_block_group(&img, g, |_| {});
            }
            if img.gd(g).flags & BG_INODE_UNINIT != 0 {
                init_inode_group(&img, g, |_| {});
            }
        }
        assert_clean(&path, name);
    }
}

#[test]
fn uninit_groups_initialised_wrong_are_caught() {
    let s = Scratch::new("bitmap-e2fsck-bad");
    // A free block marked in use.
    let path = mkfs(&s.0, "used", 2048, &[]);
    let img = Img::open(&path);
    let (_, g, _) = uninit_groups(&img);
    init_block_group(&img, g, |b| b[100] |= 0x04);
    assert_caught(&path, "free block marked used", "Block bitmap differences");
    // A metadata block (the superblock backup) marked free.
    let path = mkfs(&s.0, "free", 2048, &[]);
    let img = Img::open(&path);
    let (g, _, _) = uninit_groups(&img);
    init_block_group(&img, g, |b| b[0] &= !1);
    assert_caught(
        &path,
        "superblock backup marked free",
        "Block bitmap differences",
    );
    // The padding past the group's last block cleared (short last group).
    let path = mkfs(&s.0, "pad", 1000, &[]);
    let img = Img::open(&path);
    let last = img.groups() - 1;
    let n = bitmap::blocks_in_group(&img.sb, last).unwrap() as usize;
    init_block_group(&img, last, |b| b[n / 8 + 1] = 0);
    assert_caught(&path, "padding cleared", "Padding at end of block bitmap");
    // The descriptor's free count off by one.
    let path = mkfs(&s.0, "count", 2048, &[]);
    let img = Img::open(&path);
    let (_, g, _) = uninit_groups(&img);
    init_block_group(&img, g, |_| {});
    let mut d = img.desc(g);
    group::set_free_blocks(&img.sb, &mut d, img.gd(g).free_blocks_count - 1).unwrap();
    group::update_desc_csum(&img.sb, g, &mut d).unwrap();
    img.write_desc(g, &d);
    assert_caught(&path, "free count", "Free blocks count wrong for group");
    // The bitmap checksum not stored.
    let path = mkfs(&s.0, "csum", 2048, &[]);
    let img = Img::open(&path);
    let (_, g, _) = uninit_groups(&img);
    init_block_group(&img, g, |_| {});
    let mut d = img.desc(g);
    d[0x18] ^= 1;
    group::update_desc_csum(&img.sb, g, &mut d).unwrap();
    img.write_desc(g, &d);
    let (rc, text) = fsck(&path);
    assert_ne!(rc, 0, "bitmap checksum wrong: e2fsck passed:\n{text}");
    // An inode bitmap with the padding past s_inodes_per_group cleared.
    let path = mkfs(&s.0, "ipad", 2048, &[]);
    let img = Img::open(&path);
    let (_, _, g) = uninit_groups(&img);
    let ipg = img.sb.inodes_per_group as usize;
    init_inode_group(&img, g, |b| b[ipg / 8 + 3] = 0);
    assert_caught(&path, "inode padding", "Padding at end of inode bitmap");
    // An inode of the group marked in use.
    let path = mkfs(&s.0, "iused", 2048, &[]);
    let img = Img::open(&path);
    let (_, _, g) = uninit_groups(&img);
    init_inode_group(&img, g, |b| b[2] |= 1);
    assert_caught(&path, "inode marked used", "Inode bitmap differences");
}

/// Claims `n` blocks in group `g` as the write path will: find a free run,
/// set its bits, lower the descriptor's and the superblock's free counts
/// (unless `skip_group` / `skip_sb`), store the checksums. Returns the
/// first block.
fn allocate(img: &mut Img, g: u32, n: u32, skip_group: bool, skip_sb: bool) -> u64 {
    let gd = img.gd(g);
    let mut b = img.block(gd.block_bitmap);
    let bits = img.sb.blocks_per_group;
    // From the middle of the group, where nothing is in use around it.
    let (start, len) = bitmap::find_free_run(&b, bits, bits / 2 + 5, n)
        .unwrap()
        .unwrap();
    assert_eq!(len, n, "no run of {n} in group {g}");
    bitmap::set_range(&mut b, bits, start, n).unwrap();
    img.write_block(gd.block_bitmap, &b);
    let mut d = img.desc(g);
    if !skip_group {
        group::set_free_blocks(&img.sb, &mut d, gd.free_blocks_count - n).unwrap();
    }
    bitmap::set_block_bitmap_csum(&img.sb, &mut d, &b).unwrap();
    group::update_desc_csum(&img.sb, g, &mut d).unwrap();
    img.write_desc(g, &d);
    if !skip_sb {
        let sb = img.sb.clone();
        superblock::set_free_blocks_count(&sb, &mut img.sbb, sb.free_blocks_count - u64::from(n))
            .unwrap();
        img.write_sb();
    }
    assert_eq!(
        bitmap::count_zeros(&b, bits),
        Ok(img.gd(g).free_blocks_count - if skip_group { n } else { 0 })
    );
    group_first_block(&img.sb, g) + u64::from(start)
}

/// debugfs's name of `i_block[i]`.
fn block_field(i: u32) -> String {
    match i {
        12 => "block[IND]".into(),
        13 => "block[DIND]".into(),
        14 => "block[TIND]".into(),
        _ => format!("block[{i}]"),
    }
}

/// Gives the `n` blocks from `first` to a new file `/owned` (block-mapped,
/// direct blocks) through debugfs, which leaves the bitmaps alone.
fn own_blocks(path: &Path, first: u64, n: u32, bs: u64) {
    let mut cmds = vec![
        "write /dev/null owned".to_string(),
        "sif owned flags 0".to_string(),
    ];
    assert!(n <= 12);
    for i in 0..15 {
        let v = if i < n { first + u64::from(i) } else { 0 };
        cmds.push(format!("sif owned {} {v}", block_field(i)));
    }
    cmds.push(format!("sif owned size {}", u64::from(n) * bs));
    cmds.push(format!("sif owned blocks {}", u64::from(n) * bs / 512));
    debugfs_w(path, &cmds);
}

/// Takes the blocks away from `/owned` again (size and block map zeroed).
fn disown_blocks(path: &Path) {
    let mut cmds = vec![
        "sif owned size 0".to_string(),
        "sif owned blocks 0".to_string(),
    ];
    for i in 0..15 {
        cmds.push(format!("sif owned {} 0", block_field(i)));
    }
    debugfs_w(path, &cmds);
}

/// Releases the `n` blocks from `first` in group `g`: clear, raise the
/// counts, checksums.
fn free(img: &mut Img, g: u32, first: u64, n: u32) {
    let gd = img.gd(g);
    let mut b = img.block(gd.block_bitmap);
    let bits = img.sb.blocks_per_group;
    let start = (first - group_first_block(&img.sb, g)) as u32;
    bitmap::clear_range(&mut b, bits, start, n).unwrap();
    // A second free of the same blocks is refused.
    let again = b.clone();
    assert!(bitmap::clear_range(&mut b, bits, start, n).is_err());
    assert_eq!(b, again);
    img.write_block(gd.block_bitmap, &b);
    let mut d = img.desc(g);
    group::set_free_blocks(&img.sb, &mut d, gd.free_blocks_count + n).unwrap();
    bitmap::set_block_bitmap_csum(&img.sb, &mut d, &b).unwrap();
    group::update_desc_csum(&img.sb, g, &mut d).unwrap();
    img.write_desc(g, &d);
    let sb = img.sb.clone();
    superblock::set_free_blocks_count(&sb, &mut img.sbb, sb.free_blocks_count + u64::from(n))
        .unwrap();
    img.write_sb();
}

#[test]
fn allocate_and_free_blocks_pass_e2fsck() {
    let s = Scratch::new("bitmap-alloc");
    let sets: [(&str, u64, &[&str]); 3] = [
        ("default", 512, &[]),
        ("1k-no64", 128, &["-b", "1024", "-O", "^64bit"]),
        ("no-csum", 256, &["-O", "^metadata_csum"]),
    ];
    for (name, mib, opts) in sets {
        let path = mkfs(&s.0, name, mib, opts);
        let mut img = Img::open(&path);
        // Group 1 starts BLOCK_UNINIT on the default image: initialise it
        // first, as the allocator will.
        let g = 1;
        if img.gd(g).flags & BG_BLOCK_UNINIT != 0 {
            init_block_group(&img, g, |_| {});
        }
        let free_before = img.gd(g).free_blocks_count;
        let sb_free = img.sb.free_blocks_count;
        let first = allocate(&mut img, g, 12, false, false);
        assert_eq!(img.gd(g).free_blocks_count, free_before - 12);
        assert_eq!(img.sb.free_blocks_count, sb_free - 12);
        own_blocks(&path, first, 12, img.bs());
        assert_clean(&path, name);
        // libext2fs reads the 12 blocks as in use, the ones around as free.
        let out = Command::new("debugfs")
            .arg("-R")
            .arg(format!("testb {} 14", first - 1))
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.matches("marked in use").count(), 12, "{name}: {text}");
        assert!(
            text.contains(&format!("Block {} not in use", first - 1)),
            "{name}: {text}"
        );
        assert!(
            text.contains(&format!("Block {} not in use", first + 12)),
            "{name}: {text}"
        );
        disown_blocks(&path);
        let mut img = Img::open(&path);
        free(&mut img, g, first, 12);
        assert_clean(&path, name);
        assert_eq!(img.gd(g).free_blocks_count, free_before);
        assert_eq!(img.sb.free_blocks_count, sb_free);
    }
}

#[test]
fn allocation_without_counts_or_bits_is_caught() {
    let s = Scratch::new("bitmap-alloc-bad");
    // Bits set, counts not lowered.
    let path = mkfs(&s.0, "nocount", 512, &[]);
    let mut img = Img::open(&path);
    let first = allocate(&mut img, 0, 12, true, false);
    own_blocks(&path, first, 12, img.bs());
    assert_caught(
        &path,
        "counts not lowered",
        "Free blocks count wrong for group",
    );
    // The superblock's count not lowered: e2fsck says so (its exit status
    // does not count it).
    let path = mkfs(&s.0, "nosbcount", 512, &[]);
    let mut img = Img::open(&path);
    let first = allocate(&mut img, 0, 12, false, true);
    own_blocks(&path, first, 12, img.bs());
    let (_, text) = fsck(&path);
    assert!(text.contains("Free blocks count wrong ("), "{text}");
    assert!(!text.contains("for group"), "{text}");
    // Counts lowered, one bit short.
    let path = mkfs(&s.0, "shortbits", 512, &[]);
    let mut img = Img::open(&path);
    let first = allocate(&mut img, 0, 12, false, false);
    let gd = img.gd(0);
    let mut b = img.block(gd.block_bitmap);
    let bit11 = (first + 11 - group_first_block(&img.sb, 0)) as u32;
    bitmap::clear_range(&mut b, img.sb.blocks_per_group, bit11, 1).unwrap();
    img.write_block(gd.block_bitmap, &b);
    let mut d = img.desc(0);
    bitmap::set_block_bitmap_csum(&img.sb, &mut d, &b).unwrap();
    group::update_desc_csum(&img.sb, 0, &mut d).unwrap();
    img.write_desc(0, &d);
    own_blocks(&path, first, 12, img.bs());
    assert_caught(&path, "one bit short", "Block bitmap differences");
}

// ---------------------------------------------------------------------
// Setters.

#[test]
fn descriptor_setters_round_trip() {
    let s = Scratch::new("bitmap-desc");
    for (name, opts) in [("64", &[][..]), ("32", &["-O", "^64bit"][..])] {
        let img = Img::open(&mkfs(&s.0, name, 64, opts));
        let mut d = img.desc(0);
        let big = if img.sb.desc_size >= 64 {
            0x1_2345
        } else {
            0x2345
        };
        group::set_free_blocks(&img.sb, &mut d, big).unwrap();
        group::set_free_inodes(&img.sb, &mut d, 7).unwrap();
        group::set_used_dirs(&img.sb, &mut d, big + 1).unwrap();
        group::set_itable_unused(&img.sb, &mut d, 5).unwrap();
        group::set_flags(&img.sb, &mut d, 0x4).unwrap();
        // The old checksum no longer matches; a fresh one does.
        assert!(matches!(
            GroupDesc::parse(&img.sb, 0, &d),
            Err(Error::BadChecksum { .. })
        ));
        group::update_desc_csum(&img.sb, 0, &mut d).unwrap();
        let gd = GroupDesc::parse(&img.sb, 0, &d).unwrap();
        assert_eq!(gd.free_blocks_count, big);
        assert_eq!(gd.free_inodes_count, 7);
        assert_eq!(gd.used_dirs_count, big + 1);
        assert_eq!(gd.itable_unused, 5);
        assert_eq!(gd.flags, 0x4);
        // The checksum of another group number differs.
        assert!(GroupDesc::parse(&img.sb, 1, &d).is_err());
        let keep = d.clone();
        if img.sb.desc_size < 64 {
            assert!(group::set_free_blocks(&img.sb, &mut d, 0x1_0000).is_err());
        }
        assert!(group::set_free_blocks(&img.sb, &mut d[..20], 1).is_err());
        assert!(group::set_flags(&img.sb, &mut d[..20], 1).is_err());
        assert_eq!(d, keep);
    }
}

#[test]
fn superblock_setters_round_trip() {
    let s = Scratch::new("bitmap-sb");
    for (name, opts) in [("64", &[][..]), ("32", &["-O", "^64bit"][..])] {
        let path = mkfs(&s.0, name, 64, opts);
        let mut img = Img::open(&path);
        let sb = img.sb.clone();
        let mut b = img.sbb.clone();
        superblock::set_free_blocks_count(&sb, &mut b, sb.blocks_count - 3).unwrap();
        superblock::set_free_inodes_count(&sb, &mut b, 17).unwrap();
        superblock::set_last_orphan(&mut b, 12).unwrap();
        assert!(matches!(
            Superblock::parse(&b),
            Err(Error::BadChecksum { .. })
        ));
        superblock::update_superblock_csum(&mut b).unwrap();
        let p = Superblock::parse(&b).unwrap();
        assert_eq!(p.free_blocks_count, sb.blocks_count - 3);
        assert_eq!(p.free_inodes_count, 17);
        assert_eq!(p.last_orphan, 12);
        let keep = b.clone();
        assert!(superblock::set_free_blocks_count(&sb, &mut b, sb.blocks_count + 1).is_err());
        assert!(superblock::set_free_inodes_count(&sb, &mut b, sb.inodes_count + 1).is_err());
        assert!(superblock::set_last_orphan(&mut b[..512], 1).is_err());
        assert_eq!(b, keep);
        // Written back unchanged in the counts, the image stays clean.
        img.sbb = b;
        superblock::set_free_blocks_count(&sb, &mut img.sbb, sb.free_blocks_count).unwrap();
        superblock::set_free_inodes_count(&sb, &mut img.sbb, sb.free_inodes_count).unwrap();
        superblock::set_last_orphan(&mut img.sbb, 0).unwrap();
        img.write_sb();
        assert_clean(&path, name);
        assert_eq!(std::fs::read(&path).unwrap()[1024..2048], img.sbb[..]);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! rext4's in-kernel KUnit suites: the on-disk format layer (`rust/disk`),
//! compiled into this module exactly as into rext4.ko, run in the kernel on
//! crafted buffers. Loading the module runs the suites; results go to the
//! console as KTAP.

use kernel::prelude::*;

#[path = "../rust/disk/mod.rs"]
pub mod disk;
#[macro_use]
mod harness;

use disk::crc32c::{crc32c as disk_layer_crc32c, portable};
use disk::features::{incompat, ro_compat, Access};
use disk::superblock::{update_superblock_csum, Superblock};
use disk::Error;
use harness::Test;

module! {
    type: Rext4Kunit,
    name: "rext4_kunit",
    author: "The rext4 developers",
    description: "KUnit suites of rext4",
    license: "GPL",
}

struct Rext4Kunit;

extern "C" {
    /// The kernel's crc32c (`include/linux/crc32c.h`), which rext4.ko uses.
    fn crc32c(crc: u32, address: *const core::ffi::c_void, length: core::ffi::c_uint) -> u32;
}

/// The kernel's crc32c over a slice.
fn kernel_crc32c(crc: u32, data: &[u8]) -> u32 {
    let Ok(len) = u32::try_from(data.len()) else {
        return 0;
    };
    // SAFETY: `data` is valid for reads of `len` bytes; crc32c() only reads.
    unsafe { crc32c(crc, data.as_ptr().cast(), len) }
}

/// The disk layer's crc32c in this suite: the same kernel function as in
/// rext4.ko, so the suites check the module's checksums.
fn disk_crc32c(crc: u32, data: &[u8]) -> u32 {
    kernel_crc32c(crc, data)
}

impl kernel::Module for Rext4Kunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Rext4Kunit)
    }
}

// ---------------------------------------------------------------------------
// Superblock and feature checks
// ---------------------------------------------------------------------------

const PAGE: u32 = 4096;

fn put32(b: &mut [u8; 1024], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn put16(b: &mut [u8; 1024], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// A valid 4 KiB-block ext4 superblock like mke2fs's default: one group of
/// 32768 blocks, 8192 inodes, metadata_csum.
fn sample() -> [u8; 1024] {
    let mut b = [0u8; 1024];
    put32(&mut b, 0x0, 8192); // s_inodes_count
    put32(&mut b, 0x4, 32768); // s_blocks_count_lo
    put32(&mut b, 0xC, 30000); // s_free_blocks_count_lo
    put32(&mut b, 0x10, 8181); // s_free_inodes_count
    put32(&mut b, 0x18, 2); // s_log_block_size: 4096
    put32(&mut b, 0x1C, 2); // s_log_cluster_size
    put32(&mut b, 0x20, 32768); // s_blocks_per_group
    put32(&mut b, 0x24, 32768); // s_clusters_per_group
    put32(&mut b, 0x28, 8192); // s_inodes_per_group
    put16(&mut b, 0x38, 0xEF53); // s_magic
    put16(&mut b, 0x3A, 1); // s_state: clean
    put32(&mut b, 0x4C, 1); // s_rev_level: dynamic
    put32(&mut b, 0x54, 11); // s_first_ino
    put16(&mut b, 0x58, 256); // s_inode_size
    put32(&mut b, 0x5C, 0x3C); // compat: has_journal ext_attr resize_inode dir_index
    put32(
        &mut b,
        0x60,
        incompat::FILETYPE | incompat::EXTENTS | incompat::BIT64 | incompat::FLEX_BG,
    );
    put32(
        &mut b,
        0x64,
        ro_compat::SPARSE_SUPER | ro_compat::LARGE_FILE | ro_compat::METADATA_CSUM,
    );
    for (i, byte) in b[0x68..0x78].iter_mut().enumerate() {
        *byte = 0xA0 + i as u8; // s_uuid
    }
    put16(&mut b, 0xFE, 64); // s_desc_size
    b[0x175] = 1; // s_checksum_type: crc32c
    let _ = update_superblock_csum(&mut b);
    b
}

unsafe extern "C" fn sb_parses_valid(t: *mut Test) {
    let b = sample();
    match Superblock::parse(&b) {
        Ok(sb) => {
            check_eq!(t, sb.block_size(), 4096);
            check_eq!(t, sb.blocks_count, 32768u64);
            check_eq!(t, sb.group_count(), 1u64);
            check_eq!(t, sb.desc_size, 64u16);
            check!(t, sb.has_metadata_csum());
            check_eq!(t, sb.csum_seed, disk_layer_crc32c(!0, &sb.uuid));
            check_eq!(t, sb.access(PAGE), Ok(Access::ReadWrite));
        }
        Err(_) => check!(t, false),
    }
}

unsafe extern "C" fn sb_detects_checksum_mismatch(t: *mut Test) {
    for off in [0usize, 0x18, 0x68, 0x200, 0x3FB, 0x3FC] {
        let mut b = sample();
        b[off] ^= 0x40;
        let r = Superblock::parse(&b);
        check!(t, matches!(r, Err(Error::BadChecksum { .. })));
    }
}

unsafe extern "C" fn sb_rejects_bad_magic_and_short_buffers(t: *mut Test) {
    let mut b = sample();
    b[0x38] = 0x53;
    b[0x39] = 0x00;
    check_eq!(
        t,
        Superblock::parse(&b),
        Err(Error::NotExt4 { magic: 0x53 })
    );
    let b = sample();
    check_eq!(t, Superblock::parse(&b[..1000]), Err(Error::Truncated));
    check_eq!(t, Superblock::parse(&[]), Err(Error::Truncated));
}

unsafe extern "C" fn sb_geometry_checks(t: *mut Test) {
    let cases: [(usize, u32, &str); 5] = [
        (0x18, 9, "superblock: s_log_block_size"),
        (0x20, 0, "superblock: s_blocks_per_group"),
        (0x28, 0, "superblock: s_inodes_per_group"),
        (0x0, 8191, "superblock: s_inodes_count"),
        (0x14, 1, "superblock: s_first_data_block"),
    ];
    for (off, val, what) in cases {
        let mut b = sample();
        put32(&mut b, off, val);
        let _ = update_superblock_csum(&mut b);
        let ok = matches!(Superblock::parse(&b), Err(Error::Corrupt { what: w, .. }) if w == what);
        check!(t, ok);
    }
}

unsafe extern "C" fn sb_feature_policy(t: *mut Test) {
    // Unknown incompat bit: refused.
    let mut b = sample();
    put32(
        &mut b,
        0x60,
        incompat::FILETYPE | incompat::EXTENTS | (1 << 21),
    );
    let _ = update_superblock_csum(&mut b);
    let r = Superblock::parse(&b).map(|sb| sb.access(PAGE));
    let want = Error::UnsupportedFeatures {
        set: disk::features::Set::Incompat,
        bits: 1 << 21,
    };
    check_eq!(t, r, Ok(Err(want)));
    // Unknown ro_compat bit: read-only.
    let mut b = sample();
    put32(&mut b, 0x64, ro_compat::METADATA_CSUM | (1 << 25));
    let _ = update_superblock_csum(&mut b);
    let r = Superblock::parse(&b).map(|sb| sb.access(PAGE));
    check_eq!(
        t,
        r,
        Ok(Ok(Access::ReadOnly {
            unknown_ro_compat: 1 << 25
        }))
    );
    // Inline data is known to ext4 but not implemented: refused.
    let mut b = sample();
    put32(&mut b, 0x60, incompat::FILETYPE | incompat::INLINE_DATA);
    let _ = update_superblock_csum(&mut b);
    let r = Superblock::parse(&b).map(|sb| sb.access(PAGE));
    check!(t, matches!(r, Ok(Err(Error::UnsupportedFeatures { .. }))));
}

unsafe extern "C" fn sb_block_size_policy(t: *mut Test) {
    // A 1 KiB-block filesystem of 8192 blocks: valid and mountable.
    let mut b = sample();
    put32(&mut b, 0x4, 8192);
    put32(&mut b, 0xC, 100);
    put32(&mut b, 0x14, 1);
    put32(&mut b, 0x18, 0);
    put32(&mut b, 0x1C, 0);
    put32(&mut b, 0x20, 8192);
    put32(&mut b, 0x24, 8192);
    put32(&mut b, 0x28, 8192);
    let _ = update_superblock_csum(&mut b);
    match Superblock::parse(&b) {
        Ok(sb) => {
            check_eq!(t, sb.block_size(), 1024);
            check_eq!(t, sb.access(PAGE), Ok(Access::ReadWrite));
        }
        Err(_) => check!(t, false),
    }
    // The same with 8 KiB blocks (first data block 0): above the page size.
    put32(&mut b, 0x14, 0);
    put32(&mut b, 0x18, 3);
    put32(&mut b, 0x1C, 3);
    let _ = update_superblock_csum(&mut b);
    match Superblock::parse(&b) {
        Ok(sb) => check_eq!(
            t,
            sb.access(PAGE),
            Err(Error::BlockSizeAbovePage {
                block_size: 8192,
                page_size: PAGE
            })
        ),
        Err(_) => check!(t, false),
    }
}

unsafe extern "C" fn crc32c_check_value(t: *mut Test) {
    check_eq!(t, !disk_layer_crc32c(!0, b"123456789"), 0xE306_9283u32);
    check_eq!(t, !disk_layer_crc32c(!0, &[0u8; 32]), 0x8A91_36AAu32);
    check_eq!(t, !portable(!0, b"123456789"), 0xE306_9283u32);
}

/// The kernel's crc32c (what rext4.ko computes) and the portable one the
/// host crate tests against mke2fs images agree: every length 0-300 at
/// every alignment 0-7, chained from varied seeds, and whole 1-4 KiB
/// blocks.
unsafe extern "C" fn crc32c_kernel_matches_portable(t: *mut Test) {
    let mut buf = [0u8; 4096 + 8];
    let mut x: u32 = 0x2545_F491;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let mut mismatches = 0u32;
    for align in 0..8usize {
        for len in 0..300usize {
            let d = &buf[align..align + len];
            let seed = x.wrapping_mul(len as u32 + 1);
            if kernel_crc32c(seed, d) != portable(seed, d) {
                mismatches += 1;
            }
        }
    }
    check_eq!(t, mismatches, 0u32);
    for size in [1024usize, 2048, 4096] {
        check_eq!(
            t,
            kernel_crc32c(!0, &buf[..size]),
            portable(!0, &buf[..size])
        );
    }
}

kunit_suite!(
    superblock_suite,
    "rext4_superblock",
    [
        sb_parses_valid,
        sb_detects_checksum_mismatch,
        sb_rejects_bad_magic_and_short_buffers,
        sb_geometry_checks,
        sb_feature_policy,
        sb_block_size_policy,
        crc32c_check_value,
        crc32c_kernel_matches_portable,
    ]
);

// ---------------------------------------------------------------------------
// Extent trees and directory blocks on crafted buffers
// ---------------------------------------------------------------------------

use disk::dir::{block_kind, find_name, verify_csum, BlockKind, Entries};
use disk::extent::{self, BlockSource, Mapping};
use disk::syszone::{self, BlockRefs, Range, Zone};
use kernel::alloc::{flags::GFP_KERNEL, KVec};

fn put16s(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn put32s(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn ext_header(b: &mut [u8], entries: u16, max: u16, depth: u16) {
    put16s(b, 0, 0xF30A);
    put16s(b, 2, entries);
    put16s(b, 4, max);
    put16s(b, 6, depth);
}

/// Leaf entry `i`: `len` blocks from logical `lblk` at physical `pblk`;
/// `unwritten` marks it with the high `ee_len` encoding.
fn ext_leaf(b: &mut [u8], i: usize, lblk: u32, len: u16, pblk: u32, unwritten: bool) {
    let o = 12 + 12 * i;
    put32s(b, o, lblk);
    put16s(b, o + 4, if unwritten { len + 32768 } else { len });
    put16s(b, o + 6, 0);
    put32s(b, o + 8, pblk);
}

fn ext_index(b: &mut [u8], i: usize, lblk: u32, child: u32) {
    let o = 12 + 12 * i;
    put32s(b, o, lblk);
    put32s(b, o + 4, child);
    put16s(b, o + 8, 0);
}

/// Writes the crc32c tail of a block node with `max` entries.
fn ext_tail(b: &mut [u8], max: usize, seed: u32) {
    let end = 12 + 12 * max;
    let c = disk_layer_crc32c(seed, b.get(..end).unwrap_or(&[]));
    put32s(b, end, c);
}

/// Two 4 KiB "disk blocks" at block numbers 10 and 11.
struct Mem<'a> {
    b10: &'a [u8],
    b11: &'a [u8],
}

impl<'a> BlockSource for Mem<'a> {
    type Block = &'a [u8];
    fn read(&self, pblk: u64) -> core::result::Result<&'a [u8], Error> {
        match pblk {
            10 => Ok(self.b10),
            11 => Ok(self.b11),
            _ => Err(Error::Io { block: pblk }),
        }
    }
}

const BS: u32 = 4096;
const NBLOCKS: u64 = 1 << 20;
const REFS: BlockRefs<'static> = BlockRefs::bounds(NBLOCKS);
const SEED: u32 = 0x1234_5678;

fn no_blocks() -> Mem<'static> {
    Mem { b10: &[], b11: &[] }
}

unsafe extern "C" fn extent_root_leaf(t: *mut Test) {
    let mut root = [0u8; 60];
    ext_header(&mut root, 3, 4, 0);
    ext_leaf(&mut root, 0, 0, 10, 1000, false);
    ext_leaf(&mut root, 1, 20, 5, 2000, true);
    ext_leaf(&mut root, 2, 100, 1, 3000, false);
    let m = |l: u32| extent::map(&no_blocks(), &root, l, &REFS, BS, None);
    check_eq!(
        t,
        m(0),
        Ok(Mapping::Mapped {
            pblk: 1000,
            len: 10,
            unwritten: false
        })
    );
    check_eq!(
        t,
        m(5),
        Ok(Mapping::Mapped {
            pblk: 1005,
            len: 5,
            unwritten: false
        })
    );
    check_eq!(t, m(10), Ok(Mapping::Hole { len: 10 }));
    check_eq!(
        t,
        m(22),
        Ok(Mapping::Mapped {
            pblk: 2002,
            len: 3,
            unwritten: true
        })
    );
    check_eq!(t, m(50), Ok(Mapping::Hole { len: 50 }));
    check_eq!(
        t,
        m(100),
        Ok(Mapping::Mapped {
            pblk: 3000,
            len: 1,
            unwritten: false
        })
    );
    check_eq!(
        t,
        m(200),
        Ok(Mapping::Hole {
            len: u32::MAX - 199
        })
    );
}

/// A depth-1 tree: the root indexes leaves in blocks 10 and 11.
fn two_level() -> Option<([u8; 60], KVec<u8>, KVec<u8>)> {
    let mut root = [0u8; 60];
    ext_header(&mut root, 2, 4, 1);
    ext_index(&mut root, 0, 0, 10);
    ext_index(&mut root, 1, 1000, 11);
    let max = (BS as usize - 12) / 12;
    let mut b10 = KVec::from_elem(0u8, BS as usize, GFP_KERNEL).ok()?;
    ext_header(&mut b10, 1, max as u16, 0);
    ext_leaf(&mut b10, 0, 0, 8, 500, false);
    ext_tail(&mut b10, max, SEED);
    let mut b11 = KVec::from_elem(0u8, BS as usize, GFP_KERNEL).ok()?;
    ext_header(&mut b11, 1, max as u16, 0);
    ext_leaf(&mut b11, 0, 1000, 4, 600, false);
    ext_tail(&mut b11, max, SEED);
    Some((root, b10, b11))
}

unsafe extern "C" fn extent_index_tree(t: *mut Test) {
    let Some((root, b10, b11)) = two_level() else {
        check!(t, false);
        return;
    };
    let src = Mem {
        b10: &b10,
        b11: &b11,
    };
    let m = |l: u32| extent::map(&src, &root, l, &REFS, BS, Some(SEED));
    check_eq!(
        t,
        m(3),
        Ok(Mapping::Mapped {
            pblk: 503,
            len: 5,
            unwritten: false
        })
    );
    check_eq!(
        t,
        m(1002),
        Ok(Mapping::Mapped {
            pblk: 602,
            len: 2,
            unwritten: false
        })
    );
    // A hole inside the first subtree ends where the second one starts.
    check_eq!(t, m(500), Ok(Mapping::Hole { len: 500 }));
    check_eq!(
        t,
        m(2000),
        Ok(Mapping::Hole {
            len: u32::MAX - 1999
        })
    );
}

/// [`Mem`] with a verified flag per block, as the buffer cache's
/// BH_Verified bit, counting how often a block was found valid.
struct Cached<'a> {
    mem: Mem<'a>,
    verified: [core::cell::Cell<bool>; 2],
    verifications: core::cell::Cell<u32>,
}

impl<'a> Cached<'a> {
    fn new(b10: &'a [u8], b11: &'a [u8]) -> Self {
        Cached {
            mem: Mem { b10, b11 },
            verified: Default::default(),
            verifications: Default::default(),
        }
    }

    fn slot(&self, b: &&'a [u8]) -> Option<&core::cell::Cell<bool>> {
        let i = if core::ptr::eq(b.as_ptr(), self.mem.b10.as_ptr()) {
            0
        } else if core::ptr::eq(b.as_ptr(), self.mem.b11.as_ptr()) {
            1
        } else {
            return None;
        };
        self.verified.get(i)
    }
}

impl<'a> BlockSource for Cached<'a> {
    type Block = &'a [u8];
    fn read(&self, pblk: u64) -> core::result::Result<&'a [u8], Error> {
        self.mem.read(pblk)
    }
    fn is_verified(&self, b: &&'a [u8]) -> bool {
        self.slot(b).is_some_and(|v| v.get())
    }
    fn set_verified(&self, b: &&'a [u8]) {
        if let Some(v) = self.slot(b) {
            v.set(true);
            self.verifications.set(self.verifications.get() + 1);
        }
    }
}

/// An extent block is checked (checksum and entries) once per read from
/// the device, then trusted through its verified bit: mapping through it
/// again does not check it again, and a block marked verified is not
/// re-checksummed, while one not marked is checked every time until valid.
unsafe extern "C" fn extent_block_verified_once(t: *mut Test) {
    let Some((root, b10, b11)) = two_level() else {
        check!(t, false);
        return;
    };
    let src = Cached::new(&b10, &b11);
    let m = |l: u32| extent::map(&src, &root, l, &REFS, BS, Some(SEED));
    check!(t, m(3).is_ok());
    check_eq!(t, src.verifications.get(), 1u32);
    for l in 0..8 {
        check!(t, m(l).is_ok());
    }
    check_eq!(t, src.verifications.get(), 1u32);
    check!(t, m(1002).is_ok());
    check_eq!(t, src.verifications.get(), 2u32);

    // b10 with a wrong checksum: refused every time while not verified...
    let Ok(mut bad) = KVec::from_elem(0u8, BS as usize, GFP_KERNEL) else {
        check!(t, false);
        return;
    };
    bad.copy_from_slice(&b10);
    let tail = 12 + 12 * ((BS as usize - 12) / 12);
    if let Some(c) = bad.get_mut(tail) {
        *c ^= 1;
    }
    let src = Cached::new(&bad, &b11);
    let m = |l: u32| extent::map(&src, &root, l, &REFS, BS, Some(SEED));
    check!(t, m(3).is_err());
    check!(t, m(3).is_err());
    check_eq!(t, src.verifications.get(), 0u32);
    // ...and not checked again once its bit says it was (the cache's
    // promise: the bit is cleared whenever the block is read anew).
    if let Some(v) = src.verified.first() {
        v.set(true);
    }
    check!(t, m(3).is_ok());
    check_eq!(t, src.verifications.get(), 0u32);
}

unsafe extern "C" fn extent_detects_corruption(t: *mut Test) {
    let Some((root, b10, mut b11)) = two_level() else {
        check!(t, false);
        return;
    };
    // A flipped byte in a leaf block: checksum mismatch.
    if let Some(x) = b11.get_mut(20) {
        *x ^= 1;
    }
    let src = Mem {
        b10: &b10,
        b11: &b11,
    };
    let r = extent::map(&src, &root, 1002, &REFS, BS, Some(SEED));
    check!(
        t,
        matches!(
            r,
            Err(Error::BadChecksum {
                what: "extent block",
                ..
            })
        )
    );
    // Without checksums the same flip goes unnoticed only if structurally
    // valid; a wrong depth in a child never does.
    let Some((root, mut b10, b11)) = two_level() else {
        check!(t, false);
        return;
    };
    put16s(&mut b10, 6, 1);
    let src = Mem {
        b10: &b10,
        b11: &b11,
    };
    let r = extent::map(&src, &root, 3, &REFS, BS, None);
    check!(
        t,
        matches!(
            r,
            Err(Error::Corrupt {
                what: "extent header: eh_depth",
                ..
            })
        )
    );
    // Overlapping extents in the root.
    let mut root = [0u8; 60];
    ext_header(&mut root, 2, 4, 0);
    ext_leaf(&mut root, 0, 0, 10, 1000, false);
    ext_leaf(&mut root, 1, 5, 10, 2000, false);
    let r = extent::map(&no_blocks(), &root, 7, &REFS, BS, None);
    check!(t, matches!(r, Err(Error::Corrupt { .. })));
    // Bad magic; eh_max larger than the inode has room for.
    let mut root = [0u8; 60];
    ext_header(&mut root, 1, 4, 0);
    put16s(&mut root, 0, 0xF30B);
    let r = extent::map(&no_blocks(), &root, 0, &REFS, BS, None);
    check!(
        t,
        matches!(
            r,
            Err(Error::Corrupt {
                what: "extent header: magic",
                ..
            })
        )
    );
    ext_header(&mut root, 1, 5, 0);
    let r = extent::map(&no_blocks(), &root, 0, &REFS, BS, None);
    check!(
        t,
        matches!(
            r,
            Err(Error::Corrupt {
                what: "extent header: eh_max",
                ..
            })
        )
    );
    // A physical block beyond the filesystem.
    let mut root = [0u8; 60];
    ext_header(&mut root, 1, 4, 0);
    ext_leaf(&mut root, 0, 0, 10, (NBLOCKS - 5) as u32, false);
    let r = extent::map(&no_blocks(), &root, 0, &REFS, BS, None);
    check!(
        t,
        matches!(
            r,
            Err(Error::Corrupt {
                what: "extent: physical block",
                ..
            })
        )
    );
}

/// The system zone in the kernel build: ranges sorted and merged in
/// place, extents and index children that point into it refused, a child
/// whose first entry differs from its index entry refused.
unsafe extern "C" fn extent_system_zone(t: *mut Test) {
    let mut ranges = [
        Range::new(500, 10),
        Range::new(0, 3),
        Range::new(510, 2),
        Range::new(7, 0),
        Range::new(100, 1),
    ];
    let n = syszone::sort_merge(&mut ranges);
    check_eq!(t, n, Ok(3usize));
    let merged = ranges.get(..3).unwrap_or(&[]);
    check_eq!(
        t,
        merged,
        &[Range::new(0, 3), Range::new(100, 1), Range::new(500, 12)][..]
    );
    let Some(zone) = Zone::new(merged) else {
        check!(t, false);
        return;
    };
    let refs = BlockRefs {
        blocks_count: NBLOCKS,
        zone,
    };
    check_eq!(t, zone.overlap(511, 1), Some(Range::new(500, 12)));
    check_eq!(t, zone.overlap(512, 100), None);
    // An extent ending in the zone's first block.
    let mut root = [0u8; 60];
    ext_header(&mut root, 1, 4, 0);
    ext_leaf(&mut root, 0, 0, 2, 499, false);
    let r = extent::map(&no_blocks(), &root, 0, &refs, BS, None);
    check!(
        t,
        matches!(
            r,
            Err(Error::SystemZone {
                start: 499,
                zone_start: 500,
                ..
            })
        )
    );
    check!(
        t,
        extent::map(&no_blocks(), &root, 0, &REFS, BS, None).is_ok()
    );
    // An index child in the zone.
    let mut root = [0u8; 60];
    ext_header(&mut root, 1, 4, 1);
    ext_index(&mut root, 0, 0, 100);
    check!(
        t,
        matches!(
            extent::check_root(&root, &refs),
            Err(Error::SystemZone { start: 100, .. })
        )
    );
    // The second leaf of the two-level tree named as starting at 999: its
    // first extent starts at 1000.
    let Some((mut root, b10, b11)) = two_level() else {
        check!(t, false);
        return;
    };
    ext_index(&mut root, 1, 999, 11);
    let src = Mem {
        b10: &b10,
        b11: &b11,
    };
    let r = extent::map(&src, &root, 1000, &REFS, BS, Some(SEED));
    check_eq!(
        t,
        r,
        Err(Error::Corrupt {
            what: "extent node: first entry differs from its index entry",
            value: 1000
        })
    );
}

/// Appends a record at `off` and returns the next offset.
fn dirent(b: &mut [u8], off: usize, ino: u32, rec_len: u16, name: &[u8], ft: u8) -> usize {
    put32s(b, off, ino);
    put16s(b, off + 4, rec_len);
    if let Some(x) = b.get_mut(off + 6) {
        *x = name.len() as u8;
    }
    if let Some(x) = b.get_mut(off + 7) {
        *x = ft;
    }
    if let Some(s) = b.get_mut(off + 8..off + 8 + name.len()) {
        s.copy_from_slice(name);
    }
    off + usize::from(rec_len)
}

/// A leaf block with ".", "..", "a", a deleted record, a 255-byte name, and
/// a checksum tail.
fn dir_block() -> Option<KVec<u8>> {
    let mut b = KVec::from_elem(0u8, BS as usize, GFP_KERNEL).ok()?;
    let mut o = dirent(&mut b, 0, 2, 12, b".", 2);
    o = dirent(&mut b, o, 2, 12, b"..", 2);
    o = dirent(&mut b, o, 12, 12, b"a", 1);
    o = dirent(&mut b, o, 0, 16, b"gone", 1);
    let long = [b'x'; 255];
    let end = BS as usize - 12;
    dirent(&mut b, o, 13, (end - o) as u16, &long, 7);
    // Tail: inode 0, rec_len 12, name_len 0, type 0xDE, checksum.
    put32s(&mut b, end, 0);
    put16s(&mut b, end + 4, 12);
    if let Some(x) = b.get_mut(end + 7) {
        *x = 0xDE;
    }
    let c = disk_layer_crc32c(SEED, b.get(..end).unwrap_or(&[]));
    put32s(&mut b, end + 8, c);
    Some(b)
}

unsafe extern "C" fn dirent_iteration(t: *mut Test) {
    let Some(b) = dir_block() else {
        check!(t, false);
        return;
    };
    check_eq!(t, block_kind(&b[..], false, 0), Ok(BlockKind::Leaf));
    check_eq!(t, verify_csum(&b[..], BlockKind::Leaf, SEED), Ok(()));
    let mut names: [&[u8]; 4] = [b""; 4];
    let mut n = 0;
    let mut ok = true;
    for e in Entries::new(&b, 0, true, 100) {
        match e {
            Ok(e) => {
                if let Some(slot) = names.get_mut(n) {
                    *slot = e.name;
                }
                n += 1;
            }
            Err(_) => ok = false,
        }
    }
    check!(t, ok);
    check_eq!(t, n, 4usize);
    check!(t, names[0] == b"." && names[1] == b".." && names[2] == b"a");
    check_eq!(t, names[3].len(), 255usize);
    // Resuming from a record offset yields the rest.
    let rest = Entries::new(&b, 24, true, 100)
        .filter(|e| e.is_ok())
        .count();
    check_eq!(t, rest, 2usize);
    // The in-place search finds what the iterator lists, by exact name.
    // A deleted record's name (inode 0) is not found.
    check_eq!(t, find_name(&b[..], true, 100, b"a"), Ok(Some(12)));
    check_eq!(t, find_name(&b[..], true, 100, b".."), Ok(Some(2)));
    check_eq!(t, find_name(&b[..], true, 100, b"gone"), Ok(None));
    check_eq!(t, find_name(&b[..], true, 100, b"aa"), Ok(None));
    let long = [b'x'; 255];
    check_eq!(t, find_name(&b[..], true, 100, &long), Ok(Some(13)));
    check_eq!(t, find_name(&b[..], true, 100, &long[..254]), Ok(None));
}

unsafe extern "C" fn dirent_detects_corruption(t: *mut Test) {
    let first_err = |b: &[u8]| Entries::new(b, 0, true, 100).find_map(|e| e.err());
    // Checksum.
    if let Some(mut b) = dir_block() {
        if let Some(x) = b.get_mut(30) {
            *x ^= 4;
        }
        let r = verify_csum(&b[..], BlockKind::Leaf, SEED);
        check!(
            t,
            matches!(
                r,
                Err(Error::BadChecksum {
                    what: "directory block",
                    ..
                })
            )
        );
    }
    // rec_len not a multiple of 4.
    if let Some(mut b) = dir_block() {
        put16s(&mut b, 4, 13);
        check!(
            t,
            matches!(
                first_err(&b),
                Some(Error::Corrupt {
                    what: "directory entry: rec_len",
                    ..
                })
            )
        );
    }
    // rec_len running past the block.
    if let Some(mut b) = dir_block() {
        put16s(&mut b, 28, 4068);
        let r = first_err(&b);
        check!(
            t,
            matches!(
                r,
                Some(Error::Corrupt {
                    what: "directory entry: rec_len past end of block",
                    ..
                })
            )
        );
    }
    // name_len larger than the record.
    if let Some(mut b) = dir_block() {
        if let Some(x) = b.get_mut(24 + 6) {
            *x = 200;
        }
        check!(
            t,
            matches!(
                first_err(&b),
                Some(Error::Corrupt {
                    what: "directory entry: name_len",
                    ..
                })
            )
        );
    }
    // Inode number beyond s_inodes_count.
    if let Some(mut b) = dir_block() {
        put32s(&mut b, 24, 101);
        check!(
            t,
            matches!(
                first_err(&b),
                Some(Error::Corrupt {
                    what: "directory entry: inode number",
                    ..
                })
            )
        );
    }
    // A missing tail under metadata_csum.
    if let Some(mut b) = dir_block() {
        if let Some(x) = b.get_mut(BS as usize - 5) {
            *x = 0;
        }
        let r = verify_csum(&b[..], BlockKind::Leaf, SEED);
        check!(t, matches!(r, Err(Error::Corrupt { .. })));
    }
}

unsafe extern "C" fn dirent_htree_node(t: *mut Test) {
    let Some(mut b) = KVec::from_elem(0u8, BS as usize, GFP_KERNEL).ok() else {
        check!(t, false);
        return;
    };
    // An interior htree node: a fake record with inode 0 spanning the block.
    put16s(&mut b, 4, BS as u16);
    check_eq!(t, block_kind(&b[..], true, 3), Ok(BlockKind::DxNode));
    check_eq!(t, block_kind(&b[..], true, 0), Ok(BlockKind::DxRoot));
    check_eq!(t, block_kind(&b[..], false, 3), Ok(BlockKind::Leaf));
    // It has no live entries.
    check_eq!(t, Entries::new(&b, 0, false, 100).count(), 0usize);
}

kunit_suite!(
    extent_dir_suite,
    "rext4_extent_dir",
    [
        extent_root_leaf,
        extent_index_tree,
        extent_detects_corruption,
        extent_block_verified_once,
        extent_system_zone,
        dirent_iteration,
        dirent_detects_corruption,
        dirent_htree_node,
    ]
);

// ---------------------------------------------------------------------------
// htree hashes and walk, xattr blocks, on-disk ACLs
// ---------------------------------------------------------------------------

use disk::htree::{self, DirBlockReader, DxParams, HashConfig};
use disk::xattr::{
    self,
    acl::{Acl, Kind},
    Xattrs,
};

/// Reference hashes from e2fsprogs' `debugfs dx_hash -h V -s SEED NAME`.
unsafe extern "C" fn htree_hash_vectors(t: *mut Test) {
    // 01234567-89ab-cdef-0123-456789abcdef as s_hash_seed words.
    let seed = [0x6745_2301, 0xEFCD_AB89, 0x6745_2301, 0xEFCD_AB89];
    let name = "héllo".as_bytes();
    let want: [(u32, u32); 6] = [
        (0x2399_28cc, 0),
        (0x1e7a_395c, 0xe9ad_fb54),
        (0x313e_cf7e, 0xedbe_6b7e),
        (0x7798_acd8, 0),
        (0x3e12_27d0, 0x68ce_b7ad),
        (0x7472_d1be, 0x99e4_e95b),
    ];
    for (v, (major, minor)) in want.iter().enumerate() {
        let h = htree::dirhash(v as u8, &seed, name);
        check_eq!(t, h.map(|h| (h.major, h.minor)), Ok((*major, *minor)));
    }
    // All-zero seed: the default one.
    let lf: [(u32, u32); 3] = [
        (0x5e2a_ba24, 0),
        (0x591d_e422, 0x6ffc_56e0),
        (0x2dbf_9e80, 0xbfeb_ee4f),
    ];
    for (v, (major, minor)) in lf.iter().enumerate() {
        let h = htree::dirhash(v as u8, &[0; 4], b"lost+found");
        check_eq!(t, h.map(|h| (h.major, h.minor)), Ok((*major, *minor)));
    }
    check!(
        t,
        matches!(
            htree::dirhash(htree::hash_version::SIPHASH, &seed, name),
            Err(Error::Unsupported { .. })
        )
    );
}

/// A one-level index (root with two leaves) in memory, with metadata_csum:
/// the walk picks the leaf by hash; damage is an error.
unsafe extern "C" fn htree_walk_crafted(t: *mut Test) {
    let p = DxParams {
        block_size: BS,
        dir_blocks: 3,
        csum_seed: Some(SEED),
        largedir: false,
        hash: HashConfig {
            unsigned: false,
            seed: [0; 4],
        },
    };
    let Ok(mut root) = KVec::from_elem(0u8, BS as usize, GFP_KERNEL) else {
        check!(t, false);
        return;
    };
    dirent(&mut root, 0, 2, 12, b".", 2);
    dirent(&mut root, 12, 2, (BS - 12) as u16, b"..", 2);
    if let Some(x) = root.get_mut(24 + 4..24 + 8) {
        x.copy_from_slice(&[htree::hash_version::HALF_MD4, 8, 0, 0]);
    }
    let limit = p.root_limit();
    put16s(&mut root, 32, limit as u16);
    put16s(&mut root, 34, 2);
    put32s(&mut root, 36, 1);
    put32s(&mut root, 40, 0x8000_0000);
    put32s(&mut root, 44, 2);
    let tail = 32 + limit * 8;
    let mut c = disk_layer_crc32c(SEED, root.get(..32 + 16).unwrap_or(&[]));
    c = disk_layer_crc32c(c, &[0; 8]);
    put32s(&mut root, tail + 4, c);
    for name in [&b"a"[..], b"lost+found", b"some-longer-name-0123456789"] {
        let mut rd = OneBlock {
            block: &root,
            only_block0: true,
        };
        let want = match htree::dirhash(1, &[0; 4], name) {
            Ok(h) if h.major >= 0x8000_0000 => 2,
            Ok(_) => 1,
            Err(_) => 0,
        };
        let r = htree::probe(&p, name, &mut rd);
        check_eq!(t, r.map(|path| path.leaf()), Ok(want));
    }
    // A flipped entry byte: checksum error; without csum, a pointer past
    // the directory.
    if let Some(x) = root.get_mut(44) {
        *x = 9;
    }
    let mut rd = OneBlock {
        block: &root,
        only_block0: false,
    };
    let r = htree::probe(&p, b"\xff", &mut rd);
    check!(t, matches!(r, Err(Error::BadChecksum { .. })));
    let mut q = p;
    q.csum_seed = None;
    // Without csum the limit has no tail room: the same bytes are refused
    // for their limit.
    let r = htree::probe(&q, b"\xff", &mut rd);
    check!(t, matches!(r, Err(Error::Corrupt { .. })));
}

/// Serves one crafted block as every block of a directory (or as block 0
/// only, other blocks failing to read).
struct OneBlock<'a> {
    block: &'a [u8],
    only_block0: bool,
}

impl<'a> DirBlockReader for OneBlock<'a> {
    type Block = &'a [u8];

    fn read_dir_block(&mut self, lblk: u32) -> core::result::Result<&'a [u8], Error> {
        if self.only_block0 && lblk != 0 {
            return Err(Error::Io { block: lblk.into() });
        }
        Ok(self.block)
    }
}

/// An attribute block with one entry, its hashes and checksum computed
/// here: it parses, the value is found, a flipped byte is an error.
unsafe extern "C" fn xattr_block_crafted(t: *mut Test) {
    let Ok(sb) = Superblock::parse(&sample()) else {
        check!(t, false);
        return;
    };
    let Ok(mut b) = KVec::from_elem(0u8, BS as usize, GFP_KERNEL) else {
        check!(t, false);
        return;
    };
    let value = b"value!";
    let voff = BS as usize - 8;
    put32s(&mut b, 0, xattr::MAGIC);
    put32s(&mut b, 4, 1);
    put32s(&mut b, 8, 1);
    if let Some(x) = b.get_mut(32..34) {
        x.copy_from_slice(&[3, xattr::index::USER]);
    }
    put16s(&mut b, 34, voff as u16);
    put32s(&mut b, 40, value.len() as u32);
    if let Some(x) = b.get_mut(48..51) {
        x.copy_from_slice(b"key");
    }
    if let Some(x) = b.get_mut(voff..voff + value.len()) {
        x.copy_from_slice(value);
    }
    let eh = xattr::entry_hash(b"key", b.get(voff..voff + 8).unwrap_or(&[]), false);
    put32s(&mut b, 44, eh);
    put32s(&mut b, 12, xattr::block_hash([eh].into_iter()));
    let blocknr = 1234u64;
    if let Ok(c) = xattr::block_csum(sb.csum_seed, blocknr, &b) {
        put32s(&mut b, 16, c);
    }
    match Xattrs::block(&sb, blocknr, &b) {
        Ok(x) => {
            let e = x.get(xattr::index::USER, b"key");
            check!(t, e.is_some_and(|e| e.value() == Ok(&value[..])));
            check_eq!(t, x.entries().count(), 1usize);
        }
        Err(_) => check!(t, false),
    }
    // The same block read from another block number: checksum error.
    check!(
        t,
        matches!(
            Xattrs::block(&sb, blocknr + 1, &b),
            Err(Error::BadChecksum { .. })
        )
    );
    if let Some(x) = b.get_mut(voff) {
        *x ^= 1;
    }
    check!(
        t,
        matches!(
            Xattrs::block(&sb, blocknr, &b),
            Err(Error::BadChecksum { .. })
        )
    );
    // A block already verified (buffer bit) is checked for structure
    // only: the changed value byte passes, a bad value offset does not.
    check!(t, Xattrs::block_checked(&sb, blocknr, &b, false).is_ok());
    put16s(&mut b, 32 + 2, 0xfff0);
    check!(
        t,
        matches!(
            Xattrs::block_checked(&sb, blocknr, &b, false),
            Err(Error::Corrupt { .. })
        )
    );
}

/// The ext4 ACL format: short and long entries; malformed values.
unsafe extern "C" fn acl_crafted(t: *mut Test) {
    let v: [u8; 4 + 4 + 8 + 4 + 4 + 4] = [
        1, 0, 0, 0, // a_version
        1, 0, 6, 0, // USER_OBJ rw-
        2, 0, 4, 0, 0xd2, 0x04, 0, 0, // USER 1234 r--
        4, 0, 4, 0, // GROUP_OBJ r--
        0x10, 0, 6, 0, // MASK rw-
        0x20, 0, 0, 0, // OTHER ---
    ];
    match Acl::parse(&v) {
        Ok(Some(a)) => {
            check_eq!(t, a.len(), 5usize);
            let mut it = a.iter();
            check!(t, it.next().is_some_and(|e| e.tag == 1 && e.perm == 6));
            check!(
                t,
                it.next()
                    .is_some_and(|e| e.tag == 2 && e.perm == 4 && e.id == 1234)
            );
            check_eq!(t, it.count(), 3usize);
        }
        _ => check!(t, false),
    }
    // What get_inode_acl builds: tags with the ids of named entries only.
    if let Ok(Some(a)) = Acl::parse(&v) {
        let mut k = a.iter().map(|e| e.kind());
        check!(t, k.next() == Some(Some(Kind::UserObj)));
        check!(t, k.next() == Some(Some(Kind::User(1234))));
        check!(t, k.next() == Some(Some(Kind::GroupObj)));
        check!(t, k.next() == Some(Some(Kind::Mask)));
        check!(t, k.next() == Some(Some(Kind::Other)));
        check!(t, k.next().is_none());
    }
    let g: [u8; 4 + 4 + 8 + 4 + 4 + 4] = [
        1, 0, 0, 0, // a_version
        1, 0, 7, 0, // USER_OBJ rwx
        8, 0, 5, 0, 0xe8, 0x03, 0, 0, // GROUP 1000 r-x
        4, 0, 0, 0, // GROUP_OBJ ---
        0x10, 0, 5, 0, // MASK r-x
        0x20, 0, 1, 0, // OTHER --x
    ];
    match Acl::parse(&g) {
        Ok(Some(a)) => {
            let named = a.iter().nth(1);
            check!(
                t,
                named.is_some_and(|e| e.kind() == Some(Kind::Group(1000)) && e.perm == 5)
            );
        }
        _ => check!(t, false),
    }
    let bogus = disk::xattr::acl::AclEntry {
        tag: 0x40,
        perm: 7,
        id: 1,
    };
    check!(t, bogus.kind().is_none());
    check!(t, matches!(Acl::parse(&v[..4]), Ok(None)));
    check!(t, Acl::parse(&v[..v.len() - 2]).is_err());
    let mut w = v;
    w[0] = 2;
    check!(t, Acl::parse(&w).is_err());
    let mut w = v;
    w[4] = 0x40;
    check!(t, Acl::parse(&w).is_err());
}

kunit_suite!(
    htree_xattr_suite,
    "rext4_htree_xattr",
    [
        htree_hash_vectors,
        htree_walk_crafted,
        xattr_block_crafted,
        acl_crafted,
    ]
);

// ---------------------------------------------------------------------------
// The write side: allocation bitmaps, descriptors and inodes
// ---------------------------------------------------------------------------

use disk::bitmap;
use disk::group::GroupDesc;
use disk::inode::{Inode as DiskInode, Timestamp};

/// A 4 KiB bitmap, all free.
fn free_bitmap() -> Option<KVec<u8>> {
    KVec::from_elem(0u8, 4096, GFP_KERNEL).ok()
}

unsafe extern "C" fn bitmap_allocate_and_free(t: *mut Test) {
    let Some(mut b) = free_bitmap() else {
        return check!(t, false);
    };
    let n = 32768;
    // Allocate a run at a goal, then the next free search skips it.
    check_eq!(t, bitmap::set_range(&mut b, n, 100, 28), Ok(()));
    check_eq!(t, bitmap::find_zero(&b, n, 100), Ok(Some(128)));
    check_eq!(t, bitmap::find_free_run(&b, n, 90, 64), Ok(Some((90, 10))));
    check_eq!(t, bitmap::count_zeros(&b, n), Ok(n - 28));
    // Allocating a block already in use and freeing a free one are
    // refused and change nothing.
    let mut before = [0u8; 32];
    before.copy_from_slice(&b[..32]);
    check!(t, bitmap::set_range(&mut b, n, 120, 16).is_err());
    check!(t, bitmap::clear_range(&mut b, n, 127, 2).is_err());
    check!(t, b[..32] == before[..]);
    // A full bitmap wraps once and reports none.
    check_eq!(t, bitmap::set_range(&mut b, n, 0, 100), Ok(()));
    check_eq!(t, bitmap::set_range(&mut b, n, 128, n - 128), Ok(()));
    check_eq!(t, bitmap::find_zero(&b, n, 5000), Ok(None));
    check_eq!(t, bitmap::clear_range(&mut b, n, 7, 1), Ok(()));
    check_eq!(t, bitmap::find_zero(&b, n, 5000), Ok(Some(7)));
}

unsafe extern "C" fn bitmap_uninit_group(t: *mut Test) {
    let Ok(sb) = Superblock::parse(&sample()) else {
        return check!(t, false);
    };
    let Some(mut b) = free_bitmap() else {
        return check!(t, false);
    };
    // The sample's one group: superblock and one descriptor block, then
    // the bitmaps and the 512-block inode table where the descriptor says.
    let gd = GroupDesc {
        block_bitmap: 2,
        inode_bitmap: 18,
        inode_table: 34,
        free_blocks_count: 0,
        free_inodes_count: 8192,
        ..GroupDesc::default()
    };
    let free = bitmap::init_block_bitmap(&sb, 0, &mut b, |_| Ok(gd));
    check_eq!(t, free, Ok(32768 - 2 - 2 - 512));
    let used = |blk: u32| b[blk as usize / 8] & (1 << (blk % 8)) != 0;
    for blk in [0, 1, 2, 18, 34, 545] {
        check!(t, used(blk));
    }
    for blk in [3, 17, 19, 33, 546, 32767] {
        check!(t, !used(blk));
    }
    // The inode bitmap of an INODE_UNINIT group: 8192 free inodes, the
    // rest of the block padded as used.
    check_eq!(t, bitmap::init_inode_bitmap(&sb, &mut b), Ok(()));
    check_eq!(t, bitmap::count_zeros(&b, 32768), Ok(8192));
    check_eq!(t, b[1023], 0u8);
    check_eq!(t, b[1024], 0xFFu8);
}

unsafe extern "C" fn inode_store_parse_round_trip(t: *mut Test) {
    let Ok(sb) = Superblock::parse(&sample()) else {
        return check!(t, false);
    };
    let mut raw = [0u8; 256];
    let mut block = [0u8; 60];
    block[0] = 0x0A;
    block[1] = 0xF3;
    let inode = DiskInode {
        ino: 12,
        mode: 0o100644,
        uid: 100_000,
        gid: 7,
        size: 5 << 32,
        atime: Timestamp {
            sec: 1_700_000_000,
            nsec: 1,
        },
        ctime: Timestamp {
            sec: 4_102_444_800,
            nsec: 999_999_999,
        },
        mtime: Timestamp { sec: -5, nsec: 0 },
        crtime: Some(Timestamp { sec: 0, nsec: 42 }),
        dtime: 0,
        links_count: 3,
        blocks_512: 0x1234_5678,
        flags: disk::inode::flags::EXTENTS,
        generation: 0xDEAD_BEEF,
        version: 0x1_2345_6789,
        file_acl: 0x1_0000_0001,
        extra_isize: 32,
        block,
        csum_seed: disk::inode::csum_seed(&sb, 12, 0xDEAD_BEEF),
    };
    // A block count past 32 bits needs huge_file, which the sample lacks.
    let big = DiskInode {
        blocks_512: 1 << 32,
        ..inode.clone()
    };
    check!(t, big.store(&sb, &mut raw).is_err());
    check_eq!(t, inode.store(&sb, &mut raw), Ok(()));
    check_eq!(t, DiskInode::parse(&sb, 12, &raw[..]).as_ref(), Ok(&inode));
    // The stored checksum covers the fields: one flipped bit fails it, and
    // the same bytes are not inode 13's.
    check!(t, DiskInode::parse(&sb, 13, &raw[..]).is_err());
    raw[0x2] ^= 1;
    check!(
        t,
        matches!(
            DiskInode::parse(&sb, 12, &raw[..]),
            Err(Error::BadChecksum { .. })
        )
    );
}

unsafe extern "C" fn dir_block_add_delete(t: *mut Test) {
    use disk::dir_write::{add_entry, delete_entry, init_first_block, locate, set_leaf_csum};
    use disk::dir_write::{DirFormat, Slot};
    let fmt = DirFormat {
        csum: true,
        filetype: true,
        max_ino: 1000,
    };
    let Ok(mut b) = KVec::from_elem(0u8, 1024, GFP_KERNEL) else {
        return check!(t, false);
    };
    let seed = 0x1234_5678;
    check_eq!(t, init_first_block(&mut b, &fmt, 12, 2), Ok(()));
    check_eq!(t, set_leaf_csum(&mut b, seed), Ok(()));
    check_eq!(t, verify_csum(&b[..], BlockKind::Leaf, seed), Ok(()));
    // Names are added until the block is full, then refused.
    let mut added = 0u32;
    loop {
        let mut name = *b"entry-000";
        name[6] = b'0' + (added / 100 % 10) as u8;
        name[7] = b'0' + (added / 10 % 10) as u8;
        name[8] = b'0' + (added % 10) as u8;
        match add_entry(&mut b, &fmt, &name, 20 + added, 1) {
            Ok(Slot::Fits(_)) => added += 1,
            Ok(Slot::NoSpace) => break,
            _ => return check!(t, false),
        }
    }
    // 1024 - 12 (".") - 12 ("..") - 12 (tail) = 988 bytes of 20-byte records.
    check_eq!(t, added, 49);
    check!(
        t,
        matches!(
            add_entry(&mut b, &fmt, b"entry-007", 99, 1),
            Ok(Slot::Exists { .. })
        )
    );
    check_eq!(t, find_name(&b[..], true, 1000, b"entry-030"), Ok(Some(50)));
    // Deleting one makes room for one; the checksum follows the changes.
    let Ok(Some(at)) = locate(&b, &fmt, b"entry-030") else {
        return check!(t, false);
    };
    check_eq!(t, delete_entry(&mut b, &fmt, at.offset), Ok(()));
    check_eq!(t, find_name(&b[..], true, 1000, b"entry-030"), Ok(None));
    check!(t, verify_csum(&b[..], BlockKind::Leaf, seed).is_err());
    check_eq!(t, set_leaf_csum(&mut b, seed), Ok(()));
    check_eq!(t, verify_csum(&b[..], BlockKind::Leaf, seed), Ok(()));
    check!(
        t,
        matches!(
            add_entry(&mut b, &fmt, b"renamed-1", 77, 1),
            Ok(Slot::Fits(_))
        )
    );
    check_eq!(t, find_name(&b[..], true, 1000, b"renamed-1"), Ok(Some(77)));
    check!(
        t,
        matches!(
            add_entry(&mut b, &fmt, b"one-more!", 78, 1),
            Ok(Slot::NoSpace)
        )
    );
}

/// Node blocks of an in-memory extent tree: `NODES` 1 KiB blocks from
/// block `NODE_BASE` on, handed out in order, each freed at most once.
struct NodeMem {
    blocks: KVec<u8>,
    used: [bool; NODES],
    next: usize,
    double_free: bool,
    data_freed: u64,
}

const NODES: usize = 16;
const NODE_BASE: u64 = 1000;
const NODE_BS: usize = 1024;

impl NodeMem {
    fn slot(&self, pblk: u64) -> disk::Result<usize> {
        let i = pblk
            .checked_sub(NODE_BASE)
            .ok_or(Error::Io { block: pblk })? as usize;
        if i < self.next {
            Ok(i)
        } else {
            Err(Error::Io { block: pblk })
        }
    }

    fn block(&self, pblk: u64) -> disk::Result<&[u8]> {
        let i = self.slot(pblk)?;
        self.blocks
            .get(i * NODE_BS..(i + 1) * NODE_BS)
            .ok_or(Error::Truncated)
    }
}

impl disk::extent_tree::NodeStore for NodeMem {
    type Node = [u8];
    fn read<R>(&mut self, pblk: u64, f: impl FnOnce(&[u8]) -> disk::Result<R>) -> disk::Result<R> {
        f(self.block(pblk)?)
    }
    fn modify<R>(
        &mut self,
        pblk: u64,
        f: impl FnOnce(&mut [u8]) -> disk::Result<R>,
    ) -> disk::Result<R> {
        let i = self.slot(pblk)?;
        let b = self
            .blocks
            .get_mut(i * NODE_BS..(i + 1) * NODE_BS)
            .ok_or(Error::Truncated)?;
        f(b)
    }
    fn alloc_node(&mut self, _goal: u64) -> disk::Result<u64> {
        if self.next == NODES {
            return Err(Error::Io { block: 0 });
        }
        self.used[self.next] = true;
        self.next += 1;
        Ok(NODE_BASE + self.next as u64 - 1)
    }
    fn free_node(&mut self, pblk: u64) -> disk::Result<()> {
        let i = self.slot(pblk)?;
        self.double_free |= !self.used[i];
        self.used[i] = false;
        Ok(())
    }
    fn free_data(&mut self, _pblk: u64, len: u32) -> disk::Result<()> {
        self.data_freed += u64::from(len);
        Ok(())
    }
}

/// The node blocks of a [`NodeMem`] as the read side reads them.
struct NodeView<'a>(&'a [u8], usize);

impl<'a> BlockSource for NodeView<'a> {
    type Block = &'a [u8];
    fn read(&self, pblk: u64) -> core::result::Result<&'a [u8], Error> {
        let i = pblk
            .checked_sub(NODE_BASE)
            .ok_or(Error::Io { block: pblk })? as usize;
        if i >= self.1 {
            return Err(Error::Io { block: pblk });
        }
        self.0
            .get(i * NODE_BS..(i + 1) * NODE_BS)
            .ok_or(Error::Truncated)
    }
}

unsafe extern "C" fn extent_tree_insert_split(t: *mut Test) {
    use disk::extent::Extent;
    use disk::extent_tree::{init_root, ExtentTree, TreeParams};
    let Ok(blocks) = KVec::from_elem(0u8, NODES * NODE_BS, GFP_KERNEL) else {
        return check!(t, false);
    };
    let mut mem = NodeMem {
        blocks,
        used: [false; NODES],
        next: 0,
        double_free: false,
        data_freed: 0,
    };
    let mut root = [0u8; 60];
    check_eq!(t, init_root(&mut root), Ok(()));
    let params = || TreeParams {
        block_size: NODE_BS as u32,
        csum_seed: Some(SEED),
        refs: REFS,
    };
    // 400 one-block extents, never contiguous, inserted out of order: the
    // root (4 entries) grows into a leaf level, 1 KiB leaves (84 entries)
    // split, and the index follows.
    const N: u32 = 400;
    {
        let mut tree = ExtentTree::new(&mut mem, &mut root, params());
        for k in 0..N {
            let i = (k * 7) % N;
            let e = Extent {
                lblk: 2 * i,
                len: 1,
                pblk: 5000 + 3 * u64::from(i),
                unwritten: false,
            };
            if tree.insert(e).is_err() {
                return check!(t, false);
            }
        }
        // An overlapping insert is refused.
        let dup = Extent {
            lblk: 10,
            len: 2,
            pblk: 90_000,
            unwritten: false,
        };
        check!(t, tree.insert(dup).is_err());
    }
    check!(t, mem.next > 5);
    // The read side maps every block as inserted, and the holes between.
    let view = NodeView(&mem.blocks, mem.next);
    for i in 0..N {
        let m = extent::map(&view, &root, 2 * i, &REFS, NODE_BS as u32, Some(SEED));
        check!(
            t,
            matches!(m, Ok(Mapping::Mapped { pblk, len: 1, unwritten: false })
                if pblk == 5000 + 3 * u64::from(i))
        );
        let h = extent::map(&view, &root, 2 * i + 1, &REFS, NODE_BS as u32, Some(SEED));
        check!(t, matches!(h, Ok(Mapping::Hole { .. })));
    }
    // Truncating to 0 frees every data block and every node, once each.
    {
        let mut tree = ExtentTree::new(&mut mem, &mut root, params());
        check_eq!(t, tree.remove(0, 1 << 32), Ok(()));
    }
    check_eq!(t, mem.data_freed, u64::from(N));
    check!(t, !mem.double_free);
    check!(t, mem.used.iter().all(|u| !u));
    check!(
        t,
        matches!(
            extent::map(&no_blocks(), &root, 0, &REFS, NODE_BS as u32, Some(SEED)),
            Ok(Mapping::Hole { .. })
        )
    );
}

kunit_suite!(
    write_suite,
    "rext4_write",
    [
        bitmap_allocate_and_free,
        bitmap_uninit_group,
        inode_store_parse_round_trip,
        dir_block_add_delete,
        extent_tree_insert_split,
    ]
);

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

use disk::crc32c::crc32c;
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
            check_eq!(t, sb.csum_seed, crc32c(!0, &sb.uuid));
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
    check_eq!(t, Superblock::parse(&b), Err(Error::NotExt4 { magic: 0x53 }));
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
    put32(&mut b, 0x60, incompat::FILETYPE | incompat::EXTENTS | (1 << 21));
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
    check_eq!(t, r, Ok(Ok(Access::ReadOnly { unknown_ro_compat: 1 << 25 })));
    // Inline data is known to ext4 but not implemented: refused.
    let mut b = sample();
    put32(&mut b, 0x60, incompat::FILETYPE | incompat::INLINE_DATA);
    let _ = update_superblock_csum(&mut b);
    let r = Superblock::parse(&b).map(|sb| sb.access(PAGE));
    check!(t, matches!(r, Ok(Err(Error::UnsupportedFeatures { .. }))));
}

unsafe extern "C" fn sb_block_size_policy(t: *mut Test) {
    // A 1 KiB-block filesystem of 8192 blocks: valid, but not mountable yet.
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
            check_eq!(
                t,
                sb.access(PAGE),
                Err(Error::Unsupported { what: "block size", value: 1024 })
            );
        }
        Err(_) => check!(t, false),
    }
}

unsafe extern "C" fn crc32c_check_value(t: *mut Test) {
    check_eq!(t, !crc32c(!0, b"123456789"), 0xE306_9283u32);
    check_eq!(t, !crc32c(!0, &[0u8; 32]), 0x8A91_36AAu32);
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
    ]
);

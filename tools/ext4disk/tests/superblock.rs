//! Superblock parsing and the feature policy against real mke2fs images.

mod common;

use common::*;
use ext4disk::features::{self, incompat, ro_compat, Access};
use ext4disk::superblock::{update_superblock_csum, Superblock};
use ext4disk::Error;

const PAGE: u32 = 4096;

/// Checks every field dumpe2fs also reports.
fn check_against_dumpe2fs(img: &std::path::Path, sb: &Superblock) {
    let kv = dumpe2fs(img);
    let num = |k: &str| field(&kv, k).parse::<u64>().unwrap();
    assert_eq!(sb.blocks_count, num("Block count"));
    assert_eq!(u64::from(sb.inodes_count), num("Inode count"));
    assert_eq!(sb.free_blocks_count, num("Free blocks"));
    assert_eq!(u64::from(sb.free_inodes_count), num("Free inodes"));
    assert_eq!(u64::from(sb.block_size()), num("Block size"));
    assert_eq!(u64::from(sb.blocks_per_group), num("Blocks per group"));
    assert_eq!(u64::from(sb.inodes_per_group), num("Inodes per group"));
    assert_eq!(u64::from(sb.inode_size), num("Inode size"));
    assert_eq!(u64::from(sb.first_data_block), num("First block"));
    let uuid: String = sb.uuid.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(uuid, field(&kv, "Filesystem UUID").replace('-', ""));
    let mut names = String::new();
    features::write_names(
        &mut names,
        sb.feature_compat,
        sb.feature_incompat,
        sb.feature_ro_compat,
    )
    .unwrap();
    let mut ours: Vec<&str> = names.split(' ').collect();
    let mut theirs: Vec<&str> = field(&kv, "Filesystem features").split(' ').collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
}

#[test]
fn default_ext4_image() {
    let s = Scratch::new("default");
    let img = mkfs(&s.0, "a.img", 64, &[]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert_eq!(sb.block_size(), 4096);
    assert!(sb.has_metadata_csum());
    assert!(sb.has_incompat(incompat::BIT64));
    assert!(sb.has_incompat(incompat::EXTENTS));
    assert!(sb.has_journal());
    assert!(!sb.needs_recovery());
    assert_eq!(sb.desc_size, 64);
    assert_eq!(sb.access(PAGE), Ok(Access::ReadWrite));
    check_against_dumpe2fs(&img, &sb);
}

#[test]
fn no_metadata_csum() {
    let s = Scratch::new("nocsum");
    let img = mkfs(&s.0, "a.img", 64, &["-O", "^metadata_csum"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert!(!sb.has_metadata_csum());
    assert_eq!(sb.access(PAGE), Ok(Access::ReadWrite));
    check_against_dumpe2fs(&img, &sb);
}

#[test]
fn no_64bit() {
    let s = Scratch::new("no64");
    let img = mkfs(&s.0, "a.img", 64, &["-O", "^64bit"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert!(!sb.has_incompat(incompat::BIT64));
    assert_eq!(sb.desc_size, 32);
    assert_eq!(sb.access(PAGE), Ok(Access::ReadWrite));
    check_against_dumpe2fs(&img, &sb);
}

#[test]
fn no_flex_bg_many_groups() {
    let s = Scratch::new("noflex");
    let img = mkfs(&s.0, "a.img", 600, &["-O", "^flex_bg"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert!(!sb.has_incompat(incompat::FLEX_BG));
    assert!(sb.group_count() > 4);
    check_against_dumpe2fs(&img, &sb);
}

#[test]
fn one_k_blocks_parse_and_mount() {
    let s = Scratch::new("1k");
    let img = mkfs(&s.0, "a.img", 64, &["-b", "1024"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert_eq!(sb.block_size(), 1024);
    assert_eq!(sb.first_data_block, 1);
    check_against_dumpe2fs(&img, &sb);
    assert_eq!(sb.access(PAGE), Ok(Access::ReadWrite));
    assert_eq!(sb.block_bits(), 10);
    // ext4_max_size with huge_file: 2^32 - 1 blocks of 1 KiB.
    assert_eq!(sb.max_file_size(), ((1i64 << 32) - 1) << 10);
}

#[test]
fn block_size_policy_and_max_file_size() {
    let s = Scratch::new("bsz");
    for (bs, bits) in [("1024", 10), ("2048", 11), ("4096", 12)] {
        let img = mkfs(&s.0, "a.img", 32, &["-b", bs]);
        let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
        assert_eq!(sb.block_bits(), bits);
        assert_eq!(sb.access(PAGE), Ok(Access::ReadWrite));
        assert_eq!(sb.max_file_size(), ((1i64 << 32) - 1) << bits);
        // Without huge_file i_blocks limits the size (ext4_max_size).
        let img = mkfs(&s.0, "b.img", 32, &["-b", bs, "-O", "^huge_file"]);
        let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
        assert_eq!(
            sb.max_file_size(),
            (((1i64 << 32) - 1) >> (bits - 9)) << bits
        );
    }
    // Blocks larger than the page: refused with both sizes named.
    let img = mkfs(&s.0, "c.img", 64, &["-b", "8192"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    let e = sb.access(PAGE).unwrap_err();
    assert_eq!(
        e,
        Error::BlockSizeAbovePage {
            block_size: 8192,
            page_size: PAGE
        }
    );
    assert_eq!(
        e.to_string(),
        "block size 8192 is larger than the page size (4096 bytes)"
    );
}

#[test]
fn ext2_without_journal_or_extents() {
    let s = Scratch::new("ext2");
    let img = common::mkfs(&s.0, "a.img", 32, &["-O", "^has_journal,^extent,^64bit,^metadata_csum,^flex_bg,^huge_file,^dir_nlink,^extra_isize"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert!(!sb.has_journal());
    assert!(!sb.has_incompat(incompat::EXTENTS));
    check_against_dumpe2fs(&img, &sb);
}

fn default_sb() -> (Scratch, Vec<u8>) {
    let s = Scratch::new("corrupt");
    let img = mkfs(&s.0, "a.img", 64, &[]);
    let b = sb_bytes(&img);
    (s, b)
}

#[test]
fn flipped_byte_is_a_checksum_error() {
    let (_s, good) = default_sb();
    for off in [0x0usize, 0x18, 0x68, 0x100, 0x3FB] {
        let mut b = good.clone();
        b[off] ^= 0x10;
        match Superblock::parse(&b) {
            Err(Error::BadChecksum {
                what: "superblock", ..
            }) => {}
            other => panic!("offset {off:#x}: {other:?}"),
        }
    }
    // The checksum field itself.
    let mut b = good.clone();
    b[0x3FC] ^= 1;
    assert!(matches!(
        Superblock::parse(&b),
        Err(Error::BadChecksum { .. })
    ));
}

#[test]
fn bad_magic_and_truncation() {
    let (_s, good) = default_sb();
    let mut b = good.clone();
    b[0x38] = 0;
    b[0x39] = 0;
    assert_eq!(Superblock::parse(&b), Err(Error::NotExt4 { magic: 0 }));
    assert_eq!(Superblock::parse(&good[..1023]), Err(Error::Truncated));
    assert_eq!(Superblock::parse(&[]), Err(Error::Truncated));
    assert_eq!(
        Superblock::parse(&[0u8; 1024]),
        Err(Error::NotExt4 { magic: 0 })
    );
}

/// Sets a little-endian u32 and re-signs the superblock, so the geometry
/// checks (not the checksum) must catch the problem.
fn patched(good: &[u8], off: usize, val: u32) -> Vec<u8> {
    let mut b = good.to_vec();
    b[off..off + 4].copy_from_slice(&val.to_le_bytes());
    update_superblock_csum(&mut b).unwrap();
    b
}

#[test]
fn geometry_checks_with_valid_checksum() {
    let (_s, good) = default_sb();
    let cases: &[(usize, u32, &str)] = &[
        (0x18, 7, "superblock: s_log_block_size"),
        (0x18, 40, "superblock: s_log_block_size"),
        (0x20, 0, "superblock: s_blocks_per_group"),
        (0x20, 4096 * 8 + 1, "superblock: s_blocks_per_group"),
        (0x28, 0, "superblock: s_inodes_per_group"),
        (0x0, 12345, "superblock: s_inodes_count"),
        (0x14, 1, "superblock: s_first_data_block"),
        (0x4, 0, "superblock: s_blocks_count"),
    ];
    for &(off, val, what) in cases {
        match Superblock::parse(&patched(&good, off, val)) {
            Err(Error::Corrupt { what: w, .. }) => assert_eq!(w, what, "offset {off:#x}"),
            other => panic!("offset {off:#x} = {val}: {other:?}"),
        }
    }
    // Inode size is a u16 at 0x58; 100 is not a power of two.
    let mut b = good.clone();
    b[0x58..0x5A].copy_from_slice(&100u16.to_le_bytes());
    update_superblock_csum(&mut b).unwrap();
    assert!(matches!(
        Superblock::parse(&b),
        Err(Error::Corrupt {
            what: "superblock: s_inode_size",
            ..
        })
    ));
    // desc_size 48 with 64bit.
    let mut b = good.clone();
    b[0xFE..0x100].copy_from_slice(&48u16.to_le_bytes());
    update_superblock_csum(&mut b).unwrap();
    assert!(matches!(
        Superblock::parse(&b),
        Err(Error::Corrupt {
            what: "superblock: s_desc_size",
            ..
        })
    ));
}

#[test]
fn unknown_incompat_refuses_unknown_ro_compat_reads() {
    let (_s, good) = default_sb();
    let sb = Superblock::parse(&good).unwrap();
    // Unknown INCOMPAT bit (bit 20): mount refused.
    let b = patched(&good, 0x60, sb.feature_incompat | (1 << 20));
    let sb2 = Superblock::parse(&b).unwrap();
    assert_eq!(
        sb2.access(PAGE),
        Err(Error::UnsupportedFeatures {
            set: features::Set::Incompat,
            bits: 1 << 20
        })
    );
    // Known but unimplemented INCOMPAT (inline_data): refused too, named.
    let b = patched(&good, 0x60, sb.feature_incompat | incompat::INLINE_DATA);
    let e = Superblock::parse(&b).unwrap().access(PAGE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported incompatible features: inline_data"
    );
    let e = sb2.access(PAGE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported incompatible features: FEATURE_I20"
    );
    // Unknown RO_COMPAT bit (bit 24): read-only.
    let b = patched(&good, 0x64, sb.feature_ro_compat | (1 << 24));
    assert_eq!(
        Superblock::parse(&b).unwrap().access(PAGE),
        Ok(Access::ReadOnly {
            unknown_ro_compat: 1 << 24
        })
    );
    // The READONLY feature: read-only with nothing unknown.
    let b = patched(&good, 0x64, sb.feature_ro_compat | ro_compat::READONLY);
    assert_eq!(
        Superblock::parse(&b).unwrap().access(PAGE),
        Ok(Access::ReadOnly {
            unknown_ro_compat: 0
        })
    );
    // needs_recovery is a state, reported as such.
    let b = patched(&good, 0x60, sb.feature_incompat | incompat::RECOVER);
    let sb3 = Superblock::parse(&b).unwrap();
    assert!(sb3.needs_recovery());
    assert_eq!(sb3.access(PAGE), Ok(Access::ReadWrite));
}

#[test]
fn csum_seed_feature() {
    let s = Scratch::new("seed");
    let img = mkfs(&s.0, "a.img", 64, &["-O", "metadata_csum_seed"]);
    let sb = Superblock::parse(&sb_bytes(&img)).unwrap();
    assert!(sb.has_incompat(incompat::CSUM_SEED));
    // mke2fs stores crc32c(~0, uuid) as the seed.
    assert_eq!(sb.csum_seed, ext4disk::crc32c::crc32c(!0, &sb.uuid));
}

/// Random mutations of a valid superblock never panic; every result is
/// either a parsed superblock or an error.
#[test]
fn mutations_never_panic() {
    let (_s, good) = default_sb();
    let mut rng = common::XorShift::new(0x9E37_79B9_7F4A_7C15);
    let mut next = || rng.next();
    let mut parsed = 0;
    for round in 0..20_000 {
        let mut b = good.clone();
        let n = 1 + (next() % 8) as usize;
        for _ in 0..n {
            let off = (next() % 1024) as usize;
            b[off] = next() as u8;
        }
        // Half the time re-sign, so the geometry checks see the mutation.
        if round % 2 == 0 {
            update_superblock_csum(&mut b).unwrap();
        }
        let len = if round % 97 == 0 {
            (next() % 1024) as usize
        } else {
            1024
        };
        if let Ok(sb) = Superblock::parse(&b[..len]) {
            parsed += 1;
            let _ = sb.access(PAGE);
            let _ = sb.group_count();
        }
    }
    assert!(parsed > 0);
}

#[test]
fn largedir_is_read_only_orphan_present_read_write() {
    let (_s, good) = default_sb();
    let sb = Superblock::parse(&good).unwrap();
    // Read, but not written yet: read-only mounts only.
    let b = patched(&good, 0x60, sb.feature_incompat | incompat::LARGEDIR);
    assert_eq!(
        Superblock::parse(&b).unwrap().access(PAGE),
        Ok(Access::ReadOnly {
            unknown_ro_compat: 0
        })
    );
    let b = patched(
        &good,
        0x64,
        sb.feature_ro_compat | ro_compat::ORPHAN_PRESENT,
    );
    // A state (the orphan file may hold entries), which a read-write
    // mount processes.
    assert_eq!(
        Superblock::parse(&b).unwrap().access(PAGE),
        Ok(Access::ReadWrite)
    );
}

/// What rext4 writes after a journal replay: the superblock without
/// needs_recovery, the error record and error state from before the
/// replay, every other byte as it was, and a checksum that parses (with
/// metadata_csum; without it the checksum bytes stay as they were).
#[test]
fn mark_recovered_resigns_and_keeps_errors() {
    use ext4disk::superblock::{mark_recovered, ERROR_RECORD};
    let (_s, good) = default_sb();
    let incompat = Superblock::parse(&good).unwrap().feature_incompat;
    let flagged = patched(&good, 0x60, incompat | incompat::RECOVER);
    assert!(Superblock::parse(&flagged).unwrap().needs_recovery());
    let no_errors = good[ERROR_RECORD].to_vec();

    let mut b = flagged.clone();
    mark_recovered(&mut b, &no_errors, false, true).unwrap();
    assert!(!Superblock::parse(&b).unwrap().needs_recovery());
    assert_eq!(b, good);

    // An error recorded before the replay (3 errors, state ERROR_FS)
    // survives a replayed superblock that had none.
    let mut errors = no_errors.clone();
    errors[..4].copy_from_slice(&3u32.to_le_bytes());
    let mut b = flagged.clone();
    mark_recovered(&mut b, &errors, true, true).unwrap();
    let sb = Superblock::parse(&b).unwrap();
    assert!(!sb.needs_recovery());
    assert_eq!(sb.error_count, 3);
    assert_eq!(sb.state & 0x2, 0x2);
    assert_eq!(&b[ERROR_RECORD], &errors[..]);

    // Without re-signing, a metadata_csum superblock no longer parses.
    let mut unsigned = flagged.clone();
    mark_recovered(&mut unsigned, &no_errors, false, false).unwrap();
    assert_eq!(&unsigned[0x3FC..], &flagged[0x3FC..]);
    assert!(matches!(
        Superblock::parse(&unsigned),
        Err(Error::BadChecksum { .. })
    ));
    // Short input fails before any byte changes.
    let mut short = flagged[..1000].to_vec();
    assert_eq!(
        mark_recovered(&mut short, &no_errors, true, true),
        Err(Error::Truncated)
    );
    assert_eq!(&short[..], &flagged[..1000]);
    let mut b = flagged.clone();
    assert_eq!(
        mark_recovered(&mut b, &no_errors[1..], false, true),
        Err(Error::Truncated)
    );
    assert_eq!(b, flagged);
}

/// The superblock writes of a read-write mount (`update_for_commit`):
/// mounting sets needs_recovery and counts the mount, the clean unmount
/// clears it again; dumpe2fs reads what was written and e2fsck accepts the
/// clean result.
#[test]
fn commit_fields_mount_and_clean_unmount() {
    use ext4disk::superblock::{update_for_commit, CommitFields};
    use std::os::unix::fs::FileExt;
    for opts in [&[][..], &["-O", "^metadata_csum,^64bit"][..]] {
        let s = Scratch::new("commit");
        let img = mkfs(&s.0, "c.img", 16, opts);
        let write = |b: &[u8]| {
            let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
            f.write_all_at(b, 1024).unwrap();
        };
        let mut b = sb_bytes(&img);
        let sb = Superblock::parse(&b).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // Past 2106 the time needs the high byte (checked on a copy: e2fsck
        // rightly refuses times in the future).
        let mut later = b.clone();
        let far = CommitFields {
            now: 5_000_000_000,
            free_blocks: 0,
            free_inodes: 0,
            needs_recovery: false,
            mounting: true,
            orphan_present: None,
            errors: None,
        };
        update_for_commit(&sb, &mut later, &far).unwrap();
        assert_eq!(later[0x274], 1); // s_wtime_hi
        assert_eq!(later[0x275], 1); // s_mtime_hi
        assert_eq!(&later[0x30..0x34], &(5_000_000_000u64 as u32).to_le_bytes());
        let mount = CommitFields {
            now,
            free_blocks: sb.free_blocks_count,
            free_inodes: sb.free_inodes_count,
            needs_recovery: true,
            mounting: true,
            orphan_present: None,
            errors: None,
        };
        // A free count past the filesystem's size is refused, unchanged.
        let before = b.clone();
        let bad = CommitFields {
            free_blocks: sb.blocks_count + 1,
            ..mount
        };
        assert!(update_for_commit(&sb, &mut b, &bad).is_err());
        assert_eq!(b, before);

        update_for_commit(&sb, &mut b, &mount).unwrap();
        let after = Superblock::parse(&b).unwrap();
        assert!(after.needs_recovery());
        assert_eq!(after.mnt_count, sb.mnt_count + 1);
        write(&b);
        let kv = dumpe2fs(&img);
        assert!(field(&kv, "Filesystem features").contains("needs_recovery"));
        assert_eq!(field(&kv, "Mount count"), format!("{}", sb.mnt_count + 1));
        assert_ne!(field(&kv, "Last mount time"), "n/a");

        let clean = CommitFields {
            needs_recovery: false,
            mounting: false,
            free_blocks: sb.free_blocks_count - 1,
            ..mount
        };
        update_for_commit(&sb, &mut b, &clean).unwrap();
        write(&b);
        let kv = dumpe2fs(&img);
        assert!(!field(&kv, "Filesystem features").contains("needs_recovery"));
        assert_eq!(
            field(&kv, "Free blocks"),
            format!("{}", sb.free_blocks_count - 1)
        );
        // The counts are what e2fsck recomputes: it notices the one that
        // is off (the control) and accepts the true one.
        let out = std::process::Command::new(tool("e2fsck"))
            .arg("-fn")
            .arg(&img)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Free blocks count wrong"), "{text}");
        let fixed = CommitFields {
            free_blocks: sb.free_blocks_count,
            ..clean
        };
        update_for_commit(&sb, &mut b, &fixed).unwrap();
        write(&b);
        let out = std::process::Command::new(tool("e2fsck"))
            .arg("-fn")
            .arg(&img)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !text.contains("Fix?"), "{text}");
    }
}

/// The error record (`record_errors`, through `update_for_commit`): what
/// dumpe2fs shows after two writes of errors, the first error kept from
/// the first write, the count added up, the state "with errors", and
/// e2fsck refusing to call the filesystem clean.
#[test]
fn error_record_reaches_dumpe2fs_and_e2fsck() {
    use ext4disk::superblock::{
        error_code, update_for_commit, CommitFields, ErrorEvent, PendingErrors,
    };
    use std::os::unix::fs::FileExt;
    assert_eq!(
        (
            error_code(5),
            error_code(-117),
            error_code(74),
            error_code(4)
        ),
        (2, 5, 4, 1)
    );
    for opts in [&[][..], &["-O", "^metadata_csum,^64bit"][..]] {
        let s = Scratch::new("errors");
        let img = mkfs(&s.0, "e.img", 16, opts);
        let mut b = sb_bytes(&img);
        let sb = Superblock::parse(&b).unwrap();
        let t = 1_700_000_000;
        let ev = |time, ino, block, func, line, errno| {
            ErrorEvent::new(time, ino, block, func, line, errno)
        };
        let first = ev(t, 12, 0x1_0000_0007, "rext4_first_function", 42, 5);
        let c = CommitFields {
            now: t + 10,
            free_blocks: sb.free_blocks_count,
            free_inodes: sb.free_inodes_count,
            needs_recovery: false,
            mounting: false,
            orphan_present: None,
            errors: Some(PendingErrors {
                count: 2,
                first,
                last: ev(t + 1, 13, 99, "second", 7, 0),
            }),
        };
        update_for_commit(&sb, &mut b, &c).unwrap();
        // A second write: the first error stays, the last one is replaced.
        let c2 = CommitFields {
            errors: Some(PendingErrors {
                count: 1,
                first: ev(t + 5, 1, 1, "not_first", 1, 28),
                last: ev(
                    t + 6,
                    14,
                    77,
                    "a_function_name_longer_than_32_bytes_is_cut",
                    9,
                    74,
                ),
            }),
            ..c
        };
        update_for_commit(&sb, &mut b, &c2).unwrap();
        // What /sys/fs/rext4/<dev>/ reads back (`read_error_record`).
        let (n, f1, l1) = ext4disk::superblock::read_error_record(&b).unwrap();
        assert_eq!((n, f1), (3, Some(first)));
        let l1 = l1.unwrap();
        assert_eq!(
            (l1.time, l1.ino, l1.block, l1.line, l1.code),
            (t + 6, 14, 77, 9, 4)
        );
        assert_eq!(&l1.func, b"a_function_name_longer_than_32_b");
        let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
        f.write_all_at(&b, 1024).unwrap();
        drop(f);
        let kv = dumpe2fs(&img);
        assert_eq!(
            field(&kv, "Filesystem state"),
            "clean with errors",
            "{opts:?}"
        );
        assert_eq!(field(&kv, "FS Error count"), "3");
        assert_eq!(field(&kv, "First error function"), "rext4_first_function");
        assert_eq!(field(&kv, "First error line #"), "42");
        assert_eq!(field(&kv, "First error inode #"), "12");
        assert_eq!(
            field(&kv, "First error block #"),
            format!("{}", 0x1_0000_0007u64)
        );
        assert_eq!(field(&kv, "First error err"), "EIO");
        assert_eq!(
            field(&kv, "Last error function"),
            "a_function_name_longer_than_32_b"
        );
        assert_eq!(field(&kv, "Last error line #"), "9");
        assert_eq!(field(&kv, "Last error inode #"), "14");
        assert_eq!(field(&kv, "Last error block #"), "77");
        assert_eq!(field(&kv, "Last error err"), "EFSBADCRC");
        let out = std::process::Command::new(tool("e2fsck"))
            .arg("-n")
            .arg(&img)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("contains a file system with errors"),
            "{text}"
        );
    }
}

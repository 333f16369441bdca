//! Allocation policy: the documented choices checked exactly on synthetic
//! group stats (many groups, flex sizes 1/16/64, uneven and nearly full
//! filesystems), the in-group run search on crafted bitmaps, odd input
//! that must not panic, and the goals on real mke2fs images compared with
//! their layout and with where libext2fs (debugfs) puts a file's data.

mod common;

use common::*;
use ext4disk::disk::alloc::{self, BlockGroupScan, Candidate, Geometry, GroupStats, Parent};
use ext4disk::disk::bitmap;
use ext4disk::disk::extent::{BlockSource, Extent};
use ext4disk::disk::extent_tree::Around;
use ext4disk::disk::group::{BG_BLOCK_UNINIT, BG_INODE_UNINIT};
use ext4disk::disk::syszone::{base_meta_range, itable_blocks};
use ext4disk::image::Image;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A geometry of `groups` groups of 32768 blocks and 8192 inodes.
fn geo(groups: u32, log_flex: u8) -> Geometry {
    Geometry {
        groups,
        log_groups_per_flex: log_flex,
        inodes_per_group: 8192,
        blocks_per_group: 32768,
        first_data_block: 0,
        blocks_count: u64::from(groups) * 32768,
        desc_csum: true,
    }
}

fn uniform(groups: u32, s: GroupStats) -> Vec<GroupStats> {
    vec![s; groups as usize]
}

fn half_full() -> GroupStats {
    GroupStats {
        free_inodes: 4096,
        free_blocks: 16384,
        used_dirs: 10,
        flags: 0,
    }
}

fn by(v: &[GroupStats]) -> impl FnMut(u32) -> Option<GroupStats> + '_ {
    |g| v.get(g as usize).copied()
}

fn root() -> Parent {
    Parent {
        group: 0,
        ino: 2,
        top: true,
        last_alloc_group: None,
    }
}

fn child(group: u32, ino: u32) -> Parent {
    Parent {
        group,
        ino,
        top: false,
        last_alloc_group: None,
    }
}

/// Records a new inode in group `g` (a directory or not).
fn take_inode(v: &mut [GroupStats], g: u32, dir: bool) {
    let s = &mut v[g as usize];
    s.free_inodes -= 1;
    if dir {
        s.used_dirs += 1;
    }
}

// ---------------------------------------------------------------------
// Directories (Orlov).

#[test]
fn top_level_dirs_spread_over_flex_groups() {
    for log in [0u8, 4, 6] {
        let flex = 1u32 << log;
        let n = 256u32;
        let units = n / flex;
        let g = geo(n, log);
        let mut v = uniform(n, half_full());
        // Uniform stats: the scan start (seed % units) wins; the flex
        // group's first group takes the inode.
        for seed in [0u32, 1, 7, 12345] {
            let got = alloc::dir_group(&g, &root(), seed, by(&v));
            assert_eq!(got, Some((seed % units) * flex), "flex {flex} seed {seed}");
        }
        // Many mkdirs with varying seeds: every flex group gets some, and
        // each choice is a flex group with the fewest directories.
        let mut rng = XorShift::new(99);
        let mut per_unit = vec![0u32; units as usize];
        for _ in 0..units * 3 {
            let seed = rng.next() as u32;
            let got = alloc::dir_group(&g, &root(), seed, by(&v)).unwrap();
            assert_eq!(got % flex, 0, "packed at the flex group's start");
            let u = got / flex;
            let dirs = |u: u32| alloc::flex_stats(&g, u, by(&v)).used_dirs;
            let min = (0..units).map(dirs).min().unwrap();
            assert_eq!(dirs(u), min, "flex {flex}: unit {u} has the fewest dirs");
            per_unit[u as usize] += 1;
            take_inode(&mut v, got, true);
        }
        assert!(
            per_unit.iter().all(|&c| c == 3),
            "flex {flex}: {per_unit:?}"
        );
    }
}

#[test]
fn top_level_dir_skips_below_average_and_prefers_fewest_dirs() {
    let g = geo(8, 0);
    let mut v = uniform(8, half_full());
    // Group 1: fewest dirs but below-average free inodes: skipped.
    v[1].used_dirs = 0;
    v[1].free_inodes = 100;
    // Group 2: fewest dirs but below-average free blocks: skipped.
    v[2].used_dirs = 0;
    v[2].free_blocks = 100;
    // Groups 5 and 6: 3 dirs, enough of both: the first met wins.
    v[5].used_dirs = 3;
    v[6].used_dirs = 3;
    assert_eq!(alloc::dir_group(&g, &root(), 0, by(&v)), Some(5));
    assert_eq!(alloc::dir_group(&g, &root(), 6, by(&v)), Some(6));
    assert_eq!(alloc::dir_group(&g, &root(), 7, by(&v)), Some(5));
    // TOPDIR parents spread as the root does.
    let topdir = Parent {
        top: true,
        ..child(3, 5000)
    };
    assert_eq!(alloc::dir_group(&g, &topdir, 6, by(&v)), Some(6));
    // Not top: stays with the parent.
    assert_eq!(alloc::dir_group(&g, &child(3, 5000), 6, by(&v)), Some(3));
}

#[test]
fn top_level_dir_in_flex_group_takes_its_first_group_with_inodes() {
    let g = geo(64, 4);
    let mut v = uniform(64, half_full());
    for i in 16..19 {
        v[i].free_inodes = 0;
    }
    // Flex group 1 lost 3 * 4096 of its 65536 free inodes: below the
    // average, so a scan from flex group 1 takes flex group 2.
    assert_eq!(alloc::dir_group(&g, &root(), 1, by(&v)), Some(32));
    // Raise the rest of flex group 1 so its sum is above average.
    for i in 19..32 {
        v[i].free_inodes = 8192;
    }
    assert_eq!(alloc::dir_group(&g, &root(), 1, by(&v)), Some(19));
}

#[test]
fn deeper_dirs_stay_near_the_parent_within_the_thresholds() {
    let g = geo(100, 0);
    let mut v = uniform(100, half_full());
    let p = child(37, 37 * 8192 + 5);
    assert_eq!(alloc::dir_group(&g, &p, 0, by(&v)), Some(37));
    // max_dirs = dirs/groups + 8192/16 = 10 + 512 (with group 37 changed:
    // total dirs 990 + x, /100).
    v[37].used_dirs = 600; // (990 + 600) / 100 + 512 = 527: over
    assert_eq!(alloc::dir_group(&g, &p, 0, by(&v)), Some(38));
    v[37].used_dirs = 10;
    // min_inodes = avg free inodes - 8192/4.
    v[37].free_inodes = 2000;
    assert_eq!(alloc::dir_group(&g, &p, 0, by(&v)), Some(38));
    v[37].free_inodes = 2100; // avg (407604 / 100 = 4076) - 2048 = 2028
    assert_eq!(alloc::dir_group(&g, &p, 0, by(&v)), Some(37));
    // min_blocks = avg - 32768/4.
    v[37].free_blocks = 8000;
    assert_eq!(alloc::dir_group(&g, &p, 0, by(&v)), Some(38));
    // The group last used in this directory is where the scan starts.
    let q = Parent {
        last_alloc_group: Some(80),
        ..p
    };
    assert_eq!(alloc::dir_group(&g, &q, 0, by(&v)), Some(80));
    // Wraps past the last group.
    let w = child(99, 1);
    v[99].used_dirs = 5000;
    assert_eq!(alloc::dir_group(&g, &w, 0, by(&v)), Some(0));
}

#[test]
fn dirs_fall_back_to_any_group_with_a_free_inode() {
    for log in [0u8, 4, 6] {
        let n = 128u32;
        let g = geo(n, log);
        let mut v = uniform(n, GroupStats::default());
        // Full everywhere: nothing.
        assert_eq!(alloc::dir_group(&g, &root(), 3, by(&v)), None);
        assert_eq!(alloc::dir_group(&g, &child(5, 9), 3, by(&v)), None);
        assert_eq!(alloc::file_group(&g, &child(5, 9), by(&v)), None);
        // One free inode, in a group with no free blocks: every choice
        // finds it (the fallback ignores blocks).
        v[77].free_inodes = 1;
        assert_eq!(
            alloc::dir_group(&g, &root(), 3, by(&v)),
            Some(77),
            "log {log}"
        );
        assert_eq!(alloc::dir_group(&g, &child(5, 9), 3, by(&v)), Some(77));
        assert_eq!(alloc::file_group(&g, &child(5, 9), by(&v)), Some(77));
        // Nearly full: a few inodes here and there, the fallback takes
        // the first from the parent's group with at least the average.
        v[10].free_inodes = 1;
        v[90].free_inodes = 50;
        assert_eq!(
            alloc::dir_group(&g, &child(80, 9), 3, by(&v)).map(|x| x >= 77),
            Some(true)
        );
    }
    // No groups at all.
    let g0 = geo(0, 4);
    assert_eq!(alloc::dir_group(&g0, &root(), 1, |_| None), None);
    assert_eq!(alloc::file_group(&g0, &root(), |_| None), None);
}

// ---------------------------------------------------------------------
// Other inodes.

#[test]
fn file_goes_to_its_parents_group_while_it_has_inodes() {
    let g = geo(100, 0);
    let mut v = uniform(100, half_full());
    v[10].free_inodes = 3;
    let p = child(10, 1234);
    for _ in 0..3 {
        assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(10));
        take_inode(&mut v, 10, false);
    }
    // Group 10 is full: (10 + 1234) % 100 = 44, then 45, 47, 51, 59, 75,
    // 107 - 100 = 7, 71.
    let mut order = Vec::new();
    alloc::quadratic_probe(&g, 10, 1234, |x| {
        order.push(x);
        false
    });
    assert_eq!(order, [45, 47, 51, 59, 75, 7, 71]);
    assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(45));
    // Make the probed groups unusable one by one: the next one is taken.
    for (i, &x) in order.iter().enumerate() {
        assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(x), "probe {i}");
        // No free blocks: the quadratic probe wants both.
        v[x as usize].free_blocks = 0;
    }
    // No probed group usable: the linear walk after the parent's group
    // takes group 11, blocks or not.
    assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(11));
    for x in 11..100 {
        v[x].free_inodes = 0;
    }
    // Only groups before the parent's have inodes: the walk wraps.
    assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(0));
    // A parent group with inodes but no blocks is passed over.
    let mut w = uniform(100, half_full());
    w[10].free_blocks = 0;
    assert_eq!(alloc::file_group(&g, &p, by(&w)), Some(45));
}

#[test]
fn file_in_flex_group_takes_the_first_group_with_inodes() {
    for log in [4u8, 6] {
        let flex = 1u32 << log;
        let n = 256u32;
        let g = geo(n, log);
        let mut v = uniform(n, half_full());
        let p = child(flex + 5, 77);
        // The flex group's first group, not the parent's own.
        assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(flex));
        for x in flex..flex + 3 {
            v[x as usize].free_inodes = 0;
        }
        assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(flex + 3));
        // Blocks do not matter in a flex group.
        v[(flex + 3) as usize].free_blocks = 0;
        assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(flex + 3));
        for x in flex..2 * flex {
            v[x as usize].free_inodes = 0;
        }
        // Parent's flex group full: the last used one's flex group.
        let q = Parent {
            last_alloc_group: Some(3 * flex + 2),
            ..p
        };
        assert_eq!(alloc::file_group(&g, &q, by(&v)), Some(3 * flex));
        // Neither: Orlov near the parent (from the last used one).
        for x in 3 * flex..4 * flex {
            v[x as usize].free_inodes = 0;
        }
        assert_eq!(alloc::file_group(&g, &q, by(&v)), Some((4 * flex) % n));
        assert_eq!(alloc::file_group(&g, &p, by(&v)), Some(2 * flex));
    }
}

// ---------------------------------------------------------------------
// Goals.

#[test]
fn inode_goal_is_the_groups_or_flex_groups_start() {
    // No flex groups: the inode's own group.
    let g1 = geo(100, 0);
    assert_eq!(alloc::inode_goal(&g1, 37, true, None), 37 * 32768);
    assert_eq!(alloc::inode_goal(&g1, 37, false, None), 37 * 32768);
    // Flex 16: directories at the flex group's start, files one group on.
    let g16 = geo(100, 4);
    assert_eq!(alloc::inode_goal(&g16, 37, false, None), 32 * 32768);
    assert_eq!(alloc::inode_goal(&g16, 37, true, None), 33 * 32768);
    // Flex 2 is below the directory scheme: the own group.
    let g2 = geo(100, 1);
    assert_eq!(alloc::inode_goal(&g2, 37, true, None), 37 * 32768);
    // The last flex group has one group: the file's "second group" is
    // past the end; normalized to the first data block.
    let g64 = geo(129, 6);
    assert_eq!(alloc::inode_goal(&g64, 128, true, None), 0);
    assert_eq!(alloc::inode_goal(&g64, 128, false, None), 128 * 32768);
    // 1 KiB blocks: first data block 1.
    let k = Geometry {
        first_data_block: 1,
        blocks_per_group: 8192,
        blocks_count: 8192 * 10 + 1,
        groups: 10,
        ..geo(10, 0)
    };
    assert_eq!(alloc::inode_goal(&k, 3, true, None), 3 * 8192 + 1);
    // Colour (no delalloc): pid % 16 sixteenths of the group.
    assert_eq!(
        alloc::inode_goal(&g1, 37, true, Some(21)),
        37 * 32768 + 5 * 2048
    );
    // Short last group: sixteenths of what is left.
    let short = Geometry {
        blocks_count: 99 * 32768 + 1600,
        ..g1
    };
    assert_eq!(
        alloc::inode_goal(&short, 99, true, Some(3)),
        99 * 32768 + 3 * (1599 / 16)
    );
}

#[test]
fn data_goal_follows_the_neighbouring_extent() {
    let g = geo(100, 0);
    let e = |lblk, len, pblk| Extent {
        lblk,
        len,
        pblk,
        unwritten: false,
    };
    let none = Around::default();
    assert_eq!(alloc::data_goal(&g, &none, 5, 777), 777);
    // After an extent: in line with it.
    let a = Around {
        before: Some(e(0, 10, 5000)),
        at_or_after: None,
    };
    assert_eq!(alloc::data_goal(&g, &a, 10, 777), 5010);
    assert_eq!(alloc::data_goal(&g, &a, 25, 777), 5025);
    // Before the first extent: in line with it, backwards.
    let b = Around {
        before: None,
        at_or_after: Some(e(100, 4, 9000)),
    };
    assert_eq!(alloc::data_goal(&g, &b, 90, 777), 8990);
    // Backwards past block 0, or forwards past the end: the first data
    // block (ext4's allocator normalizes such goals).
    assert_eq!(
        alloc::data_goal(
            &g,
            &Around {
                before: None,
                at_or_after: Some(e(100, 4, 50))
            },
            0,
            777
        ),
        0
    );
    let far = Around {
        before: Some(e(0, 1, g.blocks_count - 1)),
        at_or_after: None,
    };
    assert_eq!(alloc::data_goal(&g, &far, 5, 777), 0);
    // In a hole: the extent before wins over the one after.
    let h = Around {
        before: Some(e(0, 10, 5000)),
        at_or_after: Some(e(20, 5, 9000)),
    };
    assert_eq!(alloc::data_goal(&g, &h, 12, 777), 5012);
    // Inside an extent (an unwritten one being written): that extent.
    let i = Around {
        before: Some(e(0, 10, 5000)),
        at_or_after: Some(e(20, 5, 9000)),
    };
    assert_eq!(alloc::data_goal(&g, &i, 22, 777), 9002);
    // An out-of-range inode goal is normalized too.
    assert_eq!(alloc::data_goal(&g, &none, 0, u64::MAX), 0);
}

// ---------------------------------------------------------------------
// Group order.

#[test]
fn block_scan_starts_at_the_goal_group_and_wraps() {
    let g = geo(10, 0);
    let mut v = uniform(10, half_full());
    v[3].free_blocks = 0;
    v[8].free_blocks = 0;
    v[6].flags = BG_BLOCK_UNINIT | BG_INODE_UNINIT;
    v[9].free_blocks = 2;
    let got: Vec<Candidate> = BlockGroupScan::new(&g, 7 * 32768 + 100, 1, by(&v)).collect();
    let groups: Vec<u32> = got.iter().map(|c| c.group).collect();
    assert_eq!(groups, [7, 9, 0, 1, 2, 4, 5, 6]);
    let init: Vec<u32> = got
        .iter()
        .filter(|c| c.needs_init)
        .map(|c| c.group)
        .collect();
    assert_eq!(init, [6]);
    // Wanting 3 blocks: group 9 (2 free) is skipped too.
    let want3: Vec<u32> = BlockGroupScan::new(&g, 7 * 32768, 3, by(&v))
        .map(|c| c.group)
        .collect();
    assert_eq!(want3, [7, 0, 1, 2, 4, 5, 6]);
    // A goal out of range starts at group 0.
    let out: Vec<u32> = BlockGroupScan::new(&g, u64::MAX, 1, by(&v))
        .map(|c| c.group)
        .collect();
    assert_eq!(out, [0, 1, 2, 4, 5, 6, 7, 9]);
    // Without descriptor checksums BLOCK_UNINIT means nothing.
    let plain = Geometry {
        desc_csum: false,
        ..g
    };
    assert!(BlockGroupScan::new(&plain, 0, 1, by(&v)).all(|c| !c.needs_init));
    // All full: nothing.
    let full = uniform(10, GroupStats::default());
    assert_eq!(BlockGroupScan::new(&g, 0, 1, by(&full)).count(), 0);
    assert_eq!(BlockGroupScan::new(&geo(0, 0), 0, 1, |_| None).count(), 0);
}

// ---------------------------------------------------------------------
// Inside a group.

fn bitmap_with(nbits: usize, used: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut b = vec![0u8; nbits.div_ceil(8)];
    for r in used {
        for i in r.clone() {
            b[i / 8] |= 1 << (i % 8);
        }
    }
    b
}

#[test]
fn find_run_on_crafted_bitmaps() {
    // Used: 0..100, 110..300, 305..1000, 1020..1024. Free: 100..110 (10),
    // 300..305 (5), 1000..1020 (20).
    let b = bitmap_with(1024, &[0..100, 110..300, 305..1000, 1020..1024]);
    // The goal is free: taken, as long as wanted or as long as free.
    assert_eq!(alloc::find_run(&b, 1024, 100, 4, 0), Ok(Some((100, 4))));
    assert_eq!(alloc::find_run(&b, 1024, 102, 50, 0), Ok(Some((102, 8))));
    // The goal is used: the first full-length run from it.
    assert_eq!(alloc::find_run(&b, 1024, 50, 8, 0), Ok(Some((100, 8))));
    assert_eq!(alloc::find_run(&b, 1024, 200, 8, 0), Ok(Some((1000, 8))));
    assert_eq!(alloc::find_run(&b, 1024, 200, 5, 0), Ok(Some((300, 5))));
    // ... wrapping to the group's start.
    assert_eq!(alloc::find_run(&b, 1024, 1021, 10, 0), Ok(Some((100, 10))));
    // No run that long: the longest.
    assert_eq!(alloc::find_run(&b, 1024, 200, 64, 0), Ok(Some((1000, 20))));
    assert_eq!(alloc::find_run(&b, 1024, 1021, 64, 0), Ok(Some((1000, 20))));
    // The scan cap: only the first run (from the goal) is looked at.
    assert_eq!(alloc::find_run(&b, 1024, 200, 64, 1), Ok(Some((300, 5))));
    assert_eq!(alloc::find_run(&b, 1024, 200, 64, 2), Ok(Some((1000, 20))));
    // One free bit in the whole group.
    let one = bitmap_with(1024, &[0..700, 701..1024]);
    assert_eq!(alloc::find_run(&one, 1024, 900, 16, 0), Ok(Some((700, 1))));
    // A goal past the group's end starts at 0.
    assert_eq!(alloc::find_run(&b, 1024, 5000, 4, 0), Ok(Some((100, 4))));
    // Full group, want 0, bits that do not fit.
    let full = bitmap_with(1024, &[0..1024]);
    assert_eq!(alloc::find_run(&full, 1024, 10, 4, 0), Ok(None));
    assert_eq!(alloc::find_run(&b, 1024, 100, 0, 0), Ok(None));
    assert!(alloc::find_run(&b, 2000, 0, 1, 0).is_err());
    // Runs are not merged across the group's end.
    let ends = bitmap_with(64, &[4..60]);
    assert_eq!(alloc::find_run(&ends, 64, 30, 8, 0), Ok(Some((60, 4))));
}

#[test]
fn find_run_matches_a_model_on_random_bitmaps() {
    let mut rng = XorShift::new(0x5eed);
    for round in 0..400 {
        let nbits = 1 + (rng.next() % 700) as u32;
        let density = rng.next() % 100;
        let mut bits = vec![false; nbits as usize];
        for x in bits.iter_mut() {
            *x = rng.next() % 100 < density;
        }
        let mut b = vec![0u8; (nbits as usize).div_ceil(8)];
        for (i, &x) in bits.iter().enumerate() {
            if x {
                b[i / 8] |= 1 << (i % 8);
            }
        }
        let goal = (rng.next() % u64::from(nbits + 10)) as u32;
        let want = 1 + (rng.next() % 40) as u32;
        // The model: free runs in scan order from the goal.
        let g = if goal < nbits { goal as usize } else { 0 };
        let mut runs = Vec::new();
        let mut i = 0;
        while i < bits.len() {
            if !bits[i] {
                let s = i;
                while i < bits.len() && !bits[i] {
                    i += 1;
                }
                runs.push((s, i - s));
            } else {
                i += 1;
            }
        }
        let expect = if !bits.get(g).copied().unwrap_or(true) {
            let len = bits[g..]
                .iter()
                .take(want as usize)
                .take_while(|&&x| !x)
                .count();
            Some((g as u32, len as u32))
        } else {
            // Runs starting after the goal (the goal is used, so a run
            // holding it does not exist), then those before it.
            let ordered: Vec<(usize, usize)> = runs
                .iter()
                .filter(|r| r.0 > g)
                .chain(runs.iter().filter(|r| r.0 < g))
                .copied()
                .collect();
            match ordered.iter().find(|r| r.1 >= want as usize) {
                Some(r) => Some((r.0 as u32, want)),
                None => ordered
                    .iter()
                    .fold(None, |best: Option<(usize, usize)>, r| match best {
                        Some(b) if b.1 >= r.1 => Some(b),
                        _ => Some(*r),
                    })
                    .map(|r| (r.0 as u32, r.1 as u32)),
            }
        };
        let got = alloc::find_run(&b, nbits, goal, want, 100_000).unwrap();
        assert_eq!(
            got, expect,
            "round {round} nbits {nbits} goal {goal} want {want}"
        );
    }
}

// ---------------------------------------------------------------------
// Odd input.

#[test]
fn odd_input_never_panics_and_stays_in_range() {
    let mut rng = XorShift::new(4242);
    for _ in 0..3000 {
        let groups = (rng.next() % 70) as u32;
        let log = (rng.next() % 40) as u8;
        let g = Geometry {
            groups,
            log_groups_per_flex: log,
            inodes_per_group: (rng.next() % 3) as u32 * 0x4000_0000 + (rng.next() % 9) as u32,
            blocks_per_group: (rng.next() % 3) as u32 * 0x7FFF_FFFF,
            first_data_block: (rng.next() % 2) as u32,
            blocks_count: (rng.next() % 5).wrapping_mul(rng.next() >> (rng.next() % 64)),
            desc_csum: rng.next() % 2 == 0,
        };
        let seed = rng.next();
        let stats = |x: u32| {
            let mut r = XorShift::new(seed ^ u64::from(x) | 1);
            (r.next() % 4 != 0).then(|| GroupStats {
                free_inodes: [0, 1, u32::MAX][(r.next() % 3) as usize],
                free_blocks: [0, 1, u32::MAX][(r.next() % 3) as usize],
                used_dirs: [0, 1, u32::MAX][(r.next() % 3) as usize],
                flags: r.next() as u16,
            })
        };
        let p = Parent {
            group: rng.next() as u32 % (groups + 3),
            ino: rng.next() as u32,
            top: rng.next() % 2 == 0,
            last_alloc_group: (rng.next() % 2 == 0).then(|| rng.next() as u32),
        };
        let has_inode = |x: u32| x < groups && stats(x).is_some_and(|s| s.free_inodes > 0);
        for got in [
            alloc::dir_group(&g, &p, rng.next() as u32, stats),
            alloc::file_group(&g, &p, stats),
        ] {
            match got {
                Some(x) => assert!(has_inode(x), "{g:?} {p:?} -> {x}"),
                None => assert!(!(0..groups).any(has_inode), "{g:?} {p:?}"),
            }
        }
        let goal = alloc::inode_goal(&g, p.group, p.top, Some(rng.next() as u32));
        assert!(goal == u64::from(g.first_data_block) || goal < g.blocks_count);
        let a = Around {
            before: Some(Extent {
                lblk: rng.next() as u32,
                len: rng.next() as u32,
                pblk: rng.next(),
                unwritten: false,
            }),
            at_or_after: None,
        };
        let dg = alloc::data_goal(&g, &a, rng.next() as u32, goal);
        assert!(dg == u64::from(g.first_data_block) || dg < g.blocks_count);
        let n = BlockGroupScan::new(&g, dg, rng.next() as u32, stats).count();
        assert!(n <= groups as usize);
        for u in 0..g.flex_count().min(80) {
            alloc::flex_stats(&g, u, stats);
        }
    }
}

// ---------------------------------------------------------------------
// Real images.

/// Every block mke2fs gave to metadata, from the descriptors: each
/// group's base range (superblock and descriptor copies), its bitmaps and
/// inode table, wherever flex_bg placed them.
fn metadata(img: &Image) -> BTreeSet<u64> {
    let sb = &img.sb;
    let mut s = BTreeSet::new();
    for (g, d) in img.groups.iter().enumerate() {
        let r = base_meta_range(sb, g as u32);
        s.extend(r.start..r.end);
        s.insert(d.block_bitmap);
        s.insert(d.inode_bitmap);
        s.extend(d.inode_table..d.inode_table + itable_blocks(sb));
    }
    s
}

/// Whether group `g` holds nothing but metadata (its free count is its
/// size less its metadata blocks).
fn only_metadata(img: &Image, geo: &Geometry, meta: &BTreeSet<u64>, g: u32) -> bool {
    let n = bitmap::blocks_in_group(&img.sb, g).unwrap();
    let first = geo.group_first_block(g);
    let used = meta.range(first..first + u64::from(n)).count() as u32;
    img.groups[g as usize].free_blocks_count == n - used
}

/// The first block from `goal` on that is not metadata.
fn after_metadata(meta: &BTreeSet<u64>, goal: u64) -> u64 {
    let mut b = goal;
    while meta.contains(&b) {
        b += 1;
    }
    b
}

/// The first free block from `goal` on, by the policy over the image's
/// own block bitmaps (built for BLOCK_UNINIT groups).
fn first_free_from(img: &Image, geo: &Geometry, goal: u64) -> Option<u64> {
    let sb = &img.sb;
    let bs = sb.block_size() as usize;
    for c in BlockGroupScan::new(geo, goal, 1, |x| {
        img.groups.get(x as usize).map(|d| GroupStats {
            free_inodes: d.free_inodes_count,
            free_blocks: d.free_blocks_count,
            used_dirs: d.used_dirs_count,
            flags: d.flags,
        })
    }) {
        let d = img.groups[c.group as usize];
        let b = if c.needs_init {
            let mut b = vec![0u8; bs];
            bitmap::init_block_bitmap(sb, c.group, &mut b, |x| Ok(img.groups[x as usize])).unwrap();
            b
        } else {
            img.read(d.block_bitmap).unwrap()
        };
        let nbits = bitmap::blocks_in_group(sb, c.group).unwrap();
        let first = geo.group_first_block(c.group);
        let off = match geo.block_group(goal) {
            Some((g, o)) if g == c.group => o,
            _ => 0,
        };
        if let Some((s, _)) = alloc::find_run(&b, nbits, off, 1, 0).unwrap() {
            return Some(first + u64::from(s));
        }
    }
    None
}

fn debugfs(img: &Path, w: bool, cmd: &str) -> String {
    let mut c = Command::new(tool("debugfs"));
    if w {
        c.arg("-w");
    }
    let out = c.arg("-R").arg(cmd).arg(img).output().unwrap();
    assert!(out.status.success(), "debugfs {cmd}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn real_images_goals_and_choices() {
    let dir = Scratch::new("alloc");
    let cases: [(&str, &[&str]); 5] = [
        ("flex16", &["-g", "1024", "-N", "4096"]),
        ("flex4", &["-G", "4", "-g", "1024"]),
        ("noflex", &["-O", "^flex_bg", "-g", "2048"]),
        ("k1flex64", &["-b", "1024", "-G", "64", "-g", "1024"]),
        ("flex2", &["-G", "2", "-g", "2048"]),
    ];
    for (name, opts) in cases {
        let path = mkfs(&dir.0, name, 96, opts);
        let img = Image::open(&path).unwrap();
        let geo = Geometry::from_superblock(&img.sb);
        assert_eq!(geo.groups as usize, img.groups.len());
        let stats = |x: u32| {
            img.groups.get(x as usize).map(|d| GroupStats {
                free_inodes: d.free_inodes_count,
                free_blocks: d.free_blocks_count,
                used_dirs: d.used_dirs_count,
                flags: d.flags,
            })
        };
        let flex = geo.flex_size();
        let meta = metadata(&img);
        let mut exact = 0;
        for g in 0..geo.groups {
            // A directory's data goal: its (flex) group's first group's
            // first block; a regular file's: the next group's with flex
            // groups of 4 or more. The first free block from there is the
            // first one past the metadata mke2fs put there (the flex
            // group's packed bitmaps and inode tables, a backup
            // superblock), checked where a group holds metadata only.
            let g0 = if flex >= alloc::FLEX_SIZE_DIR_ALLOC_SCHEME {
                g & !(flex - 1)
            } else {
                g
            };
            let dgoal = alloc::inode_goal(&geo, g, false, None);
            assert_eq!(dgoal, geo.group_first_block(g0), "{name} group {g}");
            let fgoal = alloc::inode_goal(&geo, g, true, None);
            if flex >= alloc::FLEX_SIZE_DIR_ALLOC_SCHEME && g0 + 1 < geo.groups {
                assert_eq!(fgoal, geo.group_first_block(g0 + 1), "{name} group {g}");
            } else if flex >= alloc::FLEX_SIZE_DIR_ALLOC_SCHEME {
                assert_eq!(fgoal, u64::from(geo.first_data_block), "{name} group {g}");
            } else {
                assert_eq!(fgoal, dgoal, "{name} group {g}");
            }
            for goal in [dgoal, fgoal] {
                let got = first_free_from(&img, &geo, goal).unwrap();
                assert!(got >= goal && got < img.sb.blocks_count, "{name} group {g}");
                let expect = after_metadata(&meta, goal);
                let (gx, _) = geo.block_group(expect).unwrap();
                if (geo.block_group(goal).unwrap().0..=gx)
                    .all(|x| only_metadata(&img, &geo, &meta, x))
                {
                    assert_eq!(got, expect, "{name} group {g} goal {goal}");
                    exact += 1;
                }
            }
        }
        assert!(exact >= 4, "{name}: only {exact} exact checks");
        // Inode choices: in range and on groups with free inodes.
        for seed in 0..50u32 {
            let p = Parent {
                group: 0,
                ino: 2,
                top: true,
                last_alloc_group: None,
            };
            let d = alloc::dir_group(&geo, &p, seed, stats).unwrap();
            assert!(img.groups[d as usize].free_inodes_count > 0);
            let f = alloc::file_group(
                &geo,
                &Parent {
                    group: d,
                    top: false,
                    ..p
                },
                stats,
            )
            .unwrap();
            assert!(img.groups[f as usize].free_inodes_count > 0);
        }
        // A file written by debugfs lands where libext2fs's goal (the
        // flex group's first block, no +1 for regular files) leads: the
        // directory goal of its inode's group.
        // (Computed before the write changes the bitmaps.)
        let lib_goal: Vec<Option<u64>> = (0..geo.groups)
            .map(|g| first_free_from(&img, &geo, alloc::inode_goal(&geo, g, false, None)))
            .collect();
        let src = dir.0.join(format!("{name}-data"));
        std::fs::write(&src, vec![7u8; 5000]).unwrap();
        debugfs(&path, true, &format!("write {} f", src.display()));
        let ino: u32 = debugfs(&path, false, "ls -l /")
            .lines()
            .find(|l| l.trim_end().ends_with(" f"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap();
        let blk: u64 = debugfs(&path, false, "bmap /f 0").trim().parse().unwrap();
        let ig = (ino - 1) / img.sb.inodes_per_group;
        let want = lib_goal[ig as usize];
        assert_eq!(
            Some(blk),
            want,
            "{name}: debugfs put /f (ino {ino}) at {blk}"
        );
        drop(img);
    }
}

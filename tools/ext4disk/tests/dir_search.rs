//! `find_name`, the lookup's leaf search, checks only what it needs to step
//! over the records it passes and the matching record in full: on every
//! block the full record walk accepts it must give the walk's answer, and
//! on damaged blocks it must never return a damaged entry or panic.
//! `visit_entries`, readdir's walk over a block read in place, must give
//! exactly what `Entries` gives over a copy, on good and damaged blocks.

mod common;

use common::XorShift;
use ext4disk::disk::dir::{find_name, visit_entries, Entries, Records};

const MAX_INO: u32 = 100_000;

/// A leaf block of `bs` bytes holding `names` (inode = 12 + index), with
/// unused records and slack mixed in, and a checksum tail if `tail`.
fn leaf(bs: usize, names: &[Vec<u8>], tail: bool, rng: &mut XorShift) -> Vec<u8> {
    let mut b = vec![0u8; bs];
    let end = if tail { bs - 12 } else { bs };
    let mut off = 0;
    let mut last = 0;
    let put = |b: &mut Vec<u8>, off: usize, ino: u32, name: &[u8], rl: usize| {
        b[off..off + 4].copy_from_slice(&ino.to_le_bytes());
        b[off + 4..off + 6].copy_from_slice(&(rl as u16).to_le_bytes());
        b[off + 6] = name.len() as u8;
        b[off + 7] = 1;
        b[off + 8..off + 8 + name.len()].copy_from_slice(name);
    };
    for (i, n) in names.iter().enumerate() {
        let need = (8 + n.len() + 3) & !3;
        // Sometimes an unused record (inode 0, a stale name) first.
        if rng.next() % 5 == 0 && off + 16 + need <= end {
            put(&mut b, off, 0, b"gone", 16);
            off += 16;
        }
        let slack = 4 * (rng.next() % 3) as usize;
        let rl = need + slack;
        assert!(off + rl <= end, "test block too small");
        put(&mut b, off, 12 + i as u32, n, rl);
        last = off;
        off += rl;
    }
    // The last record runs to the end (of the space before the tail).
    let rl = end - last;
    b[last + 4..last + 6].copy_from_slice(&(rl as u16).to_le_bytes());
    if tail {
        b[end + 4..end + 6].copy_from_slice(&12u16.to_le_bytes());
        b[end + 7] = 0xDE;
    }
    b
}

/// The full walk's answer: every record header checked, names compared.
fn walk(b: &[u8], tail: bool, name: &[u8]) -> Result<Option<u32>, ext4disk::Error> {
    for r in Records::new(b, 0, tail, MAX_INO) {
        let r = r?;
        let at = r.name_offset();
        if r.is_live() && b.get(at..at + r.name_len) == Some(name) {
            return Ok(Some(r.ino));
        }
    }
    Ok(None)
}

fn names(rng: &mut XorShift, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = 1 + (rng.next() % 40) as usize;
            let mut v: Vec<u8> = (0..len).map(|_| b'a' + (rng.next() % 26) as u8).collect();
            v.extend_from_slice(format!("{i}").as_bytes());
            v
        })
        .collect()
}

#[test]
fn agrees_with_the_full_walk_on_good_blocks() {
    let mut rng = XorShift::new(0x5eed_d1);
    for &bs in &[1024usize, 4096] {
        for tail in [false, true] {
            for _ in 0..50 {
                let ns = names(&mut rng, bs / 64);
                let b = leaf(bs, &ns, tail, &mut rng);
                for (i, n) in ns.iter().enumerate() {
                    assert_eq!(find_name(&b[..], tail, MAX_INO, n), Ok(Some(12 + i as u32)));
                }
                for absent in [&b"gone"[..], b"zz", b"nothere-at-all"] {
                    assert_eq!(find_name(&b[..], tail, MAX_INO, absent), Ok(None));
                }
            }
        }
    }
}

#[test]
fn damaged_blocks_never_yield_a_damaged_entry() {
    let mut rng = XorShift::new(0xbad_d1);
    let mut differ = 0;
    for _ in 0..4000 {
        let bs = if rng.next() % 2 == 0 { 1024 } else { 4096 };
        let tail = rng.next() % 2 == 0;
        let ns = names(&mut rng, bs / 64);
        let mut b = leaf(bs, &ns, tail, &mut rng);
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() as usize) % bs;
            b[at] ^= 1 << (rng.next() % 8);
        }
        let pick = (rng.next() as usize) % ns.len();
        let got = find_name(&b[..], tail, MAX_INO, &ns[pick]);
        let full = walk(&b, tail, &ns[pick]);
        match (&got, &full) {
            // Where the full walk accepts every record up to the answer,
            // the answers agree.
            (_, Ok(_)) => assert_eq!(got, full, "block damaged but walkable"),
            // Otherwise the search may stop at the damage or step past a
            // record it does not need; what it returns is never worse than
            // an error: a found entry passed every check.
            (Ok(Some(ino)), Err(_)) => {
                differ += 1;
                assert!(*ino != 0 && *ino <= MAX_INO);
            }
            _ => {}
        }
    }
    // The fast path does skip judging passed-over records (else this test
    // shows nothing about it).
    assert!(differ > 0);
}

/// What `Entries` yields over `b` from `start`: (offset, inode, type,
/// name) of each live entry, then the error that ended the walk, if any.
type Listing = (Vec<(usize, u32, u8, Vec<u8>)>, Option<ext4disk::Error>);

fn by_entries(b: &[u8], start: usize, tail: bool) -> Listing {
    let mut got = Vec::new();
    for e in Entries::new(b, start, tail, MAX_INO) {
        match e {
            Ok(e) => got.push((e.offset, e.ino, e.file_type, e.name.to_vec())),
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

fn by_visit(b: &[u8], start: usize, tail: bool) -> Listing {
    let mut got = Vec::new();
    let r = visit_entries(
        b,
        start,
        tail,
        MAX_INO,
        |e| e,
        |e, next| {
            assert!(next > e.offset && next <= b.len(), "next record offset");
            got.push((e.offset, e.ino, e.file_type, e.name.to_vec()));
            Ok(true)
        },
    );
    assert!(r != Ok(false), "the visitor never stops the walk here");
    (got, r.err())
}

#[test]
fn visit_entries_lists_what_entries_lists() {
    let mut rng = XorShift::new(0x71517);
    let mut damaged_errors = 0;
    for round in 0..4000 {
        let bs = if rng.next() % 2 == 0 { 1024 } else { 4096 };
        let tail = rng.next() % 2 == 0;
        let ns = names(&mut rng, bs / 64);
        let mut b = leaf(bs, &ns, tail, &mut rng);
        if round % 4 != 0 {
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % bs;
                b[at] ^= 1 << (rng.next() % 8);
            }
        } else {
            // Undamaged: every name listed, nothing wrong.
            let (got, err) = by_visit(&b, 0, tail);
            assert_eq!(err, None);
            assert_eq!(got.len(), ns.len());
        }
        let want = by_entries(&b, 0, tail);
        damaged_errors += usize::from(want.1.is_some());
        assert_eq!(by_visit(&b, 0, tail), want, "round {round}");
    }
    assert!(damaged_errors > 0);
}

#[test]
fn visit_entries_stops_when_told() {
    let mut rng = XorShift::new(0x5709);
    let ns = names(&mut rng, 30);
    let b = leaf(4096, &ns, true, &mut rng);
    let mut seen = 0;
    let r: Result<bool, ext4disk::Error> = visit_entries(
        &b[..],
        0,
        true,
        MAX_INO,
        |e| e,
        |_, _| {
            seen += 1;
            Ok(seen < 7)
        },
    );
    assert_eq!((r, seen), (Ok(false), 7));
}

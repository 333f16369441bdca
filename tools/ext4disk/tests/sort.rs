//! `disk::sort`: the heapsort against std's sort on random, sorted,
//! reversed, constant and tiny inputs, by key and by a comparison that
//! leaves ties.

use ext4disk::disk::sort::{sort_by, sort_by_key};

fn lcg(seed: &mut u64) -> u32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 33) as u32
}

fn inputs() -> Vec<(usize, usize, Vec<(u32, u32)>)> {
    let mut seed = 7;
    let mut all = Vec::new();
    for n in [0usize, 1, 2, 3, 10, 100, 341, 1000, 20_000] {
        for pattern in 0..5 {
            let v = (0..n)
                .map(|i| match pattern {
                    0 => (lcg(&mut seed), i as u32),
                    1 => (i as u32, 0),
                    2 => ((n - i) as u32, 0),
                    3 => (5, i as u32),
                    _ => (lcg(&mut seed) % 4, lcg(&mut seed)),
                })
                .collect();
            all.push((n, pattern, v));
        }
    }
    all
}

#[test]
fn sorts_like_std() {
    for (n, pattern, mut v) in inputs() {
        let mut want = v.clone();
        want.sort();
        sort_by_key(&mut v, |&e| e);
        assert_eq!(v, want, "n {n} pattern {pattern}");
    }
}

#[test]
fn ties_keep_every_element() {
    for (n, pattern, mut v) in inputs() {
        let mut want = v.clone();
        sort_by(&mut v, |a, b| a.0 < b.0);
        assert!(
            v.windows(2).all(|w| w[0].0 <= w[1].0),
            "n {n} pattern {pattern}: not in order"
        );
        // The same elements, each once.
        let mut got = v.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "n {n} pattern {pattern}");
    }
}

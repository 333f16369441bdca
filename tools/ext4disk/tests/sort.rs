//! `disk::sort`: the comb sort against std's sort on random, sorted,
//! reversed, constant and tiny inputs.

use ext4disk::disk::sort::comb_sort_by_key;

fn lcg(seed: &mut u64) -> u32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 33) as u32
}

#[test]
fn sorts_like_std() {
    let mut seed = 7;
    for n in [0usize, 1, 2, 3, 10, 100, 341, 1000, 20_000] {
        for pattern in 0..5 {
            let mut v: Vec<(u32, u32)> = (0..n)
                .map(|i| match pattern {
                    0 => (lcg(&mut seed), i as u32),
                    1 => (i as u32, 0),
                    2 => ((n - i) as u32, 0),
                    3 => (5, i as u32),
                    _ => (lcg(&mut seed) % 4, lcg(&mut seed)),
                })
                .collect();
            let mut want = v.clone();
            want.sort();
            comb_sort_by_key(&mut v, |&e| e);
            assert_eq!(v, want, "n {n} pattern {pattern}");
        }
    }
}

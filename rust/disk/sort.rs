//! Sorting without `core`'s slice sorts, whose code paths for a
//! comparison that is not a total order end in panics the kernel's objtool
//! reports as falling through to the next function (a build warning,
//! which fails rext4's module build).
//!
//! [`comb_sort_by_key`] is a comb sort: shrinking gaps of a bubble sort,
//! then passes of gap 1 until nothing moves. It needs no allocation, is
//! not stable, and takes about n log n steps on the inputs rext4 sorts (a
//! leaf's names by hash, a directory batch for readdir, the orphan
//! inodes at mount).

/// Sorts `v` by `key`, smallest first.
pub fn comb_sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let mut gap = v.len();
    loop {
        gap = (gap * 10 / 13).max(1);
        let mut swapped = false;
        for i in gap..v.len() {
            let j = i - gap;
            if let (Some(a), Some(b)) = (v.get(j), v.get(i)) {
                if key(a) > key(b) {
                    v.swap(j, i);
                    swapped = true;
                }
            }
        }
        if gap == 1 && !swapped {
            return;
        }
    }
}

//! Sorting without `core`'s slice sorts, whose code paths for a
//! comparison that is not a total order end in panics the kernel's objtool
//! reports as falling through to the next function (a build warning,
//! which fails rext4's module build).
//!
//! [`sort_by`] is a heapsort: at most about 2 n log2 n comparisons whatever
//! the input (readdir sorts every leaf's names by hash, so the bound
//! matters more than the best case), no allocation, not stable; elements
//! are compared through checked accesses (the swaps' own index checks
//! cannot fail: both indices are below the length).

/// Sorts `v` so that no element is `less` than one before it; `less` must
/// be a strict weak order (a strict order on the keys compared).
pub fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = v.len();
    // Moves the element at `root` down the heap `v[..end]` (children of i
    // at 2i+1 and 2i+2) until it is not less than either child.
    let sift_down = |v: &mut [T], mut root: usize, end: usize| loop {
        let left = 2 * root + 1;
        if left >= end {
            return;
        }
        let right = left + 1;
        let child = match (v.get(left), v.get(right)) {
            (Some(l), Some(r)) if right < end && less(l, r) => right,
            _ => left,
        };
        match (v.get(root), v.get(child)) {
            (Some(a), Some(c)) if less(a, c) => {}
            _ => return,
        }
        v.swap(root, child);
        root = child;
    };
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Sorts `v` by `key`, smallest first (see [`sort_by`]).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a) < key(b))
}

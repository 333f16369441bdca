// SPDX-License-Identifier: GPL-2.0

//! Percpu counters (`struct percpu_counter`), as ext4 keeps its free block,
//! free inode and directory counts: cheap concurrent updates, an exact sum
//! when asked. 6.12's `kernel` crate has no wrapper.

use crate::sys;
use kernel::error::{to_result, Error};
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A percpu counter.
///
/// INVARIANT: `inner` was initialised by `percpu_counter_init` and is
/// destroyed on drop; it is pinned (its list entry is linked into the
/// kernel's list of counters for CPU hotplug).
#[pin_data(PinnedDrop)]
pub(crate) struct PercpuCounter {
    #[pin]
    inner: Opaque<sys::percpu_counter>,
}

// SAFETY: the counter's operations are safe from any CPU and thread.
unsafe impl Send for PercpuCounter {}
// SAFETY: as above.
unsafe impl Sync for PercpuCounter {}

impl PercpuCounter {
    /// A counter starting at `value`.
    pub(crate) fn new(value: i64) -> impl PinInit<Self, Error> {
        // SAFETY: the closure initialises the whole counter in place (`p`
        // is valid for writes and pinned) or fails leaving nothing to clean
        // up.
        let inner = unsafe {
            kernel::init::pin_init_from_closure(move |p: *mut Opaque<sys::percpu_counter>| {
                to_result(sys::rext4_percpu_counter_init(Opaque::raw_get(p), value))
            })
        };
        try_pin_init!(PercpuCounter { inner <- inner }? Error)
    }

    /// Adds `delta` (may be negative).
    #[allow(dead_code)]
    pub(crate) fn add(&self, delta: i64) {
        // SAFETY: initialised (type invariant).
        unsafe { sys::rext4_percpu_counter_add(self.inner.get(), delta) };
    }

    /// The exact value, at least 0 (`percpu_counter_sum_positive`).
    pub(crate) fn sum_positive(&self) -> u64 {
        // SAFETY: initialised (type invariant).
        let v = unsafe { sys::rext4_percpu_counter_sum_positive(self.inner.get()) };
        u64::try_from(v).unwrap_or(0)
    }
}

#[pinned_drop]
impl PinnedDrop for PercpuCounter {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: initialised (type invariant); never used again.
        unsafe { sys::rext4_percpu_counter_destroy(self.inner.get()) };
    }
}

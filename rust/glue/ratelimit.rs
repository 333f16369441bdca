// SPDX-License-Identifier: GPL-2.0

//! The kernel's printk rate limit (`struct ratelimit_state`), the one ext4
//! uses for its error messages: 10 messages per 5 seconds by default, then
//! a count of what was suppressed.

use crate::sys;
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A rate-limit state, built in place (it holds a spinlock).
///
/// INVARIANT: `inner` was initialised by `ratelimit_default_init` at its
/// final, pinned address.
#[pin_data]
pub(crate) struct RateLimit {
    #[pin]
    inner: Opaque<sys::ratelimit_state>,
}

// SAFETY: `___ratelimit` serialises on the state's own spinlock.
unsafe impl Send for RateLimit {}
// SAFETY: as above.
unsafe impl Sync for RateLimit {}

impl RateLimit {
    /// The default interval and burst.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(RateLimit {
            // SAFETY: the helper initialises every field in place; the
            // memory is pinned.
            inner <- Opaque::ffi_init(|p| unsafe { sys::rext4_ratelimit_init(p) }),
        })
    }

    /// Whether a message may be printed now.
    pub(crate) fn allow(&self) -> bool {
        // SAFETY: initialised (type invariant); the name is a static C
        // string.
        unsafe { sys::___ratelimit(self.inner.get(), kernel::c_str!("rext4").as_char_ptr()) != 0 }
    }
}

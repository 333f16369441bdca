// SPDX-License-Identifier: GPL-2.0

//! The kernel's printk rate limit (`struct ratelimit_state`), the one ext4
//! uses for its error messages: 10 messages per 5 seconds by default, then
//! a count of what was suppressed.

use crate::sys;
use kernel::types::Opaque;

/// A rate-limit state.
///
/// INVARIANT: `init` has run on the object at its final address before
/// `allow` is called (the owner guarantees this; see `init`).
pub(crate) struct RateLimit(Opaque<sys::ratelimit_state>);

impl RateLimit {
    /// An uninitialised state; `init` it once it sits where it will stay.
    pub(crate) const fn new() -> RateLimit {
        RateLimit(Opaque::uninit())
    }

    /// Initialises the state with the default interval and burst.
    ///
    /// # Safety
    ///
    /// Called once, before any `allow`, and the object is not moved
    /// afterwards (its spinlock is initialised in place).
    pub(crate) unsafe fn init(&self) {
        // SAFETY: the caller guarantees exclusive access and a stable
        // address; the helper fills in every field.
        unsafe { sys::rext4_ratelimit_init(self.0.get()) };
    }

    /// Whether a message may be printed now.
    pub(crate) fn allow(&self) -> bool {
        // SAFETY: initialised (type invariant); `___ratelimit` serialises
        // on the state's own spinlock; the name is a static C string.
        unsafe { sys::___ratelimit(self.0.get(), kernel::c_str!("rext4").as_char_ptr()) != 0 }
    }
}

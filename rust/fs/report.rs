// SPDX-License-Identifier: GPL-2.0

//! Error reports found while the filesystem is in use, rate-limited per
//! mount the way ext4 limits its errors (10 messages per 5 seconds, then a
//! count of what was suppressed): one bad extent block under a large file
//! must not print a line for every block read through it.

use crate::glue::super_block::SuperBlock;
use core::fmt;
use core::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use kernel::time::Ktime;

const INTERVAL_MS: i64 = 5000;
const BURST: u32 = 10;

/// Per-mount message budget. Updates race benignly: the limit is
/// approximate under concurrency, never unbounded.
pub(crate) struct RateLimit {
    window_start_ms: AtomicI64,
    printed: AtomicU32,
    suppressed: AtomicU32,
}

impl RateLimit {
    pub(crate) const fn new() -> RateLimit {
        RateLimit {
            window_start_ms: AtomicI64::new(i64::MIN),
            printed: AtomicU32::new(0),
            suppressed: AtomicU32::new(0),
        }
    }

    /// Whether a message may go out now, and how many were suppressed
    /// before it (to be reported first).
    fn check(&self) -> Option<u32> {
        let now = Ktime::ktime_get().to_ms();
        let start = self.window_start_ms.load(Ordering::Relaxed);
        if now.saturating_sub(start) >= INTERVAL_MS {
            self.window_start_ms.store(now, Ordering::Relaxed);
            self.printed.store(1, Ordering::Relaxed);
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        if self.printed.fetch_add(1, Ordering::Relaxed) < BURST {
            return Some(0);
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Reports an error on a mounted filesystem, rate-limited; before the mount
/// is set up (no per-mount state yet) every message goes out.
pub(crate) fn error(sb: &SuperBlock, args: fmt::Arguments<'_>) {
    if let Some(fi) = sb.fs_info_opt() {
        match fi.ratelimit.check() {
            None => return,
            Some(0) => {}
            Some(n) => sb_err!(sb, "{} error messages suppressed", n),
        }
    }
    sb_err!(sb, "{}", args);
}

/// `fs_err!(sb, "fmt", args...)`: a rate-limited error report.
macro_rules! fs_err {
    ($sb:expr, $($arg:tt)*) => {
        $crate::fs::report::error($sb, format_args!($($arg)*))
    };
}

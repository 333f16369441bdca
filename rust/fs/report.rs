// SPDX-License-Identifier: GPL-2.0

//! Error reports found while the filesystem is in use, rate-limited per
//! mount as ext4 limits its errors: one bad extent block under a large file
//! must not print a line for every block read through it.

use crate::glue::super_block::SuperBlock;
use core::fmt;

/// Reports an error on a mounted filesystem, rate-limited; before the mount
/// is set up (no per-mount state yet) every message goes out.
pub(crate) fn error(sb: &SuperBlock, args: fmt::Arguments<'_>) {
    if let Some(fi) = sb.fs_info_opt() {
        if !fi.ratelimit.allow() {
            return;
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

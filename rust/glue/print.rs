// SPDX-License-Identifier: GPL-2.0

//! Messages in ext4's style: `rext4 (vda): ...`, naming the device.

use crate::sys;
use core::fmt;
use kernel::ffi::c_char;

/// Kernel log levels, as the `KERN_*` prefixes.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    Err,
    Info,
}

impl Level {
    fn prefix(self) -> &'static kernel::str::CStr {
        match self {
            Level::Err => kernel::c_str!("\x013rext4 (%s): %pA\n"),
            Level::Info => kernel::c_str!("\x016rext4 (%s): %pA\n"),
        }
    }
}

/// Prints one message for the device named `id` (a NUL-terminated `s_id`).
pub(crate) fn device_msg(level: Level, id: &[c_char; 32], args: fmt::Arguments<'_>) {
    // Make sure the name is terminated even if the array was not.
    let mut name = *id;
    name[31] = 0;
    // SAFETY: the format string is a valid C string with exactly one `%s`,
    // matched by `name` (NUL-terminated above, lives across the call), and one
    // `%pA`, matched by a pointer to a `fmt::Arguments` that outlives the call;
    // `%pA` is the kernel's printer for Rust format arguments.
    unsafe {
        sys::_printk(
            level.prefix().as_ptr(),
            name.as_ptr(),
            core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
        );
    }
}

/// `sb_err!(sb, "fmt", args...)`: an error about the filesystem on `sb`.
macro_rules! sb_err {
    ($sb:expr, $($arg:tt)*) => {
        $crate::glue::print::device_msg(
            $crate::glue::print::Level::Err, $sb.id(), format_args!($($arg)*))
    };
}

/// `sb_info!(sb, "fmt", args...)`: information about the filesystem on `sb`.
macro_rules! sb_info {
    ($sb:expr, $($arg:tt)*) => {
        $crate::glue::print::device_msg(
            $crate::glue::print::Level::Info, $sb.id(), format_args!($($arg)*))
    };
}

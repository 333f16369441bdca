// SPDX-License-Identifier: GPL-2.0

//! The current task: yielding in long loops and noticing fatal signals;
//! the wall clock.

use crate::sys;
use kernel::error::Result;

/// To be called once per step of a loop whose length comes from disk
/// (directory blocks, extents): gives the CPU away if needed, and ends the
/// loop with `ERESTARTSYS` when the task is being killed.
pub(crate) fn yield_point() -> Result {
    // SAFETY: both are plain calls on the current task, allowed in process
    // context, which every caller is (VFS callbacks that may sleep).
    unsafe {
        sys::rext4_cond_resched();
        if sys::rext4_fatal_signal_pending() {
            return Err(kernel::error::code::ERESTARTSYS);
        }
    }
    Ok(())
}

/// Gives the CPU away if needed (`cond_resched`), for loops inside a jbd2
/// handle, which must run to their end once they changed something (a
/// fatal signal does not stop them).
pub(crate) fn resched() {
    // SAFETY: a plain call, allowed in process context.
    unsafe { sys::rext4_cond_resched() }
}

/// Whether the system is shutting down, halting or rebooting (ext4 does
/// not panic on an error then: the device may be gone already).
pub(crate) fn system_going_down() -> bool {
    // SAFETY: a read of the kernel's state.
    unsafe { sys::rext4_system_going_down() }
}

/// The wall-clock time in seconds since the epoch
/// (`ktime_get_real_seconds`).
pub(crate) fn real_seconds() -> i64 {
    // SAFETY: a plain read of the kernel's clock.
    unsafe { sys::ktime_get_real_seconds() }
}

/// Whether read-write mounts are allowed while the write path is
/// incomplete (the module parameter `experimental_write`, defined in the
/// C helpers).
pub(crate) fn experimental_write() -> bool {
    // SAFETY: a READ_ONCE of a module parameter.
    unsafe { sys::rext4_experimental_write() }
}

/// A random 32-bit number (`get_random_u32`): inode generations, the
/// allocator's spreading of top-level directories.
pub(crate) fn random_u32() -> u32 {
    // SAFETY: plain call, usable from any context.
    unsafe { crate::sys::get_random_u32() }
}

/// Whether the current task may use the filesystem's reserved blocks
/// (`capable(CAP_SYS_RESOURCE)`, as ext4 asks).
pub(crate) fn capable_resource() -> bool {
    // SAFETY: plain call on the current task.
    unsafe { crate::sys::capable(crate::sys::CAP_SYS_RESOURCE as i32) }
}

// SPDX-License-Identifier: GPL-2.0

//! The current task: yielding in long loops and noticing fatal signals.

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

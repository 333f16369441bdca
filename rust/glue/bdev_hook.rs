// SPDX-License-Identifier: GPL-2.0

//! The hook on the filesystem's block device that catches failed
//! asynchronous metadata writes at completion (the C half,
//! `include/rext4_bdev_hook.c`, explains the mechanism and its teardown).
//!
//! [`BdevHook::install`] replaces the device mapping's writepages with
//! rext4's; a write through it that fails queues the hook's work item on
//! the mount's `WQ_MEM_RECLAIM` queue, and the work calls
//! [`WriteErrorFn::write_failed`] in process context with the number of
//! failed writes since it last ran, the first one's block and how long
//! ago it completed. Dropping the hook puts the original operations back
//! and waits until no hooked call, completion or work item of it is left.
//!
//! Module load takes the kernel's `end_buffer_async_write` address
//! ([`init`]); module unload waits for stragglers ([`exit`]).

use super::fs_type::FileSystem;
use super::super_block::{New, SuperBlock};
use super::workqueue::WorkQueue;
use crate::sys;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, from_err_ptr};
use kernel::prelude::*;
use kernel::sync::Arc;

/// What runs after writes through the hook failed.
pub(crate) trait WriteErrorFn<T: FileSystem> {
    /// `failed` writes failed since the last call, `device` of them
    /// writes of the device's own folios (the rest file data written
    /// home); the first was to `block`, and completed `latency_ns`
    /// nanoseconds before this call.
    /// The superblock may still be being set up (a failure during the
    /// journal replay): the implementation checks.
    fn write_failed(sb: &SuperBlock<T, New>, failed: u32, device: u32, block: u64, latency_ns: u64);
}

/// The hook on one mounted filesystem's device.
///
/// INVARIANT: a hook from `rext4_bdev_hook_install`, removed only in
/// `drop`; its work item runs on `_wq`'s queue, which this value keeps
/// alive; its superblock outlives this value (the owner keeps it in the
/// superblock's data, or drops it before `fill_super` returns).
pub(crate) struct BdevHook<T: FileSystem> {
    hook: NonNull<sys::rext4_bdev_hook>,
    _wq: Arc<WorkQueue>,
    _t: PhantomData<fn(&T)>,
}

// SAFETY: the hook is used only through the C functions, which take their
// own locks (or atomics) and may be called from any task.
unsafe impl<T: FileSystem> Send for BdevHook<T> {}
// SAFETY: as above.
unsafe impl<T: FileSystem> Sync for BdevHook<T> {}

impl<T: FileSystem> BdevHook<T> {
    /// Installs the hook on the device of the superblock being set up
    /// (after its block size is set, before the journal is loaded, so
    /// the replay's writes go through it); `F` handles failures on `wq`.
    /// EOPNOTSUPP on a kernel that lets others write to mounted devices
    /// (`CONFIG_BLK_DEV_WRITE_MOUNTED`), EBUSY if the device's operations
    /// are not the kernel's block device ones.
    pub(crate) fn install<F: WriteErrorFn<T>>(
        sb: &SuperBlock<T, New>,
        wq: &Arc<WorkQueue>,
    ) -> Result<Self> {
        // SAFETY: a live superblock on a block device, in `fill_super`
        // (`New`), whose device the mount holds open; a live queue, kept
        // alive by the clone stored below for as long as the hook exists.
        let h = unsafe {
            sys::rext4_bdev_hook_install(sb.as_ptr(), wq.as_ptr(), Some(run_work::<T, F>))
        };
        let hook = NonNull::new(from_err_ptr(h)?).ok_or(code::ENOMEM)?;
        // INVARIANT: installed above; the queue is kept with it.
        Ok(BdevHook {
            hook,
            _wq: wq.clone(),
            _t: PhantomData,
        })
    }
}

impl<T: FileSystem> BdevHook<T> {
    /// Writes submitted through the hook so far.
    pub(crate) fn submitted(&self) -> u64 {
        // SAFETY: installed (type invariant); an atomic read.
        unsafe { sys::rext4_bdev_hook_submitted(self.hook.as_ptr()) }
    }
}

impl<T: FileSystem> Drop for BdevHook<T> {
    fn drop(&mut self) {
        // SAFETY: installed (type invariant) and not used after this;
        // the call waits until nothing of the hook runs any more, before
        // `_wq` is released.
        unsafe { sys::rext4_bdev_hook_remove(self.hook.as_ptr()) };
    }
}

/// # Safety
///
/// Called by the workqueue with the work item of a hook installed by
/// [`BdevHook::install::<F>`].
unsafe extern "C" fn run_work<T: FileSystem, F: WriteErrorFn<T>>(w: *mut sys::work_struct) {
    // SAFETY: `w` is the work item of an installed hook (the only place
    // this function is given), which is not freed before its work item
    // was cancelled and waited for.
    let h = unsafe { sys::rext4_bdev_hook_of_work(w) };
    let (mut block, mut when, mut device) = (0u64, 0u64, 0u32);
    // SAFETY: a live hook (above); the outputs are local.
    let failed = unsafe { sys::rext4_bdev_hook_take(h, &mut block, &mut when, &mut device) };
    let Ok(failed) = u32::try_from(failed) else {
        return;
    };
    if failed == 0 {
        return;
    }
    // SAFETY: a plain clock read.
    let now = unsafe { sys::rext4_ktime_ns() };
    // SAFETY: the hook's superblock outlives it (`BdevHook` invariant);
    // only the invariant common to all states is assumed.
    let sb = unsafe { SuperBlock::<T, New>::from_raw(sys::rext4_bdev_hook_sb(h)) };
    F::write_failed(sb, failed, device, block, now.saturating_sub(when));
}

/// Module load: finds the kernel's completion the hook's own calls.
pub(crate) fn init() -> Result {
    // SAFETY: no precondition.
    kernel::error::to_result(unsafe { sys::rext4_bdev_hook_init() })
}

/// Module unload: waits until no hooked call or completion is left.
pub(crate) fn exit() {
    // SAFETY: no precondition; sleeps, as module exit may.
    unsafe { sys::rext4_bdev_hook_exit() }
}

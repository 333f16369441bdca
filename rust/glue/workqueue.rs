// SPDX-License-Identifier: GPL-2.0

//! A filesystem's own workqueue and a work item that calls back into the
//! filesystem with its mounted superblock.
//!
//! The queue is allocated with `WQ_MEM_RECLAIM` (it has a rescuer thread,
//! so work queued from the writeback path makes progress under memory
//! pressure) and is named after the device (`rext4-vda`). A work item
//! ([`SbWork`]) is embedded, pinned, in the per-mount data; queueing one
//! that is already pending does nothing, so a burst of events runs the
//! work once. The callback runs in process context and may sleep.
//!
//! Teardown: dropping an [`SbWork`] cancels it and waits for a running
//! callback (`cancel_work_sync`); dropping the [`WorkQueue`] drains and
//! destroys it. The owner stops queueing and calls [`WorkQueue::flush`]
//! before the per-mount data the callback uses goes away; a callback
//! that runs once the data is gone (a failed mount) is skipped.

use super::fs_type::FileSystem;
use super::super_block::{New, SuperBlock};
use crate::sys;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::code;
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A workqueue of the filesystem's own.
///
/// INVARIANT: a live queue from `alloc_workqueue`, destroyed only in
/// `drop`.
pub(crate) struct WorkQueue(NonNull<sys::workqueue_struct>);

// SAFETY: the workqueue API may be used from any task or context.
unsafe impl Send for WorkQueue {}
// SAFETY: as above.
unsafe impl Sync for WorkQueue {}

impl WorkQueue {
    /// A `WQ_MEM_RECLAIM` queue named `rext4-<device>` for the
    /// superblock being set up.
    pub(crate) fn new_reclaim<T: FileSystem>(sb: &SuperBlock<T, New>) -> Result<Self> {
        // SAFETY: `id` is the NUL-terminated `s_id` of a live superblock;
        // the helper copies it into the queue's name.
        let q = unsafe { sys::rext4_alloc_reclaim_wq(sb.id().as_ptr()) };
        // INVARIANT: a live queue, owned from here on.
        NonNull::new(q).map(WorkQueue).ok_or(code::ENOMEM)
    }

    pub(super) fn as_ptr(&self) -> *mut sys::workqueue_struct {
        self.0.as_ptr()
    }

    /// Queues `w` unless it is pending already (then this is a no-op).
    /// Callable from any context, interrupts included.
    pub(crate) fn queue<T: FileSystem>(&self, w: &SbWork<T>) {
        // SAFETY: a live queue (type invariant) and an initialised work
        // item, which stays valid until it is dropped, and its drop
        // cancels it.
        unsafe { sys::rext4_queue_work(self.0.as_ptr(), w.work.get()) };
    }

    /// Waits until the work queued before this call has run
    /// (`flush_workqueue`; unlike a drain it tolerates work queued
    /// meanwhile, as a completion on another CPU may). Sleeps.
    pub(crate) fn flush(&self) {
        // SAFETY: a live queue (type invariant).
        unsafe { sys::__flush_workqueue(self.0.as_ptr()) };
    }
}

impl Drop for WorkQueue {
    fn drop(&mut self) {
        // SAFETY: a live queue (type invariant), not used after this;
        // `destroy_workqueue` drains it first.
        unsafe { sys::destroy_workqueue(self.0.as_ptr()) };
    }
}

/// What an [`SbWork`] item does when it runs.
pub(crate) trait SbWorkFn<T: FileSystem> {
    /// Runs in process context with the mounted superblock.
    fn run(sb: &SuperBlock<T>);
}

/// A work item that runs `F::run` with the superblock it was made for.
///
/// INVARIANT: `work` was initialised with `run_work::<T, F>` at its
/// pinned address; `sb` is the superblock of the per-mount data this
/// item is embedded in, so it is live whenever the item can run (the
/// item is cancelled and waited for when dropped, before that data and
/// its superblock go).
#[pin_data(PinnedDrop)]
pub(crate) struct SbWork<T: FileSystem> {
    #[pin]
    work: Opaque<sys::work_struct>,
    sb: *mut sys::super_block,
    _f: PhantomData<fn(&T)>,
}

// SAFETY: the work item is only handed to the workqueue API, which
// synchronises itself; `sb` is a pointer to a superblock, usable from any
// task.
unsafe impl<T: FileSystem> Send for SbWork<T> {}
// SAFETY: as above.
unsafe impl<T: FileSystem> Sync for SbWork<T> {}

impl<T: FileSystem> SbWork<T> {
    /// A work item for the superblock being set up, running `F::run`.
    pub(crate) fn new<F: SbWorkFn<T>>(sb: &SuperBlock<T, New>) -> impl PinInit<Self> {
        let raw = sb.as_ptr();
        pin_init!(SbWork {
            // SAFETY: the helper runs INIT_WORK on the pinned memory.
            work <- Opaque::ffi_init(|p| unsafe { sys::rext4_init_work(p, Some(run_work::<T, F>)) }),
            sb: raw,
            _f: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for SbWork<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: initialised (type invariant); after this the item is
        // neither queued nor running.
        unsafe { sys::cancel_work_sync(self.work.get()) };
    }
}

/// # Safety
///
/// Called by the workqueue with the `work_struct` of an [`SbWork<T>`]
/// made by [`SbWork::new::<F>`].
unsafe extern "C" fn run_work<T: FileSystem, F: SbWorkFn<T>>(w: *mut sys::work_struct) {
    let w = w.cast::<Opaque<sys::work_struct>>();
    // SAFETY: `w` is the `work` field of an `SbWork<T>` (the only place
    // this function is installed); `Opaque` is `repr(transparent)`.
    let item = unsafe { &*kernel::container_of!(w, SbWork<T>, work) };
    // SAFETY: the superblock outlives the item (type invariant); only the
    // invariant common to all states is assumed.
    let sb = unsafe { SuperBlock::<T, New>::from_raw(item.sb) };
    // Data already taken away (a mount failing after its data was
    // installed): nothing to do.
    if let Some(sb) = sb.mounted() {
        F::run(sb);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The kernel's `rw_semaphore` (6.12's `kernel` crate has no wrapper): the
//! data lock embedded in each inode, like ext4's `i_data_sem`. Its lock
//! class key is the static one of `init_rwsem` in the C shim, so lockdep
//! knows it as rext4's `i_data_sem`.

use crate::sys;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use kernel::types::Opaque;

/// An `rw_semaphore` at a fixed address.
///
/// INVARIANT: initialised with [`RawRwSem::init`] before any other use, and
/// never moved afterwards (it lives inside a slab object).
#[repr(transparent)]
pub(crate) struct RawRwSem(Opaque<sys::rw_semaphore>);

impl RawRwSem {
    /// Initialises the semaphore in place.
    ///
    /// # Safety
    ///
    /// `p` points to memory for a semaphore that nothing uses and that
    /// stays at this address for as long as it is used.
    pub(super) unsafe fn init(p: *mut RawRwSem) {
        // SAFETY: guaranteed by the caller; `init_rwsem` writes every field.
        unsafe { sys::rext4_init_data_sem(Opaque::raw_get(p.cast::<Opaque<sys::rw_semaphore>>())) };
    }
}

/// Shared access to data guarded by a [`RawRwSem`]; `up_read` on drop.
pub(crate) struct ReadGuard<'a, D> {
    sem: &'a RawRwSem,
    data: &'a UnsafeCell<D>,
}

impl<'a, D> ReadGuard<'a, D> {
    /// Takes `sem` shared (may sleep).
    ///
    /// # Safety
    ///
    /// `sem` is initialised and guards every access to `data`.
    pub(super) unsafe fn new(sem: &'a RawRwSem, data: &'a UnsafeCell<D>) -> Self {
        // SAFETY: initialised (caller); process context (every caller is a
        // VFS or page-cache callback that may sleep).
        unsafe { sys::down_read(sem.0.get()) };
        ReadGuard { sem, data }
    }
}

impl<D> Deref for ReadGuard<'_, D> {
    type Target = D;
    fn deref(&self) -> &D {
        // SAFETY: the semaphore is held shared: writers are excluded.
        unsafe { &*self.data.get() }
    }
}

impl<D> Drop for ReadGuard<'_, D> {
    fn drop(&mut self) {
        // SAFETY: taken shared in `new`.
        unsafe { sys::up_read(self.sem.0.get()) };
    }
}

/// Exclusive access to data guarded by a [`RawRwSem`]; `up_write` on drop.
pub(crate) struct WriteGuard<'a, D> {
    sem: &'a RawRwSem,
    data: &'a UnsafeCell<D>,
}

impl<'a, D> WriteGuard<'a, D> {
    /// Takes `sem` exclusive (may sleep).
    ///
    /// # Safety
    ///
    /// As for [`ReadGuard::new`].
    pub(super) unsafe fn new(sem: &'a RawRwSem, data: &'a UnsafeCell<D>) -> Self {
        // SAFETY: as for `ReadGuard::new`.
        unsafe { sys::down_write(sem.0.get()) };
        WriteGuard { sem, data }
    }
}

impl<D> Deref for WriteGuard<'_, D> {
    type Target = D;
    fn deref(&self) -> &D {
        // SAFETY: the semaphore is held exclusive.
        unsafe { &*self.data.get() }
    }
}

impl<D> DerefMut for WriteGuard<'_, D> {
    fn deref_mut(&mut self) -> &mut D {
        // SAFETY: the semaphore is held exclusive and `&mut self` makes
        // this access unique.
        unsafe { &mut *self.data.get() }
    }
}

impl<D> Drop for WriteGuard<'_, D> {
    fn drop(&mut self) {
        // SAFETY: taken exclusive in `new`.
        unsafe { sys::up_write(self.sem.0.get()) };
    }
}

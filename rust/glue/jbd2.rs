// SPDX-License-Identifier: GPL-2.0

//! The kernel's journalling layer (jbd2): a [`Journal`] owns a `journal_t`
//! on a filesystem's internal journal inode.
//!
//! # The journal inode
//!
//! `jbd2_journal_init_inode` maps the journal's blocks through `bmap()` on
//! the inode's address space (block 0 at once, to find the journal
//! superblock, then every log block it reads or writes). The journal
//! inode is therefore not an inode of the filesystem's own tables: the
//! glue takes it from the inode cache itself, gives it an address space
//! whose only operation is `->bmap`, and answers `bmap` from the extent
//! list the filesystem read from the inode's extent tree and handed over
//! ([`JournalExtent`]), kept next to the `journal_t` and reached through
//! `i_private`. So the journal can be created, and replayed, while the
//! superblock is still being filled in ([`New`](super::New)): before the
//! filesystem reads any metadata the replay may rewrite.
//!
//! # Handles and write access
//!
//! A metadata change happens inside a [`Handle`] (`jbd2_journal_start` ..
//! `jbd2_journal_stop`), which reserves the journal blocks it may dirty
//! (its credits). jbd2 keeps the running handle in the task
//! (`current->journal_info`), so a handle is `!Send`: it is started, used
//! and stopped by one task, and a nested start in that task joins it. A
//! block is changed only through [`Handle::write_access`], which declares
//! the change to jbd2 (`jbd2_journal_get_write_access`: the block joins
//! the running transaction, and a copy of it is frozen first if a
//! committing transaction still writes it) and returns a [`WriteAccess`]
//! guard; [`WriteAccess::modify`] hands out a private copy of the bytes as
//! `&mut [u8]`, put back under the buffer lock (see `buffer.rs`), and
//! [`WriteAccess::dirty`] files the block in the transaction
//! (`jbd2_journal_dirty_metadata`).
//!
//! # Lifetime
//!
//! `jbd2_journal_destroy` (on drop) kills the commit thread, checkpoints,
//! marks the journal empty when it holds nothing, and drops the inode
//! reference it took over from `jbd2_journal_init_inode`. The glue keeps a
//! second reference of its own, so it can clear `i_private` (the extent
//! list is freed right after) before the inode can be reached again.

use super::buffer::BufferHead;
use super::fs_type::FileSystem;
use super::super_block::SuperBlock;
use super::zeroed;
use crate::sys;
use core::ffi::c_int;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::alloc::{flags::GFP_KERNEL, KBox, KVVec};
use kernel::error::{code, from_err_ptr, to_result, Result};
use kernel::types::ARef;

/// One extent of the journal inode: `len` blocks from logical block
/// `lblk` at physical block `pblk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JournalExtent {
    pub(crate) lblk: u32,
    pub(crate) pblk: u64,
    pub(crate) len: u32,
}

/// The journal inode's block map, sorted by logical block, not
/// overlapping (checked by [`Journal::init_inode`]).
struct ExtentMap(KVVec<JournalExtent>);

impl ExtentMap {
    /// The physical block of logical block `lblk`, or 0 (what `bmap`
    /// returns for a hole: jbd2 then fails the I/O).
    fn map(&self, lblk: u64) -> u64 {
        let Ok(l) = u32::try_from(lblk) else {
            return 0;
        };
        // The last extent starting at or before `l`.
        let i = self.0.partition_point(|e| e.lblk <= l);
        let Some(e) = i.checked_sub(1).and_then(|i| self.0.get(i)) else {
            return 0;
        };
        let off = l - e.lblk;
        if off < e.len {
            e.pblk + u64::from(off)
        } else {
            0
        }
    }
}

/// The journal inode's address-space operations: only `bmap`.
const JOURNAL_AOPS: sys::address_space_operations = sys::address_space_operations {
    bmap: Some(journal_bmap),
    ..zeroed()
};

/// `address_space_operations.bmap` of the journal inode.
///
/// # Safety
///
/// Called by `bmap()` with the address space of a live inode.
unsafe extern "C" fn journal_bmap(mapping: *mut sys::address_space, block: u64) -> u64 {
    // SAFETY: the mapping's host is the journal inode (only it has these
    // operations); `i_private` is NULL or the `ExtentMap` its `Journal`
    // owns and keeps alive until it has cleared the pointer (module docs).
    unsafe {
        let inode = (*mapping).host;
        let map = core::ptr::read_volatile(&raw const (*inode).i_private).cast::<ExtentMap>();
        match map.as_ref() {
            Some(m) => m.map(block),
            None => 0,
        }
    }
}

/// A loaded (or loadable) jbd2 journal in a filesystem's inode.
///
/// INVARIANT: `journal` is a live `journal_t` from
/// `jbd2_journal_init_inode`, destroyed only by `drop`; `inode` is its
/// journal inode, on which the glue holds a reference of its own, with
/// `i_private` pointing to `*map` until `drop` clears it.
pub(crate) struct Journal {
    journal: NonNull<sys::journal_t>,
    inode: NonNull<sys::inode>,
    _map: KBox<ExtentMap>,
}

// SAFETY: a `journal_t` is used from any task (jbd2 locks its state
// internally); the glue's own calls need no particular thread.
unsafe impl Send for Journal {}
// SAFETY: as above; the methods taking `&self` are jbd2 calls that lock
// what they change.
unsafe impl Sync for Journal {}

impl Journal {
    /// Creates the journal of inode `ino` of `sb`: `size` bytes, mapped by
    /// `extents` (sorted by logical block, not overlapping). Neither loads
    /// nor replays it: see [`Self::load`].
    pub(crate) fn init_inode<T: FileSystem, S>(
        sb: &SuperBlock<T, S>,
        ino: u32,
        size: u64,
        extents: KVVec<JournalExtent>,
    ) -> Result<Self> {
        let sorted = extents.windows(2).all(|w| match w {
            [a, b] => u64::from(a.lblk) + u64::from(a.len) <= u64::from(b.lblk),
            _ => true,
        });
        if !sorted {
            return Err(code::EINVAL);
        }
        let size = i64::try_from(size).map_err(|_| code::EFBIG)?;
        let ino = usize::try_from(ino).map_err(|_| code::EINVAL)?;
        let map = KBox::new(ExtentMap(extents), GFP_KERNEL)?;
        // SAFETY: `sb` is a live super_block of `T` (its invariant) whose
        // inode cache is usable from `fill_super` on (`s_op` installed).
        let p = unsafe { sys::iget_locked(sb.as_ptr(), ino) };
        let inode = NonNull::new(p).ok_or(code::ENOMEM)?;
        let i = inode.as_ptr();
        // SAFETY: `iget_locked` returned a referenced live inode; `i_state`
        // is read once (READ_ONCE), I_NEW set only for the one to fill it.
        let state = unsafe { core::ptr::read_volatile(&raw const (*i).i_state) };
        if u64::from(state) & u64::from(sys::REXT4_I_NEW as u32) == 0 {
            // Somebody else's inode (the filesystem read the journal inode
            // as a file): not ours to reconfigure.
            // SAFETY: drops the reference `iget_locked` gave.
            unsafe { sys::iput(i) };
            return Err(code::EBUSY);
        }
        let mapp: *const ExtentMap = &*map;
        // SAFETY: a new locked inode only this task sees: its mode, size,
        // address-space operations (a static table) and private pointer
        // are set before `unlock_new_inode` publishes it. `i_private`
        // points to the boxed map, which lives in `Self` until `drop`
        // clears the pointer. The second reference (ihold) is the glue's.
        unsafe {
            sys::rext4_inode_set_journal(
                i,
                (sys::REXT4_S_IFREG | 0o600) as u16,
                &JOURNAL_AOPS,
                mapp.cast_mut().cast(),
            );
            sys::rext4_i_size_write(i, size);
            sys::unlock_new_inode(i);
            sys::ihold(i);
        }
        // SAFETY: the inode is set up with `->bmap`; on success the journal
        // takes over one reference (released by `jbd2_journal_destroy`), on
        // failure it takes none.
        let j = unsafe { sys::jbd2_journal_init_inode(i) };
        let j = match from_err_ptr(j).ok().and_then(NonNull::new) {
            Some(j) => j,
            None => {
                let e = from_err_ptr(j).err().unwrap_or(code::ENOMEM);
                // SAFETY: both references are ours; nobody else uses the
                // inode, whose private pointer is cleared before the map
                // (dropped on return) goes.
                unsafe {
                    sys::rext4_inode_clear_private(i);
                    sys::iput(i);
                    sys::iput(i);
                }
                return Err(e);
            }
        };
        // SAFETY: the journal is live and not yet shared; `j_private` is
        // the filesystem's field, here its super_block.
        unsafe { (*j.as_ptr()).j_private = sb.as_ptr().cast() };
        // INVARIANT: as established above.
        Ok(Journal {
            journal: j,
            inode,
            _map: map,
        })
    }

    fn raw(&self) -> *mut sys::journal_t {
        self.journal.as_ptr()
    }

    /// The `journal_t`, for the glue's C helpers.
    pub(super) fn raw_ptr(&self) -> *mut sys::journal_t {
        self.raw()
    }

    /// Aborts the journal with error `e` (`jbd2_journal_abort`): the
    /// running transaction never commits, every handle fails from now on,
    /// and the error is recorded in the journal superblock for the next
    /// mount.
    pub(crate) fn abort(&self, e: kernel::error::Error) {
        // SAFETY: live journal (type invariant); jbd2 takes its own locks
        // and may be called with a handle of this task running.
        unsafe { sys::jbd2_journal_abort(self.raw(), e.to_errno()) }
    }

    /// Turns write barriers (cache flushes around commit records) on or
    /// off (`JBD2_BARRIER`).
    pub(crate) fn set_barrier(&self, on: bool) {
        // SAFETY: live journal (type invariant); the shim takes
        // `j_state_lock` around the change.
        unsafe { sys::rext4_journal_set_barrier(self.raw(), on) }
    }

    /// Whether write barriers are on.
    pub(crate) fn has_barrier(&self) -> bool {
        // SAFETY: live journal (type invariant); a racy read of a flag word.
        unsafe { sys::rext4_journal_has_barrier(self.raw()) }
    }

    /// The journal superblock's incompat features (`JBD2_FEATURE_INCOMPAT_*`),
    /// as read by [`Self::init_inode`].
    pub(crate) fn incompat_features(&self) -> u32 {
        // SAFETY: live journal (type invariant), whose superblock buffer
        // `jbd2_journal_init_inode` read and keeps until destroy.
        unsafe { sys::rext4_journal_incompat(self.raw()) }
    }

    /// Sets the interval between commits, in seconds.
    pub(crate) fn set_commit_interval(&self, secs: u32) {
        // SAFETY: live journal (type invariant); under `j_state_lock`.
        unsafe { sys::rext4_journal_set_commit_interval(self.raw(), secs) }
    }

    /// Turns jbd2 features on (`jbd2_journal_set_features`, which returns
    /// 1 on success and 0 on failure, e.g. an unknown feature or a
    /// checksum driver that does not load).
    pub(crate) fn set_features(&self, compat: u32, ro: u32, incompat: u32) -> Result {
        // SAFETY: live journal (type invariant).
        let ok = unsafe {
            sys::jbd2_journal_set_features(
                self.raw(),
                compat as usize,
                ro as usize,
                incompat as usize,
            )
        };
        if ok == 1 {
            Ok(())
        } else {
            Err(code::EINVAL)
        }
    }

    /// Turns jbd2 features off.
    pub(crate) fn clear_features(&self, compat: u32, ro: u32, incompat: u32) {
        // SAFETY: live journal (type invariant).
        unsafe {
            sys::jbd2_journal_clear_features(
                self.raw(),
                compat as usize,
                ro as usize,
                incompat as usize,
            )
        }
    }

    /// Forgets what the log holds without replaying it, writing the empty
    /// log back when `write` (`jbd2_journal_wipe`; before [`Self::load`]).
    pub(crate) fn wipe(&self, write: bool) -> Result {
        // SAFETY: live journal (type invariant); not loaded yet (the
        // filesystem calls this before `load`, as jbd2 asserts).
        to_result(unsafe { sys::jbd2_journal_wipe(self.raw(), c_int::from(write)) })
    }

    /// Loads the journal: replays every committed transaction of the log
    /// to its home blocks (through the block device's buffer cache, then
    /// synced), resets the log and starts the commit thread.
    pub(crate) fn load(&self) -> Result {
        // SAFETY: live journal (type invariant), loaded at most once by its
        // owner.
        to_result(unsafe { sys::jbd2_journal_load(self.raw()) })
    }

    /// Commits and checkpoints everything (`jbd2_journal_flush`).
    /// EIO (with a warning) if this task runs a handle: the flush
    /// would wait for it forever.
    pub(crate) fn flush(&self) -> Result {
        no_running_handle()?;
        // SAFETY: live, loaded journal (type invariant); this task runs no
        // handle (checked above).
        to_result(unsafe { sys::jbd2_journal_flush(self.raw(), 0) })
    }
}

impl Journal {
    /// Starts a handle that may dirty up to `credits` blocks (joins the
    /// handle this task already runs, if any).
    pub(crate) fn start(&self, credits: u32) -> Result<Handle<'_>> {
        self.start_revoking(credits, 0)
    }

    /// [`Self::start`] of a handle that may also revoke up to `revokes`
    /// freed blocks ([`Handle::revoke`]; jbd2 reserves log room for the
    /// revoke records).
    ///
    /// Every handle also reserves a few revoke records (ERROR_REVOKES):
    /// an operation that fails after allocating blocks frees (and so
    /// revokes) them.
    pub(crate) fn start_revoking(&self, credits: u32, revokes: u32) -> Result<Handle<'_>> {
        let n = c_int::try_from(credits).map_err(|_| code::EINVAL)?;
        let r = c_int::try_from(revokes.saturating_add(ERROR_REVOKES)).map_err(|_| code::EINVAL)?;
        // SAFETY: live, loaded journal (type invariant); the handle belongs
        // to this task until `jbd2_journal_stop`. GFP_NOFS, as for every
        // handle of a filesystem (jbd2_journal_start's default).
        let h = unsafe { sys::jbd2__journal_start(self.raw(), n, 0, r, sys::REXT4_GFP_NOFS, 0, 0) };
        let h = from_err_ptr(h)?;
        let h = NonNull::new(h).ok_or(code::ENOMEM)?;
        // INVARIANT: a running handle of this task on this journal.
        Ok(Handle {
            raw: h,
            _journal: PhantomData,
            _not_send: PhantomData,
        })
    }

    /// Waits until transaction `tid` is committed, asking for its commit
    /// if it is still running (`jbd2_complete_transaction`). EIO (with a
    /// warning) if this task runs a handle.
    pub(crate) fn complete_transaction(&self, tid: u32) -> Result {
        no_running_handle()?;
        // SAFETY: live, loaded journal (type invariant); no handle of this
        // task to wait for.
        to_result(unsafe { sys::jbd2_complete_transaction(self.raw(), tid) })
    }

    /// Commits the running transaction and waits for it
    /// (`jbd2_journal_force_commit`). EIO (with a warning) if this
    /// task runs a handle (jbd2 asserts there is none).
    pub(crate) fn force_commit(&self) -> Result {
        no_running_handle()?;
        // SAFETY: live, loaded journal (type invariant); this task runs no
        // handle (checked above).
        to_result(unsafe { sys::jbd2_journal_force_commit(self.raw()) })
    }

    /// Asks for the running transaction to be committed, without waiting.
    pub(crate) fn start_commit(&self) {
        let mut tid = 0;
        // SAFETY: live, loaded journal (type invariant); `tid` receives
        // the transaction's id, unused here.
        unsafe { sys::jbd2_journal_start_commit(self.raw(), &mut tid) };
    }

    /// Waits out every running handle and holds new ones back until
    /// [`Self::unlock_updates`]. EIO (with a warning) if this task
    /// runs a handle, which it would wait for forever.
    pub(crate) fn lock_updates(&self) -> Result {
        no_running_handle()?;
        // SAFETY: live, loaded journal (type invariant); this task runs no
        // handle (checked above).
        unsafe { sys::jbd2_journal_lock_updates(self.raw()) };
        Ok(())
    }

    /// Lets handles start again after [`Self::lock_updates`].
    pub(crate) fn unlock_updates(&self) {
        // SAFETY: live journal; paired with `lock_updates` by the caller.
        unsafe { sys::jbd2_journal_unlock_updates(self.raw()) }
    }

    /// The pid of the journal's commit thread (0 when it has none).
    pub(crate) fn task_pid(&self) -> i32 {
        // SAFETY: live journal (type invariant); `j_task` is set while
        // the journal is loaded and read once.
        unsafe { sys::rext4_journal_task_pid(self.raw()) }
    }

    /// The journal's error: `Err` once it was aborted.
    pub(crate) fn errno(&self) -> Result {
        // SAFETY: live journal (type invariant).
        to_result(unsafe { sys::jbd2_journal_errno(self.raw()) })
    }
}

/// Refuses (EIO, with a warning, as jbd2 answers the same misuse) a call
/// that waits for the journal's handles while this task runs one itself.
fn no_running_handle() -> Result {
    // SAFETY: reads the current task's `journal_info`.
    if unsafe { sys::rext4_journal_handle_running() } {
        kernel::pr_warn!("rext4: journal wait with a handle of this task open\n");
        return Err(code::EIO);
    }
    Ok(())
}

impl Journal {
    /// Drops a folio's buffers from the journal's care where it can
    /// (`jbd2_journal_invalidate_folio`, for a folio of journalled data
    /// being truncated): EBUSY when a buffer belongs to the committing
    /// transaction (wait for it and try again).
    pub(super) fn invalidate_folio(
        &self,
        folio: *mut sys::folio,
        off: usize,
        len: usize,
    ) -> Result {
        // SAFETY: live journal (type invariant); the caller passes the
        // locked folio the page cache handed to `invalidate_folio`.
        to_result(unsafe { sys::jbd2_journal_invalidate_folio(self.raw(), folio, off, len) })
    }

    /// Frees a folio's buffers unless the journal still needs them
    /// (`jbd2_journal_try_to_free_buffers`).
    pub(super) fn try_to_free_buffers(&self, folio: *mut sys::folio) -> bool {
        // SAFETY: live journal (type invariant); the caller passes the
        // locked folio the page cache handed to `release_folio`.
        unsafe { sys::jbd2_journal_try_to_free_buffers(self.raw(), folio) }
    }
}

impl Journal {
    /// Has jbd2 call the commit callback after each commit (from its
    /// commit thread): it releases the transaction's journalled folios
    /// from writeback (data=journal, `address_space.rs`) and calls
    /// `T::transaction_committed` with the transaction's id.
    pub(crate) fn set_commit_callback<T: FileSystem>(&self) {
        if T::HAS_TRANSACTION_COMMITTED || T::HAS_DATA_JOURNAL {
            // SAFETY: live journal (type invariant); set before any handle
            // runs (the journal is loaded, nothing committed through it
            // yet), so the field is not read concurrently.
            unsafe {
                sys::rext4_journal_set_commit_callback(self.raw(), Some(commit_callback::<T>))
            }
        }
    }
}

/// `journal_t.j_commit_callback`: after a transaction committed (also
/// when the journal was aborted). The folios the transaction kept under
/// writeback are released first (with -EIO in their mapping after an
/// abort), whatever state the per-mount data is in: nothing else ever
/// would.
///
/// # Safety
///
/// Called by jbd2's commit thread with a journal set up by
/// [`Journal::init_inode`] for a super_block of `T` (`j_private`) and the
/// committed transaction.
unsafe extern "C" fn commit_callback<T: FileSystem>(
    journal: *mut sys::journal_t,
    transaction: *mut sys::transaction_t,
) {
    // SAFETY: per the contract; the super_block outlives its journal (the
    // per-mount data owns the journal and destroys it, stopping this
    // thread, before anything else of it goes).
    let (sb, tid) = unsafe {
        (
            SuperBlock::<T, super::Mounted>::from_raw(sys::rext4_journal_private(journal).cast()),
            sys::rext4_transaction_tid(transaction),
        )
    };
    if T::HAS_DATA_JOURNAL {
        // SAFETY: the committed transaction, whose handles are all gone
        // (only this callback touches its folio list now).
        unsafe {
            let aborted = sys::rext4_journal_aborted(journal);
            sys::rext4_folio_commit_done(transaction, aborted);
        }
    }
    if T::HAS_TRANSACTION_COMMITTED && sb.try_data().is_some() {
        T::transaction_committed(sb, tid);
    }
}

/// Revoke records every handle reserves for the blocks an operation
/// frees again when it fails after allocating them.
const ERROR_REVOKES: u32 = 16;

/// A running jbd2 handle: the metadata changes of one operation.
///
/// INVARIANT: `raw` is a handle this task started on the journal `'j`
/// borrows and has not stopped; it is stopped exactly once, by
/// [`Handle::stop`] or on drop.
pub(crate) struct Handle<'j> {
    raw: NonNull<sys::handle_t>,
    _journal: PhantomData<&'j Journal>,
    /// jbd2 keeps the running handle in the task: never sent elsewhere.
    _not_send: PhantomData<*mut ()>,
}

impl<'j> Handle<'j> {
    /// Declares that the handle changes block `bh`
    /// (`jbd2_journal_get_write_access`): the block joins the running
    /// transaction. Fails (EROFS/EIO) once the journal is aborted.
    pub(crate) fn write_access<'h>(&'h self, bh: &'h BufferHead) -> Result<WriteAccess<'h, 'j>> {
        // SAFETY: live handle of this task (type invariant) and a live,
        // up-to-date buffer of the filesystem's device, referenced by the
        // caller for the guard's life.
        to_result(unsafe { sys::jbd2_journal_get_write_access(self.raw.as_ptr(), bh.as_ptr()) })?;
        Ok(WriteAccess { handle: self, bh })
    }

    /// The buffer of block `block` of `sb`, which the filesystem has just
    /// allocated, joined to the transaction as a new block
    /// (`jbd2_journal_get_create_access`: its old contents are neither
    /// read nor journalled), zero-filled and up to date. The caller fills
    /// it through [`Self::write_access`] and [`WriteAccess::dirty`].
    pub(crate) fn create_block<T: FileSystem>(
        &self,
        sb: &SuperBlock<T>,
        block: u64,
    ) -> Result<ARef<BufferHead>> {
        let mut err: c_int = 0;
        // SAFETY: live handle of this task (type invariant) on the journal
        // of `sb`'s filesystem, whose block device and block size are set;
        // the shim locks the buffer around the create access and the
        // zero-fill (no other user of a block just allocated can see the
        // zeros half-written), and returns a referenced buffer or NULL
        // with `err` set.
        let bh = unsafe {
            sys::rext4_journal_create_block(self.raw.as_ptr(), sb.as_ptr(), block, &mut err)
        };
        match NonNull::new(bh) {
            // SAFETY: an up-to-date buffer with a reference the caller owns.
            Some(bh) => Ok(unsafe { BufferHead::from_bread(bh) }),
            None => Err(kernel::error::Error::from_errno(err)),
        }
    }

    /// Forgets block `block` as the transaction's or an earlier one's
    /// metadata, since it was freed: its buffer in the block device's
    /// cache (if any) is dropped from the journal's lists
    /// (`jbd2_journal_revoke` with the buffer, which forgets it), and a
    /// revoke record keeps a replay from writing older copies over it.
    pub(crate) fn forget_block<T: FileSystem>(&self, sb: &SuperBlock<T>, block: u64) -> Result {
        // SAFETY: live super_block with a block device; a lookup only.
        let bh = unsafe { sys::rext4_sb_find_get_block(sb.as_ptr(), block) };
        // SAFETY: live handle of this task (type invariant); jbd2 takes
        // over the buffer reference found above (or looks for the buffer
        // itself when there is none).
        let r = unsafe { sys::jbd2_journal_revoke(self.raw.as_ptr(), block, bh) };
        // jbd2 (6.12) gives up without forgetting the buffer, so without
        // taking its reference, on exactly two errors, both EIO (no revoke
        // credit left, a block revoked twice); its other error (ENOMEM)
        // comes after the buffer was forgotten.
        if r == code::EIO.to_errno() && !bh.is_null() {
            // SAFETY: the reference found above, not taken by jbd2.
            unsafe { sys::rext4_brelse(bh) };
        }
        to_result(r)
    }

    /// The id of the transaction the handle belongs to.
    pub(crate) fn tid(&self) -> u32 {
        // SAFETY: live handle of this task: its transaction stays the
        // running one until the handle stops.
        unsafe { sys::rext4_handle_tid(self.raw.as_ptr()) }
    }

    /// The raw handle, for the glue's buffer walks.
    pub(super) fn as_ptr(&self) -> *mut sys::handle_t {
        self.raw.as_ptr()
    }

    /// Gives the handle up without stopping it (it stays this task's
    /// running handle), for [`Self::from_raw`] in a later callback of the
    /// same operation (write_begin to write_end).
    pub(super) fn into_raw(self) -> *mut sys::handle_t {
        let h = self.raw.as_ptr();
        core::mem::forget(self);
        h
    }

    /// Takes back a handle [`Self::into_raw`] gave up.
    ///
    /// # Safety
    ///
    /// `raw` came from `into_raw` of a handle on `journal` in this task,
    /// and is taken back once.
    pub(super) unsafe fn from_raw(_journal: &'j Journal, raw: *mut sys::handle_t) -> Option<Self> {
        // INVARIANT: per the contract, a running handle of this task on
        // `journal`, stopped once by the new owner.
        NonNull::new(raw).map(|raw| Handle {
            raw,
            _journal: PhantomData,
            _not_send: PhantomData,
        })
    }

    /// Stops the handle, returning the transaction's error (a synchronous
    /// handle waits for its commit).
    pub(crate) fn stop(self) -> Result {
        let h = self.raw.as_ptr();
        core::mem::forget(self);
        // SAFETY: the handle is live and stopped once: `self` is
        // forgotten, so `drop` does not stop it again.
        to_result(unsafe { sys::jbd2_journal_stop(h) })
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        // SAFETY: live handle of this task, stopped here once (`stop`
        // forgets `self`). The error was recorded in the journal, where
        // the next handle or commit reports it.
        unsafe { sys::jbd2_journal_stop(self.raw.as_ptr()) };
    }
}

/// Write access to one block inside a handle (see the module docs).
pub(crate) struct WriteAccess<'h, 'j> {
    handle: &'h Handle<'j>,
    bh: &'h BufferHead,
}

impl WriteAccess<'_, '_> {
    /// Changes bytes `off..off + len` of the block through `f`, on a
    /// private copy put back under the buffer lock (see `buffer.rs`);
    /// nothing changes when `f` fails. `f` must not take buffer locks.
    pub(crate) fn modify<R>(
        &mut self,
        off: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> Result<R>,
    ) -> Result<R> {
        self.bh.modify_locked(off, len, f)
    }

    /// Files the changed block in the handle's transaction
    /// (`jbd2_journal_dirty_metadata`).
    pub(crate) fn dirty(self) -> Result {
        // SAFETY: live handle of this task with write access to this live
        // buffer (taken in `write_access`).
        to_result(unsafe {
            sys::jbd2_journal_dirty_metadata(self.handle.raw.as_ptr(), self.bh.as_ptr())
        })
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let i = self.inode.as_ptr();
        // SAFETY: the journal is live and used by nobody else any more
        // (its owner is being dropped); destroy releases its own inode
        // reference. The glue's reference keeps the inode alive while its
        // private pointer is cleared, before the map is freed (`_map` is
        // dropped after this function, with the other fields).
        unsafe {
            // Errors here (an aborted journal) were reported by jbd2.
            sys::jbd2_journal_destroy(self.raw());
            sys::rext4_inode_clear_private(i);
            sys::iput(i);
        }
    }
}

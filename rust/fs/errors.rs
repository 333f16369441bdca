// SPDX-License-Identifier: GPL-2.0

//! Errors found while the filesystem is in use, through one entry point
//! (ext4's `ext4_error`): [`fs_err!`] reports an inconsistency or a failed
//! I/O, rate-limited per mount (one bad extent block under a large file
//! must not print a line for every block read through it), counts it, and
//! applies the `errors=` policy (ext4's `ext4_handle_error`):
//!
//! - `continue`: the filesystem goes on;
//! - `remount-ro`: the journal is aborted (the running transaction never
//!   commits) and every later change is refused with EROFS; the mount
//!   stays as it is in the mount table (as ext4's shutdown: setting
//!   `SB_RDONLY` would need `s_umount`), and a remount read-write is
//!   refused until the filesystem is unmounted and checked;
//! - `panic`: the superblock is written, then the kernel panics.
//!
//! On a read-write mount each error is also recorded for the superblock
//! (state "with errors", error count, first and last error: time, inode,
//! block, source file as the function, line, errno), which `dumpe2fs -h`
//! shows and which makes e2fsck check the filesystem. The record is
//! written by a work item on the mount's `WQ_MEM_RECLAIM` workqueue, in
//! process context with no locks held: through the journal while it
//! runs, else directly. A read-only mount writes nothing (ext4 writes the
//! record even then; rext4 keeps read-only mounts read-only).
//!
//! [`fs_warn!`] is for what is not an error of the filesystem (a feature
//! rext4 does not implement, an index it works around): reported, not
//! counted, no policy.
//!
//! Also the mapping of disk-layer errors to the errno ext4 returns.

use super::options::{errors_behaviour, ErrorsBehaviour};
use super::{Rext4, Sb};
use crate::disk::superblock::{ErrorEvent, PendingErrors};
use crate::disk::Error as DiskError;
use crate::glue::bdev_hook::WriteErrorFn;
use crate::glue::errno;
use crate::glue::super_block::New;
use crate::glue::workqueue::SbWorkFn;
use crate::glue::SuperBlock;
use core::fmt;
use core::sync::atomic::Ordering;
use kernel::error::{code, Error};

/// Reports an error on the filesystem on `sb` (errno EFSCORRUPTED) and
/// applies the error policy. Before the mount is set up (no per-mount
/// state yet) every message goes out and nothing else happens.
#[track_caller]
pub(crate) fn error<S>(sb: &SuperBlock<Rext4, S>, args: fmt::Arguments<'_>) {
    error_errno(sb, 0, args)
}

/// [`error`] with the errno to record (0: EFSCORRUPTED).
#[track_caller]
pub(crate) fn error_errno<S>(sb: &SuperBlock<Rext4, S>, errno: i32, args: fmt::Arguments<'_>) {
    error_at(sb, 0, errno, args)
}

/// [`error`] naming inode `ino` in the record (ext4's `ext4_error_inode`).
#[track_caller]
pub(crate) fn error_inode<S>(
    sb: &SuperBlock<Rext4, S>,
    ino: impl Into<u64>,
    args: fmt::Arguments<'_>,
) {
    error_inode_at(sb, ino, 0, 0, args)
}

/// [`error_inode`] with the block involved (0: none) and the errno to
/// record (0: EFSCORRUPTED).
#[track_caller]
pub(crate) fn error_inode_at<S>(
    sb: &SuperBlock<Rext4, S>,
    ino: impl Into<u64>,
    block: u64,
    errno: i32,
    args: fmt::Arguments<'_>,
) {
    report(
        sb,
        u32::try_from(ino.into()).unwrap_or(0),
        block,
        errno,
        args,
    )
}

/// [`error_errno`] naming the block involved in the record.
#[track_caller]
pub(crate) fn error_at<S>(
    sb: &SuperBlock<Rext4, S>,
    block: u64,
    errno: i32,
    args: fmt::Arguments<'_>,
) {
    report(sb, 0, block, errno, args)
}

/// The common part of the entry points: the report, then the policy,
/// with what the record names (inode, block: 0 for none).
#[track_caller]
fn report<S>(
    sb: &SuperBlock<Rext4, S>,
    ino: u32,
    block: u64,
    errno: i32,
    args: fmt::Arguments<'_>,
) {
    let at = core::panic::Location::caller();
    let Some(sb) = sb.mounted() else {
        sb_err!(sb, "{}", args);
        return;
    };
    let fi = sb.data();
    fi.error_count.fetch_add(1, Ordering::Relaxed);
    if fi.ratelimit.allow() {
        sb_err!(sb, "{}", args);
    }
    handle(sb, ino, block, errno, at);
}

/// Reports something that is not an error of the filesystem itself,
/// rate-limited once the mount is set up.
pub(crate) fn warn<S>(sb: &SuperBlock<Rext4, S>, args: fmt::Arguments<'_>) {
    if sb.try_data().is_some_and(|fi| !fi.ratelimit.allow()) {
        return;
    }
    sb_err!(sb, "{}", args);
}

/// `fs_err!(sb, "fmt", args...)`: the filesystem's error entry point.
macro_rules! fs_err {
    ($sb:expr, $($arg:tt)*) => {
        $crate::fs::errors::error($sb, format_args!($($arg)*))
    };
}

/// `inode_err!(sb, ino, "fmt", args...)`: [`fs_err!`] for an error in
/// inode `ino`, which the superblock's error record names.
macro_rules! inode_err {
    ($sb:expr, $ino:expr, $($arg:tt)*) => {
        $crate::fs::errors::error_inode($sb, $ino, format_args!($($arg)*))
    };
}

/// `inode_err_at!(sb, ino, block, errno, "fmt", args...)`: [`inode_err!`]
/// that also records the block involved (0: none) and the errno (not
/// EFSCORRUPTED: an I/O failure, for instance).
macro_rules! inode_err_at {
    ($sb:expr, $ino:expr, $block:expr, $errno:expr, $($arg:tt)*) => {
        $crate::fs::errors::error_inode_at($sb, $ino, $block, $errno, format_args!($($arg)*))
    };
}

/// `fs_warn!(sb, "fmt", args...)`: a report that is not an error.
macro_rules! fs_warn {
    ($sb:expr, $($arg:tt)*) => {
        $crate::fs::errors::warn($sb, format_args!($($arg)*))
    };
}

/// The policy (ext4's `ext4_handle_error`), after the report.
fn handle(sb: &Sb, ino: u32, block: u64, errno: i32, at: &core::panic::Location<'_>) {
    let fi = sb.data();
    let policy = errors_behaviour(&fi.opts, &fi.sb);
    // Recorded while the mount may write (an error after a shutdown
    // counts too); a read-only mount writes nothing.
    if !sb.is_read_only() && !fi.wq_closed.load(Ordering::Acquire) {
        // The source file stands for the function (Rust has no name for
        // it at run time); `dumpe2fs` shows its last 32 bytes' worth.
        let file = at.file();
        let func = file.rsplit('/').next().unwrap_or(file);
        let ev = ErrorEvent::new(
            crate::glue::task::real_seconds(),
            ino,
            block,
            func,
            at.line(),
            errno.abs(),
        );
        {
            let mut p = fi.pending_errors.lock();
            *p = Some(match *p {
                Some(prev) => PendingErrors {
                    count: prev.count.saturating_add(1),
                    first: prev.first,
                    last: ev,
                },
                None => PendingErrors {
                    count: 1,
                    first: ev,
                    last: ev,
                },
            });
        }
        // No change after this one commits (ext4's shutdown): the mount
        // read-only for rext4's operations, the journal aborted.
        if policy == ErrorsBehaviour::RemountRo && fi.shut_down() {
            if let Some(j) = fi.journal.as_ref() {
                j.abort(code::EIO);
            }
            sb_err!(sb, "Remounting filesystem read-only");
        }
        if policy != ErrorsBehaviour::Panic {
            queue_update(sb);
        }
    }
    if policy == ErrorsBehaviour::Panic && !crate::glue::task::system_going_down() {
        // As ext4: the journal aborted (nothing more commits), the
        // record written directly, in this context (no handle: this may
        // be inside one, or under a folio lock), then the panic.
        if let Some(j) = fi.journal.as_ref() {
            j.abort(code::EIO);
        }
        if let Some(p) = fi.pending_errors.lock().take() {
            let _ = super::super_ops::record_errors_direct(sb, &p);
        }
        sb.panic_after_error();
    }
}

/// Queues the superblock update unless the mount is going away (then the
/// unmount writes what is pending itself). See also [`settle`].
pub(crate) fn queue_update(sb: &Sb) {
    let fi = sb.data();
    if !fi.wq_closed.load(Ordering::Acquire) {
        fi.wq.queue(&fi.sb_work);
    }
}

/// Failed writes caught by the block device hook (`glue::bdev_hook`),
/// in the hook's work item: a filesystem error at once (the policy
/// applies), with the time from the failed write's completion to here
/// kept for `/sys` and the log.
pub(crate) struct WriteErrors;

impl WriteErrorFn<Rext4> for WriteErrors {
    fn write_failed(
        sb: &SuperBlock<Rext4, New>,
        failed: u32,
        device: u32,
        block: u64,
        latency_ns: u64,
    ) {
        if let Some(fi) = sb.try_data() {
            fi.write_errors.fetch_add(failed, Ordering::Relaxed);
            fi.write_error_latency_ns
                .store(latency_ns, Ordering::Relaxed);
            // Failed writes of the device's own folios moved its error
            // sequence too: the backstop must not report them a second
            // time. (File data written home went to the file's.)
            if device > 0 {
                fi.hook_reported.store(true, Ordering::Release);
            }
        }
        error_at(
            sb,
            block,
            code::EIO.to_errno(),
            format_args!(
                "{} write(s) to the device failed, the first to block {} (lost async page write); caught {} us after its completion",
                failed,
                block,
                latency_ns / 1000
            ),
        );
    }
}

/// The errseq backstop: a write error on the device since the last check
/// (the mount's sample of the device mapping's `wb_err`), from any path,
/// hooked or not (jbd2's checkpoint, the journal superblock,
/// `sync_dirty_buffer`), becomes a filesystem error through the policy
/// and EIO. Checked at every namespace and attribute handle start, in
/// `sync_fs` and around the journal flushes (unmount, remount read-only,
/// freeze), as ext4 checks it in no-journal mode.
pub(crate) fn check_device(sb: &Sb) -> kernel::error::Result {
    let fi = sb.data();
    if !sb.device_err_since(*fi.device_err.lock()) {
        return Ok(());
    }
    let r = {
        let mut since = fi.device_err.lock();
        sb.device_err_advance(&mut since)
    };
    match r {
        Ok(()) => Ok(()),
        // What the hook caught and reported already.
        Err(_) if fi.hook_reported.swap(false, Ordering::AcqRel) => Ok(()),
        Err(e) => {
            error_errno(
                sb,
                code::EIO.to_errno(),
                format_args!(
                    "metadata write error on the device (error {}, found by its error sequence)",
                    e.to_errno()
                ),
            );
            Err(code::EIO)
        }
    }
}

/// Runs the queued error work now and writes what is still pending:
/// before a remount read-only, a freeze or an unmount flushes the
/// journal, so that the record goes with it.
pub(crate) fn settle(sb: &Sb) {
    let fi = sb.data();
    fi.wq.flush();
    if fi.pending_errors.lock().is_some() {
        write_pending(sb);
    }
}

/// The work item that writes the pending error record.
pub(crate) struct UpdateSuper;

impl SbWorkFn<Rext4> for UpdateSuper {
    fn run(sb: &Sb) {
        write_pending(sb);
    }
}

/// Writes the pending error record into the superblock (ext4's
/// `update_super_work`): journalled while the journal runs (the superblock
/// block may be part of the running transaction), else directly with
/// `needs_recovery` kept (an aborted journal still holds what committed).
/// Process context, no locks held.
pub(crate) fn write_pending(sb: &Sb) {
    let fi = sb.data();
    let Some(p) = fi.pending_errors.lock().take() else {
        return;
    };
    let journal = fi
        .journal
        .as_ref()
        .filter(|j| fi.is_writable() && j.errno().is_ok());
    let r = match journal {
        Some(j) => j.start(1).and_then(|h| {
            let r = super::super_ops::record_errors_journalled(sb, &h, &p);
            let s = h.stop();
            r.and(s)
        }),
        None => super::super_ops::record_errors_direct(sb, &p),
    };
    if let Err(e) = r {
        // Kept for the next try (the unmount's superblock write).
        let mut q = fi.pending_errors.lock();
        *q = Some(match *q {
            Some(later) => PendingErrors {
                count: later.count.saturating_add(p.count),
                first: p.first,
                last: later.last,
            },
            None => p,
        });
        sb_err!(
            sb,
            "unable to record the error in the superblock: error {}",
            e.to_errno()
        );
    }
}

/// Maps a disk-layer error to the errno ext4 returns for it: corruption is
/// `EUCLEAN` (EFSCORRUPTED), a bad checksum `EBADMSG` (EFSBADCRC), a failed
/// read `EIO`, the rest `EINVAL`.
pub(crate) fn errno(e: DiskError) -> Error {
    match e {
        DiskError::Corrupt { .. } | DiskError::SystemZone { .. } | DiskError::Truncated => {
            errno::efscorrupted()
        }
        DiskError::BadChecksum { .. } => errno::efsbadcrc(),
        DiskError::Io { .. } => code::EIO,
        DiskError::NotExt4 { .. }
        | DiskError::BlockSizeAbovePage { .. }
        | DiskError::Unsupported { .. }
        | DiskError::UnsupportedFeatures { .. } => code::EINVAL,
    }
}

/// An operation failed after it changed metadata it cannot take back
/// (half a rename, a directory half converted, blocks freed with the tree
/// not updated): the error is reported and the journal aborted, so the
/// running transaction, which holds the half-done change, never commits
/// and the filesystem stays as the last commit left it (ext4's
/// `ext4_abort`), whatever the `errors=` policy says besides. Returns `e`.
#[track_caller]
pub(crate) fn abort_journal<S>(sb: &SuperBlock<Rext4, S>, what: &str, e: Error) -> Error {
    // Aborted first: the error work must not journal its record into the
    // transaction that is being thrown away.
    if let Some(j) = sb.try_data().and_then(|fi| fi.journal.as_ref()) {
        j.abort(e);
    }
    error_errno(
        sb,
        e.to_errno(),
        format_args!("{}: error {}; aborting the journal", what, e.to_errno()),
    );
    e
}

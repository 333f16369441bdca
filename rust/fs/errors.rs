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
use crate::glue::errno;
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
    handle(sb, errno, at);
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

/// `fs_warn!(sb, "fmt", args...)`: a report that is not an error.
macro_rules! fs_warn {
    ($sb:expr, $($arg:tt)*) => {
        $crate::fs::errors::warn($sb, format_args!($($arg)*))
    };
}

/// The policy (ext4's `ext4_handle_error`), after the report.
fn handle(sb: &Sb, errno: i32, at: &core::panic::Location<'_>) {
    let fi = sb.data();
    let policy = errors_behaviour(&fi.opts, &fi.sb);
    if fi.is_writable() {
        // The source file stands for the function (Rust has no name for
        // it at run time); `dumpe2fs` shows its last 32 bytes' worth.
        let file = at.file();
        let func = file.rsplit('/').next().unwrap_or(file);
        let ev = ErrorEvent::new(
            crate::glue::task::real_seconds(),
            0,
            0,
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
        if policy == ErrorsBehaviour::Panic {
            // Written now: nothing runs after the panic.
            write_pending(sb);
        } else {
            queue_update(sb);
        }
    }
    if policy == ErrorsBehaviour::Panic {
        sb.panic_after_error();
    }
}

/// Queues the superblock update unless the mount is going away (then the
/// unmount writes what is pending itself).
pub(crate) fn queue_update(sb: &Sb) {
    let fi = sb.data();
    if !fi.wq_closed.load(Ordering::Acquire) {
        fi.wq.queue(&fi.sb_work);
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
    error_errno(
        sb,
        e.to_errno(),
        format_args!("{}: error {}; aborting the journal", what, e.to_errno()),
    );
    if let Some(j) = sb.try_data().and_then(|fi| fi.journal.as_ref()) {
        j.abort(e);
    }
    e
}

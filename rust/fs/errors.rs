// SPDX-License-Identifier: GPL-2.0

//! Errors found while the filesystem is in use, through one entry point
//! (ext4's `ext4_error`): [`fs_err!`] reports the error, rate-limited per
//! mount (one bad extent block under a large file must not print a line for
//! every block read through it), and counts it. That is all so far, also
//! on the experimental read-write mounts; the error policy
//! (`errors=continue|remount-ro|panic`, aborting the journal) and the
//! superblock's error fields (count, first/last error, for e2fsck) come
//! here with the rest of the write path.
//!
//! Also the mapping of disk-layer errors to the errno ext4 returns.

use super::Rext4;
use crate::disk::Error as DiskError;
use crate::glue::errno;
use crate::glue::SuperBlock;
use core::fmt;
use core::sync::atomic::Ordering;
use kernel::error::{code, Error};

/// Reports an error on the filesystem on `sb`. Before the mount is set up
/// (no per-mount state yet) every message goes out.
pub(crate) fn error<S>(sb: &SuperBlock<Rext4, S>, args: fmt::Arguments<'_>) {
    if let Some(fi) = sb.try_data() {
        fi.error_count.fetch_add(1, Ordering::Relaxed);
        if !fi.ratelimit.allow() {
            return;
        }
    }
    sb_err!(sb, "{}", args);
}

/// `fs_err!(sb, "fmt", args...)`: the filesystem's error entry point.
macro_rules! fs_err {
    ($sb:expr, $($arg:tt)*) => {
        $crate::fs::errors::error($sb, format_args!($($arg)*))
    };
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
/// `ext4_abort`/`ext4_std_error` under `errors=remount-ro`; the full
/// `errors=` policy comes with the error-handling work). Returns `e`.
pub(crate) fn abort_journal<S>(sb: &SuperBlock<Rext4, S>, what: &str, e: Error) -> Error {
    error(
        sb,
        format_args!("{}: error {}; aborting the journal", what, e.to_errno()),
    );
    if let Some(j) = sb.try_data().and_then(|fi| fi.journal.as_ref()) {
        j.abort(e);
    }
    e
}

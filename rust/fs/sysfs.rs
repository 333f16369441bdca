// SPDX-License-Identifier: GPL-2.0

//! What `/sys/fs/rext4/<device>/` shows (the directory itself is the
//! glue's `SysfsDir`, created when the mount is complete and removed
//! first at unmount).
//!
//! As ext4's `/sys/fs/ext4/<device>/`: `errors_count` and the first and
//! last error's `time`, `ino`, `block`, `line`, `func` and `errcode` (the
//! superblock's error record with the errors not yet written to it),
//! `journal_task`, `session_write_kbytes`, and `trigger_fs_error`
//! (writing a message raises a filesystem error with it, through the
//! `errors=` policy). rext4's own: `write_errors` (writes the
//! block-device hook saw fail), `write_error_latency_us` (from the last
//! caught failure's completion to the filesystem error) and `hook_writes`
//! (writes submitted through the hook; 0 where it is not installed).

use super::Sb;
use crate::disk::superblock::{read_error_record, ErrorEvent, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};
use crate::glue::sysfs::SysfsOut;
use crate::sys;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::error::{code, Result};

/// The error record as the superblock will hold it once written: what
/// it holds now plus the errors still pending.
fn error_record(sb: &Sb) -> Result<(u32, Option<ErrorEvent>, Option<ErrorEvent>)> {
    let fi = sb.data();
    let off = (SUPERBLOCK_OFFSET % u64::from(fi.sb.block_size())) as usize;
    // Under the buffer lock: the record may be being written.
    let b = fi.sbh.copy_range_locked(off, SUPERBLOCK_SIZE)?;
    let (mut n, mut first, mut last) = read_error_record(&b).map_err(super::errors::errno)?;
    if let Some(p) = *fi.pending_errors.lock() {
        n = n.saturating_add(p.count);
        first = first.or(Some(p.first));
        last = Some(p.last);
    }
    Ok((n, first, last))
}

/// `cat` of attribute `id`.
pub(crate) fn show(sb: &Sb, id: u32, out: &mut SysfsOut<'_>) -> Result {
    let fi = sb.data();
    let event = |first: bool| -> Result<Option<ErrorEvent>> {
        let (_, f, l) = error_record(sb)?;
        Ok(if first { f } else { l })
    };
    let r = match id {
        sys::REXT4_SYSFS_ERRORS_COUNT => writeln!(out, "{}", error_record(sb)?.0),
        sys::REXT4_SYSFS_FIRST_ERROR_TIME | sys::REXT4_SYSFS_LAST_ERROR_TIME => {
            let e = event(id == sys::REXT4_SYSFS_FIRST_ERROR_TIME)?;
            writeln!(out, "{}", e.map_or(0, |e| e.time))
        }
        sys::REXT4_SYSFS_FIRST_ERROR_INO | sys::REXT4_SYSFS_LAST_ERROR_INO => {
            let e = event(id == sys::REXT4_SYSFS_FIRST_ERROR_INO)?;
            writeln!(out, "{}", e.map_or(0, |e| e.ino))
        }
        sys::REXT4_SYSFS_FIRST_ERROR_BLOCK | sys::REXT4_SYSFS_LAST_ERROR_BLOCK => {
            let e = event(id == sys::REXT4_SYSFS_FIRST_ERROR_BLOCK)?;
            writeln!(out, "{}", e.map_or(0, |e| e.block))
        }
        sys::REXT4_SYSFS_FIRST_ERROR_LINE | sys::REXT4_SYSFS_LAST_ERROR_LINE => {
            let e = event(id == sys::REXT4_SYSFS_FIRST_ERROR_LINE)?;
            writeln!(out, "{}", e.map_or(0, |e| e.line))
        }
        sys::REXT4_SYSFS_FIRST_ERROR_ERRCODE | sys::REXT4_SYSFS_LAST_ERROR_ERRCODE => {
            let e = event(id == sys::REXT4_SYSFS_FIRST_ERROR_ERRCODE)?;
            writeln!(out, "{}", e.map_or(0, |e| e.code))
        }
        sys::REXT4_SYSFS_FIRST_ERROR_FUNC | sys::REXT4_SYSFS_LAST_ERROR_FUNC => {
            let e = event(id == sys::REXT4_SYSFS_FIRST_ERROR_FUNC)?;
            let f = e.map_or([0; 32], |e| e.func);
            let n = f.iter().position(|&c| c == 0).unwrap_or(f.len());
            let name = f.get(..n).unwrap_or(&[]);
            writeln!(out, "{}", core::str::from_utf8(name).unwrap_or("?"))
        }
        sys::REXT4_SYSFS_JOURNAL_TASK => {
            writeln!(out, "{}", fi.journal.as_ref().map_or(0, |j| j.task_pid()))
        }
        sys::REXT4_SYSFS_SESSION_WRITE_KBYTES => {
            let s = sb.sectors_written().saturating_sub(fi.sectors_at_mount);
            writeln!(out, "{}", s / 2)
        }
        sys::REXT4_SYSFS_WRITE_ERRORS => {
            writeln!(out, "{}", fi.write_errors.load(Ordering::Relaxed))
        }
        sys::REXT4_SYSFS_WRITE_ERROR_LATENCY_US => writeln!(
            out,
            "{}",
            fi.write_error_latency_ns.load(Ordering::Relaxed) / 1000
        ),
        sys::REXT4_SYSFS_HOOK_WRITES => {
            let n = fi.bdev_hook.lock().as_ref().map_or(0, |h| h.submitted());
            writeln!(out, "{}", n)
        }
        _ => return Err(code::EIO),
    };
    r.map_err(|_| code::EIO)
}

/// A write to attribute `id`.
pub(crate) fn store(sb: &Sb, id: u32, data: &[u8]) -> Result {
    match id {
        sys::REXT4_SYSFS_TRIGGER_FS_ERROR => {
            let msg = data.strip_suffix(b"\n").unwrap_or(data);
            let msg = core::str::from_utf8(msg).map_err(|_| code::EINVAL)?;
            if msg.is_empty() {
                return Err(code::EINVAL);
            }
            fs_err!(sb, "{}", msg);
            Ok(())
        }
        _ => Err(code::EIO),
    }
}

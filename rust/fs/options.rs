// SPDX-License-Identifier: GPL-2.0

//! Mount options.
//!
//! rext4 accepts ext4's spelling of the options its users pass, declared as
//! a spec list for the kernel's parser (`fs_parse`), which rejects unknown
//! options and bad values with a message in the mount's log. Today every
//! mount is read-only, so the journal options (`data=`,
//! `journal_checksum`, `journal_async_commit`, `commit=`, `barrier`) are
//! recorded and shown in /proc/mounts but change nothing yet.
//! `user_xattr` and `acl` are accepted and are always in effect, as in
//! 6.12's ext4 (which has no `nouser_xattr`/`noacl` any more and refuses
//! them as unknown, as rext4 does); like ext4, /proc/mounts does not show
//! them.

use crate::disk::superblock::Superblock;
use crate::glue::{Constant, Param, ParamSpec};
use core::fmt;
use kernel::c_str;
use kernel::error::{code, Result};
use kernel::str::BStr;

/// `errors=`: what happens when rext4 finds corruption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorsBehaviour {
    /// Log and go on.
    Continue = 1,
    /// Log and make the filesystem read-only.
    RemountRo = 2,
    /// Log and panic.
    Panic = 3,
}

impl ErrorsBehaviour {
    fn from_u32(v: u32) -> Option<Self> {
        [Self::Continue, Self::RemountRo, Self::Panic]
            .into_iter()
            .find(|e| *e as u32 == v)
    }
}

/// `data=`: how file data goes through the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataMode {
    /// Data and metadata journalled.
    Journal = 1,
    /// Data written before the metadata that points at it commits.
    Ordered = 2,
    /// No ordering of data.
    Writeback = 3,
}

impl DataMode {
    fn from_u32(v: u32) -> Option<Self> {
        [Self::Journal, Self::Ordered, Self::Writeback]
            .into_iter()
            .find(|d| *d as u32 == v)
    }
}

/// The options of one mount. `None` means "not given": the superblock's
/// default applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MountOptions {
    pub(crate) errors: Option<ErrorsBehaviour>,
    pub(crate) data: Option<DataMode>,
    pub(crate) journal_checksum: Option<bool>,
    pub(crate) journal_async_commit: bool,
    /// `commit=`: seconds between journal commits (0 given means ext4's
    /// default, 5).
    pub(crate) commit_secs: Option<u32>,
    pub(crate) barrier: Option<bool>,
}

/// jbd2's default commit interval (`JBD2_DEFAULT_MAX_COMMIT_AGE`), seconds.
const DEFAULT_COMMIT_SECS: u32 = 5;

/// `s_default_mount_opts`' journal mode field (`EXT4_DEFM_JMODE`) and its
/// values.
const DEFM_JMODE: u32 = 0x0060;
const DEFM_JMODE_DATA: u32 = 0x0020;
const DEFM_JMODE_WBACK: u32 = 0x0060;

/// The data mode without `data=`: the superblock's default journal mode,
/// else ordered (ext4 picks ordered when it loads the journal).
fn default_data(d: &Superblock) -> DataMode {
    match d.default_mount_opts & DEFM_JMODE {
        DEFM_JMODE_DATA => DataMode::Journal,
        DEFM_JMODE_WBACK => DataMode::Writeback,
        _ => DataMode::Ordered,
    }
}

/// The journal mode the superblock names (`None`: none, ext4 then picks
/// ordered when it loads the journal; without a journal any `data=` other
/// than the named mode is refused).
fn superblock_data(d: &Superblock) -> Option<DataMode> {
    match d.default_mount_opts & DEFM_JMODE {
        0 => None,
        _ => Some(default_data(d)),
    }
}

/// The `errors=` behaviour in effect: the option, else the superblock's.
pub(crate) fn errors_behaviour(opts: &MountOptions, d: &Superblock) -> ErrorsBehaviour {
    opts.errors.unwrap_or_else(|| default_errors(d))
}

/// `errors=` without the option: the superblock's `s_errors` (1 continue,
/// 2 remount-ro, 3 panic; anything else is ext4's default, continue).
fn default_errors(d: &Superblock) -> ErrorsBehaviour {
    match d.errors {
        2 => ErrorsBehaviour::RemountRo,
        3 => ErrorsBehaviour::Panic,
        _ => ErrorsBehaviour::Continue,
    }
}

/// A journal option ext4 refuses at mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JournalConflict {
    /// `journal_async_commit` with data=ordered (explicit or default).
    AsyncCommitOrdered,
    /// A journal option on a filesystem without a journal.
    NoJournal(&'static str),
}

impl fmt::Display for JournalConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalConflict::AsyncCommitOrdered => {
                f.write_str("can't mount with journal_async_commit in data=ordered mode")
            }
            JournalConflict::NoJournal(o) => {
                write!(f, "can't mount with {}, fs mounted w/o journal", o)
            }
        }
    }
}

// Option numbers of `PARAMS`.
const OPT_ERRORS: u8 = 0;
const OPT_DATA: u8 = 1;
const OPT_JOURNAL_CHECKSUM: u8 = 2;
const OPT_NOJOURNAL_CHECKSUM: u8 = 3;
const OPT_JOURNAL_ASYNC_COMMIT: u8 = 4;
const OPT_COMMIT: u8 = 5;
const OPT_BARRIER: u8 = 6;
const OPT_NOBARRIER: u8 = 7;
const OPT_USER_XATTR: u8 = 8;
const OPT_ACL: u8 = 9;

const ERRORS: &[Constant] = &[
    Constant::new(c_str!("continue"), ErrorsBehaviour::Continue as i32),
    Constant::new(c_str!("remount-ro"), ErrorsBehaviour::RemountRo as i32),
    Constant::new(c_str!("panic"), ErrorsBehaviour::Panic as i32),
    Constant::END,
];

const DATA: &[Constant] = &[
    Constant::new(c_str!("journal"), DataMode::Journal as i32),
    Constant::new(c_str!("ordered"), DataMode::Ordered as i32),
    Constant::new(c_str!("writeback"), DataMode::Writeback as i32),
    Constant::END,
];

/// The options rext4 takes, under ext4's names; the kernel's parser
/// rejects anything else with "rext4: Unknown parameter 'KEY'" and a bad
/// value with "rext4: Bad value for 'KEY'" (mount(8) prints both).
pub(crate) const PARAMS: &[ParamSpec] = &[
    ParamSpec::enumeration(c_str!("errors"), OPT_ERRORS, ERRORS),
    ParamSpec::enumeration(c_str!("data"), OPT_DATA, DATA),
    ParamSpec::flag(c_str!("journal_checksum"), OPT_JOURNAL_CHECKSUM),
    ParamSpec::flag(c_str!("nojournal_checksum"), OPT_NOJOURNAL_CHECKSUM),
    ParamSpec::flag(c_str!("journal_async_commit"), OPT_JOURNAL_ASYNC_COMMIT),
    ParamSpec::u32(c_str!("commit"), OPT_COMMIT),
    ParamSpec::flag(c_str!("barrier"), OPT_BARRIER),
    ParamSpec::u32(c_str!("barrier"), OPT_BARRIER),
    ParamSpec::flag(c_str!("nobarrier"), OPT_NOBARRIER),
    ParamSpec::flag(c_str!("user_xattr"), OPT_USER_XATTR),
    ParamSpec::flag(c_str!("acl"), OPT_ACL),
    ParamSpec::END,
];

/// An option number or value the spec list has but [`MountOptions::parse`]
/// does not: the two are out of step.
fn not_handled(p: &Param<'_>) -> kernel::error::Error {
    p.error(format_args!(
        "option '{}' not handled",
        BStr::from_bytes(p.key)
    ));
    code::EINVAL
}

impl MountOptions {
    /// Takes one option the parser matched in [`PARAMS`].
    pub(crate) fn parse(&mut self, p: &Param<'_>) -> Result {
        match p.opt {
            OPT_ERRORS => match ErrorsBehaviour::from_u32(p.u32()) {
                Some(e) => self.errors = Some(e),
                None => return Err(not_handled(p)),
            },
            OPT_DATA => match DataMode::from_u32(p.u32()) {
                Some(d) => self.data = Some(d),
                None => return Err(not_handled(p)),
            },
            OPT_JOURNAL_CHECKSUM => self.journal_checksum = Some(true),
            OPT_NOJOURNAL_CHECKSUM => self.journal_checksum = Some(false),
            // As ext4: asynchronous commit needs the commit block's checksum.
            OPT_JOURNAL_ASYNC_COMMIT => {
                self.journal_async_commit = true;
                self.journal_checksum = Some(true);
            }
            OPT_COMMIT => {
                let secs = match p.u32() {
                    0 => DEFAULT_COMMIT_SECS,
                    s => s,
                };
                // The interval is kept in jiffies in an int, as ext4 does.
                let hz = kernel::time::msecs_to_jiffies(1000).max(1);
                if u64::from(secs) > i32::MAX as u64 / hz as u64 {
                    p.error(format_args!(
                        "invalid commit interval {}, must be smaller than {}",
                        secs,
                        i32::MAX as u64 / hz as u64
                    ));
                    return Err(code::EINVAL);
                }
                self.commit_secs = Some(secs);
            }
            // `barrier` alone turns barriers on, `barrier=N` by N's truth.
            OPT_BARRIER => self.barrier = Some(p.is_flag || p.u32() != 0),
            OPT_NOBARRIER => self.barrier = Some(false),
            // Extended attributes in user. and POSIX ACLs are always on,
            // as in ext4 since 6.2 (which dropped nouser_xattr and noacl):
            // both are accepted and change nothing.
            OPT_USER_XATTR | OPT_ACL => {}
            _ => return Err(not_handled(p)),
        }
        Ok(())
    }
}

impl MountOptions {
    /// The first option given in `self` (a remount's options) that differs
    /// from `current` (the mount's), if any.
    pub(crate) fn changed_from(&self, current: &MountOptions) -> Option<&'static str> {
        if self.errors.is_some() && self.errors != current.errors {
            return Some("errors");
        }
        if self.data.is_some() && self.data != current.data {
            return Some("data");
        }
        let on = |o: Option<bool>| o == Some(true);
        if self.journal_checksum.is_some()
            && on(self.journal_checksum) != on(current.journal_checksum)
        {
            return Some("journal_checksum");
        }
        if self.journal_async_commit && !current.journal_async_commit {
            return Some("journal_async_commit");
        }
        let secs = |o: Option<u32>| o.unwrap_or(DEFAULT_COMMIT_SECS);
        if self.commit_secs.is_some() && secs(self.commit_secs) != secs(current.commit_secs) {
            return Some("commit");
        }
        let barrier = |o: Option<bool>| o.unwrap_or(true);
        if self.barrier.is_some() && barrier(self.barrier) != barrier(current.barrier) {
            return Some("barrier");
        }
        None
    }

    /// The interval between journal commits in seconds (`commit=`; 0 or
    /// none: jbd2's default).
    pub(crate) fn commit_interval(&self) -> u32 {
        match self.commit_secs {
            None | Some(0) => DEFAULT_COMMIT_SECS,
            Some(c) => c,
        }
    }

    /// The data mode in effect: the option, else the superblock's default
    /// journal mode (`s_default_mount_opts`), else ordered, as ext4.
    pub(crate) fn data_mode(&self, d: &Superblock) -> DataMode {
        self.data.unwrap_or_else(|| default_data(d))
    }

    /// Whether journal checksums are on: asked for (also by
    /// `journal_async_commit`) or, by default, with metadata_csum.
    pub(crate) fn journal_checksum_on(&self, d: &Superblock) -> bool {
        self.journal_checksum.unwrap_or(d.has_metadata_csum())
    }

    /// What ext4 refuses at mount among the journal options, as its
    /// message: journal options on a filesystem without a journal, and
    /// `journal_async_commit` with data=ordered.
    pub(crate) fn journal_conflict(&self, d: &Superblock) -> Option<JournalConflict> {
        use JournalConflict::*;
        if d.has_journal() {
            if self.journal_async_commit && self.data_mode(d) == DataMode::Ordered {
                return Some(AsyncCommitOrdered);
            }
            return None;
        }
        if self.journal_async_commit {
            Some(NoJournal("journal_async_commit"))
        } else if self.journal_checksum == Some(true) {
            Some(NoJournal("journal_checksum"))
        } else if self.commit_secs.is_some_and(|c| c != DEFAULT_COMMIT_SECS) {
            Some(NoJournal("commit="))
        } else if self.data.is_some_and(|m| Some(m) != superblock_data(d)) {
            Some(NoJournal("data="))
        } else {
            None
        }
    }

    /// Writes the options as ext4 shows them in /proc/mounts (each with a
    /// leading comma): only what differs from the defaults, the flags in
    /// ext4's table order, then `errors=`, `commit=` and `data=`.
    pub(crate) fn show(&self, d: &Superblock, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let journal = d.has_journal();
        // Without a journal ext4 clears the journal flags and data mode.
        let csum = journal && self.journal_checksum_on(d);
        let csum_default = journal && d.has_metadata_csum();
        if !csum && csum_default {
            f.write_str(",nojournal_checksum")?;
        }
        if csum && !csum_default {
            f.write_str(",journal_checksum")?;
        }
        // ext4's journal_async_commit sets the checksum bit too, and shows
        // only while both are set.
        if journal && self.journal_async_commit && csum {
            f.write_str(",journal_async_commit")?;
        }
        if self.barrier == Some(false) {
            f.write_str(",nobarrier")?;
        }
        if let Some(e) = self.errors.filter(|&e| e != default_errors(d)) {
            let v = match e {
                ErrorsBehaviour::Continue => "continue",
                ErrorsBehaviour::RemountRo => "remount-ro",
                ErrorsBehaviour::Panic => "panic",
            };
            write!(f, ",errors={}", v)?;
        }
        if let Some(c) = self.commit_secs.filter(|&c| c != DEFAULT_COMMIT_SECS) {
            write!(f, ",commit={}", c)?;
        }
        if journal && self.data_mode(d) != default_data(d) {
            let v = match self.data_mode(d) {
                DataMode::Journal => "journal",
                DataMode::Ordered => "ordered",
                DataMode::Writeback => "writeback",
            };
            write!(f, ",data={}", v)?;
        }
        Ok(())
    }

    /// Calls `f(key, value)` for each option that was given (for messages;
    /// /proc/mounts shows what differs from the defaults, [`Self::show`]).
    fn each(
        &self,
        f: &mut dyn FnMut(&str, Option<&dyn fmt::Display>) -> fmt::Result,
    ) -> fmt::Result {
        if let Some(e) = self.errors {
            let v = match e {
                ErrorsBehaviour::Continue => "continue",
                ErrorsBehaviour::RemountRo => "remount-ro",
                ErrorsBehaviour::Panic => "panic",
            };
            f("errors", Some(&v))?;
        }
        if self.journal_checksum == Some(true) {
            f("journal_checksum", None)?;
        }
        if self.journal_async_commit {
            f("journal_async_commit", None)?;
        }
        // As ext4: the interval only when it is not jbd2's default.
        if let Some(c) = self.commit_secs.filter(|&c| c != DEFAULT_COMMIT_SECS) {
            f("commit", Some(&c))?;
        }
        if self.barrier == Some(false) {
            f("nobarrier", None)?;
        }
        if let Some(d) = self.data {
            let v = match d {
                DataMode::Journal => "journal",
                DataMode::Ordered => "ordered",
                DataMode::Writeback => "writeback",
            };
            f("data", Some(&v))?;
        }
        Ok(())
    }
}

/// The options as a list for messages: " a,b=c", or " none".
pub(crate) struct OptionList<'a>(pub(crate) &'a MountOptions);

impl fmt::Display for OptionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = " ";
        self.0.each(&mut |k, v| {
            f.write_str(sep)?;
            sep = ",";
            match v {
                Some(v) => write!(f, "{}={}", k, v),
                None => f.write_str(k),
            }
        })?;
        if sep == " " {
            f.write_str(" none")?;
        }
        Ok(())
    }
}

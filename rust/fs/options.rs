// SPDX-License-Identifier: GPL-2.0

//! Mount options.
//!
//! rext4 accepts ext4's spelling of the options its users pass. Today every
//! mount is read-only, so `data=` and `journal_checksum` are recorded and
//! shown in /proc/mounts but change nothing yet. `user_xattr` and `acl`
//! are accepted and are always in effect, as in 6.12's ext4 (which has no
//! `nouser_xattr`/`noacl` any more and refuses them as unknown, as rext4
//! does); like ext4, /proc/mounts does not show them.

use crate::glue::{Param, Parsed};
use core::fmt;
use kernel::error::{code, Result};
use kernel::str::BStr;

/// `errors=`: what happens when rext4 finds corruption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorsBehaviour {
    /// Log and go on.
    Continue,
    /// Log and make the filesystem read-only.
    RemountRo,
    /// Log and panic.
    Panic,
}

/// `data=`: how file data goes through the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataMode {
    /// Data and metadata journalled.
    Journal,
    /// Data written before the metadata that points at it commits.
    Ordered,
    /// No ordering of data.
    Writeback,
}

/// The options of one mount. `None` means "not given": the superblock's
/// default applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MountOptions {
    pub(crate) errors: Option<ErrorsBehaviour>,
    pub(crate) data: Option<DataMode>,
    pub(crate) journal_checksum: Option<bool>,
}

/// Reports a bad value through the mount's log (mount(8) shows it).
fn bad_value(p: &Param<'_>) -> kernel::error::Error {
    p.error(format_args!(
        "bad value '{}' for mount option '{}'",
        BStr::from_bytes(p.value.unwrap_or(b"")),
        BStr::from_bytes(p.key)
    ));
    code::EINVAL
}

impl MountOptions {
    /// Takes one `key[=value]` option.
    pub(crate) fn parse(&mut self, p: &Param<'_>) -> Result<Parsed> {
        let value = p.value;
        match p.key {
            b"errors" => {
                self.errors = Some(match value {
                    Some(b"continue") => ErrorsBehaviour::Continue,
                    Some(b"remount-ro") => ErrorsBehaviour::RemountRo,
                    Some(b"panic") => ErrorsBehaviour::Panic,
                    _ => return Err(bad_value(p)),
                });
            }
            b"data" => {
                self.data = Some(match value {
                    Some(b"journal") => DataMode::Journal,
                    Some(b"ordered") => DataMode::Ordered,
                    Some(b"writeback") => DataMode::Writeback,
                    _ => return Err(bad_value(p)),
                });
            }
            // Extended attributes in user. and POSIX ACLs are always on,
            // as in ext4 since 6.2 (which dropped nouser_xattr and noacl):
            // both are accepted and change nothing.
            b"user_xattr" | b"acl" if value.is_none() => {}
            b"journal_checksum" if value.is_none() => self.journal_checksum = Some(true),
            b"nojournal_checksum" if value.is_none() => self.journal_checksum = Some(false),
            _ => return Ok(Parsed::Unknown),
        }
        Ok(Parsed::Known)
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
        None
    }

    /// Calls `f(key, value)` for each option that was given.
    fn each(&self, f: &mut dyn FnMut(&str, Option<&str>) -> fmt::Result) -> fmt::Result {
        if let Some(e) = self.errors {
            let v = match e {
                ErrorsBehaviour::Continue => "continue",
                ErrorsBehaviour::RemountRo => "remount-ro",
                ErrorsBehaviour::Panic => "panic",
            };
            f("errors", Some(v))?;
        }
        if self.journal_checksum == Some(true) {
            f("journal_checksum", None)?;
        }
        if let Some(d) = self.data {
            let v = match d {
                DataMode::Journal => "journal",
                DataMode::Ordered => "ordered",
                DataMode::Writeback => "writeback",
            };
            f("data", Some(v))?;
        }
        Ok(())
    }
}

/// The options as /proc/mounts shows them (each with a leading comma).
impl fmt::Display for MountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.each(&mut |k, v| match v {
            Some(v) => write!(f, ",{}={}", k, v),
            None => write!(f, ",{}", k),
        })
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

// SPDX-License-Identifier: GPL-2.0

//! Mount options through the kernel's parser (`fs_parse` over a
//! `fs_parameter_spec` table), as ext4 declares its own.
//!
//! A filesystem lists its options as [`ParamSpec`]s ending with
//! [`ParamSpec::END`]; the VFS's parser matches the key (a `noNAME` is a
//! spec of its own here, as ext4 lists `nobarrier`), checks the value against the
//! spec's type (a flag takes none, `u32` a number, an enumeration one of its
//! names) and reports a bad one itself ("rext4: Bad value for 'errors'")
//! through the mount's log, which mount(8) shows. The filesystem then sees a
//! [`Param`] carrying the option number and the parsed value. Unknown keys
//! go back to the VFS (`source`, and its error for the rest). One name may
//! have a flag spec and a valued spec (`barrier` and `barrier=N`): the
//! parser picks by the value's presence.
//!
//! Only the spec kinds rext4 uses are offered (flag, `u32`, enumeration);
//! the others of `fs_parser.h` follow the same pattern.

use crate::sys;
use core::fmt;
use kernel::str::CStr;

/// One entry of an enumeration option's table: `name` maps to `value`.
#[repr(transparent)]
pub(crate) struct Constant(sys::constant_table);

impl Constant {
    /// `name` stands for `value`.
    pub(crate) const fn new(name: &'static CStr, value: i32) -> Self {
        Constant(sys::constant_table {
            name: name.as_char_ptr(),
            value,
        })
    }

    /// The end of a table (required last entry).
    pub(crate) const END: Self = Constant(sys::constant_table {
        name: core::ptr::null(),
        value: 0,
    });

    const fn is_end(&self) -> bool {
        self.0.name.is_null()
    }
}

/// One mount option a filesystem takes (`fs_parameter_spec`); a list of
/// them is the array the kernel's parser walks.
#[repr(transparent)]
pub(crate) struct ParamSpec(sys::fs_parameter_spec);

impl ParamSpec {
    const fn new(
        name: &'static CStr,
        opt: u8,
        ty: sys::fs_param_type,
        flags: u16,
        data: *const core::ffi::c_void,
    ) -> Self {
        ParamSpec(sys::fs_parameter_spec {
            name: name.as_char_ptr(),
            type_: ty,
            opt,
            flags,
            data,
        })
    }

    /// `NAME` without a value.
    pub(crate) const fn flag(name: &'static CStr, opt: u8) -> Self {
        Self::new(name, opt, None, 0, core::ptr::null())
    }

    /// `NAME=N`, a `u32` ([`Param::u32`]; the parser takes any base the
    /// kernel's `kstrtouint(.., 0)` does: decimal, `0x` hex, `0` octal).
    pub(crate) const fn u32(name: &'static CStr, opt: u8) -> Self {
        Self::new(name, opt, Some(sys::fs_param_is_u32), 0, core::ptr::null())
    }

    /// `NAME=WORD`, one of `table`'s names ([`Param::u32`] is the matched
    /// [`Constant`]'s value). The table ends with [`Constant::END`]; one
    /// without it does not compile when the spec is a constant.
    pub(crate) const fn enumeration(
        name: &'static CStr,
        opt: u8,
        table: &'static [Constant],
    ) -> Self {
        assert!(
            !table.is_empty() && table[table.len() - 1].is_end(),
            "enumeration table without Constant::END"
        );
        Self::new(
            name,
            opt,
            Some(sys::fs_param_is_enum),
            0,
            table.as_ptr().cast(),
        )
    }

    /// The end of a filesystem's list (required last entry).
    pub(crate) const END: Self = ParamSpec(sys::fs_parameter_spec {
        name: core::ptr::null(),
        type_: None,
        opt: 0,
        flags: 0,
        data: core::ptr::null(),
    });

    /// Whether `specs` ends with [`ParamSpec::END`], and only there: the
    /// parser walks the array up to the first entry without a name.
    pub(crate) const fn valid_list(specs: &[ParamSpec]) -> bool {
        let mut i = 0;
        while i < specs.len() {
            if specs[i].0.name.is_null() != (i + 1 == specs.len()) {
                return false;
            }
            i += 1;
        }
        !specs.is_empty()
    }

    /// The array as the parser takes it.
    pub(super) fn as_ptr(specs: &'static [ParamSpec]) -> *const sys::fs_parameter_spec {
        specs.as_ptr().cast()
    }
}

/// A mount option as the parser matched it.
///
/// The filesystem knows which kind of spec each of its option numbers is,
/// and reads the value with the matching accessor (as a C filesystem reads
/// the matching member of `fs_parse_result`).
///
/// INVARIANT: `fc` is the live fs_context the option belongs to, for the
/// duration of the `parse_param` call that lends out this object.
pub(crate) struct Param<'a> {
    /// The matched spec's option number.
    pub(crate) opt: u8,
    /// The option name as given.
    pub(crate) key: &'a [u8],
    /// Whether it came without a value (a [`ParamSpec::flag`]).
    pub(crate) is_flag: bool,
    /// What the parser stored: the number of a `u32` or enumeration option.
    pub(super) number: u32,
    pub(super) fc: *mut sys::fs_context,
}

impl Param<'_> {
    /// The value of a [`ParamSpec::u32`] option, or the matched constant's
    /// value of a [`ParamSpec::enumeration`].
    pub(crate) fn u32(&self) -> u32 {
        self.number
    }

    /// Reports a bad option through the mount's log (`errorfc`): prefixed
    /// with the filesystem's name, shown by mount(8) with the new mount API
    /// and in the kernel log otherwise.
    pub(crate) fn error(&self, args: fmt::Arguments<'_>) {
        // SAFETY: `fc` is live (type invariant); `%pA` in the shim prints
        // the Rust format arguments, which outlive the call.
        unsafe {
            sys::rext4_errorfc(
                self.fc,
                core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
            )
        };
    }
}

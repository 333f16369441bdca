// SPDX-License-Identifier: GPL-2.0

//! Error codes the `kernel` crate of 6.12 does not name (`kernel::error::code`
//! has the others), in ext4's meaning.

use kernel::bindings;
use kernel::error::Error;

fn err(code: u32) -> Error {
    // Errno constants are small positive numbers; the kernel's convention is
    // their negation.
    Error::from_errno(-(code as i32))
}

/// `EFSCORRUPTED` (`EUCLEAN`): the filesystem's metadata is corrupt.
pub(crate) fn efscorrupted() -> Error {
    err(bindings::EUCLEAN)
}

/// `EFSBADCRC` (`EBADMSG`): a metadata checksum does not match.
pub(crate) fn efsbadcrc() -> Error {
    err(bindings::EBADMSG)
}

/// `EOPNOTSUPP`: the operation is not supported.
pub(crate) fn eopnotsupp() -> Error {
    err(bindings::EOPNOTSUPP)
}

/// `ENAMETOOLONG`: a name longer than 255 bytes.
pub(crate) fn enametoolong() -> Error {
    err(bindings::ENAMETOOLONG)
}

/// `ENODATA`: no such extended attribute.
pub(crate) fn enodata() -> Error {
    err(bindings::ENODATA)
}

/// `ENOTEMPTY`: rmdir of a directory that still has entries.
pub(crate) fn enotempty() -> Error {
    err(bindings::ENOTEMPTY)
}

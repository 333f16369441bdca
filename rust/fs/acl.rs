// SPDX-License-Identifier: GPL-2.0

//! POSIX ACLs, read side (ext4's acl.c): the `system.posix_acl_access`
//! and `system.posix_acl_default` attributes in ext4's on-disk ACL format
//! (`crate::disk::xattr::acl`), turned into the kernel's `posix_acl` for
//! `get_inode_acl`. The VFS caches the result per inode and uses it for
//! permission checks (when the mount has SB_POSIXACL) and for reading the
//! ACL attributes.
//!
//! As `ext4_get_acl`: no attribute is no ACL; a value of only the header is
//! no ACL; a malformed value is EINVAL (not filesystem corruption, and no
//! message, as ext4).

use super::xattr;
use super::INode;
use crate::disk::xattr::acl::{Acl, Kind};
use crate::disk::xattr::index;
use crate::glue::errno::enodata;
use crate::glue::xattr::{AclEntry, AclTag, AclType, PosixAcl};
use kernel::error::code;
use kernel::prelude::*;

/// The glue's tag for an on-disk entry's kind.
pub(crate) fn tag(k: Kind) -> AclTag {
    match k {
        Kind::UserObj => AclTag::UserObj,
        Kind::User(uid) => AclTag::User(uid),
        Kind::GroupObj => AclTag::GroupObj,
        Kind::Group(gid) => AclTag::Group(gid),
        Kind::Mask => AclTag::Mask,
        Kind::Other => AclTag::Other,
    }
}

/// `ext4_acl_from_disk`: the kernel ACL of an attribute value.
pub(crate) fn from_disk(value: &[u8]) -> Result<Option<PosixAcl>> {
    let Some(acl) = Acl::parse(value).map_err(|_| code::EINVAL)? else {
        return Ok(None);
    };
    let mut entries = KVec::with_capacity(acl.len(), GFP_KERNEL)?;
    for e in acl.iter() {
        let k = e.kind().ok_or(code::EINVAL)?;
        entries.push(
            AclEntry {
                tag: tag(k),
                perm: e.perm,
            },
            GFP_KERNEL,
        )?;
    }
    PosixAcl::new(entries.iter().copied()).map(Some)
}

/// `get_inode_acl`: the inode's access or default ACL.
pub(crate) fn get_acl(inode: &INode, ty: AclType) -> Result<Option<PosixAcl>> {
    let name_index = match ty {
        AclType::Access => index::POSIX_ACL_ACCESS,
        AclType::Default => index::POSIX_ACL_DEFAULT,
    };
    match xattr::lookup(inode, name_index, b"", from_disk) {
        Err(e) if e == enodata() => Ok(None),
        r => r,
    }
}

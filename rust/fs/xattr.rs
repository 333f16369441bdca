// SPDX-License-Identifier: GPL-2.0

//! Extended attributes, read side (ext4's xattr.c): `getxattr` and
//! `listxattr` over the two places an inode keeps attributes, the in-inode
//! area (the on-disk inode's bytes after `128 + i_extra_isize`) and the
//! attribute block (`i_file_acl`), searched in that order as ext4 does.
//!
//! The inode's bytes are read again from the inode table through the
//! buffer cache on each call (as `ext4_get_inode_loc`); the attribute block
//! through the buffer cache with the verified-bit pattern of the extent
//! code: its checksum and hashes are checked once per read from the
//! device, its structure on every use. The disk layer
//! (`crate::disk::xattr`) validates everything before a name or value is
//! looked at; corruption is reported through `fs_err!` and returned as
//! EFSCORRUPTED (EUCLEAN) or, for a bad checksum, EFSBADCRC (EBADMSG).
//!
//! Semantics as ext4's: a value larger than the caller's buffer is ERANGE
//! (the VFS turns that into E2BIG at its size limits), a missing
//! attribute ENODATA, a name longer than 255 bytes ERANGE; without a
//! buffer the size needed is returned.
//!
//! Values stored in EA inodes (`ea_inode`) are not read: such filesystems
//! are refused at mount (the feature is not among the supported ones), and
//! on a filesystem without the feature an entry that names an EA inode is
//! corruption, found when the attributes are validated (EFSCORRUPTED and a
//! message, as ext4's `check_xattrs`). The per-value EOPNOTSUPP below is
//! what remains should the feature ever be accepted without EA-inode
//! reading.

use super::errors::errno;
use super::extents::{BlockCopy, Blocks};
use super::inode::read_bytes;
use super::{INode, Rext4};
use crate::disk::xattr::{self, index, Entry, NameList, Xattrs};
use crate::glue::errno::{enodata, eopnotsupp};
use crate::glue::xattr::{ListFilter, XattrNs};
use kernel::error::code;
use kernel::prelude::*;

/// The on-disk name index of a namespace.
pub(crate) fn ns_index(ns: XattrNs) -> u8 {
    match ns {
        XattrNs::User => index::USER,
        XattrNs::Trusted => index::TRUSTED,
        XattrNs::Security => index::SECURITY,
        XattrNs::Hurd => index::HURD,
        XattrNs::PosixAclAccess => index::POSIX_ACL_ACCESS,
        XattrNs::PosixAclDefault => index::POSIX_ACL_DEFAULT,
    }
}

/// The namespace whose handler lists an on-disk name index; `None` for
/// indexes ext4 has no handler for (never listed nor read).
fn index_ns(i: u8) -> Option<XattrNs> {
    Some(match i {
        index::USER => XattrNs::User,
        index::TRUSTED => XattrNs::Trusted,
        index::SECURITY => XattrNs::Security,
        index::HURD => XattrNs::Hurd,
        index::POSIX_ACL_ACCESS => XattrNs::PosixAclAccess,
        index::POSIX_ACL_DEFAULT => XattrNs::PosixAclDefault,
        _ => return None,
    })
}

/// Reads the attribute block `blk` of `inode`.
fn read_block(inode: &INode, blk: u64) -> Result<BlockCopy> {
    let sb = inode.sb();
    let d = &sb.data().sb;
    let src = Blocks {
        sb,
        blocks_count: d.blocks_count,
        cache_verified: true,
    };
    // ext4_iget refuses an attribute block outside the data blocks.
    let r = if blk <= u64::from(d.first_data_block) {
        Err(crate::disk::Error::Corrupt {
            what: "extended attribute block number",
            value: blk,
        })
    } else {
        src.read_copy(blk)
    };
    r.map_err(|e| bad_block(inode, blk, e))
}

/// Validates the attribute block read by [`read_block`]: the checksum and
/// hashes once per read from the device (the buffer's verified bit), the
/// structure always.
fn parse_block<'a>(inode: &INode, blk: u64, b: &'a BlockCopy) -> Result<Xattrs<'a>> {
    let sb = inode.sb();
    let d = &sb.data().sb;
    let verified = b.is_verified();
    let x = Xattrs::block_checked(d, blk, b.as_ref(), !verified)
        .map_err(|e| bad_block(inode, blk, e))?;
    if !verified {
        b.set_verified();
    }
    Ok(x)
}

/// The validated in-inode area of an inode read by `read_bytes`.
fn in_inode<'a>(inode: &INode, raw: &'a [u8], extra_isize: u16) -> Result<Option<Xattrs<'a>>> {
    let sb = inode.sb();
    Xattrs::in_inode(&sb.data().sb, raw, extra_isize).map_err(|e| {
        inode_err!(
            sb,
            inode.ino(),
            "inode #{}: in-inode xattrs: {}",
            inode.ino(),
            e
        );
        errno(e)
    })
}

/// The value bytes of an entry (EA-inode values refused).
fn value<'a>(inode: &INode, e: &Entry<'a>) -> Result<&'a [u8]> {
    e.value().map_err(|err| {
        inode_err!(
            inode.sb(),
            inode.ino(),
            "inode #{}: xattr value not readable: {}",
            inode.ino(),
            err
        );
        eopnotsupp()
    })
}

/// Finds attribute `name_index`/`name` of `inode`, in-inode area first,
/// then the attribute block (`ext4_xattr_get`), and hands its value to
/// `f`. ENODATA if it has no such attribute.
pub(crate) fn lookup<R>(
    inode: &INode,
    name_index: u8,
    name: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    if name.len() > xattr::NAME_MAX {
        return Err(code::ERANGE);
    }
    let (raw, di) = read_bytes(inode.sb(), inode.ino() as u32)?;
    if let Some(e) = in_inode(inode, &raw, di.extra_isize)?.and_then(|x| x.get(name_index, name)) {
        return f(value(inode, &e)?);
    }
    let file_acl = inode.read().file_acl;
    if file_acl == 0 {
        return Err(enodata());
    }
    let b = read_block(inode, file_acl)?;
    let x = parse_block(inode, file_acl, &b)?;
    match x.get(name_index, name) {
        Some(e) => f(value(inode, &e)?),
        None => Err(enodata()),
    }
}

/// `getxattr`: the value of `name` in namespace `ns` into `buf`, or its
/// size without a buffer.
pub(crate) fn get(
    inode: &INode,
    ns: XattrNs,
    name: &[u8],
    buf: Option<&mut [u8]>,
) -> Result<usize> {
    lookup(inode, ns_index(ns), name, |v| {
        if let Some(buf) = buf {
            let dst = buf.get_mut(..v.len()).ok_or(code::ERANGE)?;
            dst.copy_from_slice(v);
        }
        Ok(v.len())
    })
}

/// Adds the names of `x` that the caller may see.
fn add_names(names: &mut NameList<'_>, x: &Xattrs<'_>, filter: &ListFilter<Rext4>) -> Result {
    for e in x.entries() {
        let Some(ns) = index_ns(e.name_index) else {
            continue;
        };
        if filter.can_list(ns) {
            names.add(&e).map_err(|_| code::ERANGE)?;
        }
    }
    Ok(())
}

/// `listxattr`: the in-inode names, then the block's, each with its
/// prefix and NUL, into `buf`; without a buffer the size needed.
pub(crate) fn list(
    inode: &INode,
    filter: &ListFilter<Rext4>,
    buf: Option<&mut [u8]>,
) -> Result<usize> {
    let (raw, di) = read_bytes(inode.sb(), inode.ino() as u32)?;
    let mut names = NameList::new(buf);
    if let Some(x) = in_inode(inode, &raw, di.extra_isize)? {
        add_names(&mut names, &x, filter)?;
    }
    let file_acl = inode.read().file_acl;
    if file_acl != 0 {
        let b = read_block(inode, file_acl)?;
        let x = parse_block(inode, file_acl, &b)?;
        add_names(&mut names, &x, filter)?;
    }
    Ok(names.len())
}

/// Reports a bad attribute block `blk` of `inode` (the record names both).
fn bad_block(inode: &INode, blk: u64, e: crate::disk::Error) -> kernel::error::Error {
    inode_err_at!(
        inode.sb(),
        inode.ino(),
        blk,
        errno(e).to_errno(),
        "inode #{}: xattr block {}: {}",
        inode.ino(),
        blk,
        e
    );
    errno(e)
}

// SPDX-License-Identifier: GPL-2.0

//! The filesystem logic, in safe Rust over the glue layer, split by
//! responsibility the way ext4's files are:
//!
//! - `super_ops.rs`: mounting (superblock, group descriptors, per-mount
//!   state, loading and replaying the journal), statfs, remount (ext4's
//!   super.c);
//! - `inode.rs`: reading inodes into the VFS (inode.c);
//! - `journal.rs`: jbd2 handles and the journalled writing of inodes
//!   (ext4_jbd2.c, `ext4_mark_inode_dirty`);
//! - `extents.rs`: the extent tree walk over the buffer cache
//!   (extents.c);
//! - `dir.rs`: directory blocks and readdir (dir.c);
//! - `namei.rs`: lookup (namei.c);
//! - `namespace.rs`: create, mkdir, mknod, symlink, link, unlink, rmdir,
//!   and freeing deleted inodes (namei.c's writing half, `ext4_evict_inode`);
//! - `balloc.rs`: group descriptors, bitmaps, block allocation (balloc.c,
//!   mballoc.c);
//! - `ialloc.rs`: inode allocation (ialloc.c);
//! - `orphan.rs`: orphans, in the orphan file or the classic chain
//!   (orphan.c);
//! - `file.rs`: block mapping for the page cache (reading, and writing
//!   journalled data), SEEK_DATA/SEEK_HOLE, FIEMAP (file.c, inode.c's
//!   get_block, page-io);
//! - `xattr.rs`: extended attributes, getxattr and listxattr (xattr.c);
//! - `acl.rs`: POSIX ACLs from the ext4 ACL format (acl.c);
//! - `truncate.rs`: size changes and freeing a file's blocks
//!   (`ext4_truncate`);
//! - `errors.rs`: the central error entry point (`ext4_error`);
//! - `options.rs`: mount options.
//!
//! [`Rext4`] ties them to the glue's [`FileSystem`] trait.

#[macro_use]
pub(crate) mod errors;
pub(crate) mod acl;
pub(crate) mod balloc;
pub(crate) mod dir;
pub(crate) mod dx;
pub(crate) mod extents;
pub(crate) mod file;
pub(crate) mod ialloc;
pub(crate) mod inode;
pub(crate) mod journal;
pub(crate) mod namei;
pub(crate) mod namespace;
pub(crate) mod options;
pub(crate) mod orphan;
pub(crate) mod super_ops;
pub(crate) mod sysfs;
pub(crate) mod truncate;
pub(crate) mod xattr;

use crate::glue::dentry::DirEmitter;
use crate::glue::file::SeekData;
use crate::glue::inode::{SetAttr, StatxExtra};
use crate::glue::iomap::IoMap;
use crate::glue::super_block::StatFs;
use crate::glue::xattr::{AclType, ListFilter, PosixAcl, XattrNs};
use crate::glue::{FileSystem, New, Param, ParamSpec, SuperBlock};
use core::fmt;
use kernel::prelude::*;
use kernel::types::ARef;

/// The rext4 filesystem type.
pub(crate) struct Rext4;

/// An inode of a rext4 mount.
pub(crate) type INode = crate::glue::INode<Rext4>;
/// A rext4 super_block (mounted unless stated).
pub(crate) type Sb<S = crate::glue::Mounted> = SuperBlock<Rext4, S>;

#[vtable]
impl FileSystem for Rext4 {
    type Data = super_ops::FsInfo;
    type INodeData = inode::InodeData;
    type Options = options::MountOptions;

    const NAME: &'static CStr = kernel::c_str!("rext4");
    // As ext4: every inode's change counter kept and written to disk.
    const I_VERSION: bool = true;
    const PARAMS: &'static [ParamSpec] = options::PARAMS;

    fn parse_param(opts: &mut Self::Options, p: &Param<'_>) -> Result {
        opts.parse(p)
    }

    fn fill_super(sb: &Sb<New>, opts: Self::Options) -> Result<Pin<KBox<Self::Data>>> {
        super_ops::fill_super(sb, opts)
    }

    fn init_root(sb: &Sb) -> Result<ARef<INode>> {
        super_ops::init_root(sb)
    }

    fn reconfigure(sb: &Sb, opts: &Self::Options, read_only: bool) -> Result {
        super_ops::reconfigure(sb, opts, read_only)
    }

    fn statfs(sb: &Sb) -> Result<StatFs> {
        super_ops::statfs(sb)
    }

    fn put_super(sb: &Sb) {
        super_ops::put_super(sb)
    }

    fn sync_fs(sb: &Sb, wait: bool) -> Result {
        super_ops::sync_fs(sb, wait)
    }

    fn freeze_fs(sb: &Sb) -> Result {
        super_ops::freeze_fs(sb)
    }

    fn unfreeze_fs(sb: &Sb) -> Result {
        super_ops::unfreeze_fs(sb)
    }

    fn dirty_inode(inode: &INode) {
        journal::dirty_inode(inode)
    }

    fn fsync(inode: &INode, _datasync: bool) -> Result {
        journal::fsync(inode)
    }

    fn setattr(inode: &INode, attr: &SetAttr<'_>) -> Result {
        inode::setattr(inode, attr)
    }

    fn show_options(sb: &Sb, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        sb.data().opts.show(&sb.data().sb, f)
    }

    fn create_entry(
        dir: &INode,
        name: &[u8],
        spec: &crate::glue::inode::NewSpec<'_>,
    ) -> Result<ARef<INode>> {
        namespace::create_entry(dir, name, spec)
    }

    fn link(inode: &INode, dir: &INode, name: &[u8]) -> Result {
        namespace::link(inode, dir, name)
    }

    fn unlink(dir: &INode, name: &[u8], inode: &INode) -> Result {
        namespace::unlink(dir, name, inode)
    }

    fn rmdir(dir: &INode, name: &[u8], inode: &INode) -> Result {
        namespace::rmdir(dir, name, inode)
    }

    fn rename(
        old_dir: &INode,
        old_name: &[u8],
        inode: &INode,
        new_dir: &INode,
        new_name: &[u8],
        target: Option<&INode>,
        mode: crate::glue::inode::RenameMode,
    ) -> Result {
        namespace::rename(old_dir, old_name, inode, new_dir, new_name, target, mode)
    }

    fn delete_inode(inode: &INode) {
        namespace::delete_inode(inode)
    }

    fn data_journal(sb: &Sb) -> Option<&crate::glue::jbd2::Journal> {
        file::data_journal(sb)
    }

    fn folio_credits(inode: &INode) -> u32 {
        file::folio_credits(inode)
    }

    fn map_block(
        h: Option<&crate::glue::jbd2::Handle<'_>>,
        inode: &INode,
        lblk: u64,
        create: bool,
    ) -> Result<Option<(u64, bool)>> {
        file::map_block(h, inode, lblk, create)
    }

    fn data_written(
        h: &crate::glue::jbd2::Handle<'_>,
        inode: &INode,
        size_changed: bool,
    ) -> Result {
        file::data_written(h, inode, size_changed)
    }

    fn sysfs_show(sb: &Sb, id: u32, out: &mut crate::glue::sysfs::SysfsOut<'_>) -> Result {
        sysfs::show(sb, id, out)
    }

    fn sysfs_store(sb: &Sb, id: u32, data: &[u8]) -> Result {
        sysfs::store(sb, id, data)
    }

    fn commit_data(inode: &INode) {
        file::commit_data(inode)
    }

    fn write_failed(inode: &INode) {
        truncate::write_failed(inode)
    }

    fn retry_alloc(sb: &Sb, retries: u32) -> bool {
        balloc::retry_alloc(sb.data(), retries)
    }

    fn transaction_committed(sb: &Sb, tid: u32) {
        balloc::transaction_committed(sb.data(), tid)
    }

    fn before_evict(inode: &INode) {
        file::before_evict(inode)
    }

    fn read_link(inode: &INode) -> Result<KVec<u8>> {
        namespace::read_link(inode)
    }

    fn lookup(dir: &INode, name: &[u8]) -> Result<Option<ARef<INode>>> {
        namei::lookup(dir, name)
    }

    fn readdir(dir: &INode, emitter: &mut DirEmitter) -> Result {
        dir::readdir(dir, emitter)
    }

    fn statx_extra(inode: &INode) -> StatxExtra {
        inode::statx_extra(inode)
    }

    fn map_blocks(inode: &INode, lblk: u64, max: u64) -> Result<Option<(u64, u64)>> {
        file::map_blocks(inode, lblk, max)
    }

    fn dir_hash_positions(inode: &INode) -> bool {
        dir::hash_order(inode)
    }

    fn seek_data(inode: &INode, offset: i64, what: SeekData) -> Result<i64> {
        file::seek_data_hole(inode, offset, what == SeekData::Data)
    }

    fn fiemap_range(inode: &INode, start: u64, len: u64) -> Result<u64> {
        file::fiemap_range(inode, start, len)
    }

    fn iomap_report(inode: &INode, pos: i64, length: i64) -> Result<IoMap> {
        file::report_extent(inode, pos, length)
    }

    fn getxattr(inode: &INode, ns: XattrNs, name: &[u8], buf: Option<&mut [u8]>) -> Result<usize> {
        xattr::get(inode, ns, name, buf)
    }

    fn listxattr(
        inode: &INode,
        filter: &ListFilter<Self>,
        buf: Option<&mut [u8]>,
    ) -> Result<usize> {
        xattr::list(inode, filter, buf)
    }

    fn get_acl(inode: &INode, ty: AclType) -> Result<Option<PosixAcl>> {
        acl::get_acl(inode, ty)
    }
}

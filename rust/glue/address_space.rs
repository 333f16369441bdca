// SPDX-License-Identifier: GPL-2.0

//! The page cache of a file (`address_space`): reads through mpage and the
//! filesystem's block map (`get_block`).

use super::fs_type::FileSystem;
use super::inode::INode;
use super::zeroed;
use crate::sys;
use core::ffi::c_int;
use core::marker::PhantomData;
use kernel::error::code;

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const AOPS: sys::address_space_operations = sys::address_space_operations {
        read_folio: Some(read_folio::<T>),
        readahead: Some(readahead::<T>),
        invalidate_folio: Some(sys::block_invalidate_folio),
        is_partially_uptodate: Some(sys::block_is_partially_uptodate),
        error_remove_folio: Some(sys::generic_error_remove_folio),
        ..zeroed()
    };
}

/// The address-space operations of files of `T`.
pub(super) fn aops<T: FileSystem>() -> &'static sys::address_space_operations {
    &Tables::<T>::AOPS
}

/// `get_block` for mpage reads: maps up to `bh.b_size` bytes from `iblock`
/// through `T::map_blocks`.
///
/// # Safety
///
/// Called by the mpage code with an inode of `T` and a buffer head to map.
unsafe extern "C" fn get_block<T: FileSystem>(
    inode: *mut sys::inode,
    iblock: u64,
    bh: *mut sys::buffer_head,
    create: c_int,
) -> c_int {
    if create != 0 || !T::HAS_MAP_BLOCKS {
        return code::EROFS.to_errno();
    }
    // SAFETY: the inode is a live inode of `T` under I/O.
    let inode = unsafe { INode::<T>::from_raw(inode) };
    let bits = inode.block_bits();
    // SAFETY: `bh` is the caller's buffer head; `b_size` is the number of
    // bytes it wants mapped.
    let want = unsafe { (*bh).b_size } as u64;
    match T::map_blocks(inode, iblock, (want >> bits).max(1)) {
        Ok(Some((pblk, count))) => {
            let Ok(size) = usize::try_from(count << bits) else {
                return code::EIO.to_errno();
            };
            // SAFETY: maps the buffer to a block the filesystem checked to
            // be inside it, and shrinks it to the mapped run (at most what
            // was asked for).
            unsafe {
                sys::rext4_map_bh(bh, (*inode.as_ptr()).i_sb, pblk);
                (*bh).b_size = size;
            }
            0
        }
        // A hole or unwritten extent: left unmapped, read as zeros.
        Ok(None) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the page cache with a locked folio of a file of `T`.
unsafe extern "C" fn read_folio<T: FileSystem>(
    _file: *mut sys::file,
    folio: *mut sys::folio,
) -> c_int {
    // SAFETY: delegation; `get_block` matches the expected signature.
    unsafe { sys::mpage_read_folio(folio, Some(get_block::<T>)) }
}

/// # Safety
///
/// Called by the page cache for readahead of a file of `T`.
unsafe extern "C" fn readahead<T: FileSystem>(rac: *mut sys::readahead_control) {
    // SAFETY: delegation; `get_block` matches the expected signature.
    unsafe { sys::mpage_readahead(rac, Some(get_block::<T>)) }
}

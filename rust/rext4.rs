// SPDX-License-Identifier: GPL-2.0

//! rext4: the ext4 on-disk format in Rust, journalled through jbd2.
//!
//! The crate is layered so that `unsafe` stays at the bottom:
//!
//! - [`disk`]: the on-disk format, `core` only, shared with the host crate
//!   and the KUnit suite;
//! - `sys`: bindgen output for `include/rext4_bindings.h` plus C shims;
//! - `glue`: thin safe wrappers over the C objects (super_block,
//!   buffer_head, the filesystem type); every `unsafe` block lives here;
//! - `fs`: the filesystem logic in safe Rust over the glue.

use kernel::prelude::*;

pub mod disk;
#[macro_use]
mod glue;
mod fs;
mod sys;

module! {
    type: Rext4Module,
    name: "rext4",
    author: "The rext4 developers",
    description: "ext4 on-disk format in Rust, journalled through jbd2",
    license: "GPL",
    alias: ["fs-rext4"],
}

struct Rext4Module {
    // Dropped in this order: the filesystem type goes before the inode
    // cache its inodes come from.
    _fs_type: glue::fs_type::Registration,
    _inode_cache: glue::inode::InodeCache,
}

impl kernel::Module for Rext4Module {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let cache = glue::inode::InodeCache::create()?;
        let reg = glue::fs_type::Registration::register(module)?;
        pr_info!("filesystem type rext4 registered\n");
        Ok(Rext4Module {
            _fs_type: reg,
            _inode_cache: cache,
        })
    }
}

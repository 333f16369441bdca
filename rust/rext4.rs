// SPDX-License-Identifier: GPL-2.0

#![recursion_limit = "256"]

//! rext4: the ext4 on-disk format in Rust, journalled through jbd2.
//!
//! The crate is layered so that `unsafe` stays at the bottom:
//!
//! - [`disk`]: the on-disk format, `core` only, shared with the host crate
//!   and the KUnit suite;
//! - `sys`: bindgen output for `include/rext4_bindings.h` plus C shims;
//! - `glue`: a safe, generic abstraction over the VFS (the `FileSystem`
//!   trait, operation tables built from it, handles for super_blocks,
//!   inodes and buffer heads); every `unsafe` block lives here, and it
//!   never names `fs`;
//! - `fs`: the filesystem logic in safe Rust, implementing the glue's
//!   traits.

use kernel::prelude::*;

pub mod disk;
#[macro_use]
mod glue;
mod fs;
mod sys;

/// The disk layer's crc32c (`disk::crc32c::crc32c`): the kernel's.
use glue::checksum::crc32c as disk_crc32c;

module! {
    type: Rext4Module,
    name: "rext4",
    author: "The rext4 developers",
    description: "ext4 on-disk format in Rust, journalled through jbd2",
    license: "GPL",
    alias: ["fs-rext4"],
}

struct Rext4Module {
    // Unregisters the type, then destroys its inode cache.
    _fs_type: glue::Registration<fs::Rext4>,
}

impl Drop for Rext4Module {
    fn drop(&mut self) {
        // No mount is left (each holds a module reference); wait for what
        // the block-device hooks may still have running.
        glue::bdev_hook::exit();
        glue::sysfs::exit();
    }
}

impl kernel::Module for Rext4Module {
    fn init(module: &'static ThisModule) -> Result<Self> {
        glue::bdev_hook::init()?;
        glue::sysfs::init()?;
        let reg = glue::Registration::register(module).inspect_err(|_| glue::sysfs::exit())?;
        pr_info!("filesystem type rext4 registered\n");
        Ok(Rext4Module { _fs_type: reg })
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The filesystem logic, in safe Rust over the glue layer.

#[macro_use]
pub(crate) mod report;
pub(crate) mod dir;
pub(crate) mod file;
pub(crate) mod inode;
pub(crate) mod options;
pub(crate) mod super_ops;

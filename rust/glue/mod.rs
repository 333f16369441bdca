// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over the kernel's C objects.
//!
//! This is the only layer with `unsafe` code. Each wrapper states the
//! invariant it relies on (`// INVARIANT:`) and each `unsafe` block says why
//! it holds (`// SAFETY:`).

#[macro_use]
pub(crate) mod print;
pub(crate) mod buffer;
pub(crate) mod errno;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod ops;
pub(crate) mod ratelimit;
pub(crate) mod super_block;
pub(crate) mod task;

//! Host build of rext4's on-disk format layer.
//!
//! The sources are the module's own `rust/disk/`: what `cargo test` checks
//! here is byte for byte what the kernel module runs.
#![no_std]
#![deny(missing_docs)]

#[path = "../../../rust/disk/mod.rs"]
pub mod disk;

pub use disk::*;

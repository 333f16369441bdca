//! Host build of rext4's on-disk format layer.
//!
//! The sources are the module's own `rust/disk/`: what `cargo test` checks
//! here is byte for byte what the kernel module runs. The crate stays
//! `no_std` so `disk` cannot lean on std by accident; [`image`] (host only)
//! uses std explicitly to read image files.
#![no_std]
#![deny(missing_docs)]

extern crate std;

#[path = "../../../rust/disk/mod.rs"]
pub mod disk;

pub mod image;

pub use disk::*;

/// The disk layer's crc32c: the portable one (the kernel module uses the
/// kernel's).
fn disk_crc32c(crc: u32, data: &[u8]) -> u32 {
    disk::crc32c::portable(crc, data)
}

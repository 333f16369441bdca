//! The ext4 on-disk format and the pure algorithms over it.
//!
//! This layer knows bytes, not kernels: it uses `core` only, never allocates,
//! needs one function from the crate that embeds it (`disk_crc32c`: the
//! kernel's crc32c in the module, the portable one elsewhere; see
//! [`crc32c`]), and every parser bounds-checks its input and returns an [`Error`] on bad
//! bytes instead of panicking. The same files are compiled into the kernel
//! module, into the KUnit suite and into the host crate (`tools/ext4disk`),
//! where `cargo test` runs them against images made by mke2fs.
//!
//! The format reference is `Documentation/filesystems/ext4/` in the kernel
//! source.

pub mod alloc;
pub mod bitmap;
pub mod bytes;
pub mod crc16;
pub mod crc32c;
pub mod dir;
pub mod dir_write;
pub mod dx_write;
pub mod error;
pub mod extent;
pub mod extent_tree;
pub mod features;
pub mod group;
pub mod htree;
pub mod inode;
pub mod orphan;
pub mod sort;
pub mod superblock;
pub mod syszone;
pub mod xattr;

pub use error::{Error, Result};

//! Errors of the on-disk format layer.

use super::features::{self, Set};
use core::fmt;

/// Why a structure read from disk was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the structure it should hold.
    Truncated,
    /// The superblock magic is not 0xEF53: this is not an ext2/3/4 filesystem.
    NotExt4 {
        /// The value found where the magic should be.
        magic: u16,
    },
    /// A field holds a value the format does not allow.
    Corrupt {
        /// The structure and field, e.g. `"superblock: s_log_block_size"`.
        what: &'static str,
        /// The offending value.
        value: u64,
    },
    /// A stored checksum does not match the computed one.
    BadChecksum {
        /// The structure whose checksum failed.
        what: &'static str,
        /// The checksum stored on disk.
        stored: u32,
        /// The checksum computed over the bytes.
        computed: u32,
    },
    /// A block reference (an extent, an index entry's child) names blocks
    /// of filesystem metadata (the system zone): corruption.
    SystemZone {
        /// What names the blocks, e.g. `"extent: physical block"`.
        what: &'static str,
        /// First block named.
        start: u64,
        /// Blocks named.
        len: u64,
        /// The metadata range overlapped: first block.
        zone_start: u64,
        /// The metadata range overlapped: one past its last block.
        zone_end: u64,
    },
    /// Reading a block failed.
    Io {
        /// The block that could not be read.
        block: u64,
    },
    /// Valid ext4, but with features rext4 does not implement.
    UnsupportedFeatures {
        /// Which feature set.
        set: Set,
        /// The bits rext4 does not implement.
        bits: u32,
    },
    /// The block size is larger than the page size, which the page cache
    /// (one page holds whole blocks) does not allow.
    BlockSizeAbovePage {
        /// The filesystem's block size.
        block_size: u32,
        /// The kernel's page size.
        page_size: u32,
    },
    /// Valid ext4, but uses something rext4 does not implement.
    Unsupported {
        /// What is not supported.
        what: &'static str,
        /// The value (feature bits, block size, revision, ...).
        value: u64,
    },
}

/// Result type of the disk layer.
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated => write!(f, "structure truncated"),
            Error::NotExt4 { magic } => {
                write!(
                    f,
                    "not an ext4 filesystem (magic {:#06x}, want 0xef53)",
                    magic
                )
            }
            Error::Corrupt { what, value } => write!(f, "corrupt {} ({})", what, value),
            Error::BadChecksum {
                what,
                stored,
                computed,
            } => write!(
                f,
                "{} checksum mismatch (stored {:#010x}, computed {:#010x})",
                what, stored, computed
            ),
            Error::SystemZone {
                what,
                start,
                len,
                zone_start,
                zone_end,
            } => write!(
                f,
                "{} {} (+{}) points into filesystem metadata (system zone blocks {}-{})",
                what,
                start,
                len,
                zone_start,
                zone_end.saturating_sub(1)
            ),
            Error::Io { block } => write!(f, "I/O error reading block {}", block),
            Error::UnsupportedFeatures { set, bits } => {
                let which = match set {
                    Set::Compat => "compatible",
                    Set::Incompat => "incompatible",
                    Set::RoCompat => "read-only compatible",
                };
                write!(f, "unsupported {} features: ", which)?;
                let (c, i, r) = match set {
                    Set::Compat => (bits, 0, 0),
                    Set::Incompat => (0, bits, 0),
                    Set::RoCompat => (0, 0, bits),
                };
                features::write_names(f, c, i, r)
            }
            Error::BlockSizeAbovePage {
                block_size,
                page_size,
            } => write!(
                f,
                "block size {} is larger than the page size ({} bytes)",
                block_size, page_size
            ),
            Error::Unsupported { what, value } => write!(f, "unsupported {} {}", what, value),
        }
    }
}

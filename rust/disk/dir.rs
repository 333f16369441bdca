//! Directory blocks: linear `ext4_dir_entry_2` records, with a checksum tail
//! under metadata_csum; htree (dir_index) interior blocks look like one empty
//! record covering the block and carry a `dx_tail` checksum instead.

use super::bytes::{le16, le32, u8_at};
use super::crc32c::crc32c;
use super::{Error, Result};

/// Smallest record (`EXT4_DIR_REC_LEN(1)`).
pub const MIN_REC_LEN: usize = 12;
/// Size of the checksum tail record.
pub const TAIL_LEN: usize = 12;
/// `det_reserved_ft` of the tail record.
const TAIL_FT: u8 = 0xDE;

/// `file_type` values of directory entries.
pub mod ftype {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// Regular file.
    pub const REG: u8 = 1;
    /// Directory.
    pub const DIR: u8 = 2;
    /// Character device.
    pub const CHRDEV: u8 = 3;
    /// Block device.
    pub const BLKDEV: u8 = 4;
    /// FIFO.
    pub const FIFO: u8 = 5;
    /// Socket.
    pub const SOCK: u8 = 6;
    /// Symbolic link.
    pub const SYMLINK: u8 = 7;
}

/// The space a record with a name of `name_len` bytes needs.
pub const fn rec_len_for(name_len: usize) -> usize {
    (name_len + 8 + 3) & !3
}

/// One live directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Byte offset of the record in the block.
    pub offset: usize,
    /// Inode number (never 0 here).
    pub ino: u32,
    /// `ftype::*` as stored (values of 8 and more are not file types).
    pub file_type: u8,
    /// The name (1..=255 bytes, no NUL, no '/').
    pub name: &'a [u8],
}

/// What kind of block a directory block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Linear entries (possibly followed by a checksum tail).
    Leaf,
    /// htree root (block 0 of an indexed directory).
    DxRoot,
    /// htree interior node.
    DxNode,
}

/// Decodes `rec_len` (block sizes up to 64 KiB encode the full size
/// specially).
fn rec_len(b: &[u8], off: usize, block_size: usize) -> Result<usize> {
    let v = le16(b, off + 4)?;
    Ok(if v == 0xFFFF || v == 0 {
        if block_size >= 65536 {
            block_size
        } else {
            usize::from(v)
        }
    } else if block_size >= 65536 {
        usize::from(v & 0xFFFC) | (usize::from(v & 3) << 16)
    } else {
        usize::from(v)
    })
}

/// Classifies a directory block: `index_dir` tells whether the directory has
/// the htree flag, `lblk` which block of it this is.
pub fn block_kind(b: &[u8], index_dir: bool, lblk: u32) -> Result<BlockKind> {
    if !index_dir {
        return Ok(BlockKind::Leaf);
    }
    if lblk == 0 {
        return Ok(BlockKind::DxRoot);
    }
    // An interior node starts with a fake entry: inode 0 spanning the block.
    if le32(b, 0)? == 0 && rec_len(b, 0, b.len())? == b.len() && u8_at(b, 6)? == 0 {
        return Ok(BlockKind::DxNode);
    }
    Ok(BlockKind::Leaf)
}

/// Whether a leaf block ends with a checksum tail record.
pub fn has_tail(b: &[u8]) -> bool {
    let Some(t) = b.len().checked_sub(TAIL_LEN) else {
        return false;
    };
    matches!(
        (le32(b, t), le16(b, t + 4), u8_at(b, t + 6), u8_at(b, t + 7)),
        (Ok(0), Ok(12), Ok(0), Ok(TAIL_FT))
    )
}

/// Verifies a directory block's checksum (metadata_csum only).
pub fn verify_csum(b: &[u8], kind: BlockKind, inode_seed: u32) -> Result<()> {
    let bad = |stored, computed| {
        Err(Error::BadChecksum {
            what: "directory block",
            stored,
            computed,
        })
    };
    match kind {
        BlockKind::Leaf => {
            if !has_tail(b) {
                return Err(Error::Corrupt {
                    what: "directory block: missing checksum tail",
                    value: 0,
                });
            }
            let t = b.len() - TAIL_LEN;
            let stored = le32(b, t + 8)?;
            let computed = crc32c(inode_seed, b.get(..t).ok_or(Error::Truncated)?);
            if stored != computed {
                return bad(stored, computed);
            }
            Ok(())
        }
        BlockKind::DxRoot | BlockKind::DxNode => {
            let count_off = if kind == BlockKind::DxRoot {
                // "." (12) + ".." (12) + dx_root_info (info_length bytes).
                let info_len = usize::from(u8_at(b, 24 + 5)?);
                24 + info_len
            } else {
                8
            };
            let limit = usize::from(le16(b, count_off)?);
            let count = usize::from(le16(b, count_off + 2)?);
            let tail = count_off + limit * 8;
            if count > limit || tail + 8 > b.len() {
                return Err(Error::Corrupt {
                    what: "htree node: count/limit",
                    value: limit as u64,
                });
            }
            let covered = b.get(..count_off + count * 8).ok_or(Error::Truncated)?;
            let mut c = crc32c(inode_seed, covered);
            c = crc32c(c, b.get(tail..tail + 4).ok_or(Error::Truncated)?);
            c = crc32c(c, &[0, 0, 0, 0]);
            let stored = le32(b, tail + 4)?;
            if stored != c {
                return bad(stored, c);
            }
            Ok(())
        }
    }
}

/// Classifies directory block `lblk` of a directory (`index_dir`: it has the
/// htree flag) and, when `csum_seed` is given (metadata_csum), verifies its
/// checksum: what every reader of a directory block does first.
pub fn check_block(
    b: &[u8],
    index_dir: bool,
    lblk: u32,
    csum_seed: Option<u32>,
) -> Result<BlockKind> {
    let kind = block_kind(b, index_dir, lblk)?;
    if let Some(seed) = csum_seed {
        verify_csum(b, kind, seed)?;
    }
    Ok(kind)
}

/// Iterates over the live entries of a leaf block (or of the "." and ".."
/// records of a dx root; a dx interior node has none), validating every
/// record it passes: a bad record ends the iteration with an error.
pub struct Entries<'a> {
    b: &'a [u8],
    off: usize,
    end: usize,
    max_ino: u32,
}

impl<'a> Entries<'a> {
    /// Iterates over `b` from byte `start` (a previously returned record
    /// offset, or 0). `csum_tail` excludes the tail record; `max_ino` is
    /// `s_inodes_count`.
    pub fn new(b: &'a [u8], start: usize, csum_tail: bool, max_ino: u32) -> Entries<'a> {
        let end = if csum_tail && has_tail(b) {
            b.len() - TAIL_LEN
        } else {
            b.len()
        };
        Entries {
            b,
            off: start,
            end,
            max_ino,
        }
    }

    /// The offset of the next record to be looked at.
    pub fn offset(&self) -> usize {
        self.off
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<DirEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.off < self.end {
            let off = self.off;
            let r = (|| {
                if off + 8 > self.end {
                    return Err(Error::Corrupt {
                        what: "directory entry: record past end of block",
                        value: off as u64,
                    });
                }
                let rl = rec_len(self.b, off, self.b.len())?;
                let ino = le32(self.b, off)?;
                let name_len = usize::from(u8_at(self.b, off + 6)?);
                let ft = u8_at(self.b, off + 7)?;
                if rl < MIN_REC_LEN || rl % 4 != 0 {
                    return Err(Error::Corrupt {
                        what: "directory entry: rec_len",
                        value: rl as u64,
                    });
                }
                if off + rl > self.end {
                    return Err(Error::Corrupt {
                        what: "directory entry: rec_len past end of block",
                        value: rl as u64,
                    });
                }
                if ino != 0 && rec_len_for(name_len) > rl {
                    return Err(Error::Corrupt {
                        what: "directory entry: name_len",
                        value: name_len as u64,
                    });
                }
                if ino > self.max_ino {
                    return Err(Error::Corrupt {
                        what: "directory entry: inode number",
                        value: ino.into(),
                    });
                }
                Ok((rl, ino, name_len, ft))
            })();
            match r {
                Err(e) => {
                    self.off = self.end;
                    return Some(Err(e));
                }
                Ok((rl, ino, name_len, ft)) => {
                    self.off = off + rl;
                    if ino == 0 || name_len == 0 {
                        continue;
                    }
                    let name = match self.b.get(off + 8..off + 8 + name_len) {
                        Some(n) => n,
                        None => return Some(Err(Error::Truncated)),
                    };
                    if name.iter().any(|&c| c == 0 || c == b'/') {
                        self.off = self.end;
                        return Some(Err(Error::Corrupt {
                            what: "directory entry: name",
                            value: off as u64,
                        }));
                    }
                    return Some(Ok(DirEntry {
                        offset: off,
                        ino,
                        file_type: ft,
                        name,
                    }));
                }
            }
        }
        None
    }
}

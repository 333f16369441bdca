//! Extended attributes: in the inode body after `i_extra_isize` and in one
//! external block (`i_file_acl`), plus the ext4 on-disk POSIX ACL format
//! stored in the `system.posix_acl_*` attributes ([`acl`]).
//!
//! # Format (`fs/ext4/xattr.h`)
//!
//! * **In-inode area**: from byte `128 + i_extra_isize` of the on-disk inode
//!   to `s_inode_size`: the magic `0xEA020000` (u32), then entries. Value
//!   offsets count from the first entry (just after the magic). There are
//!   in-inode attributes only when the magic is there.
//! * **Block**: a 32-byte header (`h_magic` 0xEA020000, `h_refcount` number
//!   of inodes sharing the block, `h_blocks` = 1, `h_hash` over the entry
//!   hashes, `h_checksum` with metadata_csum, 12 reserved bytes), then
//!   entries. Value offsets count from the block start; ext4 keeps entries
//!   sorted and values packed at the block end.
//! * **Entry** (`ext4_xattr_entry`, 16 bytes + name padded to 4):
//!   `e_name_len` u8, `e_name_index` u8 (the name's prefix, [`index`]),
//!   `e_value_offs` u16, `e_value_inum` u32 (value in an EA inode: the
//!   `ea_inode` feature, unsupported), `e_value_size` u32, `e_hash` u32, the
//!   name without its prefix and without NUL. A zero u32 where the next
//!   entry would start ends the list.
//! * **Checksum** (metadata_csum, `ext4_xattr_block_csum`): crc32c seeded
//!   with the filesystem checksum seed, over the block number (le64), then
//!   the block with `h_checksum` taken as zero.
//! * **Hashes** (`ext4_xattr_hash_entry`, `ext4_xattr_rehash`): an entry's
//!   hash mixes its name bytes (rotate 5) then its value as le32 words padded
//!   with zeros (rotate 16); the block hash mixes the entry hashes (rotate
//!   16), and is 0 when an entry hash is 0 (e2fsprogs stores 0 for
//!   every block). Kernels before 6.2 mixed name
//!   bytes as signed chars on x86; both forms are accepted, as ext4 does.
//!
//! # Checks
//!
//! [`Xattrs::in_inode`] and [`Xattrs::block`] validate everything before
//! anything is returned, like `check_xattrs`: header magic and `h_blocks`,
//! the checksum, every entry inside the area followed by the terminator,
//! names without NUL, value sizes at most 16 MiB, values inside the area,
//! after the entry table and not overlapping its end (padded size too).
//! Beyond what the kernel checks on read, and as e2fsck does, the entry
//! hashes of a block (and of in-inode entries that carry one) must match,
//! the block hash must match unless it is 0, and `h_refcount` must be at
//! least 1. After validation,
//! iteration and lookup cannot fail.
//!
//! # Using it (for the fs layer)
//!
//! * getxattr: map the handler's prefix to a name index (or use
//!   [`split_name`]), look in the inode body first, then the block
//!   (`ext4_xattr_get`): `Xattrs::in_inode(..)?.and_then(|x| x.get(i, n))`
//!   then `Xattrs::block(..)?.get(i, n)`. The value is
//!   [`Entry::value`]; ERANGE/ENODATA are the caller's.
//! * listxattr: [`Xattrs::entries`] of the inode body then of the block,
//!   each through [`NameList::add`] when [`exposed`] (and, per handler,
//!   `user_xattr` for user./gnu., CAP_SYS_ADMIN for trusted., SB_POSIXACL
//!   for the ACL names).
//! * get_inode_acl: the value of index 2 (access) or 3 (default), name "",
//!   through [`acl::Acl::parse`]; iterate its entries, each as its
//!   [`acl::Kind`], into a `posix_acl`. ext4 reports a malformed ACL as
//!   EINVAL.
//! * A block whose buffer is already verified: [`Xattrs::block_checked`]
//!   without the checksum and hashes.

use super::bytes::{le16, le32, u8_at, Bytes};
use super::crc32c::crc32c;
use super::features::incompat;
use super::superblock::Superblock;
use super::{Error, Result};

/// `h_magic` and the in-inode magic.
pub const MAGIC: u32 = 0xEA02_0000;
/// Size of the block header.
pub const BLOCK_HEADER_LEN: usize = 32;
/// Size of an entry without its name.
pub const ENTRY_LEN: usize = 16;
/// `EXT4_XATTR_SIZE_MAX`: the largest value size ext4 considers sane.
pub const SIZE_MAX: u32 = 1 << 24;
/// Longest attribute name (without prefix) the VFS passes.
pub const NAME_MAX: usize = 255;
/// Size of the base inode, before `i_extra_isize`.
const GOOD_OLD_INODE_SIZE: usize = 128;
/// Offset of `h_checksum` in the block header.
const CSUM_OFF: usize = 16;

/// `e_name_index` values: which prefix the stored name lacks.
pub mod index {
    /// `user.`
    pub const USER: u8 = 1;
    /// `system.posix_acl_access` (stored with an empty name).
    pub const POSIX_ACL_ACCESS: u8 = 2;
    /// `system.posix_acl_default` (stored with an empty name).
    pub const POSIX_ACL_DEFAULT: u8 = 3;
    /// `trusted.`
    pub const TRUSTED: u8 = 4;
    /// `lustre.` (reserved, no handler).
    pub const LUSTRE: u8 = 5;
    /// `security.`
    pub const SECURITY: u8 = 6;
    /// `system.` (ext4 keeps inline data's `system.data` here; no handler).
    pub const SYSTEM: u8 = 7;
    /// `system.richacl` (never merged, no handler).
    pub const RICHACL: u8 = 8;
    /// Encryption context (`c`; no handler).
    pub const ENCRYPTION: u8 = 9;
    /// `gnu.` (the Hurd's attributes).
    pub const HURD: u8 = 10;
}

/// The name prefix of an index, as ext4's handlers (and `getfattr`) spell
/// it. For the two ACL indexes the prefix is the whole name.
pub fn prefix(name_index: u8) -> Option<&'static [u8]> {
    Some(match name_index {
        index::USER => b"user.",
        index::POSIX_ACL_ACCESS => b"system.posix_acl_access",
        index::POSIX_ACL_DEFAULT => b"system.posix_acl_default",
        index::TRUSTED => b"trusted.",
        index::SECURITY => b"security.",
        index::SYSTEM => b"system.",
        index::RICHACL => b"system.richacl",
        index::HURD => b"gnu.",
        _ => return None,
    })
}

/// Whether ext4 has a handler for the index, so that its attributes are
/// listed and can be read through the VFS (user, ACLs, trusted, security,
/// gnu). Attributes of other indexes (`system.data`, encryption contexts,
/// lustre, richacl) exist on disk but are not shown.
pub fn exposed(name_index: u8) -> bool {
    matches!(
        name_index,
        index::USER
            | index::POSIX_ACL_ACCESS
            | index::POSIX_ACL_DEFAULT
            | index::TRUSTED
            | index::SECURITY
            | index::HURD
    )
}

/// Splits a full attribute name (`user.foo`, `system.posix_acl_access`)
/// into the index and the stored name. `None` for names without a known
/// prefix (ext4 answers EOPNOTSUPP).
pub fn split_name(full: &[u8]) -> Option<(u8, &[u8])> {
    // Whole-name indexes first, then "system." as the catch-all for the
    // other system names.
    for i in [
        index::POSIX_ACL_ACCESS,
        index::POSIX_ACL_DEFAULT,
        index::RICHACL,
    ] {
        if prefix(i) == Some(full) {
            return Some((i, &[]));
        }
    }
    for i in [
        index::USER,
        index::TRUSTED,
        index::SECURITY,
        index::HURD,
        index::SYSTEM,
    ] {
        let p = prefix(i)?;
        if let Some(rest) = full.strip_prefix(p) {
            return Some((i, rest));
        }
    }
    None
}

const NAME_HASH_SHIFT: u32 = 5;
const VALUE_HASH_SHIFT: u32 = 16;
const BLOCK_HASH_SHIFT: u32 = 16;

/// `ext4_xattr_hash_entry` (`signed_names` false) and its pre-6.2 x86 twin
/// `ext4_xattr_hash_entry_signed` (true): the hash of a name and of the
/// value bytes `value`, taken as le32 words with the last one zero-padded.
pub fn entry_hash(name: &[u8], value: &[u8], signed_names: bool) -> u32 {
    let mut hash = 0u32;
    for &c in name {
        let v = if signed_names {
            i32::from(c as i8) as u32
        } else {
            u32::from(c)
        };
        hash = hash.rotate_left(NAME_HASH_SHIFT) ^ v;
    }
    for w in value.chunks(4) {
        let mut word = [0u8; 4];
        for (d, s) in word.iter_mut().zip(w) {
            *d = *s;
        }
        hash = hash.rotate_left(VALUE_HASH_SHIFT) ^ u32::from_le_bytes(word);
    }
    hash
}

/// `ext4_xattr_rehash`: the block hash from the entry hashes in order; 0 as
/// soon as one entry hash is 0 (the block is then never shared).
pub fn block_hash(entry_hashes: impl Iterator<Item = u32>) -> u32 {
    let mut hash = 0u32;
    for h in entry_hashes {
        if h == 0 {
            return 0;
        }
        hash = hash.rotate_left(BLOCK_HASH_SHIFT) ^ h;
    }
    hash
}

/// `ext4_xattr_block_csum`: the checksum of attribute block `b` stored at
/// filesystem block `blocknr`, with `h_checksum` taken as zero.
pub fn block_csum(fs_seed: u32, blocknr: u64, b: &[u8]) -> Result<u32> {
    let mut c = crc32c(fs_seed, &blocknr.to_le_bytes());
    c = crc32c(c, b.get(..CSUM_OFF).ok_or(Error::Truncated)?);
    c = crc32c(c, &[0; 4]);
    c = crc32c(c, b.get(CSUM_OFF + 4..).ok_or(Error::Truncated)?);
    Ok(c)
}

/// The space an entry with a name of `name_len` bytes takes
/// (`EXT4_XATTR_LEN`).
pub const fn entry_len(name_len: usize) -> usize {
    (name_len + 3 + ENTRY_LEN) & !3
}

/// A value size rounded up to 4 (`EXT4_XATTR_SIZE`).
const fn padded(size: usize) -> usize {
    (size + 3) & !3
}

/// The header of an attribute block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// Inodes sharing the block.
    pub refcount: u32,
    /// `h_blocks` (always 1).
    pub blocks: u32,
    /// `h_hash`.
    pub hash: u32,
    /// `h_checksum` (metadata_csum).
    pub checksum: u32,
}

/// Where an attribute area was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The inode body.
    InInode,
    /// The attribute block.
    Block,
}

/// One validated attribute area (inode body or block).
#[derive(Debug, Clone, Copy)]
pub struct Xattrs<'a> {
    /// The area: from the in-inode magic (or block start) to its end.
    area: &'a [u8],
    /// Offset of the first entry.
    first: usize,
    /// What value offsets are relative to.
    value_base: usize,
    location: Location,
    header: Option<BlockHeader>,
}

/// One attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// `e_name_index` ([`index`]).
    pub name_index: u8,
    /// The stored name (without prefix; empty for ACLs).
    pub name: &'a [u8],
    /// `e_value_size`.
    pub value_size: u32,
    /// `e_value_inum` (0 unless the value is in an EA inode).
    pub value_inum: u32,
    /// `e_hash`.
    pub hash: u32,
    /// Offset of the entry in its area.
    pub offset: usize,
    value: &'a [u8],
}

impl<'a> Entry<'a> {
    /// The value bytes. Values stored in an EA inode (the `ea_inode`
    /// feature) are [`Error::Unsupported`].
    pub fn value(&self) -> Result<&'a [u8]> {
        if self.value_inum != 0 {
            return Err(Error::Unsupported {
                what: "xattr value in an EA inode (ea_inode), inode",
                value: self.value_inum.into(),
            });
        }
        Ok(self.value)
    }

    /// The prefix of the full name ([`prefix`]).
    pub fn prefix(&self) -> Option<&'static [u8]> {
        prefix(self.name_index)
    }

    /// Length of the full name (prefix + name), without NUL; `None` for
    /// unknown indexes.
    pub fn full_name_len(&self) -> Option<usize> {
        Some(self.prefix()?.len() + self.name.len())
    }
}

fn corrupt(what: &'static str, value: u64) -> Error {
    Error::Corrupt { what, value }
}

/// The raw fields of the entry at `off`.
struct RawEntry {
    name_len: usize,
    name_index: u8,
    value_offs: usize,
    value_inum: u32,
    value_size: u32,
    hash: u32,
}

fn raw_entry(area: &[u8], off: usize) -> Result<RawEntry> {
    Ok(RawEntry {
        name_len: usize::from(u8_at(area, off)?),
        name_index: u8_at(area, off + 1)?,
        value_offs: usize::from(le16(area, off + 2)?),
        value_inum: le32(area, off + 4)?,
        value_size: le32(area, off + 8)?,
        hash: le32(area, off + 12)?,
    })
}

impl<'a> Xattrs<'a> {
    /// The in-inode attributes of an inode: `raw` is its on-disk bytes
    /// (`s_inode_size` of them), `extra_isize` its validated
    /// `i_extra_isize`. `Ok(None)` when the inode has no room for
    /// attributes or no magic there (it has none), an error when the area
    /// is malformed.
    pub fn in_inode(sb: &Superblock, raw: &'a [u8], extra_isize: u16) -> Result<Option<Self>> {
        if !Self::has_in_inode(sb, raw, extra_isize)? {
            return Ok(None);
        }
        let isz = usize::from(sb.inode_size);
        let start = GOOD_OLD_INODE_SIZE + usize::from(extra_isize);
        let area = raw.get(start..isz).ok_or(Error::Truncated)?;
        let x = Xattrs {
            area,
            first: 4,
            value_base: 4,
            location: Location::InInode,
            header: None,
        };
        x.check(sb, true)?;
        Ok(Some(x))
    }

    /// Whether the raw inode `raw` (`s_inode_size` bytes, a slice or read
    /// in place) has an in-inode attribute area: room for it after
    /// `i_extra_isize`, starting with the magic. [`Self::in_inode`] parses
    /// exactly those.
    pub fn has_in_inode<B: Bytes + ?Sized>(
        sb: &Superblock,
        raw: &B,
        extra_isize: u16,
    ) -> Result<bool> {
        let isz = usize::from(sb.inode_size);
        if raw.size() < isz {
            return Err(Error::Truncated);
        }
        let start = GOOD_OLD_INODE_SIZE + usize::from(extra_isize);
        // EXT4_INODE_HAS_XATTR_SPACE: magic and one pad word must fit.
        if extra_isize == 0 || start + 4 + 4 > isz {
            return Ok(false);
        }
        Ok(raw.le32_at(start)? == MAGIC)
    }

    /// The attribute block `b` read from filesystem block `blocknr`
    /// (`i_file_acl`): header, checksum (metadata_csum), entries, values
    /// and hashes are verified.
    pub fn block(sb: &Superblock, blocknr: u64, b: &'a [u8]) -> Result<Self> {
        Self::block_checked(sb, blocknr, b, true)
    }

    /// [`Xattrs::block`] for a block whose checksum and hashes were
    /// verified when it was read from the device (the buffer's verified
    /// bit, as ext4 skips `ext4_xattr_check_block` then): with `verify`
    /// false only the structure is checked again (header, entries, values
    /// inside the block), which iteration relies on.
    pub fn block_checked(sb: &Superblock, blocknr: u64, b: &'a [u8], verify: bool) -> Result<Self> {
        if b.len() != sb.block_size() as usize {
            return Err(Error::Truncated);
        }
        let header = BlockHeader {
            refcount: le32(b, 4)?,
            blocks: le32(b, 8)?,
            hash: le32(b, 12)?,
            checksum: le32(b, CSUM_OFF)?,
        };
        let magic = le32(b, 0)?;
        if magic != MAGIC {
            return Err(corrupt("xattr block: magic", magic.into()));
        }
        if header.blocks != 1 {
            return Err(corrupt("xattr block: h_blocks", header.blocks.into()));
        }
        if verify && sb.has_metadata_csum() {
            let computed = block_csum(sb.csum_seed, blocknr, b)?;
            if computed != header.checksum {
                return Err(Error::BadChecksum {
                    what: "xattr block",
                    stored: header.checksum,
                    computed,
                });
            }
        }
        if header.refcount == 0 {
            return Err(corrupt("xattr block: h_refcount", 0));
        }
        let x = Xattrs {
            area: b,
            first: BLOCK_HEADER_LEN,
            value_base: 0,
            location: Location::Block,
            header: Some(header),
        };
        x.check(sb, verify)?;
        if !verify {
            return Ok(x);
        }
        // e2fsprogs leaves h_hash 0 (it only matters for block sharing);
        // the kernel always stores the rehash.
        let computed = block_hash(x.entries().map(|e| e.hash));
        if header.hash != 0 && computed != header.hash {
            return Err(Error::BadChecksum {
                what: "xattr block hash",
                stored: header.hash,
                computed,
            });
        }
        Ok(x)
    }

    /// `check_xattrs` plus (with `hashes`) the entry hashes.
    fn check(&self, sb: &Superblock, hashes: bool) -> Result<()> {
        let end = self.area.len();
        // The names: each entry and the terminator inside the area.
        let mut off = self.first;
        loop {
            if off.checked_add(4).map_or(true, |e| e > end) {
                return Err(corrupt("xattr: entry out of bounds", off as u64));
            }
            if le32(self.area, off)? == 0 {
                break;
            }
            let name_len = usize::from(u8_at(self.area, off)?);
            let next = off + entry_len(name_len);
            if next + 4 > end {
                return Err(corrupt("xattr: e_name out of bounds", off as u64));
            }
            let name = self
                .area
                .get(off + ENTRY_LEN..off + ENTRY_LEN + name_len)
                .ok_or(Error::Truncated)?;
            if name.contains(&0) {
                return Err(corrupt("xattr: bad e_name length", off as u64));
            }
            off = next;
        }
        // Values may not start before the terminator's end.
        let names_end = off + 4;
        let value_start = self.value_base;
        let avail = end - value_start;
        let mut off = self.first;
        while le32(self.area, off)? != 0 {
            let e = raw_entry(self.area, off)?;
            if e.value_inum != 0 {
                if !sb.has_incompat(incompat::EA_INODE) {
                    return Err(corrupt(
                        "xattr: e_value_inum without ea_inode feature",
                        e.value_inum.into(),
                    ));
                }
                if e.value_inum == super::inode::ROOT_INO || e.value_inum > sb.inodes_count {
                    return Err(corrupt("xattr: e_value_inum", e.value_inum.into()));
                }
                if e.value_size == 0 {
                    return Err(corrupt("xattr: EA inode value of size 0", off as u64));
                }
            }
            if e.value_size > SIZE_MAX {
                return Err(corrupt("xattr: e_value_size", e.value_size.into()));
            }
            if e.value_size != 0 && e.value_inum == 0 {
                let size = e.value_size as usize;
                if e.value_offs > avail {
                    return Err(corrupt("xattr: e_value_offs", e.value_offs as u64));
                }
                let value = value_start + e.value_offs;
                if value < names_end || padded(size) > end - value {
                    return Err(corrupt("xattr: overlapping e_value", e.value_offs as u64));
                }
                // The hash covers the padded value (ext4 zeroes the pad).
                let name = self
                    .area
                    .get(off + ENTRY_LEN..off + ENTRY_LEN + e.name_len)
                    .ok_or(Error::Truncated)?;
                let words = self
                    .area
                    .get(value..value + padded(size))
                    .ok_or(Error::Truncated)?;
                if hashes {
                    self.check_entry_hash(e.hash, name, words)?;
                }
            } else if e.value_inum == 0 && hashes {
                let name = self
                    .area
                    .get(off + ENTRY_LEN..off + ENTRY_LEN + e.name_len)
                    .ok_or(Error::Truncated)?;
                self.check_entry_hash(e.hash, name, &[])?;
            }
            off += entry_len(e.name_len);
        }
        Ok(())
    }

    /// Block entries must carry their hash; in-inode ones may carry 0 (the
    /// kernel and e2fsprogs store 0 there) or the hash.
    fn check_entry_hash(&self, stored: u32, name: &[u8], value: &[u8]) -> Result<()> {
        if stored == 0 && self.location == Location::InInode {
            return Ok(());
        }
        let computed = entry_hash(name, value, false);
        if stored == computed || stored == entry_hash(name, value, true) {
            return Ok(());
        }
        Err(Error::BadChecksum {
            what: "xattr entry hash",
            stored,
            computed,
        })
    }

    /// Inode body or block.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The block header (blocks only).
    pub fn header(&self) -> Option<BlockHeader> {
        self.header
    }

    /// The attributes in on-disk order.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            x: *self,
            off: self.first,
        }
    }

    /// The attribute `name_index`/`name`, if present.
    pub fn get(&self, name_index: u8, name: &[u8]) -> Option<Entry<'a>> {
        self.entries()
            .find(|e| e.name_index == name_index && e.name == name)
    }
}

/// Iterator over the entries of a validated area.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    x: Xattrs<'a>,
    off: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let area = self.x.area;
        if le32(area, self.off).ok()? == 0 {
            return None;
        }
        let e = raw_entry(area, self.off).ok()?;
        let name = area.get(self.off + ENTRY_LEN..self.off + ENTRY_LEN + e.name_len)?;
        let value = if e.value_inum != 0 || e.value_size == 0 {
            &[][..]
        } else {
            let v = self.x.value_base + e.value_offs;
            area.get(v..v + e.value_size as usize)?
        };
        let entry = Entry {
            name_index: e.name_index,
            name,
            value_size: e.value_size,
            value_inum: e.value_inum,
            hash: e.hash,
            offset: self.off,
            value,
        };
        self.off += entry_len(e.name_len);
        Some(entry)
    }
}

/// The buffer given to [`NameList`] is too small (listxattr's ERANGE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooSmall;

/// Builds listxattr's answer: full names, each NUL-terminated, one after
/// the other (`ext4_xattr_list_entries`). Without a buffer it only counts
/// the bytes needed.
pub struct NameList<'b> {
    buf: Option<&'b mut [u8]>,
    len: usize,
}

impl<'b> NameList<'b> {
    /// Starts a list into `buf` (`None`: size query).
    pub fn new(buf: Option<&'b mut [u8]>) -> NameList<'b> {
        NameList { buf, len: 0 }
    }

    /// Appends `prefix + name + NUL` for `e`; entries of unknown indexes
    /// are skipped (the caller filters by [`exposed`] and mount options).
    pub fn add(&mut self, e: &Entry<'_>) -> core::result::Result<(), BufferTooSmall> {
        let Some(p) = e.prefix() else {
            return Ok(());
        };
        let size = p.len() + e.name.len() + 1;
        let end = self.len.checked_add(size).ok_or(BufferTooSmall)?;
        if let Some(buf) = self.buf.as_deref_mut() {
            let dst = buf.get_mut(self.len..end).ok_or(BufferTooSmall)?;
            let (a, rest) = dst.split_at_mut(p.len());
            a.copy_from_slice(p);
            let (b, nul) = rest.split_at_mut(e.name.len());
            b.copy_from_slice(e.name);
            nul.fill(0);
        }
        self.len = end;
        Ok(())
    }

    /// Bytes written (or needed).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The ext4 on-disk POSIX ACL format (`fs/ext4/acl.h`), the value of
/// `system.posix_acl_access` and `system.posix_acl_default`.
///
/// A 4-byte header (`a_version` = 1) then entries: `e_tag` u16, `e_perm`
/// u16 and, for `ACL_USER` and `ACL_GROUP` only, `e_id` u32 (uid/gid in the
/// initial user namespace). The entry count follows from the size as
/// `ext4_acl_count` computes it (the first four entries taken as short);
/// the entries must then fill the value exactly.
pub mod acl {
    use super::super::bytes::{le16, le32};
    use super::super::{Error, Result};

    /// `EXT4_ACL_VERSION`.
    pub const VERSION: u32 = 1;
    /// `ACL_UNDEFINED_ID`: the id of entries that have none.
    pub const UNDEFINED_ID: u32 = u32::MAX;

    /// `e_tag` values (`include/uapi/linux/posix_acl.h`).
    pub mod tag {
        /// The owner.
        pub const USER_OBJ: u16 = 0x01;
        /// A named user (long entry).
        pub const USER: u16 = 0x02;
        /// The owning group.
        pub const GROUP_OBJ: u16 = 0x04;
        /// A named group (long entry).
        pub const GROUP: u16 = 0x08;
        /// The mask.
        pub const MASK: u16 = 0x10;
        /// Everybody else.
        pub const OTHER: u16 = 0x20;
    }

    /// `e_perm` bits.
    pub mod perm {
        /// Read.
        pub const READ: u16 = 0x04;
        /// Write.
        pub const WRITE: u16 = 0x02;
        /// Execute.
        pub const EXECUTE: u16 = 0x01;
    }

    const HEADER: usize = 4;
    const SHORT: usize = 4;
    const LONG: usize = 8;

    /// One ACL entry.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct AclEntry {
        /// [`tag`].
        pub tag: u16,
        /// [`perm`] bits (not validated, as ext4).
        pub perm: u16,
        /// uid for `USER`, gid for `GROUP`, [`UNDEFINED_ID`] otherwise.
        pub id: u32,
    }

    /// What an entry becomes in the kernel's `struct posix_acl`
    /// (`ext4_acl_from_disk`): the tag, with the uid or gid of named
    /// entries (ids in the initial user namespace).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `ACL_USER_OBJ`.
        UserObj,
        /// `ACL_USER` with its uid.
        User(u32),
        /// `ACL_GROUP_OBJ`.
        GroupObj,
        /// `ACL_GROUP` with its gid.
        Group(u32),
        /// `ACL_MASK`.
        Mask,
        /// `ACL_OTHER`.
        Other,
    }

    impl AclEntry {
        /// The kernel's view of the entry; `None` for a tag no valid ACL
        /// has (entries from [`Acl::iter`] always have a kind).
        pub fn kind(&self) -> Option<Kind> {
            Some(match self.tag {
                tag::USER_OBJ => Kind::UserObj,
                tag::USER => Kind::User(self.id),
                tag::GROUP_OBJ => Kind::GroupObj,
                tag::GROUP => Kind::Group(self.id),
                tag::MASK => Kind::Mask,
                tag::OTHER => Kind::Other,
                _ => return None,
            })
        }
    }

    /// A validated on-disk ACL.
    #[derive(Debug, Clone, Copy)]
    pub struct Acl<'a> {
        entries: &'a [u8],
        count: usize,
    }

    fn invalid(what: &'static str, value: u64) -> Error {
        Error::Corrupt { what, value }
    }

    /// `ext4_acl_count`: the number of entries a value of `size` bytes
    /// holds, or `None` if no count fits.
    pub fn count_for_size(size: usize) -> Option<usize> {
        let size = size.checked_sub(HEADER)?;
        match size.checked_sub(4 * SHORT) {
            None => (size % SHORT == 0).then_some(size / SHORT),
            Some(s) => (s % LONG == 0).then_some(s / LONG + 4),
        }
    }

    impl<'a> Acl<'a> {
        /// Parses an ACL attribute value (`ext4_acl_from_disk`). `Ok(None)`
        /// for an ACL without entries (the kernel's "no ACL"); errors for a
        /// bad version, size, tag, or entries that do not fill the value
        /// exactly (ext4 returns EINVAL for these).
        pub fn parse(value: &'a [u8]) -> Result<Option<Acl<'a>>> {
            if value.len() < HEADER {
                return Err(invalid("posix acl: size", value.len() as u64));
            }
            let version = le32(value, 0)?;
            if version != VERSION {
                return Err(invalid("posix acl: version", version.into()));
            }
            let count = count_for_size(value.len())
                .ok_or(invalid("posix acl: size", value.len() as u64))?;
            if count == 0 {
                return Ok(None);
            }
            let entries = value.get(HEADER..).ok_or(Error::Truncated)?;
            let mut off = 0usize;
            for _ in 0..count {
                if off + SHORT > entries.len() {
                    return Err(invalid("posix acl: entries past the value", off as u64));
                }
                let t = le16(entries, off)?;
                off += match t {
                    tag::USER_OBJ | tag::GROUP_OBJ | tag::MASK | tag::OTHER => SHORT,
                    tag::USER | tag::GROUP => LONG,
                    _ => return Err(invalid("posix acl: e_tag", t.into())),
                };
                if off > entries.len() {
                    return Err(invalid("posix acl: entries past the value", off as u64));
                }
            }
            if off != entries.len() {
                return Err(invalid("posix acl: size", value.len() as u64));
            }
            Ok(Some(Acl { entries, count }))
        }

        /// Number of entries (at least 1).
        pub fn len(&self) -> usize {
            self.count
        }

        /// Always false: an empty ACL parses as `None`.
        pub fn is_empty(&self) -> bool {
            self.count == 0
        }

        /// The entries in on-disk order.
        pub fn iter(&self) -> AclIter<'a> {
            AclIter {
                b: self.entries,
                off: 0,
                left: self.count,
            }
        }
    }

    /// Iterator over the entries of a validated ACL.
    #[derive(Debug, Clone)]
    pub struct AclIter<'a> {
        b: &'a [u8],
        off: usize,
        left: usize,
    }

    impl Iterator for AclIter<'_> {
        type Item = AclEntry;

        fn next(&mut self) -> Option<AclEntry> {
            self.left = self.left.checked_sub(1)?;
            let tag = le16(self.b, self.off).ok()?;
            let perm = le16(self.b, self.off + 2).ok()?;
            let (id, len) = match tag {
                tag::USER | tag::GROUP => (le32(self.b, self.off + 4).ok()?, LONG),
                _ => (UNDEFINED_ID, SHORT),
            };
            self.off += len;
            Some(AclEntry { tag, perm, id })
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.left, Some(self.left))
        }
    }
}

/// An inode that used attribute block `b` (read from filesystem block
/// `blocknr`) is deleted (ext4's `ext4_xattr_release_block`): the block is
/// verified first; with other inodes sharing it, its `h_refcount` drops by
/// one (checksum updated with metadata_csum) and the new count is
/// returned; with none, `b` is left as it is and 0 is returned: the block
/// is to be freed.
pub fn release_block_ref(sb: &Superblock, blocknr: u64, b: &mut [u8]) -> Result<u32> {
    let refcount = {
        let x = Xattrs::block(sb, blocknr, b)?;
        x.header.map_or(0, |h| h.refcount)
    };
    if refcount <= 1 {
        return Ok(0);
    }
    let left = refcount - 1;
    b.get_mut(4..8)
        .ok_or(Error::Truncated)?
        .copy_from_slice(&left.to_le_bytes());
    if sb.has_metadata_csum() {
        let c = block_csum(sb.csum_seed, blocknr, b)?;
        b.get_mut(CSUM_OFF..CSUM_OFF + 4)
            .ok_or(Error::Truncated)?
            .copy_from_slice(&c.to_le_bytes());
    }
    Ok(left)
}

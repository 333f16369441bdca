//! Hashed directory indexes (htree, `dir_index`): the name hashes and the
//! lookup walk from the root to the one leaf block that can hold a name.
//!
//! # Format
//!
//! An indexed directory (inode flag `EXT4_INDEX_FL`) keeps its index in
//! blocks that ordinary readers take for directory blocks with one big empty
//! record:
//!
//! * **dx_root**, logical block 0: a real "." record (`rec_len` 12), a real
//!   ".." record spanning the rest of the block (`rec_len` = block size - 12),
//!   then inside the ".." record's slack the 8-byte `dx_root_info`
//!   (`reserved_zero` u32, `hash_version` u8, `info_length` u8 = 8,
//!   `indirect_levels` u8, `unused_flags` u8), then the entry table.
//! * **dx_node**, interior blocks: a fake record (inode 0, `rec_len` = block
//!   size, `name_len` 0) then the entry table.
//! * **entry table**: `dx_entry { hash: u32, block: u32 }` pairs, the first of
//!   which has its `hash` field replaced by `limit: u16, count: u16` (the
//!   capacity and the number of entries in use, including entry 0). Entry 0
//!   covers hashes below entry 1's; entry *i* covers `[hash_i, hash_{i+1})`.
//!   Hashes are sorted. The low 28 bits of `block` are a logical block of the
//!   directory: a leaf (ordinary `ext4_dir_entry_2` records) below the last
//!   index level, an interior node otherwise.
//! * **dx_tail** (metadata_csum): 8 bytes right after `limit` entries,
//!   `dt_reserved` u32 and `dt_checksum` u32 = crc32c, seeded with the
//!   directory inode's checksum seed, over the block from its start to the
//!   end of the `count` used entries, then the tail's first 4 bytes, then 4
//!   zero bytes (`ext4_dx_csum`).
//!
//! `indirect_levels` is the number of dx_node levels under the root: 0 or 1,
//! and up to 2 with the `large_dir` feature (three index levels).
//!
//! A leaf's names all hash into the range its index entry covers. A split
//! that had to put names of one hash into two leaves sets bit 0 (the
//! *collision bit*) of the second leaf's index hash; names always hash to an
//! even value, so a lookup whose hash equals the next entry's hash with bit 0
//! cleared must search the next leaf too (`ext4_htree_next_block`).
//!
//! # Hashes
//!
//! [`dirhash`] computes `ext4fs_dirhash` (`fs/ext4/hash.c`): the legacy hash,
//! half-MD4 and TEA, each over the name's bytes taken as signed or unsigned
//! `char`. The root stores the signed form (0-2); the superblock's `s_flags`
//! says whether the filesystem uses the unsigned variants (3-5):
//! [`HashConfig::from_superblock`].
//!
//! # Using the walk (for the fs layer)
//!
//! ```text
//! let params = DxParams::new(&sb, dir_size, inode.csum_seed)?;
//! let mut path = htree::probe(&params, name, &mut reader, &mut buf)?;
//! let mut leaf = path.leaf();
//! loop {
//!     // read `leaf`, verify it as a *leaf* block (dir::verify_csum with
//!     // BlockKind::Leaf), search it with dir::Entries
//!     if found { break; }
//!     match path.next_leaf(&params, &mut reader, &mut buf)? {
//!         Some(next) => leaf = next,
//!         None => return ENOENT,
//!     }
//! }
//! ```
//!
//! `reader` implements [`DirBlockReader`] (read a logical block of the
//! directory into the caller's buffer; any `FnMut(u32, &mut [u8]) ->
//! Result<()>` closure is one); `buf` is one block the caller owns. Nothing
//! here allocates. The leaf numbers returned are below `dir_blocks`, never
//! block 0 and never an index block on the path.
//!
//! "." and ".." are not in the index: like ext4, look them up in block 0
//! (the root's two real records) with a linear scan of that block.
//!
//! ext4 treats a malformed index (`ERR_BAD_DX_DIR`: everything this module
//! reports as [`Error::Corrupt`]) by warning and falling back to a linear
//! scan of the directory; checksum failures ([`Error::BadChecksum`]) and I/O
//! errors are returned to the caller. [`Error::Unsupported`] marks siphash
//! (encrypted casefolded directories), which rext4 does not implement.

use super::bytes::{le16, le32, u8_at, Bytes};
use super::features::incompat;
use super::superblock::Superblock;
use super::{Error, Result};

/// `hash_version` values (`DX_HASH_*`).
pub mod hash_version {
    /// The legacy ("dx_hack") hash, signed chars.
    pub const LEGACY: u8 = 0;
    /// Half-MD4, signed chars.
    pub const HALF_MD4: u8 = 1;
    /// TEA, signed chars.
    pub const TEA: u8 = 2;
    /// The legacy hash, unsigned chars.
    pub const LEGACY_UNSIGNED: u8 = 3;
    /// Half-MD4, unsigned chars.
    pub const HALF_MD4_UNSIGNED: u8 = 4;
    /// TEA, unsigned chars.
    pub const TEA_UNSIGNED: u8 = 5;
    /// SipHash (encrypted + casefolded directories, hash stored in the
    /// dirent). Not supported by rext4.
    pub const SIPHASH: u8 = 6;
}

/// `s_flags`: the filesystem hashes names as signed chars.
pub const FLAGS_SIGNED_HASH: u32 = 0x0001;
/// `s_flags`: the filesystem hashes names as unsigned chars.
pub const FLAGS_UNSIGNED_HASH: u32 = 0x0002;

/// Deepest index ext4 builds: root plus two node levels (`large_dir`).
pub const MAX_LEVELS: usize = 3;
/// Index levels without `large_dir`: root plus one node level.
pub const MAX_LEVELS_COMPAT: usize = 2;

/// `EXT4_HTREE_EOF_32BIT`: readdir's end-of-directory cookie; no name may
/// hash to it (shifted left by one).
const HTREE_EOF_32BIT: u32 = 0x7FFF_FFFF;
/// `dx_entry.block` bits that hold the block number.
const BLOCK_MASK: u32 = 0x0FFF_FFFF;
/// Size of a `dx_entry`, of the fake dirent of a node and of `dx_tail`.
pub(super) const ENTRY: usize = 8;
const NODE_HEADER: usize = 8;
const TAIL: usize = 8;
/// "." (12) + ".." header (12) + `dx_root_info` (8).
pub(super) const ROOT_HEADER: usize = 32;
/// The only `info_length` ext4 writes (and the one its checksum code
/// accepts).
const ROOT_INFO_LEN: u8 = 8;

/// A name's hash: the major hash orders the index; the minor one is used by
/// readdir cookies (0 for the legacy hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxHash {
    /// Major hash, bit 0 always clear.
    pub major: u32,
    /// Minor hash.
    pub minor: u32,
}

/// The default seed used when `s_hash_seed` is all zero (the MD4 initial
/// state).
const DEFAULT_SEED: [u32; 4] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476];

/// The legacy hash over bytes read as signed or unsigned chars.
fn legacy<const SIGNED: bool>(name: &[u8]) -> u32 {
    let (mut h0, mut h1): (u32, u32) = (0x12A3_FE2D, 0x37AB_E8F9);
    for &c in name {
        // |c| <= 255 and 255 * 7152373 < 2^31: the product fits an i32.
        let v = byte::<SIGNED>(c).wrapping_mul(7_152_373) as u32;
        let h = h1.wrapping_add(h0 ^ v);
        // Less 0x7FFFFFFF when the top bit is set (without a branch).
        let h = h.wrapping_sub(0x7FFF_FFFF & 0u32.wrapping_sub(h >> 31));
        h1 = h0;
        h0 = h;
    }
    h0 << 1
}

/// `str2hashbuf`: packs up to `4 * W` bytes of `msg` big-endian-ish into
/// words, padding with a word made of the remaining length. `len` is the
/// length of the rest of the name from `msg` on (it sets the padding).
/// Four bytes a step (the hash runs for every name looked up or listed).
fn str2hashbuf<const SIGNED: bool, const W: usize>(msg: &[u8], len: usize, out: &mut [u32; W]) {
    // The C code stores the `int` length in a u32 and shifts it; only the
    // low 32 bits matter and names are at most 255 bytes anyway.
    let l = len as u32;
    let mut pad = l | (l << 8);
    pad |= pad << 16;
    let n = len.min(W * 4).min(msg.len());
    let msg = msg.get(..n).unwrap_or(&[]);
    let shift_in = |val: u32, c: u8| (byte::<SIGNED>(c) as u32).wrapping_add(val << 8);
    let mut words = msg.chunks_exact(4);
    let mut w = 0;
    for (slot, q) in out.iter_mut().zip(&mut words) {
        let mut val = pad;
        for &c in q {
            val = shift_in(val, c);
        }
        *slot = val;
        w += 1;
    }
    // One partial (or pad-only) word, then pad words up to the end.
    let val = words
        .remainder()
        .iter()
        .fold(pad, |val, &c| shift_in(val, c));
    if let Some(slot) = out.get_mut(w) {
        *slot = val;
        w += 1;
    }
    for slot in out.iter_mut().skip(w) {
        *slot = pad;
    }
}

/// One half-MD4 transform of `buf` by `inp`, as `half_md4_transform`.
fn half_md4_transform(buf: &mut [u32; 4], inp: &[u32; 8]) {
    const K1: u32 = 0;
    const K2: u32 = 0x5A82_7999;
    const K3: u32 = 0x6ED9_EBA1;
    let f = |x: u32, y: u32, z: u32| z ^ (x & (y ^ z));
    let g = |x: u32, y: u32, z: u32| (x & y).wrapping_add((x ^ y) & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    let [mut a, mut b, mut c, mut d] = *buf;
    // (function, input word, constant, shift) in the order of the rounds;
    // each step rotates the roles a -> d -> c -> b.
    macro_rules! round {
        ($f:expr, $a:ident, $b:ident, $c:ident, $d:ident, $x:expr, $s:expr) => {
            $a = $a
                .wrapping_add($f($b, $c, $d))
                .wrapping_add($x)
                .rotate_left($s);
        };
    }
    round!(f, a, b, c, d, inp[0].wrapping_add(K1), 3);
    round!(f, d, a, b, c, inp[1].wrapping_add(K1), 7);
    round!(f, c, d, a, b, inp[2].wrapping_add(K1), 11);
    round!(f, b, c, d, a, inp[3].wrapping_add(K1), 19);
    round!(f, a, b, c, d, inp[4].wrapping_add(K1), 3);
    round!(f, d, a, b, c, inp[5].wrapping_add(K1), 7);
    round!(f, c, d, a, b, inp[6].wrapping_add(K1), 11);
    round!(f, b, c, d, a, inp[7].wrapping_add(K1), 19);

    round!(g, a, b, c, d, inp[1].wrapping_add(K2), 3);
    round!(g, d, a, b, c, inp[3].wrapping_add(K2), 5);
    round!(g, c, d, a, b, inp[5].wrapping_add(K2), 9);
    round!(g, b, c, d, a, inp[7].wrapping_add(K2), 13);
    round!(g, a, b, c, d, inp[0].wrapping_add(K2), 3);
    round!(g, d, a, b, c, inp[2].wrapping_add(K2), 5);
    round!(g, c, d, a, b, inp[4].wrapping_add(K2), 9);
    round!(g, b, c, d, a, inp[6].wrapping_add(K2), 13);

    round!(h, a, b, c, d, inp[3].wrapping_add(K3), 3);
    round!(h, d, a, b, c, inp[7].wrapping_add(K3), 9);
    round!(h, c, d, a, b, inp[2].wrapping_add(K3), 11);
    round!(h, b, c, d, a, inp[6].wrapping_add(K3), 15);
    round!(h, a, b, c, d, inp[1].wrapping_add(K3), 3);
    round!(h, d, a, b, c, inp[5].wrapping_add(K3), 9);
    round!(h, c, d, a, b, inp[0].wrapping_add(K3), 11);
    round!(h, b, c, d, a, inp[4].wrapping_add(K3), 15);

    buf[0] = buf[0].wrapping_add(a);
    buf[1] = buf[1].wrapping_add(b);
    buf[2] = buf[2].wrapping_add(c);
    buf[3] = buf[3].wrapping_add(d);
}

/// One TEA transform (16 rounds) of `buf[0..2]` keyed by `inp`.
fn tea_transform(buf: &mut [u32; 4], inp: &[u32; 4]) {
    const DELTA: u32 = 0x9E37_79B9;
    let (mut sum, mut b0, mut b1) = (0u32, buf[0], buf[1]);
    let [a, b, c, d] = *inp;
    for _ in 0..16 {
        sum = sum.wrapping_add(DELTA);
        b0 = b0.wrapping_add(
            ((b1 << 4).wrapping_add(a)) ^ b1.wrapping_add(sum) ^ ((b1 >> 5).wrapping_add(b)),
        );
        b1 = b1.wrapping_add(
            ((b0 << 4).wrapping_add(c)) ^ b0.wrapping_add(sum) ^ ((b0 >> 5).wrapping_add(d)),
        );
    }
    buf[0] = buf[0].wrapping_add(b0);
    buf[1] = buf[1].wrapping_add(b1);
}

/// A name's byte as the C code reads it: a signed or an unsigned char.
/// The signedness is a type parameter, so the hash loops are compiled once
/// per variant with the conversion inline (it runs once per name byte of
/// every lookup).
#[inline(always)]
fn byte<const SIGNED: bool>(c: u8) -> i32 {
    if SIGNED {
        i32::from(c as i8)
    } else {
        i32::from(c)
    }
}

/// Computes the hash of `name` with hash version `version` (0-5, see
/// [`hash_version`]) and `seed` (`s_hash_seed`; all zero selects the default
/// seed), exactly as `ext4fs_dirhash` does for a directory that is not
/// casefolded.
///
/// Siphash (6) is [`Error::Unsupported`]; other versions are
/// [`Error::Corrupt`].
pub fn dirhash(version: u8, seed: &[u32; 4], name: &[u8]) -> Result<DxHash> {
    let seed = if seed.iter().any(|&w| w != 0) {
        *seed
    } else {
        DEFAULT_SEED
    };
    let (major, minor) = match version {
        hash_version::LEGACY => (legacy::<true>(name), 0),
        hash_version::LEGACY_UNSIGNED => (legacy::<false>(name), 0),
        hash_version::HALF_MD4 => half_md4::<true>(seed, name),
        hash_version::HALF_MD4_UNSIGNED => half_md4::<false>(seed, name),
        hash_version::TEA => tea::<true>(seed, name),
        hash_version::TEA_UNSIGNED => tea::<false>(seed, name),
        hash_version::SIPHASH => {
            return Err(Error::Unsupported {
                what: "htree hash siphash (encrypted casefolded directory), version",
                value: version.into(),
            })
        }
        _ => {
            return Err(Error::Corrupt {
                what: "htree: hash version",
                value: version.into(),
            })
        }
    };
    let mut major = major & !1;
    if major == HTREE_EOF_32BIT << 1 {
        major = (HTREE_EOF_32BIT - 1) << 1;
    }
    Ok(DxHash { major, minor })
}

/// The half-MD4 hash (major, minor) of `name` from state `buf`.
fn half_md4<const SIGNED: bool>(mut buf: [u32; 4], name: &[u8]) -> (u32, u32) {
    let mut inp = [0u32; 8];
    for (i, chunk) in name.chunks(32).enumerate() {
        let rest = name.len().saturating_sub(i * 32);
        str2hashbuf::<SIGNED, 8>(chunk, rest, &mut inp);
        half_md4_transform(&mut buf, &inp);
    }
    (buf[1], buf[2])
}

/// The TEA hash (major, minor) of `name` from state `buf`.
fn tea<const SIGNED: bool>(mut buf: [u32; 4], name: &[u8]) -> (u32, u32) {
    let mut inp = [0u32; 4];
    for (i, chunk) in name.chunks(16).enumerate() {
        let rest = name.len().saturating_sub(i * 16);
        str2hashbuf::<SIGNED, 4>(chunk, rest, &mut inp);
        tea_transform(&mut buf, &inp);
    }
    (buf[0], buf[1])
}

/// How a filesystem hashes names: the signedness from `s_flags` and the
/// seed from `s_hash_seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashConfig {
    /// Names are hashed as unsigned chars (versions 3-5).
    pub unsigned: bool,
    /// `s_hash_seed`.
    pub seed: [u32; 4],
}

impl HashConfig {
    /// Whether `s_flags` selects the unsigned variants. With neither flag
    /// set, ext4 uses the signedness of the kernel's own `char` (and records
    /// it at the next read-write mount); Linux builds with `-funsigned-char`
    /// on every architecture since 6.2, so 6.12's ext4 takes the unsigned
    /// variants (fs/ext4/super.c, `__CHAR_UNSIGNED__`). The host crate
    /// follows the kernel, not the host compiler's `char`.
    pub fn unsigned_from_flags(s_flags: u32) -> bool {
        s_flags & FLAGS_SIGNED_HASH == 0 || s_flags & FLAGS_UNSIGNED_HASH != 0
    }

    /// The configuration of a filesystem.
    pub fn from_superblock(sb: &Superblock) -> HashConfig {
        HashConfig {
            unsigned: Self::unsigned_from_flags(sb.flags),
            seed: sb.hash_seed,
        }
    }

    /// The hash version actually computed for a root's `hash_version`
    /// (0-2), as dx_probe adds `s_hash_unsigned`.
    pub fn effective_version(&self, root_version: u8) -> u8 {
        if self.unsigned && root_version <= hash_version::TEA {
            root_version + 3
        } else {
            root_version
        }
    }

    /// Hashes `name` for a directory whose root says `root_version`.
    pub fn hash(&self, root_version: u8, name: &[u8]) -> Result<DxHash> {
        dirhash(self.effective_version(root_version), &self.seed, name)
    }
}

/// Everything the walk needs to know about the filesystem and the
/// directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxParams {
    /// Block size in bytes (1 KiB .. 64 KiB).
    pub block_size: u32,
    /// Blocks of the directory (`i_size >> blocksize_bits`): index entries
    /// pointing at or beyond it are corrupt.
    pub dir_blocks: u32,
    /// The directory inode's checksum seed when the filesystem has
    /// metadata_csum (every index block's `dx_tail` is verified), else
    /// `None`.
    pub csum_seed: Option<u32>,
    /// `large_dir`: three index levels allowed instead of two.
    pub largedir: bool,
    /// Hash signedness and seed.
    pub hash: HashConfig,
}

impl DxParams {
    /// The parameters for a directory of `dir_size` bytes whose inode has
    /// checksum seed `inode_csum_seed` on filesystem `sb`.
    pub fn new(sb: &Superblock, dir_size: u64, inode_csum_seed: u32) -> Result<DxParams> {
        let block_size = sb.block_size();
        let blocks = dir_size >> block_size.trailing_zeros();
        let dir_blocks = u32::try_from(blocks).map_err(|_| Error::Corrupt {
            what: "htree: directory size",
            value: dir_size,
        })?;
        Ok(DxParams {
            block_size,
            dir_blocks,
            csum_seed: sb.has_metadata_csum().then_some(inode_csum_seed),
            largedir: sb.has_incompat(incompat::LARGEDIR),
            hash: HashConfig::from_superblock(sb),
        })
    }

    fn bs(&self) -> usize {
        self.block_size as usize
    }

    /// Index levels allowed (root included).
    pub fn max_levels(&self) -> usize {
        if self.largedir {
            MAX_LEVELS
        } else {
            MAX_LEVELS_COMPAT
        }
    }

    /// The `limit` ext4 requires for a root (`dx_root_limit`).
    pub fn root_limit(&self) -> usize {
        let tail = if self.csum_seed.is_some() { TAIL } else { 0 };
        self.bs().saturating_sub(ROOT_HEADER + tail) / ENTRY
    }

    /// The `limit` ext4 requires for an interior node (`dx_node_limit`).
    pub fn node_limit(&self) -> usize {
        let tail = if self.csum_seed.is_some() { TAIL } else { 0 };
        self.bs().saturating_sub(NODE_HEADER + tail) / ENTRY
    }
}

/// Reads blocks of the directory being searched.
pub trait DirBlockReader {
    /// A block's bytes, held while the walk looks at them (in place: the
    /// walk reads the fields it needs, never the whole block).
    type Block: Bytes;

    /// Reads logical block `lblk` of the directory. A hole or a read
    /// failure is an error (ext4: "Directory hole found for htree index
    /// block").
    fn read_dir_block(&mut self, lblk: u32) -> Result<Self::Block>;

    /// Whether `block` already passed the checks of an index block that
    /// depend on its bytes alone (checksum, hash order) since it was read
    /// (a cache the reader may keep; none by default).
    fn is_verified(&self, _block: &Self::Block) -> bool {
        false
    }

    /// Records that `block` passed those checks.
    fn set_verified(&self, _block: &Self::Block) {}
}

/// `dx_root_info`: the header of the index root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootInfo {
    /// `hash_version` (0-2 on disk; the unsigned variant is chosen by the
    /// superblock).
    pub hash_version: u8,
    /// `info_length` (8).
    pub info_length: u8,
    /// Node levels under the root (0-2).
    pub indirect_levels: u8,
    /// `unused_flags`.
    pub unused_flags: u8,
}

/// A validated index block (root or node): its entry table.
#[derive(Debug)]
pub struct DxBlock<'a, B: Bytes + ?Sized> {
    b: &'a B,
    /// Offset of the count/limit header (entry 0).
    entries_off: usize,
    /// `count`.
    count: usize,
    /// `limit`.
    limit: usize,
}

fn corrupt(what: &'static str, value: u64) -> Error {
    Error::Corrupt { what, value }
}

/// Decodes an on-disk `rec_len` (block sizes of 64 KiB store 65536 as
/// 0xFFFF or 0).
fn rec_len(v: u16, block_size: usize) -> usize {
    if block_size < 65536 {
        usize::from(v)
    } else if v == 0xFFFF || v == 0 {
        block_size
    } else {
        usize::from(v & 0xFFFC) | (usize::from(v & 3) << 16)
    }
}

/// Parses and validates the root block (logical block 0): the "." and ".."
/// records, `dx_root_info`, the entry table (limit, count) and, unless
/// `verified` (the block passed them since it was read), the hash order
/// and, with metadata_csum, the `dx_tail` checksum.
pub fn parse_root<'a, B: Bytes + ?Sized>(
    p: &DxParams,
    block: &'a B,
    verified: bool,
) -> Result<(RootInfo, DxBlock<'a, B>)> {
    let bs = p.bs();
    if block.size() != bs {
        return Err(Error::Truncated);
    }
    let head = block.array_at::<ROOT_HEADER>(0)?;
    let b = &head[..];
    if rec_len(le16(b, 4)?, bs) != 12 || u8_at(b, 6)? != 1 || u8_at(b, 8)? != b'.' {
        return Err(corrupt("htree root: \".\" record", le16(b, 4)?.into()));
    }
    let dd_len = rec_len(le16(b, 12 + 4)?, bs);
    if dd_len != bs.saturating_sub(12)
        || u8_at(b, 12 + 6)? != 2
        || u8_at(b, 12 + 8)? != b'.'
        || u8_at(b, 12 + 9)? != b'.'
    {
        return Err(corrupt("htree root: \"..\" record", dd_len as u64));
    }
    let info = RootInfo {
        hash_version: u8_at(b, 24 + 4)?,
        info_length: u8_at(b, 24 + 5)?,
        indirect_levels: u8_at(b, 24 + 6)?,
        unused_flags: u8_at(b, 24 + 7)?,
    };
    let reserved = le32(b, 24)?;
    if reserved != 0 {
        return Err(corrupt("htree root: reserved_zero", reserved.into()));
    }
    if info.info_length != ROOT_INFO_LEN {
        return Err(corrupt("htree root: info_length", info.info_length.into()));
    }
    match info.hash_version {
        hash_version::LEGACY | hash_version::HALF_MD4 | hash_version::TEA => {}
        hash_version::SIPHASH => {
            return Err(Error::Unsupported {
                what: "htree hash siphash (encrypted casefolded directory), version",
                value: info.hash_version.into(),
            })
        }
        v => return Err(corrupt("htree root: hash_version", v.into())),
    }
    if info.unused_flags & 1 != 0 {
        return Err(corrupt(
            "htree root: unused_flags",
            info.unused_flags.into(),
        ));
    }
    if usize::from(info.indirect_levels) >= p.max_levels() {
        return Err(corrupt(
            "htree root: indirect_levels",
            info.indirect_levels.into(),
        ));
    }
    let blk = entry_table(
        p,
        block,
        ROOT_HEADER,
        p.root_limit(),
        "htree root: limit",
        verified,
    )?;
    Ok((info, blk))
}

/// Parses and validates an interior node: the fake record spanning the
/// block, the entry table and, unless `verified` (see [`parse_root`]), the
/// hash order and, with metadata_csum, the checksum.
pub fn parse_node<'a, B: Bytes + ?Sized>(
    p: &DxParams,
    block: &'a B,
    verified: bool,
) -> Result<DxBlock<'a, B>> {
    let bs = p.bs();
    if block.size() != bs {
        return Err(Error::Truncated);
    }
    let head = block.array_at::<8>(0)?;
    let ino = le32(&head, 0)?;
    let rl = rec_len(le16(&head, 4)?, bs);
    if ino != 0 || rl != bs || u8_at(&head, 6)? != 0 {
        return Err(corrupt("htree node: fake record", rl as u64));
    }
    entry_table(
        p,
        block,
        NODE_HEADER,
        p.node_limit(),
        "htree node: limit",
        verified,
    )
}

/// Validates the count/limit header at `off` and, unless `verified`, the
/// checksum and the hash order of the entries.
fn entry_table<'a, B: Bytes + ?Sized>(
    p: &DxParams,
    b: &'a B,
    off: usize,
    want_limit: usize,
    what: &'static str,
    verified: bool,
) -> Result<DxBlock<'a, B>> {
    let cl = b.array_at::<4>(off)?;
    let limit = usize::from(le16(&cl, 0)?);
    let count = usize::from(le16(&cl, 2)?);
    if limit != want_limit {
        return Err(corrupt(what, limit as u64));
    }
    // `want_limit` leaves room for the table (and the tail) in the block.
    if count == 0 || count > limit {
        return Err(corrupt("htree: entry count", count as u64));
    }
    let blk = DxBlock {
        b,
        entries_off: off,
        count,
        limit,
    };
    if verified {
        return Ok(blk);
    }
    if let Some(seed) = p.csum_seed {
        blk.verify_csum(seed)?;
    }
    let mut prev = 0u32;
    for i in 1..count {
        let h = blk.hash(i)?;
        if h < prev {
            return Err(corrupt("htree: entry hashes out of order", i as u64));
        }
        prev = h;
    }
    Ok(blk)
}

impl<B: Bytes + ?Sized> DxBlock<'_, B> {
    /// Entries in use (including entry 0).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Capacity.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The hash of entry `i` (1..count; entry 0 has none and reads as 0).
    pub fn hash(&self, i: usize) -> Result<u32> {
        if i == 0 {
            return Ok(0);
        }
        if i >= self.count {
            return Err(corrupt("htree: entry index", i as u64));
        }
        self.b.le32_at(self.entry_off(i)?)
    }

    /// The logical block entry `i` points to (low 28 bits of `block`).
    pub fn block(&self, i: usize) -> Result<u32> {
        if i >= self.count {
            return Err(corrupt("htree: entry index", i as u64));
        }
        Ok(self.b.le32_at(self.entry_off(i)? + 4)? & BLOCK_MASK)
    }

    fn entry_off(&self, i: usize) -> Result<usize> {
        i.checked_mul(ENTRY)
            .and_then(|o| o.checked_add(self.entries_off))
            .ok_or(Error::Truncated)
    }

    /// The entry covering `hash`: the last one whose hash is `<= hash`
    /// (binary search over entries 1.., as dx_probe).
    pub fn search(&self, hash: u32) -> Result<usize> {
        // 1 <= i < count (<= limit, which the block holds): the offset
        // cannot wrap.
        last_at_most(self.count, hash, |i| {
            self.b
                .le32_at(self.entries_off.wrapping_add(i.wrapping_mul(ENTRY)))
        })
    }

    /// Verifies the `dx_tail` checksum with the directory inode's seed.
    pub fn verify_csum(&self, inode_seed: u32) -> Result<()> {
        let (c, tail) = dx_csum(self.b, self.entries_off, inode_seed)?;
        let stored = self.b.le32_at(tail + 4)?;
        if stored != c {
            return Err(Error::BadChecksum {
                what: "htree index block",
                stored,
                computed: c,
            });
        }
        Ok(())
    }
}

/// The last position in `0..n` whose `key` is at most `target`, for keys
/// that never go down from position 1 on; position 0 counts as at most any
/// target (an index block's entry 0 has no hash, a leaf list's first leaf
/// starts at 0). Each step halves the window with one key read and no
/// branch on the outcome: this runs at every index level of every lookup.
fn last_at_most<E>(
    n: usize,
    target: u32,
    key: impl Fn(usize) -> core::result::Result<u32, E>,
) -> core::result::Result<usize, E> {
    // The answer lies in [lo, lo + len); 1 <= mid < n.
    let (mut lo, mut len) = (0usize, n);
    while len > 1 {
        let half = len / 2;
        let mid = lo.wrapping_add(half);
        lo = if key(mid)? <= target { mid } else { lo };
        len = len.wrapping_sub(half);
    }
    Ok(lo)
}

/// The `dx_tail` checksum of index block `b` whose entry table (count and
/// limit first) is at `off` (`ext4_dx_csum`): crc32c seeded with the
/// directory inode's seed over the block up to the end of the `count`
/// entries in use, then the tail's first 4 bytes, then 4 zero bytes.
/// Returns it and the offset of the tail (after `limit` entries).
pub(super) fn dx_csum<B: Bytes + ?Sized>(b: &B, off: usize, seed: u32) -> Result<(u32, usize)> {
    let limit = usize::from(b.le16_at(off)?);
    let count = usize::from(b.le16_at(off + 2)?);
    let end = |n: usize| {
        n.checked_mul(ENTRY)
            .and_then(|l| l.checked_add(off))
            .ok_or(Error::Truncated)
    };
    let tail = end(limit)?;
    if count > limit || tail.checked_add(TAIL).map_or(true, |e| e > b.size()) {
        return Err(corrupt("htree: no space for checksum tail", tail as u64));
    }
    let mut c = b.crc32c_range(seed, 0, end(count)?)?;
    c = b.crc32c_range(c, tail, 4)?;
    c = [0u8; 4].crc32c_range(c, 0, 4)?;
    Ok((c, tail))
}

/// Where the walk stands in one index block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Frame {
    /// Logical block of the index block (0 for the root).
    pub lblk: u32,
    /// The entry followed.
    pub at: u16,
    /// The block's `count`.
    pub count: u16,
    /// The hash of entry `at + 1`, when there is one: where the next leaf
    /// at this level starts.
    pub next_hash: Option<u32>,
    /// Lowest hash this block may hold (from its parent entry).
    lo: u32,
    /// Highest hash this block may hold.
    hi: u32,
}

/// The result of [`probe`]: the path from the root to one leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxPath {
    hash: DxHash,
    root: RootInfo,
    levels: usize,
    frames: [Frame; MAX_LEVELS],
    leaf: u32,
}

impl DxPath {
    /// The hash of the name searched for.
    pub fn hash(&self) -> DxHash {
        self.hash
    }

    /// The root's header.
    pub fn root_info(&self) -> RootInfo {
        self.root
    }

    /// The index blocks visited, root first.
    pub fn frames(&self) -> &[Frame] {
        self.frames.get(..self.levels).unwrap_or(&[])
    }

    /// The logical block of the leaf that can hold the name.
    pub fn leaf(&self) -> u32 {
        self.leaf
    }

    /// Whether names with the searched hash may continue in the next leaf
    /// (its index hash, collision bit cleared, equals the searched hash):
    /// when the name is not in [`leaf`](Self::leaf), [`next_leaf`]
    /// (Self::next_leaf) will then return a block to search too.
    pub fn continues(&self) -> bool {
        self.frames()
            .iter()
            .rev()
            .find_map(|f| f.next_hash)
            .is_some_and(|h| h & !1 == self.hash.major)
    }

    /// Steps to the next leaf if the searched hash continues there
    /// (`ext4_htree_next_block` for a lookup): `Ok(None)` when it does not
    /// (the name is absent), otherwise the leaf's logical block, after
    /// re-reading and validating the index blocks on the way.
    pub fn next_leaf<R: DirBlockReader + ?Sized>(
        &mut self,
        p: &DxParams,
        reader: &mut R,
    ) -> Result<Option<u32>> {
        if !self.continues() {
            return Ok(None);
        }
        Ok(self.step(p, reader, true)?.map(|(leaf, _)| leaf))
    }

    /// Steps to the next leaf in hash order whatever its hashes (readdir):
    /// `Ok(None)` after the last leaf, otherwise the leaf's logical block
    /// and the hash its index entry starts at (bit 0 set when names of the
    /// hash before continue into it).
    pub fn next_leaf_any<R: DirBlockReader + ?Sized>(
        &mut self,
        p: &DxParams,
        reader: &mut R,
    ) -> Result<Option<(u32, u32)>> {
        self.step(p, reader, false)
    }

    /// One step to the next leaf; with `same_hash`, only into a leaf whose
    /// index hash (collision bit cleared) is the searched one.
    fn step<R: DirBlockReader + ?Sized>(
        &mut self,
        p: &DxParams,
        reader: &mut R,
        same_hash: bool,
    ) -> Result<Option<(u32, u32)>> {
        // The deepest level with an entry after the one followed.
        let Some(level) = (0..self.levels)
            .rev()
            .find(|&l| self.frames.get(l).is_some_and(|f| f.next_hash.is_some()))
        else {
            return Ok(None);
        };
        let f = *self.frames.get(level).ok_or(Error::Truncated)?;
        let raw = reader.read_dir_block(f.lblk)?;
        let blk = if level == 0 {
            parse_checked_root(p, reader, &raw)?.1
        } else {
            parse_checked_node(p, reader, &raw)?
        };
        let at = usize::from(f.at) + 1;
        if at >= blk.count() {
            return Ok(None);
        }
        let h = blk.hash(at)?;
        if same_hash && h & !1 != self.hash.major {
            return Ok(None);
        }
        let mut child = self.follow(p, level, &blk, at)?;
        // Down the first entries of the levels below.
        for l in level + 1..self.levels {
            let (lo, hi) = self.bounds_for(l)?;
            let raw = reader.read_dir_block(child)?;
            let node = parse_checked_node(p, reader, &raw)?;
            check_range(&node, lo, hi)?;
            let fr = Frame {
                lblk: child,
                at: 0,
                count: node.count() as u16,
                next_hash: next_hash(&node, 0)?,
                lo,
                hi,
            };
            if let Some(slot) = self.frames.get_mut(l) {
                *slot = fr;
            }
            child = self.follow(p, l, &node, 0)?;
        }
        self.leaf = child;
        Ok(Some((child, h)))
    }

    /// Records that level `level` follows entry `at` of `blk` and returns
    /// the child block, checked against the directory size and the blocks
    /// already on the path.
    fn follow<B: Bytes + ?Sized>(
        &mut self,
        p: &DxParams,
        level: usize,
        blk: &DxBlock<'_, B>,
        at: usize,
    ) -> Result<u32> {
        let child = blk.block(at)?;
        if child >= p.dir_blocks {
            return Err(corrupt("htree: block beyond directory size", child.into()));
        }
        if child == 0
            || self
                .frames()
                .iter()
                .take(level + 1)
                .any(|f| f.lblk == child)
        {
            return Err(corrupt("htree: index cycle at block", child.into()));
        }
        let f = self.frames.get_mut(level).ok_or(Error::Truncated)?;
        let parent_lo = f.lo;
        let parent_hi = f.hi;
        f.at = at as u16;
        f.count = blk.count() as u16;
        f.next_hash = next_hash(blk, at)?;
        // The child's hash range, used to check it when it is read.
        let lo = if at == 0 { parent_lo } else { blk.hash(at)? };
        let hi = match f.next_hash {
            Some(h) => h,
            None => parent_hi,
        };
        if let Some(n) = self.frames.get_mut(level + 1) {
            n.lo = lo;
            n.hi = hi;
        }
        Ok(child)
    }

    fn bounds_for(&self, level: usize) -> Result<(u32, u32)> {
        let f = self.frames.get(level).ok_or(Error::Truncated)?;
        Ok((f.lo, f.hi))
    }
}

fn next_hash<B: Bytes + ?Sized>(blk: &DxBlock<'_, B>, at: usize) -> Result<Option<u32>> {
    let n = at + 1;
    if n < blk.count() {
        Ok(Some(blk.hash(n)?))
    } else {
        Ok(None)
    }
}

/// Checks that a node's hashes lie in the range its parent entry covers
/// (inclusive at both ends, collision bit ignored at the low end).
fn check_range<B: Bytes + ?Sized>(node: &DxBlock<'_, B>, lo: u32, hi: u32) -> Result<()> {
    let n = node.count();
    if n > 1 {
        let first = node.hash(1)?;
        let last = node.hash(n - 1)?;
        if first < lo & !1 || last > hi {
            return Err(corrupt(
                "htree node: hash outside parent range",
                first.into(),
            ));
        }
    }
    Ok(())
}

/// Walks the index of a directory from the root to the one leaf that can
/// hold `name` (dx_probe): reads the root (logical block 0) and the nodes
/// on the way through `reader`, validates each block
/// (records, limits, counts, levels, hash order, checksum, block pointers
/// within `p.dir_blocks`, no cycles, node hash ranges within their parent
/// entry's) and searches each by the name's hash.
///
/// Returns the path, whose [`DxPath::leaf`] is the block to search and
/// whose [`DxPath::next_leaf`] continues the search on hash collisions.
pub fn probe<R: DirBlockReader + ?Sized>(
    p: &DxParams,
    name: &[u8],
    reader: &mut R,
) -> Result<DxPath> {
    walk(p, reader, |root| p.hash.hash(root.hash_version, name))
}

/// Lists the leaves of an index in hash order (the walk of every index
/// block, with their checks): `f(hash, lblk)` for each leaf, `hash` being
/// where its index entry starts (0 for the first leaf; bit 0 set when the
/// names of the hash before continue into it), until `f` returns `false`.
/// Returns the root's hash version. A lookup can then find its leaves in
/// the list ([`LeafMap`]) instead of walking the index blocks. The start
/// hashes never go down: an index where they would (a node whose entries
/// start below an odd parent hash, which the walk's range check lets
/// through and ext4 never writes) is corrupt here, since a search of the
/// list would not find the leaves the walk finds.
pub fn for_each_leaf<R: DirBlockReader + ?Sized>(
    p: &DxParams,
    reader: &mut R,
    mut f: impl FnMut(u32, u32) -> bool,
) -> Result<u8> {
    let mut path = probe_hash(p, 0, reader)?;
    let version = path.root_info().hash_version;
    if !f(0, path.leaf()) {
        return Ok(version);
    }
    let mut prev = 0;
    while let Some((lblk, hash)) = path.next_leaf_any(p, reader)? {
        if hash < prev {
            return Err(corrupt("htree: leaf hashes out of order", hash.into()));
        }
        prev = hash;
        if !f(hash, lblk) {
            break;
        }
    }
    Ok(version)
}

/// The leaves of an index as [`for_each_leaf`] lists them, (start hash,
/// logical block), start hashes never going down: a lookup finds the same
/// leaves in it as [`probe`] and [`DxPath::next_leaf`] find through the
/// index blocks.
pub struct LeafMap<'a>(pub &'a [(u32, u32)]);

impl LeafMap<'_> {
    /// The position of the leaf a name of major hash `major` is searched
    /// in first: the last leaf whose start hash is at most `major` (the
    /// descent of `dx_probe`, level by level, picks the same one).
    pub fn first(&self, major: u32) -> usize {
        // Positions passed are below the length: the key read cannot miss.
        let key =
            |i: usize| Ok::<_, core::convert::Infallible>(self.0.get(i).map_or(u32::MAX, |e| e.0));
        match last_at_most(self.0.len(), major, key) {
            Ok(i) => i,
            Err(never) => match never {},
        }
    }

    /// The leaf at position `i`.
    pub fn leaf(&self, i: usize) -> Option<u32> {
        self.0.get(i).map(|e| e.1)
    }

    /// Whether a search for `major` goes on from position `i` to the next
    /// leaf: its start hash, collision bit cleared, is `major` (as
    /// [`DxPath::continues`]).
    pub fn continues(&self, i: usize, major: u32) -> bool {
        self.0
            .get(i.wrapping_add(1))
            .is_some_and(|e| e.0 & !1 == major)
    }
}

/// [`probe`] for a hash instead of a name (readdir in hash order resumes at
/// one): the path to the leaf that holds hash `major`, the first of them
/// when names of that hash continue into the next leaves.
pub fn probe_hash<R: DirBlockReader + ?Sized>(
    p: &DxParams,
    major: u32,
    reader: &mut R,
) -> Result<DxPath> {
    walk(p, reader, |_| Ok(DxHash { major, minor: 0 }))
}

fn walk<R: DirBlockReader + ?Sized>(
    p: &DxParams,
    reader: &mut R,
    hash_of: impl FnOnce(&RootInfo) -> Result<DxHash>,
) -> Result<DxPath> {
    if p.dir_blocks == 0 {
        return Err(corrupt("htree: empty directory", 0));
    }
    let raw = reader.read_dir_block(0)?;
    let (root, blk) = parse_checked_root(p, reader, &raw)?;
    let hash = hash_of(&root)?;
    let mut path = DxPath {
        hash,
        root,
        levels: usize::from(root.indirect_levels) + 1,
        frames: [Frame::default(); MAX_LEVELS],
        leaf: 0,
    };
    if let Some(f) = path.frames.get_mut(0) {
        *f = Frame {
            lblk: 0,
            lo: 0,
            hi: u32::MAX,
            ..Frame::default()
        };
    }
    let at = blk.search(hash.major)?;
    let mut child = path.follow(p, 0, &blk, at)?;
    for level in 1..path.levels {
        let (lo, hi) = path.bounds_for(level)?;
        let raw = reader.read_dir_block(child)?;
        let node = parse_checked_node(p, reader, &raw)?;
        check_range(&node, lo, hi)?;
        if let Some(f) = path.frames.get_mut(level) {
            f.lblk = child;
        }
        let at = node.search(hash.major)?;
        child = path.follow(p, level, &node, at)?;
    }
    path.leaf = child;
    Ok(path)
}

/// [`parse_root`] with the reader's verified bit: the checks that depend on
/// the block's bytes alone run once per read of the block.
fn parse_checked_root<'a, R: DirBlockReader + ?Sized>(
    p: &DxParams,
    reader: &R,
    raw: &'a R::Block,
) -> Result<(RootInfo, DxBlock<'a, R::Block>)> {
    let verified = reader.is_verified(raw);
    let root = parse_root(p, raw, verified)?;
    if !verified {
        reader.set_verified(raw);
    }
    Ok(root)
}

/// [`parse_node`] with the reader's verified bit (see
/// [`parse_checked_root`]).
fn parse_checked_node<'a, R: DirBlockReader + ?Sized>(
    p: &DxParams,
    reader: &R,
    raw: &'a R::Block,
) -> Result<DxBlock<'a, R::Block>> {
    let verified = reader.is_verified(raw);
    let node = parse_node(p, raw, verified)?;
    if !verified {
        reader.set_verified(raw);
    }
    Ok(node)
}

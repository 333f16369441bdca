//! CRC32C (Castagnoli), the checksum of ext4's metadata_csum feature and of
//! jbd2's v3 checksums.
//!
//! ext4 stores the raw register value: start from a seed (`!0` for the
//! superblock, the filesystem's checksum seed elsewhere) and do not invert at
//! the end. [`crc32c`] follows that convention; the conventional "CRC-32C" of a
//! message is `!crc32c(!0, msg)`.

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82F6_3B78;

/// Slicing-by-8 lookup tables, built at compile time.
static TABLES: [[u32; 256]; 8] = make_tables();

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

/// Continues a CRC32C computation from `crc` over `data` (no final
/// inversion), with the embedding crate's implementation,
/// `crate::disk_crc32c`: the kernel's `crc32c()` (accelerated where the
/// CPU has an instruction for it) in the module, [`portable`] in the host
/// crate.
#[inline]
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    crate::disk_crc32c(crc, data)
}

/// Continues a CRC32C computation from `crc` over `data` (no final
/// inversion), in portable code: slicing-by-8 tables.
pub fn portable(mut crc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = TABLES[7][(lo & 0xff) as usize]
            ^ TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xff) as usize]
            ^ TABLES[2][((hi >> 8) & 0xff) as usize]
            ^ TABLES[1][((hi >> 16) & 0xff) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ TABLES[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    crc
}

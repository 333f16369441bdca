//! CRC16 (the ANSI/IBM polynomial 0x8005, bit-reflected), the group
//! descriptor checksum of the older gdt_csum (uninit_bg) feature.

const POLY: u16 = 0xA001;

static TABLE: [u16; 256] = make_table();

const fn make_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// Continues a CRC16 computation from `crc` over `data` (no inversion), as
/// the kernel's `crc16()` does.
pub fn crc16(mut crc: u16, data: &[u8]) -> u16 {
    for &b in data {
        crc = (crc >> 8) ^ TABLE[((crc ^ u16::from(b)) & 0xff) as usize];
    }
    crc
}

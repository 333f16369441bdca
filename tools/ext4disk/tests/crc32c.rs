//! CRC32C against published check values.

use ext4disk::crc32c::crc32c;

#[test]
fn check_values() {
    // The standard CRC-32C check value (RFC 3720 convention: init and
    // final xor !0).
    assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
    // RFC 3720 B.4: 32 bytes of zeros, of 0xff, and an ascending sequence.
    assert_eq!(!crc32c(!0, &[0u8; 32]), 0x8A91_36AA);
    assert_eq!(!crc32c(!0, &[0xffu8; 32]), 0x62A8_AB43);
    let inc: Vec<u8> = (0u8..32).collect();
    assert_eq!(!crc32c(!0, &inc), 0x46DD_794E);
}

#[test]
fn streaming_equals_one_shot() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    let whole = crc32c(0x1234_5678, &data);
    for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
        let (a, b) = data.split_at(split);
        assert_eq!(crc32c(crc32c(0x1234_5678, a), b), whole, "split {split}");
    }
}

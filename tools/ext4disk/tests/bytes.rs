//! The `Bytes` accessor: a window reads what the slice holds at the same
//! place, bounds-checked against the window, not the bytes around it.

use ext4disk::disk::bytes::{Bytes, Window};
use ext4disk::disk::crc32c::crc32c;
use ext4disk::Error;

fn data() -> Vec<u8> {
    (0..=255u8).cycle().take(1024).collect()
}

#[test]
fn window_reads_the_slice_at_its_offset() {
    let d = data();
    let w = Window::new(&d[..], 256, 128).unwrap();
    assert_eq!(w.size(), 128);
    assert_eq!(w.byte_at(0).unwrap(), d[256]);
    assert_eq!(w.le16_at(10).unwrap(), u16::from_le_bytes([d[266], d[267]]));
    assert_eq!(
        w.le32_at(124).unwrap(),
        u32::from_le_bytes([d[380], d[381], d[382], d[383]])
    );
    assert_eq!(w.array_at::<8>(3).unwrap()[..], d[259..267]);
    assert_eq!(w.crc32c_range(7, 5, 100).unwrap(), crc32c(7, &d[261..361]));
    assert!(w.equals_at(20, &d[276..300]).unwrap());
    assert!(!w.equals_at(20, &d[277..301]).unwrap());
    // A name longer than one comparison piece (64 bytes).
    assert!(w.equals_at(1, &d[257..384]).unwrap());
}

#[test]
fn window_stops_at_its_own_end() {
    let d = data();
    let w = Window::new(&d[..], 256, 128).unwrap();
    assert_eq!(w.le32_at(125), Err(Error::Truncated));
    assert_eq!(w.array_at::<2>(127), Err(Error::Truncated));
    assert_eq!(w.crc32c_range(0, 100, 29), Err(Error::Truncated));
    assert_eq!(w.equals_at(120, &d[376..385]), Err(Error::Truncated));
    assert_eq!(w.le16_at(usize::MAX), Err(Error::Truncated));
    assert!(Window::new(&d[..], 1000, 25).is_err());
    assert!(Window::new(&d[..], usize::MAX, 2).is_err());
    // Nested windows add their offsets.
    let inner = Window::new(&w, 8, 16).unwrap();
    assert_eq!(inner.byte_at(0).unwrap(), d[264]);
    assert_eq!(inner.byte_at(16), Err(Error::Truncated));
}

//! DICOM files written byte by byte (explicit or implicit VR little
//! endian), for tests that need files no writer library would produce:
//! hostile structures, attributes stored as UN, hand-made encapsulation.

#![allow(dead_code)]

/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Implicit VR Little Endian.
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
/// JPEG Baseline (Process 1).
pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";

/// An explicit VR little endian element (2- or 4-byte length by VR).
pub fn el(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// A US value's bytes.
pub fn us(value: u16) -> Vec<u8> {
    value.to_le_bytes().to_vec()
}

/// A header with a 4-byte length (explicit VR `vr`, or implicit when
/// `vr` is `None`) and no value: for sequences and encapsulated data.
pub fn long_header(group: u16, element: u16, vr: Option<&[u8; 2]>, length: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    if let Some(vr) = vr {
        out.extend_from_slice(vr);
        out.extend_from_slice(&[0, 0]);
    }
    out.extend_from_slice(&length.to_le_bytes());
    out
}

/// An item (`E000`), item delimiter (`E00D`) or sequence delimiter (`E0DD`)
/// header.
pub fn item_header(element: u16, length: u32) -> Vec<u8> {
    long_header(0xFFFE, element, None, length)
}

/// A text value padded to even length with a space.
pub fn text(s: &str) -> Vec<u8> {
    padded(s, b' ')
}

/// A UID value padded to even length with NUL.
pub fn uid(s: &str) -> Vec<u8> {
    padded(s, 0)
}

fn padded(s: &str, pad: u8) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(pad);
    }
    v
}

/// A Part 10 file: preamble, File Meta Information with `ts`, `dataset`.
pub fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut meta = el(0x0002, 0x0001, b"OB", &[0, 1]);
    meta.extend(el(0x0002, 0x0002, b"UI", &uid("1.2.840.10008.5.1.4.1.1.7")));
    meta.extend(el(
        0x0002,
        0x0003,
        b"UI",
        &uid("1.2.826.0.1.3680043.9.7433.9.1"),
    ));
    meta.extend(el(0x0002, 0x0010, b"UI", &uid(ts)));
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(el(
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    ));
    out.extend(meta);
    out.extend_from_slice(dataset);
    out
}

/// The SOP Class / Instance and Modality elements (group 0008).
pub fn sop_part() -> Vec<u8> {
    let mut d = el(0x0008, 0x0016, b"UI", &uid("1.2.840.10008.5.1.4.1.1.7"));
    d.extend(el(
        0x0008,
        0x0018,
        b"UI",
        &uid("1.2.826.0.1.3680043.9.7433.9.1"),
    ));
    d.extend(el(0x0008, 0x0060, b"CS", &text("OT")));
    d
}

/// Encapsulated Pixel Data: an empty Basic Offset Table, then `fragments`
/// (each padded to even length), then the sequence delimiter.
pub fn encapsulated(fragments: &[&[u8]]) -> Vec<u8> {
    let mut d = long_header(0x7FE0, 0x0010, Some(b"OB"), u32::MAX);
    d.extend(item_header(0xE000, 0));
    for fragment in fragments {
        let mut f = fragment.to_vec();
        if f.len() % 2 == 1 {
            f.push(0);
        }
        d.extend(item_header(0xE000, f.len() as u32));
        d.extend(f);
    }
    d.extend(item_header(0xE0DD, 0));
    d
}

//! A structural pre-scan of a data set's element lengths, run before the
//! DICOM parser sees the bytes.
//!
//! `dicom-parser` sizes its buffers from a declared length before reading
//! the value, so one corrupted length makes it zero-fill gigabytes and stall
//! for tens of seconds (found by the loader fuzz test). This walk checks
//! every declared length against the bytes that remain, allocating nothing.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

/// How the data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Explicit VR (else implicit).
    pub explicit_vr: bool,
    /// Big endian (else little endian).
    pub big_endian: bool,
}

/// PS3.5 7.1.2: these VRs have a 2-byte length; every other VR, including
/// an unrecognised one (which parsers read as UN), has a 4-byte length.
fn has_long_length(vr: &[u8]) -> bool {
    !matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// Checks that every defined length in `data` (a data set, without File
/// Meta Information) fits in what remains of the enclosing value, and that
/// nesting is sane. Returns a reason naming the offending element.
pub fn check_lengths(data: &[u8], encoding: Encoding) -> Result<(), String> {
    let u16_at = |p: usize| {
        let b = [data[p], data[p + 1]];
        if encoding.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |p: usize| {
        let b = [data[p], data[p + 1], data[p + 2], data[p + 3]];
        if encoding.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    // Ends of the enclosing defined-length values; the data set ends at len.
    let mut ends: Vec<usize> = vec![data.len()];
    // True while inside encapsulated Pixel Data, whose items hold raw bytes.
    let mut in_fragments = false;
    let mut pos = 0usize;
    while pos < data.len() {
        while ends.len() > 1 && pos >= *ends.last().unwrap() {
            ends.pop();
        }
        let end = *ends.last().unwrap();
        if pos + 8 > end {
            // Trailing padding shorter than a header is tolerated at the top
            // level only.
            if ends.len() == 1 {
                return Ok(());
            }
            return Err(format!(
                "element header at byte {pos} crosses the end of its item"
            ));
        }
        let tag = (u16_at(pos), u16_at(pos + 2));
        let start = pos;
        let name = move || format!("({:04X},{:04X}) at byte {start}", tag.0, tag.1);
        if tag.0 == 0xFFFE {
            let length = u32_at(pos + 4);
            pos += 8;
            if tag == ITEM && length != UNDEFINED {
                let item_end = pos
                    .checked_add(length as usize)
                    .filter(|e| *e <= end)
                    .ok_or_else(|| {
                        format!(
                            "item {} declares {length} bytes, past the end of the file",
                            name()
                        )
                    })?;
                if in_fragments {
                    pos = item_end;
                } else {
                    ends.push(item_end);
                }
            } else if tag == (0xFFFE, 0xE0DD) {
                in_fragments = false;
            }
            continue;
        }
        let (vr, length, header): (Option<[u8; 2]>, u32, usize) = if encoding.explicit_vr {
            let vr = [data[pos + 4], data[pos + 5]];
            if has_long_length(&vr) {
                if pos + 12 > end {
                    return Err(format!(
                        "element header {} crosses the end of the file",
                        name()
                    ));
                }
                (Some(vr), u32_at(pos + 8), 12)
            } else {
                (Some(vr), u16_at(pos + 6) as u32, 8)
            }
        } else {
            (None, u32_at(pos + 4), 8)
        };
        pos += header;
        if length == UNDEFINED {
            // A sequence, or encapsulated pixel data: walk into it.
            if tag == PIXEL_DATA {
                in_fragments = true;
            }
            continue;
        }
        let value_end = pos
            .checked_add(length as usize)
            .filter(|e| *e <= end)
            .ok_or_else(|| {
                format!(
                    "element {} declares {length} bytes, but only {} remain",
                    name(),
                    end.saturating_sub(pos)
                )
            })?;
        let is_sequence = match vr {
            Some(vr) => &vr == b"SQ",
            None => StandardDataDictionary
                .by_tag(Tag(tag.0, tag.1))
                .is_some_and(|e| e.vr().relaxed() == VR::SQ),
        };
        if is_sequence {
            ends.push(value_end);
        } else {
            pos = value_end;
        }
        if ends.len() > 64 {
            return Err("sequences nested more than 64 deep".into());
        }
    }
    Ok(())
}

/// Walks a File Meta Information group (explicit VR little endian) starting
/// at `pos`: returns the offset of the data set and the Transfer Syntax UID,
/// if any. `Err` when an element runs past the end of the file.
pub fn scan_meta_group(data: &[u8], mut pos: usize) -> Result<(usize, Option<String>), String> {
    let mut transfer_syntax = None;
    loop {
        let Some(head) = data.get(pos..pos + 8) else {
            return Ok((pos, transfer_syntax));
        };
        let group = u16::from_le_bytes([head[0], head[1]]);
        if group != 0x0002 {
            return Ok((pos, transfer_syntax));
        }
        let element = u16::from_le_bytes([head[2], head[3]]);
        let (len, header) = if has_long_length(&head[4..6]) {
            let l = data
                .get(pos + 8..pos + 12)
                .ok_or("File Meta Information ends inside an element header")?;
            (u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize, 12)
        } else {
            (u16::from_le_bytes([head[6], head[7]]) as usize, 8)
        };
        let start = pos + header;
        let value = data.get(start..start + len).ok_or_else(|| {
            format!("File Meta element (0002,{element:04X}) declares {len} bytes, past the end of the file")
        })?;
        if element == 0x0000 && len == 4 {
            let group_length =
                u32::from_le_bytes([value[0], value[1], value[2], value[3]]) as usize;
            if group_length > data.len() - (start + len) {
                return Err(format!(
                    "File Meta Information Group Length {group_length} is past the end of the file"
                ));
            }
        }
        if element == 0x0010 {
            let uid = String::from_utf8_lossy(value)
                .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string();
            transfer_syntax = (!uid.is_empty()).then_some(uid);
        }
        pos = start + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LE_EXPLICIT: Encoding = Encoding {
        explicit_vr: true,
        big_endian: false,
    };

    fn element(group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&elem.to_le_bytes());
        out.extend_from_slice(vr);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn a_consistent_data_set_passes() {
        let mut data = element(0x0008, 0x0060, b"CS", b"CT");
        data.extend(element(0x0028, 0x0010, b"US", &[4, 0]));
        assert_eq!(check_lengths(&data, LE_EXPLICIT), Ok(()));
    }

    #[test]
    fn a_length_past_the_end_is_refused() {
        let mut data = element(0x0008, 0x0060, b"CS", b"CT");
        data[6] = 0xFF;
        let err = check_lengths(&data, LE_EXPLICIT).unwrap_err();
        assert!(err.contains("(0008,0060)"), "{err}");
        // A 4 GB long-form length on an OB element.
        let mut data = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0];
        data.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        data.extend_from_slice(&[0; 16]);
        assert!(check_lengths(&data, LE_EXPLICIT).is_err());
    }

    #[test]
    fn items_inside_a_sequence_are_bounded_by_it() {
        // SQ of 16 bytes holding an item that claims 100.
        let mut data = vec![0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0];
        data.extend_from_slice(&16u32.to_le_bytes());
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        data.extend_from_slice(&100u32.to_le_bytes());
        data.extend_from_slice(&[0; 8]);
        assert!(check_lengths(&data, LE_EXPLICIT).is_err());
    }
}

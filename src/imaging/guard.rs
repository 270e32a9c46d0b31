//! A structural pre-scan of a data set, run before the DICOM parser sees the
//! bytes.
//!
//! `dicom-parser` sizes its buffers from a declared length before reading
//! the value, so one corrupted length makes it zero-fill gigabytes and stall
//! for tens of seconds (found by the loader fuzz test); it also recurses once
//! per nested sequence, so a file nesting sequences 200,000 deep overflows
//! the stack, which no `catch_unwind` can contain. This walk checks every
//! declared length against the bytes that remain, counts elements and
//! nesting (defined and undefined lengths alike), and measures the top-level
//! Pixel Data, allocating nothing per element.

use std::ops::Range;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const FLOAT_PIXEL_DATA: [(u16, u16); 2] = [(0x7FE0, 0x0008), (0x7FE0, 0x0009)];

/// Deepest sequence nesting accepted (PS3 objects nest a handful of levels;
/// the parser recurses once per level).
pub const MAX_SEQUENCE_DEPTH: usize = 64;

/// Most element headers (items and fragments included) accepted in one data
/// set: above any real object (an enhanced multi-frame with thousands of
/// frames has a few hundred thousand), far below what would make the
/// in-memory data set take gigabytes.
pub const MAX_ELEMENTS: usize = 1_000_000;

/// How the data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Explicit VR (else implicit).
    pub explicit_vr: bool,
    /// Big endian (else little endian).
    pub big_endian: bool,
}

/// PS3.5 6.2.2: the value of a UN element of undefined length is a sequence
/// in Implicit VR Little Endian, whatever the file's transfer syntax.
const UN_SEQUENCE: Encoding = Encoding {
    explicit_vr: false,
    big_endian: false,
};

/// What the top-level Pixel Data (or Float / Double Float Pixel Data) holds,
/// as measured by the pre-scan: bounds Number of Frames before anything is
/// allocated per frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PixelExtent {
    /// The data set has no top-level pixel data.
    #[default]
    Absent,
    /// Native pixel data of this many bytes.
    Native {
        /// Value length in bytes.
        bytes: u64,
    },
    /// Encapsulated pixel data.
    Encapsulated {
        /// Fragments after the Basic Offset Table item (every frame takes at
        /// least one).
        fragments: usize,
        /// Entries in the Basic Offset Table (0 when it is empty).
        offsets: usize,
        /// Byte range of the first fragment's value in the scanned bytes.
        first_fragment: Option<Range<usize>>,
    },
}

/// What the pre-scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The top-level pixel data.
    pub pixel_data: PixelExtent,
    /// Element headers seen (items and fragments included).
    pub elements: usize,
    /// Deepest sequence nesting seen.
    pub depth: usize,
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

/// What an open nesting level is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelKind {
    Sequence,
    Item,
    /// Encapsulated pixel data: its items are raw fragments.
    Fragments {
        top_level: bool,
    },
}

/// One open sequence, item or fragment list.
#[derive(Debug, Clone, Copy)]
struct Level {
    kind: LevelKind,
    /// Where it ends: its own end for a defined length, the enclosing end
    /// for an undefined one (closed earlier by its delimiter).
    end: usize,
    defined: bool,
    /// How the elements inside are encoded.
    encoding: Encoding,
}

/// Checks that every defined length in `data` (a data set, without File
/// Meta Information) fits in what remains of the enclosing value, and that
/// nesting and element count stay within [`MAX_SEQUENCE_DEPTH`] and
/// [`MAX_ELEMENTS`]. Returns a reason naming the offending element.
pub fn check_lengths(data: &[u8], encoding: Encoding) -> Result<(), String> {
    scan(data, encoding).map(|_| ())
}

/// [`check_lengths`], returning what the walk measured.
pub fn scan(data: &[u8], encoding: Encoding) -> Result<Scan, String> {
    let u16_at = |p: usize, e: Encoding| {
        let b = [data[p], data[p + 1]];
        if e.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |p: usize, e: Encoding| {
        let b = [data[p], data[p + 1], data[p + 2], data[p + 3]];
        if e.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut stack: Vec<Level> = Vec::new();
    let mut depth = 0usize;
    let mut scan = Scan::default();
    let mut pos = 0usize;
    while pos < data.len() {
        while let Some(top) = stack.last()
            && pos >= top.end
        {
            if stack.pop().is_some_and(|l| l.kind != LevelKind::Item) {
                depth -= 1;
            }
        }
        let (end, enc) = stack
            .last()
            .map_or((data.len(), encoding), |l| (l.end, l.encoding));
        if pos + 8 > end {
            // Trailing padding shorter than a header is tolerated at the top
            // level only.
            if stack.is_empty() {
                return Ok(scan);
            }
            return Err(format!(
                "element header at byte {pos} crosses the end of its item"
            ));
        }
        scan.elements += 1;
        if scan.elements > MAX_ELEMENTS {
            return Err(format!("more than {MAX_ELEMENTS} elements (at byte {pos})"));
        }
        let tag = (u16_at(pos, enc), u16_at(pos + 2, enc));
        let start = pos;
        let name = move || format!("({:04X},{:04X}) at byte {start}", tag.0, tag.1);
        let top = stack.last().copied();
        if tag.0 == 0xFFFE {
            let length = u32_at(pos + 4, enc);
            pos += 8;
            match (tag.1, top.map(|l| l.kind)) {
                (0xE000, Some(LevelKind::Fragments { top_level })) => {
                    if length == UNDEFINED {
                        return Err(format!("fragment {} has an undefined length", name()));
                    }
                    let fragment_end = pos
                        .checked_add(length as usize)
                        .filter(|e| *e <= end)
                        .ok_or_else(|| {
                            format!(
                                "fragment {} declares {length} bytes, past the end of the file",
                                name()
                            )
                        })?;
                    if top_level
                        && let PixelExtent::Encapsulated {
                            fragments,
                            offsets,
                            first_fragment,
                        } = &mut scan.pixel_data
                    {
                        if *fragments == 0 && first_fragment.is_none() && *offsets == usize::MAX {
                            // The first item is the Basic Offset Table.
                            *offsets = length as usize / 4;
                        } else {
                            if first_fragment.is_none() {
                                *first_fragment = Some(pos..fragment_end);
                            }
                            *fragments += 1;
                        }
                    }
                    pos = fragment_end;
                }
                (0xE000, _) => {
                    let item_end = if length == UNDEFINED {
                        end
                    } else {
                        pos.checked_add(length as usize)
                            .filter(|e| *e <= end)
                            .ok_or_else(|| {
                                format!(
                                    "item {} declares {length} bytes, past the end of the file",
                                    name()
                                )
                            })?
                    };
                    stack.push(Level {
                        kind: LevelKind::Item,
                        end: item_end,
                        defined: length != UNDEFINED,
                        encoding: enc,
                    });
                    // Items directly inside items (no sequence between)
                    // nest too.
                    if stack.len() > 2 * MAX_SEQUENCE_DEPTH + 2 {
                        return Err(format!(
                            "items nested more than {MAX_SEQUENCE_DEPTH} deep (at byte {start})"
                        ));
                    }
                }
                (0xE00D, Some(LevelKind::Item)) if top.is_some_and(|l| !l.defined) => {
                    stack.pop();
                }
                (0xE0DD, _) => {
                    // Closes the innermost undefined-length sequence (and an
                    // undefined-length item left open inside it).
                    if top.is_some_and(|l| l.kind == LevelKind::Item && !l.defined) {
                        stack.pop();
                    }
                    if stack
                        .last()
                        .is_some_and(|l| l.kind != LevelKind::Item && !l.defined)
                    {
                        stack.pop();
                        depth -= 1;
                    }
                }
                _ => {}
            }
            continue;
        }
        let (vr, length, header): (Option<[u8; 2]>, u32, usize) = if enc.explicit_vr {
            let vr = [data[pos + 4], data[pos + 5]];
            if has_long_length(&vr) {
                if pos + 12 > end {
                    return Err(format!(
                        "element header {} crosses the end of the file",
                        name()
                    ));
                }
                (Some(vr), u32_at(pos + 8, enc), 12)
            } else {
                (Some(vr), u16_at(pos + 6, enc) as u32, 8)
            }
        } else {
            (None, u32_at(pos + 4, enc), 8)
        };
        pos += header;
        let top_level = stack.is_empty();
        if length == UNDEFINED {
            // A sequence, or encapsulated pixel data: walk into it.
            let (kind, encoding) = if tag == PIXEL_DATA {
                if top_level {
                    // usize::MAX marks "Basic Offset Table not seen yet".
                    scan.pixel_data = PixelExtent::Encapsulated {
                        fragments: 0,
                        offsets: usize::MAX,
                        first_fragment: None,
                    };
                }
                (LevelKind::Fragments { top_level }, enc)
            } else if vr == Some(*b"UN") {
                (LevelKind::Sequence, UN_SEQUENCE)
            } else {
                (LevelKind::Sequence, enc)
            };
            stack.push(Level {
                kind,
                end,
                defined: false,
                encoding,
            });
            depth += 1;
        } else {
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
                stack.push(Level {
                    kind: LevelKind::Sequence,
                    end: value_end,
                    defined: true,
                    encoding: enc,
                });
                depth += 1;
            } else {
                if top_level && (tag == PIXEL_DATA || FLOAT_PIXEL_DATA.contains(&tag)) {
                    scan.pixel_data = PixelExtent::Native {
                        bytes: length as u64,
                    };
                }
                pos = value_end;
            }
        }
        scan.depth = scan.depth.max(depth);
        if depth > MAX_SEQUENCE_DEPTH {
            return Err(format!(
                "sequences nested more than {MAX_SEQUENCE_DEPTH} deep (at byte {start})"
            ));
        }
    }
    if let PixelExtent::Encapsulated { offsets, .. } = &mut scan.pixel_data
        && *offsets == usize::MAX
    {
        *offsets = 0;
    }
    Ok(scan)
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

    /// `levels` nested sequences of defined (`true`) or undefined length.
    fn nested(levels: usize, defined: bool) -> Vec<u8> {
        let mut data = Vec::new();
        for k in 0..levels {
            let inner = ((levels - 1 - k) * 20) as u32;
            data.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
            let (sq, item) = if defined {
                (inner + 8, inner)
            } else {
                (UNDEFINED, UNDEFINED)
            };
            data.extend_from_slice(&sq.to_le_bytes());
            data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            data.extend_from_slice(&item.to_le_bytes());
        }
        if !defined {
            for _ in 0..levels {
                data.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
                data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
            }
        }
        data
    }

    #[test]
    fn nesting_is_bounded_for_defined_and_undefined_lengths() {
        for defined in [true, false] {
            let ok = scan(&nested(MAX_SEQUENCE_DEPTH, defined), LE_EXPLICIT).unwrap();
            assert_eq!(ok.depth, MAX_SEQUENCE_DEPTH);
            let err =
                check_lengths(&nested(MAX_SEQUENCE_DEPTH + 1, defined), LE_EXPLICIT).unwrap_err();
            assert!(err.contains("nested"), "{err}");
        }
        // After the delimiters close every level, nesting starts again at 0.
        let mut twice = nested(40, false);
        twice.extend(nested(40, false));
        assert_eq!(scan(&twice, LE_EXPLICIT).unwrap().depth, 40);
    }

    #[test]
    fn element_count_is_bounded() {
        let data: Vec<u8> = (0..MAX_ELEMENTS + 1)
            .flat_map(|_| element(0x0009, 0x0010, b"SH", &[]))
            .collect();
        let err = check_lengths(&data, LE_EXPLICIT).unwrap_err();
        assert!(err.contains("elements"), "{err}");
    }

    #[test]
    fn the_top_level_pixel_data_is_measured() {
        let mut data = element(0x0028, 0x0010, b"US", &[1, 0]);
        data.extend(element(0x7FE0, 0x0010, b"OB", &[]));
        // Long-form OB: patch in a 4-byte length of 6 and the bytes.
        let at = data.len() - 8;
        data.truncate(at);
        data.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 6, 0, 0, 0]);
        data.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(
            scan(&data, LE_EXPLICIT).unwrap().pixel_data,
            PixelExtent::Native { bytes: 6 }
        );
        // Encapsulated: an offset table of two entries and three fragments.
        let mut data = vec![
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 8, 0, 0, 0]);
        data.extend_from_slice(&[0; 8]);
        for _ in 0..3 {
            data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 0xAB, 0xCD]);
        }
        data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let first = 12 + 16 + 8;
        assert_eq!(
            scan(&data, LE_EXPLICIT).unwrap().pixel_data,
            PixelExtent::Encapsulated {
                fragments: 3,
                offsets: 2,
                first_fragment: Some(first..first + 2),
            }
        );
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

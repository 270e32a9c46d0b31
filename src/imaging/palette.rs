//! PALETTE COLOR lookup tables, including segmented palettes (PS3.3 C.7.9).
//!
//! `dicom-pixeldata` returns palette indices as gray, so the palette is kept
//! beside the indices and applied when rendering.

use super::modality::LookupTable;

/// The red, green and blue tables of a PALETTE COLOR image.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    /// Red Palette Color LUT.
    pub red: LookupTable,
    /// Green Palette Color LUT.
    pub green: LookupTable,
    /// Blue Palette Color LUT.
    pub blue: LookupTable,
}

impl Palette {
    /// The 8-bit RGB colour for a palette index: each entry scaled by
    /// `v * 255 / (2^bits - 1)`, rounded half up.
    pub fn rgb8(&self, index: i64) -> [u8; 3] {
        let scale = |lut: &LookupTable| {
            let v = lut.lookup(index) as f64 * 255.0 / lut.max_value();
            (v + 0.5).floor().clamp(0.0, 255.0) as u8
        };
        [scale(&self.red), scale(&self.green), scale(&self.blue)]
    }
}

/// Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2) into a plain
/// table.
///
/// Returns an error naming the offending opcode when the data is malformed.
pub fn expand_segmented(data: &[u16], max_entries: usize) -> Result<Vec<u16>, String> {
    let mut out: Vec<u16> = Vec::new();
    expand_into(data, &mut out, max_entries, 0)?;
    Ok(out)
}

fn expand_into(
    data: &[u16],
    out: &mut Vec<u16>,
    max_entries: usize,
    depth: u32,
) -> Result<(), String> {
    if depth > 2 {
        return Err("segmented palette: indirect segments nested too deeply".into());
    }
    let mut pos = 0usize;
    let take = |pos: usize| -> Result<u16, String> {
        data.get(pos)
            .copied()
            .ok_or_else(|| "segmented palette: data ends inside a segment".to_string())
    };
    while pos < data.len() {
        let opcode = take(pos)?;
        let length = take(pos + 1)? as usize;
        pos += 2;
        if out.len() + length > max_entries {
            return Err(format!(
                "segmented palette expands past {max_entries} entries"
            ));
        }
        match opcode {
            0 => {
                // Discrete segment: `length` literal values.
                let end = pos + length;
                let values = data
                    .get(pos..end)
                    .ok_or("segmented palette: discrete segment runs past the data")?;
                out.extend_from_slice(values);
                pos = end;
            }
            1 => {
                // Linear segment: ramp from the previous value to y1.
                let y0 = *out
                    .last()
                    .ok_or("segmented palette: linear segment with no previous value")?
                    as f64;
                let y1 = take(pos)? as f64;
                pos += 1;
                let step = (y1 - y0) / length as f64;
                for i in 1..=length {
                    let v = if i == length {
                        y1
                    } else {
                        y0 + step * i as f64
                    };
                    out.push(v.round_ties_even().clamp(0.0, 65535.0) as u16);
                }
            }
            2 => {
                // Indirect segment: replay `length` segments from a byte offset.
                let low = take(pos)? as usize;
                let high = take(pos + 1)? as usize;
                pos += 2;
                let offset_words = (high << 16 | low) / 2;
                let mut cursor = offset_words;
                for _ in 0..length {
                    let op = *data
                        .get(cursor)
                        .ok_or("segmented palette: indirect offset past the data")?;
                    let n = *data
                        .get(cursor + 1)
                        .ok_or("segmented palette: indirect offset past the data")?
                        as usize;
                    let seg_len = match op {
                        0 => 2 + n,
                        1 => 3,
                        _ => {
                            return Err(format!(
                                "segmented palette: opcode {op} inside an indirect segment"
                            ));
                        }
                    };
                    let segment = data
                        .get(cursor..cursor + seg_len)
                        .ok_or("segmented palette: indirect segment past the data")?;
                    expand_into(segment, out, max_entries, depth + 1)?;
                    cursor += seg_len;
                }
            }
            other => return Err(format!("segmented palette: unknown opcode {other}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_and_linear_segments_expand() {
        // discrete [0, 10], then linear over 4 entries up to 50
        let data = [0, 2, 0, 10, 1, 4, 50];
        assert_eq!(
            expand_segmented(&data, 100).unwrap(),
            vec![0, 10, 20, 30, 40, 50]
        );
    }

    #[test]
    fn indirect_segment_replays_earlier_segments() {
        // discrete [5, 6] at word 0; indirect 1 segment at byte offset 0
        let data = [0, 2, 5, 6, 2, 1, 0, 0];
        assert_eq!(expand_segmented(&data, 100).unwrap(), vec![5, 6, 5, 6]);
    }

    #[test]
    fn malformed_segments_are_errors_not_panics() {
        assert!(expand_segmented(&[0, 5, 1], 100).is_err());
        assert!(expand_segmented(&[1, 3, 9], 100).is_err());
        assert!(expand_segmented(&[7, 1, 0], 100).is_err());
        assert!(expand_segmented(&[0, 60000], 10).is_err());
    }
}

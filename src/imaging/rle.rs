//! DICOM RLE Lossless decoding (PS3.5 Annex G).
//!
//! `dicom-pixeldata`'s RLE adapter indexes past its buffers on malformed
//! segments (found by the loader fuzz test), so RLE frames are decoded here
//! with every length checked.

/// Decodes one RLE frame into interleaved little-endian samples:
/// `samples_per_pixel` samples of `bytes_per_sample` bytes per pixel.
pub fn decode_frame(
    fragment: &[u8],
    pixels: usize,
    samples_per_pixel: usize,
    bytes_per_sample: usize,
) -> Result<Vec<u8>, String> {
    let header = fragment.get(..64).ok_or_else(|| {
        format!(
            "RLE header needs 64 bytes, the fragment has {}",
            fragment.len()
        )
    })?;
    let word = |i: usize| u32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().unwrap()) as usize;
    let segments = word(0);
    let expected = samples_per_pixel * bytes_per_sample;
    if segments != expected {
        return Err(format!(
            "RLE header declares {segments} segments, expected {expected}"
        ));
    }
    // The header has room for 15 segment offsets (PS3.5 G.5); more would
    // read past it.
    if expected > 15 {
        return Err(format!(
            "RLE allows at most 15 segments, {samples_per_pixel} samples of \
             {bytes_per_sample} bytes need {expected}"
        ));
    }
    let size = pixels
        .checked_mul(expected)
        .ok_or_else(|| format!("RLE frame of {pixels} pixels is too large"))?;
    let mut out = vec![0u8; size];
    for segment in 0..segments {
        let start = word(segment + 1);
        let end = if segment + 1 < segments {
            word(segment + 2)
        } else {
            fragment.len()
        };
        let data = fragment.get(start..end.max(start)).ok_or_else(|| {
            format!("RLE segment {segment} offset {start} lies outside the fragment")
        })?;
        // Segments hold the most significant byte plane first.
        let sample = segment / bytes_per_sample;
        let byte = bytes_per_sample - 1 - segment % bytes_per_sample;
        let offset = sample * bytes_per_sample + byte;
        let decoded = unpack_bits(data, pixels)?;
        for (p, &b) in decoded.iter().enumerate() {
            out[p * expected + offset] = b;
        }
    }
    Ok(out)
}

/// PackBits: a header byte n ≥ 0 copies n+1 literal bytes; −127 ≤ n ≤ −1
/// repeats the next byte 1−n times; −128 is a no-op.
fn unpack_bits(data: &[u8], len: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len && i < data.len() {
        let n = data[i] as i8;
        i += 1;
        match n {
            0..=127 => {
                let count = n as usize + 1;
                let literal = data
                    .get(i..i + count)
                    .ok_or("RLE literal run past the end of its segment")?;
                out.extend_from_slice(literal);
                i += count;
            }
            -127..=-1 => {
                let value = *data
                    .get(i)
                    .ok_or("RLE repeat run past the end of its segment")?;
                out.extend(std::iter::repeat_n(value, (1 - n as isize) as usize));
                i += 1;
            }
            -128 => {}
        }
    }
    if out.len() < len {
        return Err(format!(
            "RLE segment decodes to {} bytes, {len} needed",
            out.len()
        ));
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(segments: &[&[u8]]) -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
        let mut offset = 64u32;
        for (i, s) in segments.iter().enumerate() {
            header[4 + i * 4..8 + i * 4].copy_from_slice(&offset.to_le_bytes());
            offset += s.len() as u32;
        }
        header.extend(segments.iter().flat_map(|s| s.iter().copied()));
        header
    }

    #[test]
    fn sixteen_bit_planes_interleave_little_endian() {
        // high bytes: literal [1, 2]; low bytes: repeat 0xAB twice
        let data = frame(&[&[1, 1, 2], &[0xFF, 0xAB]]);
        assert_eq!(
            decode_frame(&data, 2, 1, 2).unwrap(),
            vec![0xAB, 1, 0xAB, 2]
        );
    }

    #[test]
    fn short_or_inconsistent_segments_are_errors() {
        assert!(decode_frame(&frame(&[&[0, 5]]), 2, 1, 1).is_err());
        assert!(decode_frame(&frame(&[&[5, 1]]), 2, 1, 1).is_err());
        assert!(decode_frame(&frame(&[&[1, 1, 2]]), 2, 3, 1).is_err());
        assert!(decode_frame(&[0u8; 10], 2, 1, 1).is_err());
    }
}

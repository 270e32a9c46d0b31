//! Colour layout and colour-space conversion for native colour data.

/// Reorders one frame of planar samples (RRR…GGG…BBB) into interleaved RGB.
pub fn planar_to_interleaved(bytes: &[u8], pixels: usize, bytes_per_sample: usize) -> Vec<u8> {
    let plane = pixels * bytes_per_sample;
    let mut out = vec![0u8; plane * 3];
    for p in 0..pixels {
        for c in 0..3 {
            let src = c * plane + p * bytes_per_sample;
            let dst = (p * 3 + c) * bytes_per_sample;
            out[dst..dst + bytes_per_sample].copy_from_slice(&bytes[src..src + bytes_per_sample]);
        }
    }
    out
}

/// Expands YBR_FULL_422 (Y Y Cb Cr per horizontal pixel pair) to full
/// Y Cb Cr triplets, sharing each chroma pair between its two pixels.
pub fn expand_422(bytes: &[u8], columns: usize, rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(columns * rows * 3);
    for index in 0..columns * rows {
        // Pixels pair up in raster order: Y0 Y1 Cb Cr.
        let base = (index / 2) * 4;
        let (y, cb, cr) = (bytes[base + index % 2], bytes[base + 2], bytes[base + 3]);
        out.extend_from_slice(&[y, cb, cr]);
    }
    out
}

/// Converts interleaved 8-bit YBR_FULL to RGB (PS3.3 C.7.6.3.1.2, the
/// inverse of the ITU-R BT.601 full-range transform), rounding to nearest.
pub fn ybr_full_to_rgb(ybr: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ybr.len());
    for px in ybr.chunks_exact(3) {
        let y = px[0] as f64;
        let cb = px[1] as f64 - 128.0;
        let cr = px[2] as f64 - 128.0;
        let r = y + 1.402 * cr;
        let g = y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr;
        let b = y + 1.772 * cb;
        for v in [r, g, b] {
            out.push(v.round_ties_even().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_ybr_stays_gray() {
        assert_eq!(ybr_full_to_rgb(&[100, 128, 128]), vec![100, 100, 100]);
    }

    #[test]
    fn planar_reorders_to_interleaved() {
        assert_eq!(
            planar_to_interleaved(&[1, 2, 10, 20, 100, 200], 2, 1),
            vec![1, 10, 100, 2, 20, 200]
        );
    }

    #[test]
    fn ybr_422_shares_chroma_across_a_pair() {
        assert_eq!(expand_422(&[10, 20, 1, 2], 2, 1), vec![10, 1, 2, 20, 1, 2]);
    }
}

//! Decoded frames at their native precision.
//!
//! A frame keeps the stored values exactly as the file defines them (masked
//! to Bits Stored and sign-extended), never a floating-point copy, so a CT
//! series costs what its pixels cost.

/// The stored sample values of one frame, in their native integer type.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Unsigned 8-bit samples (also 1-bit data expanded to 0/1).
    U8(Vec<u8>),
    /// Signed 8-bit samples.
    I8(Vec<i8>),
    /// Unsigned 16-bit samples.
    U16(Vec<u16>),
    /// Signed 16-bit samples.
    I16(Vec<i16>),
    /// Unsigned 32-bit samples.
    U32(Vec<u32>),
    /// Signed 32-bit samples.
    I32(Vec<i32>),
}

impl Samples {
    /// Number of samples (pixels × samples per pixel).
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::I8(v) => v.len(),
            Samples::U16(v) => v.len(),
            Samples::I16(v) => v.len(),
            Samples::U32(v) => v.len(),
            Samples::I32(v) => v.len(),
        }
    }

    /// True when the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes used by the sample buffer.
    pub fn byte_len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::I8(v) => v.len(),
            Samples::U16(v) => v.len() * 2,
            Samples::I16(v) => v.len() * 2,
            Samples::U32(v) => v.len() * 4,
            Samples::I32(v) => v.len() * 4,
        }
    }

    /// The sample at `index` widened to `i64`.
    pub fn get(&self, index: usize) -> Option<i64> {
        match self {
            Samples::U8(v) => v.get(index).map(|&x| x as i64),
            Samples::I8(v) => v.get(index).map(|&x| x as i64),
            Samples::U16(v) => v.get(index).map(|&x| x as i64),
            Samples::I16(v) => v.get(index).map(|&x| x as i64),
            Samples::U32(v) => v.get(index).map(|&x| x as i64),
            Samples::I32(v) => v.get(index).map(|&x| x as i64),
        }
    }

    /// Calls `f` on every sample widened to `i64`.
    pub fn for_each_i64(&self, mut f: impl FnMut(i64)) {
        match self {
            Samples::U8(v) => v.iter().for_each(|&x| f(x as i64)),
            Samples::I8(v) => v.iter().for_each(|&x| f(x as i64)),
            Samples::U16(v) => v.iter().for_each(|&x| f(x as i64)),
            Samples::I16(v) => v.iter().for_each(|&x| f(x as i64)),
            Samples::U32(v) => v.iter().for_each(|&x| f(x as i64)),
            Samples::I32(v) => v.iter().for_each(|&x| f(x as i64)),
        }
    }

    /// Smallest and largest sample, or `None` for an empty frame.
    pub fn min_max(&self) -> Option<(i64, i64)> {
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        self.for_each_i64(|x| {
            lo = lo.min(x);
            hi = hi.max(x);
        });
        (lo <= hi).then_some((lo, hi))
    }

    /// The little-endian bytes of the samples, as numpy's `tobytes()` of the
    /// same dtype would give them.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Samples::U8(v) => v.clone(),
            Samples::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Samples::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// How the samples of a frame are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// One sample per pixel: a grayscale value, or a palette index.
    Gray,
    /// Three interleaved samples per pixel: R, G, B.
    Rgb,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Number of rows (height).
    pub rows: u32,
    /// Number of columns (width).
    pub columns: u32,
    /// Gray (or palette index) or interleaved RGB.
    pub kind: FrameKind,
    /// The stored values.
    pub samples: Samples,
}

impl Frame {
    /// Number of pixels in the frame.
    pub fn pixel_count(&self) -> usize {
        self.rows as usize * self.columns as usize
    }

    /// The stored value(s) at (`column`, `row`), or `None` outside the frame.
    pub fn sample_at(&self, column: u32, row: u32) -> Option<Vec<i64>> {
        if column >= self.columns || row >= self.rows {
            return None;
        }
        let pixel = row as usize * self.columns as usize + column as usize;
        match self.kind {
            FrameKind::Gray => Some(vec![self.samples.get(pixel)?]),
            FrameKind::Rgb => (0..3).map(|c| self.samples.get(pixel * 3 + c)).collect(),
        }
    }
}

//! The Modality LUT stage: stored values to modality units (HU for CT).

/// A lookup table as DICOM defines it (LUT Descriptor + LUT Data).
#[derive(Debug, Clone, PartialEq)]
pub struct LookupTable {
    /// The stored value mapped to the first entry.
    pub first_mapped: i64,
    /// Bits per entry declared by the descriptor.
    pub bits: u16,
    /// The entries.
    pub data: Vec<u16>,
}

impl LookupTable {
    /// Looks `x` up, clamping below the first and above the last entry
    /// (PS3.3 C.11.1.1).
    pub fn lookup(&self, x: i64) -> u16 {
        if self.data.is_empty() {
            return 0;
        }
        let index = (x - self.first_mapped).clamp(0, self.data.len() as i64 - 1);
        self.data[index as usize]
    }

    /// The largest value an entry may hold, from the descriptor's bit depth.
    pub fn max_value(&self) -> f64 {
        ((1u64 << self.bits.clamp(1, 16)) - 1) as f64
    }
}

/// The Modality LUT stage of one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ModalityLut {
    /// Rescale Slope and Intercept (identity when the file has neither).
    Rescale {
        /// Rescale Slope.
        slope: f64,
        /// Rescale Intercept.
        intercept: f64,
    },
    /// A Modality LUT Sequence item.
    Table(LookupTable),
}

impl Default for ModalityLut {
    fn default() -> Self {
        ModalityLut::Rescale {
            slope: 1.0,
            intercept: 0.0,
        }
    }
}

impl ModalityLut {
    /// Maps one stored value to modality units.
    #[inline]
    pub fn apply(&self, stored: i64) -> f64 {
        match self {
            ModalityLut::Rescale { slope, intercept } => stored as f64 * slope + intercept,
            ModalityLut::Table(lut) => lut.lookup(stored) as f64,
        }
    }

    /// True when the stage leaves values unchanged.
    pub fn is_identity(&self) -> bool {
        matches!(self, ModalityLut::Rescale { slope, intercept } if *slope == 1.0 && *intercept == 0.0)
    }

    /// The range of modality values that stored values in `[lo, hi]` can map to.
    pub fn output_range(&self, lo: i64, hi: i64) -> (f64, f64) {
        match self {
            ModalityLut::Rescale { .. } => {
                let (a, b) = (self.apply(lo), self.apply(hi));
                (a.min(b), a.max(b))
            }
            ModalityLut::Table(lut) => (0.0, lut.max_value()),
        }
    }
}

//! Segmentations (PS3.3 A.51): BINARY (1 bit per pixel, packed) and
//! FRACTIONAL (8 bits per pixel) frames, each naming its segment (Segment
//! Identification Sequence) and its source image (the Source Image
//! Sequence inside its Derivation Image Sequence); the Segment Sequence
//! with labels, algorithm and the Recommended Display CIELab Value
//! converted to sRGB.
//!
//! BINARY pixel data is packed as PS3.5 8.1.1 says: the first pixel in the
//! least significant bit of the first byte, and frames follow one another
//! without padding, so a frame whose pixel count is not a multiple of 8
//! starts inside a byte.

use dicom_dictionary_std::tags;

use super::pmap::{checked_size, dimensions};
use super::values::{
    Ds, code, code_string, first_item, frame_sources, functional, int, ints, items, pixel_bytes,
    referenced_series, shown, text,
};
use super::{Code, ForeignErrorKind, ForeignHeader, Reference, SourceRef, enhanced_references};

type Kind = ForeignErrorKind;

/// BINARY or FRACTIONAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentationKind {
    /// One bit per pixel: in the segment or not.
    Binary,
    /// A byte per pixel, 0 to `max_value`.
    Fractional {
        /// Segmentation Fractional Type: `PROBABILITY` or `OCCUPANCY`.
        fractional_type: Option<String>,
        /// Maximum Fractional Value (the value meaning 1.0).
        max_value: u8,
    },
}

/// One item of the Segment Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Segment Number (what the frames refer to).
    pub number: u16,
    /// Segment Label.
    pub label: String,
    /// Segment Description.
    pub description: Option<String>,
    /// Segment Algorithm Type: `AUTOMATIC`, `SEMIAUTOMATIC` or `MANUAL`.
    pub algorithm_type: Option<String>,
    /// Segment Algorithm Name, or the Segmentation Algorithm
    /// Identification's name, with its version when given.
    pub algorithm_name: Option<String>,
    /// Segmented Property Category.
    pub category: Option<Code>,
    /// Segmented Property Type.
    pub property_type: Option<Code>,
    /// Recommended Display CIELab Value as stored (L*, a*, b* scaled to
    /// 0–65535), when given.
    pub cielab: Option<[u16; 3]>,
    /// The display colour: the CIELab value in sRGB, or the default
    /// palette's colour for the segment when the file gives none.
    pub color: [u8; 3],
}

/// One frame: which segment it draws and on which source image.
#[derive(Debug, Clone, PartialEq)]
pub struct SegFrame {
    /// Referenced Segment Number.
    pub segment: u16,
    /// The source images (Derivation Image Sequence > Source Image Sequence).
    pub sources: Vec<SourceRef>,
}

/// A Segmentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// What every foreign object says about itself.
    pub header: ForeignHeader,
    /// BINARY or FRACTIONAL.
    pub kind: SegmentationKind,
    /// Rows of each frame.
    pub rows: usize,
    /// Columns of each frame.
    pub columns: usize,
    /// The segments, in file order.
    pub segments: Vec<Segment>,
    /// The frames.
    pub frames: Vec<SegFrame>,
    /// The top-level Referenced Series Sequence: (series UID, instances).
    pub referenced_series: Vec<(Option<String>, Vec<SourceRef>)>,
    /// One byte per pixel, frame after frame: 0/1 for BINARY, the stored
    /// value for FRACTIONAL.
    pixels: Vec<u8>,
}

impl Segmentation {
    /// The pixels of `frame` (0-based), row by row: 0 or 1 for BINARY, the
    /// stored fraction (0 to the maximum) for FRACTIONAL.
    pub fn frame_pixels(&self, frame: usize) -> Option<&[u8]> {
        let n = self.rows * self.columns;
        (frame < self.frames.len()).then(|| &self.pixels[frame * n..(frame + 1) * n])
    }

    /// The stored value at column `x`, row `y` of `frame`.
    pub fn value_at(&self, frame: usize, x: usize, y: usize) -> Option<u8> {
        if x >= self.columns || y >= self.rows {
            return None;
        }
        self.frame_pixels(frame).map(|p| p[y * self.columns + x])
    }

    /// The value at column `x`, row `y` of `frame` as a fraction: 0 or 1
    /// for BINARY, stored ÷ maximum for FRACTIONAL.
    pub fn fraction_at(&self, frame: usize, x: usize, y: usize) -> Option<f64> {
        let v = f64::from(self.value_at(frame, x, y)?);
        Some(match self.kind {
            SegmentationKind::Binary => v,
            SegmentationKind::Fractional { max_value, .. } => v / f64::from(max_value.max(1)),
        })
    }

    /// The segment numbered `number`.
    pub fn segment(&self, number: u16) -> Option<&Segment> {
        self.segments.iter().find(|s| s.number == number)
    }

    /// The frames (0-based) that draw segment `number`.
    pub fn frames_of(&self, number: u16) -> impl Iterator<Item = usize> + '_ {
        self.frames
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.segment == number)
            .map(|(i, _)| i)
    }

    /// Every reference the segmentation makes: per frame, then the object's.
    pub fn references(&self) -> Vec<Reference> {
        enhanced_references(
            self.frames.iter().map(|f| f.sources.as_slice()),
            &self.referenced_series,
        )
    }
}

/// A stored Recommended Display CIELab Value (L* × 65535 / 100, (a* + 128)
/// and (b* + 128) × 65535 / 255) in 8-bit sRGB: CIELab → XYZ under the D65
/// white point → linear sRGB → the sRGB transfer curve, clipped to 0–255
/// (the conversion dcmqi, highdicom and PixelMed use).
pub fn cielab_to_srgb(lab: [u16; 3]) -> [u8; 3] {
    let l = f64::from(lab[0]) * 100.0 / 65535.0;
    let a = f64::from(lab[1]) * 255.0 / 65535.0 - 128.0;
    let b = f64::from(lab[2]) * 255.0 / 65535.0 - 128.0;
    let fy = (l + 16.0) / 116.0;
    let fx = a / 500.0 + fy;
    let fz = fy - b / 200.0;
    let inverse = |c: f64| {
        let c3 = c * c * c;
        if c3 > 0.008856 {
            c3
        } else {
            (c - 16.0 / 116.0) / 7.787
        }
    };
    let (x, y, z) = (0.95047 * inverse(fx), inverse(fy), 1.08883 * inverse(fz));
    let linear = [
        3.2406 * x - 1.5372 * y - 0.4986 * z,
        -0.9689 * x + 1.8758 * y + 0.0415 * z,
        0.0557 * x - 0.2040 * y + 1.0570 * z,
    ];
    linear.map(|c| {
        let g = if c > 0.0031308 {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        } else {
            12.92 * c
        };
        (g * 255.0).round().clamp(0.0, 255.0) as u8
    })
}

/// The default colour of the `index`-th segment (0-based) when the file
/// recommends none: Tableau 10, repeating.
pub fn default_color(index: usize) -> [u8; 3] {
    let c = colorous::TABLEAU10[index % colorous::TABLEAU10.len()];
    [c.r, c.g, c.b]
}

fn read_segment(index: usize, item: &Ds) -> Result<Segment, Kind> {
    let number = int(item, tags::SEGMENT_NUMBER).ok_or(Kind::MissingAttribute("SegmentNumber"))?;
    let number = u16::try_from(number).map_err(|_| Kind::InvalidAttribute {
        name: "SegmentNumber",
        reason: format!("{number} is not a segment number"),
    })?;
    let cielab: Option<[u16; 3]> = ints(item, tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE)
        .into_iter()
        .map(|v| u16::try_from(v).ok())
        .collect::<Option<Vec<u16>>>()
        .and_then(|v| v.try_into().ok());
    let identification = first_item(item, tags::SEGMENTATION_ALGORITHM_IDENTIFICATION_SEQUENCE);
    let algorithm_name = text(item, tags::SEGMENT_ALGORITHM_NAME)
        .or_else(|| identification.and_then(|i| text(i, tags::ALGORITHM_NAME)))
        .map(
            |name| match identification.and_then(|i| text(i, tags::ALGORITHM_VERSION)) {
                Some(version) => format!("{name} {version}"),
                None => name,
            },
        );
    Ok(Segment {
        number,
        label: text(item, tags::SEGMENT_LABEL).unwrap_or_else(|| format!("Segment {number}")),
        description: text(item, tags::SEGMENT_DESCRIPTION),
        algorithm_type: code_string(item, tags::SEGMENT_ALGORITHM_TYPE),
        algorithm_name,
        category: code(item, tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE),
        property_type: code(item, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE),
        color: cielab.map_or_else(|| default_color(index), cielab_to_srgb),
        cielab,
    })
}

fn read_kind(ds: &Ds) -> Result<SegmentationKind, Kind> {
    let kind = code_string(ds, tags::SEGMENTATION_TYPE);
    let allocated = int(ds, tags::BITS_ALLOCATED);
    let (kind, bits) = match kind.as_deref() {
        Some("BINARY") => (SegmentationKind::Binary, 1),
        Some("FRACTIONAL") => {
            let max = int(ds, tags::MAXIMUM_FRACTIONAL_VALUE).unwrap_or(255);
            let max_value = u8::try_from(max).ok().filter(|&m| m > 0).ok_or_else(|| {
                Kind::InvalidAttribute {
                    name: "MaximumFractionalValue",
                    reason: format!("{max} is not in 1–255"),
                }
            })?;
            (
                SegmentationKind::Fractional {
                    fractional_type: code_string(ds, tags::SEGMENTATION_FRACTIONAL_TYPE),
                    max_value,
                },
                8,
            )
        }
        other => {
            return Err(Kind::InvalidAttribute {
                name: "SegmentationType",
                reason: format!("{} (BINARY and FRACTIONAL are read)", shown(other)),
            });
        }
    };
    if allocated != Some(bits) {
        return Err(Kind::InvalidAttribute {
            name: "BitsAllocated",
            reason: format!(
                "{} (a {} segmentation has {bits})",
                allocated.map_or("absent".into(), |a| a.to_string()),
                if bits == 1 { "BINARY" } else { "FRACTIONAL" }
            ),
        });
    }
    Ok(kind)
}

/// Reads a Segmentation's data set.
pub(super) fn read(ds: &Ds, mut header: ForeignHeader) -> Result<Segmentation, Kind> {
    let kind = read_kind(ds)?;
    let (rows, columns, frame_count) = dimensions(ds)?;
    let count = checked_size(frame_count, rows, columns, 1)?;
    let bytes = pixel_bytes(ds, tags::PIXEL_DATA)
        .map_err(|reason| Kind::InvalidAttribute {
            name: "PixelData",
            reason,
        })?
        .ok_or(Kind::MissingAttribute("PixelData"))?;
    let expected = match kind {
        SegmentationKind::Binary => count.div_ceil(8),
        SegmentationKind::Fractional { .. } => count,
    };
    if bytes.len() < expected {
        return Err(Kind::PixelDataTruncated {
            found: bytes.len(),
            expected,
        });
    }
    let pixels: Vec<u8> = match kind {
        SegmentationKind::Binary => (0..count).map(|i| (bytes[i / 8] >> (i % 8)) & 1).collect(),
        SegmentationKind::Fractional { .. } => bytes[..count].to_vec(),
    };

    let segment_items = items(ds, tags::SEGMENT_SEQUENCE);
    if segment_items.is_empty() {
        return Err(Kind::MissingAttribute("SegmentSequence"));
    }
    let segments = segment_items
        .iter()
        .enumerate()
        .map(|(i, item)| read_segment(i, item))
        .collect::<Result<Vec<_>, _>>()?;

    let per_frame = items(ds, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let mut frames = Vec::with_capacity(frame_count);
    for f in 0..frame_count {
        let item = per_frame.get(f);
        let number = functional(ds, item, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
            .and_then(|s| int(s, tags::REFERENCED_SEGMENT_NUMBER));
        let segment = match (number, segments.as_slice()) {
            (Some(n), _) => u16::try_from(n).map_err(|_| Kind::InvalidAttribute {
                name: "ReferencedSegmentNumber",
                reason: format!("frame {}: {n} is not a segment number", f + 1),
            })?,
            (None, [only]) => only.number,
            (None, _) => {
                return Err(Kind::InvalidAttribute {
                    name: "ReferencedSegmentNumber",
                    reason: format!("frame {} names no segment", f + 1),
                });
            }
        };
        if !segments.iter().any(|s| s.number == segment) {
            header.notes.push(format!(
                "frame {} refers to segment {segment}, which the Segment Sequence does not \
                 describe",
                f + 1
            ));
        }
        frames.push(SegFrame {
            segment,
            sources: frame_sources(ds, item),
        });
    }
    if header.algorithm.is_none() {
        let mut names: Vec<String> = Vec::new();
        for name in segments.iter().filter_map(|s| s.algorithm_name.as_ref()) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        header.algorithm = (!names.is_empty()).then(|| names.join(", "));
    }
    Ok(Segmentation {
        header,
        kind,
        rows,
        columns,
        segments,
        frames,
        referenced_series: referenced_series(ds),
        pixels,
    })
}

//! Parametric Maps (PS3.3 A.75) from other systems: frames of float
//! (Float Pixel Data / Double Float Pixel Data) or integer samples with the
//! Real World Value Mapping that gives them a meaning and a unit (slope and
//! intercept, or a LUT from its first value mapped), each frame's source
//! image, and the value range for a colour bar.
//!
//! A map without any Real World Value Mapping is refused
//! ([`ForeignErrorKind::NoValueMapping`]): numbers without a stated meaning
//! are not shown as a quantity.

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;

use super::values::{
    Ds, code, content_pairs, first_item, float, frame_sources, functional, int, items, pixel_bytes,
    referenced_series, source_refs, text,
};
use super::{Code, ForeignErrorKind, ForeignHeader, Reference, SourceRef, enhanced_references};
use crate::imaging::dicom::MAX_PIXEL_BYTES;

type Kind = ForeignErrorKind;

/// How stored values become real-world values.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTransform {
    /// `value = slope × stored + intercept`.
    Linear {
        /// Real World Value Slope.
        slope: f64,
        /// Real World Value Intercept.
        intercept: f64,
    },
    /// `value = data[stored − first mapped]` (Real World Value LUT Data).
    Lut {
        /// The table, one entry per stored value from the first mapped one.
        data: Vec<f64>,
    },
}

/// One item of a Real World Value Mapping Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMapping {
    /// LUT Label.
    pub label: Option<String>,
    /// LUT Explanation.
    pub explanation: Option<String>,
    /// Measurement Units Code Sequence (UCUM `1` for unitless values).
    pub units: Option<Code>,
    /// The Quantity Definition Sequence as (concept, value) pairs, e.g.
    /// ("Quantity", "Probability") or ("Algorithm Name", "model-x").
    pub quantity: Vec<(String, String)>,
    /// The first stored value the mapping applies to.
    pub first_mapped: Option<f64>,
    /// The last stored value the mapping applies to.
    pub last_mapped: Option<f64>,
    /// The transform.
    pub transform: ValueTransform,
}

impl ValueMapping {
    /// The real-world value of `stored`. A linear mapping applies to any
    /// finite value (float maps often exceed their declared range by
    /// rounding); a LUT gives `None` for a value outside its table.
    pub fn apply(&self, stored: f64) -> Option<f64> {
        if !stored.is_finite() {
            return None;
        }
        match &self.transform {
            ValueTransform::Linear { slope, intercept } => Some(slope * stored + intercept),
            ValueTransform::Lut { data } => {
                let offset = (stored - self.first_mapped.unwrap_or(0.0)).round();
                if offset < 0.0 || offset >= data.len() as f64 {
                    return None;
                }
                data.get(offset as usize).copied()
            }
        }
    }

    /// The unit to print after a value: the UCUM code (`mm2`, `[hnsf'U]`
    /// as `HU`), empty for the unitless `1`.
    pub fn unit_text(&self) -> String {
        match &self.units {
            Some(u) if u.value == "1" => String::new(),
            Some(u) if u.value == "[hnsf'U]" => "HU".into(),
            Some(u) if !u.value.is_empty() => u.value.clone(),
            Some(u) => u.meaning.clone(),
            None => String::new(),
        }
    }
}

/// The stored samples of every frame, frame after frame, row by row.
#[derive(Debug, Clone, PartialEq)]
pub enum MapSamples {
    /// Float Pixel Data (OF).
    F32(Vec<f32>),
    /// Double Float Pixel Data (OD).
    F64(Vec<f64>),
    /// Integer Pixel Data (8 or 16 bits, signed or not).
    Int(Vec<i32>),
}

impl MapSamples {
    fn get(&self, index: usize) -> Option<f64> {
        match self {
            Self::F32(v) => v.get(index).map(|&x| f64::from(x)),
            Self::F64(v) => v.get(index).copied(),
            Self::Int(v) => v.get(index).map(|&x| f64::from(x)),
        }
    }
}

/// One frame of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFrame {
    /// The source images this frame was derived from (Derivation Image
    /// Sequence > Source Image Sequence; for a single-frame map without
    /// one, the top-level Source Image Sequence or the one instance of the
    /// Referenced Series Sequence).
    pub sources: Vec<SourceRef>,
    /// Indices into [`ParametricMap::mappings`] of the mappings that apply,
    /// the first being the one [`ParametricMap::value_at`] uses.
    pub mappings: Vec<usize>,
    /// The smallest and largest real-world value in the frame (by the
    /// first mapping); `None` when no sample maps to a finite value.
    pub value_range: Option<(f64, f64)>,
}

/// A Parametric Map.
#[derive(Debug, Clone, PartialEq)]
pub struct ParametricMap {
    /// What every foreign object says about itself.
    pub header: ForeignHeader,
    /// Rows of each frame.
    pub rows: usize,
    /// Columns of each frame.
    pub columns: usize,
    /// The distinct mappings used by the frames.
    pub mappings: Vec<ValueMapping>,
    /// The frames.
    pub frames: Vec<MapFrame>,
    /// The first frame's (or the shared) window, in stored values, when
    /// the map recommends one: (centre, width).
    pub window: Option<(f64, f64)>,
    /// The top-level Referenced Series Sequence: (series UID, instances).
    pub referenced_series: Vec<(Option<String>, Vec<SourceRef>)>,
    samples: MapSamples,
}

impl ParametricMap {
    /// The stored samples.
    pub fn samples(&self) -> &MapSamples {
        &self.samples
    }

    /// The stored value at column `x`, row `y` of `frame` (0-based).
    pub fn stored_at(&self, frame: usize, x: usize, y: usize) -> Option<f64> {
        if frame >= self.frames.len() || x >= self.columns || y >= self.rows {
            return None;
        }
        self.samples.get((frame * self.rows + y) * self.columns + x)
    }

    /// The real-world value at column `x`, row `y` of `frame` (0-based),
    /// through the frame's first mapping; `None` outside the map or when
    /// the value does not map (NaN, outside a LUT).
    pub fn value_at(&self, frame: usize, x: usize, y: usize) -> Option<f64> {
        let stored = self.stored_at(frame, x, y)?;
        self.mapping(frame)?.apply(stored)
    }

    /// The first mapping of `frame` (its unit and label for the readout).
    pub fn mapping(&self, frame: usize) -> Option<&ValueMapping> {
        let index = *self.frames.get(frame)?.mappings.first()?;
        self.mappings.get(index)
    }

    /// Every real-world value of `frame`, row by row (`NaN` where a sample
    /// does not map), for a heatmap layer.
    pub fn frame_values(&self, frame: usize) -> Option<Vec<f32>> {
        let mapping = self.mapping(frame)?;
        let n = self.rows * self.columns;
        Some(
            (frame * n..(frame + 1) * n)
                .map(|i| {
                    self.samples
                        .get(i)
                        .and_then(|s| mapping.apply(s))
                        .map_or(f32::NAN, |v| v as f32)
                })
                .collect(),
        )
    }

    /// The smallest and largest real-world value over all frames.
    pub fn value_range(&self) -> Option<(f64, f64)> {
        self.frames
            .iter()
            .filter_map(|f| f.value_range)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }

    /// Every reference the map makes: per frame, then the object's.
    pub fn references(&self) -> Vec<Reference> {
        enhanced_references(
            self.frames.iter().map(|f| f.sources.as_slice()),
            &self.referenced_series,
        )
    }
}

/// Rows, columns and frames of an enhanced object, checked.
pub(super) fn dimensions(ds: &Ds) -> Result<(usize, usize, usize), Kind> {
    let positive = |tag: Tag, name: &'static str, default: Option<i64>| {
        let value = int(ds, tag)
            .or(default)
            .ok_or(Kind::MissingAttribute(name))?;
        usize::try_from(value)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| Kind::InvalidAttribute {
                name,
                reason: format!("{value} is not a positive number"),
            })
    };
    Ok((
        positive(tags::ROWS, "Rows", None)?,
        positive(tags::COLUMNS, "Columns", None)?,
        positive(tags::NUMBER_OF_FRAMES, "NumberOfFrames", Some(1))?,
    ))
}

/// `frames × rows × columns × bytes`, refused when it overflows or exceeds
/// the pixel budget.
pub(super) fn checked_size(
    frames: usize,
    rows: usize,
    columns: usize,
    bytes: usize,
) -> Result<usize, Kind> {
    let samples = frames
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(columns))
        .ok_or_else(|| Kind::TooLarge(format!("{frames} frames of {rows} × {columns}")))?;
    match samples.checked_mul(bytes) {
        Some(total) if total as u64 <= MAX_PIXEL_BYTES => Ok(samples),
        _ => Err(Kind::TooLarge(format!(
            "{frames} frames of {rows} × {columns} exceed the {} GiB pixel budget",
            MAX_PIXEL_BYTES >> 30
        ))),
    }
}

fn read_mapping(item: &Ds) -> Result<ValueMapping, Kind> {
    let first_mapped = float(item, tags::DOUBLE_FLOAT_REAL_WORLD_VALUE_FIRST_VALUE_MAPPED)
        .or_else(|| float(item, tags::REAL_WORLD_VALUE_FIRST_VALUE_MAPPED));
    let last_mapped = float(item, tags::DOUBLE_FLOAT_REAL_WORLD_VALUE_LAST_VALUE_MAPPED)
        .or_else(|| float(item, tags::REAL_WORLD_VALUE_LAST_VALUE_MAPPED));
    let lut = super::values::floats(item, tags::REAL_WORLD_VALUE_LUT_DATA);
    let transform = if let Some(slope) = float(item, tags::REAL_WORLD_VALUE_SLOPE) {
        ValueTransform::Linear {
            slope,
            intercept: float(item, tags::REAL_WORLD_VALUE_INTERCEPT).unwrap_or(0.0),
        }
    } else if !lut.is_empty() {
        if first_mapped.is_none() {
            return Err(Kind::MissingAttribute("RealWorldValueFirstValueMapped"));
        }
        ValueTransform::Lut { data: lut }
    } else {
        return Err(Kind::InvalidAttribute {
            name: "RealWorldValueMappingSequence",
            reason: "an item has neither a slope nor LUT data".into(),
        });
    };
    Ok(ValueMapping {
        label: text(item, tags::LUT_LABEL),
        explanation: text(item, tags::LUT_EXPLANATION),
        units: code(item, tags::MEASUREMENT_UNITS_CODE_SEQUENCE),
        quantity: content_pairs(items(item, tags::QUANTITY_DEFINITION_SEQUENCE)),
        first_mapped,
        last_mapped,
        transform,
    })
}

/// Reads every sample (frames × rows × columns) of the map.
fn read_samples(ds: &Ds, count: usize) -> Result<MapSamples, Kind> {
    let short = |found: usize, size: usize| Kind::PixelDataTruncated {
        found: found * size,
        expected: count * size,
    };
    if let Some(e) = ds.get(tags::FLOAT_PIXEL_DATA) {
        checked_size(1, 1, count, 4)?;
        let values: Vec<f32> = match e.value() {
            Value::Primitive(PrimitiveValue::F32(v)) => v.iter().take(count).copied().collect(),
            Value::Primitive(PrimitiveValue::U8(b)) => b
                .chunks_exact(4)
                .take(count)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            _ => e.to_multi_float32().unwrap_or_default(),
        };
        if values.len() < count {
            return Err(short(values.len(), 4));
        }
        return Ok(MapSamples::F32(values));
    }
    if let Some(e) = ds.get(tags::DOUBLE_FLOAT_PIXEL_DATA) {
        checked_size(1, 1, count, 8)?;
        let values: Vec<f64> = match e.value() {
            Value::Primitive(PrimitiveValue::F64(v)) => v.iter().take(count).copied().collect(),
            Value::Primitive(PrimitiveValue::U8(b)) => b
                .chunks_exact(8)
                .take(count)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            _ => e.to_multi_float64().unwrap_or_default(),
        };
        if values.len() < count {
            return Err(short(values.len(), 8));
        }
        return Ok(MapSamples::F64(values));
    }
    let bytes = pixel_bytes(ds, tags::PIXEL_DATA)
        .map_err(|reason| Kind::InvalidAttribute {
            name: "PixelData",
            reason,
        })?
        .ok_or(Kind::MissingAttribute(
            "FloatPixelData, DoubleFloatPixelData or PixelData",
        ))?;
    let allocated = int(ds, tags::BITS_ALLOCATED).ok_or(Kind::MissingAttribute("BitsAllocated"))?;
    let size = match allocated {
        8 => 1,
        16 => 2,
        other => {
            return Err(Kind::InvalidAttribute {
                name: "BitsAllocated",
                reason: format!("{other} (integer maps have 8 or 16 bits)"),
            });
        }
    };
    checked_size(1, 1, count, size)?;
    if bytes.len() / size < count {
        return Err(short(bytes.len() / size, size));
    }
    let stored = int(ds, tags::BITS_STORED)
        .filter(|b| (1..=allocated).contains(b))
        .unwrap_or(allocated) as u32;
    let signed = int(ds, tags::PIXEL_REPRESENTATION) == Some(1);
    let shift = 32 - stored;
    let values = bytes
        .chunks_exact(size)
        .take(count)
        .map(|c| {
            let raw = if size == 1 {
                u32::from(c[0])
            } else {
                u32::from(u16::from_le_bytes([c[0], c[1]]))
            };
            let masked = raw << shift;
            if signed {
                (masked as i32) >> shift
            } else {
                (masked >> shift) as i32
            }
        })
        .collect();
    Ok(MapSamples::Int(values))
}

/// The window of the first frame or the shared groups.
fn window(ds: &Ds, first: Option<&Ds>) -> Option<(f64, f64)> {
    let voi = functional(ds, first, tags::FRAME_VOILUT_SEQUENCE)?;
    Some((
        float(voi, tags::WINDOW_CENTER)?,
        float(voi, tags::WINDOW_WIDTH).filter(|w| *w > 0.0)?,
    ))
}

/// Reads a Parametric Map's data set.
pub(super) fn read(ds: &Ds, mut header: ForeignHeader) -> Result<ParametricMap, Kind> {
    let (rows, columns, frame_count) = dimensions(ds)?;
    let count = checked_size(frame_count, rows, columns, 1)?;
    let samples = read_samples(ds, count)?;
    let per_frame = items(ds, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let referenced_series = referenced_series(ds);
    let mut mappings: Vec<ValueMapping> = Vec::new();
    let mut frames = Vec::with_capacity(frame_count);
    for f in 0..frame_count {
        let item = per_frame.get(f);
        let mapping_items = item
            .map(|i| items(i, tags::REAL_WORLD_VALUE_MAPPING_SEQUENCE))
            .filter(|m| !m.is_empty())
            .or_else(|| {
                first_item(ds, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
                    .map(|s| items(s, tags::REAL_WORLD_VALUE_MAPPING_SEQUENCE))
            })
            .unwrap_or(&[]);
        if mapping_items.is_empty() {
            return Err(Kind::NoValueMapping { frame: f + 1 });
        }
        let mut indices = Vec::new();
        for m in mapping_items {
            let mapping = read_mapping(m)?;
            let index = match mappings.iter().position(|known| *known == mapping) {
                Some(i) => i,
                None => {
                    mappings.push(mapping);
                    mappings.len() - 1
                }
            };
            indices.push(index);
        }
        let mut sources = frame_sources(ds, item);
        if sources.is_empty() && frame_count == 1 {
            sources = source_refs(ds, tags::SOURCE_IMAGE_SEQUENCE);
            if sources.is_empty() {
                let all: Vec<&SourceRef> = referenced_series.iter().flat_map(|(_, r)| r).collect();
                if let [only] = all.as_slice() {
                    sources.push((*only).clone());
                }
            }
        }
        let mapping = &mappings[indices[0]];
        let n = rows * columns;
        let value_range = (f * n..(f + 1) * n)
            .filter_map(|i| samples.get(i).and_then(|s| mapping.apply(s)))
            .filter(|v| v.is_finite())
            .fold(None, |range: Option<(f64, f64)>, v| match range {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            });
        frames.push(MapFrame {
            sources,
            mappings: indices,
            value_range,
        });
    }
    if header.algorithm.is_none() {
        header.algorithm = algorithm(&mappings);
    }
    Ok(ParametricMap {
        header,
        rows,
        columns,
        mappings,
        window: window(ds, per_frame.first()),
        frames,
        referenced_series,
        samples,
    })
}

/// "Algorithm Name" and "Algorithm Version" from a Quantity Definition.
fn algorithm(mappings: &[ValueMapping]) -> Option<String> {
    let find = |name: &str| {
        mappings
            .iter()
            .flat_map(|m| m.quantity.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let name = find("Algorithm Name")?;
    Some(match find("Algorithm Version") {
        Some(version) => format!("{name} {version}"),
        None => name,
    })
}

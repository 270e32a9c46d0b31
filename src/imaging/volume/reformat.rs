//! Exact reformats of a volume's stored grid: a slice, a row of every slice
//! (coronal) or a column of every slice (sagittal), alone or as a slab of
//! neighbouring planes combined by maximum, minimum or mean.
//!
//! No resampling: every output value is a modality value of one voxel (or
//! the combination of voxels on one line through the slab), so the result
//! can be checked against any array library to the last bit. Physical
//! spacing travels with the plane for display at the right aspect.

use std::ops::Range;

use serde::Serialize;

use super::{Volume, VolumeError};
use crate::imaging::modality::ModalityLut;
use crate::imaging::pixels::Samples;

/// A plane through the stored grid, named as for an axial acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plane {
    /// One slice as stored.
    Axial,
    /// Row `index` of every slice.
    Coronal,
    /// Column `index` of every slice.
    Sagittal,
}

impl Plane {
    /// Every plane, in the order of the MPR layout.
    pub const ALL: [Plane; 3] = [Plane::Axial, Plane::Coronal, Plane::Sagittal];

    /// The plane's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Plane::Axial => "axial",
            Plane::Coronal => "coronal",
            Plane::Sagittal => "sagittal",
        }
    }

    /// Parses a plane name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// How the planes of a slab are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlabMode {
    /// Maximum intensity projection.
    Mip,
    /// Minimum intensity projection.
    Minip,
    /// Mean (average intensity projection).
    Mean,
}

impl SlabMode {
    /// The mode's name on the command line and in the corner text.
    pub fn name(self) -> &'static str {
        match self {
            SlabMode::Mip => "mip",
            SlabMode::Minip => "minip",
            SlabMode::Mean => "mean",
        }
    }

    /// Parses a mode name (`avg`/`avgip` are taken for `mean`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "mip" | "max" => Some(SlabMode::Mip),
            "minip" | "min" => Some(SlabMode::Minip),
            "mean" | "avg" | "avgip" | "average" => Some(SlabMode::Mean),
            _ => None,
        }
    }
}

/// A slab: `planes` neighbouring planes centred on the index, combined by
/// `mode`. Planes `index - planes/2 .. index - planes/2 + planes` are
/// combined (numpy's `v[i - k//2 : i - k//2 + k]`), cut at the volume's
/// edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slab {
    /// Number of planes, at least 1.
    pub planes: usize,
    /// How they are combined.
    pub mode: SlabMode,
}

/// A plane cut from a volume: modality values, row-major, with the
/// physical spacing and directions needed to display and measure it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaneImage {
    /// Which plane.
    pub plane: Plane,
    /// Its index (slice, row or column).
    pub index: usize,
    /// The planes actually combined (a slab cut at an edge is thinner).
    pub combined: Range<usize>,
    /// The slab mode, when more than one plane was asked for.
    pub mode: Option<SlabMode>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Modality values (HU for CT), row-major.
    #[serde(skip)]
    pub values: Vec<f64>,
    /// Distance between output rows, mm (`None` when unknown: the slice
    /// spacing of a one-slice volume).
    pub row_spacing: Option<f64>,
    /// Distance between output columns, mm.
    pub column_spacing: f64,
    /// Patient direction of increasing column (screen right).
    pub right: [f64; 3],
    /// Patient direction of increasing row (screen down).
    pub down: [f64; 3],
    /// For coronal and sagittal planes, each output row's slice position
    /// along the normal, mm, top first (they show gaps and uneven spacing).
    pub row_positions: Option<Vec<f64>>,
    /// The slice whose image gives the default window and inversion.
    pub reference_slice: usize,
}

/// Where one output row reads in one slice: `len` samples from `start`,
/// `step` apart (1 along a stored row, the row length down a column).
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    step: usize,
    len: usize,
}

/// Reads the samples of `line` through the Modality LUT and hands each to
/// `put` with its place on the line; the sample type and the LUT's kind
/// are matched once per line, not per sample (the same arithmetic as
/// [`ModalityLut::apply`]).
#[inline]
fn gather(samples: &Samples, lut: &ModalityLut, line: Line, mut put: impl FnMut(usize, f64)) {
    macro_rules! each {
        ($v:expr, $f:expr) => {{
            let f = $f;
            let from = &$v[line.start.min($v.len())..];
            if line.step == 1 {
                for (k, &x) in from.iter().take(line.len).enumerate() {
                    put(k, f(x as i64));
                }
            } else {
                for (k, &x) in from.iter().step_by(line.step).take(line.len).enumerate() {
                    put(k, f(x as i64));
                }
            }
        }};
    }
    macro_rules! through_lut {
        ($v:expr) => {
            match lut {
                ModalityLut::Rescale { slope, intercept } => {
                    let (slope, intercept) = (*slope, *intercept);
                    each!($v, |x: i64| x as f64 * slope + intercept)
                }
                ModalityLut::Table(table) => each!($v, |x: i64| table.lookup(x) as f64),
            }
        };
    }
    match samples {
        Samples::U8(v) => through_lut!(v),
        Samples::I8(v) => through_lut!(v),
        Samples::U16(v) => through_lut!(v),
        Samples::I16(v) => through_lut!(v),
        Samples::U32(v) => through_lut!(v),
        Samples::I32(v) => through_lut!(v),
    }
}

/// Sample `i` of a frame through its Modality LUT (0 past the end, which
/// a volume's checked grid never reaches).
pub(super) fn gather_point(samples: &Samples, lut: &ModalityLut, i: usize) -> f64 {
    lut.apply(samples.get(i).unwrap_or(0))
}

/// Fills one output row from the lines `lines` yields (one per plane of
/// the slab): the first is stored, the others folded in by `mode`, and the
/// mean divided at the end. The mode is matched once per line so the inner
/// loops stay tight.
fn combine_row<'a>(
    row: &mut [f64],
    mode: SlabMode,
    lines: impl Iterator<Item = (&'a Samples, &'a ModalityLut, Line)>,
) {
    let mut planes = 0usize;
    for (samples, lut, line) in lines {
        match (planes, mode) {
            (0, _) => gather(samples, lut, line, |k, v| row[k] = v),
            (_, SlabMode::Mip) => gather(samples, lut, line, |k, v| row[k] = row[k].max(v)),
            (_, SlabMode::Minip) => gather(samples, lut, line, |k, v| row[k] = row[k].min(v)),
            (_, SlabMode::Mean) => gather(samples, lut, line, |k, v| row[k] += v),
        }
        planes += 1;
    }
    if mode == SlabMode::Mean && planes > 1 {
        let n = planes as f64;
        row.iter_mut().for_each(|v| *v /= n);
    }
}

/// Voxel reads below which a plane is cut on the calling thread alone
/// (starting threads would cost more than they save).
const PARALLEL_READS: usize = 1 << 18;

impl Volume {
    /// How many planes of `plane` there are.
    pub fn plane_count(&self, plane: Plane) -> usize {
        let g = self.geometry();
        match plane {
            Plane::Axial => self.slices().len(),
            Plane::Coronal => g.rows as usize,
            Plane::Sagittal => g.columns as usize,
        }
    }

    /// The output row of a coronal or sagittal plane that shows slice
    /// `slice` (the most superior slice is row 0).
    pub fn row_of_slice(&self, slice: usize) -> usize {
        let last = self.slices().len().saturating_sub(1);
        if self.superior_last() {
            last.saturating_sub(slice)
        } else {
            slice.min(last)
        }
    }

    /// The slice shown on output row `row` of a coronal or sagittal plane
    /// (the inverse of [`Volume::row_of_slice`]).
    pub fn slice_at_row(&self, row: usize) -> usize {
        self.row_of_slice(row)
    }

    /// The distance between neighbouring planes of `plane`, mm: the slice
    /// spacing for axial planes, the row or column spacing for the others.
    pub fn plane_spacing(&self, plane: Plane) -> Option<f64> {
        let g = self.geometry();
        match plane {
            Plane::Axial => g.slice_spacing,
            Plane::Coronal => Some(g.pixel_spacing[0]),
            Plane::Sagittal => Some(g.pixel_spacing[1]),
        }
    }

    /// The planes a slab of `planes` centred on `index` covers, cut at the
    /// edges of `0..count`.
    pub fn slab_range(index: usize, planes: usize, count: usize) -> Range<usize> {
        let start = index.saturating_sub(planes / 2);
        let end = (index + planes - planes / 2).min(count);
        start..end
    }

    /// Cuts plane `index` of `plane`, as a slab when `slab` covers more
    /// than one plane. Coronal and sagittal planes put the most superior
    /// slice at the top; a tilted stack is refused for them, and for axial
    /// slabs, since its stored grid is sheared.
    pub fn plane(
        &self,
        plane: Plane,
        index: usize,
        slab: Option<Slab>,
    ) -> Result<PlaneImage, VolumeError> {
        let count = self.plane_count(plane);
        if index >= count {
            return Err(VolumeError::IndexOutOfRange {
                plane: plane.name(),
                index,
                count,
            });
        }
        let planes = slab.map_or(1, |s| s.planes);
        if planes == 0 {
            return Err(VolumeError::EmptySlab);
        }
        if (plane != Plane::Axial || planes > 1) && !self.geometry().is_orthogonal() {
            return Err(VolumeError::GantryTilt {
                degrees: self.geometry().tilt_degrees,
                plane: plane.name(),
            });
        }
        let combined = Self::slab_range(index, planes, count);
        let mode = slab.filter(|s| s.planes > 1).map(|s| s.mode);
        let g = self.geometry().clone();
        let (rows, columns) = (g.rows as usize, g.columns as usize);
        let slices = self.slices();
        // Output row j of a reformat is slice `order[j]`.
        let order: Vec<usize> = if self.superior_last() {
            (0..slices.len()).rev().collect()
        } else {
            (0..slices.len()).collect()
        };
        let stack_down = if self.superior_last() {
            g.normal.map(|c| -c)
        } else {
            g.normal
        };
        let (width, height) = match plane {
            Plane::Axial => (columns, rows),
            Plane::Coronal => (columns, slices.len()),
            Plane::Sagittal => (rows, slices.len()),
        };
        let sources = (0..slices.len())
            .map(|s| self.slice_samples(s))
            .collect::<Result<Vec<_>, _>>()?;
        // Output row `j`, plane `k` of the slab: which slice it reads, and
        // where in that slice.
        let line_of = |j: usize, k: usize| -> (usize, Line) {
            match plane {
                Plane::Axial => (
                    k,
                    Line {
                        start: j * columns,
                        step: 1,
                        len: columns,
                    },
                ),
                Plane::Coronal => (
                    order[j],
                    Line {
                        start: k * columns,
                        step: 1,
                        len: columns,
                    },
                ),
                Plane::Sagittal => (
                    order[j],
                    Line {
                        start: k,
                        step: columns,
                        len: rows,
                    },
                ),
            }
        };
        let fill = |first_row: usize, chunk: &mut [f64]| {
            for (r, row) in chunk.chunks_mut(width).enumerate() {
                let lines = combined.clone().map(|k| {
                    let (s, line) = line_of(first_row + r, k);
                    (sources[s].0, sources[s].1, line)
                });
                combine_row(row, mode.unwrap_or(SlabMode::Mip), lines);
            }
        };
        let mut values = vec![0.0; width * height];
        let reads = width * height * combined.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(reads.div_ceil(PARALLEL_READS))
            .min(height)
            .max(1);
        if threads == 1 {
            fill(0, &mut values);
        } else {
            let rows_each = height.div_ceil(threads);
            std::thread::scope(|scope| {
                for (t, chunk) in values.chunks_mut(rows_each * width).enumerate() {
                    let fill = &fill;
                    scope.spawn(move || fill(t * rows_each, chunk));
                }
            });
        }
        let reformat = plane != Plane::Axial;
        Ok(PlaneImage {
            plane,
            index,
            combined,
            mode,
            width: width as u32,
            height: height as u32,
            values,
            row_spacing: match plane {
                Plane::Axial => Some(g.pixel_spacing[0]),
                _ => g.slice_spacing,
            },
            column_spacing: match plane {
                Plane::Sagittal => g.pixel_spacing[0],
                _ => g.pixel_spacing[1],
            },
            right: match plane {
                Plane::Sagittal => g.column_direction,
                _ => g.row_direction,
            },
            down: if reformat {
                stack_down
            } else {
                g.column_direction
            },
            row_positions: reformat.then(|| order.iter().map(|&s| slices[s].offset).collect()),
            reference_slice: if reformat { slices.len() / 2 } else { index },
        })
    }

    /// The stored samples and Modality LUT of slice `index`.
    pub(super) fn slice_samples(
        &self,
        index: usize,
    ) -> Result<(&Samples, &ModalityLut), VolumeError> {
        let slice = &self.slices()[index];
        let image = &self.images()[slice.image];
        let frame = image.frame(slice.frame)?;
        Ok((&frame.samples, image.modality_lut(slice.frame)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slab_is_centred_as_numpy_slices_it_and_cut_at_the_edges() {
        assert_eq!(Volume::slab_range(5, 1, 10), 5..6);
        assert_eq!(Volume::slab_range(5, 3, 10), 4..7);
        assert_eq!(Volume::slab_range(5, 4, 10), 3..7);
        assert_eq!(Volume::slab_range(0, 5, 10), 0..3);
        assert_eq!(Volume::slab_range(9, 5, 10), 7..10);
    }

    #[test]
    fn names_parse_back() {
        for p in Plane::ALL {
            assert_eq!(Plane::parse(p.name()), Some(p));
        }
        assert_eq!(SlabMode::parse("AvgIP"), Some(SlabMode::Mean));
        assert_eq!(SlabMode::parse("minip"), Some(SlabMode::Minip));
        assert_eq!(SlabMode::parse("x"), None);
    }
}

//! Oblique planes through the stack: the plane that holds the stacking
//! direction and a line through the axial grid at any angle (the MPR
//! crosshair rotated). Each output row is one slice, as for the coronal
//! and sagittal planes (most superior at the top, row positions kept);
//! along the line the plane is sampled every `min(pixel spacing)` mm at the
//! nearest voxel, so every value is still one voxel's modality value —
//! never an interpolated one — but the columns are resampled, unlike the
//! exact reformats of [`super::reformat`].

use super::reformat::gather_point;
use super::{Plane, PlaneImage, Volume, VolumeError};

/// A line through the axial grid, sampled: sample `k` is at column
/// `start[0] + k * step[0]`, row `start[1] + k * step[1]` (pixel indices,
/// centres at integers), for `k` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObliqueLine {
    /// The first sample's column and row.
    pub start: [f64; 2],
    /// Column and row per sample.
    pub step: [f64; 2],
    /// Samples inside the grid.
    pub count: usize,
    /// Distance between samples, mm.
    pub spacing: f64,
    /// The angle from the row direction towards the column direction,
    /// degrees.
    pub degrees: f64,
}

impl ObliqueLine {
    /// The nearest voxel (column, row) of sample `k`.
    pub fn voxel(&self, k: usize) -> (usize, usize) {
        let at = |axis: usize| {
            (self.start[axis] + k as f64 * self.step[axis])
                .round()
                .max(0.0)
        };
        (at(0) as usize, at(1) as usize)
    }
}

impl Volume {
    /// The line through voxel (`column`, `row`) at `degrees` from the row
    /// direction (towards the column direction, in the patient: the pixel
    /// spacing is taken into account), cut to the grid.
    pub fn oblique_line(&self, column: usize, row: usize, degrees: f64) -> ObliqueLine {
        let g = self.geometry();
        let [rs, cs] = g.pixel_spacing;
        let spacing = rs.min(cs);
        let (sin, cos) = degrees.to_radians().sin_cos();
        // Tiny components (cos 90°) are taken as zero, so a right angle
        // walks one stored column or row exactly.
        let clean = |v: f64| if v.abs() < 1e-12 { 0.0 } else { v };
        let step = [clean(cos * spacing / cs), clean(sin * spacing / rs)];
        let limits = [g.columns as f64 - 1.0, g.rows as f64 - 1.0];
        let origin = [column as f64, row as f64];
        // The range of k keeping both coordinates within [-0.5, limit + 0.5).
        let (mut low, mut high) = (f64::NEG_INFINITY, f64::INFINITY);
        for axis in 0..2 {
            if step[axis] == 0.0 {
                continue;
            }
            let a = (-0.5 - origin[axis]) / step[axis];
            let b = (limits[axis] + 0.5 - 1e-9 - origin[axis]) / step[axis];
            low = low.max(a.min(b));
            high = high.min(a.max(b));
        }
        let (first, last) = (low.ceil(), high.floor());
        let count = if last >= first {
            (last - first) as usize + 1
        } else {
            1
        };
        let first = if first.is_finite() { first } else { 0.0 };
        ObliqueLine {
            start: [origin[0] + first * step[0], origin[1] + first * step[1]],
            step,
            count,
            spacing,
            degrees,
        }
    }

    /// The oblique plane along `line`: one output row per slice, most
    /// superior at the top, each value the nearest voxel of that slice.
    /// Refused for a tilted stack, like the reformats.
    pub fn oblique_plane(&self, line: &ObliqueLine) -> Result<PlaneImage, VolumeError> {
        if !self.geometry().is_orthogonal() {
            return Err(VolumeError::GantryTilt {
                degrees: self.geometry().tilt_degrees,
                plane: "oblique",
            });
        }
        let g = self.geometry().clone();
        let slices = self.slices().len();
        let columns = g.columns as usize;
        let voxels: Vec<usize> = (0..line.count)
            .map(|k| {
                let (c, r) = line.voxel(k);
                r.min(g.rows as usize - 1) * columns + c.min(columns - 1)
            })
            .collect();
        let mut values = Vec::with_capacity(line.count * slices);
        for j in 0..slices {
            let (samples, lut) = self.slice_samples(self.slice_at_row(j))?;
            values.extend(voxels.iter().map(|&i| gather_point(samples, lut, i)));
        }
        let (sin, cos) = line.degrees.to_radians().sin_cos();
        let right = std::array::from_fn(|k| cos * g.row_direction[k] + sin * g.column_direction[k]);
        let order: Vec<usize> = (0..slices).map(|j| self.slice_at_row(j)).collect();
        let down = if self.superior_last() {
            g.normal.map(|c| -c)
        } else {
            g.normal
        };
        Ok(PlaneImage {
            plane: Plane::Coronal,
            index: 0,
            combined: 0..1,
            mode: None,
            width: line.count as u32,
            height: slices as u32,
            values,
            row_spacing: g.slice_spacing,
            column_spacing: line.spacing,
            right,
            down,
            row_positions: Some(order.iter().map(|&s| self.slices()[s].offset).collect()),
            reference_slice: slices / 2,
        })
    }
}

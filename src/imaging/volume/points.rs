//! Between a plane's pixels and the patient: the patient point (mm) under
//! a point of an axial, coronal or sagittal plane, and where a patient
//! point falls on a plane (and how far from it), so that a measurement made
//! on one plane is stored in patient coordinates and drawn on every plane
//! it lies in.
//!
//! Plane coordinates are the viewer's: pixel corners at integers, so the
//! centre of output pixel (i, j) is (i + 0.5, j + 0.5). Between two output
//! rows of a coronal or sagittal plane (two slices) positions are
//! interpolated along the stack, so gaps keep their true size.

use super::{Plane, Volume};
use crate::imaging::series::{add_scaled as add, dot, sub};

/// Where a patient point falls on a plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnPlane {
    /// Plane coordinates (x right, y down).
    pub x: f64,
    /// Plane coordinates.
    pub y: f64,
    /// Signed distance from the plane, mm.
    pub distance: f64,
}

impl Volume {
    /// The first pixel's position of the slice on output row `j` of a
    /// coronal or sagittal plane, for a continuous `j` (row centres at
    /// integers): interpolated between neighbouring slices, extrapolated
    /// past the ends.
    fn stack_position(&self, j: f64) -> [f64; 3] {
        let n = self.slices().len();
        let at = |row: usize| self.slices()[self.slice_at_row(row)].position;
        if n == 1 {
            return at(0);
        }
        let low = (j.floor().max(0.0) as usize).min(n - 2);
        let t = j - low as f64;
        let (a, b) = (at(low), at(low + 1));
        add(a, sub(b, a), t)
    }

    /// The continuous output row (row centres at integers) of a coronal or
    /// sagittal plane at `offset` mm along the normal.
    fn stack_row(&self, offset: f64) -> f64 {
        let n = self.slices().len();
        let at = |row: usize| self.slices()[self.slice_at_row(row)].offset;
        if n == 1 {
            return 0.0;
        }
        // Rows run monotonically in offset; find the pair around `offset`.
        let mut low = 0;
        while low + 2 < n && (at(low + 1) - offset) * (at(low + 1) - at(low)) <= 0.0 {
            low += 1;
        }
        let (a, b) = (at(low), at(low + 1));
        low as f64 + (offset - a) / (b - a)
    }

    /// The patient point (mm) at plane point (`x`, `y`) of plane `index` of
    /// `plane`. Meaningful for untilted volumes (the only ones reformatted).
    pub fn patient_point(&self, plane: Plane, index: usize, x: f64, y: f64) -> [f64; 3] {
        let g = self.geometry();
        let [rs, cs] = g.pixel_spacing;
        match plane {
            Plane::Axial => {
                let origin = self.slices()[index.min(self.slices().len() - 1)].position;
                let p = add(origin, g.row_direction, (x - 0.5) * cs);
                add(p, g.column_direction, (y - 0.5) * rs)
            }
            Plane::Coronal => {
                let origin = self.stack_position(y - 0.5);
                let p = add(origin, g.row_direction, (x - 0.5) * cs);
                add(p, g.column_direction, index as f64 * rs)
            }
            Plane::Sagittal => {
                let origin = self.stack_position(y - 0.5);
                let p = add(origin, g.row_direction, index as f64 * cs);
                add(p, g.column_direction, (x - 0.5) * rs)
            }
        }
    }

    /// Where patient point `p` falls on plane `index` of `plane`, and its
    /// distance from that plane (mm, signed).
    pub fn on_plane(&self, plane: Plane, index: usize, p: [f64; 3]) -> OnPlane {
        let g = self.geometry();
        let [rs, cs] = g.pixel_spacing;
        let first = self.slices()[0].position;
        let from_first = sub(p, first);
        let along_row = dot(from_first, g.row_direction);
        let along_column = dot(from_first, g.column_direction);
        let row = self.stack_row(dot(p, g.normal)) + 0.5;
        match plane {
            Plane::Axial => {
                let slice = &self.slices()[index.min(self.slices().len() - 1)];
                let d = sub(p, slice.position);
                OnPlane {
                    x: dot(d, g.row_direction) / cs + 0.5,
                    y: dot(d, g.column_direction) / rs + 0.5,
                    distance: dot(p, g.normal) - slice.offset,
                }
            }
            Plane::Coronal => OnPlane {
                x: along_row / cs + 0.5,
                y: row,
                distance: along_column - index as f64 * rs,
            },
            Plane::Sagittal => OnPlane {
                x: along_column / rs + 0.5,
                y: row,
                distance: along_row - index as f64 * cs,
            },
        }
    }
}

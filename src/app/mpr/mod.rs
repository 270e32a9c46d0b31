//! The MPR layout: one series as a volume, shown as axial, coronal and
//! sagittal planes that share one cursor (the crosshair), one window and
//! one slab setting.
//!
//! This module is the model (no drawing): which voxel the crosshair is on,
//! what a click or a scroll in a plane does to it, how thick each plane's
//! slab is in planes, each pane's zoom and pan, and the lengths measured
//! (kept as patient points, shown on every plane they lie in). [`pane`]
//! draws it.

pub mod pane;

use std::sync::Arc;

use crate::imaging::WindowChoice;
use crate::imaging::series::distance;
use crate::imaging::volume::oblique::ObliqueLine;
use crate::imaging::volume::{Plane, Slab, SlabMode, Volume};

pub use self::pane::PaneTexture;

/// Slab thicknesses the slab key steps through, mm (0: one plane).
pub const SLAB_STEPS_MM: [f64; 7] = [0.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0];

/// The MPR layout's state.
pub struct Mpr {
    /// The series key (see `state::SeriesEntry::key`) it was built from.
    pub series: String,
    /// The volume (the library's images, shared).
    pub volume: Arc<Volume>,
    /// The crosshair: slice (axial index), row (coronal index) and column
    /// (sagittal index).
    pub cursor: [usize; 3],
    /// Slab thickness, mm (0 shows single planes).
    pub slab_mm: f64,
    /// How slab planes are combined.
    pub slab_mode: SlabMode,
    /// The window shared by the three planes.
    pub window: WindowChoice,
    /// The plane the keys and the wheel act on.
    pub active: Plane,
    /// What each pane shows, by plane (axial, coronal, sagittal).
    pub(crate) panes: [Option<PaneTexture>; 3],
    /// Lengths measured on the planes, as patient points (mm), so that
    /// they show on every plane they lie in, whatever the slicing.
    pub measurements: Vec<[[f64; 3]; 2]>,
    /// A length being drawn: its plane and ends (plane coordinates).
    pub(crate) drawing: Option<(Plane, [f64; 2], [f64; 2])>,
    /// Each pane's zoom (× the size that fits) and pan (points), by plane.
    pub zoom: [f32; 3],
    /// Each pane's pan, points.
    pub pan: [[f32; 2]; 3],
    /// The crosshair's rotation in the axial plane, degrees (−180, 180]:
    /// other than 0, the coronal and sagittal panes show the oblique
    /// planes through the crosshair's lines.
    pub rotation_degrees: f64,
}

/// A measurement as one plane shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShownLength {
    /// Its ends, plane coordinates.
    pub ends: [[f64; 2]; 2],
    /// Its length in the patient, mm.
    pub mm: f64,
}

/// The slot of `plane` in `[axial, coronal, sagittal]` arrays.
pub fn slot(plane: Plane) -> usize {
    match plane {
        Plane::Axial => 0,
        Plane::Coronal => 1,
        Plane::Sagittal => 2,
    }
}

impl Mpr {
    /// The MPR of `volume` with the crosshair at its centre.
    pub fn new(series: String, volume: Arc<Volume>, window: WindowChoice) -> Self {
        let cursor = Plane::ALL.map(|p| volume.plane_count(p) / 2);
        Self {
            series,
            volume,
            cursor,
            slab_mm: 0.0,
            slab_mode: SlabMode::Mip,
            window,
            active: Plane::Axial,
            panes: Default::default(),
            measurements: Vec::new(),
            drawing: None,
            zoom: [1.0; 3],
            pan: [[0.0; 2]; 3],
            rotation_degrees: 0.0,
        }
    }

    /// Rotates the crosshair by `degrees` (positive from the row direction
    /// towards the column direction).
    pub fn rotate(&mut self, degrees: f64) {
        let mut r = (self.rotation_degrees + degrees).rem_euclid(360.0);
        if r > 180.0 {
            r -= 360.0;
        }
        self.rotation_degrees = if r.abs() < 1e-9 { 0.0 } else { r };
    }

    /// True when `plane` shows an oblique plane (the crosshair is rotated
    /// and the plane is not the axial one).
    pub fn is_oblique(&self, plane: Plane) -> bool {
        plane != Plane::Axial && self.rotation_degrees != 0.0
    }

    /// The line through the crosshair that `plane`'s oblique plane holds,
    /// when it is oblique: the coronal pane's at the rotation, the
    /// sagittal pane's a right angle further.
    pub fn oblique_line(&self, plane: Plane) -> Option<ObliqueLine> {
        if !self.is_oblique(plane) {
            return None;
        }
        let quarter = if plane == Plane::Sagittal { 90.0 } else { 0.0 };
        let [_, row, column] = self.cursor;
        Some(
            self.volume
                .oblique_line(column, row, self.rotation_degrees + quarter),
        )
    }
    /// Adds the length from `from` to `to` (plane coordinates of `plane`
    /// at its index), stored as patient points.
    pub fn measure(&mut self, plane: Plane, from: [f64; 2], to: [f64; 2]) {
        if self.is_oblique(plane) {
            return;
        }
        let index = self.index(plane);
        let ends = [from, to].map(|[x, y]| self.volume.patient_point(plane, index, x, y));
        self.measurements.push(ends);
    }

    /// The measurements that lie in `plane` as shown (both ends within
    /// half a plane, or half the slab, of it), with their lengths.
    pub fn lengths_on(&self, plane: Plane) -> Vec<ShownLength> {
        if self.is_oblique(plane) {
            return Vec::new();
        }
        let index = self.index(plane);
        let spacing = self.volume.plane_spacing(plane).unwrap_or(0.0);
        let tolerance = (spacing.max(self.slab_mm) / 2.0).max(1e-6) + 1e-6;
        self.measurements
            .iter()
            .filter_map(|ends| {
                let on = ends.map(|p| self.volume.on_plane(plane, index, p));
                on.iter()
                    .all(|o| o.distance.abs() <= tolerance)
                    .then(|| ShownLength {
                        ends: on.map(|o| [o.x, o.y]),
                        mm: distance(ends[0], ends[1]),
                    })
            })
            .collect()
    }

    /// Zooms `plane`'s pane by `factor` (kept between 1/4 and 32 × fit).
    pub fn zoom_by(&mut self, plane: Plane, factor: f32) {
        let zoom = &mut self.zoom[slot(plane)];
        *zoom = (*zoom * factor).clamp(0.25, 32.0);
    }

    /// Fits `plane`'s pane again (zoom 1, no pan).
    pub fn fit(&mut self, plane: Plane) {
        self.zoom[slot(plane)] = 1.0;
        self.pan[slot(plane)] = [0.0, 0.0];
    }

    /// The index shown in `plane`.
    pub fn index(&self, plane: Plane) -> usize {
        self.cursor[slot(plane)]
    }

    /// Moves `plane` by `delta` planes, clamped to the volume.
    pub fn scroll(&mut self, plane: Plane, delta: i64) {
        let count = self.volume.plane_count(plane) as i64;
        let i = &mut self.cursor[slot(plane)];
        *i = (*i as i64 + delta).clamp(0, (count - 1).max(0)) as usize;
    }

    /// Puts the crosshair on the pixel (`x`, `y`) of `plane`'s image: the
    /// other two planes move to it, `plane` itself stays.
    pub fn click(&mut self, plane: Plane, x: usize, y: usize) {
        let g = self.volume.geometry();
        let (rows, columns) = (g.rows as usize, g.columns as usize);
        let slices = self.volume.slices().len();
        let slice_at = |y: usize| self.volume.slice_at_row(y.min(slices.saturating_sub(1)));
        if let Some(line) = self.oblique_line(plane) {
            let (c, r) = line.voxel(x.min(line.count.saturating_sub(1)));
            self.cursor = [slice_at(y), r.min(rows - 1), c.min(columns - 1)];
            return;
        }
        match plane {
            Plane::Axial => {
                self.cursor[1] = y.min(rows - 1);
                self.cursor[2] = x.min(columns - 1);
            }
            Plane::Coronal => {
                self.cursor[0] = slice_at(y);
                self.cursor[2] = x.min(columns - 1);
            }
            Plane::Sagittal => {
                self.cursor[0] = slice_at(y);
                self.cursor[1] = x.min(rows - 1);
            }
        }
    }

    /// Where the crosshair crosses `plane`'s image, in its pixels (column,
    /// row).
    pub fn crosshair(&self, plane: Plane) -> (usize, usize) {
        let [k, r, c] = self.cursor;
        if let Some(line) = self.oblique_line(plane) {
            // The sample nearest the crosshair along the line.
            let [dc, dr] = line.step;
            let along = ((c as f64 - line.start[0]) * dc + (r as f64 - line.start[1]) * dr)
                / (dc * dc + dr * dr);
            let x = along
                .round()
                .clamp(0.0, line.count.saturating_sub(1) as f64);
            return (x as usize, self.volume.row_of_slice(k));
        }
        match plane {
            Plane::Axial => (c, r),
            Plane::Coronal => (c, self.volume.row_of_slice(k)),
            Plane::Sagittal => (r, self.volume.row_of_slice(k)),
        }
    }

    /// The slab of `plane`: as many planes as the thickness covers at its
    /// spacing (at least one), or `None` for single planes.
    pub fn slab(&self, plane: Plane) -> Option<Slab> {
        if self.slab_mm <= 0.0 || self.is_oblique(plane) {
            return None;
        }
        let spacing = self.volume.plane_spacing(plane).filter(|s| *s > 0.0)?;
        let planes = ((self.slab_mm / spacing).round() as usize).max(1);
        Some(Slab {
            planes,
            mode: self.slab_mode,
        })
    }

    /// Steps the slab thickness through [`SLAB_STEPS_MM`] (thicker when
    /// `thicker`, else thinner).
    pub fn step_slab(&mut self, thicker: bool) {
        let at = SLAB_STEPS_MM
            .iter()
            .position(|s| *s >= self.slab_mm - 1e-9)
            .unwrap_or(SLAB_STEPS_MM.len() - 1);
        let next = if thicker {
            (at + 1).min(SLAB_STEPS_MM.len() - 1)
        } else {
            at.saturating_sub(1)
        };
        self.slab_mm = SLAB_STEPS_MM[next];
    }

    /// The next slab mode: MIP → MinIP → mean → MIP.
    pub fn cycle_slab_mode(&mut self) {
        self.slab_mode = match self.slab_mode {
            SlabMode::Mip => SlabMode::Minip,
            SlabMode::Minip => SlabMode::Mean,
            SlabMode::Mean => SlabMode::Mip,
        };
    }

    /// The slab in words for the corner text: "Thin" or e.g.
    /// "MIP 10.0 mm (4 planes)".
    pub fn slab_text(&self, plane: Plane) -> String {
        match self.slab(plane) {
            None if self.slab_mm > 0.0 && self.is_oblique(plane) => {
                "Thin (no slab when rotated)".into()
            }
            None => "Thin".into(),
            Some(slab) => format!(
                "{} {:.1} mm ({} planes)",
                slab.mode
                    .name()
                    .to_ascii_uppercase()
                    .replace("MINIP", "MinIP"),
                self.slab_mm,
                slab.planes
            ),
        }
    }

    /// The position of `plane`'s index in mm: along the normal for axial
    /// planes, across rows or columns from the first for the others.
    pub fn position_mm(&self, plane: Plane) -> Option<f64> {
        let i = self.index(plane);
        match plane {
            Plane::Axial => self.volume.slices().get(i).map(|s| s.offset),
            _ => self.volume.plane_spacing(plane).map(|s| i as f64 * s),
        }
    }
}

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
        }
    }

    /// Adds the length from `from` to `to` (plane coordinates of `plane`
    /// at its index), stored as patient points.
    pub fn measure(&mut self, plane: Plane, from: [f64; 2], to: [f64; 2]) {
        let index = self.index(plane);
        let ends = [from, to].map(|[x, y]| self.volume.patient_point(plane, index, x, y));
        self.measurements.push(ends);
    }

    /// The measurements that lie in `plane` as shown (both ends within
    /// half a plane, or half the slab, of it), with their lengths.
    pub fn lengths_on(&self, plane: Plane) -> Vec<ShownLength> {
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
        match plane {
            Plane::Axial => (c, r),
            Plane::Coronal => (c, self.volume.row_of_slice(k)),
            Plane::Sagittal => (r, self.volume.row_of_slice(k)),
        }
    }

    /// The slab of `plane`: as many planes as the thickness covers at its
    /// spacing (at least one), or `None` for single planes.
    pub fn slab(&self, plane: Plane) -> Option<Slab> {
        if self.slab_mm <= 0.0 {
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

/// The distance between two patient points, mm.
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

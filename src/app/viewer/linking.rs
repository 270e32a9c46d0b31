//! Linked scrolling: viewports showing series of the same Frame of
//! Reference with parallel slices follow the active viewport by position
//! (the slice nearest along the normal), never by slice number, so series
//! of different spacing or extent stay on the same anatomy.

use super::{VIEWPORTS, Viewer};
use crate::imaging::Image;
use crate::imaging::series::{dot, slice_normal};

/// Where a slice lies: its Frame of Reference, slice normal and position
/// along that normal (mm); `None` without that geometry.
fn slice_place(image: &Image) -> Option<(String, [f64; 3], f64)> {
    let m = &image.metadata;
    let frame_of_reference = m.frame_of_reference_uid.clone()?;
    let normal = slice_normal(&m.image_orientation_patient?);
    let p = m.image_position_patient?;
    Some((frame_of_reference, normal, dot(p, normal)))
}

/// True when two unit normals are parallel (either sense) within 1°.
fn parallel(a: [f64; 3], b: [f64; 3]) -> bool {
    dot(a, b).abs() > 1f64.to_radians().cos()
}

impl Viewer {
    /// The place of what viewport `v` shows.
    fn shown_place(&self, v: usize) -> Option<(String, [f64; 3], f64)> {
        let (image, _) = self.shown(v)?;
        slice_place(&self.library.images[image].image)
    }

    /// Moves every other shown viewport with the active viewport's Frame of
    /// Reference and parallel slices to its slice nearest the active
    /// viewport's position, when the active viewport moved since the last
    /// call. Off when the setting is off.
    pub(super) fn follow_linked_scroll(&mut self) {
        let active = self.active;
        let now = self.viewports[active]
            .series
            .clone()
            .map(|s| (s, self.viewports[active].position));
        let moved = now.is_some() && self.linked_from != now;
        self.linked_from = now;
        if !moved || !self.settings.link_scroll || self.mpr.is_some() {
            return;
        }
        let Some((frame_of_reference, normal, position)) = self.shown_place(active) else {
            return;
        };
        for v in (0..self.settings.layout.count().min(VIEWPORTS)).filter(|&v| v != active) {
            if self.viewports[v].series == self.viewports[active].series {
                continue;
            }
            let stack = self.stack(v);
            let nearest = stack
                .iter()
                .enumerate()
                .filter_map(|(k, e)| {
                    let (f, n, p) = slice_place(&self.library.images[e.image].image)?;
                    let signed = if dot(n, normal) < 0.0 { -p } else { p };
                    (f == frame_of_reference && parallel(n, normal))
                        .then(|| (k, (signed - position).abs()))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((k, _)) = nearest {
                self.viewports[v].position = k;
            }
        }
    }
}

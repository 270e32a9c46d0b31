//! Linked viewports. Scrolling: viewports showing series of the active
//! viewport's Frame of Reference with parallel slices follow it by position
//! (the slice nearest along the normal), never by slice number, so series
//! of different spacing or extent stay on the same anatomy; a series of
//! another Frame of Reference (a prior study) follows once the reader has
//! set the offset between the two (`Shift+L` with both on the same
//! anatomy). Window/level (same modality) and zoom/pan (same physical
//! scale) follow on demand. Reference lines show where the active slice
//! crosses the other viewports.

use std::collections::HashMap;

use super::{VIEWPORTS, Viewer};
use crate::app::state::ViewState;
use crate::imaging::Image;
use crate::imaging::geometry::ImagePlane;

/// What links viewports besides the settings' toggles.
#[derive(Debug, Default)]
pub struct Links {
    /// The active viewport's series and position when the others last
    /// followed it.
    followed: Option<(String, usize)>,
    /// Offsets the reader set between Frames of Reference: a position in
    /// the first plus the offset is the same anatomy in the second, mm.
    offsets: HashMap<(String, String), f64>,
    /// What the last link command did, for the status bar.
    pub message: Option<String>,
    /// A prior arriving beside the current study: (its viewport, the
    /// current one), aligned as its slices load.
    pub(super) pending_align: Option<(usize, usize)>,
}

impl Links {
    /// The offset from positions in Frame of Reference `from` to `to`: 0
    /// within one, the reader's between two, `None` when none was set.
    pub fn offset(&self, from: &str, to: &str) -> Option<f64> {
        if from == to {
            return Some(0.0);
        }
        self.offsets
            .get(&(from.to_string(), to.to_string()))
            .copied()
    }

    /// Records that position `p` in `from` is position `p + mm` in `to`.
    pub fn set_offset(&mut self, from: &str, to: &str, mm: f64) {
        self.offsets.insert((from.to_string(), to.to_string()), mm);
        self.offsets.insert((to.to_string(), from.to_string()), -mm);
    }
}

/// The modality of an image, for matching windows.
fn modality(image: &Image) -> Option<&str> {
    image.metadata.modality.as_deref()
}

impl Viewer {
    /// The plane of what viewport `v` shows, when it has one.
    pub(super) fn shown_plane(&self, v: usize) -> Option<ImagePlane> {
        let (image, _) = self.shown(v)?;
        ImagePlane::of(&self.library.images[image].image)
    }

    /// The viewports of the layout other than the active one that show a
    /// series other than the active one's.
    fn other_viewports(&self) -> Vec<usize> {
        let active = self.active;
        (0..self.settings.layout.count().min(VIEWPORTS))
            .filter(|&v| v != active && self.viewports[v].series.is_some())
            .filter(|&v| self.viewports[v].series != self.viewports[active].series)
            .collect()
    }

    /// Moves viewport `v` to its slice nearest the anatomy viewport `from`
    /// shows: by position within one Frame of Reference, through the
    /// reader's offset between two. Returns false (and leaves `v`) when
    /// the two are not related so (no plane, not parallel, no offset).
    pub(super) fn align(&mut self, v: usize, from: usize) -> bool {
        let Some(lead) = self.shown_plane(from) else {
            return false;
        };
        let Some(target) = self.shown_plane(v) else {
            return false;
        };
        let Some(offset) = self
            .links
            .offset(&lead.frame_of_reference, &target.frame_of_reference)
        else {
            return false;
        };
        let wanted = lead.position() + offset;
        let nearest = self
            .stack(v)
            .iter()
            .enumerate()
            .filter_map(|(k, e)| {
                let plane = ImagePlane::of(&self.library.images[e.image].image)?;
                (plane.frame_of_reference == target.frame_of_reference && plane.parallel_to(&lead))
                    .then(|| (k, (plane.position() - wanted).abs()))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match nearest {
            Some((k, _)) => {
                self.viewports[v].position = k;
                true
            }
            None => false,
        }
    }

    /// Keeps the other viewports linked to the active one: their slices
    /// when it moved (scroll link), their window (window link, same
    /// modality) and their zoom and pan (zoom link, same mm per point).
    /// Nothing while the MPR layout is shown.
    pub(super) fn follow_links(&mut self) {
        let active = self.active;
        let now = self.viewports[active]
            .series
            .clone()
            .map(|s| (s, self.viewports[active].position));
        let moved = now.is_some() && self.links.followed != now;
        self.links.followed = now;
        if self.mpr.is_some() {
            return;
        }
        if let Some((v, from)) = self.links.pending_align {
            self.align(v, from);
            if !self.loading() && !self.pacs.retrieving() {
                self.links.pending_align = None;
            }
        }
        let others = self.other_viewports();
        if moved && self.settings.link_scroll {
            for &v in &others {
                self.align(v, active);
            }
        }
        let lead = self
            .shown(active)
            .map(|(i, _)| self.library.images[i].image.clone());
        let Some(lead) = lead else { return };
        let view = self.viewports[active].view.clone();
        for v in others {
            let Some((image, _)) = self.shown(v) else {
                continue;
            };
            let image = self.library.images[image].image.clone();
            let follower = &mut self.viewports[v].view;
            if self.settings.link_window
                && modality(&image) == modality(&lead)
                && (follower.window != view.window || follower.invert != view.invert)
            {
                follower.window = view.window.clone();
                follower.invert = view.invert;
            }
            if self.settings.link_zoom {
                let zoom = linked_zoom(&view, &lead, &image);
                if follower.zoom != zoom || follower.pan != view.pan {
                    follower.zoom = zoom;
                    follower.pan = view.pan;
                }
            }
        }
    }

    /// Sets the offset between the active viewport's Frame of Reference and
    /// that of every other viewport showing parallel slices of another one,
    /// from the slices shown now (the reader put them on the same anatomy):
    /// from then on they scroll together. Says what it did in the status
    /// bar.
    pub(super) fn link_here(&mut self) {
        let Some(lead) = self.shown_plane(self.active) else {
            self.links.message =
                Some("Link: the active viewport's image has no position in the patient".into());
            return;
        };
        let mut linked = Vec::new();
        for v in self.other_viewports() {
            let Some(plane) = self.shown_plane(v) else {
                continue;
            };
            if plane.frame_of_reference == lead.frame_of_reference || !plane.parallel_to(&lead) {
                continue;
            }
            let offset = plane.position() - lead.position();
            self.links
                .set_offset(&lead.frame_of_reference, &plane.frame_of_reference, offset);
            linked.push(format!("viewport {} at {offset:+.1} mm", v + 1));
        }
        self.links.message = Some(if linked.is_empty() {
            "Link: no other viewport shows parallel slices of another Frame of Reference \
             (one Frame of Reference scrolls by position already)"
                .into()
        } else {
            self.settings.link_scroll = true;
            format!("Linked here: {}", linked.join(", "))
        });
    }

    /// The line where the active viewport's slice crosses what viewport `v`
    /// shows, in `v`'s image coordinates: drawn when reference lines are
    /// on, the two share a Frame of Reference and the planes cross.
    pub fn reference_line(&self, v: usize) -> Option<[[f32; 2]; 2]> {
        if !self.settings.reference_lines || v == self.active || self.mpr.is_some() {
            return None;
        }
        let line = self
            .shown_plane(v)?
            .reference_line(&self.shown_plane(self.active)?)?;
        Some(line.map(|p| [p[0] as f32, p[1] as f32]))
    }
}

/// The zoom that shows `follower` at the same mm per point as `lead` under
/// `view` (the same zoom when either lacks a pixel spacing; fit stays fit).
fn linked_zoom(view: &ViewState, lead: &Image, follower: &Image) -> Option<f32> {
    let zoom = view.zoom?;
    let spacing = |image: &Image| image.metadata.measurement_spacing().map(|(s, _)| s[1]);
    Some(match (spacing(lead), spacing(follower)) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => (zoom as f64 * b / a) as f32,
        _ => zoom,
    })
}

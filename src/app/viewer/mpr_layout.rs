//! The MPR layout in the viewer: turned on for the active viewport's
//! series (the `M` key), kept in step with the library as slices arrive,
//! and the keys that act on it while it is shown.

use std::sync::Arc;

use super::Viewer;
use crate::app::mpr::Mpr;
use crate::app::shortcuts::Action;
use crate::imaging::WindowChoice;
use crate::imaging::volume::{Plane, Volume};

impl Viewer {
    /// The volume of the series with `key`: the library's images, shared.
    fn series_volume(&self, key: &str) -> Result<Volume, String> {
        let series = self
            .library
            .series_by_key(key)
            .ok_or_else(|| "the series is no longer open".to_string())?;
        let mut images: Vec<usize> = series.stack.iter().map(|e| e.image).collect();
        images.dedup();
        let images = images
            .into_iter()
            .map(|i| Arc::clone(&self.library.images[i].image))
            .collect();
        Volume::build(images).map_err(|e| e.to_string())
    }

    /// Turns the MPR layout on for the active viewport's series, or off.
    /// A series that is not a volume leaves the grid as it is and says why
    /// in the status bar.
    pub(super) fn toggle_mpr(&mut self) {
        if self.mpr.take().is_some() {
            self.mpr_message = None;
            return;
        }
        let Some(key) = self.viewports[self.active].series.clone() else {
            self.mpr_message = Some("MPR: no series in the active viewport".into());
            return;
        };
        match self.series_volume(&key) {
            Ok(volume) => {
                let window = self.viewports[self.active].view.window.clone();
                let mut mpr = Mpr::new(key, Arc::new(volume), window);
                // Start on the slice the reader was looking at.
                if let Some((image, _)) = self.shown(self.active) {
                    let path = &self.library.images[image].image.path;
                    if let Some(k) = mpr
                        .volume
                        .slices()
                        .iter()
                        .position(|s| &mpr.volume.images()[s.image].path == path)
                    {
                        mpr.cursor[0] = k;
                    }
                }
                let warnings = mpr.volume.geometry().warnings();
                self.mpr_message =
                    (!warnings.is_empty()).then(|| format!("MPR: {}", warnings.join("; ")));
                self.mpr = Some(mpr);
            }
            Err(reason) => self.mpr_message = Some(format!("MPR not available: {reason}")),
        }
    }

    /// Rebuilds the MPR volume when slices of its series arrived since.
    pub(super) fn refresh_mpr(&mut self) {
        let Some(mpr) = &self.mpr else { return };
        let count = self
            .library
            .series_by_key(&mpr.series)
            .map_or(0, |s| s.instances);
        if count == mpr.volume.images().len() {
            return;
        }
        let key = mpr.series.clone();
        match self.series_volume(&key) {
            Ok(volume) => {
                let mpr = self.mpr.as_mut().expect("checked above");
                let cursor = mpr.cursor;
                let window = mpr.window.clone();
                let mut rebuilt = Mpr::new(key, Arc::new(volume), window);
                for (k, plane) in crate::imaging::volume::Plane::ALL.into_iter().enumerate() {
                    rebuilt.cursor[k] =
                        cursor[k].min(rebuilt.volume.plane_count(plane).saturating_sub(1));
                }
                rebuilt.slab_mm = mpr.slab_mm;
                rebuilt.slab_mode = mpr.slab_mode;
                *mpr = rebuilt;
            }
            Err(reason) => {
                self.mpr = None;
                self.mpr_message = Some(format!("MPR closed: {reason}"));
            }
        }
    }

    /// Applies `action` to the MPR layout when it is shown; true when the
    /// action was the layout's.
    pub(super) fn apply_mpr(&mut self, action: Action) -> bool {
        if action == Action::Mpr {
            self.toggle_mpr();
            return true;
        }
        let presets = self.settings.presets.clone();
        let Some(mpr) = self.mpr.as_mut() else {
            return false;
        };
        let plane = mpr.active;
        match action {
            Action::NextImage => mpr.scroll(plane, 1),
            Action::PreviousImage => mpr.scroll(plane, -1),
            Action::PageForward => mpr.scroll(plane, 10),
            Action::PageBack => mpr.scroll(plane, -10),
            Action::FirstImage => mpr.scroll(plane, i64::MIN / 2),
            Action::LastImage => mpr.scroll(plane, i64::MAX / 2),
            Action::SlabThicker => mpr.step_slab(true),
            Action::SlabThinner => mpr.step_slab(false),
            Action::SlabMode => mpr.cycle_slab_mode(),
            Action::FileWindow => mpr.window = WindowChoice::FileDefault,
            Action::AutoWindow => mpr.window = WindowChoice::Percentile(1.0, 99.0),
            Action::Preset(n) => {
                if let Some(p) = presets.get(n as usize - 1) {
                    mpr.window = p.choice();
                }
            }
            Action::RotateCrosshairLeft => mpr.rotate(-5.0),
            Action::RotateCrosshairRight => mpr.rotate(5.0),
            Action::ResetView => {
                mpr.rotation_degrees = 0.0;
                Plane::ALL.into_iter().for_each(|p| mpr.fit(p));
            }
            Action::ZoomIn => mpr.zoom_by(plane, 1.25),
            Action::ZoomOut => mpr.zoom_by(plane, 0.8),
            Action::Fit => mpr.fit(plane),
            // No selection in the panes: the last length goes.
            Action::DeleteAnnotation => {
                mpr.measurements.pop();
            }
            Action::NextViewport => {
                let all = crate::imaging::volume::Plane::ALL;
                let at = all.iter().position(|p| *p == plane).unwrap_or(0);
                mpr.active = all[(at + 1) % all.len()];
            }
            _ => return false,
        }
        true
    }
}

//! Applying the layouts per modality (`app::hanging`) when a study opens:
//! once its files have loaded, the first rule for the modality of the
//! series put on screen sets the arrangement, the window preset, the AI
//! panel and the prior beside.

use super::Viewer;
use crate::app::hanging::{Arrangement, rule_for};
use crate::app::settings::Layout;

/// A study waiting for its layout, and what the last layout did.
#[derive(Debug, Default)]
pub struct Hanging {
    /// The viewport a study was opened in; its rule applies once nothing
    /// is loading.
    pending: Option<usize>,
    /// The study came with a load: the patient's newest study loaded is
    /// shown first.
    newest: bool,
    /// The layout applied last, in words, for the status bar.
    pub message: Option<String>,
}

impl Viewer {
    /// Notes that a study was opened in viewport `v` (the first files of a
    /// load, a worklist row, a PACS study): its layout applies once its
    /// files have loaded, when layouts per modality are on. A series the
    /// reader picks in the browser keeps the layout the reader has.
    pub fn study_opened(&mut self, v: usize) {
        if self.settings.hanging_protocols {
            self.hanging.pending = Some(v);
            self.hanging.newest = false;
        }
    }

    /// Notes that a load put its first series in viewport `v`: as
    /// [`Viewer::study_opened`], and once the load has ended the patient's
    /// newest study loaded is the one shown (the others are its priors).
    pub(super) fn load_opened(&mut self, v: usize) {
        self.study_opened(v);
        self.hanging.newest = self.hanging.pending.is_some();
    }

    /// Applies the layout of the study opened last, once nothing is loading
    /// or being retrieved.
    pub(super) fn apply_hanging(&mut self) {
        let Some(v) = self.hanging.pending else {
            return;
        };
        if self.loading() || self.pacs.retrieving() {
            return;
        }
        self.hanging.pending = None;
        if std::mem::take(&mut self.hanging.newest) {
            self.show_newest_study(v);
        }
        let Some(key) = self.viewports[v].series.clone() else {
            return;
        };
        let Some(entry) = self.library.series_by_key(&key).cloned() else {
            return;
        };
        let Some((image, _)) = self.shown(v) else {
            return;
        };
        let modality = self.library.images[image]
            .image
            .metadata
            .modality
            .clone()
            .unwrap_or_default();
        let Some(rule) = rule_for(&self.settings.hanging, &modality).cloned() else {
            self.hanging.message = None;
            return;
        };
        let window = rule.preset.as_ref().and_then(|name| {
            let preset = self
                .settings
                .presets
                .iter()
                .find(|p| p.name.trim().eq_ignore_ascii_case(name.trim()))?;
            Some(preset.choice())
        });
        let mut message = rule.describe(entry.stack.len());
        if rule.preset.is_some() && window.is_none() {
            message.push_str(" (no preset of that name: the file's window)");
        }
        self.settings.ai_panel = rule.ai_panel;
        self.active = v;
        if self.mpr.take().is_some() {
            self.mpr_message = None;
        }
        let arrangement = rule.arrangement_for(entry.stack.len());
        let layout = match arrangement {
            Arrangement::SideBySide => Layout::SideBySide,
            Arrangement::Quad => Layout::Quad,
            Arrangement::Single | Arrangement::Mpr => Layout::Single,
        };
        self.settings.layout = layout;
        if layout != Layout::Single {
            // The study's other series fill the other viewports.
            let mut others = self
                .library
                .series
                .iter()
                .filter(|s| s.study_uid == entry.study_uid && s.key != key)
                .map(|s| s.key.clone());
            for other in (0..layout.count()).filter(|&o| o != v) {
                self.viewports[other] = Default::default();
                self.viewports[other].series = others.next();
            }
        }
        if let Some(window) = &window {
            for vp in &mut self.viewports {
                let of_study = vp
                    .series
                    .as_deref()
                    .and_then(|k| self.library.series_by_key(k))
                    .is_some_and(|s| s.study_uid == entry.study_uid);
                if of_study {
                    vp.view.window = window.clone();
                }
            }
        }
        if arrangement == Arrangement::Mpr {
            self.toggle_mpr();
            if let (Some(mpr), Some(window)) = (self.mpr.as_mut(), window) {
                mpr.window = window;
            }
        } else if rule.with_prior
            && arrangement != Arrangement::Quad
            && self.prior_study(&key).is_some()
        {
            self.compare_prior();
            message.push_str(", prior beside");
        }
        self.hanging.message = Some(message);
    }
}

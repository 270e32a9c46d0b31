//! What a shortcut or a button asks for, applied to the viewer's state.

use std::sync::Arc;

use poll_promise::Promise;

use crate::imaging::WindowChoice;

use super::Viewer;
use crate::app::ai_assist::{AiAssist, Classifier, WorkerClassifier};
use crate::app::settings::Layout;
use crate::app::shortcuts::Action;
use crate::app::state::ViewState;
use crate::app::viewport;

impl Viewer {
    /// Starts the AI anew with the settings' model and ONNX Runtime
    /// library: the manifest is read on a thread, and the new worker takes
    /// over when it is in (`collect_ai_restart`). Nothing if one is already
    /// being read.
    pub(super) fn restart_ai(&mut self, ctx: &egui::Context) {
        if self.ai_restart.is_some() {
            return;
        }
        let model = self.settings.model.clone();
        let ctx = ctx.clone();
        self.ai_restart = Some(Promise::spawn_thread("model manifest", move || {
            let manifest = crate::ai::resolve_model(model.as_deref())
                .and_then(|path| crate::ai::Manifest::load(&path).map_err(Into::into))
                .map_err(|e: crate::ai::AiError| e.to_string());
            ctx.request_repaint();
            manifest
        }));
    }

    /// Hands the AI to a new worker once its manifest is read. Everything
    /// asked of the old worker is cancelled first; the old worker is then
    /// dropped without waiting for it (its thread is joined on another
    /// one: a heatmap batch may be running).
    pub(super) fn collect_ai_restart(&mut self) {
        let Some(promise) = self.ai_restart.take() else {
            return;
        };
        let manifest = match promise.try_take() {
            Ok(manifest) => manifest,
            Err(promise) => {
                self.ai_restart = Some(promise);
                return;
            }
        };
        let runtime = crate::app::runtime_settings(&self.settings);
        let classifier = manifest.map(|manifest| {
            Box::new(WorkerClassifier::spawn(manifest, runtime)) as Box<dyn Classifier>
        });
        self.heatmaps.clear();
        self.ai.cancel();
        self.ai = AiAssist::new(classifier);
    }

    /// Starts the AI put off at launch once the first image is on screen
    /// (or nothing is coming), so the model's loading does not compete
    /// with the first image for the CPU.
    pub(super) fn start_deferred_ai(&mut self, ctx: &egui::Context) {
        let shown = (0..super::VIEWPORTS).any(|v| self.on_screen(v));
        let nothing_coming = !self.loading() && self.library.images.is_empty();
        if self.ai_deferred && (shown || nothing_coming) {
            self.ai_deferred = false;
            self.restart_ai(ctx);
        }
    }
    pub(super) fn open_dialog(&mut self, folder: bool) {
        if self.dialog.is_some() {
            return;
        }
        // A desktop portal can hang: the dialog runs on its own thread and
        // the viewer keeps drawing (drops and typed paths still work).
        self.dialog = Some(Promise::spawn_thread("open dialog", move || {
            let dialog = rfd::FileDialog::new().set_title("Open images");
            if folder {
                dialog.pick_folder().map(|p| vec![p])
            } else {
                dialog.pick_files()
            }
        }));
    }

    /// Applies `action` to the state; `pixels_per_point` is the screen's
    /// (for 1:1 zoom).
    pub(super) fn apply(&mut self, action: Action, pixels_per_point: f32) {
        if self.apply_mpr(action) {
            return;
        }
        let v = self.active;
        let len = self.stack(v).len();
        let shown = self.shown(v);
        let image = shown.map(|(i, _)| Arc::clone(&self.library.images[i].image));
        // The scale "fit" shows now, so zooming from fit starts there.
        let fitted = match (&image, self.rects[v]) {
            (Some(image), Some(rect)) => {
                let view = ViewState {
                    zoom: None,
                    ..self.viewports[v].view.clone()
                };
                viewport::view_transform(&view, image, rect).scale
            }
            _ => 1.0,
        };
        let vp = &mut self.viewports[v];
        match action {
            Action::Help => self.show_help = !self.show_help,
            Action::OpenFiles => self.open_dialog(false),
            Action::OpenFolder => self.open_dialog(true),
            Action::OpenPacs => self.pacs.open = !self.pacs.open,
            Action::NextUnread => self.worklist.open_next = self.worklist.list.is_some(),
            Action::NextImage => vp.step(1, len),
            Action::PreviousImage => vp.step(-1, len),
            Action::PageForward => vp.step(10, len),
            Action::PageBack => vp.step(-10, len),
            Action::FirstImage => vp.position = 0,
            Action::LastImage => vp.position = len.saturating_sub(1),
            Action::Cine => vp.cine = !vp.cine && len > 1,
            Action::ZoomIn | Action::ZoomOut => {
                let factor = if action == Action::ZoomIn { 1.25 } else { 0.8 };
                let base = vp.view.zoom.unwrap_or(fitted);
                vp.view.zoom = Some((base * factor).clamp(0.02, 64.0));
            }
            Action::Fit => {
                vp.view.zoom = None;
                vp.view.pan = [0.0, 0.0];
            }
            Action::ActualSize => vp.view.zoom = Some(1.0 / pixels_per_point),
            Action::FileWindow => vp.view.window = WindowChoice::FileDefault,
            Action::AutoWindow => {
                // Percentiles sort the frame's pixels: computed on the
                // background thread, applied when ready (`collect_auto_window`).
                if let Some((image, shown)) = image.zip(shown) {
                    let key = format!("auto-window {v}");
                    let result = self.jobs.run(key, move || {
                        viewport::current_window(
                            &image,
                            shown.1,
                            &WindowChoice::Percentile(1.0, 99.0),
                        )
                    });
                    self.auto_window = Some(super::AutoWindow {
                        viewport: v,
                        shown,
                        result,
                    });
                }
            }
            Action::Preset(n) => {
                if let Some(p) = self.settings.presets.get(n as usize - 1) {
                    vp.view.window = p.choice();
                }
            }
            Action::Invert => vp.view.invert = !vp.view.invert,
            Action::RotateClockwise => vp.view.quarter_turns = (vp.view.quarter_turns + 1) % 4,
            Action::RotateCounterClockwise => {
                vp.view.quarter_turns = (vp.view.quarter_turns + 3) % 4
            }
            Action::FlipHorizontal => vp.view.flip_horizontal = !vp.view.flip_horizontal,
            Action::FlipVertical => vp.view.flip_vertical = !vp.view.flip_vertical,
            Action::ResetView => vp.view = Default::default(),
            Action::CornerText => self.settings.corner_text = !self.settings.corner_text,
            Action::TagBrowser => self.settings.tag_browser = !self.settings.tag_browser,
            Action::RunAi => {
                if let Some(image) = &image {
                    self.ai.request(image);
                }
            }
            Action::Heatmap => self.heatmaps.visible = !self.heatmaps.visible,
            Action::Layout1x1 => self.settings.layout = Layout::Single,
            Action::Layout1x2 => self.settings.layout = Layout::SideBySide,
            Action::Layout2x2 => self.settings.layout = Layout::Quad,
            Action::NextViewport => self.active = (self.active + 1) % self.settings.layout.count(),
            Action::Tool(tool) => {
                self.annotator.cancel();
                self.annotator.tool = tool;
            }
            Action::DeleteAnnotation => {
                self.annotator.delete_selected();
            }
            Action::Undo => {
                if let Some((i, _)) = shown {
                    self.annotator.undo(i);
                }
            }
            Action::Redo => {
                if let Some((i, _)) = shown {
                    self.annotator.redo(i);
                }
            }
            Action::Export => self.export.open = true,
            // Only the MPR layout has slabs (`apply_mpr`).
            Action::Mpr
            | Action::SlabThicker
            | Action::SlabThinner
            | Action::SlabMode
            | Action::RotateCrosshairLeft
            | Action::RotateCrosshairRight => {}
            Action::LinkHere => self.link_here(),
            Action::ComparePrior => self.compare_prior(),
            Action::CancelLoading => {
                if self.show_help {
                    self.show_help = false;
                } else if !self.annotator.cancel() {
                    for job in &self.loads {
                        job.cancel();
                    }
                }
            }
        }
        if self.active >= self.settings.layout.count() {
            self.active = 0;
        }
    }
}

impl Viewer {
    /// Applies what the reader asked for in the "Results from other
    /// systems" panel to the active viewport.
    pub(super) fn apply_foreign(&mut self, out: crate::app::foreign_panel::ForeignPanelOutput) {
        let v = self.active;
        if let Some((image, frame)) = out.go_to {
            self.go_to(v, image, frame);
        }
        if let Some(window) = out.window {
            self.viewports[v].view.window = WindowChoice::Explicit(window);
        }
        if let Some((top_left, bottom_right)) = out.area {
            self.fit_area(v, top_left, bottom_right);
        }
    }

    /// Shows `image`'s `frame` in viewport `v`, in the series holding it.
    fn go_to(&mut self, v: usize, image: usize, frame: usize) {
        for series in &self.library.series {
            if let Some(position) = series
                .stack
                .iter()
                .position(|e| e.image == image && e.frame == frame)
            {
                let vp = &mut self.viewports[v];
                vp.series = Some(series.key.clone());
                vp.position = position;
                vp.cine = false;
                return;
            }
        }
    }

    /// Zooms and pans viewport `v` so that the image area from `top_left`
    /// to `bottom_right` fills it (a presentation state's displayed area,
    /// scaled to fit), keeping the reader's rotation and flips.
    fn fit_area(
        &mut self,
        v: usize,
        top_left: crate::annotations::Point,
        bottom_right: crate::annotations::Point,
    ) {
        let (Some(rect), Some((i, _))) = (self.rects[v], self.shown(v)) else {
            return;
        };
        let image = Arc::clone(&self.library.images[i].image);
        let view = &mut self.viewports[v].view;
        let w = (bottom_right.x - top_left.x).max(1.0) as f32;
        let h = (bottom_right.y - top_left.y).max(1.0) as f32;
        let (w, h) = if view.quarter_turns % 2 == 1 {
            (h, w)
        } else {
            (w, h)
        };
        view.zoom = Some((rect.width() / w).min(rect.height() / h).clamp(0.02, 64.0));
        view.pan = [0.0, 0.0];
        let t = viewport::view_transform(view, &image, rect);
        let center = t.to_screen(
            ((top_left.x + bottom_right.x) / 2.0) as f32,
            ((top_left.y + bottom_right.y) / 2.0) as f32,
        );
        view.pan = [rect.center().x - center[0], rect.center().y - center[1]];
    }
}

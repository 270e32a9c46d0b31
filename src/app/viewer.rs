//! The viewer: ties the library, the viewports, the AI and the panels
//! together. Each frame it drains the background channels, applies the
//! shortcuts and draws; it never decodes, runs inference or reads files.

use std::path::PathBuf;
use std::sync::Arc;

use poll_promise::Promise;

use crate::imaging::voi::Window;
use crate::imaging::{Image, WindowChoice};

use crate::annotations::AnnotationSet;
use crate::annotations::sidecar::SidecarStore;

use super::ai_assist::AiAssist;
use super::annotate::{Annotator, Draft, Tool};
use super::browser::{self, Thumbnails};
use super::export::ExportDialog;
use super::heatmap::{HeatmapKey, Heatmaps};
use super::loader::{LoadEvent, LoadJob};
use super::settings::{Layout, Settings};
use super::shortcuts::{self, Action, SHORTCUTS};
use super::state::{Library, StackEntry, ViewportState};
use super::viewport::{self, DisplayKey, Displayed, HeatmapLayer, ViewportInput};
use super::{ai_panel, tags};

/// Number of viewports kept (the 2×2 layout's).
pub const VIEWPORTS: usize = 4;

type Dialog = Promise<Option<Vec<PathBuf>>>;
type TagList = Result<Vec<tags::TagRow>, String>;

/// The whole viewer state.
pub struct Viewer {
    /// What is loaded.
    pub library: Library,
    /// Persisted settings.
    pub settings: Settings,
    /// The viewports (only the layout's first ones are shown).
    pub viewports: [ViewportState; VIEWPORTS],
    /// The viewport keys and the wheel act on.
    pub active: usize,
    /// The AI.
    pub ai: AiAssist,
    /// Heatmaps.
    pub heatmaps: Heatmaps,
    /// Measurements and annotations.
    pub annotator: Annotator,
    /// The export dialog and the export running, if any.
    pub export: ExportDialog,
    displayed: [Option<Displayed>; VIEWPORTS],
    layers: [Option<HeatmapLayer>; VIEWPORTS],
    rects: [Option<egui::Rect>; VIEWPORTS],
    render_errors: [Option<String>; VIEWPORTS],
    thumbnails: Thumbnails,
    loads: Vec<LoadJob>,
    dialog: Option<Dialog>,
    show_help: bool,
    show_card: bool,
    tag_search: String,
    /// The shown image's attributes, read on a background thread.
    tags: Option<(PathBuf, Promise<TagList>)>,
    sidecars: Option<SidecarStore>,
    show_settings: bool,
    /// The model manifest being read for new AI settings.
    ai_restart: Option<Promise<Result<crate::ai::Manifest, String>>>,
    hover: Option<String>,
    last_cine: f64,
    /// Frames drawn so far.
    pub frames: u64,
}

impl Viewer {
    /// A viewer with `settings` and the given AI (which also makes the
    /// heatmaps).
    pub fn new(settings: Settings, ai: AiAssist) -> Self {
        Self {
            library: Library::default(),
            settings,
            viewports: Default::default(),
            active: 0,
            ai,
            heatmaps: Heatmaps::default(),
            annotator: Annotator::default(),
            export: ExportDialog::default(),
            displayed: Default::default(),
            layers: Default::default(),
            rects: Default::default(),
            render_errors: Default::default(),
            thumbnails: Thumbnails::default(),
            loads: Vec::new(),
            dialog: None,
            show_help: false,
            show_card: false,
            tag_search: String::new(),
            tags: None,
            sidecars: None,
            show_settings: false,
            ai_restart: None,
            hover: None,
            last_cine: 0.0,
            frames: 0,
        }
    }

    /// Saves annotations in `store` (read back when an image loads): the
    /// shipped viewer uses the data folder's, tests a temporary one.
    pub fn with_annotation_store(mut self, store: SidecarStore) -> Self {
        self.sidecars = Some(store.clone());
        self.annotator = Annotator::with_store(store);
        self
    }

    /// Starts loading `paths` in the background.
    pub fn open(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        self.settings.remember(&paths);
        let ctx = ctx.clone();
        self.loads
            .push(LoadJob::start(paths, self.sidecars.clone(), move || {
                ctx.request_repaint()
            }));
    }

    /// True while any load is running.
    pub fn loading(&self) -> bool {
        self.loads.iter().any(|l| !l.finished)
    }

    /// The stack of viewport `v`.
    pub fn stack(&self, v: usize) -> &[StackEntry] {
        self.viewports[v]
            .series
            .as_deref()
            .and_then(|k| self.library.series_by_key(k))
            .map(|s| s.stack.as_slice())
            .unwrap_or(&[])
    }

    /// The image and frame shown in viewport `v`.
    pub fn shown(&self, v: usize) -> Option<(usize, usize)> {
        let stack = self.stack(v);
        let entry = stack.get(self.viewports[v].position.min(stack.len().checked_sub(1)?))?;
        Some((entry.image, entry.frame))
    }

    /// The image shown in the active viewport.
    pub fn active_image(&self) -> Option<&Arc<Image>> {
        let (i, _) = self.shown(self.active)?;
        Some(&self.library.images[i].image)
    }

    /// The 8-bit pixels on screen in viewport `v` (the pipeline's output).
    pub fn displayed(&self, v: usize) -> Option<&Displayed> {
        self.displayed[v].as_ref()
    }

    fn drain_loads(&mut self) {
        for job in &mut self.loads {
            for event in job.drain() {
                match event {
                    LoadEvent::Loaded(mut loaded) => {
                        let annotations =
                            std::mem::replace(&mut loaded.annotations, Ok(AnnotationSet::new()));
                        let index = self.library.add(*loaded);
                        self.annotator.loaded(index, annotations);
                        self.thumbnails.invalidate(index);
                        for d in self.displayed.iter_mut() {
                            if d.as_ref().is_some_and(|d| d.key.image == index) {
                                *d = None;
                            }
                        }
                    }
                    LoadEvent::Failed(e) => self.library.fail(e),
                    LoadEvent::Found { .. }
                    | LoadEvent::Skipped(_)
                    | LoadEvent::Finished { .. } => {}
                }
            }
        }
        self.loads.retain(|j| !j.finished);
        self.library.regroup();
        // The first series to arrive goes on screen at once.
        if self.viewports[0].series.is_none()
            && let Some(first) = self.library.series.first()
        {
            self.viewports[0].series = Some(first.key.clone());
        }
    }

    fn handle_drops(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        self.open(ctx, dropped);
        if let Some(dialog) = &self.dialog
            && dialog.ready().is_some()
            && let Some(dialog) = self.dialog.take()
            && let Some(paths) = dialog.block_and_take()
        {
            self.open(ctx, paths);
        }
    }

    fn open_dialog(&mut self, folder: bool) {
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

    fn apply(&mut self, ctx: &egui::Context, action: Action) {
        let v = self.active;
        let len = self.stack(v).len();
        let shown = self.shown(v);
        let image = shown.map(|(i, _)| Arc::clone(&self.library.images[i].image));
        // The scale "fit" shows now, so zooming from fit starts there.
        let fitted = match (&image, self.rects[v]) {
            (Some(image), Some(rect)) => {
                let view = super::state::ViewState {
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
            Action::ActualSize => vp.view.zoom = Some(1.0 / ctx.pixels_per_point()),
            Action::FileWindow => vp.view.window = WindowChoice::FileDefault,
            Action::AutoWindow => {
                // Resolved once here, so later renders do not sort pixels.
                if let Some((image, (_, frame))) = image.as_ref().zip(shown) {
                    vp.view.window = viewport::current_window(
                        image,
                        frame,
                        &WindowChoice::Percentile(1.0, 99.0),
                    )
                    .map(WindowChoice::Explicit)
                    .unwrap_or(WindowChoice::FileDefault);
                }
            }
            Action::Preset(n) => {
                if let Some(p) = self.settings.presets.get(n as usize - 1) {
                    vp.view.window =
                        WindowChoice::Explicit(Window::linear(p.center, p.width.max(1.0)));
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

    fn update_ai(&mut self, ctx: &egui::Context) {
        if self.ai.poll() {
            ctx.request_repaint();
        }
        let image = self.active_image().cloned();
        self.ai.forget_stale(image.as_deref());
        if self.settings.auto_run_ai
            && let Some(image) = &image
        {
            self.ai.request(image);
        }
        if self.heatmaps.poll() {
            ctx.request_repaint();
        }
        // A heatmap for anything but what is on screen is cancelled.
        let wanted = self.wanted_heatmap();
        self.heatmaps.forget_stale(wanted.as_ref());
        if self.ai.is_running() || self.heatmaps.is_running() {
            // Keep polling while the worker runs (it cannot wake egui).
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }

    fn cine(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        let period = 1.0 / self.settings.cine_fps.clamp(1.0, 60.0) as f64;
        let running: Vec<usize> = (0..self.settings.layout.count())
            .filter(|&v| self.viewports[v].cine)
            .collect();
        if running.is_empty() {
            return;
        }
        if now - self.last_cine >= period {
            self.last_cine = now;
            for v in running {
                let len = self.stack(v).len();
                self.viewports[v].cine_step(len);
            }
        }
        ctx.request_repaint_after(std::time::Duration::from_secs_f64(period));
    }

    /// Draws one frame of the whole viewer into `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.frames += 1;
        self.drain_loads();
        self.handle_drops(&ctx);
        if !ctx.egui_wants_keyboard_input() {
            for action in shortcuts::pressed(&ctx) {
                self.apply(&ctx, action);
            }
        }
        self.update_ai(&ctx);
        self.cine(&ctx);
        if self.loading() || self.dialog.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }

        self.menu_bar(ui);
        self.status_bar(ui);
        egui::Panel::left("browser")
            .default_size(240.0)
            .show(ui, |ui| {
                let shown: Vec<Option<String>> =
                    self.viewports.iter().map(|v| v.series.clone()).collect();
                let out = browser::show(
                    ui,
                    &self.library,
                    &mut self.thumbnails,
                    &shown,
                    &self.settings.recent,
                );
                if let Some(key) = out.series {
                    let vp = &mut self.viewports[self.active];
                    vp.series = Some(key);
                    vp.position = 0;
                    vp.cine = false;
                }
                if let Some(path) = out.reopen {
                    self.open(&ctx, vec![path]);
                }
            });
        self.ai_panel(ui);
        if self.settings.tag_browser {
            egui::Panel::bottom("tags")
                .resizable(true)
                .default_size(220.0)
                .show(ui, |ui| {
                    let image = self.active_image().cloned();
                    if let Some(image) = &image
                        && self.tags.as_ref().is_none_or(|(p, _)| *p != image.path)
                    {
                        let (path, image, ctx) =
                            (image.path.clone(), Arc::clone(image), ctx.clone());
                        let promise = Promise::spawn_thread("tags", move || {
                            let tags = tags::read_tags(&image);
                            ctx.request_repaint();
                            tags
                        });
                        self.tags = Some((path, promise));
                    }
                    let state = match (&image, &self.tags) {
                        (None, _) | (_, None) => tags::TagsState::NoImage,
                        (Some(_), Some((_, promise))) => match promise.ready() {
                            Some(tags) => tags::TagsState::Ready(tags),
                            None => tags::TagsState::Reading,
                        },
                    };
                    tags::show(ui, state, &mut self.tag_search);
                });
        }
        egui::CentralPanel::no_frame().show(ui, |ui| {
            self.toolbar(ui);
            self.viewports_ui(ui);
        });
        self.windows(&ctx);
        self.text_entry(&ctx);
        self.export_window(&ctx);
        self.settings_window(&ctx);
        let library = &self.library;
        self.annotator
            .save_changes(|i| library.images.get(i).map(|l| Arc::clone(&l.image)));
        self.drop_highlight(&ctx);
    }

    /// The settings window: AI model and ONNX Runtime library (applied by
    /// restarting the AI; the manifest is read off the UI thread), auto-run,
    /// cine speed.
    fn settings_window(&mut self, ctx: &egui::Context) {
        if let Some(promise) = &self.ai_restart
            && promise.ready().is_some()
            && let Some(promise) = self.ai_restart.take()
        {
            let runtime = super::runtime_settings(&self.settings);
            let classifier = promise.block_and_take().map(|manifest| {
                Box::new(super::ai_assist::WorkerClassifier::spawn(manifest, runtime))
                    as Box<dyn super::ai_assist::Classifier>
            });
            self.ai = AiAssist::new(classifier);
            self.heatmaps.clear();
        }
        if !self.show_settings {
            return;
        }
        let mut open = self.show_settings;
        let mut apply = false;
        egui::Window::new("Settings")
            .open(&mut open)
            .show(ctx, |ui| {
                let path_field = |ui: &mut egui::Ui, label: &str, value: &mut Option<PathBuf>| {
                    let mut text = value
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    ui.horizontal(|ui| {
                        let l = ui.label(label);
                        if ui
                            .add(egui::TextEdit::singleline(&mut text).hint_text("default"))
                            .labelled_by(l.id)
                            .changed()
                        {
                            *value = (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()));
                        }
                    });
                };
                path_field(ui, "Model folder or manifest", &mut self.settings.model);
                path_field(ui, "ONNX Runtime library", &mut self.settings.ort_library);
                ui.horizontal(|ui| {
                    apply = ui.button("Apply AI settings").clicked();
                    if self.ai_restart.is_some() {
                        ui.spinner();
                        ui.label("Reading the model…");
                    }
                });
                ui.checkbox(&mut self.settings.auto_run_ai, "Run the AI automatically");
                ui.separator();
                ui.strong("Window presets (keys 1 …)");
                egui::Grid::new("preset grid").show(ui, |ui| {
                    for (i, p) in self.settings.presets.iter_mut().enumerate() {
                        ui.label(format!("{}", i + 1));
                        ui.text_edit_singleline(&mut p.name);
                        ui.add(egui::DragValue::new(&mut p.center).prefix("level "));
                        ui.add(
                            egui::DragValue::new(&mut p.width)
                                .prefix("width ")
                                .range(1.0..=100000.0),
                        );
                        ui.end_row();
                    }
                });
                if ui.button("Restore the CT presets").clicked() {
                    self.settings.presets = super::settings::default_presets();
                }
                ui.separator();
                ui.add(
                    egui::Slider::new(&mut self.settings.cine_fps, 1.0..=60.0)
                        .text("Cine frames per second"),
                );
                ui.label("Settings are kept between runs.");
            });
        self.show_settings = open;
        if apply && self.ai_restart.is_none() {
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
    }

    /// The export dialog, and starting the export it asks for.
    fn export_window(&mut self, ctx: &egui::Context) {
        if self.export.poll() {
            ctx.request_repaint();
        }
        if self.export.is_running() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if !self.export.open {
            return;
        }
        let shown = self.shown(self.active);
        let image = self.active_image().cloned();
        // A name after the source file, except when de-identifying: file
        // names often carry the patient's name or ID.
        if let Some(image) = &image {
            let suggested = if self.export.deidentify {
                "deidentified-report".to_string()
            } else {
                let stem = image
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "image".into());
                format!("{stem}-report")
            };
            let untouched = self.export.base_name.is_empty()
                || self.export.suggested_name.as_ref() == Some(&self.export.base_name);
            if untouched {
                self.export.base_name = suggested.clone();
                self.export.suggested_name = Some(suggested);
            }
        }
        let classification = image.as_ref().and_then(|i| match self.ai.view(i) {
            super::ai_assist::AiView::Done(c) => Some(c),
            _ => None,
        });
        let heatmap = self.current_heatmap();
        let out = self.export.show(
            ctx,
            image.is_some(),
            classification.is_some(),
            heatmap.is_some(),
        );
        if !out.export {
            return;
        }
        let (Some(image), Some((index, frame)), Ok(request)) =
            (image, shown, self.export.request())
        else {
            return;
        };
        let view = &self.viewports[self.active].view;
        let region = self.rects[self.active]
            .filter(|_| self.export.visible_region)
            .and_then(|rect| viewport::visible_region(view, &image, rect));
        let ai = classification
            .zip(self.ai.classifier())
            .map(|(c, classifier)| {
                let card = &classifier.model().card;
                crate::reports::AiSummary {
                    classification: (*c).clone(),
                    engine_detail: classifier.engine_detail(),
                    intended_use: card.intended_use.clone(),
                    limitations: card.limitations.clone(),
                }
            });
        let job = super::export::ExportJob {
            image,
            frame,
            window: view.window.clone(),
            invert: view.invert,
            region,
            annotations: self.annotator.of(index).map(|a| a.set.clone()),
            heatmap: heatmap.filter(|_| self.export.include_heatmap),
            heatmap_style: self.settings.overlay.style(),
            ai,
            impression: self.export.impression.clone(),
            reader: self.export.reader.clone(),
            request,
        };
        let ctx = ctx.clone();
        self.export.start(job, move || ctx.request_repaint());
    }

    /// The tool row above the viewports: one button per tool (with its
    /// shortcut), undo, redo and delete.
    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            for tool in Tool::ALL {
                let keys = shortcuts::keys_for(ui.ctx(), Action::Tool(tool));
                if ui
                    .selectable_label(self.annotator.tool == tool, tool.name())
                    .on_hover_text(keys)
                    .clicked()
                {
                    self.apply(&ui.ctx().clone(), Action::Tool(tool));
                }
            }
            ui.separator();
            for (action, label) in [
                (Action::Undo, "Undo"),
                (Action::Redo, "Redo"),
                (Action::DeleteAnnotation, "Delete annotation"),
            ] {
                let keys = shortcuts::keys_for(ui.ctx(), action);
                if ui.button(label).on_hover_text(keys).clicked() {
                    self.apply(&ui.ctx().clone(), action);
                }
            }
            if !self.annotator.saves() {
                ui.colored_label(
                    egui::Color32::LIGHT_RED,
                    "Annotations are not saved (no data folder)",
                );
            }
            if let Some(e) = self.annotator.save_errors.last() {
                ui.colored_label(egui::Color32::LIGHT_RED, e);
            }
        });
    }

    /// The box a text note is typed in.
    fn text_entry(&mut self, ctx: &egui::Context) {
        let Some((_, _, Draft::Text { text, .. })) = self.annotator.draft.as_mut() else {
            return;
        };
        let mut add = false;
        let mut cancel = false;
        egui::Window::new("Text note")
            .collapsible(false)
            .show(ctx, |ui| {
                let label = ui.label("Annotation text");
                let edit = ui
                    .add(egui::TextEdit::singleline(text))
                    .labelled_by(label.id);
                edit.request_focus();
                if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    add = true;
                }
                ui.horizontal(|ui| {
                    add |= ui.button("Add note").clicked();
                    cancel = ui.button("Cancel note").clicked();
                });
            });
        if add {
            self.annotator.finish_text();
        } else if cancel {
            self.annotator.draft = None;
        }
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    if ui.button("Open file(s)…").clicked() {
                        self.open_dialog(false);
                    }
                    if ui.button("Open folder…").clicked() {
                        self.open_dialog(true);
                    }
                    if ui.button("Export…").clicked() {
                        self.export.open = true;
                    }
                });
                ui.menu_button("Edit", |ui| {
                    let ctx = ui.ctx().clone();
                    for (action, label) in [
                        (Action::Undo, "Undo annotation change"),
                        (Action::Redo, "Redo annotation change"),
                        (Action::DeleteAnnotation, "Delete selected annotation"),
                    ] {
                        if ui.button(label).clicked() {
                            self.apply(&ctx, action);
                        }
                    }
                });
                ui.menu_button("View", |ui| {
                    for layout in [Layout::Single, Layout::SideBySide, Layout::Quad] {
                        ui.radio_value(
                            &mut self.settings.layout,
                            layout,
                            format!("Layout {}", layout.label()),
                        );
                    }
                    ui.checkbox(&mut self.settings.corner_text, "Four-corner text");
                    if ui.button("Settings…").clicked() {
                        self.show_settings = true;
                    }
                    ui.checkbox(&mut self.settings.tag_browser, "DICOM tags");
                });
                if ui.button("Shortcuts (F1)").clicked() {
                    self.show_help = !self.show_help;
                }
                if self.dialog.is_some() {
                    ui.label("Waiting for the file dialog…");
                    if ui.button("Cancel dialog").clicked() {
                        // The thread may stay blocked in the portal; the
                        // viewer stops waiting for it.
                        self.dialog = None;
                    }
                }
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(self.hover.clone().unwrap_or_else(|| "—".into()));
                ui.separator();
                if let Some(hint) = self.annotator.hint() {
                    ui.label(hint);
                    ui.separator();
                }
                ui.label(format!("AI engine: {}", self.ai.status()));
                ui.separator();
                let (done, total) = self
                    .loads
                    .iter()
                    .fold((0, 0), |(d, t), j| (d + j.done, t + j.total));
                if self.loading() {
                    ui.spinner();
                    ui.label(format!("Loading {done}/{total}"));
                } else {
                    ui.label(format!("{} images", self.library.images.len()));
                }
                if !self.library.errors.is_empty() {
                    ui.separator();
                    ui.colored_label(
                        egui::Color32::LIGHT_RED,
                        format!("{} failed", self.library.errors.len()),
                    );
                }
            });
        });
    }

    /// The heatmap the reader is asking for: the active viewport's image
    /// and frame, with the current method and target, when the overlay is on.
    fn wanted_heatmap(&self) -> Option<HeatmapKey> {
        if !self.heatmaps.visible {
            return None;
        }
        let (i, frame) = self.shown(self.active)?;
        let model = self.ai.model()?;
        Some(
            self.heatmaps
                .key(&self.library.images[i].image, frame, model),
        )
    }

    fn ai_panel(&mut self, ui: &mut egui::Ui) {
        let image = self.active_image().cloned();
        let model = self.ai.model().cloned();
        let frame = self.shown(self.active).map_or(0, |(_, f)| f);
        let heatmap = match (&image, self.ai.classifier()) {
            (Some(image), Some(classifier)) if self.heatmaps.visible => {
                Some(self.heatmaps.get(classifier, image, frame))
            }
            _ => None,
        };
        egui::Panel::right("ai").default_size(300.0).show(ui, |ui| {
            let view = image.as_ref().map(|i| self.ai.view(i));
            let status = self.ai.status();
            let out = ai_panel::show(
                ui,
                model.as_ref(),
                &status,
                view.as_ref(),
                &mut self.settings,
                &mut self.heatmaps,
                heatmap.as_ref(),
            );
            if out.run
                && let Some(image) = &image
            {
                self.ai.request(image);
            }
            if out.show_card {
                self.show_card = true;
            }
            ui.separator();
            if let (Some(image), Some((index, frame))) = (&image, self.shown(self.active)) {
                super::annotate::list_ui(ui, &mut self.annotator, image, index, frame);
            }
        });
    }

    fn viewports_ui(&mut self, ui: &mut egui::Ui) {
        let rect = ui.available_rect_before_wrap();
        let (cols, rows) = self.settings.layout.grid();
        let size = egui::vec2(rect.width() / cols as f32, rect.height() / rows as f32);
        self.hover = None;
        let heatmap = self.current_heatmap();
        for v in 0..cols * rows {
            let cell = egui::Rect::from_min_size(
                rect.min + egui::vec2((v % cols) as f32 * size.x, (v / cols) as f32 * size.y),
                size,
            )
            .shrink(1.0);
            self.rects[v] = Some(cell);
            self.viewport_ui(ui, v, cell, heatmap.as_ref());
        }
    }

    /// The active viewport's heatmap, when shown and ready.
    pub fn current_heatmap(&self) -> Option<Arc<crate::ai::saliency::Heatmap>> {
        let key = self.wanted_heatmap()?;
        self.heatmaps.cached(&key)?.as_ref().ok().cloned()
    }

    fn viewport_ui(
        &mut self,
        ui: &mut egui::Ui,
        v: usize,
        rect: egui::Rect,
        heatmap: Option<&Arc<crate::ai::saliency::Heatmap>>,
    ) {
        let Some((image_index, frame)) = self.shown(v) else {
            ui.painter()
                .rect_filled(rect, 0.0, egui::Color32::from_gray(10));
            let response = ui.interact(
                rect,
                egui::Id::unique(("viewport", v)),
                egui::Sense::click(),
            );
            response.widget_info(|| {
                egui::WidgetInfo::labeled(
                    egui::Role::Canvas,
                    true,
                    format!("Viewport {} (empty)", v + 1),
                )
            });
            if response.clicked() {
                self.active = v;
            }
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Empty viewport",
                egui::FontId::proportional(14.0),
                egui::Color32::GRAY,
            );
            return;
        };
        let image = Arc::clone(&self.library.images[image_index].image);
        let scale = viewport::view_transform(&self.viewports[v].view, &image, rect).scale;
        let key = DisplayKey {
            image: image_index,
            frame,
            window: self.viewports[v].view.window.clone(),
            invert: self.viewports[v].view.invert,
            step: viewport::preview_step(
                self.viewports[v].adjusting,
                scale,
                ui.ctx().pixels_per_point(),
            ),
        };
        let result = viewport::update_texture(
            ui.ctx(),
            &format!("viewport {v}"),
            &mut self.displayed[v],
            &image,
            key,
        );
        self.render_errors[v] = result.err();
        let stack_len = self.stack(v).len();
        let Some(displayed) = self.displayed[v].as_ref() else {
            let text = self.render_errors[v].clone().unwrap_or_default();
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                text,
                egui::FontId::proportional(14.0),
                egui::Color32::LIGHT_RED,
            );
            return;
        };
        let heatmap = heatmap
            .filter(|h| v == self.active && h.width == image.pixels.columns)
            .map(|h| (h.as_ref(), self.settings.overlay.style()));
        let input = ViewportInput {
            index: v,
            image: &image,
            frame,
            stack: (
                self.viewports[v].position.min(stack_len.saturating_sub(1)),
                stack_len,
            ),
            displayed,
            heatmap,
            corner_text: self.settings.corner_text,
            active: v == self.active,
        };
        let out = viewport::show(
            ui,
            rect,
            &mut self.viewports[v],
            input,
            &mut self.layers[v],
            &mut self.annotator,
        );
        if out.activated {
            self.active = v;
        }
        if out.scroll_steps != 0 {
            self.viewports[v].step(out.scroll_steps, stack_len);
        }
        if out.hover.is_some() {
            self.hover = out.hover;
        }
    }

    fn windows(&mut self, ctx: &egui::Context) {
        let mut open = self.show_help;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                egui::Grid::new("shortcut table")
                    .striped(true)
                    .show(ui, |ui| {
                        for s in SHORTCUTS {
                            ui.monospace(ctx.format_shortcut(&s.keys));
                            // Presets are the reader's, named in the settings.
                            match s.action {
                                Action::Preset(n) => {
                                    match self.settings.presets.get(n as usize - 1) {
                                        Some(p) => ui.label(format!("Window preset: {}", p.name)),
                                        None => ui.label("(no preset on this key)"),
                                    }
                                }
                                _ => ui.label(s.description),
                            };
                            ui.end_row();
                        }
                        ui.monospace("Wheel");
                        ui.label("Scroll the stack (Ctrl: zoom)");
                        ui.end_row();
                        ui.monospace("Left drag");
                        ui.label("Pan");
                        ui.end_row();
                        ui.monospace("Right drag");
                        ui.label("Window / level (Shift fine, Ctrl coarse)");
                        ui.end_row();
                    });
            });
        self.show_help = open;
        let mut card = self.show_card;
        if let Some(model) = self.ai.model().cloned() {
            let mut close = false;
            egui::Window::new("Model card")
                .open(&mut card)
                .show(ctx, |ui| close = ai_panel::model_card(ui, &model));
            card &= !close;
        }
        self.show_card = card;
    }

    fn drop_highlight(&self, ctx: &egui::Context) {
        let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
        if !hovering {
            return;
        }
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop highlight"),
        ));
        let rect = ctx.content_rect();
        painter.rect_filled(
            rect,
            0.0,
            egui::Color32::from_rgba_unmultiplied(40, 90, 160, 90),
        );
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Drop to open",
            egui::FontId::proportional(28.0),
            egui::Color32::WHITE,
        );
    }
}

//! The viewer: ties the library, the viewports, the AI and the panels
//! together. Each frame it drains the background channels, applies the
//! shortcuts and draws; it never decodes, runs inference or reads files.
//!
//! [`actions`] applies what a key or button asks for to the state (no
//! drawing); [`menus`] draws the menu, tool and status bars, [`panels`] the
//! side panels and the viewport grid, [`windows`] the floating windows.

use std::path::PathBuf;
use std::sync::Arc;

use poll_promise::Promise;

use crate::imaging::voi::Window;
use crate::imaging::{Image, WindowChoice};

use crate::annotations::AnnotationSet;
use crate::annotations::sidecar::SidecarStore;

use super::ai_assist::AiAssist;
use super::annotate::Annotator;
use super::browser::Thumbnails;
use super::export::ExportDialog;
use super::foreign::ForeignResults;
use super::heatmap::{HeatmapKey, Heatmaps};
use super::jobs::{JobResult, JobState, Jobs};
use super::loader::{LoadEvent, LoadJob};
use super::pacs::PacsPanel;
use super::settings::Settings;
use super::shortcuts;
use super::state::{Library, StackEntry, ViewportState};
use super::tags;
use super::viewport::{Displayed, Layers};
use super::window_cache::WindowCache;
use super::worklist::{WorklistPanel, is_results_file};

mod actions;
mod hanging;
mod linking;
mod menus;
mod mpr_layout;
mod pacs_window;
mod panels;
mod priors;
mod windows;
mod worklist_window;

pub use hanging::Hanging;
pub use linking::Links;

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
    /// Results from other systems: maps, segmentations, reports and
    /// presentation states opened with the images.
    pub foreign: ForeignResults,
    displayed: [Option<Displayed>; VIEWPORTS],
    layers: [Layers; VIEWPORTS],
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
    /// The background thread for auto-window and ROI statistics.
    pub jobs: Jobs,
    /// Windows resolved per image, frame and choice.
    pub window_cache: WindowCache,
    /// An auto-window being computed.
    auto_window: Option<AutoWindow>,
    /// The AI starts once the first image is on screen.
    ai_deferred: bool,
    /// The PACS window: search, retrieval, priors.
    pub pacs: PacsPanel,
    /// A study (from the PACS) to put in a viewport once it is loaded.
    pending_focus: Option<(String, usize)>,
    /// The saved nodes were read for the PACS window shown now.
    pacs_nodes_read: bool,
    /// Triage results opened as a reading worklist.
    pub worklist: WorklistPanel,
    /// The files of the worklist study to show once loaded.
    worklist_focus: Option<Vec<PathBuf>>,
    /// The MPR layout, when on (it replaces the viewport grid).
    pub mpr: Option<super::mpr::Mpr>,
    /// Why the MPR layout could not be shown, for the status bar.
    pub mpr_message: Option<String>,
    /// Where the MPR layout was last drawn.
    pub mpr_rect: Option<egui::Rect>,
    /// Each viewport's display table on the GPU path.
    gpu_views: [super::gpu::GpuView; VIEWPORTS],
    /// Which viewports the GPU path drew in the last frame.
    gpu_shown: [bool; VIEWPORTS],
    /// What the GPU path uploaded.
    pub gpu_stats: Arc<super::gpu::GpuStats>,
    /// Linked scrolling, windows and zoom, and the reader's offsets
    /// between Frames of Reference.
    pub links: Links,
    /// The layout per modality waiting for a study to load.
    pub hanging: Hanging,
}

/// An auto-window (1st–99th percentile) being computed for what viewport
/// `viewport` showed when it was asked for.
struct AutoWindow {
    viewport: usize,
    shown: (usize, usize),
    result: JobResult<Option<Window>>,
}

impl Viewer {
    /// A viewer with `settings` and the given AI (which also makes the
    /// heatmaps).
    pub fn new(settings: Settings, ai: AiAssist) -> Self {
        let jobs = Jobs::default();
        Self {
            library: Library::default(),
            settings,
            viewports: Default::default(),
            active: 0,
            ai,
            heatmaps: Heatmaps::default(),
            annotator: Annotator::default().with_jobs(jobs.clone()),
            export: ExportDialog::default(),
            foreign: ForeignResults::default(),
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
            jobs,
            window_cache: WindowCache::default(),
            auto_window: None,
            ai_deferred: false,
            pacs: PacsPanel::default(),
            pending_focus: None,
            pacs_nodes_read: false,
            worklist: WorklistPanel::default(),
            worklist_focus: None,
            mpr: None,
            mpr_message: None,
            mpr_rect: None,
            gpu_views: Default::default(),
            gpu_shown: [false; VIEWPORTS],
            gpu_stats: Arc::default(),
            links: Links::default(),
            hanging: Hanging::default(),
        }
    }

    /// Starts the AI (the settings' model on a worker) only once the first
    /// image is on screen: loading a model takes the CPU the first image
    /// needs. Until then the AI panel says it is starting.
    pub fn with_ai_after_first_image(mut self) -> Self {
        self.ai = AiAssist::new(Err("The AI starts once the first image is shown…".into()));
        self.ai_deferred = true;
        self
    }

    /// Saves annotations in `store` (read back when an image loads): the
    /// shipped viewer uses the data folder's, tests a temporary one.
    pub fn with_annotation_store(mut self, store: SidecarStore) -> Self {
        self.sidecars = Some(store.clone());
        self.annotator = Annotator::with_store(store).with_jobs(self.jobs.clone());
        self
    }

    /// Starts loading `paths` in the background; triage results (`.jsonl`)
    /// open as the worklist instead.
    pub fn open(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        let (results, paths): (Vec<PathBuf>, Vec<PathBuf>) =
            paths.into_iter().partition(|p| is_results_file(p));
        if let Some(last) = results.into_iter().last() {
            self.worklist.load(last, ctx);
        }
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

    /// Starts loading files retrieved from a PACS (not remembered as
    /// recent items: they live in the study cache).
    pub fn load_quietly(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        let ctx = ctx.clone();
        self.loads
            .push(LoadJob::start(paths, self.sidecars.clone(), move || {
                ctx.request_repaint()
            }));
    }

    /// Retrieves PACS studies into `cache` and keeps saved PACS nodes in
    /// `nodes_file` (tests use temporary ones).
    pub fn with_pacs_storage(
        mut self,
        cache: crate::net::cache::StudyCache,
        nodes_file: PathBuf,
    ) -> Self {
        self.pacs = std::mem::take(&mut self.pacs)
            .with_cache(cache)
            .with_nodes_file(nodes_file);
        self
    }

    /// Takes over `job`, a load of `paths` started before the viewer (the
    /// launch starts loading before the window exists).
    pub fn adopt_load(&mut self, paths: &[PathBuf], job: LoadJob) {
        self.settings.remember(paths);
        self.loads.push(job);
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

    /// True when viewport `v` shows its frame, drawn by either path.
    pub fn on_screen(&self, v: usize) -> bool {
        self.displayed[v].is_some() || self.gpu_shown[v]
    }

    /// True when the GPU path drew viewport `v` in the last frame.
    pub fn gpu_drawn(&self, v: usize) -> bool {
        self.gpu_shown[v]
    }

    /// The 8-bit pixels on screen in viewport `v` (the pipeline's output;
    /// `None` while the GPU path draws it).
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
                    LoadEvent::Foreign(object) => self.foreign.add(*object),
                    LoadEvent::ForeignFailed(e) => self.foreign.fail(e),
                    LoadEvent::Found { .. }
                    | LoadEvent::Skipped(_)
                    | LoadEvent::Finished { .. } => {}
                }
            }
        }
        self.loads.retain(|j| !j.finished);
        self.library.regroup();
        self.refresh_mpr();
        self.foreign.refresh(&self.library.images);
        // The first series to arrive goes on screen at once.
        if self.viewports[0].series.is_none()
            && let Some(first) = self.library.series.first()
        {
            self.viewports[0].series = Some(first.key.clone());
            self.load_opened(0);
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

    fn update_ai(&mut self, ctx: &egui::Context) {
        if self.ai.poll() {
            ctx.request_repaint();
        }
        let image = self.active_image().cloned();
        let ahead = self.worklist_ahead_image();
        let wanted: Vec<&Image> = image
            .iter()
            .chain(ahead.iter())
            .map(|i| i.as_ref())
            .collect();
        self.ai.forget_stale(&wanted);
        // An image outside the model's scope is never run automatically
        // (the reader may still run it, and sees it worded as such).
        let runs_by_itself = |ai: &AiAssist, image: &Image| {
            ai.model()
                .is_none_or(|m| crate::ai::classify::scope_check(m, image).in_scope != Some(false))
        };
        if self.settings.auto_run_ai
            && let Some(image) = &image
            && runs_by_itself(&self.ai, image)
        {
            self.ai.request(image);
        }
        if self.heatmaps.poll() {
            ctx.request_repaint();
        }
        // A heatmap for anything but what is on screen (or fetched ahead)
        // is cancelled.
        let wanted = self.wanted_heatmap();
        let ahead_map = ahead.as_ref().and_then(|a| self.wanted_heatmap_of(a, 0));
        let keep: Vec<&HeatmapKey> = wanted.iter().chain(ahead_map.iter()).collect();
        self.heatmaps.forget_stale(&keep);
        // The worklist's next unread study, once what is on screen is done:
        // its result, then its heatmap, so that Enter shows them at once.
        let screen_done = !self.ai.is_running()
            && !self.heatmaps.is_running()
            && wanted
                .as_ref()
                .is_none_or(|k| self.heatmaps.cached(k).is_some());
        if screen_done
            && self.settings.auto_run_ai
            && let Some(ahead) = &ahead
            && runs_by_itself(&self.ai, ahead)
        {
            self.ai.request(ahead);
            let classified = matches!(self.ai.view(ahead), super::ai_assist::AiView::Done(_));
            if classified
                && !self.ai.is_running()
                && let (Some(_), Some(classifier)) = (&ahead_map, self.ai.classifier())
            {
                self.heatmaps.get(classifier, ahead, 0);
            }
        }
        if self.ai.is_running() || self.heatmaps.is_running() {
            // Keep polling while the worker runs (it cannot wake egui).
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }

    /// Applies a finished auto-window to its viewport if that still shows
    /// the image and frame it was computed for.
    fn collect_auto_window(&mut self) {
        let Some(job) = &self.auto_window else { return };
        let window = match job.result.poll() {
            JobState::Running => return,
            JobState::Done(window) => window,
            JobState::Gone => None,
        };
        let (v, shown) = (job.viewport, job.shown);
        self.auto_window = None;
        if let Some(window) = window
            && self.shown(v) == Some(shown)
        {
            self.viewports[v].view.window = WindowChoice::Explicit(window);
        }
    }

    /// True while new AI settings are being applied (the model's manifest
    /// is read before the new worker starts).
    pub fn applying_ai_settings(&self) -> bool {
        self.ai_restart.is_some()
    }

    /// True while an auto-window is being computed.
    pub fn auto_windowing(&self) -> bool {
        self.auto_window.is_some()
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
        self.follow_worklist(&ctx);
        self.collect_pacs(&ctx);
        self.apply_hanging();
        self.handle_drops(&ctx);
        if !ctx.egui_wants_keyboard_input() {
            for action in shortcuts::pressed(&ctx) {
                self.apply(action, ctx.pixels_per_point());
            }
        }
        self.collect_ai_restart();
        self.update_ai(&ctx);
        self.collect_auto_window();
        self.cine(&ctx);
        if self.loading()
            || self.dialog.is_some()
            || self.auto_window.is_some()
            || self.annotator.measuring()
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }

        self.menu_bar(ui);
        self.status_bar(ui);
        self.side_panels(ui, &ctx);
        egui::CentralPanel::no_frame().show(ui, |ui| {
            self.toolbar(ui);
            self.viewports_ui(ui);
        });
        self.follow_links();
        self.windows(&ctx);
        self.text_entry(&ctx);
        self.export_window(&ctx);
        self.settings_window(&ctx);
        self.pacs_window(&ctx);
        let library = &self.library;
        self.annotator
            .save_changes(|i| library.images.get(i).map(|l| Arc::clone(&l.image)));
        self.drop_highlight(&ctx);
        self.start_deferred_ai(&ctx);
    }

    /// The heatmap the reader is asking for: the active viewport's image
    /// and frame, with the current method and target, when the overlay is on.
    fn wanted_heatmap(&self) -> Option<HeatmapKey> {
        let (i, frame) = self.shown(self.active)?;
        self.wanted_heatmap_of(&self.library.images[i].image, frame)
    }

    /// The heatmap of `image`'s `frame` with the current method and target,
    /// when the overlay is on.
    fn wanted_heatmap_of(&self, image: &Image, frame: usize) -> Option<HeatmapKey> {
        if !self.heatmaps.visible {
            return None;
        }
        let model = self.ai.model()?;
        Some(self.heatmaps.key(image, frame, model))
    }

    /// The active viewport's heatmap, when shown and ready, and faithful
    /// or asked for anyway.
    pub fn current_heatmap(&self) -> Option<Arc<crate::ai::saliency::Heatmap>> {
        let key = self.wanted_heatmap()?;
        let map = self.heatmaps.cached(&key)?.as_ref().ok()?;
        self.heatmaps.may_draw(map).then(|| Arc::clone(map))
    }
}

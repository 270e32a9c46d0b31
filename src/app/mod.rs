//! The viewer (eframe/egui). Everything that depends on egui lives under
//! this module: [`state`] holds the UI-free model, [`loader`] the background
//! loading, [`viewport`] the image display, [`browser`], [`tags`] and
//! [`ai_panel`] the panels, [`ai_assist`] and [`heatmap`] the background AI
//! work (through one [`tickets`] cache), [`annotate`] the measurement tools,
//! [`export`] the export dialog, [`shortcuts`] the one keyboard table,
//! [`settings`] what persists, [`jobs`] the thread for auto-window and ROI
//! statistics, [`window_cache`] the windows resolved per image and frame.
//!
//! The UI thread never decodes, never runs inference, never scans a whole
//! frame per repaint and never reads or writes files: those run on worker
//! threads and report through channels.

pub mod ai_assist;
pub mod ai_panel;
pub mod annotate;
pub mod browser;
pub mod export;
pub mod foreign;
pub mod foreign_panel;
pub mod gpu;
pub mod hanging;
pub mod heatmap;
pub mod jobs;
pub mod loader;
pub mod mpr;
pub mod pacs;
pub mod settings;
pub mod shortcuts;
pub mod state;
pub mod tags;
pub mod tickets;
pub mod triage_run;
pub mod viewer;
pub mod viewport;
pub mod window_cache;
pub mod worklist;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::ai::{EngineChoice, RuntimeSettings};

use self::ai_assist::AiAssist;
use self::loader::LoadJob;
use self::settings::{STORAGE_KEY, Settings};
pub use self::viewer::Viewer;

/// The bundled chest X-ray opened when no path is given.
pub const SAMPLE_IMAGE: &str = "assets/chest-xray/person1946_bacteria_4874.jpeg";

/// How long `--screenshot` waits for the first image before giving up.
pub const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// How the viewer is started.
#[derive(Debug, Clone, Default)]
pub struct ViewerOptions {
    /// Files and folders to open; the bundled sample when empty.
    pub paths: Vec<PathBuf>,
    /// Save a screenshot here once the first image is drawn, then exit.
    pub screenshot: Option<PathBuf>,
    /// The graphics backend that draws the window.
    pub renderer: crate::cli::Renderer,
    /// A PACS study to open (streamed in as it arrives).
    pub pacs: Option<PacsLaunch>,
}

/// A study to open from a PACS at launch (`hilum view --pacs`).
#[derive(Debug, Clone, Default)]
pub struct PacsLaunch {
    /// The node: a saved name or a URL.
    pub node: String,
    /// The Study Instance UID.
    pub study: String,
    /// Hilum's AE title for a DIMSE node.
    pub aet: Option<String>,
    /// The user name (the password comes from the environment or the
    /// PACS window).
    pub user: Option<String>,
}

/// The bundled sample, looked for next to the executable (and its parents)
/// and in the source tree.
pub fn sample_image() -> Option<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .into_iter()
        .map(|r| r.join(SAMPLE_IMAGE))
        .find(|p| p.is_file())
}

/// The AI engine settings the viewer uses.
pub fn runtime_settings(settings: &Settings) -> RuntimeSettings {
    RuntimeSettings {
        engine: EngineChoice::Auto,
        ort_library: settings.ort_library.clone(),
        ..RuntimeSettings::default()
    }
}

/// A viewer with the shipped AI: the settings' or the default model on a
/// worker thread, which also makes the heatmaps; started once the first
/// image is on screen (the manifest read and the model loaded off the UI
/// thread), so neither delays it.
pub fn shipped_viewer(settings: Settings) -> Viewer {
    let viewer =
        Viewer::new(settings, AiAssist::new(Err(String::new()))).with_ai_after_first_image();
    // Without a data folder the viewer still annotates, and says that
    // nothing is saved.
    match crate::annotations::sidecar::SidecarStore::default_location() {
        Ok(store) => viewer.with_annotation_store(store),
        Err(_) => viewer,
    }
}

enum Screenshot {
    /// Waiting for the first image to be drawn.
    Waiting { since: Instant, drawn: u32 },
    /// Asked; the image arrives on the channel.
    Requested(Receiver<Arc<egui::ColorImage>>),
    /// Being written on a background thread.
    Saving(std::thread::JoinHandle<Result<(), String>>),
    /// Done (the window is closing).
    Done,
}

struct HilumApp {
    viewer: Viewer,
    screenshot: Option<(PathBuf, Screenshot)>,
    exit_code: Arc<AtomicI32>,
    started: Instant,
    trace: StartupTrace,
}

/// With `HILUM_STARTUP_TRACE` set, the milestones from launch to the first
/// image on stderr (ms since the viewer started), to see where the launch
/// spends its time.
struct StartupTrace {
    started: Instant,
    enabled: bool,
    passed: Vec<&'static str>,
}

impl StartupTrace {
    fn new(started: Instant) -> Self {
        Self {
            started,
            enabled: std::env::var_os("HILUM_STARTUP_TRACE").is_some(),
            passed: Vec::new(),
        }
    }

    /// Notes `milestone` the first time it is passed.
    fn mark(&mut self, milestone: &'static str) {
        if self.enabled && !self.passed.contains(&milestone) {
            self.passed.push(milestone);
            eprintln!(
                "hilum: startup {milestone}: {:.1} ms",
                self.started.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    /// Notes the milestones the viewer passed in the frame just drawn.
    fn frame(&mut self, viewer: &Viewer) {
        if !self.enabled {
            return;
        }
        self.mark("first frame drawn");
        if viewer.frames == 2 {
            // The first frame's painting (shaders, swapchain) lies between.
            self.mark("second frame drawn");
        }
        if !viewer.library.images.is_empty() {
            self.mark("first image decoded");
        }
        if viewer.on_screen(0) {
            self.mark("first image drawn");
        }
    }
}

impl HilumApp {
    fn fail(&mut self, ctx: &egui::Context, message: String) {
        eprintln!("hilum: {message}");
        self.exit_code.store(1, Ordering::Relaxed);
        self.screenshot = None;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    fn screenshot_step(&mut self, ctx: &egui::Context) {
        let Some((path, state)) = self.screenshot.take() else {
            return;
        };
        ctx.request_repaint_after(Duration::from_millis(50));
        let next = match state {
            Screenshot::Waiting { since, drawn } => {
                if self.viewer.on_screen(0) {
                    if drawn == 0 {
                        eprintln!(
                            "hilum: first image drawn {:.0} ms after start",
                            self.started.elapsed().as_secs_f64() * 1e3
                        );
                    }
                    // A couple of frames so the texture is on screen.
                    if drawn >= 3 {
                        let (tx, rx) = channel();
                        let wake = ctx.clone();
                        ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(
                            egui::ScreenshotCallback::new(move |image| {
                                let _ = tx.send(image);
                                wake.request_repaint();
                            }),
                        ));
                        Screenshot::Requested(rx)
                    } else {
                        Screenshot::Waiting {
                            since,
                            drawn: drawn + 1,
                        }
                    }
                } else if since.elapsed() > SCREENSHOT_TIMEOUT {
                    let errors: Vec<String> = self
                        .viewer
                        .library
                        .errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect();
                    return self.fail(
                        ctx,
                        format!("no image was shown within {SCREENSHOT_TIMEOUT:?}: {errors:?}"),
                    );
                } else {
                    Screenshot::Waiting { since, drawn }
                }
            }
            Screenshot::Requested(rx) => match rx.try_recv() {
                Ok(image) => {
                    let target = path.clone();
                    Screenshot::Saving(std::thread::spawn(move || save_png(&image, &target)))
                }
                Err(_) => Screenshot::Requested(rx),
            },
            Screenshot::Saving(handle) if handle.is_finished() => {
                match handle.join() {
                    Ok(Ok(())) => {
                        eprintln!("hilum: screenshot saved to {}", path.display());
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                    Ok(Err(e)) => return self.fail(ctx, e),
                    Err(_) => return self.fail(ctx, "saving the screenshot panicked".into()),
                }
                Screenshot::Done
            }
            other => other,
        };
        self.screenshot = Some((path, next));
    }
}

/// Writes an egui screenshot as PNG (atomically, through the pipeline's
/// own writer).
fn save_png(image: &egui::ColorImage, path: &Path) -> Result<(), String> {
    let [w, h] = image.size;
    let rgb: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| [c.r(), c.g(), c.b()])
        .collect();
    crate::imaging::render::Rendered {
        width: w as u32,
        height: h as u32,
        channels: 3,
        pixels: rgb,
    }
    .save_png(path)
    .map_err(|e| e.to_string())
}

impl eframe::App for HilumApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.viewer.show(ui);
        self.trace.frame(&self.viewer);
        let ctx = ui.ctx().clone();
        self.screenshot_step(&ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.viewer.settings);
    }
}

/// Opens the viewer window; returns the process exit code.
pub fn run(options: ViewerOptions) -> i32 {
    let started = Instant::now();
    let renderer = options.renderer;
    let pacs = options.pacs.clone();
    let paths = if options.paths.is_empty() && pacs.is_none() {
        match sample_image() {
            Some(p) => vec![p],
            None => {
                eprintln!(
                    "hilum: the bundled sample {SAMPLE_IMAGE} was not found; opening an empty viewer"
                );
                Vec::new()
            }
        }
    } else {
        options.paths.clone()
    };
    // Loading starts before the window: the first image decodes while the
    // window and the renderer are set up, and is drained by the first
    // frame. The loader wakes the UI once its context exists.
    let context: Arc<OnceLock<egui::Context>> = Arc::default();
    let waker = Arc::clone(&context);
    let sidecars = crate::annotations::sidecar::SidecarStore::default_location().ok();
    // Triage results on the command line open as the worklist once the
    // window exists; the rest starts loading now.
    let (results, paths): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .into_iter()
        .partition(|p| worklist::is_results_file(p));
    let early = (!paths.is_empty()).then(|| {
        LoadJob::start(paths.clone(), sidecars, move || {
            if let Some(ctx) = waker.get() {
                ctx.request_repaint();
            }
        })
    });
    let exit_code = Arc::new(AtomicI32::new(0));
    let code = Arc::clone(&exit_code);
    let screenshot = options.screenshot.clone();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Hilum")
            .with_app_id("hilum")
            .with_inner_size([1400.0, 900.0]),
        renderer: match renderer {
            crate::cli::Renderer::Glow => eframe::Renderer::Glow,
            crate::cli::Renderer::Wgpu => eframe::Renderer::Wgpu,
        },
        ..Default::default()
    };
    let result = eframe::run_native(
        "hilum",
        native,
        Box::new(move |cc| {
            let mut trace = StartupTrace::new(started);
            trace.mark("window and renderer ready");
            cc.egui_ctx.set_theme(egui::Theme::Dark);
            // The GPU display path where wgpu draws the window; glow keeps
            // the CPU path (the status bar says which).
            if let Some(render_state) = cc.wgpu_render_state.as_ref() {
                gpu::install(&cc.egui_ctx, render_state);
            }
            let settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, STORAGE_KEY))
                .unwrap_or_default();
            let _ = context.set(cc.egui_ctx.clone());
            let mut viewer = shipped_viewer(settings);
            if let Some(job) = early {
                viewer.adopt_load(&paths, job);
            }
            if !results.is_empty() {
                viewer.open(&cc.egui_ctx, results);
            }
            if let Some(launch) = pacs {
                let ctx = cc.egui_ctx.clone();
                viewer.pacs.node = launch.node;
                viewer.pacs.aet = launch.aet.unwrap_or_default();
                viewer.pacs.user = launch.user.unwrap_or_default();
                viewer.pacs.open = true;
                viewer
                    .pacs
                    .open_study(&launch.study, move || ctx.request_repaint());
                trace.mark("PACS retrieval started");
            }
            trace.mark("viewer built");
            Ok(Box::new(HilumApp {
                viewer,
                screenshot: screenshot.map(|p| {
                    (
                        p,
                        Screenshot::Waiting {
                            since: Instant::now(),
                            drawn: 0,
                        },
                    )
                }),
                exit_code: code,
                started,
                trace,
            }))
        }),
    );
    // The viewer is gone; a model still in a step finishes it before the
    // process (and ONNX Runtime with it) ends, within a bound.
    crate::ai::worker::wait_for_dropped_workers(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => exit_code.load(Ordering::Relaxed),
        Err(e) => {
            // winit allows one event loop per process, so the other renderer
            // cannot be tried here; say how to choose it.
            eprintln!(
                "hilum: the viewer could not start with the {renderer} renderer: {e} \
                 (try --renderer {})",
                renderer.other()
            );
            1
        }
    }
}

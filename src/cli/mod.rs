//! The command line: one module per subcommand (`info`, `render`,
//! `classify`, `evaluate`, `saliency`, `triage`, `models`, `bench`,
//! `report`/`anonymize`, `pacs`), the
//! arguments they share ([`args`]) and their JSON contracts ([`json`]);
//! `hilum [PATH...]` opens the viewer when the build has one.
//!
//! The JSON these commands print is a contract other tools rely on; see
//! the README for the fields.

pub mod args;
pub mod bench;
pub mod classify;
pub mod evaluate;
pub mod info;
pub mod json;
pub mod models;
pub mod pacs;
pub mod render;
pub mod render_volume;
pub mod report;
pub mod saliency;
pub mod triage;
pub mod triage_pacs;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub(crate) use self::args::load_model;
pub use self::args::{DisplayArgs, RuntimeArgs, parse_window, window_choice};
pub use self::bench::{BenchArgs, run_bench};
pub use self::classify::{ClassifyArgs, run_classify};
pub use self::evaluate::{EvaluateArgs, run_evaluate};
pub use self::info::{InfoArgs, run_info};
pub use self::json::{ClassificationOutput, ImageInfo, SaliencyOutput, SeriesInfo};
pub use self::models::run_models;
pub use self::render::{RenderArgs, run_render};
pub use self::saliency::{SaliencyArgs, run_saliency};

/// Hilum: a radiology viewer with built-in, honest AI assistance.
#[derive(Debug, Parser)]
#[command(name = "hilum", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; with none, the viewer opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Files or folders to open in the viewer (default: the bundled sample
    /// chest X-ray).
    pub paths: Vec<PathBuf>,
    /// Viewer: save a PNG of the window here once the first image is shown,
    /// then exit (for smoke tests).
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// Viewer: the graphics backend that draws the window.
    #[arg(long, value_enum, default_value_t)]
    pub renderer: Renderer,
}

/// The graphics backend that draws the viewer's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Renderer {
    /// OpenGL through glow: the first image appears soonest, also on a
    /// software rasteriser (README, "Launch to first image").
    #[default]
    Glow,
    /// wgpu: Vulkan, Metal, DirectX 12 or OpenGL.
    Wgpu,
}

impl Renderer {
    /// The other backend.
    pub fn other(self) -> Self {
        match self {
            Renderer::Glow => Renderer::Wgpu,
            Renderer::Wgpu => Renderer::Glow,
        }
    }
}

/// The name `--renderer` takes.
impl std::fmt::Display for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum;
        match self.to_possible_value() {
            Some(value) => f.write_str(value.get_name()),
            None => write!(f, "{self:?}"),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe image files and folders as JSON.
    Info(InfoArgs),
    /// Render one frame to an 8-bit PNG exactly as displayed.
    Render(RenderArgs),
    /// Classify images with an AI model (research and demonstration only,
    /// not a diagnosis).
    Classify(ClassifyArgs),
    /// Evaluate a model on labelled images: accuracy, sensitivity,
    /// specificity, precision, F1 and ROC AUC with bootstrap 95 %
    /// intervals, the confusion matrix, ROC and calibration plots.
    Evaluate(EvaluateArgs),
    /// Show where a model looked: a saliency heatmap (Grad-CAM or
    /// occlusion) with its faithfulness (research and demonstration only).
    Saliency(SaliencyArgs),
    /// Run a model over an archive: one JSON line per image, sharded by
    /// study (--shard K/N), resumable (--resume); `triage merge` joins the
    /// shards' results (research and demonstration only).
    Triage(Box<triage::TriageArgs>),
    /// List the installed models and the inference runtime that is found.
    Models(RuntimeArgs),
    /// Measure: classification latency on one engine (for the README's
    /// benchmarks; see benches/compare_ai.sh).
    Bench(BenchArgs),
    /// Export a report: annotated key image, PDF, DICOM SR and Secondary
    /// Capture, optionally de-identified.
    Report(Box<report::ReportArgs>),
    /// De-identify DICOM files into a folder (PS3.15 Basic Profile).
    Anonymize(report::AnonymizeArgs),
    /// Talk to a PACS over DICOMweb or DIMSE: echo, find, get, send, and a
    /// Store SCP (serve).
    Pacs(pacs::PacsArgs),
    /// Open the viewer (the same as giving paths with no subcommand).
    View {
        /// Files or folders to open.
        paths: Vec<PathBuf>,
        /// Open a study from this PACS node (a saved name, a DICOMweb root
        /// or dicom://AET@host:port): the window opens at once and the
        /// study's images appear as they arrive in the local cache.
        #[arg(long, value_name = "NODE", requires = "study")]
        pacs: Option<String>,
        /// The Study Instance UID to open with `--pacs`.
        #[arg(long, requires = "pacs")]
        study: Option<String>,
        /// Hilum's AE title towards a DIMSE node.
        #[arg(long)]
        aet: Option<String>,
        /// The user name at the node (password: $HILUM_PACS_PASSWORD or a
        /// prompt).
        #[arg(long)]
        user: Option<String>,
        /// Save a PNG of the window here once the first image is shown,
        /// then exit.
        #[arg(long, value_name = "PNG")]
        screenshot: Option<PathBuf>,
        /// The graphics backend that draws the window.
        #[arg(long, value_enum, default_value_t)]
        renderer: Renderer,
    },
}

/// Prints one error line, `hilum: ...`, on stderr.
/// Loader threads for the commands that read many files: one per core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn report(err: &dyn std::fmt::Display) {
    eprintln!("hilum: {err}");
}

/// A PACS study to open at launch (`hilum view --pacs NODE --study UID`).
#[derive(Debug, Clone)]
pub struct PacsLaunch {
    /// The node.
    pub node: String,
    /// The Study Instance UID.
    pub study: String,
    /// Hilum's AE title for a DIMSE node.
    pub aet: Option<String>,
    /// The user name.
    pub user: Option<String>,
}

/// Opens the viewer on `paths` (and a PACS study); returns the process
/// exit code.
#[cfg(feature = "viewer")]
fn open_viewer(
    paths: Vec<PathBuf>,
    screenshot: Option<PathBuf>,
    renderer: Renderer,
    pacs: Option<PacsLaunch>,
) -> i32 {
    crate::app::run(crate::app::ViewerOptions {
        paths,
        screenshot,
        renderer,
        pacs: pacs.map(|launch| crate::app::PacsLaunch {
            node: launch.node,
            study: launch.study,
            aet: launch.aet,
            user: launch.user,
        }),
    })
}

/// Without the `viewer` feature there is nothing to open: say so and how to
/// get it, with the exit code of a usage error.
#[cfg(not(feature = "viewer"))]
fn open_viewer(
    _paths: Vec<PathBuf>,
    _screenshot: Option<PathBuf>,
    _renderer: Renderer,
    _pacs: Option<PacsLaunch>,
) -> i32 {
    report(
        &"this build has no viewer; rebuild with the `viewer` feature \
          (cargo build --features viewer), or see `hilum --help` for the commands",
    );
    2
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Info(args)) => run_info(&args),
        Some(Command::Render(args)) => run_render(&args),
        Some(Command::Classify(args)) => run_classify(&args),
        Some(Command::Evaluate(args)) => run_evaluate(&args),
        Some(Command::Saliency(args)) => run_saliency(&args),
        Some(Command::Triage(args)) => triage::run_triage(&args),
        Some(Command::Models(args)) => run_models(&args),
        Some(Command::Bench(args)) => run_bench(&args),
        Some(Command::Report(args)) => report::run_report(&args),
        Some(Command::Anonymize(args)) => report::run_anonymize(&args),
        Some(Command::Pacs(args)) => pacs::run_pacs(&args),
        Some(Command::View {
            paths,
            pacs,
            study,
            aet,
            user,
            screenshot,
            renderer,
        }) => {
            let pacs = pacs.zip(study).map(|(node, study)| PacsLaunch {
                node,
                study,
                aet,
                user,
            });
            open_viewer(paths, screenshot, renderer, pacs)
        }
        None => open_viewer(cli.paths, cli.screenshot, cli.renderer, None),
    }
}

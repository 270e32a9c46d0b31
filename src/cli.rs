//! The command line: `hilum info`, `hilum render`, `hilum bench`, and
//! `hilum [PATH...]`, which opens the viewer.
//!
//! The output of `info` and `render` is a contract other tools rely on; see
//! the README for the fields.

pub mod report;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value, json};

use crate::ai::saliency::overlay::{Colormap, OverlayStyle, blend};
use crate::ai::saliency::{Heatmap, SaliencyMethod, SaliencyRequest};
use crate::ai::{
    self, Classification, EngineChoice, EpChoice, LoadedModel, Manifest, RuntimeSettings,
};
use crate::imaging::image::SourceFormat;
use crate::imaging::series::{Patient, assemble};
use crate::imaging::voi::{Voi, Window, WindowChoice, preset_names};
use crate::imaging::{self, FrameSelection, Image, LoadOptions, frame_stats, render_frame};

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
    /// Show where a model looked: a saliency heatmap (Grad-CAM or
    /// occlusion) with its faithfulness (research and demonstration only).
    Saliency(SaliencyArgs),
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
    /// Open the viewer (the same as giving paths with no subcommand).
    View {
        /// Files or folders to open.
        paths: Vec<PathBuf>,
        /// Save a PNG of the window here once the first image is shown,
        /// then exit.
        #[arg(long, value_name = "PNG")]
        screenshot: Option<PathBuf>,
    },
}

/// Arguments of `hilum info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Files or folders (folders are searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print one JSON array instead of one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Decode frame 0 and add `frame0_stats` (min, max, mean after the
    /// Modality LUT).
    #[arg(long)]
    pub stats: bool,
}

/// Engine settings shared by the AI commands.
#[derive(Debug, Args, Clone)]
pub struct RuntimeArgs {
    /// Inference engine.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Execution provider (ONNX Runtime).
    #[arg(long, value_enum, default_value_t = EpChoice::Auto)]
    pub ep: EpChoice,
    /// The ONNX Runtime library to load (else ORT_DYLIB_PATH, next to the
    /// executable, the onnxruntime Python package, system paths).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Inference threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl RuntimeArgs {
    /// The runtime settings these arguments ask for.
    pub fn settings(&self) -> RuntimeSettings {
        RuntimeSettings {
            engine: self.engine,
            ep: self.ep,
            ort_library: self.ort_lib.clone(),
            threads: self.threads,
        }
    }
}

/// Arguments of `hilum classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Image files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A model: manifest file, folder with manifest.toml, or installed id
    /// (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print one JSON array instead of one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Arguments of `hilum saliency`.
#[derive(Debug, Args)]
pub struct SaliencyArgs {
    /// The image file.
    pub file: PathBuf,
    /// A model: manifest file, folder with manifest.toml, or installed id
    /// (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The method: Grad-CAM (needs a feature-map output) or occlusion (any
    /// classifier).
    #[arg(long, value_enum, default_value_t = SaliencyMethod::GradCam)]
    pub method: SaliencyMethod,
    /// The label to explain (default: the finding with the highest
    /// probability).
    #[arg(long)]
    pub target: Option<String>,
    /// Frame of a multi-frame image (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Write the image as displayed with the heatmap blended in (PNG).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the heatmap as a float32 .npy array (rows, cols) of the source
    /// image, values in [0, 1].
    #[arg(long)]
    pub raw: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Occlusion patch side in model-input pixels (default: a quarter of
    /// the input side).
    #[arg(long)]
    pub patch: Option<u32>,
    /// Occlusion stride in model-input pixels (default: 8 positions per
    /// axis).
    #[arg(long)]
    pub stride: Option<u32>,
    /// Occluded inputs per inference run.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Fraction of input pixels the deletion metric hides (0 skips it).
    #[arg(long, default_value_t = ai::saliency::faithfulness::DEFAULT_FRACTION)]
    pub deletion_fraction: f32,
    /// Heatmap opacity in the overlay, 0 to 1.
    #[arg(long, default_value_t = OverlayStyle::default().opacity)]
    pub opacity: f32,
    /// Heatmap values below this are not drawn, 0 to 1.
    #[arg(long, default_value_t = OverlayStyle::default().threshold)]
    pub threshold: f32,
    /// Colormap of the overlay.
    #[arg(long, value_enum, default_value_t = Colormap::Turbo)]
    pub colormap: Colormap,
    /// Overwrite outputs that exist.
    #[arg(long)]
    pub force: bool,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Arguments of `hilum bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Images to classify (the first is used for the warm loop).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// A model (default: the pneumonia-xception model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Warm iterations of preprocess + inference on the first image.
    #[arg(long, default_value_t = 50)]
    pub iterations: usize,
    /// Write the first image's model input (float32, little endian, in
    /// the manifest's layout) here, so other runtimes can time the very
    /// same input.
    #[arg(long)]
    pub save_input: Option<PathBuf>,
    /// Also measure saliency on the first image: Grad-CAM against plain
    /// classification, occlusion against batched inference, the deletion
    /// metric, and resident memory over repeated runs.
    #[arg(long)]
    pub saliency: bool,
    /// Occluded inputs per batch for the saliency measurements.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Repeated Grad-CAM and occlusion runs for the memory measurement.
    #[arg(long, default_value_t = 100)]
    pub memory_runs: usize,
    /// Engine settings.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Arguments of `hilum render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The image file.
    pub file: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Frame and window.
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Which frame, with which window, as `render` and `report` show it.
#[derive(Debug, Args, Clone)]
pub struct DisplayArgs {
    /// Frame to show (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Window as CENTER,WIDTH in modality units (e.g. -600,1500).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "preset")]
    pub window: Option<String>,
    /// Named window: default, auto, minmax, lung, mediastinum, abdomen,
    /// liver, bone, brain, stroke.
    #[arg(long)]
    pub preset: Option<String>,
}

impl DisplayArgs {
    /// The window these arguments ask for.
    pub fn window_choice(&self) -> Result<WindowChoice, String> {
        window_choice(self.window.as_deref(), self.preset.as_deref())
    }
}

/// Parses `CENTER,WIDTH`.
pub fn parse_window(text: &str) -> Result<Window, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [c, w] = parts[..] else {
        return Err(format!("--window {text}: expected CENTER,WIDTH"));
    };
    let center: f64 = c
        .parse()
        .map_err(|_| format!("--window {text}: center {c:?} is not a number"))?;
    let width: f64 = w
        .parse()
        .map_err(|_| format!("--window {text}: width {w:?} is not a number"))?;
    if !center.is_finite() || !width.is_finite() || width < 1.0 {
        return Err(format!("--window {text}: the width must be at least 1"));
    }
    Ok(Window::linear(center, width))
}

/// The window `--window CENTER,WIDTH` or `--preset NAME` asks for (the
/// file's default without either).
pub fn window_choice(window: Option<&str>, preset: Option<&str>) -> Result<WindowChoice, String> {
    match (window, preset) {
        (Some(w), _) => parse_window(w).map(WindowChoice::Explicit),
        (None, Some(name)) => WindowChoice::from_preset(name).ok_or_else(|| {
            format!(
                "--preset {name}: unknown preset (choose from {})",
                preset_names().join(", ")
            )
        }),
        (None, None) => Ok(WindowChoice::FileDefault),
    }
}

fn opt<T: serde::Serialize>(v: &Option<T>) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The JSON object `hilum info` prints for one image.
pub fn image_json(image: &Image, stats: Option<&imaging::FrameStats>) -> Value {
    let p = &image.pixels;
    let m = &image.metadata;
    let (ts_uid, ts_name, inferred, format) = match &image.source {
        SourceFormat::Dicom {
            transfer_syntax_uid,
            transfer_syntax_name,
            transfer_syntax_inferred,
        } => (
            Value::from(transfer_syntax_uid.clone()),
            Value::from(transfer_syntax_name.clone()),
            Value::from(*transfer_syntax_inferred),
            Value::from("DICOM"),
        ),
        SourceFormat::Raster { format } => (
            Value::Null,
            Value::Null,
            Value::Null,
            Value::from(format.clone()),
        ),
    };
    let windows: Vec<Value> = image
        .file_vois(0)
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Voi::Window(w) => json!({
                "center": w.center,
                "width": w.width,
                "function": w.function.name(),
                "explanation": image.voi_explanations.get(i),
            }),
            Voi::Table(t) => json!({
                "lut_entries": t.data.len(),
                "first_mapped": t.first_mapped,
                "bits": t.bits,
            }),
        })
        .collect();
    let first_window = image.file_vois(0).iter().find_map(|v| match v {
        Voi::Window(w) => Some(*w),
        Voi::Table(_) => None,
    });
    let mut o = Map::new();
    o.insert("type".into(), "image".into());
    o.insert("path".into(), image.path.display().to_string().into());
    o.insert("format".into(), format);
    o.insert("sop_class_uid".into(), opt(&m.sop_class_uid));
    o.insert("sop_instance_uid".into(), opt(&m.sop_instance_uid));
    o.insert("modality".into(), opt(&m.modality));
    o.insert("transfer_syntax_uid".into(), ts_uid);
    o.insert("transfer_syntax_name".into(), ts_name);
    o.insert("transfer_syntax_inferred".into(), inferred);
    o.insert(
        "photometric_interpretation".into(),
        p.photometric_name.clone().into(),
    );
    o.insert("rows".into(), p.rows.into());
    o.insert("columns".into(), p.columns.into());
    o.insert("frames".into(), p.frames.into());
    o.insert("samples_per_pixel".into(), p.samples_per_pixel.into());
    o.insert("bits_allocated".into(), p.bits_allocated.into());
    o.insert("bits_stored".into(), p.bits_stored.into());
    o.insert("high_bit".into(), p.high_bit.into());
    o.insert("pixel_representation".into(), u8::from(p.signed).into());
    o.insert("planar_configuration".into(), opt(&p.planar_configuration));
    o.insert("rescale_slope".into(), opt(&image.rescale_present.0));
    o.insert("rescale_intercept".into(), opt(&image.rescale_present.1));
    o.insert(
        "modality_lut_sequence".into(),
        matches!(
            image.modality_lut(0),
            imaging::modality::ModalityLut::Table(_)
        )
        .into(),
    );
    o.insert("window_center".into(), opt(&first_window.map(|w| w.center)));
    o.insert("window_width".into(), opt(&first_window.map(|w| w.width)));
    o.insert(
        "voi_lut_function".into(),
        opt(&first_window.map(|w| w.function.name())),
    );
    o.insert("windows".into(), windows.into());
    o.insert(
        "presentation_lut_shape".into(),
        opt(&image.presentation_lut_shape),
    );
    o.insert("inverted_for_display".into(), image.inverts().into());
    o.insert("patient_name".into(), opt(&m.patient_name));
    o.insert("patient_id".into(), opt(&m.patient_id));
    o.insert("patient_birth_date".into(), opt(&m.patient_birth_date));
    o.insert("patient_sex".into(), opt(&m.patient_sex));
    o.insert("study_instance_uid".into(), opt(&m.study_instance_uid));
    o.insert("study_date".into(), opt(&m.study_date));
    o.insert("study_description".into(), opt(&m.study_description));
    o.insert("accession_number".into(), opt(&m.accession_number));
    o.insert("institution_name".into(), opt(&m.institution_name));
    o.insert("series_instance_uid".into(), opt(&m.series_instance_uid));
    o.insert("series_number".into(), opt(&m.series_number));
    o.insert("series_description".into(), opt(&m.series_description));
    o.insert("body_part_examined".into(), opt(&m.body_part_examined));
    o.insert("view_position".into(), opt(&m.view_position));
    o.insert("instance_number".into(), opt(&m.instance_number));
    o.insert(
        "image_position_patient".into(),
        opt(&m.image_position_patient),
    );
    o.insert(
        "image_orientation_patient".into(),
        opt(&m.image_orientation_patient),
    );
    o.insert("pixel_spacing".into(), opt(&m.pixel_spacing));
    o.insert("imager_pixel_spacing".into(), opt(&m.imager_pixel_spacing));
    o.insert(
        "measurement_spacing_source".into(),
        opt(&m.measurement_spacing().map(|(_, s)| s)),
    );
    o.insert("slice_thickness".into(), opt(&m.slice_thickness));
    if let Some(s) = stats {
        o.insert(
            "frame0_stats".into(),
            json!({"min": s.min, "max": s.max, "mean": s.mean}),
        );
    }
    Value::Object(o)
}

/// The JSON objects `hilum info` prints for the series found in folders.
pub fn series_json(patients: &[Patient]) -> Vec<Value> {
    let mut out = Vec::new();
    for patient in patients {
        for study in &patient.studies {
            for series in &study.series {
                let mut v = serde_json::to_value(series).unwrap_or(Value::Null);
                if let Value::Object(o) = &mut v {
                    o.insert("type".into(), "series".into());
                    o.insert("count".into(), series.instances.len().into());
                    o.insert("patient_id".into(), patient.patient_id.clone().into());
                    o.insert("patient_name".into(), opt(&patient.patient_name));
                    o.insert(
                        "study_instance_uid".into(),
                        study.study_instance_uid.clone().into(),
                    );
                    o.insert("study_date".into(), opt(&study.study_date));
                    o.insert("study_description".into(), opt(&study.study_description));
                }
                out.push(v);
            }
        }
    }
    out
}

fn report(err: &dyn std::fmt::Display) {
    eprintln!("hilum: {err}");
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `hilum info`; returns the process exit code.
pub fn run_info(args: &InfoArgs) -> i32 {
    let options = LoadOptions {
        frames: if args.stats {
            FrameSelection::Only(0)
        } else {
            FrameSelection::None
        },
        ..LoadOptions::default()
    };
    let loaded = imaging::load_many(&args.paths, &options, threads());
    let mut values = Vec::new();
    let mut failed = !loaded.errors.is_empty();
    for err in &loaded.errors {
        report(err);
    }
    for image in &loaded.images {
        let stats = if args.stats {
            match frame_stats(image, 0) {
                Ok(s) => Some(s),
                Err(e) => {
                    report(&e);
                    failed = true;
                    continue;
                }
            }
        } else {
            None
        };
        values.push(image_json(image, stats.as_ref()));
    }
    if args.paths.iter().any(|p| p.is_dir()) {
        values.extend(series_json(&assemble(&loaded.images)));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &values)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    } else {
        values.iter().try_for_each(|v| writeln!(out, "{v}"))
    };
    if let Err(e) = written {
        report(&format!("cannot write output: {e}"));
        return 1;
    }
    i32::from(failed)
}

/// Runs `hilum render`; returns the process exit code.
pub fn run_render(args: &RenderArgs) -> i32 {
    let frame = args.display.frame;
    let choice = match args.display.window_choice() {
        Ok(c) => c,
        Err(e) => {
            report(&e);
            return 2;
        }
    };
    if let Err(e) = crate::output::check_output(&args.out, &[&args.file], args.force) {
        report(&e);
        return 1;
    }
    let options = LoadOptions {
        frames: FrameSelection::Only(frame),
        ..LoadOptions::default()
    };
    let result = imaging::load_path(&args.file, &options)
        .and_then(|image| render_frame(&image, frame, &choice))
        .and_then(|rendered| rendered.save_png(&args.out));
    match result {
        Ok(()) => 0,
        Err(e) => {
            report(&e);
            1
        }
    }
}

/// The JSON object `hilum classify` prints for one image.
pub fn classification_json(
    path: &std::path::Path,
    c: &Classification,
    engine: &ai::runtime::Engine,
) -> Value {
    json!({
        "path": path.display().to_string(),
        "model": {"id": c.model_id, "name": c.model_name, "version": c.model_version},
        "engine": c.engine,
        "engine_detail": engine.describe(),
        "execution_provider": c.execution_provider.name,
        "execution_provider_fallback": c.execution_provider.fallback_reason,
        "findings": c.findings.iter().map(|f| json!({
            "label": f.label,
            "probability": f.probability,
            "threshold": f.threshold,
            "positive": f.positive,
            "is_finding": f.is_finding,
            "call": f.wording(),
        })).collect::<Vec<_>>(),
        "out_of_scope_warnings": c.out_of_scope_warnings,
        "timing_ms": c.timing_ms,
        "notice": "AI assistance for research and demonstration; not a diagnosis",
    })
}

fn write_values(values: &[Value], as_array: bool) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if as_array {
        serde_json::to_writer_pretty(&mut out, values)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    } else {
        values.iter().try_for_each(|v| writeln!(out, "{v}"))
    };
    match written {
        Ok(()) => 0,
        Err(e) => {
            report(&format!("cannot write output: {e}"));
            1
        }
    }
}

/// Loads the model `--model` names (or the default), reporting a failure.
fn load_model(spec: Option<&std::path::Path>, settings: &RuntimeSettings) -> Option<LoadedModel> {
    let model = ai::resolve_model(spec)
        .and_then(|path| Ok(Manifest::load(&path)?))
        .and_then(|manifest| LoadedModel::load(manifest, settings));
    model.map_err(|e| report(&e)).ok()
}

/// Runs `hilum classify`; returns the process exit code.
pub fn run_classify(args: &ClassifyArgs) -> i32 {
    let settings = args.runtime.settings();
    let Some(mut model) = load_model(args.model.as_deref(), &settings) else {
        return 1;
    };
    if let Some(reason) = &model.execution_provider.fallback_reason {
        eprintln!("hilum: {reason}");
    }
    let (files, errors) = imaging::expand_paths(&args.paths);
    let mut failed = !errors.is_empty();
    for e in &errors {
        report(e);
    }
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(files.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if files.len() < 2 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let options = LoadOptions {
        frames: FrameSelection::Only(0),
        ..LoadOptions::default()
    };
    let engine = model.engine.clone();
    let mut values = Vec::new();
    for file in &files {
        progress.set_message(file.display().to_string());
        let result = imaging::load_path(file, &options)
            .map_err(ai::AiError::from)
            .and_then(|image| model.classify(&image, &|| false));
        match result {
            Ok(c) => values.push(classification_json(file, &c, &engine)),
            Err(e) => {
                progress.suspend(|| report(&e));
                failed = true;
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let code = write_values(&values, args.json);
    if code != 0 { code } else { i32::from(failed) }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Runs `hilum bench`; returns the process exit code.
pub fn run_bench(args: &BenchArgs) -> i32 {
    use std::time::Instant;
    let settings = args.runtime.settings();
    let Some(mut model) = load_model(args.model.as_deref(), &settings) else {
        return 1;
    };
    let options = LoadOptions {
        frames: FrameSelection::Only(0),
        ..LoadOptions::default()
    };
    let result = (|| -> Result<Value, ai::AiError> {
        let first = imaging::load_path(&args.images[0], &options)?;
        // Warm up: the first run builds kernels and arenas.
        for _ in 0..3 {
            model.classify(&first, &|| false)?;
        }
        let (mut pre, mut inf, mut total) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.iterations.max(1) {
            let c = model.classify(&first, &|| false)?;
            pre.push(c.timing_ms.preprocess);
            inf.push(c.timing_ms.inference);
            total.push(c.timing_ms.total);
        }
        if let Some(path) = &args.save_input {
            let prepared = ai::preprocess::prepare(&first, 0, &model.manifest)?;
            let bytes: Vec<u8> = prepared.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(path, bytes).map_err(|e| ai::AiError::Input {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
        // First result after opening an image, model already loaded: read,
        // decode, preprocess, infer.
        let mut first_result = Vec::new();
        for image in &args.images {
            let t = Instant::now();
            let loaded = imaging::load_path(image, &options)?;
            model.classify(&loaded, &|| false)?;
            first_result.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let saliency = if args.saliency {
            bench_saliency(&mut model, &first, args)?
        } else {
            Value::Null
        };
        Ok(json!({
            "engine": model.engine.name(),
            "engine_detail": model.engine.describe(),
            "execution_provider": model.execution_provider.name,
            "threads": settings.threads(),
            "saliency": saliency,
            "model_load_ms": model.load_ms,
            "iterations": args.iterations.max(1),
            "median_ms": {
                "preprocess": median(&mut pre),
                "inference": median(&mut inf),
                "preprocess_plus_inference": median(&mut total),
                "first_result_after_open": median(&mut first_result),
            },
            "images_for_first_result": args.images.len(),
        }))
    })();
    match result {
        Ok(v) => write_values(&[v], true),
        Err(e) => {
            report(&e);
            1
        }
    }
}

/// The JSON object `hilum saliency` prints.
pub fn saliency_json(path: &std::path::Path, heatmap: &Heatmap, timing: Value) -> Value {
    json!({
        "path": path.display().to_string(),
        "model": heatmap.model,
        "method": heatmap.method,
        "method_name": heatmap.method.display_name(),
        "target": heatmap.target_label,
        "settings": heatmap.settings,
        "map_grid": [heatmap.grid.0, heatmap.grid.1],
        "rows": heatmap.height,
        "cols": heatmap.width,
        "faithfulness": heatmap.faithfulness.map(|f| json!({
            "metric": "deletion",
            "fraction": f.fraction,
            "base_probability": f.base_probability,
            "salient_drop": f.salient_drop,
            "random_drop": f.random_drop,
        })),
        "caption": heatmap.caption(),
        "timing_ms": timing,
        "notice": "AI assistance for research and demonstration; not a diagnosis",
    })
}

/// Runs `hilum saliency`; returns the process exit code.
pub fn run_saliency(args: &SaliencyArgs) -> i32 {
    use std::time::Instant;
    for out in [&args.out, &args.raw].into_iter().flatten() {
        if let Err(e) = crate::output::check_output(out, &[&args.file], args.force) {
            report(&e);
            return 1;
        }
    }
    if !(0.0..=1.0).contains(&args.deletion_fraction) {
        report(&"--deletion-fraction must be between 0 and 1");
        return 2;
    }
    let settings = args.runtime.settings();
    let Some(mut model) = load_model(args.model.as_deref(), &settings) else {
        return 1;
    };
    if let Some(reason) = &model.execution_provider.fallback_reason {
        eprintln!("hilum: {reason}");
    }
    let request = SaliencyRequest {
        method: args.method,
        target: args.target.clone(),
        frame: args.frame,
        occlusion: ai::saliency::occlusion::OcclusionSettings {
            patch: args.patch,
            stride: args.stride,
            batch: args.batch,
        },
        deletion_fraction: (args.deletion_fraction > 0.0).then_some(args.deletion_fraction),
    };
    let style = OverlayStyle {
        opacity: args.opacity,
        colormap: args.colormap,
        threshold: args.threshold,
    };
    let options = LoadOptions {
        frames: FrameSelection::Only(args.frame),
        ..LoadOptions::default()
    };
    let result = (|| -> Result<Value, String> {
        let image = imaging::load_path(&args.file, &options).map_err(|e| e.to_string())?;
        let progress =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if args.method != SaliencyMethod::Occlusion {
            progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let start = Instant::now();
        let run = model
            .saliency_map(
                &image,
                &request,
                &mut |p| {
                    progress.set_length(p.total as u64);
                    progress.set_position(p.done as u64);
                },
                &|| false,
            )
            .map_err(|e| format!("{}: {e}", args.file.display()))?;
        progress.finish_and_clear();
        let map_ms = start.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let faithfulness = match request.deletion_fraction {
            Some(f) => Some(model.faithfulness(&run, f).map_err(|e| e.to_string())?),
            None => None,
        };
        let faithfulness_ms = t.elapsed().as_secs_f64() * 1e3;
        let heatmap = Heatmap {
            faithfulness,
            ..run.heatmap
        };
        if let Some(out) = &args.out {
            let rendered = render_frame(&image, args.frame, &WindowChoice::FileDefault)
                .map_err(|e| e.to_string())?;
            let blended = blend(&rendered, &heatmap, &style)?;
            let caption = heatmap.caption();
            let png = crate::output::png_with_text(
                &blended,
                &[
                    ("Description", caption.as_str()),
                    ("Software", concat!("Hilum ", env!("CARGO_PKG_VERSION"))),
                    ("Disclaimer", "AI assistance; not a diagnosis"),
                ],
            )?;
            crate::output::write_atomic(out, |w| w.write_all(&png))
                .map_err(|e| format!("{}: cannot write: {e}", out.display()))?;
        }
        if let Some(raw) = &args.raw {
            let npy = crate::output::npy_f32(
                &heatmap.values,
                heatmap.height as usize,
                heatmap.width as usize,
            );
            crate::output::write_atomic(raw, |w| w.write_all(&npy))
                .map_err(|e| format!("{}: cannot write: {e}", raw.display()))?;
        }
        Ok(saliency_json(
            &args.file,
            &heatmap,
            json!({
                "map": map_ms,
                "faithfulness": faithfulness_ms,
                "total": start.elapsed().as_secs_f64() * 1e3,
            }),
        ))
    })();
    match result {
        Ok(v) if args.json => write_values(&[v], true),
        Ok(v) => {
            println!("{}", v["caption"].as_str().unwrap_or_default());
            0
        }
        Err(e) => {
            report(&e);
            1
        }
    }
}

/// Resident memory of this process in MiB (Linux; `None` elsewhere).
fn resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The saliency part of `hilum bench`: medians in ms and their ratios.
fn bench_saliency(
    model: &mut LoadedModel,
    image: &Image,
    args: &BenchArgs,
) -> Result<Value, ai::AiError> {
    use std::time::Instant;
    let iterations = args.iterations.max(1);
    let timed = |f: &mut dyn FnMut() -> Result<(), ai::AiError>, n: usize| {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            f()?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok::<f64, ai::AiError>(median(&mut times))
    };
    let gradcam = SaliencyRequest {
        deletion_fraction: None,
        ..SaliencyRequest::default()
    };
    let occlusion = SaliencyRequest {
        method: SaliencyMethod::Occlusion,
        occlusion: ai::saliency::occlusion::OcclusionSettings {
            batch: args.batch,
            ..Default::default()
        },
        ..gradcam.clone()
    };
    let mut no_progress = |_| {};
    // Warm-up of every path.
    for request in [&gradcam, &occlusion] {
        model.saliency_map(image, request, &mut no_progress, &|| false)?;
    }
    let classify = timed(
        &mut || model.classify(image, &|| false).map(drop),
        iterations,
    )?;
    let gradcam_ms = timed(
        &mut || {
            model
                .saliency_map(image, &gradcam, &mut no_progress, &|| false)
                .map(drop)
        },
        iterations,
    )?;
    let occlusion_runs = (iterations / 5).max(3);
    let mut layout = None;
    let occlusion_ms = timed(
        &mut || {
            let run = model.saliency_map(image, &occlusion, &mut no_progress, &|| false)?;
            layout = Some((run.heatmap.grid, run.heatmap.settings));
            Ok(())
        },
        occlusion_runs,
    )?;
    let prepared = ai::preprocess::prepare(image, 0, &model.manifest)?;
    let batch = args.batch.clamp(1, model.max_batch());
    let mut shape = prepared.shape;
    shape[0] = batch;
    let batched_input: Vec<f32> = prepared
        .data
        .iter()
        .copied()
        .cycle()
        .take(prepared.data.len() * batch)
        .collect();
    let scores = model.manifest.outputs.scores.clone();
    let batch_ms = timed(
        &mut || {
            model
                .run_outputs(&shape, &batched_input, &[&scores])
                .map(drop)
        },
        occlusion_runs,
    )?;
    let (grid, occlusion_settings) = layout.unwrap_or_default();
    let patches = (grid.0 * grid.1) as usize;
    let budget = (patches.div_ceil(batch) + 1) as f64 * batch_ms;
    let run = model.saliency_map(image, &gradcam, &mut no_progress, &|| false)?;
    let fraction = ai::saliency::faithfulness::DEFAULT_FRACTION;
    let faithfulness_ms = timed(
        &mut || model.faithfulness(&run, fraction).map(drop),
        occlusion_runs,
    )?;
    // Resident memory across repeated runs of both methods.
    let mut memory = Vec::new();
    for i in 1..=args.memory_runs.max(1) {
        model.saliency_map(image, &gradcam, &mut no_progress, &|| false)?;
        model.saliency_map(image, &occlusion, &mut no_progress, &|| false)?;
        if [1, 10, 50, 100].contains(&i) || i == args.memory_runs {
            memory.push(json!({"runs": i, "resident_mib": resident_mib()}));
        }
    }
    Ok(json!({
        "image_size": [run.heatmap.width, run.heatmap.height],
        "median_ms": {
            "classification": classify,
            "gradcam_map": gradcam_ms,
            "occlusion_map": occlusion_ms,
            "batched_inference": batch_ms,
            "deletion_metric": faithfulness_ms,
        },
        "gradcam_overhead_vs_classification": gradcam_ms / classify - 1.0,
        "occlusion": {
            "settings": occlusion_settings,
            "patches": patches,
            "batch": batch,
            "budget_ms": budget,
            "budget_rule": "(patches / batch + 1) batched inferences",
            "ratio_to_budget": occlusion_ms / budget,
        },
        "memory": memory,
    }))
}

/// Runs `hilum models`; returns the process exit code.
pub fn run_models(args: &RuntimeArgs) -> i32 {
    let mut models = Vec::new();
    let mut failed = false;
    for path in ai::installed_manifests() {
        match Manifest::load(&path) {
            Ok(m) => models.push(json!({
                "id": m.id,
                "name": m.name,
                "version": m.version,
                "manifest": path.display().to_string(),
                "model_file": m.model_path().display().to_string(),
                "model_file_present": m.model_path().is_file(),
                "labels": m.task.labels,
                "intended_use": m.card.intended_use,
            })),
            Err(e) => {
                report(&e);
                failed = true;
            }
        }
    }
    let libraries: Vec<Value> = ai::runtime::find_libraries(args.ort_lib.as_deref())
        .into_iter()
        .map(|c| json!({"path": c.path.display().to_string(), "found_in": c.found_in}))
        .collect();
    let engine = match ai::runtime::engine(&args.settings()) {
        Ok(e) => json!({"name": e.name(), "detail": e.describe()}),
        Err(e) => json!({"error": e.to_string()}),
    };
    let code = write_values(
        &[json!({"models": models, "onnxruntime_libraries": libraries, "engine": engine})],
        true,
    );
    if code != 0 { code } else { i32::from(failed) }
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Info(args)) => run_info(&args),
        Some(Command::Render(args)) => run_render(&args),
        Some(Command::Classify(args)) => run_classify(&args),
        Some(Command::Saliency(args)) => run_saliency(&args),
        Some(Command::Models(args)) => run_models(&args),
        Some(Command::Bench(args)) => run_bench(&args),
        Some(Command::Report(args)) => report::run_report(&args),
        Some(Command::Anonymize(args)) => report::run_anonymize(&args),
        Some(Command::View { paths, screenshot }) => {
            crate::app::run(crate::app::ViewerOptions { paths, screenshot })
        }
        None => crate::app::run(crate::app::ViewerOptions {
            paths: cli.paths,
            screenshot: cli.screenshot,
        }),
    }
}

//! `hilum bench`: classification (and optionally saliency) latency on one
//! engine, for the README's benchmarks (see `benches/compare_ai.sh`).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::args::{RuntimeArgs, load_model};
use super::json::write_json;
use super::report;
use crate::ai::saliency::{SaliencyMethod, SaliencyRequest};
use crate::ai::{self, AiError, LoadedModel};
use crate::imaging::{self, FrameSelection, Image, LoadOptions};

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

/// What `hilum bench` prints.
#[derive(Debug, Serialize)]
struct BenchOutput {
    engine: &'static str,
    engine_detail: String,
    execution_provider: String,
    threads: usize,
    saliency: Option<SaliencyBench>,
    model_load_ms: f64,
    iterations: usize,
    median_ms: ClassifyMedians,
    images_for_first_result: usize,
}

/// Median classification times, ms.
#[derive(Debug, Serialize)]
struct ClassifyMedians {
    preprocess: f64,
    inference: f64,
    preprocess_plus_inference: f64,
    /// Read, decode, preprocess and infer, model already loaded.
    first_result_after_open: f64,
}

/// The saliency part of `hilum bench --saliency`.
#[derive(Debug, Serialize)]
struct SaliencyBench {
    image_size: [u32; 2],
    median_ms: SaliencyMedians,
    gradcam_overhead_vs_classification: f64,
    occlusion: OcclusionBench,
    memory: Vec<MemorySample>,
}

/// Median saliency times, ms.
#[derive(Debug, Serialize)]
struct SaliencyMedians {
    classification: f64,
    gradcam_map: f64,
    occlusion_map: f64,
    batched_inference: f64,
    deletion_metric: f64,
}

/// Occlusion against its budget of batched inferences.
#[derive(Debug, Serialize)]
struct OcclusionBench {
    settings: String,
    patches: usize,
    batch: usize,
    budget_ms: f64,
    budget_rule: &'static str,
    ratio_to_budget: f64,
}

/// Resident memory after some runs of both methods.
#[derive(Debug, Serialize)]
struct MemorySample {
    runs: usize,
    resident_mib: Option<f64>,
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

/// The median time of `n` runs of `f`, ms.
fn timed(f: &mut dyn FnMut() -> Result<(), AiError>, n: usize) -> Result<f64, AiError> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(&mut times))
}

/// Runs `hilum bench`; returns the process exit code.
pub fn run_bench(args: &BenchArgs) -> i32 {
    let settings = args.runtime.settings();
    let Some(mut model) = load_model(args.model.as_deref(), &settings) else {
        return 1;
    };
    match bench(args, &mut model, settings.threads()) {
        Ok(output) => write_json(&[output], true),
        Err(e) => {
            report(&e);
            1
        }
    }
}

fn bench(
    args: &BenchArgs,
    model: &mut LoadedModel,
    threads: usize,
) -> Result<BenchOutput, AiError> {
    let options = LoadOptions {
        frames: FrameSelection::Only(0),
        ..LoadOptions::default()
    };
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
        std::fs::write(path, bytes).map_err(|e| AiError::Input {
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
        Some(bench_saliency(model, &first, args)?)
    } else {
        None
    };
    Ok(BenchOutput {
        engine: model.engine.name(),
        engine_detail: model.engine.describe(),
        execution_provider: model.execution_provider.name.clone(),
        threads,
        saliency,
        model_load_ms: model.load_ms,
        iterations: args.iterations.max(1),
        median_ms: ClassifyMedians {
            preprocess: median(&mut pre),
            inference: median(&mut inf),
            preprocess_plus_inference: median(&mut total),
            first_result_after_open: median(&mut first_result),
        },
        images_for_first_result: args.images.len(),
    })
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
) -> Result<SaliencyBench, AiError> {
    let iterations = args.iterations.max(1);
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
            memory.push(MemorySample {
                runs: i,
                resident_mib: resident_mib(),
            });
        }
    }
    Ok(SaliencyBench {
        image_size: [run.heatmap.width, run.heatmap.height],
        median_ms: SaliencyMedians {
            classification: classify,
            gradcam_map: gradcam_ms,
            occlusion_map: occlusion_ms,
            batched_inference: batch_ms,
            deletion_metric: faithfulness_ms,
        },
        gradcam_overhead_vs_classification: gradcam_ms / classify - 1.0,
        occlusion: OcclusionBench {
            settings: occlusion_settings,
            patches,
            batch,
            budget_ms: budget,
            budget_rule: "(patches / batch + 1) batched inferences",
            ratio_to_budget: occlusion_ms / budget,
        },
        memory,
    })
}

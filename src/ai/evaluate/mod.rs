//! Evaluating a model on a labelled set (`hilum evaluate`): every image
//! classified, and per finding label the accuracy, sensitivity,
//! specificity, precision and F1 at the manifest's operating point and
//! the ROC AUC, each with a percentile bootstrap 95 % interval, the
//! confusion matrix, the threshold that reaches a requested sensitivity,
//! ROC and calibration plots.
//!
//! Images are read, decoded and preprocessed on a pool of threads while
//! one session runs the model on them as they come
//! ([`super::pipeline`]; the same steps as [`LoadedModel::classify`]:
//! [`prepare`], the scores output, [`classify::probabilities`],
//! [`classify::scope_check`]). Images outside
//! the model's scope are counted and left out of the metrics; images that
//! fail are counted, and the run goes on.

pub mod bootstrap;
pub mod dataset;
pub mod metrics;
pub mod plots;
pub mod report;

use std::time::Instant;

use super::classify::{self, ScopeCheck};
use super::manifest::Manifest;
use super::model::LoadedModel;
use super::pipeline::{self, PreparedItem, StreamOutcome, classify_stream};

pub use self::dataset::{Dataset, DatasetError, Item};
pub use self::metrics::{Confusion, LabelSample, Metric};
pub use self::report::{BootstrapSettings, Evaluation, LabelReport, OperatingThreshold};

/// The threshold used for a label without an operating point.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// What an evaluation is asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvaluateOptions {
    /// `--target-sensitivity`: also find the threshold reaching it.
    pub target_sensitivity: Option<f64>,
    /// The bootstrap.
    pub bootstrap: BootstrapSettings,
    /// Threads reading and preprocessing images (0: one per core).
    pub loader_threads: usize,
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageOutcome {
    /// Classified: one probability per model label, and its scope.
    Classified {
        /// Per model label, in the model's order.
        probabilities: Vec<f32>,
        /// Whether it is within the model's scope.
        in_scope: Option<bool>,
    },
    /// It could not be read or classified (the message names the file).
    Failed(String),
    /// Found in a folder, it holds no pixels (a DICOM report): not an
    /// image, not counted.
    Skipped,
}

/// The labels reported: the manifest's finding labels, or every label
/// when it names none.
pub fn reported_labels(manifest: &Manifest) -> Vec<String> {
    if manifest.task.finding_labels.is_empty() {
        manifest.task.labels.clone()
    } else {
        manifest.task.finding_labels.clone()
    }
}

/// The operating point of `label`: the manifest's, else 0.5 (and said so).
pub fn operating_threshold(manifest: &Manifest, label: &str) -> OperatingThreshold {
    match manifest.operating_point(label) {
        Some(op) => OperatingThreshold {
            threshold: f64::from(op.threshold),
            source: op.source.clone(),
        },
        None => OperatingThreshold {
            threshold: DEFAULT_THRESHOLD,
            source: "no operating point in the manifest: 0.5 used".into(),
        },
    }
}

/// Reads, decodes and preprocesses one image on a loader thread.
fn load_and_prepare(item: &Item, manifest: &Manifest) -> PreparedItem<ScopeCheck> {
    if let Some(error) = &item.error {
        return Err(error.clone());
    }
    pipeline::load_and_prepare(&item.path, item.explicit, manifest, |image| {
        classify::scope_check(manifest, image)
    })
}

/// Classifies every item: a pool of `threads` loader threads reads and
/// preprocesses images while this thread runs the model on each as it
/// arrives ([`classify_stream`]). `on_done` is called on this thread for
/// each item as it finishes, with its index; the outcomes come back in the
/// items' order.
pub fn classify_items(
    model: &mut LoadedModel,
    items: &[Item],
    threads: usize,
    on_done: &mut dyn FnMut(usize, &ImageOutcome),
) -> Vec<ImageOutcome> {
    let manifest = model.manifest.clone();
    let mut outcomes = vec![ImageOutcome::Skipped; items.len()];
    classify_stream(
        model,
        items,
        threads,
        |item| load_and_prepare(item, &manifest),
        |item| item.path.display().to_string(),
        &mut |i, outcome: StreamOutcome<ScopeCheck>| {
            let outcome = match outcome {
                StreamOutcome::Classified {
                    probabilities,
                    about,
                    ..
                } => ImageOutcome::Classified {
                    probabilities,
                    in_scope: about.in_scope,
                },
                StreamOutcome::Failed { message, .. } => ImageOutcome::Failed(message),
                StreamOutcome::Skipped => ImageOutcome::Skipped,
            };
            on_done(i, &outcome);
            outcomes[i] = outcome;
        },
    );
    outcomes
}

/// Evaluates `model` on `dataset`: classifies every image (`on_done` as
/// in [`classify_items`]) and computes the report.
pub fn evaluate(
    model: &mut LoadedModel,
    dataset: &Dataset,
    options: &EvaluateOptions,
    on_done: &mut dyn FnMut(usize, &ImageOutcome),
) -> Evaluation {
    let start = Instant::now();
    let outcomes = classify_items(model, &dataset.items, options.loader_threads, on_done);
    let seconds = start.elapsed().as_secs_f64();
    summarise(model, dataset, &outcomes, options, seconds)
}

/// The report for `outcomes` (one per item of `dataset`), which took
/// `seconds`.
pub fn summarise(
    model: &LoadedModel,
    dataset: &Dataset,
    outcomes: &[ImageOutcome],
    options: &EvaluateOptions,
    seconds: f64,
) -> Evaluation {
    let manifest = &model.manifest;
    let labels = &manifest.task.labels;
    let mut images = Vec::new();
    let (mut out_of_scope, mut failed) = (0, 0);
    // (probabilities, truth) of the images that enter the metrics.
    let mut evaluated: Vec<(&[f32], Option<usize>)> = Vec::new();
    for (item, outcome) in dataset.items.iter().zip(outcomes) {
        let (status, probabilities, in_scope, error) = match outcome {
            ImageOutcome::Skipped => continue,
            ImageOutcome::Failed(e) => {
                failed += 1;
                ("failed", None, None, Some(e.clone()))
            }
            ImageOutcome::Classified {
                probabilities,
                in_scope,
            } => {
                let status = if *in_scope == Some(false) {
                    out_of_scope += 1;
                    "out_of_scope"
                } else {
                    evaluated.push((probabilities, item.truth));
                    "evaluated"
                };
                let named = labels
                    .iter()
                    .zip(probabilities)
                    .map(|(l, &p)| (l.clone(), f64::from(p)))
                    .collect();
                (status, Some(report::PerLabelValue(named)), *in_scope, None)
            }
        };
        images.push(report::ImageRecord {
            path: item.path.display().to_string(),
            label: item.label.clone(),
            status,
            probabilities,
            in_scope,
            error,
        });
    }
    let per_label = reported_labels(manifest)
        .into_iter()
        .filter_map(|label| {
            let index = labels.iter().position(|l| *l == label)?;
            let sample = LabelSample::new(
                evaluated
                    .iter()
                    .map(|(p, truth)| (f64::from(p[index]), *truth == Some(index))),
            );
            let op = operating_threshold(manifest, &label);
            let report =
                report::label_report(sample, &op, options.target_sensitivity, &options.bootstrap);
            Some((label, report))
        })
        .collect();
    let n = images.len();
    Evaluation {
        n,
        out_of_scope,
        failed,
        evaluated: evaluated.len(),
        per_label: report::PerLabel(per_label),
        model: report::ModelRef {
            id: manifest.id.clone(),
            name: manifest.name.clone(),
            version: manifest.version.clone(),
        },
        engine: model.engine.name().into(),
        engine_detail: model.engine.describe(),
        execution_provider: model.execution_provider.name.clone(),
        execution_provider_fallback: model.execution_provider.fallback_reason.clone(),
        bootstrap: report::BootstrapInfo {
            resamples: options.bootstrap.resamples,
            confidence: options.bootstrap.confidence,
            seed: options.bootstrap.seed,
            method: bootstrap::METHOD,
        },
        images_per_second: if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        },
        seconds,
        caveat: report::caveat(evaluated.len()),
        notice: report::NOTICE,
        images,
    }
}

//! The result of an evaluation as typed structs: the JSON contract of
//! `hilum evaluate --json` (`n`, `out_of_scope`, `failed`, `per_label`
//! with each metric's `value`, `ci_low`, `ci_high`, the `confusion` and
//! the `threshold`, in that order, with more fields after them), and the
//! per-label computation from the images' probabilities.

use serde::{Serialize, Serializer};

use super::bootstrap::{self, Interval};
use super::metrics::{Confusion, LabelSample, Metric};

/// A metric with its bootstrap interval; all `null` when undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricValue {
    /// The value on the whole set.
    pub value: Option<f64>,
    /// The interval's lower bound.
    pub ci_low: Option<f64>,
    /// The interval's upper bound.
    pub ci_high: Option<f64>,
}

impl MetricValue {
    fn new(value: Option<f64>, interval: Option<Interval>) -> Self {
        Self {
            value,
            ci_low: interval.map(|i| i.low),
            ci_high: interval.map(|i| i.high),
        }
    }
}

/// The threshold that reaches a requested sensitivity on this set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetSensitivity {
    /// The sensitivity asked for.
    pub requested: f64,
    /// The largest threshold reaching it (`null`: unreachable, no
    /// positive image).
    pub threshold: Option<f64>,
    /// The sensitivity at that threshold.
    pub sensitivity: Option<f64>,
    /// The specificity at that threshold.
    pub specificity: Option<f64>,
}

/// One label's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelReport {
    /// (TP + TN) / all, at the operating point.
    pub accuracy: MetricValue,
    /// TP / (TP + FN), at the operating point.
    pub sensitivity: MetricValue,
    /// TN / (TN + FP), at the operating point.
    pub specificity: MetricValue,
    /// TP / (TP + FP), at the operating point.
    pub precision: MetricValue,
    /// 2 TP / (2 TP + FP + FN), at the operating point.
    pub f1: MetricValue,
    /// ROC AUC (threshold-free).
    pub auc: MetricValue,
    /// The confusion matrix at the operating point.
    pub confusion: Confusion,
    /// With a target sensitivity, the threshold that reaches it (`null`
    /// if none does); else the operating point's.
    pub threshold: Option<f64>,
    /// Where the operating point comes from (the manifest's words, or
    /// that none is declared and 0.5 is used).
    pub threshold_source: String,
    /// The threshold the confusion matrix and the five threshold metrics
    /// used: always the manifest's operating point.
    pub operating_point_threshold: f64,
    /// Evaluated images positive for the label.
    pub positives: usize,
    /// Evaluated images negative for it.
    pub negatives: usize,
    /// The `--target-sensitivity` result (`null` without it).
    pub target_sensitivity: Option<TargetSensitivity>,
    /// The images' probabilities and truths (for the plots).
    #[serde(skip)]
    pub sample: LabelSample,
}

/// What a label's operating point is.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatingThreshold {
    /// The threshold (a probability).
    pub threshold: f64,
    /// Where it comes from.
    pub source: String,
}

/// How the intervals are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSettings {
    /// Resamples drawn.
    pub resamples: usize,
    /// The seed.
    pub seed: u64,
    /// The intervals' confidence.
    pub confidence: f64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self {
            resamples: bootstrap::RESAMPLES,
            seed: bootstrap::SEED,
            confidence: bootstrap::CONFIDENCE,
        }
    }
}

/// Computes one label's report from its sample.
pub fn label_report(
    sample: LabelSample,
    op: &OperatingThreshold,
    target: Option<f64>,
    settings: &BootstrapSettings,
) -> LabelReport {
    let metrics = bootstrap::metrics_with_intervals(
        &sample,
        op.threshold,
        settings.resamples,
        settings.seed,
        settings.confidence,
    );
    let get = |wanted: Metric| {
        metrics
            .iter()
            .find(|(m, _, _)| *m == wanted)
            .map_or(MetricValue::new(None, None), |(_, v, i)| {
                MetricValue::new(*v, *i)
            })
    };
    let target_sensitivity = target.map(|requested| {
        let threshold = sample.threshold_for_sensitivity(requested);
        let at = threshold.map(|t| sample.confusion(t, None));
        TargetSensitivity {
            requested,
            threshold,
            sensitivity: at.and_then(|c| c.sensitivity()),
            specificity: at.and_then(|c| c.specificity()),
        }
    });
    let positives = sample.truth().iter().filter(|t| **t).count();
    LabelReport {
        accuracy: get(Metric::Accuracy),
        sensitivity: get(Metric::Sensitivity),
        specificity: get(Metric::Specificity),
        precision: get(Metric::Precision),
        f1: get(Metric::F1),
        auc: get(Metric::Auc),
        confusion: sample.confusion(op.threshold, None),
        threshold: match &target_sensitivity {
            Some(t) => t.threshold,
            None => Some(op.threshold),
        },
        threshold_source: op.source.clone(),
        operating_point_threshold: op.threshold,
        positives,
        negatives: sample.len() - positives,
        target_sensitivity,
        sample,
    }
}

impl LabelReport {
    /// The metric `m`.
    pub fn metric(&self, m: Metric) -> &MetricValue {
        match m {
            Metric::Accuracy => &self.accuracy,
            Metric::Sensitivity => &self.sensitivity,
            Metric::Specificity => &self.specificity,
            Metric::Precision => &self.precision,
            Metric::F1 => &self.f1,
            Metric::Auc => &self.auc,
        }
    }
}

/// Labels to reports, printed as one JSON object keyed by label, in the
/// model's label order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PerLabel(pub Vec<(String, LabelReport)>);

impl Serialize for PerLabel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The model evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRef {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The bootstrap as the JSON states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapInfo {
    /// Resamples drawn.
    pub resamples: usize,
    /// The intervals' confidence (0.95).
    pub confidence: f64,
    /// The seed.
    pub seed: u64,
    /// How, in words.
    pub method: &'static str,
}

/// One image's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRecord {
    /// The file.
    pub path: String,
    /// Its ground-truth label.
    pub label: String,
    /// `evaluated`, `out_of_scope` or `failed`.
    pub status: &'static str,
    /// Label → probability (`null` when it failed), f32 widened to f64.
    pub probabilities: Option<PerLabelValue>,
    /// Whether the image is within the model's scope (`null`: the file
    /// cannot show it, or it failed).
    pub in_scope: Option<bool>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Label → number, printed as a JSON object in the model's label order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PerLabelValue(pub Vec<(String, f64)>);

impl Serialize for PerLabelValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The whole evaluation: `hilum evaluate --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Images listed (files found in folders that hold no pixels are not
    /// counted).
    pub n: usize,
    /// Images outside the model's scope: classified, not in the metrics.
    pub out_of_scope: usize,
    /// Images that could not be read or classified.
    pub failed: usize,
    /// Images in the metrics.
    pub evaluated: usize,
    /// One report per finding label (every label when the manifest names
    /// no finding).
    pub per_label: PerLabel,
    /// The model.
    pub model: ModelRef,
    /// `onnxruntime` or `tract`.
    pub engine: String,
    /// The engine's library and version, or why the embedded one runs.
    pub engine_detail: String,
    /// The execution provider that ran.
    pub execution_provider: String,
    /// Why a faster provider was not used, when it was not.
    pub execution_provider_fallback: Option<String>,
    /// How the intervals were made.
    pub bootstrap: BootstrapInfo,
    /// Images read, preprocessed and classified per second (model loading
    /// excluded).
    pub images_per_second: f64,
    /// Seconds those images took.
    pub seconds: f64,
    /// What the sample size allows one to say (`null` from 100 evaluated
    /// images).
    pub caveat: Option<String>,
    /// What the numbers are for ([`NOTICE`]).
    pub notice: &'static str,
    /// Every image's result, in the set's order.
    pub images: Vec<ImageRecord>,
}

/// The notice every evaluation carries.
pub const NOTICE: &str =
    "AI evaluation for research and demonstration; not a validation for clinical use";

/// Evaluated images below which the result carries the small-sample
/// caveat.
pub const SMALL_SAMPLE: usize = 100;

/// The caveat for `evaluated` images, if the sample is small.
pub fn caveat(evaluated: usize) -> Option<String> {
    (evaluated < SMALL_SAMPLE).then(|| {
        format!(
            "{evaluated} evaluated images is a small sample: the 95% intervals are wide \
             (read them, not the point values), and this cannot establish the model's \
             performance"
        )
    })
}

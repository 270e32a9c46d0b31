//! Running a classifier on an image: preprocessing, inference, scores to
//! probabilities, findings against operating points, scope warnings.

use std::time::Instant;

use ort::value::TensorRef;
use serde::Serialize;

use crate::imaging::Image;

use super::AiError;
use super::manifest::{Manifest, OutputActivation};
use super::model::{ExecutionProviderUsed, LoadedModel};
use super::preprocess::{InputGeometry, prepare};

/// One label's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The label.
    pub label: String,
    /// The model's probability.
    pub probability: f32,
    /// The operating point it is judged against (findings only).
    pub threshold: Option<f32>,
    /// Where the operating point comes from.
    pub threshold_source: Option<String>,
    /// At or above the operating point (findings only). Never a diagnosis.
    pub positive: Option<bool>,
    /// True for labels the manifest lists as findings.
    pub is_finding: bool,
    /// The image is outside the model's scope: the probability is not
    /// interpretable and there is no call (`positive` is `None`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub outside_scope: bool,
}

/// The words every output uses for an image outside the model's scope.
pub const OUTSIDE_SCOPE: &str = "Outside the model's scope — not interpretable";

impl Finding {
    /// The call in words, as the viewer and reports show it.
    pub fn wording(&self) -> String {
        if self.outside_scope {
            return "outside the model's scope: not interpretable (no call)".into();
        }
        match (self.positive, self.threshold) {
            (Some(true), Some(t)) => format!("above the model's operating point ({t:.2})"),
            (Some(false), Some(t)) => format!("below the model's operating point ({t:.2})"),
            _ => "no operating point (context only)".into(),
        }
    }
}

/// Time spent, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Timing {
    /// Rendering, resizing and normalising.
    pub preprocess: f64,
    /// The session run.
    pub inference: f64,
    /// Both, plus postprocessing.
    pub total: f64,
}

/// The result of classifying one image.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    /// Model id.
    pub model_id: String,
    /// Model name.
    pub model_name: String,
    /// Model version.
    pub model_version: String,
    /// `onnxruntime` or `tract`.
    pub engine: String,
    /// The execution provider that ran.
    pub execution_provider: ExecutionProviderUsed,
    /// Per label, in the model's order.
    pub findings: Vec<Finding>,
    /// Whether the image is within the model's scope: `Some(false)`
    /// withholds every call, `None` when the file cannot show it (a plain
    /// JPEG): the calls stand, with that said.
    pub in_scope: Option<bool>,
    /// Why the image is outside the scope (or why it cannot be checked).
    pub scope_reasons: Vec<String>,
    /// Why the image may be outside what the model was made for, and other
    /// caveats (a multi-frame image classified on frame 0).
    pub out_of_scope_warnings: Vec<String>,
    /// Timing.
    pub timing_ms: Timing,
    /// Input geometry (for saliency maps).
    #[serde(skip)]
    pub geometry: Option<InputGeometry>,
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = x.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// Turns raw scores into probabilities as the manifest says.
pub fn probabilities(manifest: &Manifest, scores: &[f32]) -> Vec<f32> {
    match manifest.task.output_activation {
        OutputActivation::None => scores.to_vec(),
        OutputActivation::Softmax => softmax(scores),
        OutputActivation::Sigmoid => scores.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
    }
}

/// Findings for one image's probabilities.
pub fn findings(manifest: &Manifest, probabilities: &[f32]) -> Vec<Finding> {
    manifest
        .task
        .labels
        .iter()
        .zip(probabilities)
        .map(|(label, &p)| {
            let is_finding = manifest.task.finding_labels.contains(label);
            let op = manifest.operating_point(label).filter(|_| is_finding);
            Finding {
                label: label.clone(),
                probability: p,
                threshold: op.map(|o| o.threshold),
                threshold_source: op.map(|o| o.source.clone()),
                positive: op.map(|o| p >= o.threshold),
                is_finding,
                outside_scope: false,
            }
        })
        .collect()
}

fn age_years(image: &Image) -> Option<f32> {
    let age = image.metadata.patient_age.as_deref()?;
    let (n, unit) = age.split_at(age.len().checked_sub(1)?);
    let n: f32 = n.trim().parse().ok()?;
    Some(match unit {
        "Y" => n,
        "M" => n / 12.0,
        "W" => n / 52.0,
        "D" => n / 365.0,
        _ => return None,
    })
}

/// Whether an image is within a model's scope, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeCheck {
    /// `Some(true)`: the file shows an image the model was made for;
    /// `Some(false)`: it shows one it was not; `None`: it cannot tell (no
    /// modality, or a raster image with no metadata).
    pub in_scope: Option<bool>,
    /// The reasons, in words.
    pub reasons: Vec<String>,
}

/// What an image whose file cannot show its scope is told.
pub const SCOPE_NOT_VERIFIABLE: &str = "scope not verifiable from the file";

/// Checks `image` against the manifest's `[scope]` (modality, body part,
/// view, age, DICOM or not).
pub fn scope_check(manifest: &Manifest, image: &Image) -> ScopeCheck {
    let reasons: Vec<String> = scope_warnings(manifest, image)
        .into_iter()
        .filter(|w| !w.starts_with("multi-frame image"))
        .collect();
    let is_dicom = matches!(
        image.source,
        crate::imaging::image::SourceFormat::Dicom { .. }
    );
    let no_modality =
        is_dicom && image.metadata.modality.is_none() && !manifest.scope.modalities.is_empty();
    let contradicted = reasons
        .iter()
        .any(|r| !r.starts_with("the image has no modality"));
    if contradicted {
        return ScopeCheck {
            in_scope: Some(false),
            reasons,
        };
    }
    if !is_dicom || no_modality {
        let mut reasons = reasons;
        reasons.push(SCOPE_NOT_VERIFIABLE.to_string());
        return ScopeCheck {
            in_scope: None,
            reasons,
        };
    }
    ScopeCheck {
        in_scope: Some(true),
        reasons,
    }
}

/// Withholds every call of `findings` when `check` says the image is
/// outside the scope.
pub fn apply_scope(findings: &mut [Finding], check: &ScopeCheck) {
    if check.in_scope == Some(false) {
        for finding in findings {
            finding.positive = None;
            finding.outside_scope = true;
        }
    }
}

/// Warnings for an image outside the model's scope.
pub fn scope_warnings(manifest: &Manifest, image: &Image) -> Vec<String> {
    let scope = &manifest.scope;
    let m = &image.metadata;
    let mut out = Vec::new();
    let is_dicom = matches!(
        image.source,
        crate::imaging::image::SourceFormat::Dicom { .. }
    );
    if !is_dicom {
        if !scope.allow_non_dicom {
            out.push("not a DICOM image: the model's scope requires DICOM".into());
        }
    } else if !scope.modalities.is_empty() {
        match &m.modality {
            Some(modality)
                if !scope
                    .modalities
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(modality)) =>
            {
                out.push(format!(
                    "modality {modality} is outside the model's scope ({})",
                    scope.modalities.join(", ")
                ))
            }
            None => out.push(
                "the image has no modality; the model expects ".to_string()
                    + &scope.modalities.join(", "),
            ),
            _ => {}
        }
    }
    for (what, value, allowed) in [
        ("body part", &m.body_part_examined, &scope.body_parts),
        ("view", &m.view_position, &scope.view_positions),
    ] {
        if let Some(value) = value
            && !allowed.is_empty()
            && !allowed.iter().any(|s| s.eq_ignore_ascii_case(value))
        {
            out.push(format!(
                "{what} {value} is outside the model's scope ({})",
                allowed.join(", ")
            ));
        }
    }
    if let Some(age) = age_years(image) {
        let below = scope.min_age_years.is_some_and(|min| age < min);
        let above = scope.max_age_years.is_some_and(|max| age > max);
        if below || above {
            out.push(format!(
                "patient age {} is outside the model's training population ({})",
                m.patient_age.as_deref().unwrap_or(""),
                scope.age_group
            ));
        }
    }
    if image.pixels.frames > 1 {
        out.push(format!(
            "multi-frame image: only frame 0 of {} was classified",
            image.pixels.frames
        ));
    }
    out
}

/// One output of a run: its shape and its values, flattened.
pub type NamedOutput = (Vec<usize>, Vec<f32>);

impl LoadedModel {
    /// Runs the model on a prepared NHWC/NCHW batch; returns every named
    /// output requested, flattened, with its shape.
    pub fn run_outputs(
        &mut self,
        shape: &[usize],
        data: &[f32],
        names: &[&str],
    ) -> Result<Vec<NamedOutput>, AiError> {
        let tensor = TensorRef::from_array_view((shape.to_vec(), data))
            .map_err(|e| AiError::Inference(e.to_string()))?;
        let input_name = self.manifest.input.name.clone();
        // Ask only for the outputs needed: ONNX Runtime then skips the rest
        // of the graph (the saliency outputs cost about 10% of a run).
        let selector = names.iter().fold(
            ort::session::OutputSelector::no_default(),
            |selector, name| selector.with(*name),
        );
        let options = ort::session::RunOptions::new()
            .map_err(|e| AiError::Inference(e.to_string()))?
            .with_outputs(selector);
        let outputs = self
            .session
            .run_with_options(ort::inputs![input_name => tensor], &options)
            .map_err(|e| AiError::Inference(e.to_string()))?;
        names
            .iter()
            .map(|name| {
                let value = outputs.get(*name).ok_or_else(|| {
                    AiError::Inference(format!("the model produced no output {name:?}"))
                })?;
                let (shape, values) = value
                    .try_extract_tensor::<f32>()
                    .map_err(|e| AiError::Inference(format!("output {name:?}: {e}")))?;
                Ok((
                    shape.iter().map(|&d| d.max(0) as usize).collect(),
                    values.to_vec(),
                ))
            })
            .collect()
    }

    /// Classifies frame 0 of `image`; `cancelled` is checked between steps.
    pub fn classify(
        &mut self,
        image: &Image,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Classification, AiError> {
        let start = Instant::now();
        let prepared = prepare(image, 0, &self.manifest)?;
        let preprocess = start.elapsed().as_secs_f64() * 1e3;
        if cancelled() {
            return Err(AiError::Cancelled);
        }
        let t = Instant::now();
        let scores_name = self.manifest.outputs.scores.clone();
        let mut out = self.run_outputs(&prepared.shape, &prepared.data, &[&scores_name])?;
        let inference = t.elapsed().as_secs_f64() * 1e3;
        if cancelled() {
            return Err(AiError::Cancelled);
        }
        let (_, scores) = out.remove(0);
        let labels = self.manifest.task.labels.len();
        if scores.len() != labels {
            return Err(AiError::Inference(format!(
                "output {scores_name:?} has {} values for {labels} labels",
                scores.len()
            )));
        }
        let probabilities = probabilities(&self.manifest, &scores);
        let scope = scope_check(&self.manifest, image);
        let mut findings = findings(&self.manifest, &probabilities);
        apply_scope(&mut findings, &scope);
        Ok(Classification {
            model_id: self.manifest.id.clone(),
            model_name: self.manifest.name.clone(),
            model_version: self.manifest.version.clone(),
            engine: self.engine.name().into(),
            execution_provider: self.execution_provider.clone(),
            findings,
            in_scope: scope.in_scope,
            scope_reasons: scope.reasons,
            out_of_scope_warnings: scope_warnings(&self.manifest, image),
            timing_ms: Timing {
                preprocess,
                inference,
                total: start.elapsed().as_secs_f64() * 1e3,
            },
            geometry: Some(prepared.geometry),
        })
    }
}

//! Model manifests: the TOML file beside every `.onnx` model that says what
//! the model is, how an image becomes its input, how to read its outputs,
//! where it applies, and its model card. The schema is documented in
//! `models/README.md`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// An error in a manifest, naming the file and the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {field}: {reason}", path.display())]
pub struct ManifestError {
    /// The manifest file.
    pub path: PathBuf,
    /// Dotted field path, e.g. `input.layout`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// How the model's scores are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Exactly one label applies; scores sum to one.
    Multiclass,
    /// Each label is judged on its own.
    Multilabel,
}

/// What the score output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputActivation {
    /// Already probabilities.
    None,
    /// Logits: apply softmax over labels.
    Softmax,
    /// Logits: apply a sigmoid per label.
    Sigmoid,
}

/// Tensor layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Layout {
    /// Batch, channels, height, width.
    #[serde(rename = "NCHW")]
    Nchw,
    /// Batch, height, width, channels.
    #[serde(rename = "NHWC")]
    Nhwc,
}

/// How the image is resized to the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeMethod {
    /// Nearest neighbour with Pillow's exact index map (what Keras
    /// `load_img` does).
    NearestPil,
    /// Bilinear interpolation (triangle filter).
    Bilinear,
}

/// How a DICOM or 16-bit image becomes 8 bits before preprocessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowSource {
    /// The file's default window, exactly as `hilum render` shows it.
    File,
    /// Min–max over the frame.
    Minmax,
    /// 1st–99th percentile of the frame.
    Percentile,
}

/// `[task]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Multiclass or multilabel.
    pub kind: TaskKind,
    /// What the score output holds.
    pub output_activation: OutputActivation,
    /// One label per score, in output order.
    pub labels: Vec<String>,
    /// Labels that are findings (shown as above/below an operating point);
    /// the others (e.g. NORMAL) are shown as context only.
    pub finding_labels: Vec<String>,
}

/// `[input]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Graph input name.
    pub name: String,
    /// NCHW or NHWC.
    pub layout: Layout,
    /// Input height in pixels.
    pub height: u32,
    /// Input width in pixels.
    pub width: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: u32,
}

/// `[preprocess]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// For DICOM and 16-bit images: how to window to 8 bits first.
    pub window: WindowSource,
    /// Resize method.
    pub resize: ResizeMethod,
    /// Letterbox to keep the aspect ratio (else stretch).
    pub keep_aspect: bool,
    /// Gray images are replicated to every channel.
    pub replicate_gray: bool,
    /// Each 8-bit value v becomes `(v * scale + offset - mean[c]) / std[c]`.
    pub scale: f32,
    /// See `scale`.
    pub offset: f32,
    /// Per-channel mean, after scale and offset.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, after scale and offset.
    pub std: Vec<f32>,
    /// Value used for letterbox padding, in 8-bit units.
    #[serde(default)]
    pub pad_value: u8,
    /// What the original recipe was, in words (shown in the model card).
    pub notes: String,
}

/// `[outputs]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Output with one score per label.
    pub scores: String,
    /// Optional last convolutional feature map, for class activation maps.
    #[serde(default)]
    pub features: Option<String>,
    /// Layout of `features` (NHWC or NCHW).
    #[serde(default)]
    pub features_layout: Option<Layout>,
    /// Optional `[N, labels, channels]` gradient of each label's score with
    /// respect to the pooled features (Grad-CAM channel weights).
    #[serde(default)]
    pub class_gradients: Option<String>,
}

/// `[[operating_points]]`: the threshold a finding's probability is judged
/// against.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingPoint {
    /// The label.
    pub label: String,
    /// Probability at or above which the call is "above the operating point".
    pub threshold: f32,
    /// Where the threshold comes from.
    pub source: String,
}

/// `[scope]`: where the model applies; images outside it get warnings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// DICOM modalities (e.g. CR, DX); empty means any.
    #[serde(default)]
    pub modalities: Vec<String>,
    /// Whether non-DICOM images (PNG/JPEG/TIFF) are in scope.
    #[serde(default)]
    pub allow_non_dicom: bool,
    /// Body Part Examined values; empty means any.
    #[serde(default)]
    pub body_parts: Vec<String>,
    /// View Position values; empty means any.
    #[serde(default)]
    pub view_positions: Vec<String>,
    /// Age group the model was trained on, in words.
    #[serde(default)]
    pub age_group: String,
    /// Youngest age in scope, years.
    #[serde(default)]
    pub min_age_years: Option<f32>,
    /// Oldest age in scope, years.
    #[serde(default)]
    pub max_age_years: Option<f32>,
}

/// `[card]`: the model card in short; `file` names the full one.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Intended use.
    pub intended_use: String,
    /// Training data.
    pub training_data: String,
    /// Measured performance and on what.
    pub performance: String,
    /// Limitations.
    pub limitations: String,
    /// Licence and the basis of redistribution.
    pub licence: String,
    /// Where the weights come from.
    pub provenance: String,
    /// How to cite.
    pub citation: String,
    /// The full model card, relative to the manifest.
    pub file: Option<String>,
}

/// A model manifest.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Schema version (1).
    pub schema_version: u32,
    /// Stable identifier.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// The ONNX file, relative to the manifest.
    pub file: String,
    /// `[task]`.
    pub task: Task,
    /// `[input]`.
    pub input: Input,
    /// `[preprocess]`.
    pub preprocess: Preprocess,
    /// `[outputs]`.
    pub outputs: Outputs,
    /// `[[operating_points]]`.
    #[serde(default)]
    pub operating_points: Vec<OperatingPoint>,
    /// `[scope]`.
    #[serde(default)]
    pub scope: Scope,
    /// `[card]`.
    pub card: Card,
    /// Where the manifest was read from (not part of the file).
    #[serde(skip)]
    pub manifest_path: PathBuf,
}

impl Manifest {
    /// Reads and validates a manifest.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let err = |field: &str, reason: String| ManifestError {
            path: path.to_path_buf(),
            field: field.to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err("(file)", e.to_string()))?;
        Self::parse(&text, path)
    }

    /// Parses and validates manifest text; `path` is used for messages and
    /// to resolve `file`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let mut manifest: Manifest = toml::from_str(text).map_err(|e| {
            let field = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(field_at)
                .unwrap_or_else(|| "(document)".into());
            ManifestError {
                path: path.to_path_buf(),
                field,
                reason: e.message().to_string(),
            }
        })?;
        manifest.manifest_path = path.to_path_buf();
        manifest.validate()?;
        Ok(manifest)
    }

    /// The ONNX file's path.
    pub fn model_path(&self) -> PathBuf {
        self.manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&self.file)
    }

    /// The full model card's path, if any.
    pub fn card_path(&self) -> Option<PathBuf> {
        let file = self.card.file.as_ref()?;
        Some(
            self.manifest_path
                .parent()
                .unwrap_or(Path::new("."))
                .join(file),
        )
    }

    /// The operating point of `label`.
    pub fn operating_point(&self, label: &str) -> Option<&OperatingPoint> {
        self.operating_points.iter().find(|o| o.label == label)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let err = |field: &str, reason: String| {
            Err(ManifestError {
                path: self.manifest_path.clone(),
                field: field.to_string(),
                reason,
            })
        };
        if self.schema_version != 1 {
            return err(
                "schema_version",
                format!("{} is not supported (1)", self.schema_version),
            );
        }
        for (field, value) in [
            ("id", &self.id),
            ("name", &self.name),
            ("version", &self.version),
            ("file", &self.file),
        ] {
            if value.trim().is_empty() {
                return err(field, "must not be empty".into());
            }
        }
        if self.task.labels.is_empty() {
            return err("task.labels", "must list at least one label".into());
        }
        for label in &self.task.finding_labels {
            if !self.task.labels.contains(label) {
                return err(
                    "task.finding_labels",
                    format!("{label:?} is not in task.labels"),
                );
            }
        }
        if self.task.kind == TaskKind::Multiclass
            && self.task.output_activation == OutputActivation::Sigmoid
        {
            return err(
                "task.output_activation",
                "sigmoid does not fit a multiclass task".into(),
            );
        }
        let input = &self.input;
        if input.name.trim().is_empty() {
            return err("input.name", "must not be empty".into());
        }
        if !(1..=8192).contains(&input.height) {
            return err("input.height", format!("{} is out of range", input.height));
        }
        if !(1..=8192).contains(&input.width) {
            return err("input.width", format!("{} is out of range", input.width));
        }
        if input.channels != 1 && input.channels != 3 {
            return err("input.channels", format!("{} (1 or 3)", input.channels));
        }
        let p = &self.preprocess;
        let channels = input.channels as usize;
        if p.mean.len() != channels {
            return err(
                "preprocess.mean",
                format!("{} values for {channels} channels", p.mean.len()),
            );
        }
        if p.std.len() != channels {
            return err(
                "preprocess.std",
                format!("{} values for {channels} channels", p.std.len()),
            );
        }
        if p.std.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return err(
                "preprocess.std",
                "values must be finite and non-zero".into(),
            );
        }
        if !p.scale.is_finite() || p.scale == 0.0 {
            return err("preprocess.scale", "must be finite and non-zero".into());
        }
        if self.outputs.scores.trim().is_empty() {
            return err("outputs.scores", "must not be empty".into());
        }
        if self.outputs.features.is_some() && self.outputs.features_layout.is_none() {
            return err(
                "outputs.features_layout",
                "required when outputs.features is set".into(),
            );
        }
        for (i, op) in self.operating_points.iter().enumerate() {
            if !self.task.labels.contains(&op.label) {
                return err(
                    &format!("operating_points[{i}].label"),
                    format!("{:?} is not in task.labels", op.label),
                );
            }
            if !(0.0..=1.0).contains(&op.threshold) {
                return err(
                    &format!("operating_points[{i}].threshold"),
                    format!("{} is not a probability", op.threshold),
                );
            }
        }
        for label in &self.task.finding_labels {
            if self.operating_point(label).is_none() {
                return err(
                    "operating_points",
                    format!("no operating point for finding {label:?}"),
                );
            }
        }
        Ok(())
    }
}

/// The dotted path of the key being defined at the end of `before` (the
/// text preceding an error), from the last `[table]` header and key.
fn field_at(before: &str) -> String {
    let mut table = String::new();
    let mut key = String::new();
    for line in before.lines() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix("[[").and_then(|s| s.split("]]").next()) {
            table = h.trim().to_string();
            key.clear();
        } else if let Some(h) = t.strip_prefix('[').and_then(|s| s.split(']').next()) {
            table = h.trim().to_string();
            key.clear();
        } else if let Some((k, _)) = t.split_once('=') {
            key = k.trim().to_string();
        }
    }
    // The last line may be the key itself, cut before its value.
    if let Some(last) = before.lines().last()
        && let Some((k, _)) = last.split_once('=')
    {
        key = k.trim().to_string();
    }
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "(document)".into(),
        (true, false) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

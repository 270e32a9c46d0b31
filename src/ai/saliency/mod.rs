//! Saliency: where the model looked, as a heatmap on the source image's
//! pixel grid, labelled with how it was made and how faithful it is.
//!
//! Two methods: Grad-CAM from the model's feature-map output and the
//! closed-form class gradients the conversion script adds to the graph
//! ([`gradcam`]), and model-agnostic occlusion sensitivity ([`occlusion`]).
//! Both are checked with the deletion metric ([`faithfulness`]) and mapped
//! back through the preprocessing geometry ([`geometry`]).

pub mod faithfulness;
pub mod geometry;
pub mod gradcam;
pub mod input;
pub mod occlusion;
pub mod overlay;
pub mod sanity;
pub mod scores;

use std::time::Instant;

use serde::Serialize;

use crate::imaging::Image;

use self::geometry::MapGrid;
use self::gradcam::FeatureMap;
use self::input::InputPixels;
use self::occlusion::{OcclusionSettings, PatchLayout, Progress};
use super::AiError;
use super::classify::probabilities;
use super::manifest::Layout;
use super::model::LoadedModel;
use super::preprocess::{Prepared, prepare};

/// How a heatmap was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SaliencyMethod {
    /// Grad-CAM on the model's feature-map output.
    #[value(name = "gradcam")]
    #[serde(rename = "gradcam")]
    GradCam,
    /// Occlusion sensitivity: the probability drop when a patch is hidden.
    Occlusion,
}

impl SaliencyMethod {
    /// The name shown to readers.
    pub fn display_name(self) -> &'static str {
        match self {
            SaliencyMethod::GradCam => "Grad-CAM",
            SaliencyMethod::Occlusion => "Occlusion sensitivity",
        }
    }
}

/// What the deletion metric says of a map ([`faithfulness::RULE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Hiding what the map marks hurts the model clearly more than hiding
    /// random pixels.
    #[serde(rename = "faithful")]
    Faithful,
    /// Hiding what the map marks hurts the model no more than hiding random
    /// pixels: the map does not explain the prediction.
    #[serde(rename = "not faithful")]
    NotFaithful,
    /// Neither clearly.
    #[serde(rename = "inconclusive")]
    Inconclusive,
}

impl Verdict {
    /// The verdict as the JSON and the reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Faithful => "faithful",
            Verdict::NotFaithful => "not faithful",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// What a reader should take from it, in a sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Verdict::Faithful => "Faithful: the map points at what the model uses",
            Verdict::NotFaithful => {
                "Not faithful: the map explains the prediction no better than random pixels — \
                 do not read it as where the model looked"
            }
            Verdict::Inconclusive => {
                "Inconclusive: the deletion test cannot tell whether the map points at what \
                 the model uses"
            }
        }
    }
}

/// The deletion metric: how much the target's score falls when the most
/// salient pixels are replaced by the neutral value, against the same
/// number of random pixels, and the verdict it leads to. Measured on the
/// log-odds, which do not saturate; the probabilities are kept for
/// readers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Faithfulness {
    /// Fraction of the model-input pixels replaced (0.1 = top 10 %).
    pub fraction: f32,
    /// Target probability on the intact input.
    pub base_probability: f32,
    /// Probability drop with the most salient pixels replaced.
    pub salient_drop: f32,
    /// Mean probability drop with random pixels replaced.
    pub random_drop: f32,
    /// What the score is ([`crate::ai::model::LogOdds::describe`]).
    pub score: &'static str,
    /// The target's log-odds on the intact input.
    pub base_score: f64,
    /// Log-odds drop with the most salient pixels replaced.
    pub salient_score_drop: f64,
    /// Log-odds drop of each random deletion.
    pub random_score_drops: Vec<f64>,
    /// Their mean.
    pub random_score_drop_mean: f64,
    /// Their sample standard deviation.
    pub random_score_drop_sd: f64,
    /// The decision.
    pub verdict: Verdict,
    /// The decision's numbers and reason in words.
    pub reason: String,
}

/// A heatmap on the source image's pixel grid, with its provenance.
#[derive(Debug, Clone, Serialize)]
pub struct Heatmap {
    /// How it was made.
    pub method: SaliencyMethod,
    /// The class it explains.
    pub target_label: String,
    /// Index of that class in the model's labels.
    pub target_index: usize,
    /// The method's settings in words (layer and grid, or patch, stride
    /// and fill).
    pub settings: String,
    /// Model id, name and version.
    pub model: String,
    /// Source image width (columns).
    pub width: u32,
    /// Source image height (rows).
    pub height: u32,
    /// Row-major values in [0, 1], `width * height` of them.
    #[serde(skip)]
    pub values: Vec<f32>,
    /// The map in model space before mapping to the source grid
    /// (row-major, `grid.0` rows by `grid.1` columns), normalised to [0, 1].
    #[serde(skip)]
    pub model_space: Vec<f32>,
    /// Rows and columns of `model_space`.
    pub grid: (u32, u32),
    /// The deletion metric, when it was measured.
    pub faithfulness: Option<Faithfulness>,
    /// Milliseconds spent making the map (faithfulness excluded).
    pub time_ms: f64,
}

impl Heatmap {
    /// The value at source pixel (`x`, `y`).
    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.values[y as usize * self.width as usize + x as usize]
    }

    /// True when the deletion test found the map not faithful: it is then
    /// drawn only on request, with [`Verdict::meaning`] beside it.
    pub fn is_unfaithful(&self) -> bool {
        self.faithfulness
            .as_ref()
            .is_some_and(|f| f.verdict == Verdict::NotFaithful)
    }

    /// The verdict in a sentence ("faithfulness not measured" without
    /// one).
    pub fn verdict_line(&self) -> String {
        match &self.faithfulness {
            Some(f) => format!("{}.", f.verdict.meaning()),
            None => "Faithfulness not measured.".into(),
        }
    }

    /// One line that labels the heatmap wherever it is shown: method,
    /// target, settings and faithfulness.
    pub fn caption(&self) -> String {
        let mut s = format!(
            "{} for {} ({}; {})",
            self.method.display_name(),
            self.target_label,
            self.settings,
            self.model
        );
        match &self.faithfulness {
            Some(f) => s.push_str(&format!(
                "; {}: hiding the top {:.0}% of pixels changes the log-odds by {} (random {:.0}%: \
                 {} ± {:.3}) and the probability by {} (random: {})",
                f.verdict.as_str(),
                f.fraction * 100.0,
                signed(-f.salient_score_drop),
                f.fraction * 100.0,
                signed(-f.random_score_drop_mean),
                f.random_score_drop_sd,
                signed(-f64::from(f.salient_drop)),
                signed(-f64::from(f.random_drop))
            )),
            None => s.push_str("; faithfulness not measured"),
        }
        s
    }
}

/// `v` with an explicit sign and three decimals. The ASCII minus, because
/// some fonts and text extractors drop U+2212 and a lost sign inverts the
/// meaning.
fn signed(v: f64) -> String {
    // What rounds to zero is shown as +0.000, never as a signed -0.000.
    let v = if v.abs() < 0.0005 { 0.0 } else { v };
    format!("{v:+.3}")
}

/// What to explain, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SaliencyRequest {
    /// The method.
    pub method: SaliencyMethod,
    /// The class to explain (a label, case-insensitive); `None` = the
    /// finding label with the highest probability, or the top class for a
    /// model without finding labels.
    pub target: Option<String>,
    /// The frame of a multi-frame image.
    pub frame: usize,
    /// Occlusion settings (ignored by Grad-CAM).
    pub occlusion: OcclusionSettings,
    /// The deletion metric's fraction; `None` skips it.
    pub deletion_fraction: Option<f32>,
}

impl Default for SaliencyRequest {
    fn default() -> Self {
        Self {
            method: SaliencyMethod::GradCam,
            target: None,
            frame: 0,
            occlusion: OcclusionSettings::default(),
            deletion_fraction: Some(faithfulness::DEFAULT_FRACTION),
        }
    }
}

/// A saliency map with what is needed to check it.
#[derive(Debug, Clone)]
pub struct SaliencyRun {
    /// The heatmap on the source grid (faithfulness not yet measured).
    pub heatmap: Heatmap,
    /// The same map on the model input's pixel grid, normalised.
    pub input_map: Vec<f32>,
    /// The model input it explains.
    pub prepared: Prepared,
    /// The target probability on the intact input.
    pub base_probability: f32,
}

/// A normalised map over the model input, before geometry.
struct ModelSpaceMap {
    map: Vec<f32>,
    grid: MapGrid,
    settings: String,
    target: usize,
    base_probability: f32,
}

impl LoadedModel {
    /// The index of `target`, or of the default target for these
    /// probabilities.
    fn target_index(&self, target: Option<&str>, probs: &[f32]) -> Result<usize, AiError> {
        let labels = &self.manifest.task.labels;
        if let Some(t) = target {
            return labels
                .iter()
                .position(|l| l.eq_ignore_ascii_case(t))
                .ok_or_else(|| {
                    AiError::Unsupported(format!(
                        "target {t:?} is not a label of model {} (labels: {})",
                        self.manifest.id,
                        labels.join(", ")
                    ))
                });
        }
        let findings = &self.manifest.task.finding_labels;
        let candidates: Vec<usize> = if findings.is_empty() {
            (0..labels.len()).collect()
        } else {
            (0..labels.len())
                .filter(|&i| findings.contains(&labels[i]))
                .collect()
        };
        candidates
            .into_iter()
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]).then(b.cmp(&a)))
            .ok_or_else(|| AiError::Inference("the model has no labels".into()))
    }

    /// Makes a saliency map for frame `request.frame` of `image`. Occlusion
    /// reports `progress` and checks `cancelled` between batches; a
    /// cancelled run returns `AiError::Cancelled`, never a partial map.
    pub fn saliency_map(
        &mut self,
        image: &Image,
        request: &SaliencyRequest,
        progress: &mut dyn FnMut(Progress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<SaliencyRun, AiError> {
        let start = Instant::now();
        let prepared = prepare(image, request.frame, &self.manifest)?;
        let pixels = InputPixels::new(&self.manifest);
        let ModelSpaceMap {
            map: model_space,
            grid,
            settings,
            target,
            base_probability: base,
        } = match request.method {
            SaliencyMethod::GradCam => self.gradcam(&prepared, request.target.as_deref())?,
            SaliencyMethod::Occlusion => {
                let layout = PatchLayout::new(
                    pixels.width as u32,
                    pixels.height as u32,
                    &request.occlusion,
                )
                .map_err(AiError::Unsupported)?;
                let base_scores = self
                    .batch_scores(&prepared, &prepared.data, 1, false)?
                    .remove(0)
                    .probabilities;
                let target = self.target_index(request.target.as_deref(), &base_scores)?;
                let batch = request.occlusion.batch.clamp(1, self.max_batch());
                let mut map = occlusion::sensitivity(
                    &prepared.data,
                    &pixels,
                    &layout,
                    batch,
                    base_scores[target],
                    &mut |inputs, n| self.target_probabilities(&prepared, inputs, n, target),
                    progress,
                    cancelled,
                )?;
                gradcam::normalise(&mut map);
                let settings = layout.describe(&pixels.neutral, batch);
                let grid = MapGrid {
                    rows: layout.grid.1 as u32,
                    cols: layout.grid.0 as u32,
                    cell_width: layout.stride.0,
                    cell_height: layout.stride.1,
                };
                ModelSpaceMap {
                    map,
                    grid,
                    settings,
                    target,
                    base_probability: base_scores[target],
                }
            }
        };
        let g = prepared.geometry;
        let values = geometry::to_source_grid(&model_space, grid, &g);
        let input_map = geometry::to_input_grid(
            &model_space,
            grid,
            pixels.width as u32,
            pixels.height as u32,
        );
        let m = &self.manifest;
        let heatmap = Heatmap {
            method: request.method,
            target_label: m.task.labels[target].clone(),
            target_index: target,
            settings,
            model: format!("{} {}", m.id, m.version),
            width: g.source_width,
            height: g.source_height,
            values,
            model_space,
            grid: (grid.rows, grid.cols),
            faithfulness: None,
            time_ms: start.elapsed().as_secs_f64() * 1e3,
        };
        Ok(SaliencyRun {
            heatmap,
            input_map,
            prepared,
            base_probability: base,
        })
    }

    /// Grad-CAM from one run.
    fn gradcam(
        &mut self,
        prepared: &Prepared,
        target: Option<&str>,
    ) -> Result<ModelSpaceMap, AiError> {
        let m = &self.manifest;
        let suggestion = "use the occlusion method, which works with any classifier";
        let (Some(features), Some(layout)) =
            (m.outputs.features.clone(), m.outputs.features_layout)
        else {
            return Err(AiError::Unsupported(format!(
                "model {} has no feature-map output (manifest outputs.features), so Grad-CAM \
                 cannot be computed; {suggestion}",
                m.id
            )));
        };
        let Some(gradients) = m.outputs.class_gradients.clone() else {
            return Err(AiError::Unsupported(format!(
                "model {} has a feature-map output but no class-gradient output (manifest \
                 outputs.class_gradients), so Grad-CAM cannot be computed; {suggestion}",
                m.id
            )));
        };
        let scores_name = m.outputs.scores.clone();
        let labels = m.task.labels.len();
        let mut out = self.run_outputs(
            &prepared.shape,
            &prepared.data,
            &[&scores_name, &features, &gradients],
        )?;
        let (g_shape, g_values) = out.pop().expect("three outputs");
        let (f_shape, f_values) = out.pop().expect("three outputs");
        let (_, scores) = out.pop().expect("three outputs");
        if scores.len() != labels {
            return Err(AiError::Inference(format!(
                "output {scores_name:?} has {} values for {labels} labels",
                scores.len()
            )));
        }
        let probs = probabilities(&self.manifest, &scores);
        let target = self.target_index(target, &probs)?;
        let feature_map = FeatureMap {
            values: &f_values,
            shape: &f_shape,
            layout,
        };
        let (_, _, channels) = feature_map.dims().map_err(AiError::Inference)?;
        if g_shape.len() != 3 || g_shape[1] != labels || g_shape[2] != channels {
            return Err(AiError::Inference(format!(
                "output {gradients:?} has shape {g_shape:?}; expected [1, {labels}, {channels}]"
            )));
        }
        let weights = &g_values[target * channels..(target + 1) * channels];
        let (mut cam, rows, cols) =
            gradcam::raw_cam(feature_map, weights).map_err(AiError::Inference)?;
        gradcam::normalise(&mut cam);
        let layout_name = match layout {
            Layout::Nhwc => "NHWC",
            Layout::Nchw => "NCHW",
        };
        let settings = format!(
            "layer {features:?} {rows}×{cols}×{channels} ({layout_name}), channel weights from {gradients:?}"
        );
        Ok(ModelSpaceMap {
            map: cam,
            grid: MapGrid::tiling(
                rows,
                cols,
                self.manifest.input.width,
                self.manifest.input.height,
            ),
            settings,
            target,
            base_probability: probs[target],
        })
    }

    /// Measures the deletion metric for a map made by
    /// [`LoadedModel::saliency_map`].
    pub fn faithfulness(
        &mut self,
        run: &SaliencyRun,
        fraction: f32,
    ) -> Result<Faithfulness, AiError> {
        let pixels = InputPixels::new(&self.manifest);
        let target = run.heatmap.target_index;
        let score = self.log_odds_source().describe();
        faithfulness::deletion(
            &run.prepared.data,
            &pixels,
            &run.input_map,
            fraction,
            score,
            &mut |inputs, n| self.target_scores(&run.prepared, inputs, n, target),
        )
    }

    /// A labelled heatmap: the map and, if the request asks for it, its
    /// faithfulness.
    pub fn explain(
        &mut self,
        image: &Image,
        request: &SaliencyRequest,
        progress: &mut dyn FnMut(Progress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Heatmap, AiError> {
        let run = self.saliency_map(image, request, progress, cancelled)?;
        let faithfulness = match request.deletion_fraction {
            Some(fraction) => {
                if cancelled() {
                    return Err(AiError::Cancelled);
                }
                Some(self.faithfulness(&run, fraction)?)
            }
            None => None,
        };
        Ok(Heatmap {
            faithfulness,
            ..run.heatmap
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caption_names_everything_and_signs_changes_once() {
        let mut heatmap = Heatmap {
            method: SaliencyMethod::Occlusion,
            target_label: "PNEUMONIA".into(),
            target_index: 1,
            settings: "8×8 patches".into(),
            model: "m 1".into(),
            width: 1,
            height: 1,
            values: vec![1.0],
            model_space: vec![1.0],
            grid: (1, 1),
            faithfulness: None,
            time_ms: 0.0,
        };
        assert!(heatmap.caption().ends_with("faithfulness not measured"));
        heatmap.faithfulness = Some(Faithfulness {
            fraction: 0.1,
            base_probability: 0.9,
            salient_drop: 0.25,
            random_drop: -0.04,
            score: "log-odds",
            base_score: 2.2,
            salient_score_drop: 1.5,
            random_score_drops: vec![0.1, -0.1],
            random_score_drop_mean: 0.0,
            random_score_drop_sd: 0.141,
            verdict: Verdict::Faithful,
            reason: String::new(),
        });
        let caption = heatmap.caption();
        assert!(
            caption.starts_with("Occlusion sensitivity for PNEUMONIA (8×8 patches; m 1)"),
            "{caption}"
        );
        assert!(
            caption.ends_with(
                "faithful: hiding the top 10% of pixels changes the log-odds by -1.500 (random \
                 10%: +0.000 ± 0.141) and the probability by -0.250 (random: +0.040)"
            ),
            "{caption}"
        );
    }
}

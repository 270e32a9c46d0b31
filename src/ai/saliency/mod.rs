//! Saliency: where the model looked, as a heatmap on the source image's
//! pixel grid, labelled with how it was made and how faithful it is.
//!
//! Two methods: Grad-CAM from the model's feature-map output and the
//! closed-form class gradients the conversion script adds to the graph
//! ([`gradcam`]), and model-agnostic occlusion sensitivity ([`occlusion`]).
//! Both are checked with the deletion metric ([`faithfulness`]) and mapped
//! back through the preprocessing geometry ([`geometry`]).

pub mod overlay;

use serde::Serialize;

/// How a heatmap was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SaliencyMethod {
    /// Grad-CAM on the model's feature-map output.
    #[value(name = "gradcam")]
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

/// The deletion metric: how much the target probability falls when the
/// most salient pixels are replaced by the neutral value, against the same
/// number of random pixels. A faithful map gives `salient_drop` well above
/// `random_drop`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Faithfulness {
    /// Fraction of the model-input pixels replaced (0.1 = top 10 %).
    pub fraction: f32,
    /// Target probability on the intact input.
    pub base_probability: f32,
    /// Probability drop with the most salient pixels replaced.
    pub salient_drop: f32,
    /// Mean probability drop with random pixels replaced.
    pub random_drop: f32,
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
                "; deletion of top {:.0}%: probability −{:.3} (random pixels −{:.3})",
                f.fraction * 100.0,
                f.salient_drop,
                f.random_drop
            )),
            None => s.push_str("; faithfulness not measured"),
        }
        s
    }
}

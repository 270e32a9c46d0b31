//! The model-randomisation sanity check (Adebayo et al. 2018, "Sanity
//! checks for saliency maps"): a saliency method whose map barely changes
//! when the model's weights are replaced by random ones is not explaining
//! the model (it may be an edge detector). The map of the real model and
//! the map of the randomised model, for the same image, target and method,
//! are compared by Spearman rank correlation.

use serde::Serialize;

use crate::ai::graph::Randomised;
use crate::ai::{AiError, LoadedModel, RuntimeSettings};
use crate::imaging::Image;

use super::occlusion::Progress;
use super::{Heatmap, SaliencyMethod, SaliencyRequest};

/// The method passes when the rank correlation between the real and the
/// randomised maps is below this.
pub const SPEARMAN_THRESHOLD: f64 = 0.5;

/// The randomisation's seed: the same model gives the same random weights.
pub const SEED: u64 = 0xADEB_A701_2018;

/// The name of the check, as results state it.
pub const TEST: &str = "model randomisation (Adebayo et al. 2018): every floating-point weight \
tensor re-initialised with zero-mean normal values of its own size";

/// The outcome of the check for one image and method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SanityCheck {
    /// What was done.
    pub test: &'static str,
    /// The method checked.
    pub method: SaliencyMethod,
    /// Spearman rank correlation between the real and the randomised
    /// maps (model space); 0 when either is constant.
    pub spearman: f64,
    /// The pass mark: `spearman` below it.
    pub threshold: f64,
    /// True when the map changed with the weights (the method passes).
    pub passed: bool,
    /// `"passed"` or `"failed"`.
    pub verdict: &'static str,
    /// True when the randomised model's map is all zeros (Grad-CAM finds
    /// no positive evidence): it still differs from the real map.
    pub randomised_map_empty: bool,
    /// Weight tensors randomised.
    pub tensors_randomised: usize,
    /// Weight values randomised.
    pub values_randomised: usize,
    /// The randomisation's seed.
    pub seed: u64,
    /// What it means, in a sentence.
    pub meaning: &'static str,
}

/// Spearman rank correlation (average ranks for ties; 0 when either side
/// is constant or the lengths differ).
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    fn ranks(v: &[f32]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                r[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// Judges a method from the real map and the randomised one.
pub fn judge(original: &Heatmap, randomised: &Heatmap, done: Randomised) -> SanityCheck {
    let rho = spearman(&original.model_space, &randomised.model_space);
    let passed = rho < SPEARMAN_THRESHOLD;
    SanityCheck {
        test: TEST,
        method: original.method,
        spearman: rho,
        threshold: SPEARMAN_THRESHOLD,
        passed,
        verdict: if passed { "passed" } else { "failed" },
        randomised_map_empty: randomised.model_space.iter().all(|&v| v == 0.0),
        tensors_randomised: done.tensors,
        values_randomised: done.values,
        seed: SEED,
        meaning: if passed {
            "the map changes when the model's weights are randomised: it depends on the model"
        } else {
            "the map barely changes when the model's weights are randomised: it shows the image, \
             not the model"
        },
    }
}

/// A model with randomised weights, ready to make the same kind of map.
pub struct RandomisedModel {
    model: LoadedModel,
    done: Randomised,
}

impl RandomisedModel {
    /// Loads `real`'s model again with its weights randomised.
    pub fn load(real: &LoadedModel, settings: &RuntimeSettings) -> Result<Self, AiError> {
        let (model, done) = LoadedModel::load_randomised(real.manifest.clone(), settings, SEED)?;
        if done.tensors == 0 {
            return Err(AiError::Unsupported(format!(
                "model {} has no floating-point weight tensors to randomise",
                real.manifest.id
            )));
        }
        Ok(Self { model, done })
    }

    /// Runs the check for `original`, a map of `image` made with
    /// `request`: the randomised model explains the same target the same
    /// way.
    pub fn check(
        &mut self,
        image: &Image,
        request: &SaliencyRequest,
        original: &Heatmap,
        progress: &mut dyn FnMut(Progress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<SanityCheck, AiError> {
        let request = SaliencyRequest {
            target: Some(original.target_label.clone()),
            deletion_fraction: None,
            ..request.clone()
        };
        let randomised = self
            .model
            .saliency_map(image, &request, progress, cancelled)?
            .heatmap;
        if randomised.model_space.len() != original.model_space.len() {
            return Err(AiError::Inference(format!(
                "the randomised model's map has {} cells, the real one {}",
                randomised.model_space.len(),
                original.model_space.len()
            )));
        }
        Ok(judge(original, &randomised, self.done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_is_right_on_known_cases() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0]), 0.0);
        // Ties get average ranks: [1, 1, 2] ranks as [0.5, 0.5, 2].
        let r = spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((r - 0.866_025_403_784_438_6).abs() < 1e-9, "{r}");
    }
}

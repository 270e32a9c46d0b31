//! Grad-CAM from a model's feature-map output.
//!
//! ONNX Runtime gives no gradients, so the gradient of each class score
//! with respect to the globally pooled features is an output of the graph
//! itself (`outputs.class_gradients`, `[N, labels, channels]`): the
//! conversion script derives it in closed form from the head weights and
//! the forward pass's ReLU mask (see `models/README.md`). With global
//! average pooling over `h × w` cells, the gradient at every cell is that
//! value divided by `h · w`, so Grad-CAM's channel weight (the spatial mean
//! of the gradient) is `class_gradients[c, k] / (h · w)` and
//!
//! `cam = relu(Σ_k class_gradients[c, k] / (h · w) · features[:, :, k])`.

use crate::ai::manifest::Layout;

/// A feature map `[1, h, w, k]` (NHWC) or `[1, k, h, w]` (NCHW), flattened.
#[derive(Debug, Clone, Copy)]
pub struct FeatureMap<'a> {
    /// The values.
    pub values: &'a [f32],
    /// The shape as the model gave it.
    pub shape: &'a [usize],
    /// Its layout.
    pub layout: Layout,
}

impl FeatureMap<'_> {
    /// `(rows, cols, channels)`, or why the shape is not a feature map.
    pub fn dims(&self) -> Result<(usize, usize, usize), String> {
        let s = self.shape;
        if s.len() != 4 || s[0] != 1 {
            return Err(format!(
                "the feature output has shape {s:?}; Grad-CAM needs [1, h, w, k] or [1, k, h, w]"
            ));
        }
        let dims = match self.layout {
            Layout::Nhwc => (s[1], s[2], s[3]),
            Layout::Nchw => (s[2], s[3], s[1]),
        };
        if dims.0 * dims.1 * dims.2 != self.values.len() || dims.0 * dims.1 == 0 {
            return Err(format!(
                "the feature output has shape {s:?} and {} values",
                self.values.len()
            ));
        }
        Ok(dims)
    }
}

/// The raw (unnormalised) Grad-CAM map, `rows × cols` row-major, for the
/// class whose gradients are `weights` (one per feature channel, the
/// gradient of the class score with respect to the pooled channel).
pub fn raw_cam(features: FeatureMap<'_>, weights: &[f32]) -> Result<(Vec<f32>, u32, u32), String> {
    let (rows, cols, channels) = features.dims()?;
    if weights.len() != channels {
        return Err(format!(
            "{} class gradients for {channels} feature channels",
            weights.len()
        ));
    }
    let cells = rows * cols;
    let alpha: Vec<f64> = weights.iter().map(|&g| g as f64 / cells as f64).collect();
    let mut cam = vec![0f32; cells];
    for (cell, out) in cam.iter_mut().enumerate() {
        let sum: f64 = match features.layout {
            Layout::Nhwc => features.values[cell * channels..(cell + 1) * channels]
                .iter()
                .zip(&alpha)
                .map(|(&a, &w)| a as f64 * w)
                .sum(),
            Layout::Nchw => alpha
                .iter()
                .enumerate()
                .map(|(k, &w)| features.values[k * cells + cell] as f64 * w)
                .sum(),
        };
        *out = sum.max(0.0) as f32;
    }
    Ok((cam, rows as u32, cols as u32))
}

/// Divides by the maximum; an all-zero map stays all zeros.
pub fn normalise(map: &mut [f32]) {
    let max = map.iter().copied().fold(0f32, f32::max);
    if max > 0.0 {
        for v in map {
            *v /= max;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhwc_and_nchw_give_the_same_map() {
        // 2×2 cells, 3 channels.
        let nhwc: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut nchw = vec![0f32; 12];
        for cell in 0..4 {
            for k in 0..3 {
                nchw[k * 4 + cell] = nhwc[cell * 3 + k];
            }
        }
        let w = [1.0, -0.5, 0.25];
        let a = raw_cam(
            FeatureMap {
                values: &nhwc,
                shape: &[1, 2, 2, 3],
                layout: Layout::Nhwc,
            },
            &w,
        )
        .unwrap();
        let b = raw_cam(
            FeatureMap {
                values: &nchw,
                shape: &[1, 3, 2, 2],
                layout: Layout::Nchw,
            },
            &w,
        )
        .unwrap();
        assert_eq!(a, b);
        // Cell 0: (0·1 − 1·0.5 + 2·0.25) / 4 = 0.
        assert_eq!(a.0[0], 0.0);
        // Cell 3: (9 − 5 + 2.75) / 4.
        assert!((a.0[3] - 6.75 / 4.0).abs() < 1e-6);
    }

    #[test]
    fn negative_evidence_is_cut_and_mismatches_are_errors() {
        let f = [1.0f32, 2.0];
        let (cam, ..) = raw_cam(
            FeatureMap {
                values: &f,
                shape: &[1, 1, 2, 1],
                layout: Layout::Nhwc,
            },
            &[-1.0],
        )
        .unwrap();
        assert_eq!(cam, vec![0.0, 0.0]);
        let e = raw_cam(
            FeatureMap {
                values: &f,
                shape: &[1, 1, 2, 1],
                layout: Layout::Nhwc,
            },
            &[1.0, 2.0],
        )
        .unwrap_err();
        assert!(
            e.contains("2 class gradients for 1 feature channels"),
            "{e}"
        );
    }
}

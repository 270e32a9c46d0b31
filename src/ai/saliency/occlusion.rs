//! Occlusion sensitivity: hide one patch of the model input at a time
//! (filled with the neutral value), and record how far the target
//! probability falls. Model-agnostic: it needs only the scores output.

use serde::Serialize;

use crate::ai::AiError;

use super::input::{InputPixels, RunBatch};

/// Patch settings, in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OcclusionSettings {
    /// Patch side; `None` = a quarter of the input side (rounded up), so
    /// the default 8 positions per axis overlap by half or more.
    pub patch: Option<u32>,
    /// Step between patches; `None` = what fits 8 positions per axis.
    pub stride: Option<u32>,
    /// Occluded inputs per inference run (capped by what the model's batch
    /// dimension allows).
    pub batch: usize,
}

impl Default for OcclusionSettings {
    fn default() -> Self {
        Self {
            patch: None,
            stride: None,
            batch: 16,
        }
    }
}

/// Patches per axis of the default grid.
pub const DEFAULT_GRID: u32 = 8;

/// The patch size, stride and start positions along one axis of `size`.
pub fn axis_positions(
    size: u32,
    patch: Option<u32>,
    stride: Option<u32>,
) -> Result<(u32, u32, Vec<u32>), String> {
    let patch = patch.unwrap_or_else(|| size.div_ceil(4)).clamp(1, size);
    let stride = match stride {
        Some(0) => return Err("the occlusion stride must be at least 1 pixel".into()),
        Some(s) => s,
        None => (size - patch).div_ceil(DEFAULT_GRID - 1).max(1),
    };
    let mut starts: Vec<u32> = (0..)
        .map(|i| i * stride)
        .take_while(|&s| s + patch <= size)
        .collect();
    // The last patch ends at the edge, so every pixel is covered.
    if starts.last().is_none_or(|&s| s + patch < size) {
        starts.push(size - patch);
    }
    Ok((patch, stride, starts))
}

/// The patches of one run: `(x, y)` corners and the patch size.
#[derive(Debug, Clone)]
pub struct PatchLayout {
    /// Patch width and height.
    pub patch: (u32, u32),
    /// Steps along x and y.
    pub stride: (u32, u32),
    /// Top-left corners, row by row.
    pub corners: Vec<(u32, u32)>,
    /// Positions per axis (columns, rows).
    pub grid: (usize, usize),
}

impl PatchLayout {
    /// The layout for an input of `width × height`.
    pub fn new(width: u32, height: u32, settings: &OcclusionSettings) -> Result<Self, String> {
        let (pw, sx, xs) = axis_positions(width, settings.patch, settings.stride)?;
        let (ph, sy, ys) = axis_positions(height, settings.patch, settings.stride)?;
        let corners = ys
            .iter()
            .flat_map(|&y| xs.iter().map(move |&x| (x, y)))
            .collect();
        Ok(Self {
            patch: (pw, ph),
            stride: (sx, sy),
            corners,
            grid: (xs.len(), ys.len()),
        })
    }

    /// The settings in words, for the heatmap's label.
    pub fn describe(&self, neutral: &[f32], batch: usize) -> String {
        let fill = neutral
            .first()
            .map(|v| format!("{v:.3}"))
            .unwrap_or_default();
        format!(
            "{}×{} patches of {}×{} input px, stride {}×{}, filled with mid-gray ({fill} in model units), batch {batch}",
            self.grid.0, self.grid.1, self.patch.0, self.patch.1, self.stride.0, self.stride.1
        )
    }
}

/// Progress of a long saliency run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Inputs evaluated.
    pub done: usize,
    /// Inputs in all.
    pub total: usize,
}

/// Runs occlusion on `input`, whose target probability is `base`: `run`
/// evaluates a batch of `n` inputs and returns the target probability of
/// each. Returns the sensitivity at every input pixel (the mean probability
/// drop over the patches covering it, negatives cut to 0, not normalised).
/// Cancellation is checked between batches and gives
/// `AiError::Cancelled`, never a partial map.
#[allow(clippy::too_many_arguments)]
pub fn sensitivity(
    input: &[f32],
    pixels: &InputPixels,
    layout: &PatchLayout,
    batch: usize,
    base: f32,
    run: &mut RunBatch<'_>,
    progress: &mut dyn FnMut(Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<f32>, AiError> {
    let total = layout.corners.len();
    let (w, h) = (pixels.width, pixels.height);
    let mut drop_sum = vec![0f64; w * h];
    let mut covered = vec![0u32; w * h];
    let batch = batch.max(1);
    let mut buffer = Vec::with_capacity(batch * input.len());
    for (chunk_index, chunk) in layout.corners.chunks(batch).enumerate() {
        if cancelled() {
            return Err(AiError::Cancelled);
        }
        buffer.clear();
        for &(x, y) in chunk {
            let start = buffer.len();
            buffer.extend_from_slice(input);
            let (x, y) = (x as usize, y as usize);
            let (pw, ph) = (layout.patch.0 as usize, layout.patch.1 as usize);
            pixels.hide_rect(&mut buffer[start..], x, y, x + pw, y + ph);
        }
        let probabilities = run(&buffer, chunk.len())?;
        if probabilities.len() != chunk.len() {
            return Err(AiError::Inference(format!(
                "{} scores for a batch of {}",
                probabilities.len(),
                chunk.len()
            )));
        }
        for (&(x, y), &p) in chunk.iter().zip(&probabilities) {
            let drop = (base - p) as f64;
            for row in y as usize..(y + layout.patch.1) as usize {
                let line = row * w;
                for col in x as usize..(x + layout.patch.0) as usize {
                    drop_sum[line + col] += drop;
                    covered[line + col] += 1;
                }
            }
        }
        progress(Progress {
            done: chunk_index * batch + chunk.len(),
            total,
        });
    }
    if cancelled() {
        return Err(AiError::Cancelled);
    }
    Ok(drop_sum
        .iter()
        .zip(&covered)
        .map(|(&s, &n)| {
            if n == 0 {
                0.0
            } else {
                (s / n as f64).max(0.0) as f32
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grid_is_eight_overlapping_patches_to_the_edge() {
        let (patch, stride, starts) = axis_positions(150, None, None).unwrap();
        assert_eq!((patch, stride), (38, 16));
        assert_eq!(starts.len(), 8);
        assert_eq!(*starts.last().unwrap() + patch, 150);
        assert!(stride < patch, "patches overlap");
        let (patch, _, starts) = axis_positions(64, None, None).unwrap();
        assert_eq!(starts.len(), 8);
        assert_eq!(*starts.last().unwrap() + patch, 64);
    }

    #[test]
    fn explicit_settings_cover_the_edge_and_a_zero_stride_is_refused() {
        let (_, _, starts) = axis_positions(10, Some(4), Some(4)).unwrap();
        assert_eq!(starts, vec![0, 4, 6]);
        assert!(axis_positions(10, Some(4), Some(0)).is_err());
        let (patch, _, starts) = axis_positions(10, Some(40), None).unwrap();
        assert_eq!((patch, starts), (10, vec![0]));
    }
}

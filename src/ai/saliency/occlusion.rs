//! Occlusion sensitivity: hide one patch of the model input at a time
//! (filled with the neutral value), and record how far the target
//! probability falls. Model-agnostic: it needs only the scores output.

use serde::Serialize;

use crate::ai::AiError;

use super::input::{InputPixels, RunBatch};

/// Patch settings, in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OcclusionSettings {
    /// Patch side; `None` = twice the stride, so neighbouring patches
    /// overlap by half.
    pub patch: Option<u32>,
    /// Step between patch centres; `None` = an eighth of the input side
    /// (an 8×8 grid).
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

/// One axis of a patch layout: the patch, the stride, and the
/// `[start, end)` of each window.
pub type AxisWindows = (f64, f64, Vec<(u32, u32)>);

/// The windows along one axis of `size` pixels: patch centres every
/// `stride` pixels starting half a stride in, each window `patch` wide
/// around its centre and clipped to the image. Windows near the border
/// reach past it, so every pixel away from the outermost half-stride is
/// covered by the same number of windows and the mean drop per pixel has
/// no bias towards the border. Returns the patch, the stride and the
/// `[start, end)` of each window.
pub fn axis_windows(
    size: u32,
    patch: Option<u32>,
    stride: Option<u32>,
) -> Result<AxisWindows, String> {
    if size == 0 {
        return Err("the model input has no pixels".into());
    }
    let stride = match stride {
        Some(0) => return Err("the occlusion stride must be at least 1 pixel".into()),
        Some(s) => s as f64,
        None => size as f64 / DEFAULT_GRID as f64,
    };
    let patch = match patch {
        Some(0) => return Err("the occlusion patch must be at least 1 pixel".into()),
        Some(p) => p as f64,
        None => 2.0 * stride,
    };
    let windows = (0..)
        .map(|i| (i as f64 + 0.5) * stride)
        // One window per stride-wide cell that starts inside the image.
        .take_while(|&centre| centre - stride / 2.0 < size as f64)
        .map(|centre| {
            let start = (centre - patch / 2.0).round().max(0.0) as u32;
            let end = ((centre + patch / 2.0).round() as u32).clamp(start + 1, size);
            (start, end)
        })
        .collect();
    Ok((patch, stride, windows))
}

/// The patches of one run.
#[derive(Debug, Clone)]
pub struct PatchLayout {
    /// Nominal patch width and height.
    pub patch: (f64, f64),
    /// Steps along x and y.
    pub stride: (f64, f64),
    /// Each window as `(x0, y0, x1, y1)`, end exclusive, row by row.
    pub windows: Vec<(u32, u32, u32, u32)>,
    /// Windows per axis (columns, rows).
    pub grid: (usize, usize),
}

impl PatchLayout {
    /// The layout for an input of `width × height`.
    pub fn new(width: u32, height: u32, settings: &OcclusionSettings) -> Result<Self, String> {
        let (pw, sx, xs) = axis_windows(width, settings.patch, settings.stride)?;
        let (ph, sy, ys) = axis_windows(height, settings.patch, settings.stride)?;
        let windows = ys
            .iter()
            .flat_map(|&(y0, y1)| xs.iter().map(move |&(x0, x1)| (x0, y0, x1, y1)))
            .collect();
        Ok(Self {
            patch: (pw, ph),
            stride: (sx, sy),
            windows,
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
            "{}×{} patches of {:.0}×{:.0} input px, stride {:.1}×{:.1}, filled with mid-gray ({fill} in model units), batch {batch}",
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
/// each. Returns, for each window (row by row, as in `layout`), the
/// probability drop when it is hidden, negatives cut to 0: the map of
/// Zeiler and Fergus (2014), sensitivity as a function of the occluder's
/// position. Cancellation is checked between batches and gives
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
    let total = layout.windows.len();
    let batch = batch.max(1);
    let mut drops = Vec::with_capacity(total);
    let mut buffer = Vec::with_capacity(batch * input.len());
    for chunk in layout.windows.chunks(batch) {
        if cancelled() {
            return Err(AiError::Cancelled);
        }
        buffer.clear();
        for &(x0, y0, x1, y1) in chunk {
            let start = buffer.len();
            buffer.extend_from_slice(input);
            let [x0, y0, x1, y1] = [x0, y0, x1, y1].map(|v| v as usize);
            pixels.hide_rect(&mut buffer[start..], x0, y0, x1, y1);
        }
        let probabilities = run(&buffer, chunk.len())?;
        if probabilities.len() != chunk.len() {
            return Err(AiError::Inference(format!(
                "{} scores for a batch of {}",
                probabilities.len(),
                chunk.len()
            )));
        }
        drops.extend(probabilities.iter().map(|&p| (base - p).max(0.0)));
        progress(Progress {
            done: drops.len(),
            total,
        });
    }
    if cancelled() {
        return Err(AiError::Cancelled);
    }
    Ok(drops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grid_is_eight_half_overlapping_windows_per_axis() {
        let (patch, stride, windows) = axis_windows(150, None, None).unwrap();
        assert_eq!((patch, stride), (37.5, 18.75));
        assert_eq!(windows.len(), 8);
        assert_eq!(windows.first().unwrap().0, 0);
        assert_eq!(windows.last().unwrap().1, 150);
        // Away from the outer half-stride every pixel is under two windows.
        for x in 10..140u32 {
            let n = windows.iter().filter(|w| w.0 <= x && x < w.1).count();
            assert_eq!(n, 2, "pixel {x}");
        }
        let (_, _, windows) = axis_windows(48, None, None).unwrap();
        assert_eq!(windows.len(), 8);
    }

    #[test]
    fn explicit_settings_are_honoured_and_zero_is_refused() {
        let (_, _, windows) = axis_windows(10, Some(4), Some(4)).unwrap();
        assert_eq!(windows, vec![(0, 4), (4, 8), (8, 10)]);
        let (_, _, windows) = axis_windows(10, Some(6), Some(4)).unwrap();
        assert_eq!(windows, vec![(0, 5), (3, 9), (7, 10)]);
        assert!(axis_windows(10, Some(4), Some(0)).is_err());
        assert!(axis_windows(10, Some(0), Some(2)).is_err());
        let (_, _, windows) = axis_windows(10, Some(40), Some(20)).unwrap();
        assert_eq!(windows, vec![(0, 10)]);
    }
}

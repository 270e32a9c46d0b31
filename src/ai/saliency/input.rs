//! Editing a prepared model input: its pixel layout and the neutral value
//! that stands for "no information" when pixels are hidden.

use crate::ai::AiError;
use crate::ai::manifest::{Layout, Manifest};
use crate::ai::preprocess::Prepared;

/// Evaluates `n` model inputs laid end to end and returns the target
/// probability of each.
pub type RunBatch<'a> = dyn FnMut(&[f32], usize) -> Result<Vec<f32>, AiError> + 'a;

/// Evaluates `n` model inputs laid end to end and returns the target's
/// probability and log-odds for each.
pub type ScoreBatch<'a> = dyn FnMut(&[f32], usize) -> Result<Vec<TargetScore>, AiError> + 'a;

/// One input's score for the target label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetScore {
    /// The probability.
    pub probability: f32,
    /// The log-odds, ln(p / (1 − p)), from the logits where the model has
    /// them.
    pub log_odds: f64,
}

/// The geometry of one model input image, with its neutral value.
#[derive(Debug, Clone)]
pub struct InputPixels {
    /// NHWC or NCHW.
    pub layout: Layout,
    /// Input width.
    pub width: usize,
    /// Input height.
    pub height: usize,
    /// Channels.
    pub channels: usize,
    /// Per channel, the normalised value of mid-gray (raw 127.5): the
    /// fill for hidden pixels. For `x / 127.5 − 1` models it is 0, for
    /// mean/std-normalised models it is close to the channel mean.
    pub neutral: Vec<f32>,
}

impl InputPixels {
    /// The layout of `manifest`'s input.
    pub fn new(manifest: &Manifest) -> Self {
        let p = &manifest.preprocess;
        let channels = manifest.input.channels as usize;
        let pick =
            |v: &[f32], c: usize, default: f32| v.get(c).or(v.first()).copied().unwrap_or(default);
        let neutral = (0..channels)
            .map(|c| (127.5 * p.scale + p.offset - pick(&p.mean, c, 0.0)) / pick(&p.std, c, 1.0))
            .collect();
        Self {
            layout: manifest.input.layout,
            width: manifest.input.width as usize,
            height: manifest.input.height as usize,
            channels,
            neutral,
        }
    }

    /// Values in one image.
    pub fn len(&self) -> usize {
        self.width * self.height * self.channels
    }

    /// True for an empty input.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces pixel `index` (`y * width + x`) of `image` with the neutral
    /// value in every channel.
    pub fn hide(&self, image: &mut [f32], index: usize) {
        let plane = self.width * self.height;
        for (c, &v) in self.neutral.iter().enumerate() {
            let at = match self.layout {
                Layout::Nhwc => index * self.channels + c,
                Layout::Nchw => c * plane + index,
            };
            image[at] = v;
        }
    }

    /// Hides the rectangle `x0..x1 × y0..y1`.
    pub fn hide_rect(&self, image: &mut [f32], x0: usize, y0: usize, x1: usize, y1: usize) {
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                self.hide(image, y * self.width + x);
            }
        }
    }

    /// The batch shape for `n` images like `prepared`.
    pub fn batch_shape(prepared: &Prepared, n: usize) -> [usize; 4] {
        let mut shape = prepared.shape;
        shape[0] = n;
        shape
    }
}

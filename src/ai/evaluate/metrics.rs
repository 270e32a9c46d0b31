//! Metrics of one label's calls against the ground truth: the confusion
//! matrix at a threshold and the five rates read from it, ROC AUC
//! (Mann–Whitney, ties counted one half), the threshold that reaches a
//! sensitivity, ROC points and calibration bins.
//!
//! Every computation takes optional per-image weights (how many times a
//! bootstrap resample drew each image), so the point estimate and every
//! resample go through the same code; a zero denominator is `None`, never
//! NaN.

use serde::Serialize;

/// The counts of calls against the truth at one threshold (an image is
/// called positive when its probability is at or above the threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Confusion {
    /// Positive images called positive.
    pub tp: u64,
    /// Negative images called positive.
    pub fp: u64,
    /// Negative images called negative.
    pub tn: u64,
    /// Positive images called negative.
    #[serde(rename = "fn")]
    pub fn_: u64,
}

/// `num / den`, or `None` when `den` is zero.
fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl Confusion {
    /// (TP + TN) / all.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.tp + self.tn, self.tp + self.fp + self.tn + self.fn_)
    }

    /// Sensitivity (recall): TP / (TP + FN).
    pub fn sensitivity(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Specificity: TN / (TN + FP).
    pub fn specificity(&self) -> Option<f64> {
        ratio(self.tn, self.tn + self.fp)
    }

    /// Precision (positive predictive value): TP / (TP + FP).
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// F1: 2 TP / (2 TP + FP + FN), the harmonic mean of precision and
    /// sensitivity.
    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

/// The metrics `hilum evaluate` reports, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// [`Confusion::accuracy`].
    Accuracy,
    /// [`Confusion::sensitivity`].
    Sensitivity,
    /// [`Confusion::specificity`].
    Specificity,
    /// [`Confusion::precision`].
    Precision,
    /// [`Confusion::f1`].
    F1,
    /// [`LabelSample::auc`]: threshold-free.
    Auc,
}

impl Metric {
    /// Every metric, in the order of the report.
    pub const ALL: [Metric; 6] = [
        Metric::Accuracy,
        Metric::Sensitivity,
        Metric::Specificity,
        Metric::Precision,
        Metric::F1,
        Metric::Auc,
    ];

    /// The metric's name in the JSON and the table.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Sensitivity => "sensitivity",
            Metric::Specificity => "specificity",
            Metric::Precision => "precision",
            Metric::F1 => "f1",
            Metric::Auc => "auc",
        }
    }
}

/// One label over the evaluated images: each image's probability for the
/// label and whether the image is positive for it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSample {
    scores: Vec<f64>,
    truth: Vec<bool>,
    /// Image indices by ascending score (ties in index order).
    order: Vec<usize>,
}

impl LabelSample {
    /// A sample from `(probability, positive)` pairs, one per image.
    pub fn new(pairs: impl IntoIterator<Item = (f64, bool)>) -> Self {
        let (scores, truth): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
        Self {
            scores,
            truth,
            order,
        }
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether the sample holds no image.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The images' probabilities.
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }

    /// Whether each image is positive.
    pub fn truth(&self) -> &[bool] {
        &self.truth
    }

    /// Indices of the positive images.
    pub fn positive_indices(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.truth[i]).collect()
    }

    /// Indices of the negative images.
    pub fn negative_indices(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| !self.truth[i]).collect()
    }

    fn weight(weights: Option<&[u32]>, i: usize) -> u64 {
        weights.map_or(1, |w| u64::from(w[i]))
    }

    /// The confusion matrix at `threshold` (called positive when the
    /// probability is at or above it); `weights` counts each image that
    /// many times (`None`: once each).
    pub fn confusion(&self, threshold: f64, weights: Option<&[u32]>) -> Confusion {
        let mut c = Confusion::default();
        for (i, (&score, &positive)) in self.scores.iter().zip(&self.truth).enumerate() {
            let w = Self::weight(weights, i);
            match (positive, score >= threshold) {
                (true, true) => c.tp += w,
                (true, false) => c.fn_ += w,
                (false, true) => c.fp += w,
                (false, false) => c.tn += w,
            }
        }
        c
    }

    /// ROC AUC: the probability that a positive image scores above a
    /// negative one, ties counting one half (the Mann–Whitney U statistic
    /// over positives × negatives); `None` without both classes.
    pub fn auc(&self, weights: Option<&[u32]>) -> Option<f64> {
        // Twice the U statistic, in integers: each positive counts 2 per
        // negative strictly below it and 1 per negative tied with it.
        let (mut twice_u, mut neg_below, mut pos_total) = (0u128, 0u128, 0u128);
        let mut start = 0;
        while start < self.order.len() {
            let score = self.scores[self.order[start]];
            let mut end = start;
            let (mut pos, mut neg) = (0u128, 0u128);
            while end < self.order.len() && self.scores[self.order[end]] == score {
                let i = self.order[end];
                let w = u128::from(Self::weight(weights, i));
                if self.truth[i] {
                    pos += w;
                } else {
                    neg += w;
                }
                end += 1;
            }
            twice_u += pos * (2 * neg_below + neg);
            neg_below += neg;
            pos_total += pos;
            start = end;
        }
        let pairs = pos_total * neg_below;
        (pairs > 0).then(|| twice_u as f64 / (2 * pairs) as f64)
    }

    /// The largest threshold at which the sensitivity on this sample is at
    /// least `target` (a positive image's probability); `None` when no
    /// image is positive or `target` is above 1.
    pub fn threshold_for_sensitivity(&self, target: f64) -> Option<f64> {
        let mut positives: Vec<f64> = self
            .scores
            .iter()
            .zip(&self.truth)
            .filter(|(_, t)| **t)
            .map(|(s, _)| *s)
            .collect();
        if positives.is_empty() || target.is_nan() || target > 1.0 {
            return None;
        }
        positives.sort_by(|a, b| b.total_cmp(a));
        // The fewest positives called positive that reach the target; the
        // small allowance keeps 0.75 × 4 at 3, not 3.0000000000000004.
        let n = positives.len();
        let needed = ((target * n as f64) - 1e-9).ceil().max(1.0) as usize;
        positives.get(needed - 1).copied()
    }

    /// The ROC curve: (false-positive rate, true-positive rate) from the
    /// highest threshold to the lowest, starting at (0, 0) and ending at
    /// (1, 1); empty without both classes.
    pub fn roc_points(&self) -> Vec<(f64, f64)> {
        let positives = self.truth.iter().filter(|t| **t).count();
        let negatives = self.len() - positives;
        if positives == 0 || negatives == 0 {
            return Vec::new();
        }
        let mut points = vec![(0.0, 0.0)];
        let (mut tp, mut fp) = (0usize, 0usize);
        let mut k = self.order.len();
        while k > 0 {
            let score = self.scores[self.order[k - 1]];
            while k > 0 && self.scores[self.order[k - 1]] == score {
                if self.truth[self.order[k - 1]] {
                    tp += 1;
                } else {
                    fp += 1;
                }
                k -= 1;
            }
            points.push((fp as f64 / negatives as f64, tp as f64 / positives as f64));
        }
        points
    }

    /// The reliability diagram: `bins` equal-width probability bins, each
    /// with its images' mean probability and the fraction of them that is
    /// positive (bins with no image are left out).
    pub fn calibration(&self, bins: usize) -> Vec<CalibrationBin> {
        let bins = bins.max(1);
        let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
        for (&score, &positive) in self.scores.iter().zip(&self.truth) {
            let b = ((score.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
            sums[b].0 += 1;
            sums[b].1 += score;
            sums[b].2 += usize::from(positive);
        }
        sums.iter()
            .enumerate()
            .filter(|(_, (count, _, _))| *count > 0)
            .map(|(b, &(count, sum, positives))| CalibrationBin {
                low: b as f64 / bins as f64,
                high: (b + 1) as f64 / bins as f64,
                count,
                mean_probability: sum / count as f64,
                observed: positives as f64 / count as f64,
            })
            .collect()
    }
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// The bin's lower edge.
    pub low: f64,
    /// The bin's upper edge.
    pub high: f64,
    /// Images in the bin.
    pub count: usize,
    /// Their mean probability.
    pub mean_probability: f64,
    /// The fraction of them that is positive.
    pub observed: f64,
}

//! Percentile bootstrap confidence intervals, reproducible: a fixed seed,
//! a fixed number of resamples, and resampling stratified by class (the
//! positives are drawn with replacement among the positives, the
//! negatives among the negatives), so every resample keeps the set's
//! class counts and sensitivity, specificity and AUC stay defined in all
//! of them.

use super::metrics::{LabelSample, Metric};

/// Resamples drawn by default.
pub const RESAMPLES: usize = 2000;
/// The seed of every run (any fixed value would do; this one fits a
/// JavaScript number).
pub const SEED: u64 = 0x5EED_E7A1;
/// The intervals' confidence.
pub const CONFIDENCE: f64 = 0.95;
/// How the intervals are made, in words (printed in the JSON).
pub const METHOD: &str = "percentile bootstrap, resampling stratified by class \
     (positives among positives, negatives among negatives); resamples in which \
     a metric is undefined (e.g. precision with no positive call) are left out of \
     that metric's interval";

/// SplitMix64 (Steele, Lea and Flood 2014): a few lines of well-known
/// integer mixing, enough to draw resamples reproducibly.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0), by multiplying into the high word.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
}

/// The `q` quantile (0 ≤ q ≤ 1) of ascending `sorted` values, linearly
/// interpolated between order statistics (NumPy's default); `None` when
/// empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(last);
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// The interval holding the central `confidence` of `values` (sorted
/// here); `None` when empty.
pub fn percentile_interval(mut values: Vec<f64>, confidence: f64) -> Option<Interval> {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Some(Interval {
        low: quantile(&values, tail)?,
        high: quantile(&values, 1.0 - tail)?,
    })
}

/// The weights of one stratified resample: how many times each image was
/// drawn.
pub fn stratified_weights(
    rng: &mut SplitMix64,
    len: usize,
    positives: &[usize],
    negatives: &[usize],
) -> Vec<u32> {
    let mut weights = vec![0u32; len];
    for class in [positives, negatives] {
        for _ in 0..class.len() {
            weights[class[rng.below(class.len())]] += 1;
        }
    }
    weights
}

/// The value of `metric` on `sample` under `weights`, the threshold
/// metrics read from `confusion` (the matrix at the operating threshold
/// under the same weights).
fn metric_value(
    metric: Metric,
    sample: &LabelSample,
    confusion: &super::metrics::Confusion,
    weights: Option<&[u32]>,
) -> Option<f64> {
    match metric {
        Metric::Accuracy => confusion.accuracy(),
        Metric::Sensitivity => confusion.sensitivity(),
        Metric::Specificity => confusion.specificity(),
        Metric::Precision => confusion.precision(),
        Metric::F1 => confusion.f1(),
        Metric::Auc => sample.auc(weights),
    }
}

/// Every metric of [`Metric::ALL`] on `sample` at `threshold`: the point
/// value (`None` when undefined) and its percentile bootstrap interval
/// from `resamples` stratified resamples drawn from `seed` (`None` when
/// the value is undefined or no resample defines it).
pub fn metrics_with_intervals(
    sample: &LabelSample,
    threshold: f64,
    resamples: usize,
    seed: u64,
    confidence: f64,
) -> Vec<(Metric, Option<f64>, Option<Interval>)> {
    let point = sample.confusion(threshold, None);
    let values: Vec<Option<f64>> = Metric::ALL
        .iter()
        .map(|&m| metric_value(m, sample, &point, None))
        .collect();
    let positives = sample.positive_indices();
    let negatives = sample.negative_indices();
    let mut drawn: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); Metric::ALL.len()];
    let mut rng = SplitMix64::new(seed);
    if !sample.is_empty() {
        for _ in 0..resamples {
            let weights = stratified_weights(&mut rng, sample.len(), &positives, &negatives);
            let confusion = sample.confusion(threshold, Some(&weights));
            for (k, &metric) in Metric::ALL.iter().enumerate() {
                if values[k].is_none() {
                    continue;
                }
                if let Some(v) = metric_value(metric, sample, &confusion, Some(&weights)) {
                    drawn[k].push(v);
                }
            }
        }
    }
    Metric::ALL
        .iter()
        .zip(values)
        .zip(drawn)
        .map(|((&metric, value), drawn)| {
            let interval = value.and_then(|_| percentile_interval(drawn, confidence));
            (metric, value, interval)
        })
        .collect()
}

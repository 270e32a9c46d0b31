//! The deletion metric: does hiding what the map calls important hurt the
//! model more than hiding the same number of random pixels?

use crate::ai::AiError;

use super::input::{InputPixels, ScoreBatch};
use super::{Faithfulness, Verdict};

/// Fraction of input pixels hidden by default (the top 10 %).
pub const DEFAULT_FRACTION: f32 = 0.1;

/// Random deletions the salient one is compared with: beating all 16 has
/// a chance of 1 in 17 for a map that knows nothing.
pub const RANDOM_DRAWS: usize = 16;

/// The least margin, in log-odds, by which hiding the salient pixels must
/// beat the mean random deletion to count as faithful (e^0.1 ≈ a 10 %
/// change in the odds).
pub const MIN_MARGIN: f64 = 0.1;

/// Drops below this many log-odds, salient and random alike, mean the
/// score did not respond to the deletion at all.
pub const NO_RESPONSE: f64 = 1e-3;

/// The decision rule, as the results state it.
pub const RULE: &str = "deletion on the target's log-odds: faithful when hiding the map's top \
pixels lowers the log-odds by at least 0.1, more than each of 16 random deletions of as many \
pixels, and more than their mean by at least max(3 standard deviations, 0.1); not faithful when \
it lowers them by less than 0.1 or by no more than the random mean plus one standard deviation; \
inconclusive otherwise, or when no deletion changes the score by 0.001";

/// A fixed seed, so the same image and map give the same numbers.
const SEED: u64 = 0x5EED_0FDE_1E7E;

/// SplitMix64: a few lines of well-known integer mixing, enough to pick
/// pixels reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The indices of the `n` largest values (ties broken by position).
pub fn top_indices(map: &[f32], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..map.len()).collect();
    let n = n.min(map.len());
    if n == 0 {
        return Vec::new();
    }
    order.select_nth_unstable_by(n - 1, |&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    order.truncate(n);
    order
}

fn random_indices(len: usize, n: usize, rng: &mut SplitMix64) -> Vec<usize> {
    // A partial Fisher–Yates shuffle.
    let mut all: Vec<usize> = (0..len).collect();
    for i in 0..n.min(len) {
        let j = i + rng.below(len - i);
        all.swap(i, j);
    }
    all.truncate(n.min(len));
    all
}

/// Measures the deletion metric for `map` (one value per input pixel) on
/// `input`. `run` evaluates `n` inputs at once and returns the target's
/// probability and log-odds for each.
pub fn deletion(
    input: &[f32],
    pixels: &InputPixels,
    map: &[f32],
    fraction: f32,
    score: &'static str,
    run: &mut ScoreBatch<'_>,
) -> Result<Faithfulness, AiError> {
    let count = pixels.width * pixels.height;
    if map.len() != count {
        return Err(AiError::Inference(format!(
            "saliency map has {} values for {count} input pixels",
            map.len()
        )));
    }
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(AiError::Inference(format!(
            "the deletion fraction must be in (0, 1], not {fraction}"
        )));
    }
    let n = ((count as f64 * fraction as f64).round() as usize).max(1);
    let mut rng = SplitMix64(SEED);
    // The intact input first, so that every score comes from one batch.
    let mut sets = vec![Vec::new(), top_indices(map, n)];
    sets.extend((0..RANDOM_DRAWS).map(|_| random_indices(count, n, &mut rng)));
    let mut batch = Vec::with_capacity(sets.len() * input.len());
    for set in &sets {
        let start = batch.len();
        batch.extend_from_slice(input);
        for &i in set {
            pixels.hide(&mut batch[start..], i);
        }
    }
    let scores = run(&batch, sets.len())?;
    if scores.len() != sets.len() {
        return Err(AiError::Inference(format!(
            "{} scores for a batch of {}",
            scores.len(),
            sets.len()
        )));
    }
    let base = scores[0];
    let random = &scores[2..];
    let random_mean = random.iter().map(|s| s.probability).sum::<f32>() / RANDOM_DRAWS as f32;
    let random_score_drops: Vec<f64> = random.iter().map(|s| base.log_odds - s.log_odds).collect();
    let salient_score_drop = base.log_odds - scores[1].log_odds;
    let (verdict, reason) = judge(salient_score_drop, &random_score_drops);
    Ok(Faithfulness {
        fraction: n as f32 / count as f32,
        base_probability: base.probability,
        salient_drop: base.probability - scores[1].probability,
        random_drop: base.probability - random_mean,
        score,
        base_score: base.log_odds,
        salient_score_drop,
        random_score_drop_mean: mean(&random_score_drops),
        random_score_drop_sd: sd(&random_score_drops),
        random_score_drops,
        verdict,
        reason,
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The sample standard deviation (0 for fewer than two values).
fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// [`RULE`] applied to the salient drop and the random drops, with the
/// reason in words.
pub fn judge(salient: f64, random: &[f64]) -> (Verdict, String) {
    let all_finite = salient.is_finite() && random.iter().all(|v| v.is_finite());
    if !all_finite || random.is_empty() {
        return (
            Verdict::Inconclusive,
            "the model's score is not finite, so the deletions cannot be compared".into(),
        );
    }
    let (m, s) = (mean(random), sd(random));
    let max = random.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let largest = random.iter().fold(salient.abs(), |a, v| a.max(v.abs()));
    let facts = format!(
        "hiding the map's top pixels lowers the log-odds by {salient:.3}; {} random deletions \
         by {m:.3} ± {s:.3} (at most {max:.3})",
        random.len()
    );
    if largest < NO_RESPONSE {
        return (
            Verdict::Inconclusive,
            format!("{facts}: the score does not respond to the deletion"),
        );
    }
    if salient < MIN_MARGIN {
        (
            Verdict::NotFaithful,
            format!("{facts}: hiding what the map marks does not lower the score"),
        )
    } else if salient > max && salient - m >= (3.0 * s).max(MIN_MARGIN) {
        (
            Verdict::Faithful,
            format!("{facts}: the map points at what the model uses"),
        )
    } else if salient <= m + s {
        (
            Verdict::NotFaithful,
            format!("{facts}: the map explains the prediction no better than random pixels"),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!("{facts}: better than random, but not clearly"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_indices_picks_the_largest_and_random_sets_are_distinct_and_repeatable() {
        let map = [0.1, 0.9, 0.5, 0.9, 0.0];
        let mut top = top_indices(&map, 3);
        top.sort();
        assert_eq!(top, vec![1, 2, 3]);
        let a = random_indices(100, 10, &mut SplitMix64(SEED));
        let b = random_indices(100, 10, &mut SplitMix64(SEED));
        assert_eq!(a, b);
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn the_verdict_follows_the_rule() {
        let noise = [0.01, -0.02, 0.03, 0.0, 0.02, -0.01];
        assert_eq!(judge(2.0, &noise).0, Verdict::Faithful);
        // Beats every draw but not by the minimum margin.
        assert_eq!(judge(0.15, &noise).0, Verdict::Faithful);
        // Beats the random deletions, which raise the score, but does not
        // lower it either.
        assert_eq!(judge(-1.0, &[-6.0, -5.0, -7.0]).0, Verdict::NotFaithful);
        assert_eq!(judge(0.5, &[0.0, 0.1, 0.6, 0.1]).0, Verdict::Inconclusive);
        // Lowers the score, but no more than random deletions do.
        assert_eq!(judge(0.4, &[0.3, 0.5, 0.2, 0.6]).0, Verdict::NotFaithful);
        assert_eq!(judge(0.0, &noise).0, Verdict::NotFaithful);
        assert_eq!(judge(-0.5, &noise).0, Verdict::NotFaithful);
        // One random draw hurts more than the map: not clearly faithful.
        assert_eq!(judge(1.0, &[0.0, 0.1, 1.2, 0.2]).0, Verdict::Inconclusive);
        assert_eq!(judge(0.0, &[0.0; 4]).0, Verdict::Inconclusive);
        assert_eq!(judge(f64::NAN, &noise).0, Verdict::Inconclusive);
        let (_, reason) = judge(0.0, &noise);
        assert!(reason.contains("does not lower the score"), "{reason}");
        let (_, reason) = judge(0.4, &[0.3, 0.5, 0.2, 0.6]);
        assert!(reason.contains("no better than random"), "{reason}");
    }
}

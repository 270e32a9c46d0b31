//! The deletion metric: does hiding what the map calls important hurt the
//! model more than hiding the same number of random pixels?

use crate::ai::AiError;

use super::Faithfulness;
use super::input::{InputPixels, RunBatch};

/// Fraction of input pixels hidden by default (the top 10 %).
pub const DEFAULT_FRACTION: f32 = 0.1;

/// Random draws averaged for the baseline.
pub const RANDOM_DRAWS: usize = 4;

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
/// `input`, whose target probability is `base`. `run` evaluates `n`
/// inputs at once and returns their target probabilities.
pub fn deletion(
    input: &[f32],
    pixels: &InputPixels,
    map: &[f32],
    fraction: f32,
    base: f32,
    run: &mut RunBatch<'_>,
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
    let mut sets = vec![top_indices(map, n)];
    sets.extend((0..RANDOM_DRAWS).map(|_| random_indices(count, n, &mut rng)));
    let mut batch = Vec::with_capacity(sets.len() * input.len());
    for set in &sets {
        let start = batch.len();
        batch.extend_from_slice(input);
        for &i in set {
            pixels.hide(&mut batch[start..], i);
        }
    }
    let p = run(&batch, sets.len())?;
    if p.len() != sets.len() {
        return Err(AiError::Inference(format!(
            "{} scores for a batch of {}",
            p.len(),
            sets.len()
        )));
    }
    let random_mean = p[1..].iter().sum::<f32>() / RANDOM_DRAWS as f32;
    Ok(Faithfulness {
        fraction: n as f32 / count as f32,
        base_probability: base,
        salient_drop: base - p[0],
        random_drop: base - random_mean,
    })
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
}

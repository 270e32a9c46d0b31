//! Running many edited inputs through the model in batches, and reading a
//! label's score from them: its probability, and its log-odds from the
//! logits where the model has them (probabilities pinned at 1.00 hide how
//! much a deletion hurts; log-odds do not saturate).

use crate::ai::graph::{FinalActivation, LOGITS_OUTPUT};
use crate::ai::model::LogOdds;
use crate::ai::preprocess::Prepared;
use crate::ai::{AiError, Engine, LoadedModel, classify::probabilities};

use super::input::{InputPixels, TargetScore};

/// One input's scores for every label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScores {
    /// The probabilities.
    pub probabilities: Vec<f32>,
    /// The logits, where the model gives them.
    pub logits: Option<Vec<f32>>,
}

/// ln(p / (1 − p)) in f64, with p kept inside (0, 1) by the smallest steps
/// float32 can take, so a pinned probability gives a large finite value.
pub fn log_odds_of_probability(p: f32) -> f64 {
    let p = f64::from(p).clamp(
        f64::from(f32::EPSILON) / 2.0,
        1.0 - f64::from(f32::EPSILON) / 2.0,
    );
    (p / (1.0 - p)).ln()
}

/// The log-odds of label `target` from logits `z` before `activation`:
/// the logit itself after a sigmoid; after a softmax,
/// z_target − ln Σ_{j ≠ target} e^{z_j}.
pub fn log_odds_of_logits(z: &[f32], target: usize, activation: FinalActivation) -> f64 {
    let zt = f64::from(z[target]);
    match activation {
        FinalActivation::Sigmoid => zt,
        FinalActivation::Softmax => {
            let others: Vec<f64> = z
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != target)
                .map(|(_, &v)| f64::from(v))
                .collect();
            if others.is_empty() {
                return f64::INFINITY;
            }
            let max = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = others.iter().map(|v| (v - max).exp()).sum();
            zt - (max + sum.ln())
        }
    }
}

impl LoadedModel {
    /// The most inputs one run may take: 1 on the embedded engine (its
    /// graph has the batch fixed to 1), else the model's batch dimension.
    pub fn max_batch(&self) -> usize {
        if !matches!(self.engine, Engine::Onnxruntime { .. }) {
            return 1;
        }
        self.session
            .inputs()
            .iter()
            .find(|i| i.name() == self.manifest.input.name)
            .and_then(|i| match i.dtype() {
                ort::value::ValueType::Tensor { shape, .. } => shape.first().copied(),
                _ => None,
            })
            .map_or(1, |d| if d > 0 { d as usize } else { usize::MAX })
    }

    /// How this model's log-odds are read (see [`LogOdds::describe`]).
    pub fn log_odds_source(&self) -> LogOdds {
        self.log_odds
    }

    /// Target probabilities of `n` inputs laid end to end in `batch`.
    pub(super) fn target_probabilities(
        &mut self,
        prepared: &Prepared,
        batch: &[f32],
        n: usize,
        target: usize,
    ) -> Result<Vec<f32>, AiError> {
        Ok(self
            .batch_scores(prepared, batch, n, false)?
            .into_iter()
            .map(|s| s.probabilities[target])
            .collect())
    }

    /// The target's probability and log-odds for `n` inputs laid end to end
    /// in `batch`.
    pub(super) fn target_scores(
        &mut self,
        prepared: &Prepared,
        batch: &[f32],
        n: usize,
        target: usize,
    ) -> Result<Vec<TargetScore>, AiError> {
        let source = self.log_odds;
        Ok(self
            .batch_scores(prepared, batch, n, true)?
            .into_iter()
            .map(|s| {
                let probability = s.probabilities[target];
                let log_odds = match (source, &s.logits) {
                    (LogOdds::Scores(a) | LogOdds::Logits(a), Some(z)) => {
                        log_odds_of_logits(z, target, a)
                    }
                    _ => log_odds_of_probability(probability),
                };
                TargetScore {
                    probability,
                    log_odds,
                }
            })
            .collect())
    }

    /// Every label's scores for each of `n` inputs laid end to end in
    /// `batch`, run in chunks the model accepts; the logits too when
    /// `with_logits` and the model has them.
    pub(super) fn batch_scores(
        &mut self,
        prepared: &Prepared,
        batch: &[f32],
        n: usize,
        with_logits: bool,
    ) -> Result<Vec<LabelScores>, AiError> {
        let per_input = batch.len() / n.max(1);
        let chunk = self.max_batch().max(1);
        let scores_name = self.manifest.outputs.scores.clone();
        let logits_name = match self.log_odds {
            LogOdds::Logits(_) if with_logits => Some(LOGITS_OUTPUT),
            _ => None,
        };
        let raw_logits = with_logits && matches!(self.log_odds, LogOdds::Scores(_));
        let labels = self.manifest.task.labels.len();
        let mut names = vec![scores_name.as_str()];
        names.extend(logits_name);
        let mut out = Vec::with_capacity(n);
        for part in batch.chunks(per_input.saturating_mul(chunk).max(1)) {
            let count = part.len() / per_input;
            let shape = InputPixels::batch_shape(prepared, count);
            let mut outputs = self.run_outputs(&shape, part, &names)?;
            let logits = if logits_name.is_some() {
                Some(outputs.pop().expect("asked for").1)
            } else {
                None
            };
            let (_, scores) = outputs.pop().expect("asked for");
            for (name, values) in [
                (scores_name.as_str(), Some(&scores)),
                (LOGITS_OUTPUT, logits.as_ref()),
            ] {
                if let Some(values) = values
                    && values.len() != count * labels
                {
                    return Err(AiError::Inference(format!(
                        "output {name:?} has {} values for {count} inputs of {labels} labels",
                        values.len()
                    )));
                }
            }
            for (i, s) in scores.chunks(labels).enumerate() {
                let logits = match &logits {
                    Some(z) => Some(z[i * labels..(i + 1) * labels].to_vec()),
                    None if raw_logits => Some(s.to_vec()),
                    None => None,
                };
                out.push(LabelScores {
                    probabilities: probabilities(&self.manifest, s),
                    logits,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_odds_agree_between_logits_and_probabilities_and_do_not_saturate() {
        let z = [0.3f32, 1.7];
        let p1 = 1.0 / (1.0 + (-(1.7f64 - 0.3)).exp());
        let from_logits = log_odds_of_logits(&z, 1, FinalActivation::Softmax);
        assert!((from_logits - 1.4).abs() < 1e-6);
        assert!((log_odds_of_probability(p1 as f32) - 1.4).abs() < 1e-5);
        assert!((log_odds_of_logits(&z, 0, FinalActivation::Sigmoid) - 0.3).abs() < 1e-7);
        // Three classes: log-odds against the other two together.
        let z3 = [0.0f32, 0.0, 2.0];
        let expected = 2.0 - 2f64.ln();
        assert!((log_odds_of_logits(&z3, 2, FinalActivation::Softmax) - expected).abs() < 1e-6);
        // A probability pinned at 1.0 still gives a finite number; logits of
        // 40 and 30 keep their difference where the probabilities cannot.
        assert!(log_odds_of_probability(1.0).is_finite());
        let a = log_odds_of_logits(&[0.0, 40.0], 1, FinalActivation::Softmax);
        let b = log_odds_of_logits(&[0.0, 30.0], 1, FinalActivation::Softmax);
        assert!((a - b - 10.0).abs() < 1e-6);
    }
}

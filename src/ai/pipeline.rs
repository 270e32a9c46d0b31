//! Classifying many images at the engine's pace (`hilum evaluate`,
//! `hilum triage`): a pool of threads reads, decodes and preprocesses
//! images ahead of the model (a bounded queue keeps memory flat) while the
//! calling thread runs one session on each as it arrives, so the engine
//! is not starved by decoding.

use std::sync::mpsc;

use super::classify;
use super::model::LoadedModel;
use super::preprocess::Prepared;

/// What happened to one item.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamOutcome<T> {
    /// Classified: one probability per model label, in the model's order,
    /// and what the preparation found out about the image.
    Classified {
        /// Per model label.
        probabilities: Vec<f32>,
        /// What `prepare_item` returned with the input.
        about: T,
        /// Time the model took on it, milliseconds.
        inference_ms: f64,
    },
    /// It could not be read, prepared or classified: the message, and what
    /// was known about the image when it failed at inference.
    Failed {
        /// The reason, naming the file.
        message: String,
        /// What `prepare_item` returned, when it got that far.
        about: Option<T>,
    },
    /// Not an image to classify (a DICOM report found in a folder).
    Skipped,
}

/// What preparing one item gives: the model input and anything else worth
/// keeping (scope, identifiers); `Ok(None)` skips it; `Err` names the file.
pub type PreparedItem<T> = Result<Option<(Prepared, T)>, String>;

/// Classifies `items`: `prepare_item` runs on `threads` pool threads (0:
/// one per core), the model on this thread; `on_done` is called here for
/// each item as it finishes, with its index (in completion order).
/// `name` names an item in the message of a preparation that panicked.
pub fn classify_stream<I: Sync, T: Send>(
    model: &mut LoadedModel,
    items: &[I],
    threads: usize,
    prepare_item: impl Fn(&I) -> PreparedItem<T> + Sync,
    name: impl Fn(&I) -> String,
    on_done: &mut dyn FnMut(usize, StreamOutcome<T>),
) {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let (sender, receiver) =
        mpsc::sync_channel::<(usize, Result<PreparedItem<T>, String>)>(threads * 2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let sender = sender;
            crate::imaging::run_pool(items, threads, None, &prepare_item, |i, ready| {
                // The receiver lives until every item is delivered.
                let _ = sender.send((i, ready));
            });
        });
        for (i, ready) in receiver {
            let outcome = match ready {
                Err(panic) => StreamOutcome::Failed {
                    message: format!("{}: loading panicked: {panic}", name(&items[i])),
                    about: None,
                },
                Ok(Err(message)) => StreamOutcome::Failed {
                    message,
                    about: None,
                },
                Ok(Ok(None)) => StreamOutcome::Skipped,
                Ok(Ok(Some((prepared, about)))) => {
                    let start = std::time::Instant::now();
                    match infer(model, &prepared) {
                        Ok(probabilities) => StreamOutcome::Classified {
                            probabilities,
                            about,
                            inference_ms: start.elapsed().as_secs_f64() * 1e3,
                        },
                        Err(e) => StreamOutcome::Failed {
                            message: format!("{}: {e}", name(&items[i])),
                            about: Some(about),
                        },
                    }
                }
            };
            on_done(i, outcome);
        }
    });
}

/// Runs the model on a prepared input: one probability per label.
pub fn infer(model: &mut LoadedModel, prepared: &Prepared) -> Result<Vec<f32>, String> {
    let name = model.manifest.outputs.scores.clone();
    let mut outputs = model
        .run_outputs(&prepared.shape, &prepared.data, &[&name])
        .map_err(|e| e.to_string())?;
    let (_, scores) = outputs.remove(0);
    let labels = model.manifest.task.labels.len();
    if scores.len() != labels {
        return Err(format!(
            "output {name:?} has {} values for {labels} labels",
            scores.len()
        ));
    }
    let probabilities = classify::probabilities(&model.manifest, &scores);
    if probabilities.iter().any(|p| !p.is_finite()) {
        return Err("the model gave a probability that is not a number".into());
    }
    Ok(probabilities)
}

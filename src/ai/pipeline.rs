//! Classifying many images at the engine's pace (`hilum evaluate`,
//! `hilum triage`): a pool of threads reads, decodes and preprocesses
//! images ahead of the model (a bounded queue keeps memory flat) while the
//! calling thread runs one session on them as they arrive, several at once
//! when several are ready and the model's batch dimension allows, so the
//! engine is not starved by decoding.

use std::path::Path;
use std::sync::mpsc;

use super::classify;
use super::manifest::Manifest;
use super::model::LoadedModel;
use super::preprocess::{Prepared, prepare};
use crate::error::ImagingErrorKind;
use crate::imaging::{self, FrameSelection, Image, LoadOptions};

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

/// Reads `path`'s first frame and prepares it for `manifest`'s model, with
/// whatever `about` learns from the image. A DICOM object without pixels
/// found in a folder (not `explicit`ly named) is skipped, not an error.
pub fn load_and_prepare<T>(
    path: &Path,
    explicit: bool,
    manifest: &Manifest,
    about: impl FnOnce(&Image) -> T,
) -> PreparedItem<T> {
    let options = LoadOptions {
        frames: FrameSelection::Only(0),
        ..LoadOptions::default()
    };
    let image = match imaging::load_path(path, &options) {
        Ok(image) => image,
        Err(e) if !explicit && e.kind == ImagingErrorKind::NoPixelData => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let prepared = prepare(&image, 0, manifest).map_err(|e| e.to_string())?;
    Ok(Some((prepared, about(&image))))
}

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
    let batch_limit = model.max_batch().clamp(1, MAX_BATCH);
    let (sender, receiver) = mpsc::sync_channel::<(usize, Result<PreparedItem<T>, String>)>(
        (threads * 2).max(batch_limit * 2),
    );
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let sender = sender;
            crate::imaging::run_pool(items, threads, None, &prepare_item, |i, ready| {
                // The receiver lives until every item is delivered.
                let _ = sender.send((i, ready));
            });
        });
        let mut batch: Vec<(usize, Prepared, T)> = Vec::with_capacity(batch_limit);
        // Wait for one item, then take whatever else is ready (up to the
        // batch limit) without waiting: the engine never idles for a batch
        // to fill, and runs several inputs at once when decoding is ahead.
        while let Ok(first) = receiver.recv() {
            let mut next = Some(first);
            while let Some((i, ready)) = next.take() {
                match ready {
                    Err(panic) => on_done(
                        i,
                        StreamOutcome::Failed {
                            message: format!("{}: loading panicked: {panic}", name(&items[i])),
                            about: None,
                        },
                    ),
                    Ok(Err(message)) => on_done(
                        i,
                        StreamOutcome::Failed {
                            message,
                            about: None,
                        },
                    ),
                    Ok(Ok(None)) => on_done(i, StreamOutcome::Skipped),
                    Ok(Ok(Some((prepared, about)))) => batch.push((i, prepared, about)),
                }
                if batch.len() < batch_limit {
                    next = receiver.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                run_batch(model, &mut batch, &name, items, on_done);
            }
        }
    });
}

/// The most images one inference takes: past 8, ONNX Runtime's CPU
/// throughput on the default model stops growing (69 images/s at 1, 82 at
/// 4, 84 at 8, 83 at 16 on two cores) while memory does.
pub const MAX_BATCH: usize = 8;

/// Runs `batch` (emptied) as one inference when the inputs share a shape,
/// else one by one; a batch that fails is retried one by one, so that one
/// bad input gets its own error and the others their results.
fn run_batch<I, T>(
    model: &mut LoadedModel,
    batch: &mut Vec<(usize, Prepared, T)>,
    name: &impl Fn(&I) -> String,
    items: &[I],
    on_done: &mut dyn FnMut(usize, StreamOutcome<T>),
) {
    let shape = batch[0].1.shape;
    if batch.len() > 1 && batch.iter().all(|(_, p, _)| p.shape == shape) {
        let start = std::time::Instant::now();
        if let Ok(all) = infer_many(model, batch.iter().map(|(_, p, _)| p), batch.len()) {
            let inference_ms = start.elapsed().as_secs_f64() * 1e3 / batch.len() as f64;
            for ((i, _, about), probabilities) in batch.drain(..).zip(all) {
                on_done(
                    i,
                    StreamOutcome::Classified {
                        probabilities,
                        about,
                        inference_ms,
                    },
                );
            }
            return;
        }
    }
    for (i, prepared, about) in batch.drain(..) {
        let start = std::time::Instant::now();
        let outcome = match infer(model, &prepared) {
            Ok(probabilities) => StreamOutcome::Classified {
                probabilities,
                about,
                inference_ms: start.elapsed().as_secs_f64() * 1e3,
            },
            Err(e) => StreamOutcome::Failed {
                message: format!("{}: {e}", name(&items[i])),
                about: Some(about),
            },
        };
        on_done(i, outcome);
    }
}

/// Runs the model on a prepared input: one probability per label.
pub fn infer(model: &mut LoadedModel, prepared: &Prepared) -> Result<Vec<f32>, String> {
    infer_many(model, std::iter::once(prepared), 1).map(|mut all| all.remove(0))
}

/// Runs the model once on `count` inputs of one shape: one probability per
/// label for each.
fn infer_many<'a>(
    model: &mut LoadedModel,
    inputs: impl Iterator<Item = &'a Prepared>,
    count: usize,
) -> Result<Vec<Vec<f32>>, String> {
    let mut shape = None;
    let mut data = Vec::new();
    for prepared in inputs {
        shape.get_or_insert(prepared.shape);
        data.extend_from_slice(&prepared.data);
    }
    let mut shape = shape.ok_or("nothing to classify")?;
    shape[0] = count;
    let name = model.manifest.outputs.scores.clone();
    let mut outputs = model
        .run_outputs(&shape, &data, &[&name])
        .map_err(|e| e.to_string())?;
    let (_, scores) = outputs.remove(0);
    let labels = model.manifest.task.labels.len();
    if scores.len() != labels * count {
        return Err(format!(
            "output {name:?} has {} values for {count} input(s) of {labels} labels",
            scores.len()
        ));
    }
    scores
        .chunks(labels)
        .map(|scores| {
            let probabilities = classify::probabilities(&model.manifest, scores);
            if probabilities.iter().any(|p| !p.is_finite()) {
                Err("the model gave a probability that is not a number".to_string())
            } else {
                Ok(probabilities)
            }
        })
        .collect()
}

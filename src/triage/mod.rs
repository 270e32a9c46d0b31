//! Triage at scale (`hilum triage`): a model run over an archive, one JSON
//! line per image, split deterministically by study across tasks
//! ([`shard`]), resumable after a kill ([`results`]), and the tasks'
//! results merged with what is missing reported ([`merge`]).
//!
//! Files are read, decoded and preprocessed on a pool of threads ahead of
//! the model ([`crate::ai::pipeline`]); every line names the model,
//! version, engine and execution provider; one bad file is one error line.

pub mod merge;
pub mod plan;
pub mod record;
pub mod results;
pub mod shard;
pub mod worklist;

use std::path::Path;
use std::time::Instant;

use crate::ai::LoadedModel;
use crate::ai::classify::{self, ScopeCheck};
use crate::ai::pipeline::{self, PreparedItem, StreamOutcome, classify_stream};

use self::plan::{Plan, PlanRecord, PlannedFile};
use self::record::{ModelStamp, TriageRecord};
use self::results::{ResultsError, ResultsWriter};

pub use self::shard::Shard;

/// How far a run is, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    /// Images written in this run.
    pub done: usize,
    /// Images this run is to write.
    pub total: usize,
    /// Of those done, failed.
    pub failed: usize,
    /// Of those done, outside the model's scope.
    pub out_of_scope: usize,
    /// Seconds since the first image started.
    pub seconds: f64,
}

impl Progress {
    /// Images per second so far.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.done as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Seconds left at the rate so far (`None` before the first image).
    pub fn eta_seconds(&self) -> Option<f64> {
        let rate = self.rate();
        (rate > 0.0).then(|| (self.total.saturating_sub(self.done)) as f64 / rate)
    }

    /// The progress in one line, as `hilum triage` prints it and the
    /// viewer shows it: `120/300 (2 failed, 5 outside scope), 14.2
    /// images/s, ETA 0:00:13`.
    pub fn line(&self) -> String {
        let eta = self.eta_seconds().map_or("—".to_string(), |s| {
            let s = s.round() as u64;
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        });
        format!(
            "{}/{} ({} failed, {} outside scope), {:.1} images/s, ETA {eta}",
            self.done,
            self.total,
            self.failed,
            self.out_of_scope,
            self.rate()
        )
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Files found in all the sources.
    pub found: usize,
    /// This shard's images.
    pub in_shard: usize,
    /// Of those, already in the results (`--resume`).
    pub already_done: usize,
    /// The final progress of this run.
    pub progress: Progress,
}

/// Why a run could not go on (per-image failures are lines, not this).
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// The results file.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The plan file could not be written.
    #[error("{0}")]
    Plan(String),
}

/// The stamp of `model`, as every line carries it.
pub fn stamp(model: &LoadedModel) -> ModelStamp {
    ModelStamp {
        id: model.manifest.id.clone(),
        version: model.manifest.version.clone(),
        engine: model.engine.name().to_string(),
        execution_provider: model.execution_provider.name.to_ascii_lowercase(),
    }
}

/// What preparation learns about an image besides its input.
struct About {
    scope: ScopeCheck,
    sop: Option<String>,
    series: Option<String>,
    study: Option<String>,
}

fn load_and_prepare(file: &PlannedFile, model: &crate::ai::Manifest) -> PreparedItem<About> {
    pipeline::load_and_prepare(&file.path, file.explicit, model, |image| About {
        scope: classify::scope_check(model, image),
        sop: image.metadata.sop_instance_uid.clone(),
        series: image.metadata.series_instance_uid.clone(),
        study: image.metadata.study_instance_uid.clone(),
    })
}

/// Runs `model` over `plan`, appending one line per image to `writer`
/// and skipping the images in `done`; writes the plan next to `out` first.
/// `threads` read and preprocess images (0: one per core); `on_progress`
/// is called after every image, and a `Break` from it stops the run there
/// (what is written stays, whole; a later `--resume` goes on from it).
pub fn run(
    model: &mut LoadedModel,
    plan: &Plan,
    out: &Path,
    writer: &mut ResultsWriter,
    done: &std::collections::HashSet<String>,
    threads: usize,
    on_progress: &mut dyn FnMut(&Progress, &TriageRecord) -> std::ops::ControlFlow<()>,
) -> Result<Summary, TriageError> {
    let stamp = stamp(model);
    write_plan(out, plan, &stamp)?;
    let todo: Vec<&PlannedFile> = plan
        .files
        .iter()
        .filter(|f| !done.contains(&f.name))
        .collect();
    let errors: Vec<_> = plan
        .errors
        .iter()
        .filter(|e| !done.contains(&e.name))
        .collect();
    let mut progress = Progress {
        total: todo.len() + errors.len(),
        ..Progress::default()
    };
    let start = Instant::now();
    let mut failure: Option<ResultsError> = None;
    let mut cancelled = false;
    // Set once the results file cannot be written or the caller stops the
    // run: the files not read yet are then passed over instead of decoded
    // for nothing.
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let mut emit = |record: TriageRecord, progress: &mut Progress| {
        if failure.is_some() || cancelled {
            return;
        }
        progress.done += 1;
        progress.failed += usize::from(record.error.is_some());
        progress.out_of_scope += usize::from(record.in_scope == Some(false));
        progress.seconds = start.elapsed().as_secs_f64();
        match writer.write(&record) {
            Ok(()) => {
                if on_progress(progress, &record).is_break() {
                    cancelled = true;
                    stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Err(e) => {
                failure = Some(e);
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    };
    for e in errors {
        let mut record = TriageRecord::new(e.name.clone(), &stamp);
        record.error = Some(e.message.clone());
        emit(record, &mut progress);
    }
    let manifest = model.manifest.clone();
    classify_stream(
        model,
        &todo,
        threads,
        |file| {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(None);
            }
            load_and_prepare(file, &manifest)
        },
        |file| file.name.clone(),
        &mut |i, outcome: StreamOutcome<About>| {
            let mut record = TriageRecord::new(todo[i].name.clone(), &stamp);
            let about = match outcome {
                StreamOutcome::Classified {
                    probabilities,
                    about,
                    inference_ms,
                } => {
                    let mut findings = classify::findings(&manifest, &probabilities);
                    classify::apply_scope(&mut findings, &about.scope);
                    record.set_findings(&findings);
                    record.inference_ms = Some(inference_ms);
                    Some(about)
                }
                StreamOutcome::Failed { message, about } => {
                    record.error = Some(message);
                    about
                }
                StreamOutcome::Skipped => {
                    record.skipped = Some("holds no pixel data (not an image)".into());
                    None
                }
            };
            if let Some(about) = about {
                record.in_scope = about.scope.in_scope;
                record.scope_reasons = about.scope.reasons;
                record.sop_instance_uid = about.sop;
                record.series_instance_uid = about.series;
                record.study_instance_uid = about.study;
            }
            emit(record, &mut progress);
        },
    );
    if let Some(e) = failure {
        return Err(e.into());
    }
    writer.sync()?;
    Ok(Summary {
        found: plan.found,
        in_shard: plan.files.len() + plan.errors.len(),
        already_done: plan.files.len() + plan.errors.len() - progress.total,
        progress,
    })
}

fn write_plan(out: &Path, plan: &Plan, stamp: &ModelStamp) -> Result<(), TriageError> {
    let record = PlanRecord {
        shard: plan.shard,
        model_id: stamp.id.clone(),
        model_version: stamp.version.clone(),
        images: plan
            .files
            .iter()
            .map(|f| f.name.clone())
            .chain(plan.errors.iter().map(|e| e.name.clone()))
            .collect(),
    };
    let path = plan::plan_path(out);
    crate::output::write_atomic(&path, |w| {
        serde_json::to_writer(&mut *w, &record).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|e| TriageError::Plan(format!("{}: cannot write the plan: {e}", path.display())))
}

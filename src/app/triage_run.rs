//! Triage started from the viewer: a folder (or anything `hilum triage`
//! takes) classified on a background thread by the same run as
//! `hilum triage --resume`, into a results file in the data folder (never
//! beside the source images), with progress and cancel; the viewer opens
//! the results as the worklist when the run ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use poll_promise::Promise;
use sha2::{Digest, Sha256};

use crate::ai::{LoadedModel, Manifest, RuntimeSettings};
use crate::triage::plan::plan;
use crate::triage::results::{Existing, ResultsWriter};
use crate::triage::{self, Progress, Shard, Summary};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// The results file.
    pub results: PathBuf,
    /// What the run did.
    pub summary: Summary,
    /// The reader stopped it before every image was done.
    pub cancelled: bool,
}

/// Where a run is, for the panel.
#[derive(Debug, Clone, Default)]
pub struct RunStatus {
    /// The step before images are classified ("Loading the model…").
    pub step: String,
    /// Images done, once classifying.
    pub progress: Option<Progress>,
}

/// A triage run on its thread.
pub struct TriageRun {
    /// What is triaged.
    pub source: PathBuf,
    /// Where the results go.
    pub results: PathBuf,
    status: Arc<Mutex<RunStatus>>,
    cancel: Arc<AtomicBool>,
    outcome: Promise<Result<RunEnd, String>>,
}

/// The results file for `source` in `dir`: the source's name (letters,
/// digits, `.`, `-`, `_` only) and a hash of its whole path, so the same
/// folder triaged again resumes its results and two folders of one name
/// do not share them.
pub fn results_path(dir: &Path, source: &Path) -> PathBuf {
    let name: String = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let name = name.trim_start_matches('.');
    let hash = Sha256::digest(source.as_os_str().as_encoded_bytes());
    let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    let stem = if name.is_empty() { "triage" } else { name };
    dir.join(format!("{stem}-{short}.jsonl"))
}

impl TriageRun {
    /// Starts triaging `source` with `model` (the default model when
    /// `None`) into a results file in `dir`, continuing an earlier run's
    /// results for the same source and model version; `threads` read and
    /// prepare images; `wake` is called whenever there is news.
    pub fn start(
        source: PathBuf,
        dir: &Path,
        model: Option<PathBuf>,
        runtime: RuntimeSettings,
        threads: usize,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let results = results_path(dir, &source);
        let status = Arc::new(Mutex::new(RunStatus {
            step: "Loading the model…".into(),
            progress: None,
        }));
        let cancel = Arc::new(AtomicBool::new(false));
        let (thread_status, thread_cancel) = (Arc::clone(&status), Arc::clone(&cancel));
        let (thread_source, thread_results, dir) =
            (source.clone(), results.clone(), dir.to_path_buf());
        let outcome = Promise::spawn_thread("triage", move || {
            let set_step = |step: &str| {
                if let Ok(mut s) = thread_status.lock() {
                    s.step = step.to_string();
                }
                wake();
            };
            let run = || -> Result<RunEnd, String> {
                let manifest = crate::ai::resolve_model(model.as_deref())
                    .and_then(|p| Manifest::load(&p).map_err(crate::ai::AiError::from))
                    .map_err(|e| e.to_string())?;
                let mut loaded =
                    LoadedModel::load(manifest.clone(), &runtime).map_err(|e| e.to_string())?;
                set_step("Finding images…");
                let plan = plan(std::slice::from_ref(&thread_source), Shard::WHOLE, threads);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
                let (mut writer, done) = ResultsWriter::open(
                    &thread_results,
                    Existing::Resume,
                    &manifest.id,
                    &manifest.version,
                )
                .map_err(|e| e.to_string())?;
                set_step("Classifying…");
                let mut on_progress = |p: &Progress, _: &triage::record::TriageRecord| {
                    if let Ok(mut s) = thread_status.lock() {
                        s.progress = Some(*p);
                    }
                    wake();
                    if thread_cancel.load(Ordering::Relaxed) {
                        std::ops::ControlFlow::Break(())
                    } else {
                        std::ops::ControlFlow::Continue(())
                    }
                };
                let summary = triage::run(
                    &mut loaded,
                    &plan,
                    &thread_results,
                    &mut writer,
                    &done,
                    threads,
                    &mut on_progress,
                )
                .map_err(|e| e.to_string())?;
                Ok(RunEnd {
                    results: thread_results.clone(),
                    cancelled: summary.progress.done < summary.progress.total,
                    summary,
                })
            };
            let outcome = run();
            wake();
            outcome
        });
        Self {
            source,
            results,
            status,
            cancel,
            outcome,
        }
    }

    /// Where the run is.
    pub fn status(&self) -> RunStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks the run to stop after the image in hand (what is written
    /// stays; triaging the folder again goes on from there).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// True once the reader asked it to stop.
    pub fn cancelling(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// How it ended, once it has.
    pub fn ended(&self) -> Option<&Result<RunEnd, String>> {
        self.outcome.ready()
    }
}

impl Drop for TriageRun {
    fn drop(&mut self) {
        // A run dropped with the viewer stops at the next image.
        self.cancel();
    }
}

/// The run's state in words, for the panel.
pub fn describe(run: &TriageRun) -> String {
    let source = run.source.display();
    if let Some(ended) = run.ended() {
        return match ended {
            Ok(end) if end.cancelled => format!(
                "Triage of {source} stopped: {} of {} images done (triage it again to go on)",
                end.summary.progress.done, end.summary.progress.total
            ),
            Ok(end) => format!(
                "Triage of {source} done: {} images ({} failed, {} outside the model's scope), {} already there",
                end.summary.progress.done,
                end.summary.progress.failed,
                end.summary.progress.out_of_scope,
                end.summary.already_done
            ),
            Err(e) => format!("Triage of {source} failed: {e}"),
        };
    }
    let status = run.status();
    match status.progress {
        Some(p) => format!("Triaging {source}: {}", p.line()),
        None => format!("Triaging {source}: {}", status.step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_named_from_a_cleaned_name_and_the_whole_path() {
        let dir = Path::new("/data/triage");
        let a = results_path(dir, Path::new("/archive/2026 CXR/../x"));
        let b = results_path(dir, Path::new("/other/x"));
        assert_ne!(a, b, "one name, two folders");
        assert_eq!(a, results_path(dir, Path::new("/archive/2026 CXR/../x")));
        let hostile = results_path(dir, Path::new("/in/..bad name;rm -rf ~"));
        let name = hostile.file_name().unwrap().to_string_lossy().into_owned();
        assert!(hostile.starts_with(dir));
        assert!(name.starts_with("bad_name_rm_-rf__-"), "{name}");
        assert!(name.ends_with(".jsonl"));
        let root = results_path(dir, Path::new("/"));
        assert!(
            root.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("triage-")
        );
    }
}

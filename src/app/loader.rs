//! Background loading: files are found, decoded and their saved annotations
//! read on worker threads; the UI drains a channel once per frame. The first
//! image arrives as soon as it is decoded, before the rest of a series.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::ImagingError;
use crate::annotations::AnnotationSet;
use crate::annotations::foreign::{self, ForeignError, ForeignErrorKind, ForeignObject};
use crate::annotations::sidecar::SidecarStore;
use crate::error::ImagingErrorKind;
use crate::imaging::{self, Image, LoadOptions, LoadOutcome};

use super::state::LoadedImage;

/// What the loader reports.
#[derive(Debug)]
pub enum LoadEvent {
    /// The files to load are known.
    Found {
        /// How many.
        total: usize,
    },
    /// One file loaded.
    Loaded(Box<LoadedImage>),
    /// One file failed, with the reason.
    Failed(ImagingError),
    /// A DICOM object without pixels found in a folder (a report, a
    /// presentation state): not an image, not an error.
    Skipped(PathBuf),
    /// An AI result or annotation from another system (a Parametric Map,
    /// a Segmentation, a Structured Report, a presentation state), read
    /// for display over the images it references.
    Foreign(Box<ForeignObject>),
    /// An object of one of those classes that could not be read.
    ForeignFailed(ForeignError),
    /// Every file has been tried (or loading was cancelled).
    Finished {
        /// True when cancelled before the end.
        cancelled: bool,
    },
}

/// A running load of a set of paths.
pub struct LoadJob {
    events: Receiver<LoadEvent>,
    cancel: Arc<AtomicBool>,
    /// Files found.
    pub total: usize,
    /// Files tried so far.
    pub done: usize,
    /// True once the loader has finished.
    pub finished: bool,
}

impl LoadJob {
    /// Starts loading `paths` (files and folders) on background threads,
    /// with each image's annotations from `sidecars` when given; `wake` is
    /// called after each event so the UI repaints.
    pub fn start(
        paths: Vec<PathBuf>,
        sidecars: Option<SidecarStore>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(wake);
        std::thread::Builder::new()
            .name("loader".into())
            .spawn(move || run(paths, sidecars, tx, stop, wake))
            .expect("spawning the loader thread");
        Self {
            events: rx,
            cancel,
            total: 0,
            done: 0,
            finished: false,
        }
    }

    /// Asks the loader to stop after the files in progress.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The events that arrived since the last call (never blocks).
    pub fn drain(&mut self) -> Vec<LoadEvent> {
        let events: Vec<LoadEvent> = self.events.try_iter().collect();
        for event in &events {
            match event {
                LoadEvent::Found { total } => self.total = *total,
                LoadEvent::Loaded(_)
                | LoadEvent::Failed(_)
                | LoadEvent::Skipped(_)
                | LoadEvent::Foreign(_)
                | LoadEvent::ForeignFailed(_) => self.done += 1,
                LoadEvent::Finished { .. } => self.finished = true,
            }
        }
        events
    }
}

fn run(
    paths: Vec<PathBuf>,
    sidecars: Option<SidecarStore>,
    tx: Sender<LoadEvent>,
    cancel: Arc<AtomicBool>,
    wake: Arc<dyn Fn() + Send + Sync>,
) {
    let send = |event: LoadEvent| {
        let _ = tx.send(event);
        wake();
    };
    let (files, errors) = imaging::expand_paths_marked(&paths);
    send(LoadEvent::Found {
        total: files.len() + errors.len(),
    });
    for e in errors {
        send(LoadEvent::Failed(e));
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let options = LoadOptions::default();
    imaging::load_files(&files, &options, threads, Some(&cancel), |i, outcome| {
        send(classify(&files[i].0, outcome, sidecars.as_ref()))
    });
    send(LoadEvent::Finished {
        cancelled: cancel.load(Ordering::Relaxed),
    });
}

/// What one file's load outcome becomes. Objects of the classes other
/// systems' results come in are read as such, whatever the image loader
/// made of them: a Parametric Map's float pixels fail there, an SR has no
/// pixels, a SEG's 1-bit frames may decode as an image but mean segments.
fn classify(file: &Path, outcome: LoadOutcome, sidecars: Option<&SidecarStore>) -> LoadEvent {
    let might_be_foreign = match &outcome {
        LoadOutcome::Loaded(image) => image
            .metadata
            .sop_class_uid
            .as_deref()
            .is_some_and(foreign::is_foreign_sop_class),
        LoadOutcome::Skipped(_) => true,
        // Not DICOM, unreadable or too large: reading it again cannot help.
        LoadOutcome::Failed(e) => !matches!(
            e.kind,
            ImagingErrorKind::NotAnImage
                | ImagingErrorKind::Io(_)
                | ImagingErrorKind::TooLarge(_)
                | ImagingErrorKind::Archive(_)
        ),
    };
    if might_be_foreign {
        match foreign::read_foreign(file) {
            Ok(Some(object)) => return LoadEvent::Foreign(Box::new(object)),
            // Unreadable as DICOM at all: the image loader's reason stands.
            Err(ForeignError {
                kind: ForeignErrorKind::Read(_),
                ..
            }) => {}
            Err(e) => return LoadEvent::ForeignFailed(e),
            Ok(None) => {}
        }
    }
    match outcome {
        LoadOutcome::Loaded(image) => LoadEvent::Loaded(Box::new(prepare(*image, sidecars))),
        LoadOutcome::Skipped(path) => LoadEvent::Skipped(path),
        LoadOutcome::Failed(e) => LoadEvent::Failed(e),
    }
}

/// Adds the image's saved annotations (read from `sidecars`), off the UI
/// thread. A sidecar that cannot be read is reported, not dropped: the
/// viewer then refuses to overwrite it.
pub fn prepare(image: Image, sidecars: Option<&SidecarStore>) -> LoadedImage {
    let annotations = match sidecars {
        None => Ok(AnnotationSet::new()),
        Some(store) => store
            .load_for(&image)
            .map(Option::unwrap_or_default)
            .map_err(|e| e.to_string()),
    };
    LoadedImage {
        image: Arc::new(image),
        annotations,
    }
}

//! Background loading: files are found, decoded and their saved annotations
//! read on worker threads; the UI drains a channel once per frame. The first
//! image arrives as soon as it is decoded, before the rest of a series.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use crate::annotations::AnnotationSet;
use crate::annotations::sidecar::SidecarStore;
use crate::imaging::{self, Image, LoadOptions};
use crate::{ImagingError, ImagingErrorKind};

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
                LoadEvent::Loaded(_) | LoadEvent::Failed(_) | LoadEvent::Skipped(_) => {
                    self.done += 1
                }
                LoadEvent::Finished { .. } => self.finished = true,
            }
        }
        events
    }
}

/// Every file below `paths`, marked `true` when named explicitly (a DICOM
/// object without pixels found in a folder is skipped, not an error).
fn find_files(paths: &[PathBuf]) -> (Vec<(PathBuf, bool)>, Vec<ImagingError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let explicit = !path.is_dir();
        let (found, errs) = imaging::expand_paths(std::slice::from_ref(path));
        files.extend(found.into_iter().map(|f| (f, explicit)));
        errors.extend(errs);
    }
    (files, errors)
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
    let (files, errors) = find_files(&paths);
    send(LoadEvent::Found {
        total: files.len() + errors.len(),
    });
    for e in errors {
        send(LoadEvent::Failed(e));
    }
    let next = AtomicUsize::new(0);
    let files = Mutex::new(files);
    let count = files.lock().map(|f| f.len()).unwrap_or(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, count.max(1));
    let options = LoadOptions::default();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, explicit)) = files.lock().ok().and_then(|f| f.get(i).cloned())
                    else {
                        break;
                    };
                    match imaging::load_path(&path, &options) {
                        Ok(image) => send(LoadEvent::Loaded(Box::new(prepare(
                            image,
                            sidecars.as_ref(),
                        )))),
                        Err(e) if !explicit && e.kind == ImagingErrorKind::NoPixelData => {
                            send(LoadEvent::Skipped(path))
                        }
                        Err(e) => send(LoadEvent::Failed(e)),
                    }
                }
            });
        }
    });
    send(LoadEvent::Finished {
        cancelled: cancel.load(Ordering::Relaxed),
    });
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

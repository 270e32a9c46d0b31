//! Imaging: loading DICOM and raster images, the pixel pipeline, and series
//! assembly. Plain library code with no UI dependency: the CLI, the viewer
//! and the reports share it.

pub mod archive;
pub mod color;
pub mod dicom;
pub mod geometry;
pub mod guard;
pub mod image;
pub mod media;
pub mod metadata;
pub mod modality;
pub mod palette;
pub mod pixels;
pub mod raster;
pub mod render;
pub mod rle;
pub mod series;
pub mod voi;
pub mod volume;

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use self::dicom::{FrameSelection, LoadOptions};
pub use self::image::Image;
pub use self::render::{FrameStats, Rendered, frame_stats, render_frame};
pub use self::voi::{Window, WindowChoice};
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

/// The message of a panic payload (`&str` or `String`), or "unknown panic".
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`, turning a panic inside it (a third-party decoder's) into an
/// error instead of aborting the caller.
pub(crate) fn contain_panics<T>(
    f: impl FnOnce() -> Result<T, ImagingErrorKind>,
) -> Result<T, ImagingErrorKind> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(ImagingErrorKind::DecoderPanic(panic_message(&*payload))),
    }
}

/// Extensions that mark a file as DICOM even when its content does not
/// look like it, so that a broken one is reported rather than skipped.
const DICOM_EXTENSIONS: &[&str] = &["dcm", "dicom", "dic"];

/// What a file found in a folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    /// DICOM content (or a DICOM extension).
    Dicom,
    /// A PNG/JPEG/TIFF file.
    Raster,
    /// Anything else: skipped silently.
    Other,
}

/// Classifies a file by extension and first bytes.
pub fn classify(path: &Path) -> Candidate {
    if raster::has_raster_extension(path) {
        return Candidate::Raster;
    }
    match dicom::sniff_path(path) {
        Ok(dicom::Sniff::Part10 | dicom::Sniff::BareDataset) => Candidate::Dicom,
        _ => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| e.to_ascii_lowercase());
            if ext.is_some_and(|e| DICOM_EXTENSIONS.contains(&e.as_str())) {
                Candidate::Dicom
            } else {
                Candidate::Other
            }
        }
    }
}

/// Loads one image file (DICOM or raster).
pub fn load_path(path: &Path, options: &LoadOptions) -> ImagingResult<Image> {
    if !path.is_file() {
        let reason = if path.exists() {
            "not a regular file".to_string()
        } else {
            "no such file".to_string()
        };
        return Err(ImagingError::new(path, ImagingErrorKind::Io(reason)));
    }
    // The DICOM reader sniffs the content itself; classifying here too
    // would open and read the file's head a second time.
    if raster::has_raster_extension(path) {
        raster::load_raster(path, options)
    } else {
        dicom::load_dicom(path, options)
    }
}

/// The image files below the given paths: files as given, folders walked
/// recursively (in path order). Files in folders that are neither DICOM nor
/// raster images are skipped silently; unreadable folders are reported. A
/// folder with a DICOMDIR (a CD, DVD or USB medium), or a DICOMDIR named
/// itself, gives the files the DICOMDIR lists ([`media`]), with an error
/// for each listed file that is missing; when the DICOMDIR cannot be read,
/// that is reported and its folder is walked instead. A zip archive is
/// unpacked into a private, bounded folder ([`archive`]) and opened as a
/// folder; its members count as found in a folder.
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<ImagingError>) {
    let (files, errors) = expand_paths_marked(paths);
    (files.into_iter().map(|(p, _)| p).collect(), errors)
}

/// [`expand_paths`], marking each file `true` when it was named explicitly
/// (not found by walking a folder).
pub fn expand_paths_marked(paths: &[PathBuf]) -> (Vec<(PathBuf, bool)>, Vec<ImagingError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let is_dir = path.is_dir();
        if !is_dir && archive::is_zip(path) {
            match archive::unpack(path) {
                Ok(root) => {
                    let (inside, more) = expand_paths_marked(&[archive::open_folder(&root)]);
                    files.extend(inside);
                    errors.extend(more);
                }
                Err(e) => errors.push(e),
            }
            continue;
        }
        let dicomdir = if is_dir {
            media::find_dicomdir(path)
        } else {
            (media::is_dicomdir(path) && path.is_file()).then(|| path.clone())
        };
        if let Some(dicomdir) = dicomdir {
            match media::read_dicomdir(&dicomdir) {
                Ok(listing) => {
                    files.extend(listing.files.into_iter().map(|f| (f, false)));
                    errors.extend(listing.errors);
                    continue;
                }
                Err(e) => {
                    errors.push(e);
                    if !is_dir {
                        continue;
                    }
                }
            }
        }
        if is_dir {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        if classify(e.path()) != Candidate::Other {
                            files.push((e.into_path(), false));
                        }
                    }
                    Ok(_) => {}
                    Err(err) => errors.push(ImagingError::new(
                        err.path().unwrap_or(path),
                        ImagingErrorKind::Io(err.to_string()),
                    )),
                }
            }
        } else {
            files.push((path.clone(), true));
        }
    }
    (files, errors)
}

/// The result of loading many files: what loaded and what failed.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Images that loaded.
    pub images: Vec<Image>,
    /// One error per file that failed.
    pub errors: Vec<ImagingError>,
}

/// What loading one file found: an image, an error, or (for a file found
/// in a folder) a DICOM object that is not an image.
#[derive(Debug)]
pub enum LoadOutcome {
    /// The image loaded (boxed: an `Image` is large beside an error).
    Loaded(Box<Image>),
    /// The file failed; the error names it.
    Failed(ImagingError),
    /// A DICOM object without pixels found in a folder (a report, a
    /// presentation state): not an image, not an error.
    Skipped(PathBuf),
}

/// Loads one file found by [`expand_paths_marked`]: `explicit` files that
/// hold no pixels are errors, files found in folders are skipped.
pub fn load_found(path: &Path, explicit: bool, options: &LoadOptions) -> LoadOutcome {
    match load_path(path, options) {
        Ok(image) => LoadOutcome::Loaded(Box::new(image)),
        Err(e) if !explicit && e.kind == ImagingErrorKind::NoPixelData => {
            LoadOutcome::Skipped(path.to_path_buf())
        }
        Err(e) => LoadOutcome::Failed(e),
    }
}

/// Runs `work` on every item on up to `threads` scoped threads (each takes
/// the next item when done), handing each result to `deliver` as soon as it
/// is ready, with the item's index. A panic in `work` is caught and handed
/// over as `Err(message)` for that item alone, so no item's result is ever
/// lost; `cancel`, when set, stops taking new items.
pub fn run_pool<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    cancel: Option<&AtomicBool>,
    work: impl Fn(&T) -> R + Sync,
    deliver: impl Fn(usize, Result<R, String>) + Sync,
) {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    let result = catch_unwind(AssertUnwindSafe(|| work(item)))
                        .map_err(|payload| panic_message(&*payload));
                    deliver(i, result);
                }
            });
        }
    });
}

/// Loads `files` (as [`expand_paths_marked`] lists them) on up to
/// `threads` threads, handing each file's outcome to `deliver`, with its
/// index, on the worker as soon as it is ready. A panic while loading a file
/// reports that file as failed; `cancel`, when set, stops taking new files.
pub fn load_files(
    files: &[(PathBuf, bool)],
    options: &LoadOptions,
    threads: usize,
    cancel: Option<&AtomicBool>,
    deliver: impl Fn(usize, LoadOutcome) + Sync,
) {
    run_pool(
        files,
        threads,
        cancel,
        |(path, explicit)| load_found(path, *explicit, options),
        |i, result| {
            deliver(
                i,
                result.unwrap_or_else(|message| {
                    LoadOutcome::Failed(ImagingError::new(
                        &files[i].0,
                        ImagingErrorKind::DecoderPanic(message),
                    ))
                }),
            )
        },
    );
}

/// Loads every image below `paths`, using up to `threads` threads; a failing
/// file is reported and the rest still load. A file whose loading panicked
/// is reported as failed, never dropped.
pub fn load_many(paths: &[PathBuf], options: &LoadOptions, threads: usize) -> LoadReport {
    let (files, mut errors) = expand_paths_marked(paths);
    let results: Mutex<Vec<Option<LoadOutcome>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(files.len()).collect());
    load_files(&files, options, threads, None, |i, outcome| {
        if let Ok(mut slots) = results.lock() {
            slots[i] = Some(outcome);
        }
    });
    let slots = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut images = Vec::new();
    for (slot, (path, _)) in slots.into_iter().zip(&files) {
        match slot {
            Some(LoadOutcome::Loaded(image)) => images.push(*image),
            Some(LoadOutcome::Skipped(_)) => {}
            Some(LoadOutcome::Failed(e)) => errors.push(e),
            // Unreachable unless a thread died outside the pool's panic
            // containment: still reported, never silently dropped.
            None => errors.push(ImagingError::new(
                path,
                ImagingErrorKind::DecoderPanic("the loader thread stopped".into()),
            )),
        }
    }
    LoadReport { images, errors }
}

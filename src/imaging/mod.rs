//! Imaging: loading DICOM and raster images, the pixel pipeline, and series
//! assembly. Plain library code with no UI dependency: the CLI, the viewer
//! and the reports share it.

pub mod color;
pub mod dicom;
pub mod guard;
pub mod image;
pub mod metadata;
pub mod modality;
pub mod palette;
pub mod pixels;
pub mod raster;
pub mod render;
pub mod rle;
pub mod series;
pub mod voi;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

pub use self::dicom::{FrameSelection, LoadOptions};
pub use self::image::Image;
pub use self::render::{FrameStats, Rendered, frame_stats, render_frame};
pub use self::voi::{Window, WindowChoice};
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

/// Runs `f`, turning a panic inside it (a third-party decoder's) into an
/// error instead of aborting the caller.
pub(crate) fn contain_panics<T>(
    f: impl FnOnce() -> Result<T, ImagingErrorKind>,
) -> Result<T, ImagingErrorKind> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(ImagingErrorKind::DecoderPanic(message))
        }
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
        raster::load_raster(path)
    } else {
        dicom::load_dicom(path, options)
    }
}

/// The image files below the given paths: files as given, folders walked
/// recursively (in path order). Files in folders that are neither DICOM nor
/// raster images are skipped silently; unreadable folders are reported.
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<ImagingError>) {
    let (files, errors) = expand_paths_marked(paths);
    (files.into_iter().map(|(p, _)| p).collect(), errors)
}

/// [`expand_paths`], marking each file `true` when it was named explicitly
/// (not found by walking a folder).
fn expand_paths_marked(paths: &[PathBuf]) -> (Vec<(PathBuf, bool)>, Vec<ImagingError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
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

/// Loads every image below `paths`, using up to `threads` threads; a failing
/// file is reported and the rest still load.
pub fn load_many(paths: &[PathBuf], options: &LoadOptions, threads: usize) -> LoadReport {
    let (files, mut errors) = expand_paths_marked(paths);
    let threads = threads.clamp(1, files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let results: Vec<Vec<(usize, bool, ImagingResult<Image>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, (p, explicit))| (c * chunk + i, *explicit, load_path(p, options)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut ordered: Vec<(usize, bool, ImagingResult<Image>)> =
        results.into_iter().flatten().collect();
    ordered.sort_by_key(|(i, _, _)| *i);
    let mut images = Vec::new();
    for (_, explicit, r) in ordered {
        match r {
            Ok(i) => images.push(i),
            // DICOM objects that are not images (reports, presentation
            // states) found in a folder are not errors.
            Err(e) if !explicit && e.kind == ImagingErrorKind::NoPixelData => {}
            Err(e) => errors.push(e),
        }
    }
    LoadReport { images, errors }
}

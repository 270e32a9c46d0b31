//! Writing outputs safely: never over a source file, never over an
//! existing output unless asked, always atomically (a temporary file in the
//! target folder, then a rename), so a failed write leaves nothing behind.

use std::path::{Path, PathBuf};

use super::ReportError;

/// Checks, before any work, that `target` may be written: it is none of
/// `sources`, it does not exist unless `overwrite`, and its folder exists.
pub fn check_target(
    target: &Path,
    sources: &[PathBuf],
    overwrite: bool,
) -> Result<(), ReportError> {
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    match crate::output::refusal(target, &sources, overwrite) {
        Some(reason) => Err(ReportError::Output {
            path: target.to_path_buf(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Writes `bytes` to `target` atomically: a temporary file in the same
/// folder, flushed to disk, then renamed over `target`. On any error the
/// temporary file is removed and `target` is left as it was.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crate::output::write_atomic(target, |w| w.write_all(bytes)).map_err(|e| ReportError::Output {
        path: target.to_path_buf(),
        reason: e.to_string(),
    })
}

//! Writing outputs safely: never over a source file, never over an
//! existing output unless asked, always atomically (a temporary file in the
//! target folder, then a rename), so a failed write leaves nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ReportError;

/// The folder a path will be written in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Checks, before any work, that `target` may be written: it is none of
/// `sources`, it does not exist unless `overwrite`, and its folder exists.
pub fn check_target(
    target: &Path,
    sources: &[PathBuf],
    overwrite: bool,
) -> Result<(), ReportError> {
    let refuse = |reason: &str| ReportError::Output {
        path: target.to_path_buf(),
        reason: reason.to_string(),
    };
    if sources.iter().any(|s| same_file(s, target)) {
        return Err(refuse("refusing to overwrite a source file"));
    }
    if target.exists() && !overwrite {
        return Err(refuse("output exists (use --force to overwrite)"));
    }
    if target.is_dir() {
        return Err(refuse("is a folder"));
    }
    let dir = parent_dir(target);
    if !dir.is_dir() {
        return Err(refuse(&format!(
            "the target folder {} does not exist or is not a folder",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes `bytes` to `target` atomically: a temporary file in the same
/// folder, flushed to disk, then renamed over `target`. On any error the
/// temporary file is removed and `target` is left as it was.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |e: std::io::Error| ReportError::Output {
        path: target.to_path_buf(),
        reason: e.to_string(),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".hilum-")
        .suffix(".part")
        .tempfile_in(parent_dir(target))
        .map_err(|e| {
            io(std::io::Error::new(
                e.kind(),
                format!("cannot create a file in the target folder: {e}"),
            ))
        })?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(target).map_err(|e| io(e.error))?;
    Ok(())
}

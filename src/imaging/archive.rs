//! Zip archives (a study sent by another hospital, a research export):
//! unpacked into a private, bounded folder of this process, then opened as
//! a folder (a DICOMDIR inside is followed, see [`super::media`]).
//!
//! Bounds, checked on the bytes actually decompressed (never on the sizes
//! the archive declares): at most [`MAX_MEMBERS`] members and
//! [`MAX_UNPACKED_BYTES`] in all, and no member expanding more than
//! [`MAX_RATIO`] times its compressed size (past the first
//! [`RATIO_GRACE_BYTES`]): a zip bomb is refused as soon as it shows. A
//! member whose name would leave the folder (`../`, an absolute path) or
//! is a link refuses the whole archive. The folders are removed when the
//! process ends ([`remove_unpacked`]); users see a member as
//! `ARCHIVE.zip!member/path` ([`display_path`]).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::error::{ImagingError, ImagingErrorKind};

/// Most members one archive may hold.
pub const MAX_MEMBERS: usize = 100_000;
/// Most bytes one archive may unpack to, all members together.
pub const MAX_UNPACKED_BYTES: u64 = 8 << 30;
/// Most a member may expand relative to its compressed size (DICOM
/// compresses 2–10×; a bomb compresses about 1000×).
pub const MAX_RATIO: u64 = 200;
/// Every member may unpack this much whatever its ratio (a small, highly
/// compressible member, e.g. a blank DICOMDIR padding, is not a bomb).
pub const RATIO_GRACE_BYTES: u64 = 1 << 20;

/// An unpacked archive: its private folder (removed on drop) and the
/// archive's path, for display.
struct Unpacked {
    folder: tempfile::TempDir,
    archive: PathBuf,
}

/// The archives this process has unpacked.
static UNPACKED: Mutex<Vec<Unpacked>> = Mutex::new(Vec::new());

/// Whether `path` is a zip archive: named `.zip`, or, unless its name says
/// it is a DICOM or raster image, starting with a zip local file header.
pub fn is_zip(path: &Path) -> bool {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("zip") => return path.is_file(),
        Some(e) if super::DICOM_EXTENSIONS.contains(&e) => return false,
        _ if super::raster::has_raster_extension(path) => return false,
        _ => {}
    }
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == *b"PK\x03\x04")
}

/// How users see `path`: a file unpacked from an archive as
/// `ARCHIVE.zip!member/path`, any other path as it is.
pub fn display_path(path: &Path) -> PathBuf {
    let Ok(unpacked) = UNPACKED.lock() else {
        return path.to_path_buf();
    };
    for u in unpacked.iter() {
        if let Ok(member) = path.strip_prefix(u.folder.path()) {
            let member: Vec<String> = member
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            return PathBuf::from(format!("{}!{}", u.archive.display(), member.join("/")));
        }
    }
    path.to_path_buf()
}

/// Removes every folder this process unpacked archives into. Called when
/// the process ends; images loaded from them stay in memory.
pub fn remove_unpacked() {
    if let Ok(mut unpacked) = UNPACKED.lock() {
        unpacked.clear();
    }
}

/// Unpacks `archive` into a new private folder (mode 0700, in the system's
/// temporary folder) within the bounds above; returns the folder. On any
/// refusal nothing of the archive is left on disk.
pub fn unpack(archive: &Path) -> Result<PathBuf, ImagingError> {
    let refuse = |reason: String| ImagingError::new(archive, ImagingErrorKind::Archive(reason));
    let file = File::open(archive)
        .map_err(|e| ImagingError::new(archive, ImagingErrorKind::Io(e.to_string())))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| refuse(format!("not a readable zip archive: {e}")))?;
    if zip.len() > MAX_MEMBERS {
        return Err(refuse(format!(
            "{} members, more than the {MAX_MEMBERS} allowed",
            zip.len()
        )));
    }
    let folder = tempfile::Builder::new()
        .prefix("hilum-zip-")
        .tempdir()
        .map_err(|e| refuse(format!("cannot make a folder to unpack into: {e}")))?;
    let mut total = 0u64;
    for index in 0..zip.len() {
        let mut member = zip
            .by_index(index)
            .map_err(|e| refuse(format!("member {index}: {e}")))?;
        let name = member
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("member {index}"));
        if member.is_dir() {
            continue;
        }
        if member.is_symlink() {
            return Err(refuse(format!("member {name:?} is a link: refused")));
        }
        let relative = member
            .enclosed_name()
            .filter(|p| {
                p.components()
                    .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
            })
            .ok_or_else(|| {
                refuse(format!(
                    "member {name:?} would be written outside the archive's folder: refused"
                ))
            })?;
        let target = folder.path().join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| refuse(format!("member {name:?}: {e}")))?;
        }
        let mut out = File::create_new(&target)
            .map_err(|e| refuse(format!("member {name:?}: {e} (a duplicate name?)")))?;
        let by_ratio = member
            .compressed_size()
            .saturating_mul(MAX_RATIO)
            .max(RATIO_GRACE_BYTES);
        let allowed = by_ratio.min(MAX_UNPACKED_BYTES - total);
        let copied = copy_at_most(&mut member, &mut out, allowed)
            .map_err(|e| refuse(format!("member {name:?}: {e}")))?;
        let Some(copied) = copied else {
            return Err(refuse(if allowed == by_ratio {
                format!(
                    "member {name:?} expands more than {MAX_RATIO} times its compressed size \
                     (a zip bomb?): refused"
                )
            } else {
                format!("it unpacks to more than {MAX_UNPACKED_BYTES} bytes: refused")
            }));
        };
        total += copied;
    }
    let root = folder.path().to_path_buf();
    if let Ok(mut unpacked) = UNPACKED.lock() {
        unpacked.push(Unpacked {
            folder,
            archive: archive.to_path_buf(),
        });
    }
    Ok(root)
}

/// Copies `from` into `to`; the bytes copied, or `None` (and stops) once
/// more than `limit` bytes would be copied.
fn copy_at_most(
    from: &mut impl Read,
    to: &mut impl Write,
    limit: u64,
) -> std::io::Result<Option<u64>> {
    let copied = std::io::copy(&mut from.take(limit.saturating_add(1)), to)?;
    Ok((copied <= limit).then_some(copied))
}

/// The folder to open inside an unpacked archive: its root, or the one
/// folder at its root when that is all it holds and it has a DICOMDIR (a
/// zipped CD folder).
pub fn open_folder(root: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    match entries.as_slice() {
        [only] if only.is_dir() && super::media::find_dicomdir(only).is_some() => only.clone(),
        _ => root.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copying_stops_past_the_limit() {
        let data = vec![7u8; 1000];
        let mut out = Vec::new();
        assert_eq!(
            copy_at_most(&mut &data[..], &mut out, 1000).unwrap(),
            Some(1000)
        );
        let mut out = Vec::new();
        assert_eq!(copy_at_most(&mut &data[..], &mut out, 999).unwrap(), None);
        assert!(out.len() <= 1000);
    }
}
